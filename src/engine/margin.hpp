// margin.hpp — the engine's arithmetic: margin, fills, impact, fees, funding,
// collateral sales, ADL ranking (not a public header).
//
// Pure functions of fixed-point values and a market's configuration: no
// state, no ledger, no event. Every rounding is stated and goes against the
// account whose money is computed (requirements and payments up, values and
// proceeds down), CONTRACT §1. The state machine (engine.cpp, liquidation.cpp)
// decides what to compute; this file only says how, and tests/test_margin.cpp
// checks each function on hand-worked figures.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "liqsim/config.hpp"
#include "liqsim/events.hpp"
#include "liqsim/fixed.hpp"

namespace liqsim::engine {

// A unit's margin position: equity and its two requirements.
struct Risk {
  Usd equity;
  Usd mm;  // maintenance requirement
  Usd im;  // initial requirement
  bool liquidatable() const { return equity < mm; }
};

// Ratio ordering without division: a.mm / a.equity > b.mm / b.equity.
// Units with equity ≤ 0 rank first (their ratio is unbounded).
inline bool worse(const Risk& a, const Risk& b) {
  bool a_inf = !a.equity.is_positive(), b_inf = !b.equity.is_positive();
  if (a_inf != b_inf) return a_inf;
  if (a_inf) return a.equity < b.equity;
  using i128 = __int128;
  return i128(a.mm.raw()) * b.equity.raw() > i128(b.mm.raw()) * a.equity.raw();
}

// ---- valuation ----

// A non-USD balance as collateral: amount × price rounded down, then the
// collateral weight (rounded down) on a holding; a debt counts in full.
inline Usd collateral_value(Amount amount, Price price, Ratio weight) {
  Usd gross = mul<Usd>(amount, price, Round::down);
  if (amount.is_negative()) return gross;
  return mul<Usd>(gross, weight, Round::down);
}
// Unrealized PnL, qty × (mark − entry), rounded down.
inline Usd unrealized_pnl(Qty qty, Price mark, Price entry) {
  return mul<Usd>(qty, mark - entry, Round::down);
}
// Notional at the mark, |qty| × mark, rounded up.
inline Usd notional_at(Qty qty, Price mark) { return mul<Usd>(qty.abs(), mark, Round::up); }

// ---- margin calls ----

// Whether a unit is in a margin call, and the margin ratio reported with it:
// maintenance ÷ equity rounded up to 8 digits, computed in 128 bits (a unit
// left liquidatable by max_cascade_rounds can have an equity of a few 1e-8
// and a ratio beyond any Ratio). The comparison with the threshold is exact.
// The reported ratio is absent where it is no number: equity ≤ 0 (always a
// call), or a ratio beyond Ratio's range (above 92,233,720,368). No
// maintenance requirement: never in a call.
struct MarginCallTest {
  bool in_call = false;
  std::optional<Ratio> ratio;
};
inline MarginCallTest margin_call_test(const Risk& r, Ratio threshold) {
  MarginCallTest t;
  if (!r.mm.is_positive()) return t;
  if (!r.equity.is_positive()) {
    t.in_call = true;
    return t;
  }
  using i128 = __int128;
  const i128 q = detail::div_round(i128(r.mm.raw()) * kScale, r.equity.raw(), Round::up);
  t.in_call = q >= threshold.raw();
  if (q <= INT64_MAX) t.ratio = Ratio::from_raw(static_cast<std::int64_t>(q));
  return t;
}

// ---- fills ----

// A position after a fill of `delta` (signed) at `price`: its quantity, its
// average entry, the PnL the fill realizes, and whether it opened, increased
// or flipped the position (the fills the initial requirement applies to).
struct Fill {
  Qty qty;
  Price entry;
  Usd realized;
  bool increases_risk = false;
};
inline Fill compute_fill(Qty old_qty, Price old_entry, Qty delta, Price price) {
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

// ---- funding ----

// ---- wide arithmetic: one rounding of a product of three values ----

// A 256-bit unsigned value (hi, lo); also the ADL ranking score below.
struct AdlScore {
  unsigned __int128 hi = 0, lo = 0;
  friend bool operator==(const AdlScore&, const AdlScore&) = default;
  friend bool operator>(const AdlScore& a, const AdlScore& b) {
    return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo;
  }
};

// The exact 256-bit product of two 128-bit values.
inline AdlScore mul_wide(unsigned __int128 a, unsigned __int128 b) {
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

// a × b ÷ c in 256 bits, rounded down or (up) up, for c > 0 below 2^127;
// the quotient must fit in 127 bits (else OverflowError, `what`).
inline unsigned __int128 mul_div_wide(unsigned __int128 a, unsigned __int128 b, unsigned __int128 c, bool up,
                                      const char* what) {
  using u128 = unsigned __int128;
  const AdlScore p = mul_wide(a, b);
  if (c == 0 || (c >> 127) != 0 || p.hi >= c) detail::throw_overflow(what);
  if (p.hi == 0) {  // the common case: the product fits in 128 bits
    u128 q = p.lo / c;
    if (up && p.lo % c != 0) ++q;
    if ((q >> 126) != 0) detail::throw_overflow(what);
    return q;
  }
  // Long division by c, a bit at a time: the remainder stays below c < 2^127.
  u128 rem = p.hi, q = 0;
  for (int i = 127; i >= 0; --i) {
    rem = (rem << 1) | ((p.lo >> i) & 1);
    q <<= 1;
    if (rem >= c) {
      rem -= c;
      q |= 1;
    }
  }
  if (up && rem != 0) ++q;
  if ((q >> 126) != 0) detail::throw_overflow(what);
  return q;
}

// What the holder of `qty` pays for one interval at `rate` (negative: is
// paid): rate × qty × mark, rounded once, against the holder (a payer pays
// the amount rounded up, a receiver gets it rounded down).
inline Usd funding_payment(Qty qty, Price mark, Ratio rate) {
  using u128 = unsigned __int128;
  auto mag = [](std::int64_t v) { return v < 0 ? u128(-(__int128(v))) : u128(v); };
  const bool pays = (rate.raw() < 0) == (qty.raw() < 0);  // the payment is ≥ 0
  const u128 m = mul_div_wide(mag(rate.raw()) * mag(qty.raw()), mag(mark.raw()), u128(kScale) * u128(kScale),
                              pays, "funding");
  const __int128 v = pays ? __int128(m) : -__int128(m);
  return Usd::from_raw(detail::narrow(v, "funding"));
}

// ---- liquidation ----

// Execution price of a closing fill of `qty` (abs) on `side` at `mark`, and
// the permanent mark move it leaves. Linear impact: a fill of notional N moves
// the price by N / depth percent; the fill averages half of that, and the
// mark keeps impact_permanent_share of the full move. Capped at 99 %. Exact
// until the one rounding of each price. A market without depth fills at the
// mark and leaves it.
struct Execution {
  Price price;
  Price mark_after;
};
inline Execution liquidation_execution(const MarketConfig& mc, Price mk, Side side, Qty qty) {
  if (!mc.has_depth) return {mk, mk};
  using u128 = unsigned __int128;
  // move = N / depth / 100 with N = qty × mark exact: the fraction num / den.
  // Each price is rounded once, at the end (against the liquidated: a sale
  // down, a purchase up, and the mark it leaves the same way).
  const u128 num = u128(qty.raw()) * u128(mk.raw());
  u128 den = u128(10'000'000'000ULL) * u128(mc.depth.raw());
  const u128 share = u128(mc.impact_permanent_share.raw());
  const u128 p = u128(mk.raw());
  u128 fill_off, mark_off;
  if (!(mul_wide(den, 99) > mul_wide(num, 100))) {  // the move is capped at 99 %
    fill_off = mul_div_wide(p, 99, 200, true, "impact");
    mark_off = mul_div_wide(p * share, 99, u128(kScale) * 100, true, "impact");
  } else {
    fill_off = mul_div_wide(p, num, 2 * den, true, "impact");                     // mark × move / 2
    mark_off = mul_div_wide(p * share, num, den * u128(kScale), true, "impact");  // mark × share × move
  }
  const auto off = [](u128 v) { return static_cast<std::int64_t>(v); };  // ≤ mark: fits
  if (side == Side::sell)
    return {Price::from_raw(mk.raw() - off(fill_off)), Price::from_raw(mk.raw() - off(mark_off))};
  return {Price::from_raw(detail::narrow(__int128(mk.raw()) + off(fill_off), "impact")),
          Price::from_raw(detail::narrow(__int128(mk.raw()) + off(mark_off), "impact"))};
}

// The liquidation fee of a closing fill: qty × price (rounded up) × the
// market's fee ratio (rounded up); charged up to the unit's equity after the
// fill (a fee is never a debt), so nothing from a unit without equity.
inline Usd liquidation_fee_nominal(Qty qty, Price price, Ratio fee_ratio) {
  return mul<Usd>(mul<Usd>(qty, price, Round::up), fee_ratio, Round::up);
}
inline Usd fee_charged(Usd nominal, Usd equity_after) {
  return min_of(nominal, max_of(equity_after, Usd::zero()));
}

// Partial liquidation's step: step_ratio of the position's size at the start,
// rounded up; the whole position if that rounds to nothing.
inline Qty partial_step(Qty size, Ratio step_ratio) {
  Qty step = mul<Qty>(size, step_ratio, Round::up);
  return step.is_zero() ? size : step;
}

// Collateral sold to cover a USD debt, at the price the margin system counts
// on: oracle price × collateral weight rounded down (the haircut is the
// sale's discount). Sells what covers the debt (rounded up), or all of it;
// the proceeds are rounded down. `px` is positive, `holds` positive, `debt` positive.
inline Price collateral_sale_price(Price price, Ratio weight) {
  return mul<Price>(price, weight, Round::down);
}
struct CollateralSale {
  Amount sell;
  Usd proceeds;
};
inline CollateralSale collateral_sale(Usd debt, Amount holds, Price px) {
  // Compared exactly in 128 bits first: at a price of a few 1e-8 the quantity
  // that would cover the debt is beyond the range, though the sale (at most
  // `holds`) is not.
  const bool sell_all =
      static_cast<__int128>(debt.raw()) * kScale > static_cast<__int128>(holds.raw()) * px.raw();
  CollateralSale s;
  s.sell = sell_all ? holds : div<Amount>(debt, px, Round::up);
  s.proceeds = mul<Usd>(s.sell, px, Round::down);
  return s;
}

// ---- auto-deleveraging ----

// The ADL ranking score, PnL % × effective leverage (BitMEX): each factor
// rounded down to 8 digits as a Ratio would be, then multiplied exactly. It is
// a rank, not an amount, so it is never narrowed to 64 bits: a position opened
// far off the mark (PnL % of 1e12) or a unit with an equity of a few 1e-8
// (leverage of 1e12) would overflow a Ratio. Each factor is below 2^90
// (a 64-bit raw × 1e8), so the product fits in 256 bits. Where both factors fit
// in a Ratio the score is exactly the one of the 64-bit computation, so the
// ranking is unchanged there; ties go to the lower account index (the caller's).
// (AdlScore, a 256-bit value, is defined with the wide arithmetic above.)

// The cost of a position, |qty| × entry rounded up, in 128 bits: a valid
// position's cost can exceed a 64-bit Usd (|qty| × mark and the PnL fit; their
// sum need not).
inline __int128 position_cost(Qty qty_abs, Price entry) {
  return detail::div_round(__int128(qty_abs.raw()) * entry.raw(), kScale, Round::up);
}

// pnl, cost, notional and equity are positive.
inline AdlScore adl_score(Usd pnl, __int128 cost, Usd notional, Usd equity) {
  using i128 = __int128;
  const i128 pnl_pct = i128(pnl.raw()) * kScale / cost;  // floor: both positive
  const i128 leverage = i128(notional.raw()) * kScale / equity.raw();
  return mul_wide(static_cast<unsigned __int128>(pnl_pct), static_cast<unsigned __int128>(leverage));
}

// TOTAL (≥ 0) split over n weights (≥ 0, weight(i)) pro rata: each share
// rounded down, the remainder to the largest weight (the first of equals),
// all of TOTAL to it when the weights sum to zero. put(i, share) gets each.
template <class Weight, class Put>
void split_pro_rata(__int128 total, std::size_t n, Weight weight, Put put) {
  if (n == 0) return;
  __int128 sum = 0;
  std::size_t largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += weight(i);
    if (weight(i) > weight(largest)) largest = i;
  }
  __int128 given = 0, to_largest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const __int128 share = sum > 0 ? total * weight(i) / sum : 0;
    given += share;
    if (i == largest)
      to_largest = share;
    else
      put(i, share);
  }
  put(largest, to_largest + (total - given));
}

// The bankruptcy price of a closed leg: the average price at which closing
// its `qty` would have left the unit's equity at zero, given that it filled
// for `filled` (Σ qty × price) and that `deficit` of the unit's deficit is
// the leg's. A sold leg (a long) is bankrupt above its fill, a bought one (a
// short) below it; rounded in the protocol's favour, away from the fill.
inline Price bankruptcy_price(Usd filled, Usd deficit, Qty qty, Side closing_side) {
  using i128 = __int128;
  const i128 value =
      closing_side == Side::sell ? i128(filled.raw()) + deficit.raw() : i128(filled.raw()) - deficit.raw();
  const i128 p =
      detail::div_round(value * kScale, qty.raw(), closing_side == Side::sell ? Round::up : Round::down);
  return Price::from_raw(static_cast<std::int64_t>(std::clamp<i128>(p, 0, INT64_MAX)));
}

// What an ADL counterparty closing at the bankruptcy price gives up per unit
// against a close at the mark: bankruptcy − mark for a short buying back,
// mark − bankruptcy for a long selling (≤ 0: it would gain, and cannot cover).
inline Price adl_forgone_per_unit(Price mark, Price bankruptcy, bool counterparty_short) {
  return counterparty_short ? bankruptcy - mark : mark - bankruptcy;
}

// The units of a counterparty an open deficit needs at `per_unit` (> 0) each:
// open ÷ per_unit, rounded up to the quantity step.
inline Qty adl_units_needed(Usd open, Price per_unit) {
  using i128 = __int128;
  const i128 q = detail::div_round(i128(open.raw()) * kScale, per_unit.raw(), Round::up);
  return Qty::from_raw(static_cast<std::int64_t>(std::min<i128>(q, INT64_MAX)));
}

// What one ADL counterparty gives up for `take` units of its position (of
// size `size_abs`, unrealized PnL `pnl`) closed at the bankruptcy price:
// take × per_unit (rounded up), but never more than the PnL of the part taken
// (rounded down: ADL does not turn a profit into a loss; such a counterparty
// closes at its entry) nor than the leg's deficit still open.
inline Usd adl_amount(Usd pnl, Qty take, Qty size_abs, Price per_unit, Usd open) {
  Usd pnl_part = mul_div<Usd>(pnl, take, size_abs, Round::down);
  Usd forgone = mul<Usd>(take, per_unit, Round::up);
  return min_of(min_of(forgone, pnl_part), open);
}
// The price an ADL close is reported at: the mark moved by the amount per
// unit taken (rounded up), towards the bankrupt side — the bankruptcy price.
inline Price adl_price(Price mark, Usd amount, Qty take, bool counterparty_short) {
  Usd per_unit = div<Usd>(amount, take, Round::up);
  return counterparty_short ? mark + same_units<Price>(per_unit) : mark - same_units<Price>(per_unit);
}

}  // namespace liqsim::engine
