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
std::string dec_wide(__int128 raw) { return json_quote(format_decimal_wide(raw)); }
double to_double(std::int64_t raw) { return static_cast<double>(raw) / static_cast<double>(kScale); }
// As UsdSum::to_double: the same double for a value that fits 64 bits.
double wide_to_double(__int128 raw) { return static_cast<double>(raw) / static_cast<double>(kScale); }

// a × b in raw 1e-8 units, rounded as asked, in 128 bits: never throws for
// two 64-bit operands (|result| < 2^100), and equals mul<R>(a, b, r).raw()
// whenever that fits.
template <class A, class B>
__int128 wide_mul(A a, B b, Round r) {
  return detail::div_round(static_cast<__int128>(a.raw()) * b.raw(), kScale, r);
}

// A 128-bit raw value as a UsdSum, exactly (Sum has no from_raw): the high
// part is doubled into place, which UsdSum's own adds keep exact.
UsdSum usd_sum_of(__int128 raw) {
  if (raw >= INT64_MIN && raw <= INT64_MAX) return UsdSum(Usd::from_raw(static_cast<std::int64_t>(raw)));
  constexpr int kShift = 32;
  __int128 high = raw / (static_cast<__int128>(1) << kShift);  // toward zero; |high| < 2^(127-32)
  __int128 low = raw - high * (static_cast<__int128>(1) << kShift);
  UsdSum s = usd_sum_of(high);
  for (int i = 0; i < kShift; ++i) s += s;
  s += Usd::from_raw(static_cast<std::int64_t>(low));
  return s;
}

// Effective leverage of one account from its exposure, the same double as
// effective_leverage() of its account view.
double exposure_leverage(const Engine::AccountExposure& x) {
  constexpr double kTinyEquityUsd = 0.01;
  double equity = wide_to_double(x.cross_equity) + wide_to_double(x.isolated_equity);
  return wide_to_double(x.gross_notional) / std::max(equity, kTinyEquityUsd);
}

// Effective leverage of accounts with positions: gross notional (cross and
// isolated) ÷ max(equity, 0.01 USD), where equity is the cross equity plus the
// isolated wallets with their unrealized PnL (docs/RESULTS.md).
// The reported statistics of one distribution (not the distribution itself).
struct LeverageStats {
  std::int64_t seq = -1;
  std::int64_t ts_ms = 0;
  __int128 open_interest = 0;  // raw 1e-8 USD
  std::int64_t accounts = 0;
  std::int64_t with_isolated = 0;  // accounts in the distribution holding an isolated position
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

LeverageStats stats_of_sorted(const std::vector<double>& sorted, std::int64_t with_isolated) {
  LeverageStats s;
  s.accounts = static_cast<std::int64_t>(sorted.size());
  s.with_isolated = with_isolated;
  if (!sorted.empty()) {
    s.p50 = percentile_sorted(sorted, 50);
    s.p90 = percentile_sorted(sorted, 90);
    s.p99 = percentile_sorted(sorted, 99);
    s.max = sorted.back();
  }
  return s;
}

// Every account at once (the end of the replay).
LeverageStats leverage_snapshot(const Engine& engine) {
  std::vector<double> sorted;
  std::int64_t with_isolated = 0;
  for (std::size_t i = 0, n = engine.account_count(); i < n; ++i) {
    Engine::AccountExposure x = engine.account_exposure(i);
    if (x.gross_notional <= 0) continue;
    if (x.isolated_positions != 0) ++with_isolated;
    sorted.push_back(exposure_leverage(x));
  }
  std::sort(sorted.begin(), sorted.end());
  return stats_of_sorted(sorted, with_isolated);
}

std::string leverage_json(const LeverageStats& s, bool with_point) {
  std::string out = "{";
  if (with_point) {
    out += "\"seq\":" + std::to_string(s.seq) + ",\"ts\":" + std::to_string(s.ts_ms) +
           ",\"open_interest_usd\":" + dec_wide(s.open_interest) + ",";
  }
  out += "\"accounts\":" + std::to_string(s.accounts);
  out += ",\"with_isolated\":" + std::to_string(s.with_isolated);
  if (s.accounts == 0) {
    out += ",\"p50\":\"0\",\"p90\":\"0\",\"p99\":\"0\",\"max\":\"0\"}";
    return out;
  }
  out += ",\"p50\":\"" + fixed_double(s.p50, 4) + "\"";
  out += ",\"p90\":\"" + fixed_double(s.p90, 4) + "\"";
  out += ",\"p99\":\"" + fixed_double(s.p99, 4) + "\"";
  out += ",\"max\":\"" + fixed_double(s.max, 4) + "\"}";
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
  // Per market, max(long, short) open interest as last read from the engine
  // (positions move only with trades, liquidations and ADL).
  std::vector<Qty> market_oi;
  bool market_oi_known = false;

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

  // Open interest (raw 1e-8 USD, 128 bits: Σ qty × mark exceeds int64 at
  // scale) and leverage at its peak.
  __int128 peak_open_interest = 0;
  std::int64_t peak_seq = -1;
  LeverageStats peak_snapshot;
  bool have_peak_snapshot = false;
  std::int64_t snapshot_work = 0;  // account views a full snapshot would build (the rate limit)
  std::int64_t events_seen = 0;
  std::vector<bool> account_seen;  // by Sym: accounts created so far (deposit or trade)
  std::int64_t accounts_seen = 0;

  // The leverage distribution as of the last snapshot, kept up to date at
  // the cost of what changed since: an account's leverage depends only on
  // its own balances and positions, the marks, the asset prices and the
  // configuration. Accounts named by an input or derived event are "dirty";
  // a price, funding, param or liquidity event, a socialized loss or a mark
  // that differs from the last snapshot's makes every account dirty.
  struct LeverageCache {
    bool all_dirty = true;
    std::vector<Sym> dirty;
    std::vector<bool> is_dirty;      // by Sym
    std::vector<double> lev;         // by Sym: leverage at the last snapshot (< 0: not in the distribution)
    std::vector<bool> iso;           // by Sym: holds an isolated position
    std::vector<double> sorted;      // the distribution, ascending
    std::int64_t with_isolated = 0;  // accounts in `sorted` with an isolated position
    std::vector<Price> marks;        // marks at the last snapshot
  } lev_cache;

  void mark_dirty(Sym s) {
    LeverageCache& c = lev_cache;
    if (c.all_dirty || s == kNoSym) return;
    if (s >= c.is_dirty.size()) c.is_dirty.resize(std::max<std::size_t>(symbols.size(), s + 1), false);
    if (!c.is_dirty[s]) {
      c.is_dirty[s] = true;
      c.dirty.push_back(s);
    }
  }

  void set_lev(Sym s, double v, bool isolated) {
    LeverageCache& c = lev_cache;
    if (s >= c.lev.size()) {
      std::size_t n = std::max<std::size_t>(symbols.size(), s + 1);
      c.lev.resize(n, -1.0);
      c.iso.resize(n, false);
    }
    c.lev[s] = v;
    c.iso[s] = isolated;
  }

  // The distribution as the engine stands, exactly as sorting every
  // account's leverage gives it.
  LeverageStats leverage_now(const Engine& engine) {
    LeverageCache& c = lev_cache;
    std::size_t markets = engine.market_count();
    if (!c.all_dirty) {
      if (c.marks.size() != markets) c.all_dirty = true;
      for (std::size_t m = 0; m < markets && !c.all_dirty; ++m)
        if (engine.mark(m) != c.marks[m]) c.all_dirty = true;
    }
    if (c.all_dirty) {
      // Every account: as leverage_snapshot, remembering each one.
      std::fill(c.lev.begin(), c.lev.end(), -1.0);
      c.sorted.clear();
      c.with_isolated = 0;
      for (std::size_t i = 0, n = engine.account_count(); i < n; ++i) {
        Engine::AccountExposure x = engine.account_exposure(i);
        if (x.gross_notional <= 0) continue;
        double v = exposure_leverage(x);
        set_lev(x.name, v, x.isolated_positions != 0);
        if (x.isolated_positions != 0) ++c.with_isolated;
        c.sorted.push_back(v);
      }
      std::sort(c.sorted.begin(), c.sorted.end());
    } else if (!c.dirty.empty()) {
      // Only the dirty accounts: take their old values out and put their new ones in.
      std::vector<double> removed, added;
      for (Sym s : c.dirty) {
        if (s < c.lev.size() && c.lev[s] >= 0) {
          removed.push_back(c.lev[s]);
          if (c.iso[s]) --c.with_isolated;
          c.lev[s] = -1.0;
        }
        std::size_t i = engine.account_index(s);
        if (i >= engine.account_count()) continue;
        Engine::AccountExposure x = engine.account_exposure(i);
        if (x.gross_notional <= 0) continue;
        double v = exposure_leverage(x);
        set_lev(s, v, x.isolated_positions != 0);
        if (x.isolated_positions != 0) ++c.with_isolated;
        added.push_back(v);
      }
      std::sort(removed.begin(), removed.end());
      std::sort(added.begin(), added.end());
      // One pass: sorted − removed (one copy of each removed value, which is
      // present), then merged with added.
      std::vector<double> kept;
      kept.reserve(c.sorted.size() - removed.size() + added.size());
      std::size_t r = 0;
      for (double v : c.sorted) {
        if (r < removed.size() && v == removed[r]) {
          ++r;
          continue;
        }
        kept.push_back(v);
      }
      LIQSIM_ASSERT(r == removed.size(), "a cached leverage is in the distribution");
      std::size_t mid = kept.size();
      kept.insert(kept.end(), added.begin(), added.end());
      std::inplace_merge(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(mid), kept.end());
      c.sorted.swap(kept);
    }
    for (Sym s : c.dirty)
      if (s < c.is_dirty.size()) c.is_dirty[s] = false;
    c.dirty.clear();
    c.all_dirty = false;
    c.marks.resize(markets);
    for (std::size_t m = 0; m < markets; ++m) c.marks[m] = engine.mark(m);
    return stats_of_sorted(c.sorted, c.with_isolated);
  }

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
    UsdSum notional;
    std::vector<Price> fill_marks;
  };

  void observe(const InputEvent& ev, std::int64_t seq, const std::vector<DerivedEvent>& derived,
               const Engine& engine) {
    ++events_seen;
    if (derived.empty() && std::holds_alternative<PriceEvent>(ev.body)) {
      // A tick that caused nothing (the commonest event): the general path
      // below would find no liquidation, call or cascade in it, and end in
      // the open interest.
      lev_cache.all_dirty = true;
      observe_open_interest(ev, seq, engine, /*positions_unchanged=*/true);
      return;
    }
    if (const auto* d = std::get_if<DepositEvent>(&ev.body)) {
      see_account(d->account);
      mark_dirty(d->account);
    } else if (const auto* t = std::get_if<TradeEvent>(&ev.body)) {
      see_account(t->account);
      see_account(t->counterparty);
      mark_dirty(t->account);
      mark_dirty(t->counterparty);
    } else if (const auto* w = std::get_if<WithdrawEvent>(&ev.body)) {
      mark_dirty(w->account);
    } else {
      lev_cache.all_dirty = true;  // prices, funding, params, liquidity: any account may change
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
        mark_dirty(le->account);
        ++event_liquidations;
        event_rounds = std::max(event_rounds, le->round);
        if (le->round >= 2)
          ++liquidations_impact;
        else
          ++liquidations_round1;
        // The engine computed this fill's notional in 64 bits; the slippage
        // term and the running totals are 128-bit.
        Usd filled = mul<Usd>(le->qty, le->price, Round::down);
        liquidated_notional += filled;
        fees += le->fee;
        __int128 gap = static_cast<__int128>(le->price.raw()) - le->mark.raw();
        __int128 slip = detail::div_round(static_cast<__int128>(le->qty.raw()) * (gap < 0 ? -gap : gap),
                                          kScale, Round::up);
        slippage += usd_sum_of(slip);
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
        mark_dirty(mc->account);
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
        mark_dirty(be->account);
        std::pair<Sym, Sym> key{be->account, be->market};
        auto it = units.find(key);
        if (it != units.end() && it->second.open) close_episode(key, it->second, d.ts_ms, true);
      } else if (const auto* ae = std::get_if<AdlEvent>(&d.body)) {
        positions_changed = true;
        mark_dirty(ae->account);
        mark_dirty(ae->counterparty);
      } else if (const auto* cs = std::get_if<CollateralSaleEvent>(&d.body)) {
        mark_dirty(cs->account);
      } else if (const auto* sc = std::get_if<SocializedChargeEvent>(&d.body)) {
        mark_dirty(sc->account);
      } else if (std::holds_alternative<SocializedLossEvent>(d.body)) {
        lev_cache.all_dirty = true;
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
    std::size_t market_count = engine.market_count();
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
      // Distances in 128 bits: two prices far apart can differ by more than int64 holds.
      auto distance = [&](Price p) {
        __int128 d = static_cast<__int128>(p.raw()) - r.mark_before.raw();
        return d < 0 ? -d : d;
      };
      Price extreme = r.oracle_after;
      auto farther = [&](Price p) {
        if (distance(p) > distance(extreme)) extreme = p;
      };
      for (Price p : c.fill_marks) farther(p);
      if (m < market_count) farther(engine.mark(m));
      r.mark_extreme = extreme;
      __int128 outside = distance(r.oracle_after);
      if (outside > 0) {
        r.amplification_defined = true;
        r.amplification = wide_to_double(distance(extreme)) / wide_to_double(outside);
      }
      cascades.push_back(std::move(r));
    }
    observe_open_interest(ev, seq, engine);
  }

  // The peak of Σ max(long, short) × mark over the run, after an event that
  // moved a price or a position.
  // POSITIONS_UNCHANGED: the event moved no position (a tick that caused
  // nothing), so each market's max(long, short) is the one read last time.
  void observe_open_interest(const InputEvent& ev, std::int64_t seq, const Engine& engine,
                             bool positions_unchanged = false) {
    if (!positions_unchanged || !market_oi_known) {
      const std::size_t market_count = std::min(engine.market_count(), marks.size());
      market_oi.resize(market_count);
      for (std::size_t m = 0; m < market_count; ++m)
        market_oi[m] = max_of(engine.open_interest_long(m), engine.open_interest_short(m));
      market_oi_known = true;
    }
    // Σ max(long, short) × mark, each term rounded down, in 128 bits: at a
    // million accounts it passes the 9.2e10 USD a 64-bit Usd holds.
    __int128 open_interest = 0;
    for (std::size_t m = 0; m < market_oi.size(); ++m) {
      const Price mark = engine.mark(m);
      marks[m] = mark;
      open_interest += wide_mul(market_oi[m], mark, Round::down);
    }
    if (open_interest > peak_open_interest) {
      peak_open_interest = open_interest;
      peak_seq = seq;
      // Snapshots are rate-limited as if each cost a view of every account,
      // so their total stays within a few account views per observed event
      // (docs/RESULTS.md); the leverage cache makes one cost what changed.
      // 0.1 % above the last snapshot's open interest (1000 × new > 1001 × old).
      bool grew_enough = !have_peak_snapshot ||
                         wide_to_double(open_interest) > wide_to_double(peak_snapshot.open_interest) * 1.001;
      std::int64_t accounts = accounts_seen;
      if (grew_enough && snapshot_work + accounts <= 4 * events_seen + 100'000) {
        snapshot_work += accounts;
        peak_snapshot = leverage_now(engine);
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
  Summary s = engine.totals();  // the counters; the state hash is not needed here
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
  f.emplace_back("peak_open_interest_usd", dec_wide(m.peak_open_interest));
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
