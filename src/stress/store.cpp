// store.cpp — a stress run's rows in the results database, and its printed
// forms (stress_run.hpp).
#include <algorithm>
#include <cstdio>

#include "liqsim/json.hpp"
#include "liqsim/results.hpp"
#include "liqsim/stress_run.hpp"

namespace liqsim {

namespace {

using i128 = __int128;
using Values = std::vector<ResultsDb::SqlValue>;

double as_f(i128 raw) { return static_cast<double>(raw) / static_cast<double>(kScale); }
std::string dec(i128 raw) { return format_decimal_wide(raw); }

const char* const kFigures[] = {"bad_debt", "liquidated_notional", "insurance_drawdown"};
const FigureStats& figure(const ScenarioStats& s, int i) {
  return i == 0 ? s.bad_debt : i == 1 ? s.liquidated_notional : s.insurance_drawdown;
}

// A number with thousands separators, for the printed table.
std::string grouped(i128 raw) {
  std::string t = format_decimal_wide(raw);
  const auto dot = t.find('.');
  std::string whole = t.substr(0, dot), frac = dot == std::string::npos ? "" : t.substr(dot);
  const bool neg = !whole.empty() && whole[0] == '-';
  if (neg) whole.erase(0, 1);
  std::string out;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i && (whole.size() - i) % 3 == 0) out += ',';
    out += whole[i];
  }
  frac = (frac.empty() ? std::string(".") : frac) + "00";
  frac = frac.substr(0, 3);  // cents, rounded toward zero, in the table; the database is exact
  return (neg ? "-" : "") + out + frac;
}

std::string pct(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return "-";
  // To 0.01 %, rounded down, in integers.
  const i128 bp = i128(part) * 10'000 / whole;
  char b[32];
  std::snprintf(b, sizeof b, "%lld.%02lld %%", static_cast<long long>(bp / 100),
                static_cast<long long>(bp % 100));
  return b;
}

std::vector<const AccountTail*> shortfalls(const ScenarioStats& s, std::size_t limit) {
  std::vector<const AccountTail*> v;
  for (const AccountTail& a : s.accounts)
    if (!a.covered()) v.push_back(&a);
  std::stable_sort(v.begin(), v.end(), [](const AccountTail* a, const AccountTail* b) {
    return a->shortfall() > b->shortfall();
  });
  if (v.size() > limit) v.resize(limit);
  return v;
}

i128 cover_sum(const ScenarioStats& s, std::size_t k) {
  i128 sum = 0;
  for (std::size_t i = 0; i < k && i < s.cover.size(); ++i) sum += s.cover[i].second.raw();
  return sum;
}

}  // namespace

struct StressWriter::Impl {
  std::unique_ptr<ResultsDb> db;
  const StressRun* run = nullptr;
  Shard shard;
  std::int64_t id = 0;
  bool open = false;
  bool accounts_written = false;  // a shard's stress_shard_accounts
};

StressWriter::StressWriter() : impl_(std::make_unique<Impl>()) {}
StressWriter::~StressWriter() { abandon(); }

Result<std::unique_ptr<StressWriter>> StressWriter::open(const std::string& db_path, const StressRun& run,
                                                         const std::string& command, const std::string& label,
                                                         std::int64_t started_unix_ms, int busy_timeout_ms,
                                                         const Shard& shard) {
  std::unique_ptr<StressWriter> w(new StressWriter());
  w->impl_->shard = shard;
  ResultsOptions o;
  o.busy_timeout_ms = busy_timeout_ms;
  auto db = ResultsDb::open(db_path, o);
  if (!db) return db.error();
  w->impl_->db = std::move(*db);
  w->impl_->run = &run;
  if (Status st = w->impl_->db->begin_import(); !st) return st.error();
  w->impl_->open = true;
  const Summary& s = run.start_summary();
  auto id = w->impl_->db->insert_row(
      "stress_runs",
      {"command", "label", "scenarios_json", "config_json", "config_sha256", "events_path", "events_sha256",
       "at_seq", "start_ts", "start_state_hash", "accounts", "assessed_accounts", "insurance_fund",
       "insurance_fund_f", "paths", "engine_version", "started_ms"},
      Values{command, label, command == "run" ? run.scenarios_json() : std::string("[]"), run.config_json(),
             run.config_sha256(), run.events_path(), run.events_sha256(), run.start_seq(), run.start().ts_ms,
             s.state_hash, s.accounts, static_cast<std::int64_t>(run.accounts().size()),
             s.insurance_fund.str(), as_f(s.insurance_fund.raw()),
             command == "run" ? run.path_count() : std::int64_t{0}, std::string("liqsim 0.1.0"),
             started_unix_ms});
  if (!id) return id.error();
  w->impl_->id = *id;
  if (shard.count > 1) {
    auto row = w->impl_->db->insert_row(
        "stress_shards", {"stress_id", "shard_index", "shard_count", "shard_paths"},
        Values{*id, shard.index, shard.count, shard_path_count(run.path_count(), shard)});
    if (!row) return row.error();
  }
  return w;
}

Status StressWriter::add_path(const PathResult& p) {
  const StressRun& run = *impl_->run;
  const Scenario& sc = run.scenarios()[p.scenario];
  const i128 drawdown = std::max<i128>(0, i128(run.frame().insurance_fund.raw()) - p.fund_min.raw());
  const i128 max_deficit = p.deficits.empty() ? 0 : p.deficits.front().second.raw();
  ResultsDb::SqlValue max_account;
  if (!p.deficits.empty()) max_account = run.symbols().name(p.deficits.front().first);
  auto st = impl_->db->insert_row(
      "stress_paths",
      {"stress_id",
       "path",
       "scenario",
       "kind",
       "path_index",
       "bad_debt",
       "bad_debt_f",
       "insurance_paid",
       "insurance_paid_f",
       "adl_amount",
       "adl_amount_f",
       "socialized_loss",
       "socialized_loss_f",
       "liquidations",
       "liquidated_notional",
       "liquidated_notional_f",
       "fund_min",
       "fund_min_f",
       "insurance_drawdown",
       "insurance_drawdown_f",
       "max_account_deficit",
       "max_account_deficit_f",
       "max_deficit_account",
       "exhausted",
       "end_ts",
       "state_hash"},
      Values{impl_->id,
             p.path,
             static_cast<std::int64_t>(p.scenario),
             std::string(scenario_kind_name(sc.kind)),
             p.index,
             p.bad_debt.str(),
             as_f(p.bad_debt.raw()),
             p.insurance_paid.str(),
             as_f(p.insurance_paid.raw()),
             p.adl_amount.str(),
             as_f(p.adl_amount.raw()),
             p.socialized_loss.str(),
             as_f(p.socialized_loss.raw()),
             p.liquidations,
             p.liquidated_notional.str(),
             as_f(p.liquidated_notional.raw()),
             p.fund_min.str(),
             as_f(p.fund_min.raw()),
             dec(drawdown),
             as_f(drawdown),
             dec(max_deficit),
             as_f(max_deficit),
             max_account,
             std::int64_t{p.adl_amount.is_positive() || p.socialized_loss.is_positive()},
             p.end_ts,
             p.state_hash});
  if (!st) return st.error();
  return {};
}

Status write_scenario_rows(ResultsDb& db, std::int64_t stress_id, const StressFrame& frame,
                           const ScenarioStats& s) {
  const Scenario& sc = frame.scenarios[s.scenario];
  const std::int64_t first = frame.first_path[s.scenario];
  ResultsDb::SqlValue c1, c2;
  if (!s.cover.empty()) c1 = frame.name(s.cover[0].first);
  if (!s.cover.empty()) {
    std::string names;
    for (std::size_t i = 0; i < s.cover.size() && i < 2; ++i)
      names += (i ? "," : "") + frame.name(s.cover[i].first);
    c2 = names;
  }
  const i128 one = cover_sum(s, 1), two = cover_sum(s, 2), fund = s.fund_start.raw();
  auto st = db.insert_row(
      "stress_scenarios",
      {"stress_id", "scenario", "name", "kind", "spec_json", "paths", "first_path", "exhausted_paths",
       "worst_path", "cover1_account", "cover1", "cover1_f", "cover2_accounts", "cover2", "cover2_f",
       "fund_covers_1", "fund_covers_2", "accounts_covered"},
      Values{stress_id, static_cast<std::int64_t>(s.scenario), sc.name,
             std::string(scenario_kind_name(sc.kind)), sc.spec_json, s.paths, first, s.exhausted_paths,
             s.worst_path, c1, dec(one), as_f(one), c2, dec(two), as_f(two), std::int64_t{fund >= one},
             std::int64_t{fund >= two}, s.accounts_covered});
  if (!st) return st.error();
  for (int i = 0; i < 3; ++i) {
    const FigureStats& f = figure(s, i);
    auto row =
        db.insert_row("stress_stats",
                      {"stress_id", "scenario", "metric", "n", "mean", "max", "var_95", "es_95", "var_97_5",
                       "es_97_5", "var_99", "es_99"},
                      Values{stress_id, static_cast<std::int64_t>(s.scenario), std::string(kFigures[i]), f.n,
                             f.mean.str(), f.max.str(), f.var95.str(), f.es95.str(), f.var975.str(),
                             f.es975.str(), f.var99.str(), f.es99.str()});
    if (!row) return row.error();
  }
  for (const AccountTail& a : s.accounts) {
    const i128 shortfall = std::max<i128>(0, a.shortfall());
    auto row = db.insert_row("stress_accounts",
                             {"stress_id", "scenario", "account", "equity", "maintenance", "var_99", "es_99",
                              "covered", "shortfall", "shortfall_f"},
                             Values{stress_id, static_cast<std::int64_t>(s.scenario), frame.name(a.name),
                                    dec(a.equity), dec(a.maintenance), dec(a.var99), dec(a.es99),
                                    std::int64_t{a.covered()}, dec(shortfall), as_f(shortfall)});
    if (!row) return row.error();
  }
  return {};
}

Status StressWriter::add_scenario(const ScenarioStats& s) {
  return write_scenario_rows(*impl_->db, impl_->id, impl_->run->frame(), s);
}

Status StressWriter::add_shard_part(const ScenarioAccumulator& part) {
  const StressFrame& frame = impl_->run->frame();
  if (!impl_->accounts_written) {
    for (std::size_t a = 0; a < frame.accounts.size(); ++a) {
      const StressAccount& x = frame.accounts[a];
      auto row = impl_->db->insert_row("stress_shard_accounts",
                                       {"stress_id", "account_index", "account", "equity", "maintenance"},
                                       Values{impl_->id, static_cast<std::int64_t>(a), frame.name(x.name),
                                              dec(x.equity), dec(x.maintenance)});
      if (!row) return row.error();
    }
    impl_->accounts_written = true;
  }
  const Scenario& sc = frame.scenarios[part.scenario()];
  ResultsDb::SqlValue c[4];
  for (std::size_t i = 0; i < part.cover().size() && i < 2; ++i) {
    c[2 * i] = frame.name(part.cover()[i].first);
    c[2 * i + 1] = part.cover()[i].second.str();
  }
  auto row = impl_->db->insert_row(
      "stress_shard_scenarios",
      {"stress_id", "scenario", "name", "kind", "spec_json", "paths", "first_path", "shard_paths",
       "worst_path", "worst_bad_debt", "cover1_account", "cover1", "cover2_account", "cover2"},
      Values{impl_->id, static_cast<std::int64_t>(part.scenario()), sc.name,
             std::string(scenario_kind_name(sc.kind)), sc.spec_json, sc.paths,
             frame.first_path[part.scenario()], part.paths_added(), part.worst_path(),
             part.worst_bad_debt().str(), c[0], c[1], c[2], c[3]});
  if (!row) return row.error();
  // Each account's largest losses in this shard, largest first, as raw 1e-8 integers.
  std::vector<std::int64_t> losses;
  for (std::size_t a = 0; a < part.tails().size(); ++a) {
    losses = part.tails()[a];
    if (losses.empty()) continue;
    std::sort(losses.begin(), losses.end(), std::greater<>());
    std::string text;
    for (std::size_t i = 0; i < losses.size(); ++i) text += (i ? " " : "") + std::to_string(losses[i]);
    auto t = impl_->db->insert_row("stress_shard_tails", {"stress_id", "scenario", "account_index", "losses"},
                                   Values{impl_->id, static_cast<std::int64_t>(part.scenario()),
                                          static_cast<std::int64_t>(a), std::move(text)});
    if (!t) return t.error();
  }
  return {};
}

Status StressWriter::add_curve(const std::vector<CurvePoint>& curve) {
  const StressRun& run = *impl_->run;
  for (const CurvePoint& c : curve) {
    const Price p0 = *run.start().price_of(c.asset);
    const i128 raw = std::max<i128>(1, i128(p0.raw()) * (kScale + c.move.raw()) / kScale);
    auto row = impl_->db->insert_row(
        "stress_curve",
        {"stress_id", "asset", "move", "move_f", "price", "liquidatable_units", "liquidatable_notional",
         "liquidatable_notional_f", "bad_debt_direct", "bad_debt_direct_f", "liquidations",
         "liquidated_notional", "liquidated_notional_f", "bad_debt", "bad_debt_f"},
        Values{impl_->id, run.symbols().name(c.asset), c.move.str(), as_f(c.move.raw()), dec(raw),
               c.liquidatable_units, c.liquidatable_notional.str(), as_f(c.liquidatable_notional.raw()),
               c.bad_debt_direct.str(), as_f(c.bad_debt_direct.raw()), c.liquidations,
               c.liquidated_notional.str(), as_f(c.liquidated_notional.raw()), c.bad_debt.str(),
               as_f(c.bad_debt.raw())});
    if (!row) return row.error();
  }
  return {};
}

Result<std::int64_t> StressWriter::finish(std::int64_t finished_unix_ms) {
  if (!impl_->open) return make_error(ErrorKind::io, "the stress database is not open");
  if (Status st = impl_->db->update_finished("stress_runs", impl_->id, finished_unix_ms); !st)
    return st.error();
  impl_->open = false;
  if (Status st = impl_->db->commit_import(); !st) return st.error();
  return impl_->id;
}

void StressWriter::abandon() {
  if (impl_ && impl_->open && impl_->db) impl_->db->abort_run();
  if (impl_) impl_->open = false;
}

// ---- printing ----

std::string stress_text(const StressFrame& run, const std::vector<ScenarioStats>& stats,
                        const std::string& label) {
  std::string out = "liqsim stress run: " + label + "\n";
  out += "  start state        seq " + std::to_string(run.start_seq) + " (ts " +
         std::to_string(run.start_ts) + "), " + std::to_string(run.accounts.size()) +
         " accounts with positions, insurance fund " + grouped(run.insurance_fund.raw()) + "\n";
  out += "  paths              " + std::to_string(run.paths) + " in " + std::to_string(stats.size()) +
         " scenario" + (stats.size() == 1 ? "" : "s") + "\n";
  for (const ScenarioStats& st : stats) {
    const Scenario& sc = run.scenarios[st.scenario];
    out += "\nscenario " + sc.name + " (" + scenario_kind_name(sc.kind) + ", " + std::to_string(st.paths) +
           " path" + (st.paths == 1 ? "" : "s") + ")\n";
    const char* head[] = {"", "mean", "VaR 95", "ES 95", "VaR 97.5", "ES 97.5", "VaR 99", "ES 99", "max"};
    std::vector<std::vector<std::string>> rows;
    rows.emplace_back(std::begin(head), std::end(head));
    const char* names[] = {"bad debt", "liquidated notional", "insurance drawdown"};
    for (int i = 0; i < 3; ++i) {
      const FigureStats& f = figure(st, i);
      rows.push_back({names[i], grouped(f.mean.raw()), grouped(f.var95.raw()), grouped(f.es95.raw()),
                      grouped(f.var975.raw()), grouped(f.es975.raw()), grouped(f.var99.raw()),
                      grouped(f.es99.raw()), grouped(f.max.raw())});
    }
    std::vector<std::size_t> width(9, 0);
    for (const auto& r : rows)
      for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    for (const auto& r : rows) {
      std::string line = "  " + r[0] + std::string(width[0] - r[0].size(), ' ');
      for (std::size_t c = 1; c < r.size(); ++c)
        line += "  " + std::string(width[c] - r[c].size(), ' ') + r[c];
      out += line + "\n";
    }
    out += "  paths exhausting the fund   " + std::to_string(st.exhausted_paths) + " of " +
           std::to_string(st.paths) + " (" + pct(st.exhausted_paths, st.paths) + ")\n";
    const i128 one = cover_sum(st, 1), two = cover_sum(st, 2), fund = st.fund_start.raw();
    if (st.cover.empty()) {
      out += "  cover-1 / cover-2           no default in the worst path (path " +
             std::to_string(st.worst_path) + ")\n";
    } else {
      std::string names;
      for (std::size_t i = 0; i < st.cover.size(); ++i)
        names += (i ? " + " : "") + run.name(st.cover[i].first);
      out += "  cover-1                     " + grouped(one) + " (" + run.name(st.cover[0].first) +
             ", path " + std::to_string(st.worst_path) + "): the fund " +
             (fund >= one ? "covers it" : "does NOT cover it") + "\n";
      out += "  cover-2                     " + grouped(two) + " (" + names + "): the fund " +
             (fund >= two ? "covers it" : "does NOT cover it") + "\n";
    }
    out += "  accounts covered at 99 %    " + std::to_string(st.accounts_covered) + " of " +
           std::to_string(st.accounts.size()) + " (" +
           pct(st.accounts_covered, static_cast<std::int64_t>(st.accounts.size())) +
           "): maintenance margin ≥ the 99 % VaR of the equity loss\n";
    const auto worst = shortfalls(st, 20);
    if (!worst.empty()) {
      out += "  largest shortfalls (VaR 99 - maintenance):\n";
      for (const AccountTail* a : worst)
        out += "    " + run.name(a->name) + "  shortfall " + grouped(a->shortfall()) + "  VaR 99 " +
               grouped(a->var99) + "  ES 99 " + grouped(a->es99) + "  maintenance " +
               grouped(a->maintenance) + "\n";
    }
  }
  return out;
}

std::string stress_json(const StressFrame& run, const std::vector<ScenarioStats>& stats,
                        const std::string& label) {
  auto q = [](const std::string& t) { return json_quote(t); };
  std::string out = "{\"label\":" + q(label) + ",\"start_seq\":" + std::to_string(run.start_seq) +
                    ",\"start_ts\":" + std::to_string(run.start_ts) +
                    ",\"start_state_hash\":" + q(run.start_state_hash) +
                    ",\"insurance_fund\":" + q(run.insurance_fund.str()) +
                    ",\"accounts\":" + std::to_string(run.accounts.size()) +
                    ",\"paths\":" + std::to_string(run.paths) + ",\"scenarios\":[";
  for (std::size_t k = 0; k < stats.size(); ++k) {
    const ScenarioStats& st = stats[k];
    const Scenario& sc = run.scenarios[st.scenario];
    out += std::string(k ? "," : "") + "{\"name\":" + q(sc.name) +
           ",\"kind\":" + q(scenario_kind_name(sc.kind)) + ",\"paths\":" + std::to_string(st.paths);
    for (int i = 0; i < 3; ++i) {
      const FigureStats& f = figure(st, i);
      out += ",\"" + std::string(kFigures[i]) + "\":{\"mean\":" + q(f.mean.str()) +
             ",\"var_95\":" + q(f.var95.str()) + ",\"es_95\":" + q(f.es95.str()) +
             ",\"var_97_5\":" + q(f.var975.str()) + ",\"es_97_5\":" + q(f.es975.str()) +
             ",\"var_99\":" + q(f.var99.str()) + ",\"es_99\":" + q(f.es99.str()) +
             ",\"max\":" + q(f.max.str()) + "}";
    }
    const i128 one = cover_sum(st, 1), two = cover_sum(st, 2), fund = st.fund_start.raw();
    out += ",\"exhausted_paths\":" + std::to_string(st.exhausted_paths) +
           ",\"worst_path\":" + std::to_string(st.worst_path) + ",\"cover\":[";
    for (std::size_t i = 0; i < st.cover.size(); ++i)
      out += std::string(i ? "," : "") + "{\"account\":" + q(run.name(st.cover[i].first)) +
             ",\"deficit\":" + q(st.cover[i].second.str()) + "}";
    out += "],\"cover_1\":" + q(dec(one)) + ",\"cover_2\":" + q(dec(two)) +
           ",\"fund_covers_1\":" + (fund >= one ? "true" : "false") +
           ",\"fund_covers_2\":" + (fund >= two ? "true" : "false") +
           ",\"accounts_assessed\":" + std::to_string(st.accounts.size()) +
           ",\"accounts_covered\":" + std::to_string(st.accounts_covered) + ",\"shortfalls\":[";
    const auto worst = shortfalls(st, 20);
    for (std::size_t i = 0; i < worst.size(); ++i)
      out += std::string(i ? "," : "") + "{\"account\":" + q(run.name(worst[i]->name)) +
             ",\"shortfall\":" + q(dec(worst[i]->shortfall())) + ",\"var_99\":" + q(dec(worst[i]->var99)) +
             ",\"es_99\":" + q(dec(worst[i]->es99)) + ",\"maintenance\":" + q(dec(worst[i]->maintenance)) +
             "}";
    out += "]}";
  }
  return out + "]}";
}

std::string curve_text(const StressRun& run, const std::vector<CurvePoint>& curve, const std::string& label) {
  std::string out = "liqsim stress curve: " + label + " from seq " + std::to_string(run.start_seq()) + "\n";
  std::vector<std::vector<std::string>> rows{{"asset", "move", "units below mm", "liquidatable notional",
                                              "bad debt (no cascade)", "liquidations", "liquidated notional",
                                              "bad debt (cascade)"}};
  for (const CurvePoint& c : curve)
    rows.push_back({run.symbols().name(c.asset), c.move.str(), std::to_string(c.liquidatable_units),
                    grouped(c.liquidatable_notional.raw()), grouped(c.bad_debt_direct.raw()),
                    std::to_string(c.liquidations), grouped(c.liquidated_notional.raw()),
                    grouped(c.bad_debt.raw())});
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line = "  " + r[0] + std::string(width[0] - r[0].size(), ' ');
    for (std::size_t c = 1; c < r.size(); ++c) line += "  " + std::string(width[c] - r[c].size(), ' ') + r[c];
    out += line + "\n";
  }
  return out;
}

std::string curve_json(const StressRun& run, const std::vector<CurvePoint>& curve, const std::string& label) {
  std::string out = "{\"label\":" + json_quote(label) + ",\"start_seq\":" + std::to_string(run.start_seq()) +
                    ",\"points\":[";
  for (std::size_t i = 0; i < curve.size(); ++i) {
    const CurvePoint& c = curve[i];
    out += std::string(i ? "," : "") + "{\"asset\":" + json_quote(run.symbols().name(c.asset)) +
           ",\"move\":" + json_quote(c.move.str()) +
           ",\"liquidatable_units\":" + std::to_string(c.liquidatable_units) +
           ",\"liquidatable_notional\":" + json_quote(c.liquidatable_notional.str()) +
           ",\"bad_debt_direct\":" + json_quote(c.bad_debt_direct.str()) +
           ",\"liquidations\":" + std::to_string(c.liquidations) +
           ",\"liquidated_notional\":" + json_quote(c.liquidated_notional.str()) +
           ",\"bad_debt\":" + json_quote(c.bad_debt.str()) + "}";
  }
  return out + "]}";
}

}  // namespace liqsim
