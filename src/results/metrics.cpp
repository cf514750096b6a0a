// metrics.cpp — cascade, liquidation-efficiency and capital-efficiency metrics.
//
// Everything here observes: it reads derived events and the engine's
// read-only views and never changes engine state. Definitions are in
// docs/RESULTS.md ("Metrics"); the order of summary_fields is fixed.
#include "liqsim/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

namespace liqsim {

namespace {

// Nearest-rank percentile (p in percent) of sorted values; n > 0.
template <class T>
T percentile_sorted(const std::vector<T>& sorted, int p) {
  std::size_t n = sorted.size();
  std::size_t rank = (static_cast<std::size_t>(p) * n + 99) / 100;
  if (rank == 0) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

std::string fixed_double(double v, int digits) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  if (s == "-0" || s.find_first_not_of("-0.") == std::string::npos) {
    std::snprintf(buf, sizeof buf, "%.*f", digits, 0.0);
    s = buf;
  }
  return s;
}

std::string quoted(const std::string& s) { return json_quote(s); }
std::string dec(const UsdSum& v) { return json_quote(v.str()); }
double to_double(std::int64_t raw) { return static_cast<double>(raw) / static_cast<double>(kScale); }

// Effective leverage of accounts with positions: gross notional (cross and
// isolated) ÷ max(equity, 0.01 USD), where equity is the cross equity plus the
// isolated wallets with their unrealized PnL (docs/RESULTS.md).
struct LeverageStats {
  std::int64_t seq = -1;
  std::int64_t ts_ms = 0;
  UsdSum open_interest;
  std::vector<double> sorted;
  std::int64_t with_isolated = 0;  // accounts in `sorted` holding an isolated position
};

LeverageStats leverage_snapshot(const Engine& engine) {
  LeverageStats s;
  for (const Engine::AccountView& a : engine.account_views()) {
    if (!a.gross_notional.is_positive()) continue;
    if (a.isolated_positions != 0) ++s.with_isolated;
    s.sorted.push_back(effective_leverage(a));
  }
  std::sort(s.sorted.begin(), s.sorted.end());
  return s;
}

std::string leverage_json(const LeverageStats& s, bool with_point) {
  std::string out = "{";
  if (with_point) {
    out += "\"seq\":" + std::to_string(s.seq) + ",\"ts\":" + std::to_string(s.ts_ms) +
           ",\"open_interest_usd\":" + dec(s.open_interest) + ",";
  }
  out += "\"accounts\":" + std::to_string(s.sorted.size());
  out += ",\"with_isolated\":" + std::to_string(s.with_isolated);
  if (s.sorted.empty()) {
    out += ",\"p50\":\"0\",\"p90\":\"0\",\"p99\":\"0\",\"max\":\"0\"}";
    return out;
  }
  out += ",\"p50\":\"" + fixed_double(percentile_sorted(s.sorted, 50), 4) + "\"";
  out += ",\"p90\":\"" + fixed_double(percentile_sorted(s.sorted, 90), 4) + "\"";
  out += ",\"p99\":\"" + fixed_double(percentile_sorted(s.sorted, 99), 4) + "\"";
  out += ",\"max\":\"" + fixed_double(s.sorted.back(), 4) + "\"}";
  return out;
}

}  // namespace

double effective_leverage(const Engine::AccountView& a) {
  constexpr double kTinyEquityUsd = 0.01;
  double equity = to_double(a.cross_equity.raw()) + to_double(a.isolated_equity.raw());
  return to_double(a.gross_notional.raw()) / std::max(equity, kTinyEquityUsd);
}

struct MetricsCollector::Impl {
  Config config;
  const Symbols& symbols;

  std::vector<std::int32_t> market_of_sym;  // Sym → market index; -2 unresolved, -1 not a market
  std::vector<std::int32_t> asset_of_sym;
  std::vector<Price> marks;  // per market, as of the end of the last observed event

  // Cascades.
  std::int64_t liquidations_round1 = 0;
  std::int64_t liquidations_impact = 0;
  std::map<std::uint32_t, std::int64_t> rounds_histogram;  // rounds → input events
  std::vector<CascadeRecord> cascades;
  std::int64_t events_with_liquidations = 0;
  struct EventCascade {
    std::int64_t seq = -1, ts = 0;
    std::uint32_t rounds = 0;
    std::int64_t liquidations = 0;
  };
  EventCascade longest, largest;

  // Liquidation costs (128-bit running totals: a large replay exceeds int64).
  UsdSum fees;
  UsdSum slippage;
  UsdSum liquidated_notional;

  // Episodes per unit (account, market or kNoSym for cross).
  struct Episode {
    bool open = false;
    std::int64_t start = 0;
    std::int64_t last_liq_ts = -1;
    std::int64_t last_liq_seq = -1;
    std::int64_t call_seq = -1;  // seq of the latest margin call
  };
  std::map<std::pair<Sym, Sym>, Episode> units;
  std::vector<LiquidationEpisode> closed;

  // Open interest and leverage at its peak.
  UsdSum peak_open_interest;
  std::int64_t peak_seq = -1;
  LeverageStats peak_snapshot;
  bool have_peak_snapshot = false;
  std::int64_t snapshot_work = 0;  // account views built for peak snapshots
  std::int64_t events_seen = 0;
  std::vector<bool> account_seen;  // by Sym: accounts created so far (deposit or trade)
  std::int64_t accounts_seen = 0;

  void see_account(Sym s) {
    if (s == kNoSym) return;
    if (s >= account_seen.size()) account_seen.resize(std::max<std::size_t>(symbols.size(), s + 1), false);
    if (!account_seen[s]) {
      account_seen[s] = true;
      ++accounts_seen;
    }
  }

  Impl(const Config& c, const Symbols& s) : config(c), symbols(s), marks(c.markets.size()) {}

  std::int32_t market_index(Sym s) {
    if (s == kNoSym) return -1;
    if (s >= market_of_sym.size()) market_of_sym.resize(std::max<std::size_t>(symbols.size(), s + 1), -2);
    if (market_of_sym[s] == -2) market_of_sym[s] = config.market_index(symbols.name(s));
    return market_of_sym[s];
  }
  std::int32_t asset_index(Sym s) {
    if (s == kNoSym) return -1;
    if (s >= asset_of_sym.size()) asset_of_sym.resize(std::max<std::size_t>(symbols.size(), s + 1), -2);
    if (asset_of_sym[s] == -2) asset_of_sym[s] = config.asset_index(symbols.name(s));
    return asset_of_sym[s];
  }

  void close_episode(const std::pair<Sym, Sym>& key, Episode& e, std::int64_t end, bool bankrupt) {
    LiquidationEpisode ep;
    ep.account = symbols.name(key.first);
    ep.market = key.second == kNoSym ? std::string() : symbols.name(key.second);
    ep.start_ms = e.start;
    ep.end_ms = end;
    ep.bankrupt = bankrupt;
    closed.push_back(std::move(ep));
    e = Episode{};
  }

  struct MarketCascade {
    std::int32_t market = -1;
    std::uint32_t rounds = 0;
    std::int64_t liquidations = 0, impact = 0;
    Usd notional;
    std::vector<Price> fill_marks;
  };

  void observe(const InputEvent& ev, std::int64_t seq, const std::vector<DerivedEvent>& derived,
               const Engine& engine) {
    ++events_seen;
    if (const auto* d = std::get_if<DepositEvent>(&ev.body)) see_account(d->account);
    if (const auto* t = std::get_if<TradeEvent>(&ev.body)) {
      see_account(t->account);
      see_account(t->counterparty);
    }
    const PriceEvent* price_event = std::get_if<PriceEvent>(&ev.body);
    std::int32_t priced_asset = price_event ? asset_index(price_event->asset) : -1;

    std::vector<MarketCascade> per_market;
    std::uint32_t event_rounds = 0;
    std::int64_t event_liquidations = 0;
    bool positions_changed = price_event != nullptr || std::holds_alternative<TradeEvent>(ev.body);
    std::vector<std::pair<Sym, Sym>> liquidated_now;
    std::vector<std::pair<Sym, Sym>> called_now;

    for (const DerivedEvent& d : derived) {
      if (const auto* le = std::get_if<LiquidationEvent>(&d.body)) {
        positions_changed = true;
        ++event_liquidations;
        event_rounds = std::max(event_rounds, le->round);
        if (le->round >= 2)
          ++liquidations_impact;
        else
          ++liquidations_round1;
        Usd filled = mul<Usd>(le->qty, le->price, Round::down);
        liquidated_notional += filled;
        fees += le->fee;
        slippage += mul<Usd>(le->qty, same_units<Price>((le->price - le->mark).abs()), Round::up);
        std::int32_t m = market_index(le->market);
        auto it = std::find_if(per_market.begin(), per_market.end(),
                               [&](const MarketCascade& c) { return c.market == m; });
        if (it == per_market.end()) {
          per_market.push_back(MarketCascade{});
          it = per_market.end() - 1;
          it->market = m;
        }
        it->rounds = std::max(it->rounds, le->round);
        ++it->liquidations;
        if (le->round >= 2) ++it->impact;
        it->notional += filled;
        it->fill_marks.push_back(le->mark);
        std::pair<Sym, Sym> key{le->account, le->margin == MarginMode::cross ? kNoSym : le->market};
        Episode& e = units[key];
        if (!e.open) {
          e.open = true;
          e.start = d.ts_ms;
        }
        e.last_liq_ts = d.ts_ms;
        e.last_liq_seq = seq;
        liquidated_now.push_back(key);
      } else if (const auto* mc = std::get_if<MarginCallEvent>(&d.body)) {
        std::pair<Sym, Sym> key{mc->account, mc->market};
        Episode& e = units[key];
        if (e.open && e.last_liq_seq == seq) {
          e.call_seq = seq;  // still under water after a partial step: the sequence goes on
        } else {
          if (e.open && e.last_liq_ts >= 0) close_episode(key, e, e.last_liq_ts, false);
          // A call with no liquidation since the last one: the earlier call ended silently.
          e.open = true;
          e.start = d.ts_ms;
          e.last_liq_ts = -1;
          e.last_liq_seq = -1;
          e.call_seq = seq;
        }
        called_now.push_back(key);
      } else if (const auto* be = std::get_if<BankruptcyEvent>(&d.body)) {
        std::pair<Sym, Sym> key{be->account, be->market};
        auto it = units.find(key);
        if (it != units.end() && it->second.open) close_episode(key, it->second, d.ts_ms, true);
      } else if (std::holds_alternative<AdlEvent>(d.body)) {
        positions_changed = true;
      }
    }
    // Units liquidated in this event and neither bankrupt nor still in a call: healthy again.
    std::sort(liquidated_now.begin(), liquidated_now.end());
    liquidated_now.erase(std::unique(liquidated_now.begin(), liquidated_now.end()), liquidated_now.end());
    for (const auto& key : liquidated_now) {
      Episode& e = units[key];
      if (e.open && e.last_liq_seq == seq && e.call_seq != seq) close_episode(key, e, ev.ts_ms, false);
    }

    if (event_liquidations > 0) {
      ++events_with_liquidations;
      ++rounds_histogram[event_rounds];
      if (event_rounds > longest.rounds ||
          (event_rounds == longest.rounds && event_liquidations > longest.liquidations))
        longest = EventCascade{seq, ev.ts_ms, event_rounds, event_liquidations};
      if (event_liquidations > largest.liquidations ||
          (event_liquidations == largest.liquidations && event_rounds > largest.rounds))
        largest = EventCascade{seq, ev.ts_ms, event_rounds, event_liquidations};
    }

    if (!positions_changed) return;
    std::vector<Engine::MarketView> views = engine.market_views();
    for (MarketCascade& c : per_market) {
      if (c.market < 0) continue;
      auto m = static_cast<std::size_t>(c.market);
      CascadeRecord r;
      r.seq = seq;
      r.ts_ms = ev.ts_ms;
      r.market = config.markets[m].name;
      r.rounds = c.rounds;
      r.liquidations = c.liquidations;
      r.impact_liquidations = c.impact;
      r.notional = c.notional;
      r.mark_before = marks[m];
      bool own_move =
          priced_asset >= 0 && config.markets[m].underlying_index == static_cast<std::uint32_t>(priced_asset);
      r.oracle_after = own_move ? price_event->price : marks[m];
      // The most extreme mark reached: oracle after, each fill's mark, the mark at the end.
      Price extreme = r.oracle_after;
      auto farther = [&](Price p) {
        if ((p - r.mark_before).abs() > (extreme - r.mark_before).abs()) extreme = p;
      };
      for (Price p : c.fill_marks) farther(p);
      if (m < views.size()) farther(views[m].mark);
      r.mark_extreme = extreme;
      Price outside = (r.oracle_after - r.mark_before).abs();
      if (outside.is_positive()) {
        r.amplification_defined = true;
        r.amplification = to_double((extreme - r.mark_before).abs().raw()) / to_double(outside.raw());
      }
      cascades.push_back(std::move(r));
    }
    UsdSum open_interest;
    for (std::size_t m = 0; m < views.size() && m < marks.size(); ++m) {
      marks[m] = views[m].mark;
      Qty oi = max_of(views[m].open_interest_long, views[m].open_interest_short);
      open_interest += mul<Usd>(oi, views[m].mark, Round::down);
    }
    if (open_interest > peak_open_interest) {
      peak_open_interest = open_interest;
      peak_seq = seq;
      // Snapshots of every account are rate-limited so that their total cost
      // stays within a few account views per observed event (docs/RESULTS.md).
      // 0.1 % above the last snapshot's open interest (1000 × new > 1001 × old).
      bool grew_enough =
          !have_peak_snapshot || open_interest.to_double() > peak_snapshot.open_interest.to_double() * 1.001;
      std::int64_t accounts = accounts_seen;
      if (grew_enough && snapshot_work + accounts <= 4 * events_seen + 100'000) {
        snapshot_work += accounts;
        peak_snapshot = leverage_snapshot(engine);
        peak_snapshot.seq = seq;
        peak_snapshot.ts_ms = ev.ts_ms;
        peak_snapshot.open_interest = open_interest;
        have_peak_snapshot = true;
      }
    }
  }

  std::vector<LiquidationEpisode> all_episodes() const {
    std::vector<LiquidationEpisode> v = closed;
    for (const auto& [key, e] : units) {
      if (!e.open || e.last_liq_ts < 0) continue;  // a call that never led to a liquidation
      LiquidationEpisode ep;
      ep.account = symbols.name(key.first);
      ep.market = key.second == kNoSym ? std::string() : symbols.name(key.second);
      ep.start_ms = e.start;
      ep.end_ms = e.last_liq_ts;
      v.push_back(std::move(ep));
    }
    return v;
  }
};

MetricsCollector::MetricsCollector(const Config& config, const Symbols& symbols)
    : impl_(new Impl(config, symbols)) {}
MetricsCollector::MetricsCollector(const MetricsCollector& other) : impl_(new Impl(*other.impl_)) {}
MetricsCollector::~MetricsCollector() { delete impl_; }

void MetricsCollector::observe(const InputEvent& event, std::int64_t seq,
                               const std::vector<DerivedEvent>& derived, const Engine& engine) {
  impl_->observe(event, seq, derived, engine);
}

const std::vector<CascadeRecord>& MetricsCollector::cascades() const { return impl_->cascades; }
std::vector<LiquidationEpisode> MetricsCollector::episodes() const { return impl_->all_episodes(); }

std::vector<std::pair<std::string, std::string>> MetricsCollector::summary_fields(
    const Engine& engine) const {
  const Impl& m = *impl_;
  std::vector<std::pair<std::string, std::string>> f;
  auto num = [](std::int64_t v) { return std::to_string(v); };

  // Cascades.
  f.emplace_back("cascade_events", num(m.events_with_liquidations));
  f.emplace_back("liquidations_outside_move", num(m.liquidations_round1));
  f.emplace_back("liquidations_own_impact", num(m.liquidations_impact));
  // The most rounds in one event is the engine summary's cascade_rounds_max (not repeated here).
  std::string hist = "{";
  for (const auto& [rounds, count] : m.rounds_histogram) {
    if (hist.size() > 1) hist += ",";
    hist += "\"" + std::to_string(rounds) + "\":" + std::to_string(count);
  }
  f.emplace_back("cascade_rounds_histogram", hist + "}");
  auto cascade_json = [&](const Impl::EventCascade& c) {
    if (c.seq < 0) return std::string("null");
    return "{\"seq\":" + num(c.seq) + ",\"ts\":" + num(c.ts) + ",\"rounds\":" + num(c.rounds) +
           ",\"liquidations\":" + num(c.liquidations) + "}";
  };
  f.emplace_back("longest_cascade", cascade_json(m.longest));
  f.emplace_back("largest_cascade", cascade_json(m.largest));
  std::vector<double> amps;
  std::int64_t undefined = 0;
  for (const CascadeRecord& r : m.cascades) {
    if (r.amplification_defined)
      amps.push_back(r.amplification);
    else
      ++undefined;
  }
  std::sort(amps.begin(), amps.end());
  f.emplace_back("amplification_median",
                 amps.empty() ? "null" : quoted(fixed_double(percentile_sorted(amps, 50), 6)));
  f.emplace_back("amplification_max", amps.empty() ? "null" : quoted(fixed_double(amps.back(), 6)));
  f.emplace_back("amplification_undefined", num(undefined));

  // Liquidation efficiency.
  std::vector<std::int64_t> durations;
  std::int64_t bankrupt_episodes = 0;
  for (const LiquidationEpisode& e : m.all_episodes()) {
    durations.push_back(e.end_ms - e.start_ms);
    if (e.bankrupt) ++bankrupt_episodes;
  }
  std::sort(durations.begin(), durations.end());
  std::string eff = "{\"episodes\":" + num(static_cast<std::int64_t>(durations.size())) +
                    ",\"bankrupt\":" + num(bankrupt_episodes);
  if (durations.empty()) {
    eff += ",\"median\":0,\"p95\":0,\"max\":0}";
  } else {
    eff += ",\"median\":" + num(percentile_sorted(durations, 50)) +
           ",\"p95\":" + num(percentile_sorted(durations, 95)) + ",\"max\":" + num(durations.back()) + "}";
  }
  f.emplace_back("time_to_neutralize_ms", eff);
  Summary s = engine.summary();
  std::string share = "0";
  if (s.liquidated_notional.is_positive()) {
    constexpr __int128 kNarrow = INT64_MAX;
    bool narrow =
        s.bad_debt.raw() <= kNarrow && s.bad_debt.raw() >= 0 && s.liquidated_notional.raw() <= kNarrow;
    try {
      if (narrow)
        share = div<Ratio>(Usd::from_raw(static_cast<std::int64_t>(s.bad_debt.raw())),
                           Usd::from_raw(static_cast<std::int64_t>(s.liquidated_notional.raw())), Round::up)
                    .str();
    } catch (const OverflowError&) {
      narrow = false;
    }
    if (!narrow) {
      share = fixed_double(s.bad_debt.to_double() / s.liquidated_notional.to_double(), 8);
    }
  }
  f.emplace_back("bad_debt_share", quoted(share));
  f.emplace_back("fees_collected", dec(m.fees));
  f.emplace_back("slippage_vs_mark", dec(m.slippage));

  // Capital efficiency.
  LeverageStats end = leverage_snapshot(engine);
  f.emplace_back("leverage_end", leverage_json(end, false));
  f.emplace_back("peak_open_interest_usd", dec(m.peak_open_interest));
  f.emplace_back("leverage_at_peak_open_interest",
                 m.have_peak_snapshot ? leverage_json(m.peak_snapshot, true) : std::string("null"));
  std::string coll = "{";
  for (const auto& [asset, value] : engine.collateral_by_asset()) {
    if (coll.size() > 1) coll += ",";
    coll += json_quote(asset) + ":" + dec(value);
  }
  f.emplace_back("collateral_by_asset", coll + "}");
  return f;
}

}  // namespace liqsim
