// risk.hpp — a unit's equity and requirements at the current marks and prices
// (not a public header).
//
// Valuation is margin.hpp's arithmetic applied to the engine's state: the
// configuration, the marks and the collateral prices, read-only. It has two
// forms of each sum. The full one (cross_risk, iso_risk) has the initial
// requirement, which only the trade and withdrawal checks and the account
// views need; the maintenance form (cross_risk_mm, iso_risk_mm) leaves it at
// zero and is what the liquidation rounds, the margin calls and the band
// index use, once per evaluation. Both do the same operations in the same
// order, so equity and mm are equal and a value out of range throws at the
// same step: an initial requirement is at most its notional (ratios are
// within [0, 1]), so the initial requirements' sum can only leave the range
// once the notionals' sum has, and from there the maintenance form runs the
// full one. tests/test_liquidation_path.cpp compares them.
#pragma once

#include <cstdint>
#include <vector>

#include "liqsim/config.hpp"
#include "margin.hpp"
#include "state.hpp"

namespace liqsim::engine {

struct Valuation {
  const Config& config;
  const std::vector<MarketState>& markets;
  const std::vector<AssetState>& assets;

  Price mark(std::uint32_t m) const { return markets[m].mark; }
  Usd balance_value(const BalanceSlot& b) const {
    if (b.asset == 0) return same_units<Usd>(b.amount);
    const AssetState& a = assets[b.asset];
    if (!a.has_price) return Usd::zero();
    return collateral_value(b.amount, a.price, config.assets[b.asset].collateral_weight);
  }
  Usd upnl(const PositionSlot& p) const { return unrealized_pnl(p.qty, mark(p.market), p.entry); }
  Usd notional(const PositionSlot& p) const { return notional_at(p.qty, mark(p.market)); }

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

  // cross_risk(a).equity alone, the same sums in the same order.
  Usd cross_equity(const Account& a) const {
    Usd e;
    for (const BalanceSlot& b : a.balances) e += balance_value(b);
    for (const PositionSlot& p : a.positions)
      if (p.mode == MarginMode::cross) e += upnl(p);
    return e;
  }

  Risk iso_risk_mm(const PositionSlot& p) const {
    Usd n = notional(p);
    return Risk{p.wallet + upnl(p), maintenance_requirement(config.markets[p.market], n), Usd::zero()};
  }
  Risk cross_risk_mm(const Account& a) const {
    Risk r;
    for (const BalanceSlot& b : a.balances) r.equity += balance_value(b);
    __int128 notional_sum = 0;  // Σ |notional| ≥ |Σ initial requirement| at every step
    for (const PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::cross) continue;
      Usd n = notional(p);
      notional_sum += n.raw() < 0 ? -__int128(n.raw()) : __int128(n.raw());
      if (notional_sum > INT64_MAX) return cross_risk(a);
      r.equity += upnl(p);
      r.mm += maintenance_requirement(config.markets[p.market], n);
    }
    return r;
  }
};

}  // namespace liqsim::engine
