// liquidation.cpp — the rounds after an event (CONTRACT §4): liquidation of
// every liquidatable unit, worst margin ratio first; collateral sold for a
// USD debt; bankruptcy; its resolution by the insurance fund, then ADL, then
// socialized loss; the cascade of units that impact or ADL pushed over; and
// finally the margin calls. Also the lifecycle of a risk unit.
#include <algorithm>
#include <array>

#include "impl.hpp"

namespace liqsim {

using namespace engine;

namespace engine {

const char* risk_state_name(RiskState s) {
  switch (s) {
    case RiskState::healthy:
      return "healthy";
    case RiskState::margin_call:
      return "margin_call";
    case RiskState::liquidating:
      return "liquidating";
    case RiskState::bankrupt:
      return "bankrupt";
    case RiskState::resolved:
      return "resolved";
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

// The permanent part of liquidation impact holds for the later checks of the
// same timestamp (the cascade). Before the first event of a later ts, each
// displaced mark returns to its underlying's latest price, and the units the
// return can push over are checked with that event.
void Engine::Impl::restore_marks() {
  std::sort(displaced.begin(), displaced.end());
  IndexHost h = host();
  for (std::uint32_t m : displaced) {
    const AssetState& under = assets[config.markets[m].underlying_index];
    if (markets[m].mark == under.price) continue;
    markets[m].mark = under.price;
    if (!options.reference_scan) index.collect(h, index.mark_key(m), markets[m].mark.raw());
  }
  if (options.reference_scan) add_all_candidates();
  displaced.clear();
}

// Closes `qty` (abs) of the unit's position in market m at the execution price.
void Engine::Impl::close_for_liquidation(const Unit& u, std::uint32_t m, Qty qty, std::uint32_t round,
                                         Bankrupt& record) {
  PositionSlot* p = find_slot(accounts[u.account], m);
  Side side = p->qty.is_positive() ? Side::sell : Side::buy;
  Price mark_before = mark(m);
  Execution ex = liquidation_execution(config.markets[m], mark_before, side, qty);
  Fill f = compute_fill(p->qty, p->entry, side == Side::sell ? -qty : qty, ex.price);
  set_qty(*p, f.qty);
  if (!f.qty.is_zero()) p->entry = f.entry;
  settle_external(u.account, *p, f.realized);
  if (ex.mark_after != mark_before) {
    markets[m].mark = ex.mark_after;
    impacted_markets.push_back(m);
    if (std::find(displaced.begin(), displaced.end(), m) == displaced.end()) displaced.push_back(m);
  }
  Usd filled = mul<Usd>(qty, ex.price, Round::down);
  Usd fee_nominal = liquidation_fee_nominal(qty, ex.price, config.markets[m].liquidation_fee_ratio);
  Usd fee = fee_charged(fee_nominal, unit_risk_mm(u).equity);
  if (fee.is_positive()) ledger.transfer(unit_margin(u), ledger.insurance(), fee);
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
      leg.filled += filled;
      merged = true;
    }
  if (!merged)
    record.legs.push_back(ClosedLeg{m, side, qty, filled, Usd::zero(), Usd::zero(), Price::zero()});
}

// Positions of the unit, largest maintenance requirement first.
void Engine::Impl::unit_positions(
    const Unit& u, boost::container::small_vector<std::pair<Usd, std::uint32_t>, 4>& outv) const {
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

RiskState& Engine::Impl::unit_state(const Unit& u) {
  if (u.is_cross()) return accounts[u.account].state;
  return find_slot(accounts[u.account], u.market)->iso_state;
}

void Engine::Impl::liquidate(const Unit& u, std::uint32_t round) {
  risks_changed();
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
      Qty step = partial_step(size, config.liquidation.step_ratio);
      while (unit_risk_mm(u).liquidatable()) {
        Qty left = find_slot(accounts[u.account], m)->qty.abs();
        if (left.is_zero()) break;
        close_for_liquidation(u, m, min_of(step, left), round, record);
      }
      if (!unit_risk_mm(u).liquidatable()) break;
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
      ledger.transfer(ledger.bad_debt(), unit_margin(u), deficit);
    }
    accounts[u.account].breach_ts = -1;
  } else {
    PositionSlot* p = find_slot(accounts[u.account], u.market);
    if (p->qty.is_zero() && p->wallet.is_negative()) {
      deficit = -p->wallet;
      ledger.transfer(ledger.bad_debt(), wallet(*p), deficit);
    }
    p->breach_ts = -1;
  }
  if (deficit.is_positive()) {
    transition(unit_state(u), RiskState::bankrupt);
    ++totals.bankruptcies;
    totals.bad_debt += deficit;
    record.deficit = deficit;
    attribute_deficit(record);
    emit(BankruptcyEvent{accounts[u.account].name, deficit, u.is_cross() ? kNoSym : market_sym[u.market]});
    bankrupts.push_back(record);
    if (!u.is_cross()) tidy_slot(u.account, u.market);
  } else {
    transition(unit_state(u), RiskState::healthy);
    if (!u.is_cross()) tidy_slot(u.account, u.market);
  }
  index.invalidate(u.account);
}

// Collateral sold to cover a USD debt once the account has no cross
// position left, at the price the margin system counts on (margin.hpp's
// collateral_sale). The sale leaves weighted equity unchanged, so the account
// is bankrupt exactly when its equity after closing is negative (CONTRACT §4),
// for that amount. A weight of 0 (or no price yet) sells nothing: the asset
// counts for nothing.
void Engine::Impl::sell_collateral(std::uint32_t acct) {
  for (std::uint32_t asset = 1; asset < assets.size(); ++asset) {
    Usd usd = usd_balance(accounts[acct]);
    if (!usd.is_negative()) return;
    if (!assets[asset].has_price) continue;
    Amount holds = held(accounts[acct], asset);
    if (!holds.is_positive()) continue;
    Price px = collateral_sale_price(assets[asset].price, config.assets[asset].collateral_weight);
    if (!px.is_positive()) continue;
    CollateralSale sale = collateral_sale(-usd, holds, px);
    ledger.transfer(balance(acct, asset), ledger.external(asset), sale.sell);
    ledger.transfer(ledger.external(0), balance(acct, 0), sale.proceeds);
    emit(CollateralSaleEvent{accounts[acct].name, asset_sym[asset], sale.sell, px, sale.proceeds});
  }
}

// Fund first, then ADL, then socialized loss (CONTRACT §4).
namespace {
bool adl_after(const AdlEntry& x, const AdlEntry& y);
}  // namespace

// A socialized loss charged to accounts (liquidation.socialize), leg by leg:
// what ADL left open of each leg, pro rata over its market's positions —
// the profitable ones opposite the leg by their profit, never more than it
// ("profitable", a clawback), or every open one by its notional at the mark
// ("open_interest") — each share rounded down, the remainder to the largest
// weight (ties: the lower account index). A share moves from the account's
// margin to the socialized-loss ledger; what no one is charged stays
// socialized. The charged accounts are checked in the next round and ranked
// again for ADL.
void Engine::Impl::charge_socialized(Bankrupt& b) {
  const bool profit = config.liquidation.socialize == SocializeRule::profitable;
  std::vector<std::pair<std::uint32_t, Usd>> weights;
  for (ClosedLeg& leg : b.legs) {
    if (!leg.open.is_positive()) continue;
    const std::uint32_t m = leg.market;
    const bool want_short = leg.side == Side::sell;  // opposite the bankrupt position
    weights.clear();
    UsdSum total;
    for (std::uint32_t acct : markets[m].holders) {
      if (acct == b.unit.account) continue;
      const PositionSlot* p = find_slot(accounts[acct], m);
      if (p == nullptr || p->qty.is_zero()) continue;
      Usd w;
      if (profit) {
        if (p->qty.is_negative() != want_short) continue;
        w = upnl(*p);
      } else {
        w = notional(*p);
        if (w.is_negative()) w = -w;
      }
      if (!w.is_positive()) continue;
      weights.emplace_back(acct, w);
      total += w;
    }
    if (weights.empty()) continue;
    std::sort(weights.begin(), weights.end());  // account order
    const __int128 t_raw = profit ? std::min<__int128>(leg.open.raw(), total.raw()) : leg.open.raw();
    std::vector<Usd> share(weights.size());
    split_pro_rata(
        t_raw, weights.size(), [&](std::size_t i) { return __int128(weights[i].second.raw()); },
        [&](std::size_t i, __int128 v) {
          // Never beyond a profit ("profitable"): only the remainder can reach it.
          const Usd s = Usd::from_raw(static_cast<std::int64_t>(v));
          share[i] = profit ? min_of(s, weights[i].second) : s;
        });
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (!share[i].is_positive()) continue;
      const std::uint32_t acct = weights[i].first;
      PositionSlot* p = find_slot(accounts[acct], m);
      Unit cu{acct, p->mode == MarginMode::cross ? kCross : m};
      risks_changed();
      ledger.transfer(unit_margin(cu), ledger.socialized(), share[i]);
      leg.open -= share[i];
      emit(SocializedChargeEvent{accounts[acct].name, market_sym[m], share[i]});
      adl_candidates.push_back(acct);
      index.invalidate(acct);
      adl_rescore(acct);
    }
  }
}

// A counterparty whose equity changed: a new version, and its score again in
// every ADL book of the resolve pass (older entries are skipped).
void Engine::Impl::adl_rescore(std::uint32_t acct) {
  const std::uint32_t version = ++adl_versions[acct];
  for (AdlBook& book : adl_books)
    if (auto score = adl_rank(acct, book.market, book.want_short)) {
      book.heap.push_back({*score, acct, version});
      std::push_heap(book.heap.begin(), book.heap.end(), adl_after);
    }
}

// A bankrupt unit's deficit split over its closed legs pro rata to their
// filled notional (rounded down; the largest leg, first in order, takes the
// remainder), and each leg's bankruptcy price from its share.
void Engine::Impl::attribute_deficit(Bankrupt& b) const {
  split_pro_rata(
      b.deficit.raw(), b.legs.size(), [&](std::size_t i) { return __int128(b.legs[i].filled.raw()); },
      [&](std::size_t i, __int128 v) { b.legs[i].deficit = Usd::from_raw(static_cast<std::int64_t>(v)); });
  for (ClosedLeg& leg : b.legs) leg.bankruptcy = bankruptcy_price(leg.filled, leg.deficit, leg.qty, leg.side);
}

void Engine::Impl::resolve_bankruptcies() {
  adl_books.clear();
  adl_versions.clear();
  for (Bankrupt& b : bankrupts) {
    Usd paid = min_of(b.deficit, ledger.insurance_balance());
    if (paid.is_positive()) {
      ledger.transfer(ledger.insurance(), ledger.bad_debt(), paid);
      totals.insurance_paid += paid;
      insurance_move(-paid);
    }
    b.deficit -= paid;
    // What the fund left open, over the legs as the deficit was (their
    // shares sum to it).
    split_pro_rata(
        b.deficit.raw(), b.legs.size(), [&](std::size_t k) { return __int128(b.legs[k].deficit.raw()); },
        [&](std::size_t k, __int128 v) { b.legs[k].open = Usd::from_raw(static_cast<std::int64_t>(v)); });
  }
  for (Bankrupt& b : bankrupts) {
    if (b.deficit.is_positive() && config.liquidation.adl) {
      if (options.reference_scan)
        deleverage_by_scan(b);
      else
        deleverage(b);
    }
    if (b.deficit.is_positive()) {
      ledger.transfer(ledger.socialized(), ledger.bad_debt(), b.deficit);
      totals.socialized_loss += b.deficit;
      emit(SocializedLossEvent{b.deficit});
      if (config.liquidation.socialize != SocializeRule::none) charge_socialized(b);
      b.deficit = Usd::zero();
    }
    RiskState& st = b.unit.is_cross() ? accounts[b.unit.account].state : iso_state_after_resolution(b.unit);
    transition(st, RiskState::resolved);
    transition(st, RiskState::healthy);
  }
  bankrupts.clear();
}

RiskState& Engine::Impl::iso_state_after_resolution(const Unit& u) {
  // The isolated slot was released when it went bankrupt; its lifecycle
  // ends here, so resolve it on a scratch state for the assertions.
  PositionSlot* p = find_slot(accounts[u.account], u.market);
  if (p) return p->iso_state;
  scratch_state = RiskState::bankrupt;
  return scratch_state;
}

// Auto-deleveraging: profitable opposite positions, ranked by PnL% × effective
// leverage (BitMEX), give up profit at the bankruptcy price to cover what is left.
// The score of acct's position in m as a counterparty on that side, or
// nothing if it is not one (no profit, no equity, no cost).
std::optional<engine::AdlScore> Engine::Impl::adl_rank(std::uint32_t acct, std::uint32_t m,
                                                       bool want_short) const {
  const PositionSlot* p = find_slot(accounts[acct], m);
  if (p == nullptr || p->qty.is_zero() || p->qty.is_negative() != want_short) return std::nullopt;
  Usd pnl = upnl(*p);
  if (!pnl.is_positive()) return std::nullopt;
  Usd equity = p->mode == MarginMode::cross ? cross_risk_mm(accounts[acct]).equity : iso_risk_mm(*p).equity;
  if (!equity.is_positive()) return std::nullopt;
  const __int128 cost = position_cost(p->qty.abs(), p->entry);
  if (cost <= 0) return std::nullopt;
  return adl_score(pnl, cost, notional(*p), equity);
}

namespace {
// Best first: the highest score, ties to the lower account index (a total
// order, so the sequence popped is the sorted one).
bool adl_after(const AdlEntry& x, const AdlEntry& y) {
  return x.score != y.score ? y.score > x.score : x.acct > y.acct;
}
}  // namespace

AdlBook& Engine::Impl::adl_book(std::uint32_t m, bool want_short) {
  for (AdlBook& book : adl_books)
    if (book.market == m && book.want_short == want_short) return book;
  AdlBook& book = adl_books.emplace_back();
  book.market = m;
  book.want_short = want_short;
  for (std::uint32_t acct : markets[m].holders)
    if (auto score = adl_rank(acct, m, want_short)) book.heap.push_back({*score, acct, adl_version(acct)});
  // A heap, not a sort: a leg is usually covered by its first few
  // counterparties, and at 1e6 accounts a market has hundreds of thousands.
  std::make_heap(book.heap.begin(), book.heap.end(), adl_after);
  return book;
}

// The legs of a bankrupt unit, largest notional at the mark first.
void Engine::Impl::sort_adl_legs(Bankrupt& b) const {
  std::sort(b.legs.begin(), b.legs.end(), [&](const ClosedLeg& x, const ClosedLeg& y) {
    Usd nx = mul<Usd>(x.qty, mark(x.market), Round::down), ny = mul<Usd>(y.qty, mark(y.market), Round::down);
    return nx != ny ? nx > ny : x.market < y.market;
  });
}

// ADL of acct's position in the leg's market for b, at the leg's bankruptcy
// price: min(remaining, its size, the units the leg's open deficit needs) are
// closed at the mark, and what a close at the bankruptcy price instead gives
// up (adl_amount) is handed over to the bad-debt ledger — together a close at
// the bankruptcy price, or at the counterparty's entry where that is nearer
// (ADL takes profit, never more). Returns false, changing nothing, when that
// comes to nothing.
bool Engine::Impl::adl_take(Bankrupt& b, ClosedLeg& leg, std::uint32_t acct, Qty& remaining) {
  const std::uint32_t m = leg.market;
  const Price mk = mark(m);
  const bool want_short = leg.side == Side::sell;
  const Price per_unit = adl_forgone_per_unit(mk, leg.bankruptcy, want_short);
  if (!per_unit.is_positive()) return false;
  PositionSlot* p = find_slot(accounts[acct], m);
  // A counterparty whose profit per unit is less than that gives up all of
  // it on each unit (a close at its entry): it is taken for more units.
  const Usd pnl = upnl(*p);
  const Price pnl_per_unit = same_units<Price>(div<Usd>(pnl, p->qty.abs(), Round::down));
  const Price covers = min_of(per_unit, pnl_per_unit);
  if (!covers.is_positive()) return false;
  Qty take = min_of(min_of(remaining, p->qty.abs()), adl_units_needed(leg.open, covers));
  if (!take.is_positive()) return false;
  Usd amount = adl_amount(pnl, take, p->qty.abs(), per_unit, leg.open);
  if (!amount.is_positive()) return false;
  // At the bankruptcy price the last units can give up a little more than
  // what is open (take is rounded up): that rest, under 1e-8 a unit, goes to
  // the insurance fund, so the close is exactly at the bankruptcy price.
  Usd rest;
  const Usd forgone = mul<Usd>(take, per_unit, Round::up);
  if (amount == leg.open && forgone > amount && mul_div<Usd>(pnl, take, p->qty.abs(), Round::down) >= forgone)
    rest = forgone - amount;
  // The price it closed at: the bankruptcy price when it gave up all of
  // take × (bankruptcy − mark); else (its profit was less) the mark moved by
  // what it gave per unit.
  const Price price = amount + rest == forgone ? leg.bankruptcy : adl_price(mk, amount, take, want_short);
  Qty delta = p->qty.is_positive() ? -take : take;
  Fill f = compute_fill(p->qty, p->entry, delta, mk);
  set_qty(*p, f.qty);
  if (!f.qty.is_zero()) p->entry = f.entry;
  Unit cu{acct, p->mode == MarginMode::cross ? kCross : m};
  settle_external(acct, *p, f.realized);
  ledger.transfer(unit_margin(cu), ledger.bad_debt(), amount);
  if (rest.is_positive()) ledger.transfer(unit_margin(cu), ledger.insurance(), rest);
  b.deficit -= amount;
  leg.open -= amount;
  remaining -= take;
  ++totals.adl_events;
  totals.adl_amount += amount;
  emit(AdlEvent{accounts[b.unit.account].name, accounts[acct].name, market_sym[m], take, price, amount});
  if (rest.is_positive()) insurance_move(rest);
  tidy_slot(acct, m);
  adl_candidates.push_back(acct);
  index.invalidate(acct);
  return true;
}

// Whether ADL can cover any of the leg: something open, units left, and a
// bankruptcy price beyond the mark (else a counterparty would gain by it).
bool Engine::Impl::adl_leg_open(const ClosedLeg& leg, const Qty& remaining) const {
  return leg.open.is_positive() && remaining.is_positive() &&
         adl_forgone_per_unit(mark(leg.market), leg.bankruptcy, leg.side == Side::sell).is_positive();
}

void Engine::Impl::deleverage(Bankrupt& b) {
  risks_changed();
  sort_adl_legs(b);
  std::vector<AdlEntry> skipped;  // candidates this leg cannot use or has used; the next may
  for (ClosedLeg& leg : b.legs) {
    Qty remaining = leg.qty;
    if (!adl_leg_open(leg, remaining)) continue;
    // Counterparties hold the side the bankrupt position was closed into.
    const bool want_short = leg.side == Side::sell;
    std::size_t book_index = static_cast<std::size_t>(&adl_book(leg.market, want_short) - adl_books.data());
    skipped.clear();
    for (;;) {
      std::vector<AdlEntry>& heap = adl_books[book_index].heap;
      if (heap.empty() || !leg.open.is_positive() || !remaining.is_positive()) break;
      std::pop_heap(heap.begin(), heap.end(), adl_after);
      const AdlEntry c = heap.back();
      heap.pop_back();
      if (c.version != adl_version(c.acct)) continue;  // re-scored since
      if (c.acct == b.unit.account || !adl_take(b, leg, c.acct, remaining)) {
        skipped.push_back(c);
        continue;
      }
      // Its equity, and so its score in every book it is in, has changed.
      // A leg takes from a counterparty once (as the reference's one
      // ranking per leg does): in this leg's book it returns after the leg.
      const std::uint32_t version = ++adl_versions[c.acct];
      for (std::size_t k = 0; k < adl_books.size(); ++k)
        if (auto score = adl_rank(c.acct, adl_books[k].market, adl_books[k].want_short)) {
          if (k == book_index) {
            skipped.push_back({*score, c.acct, version});
            continue;
          }
          adl_books[k].heap.push_back({*score, c.acct, version});
          std::push_heap(adl_books[k].heap.begin(), adl_books[k].heap.end(), adl_after);
        }
    }
    std::vector<AdlEntry>& heap = adl_books[book_index].heap;
    for (const AdlEntry& e : skipped) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), adl_after);
    }
  }
}

// Auto-deleveraging as first written, kept as the reference the differential
// tests compare deleverage with (EngineOptions::reference_scan): every leg
// ranks every holder of its market afresh.
void Engine::Impl::deleverage_by_scan(Bankrupt& b) {
  risks_changed();
  sort_adl_legs(b);
  for (ClosedLeg& leg : b.legs) {
    Qty remaining = leg.qty;
    if (!adl_leg_open(leg, remaining)) continue;
    const bool want_short = leg.side == Side::sell;
    std::vector<AdlEntry> ranked;
    for (std::uint32_t acct : markets[leg.market].holders)
      if (acct != b.unit.account)
        if (auto score = adl_rank(acct, leg.market, want_short)) ranked.push_back({*score, acct, 0});
    std::make_heap(ranked.begin(), ranked.end(), adl_after);
    while (!ranked.empty()) {
      if (!leg.open.is_positive() || !remaining.is_positive()) break;
      std::pop_heap(ranked.begin(), ranked.end(), adl_after);
      const AdlEntry c = ranked.back();
      ranked.pop_back();
      adl_take(b, leg, c.acct, remaining);
    }
  }
}

void Engine::Impl::settle() {
  std::uint32_t round = 0;
  for (;;) {
    liquidatable.clear();
    std::size_t round_begin = checked.size();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i + 2 * kAhead < candidates.size()) prefetch_account(candidates[i + 2 * kAhead]);
      if (i + kAhead < candidates.size()) prefetch_account_slots(candidates[i + kAhead]);
      checked.push_back(candidates[i]);
      collect_liquidatable(candidates[i]);
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
      if (!unit_risk_now(u).liquidatable()) continue;
      liquidate(u, round);
    }
    resolve_bankruptcies();
    totals.cascade_rounds_max = std::max<std::int64_t>(totals.cascade_rounds_max, round);
    // Next round: whoever the moved marks or ADL can have pushed over. The
    // accounts looked at in this round left the heaps when their bands were
    // crossed: band them again at the new marks first.
    if (!options.reference_scan)
      for (std::size_t i = round_begin; i < checked.size(); ++i) {
        if (i + kAhead < checked.size()) {
          prefetch_account_slots(checked[i + kAhead]);
          index.prefetch(checked[i + kAhead]);
        }
        if (i + 2 * kAhead < checked.size()) {
          prefetch_account(checked[i + 2 * kAhead]);
        }
        reband(checked[i]);
      }
    index.place_refreshed();
    ++stamp;
    if (options.reference_scan) {
      add_all_candidates();
    } else {
      std::sort(impacted_markets.begin(), impacted_markets.end());
      impacted_markets.erase(std::unique(impacted_markets.begin(), impacted_markets.end()),
                             impacted_markets.end());
      IndexHost h = host();
      for (std::uint32_t m : impacted_markets) index.collect(h, index.mark_key(m), markets[m].mark.raw());
      for (const auto& item : liquidatable) add_candidate(item.second.account);
      for (std::uint32_t acct : adl_candidates) add_candidate(acct);
    }
    adl_candidates.clear();
  }
  evaluate_margin_calls();
}

// New index bands for an account evaluated since its last ones; once per
// evaluation however many rounds and the end of the event ask for it.
void Engine::Impl::reband(std::uint32_t acct) {
  Account& a = accounts[acct];
  if (!a.band_stale) return;
  a.band_stale = false;
  IndexHost h = host();
  index.refresh(h, acct);
}

void Engine::Impl::collect_liquidatable(std::uint32_t acct) {
  Account& a = accounts[acct];
  a.band_stale = true;
  ++totals.evaluations;
  Risk cross = cross_risk_mm(a);
  if (!evaluated_this_event(acct)) evaluated.push_back(acct);
  start_risks(acct).cross = cross;
  if (cross.liquidatable()) liquidatable.emplace_back(cross, Unit{acct, kCross});
  for (std::size_t i = 0; i < a.positions.size(); ++i) {
    const PositionSlot& p = a.positions[i];
    if (p.mode != MarginMode::isolated) continue;
    Risk r = iso_risk_mm(p);
    risk_pool[risk_cache[a.risk_slot].iso_begin + i] = r;
    if (r.liquidatable()) liquidatable.emplace_back(r, Unit{acct, p.market});
  }
  risk_cache[a.risk_slot].epoch = risk_epoch;  // complete: valid until the next change
}

namespace {

// Distinct account indices into ascending order: what std::sort gives, by a
// radix sort (passes of 11 bits, as many as the largest index needs) once
// there are enough of them for it to pay.
void sort_distinct(std::vector<std::uint32_t>& v, std::vector<std::uint32_t>& scratch) {
  if (v.size() < 512) {
    std::sort(v.begin(), v.end());
    return;
  }
  const std::uint32_t largest = *std::max_element(v.begin(), v.end());
  scratch.resize(v.size());
  for (int shift = 0; shift < 32 && (shift == 0 || (largest >> shift) != 0); shift += 11) {
    std::array<std::uint32_t, 2048> start{};
    for (std::uint32_t x : v) ++start[(x >> shift) & 2047];
    std::uint32_t sum = 0;
    for (std::uint32_t& c : start) {
      const std::uint32_t n = c;
      c = sum;
      sum += n;
    }
    for (std::uint32_t x : v) scratch[start[(x >> shift) & 2047]++] = x;
    v.swap(scratch);
  }
}

}  // namespace

// After the rounds: margin calls for every unit checked, in account order.
// `evaluated` holds each account checked once (collect_liquidatable), so
// only the distinct ones are sorted.
void Engine::Impl::evaluate_margin_calls() {
  sort_distinct(evaluated, sort_scratch);
  Ratio threshold = config.liquidation.margin_call_threshold;
  for (std::size_t i = 0; i < evaluated.size(); ++i) {
    if (i + 2 * kAhead < evaluated.size()) {
      prefetch_account(evaluated[i + 2 * kAhead]);
      if (!options.reference_scan) index.prefetch(evaluated[i + 2 * kAhead]);
    }
    if (i + kAhead < evaluated.size()) {  // its account arrived: now its cached risks
      const std::uint32_t slot = accounts[evaluated[i + kAhead]].risk_slot;
      if (slot < risk_cache.size()) __builtin_prefetch(&risk_cache[slot]);
      prefetch_account_slots(evaluated[i + kAhead]);
    }
    const std::uint32_t acct = evaluated[i];
    Account& a = accounts[acct];
    update_margin_state(a.state, cross_risk_now(acct), threshold, a, kNoSym, a.breach_ts);
    for (PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::isolated) continue;
      update_margin_state(p.iso_state, iso_risk_now(acct, p), threshold, a, market_sym[p.market],
                          p.breach_ts);
    }
    if (!options.reference_scan) reband(acct);
  }
  index.place_refreshed();
}

void Engine::Impl::update_margin_state(RiskState& st, const Risk& r, Ratio threshold, const Account& a,
                                       Sym market, std::int64_t& breach_ts) {
  if (r.liquidatable() && breach_ts < 0) breach_ts = ts;
  const MarginCallTest call = margin_call_test(r, threshold);
  if (st == RiskState::healthy && call.in_call) {
    transition(st, RiskState::margin_call);
    ++totals.margin_calls;
    emit(MarginCallEvent{a.name, call.ratio, market, r.equity});
  } else if (st == RiskState::margin_call && !call.in_call) {
    transition(st, RiskState::healthy);
  }
}

}  // namespace liqsim
