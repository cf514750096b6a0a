#include <catch2/catch.hpp>

#include "engine_harness.hpp"

using namespace liqsim;
using namespace liqsim::test;

namespace {

const char* kTiered = R"({
  "assets": { "BTC": {} },
  "markets": { "BTC-PERP": { "underlying": "BTC",
    "tiers": [
      { "max_notional": "50000",  "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
      { "max_notional": "500000", "initial_margin_ratio": "0.01",  "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" }
    ],
    "liquidation_fee_ratio": "0.005" } },
  "liquidation": { "insurance_fund": "100000", "adl": true }
})";

// P_liq of CONTRACT §4 for a long: (W + maintenance_amount − q·E) / (q·mmr − q);
// for a short, mirrored: (W + maintenance_amount + q·E) / (q + q·mmr).
Price textbook_long(Usd wallet, Usd amount, Qty q, Price entry, Ratio mmr) {
  Usd num = wallet + amount - mul<Usd>(q, entry, Round::down);
  Qty den = mul<Qty>(q, mmr, Round::down) - q;
  return div<Price>(num, den, Round::down);
}
Price textbook_short(Usd wallet, Usd amount, Qty q, Price entry, Ratio mmr) {
  Usd num = wallet + amount + mul<Usd>(q, entry, Round::down);
  Qty den = q + mul<Qty>(q, mmr, Round::down);
  return div<Price>(num, den, Round::down);
}

std::string cents_above(Price p) { return (p + Price::parse_or_throw("0.01")).str(); }
std::string cents_below(Price p) { return (p - Price::parse_or_throw("0.01")).str(); }

}  // namespace

TEST_CASE("isolated long with tiers is liquidated just below the textbook price, not just above",
          "[engine]") {
  Price p_liq = textbook_long(Usd::from_units(2000), Usd::from_units(50), Qty::from_units(2),
                              Price::from_units(60000), Ratio::parse_or_throw("0.005"));
  CHECK(p_liq.str() == "59271.35678391");
  for (bool above : {true, false}) {
    Run r(kTiered);
    r.apply(price(1, "BTC", "60000"));
    r.apply(deposit(2, "alice", "USD", "5000"));
    r.apply(trade(3, "alice", "BTC-PERP", "buy", "2", "60000",
                  R"(,"margin":"isolated","isolated_margin":"2000")"));
    REQUIRE(r.summary().rejected == 0);
    r.apply(price(4, "BTC", above ? cents_above(p_liq) : cents_below(p_liq)));
    INFO((above ? "above " : "below ") << p_liq.str());
    CHECK(r.summary().liquidations == (above ? 0 : 1));
    if (!above) {
      auto liq = r.of_type<LiquidationEvent>();
      REQUIRE(liq.size() == 1);
      CHECK(liq[0].side == Side::sell);
      CHECK(liq[0].qty.str() == "2");
      CHECK(liq[0].margin == MarginMode::isolated);
      // The cross account is untouched by the isolated loss: its 3000 USD stay.
      CHECK(r.engine->account_views()[0].cross_equity >= Usd::from_units(3000));
    }
  }
}

TEST_CASE("isolated short with tiers is liquidated just above the textbook price, not just below",
          "[engine]") {
  Price p_liq = textbook_short(Usd::from_units(2000), Usd::from_units(50), Qty::from_units(2),
                               Price::from_units(60000), Ratio::parse_or_throw("0.005"));
  CHECK(p_liq.str() == "60721.39303482");
  for (bool above : {true, false}) {
    Run r(kTiered);
    r.apply(price(1, "BTC", "60000"));
    r.apply(deposit(2, "bob", "USD", "5000"));
    r.apply(trade(3, "bob", "BTC-PERP", "sell", "2", "60000",
                  R"(,"margin":"isolated","isolated_margin":"2000")"));
    r.apply(price(4, "BTC", above ? cents_above(p_liq) : cents_below(p_liq)));
    INFO((above ? "above " : "below ") << p_liq.str());
    CHECK(r.summary().liquidations == (above ? 1 : 0));
  }
}

TEST_CASE("first tier applies below its boundary: maintenance amount zero", "[engine]") {
  // q=0.5 at 60000: notional 30000 in tier 1 (mmr 0.004, amount 0), wallet 300.
  Price p_liq = textbook_long(Usd::from_units(300), Usd::zero(), Qty::parse_or_throw("0.5"),
                              Price::from_units(60000), Ratio::parse_or_throw("0.004"));
  for (bool above : {true, false}) {
    Run r(kTiered);
    r.apply(price(1, "BTC", "60000"));
    r.apply(deposit(2, "carol", "USD", "1000"));
    r.apply(trade(3, "carol", "BTC-PERP", "buy", "0.5", "60000",
                  R"(,"margin":"isolated","isolated_margin":"300")"));
    r.apply(price(4, "BTC", above ? cents_above(p_liq) : cents_below(p_liq)));
    CHECK(r.summary().liquidations == (above ? 0 : 1));
  }
}

TEST_CASE("cross account with two positions and haircut collateral breaks at the computed price",
          "[engine]") {
  const char* cfg = R"({
    "assets": { "BTC": {}, "ETH": { "collateral_weight": "0.9" } },
    "markets": {
      "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025" },
      "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.03" } },
    "liquidation": { "insurance_fund": "0" } })";
  // Equity = 1000 + 0.9·2000 + 0.5(B − 40000); maintenance = 0.025·0.5B + 0.03·10000.
  // Liquidatable when 0.5B − 17200 < 0.0125B + 300, i.e. B < 17500 / 0.4875.
  Price b_liq = div<Price>(Usd::from_units(17500), Ratio::parse_or_throw("0.4875"), Round::down);
  CHECK(b_liq.str() == "35897.43589743");
  for (bool above : {true, false}) {
    Run r(cfg);
    r.apply_all({price(1, "BTC", "40000"), price(1, "ETH", "2000"), deposit(2, "dan", "USD", "1000"),
                 deposit(2, "dan", "ETH", "1"), trade(3, "dan", "BTC-PERP", "buy", "0.5", "40000"),
                 trade(3, "dan", "ETH-PERP", "sell", "5", "2000")});
    REQUIRE(r.summary().rejected == 0);
    r.apply(price(4, "BTC", above ? cents_above(b_liq) : cents_below(b_liq)));
    CHECK(r.summary().liquidations == (above ? 0 : 2));
    if (!above) {
      // Full mode closes both positions, largest requirement first (BTC: 448.7 > ETH: 300).
      auto liq = r.of_type<LiquidationEvent>();
      REQUIRE(liq.size() == 2);
      CHECK(r.symbols.name(liq[0].market) == "BTC-PERP");
      CHECK(r.symbols.name(liq[1].market) == "ETH-PERP");
      CHECK(r.summary().bad_debt.is_zero());
    }
  }
}

TEST_CASE("a margin call is raised once per crossing of the threshold, not per tick", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
    "liquidation": { "margin_call_threshold": "0.8" } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "eve", "USD", "100"),
               trade(2, "eve", "BTC-PERP", "buy", "10", "100")});
  // equity = 10P − 900, mm = 0.5P: ratio ≥ 0.8 at P ≤ 96; liquidatable below 94.74.
  r.apply(price(3, "BTC", "96.01"));
  CHECK(r.summary().margin_calls == 0);
  r.apply(price(4, "BTC", "96"));
  r.apply(price(5, "BTC", "95.5"));
  r.apply(price(6, "BTC", "95.9"));
  CHECK(r.summary().margin_calls == 1);
  r.apply(price(7, "BTC", "99"));  // recovers
  r.apply(price(8, "BTC", "95.9"));
  CHECK(r.summary().margin_calls == 2);
  auto calls = r.of_type<MarginCallEvent>();
  REQUIRE(calls.size() == 2);
  REQUIRE(calls[0].margin_ratio.has_value());
  CHECK(*calls[0].margin_ratio >= Ratio::parse_or_throw("0.8"));
  CHECK(calls[0].equity.is_positive());
  CHECK(r.summary().liquidations == 0);
}

TEST_CASE("over-leveraged trades and withdrawals are rejected with a reason; reducing trades are accepted",
          "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "fay", "USD", "100")});
  auto lines = r.apply(trade(2, "fay", "BTC-PERP", "buy", "10.00000001", "100"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("\"type\":\"rejected\"") != std::string::npos);
  CHECK(lines[0].find("insufficient margin") != std::string::npos);
  CHECK(r.apply(trade(3, "fay", "BTC-PERP", "buy", "10", "100")).empty());
  // Withdrawing anything now leaves equity below the initial requirement of 100.
  lines = r.apply(R"({"type":"withdraw","ts":4,"account":"fay","asset":"USD","amount":"0.01"})");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("below initial margin") != std::string::npos);
  lines = r.apply(R"({"type":"withdraw","ts":4,"account":"fay","asset":"BTC","amount":"1"})");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("insufficient balance") != std::string::npos);
  // Reduce at a worse price than the mark: still accepted.
  r.apply(price(5, "BTC", "96"));
  CHECK(r.apply(trade(6, "fay", "BTC-PERP", "sell", "5", "95")).empty());
  CHECK(r.summary().rejected == 3);
  // An unknown account's withdrawal is rejected, not an error.
  lines = r.apply(R"({"type":"withdraw","ts":7,"account":"ghost","asset":"USD","amount":"1"})");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("unknown account") != std::string::npos);
}

TEST_CASE("a trade with a counterparty moves both accounts, and fails whole if either side fails",
          "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "a", "USD", "1000"), deposit(1, "b", "USD", "10")});
  auto lines = r.apply(trade(2, "a", "BTC-PERP", "buy", "5", "100", R"(,"counterparty":"b")"));
  REQUIRE(lines.size() == 1);  // b cannot carry 500 notional on 10 USD
  CHECK(lines[0].find("'b'") != std::string::npos);
  CHECK(r.apply(trade(3, "a", "BTC-PERP", "buy", "1", "100", R"(,"counterparty":"b")")).empty());
  auto markets = r.engine->market_views();
  CHECK(markets[0].open_interest_long.str() == "1");
  CHECK(markets[0].open_interest_short.str() == "1");
}

TEST_CASE("partial mode closes steps until healthy; full mode closes everything", "[engine]") {
  auto run = [](const char* mode) {
    std::string cfg = std::string(R"({ "assets": { "BTC": {} },
      "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05",
                                 "liquidation_fee_ratio": "0.01" } },
      "liquidation": { "insurance_fund": "0", "mode": ")") +
                      mode + R"(", "step_ratio": "0.25" } })";
    Run r(cfg);
    r.apply_all({price(1, "BTC", "100"), deposit(1, "p", "USD", "110"),
                 trade(2, "p", "BTC-PERP", "buy", "10", "100")});
    // equity 110 + 10(P−100), mm 0.5P: liquidatable below 93.68; at 93 equity 40, mm 46.5.
    r.apply(price(3, "BTC", "93"));
    return std::make_pair(r.summary(), r.of_type<LiquidationEvent>());
  };
  auto [full, full_liqs] = run("full");
  REQUIRE(full_liqs.size() == 1);
  CHECK(full_liqs[0].qty.str() == "10");
  auto [partial, partial_liqs] = run("partial");
  REQUIRE_FALSE(partial_liqs.empty());
  CHECK(partial_liqs[0].qty.str() == "2.5");
  Qty closed;
  for (const auto& l : partial_liqs) closed += l.qty;
  CHECK(closed < Qty::from_units(10));
  CHECK(partial.liquidated_notional < full.liquidated_notional);
}

TEST_CASE("insurance fund pays first; when exhausted ADL covers the rest, else it is socialized",
          "[engine]") {
  // Long 10 at 100 on 20 USD (imr 0.02); a gap to 90 leaves a deficit of 80 (fee is 0: no equity left).
  auto build = [](const std::string& fund, bool adl) {
    std::string cfg = std::string(R"({ "assets": { "BTC": {} },
      "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
                                 "liquidation_fee_ratio": "0.005" } },
      "liquidation": { "insurance_fund": ")") +
                      fund + R"(", "adl": )" + (adl ? "true" : "false") + " } }";
    auto r = std::make_unique<Run>(cfg);
    r->apply_all({price(1, "BTC", "100"), deposit(1, "loser", "USD", "20"), deposit(1, "s1", "USD", "100"),
                  deposit(1, "s2", "USD", "1000"), trade(2, "loser", "BTC-PERP", "buy", "10", "100"),
                  trade(2, "s1", "BTC-PERP", "sell", "4", "120"),
                  trade(2, "s2", "BTC-PERP", "sell", "20", "100")});
    REQUIRE(r->summary().rejected == 0);
    r->apply(price(4, "BTC", "90"));
    return r;
  };
  SECTION("fund large enough") {
    auto r = build("1000", true);
    Summary s = r->summary();
    CHECK(s.liquidations == 1);
    CHECK(s.bad_debt.str() == "80");
    CHECK(s.insurance_fund.str() == "920");
    CHECK(s.adl_events == 0);
    CHECK(s.socialized_loss.is_zero());
  }
  SECTION("fund exhausted, ADL ranks the counterparties and covers the rest") {
    auto r = build("30", true);
    Summary s = r->summary();
    CHECK(s.insurance_fund.is_zero());
    CHECK(s.adl_amount.str() == "50");
    CHECK(s.socialized_loss.is_zero());
    auto adl = r->of_type<AdlEvent>();
    REQUIRE(adl.size() == 2);
    // s1: PnL 25 % × leverage 360/220 ranks before s2: 10 % × 1800/1200.
    // The loser is bankrupt at 98 (= 100 − 20 / 10; filled 900, deficit 80).
    // Each counterparty buys back at 98 with the mark at 90, giving up 8 a
    // unit, for as many units as the 50 the fund left open needs: s1 all its
    // 4 (32), s2 2.25 (18). The rest of the leg is not deleveraged.
    CHECK(r->symbols.name(adl[0].counterparty) == "s1");
    CHECK(adl[0].qty.str() == "4");
    CHECK(adl[0].amount.str() == "32");
    CHECK(adl[0].price.str() == "98");
    CHECK(r->symbols.name(adl[1].counterparty) == "s2");
    CHECK(adl[1].qty.str() == "2.25");
    CHECK(adl[1].amount.str() == "18");
    CHECK(adl[1].price.str() == "98");
  }
  SECTION("fund exhausted, ADL off: socialized loss") {
    auto r = build("30", false);
    Summary s = r->summary();
    CHECK(s.insurance_fund.is_zero());
    CHECK(s.adl_events == 0);
    CHECK(s.socialized_loss.str() == "50");
  }
}

TEST_CASE("liquidation impact moves the mark and cascades to the next account", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005",
                               "depth": "1000", "impact_permanent_share": "1" } },
    "liquidation": { "insurance_fund": "1000" } })";
  Run r(cfg);
  // a: 10 BTC on 10 USD breaks below 990/9.95 = 99.497; b: on 15 USD below 985/9.95 = 98.995.
  r.apply_all({price(1, "BTC", "100"), deposit(1, "a", "USD", "10"), deposit(1, "b", "USD", "15"),
               trade(2, "a", "BTC-PERP", "buy", "10", "100"), trade(2, "b", "BTC-PERP", "buy", "10", "100")});
  REQUIRE(r.summary().rejected == 0);
  // Only a is under at 99.4; selling 994 of notional into 1000 of depth moves the mark ~1 % to 98.41 → b
  // breaks.
  r.apply(price(3, "BTC", "99.4"));
  auto liqs = r.of_type<LiquidationEvent>();
  REQUIRE(liqs.size() == 2);
  CHECK(liqs[0].round == 1);
  CHECK(liqs[1].round == 2);
  CHECK(liqs[1].mark < Price::from_units(99));
  CHECK(r.summary().cascade_rounds_max == 2);
  CHECK(r.summary().impact_liquidations == 1);
}

TEST_CASE("funding moves value from longs to shorts and conserves the ledger", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "l", "USD", "1000"), deposit(1, "s", "USD", "1000"),
               trade(2, "l", "BTC-PERP", "buy", "3", "100", R"(,"counterparty":"s")"),
               R"({"type":"funding","ts":3,"market":"BTC-PERP","rate":"0.001"})"});
  auto views = r.engine->account_views();
  CHECK(views[0].cross_equity.str() == "999.7");
  CHECK(views[1].cross_equity.str() == "1000.3");
}

TEST_CASE("param changes apply from their event on", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "x", "USD", "100"),
               trade(2, "x", "BTC-PERP", "buy", "10", "100"), price(3, "BTC", "97")});
  CHECK(r.summary().liquidations == 0);  // equity 70 ≥ mm 48.5
  r.apply(R"({"type":"param","ts":4,"path":"markets.BTC-PERP.maintenance_margin_ratio","value":"0.08"})");
  CHECK(r.summary().liquidations == 1);  // mm 77.6 > equity 70
}

TEST_CASE("a collateral asset that falls is sold to cover a USD debt on liquidation", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {}, "USDC": { "collateral_weight": "0.95" } },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
    "liquidation": { "insurance_fund": "0" } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), price(1, "USDC", "1"), deposit(1, "u", "USDC", "200"),
               trade(2, "u", "BTC-PERP", "buy", "10", "100")});
  REQUIRE(r.summary().rejected == 0);
  r.apply(price(3, "USDC", "0.87"));  // weighted collateral 165.3 + BTC flat
  r.apply(price(4, "BTC", "88"));     // loss 120: equity 45.3 < mm 44? no: 165.3−120=45.3 ≥ 44
  CHECK(r.summary().liquidations == 0);
  r.apply(price(5, "BTC", "87.8"));  // equity 43.3 < mm 43.9
  CHECK(r.summary().liquidations == 1);
  auto sales = r.of_type<CollateralSaleEvent>();
  REQUIRE(sales.size() == 1);
  CHECK(r.symbols.name(sales[0].asset) == "USDC");
  CHECK(sales[0].proceeds >= Usd::from_units(122));
  CHECK(r.summary().bad_debt.is_zero());
}

// ------------------------------------------------------------------ rules from the contract review

TEST_CASE("a bankrupt account's collateral is sold at its weighted price: the deficit is its negative equity",
          "[engine]") {
  // CONTRACT §4: bankrupt when equity after closing is negative; equity counts
  // BTC at weight 0.5. 1 BTC and 5000 USD, long 10 at 50000; closed at 47000:
  // USD 5000 − 30000 = −25000, BTC 0.5 × 47000 = 23500: equity −1500.
  const char* cfg = R"({ "assets": { "BTC": { "collateral_weight": "0.5" } },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.02" } },
    "liquidation": { "insurance_fund": "100000" } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "50000"), deposit(1, "a", "BTC", "1"), deposit(1, "a", "USD", "5000"),
               trade(2, "a", "BTC-PERP", "buy", "10", "50000")});
  REQUIRE(r.summary().rejected == 0);
  r.apply(price(3, "BTC", "47000"));
  auto sales = r.of_type<CollateralSaleEvent>();
  REQUIRE(sales.size() == 1);
  CHECK(sales[0].price.str() == "23500");
  CHECK(sales[0].proceeds.str() == "23500");
  auto bankrupt = r.of_type<BankruptcyEvent>();
  REQUIRE(bankrupt.size() == 1);
  CHECK(bankrupt[0].deficit.str() == "1500");
  CHECK(r.summary().bad_debt.str() == "1500");
}

TEST_CASE("a liquidity event's depth survives a later param and is part of the state hash", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.04", "maintenance_margin_ratio": "0.02",
                               "depth": "10000000" } },
    "liquidation": { "insurance_fund": "1000000" } })";
  auto run = [&](const std::string& middle) {
    auto r = std::make_unique<Run>(cfg);
    r->apply_all({price(1, "BTC", "50000"), deposit(1, "a", "USD", "250000"),
                  trade(2, "a", "BTC-PERP", "buy", "100", "50000"),
                  R"({"type":"liquidity","ts":3,"market":"BTC-PERP","depth":"1000000"})", middle,
                  price(5, "BTC", "47600")});
    return r;
  };
  auto with_funding = run(R"({"type":"funding","ts":4,"market":"BTC-PERP","rate":"0"})");
  auto with_param = run(R"({"type":"param","ts":4,"path":"liquidation.max_cascade_rounds","value":1000})");
  auto a = with_funding->of_type<LiquidationEvent>();
  auto b = with_param->of_type<LiquidationEvent>();
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].price == b[0].price);  // the 1,000,000 depth (−2.38 %), not the file's 10,000,000 (−0.24 %)
  CHECK(a[0].price < Price::from_units(47000));
  Run x(cfg), y(cfg);
  x.apply(R"({"type":"liquidity","ts":1,"market":"BTC-PERP","depth":"5"})");
  y.apply(R"({"type":"liquidity","ts":1,"market":"BTC-PERP","depth":"99999"})");
  CHECK(x.summary().state_hash != y.summary().state_hash);
}

TEST_CASE("liquidation impact holds for the rest of the timestamp; the mark returns to the oracle after it",
          "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005",
                               "depth": "1000", "impact_permanent_share": "1" } },
    "liquidation": { "insurance_fund": "1000" } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "a", "USD", "10"), deposit(1, "w", "USD", "1000"),
               trade(2, "a", "BTC-PERP", "buy", "10", "100")});
  r.apply(price(3, "BTC", "99.4"));  // a is liquidated; its fill moves the mark ~1 % down
  REQUIRE(r.summary().liquidations == 1);
  auto mark = [&]() { return r.engine->market_views()[0].mark; };
  CHECK(mark() < Price::parse_or_throw("98.5"));
  // Same timestamp: a withdrawal is checked at the displaced mark; the mark stays.
  r.apply(R"({"type":"withdraw","ts":3,"account":"w","asset":"USD","amount":"1"})");
  CHECK(mark() < Price::parse_or_throw("98.5"));
  // The next, later event starts from the oracle again.
  r.apply(R"({"type":"withdraw","ts":4,"account":"w","asset":"USD","amount":"1"})");
  CHECK(mark().str() == "99.4");
}

TEST_CASE("a reducing trade is accepted whatever margin mode it names or omits", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
    "liquidation": { "insurance_fund": "0" } })";
  Run r(cfg);
  r.apply_all(
      {price(1, "BTC", "100"), deposit(1, "a", "USD", "200"),
       trade(2, "a", "BTC-PERP", "buy", "10", "100", R"(,"margin":"isolated","isolated_margin":"150")")});
  REQUIRE(r.summary().rejected == 0);
  r.apply(trade(3, "a", "BTC-PERP", "sell", "4", "100"));  // margin omitted: cross by default, but it reduces
  CHECK(r.summary().rejected == 0);
  r.apply(trade(4, "a", "BTC-PERP", "sell", "1", "100", R"(,"margin":"cross")"));
  CHECK(r.summary().rejected == 0);
  auto views = r.engine->account_views();
  REQUIRE(views.size() == 1);
  CHECK(views[0].isolated_positions == 1);
  CHECK(views[0].gross_notional.str() == "500");
  // Increasing in the other mode is still a mismatch; so is a flip.
  r.apply(trade(5, "a", "BTC-PERP", "buy", "1", "100"));
  r.apply(trade(6, "a", "BTC-PERP", "sell", "6", "100"));
  CHECK(r.summary().rejected == 2);
  CHECK(r.journal.back().find("margin mode mismatch") != std::string::npos);
}

TEST_CASE("a rejected event changes nothing but the rejection count", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
    "liquidation": { "insurance_fund": "0" } })";
  Run r(cfg);
  r.apply_all(
      {price(1, "BTC", "100"), trade(2, "ghost", "BTC-PERP", "buy", "1", "100", R"(,"counterparty":"mm")")});
  CHECK(r.summary().rejected == 1);
  CHECK(r.summary().accounts == 0);
  r.apply(deposit(3, "a", "USD", "10"));
  Run same(cfg);
  same.apply_all({price(1, "BTC", "100"), deposit(3, "a", "USD", "10")});
  const std::string before = r.engine->canonical_state();
  r.apply(R"({"type":"withdraw","ts":4,"account":"a","asset":"BTC","amount":"1"})");
  CHECK(r.summary().rejected == 2);
  std::string after = r.engine->canonical_state();
  // Only the event and rejection counters differ.
  CHECK(after.substr(0, after.rfind("totals")) == before.substr(0, before.rfind("totals")));
  CHECK(after.find("balance BTC") == std::string::npos);
}

TEST_CASE("a param on the insurance fund sets its balance, whatever the fund did since", "[engine]") {
  const char* cfg = R"({ "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05",
                               "liquidation_fee_ratio": "0.01" } },
    "liquidation": { "insurance_fund": "1000" } })";
  Run r(cfg);
  r.apply_all({price(1, "BTC", "100"), deposit(1, "a", "USD", "100"),
               trade(2, "a", "BTC-PERP", "buy", "10", "100"),
               price(3, "BTC", "94")});  // liquidated: the fee goes to the fund
  REQUIRE(r.summary().liquidations == 1);
  REQUIRE(r.summary().insurance_fund > Usd::from_units(1000));
  // The configured value is still 1000; setting 1000 again still resets the balance.
  r.apply(R"({"type":"param","ts":4,"path":"liquidation.insurance_fund","value":"1000"})");
  CHECK(r.summary().insurance_fund.str() == "1000");
}

TEST_CASE("params that would do nothing or name no key are refused by name", "[engine][config]") {
  Config tiered = config_from(kTiered);
  auto flat = apply_param(tiered, "markets.BTC-PERP.maintenance_margin_ratio", "\"0.02\"");
  REQUIRE_FALSE(flat.ok());
  CHECK(flat.error().field == "path");
  CHECK(flat.error().message.find("tiers") != std::string::npos);
  auto unknown = apply_param(tiered, "markets.BTC-PERP.nope", "\"1\"");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().field == "path");
  auto bad_value = apply_param(tiered, "markets.BTC-PERP.liquidation_fee_ratio", "\"2\"");
  REQUIRE_FALSE(bad_value.ok());
  CHECK(bad_value.error().field == "value");
}

TEST_CASE("a deposit before its asset's first price and a tiny partial step are refused",
          "[engine][config]") {
  Symbols symbols;
  Config cfg = config_from(R"({ "assets": { "ETH": {} }, "markets": {} })");
  std::vector<InputEvent> events;
  for (const char* line : {R"({"type":"deposit","ts":1,"account":"a","asset":"USD","amount":"1"})",
                           R"({"type":"deposit","ts":1,"account":"a","asset":"ETH","amount":"1"})"}) {
    auto ev = decode_event_line(line, symbols);
    REQUIRE(ev.ok());
    events.push_back(*ev);
  }
  Status st = validate_events(cfg, symbols, events);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().seq == 1);
  CHECK(st.error().field == "asset");
  CHECK(st.error().message.find("before its first price") != std::string::npos);
  auto doc = parse_json(
      R"({ "assets": {}, "markets": {}, "liquidation": { "mode": "partial", "step_ratio": "0.0009" } })");
  REQUIRE(doc.ok());
  auto tiny = parse_config(*doc, "c.json");
  REQUIRE_FALSE(tiny.ok());
  CHECK(tiny.error().field == "liquidation.step_ratio");
}
