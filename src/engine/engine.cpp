#include "liqsim/engine.hpp"

#include <algorithm>
#include <optional>
#include <cstdio>

#include "band_index.hpp"
#include "state.hpp"

namespace liqsim {

using namespace engine;

namespace engine {

const char* risk_state_name(RiskState s) {
  switch (s) {
    case RiskState::healthy: return "healthy";
    case RiskState::margin_call: return "margin_call";
    case RiskState::liquidating: return "liquidating";
    case RiskState::bankrupt: return "bankrupt";
    case RiskState::resolved: return "resolved";
  }
  return "?";
}

void transition(RiskState& state, RiskState to) {
  bool allowed = false;
  switch (state) {
    case RiskState::healthy:
      allowed = to == RiskState::margin_call || to == RiskState::liquidating;
      break;
    case RiskState::margin_call:
      allowed = to == RiskState::healthy || to == RiskState::liquidating;
      break;
    case RiskState::liquidating:
      allowed = to == RiskState::healthy || to == RiskState::bankrupt;
      break;
    case RiskState::bankrupt:
      allowed = to == RiskState::resolved;
      break;
    case RiskState::resolved:
      allowed = to == RiskState::healthy;
      break;
  }
  LIQSIM_ASSERT(allowed, "forbidden risk state transition");
  state = to;
}

}  // namespace engine

namespace {

struct Risk {
  Usd equity;
  Usd mm;  // maintenance requirement
  Usd im;  // initial requirement
  bool liquidatable() const { return equity < mm; }
};

// Ratio ordering without division: a.mm / a.equity > b.mm / b.equity.
// Units with equity ≤ 0 rank first (their ratio is unbounded).
bool worse(const Risk& a, const Risk& b) {
  bool a_inf = !a.equity.is_positive(), b_inf = !b.equity.is_positive();
  if (a_inf != b_inf) return a_inf;
  if (a_inf) return a.equity < b.equity;
  using i128 = __int128;
  return i128(a.mm.raw()) * b.equity.raw() > i128(b.mm.raw()) * a.equity.raw();
}

// The ADL ranking score, PnL % × effective leverage (BitMEX): each factor
// rounded down to 8 digits as a Ratio would be, then multiplied exactly. It is
// a rank, not an amount, so it is never narrowed to 64 bits: a position opened
// far off the mark (PnL % of 1e12) or a unit with an equity of a few 1e-8
// (leverage of 1e12) would overflow a Ratio. Each factor is below 2^90
// (a 64-bit raw × 1e8), so the product fits in 256 bits. Where both factors fit
// in a Ratio the score is exactly the one of the 64-bit computation, so the
// ranking is unchanged there; ties go to the lower account index.
struct AdlScore {
  unsigned __int128 hi = 0, lo = 0;
  friend bool operator==(const AdlScore&, const AdlScore&) = default;
  friend bool operator>(const AdlScore& a, const AdlScore& b) {
    return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo;
  }
};

AdlScore mul_wide(unsigned __int128 a, unsigned __int128 b) {
  using u128 = unsigned __int128;
  const u128 mask = (u128(1) << 64) - 1;
  const u128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const u128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);  // < 3 · 2^64: no carry lost
  AdlScore s;
  s.lo = (mid << 64) | (p00 & mask);
  s.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return s;
}

// The cost of a position, |qty| × entry rounded up, in 128 bits: a valid
// position's cost can exceed a 64-bit Usd (|qty| × mark and the PnL fit; their
// sum need not).
__int128 position_cost(Qty qty_abs, Price entry) {
  return detail::div_round(__int128(qty_abs.raw()) * entry.raw(), kScale, Round::up);
}

// pnl, cost, notional and equity are positive.
AdlScore adl_score(Usd pnl, __int128 cost, Usd notional, Usd equity) {
  using i128 = __int128;
  const i128 pnl_pct = i128(pnl.raw()) * kScale / cost;  // floor: both positive
  const i128 leverage = i128(notional.raw()) * kScale / equity.raw();
  return mul_wide(static_cast<unsigned __int128>(pnl_pct), static_cast<unsigned __int128>(leverage));
}

struct ClosedLeg {
  std::uint32_t market;
  Side side;  // side of the closing fill
  Qty qty;
};

struct Bankrupt {
  Unit unit;
  Usd deficit;
  boost::container::small_vector<ClosedLeg, 2> legs;
};

}  // namespace

struct Engine::Impl {
  Config config;
  Symbols& symbols;
  EngineOptions options;

  std::vector<Account> accounts;
  std::vector<MarketState> markets;
  std::vector<AssetState> assets;
  std::vector<std::uint32_t> account_of_sym;  // Sym → account index or kNone
  std::vector<std::int32_t> market_of_sym;    // Sym → market index, -1 unknown, -2 unresolved
  std::vector<std::int32_t> asset_of_sym;

  // Ledgers besides accounts and wallets.
  std::vector<AmountSum> external;  // per asset: the outside world (128-bit: it mirrors everyone)
  Usd insurance;
  UsdSum bad_debt_ledger;  // owed while a deficit is being covered; zero between events
  UsdSum socialized_ledger;

  Summary totals;
  BandIndex index;

  // Scratch, reused across events (no per-event allocation once warm).
  std::uint32_t stamp = 0;
  std::vector<std::uint32_t> candidates;
  std::vector<std::uint32_t> checked;  // every account checked during this event
  std::vector<std::uint32_t> pending;  // liquidatable units left when max rounds was reached
  std::vector<std::uint32_t> impacted_markets;
  std::vector<std::pair<Risk, Unit>> liquidatable;
  std::vector<Bankrupt> bankrupts;
  std::int64_t ts = 0;
  std::int64_t seq = 0;
  std::vector<DerivedEvent>* out = nullptr;
  std::optional<Error> failure;  // set by an event that left the range; every later apply returns it

  Impl(Config c, Symbols& s, EngineOptions o) : config(std::move(c)), symbols(s), options(o) {
    markets.resize(config.markets.size());
    assets.resize(config.assets.size());
    external.assign(config.assets.size(), AmountSum());
    insurance = config.liquidation.insurance_fund;
    external[0] -= same_units<Amount>(insurance);
    totals.insurance_fund = insurance;
    for (const auto& mc : config.markets) market_sym.push_back(symbols.intern(mc.name));
    for (const auto& ac : config.assets) asset_sym.push_back(symbols.intern(ac.name));
    asset_priced_before.assign(config.assets.size(), false);
    index.resize_keys(config.markets.size(), config.assets.size());
  }
  std::vector<bool> asset_priced_before;  // for the index: a first price is a jump from zero
  std::vector<Sym> market_sym;  // market index → its interned name
  std::vector<Sym> asset_sym;

  // ---- lookups ----

  std::int32_t market_index(Sym s) {
    if (s >= market_of_sym.size()) market_of_sym.resize(symbols.size(), -2);
    if (market_of_sym[s] == -2) market_of_sym[s] = config.market_index(symbols.name(s));
    return market_of_sym[s];
  }
  std::int32_t asset_index(Sym s) {
    if (s >= asset_of_sym.size()) asset_of_sym.resize(symbols.size(), -2);
    if (asset_of_sym[s] == -2) asset_of_sym[s] = config.asset_index(symbols.name(s));
    return asset_of_sym[s];
  }
  std::uint32_t find_account(Sym s) const { return s < account_of_sym.size() ? account_of_sym[s] : kNone; }
  std::uint32_t get_or_create_account(Sym s) {
    if (s >= account_of_sym.size()) account_of_sym.resize(std::max<std::size_t>(symbols.size(), s + 1), kNone);
    if (account_of_sym[s] == kNone) {
      account_of_sym[s] = static_cast<std::uint32_t>(accounts.size());
      accounts.emplace_back();
      accounts.back().name = s;
      index.add_account();
    }
    return account_of_sym[s];
  }

  // ---- valuation ----

  Price mark(std::uint32_t m) const { return markets[m].mark; }

  Usd balance_value(const BalanceSlot& b) const {
    if (b.asset == 0) return same_units<Usd>(b.amount);
    const AssetState& a = assets[b.asset];
    if (!a.has_price) return Usd::zero();
    Usd gross = mul<Usd>(b.amount, a.price, Round::down);
    if (b.amount.is_negative()) return gross;  // a debt counts in full
    return mul<Usd>(gross, config.assets[b.asset].collateral_weight, Round::down);
  }
  Usd upnl(const PositionSlot& p) const { return mul<Usd>(p.qty, mark(p.market) - p.entry, Round::down); }
  Usd notional(const PositionSlot& p) const { return mul<Usd>(p.qty.abs(), mark(p.market), Round::up); }

  Risk iso_risk(const PositionSlot& p) const {
    Usd n = notional(p);
    const MarketConfig& mc = config.markets[p.market];
    return Risk{p.wallet + upnl(p), maintenance_requirement(mc, n), initial_requirement(mc, n)};
  }
  Risk cross_risk(const Account& a) const {
    Risk r;
    for (const BalanceSlot& b : a.balances) r.equity += balance_value(b);
    for (const PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::cross) continue;
      Usd n = notional(p);
      const MarketConfig& mc = config.markets[p.market];
      r.equity += upnl(p);
      r.mm += maintenance_requirement(mc, n);
      r.im += initial_requirement(mc, n);
    }
    return r;
  }
  Risk unit_risk(const Unit& u) const {
    const Account& a = accounts[u.account];
    if (u.is_cross()) return cross_risk(a);
    return iso_risk(*find_slot(a, u.market));
  }

  static const PositionSlot* find_slot(const Account& a, std::uint32_t market) {
    for (const PositionSlot& p : a.positions)
      if (p.market == market) return &p;
    return nullptr;
  }
  static PositionSlot* find_slot(Account& a, std::uint32_t market) {
    for (PositionSlot& p : a.positions)
      if (p.market == market) return &p;
    return nullptr;
  }

  // ---- ledger: every movement of value is one of these ----

  Amount& balance_ref(std::uint32_t acct, std::uint32_t asset) {
    Account& a = accounts[acct];
    auto it = std::lower_bound(a.balances.begin(), a.balances.end(), asset,
                               [](const BalanceSlot& b, std::uint32_t x) { return b.asset < x; });
    if (it == a.balances.end() || it->asset != asset) {
      BalanceSlot slot;
      slot.asset = asset;
      if (asset != 0) {
        slot.holder_pos = static_cast<std::uint32_t>(assets[asset].holders.size());
        assets[asset].holders.push_back(acct);
      }
      it = a.balances.insert(it, slot);
    }
    return it->amount;
  }
  // The balance without creating a slot for it.
  static Amount held(const Account& a, std::uint32_t asset) {
    auto it = std::lower_bound(a.balances.begin(), a.balances.end(), asset,
                               [](const BalanceSlot& b, std::uint32_t x) { return b.asset < x; });
    return it == a.balances.end() || it->asset != asset ? Amount::zero() : it->amount;
  }
  Usd usd_balance(const Account& a) const {
    if (!a.balances.empty() && a.balances.front().asset == 0) return same_units<Usd>(a.balances.front().amount);
    return Usd::zero();
  }
  void external_to_balance(std::uint32_t acct, std::uint32_t asset, Amount amount) {
    external[asset] -= amount;
    balance_ref(acct, asset) += amount;
  }
  void external_to_usd(std::uint32_t acct, Usd amount) { external_to_balance(acct, 0, same_units<Amount>(amount)); }
  void external_to_wallet(PositionSlot& p, Usd amount) {
    external[0] -= same_units<Amount>(amount);
    p.wallet += amount;
  }
  void usd_to_wallet(std::uint32_t acct, PositionSlot& p, Usd amount) {
    balance_ref(acct, 0) -= same_units<Amount>(amount);
    p.wallet += amount;
  }
  // Moves USD from a unit's margin (account USD or isolated wallet) to a ledger.
  Usd& unit_usd(const Unit& u) {
    if (u.is_cross()) return reinterpret_usd(balance_ref(u.account, 0));
    return find_slot(accounts[u.account], u.market)->wallet;
  }
  static Usd& reinterpret_usd(Amount& a) {
    static_assert(sizeof(Amount) == sizeof(Usd));
    return *reinterpret_cast<Usd*>(&a);
  }

  // ---- positions and the holder lists ----

  PositionSlot& open_slot(std::uint32_t acct, std::uint32_t market, MarginMode mode) {
    Account& a = accounts[acct];
    auto it = std::lower_bound(a.positions.begin(), a.positions.end(), market,
                               [](const PositionSlot& p, std::uint32_t x) { return p.market < x; });
    LIQSIM_ASSERT(it == a.positions.end() || it->market != market, "position slot exists");
    PositionSlot slot;
    slot.market = market;
    slot.mode = mode;
    slot.holder_pos = static_cast<std::uint32_t>(markets[market].holders.size());
    markets[market].holders.push_back(acct);
    return *a.positions.insert(it, slot);
  }
  void release_slot(std::uint32_t acct, std::uint32_t market) {
    Account& a = accounts[acct];
    PositionSlot* p = find_slot(a, market);
    LIQSIM_ASSERT(p && p->qty.is_zero() && p->wallet.is_zero(), "releasing a live position slot");
    auto& holders = markets[market].holders;
    std::uint32_t pos = p->holder_pos;
    std::uint32_t moved = holders.back();
    holders[pos] = moved;
    holders.pop_back();
    if (moved != acct) find_slot(accounts[moved], market)->holder_pos = pos;
    a.positions.erase(a.positions.begin() + (p - a.positions.data()));
  }
  void set_qty(PositionSlot& p, Qty q) {
    MarketState& m = markets[p.market];
    if (p.qty.is_positive()) m.open_interest_long -= p.qty;
    else m.open_interest_short += p.qty;
    p.qty = q;
    if (q.is_positive()) m.open_interest_long += q;
    else m.open_interest_short -= q;
  }
  // A position at zero: cross slots go; an isolated slot returns its wallet
  // to the account, unless the wallet is negative (a bankruptcy to resolve).
  void tidy_slot(std::uint32_t acct, std::uint32_t market) {
    PositionSlot* p = find_slot(accounts[acct], market);
    if (!p || !p->qty.is_zero()) return;
    if (p->mode == MarginMode::isolated) {
      if (p->wallet.is_negative()) return;
      Usd w = p->wallet;
      p->wallet = Usd::zero();
      balance_ref(acct, 0) += same_units<Amount>(w);
    }
    release_slot(acct, market);
  }

  // ---- derived events ----

  void emit(DerivedBody body) { out->push_back(DerivedEvent{ts, seq, std::move(body)}); }
  void reject(std::string reason) {
    ++totals.rejected;
    emit(RejectedEvent{std::move(reason)});
  }
  void insurance_move(Usd amount) {
    emit(InsuranceEvent{amount, insurance});
  }

  // ---- the event ----

  void apply(const InputEvent& ev, std::int64_t event_seq, std::vector<DerivedEvent>& sink) {
    const bool later = ev.ts_ms > ts;
    ts = ev.ts_ms;
    seq = event_seq;
    out = &sink;
    ++totals.events;
    candidates.clear();
    checked.clear();
    ++stamp;
    if (stamp == 0) {  // wrapped: clear every marker once
      for (Account& a : accounts) a.stamp = 0;
      stamp = 1;
    }
    for (std::uint32_t acct : pending) add_candidate(acct);
    pending.clear();
    if (later && !displaced.empty()) restore_marks();
    std::visit([&](const auto& body) { on(body); }, ev.body);
    settle();
    if (options.check_ledger) {
      Status st = check();
      LIQSIM_ASSERT(st.ok(), "ledger does not sum to zero");
    }
  }

  // The permanent part of liquidation impact holds for the later checks of the
  // same timestamp (the cascade). Before the first event of a later ts, each
  // displaced mark returns to its underlying's latest price, and the units the
  // return can push over are checked with that event.
  std::vector<std::uint32_t> displaced;  // markets whose mark liquidation impact moved
  void restore_marks() {
    std::sort(displaced.begin(), displaced.end());
    for (std::uint32_t m : displaced) {
      const AssetState& under = assets[config.markets[m].underlying_index];
      if (markets[m].mark == under.price) continue;
      markets[m].mark = under.price;
      if (!options.reference_scan) index.collect_for_mark(*this, m, candidates);
    }
    if (options.reference_scan) add_all_candidates();
    displaced.clear();
  }

  void add_candidate(std::uint32_t acct) {
    if (accounts[acct].stamp == stamp) return;
    accounts[acct].stamp = stamp;
    candidates.push_back(acct);
  }
  void add_all_candidates() {
    for (std::uint32_t i = 0; i < accounts.size(); ++i) add_candidate(i);
  }

  void on(const PriceEvent& e) {
    std::uint32_t asset = static_cast<std::uint32_t>(asset_index(e.asset));
    assets[asset].price = e.price;
    assets[asset].has_price = true;
    for (std::uint32_t m = 0; m < markets.size(); ++m) {
      if (config.markets[m].underlying_index != asset) continue;
      markets[m].mark = e.price;
      markets[m].has_mark = true;
    }
    if (options.reference_scan) {
      add_all_candidates();
      return;
    }
    index.collect_for_price(*this, asset, candidates);
  }

  void on(const DepositEvent& e) {
    std::uint32_t acct = get_or_create_account(e.account);
    external_to_balance(acct, static_cast<std::uint32_t>(asset_index(e.asset)), e.amount);
    touch(acct);
  }

  void on(const WithdrawEvent& e) {
    std::uint32_t acct = find_account(e.account);
    if (acct == kNone) return reject("unknown account '" + symbols.name(e.account) + "'");
    std::uint32_t asset = static_cast<std::uint32_t>(asset_index(e.asset));
    Amount holds = held(accounts[acct], asset);
    if (holds < e.amount)
      return reject("insufficient balance: holds " + holds.str() + " " + symbols.name(e.asset) + ", withdrawal of " +
                    e.amount.str());
    balance_ref(acct, asset) -= e.amount;
    Risk after = cross_risk(accounts[acct]);
    if (after.equity < after.im) {
      balance_ref(acct, asset) += e.amount;
      return reject("below initial margin: equity " + after.equity.str() + " after withdrawal, initial requirement " +
                    after.im.str());
    }
    balance_ref(acct, asset) += e.amount;
    external_to_balance(acct, asset, -e.amount);
    touch(acct);
  }

  struct Fill {
    Qty qty;
    Price entry;
    Usd realized;
    bool increases_risk = false;
  };
  static Fill compute_fill(Qty old_qty, Price old_entry, Qty delta, Price price) {
    Fill f;
    Qty next = old_qty + delta;
    f.qty = next;
    if (old_qty.is_zero()) {
      f.entry = price;
      f.increases_risk = true;
    } else if (old_qty.sign() == delta.sign()) {
      using i128 = __int128;
      i128 num = i128(old_qty.abs().raw()) * old_entry.raw() + i128(delta.abs().raw()) * price.raw();
      // Longs round the average entry up, shorts down: either way against the holder.
      f.entry = Price::from_raw(
          detail::narrow(detail::div_round(num, next.abs().raw(), next.is_positive() ? Round::up : Round::down),
                         "average entry"));
      f.increases_risk = true;
    } else {
      Qty closed = min_of(old_qty.abs(), delta.abs());
      Qty closed_signed = old_qty.is_positive() ? closed : -closed;
      f.realized = mul<Usd>(closed_signed, price - old_entry, Round::down);
      if (next.is_zero()) {
        f.entry = Price::zero();
      } else if (next.sign() == old_qty.sign()) {
        f.entry = old_entry;
      } else {
        f.entry = price;
        f.increases_risk = true;
      }
    }
    return f;
  }

  // One side of a trade on a scratch copy of the account: returns an empty
  // string when acceptable, else the reason.
  std::string check_trade_side(const Account& a, std::uint32_t market, MarginMode mode, Qty delta, Price price,
                               Usd iso_margin) const {
    Account copy = a;
    PositionSlot* slot = find_slot(copy, market);
    if (slot && slot->mode != mode && !slot->qty.is_zero())
      return std::string("margin mode mismatch: '") + symbols.name(a.name) + "' holds " +
             (slot->mode == MarginMode::isolated ? "an isolated" : "a cross") + " position in " +
             config.markets[market].name;
    if (!slot) {
      PositionSlot fresh;
      fresh.market = market;
      fresh.mode = mode;
      copy.positions.push_back(fresh);
      slot = &copy.positions.back();
    }
    slot->mode = mode;
    if (iso_margin.is_positive()) {
      Usd usd = usd_balance(copy);
      if (usd < iso_margin)
        return "insufficient USD for isolated_margin: holds " + usd.str() + ", needs " + iso_margin.str();
      copy.balances.front().amount -= same_units<Amount>(iso_margin);
      slot->wallet += iso_margin;
      Risk cross = cross_risk(copy);
      if (cross.equity < cross.im)
        return "moving isolated_margin leaves cross equity " + cross.equity.str() + " below its initial requirement " +
               cross.im.str();
    }
    Fill f = compute_fill(slot->qty, slot->entry, delta, price);
    if (!f.increases_risk) return {};
    slot->qty = f.qty;
    slot->entry = f.entry;
    if (mode == MarginMode::isolated) {
      slot->wallet += f.realized;
      Risk r = iso_risk(*slot);
      if (r.equity < r.im)
        return "insufficient margin for '" + symbols.name(a.name) + "': isolated equity " + r.equity.str() +
               " below initial requirement " + r.im.str();
    } else {
      if (copy.balances.empty() || copy.balances.front().asset != 0) {
        BalanceSlot usd;
        copy.balances.insert(copy.balances.begin(), usd);
      }
      copy.balances.front().amount += same_units<Amount>(f.realized);
      Risk r = cross_risk(copy);
      if (r.equity < r.im)
        return "insufficient margin for '" + symbols.name(a.name) + "': equity " + r.equity.str() +
               " below initial requirement " + r.im.str();
    }
    return {};
  }

  void apply_trade_side(std::uint32_t acct, std::uint32_t market, MarginMode mode, Qty delta, Price price,
                        Usd iso_margin) {
    PositionSlot* slot = find_slot(accounts[acct], market);
    if (!slot) slot = &open_slot(acct, market, mode);
    slot->mode = mode;
    if (iso_margin.is_positive()) {
      usd_to_wallet(acct, *slot, iso_margin);
      slot = find_slot(accounts[acct], market);  // balance_ref may not move positions, but stay safe
    }
    Fill f = compute_fill(slot->qty, slot->entry, delta, price);
    set_qty(*slot, f.qty);
    slot->entry = f.entry;
    if (mode == MarginMode::isolated) external_to_wallet(*slot, f.realized);
    else external_to_usd(acct, f.realized);
    tidy_slot(acct, market);
  }

  // A trade that only reduces an existing position (no flip, no margin moved)
  // applies to it in the position's own margin mode, whatever `margin` says
  // or defaults to: reducing trades are always accepted (CONTRACT §2).
  // Opening, increasing or flipping uses the stated mode, and a position held
  // in the other mode is then a mismatch.
  static MarginMode trade_mode(const Account& a, std::uint32_t market, MarginMode stated, Qty delta,
                               bool moves_margin) {
    const PositionSlot* p = find_slot(a, market);
    if (!p || p->qty.is_zero() || p->mode == stated || moves_margin) return stated;
    const bool reduces = p->qty.sign() != delta.sign() && delta.abs() <= p->qty.abs();
    return reduces ? p->mode : stated;
  }

  void on(const TradeEvent& e) {
    std::uint32_t market = static_cast<std::uint32_t>(market_index(e.market));
    // Accounts are created only when the trade is accepted: a rejected event
    // changes nothing but the rejection count.
    Account fresh_account, fresh_counterparty;
    fresh_account.name = e.account;
    fresh_counterparty.name = e.counterparty;
    std::uint32_t acct = find_account(e.account);
    std::uint32_t cp = e.counterparty == kNoSym ? kNone : find_account(e.counterparty);
    const Account& a = acct == kNone ? fresh_account : accounts[acct];
    const Account& c = cp == kNone ? fresh_counterparty : accounts[cp];
    Qty delta = e.side == Side::buy ? e.qty : -e.qty;
    Usd iso_margin = e.has_isolated_margin ? e.isolated_margin : Usd::zero();
    MarginMode mode = trade_mode(a, market, e.margin, delta, iso_margin.is_positive());
    std::string why = check_trade_side(a, market, mode, delta, e.price, iso_margin);
    MarginMode cp_mode = MarginMode::cross;
    if (why.empty() && e.counterparty != kNoSym) {
      const PositionSlot* s = find_slot(c, market);
      if (s) cp_mode = s->mode;
      why = check_trade_side(c, market, cp_mode, -delta, e.price, Usd::zero());
    }
    if (!why.empty()) return reject(why);
    acct = get_or_create_account(e.account);
    if (e.counterparty != kNoSym) cp = get_or_create_account(e.counterparty);
    apply_trade_side(acct, market, mode, delta, e.price, iso_margin);
    touch(acct);
    if (cp != kNone) {
      apply_trade_side(cp, market, cp_mode, -delta, e.price, Usd::zero());
      touch(cp);
    }
  }

  void on(const FundingEvent& e) {
    std::uint32_t m = static_cast<std::uint32_t>(market_index(e.market));
    Price mk = mark(m);
    for (std::uint32_t acct : markets[m].holders) {
      PositionSlot& p = *find_slot(accounts[acct], m);
      // Payment by the holder = rate × qty × mark, rounded against the holder.
      Usd signed_notional = mul<Usd>(p.qty, mk, e.rate.is_negative() ? Round::down : Round::up);
      Usd pay = mul<Usd>(signed_notional, e.rate, Round::up);
      if (p.mode == MarginMode::isolated) external_to_wallet(p, -pay);
      else external_to_usd(acct, -pay);
      touch(acct);
    }
  }

  void on(const ParamEvent& e) {
    auto scope = apply_param_in_place(config, e.path, e.value_json);
    LIQSIM_ASSERT(scope.ok(), "param was validated before the replay");
    if (e.path == "liquidation.insurance_fund" && config.liquidation.insurance_fund != insurance) {
      // Governance sets the fund's balance to the value (whatever it has
      // collected or paid since): the difference comes from, or goes, outside.
      Usd change = config.liquidation.insurance_fund - insurance;
      external[0] -= same_units<Amount>(change);
      insurance += change;
      insurance_move(change);
    }
    if (options.reference_scan) {
      add_all_candidates();  // the reference: every unit, whatever the key
      return;
    }
    add_param_candidates(*scope);
  }

  // The units a param can move across a state boundary (maintenance, margin
  // call) become candidates: they are evaluated with the new configuration and
  // banded again in the index (their old bands assumed the old one). A unit's
  // state and its bands (BandIndex::refresh, unit_slack) depend on the
  // configuration only through its maintenance requirement (a market's
  // maintenance_margin_ratio or tiers), its collateral weights and the
  // margin-call threshold. A market's initial_margin_ratio acts only when a
  // trade or withdrawal is checked; its liquidation_fee_ratio, depth and
  // impact_permanent_share, and the liquidation block's insurance_fund, adl,
  // mode, step_ratio and max_cascade_rounds, only inside a liquidation or its
  // resolution (units left over by max_cascade_rounds are candidates of the
  // next event anyway). Any other market key is treated as a requirement.
  void add_param_candidates(const ParamScope& s) {
    switch (s.section) {
      case ParamScope::Section::market:
        if (s.key == "initial_margin_ratio" || s.key == "liquidation_fee_ratio" || s.key == "depth" ||
            s.key == "impact_permanent_share")
          return;
        for (std::uint32_t acct : markets[s.index].holders) add_candidate(acct);  // cross and isolated
        return;
      case ParamScope::Section::asset:
        if (s.index == 0) return;  // USD's weight is always 1
        for (std::uint32_t acct : assets[s.index].holders) add_candidate(acct);
        return;
      case ParamScope::Section::liquidation:
        if (s.key == "margin_call_threshold") add_all_candidates();
        return;
    }
  }

  // New depth, written into the configuration document like a param, so a
  // later param keeps it and the state hash covers it. Depth changes no
  // unit's state: no candidates.
  void on(const LiquidityEvent& e) {
    std::uint32_t m = static_cast<std::uint32_t>(market_index(e.market));
    auto scope = apply_param_in_place(config, "markets." + config.markets[m].name + ".depth",
                                      "\"" + e.depth.str() + "\"");
    LIQSIM_ASSERT(scope.ok(), "a positive depth is a valid configuration value");
  }

  void touch(std::uint32_t acct) {
    add_candidate(acct);
    index.invalidate(acct);
  }

  // ---- liquidation ----

  // Execution price of a closing fill of `qty` (abs) on `side`, and the
  // permanent mark move it leaves. Linear impact: a fill of notional N moves
  // the price by N / depth percent; the fill averages half of that, and the
  // mark keeps impact_permanent_share of the full move. Capped at 99 %.
  struct Execution {
    Price price;
    Price mark_after;
  };
  Execution execution(std::uint32_t m, Side side, Qty qty) const {
    Price mk = mark(m);
    const MarketConfig& mc = config.markets[m];
    if (!mc.has_depth) return {mk, mk};
    Usd n = mul<Usd>(qty, mk, Round::up);
    // move = N / depth / 100, as a ratio, rounded up (against the liquidated), capped at 99 %.
    using i128 = __int128;
    i128 move_raw = detail::div_round(i128(n.raw()) * kScale, i128(mc.depth.raw()) * 100, Round::up);
    Ratio move = Ratio::from_raw(static_cast<std::int64_t>(std::min<i128>(move_raw, kScale / 100 * 99)));
    Ratio half = div<Ratio>(move, Ratio::from_units(2), Round::up);
    Ratio perm = mul<Ratio>(move, mc.impact_permanent_share, Round::down);
    if (side == Side::sell) {
      return {mul<Price>(mk, Ratio::one() - half, Round::down), mul<Price>(mk, Ratio::one() - perm, Round::down)};
    }
    return {mul<Price>(mk, Ratio::one() + half, Round::up), mul<Price>(mk, Ratio::one() + perm, Round::up)};
  }

  // Closes `qty` (abs) of the unit's position in market m at the execution price.
  void close_for_liquidation(const Unit& u, std::uint32_t m, Qty qty, std::uint32_t round, Bankrupt& record) {
    PositionSlot* p = find_slot(accounts[u.account], m);
    Side side = p->qty.is_positive() ? Side::sell : Side::buy;
    Price mark_before = mark(m);
    Execution ex = execution(m, side, qty);
    Fill f = compute_fill(p->qty, p->entry, side == Side::sell ? -qty : qty, ex.price);
    set_qty(*p, f.qty);
    if (!f.qty.is_zero()) p->entry = f.entry;
    if (u.is_cross()) external_to_usd(u.account, f.realized);
    else external_to_wallet(*p, f.realized);
    if (ex.mark_after != mark_before) {
      markets[m].mark = ex.mark_after;
      impacted_markets.push_back(m);
      if (std::find(displaced.begin(), displaced.end(), m) == displaced.end()) displaced.push_back(m);
    }
    Usd filled = mul<Usd>(qty, ex.price, Round::down);
    Usd fee_nominal = mul<Usd>(mul<Usd>(qty, ex.price, Round::up), config.markets[m].liquidation_fee_ratio, Round::up);
    Usd equity = unit_risk(u).equity;
    Usd fee = min_of(fee_nominal, max_of(equity, Usd::zero()));
    if (fee.is_positive()) {
      unit_usd(u) -= fee;
      insurance += fee;
    }
    ++totals.liquidations;
    totals.liquidated_notional += filled;
    totals.liquidation_fees += fee;
    LiquidationEvent le;
    le.account = accounts[u.account].name;
    le.market = market_sym[m];
    le.side = side;
    le.qty = qty;
    le.price = ex.price;
    le.fee = fee;
    le.margin = u.is_cross() ? MarginMode::cross : MarginMode::isolated;
    le.mark = mark_before;
    le.round = round;
    emit(le);
    if (fee.is_positive()) insurance_move(fee);
    bool merged = false;
    for (ClosedLeg& leg : record.legs)
      if (leg.market == m) {
        leg.qty += qty;
        merged = true;
      }
    if (!merged) record.legs.push_back(ClosedLeg{m, side, qty});
  }

  // Positions of the unit, largest maintenance requirement first.
  void unit_positions(const Unit& u, boost::container::small_vector<std::pair<Usd, std::uint32_t>, 4>& outv) const {
    outv.clear();
    const Account& a = accounts[u.account];
    for (const PositionSlot& p : a.positions) {
      if (p.qty.is_zero()) continue;
      bool mine = u.is_cross() ? p.mode == MarginMode::cross : p.market == u.market;
      if (!mine) continue;
      outv.emplace_back(maintenance_requirement(config.markets[p.market], notional(p)), p.market);
    }
    std::sort(outv.begin(), outv.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
  }

  RiskState& unit_state(const Unit& u) {
    if (u.is_cross()) return accounts[u.account].state;
    return find_slot(accounts[u.account], u.market)->iso_state;
  }

  void liquidate(const Unit& u, std::uint32_t round) {
    transition(unit_state(u), RiskState::liquidating);
    if (round >= 2) ++totals.impact_liquidations;
    Bankrupt record;
    record.unit = u;
    boost::container::small_vector<std::pair<Usd, std::uint32_t>, 4> order;
    unit_positions(u, order);
    if (config.liquidation.mode == LiquidationMode::full) {
      for (const auto& [mm, m] : order)
        close_for_liquidation(u, m, find_slot(accounts[u.account], m)->qty.abs(), round, record);
    } else {
      // Partial: steps of step_ratio of each position's size at the start,
      // largest requirement first, until the unit is no longer liquidatable.
      for (const auto& [mm, m] : order) {
        Qty size = find_slot(accounts[u.account], m)->qty.abs();
        Qty step = mul<Qty>(size, config.liquidation.step_ratio, Round::up);
        if (step.is_zero()) step = size;
        while (unit_risk(u).liquidatable()) {
          Qty left = find_slot(accounts[u.account], m)->qty.abs();
          if (left.is_zero()) break;
          close_for_liquidation(u, m, min_of(step, left), round, record);
        }
        if (!unit_risk(u).liquidatable()) break;
      }
    }
    // What remains: sell collateral for a USD debt, then measure the deficit.
    Usd deficit;
    if (u.is_cross()) {
      bool flat = true;
      for (const PositionSlot& p : accounts[u.account].positions)
        if (p.mode == MarginMode::cross && !p.qty.is_zero()) flat = false;
      if (flat) sell_collateral(u.account);
      Usd usd = usd_balance(accounts[u.account]);
      if (flat && usd.is_negative()) {
        deficit = -usd;
        bad_debt_ledger -= deficit;
        unit_usd(u) += deficit;
      }
      accounts[u.account].breach_ts = -1;
    } else {
      PositionSlot* p = find_slot(accounts[u.account], u.market);
      if (p->qty.is_zero() && p->wallet.is_negative()) {
        deficit = -p->wallet;
        bad_debt_ledger -= deficit;
        p->wallet += deficit;
      }
      p->breach_ts = -1;
    }
    if (deficit.is_positive()) {
      transition(unit_state(u), RiskState::bankrupt);
      ++totals.bankruptcies;
      totals.bad_debt += deficit;
      record.deficit = deficit;
      emit(BankruptcyEvent{accounts[u.account].name, deficit,
                           u.is_cross() ? kNoSym : market_sym[u.market]});
      bankrupts.push_back(record);
      if (!u.is_cross()) tidy_slot(u.account, u.market);
    } else {
      transition(unit_state(u), RiskState::healthy);
      if (!u.is_cross()) tidy_slot(u.account, u.market);
    }
    index.invalidate(u.account);
  }

  // Collateral sold to cover a USD debt once the account has no cross
  // position left, at the price the margin system counts on: oracle price ×
  // collateral_weight, rounded down (the haircut is the sale's discount). The
  // sale leaves weighted equity unchanged, so the account is bankrupt exactly
  // when its equity after closing is negative (CONTRACT §4), for that amount.
  // A weight of 0 (or no price yet) sells nothing: the asset counts for nothing.
  void sell_collateral(std::uint32_t acct) {
    for (std::uint32_t asset = 1; asset < assets.size(); ++asset) {
      Usd usd = usd_balance(accounts[acct]);
      if (!usd.is_negative()) return;
      if (!assets[asset].has_price) continue;
      Amount holds = held(accounts[acct], asset);
      if (!holds.is_positive()) continue;
      Price px = mul<Price>(assets[asset].price, config.assets[asset].collateral_weight, Round::down);
      if (!px.is_positive()) continue;
      // Sell what covers the debt, or all of it. Compared exactly in 128 bits
      // first: at a price of a few 1e-8 the quantity that would cover the
      // debt is beyond the range, though the sale (at most `holds`) is not.
      const bool sell_all = static_cast<__int128>(-usd.raw()) * kScale > static_cast<__int128>(holds.raw()) * px.raw();
      Amount sell = sell_all ? holds : div<Amount>(-usd, px, Round::up);
      Usd proceeds = mul<Usd>(sell, px, Round::down);
      external_to_balance(acct, asset, -sell);
      external_to_usd(acct, proceeds);
      emit(CollateralSaleEvent{accounts[acct].name, asset_sym[asset], sell, px, proceeds});
    }
  }

  // Fund first, then ADL, then socialized loss (CONTRACT §4).
  void resolve_bankruptcies() {
    for (Bankrupt& b : bankrupts) {
      Usd paid = min_of(b.deficit, insurance);
      if (paid.is_positive()) {
        insurance -= paid;
        bad_debt_ledger += paid;
        totals.insurance_paid += paid;
        insurance_move(-paid);
      }
      b.deficit -= paid;
    }
    for (Bankrupt& b : bankrupts) {
      if (b.deficit.is_positive() && config.liquidation.adl) deleverage(b);
      if (b.deficit.is_positive()) {
        socialized_ledger -= b.deficit;
        bad_debt_ledger += b.deficit;
        totals.socialized_loss += b.deficit;
        emit(SocializedLossEvent{b.deficit});
        b.deficit = Usd::zero();
      }
      RiskState& st = b.unit.is_cross() ? accounts[b.unit.account].state : iso_state_after_resolution(b.unit);
      transition(st, RiskState::resolved);
      transition(st, RiskState::healthy);
    }
    bankrupts.clear();
  }
  RiskState scratch_state = RiskState::bankrupt;
  RiskState& iso_state_after_resolution(const Unit& u) {
    // The isolated slot was released when it went bankrupt; its lifecycle
    // ends here, so resolve it on a scratch state for the assertions.
    PositionSlot* p = find_slot(accounts[u.account], u.market);
    if (p) return p->iso_state;
    scratch_state = RiskState::bankrupt;
    return scratch_state;
  }

  // Auto-deleveraging: profitable opposite positions, ranked by PnL% × effective
  // leverage (BitMEX), give up profit at the bankruptcy price to cover what is left.
  void deleverage(Bankrupt& b) {
    std::sort(b.legs.begin(), b.legs.end(), [&](const ClosedLeg& x, const ClosedLeg& y) {
      Usd nx = mul<Usd>(x.qty, mark(x.market), Round::down), ny = mul<Usd>(y.qty, mark(y.market), Round::down);
      return nx != ny ? nx > ny : x.market < y.market;
    });
    for (const ClosedLeg& leg : b.legs) {
      if (!b.deficit.is_positive()) return;
      std::uint32_t m = leg.market;
      Price mk = mark(m);
      // Counterparties hold the side the bankrupt position was closed into.
      bool want_short = leg.side == Side::sell;
      struct Candidate {
        AdlScore score;
        std::uint32_t acct;
      };
      std::vector<Candidate> ranked;
      for (std::uint32_t acct : markets[m].holders) {
        if (acct == b.unit.account) continue;
        const PositionSlot& p = *find_slot(accounts[acct], m);
        if (p.qty.is_zero() || p.qty.is_negative() != want_short) continue;
        Usd pnl = upnl(p);
        if (!pnl.is_positive()) continue;
        Usd equity = p.mode == MarginMode::cross ? cross_risk(accounts[acct]).equity : iso_risk(p).equity;
        if (!equity.is_positive()) continue;
        const __int128 cost = position_cost(p.qty.abs(), p.entry);
        if (cost <= 0) continue;
        ranked.push_back({adl_score(pnl, cost, notional(p), equity), acct});
      }
      std::sort(ranked.begin(), ranked.end(), [](const Candidate& x, const Candidate& y) {
        return x.score != y.score ? x.score > y.score : x.acct < y.acct;
      });
      Qty remaining = leg.qty;
      Usd target = b.deficit;  // spread over this leg's quantity
      for (const Candidate& c : ranked) {
        if (!b.deficit.is_positive() || !remaining.is_positive()) break;
        PositionSlot* p = find_slot(accounts[c.acct], m);
        Qty take = min_of(remaining, p->qty.abs());
        Usd pnl_part = mul_div<Usd>(upnl(*p), take, p->qty.abs(), Round::down);
        Usd share = mul_div<Usd>(target, take, leg.qty, Round::up);
        Usd amount = min_of(min_of(share, pnl_part), b.deficit);
        if (!amount.is_positive()) continue;
        // Close `take` at the mark, then hand over `amount`: together a close at
        // the bankruptcy price.
        Qty delta = p->qty.is_positive() ? -take : take;
        Fill f = compute_fill(p->qty, p->entry, delta, mk);
        set_qty(*p, f.qty);
        if (!f.qty.is_zero()) p->entry = f.entry;
        Unit cu{c.acct, p->mode == MarginMode::cross ? kCross : m};
        if (cu.is_cross()) external_to_usd(c.acct, f.realized);
        else external_to_wallet(*p, f.realized);
        unit_usd(cu) -= amount;
        bad_debt_ledger += amount;
        b.deficit -= amount;
        remaining -= take;
        ++totals.adl_events;
        totals.adl_amount += amount;
        Usd per_unit = div<Usd>(amount, take, Round::up);
        Price adl_price = want_short ? mk + same_units<Price>(per_unit) : mk - same_units<Price>(per_unit);
        emit(AdlEvent{accounts[b.unit.account].name, accounts[c.acct].name, market_sym[m], take,
                      adl_price, amount});
        tidy_slot(c.acct, m);
        adl_candidates.push_back(c.acct);
        index.invalidate(c.acct);
      }
    }
  }

  void settle() {
    std::uint32_t round = 0;
    for (;;) {
      liquidatable.clear();
      std::size_t round_begin = checked.size();
      for (std::uint32_t acct : candidates) {
        checked.push_back(acct);
        collect_liquidatable(acct);
      }
      candidates.clear();
      if (liquidatable.empty()) break;
      ++round;
      if (round > config.liquidation.max_cascade_rounds) {
        for (const auto& item : liquidatable) pending.push_back(item.second.account);
        break;
      }
      std::sort(liquidatable.begin(), liquidatable.end(), [](const auto& x, const auto& y) {
        if (worse(x.first, y.first)) return true;
        if (worse(y.first, x.first)) return false;
        if (x.second.account != y.second.account) return x.second.account < y.second.account;
        return x.second.market < y.second.market;
      });
      impacted_markets.clear();
      for (const auto& item : liquidatable) {
        const Unit& u = item.second;
        if (!u.is_cross() && !find_slot(accounts[u.account], u.market)) continue;
        if (!unit_risk(u).liquidatable()) continue;
        liquidate(u, round);
      }
      resolve_bankruptcies();
      totals.cascade_rounds_max = std::max<std::int64_t>(totals.cascade_rounds_max, round);
      // Next round: whoever the moved marks or ADL can have pushed over. The
      // accounts looked at in this round left the heaps when their bands were
      // crossed: band them again at the new marks first.
      if (!options.reference_scan)
        for (std::size_t i = round_begin; i < checked.size(); ++i) reband(checked[i]);
      ++stamp;
      if (options.reference_scan) {
        add_all_candidates();
      } else {
        std::sort(impacted_markets.begin(), impacted_markets.end());
        impacted_markets.erase(std::unique(impacted_markets.begin(), impacted_markets.end()), impacted_markets.end());
        for (std::uint32_t m : impacted_markets) index.collect_for_mark(*this, m, candidates);
        for (const auto& item : liquidatable) add_candidate(item.second.account);
        for (std::uint32_t acct : adl_candidates) add_candidate(acct);
      }
      adl_candidates.clear();
    }
    evaluate_margin_calls();
  }
  std::vector<std::uint32_t> adl_candidates;

  // New index bands for an account evaluated since its last ones; once per
  // evaluation however many rounds and the end of the event ask for it.
  void reband(std::uint32_t acct) {
    Account& a = accounts[acct];
    if (!a.band_stale) return;
    a.band_stale = false;
    index.refresh(*this, acct);
  }

  void collect_liquidatable(std::uint32_t acct) {
    Account& a = accounts[acct];
    a.band_stale = true;
    ++totals.evaluations;
    Risk cross = cross_risk(a);
    if (cross.liquidatable()) liquidatable.emplace_back(cross, Unit{acct, kCross});
    for (const PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::isolated) continue;
      Risk r = iso_risk(p);
      if (r.liquidatable()) liquidatable.emplace_back(r, Unit{acct, p.market});
    }
  }

  // After the rounds: margin calls for every unit checked, in account order.
  void evaluate_margin_calls() {
    std::sort(checked.begin(), checked.end());
    checked.erase(std::unique(checked.begin(), checked.end()), checked.end());
    Ratio threshold = config.liquidation.margin_call_threshold;
    for (std::uint32_t acct : checked) {
      Account& a = accounts[acct];
      update_margin_state(a.state, cross_risk(a), threshold, a, kNoSym, a.breach_ts);
      for (PositionSlot& p : a.positions) {
        if (p.mode != MarginMode::isolated) continue;
        update_margin_state(p.iso_state, iso_risk(p), threshold, a, market_sym[p.market],
                            p.breach_ts);
      }
      if (!options.reference_scan) reband(acct);
    }
  }

  void update_margin_state(RiskState& st, const Risk& r, Ratio threshold, const Account& a, Sym market,
                           std::int64_t& breach_ts) {
    if (r.liquidatable() && breach_ts < 0) breach_ts = ts;
    bool in_call = false;
    Ratio ratio;
    if (r.mm.is_positive()) {
      if (!r.equity.is_positive()) {
        in_call = true;
        ratio = Ratio::max();
      } else {
        // maintenance ÷ equity rounded up to 8 digits, in 128 bits: a unit
        // left liquidatable (max_cascade_rounds) can have an equity of a few
        // 1e-8 and a ratio beyond any Ratio. The comparison is exact; the
        // reported ratio saturates at Ratio::max(), the value equity ≤ 0 gives.
        using i128 = __int128;
        const i128 q = detail::div_round(i128(r.mm.raw()) * kScale, r.equity.raw(), Round::up);
        in_call = q >= threshold.raw();
        ratio = q > INT64_MAX ? Ratio::max() : Ratio::from_raw(static_cast<std::int64_t>(q));
      }
    }
    if (st == RiskState::healthy && in_call) {
      transition(st, RiskState::margin_call);
      ++totals.margin_calls;
      emit(MarginCallEvent{a.name, ratio, market});
    } else if (st == RiskState::margin_call && !in_call) {
      transition(st, RiskState::healthy);
    }
  }

  // ---- checks and hashing ----

  Status check() const {
    using i128 = __int128;
    std::vector<i128> sums(assets.size(), 0);
    for (std::size_t i = 0; i < assets.size(); ++i) sums[i] = external[i].raw();
    for (const Account& a : accounts) {
      for (const BalanceSlot& b : a.balances) sums[b.asset] += b.amount.raw();
      for (const PositionSlot& p : a.positions) sums[0] += p.wallet.raw();
    }
    sums[0] += i128(insurance.raw()) + bad_debt_ledger.raw() + socialized_ledger.raw();
    for (std::size_t i = 0; i < sums.size(); ++i) {
      if (sums[i] != 0) {
        Error e = make_error(ErrorKind::input, "ledger for " + config.assets[i].name + " sums to " +
                                                   format_decimal_wide(sums[i]) + ", not zero");
        e.seq = seq;
        return e;
      }
    }
    if (!bad_debt_ledger.is_zero()) {
      Error e = make_error(ErrorKind::input, "bad debt ledger left at " + bad_debt_ledger.str() + " after the event");
      e.seq = seq;
      return e;
    }
    return {};
  }

  std::string canonical() const {
    std::string s = "liqsim-state-v1\nconfig " + config.document.dump() + "\n";
    s += "insurance " + insurance.str() + "\nsocialized " + socialized_ledger.str() + "\n";
    std::vector<std::pair<std::string, std::size_t>> order;
    for (std::size_t i = 0; i < config.assets.size(); ++i) order.emplace_back(config.assets[i].name, i);
    std::sort(order.begin(), order.end());
    for (const auto& [name, i] : order)
      s += "asset " + name + " price " + (assets[i].has_price ? assets[i].price.str() : "-") + " external " +
           external[i].str() + "\n";
    order.clear();
    for (std::size_t i = 0; i < config.markets.size(); ++i) order.emplace_back(config.markets[i].name, i);
    std::sort(order.begin(), order.end());
    for (const auto& [name, i] : order)
      s += "market " + name + " mark " + (markets[i].has_mark ? markets[i].mark.str() : "-") + " oi " +
           markets[i].open_interest_long.str() + "/" + markets[i].open_interest_short.str() + "\n";
    order.clear();
    for (std::size_t i = 0; i < accounts.size(); ++i) order.emplace_back(symbols.name(accounts[i].name), i);
    std::sort(order.begin(), order.end());
    for (const auto& [name, i] : order) {
      const Account& a = accounts[i];
      s += "account " + name + " " + risk_state_name(a.state) + "\n";
      std::vector<std::string> lines;
      for (const BalanceSlot& b : a.balances)  // a zero balance is the same state as none
        if (!b.amount.is_zero()) lines.push_back(" balance " + config.assets[b.asset].name + " " + b.amount.str());
      for (const PositionSlot& p : a.positions)
        lines.push_back(" position " + config.markets[p.market].name + " " + margin_mode_name(p.mode) + " " +
                        p.qty.str() + " @ " + p.entry.str() + " wallet " + p.wallet.str() + " " +
                        risk_state_name(p.iso_state));
      std::sort(lines.begin(), lines.end());
      for (const auto& l : lines) s += l + "\n";
    }
    const Summary& t = totals;
    s += "totals " + std::to_string(t.events) + " " + std::to_string(t.rejected) + " " +
         std::to_string(t.margin_calls) + " " + std::to_string(t.liquidations) + " " + t.liquidated_notional.str() +
         " " + t.liquidation_fees.str() + " " + t.bad_debt.str() + " " + std::to_string(t.adl_events) + " " +
         t.socialized_loss.str() + "\n";
    return s;
  }
};

// ---------------------------------------------------------------------------

Engine::Engine(Config config, Symbols& symbols, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), symbols, options)) {}
Engine::Engine(const Engine& other) : impl_(std::make_unique<Impl>(*other.impl_)) { impl_->out = nullptr; }
Engine::Engine(Engine&&) noexcept = default;
Engine::~Engine() = default;

Status Engine::apply(const InputEvent& event, std::int64_t seq, std::vector<DerivedEvent>& out) {
  if (impl_->failure) return *impl_->failure;
  try {
    impl_->apply(event, seq, out);
  } catch (const OverflowError& ex) {
    Error e = make_error(ErrorKind::input,
                         std::string(ex.what()) +
                             ": an amount of this event, or a balance or total it changes, is outside the fixed-point "
                             "range of ±92233720368.54775807");
    e.seq = seq;
    impl_->failure = e;
    return e;
  }
  return {};
}

bool Engine::failed() const { return impl_->failure.has_value(); }

Summary Engine::totals() const {
  Summary s = impl_->totals;
  s.insurance_fund = impl_->insurance;
  s.accounts = static_cast<std::int64_t>(impl_->accounts.size());
  return s;
}

Summary Engine::summary() const {
  Summary s = totals();
  s.state_hash = state_hash();
  return s;
}

std::string Engine::canonical_state() const { return impl_->canonical(); }
std::string Engine::state_hash() const { return sha256_hex(impl_->canonical()); }
Status Engine::check_ledger() const { return impl_->check(); }
const Config& Engine::config() const { return impl_->config; }
Usd Engine::insurance_fund() const { return impl_->insurance; }

std::vector<Engine::AccountView> Engine::account_views() const {
  std::vector<AccountView> v;
  v.reserve(impl_->accounts.size());
  for (const Account& a : impl_->accounts) {
    AccountView av;
    av.name = impl_->symbols.name(a.name);
    Risk r = impl_->cross_risk(a);
    av.cross_equity = r.equity;
    av.maintenance_requirement = r.mm;
    av.initial_requirement = r.im;
    for (const BalanceSlot& b : a.balances) av.collateral_value += impl_->balance_value(b);
    for (const PositionSlot& p : a.positions) {
      if (p.qty.is_zero()) continue;
      av.gross_notional += impl_->notional(p);
      ++av.positions;
      if (p.mode == MarginMode::isolated) {
        Risk ir = impl_->iso_risk(p);
        ++av.isolated_positions;
        av.isolated_equity += ir.equity;
        av.maintenance_requirement += ir.mm;
        av.initial_requirement += ir.im;
      }
    }
    av.state = risk_state_name(a.state);
    v.push_back(std::move(av));
  }
  return v;
}

std::vector<Engine::MarketView> Engine::market_views() const {
  std::vector<MarketView> v;
  for (std::size_t i = 0; i < impl_->markets.size(); ++i)
    v.push_back(MarketView{impl_->config.markets[i].name, impl_->markets[i].mark,
                           impl_->markets[i].open_interest_long, impl_->markets[i].open_interest_short});
  return v;
}

std::vector<std::pair<std::string, UsdSum>> Engine::collateral_by_asset() const {
  std::vector<UsdSum> sums(impl_->assets.size());
  for (const Account& a : impl_->accounts)
    for (const BalanceSlot& b : a.balances)
      if (b.amount.is_positive()) sums[b.asset] += impl_->balance_value(b);
  std::vector<std::pair<std::string, UsdSum>> v;
  for (std::size_t i = 0; i < sums.size(); ++i) v.emplace_back(impl_->config.assets[i].name, sums[i]);
  return v;
}

// ---------------------------------------------------------------------------

Status validate_events(const Config& config, const Symbols& symbols, const std::vector<InputEvent>& events) {
  Config current = config;
  std::vector<bool> priced(config.assets.size(), false);
  priced[0] = true;
  auto fail = [](std::int64_t seq, std::string field, std::string message) {
    Error e = make_error(ErrorKind::input, std::move(message), std::move(field));
    e.seq = seq;
    return e;
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto seq = static_cast<std::int64_t>(i);
    const EventBody& body = events[i].body;
    auto asset_of = [&](Sym s) { return current.asset_index(symbols.name(s)); };
    auto market_of = [&](Sym s) { return current.market_index(symbols.name(s)); };
    if (const auto* p = std::get_if<PriceEvent>(&body)) {
      int a = asset_of(p->asset);
      if (a < 0) return fail(seq, "asset", "asset '" + symbols.name(p->asset) + "' is not defined in the configuration");
      if (a == 0) return fail(seq, "asset", "USD is the numeraire; its price is always 1");
      priced[static_cast<std::size_t>(a)] = true;
    } else if (const auto* d = std::get_if<DepositEvent>(&body)) {
      const int a = asset_of(d->asset);
      if (a < 0)
        return fail(seq, "asset", "asset '" + symbols.name(d->asset) + "' is not defined in the configuration");
      // Collateral is valued by its latest price (CONTRACT §1): before the
      // first one it has no value, cannot be sold in a liquidation, and would
      // outlive a bankruptcy it could have covered.
      if (!priced[static_cast<std::size_t>(a)])
        return fail(seq, "asset", "deposit of '" + symbols.name(d->asset) + "' before its first price");
    } else if (const auto* w = std::get_if<WithdrawEvent>(&body)) {
      if (asset_of(w->asset) < 0)
        return fail(seq, "asset", "asset '" + symbols.name(w->asset) + "' is not defined in the configuration");
    } else if (const auto* t = std::get_if<TradeEvent>(&body)) {
      int m = market_of(t->market);
      if (m < 0)
        return fail(seq, "market", "market '" + symbols.name(t->market) + "' is not defined in the configuration");
      if (!priced[current.markets[static_cast<std::size_t>(m)].underlying_index])
        return fail(seq, "market",
                    "trade in '" + symbols.name(t->market) + "' before its underlying '" +
                        current.markets[static_cast<std::size_t>(m)].underlying + "' has a price");
    } else if (const auto* f = std::get_if<FundingEvent>(&body)) {
      int m = market_of(f->market);
      if (m < 0)
        return fail(seq, "market", "market '" + symbols.name(f->market) + "' is not defined in the configuration");
      if (!priced[current.markets[static_cast<std::size_t>(m)].underlying_index])
        return fail(seq, "market", "funding in '" + symbols.name(f->market) + "' before its underlying has a price");
      if (f->rate.abs() > Ratio::one()) return fail(seq, "rate", "a funding rate beyond ±1 per interval");
    } else if (const auto* pa = std::get_if<ParamEvent>(&body)) {
      auto scope = apply_param_in_place(current, pa->path, pa->value_json);
      if (!scope) {
        Error e = scope.error();
        e.seq = seq;
        return e;
      }
    } else if (const auto* l = std::get_if<LiquidityEvent>(&body)) {
      if (market_of(l->market) < 0)
        return fail(seq, "market", "market '" + symbols.name(l->market) + "' is not defined in the configuration");
    }
  }
  return {};
}

}  // namespace liqsim
