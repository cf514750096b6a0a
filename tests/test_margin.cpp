// The engine's arithmetic (src/engine/margin.hpp) and its ledgers
// (src/engine/ledger.hpp), each function on figures worked by hand: the
// roundings the contract states, the boundaries, and the wide cases.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../src/engine/ledger.hpp"
#include "../src/engine/margin.hpp"

using namespace liqsim;
using namespace liqsim::engine;

namespace {
Price P(const char* s) { return Price::parse_or_throw(s); }
Qty Q(const char* s) { return Qty::parse_or_throw(s); }
Usd U(const char* s) { return Usd::parse_or_throw(s); }
Amount A(const char* s) { return Amount::parse_or_throw(s); }
Ratio R(const char* s) { return Ratio::parse_or_throw(s); }
}  // namespace

TEST_CASE("fills: open, add, reduce, close and flip, entry rounded against the holder", "[margin]") {
  Fill open = compute_fill(Qty::zero(), Price::zero(), Q("2"), P("100"));
  CHECK(open.qty == Q("2"));
  CHECK(open.entry == P("100"));
  CHECK(open.realized.is_zero());
  CHECK(open.increases_risk);

  Fill add = compute_fill(Q("2"), P("100"), Q("1"), P("103"));
  CHECK(add.entry == P("101"));
  CHECK(add.increases_risk);
  // (2 × 100 + 1 × 100.00000001) / 3 = 100.0000000033…: a long's entry rounds up, a short's down.
  CHECK(compute_fill(Q("2"), P("100"), Q("1"), P("100.00000001")).entry == P("100.00000001"));
  CHECK(compute_fill(Q("-2"), P("100"), Q("-1"), P("100.00000001")).entry == P("100"));

  Fill reduce = compute_fill(Q("3"), P("101"), Q("-1"), P("110"));
  CHECK(reduce.qty == Q("2"));
  CHECK(reduce.entry == P("101"));
  CHECK(reduce.realized == U("9"));
  CHECK_FALSE(reduce.increases_risk);

  Fill close = compute_fill(Q("-2"), P("50"), Q("2"), P("40"));
  CHECK(close.qty.is_zero());
  CHECK(close.entry.is_zero());
  CHECK(close.realized == U("20"));

  Fill flip = compute_fill(Q("1"), P("100"), Q("-3"), P("90"));
  CHECK(flip.qty == Q("-2"));
  CHECK(flip.entry == P("90"));
  CHECK(flip.realized == U("-10"));
  CHECK(flip.increases_risk);

  // Realized PnL rounds down: 0.00000001 × (0.5 − 0) = 0.000000005 → 0; the loss side to −0.00000001.
  CHECK(compute_fill(Q("0.00000001"), Price::zero(), Q("-0.00000001"), P("0.5")).realized.is_zero());
  CHECK(compute_fill(Q("-0.00000001"), Price::zero(), Q("0.00000001"), P("0.5")).realized ==
        U("-0.00000001"));
}

TEST_CASE("valuation: collateral haircut on holdings only, notional up, PnL down", "[margin]") {
  CHECK(collateral_value(A("1.5"), P("20000"), R("0.95")) == U("28500"));
  CHECK(collateral_value(A("-1"), P("20000"), R("0.5")) == U("-20000"));  // a debt counts in full
  CHECK(collateral_value(A("0.00000001"), P("0.5"), Ratio::one()).is_zero());
  CHECK(collateral_value(A("-0.00000001"), P("0.5"), Ratio::one()) == U("-0.00000001"));
  CHECK(notional_at(Q("-0.00000001"), P("0.5")) == U("0.00000001"));
  CHECK(unrealized_pnl(Q("-2"), P("90"), P("100")) == U("20"));
  CHECK(unrealized_pnl(Q("0.00000001"), P("0.5"), Price::zero()).is_zero());
}

TEST_CASE("margin calls: the ratio rounds up, compares exactly, and is absent where it is no number",
          "[margin]") {
  const Ratio thr = R("0.8");
  MarginCallTest at = margin_call_test(Risk{U("100"), U("80"), U("100")}, thr);
  CHECK(at.in_call);
  CHECK(at.ratio == R("0.8"));
  // 80 / 100.00000001 = 0.79999999992…, rounded up to 0.8: a call.
  CHECK(margin_call_test(Risk{U("100.00000001"), U("80"), U("100")}, thr).in_call);
  MarginCallTest below = margin_call_test(Risk{U("101"), U("80"), U("100")}, thr);
  CHECK_FALSE(below.in_call);
  CHECK(below.ratio == R("0.79207921"));
  CHECK_FALSE(margin_call_test(Risk{U("-5"), Usd::zero(), Usd::zero()}, thr).in_call);  // no requirement
  MarginCallTest broke = margin_call_test(Risk{Usd::zero(), U("1"), U("1")}, thr);
  CHECK(broke.in_call);
  CHECK_FALSE(broke.ratio.has_value());  // equity ≤ 0
  MarginCallTest tiny = margin_call_test(Risk{U("0.00000001"), U("10000000000"), U("1")}, thr);
  CHECK(tiny.in_call);
  CHECK_FALSE(tiny.ratio.has_value());  // 1e18: beyond any Ratio
}

TEST_CASE("ordering of units: no equity first, then the higher maintenance ratio", "[margin]") {
  Risk broke{U("-1"), U("10"), U("10")}, broker{U("-2"), U("1"), U("1")};
  Risk high{U("100"), U("90"), U("100")}, low{U("100"), U("80"), U("100")};
  CHECK(worse(broke, high));
  CHECK_FALSE(worse(high, broke));
  CHECK(worse(broker, broke));
  CHECK(worse(high, low));
  CHECK_FALSE(worse(low, high));
  CHECK_FALSE(worse(low, low));
}

TEST_CASE("mul_div_wide: a × b ÷ c exact through a 256-bit product", "[margin]") {
  using u128 = unsigned __int128;
  u128 e30 = 1;
  for (int i = 0; i < 30; ++i) e30 *= 10;
  const u128 c = e30 * 100'000 + 7;  // 1e35 + 7
  u128 e25 = 1;
  for (int i = 0; i < 25; ++i) e25 *= 10;
  // 1e60 / (1e35 + 7) = 1e25 − 7e-10…: floor 1e25 − 1, up 1e25 (Python's integers agree).
  CHECK(mul_div_wide(e30, e30, c, false, "t") == e25 - 1);
  CHECK(mul_div_wide(e30, e30, c, true, "t") == e25);
  CHECK(mul_div_wide(6, 7, 4, false, "t") == 10);
  CHECK(mul_div_wide(6, 7, 4, true, "t") == 11);
  CHECK_THROWS(mul_div_wide(e30, e30, 3, false, "t"));  // the quotient does not fit
}

TEST_CASE("funding: rate × qty × mark, rounded once against the holder", "[margin]") {
  CHECK(funding_payment(Q("2"), P("100"), R("0.0001")) == U("0.02"));
  CHECK(funding_payment(Q("-2"), P("100"), R("0.0001")) == U("-0.02"));
  // 0.00000003 × 1.5 × 0.5 = 0.0000000225: a payer pays 0.00000003 (up) ...
  CHECK(funding_payment(Q("0.00000003"), P("1.5"), R("0.5")) == U("0.00000003"));
  // ... a receiver gets 0.00000002 (down).
  CHECK(funding_payment(Q("0.00000003"), P("1.5"), R("-0.5")) == U("-0.00000002"));
  CHECK(funding_payment(Q("-0.00000003"), P("1.5"), R("0.5")) == U("-0.00000002"));
  // 0.00000003 × 1.5 × 0.7 = 0.0000000315: the receiver gets 0.00000003; rounding the
  // notional first (0.00000004) and then the payment (up, −0.00000002) gave it less.
  CHECK(funding_payment(Q("0.00000003"), P("1.5"), R("-0.7")) == U("-0.00000003"));
  CHECK(funding_payment(Q("0.00000003"), P("1.5"), R("0.7")) == U("0.00000004"));
}

TEST_CASE("liquidation: impact, fee capped at equity, partial steps", "[margin]") {
  MarketConfig flat;
  Execution none = liquidation_execution(flat, P("100"), Side::sell, Q("1000"));
  CHECK(none.price == P("100"));
  CHECK(none.mark_after == P("100"));

  MarketConfig deep;
  deep.has_depth = true;
  deep.depth = U("1000000");
  // N = 100000 moves the price 100000 / 1e6 % = 0.1 %; the fill averages half, the mark keeps half.
  Execution sell = liquidation_execution(deep, P("100"), Side::sell, Q("1000"));
  CHECK(sell.price == P("99.95"));
  CHECK(sell.mark_after == P("99.95"));
  Execution buy = liquidation_execution(deep, P("100"), Side::buy, Q("1000"));
  CHECK(buy.price == P("100.05"));
  CHECK(buy.mark_after == P("100.05"));
  deep.impact_permanent_share = Ratio::zero();
  CHECK(liquidation_execution(deep, P("100"), Side::sell, Q("1000")).mark_after == P("100"));
  // Capped at 99 %: the fill averages 49.5 %.
  CHECK(liquidation_execution(deep, P("100"), Side::sell, Q("90000000")).price == P("50.5"));
  // Rounded once (issue 15): 1000 at 61234.56789012 into depth 12345678901 moves
  // 0.00496…%; mark × (1 ∓ move / 2) exactly, then rounded (Python's Fraction
  // gives these). Rounding the move and its half first sold at 61233.04866049,
  // 0.61 USD less for the 1000.
  MarketConfig odd;
  odd.has_depth = true;
  odd.depth = U("12345678901");
  odd.impact_permanent_share = R("0.5");
  Execution s2 = liquidation_execution(odd, P("61234.56789012"), Side::sell, Q("1000"));
  CHECK(s2.price == P("61233.04927282"));
  CHECK(s2.mark_after == P("61233.04927282"));
  Execution b2 = liquidation_execution(odd, P("61234.56789012"), Side::buy, Q("1000"));
  CHECK(b2.price == P("61236.08650742"));
  CHECK(b2.mark_after == P("61236.08650742"));

  Usd nominal = liquidation_fee_nominal(Q("2"), P("99.95"), R("0.01"));
  CHECK(nominal == U("1.999"));
  CHECK(fee_charged(nominal, U("5")) == nominal);
  CHECK(fee_charged(nominal, U("1")) == U("1"));
  CHECK(fee_charged(nominal, U("-5")).is_zero());
  // 0.00000001 × 1 × 0.01 rounds up to 0.00000001.
  CHECK(liquidation_fee_nominal(Q("0.00000001"), P("1"), R("0.01")) == U("0.00000001"));

  CHECK(partial_step(Q("10"), R("0.25")) == Q("2.5"));
  CHECK(partial_step(Q("0.00000001"), R("0.25")) == Q("0.00000001"));
  CHECK(partial_step(Q("3"), Ratio::zero()) == Q("3"));
}

TEST_CASE("collateral sale: at the weighted price, enough to cover or all", "[margin]") {
  Price px = collateral_sale_price(P("20000"), R("0.9"));
  CHECK(px == P("18000"));
  // 100 / 18000 = 0.0055555…, up to 0.00555556; proceeds 100.00008 (down).
  CollateralSale part = collateral_sale(U("100"), A("1"), px);
  CHECK(part.sell == A("0.00555556"));
  CHECK(part.proceeds == U("100.00008"));
  CollateralSale all = collateral_sale(U("30000"), A("1"), px);
  CHECK(all.sell == A("1"));
  CHECK(all.proceeds == U("18000"));
  // A price of 1e-8 against a debt of 1e10: the covering quantity (1e18) is
  // out of range, the sale (everything) is not.
  CollateralSale dust = collateral_sale(U("10000000000"), A("5"), P("0.00000001"));
  CHECK(dust.sell == A("5"));
  CHECK(dust.proceeds == U("0.00000005"));
}

TEST_CASE("ADL: score is PnL % × leverage, exact in 256 bits; shares and prices", "[margin]") {
  // PnL 10 on a cost of 100 (10 %), notional 110 on equity 11 (10×): 0.1 × 10, in raw² units.
  AdlScore s = adl_score(U("10"), position_cost(Q("1"), P("100")), U("110"), U("11"));
  CHECK(s.hi == 0);
  CHECK(s.lo == static_cast<unsigned __int128>(10'000'000) * 1'000'000'000);
  AdlScore two128 =
      mul_wide(static_cast<unsigned __int128>(1) << 64, static_cast<unsigned __int128>(1) << 64);
  CHECK(two128.hi == 1);
  CHECK(two128.lo == 0);
  const unsigned __int128 max = ~static_cast<unsigned __int128>(0);
  AdlScore sq = mul_wide(max, max);  // (2^128 − 1)² = 2^256 − 2^129 + 1
  CHECK(sq.hi == max - 1);
  CHECK(sq.lo == 1);
  CHECK(two128 > s);
  CHECK_FALSE(s > two128);
  // The cost rounds up: 0.00000001 × 0.5 = 0.000000005 → 0.00000001.
  CHECK(position_cost(Q("0.00000001"), P("0.5")) == 1);

  // Take 1 of 2 (PnL 50: 25 for the part), 10 forgone a unit at the bankruptcy price, 30 open: 10.
  CHECK(adl_amount(U("50"), Q("1"), Q("2"), P("10"), U("30")) == U("10"));
  CHECK(adl_amount(U("8"), Q("1"), Q("2"), P("10"), U("30")) == U("4"));      // capped at the part's PnL
  CHECK(adl_amount(U("50"), Q("1"), Q("2"), P("10"), U("2.5")) == U("2.5"));  // at what is open
  CHECK(adl_price(P("100"), U("10"), Q("1"), true) == P("110"));
  CHECK(adl_price(P("100"), U("10"), Q("3"), false) == P("96.66666666"));  // 3.33333334 per unit (up)
}

TEST_CASE("the bankruptcy price of a closed leg, and what ADL at it needs", "[margin][adl]") {
  // Issue 15's case: a long of 10 @ 100 with 20 of margin sold at 79.68
  // (796.8 filled) is 183.2 short: bankrupt at 98 = 100 − 20 / 10.
  CHECK(bankruptcy_price(U("796.8"), U("183.2"), Q("10"), Side::sell) == P("98"));
  // A short of 10 @ 100 with 20 of margin bought back at 120.32 (1203.2): bankrupt at 102.
  CHECK(bankruptcy_price(U("1203.2"), U("183.2"), Q("10"), Side::buy) == P("102"));
  // Rounded away from the fill: 100 / 3 → 33.33333334 for a sold leg, 33.33333333 for a bought one.
  CHECK(bankruptcy_price(U("90"), U("10"), Q("3"), Side::sell) == P("33.33333334"));
  CHECK(bankruptcy_price(U("110"), U("10"), Q("3"), Side::buy) == P("33.33333333"));
  // A short counterparty buying back at 98 with the mark at 80 gives up 18 a
  // unit; one at 99 would gain: it cannot cover.
  CHECK(adl_forgone_per_unit(P("80"), P("98"), true) == P("18"));
  CHECK(adl_forgone_per_unit(P("80"), P("98"), false) == P("-18"));
  CHECK(adl_units_needed(U("183.2"), P("18")) == Q("10.17777778"));  // rounded up
  CHECK(adl_units_needed(U("36"), P("18")) == Q("2"));
}

TEST_CASE("ledger: a transfer moves exactly, the check finds any imbalance", "[margin][ledger]") {
  Ledger l(2);
  Amount btc, usd;
  Usd wallet;
  l.transfer(l.external(1), Ledger::balance(btc, 1), A("5"));
  l.transfer(l.external(0), Ledger::balance(usd, 0), A("100"));
  l.transfer(Ledger::balance(usd, 0), Ledger::wallet(wallet), U("40"));
  l.transfer(Ledger::wallet(wallet), l.insurance(), U("1.5"));
  CHECK(btc == A("5"));
  CHECK(usd == A("60"));
  CHECK(wallet == U("38.5"));
  CHECK(l.insurance_balance() == U("1.5"));
  CHECK(l.external_balance(0).str() == "-100");
  CHECK(l.external_balance(1).str() == "-5");
  auto name = [](std::size_t i) { return std::string(i == 0 ? "USD" : "BTC"); };
  std::vector<__int128> held{usd.raw() + wallet.raw(), btc.raw()};
  CHECK(l.check(held, name, 7).ok());

  std::vector<__int128> short_btc{held[0], btc.raw() - 1};
  Status st = l.check(short_btc, name, 7);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == "ledger for BTC sums to -0.00000001, not zero");
  CHECK(st.error().seq == 7);

  // A deficit owed to the bad-debt ledger balances, but must not outlive the event.
  l.transfer(l.bad_debt(), Ledger::wallet(wallet), U("3"));
  std::vector<__int128> after{usd.raw() + wallet.raw(), btc.raw()};
  Status open = l.check(after, name, 8);
  REQUIRE_FALSE(open.ok());
  CHECK(open.error().message == "bad debt ledger left at -3 after the event");
  l.transfer(l.socialized(), l.bad_debt(), U("3"));
  CHECK(l.check(after, name, 8).ok());
  CHECK(l.socialized_balance().str() == "-3");

  // Signed: a negative amount moves the other way.
  l.transfer(l.external(1), Ledger::balance(btc, 1), A("-2"));
  CHECK(btc == A("3"));

  // Out of range: the cell's checked arithmetic throws, naming the operation.
  Amount full = Amount::max();
  CHECK_THROWS_WITH(l.transfer(l.external(1), Ledger::balance(full, 1), A("1")),
                    "arithmetic outside the representable range (add)");
}
