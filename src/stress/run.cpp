// run.cpp — the start state, the paths forked from it, their statistics and
// the liquidation curve (stress_run.hpp).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "liqsim/engine.hpp"
#include "liqsim/input_file.hpp"
#include "liqsim/json.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/stress_run.hpp"
#include "liqsim/sweep.hpp"

namespace liqsim {

namespace {

using i128 = __int128;

Ratio as_ratio(i128 raw, const char* what) {
  if (raw > INT64_MAX || raw < INT64_MIN)
    throw OverflowError(std::string(what) + " beyond the 64-bit range of a statistic (±9.2e10)");
  return Ratio::from_raw(static_cast<std::int64_t>(raw));
}

}  // namespace

struct StressRun::Impl {
  StressRequest request;
  Symbols symbols;
  std::optional<Config> config;
  std::string config_bytes, events_sha;
  std::optional<Engine> snapshot;
  Summary start_summary;
  StressStart start;
  StressFrame frame;
  std::string scenarios_json;

  std::pair<std::size_t, std::int64_t> locate(std::int64_t p) const {
    auto it = std::upper_bound(frame.first_path.begin(), frame.first_path.end(), p);
    const auto s = static_cast<std::size_t>(it - frame.first_path.begin()) - 1;
    return {s, p - frame.first_path[s]};
  }
};

StressRun::StressRun() : impl_(std::make_unique<Impl>()) {}
StressRun::~StressRun() = default;

Result<std::unique_ptr<StressRun>> StressRun::prepare(const StressRequest& request) {
  std::unique_ptr<StressRun> run(new StressRun());
  Impl& w = *run->impl_;
  w.request = request;
  if (Status st = require_regular_input(request.config_path, "configuration"); !st) return st.error();
  {
    std::ifstream in(request.config_path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    if (!in && !in.eof())
      return make_file_error(ErrorKind::io, request.config_path, "cannot read the configuration");
    w.config_bytes = buf.str();
  }
  auto config = load_config(request.config_path);
  if (!config) return config.error();
  w.config.emplace(std::move(*config));
  for (const MarketConfig& m : w.config->markets) w.symbols.intern(m.name);
  for (const AssetConfig& a : w.config->assets) w.symbols.intern(a.name);
  auto log = read_checked_log(request.events_path, *w.config, w.symbols);
  if (!log) return log.error();
  w.events_sha = log->sha256;
  const auto n = static_cast<std::int64_t>(log->events.size());
  if (request.at_seq > n)
    return make_error(ErrorKind::usage, "--at " + std::to_string(request.at_seq) + ": the log has " +
                                            std::to_string(n) + " events; --at takes 0.." +
                                            std::to_string(n));
  std::int64_t& start_seq = w.frame.start_seq;
  start_seq = request.at_seq >= 0 ? request.at_seq : n;

  // The start state: the log's events [0, start_seq) through the engine.
  w.snapshot.emplace(*w.config, w.symbols);
  std::vector<DerivedEvent> derived;
  for (std::int64_t i = 0; i < start_seq; ++i) {
    derived.clear();
    if (Status st = w.snapshot->apply(log->events[static_cast<std::size_t>(i)], i, derived); !st) {
      Error e = st.error();
      if (e.file.empty()) e.file = request.events_path;
      return e;
    }
  }
  // Every path hashes its end state: the accounts a path leaves as they
  // were are then copied as text rather than formatted again.
  w.snapshot->keep_account_text();
  w.start_summary = w.snapshot->summary();
  w.start.ts_ms = start_seq > 0 ? log->events[static_cast<std::size_t>(start_seq - 1)].ts_ms : 0;
  for (std::size_t a = 1; a < w.config->assets.size(); ++a)
    if (auto p = w.snapshot->asset_price(a))
      w.start.px.emplace_back(w.symbols.find(w.config->assets[a].name), *p);
  // The accounts with a position: equity and maintenance at the start.
  const auto views = w.snapshot->account_views();
  for (std::size_t i = 0; i < w.snapshot->account_count(); ++i) {
    const Engine::AccountExposure x = w.snapshot->account_exposure(i);
    if (x.positions == 0) continue;
    StressAccount a;
    a.name = x.name;
    a.engine_index = i;
    a.equity = x.cross_equity + x.isolated_equity;
    a.maintenance = views[i].maintenance_requirement.raw();
    w.frame.accounts.push_back(a);
  }

  if (!request.scenarios_path.empty()) {  // `stress curve` has none
    auto scenarios = load_scenarios(request.scenarios_path, *w.config, w.start, w.symbols);
    if (!scenarios) return scenarios.error();
    w.frame.scenarios = std::move(*scenarios);
  }
  for (const Scenario& s : w.frame.scenarios) {
    w.frame.first_path.push_back(w.frame.paths);
    w.frame.paths += s.paths;
  }
  {
    std::string json = "[";
    for (std::size_t i = 0; i < w.frame.scenarios.size(); ++i)
      json += (i ? "," : "") + w.frame.scenarios[i].spec_json;
    w.scenarios_json = json + "]";
  }
  w.frame.start_ts = w.start.ts_ms;
  w.frame.start_state_hash = w.start_summary.state_hash;
  w.frame.start_accounts = w.start_summary.accounts;
  w.frame.insurance_fund = w.start_summary.insurance_fund;
  w.frame.symbols = &w.symbols;
  return run;
}

const std::vector<Scenario>& StressRun::scenarios() const { return impl_->frame.scenarios; }
std::int64_t StressRun::path_count() const { return impl_->frame.paths; }
const StressStart& StressRun::start() const { return impl_->start; }
const Symbols& StressRun::symbols() const { return impl_->symbols; }
const Summary& StressRun::start_summary() const { return impl_->start_summary; }
const std::vector<StressAccount>& StressRun::accounts() const { return impl_->frame.accounts; }
std::int64_t StressRun::start_seq() const { return impl_->frame.start_seq; }
std::string StressRun::config_json() const { return impl_->config->document.dump(); }
std::string StressRun::config_sha256() const { return sha256_hex(impl_->config_bytes); }
const std::string& StressRun::events_path() const { return impl_->request.events_path; }
std::string StressRun::events_sha256() const { return impl_->events_sha; }
std::string StressRun::scenarios_json() const { return impl_->scenarios_json; }
const Config& StressRun::config() const { return *impl_->config; }
const Engine& StressRun::snapshot() const { return *impl_->snapshot; }
const StressFrame& StressRun::frame() const { return impl_->frame; }

Result<PathResult> StressRun::run_path(std::int64_t p) const {
  std::optional<Engine> scratch;
  return run_path(p, scratch);
}

Result<PathResult> StressRun::run_path(std::int64_t p, std::optional<Engine>& scratch) const {
  const Impl& w = *impl_;
  const auto [s, index] = w.locate(p);
  const Scenario& sc = w.frame.scenarios[s];
  PathResult r;
  r.path = p;
  r.scenario = s;
  r.index = index;
  const std::vector<InputEvent> events = scenario_path(sc, index, w.start);
  if (scratch)
    scratch->assign(*w.snapshot);
  else
    scratch.emplace(*w.snapshot);
  Engine& engine = *scratch;
  std::vector<DerivedEvent> derived;
  std::map<Sym, UsdSum> deficit;
  Usd fund_min = engine.insurance_fund();
  std::int64_t seq = w.frame.start_seq;
  r.end_ts = w.start.ts_ms;
  for (const InputEvent& ev : events) {
    derived.clear();
    if (Status st = engine.apply(ev, seq++, derived); !st) {
      Error e = st.error();
      e.message = "scenario '" + sc.name + "' path " + std::to_string(index) + ": " + e.message;
      return e;
    }
    r.end_ts = ev.ts_ms;
    for (const DerivedEvent& d : derived) {
      if (const auto* b = std::get_if<BankruptcyEvent>(&d.body)) deficit[b->account] += b->deficit;
      if (const auto* ins = std::get_if<InsuranceEvent>(&d.body)) fund_min = min_of(fund_min, ins->balance);
    }
    fund_min = min_of(fund_min, engine.insurance_fund());
  }
  const Summary end = engine.summary();
  const Summary& st = w.start_summary;
  r.bad_debt = end.bad_debt - st.bad_debt;
  r.insurance_paid = end.insurance_paid - st.insurance_paid;
  r.adl_amount = end.adl_amount - st.adl_amount;
  r.socialized_loss = end.socialized_loss - st.socialized_loss;
  r.liquidated_notional = end.liquidated_notional - st.liquidated_notional;
  r.liquidations = end.liquidations - st.liquidations;
  r.fund_min = fund_min;
  r.state_hash = end.state_hash;
  r.deficits.assign(deficit.begin(), deficit.end());
  std::stable_sort(r.deficits.begin(), r.deficits.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  r.equity_loss.reserve(w.frame.accounts.size());
  for (const StressAccount& a : w.frame.accounts) {
    r.equity_loss.push_back(
        as_ratio(a.equity - engine.account_equity(a.engine_index), "an equity loss").raw());
  }
  return r;
}

std::int64_t shard_path_count(std::int64_t paths, const Shard& shard) {
  return paths > shard.index ? (paths - shard.index - 1) / shard.count + 1 : 0;
}

Status run_stress(const StressRun& run, int jobs, const std::function<Status(PathResult&)>& done,
                  const std::function<void(std::int64_t)>& progress, const Shard& shard) {
  // The shard's paths, numbered k = 0, 1, ... here: path shard.index + k × shard.count.
  const std::int64_t n = shard_path_count(run.path_count(), shard);
  // Each thread runs its paths in one engine of its own (StressRun::run_path).
  auto guarded = [&](std::int64_t k, std::optional<Engine>& scratch) -> Result<PathResult> {
    const std::int64_t p = shard.index + k * shard.count;
    try {
      return run.run_path(p, scratch);
    } catch (const std::exception& ex) {
      scratch.reset();  // half a path: start the next from a fresh copy
      return make_error(ErrorKind::input, "path " + std::to_string(p) + ": " + ex.what());
    }
  };
  std::optional<Engine> own;  // the calling thread's
  if (jobs <= 1 || n <= 1) {
    for (std::int64_t p = 0; p < n; ++p) {
      auto r = guarded(p, own);
      if (!r) return r.error();
      if (Status st = done(*r); !st) return st;
      if (progress) progress(p + 1);
    }
    return {};
  }
  // Workers run the next path; the calling thread hands results over in path
  // order (and runs the next one itself when nobody has taken it). Nothing
  // runs more than `window` paths ahead of what has been handed over.
  const std::int64_t window = 4LL * jobs;
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::int64_t, Result<PathResult>> ready;
  std::int64_t next = 0, handed = 0;
  bool stop = false;
  auto can_take = [&] { return !stop && next < n && next < handed + window; };
  auto worker = [&] {
    std::optional<Engine> scratch;
    for (;;) {
      std::int64_t p;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stop || next >= n || can_take(); });
        if (stop || next >= n) return;
        p = next++;
      }
      auto r = guarded(p, scratch);
      std::lock_guard lock(mu);
      ready.emplace(p, std::move(r));
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs && j < n; ++j) threads.emplace_back(worker);
  Status status;
  for (std::int64_t p = 0; p < n && status.ok(); ++p) {
    std::optional<Result<PathResult>> r;
    for (;;) {
      std::unique_lock lock(mu);
      if (auto it = ready.find(p); it != ready.end()) {
        r.emplace(std::move(it->second));
        ready.erase(it);
        break;
      }
      if (next == p) {
        next = p + 1;
        lock.unlock();
        r.emplace(guarded(p, own));
        break;
      }
      if (can_take()) {
        const std::int64_t q = next++;
        lock.unlock();
        auto other = guarded(q, own);
        std::lock_guard again(mu);
        ready.emplace(q, std::move(other));
        changed.notify_all();
        continue;
      }
      changed.wait(lock, [&] { return ready.count(p) > 0 || can_take(); });
    }
    status = *r ? done(**r) : Status(r->error());
    {
      std::lock_guard lock(mu);
      ++handed;
      if (!status) stop = true;
      changed.notify_all();
    }
    if (status && progress) progress(p + 1);
  }
  {
    std::lock_guard lock(mu);
    stop = true;
    changed.notify_all();
  }
  for (std::thread& t : threads) t.join();
  return status;
}

// ---- statistics ----

ScenarioAccumulator::ScenarioAccumulator(const StressFrame& frame, std::size_t scenario)
    : frame_(&frame), scenario_(scenario) {
  const std::int64_t n = frame.scenarios[scenario].paths;
  // The 99 % estimator reads L(1) .. L(⌊w⌋ + 1), w = n / 100.
  keep_ = static_cast<std::size_t>(std::min<std::int64_t>(n, n / 100 + 1));
  tail_.assign(frame.accounts.size(), {});
}

void ScenarioAccumulator::add(const PathResult& p) {
  const UsdSum drawdown =
      UsdSum::from_raw(std::max<i128>(0, i128(frame_->insurance_fund.raw()) - p.fund_min.raw()));
  add_figures(p.bad_debt, p.liquidated_notional, drawdown,
              p.adl_amount.is_positive() || p.socialized_loss.is_positive());
  offer_worst(p.path, p.bad_debt,
              {p.deficits.begin(), p.deficits.begin() + std::min<std::size_t>(2, p.deficits.size())});
  for (std::size_t a = 0; a < tail_.size() && a < p.equity_loss.size(); ++a) offer_loss(a, p.equity_loss[a]);
}

void ScenarioAccumulator::add_figures(const UsdSum& bad_debt, const UsdSum& liquidated_notional,
                                      const UsdSum& drawdown, bool exhausted) {
  bad_debt_.push_back(as_ratio(bad_debt.raw(), "a path's bad debt"));
  liquidated_.push_back(as_ratio(liquidated_notional.raw(), "a path's liquidated notional"));
  drawdown_.push_back(as_ratio(drawdown.raw(), "a drawdown"));
  if (exhausted) ++exhausted_;
}

void ScenarioAccumulator::offer_worst(std::int64_t path, const UsdSum& bad_debt,
                                      const std::vector<std::pair<Sym, UsdSum>>& cover) {
  if (worst_ < 0 || bad_debt > worst_bad_debt_ || (bad_debt == worst_bad_debt_ && path < worst_)) {
    worst_ = path;
    worst_bad_debt_ = bad_debt;
    cover_.assign(cover.begin(), cover.begin() + std::min<std::size_t>(2, cover.size()));
  }
}

void ScenarioAccumulator::offer_loss(std::size_t account, std::int64_t loss) {
  const auto greater = std::greater<std::int64_t>();
  std::vector<std::int64_t>& h = tail_[account];  // a min-heap of the largest losses
  if (h.size() < keep_) {
    h.push_back(loss);
    std::push_heap(h.begin(), h.end(), greater);
  } else if (loss > h.front()) {
    std::pop_heap(h.begin(), h.end(), greater);
    h.back() = loss;
    std::push_heap(h.begin(), h.end(), greater);
  }
}

Result<ScenarioStats> ScenarioAccumulator::finish() const {
  ScenarioStats s;
  s.scenario = scenario_;
  s.paths = static_cast<std::int64_t>(bad_debt_.size());
  if (s.paths == 0) return make_error(ErrorKind::usage, "a scenario with no path");
  auto figure = [](const std::vector<Ratio>& losses) -> Result<FigureStats> {
    FigureStats f;
    for (const auto& [alpha, var, es] : {std::tuple{"0.95", &FigureStats::var95, &FigureStats::es95},
                                         std::tuple{"0.975", &FigureStats::var975, &FigureStats::es975},
                                         std::tuple{"0.99", &FigureStats::var99, &FigureStats::es99}}) {
      auto r = var_es(losses, Ratio::parse_or_throw(alpha));
      if (!r) return r.error();
      f.*var = r->var;
      f.*es = r->es;
      f.n = r->n;
      f.mean = r->mean;
      f.max = r->worst;
    }
    return f;
  };
  auto bad = figure(bad_debt_);
  if (!bad) return bad.error();
  s.bad_debt = *bad;
  auto liq = figure(liquidated_);
  if (!liq) return liq.error();
  s.liquidated_notional = *liq;
  auto draw = figure(drawdown_);
  if (!draw) return draw.error();
  s.insurance_drawdown = *draw;
  s.exhausted_paths = exhausted_;
  s.worst_path = worst_;
  s.cover = cover_;
  s.fund_start = frame_->insurance_fund;
  const auto& accounts = frame_->accounts;
  const Ratio alpha = Ratio::parse_or_throw("0.99");
  for (std::size_t a = 0; a < accounts.size(); ++a) {
    std::vector<Ratio> largest;
    for (std::int64_t v : tail_[a]) largest.push_back(Ratio::from_raw(v));
    auto r = var_es_of_largest(std::move(largest), s.paths, alpha);
    if (!r) return r.error();
    AccountTail t;
    t.name = accounts[a].name;
    t.equity = accounts[a].equity;
    t.maintenance = accounts[a].maintenance;
    t.var99 = r->var.raw();
    t.es99 = r->es.raw();
    if (t.covered()) ++s.accounts_covered;
    s.accounts.push_back(t);
  }
  return s;
}

// ---- the liquidation curve ----

Result<std::vector<CurvePoint>> liquidation_curve(const StressRun& run, const std::vector<Ratio>& moves,
                                                  int jobs) {
  struct View {
    const Config* config;
    const Engine* snapshot;
    const Symbols& symbols;
    const StressStart& start;
    std::int64_t start_seq;
    const Summary& start_summary;
  } w{&run.config(), &run.snapshot(), run.symbols(), run.start(), run.start_seq(), run.start_summary()};
  std::vector<CurvePoint> points;
  std::vector<std::size_t> asset_index;
  for (const MarketConfig& m : w.config->markets) {
    const std::size_t a = m.underlying_index;
    if (std::find(asset_index.begin(), asset_index.end(), a) != asset_index.end()) continue;
    if (a == 0 || !w.snapshot->asset_price(a)) continue;
    asset_index.push_back(a);
  }
  std::vector<std::size_t> point_asset;
  for (std::size_t a : asset_index)
    for (Ratio mv : moves) {
      CurvePoint c;
      c.asset = w.symbols.find(w.config->assets[a].name);
      c.move = mv;
      points.push_back(c);
      point_asset.push_back(a);
    }
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::optional<Error> failure;
  auto work = [&] {
    for (;;) {
      const std::size_t k = next++;
      if (k >= points.size()) return;
      CurvePoint& c = points[k];
      const std::size_t a = point_asset[k];
      const Price p0 = *w.snapshot->asset_price(a);
      const i128 raw = i128(p0.raw()) * (kScale + c.move.raw()) / kScale;
      const Price moved = Price::from_raw(static_cast<std::int64_t>(std::max<i128>(raw, 1)));
      try {
        const Engine::Liquidatable direct = w.snapshot->liquidatable_at(a, moved);
        c.liquidatable_units = direct.units;
        c.liquidatable_notional = direct.notional;
        c.bad_debt_direct = direct.deficit;
        Engine engine(*w.snapshot);
        std::vector<DerivedEvent> derived;
        if (Status st =
                engine.apply(InputEvent{w.start.ts_ms, PriceEvent{c.asset, moved}}, w.start_seq, derived);
            !st) {
          std::lock_guard lock(mu);
          if (!failure) failure = st.error();
          return;
        }
        const Summary end = engine.totals();
        c.liquidated_notional = end.liquidated_notional - w.start_summary.liquidated_notional;
        c.bad_debt = end.bad_debt - w.start_summary.bad_debt;
        c.liquidations = end.liquidations - w.start_summary.liquidations;
      } catch (const std::exception& ex) {
        std::lock_guard lock(mu);
        if (!failure) failure = make_error(ErrorKind::input, std::string("the curve: ") + ex.what());
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (failure) return *failure;
  return points;
}

}  // namespace liqsim
