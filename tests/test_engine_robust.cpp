// Issue 10, engine: a ranking score or a margin ratio never overflows for a
// valid state, and a param costs what its key can affect (the units that hold
// the market or asset it changes), not a pass over every account and a copy
// of the whole configuration.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "engine_harness.hpp"
#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/workload.hpp"

using namespace liqsim;
using namespace liqsim::test;

namespace {

std::string param(std::int64_t ts, const std::string& path, const std::string& value_json) {
  return R"({"type":"param","ts":)" + std::to_string(ts) + R"(,"path":")" + path + R"(","value":)" +
         value_json + "}";
}

// Both engines, the index and the reference scan, on the same lines: the
// journals and state hashes must agree.
struct Both {
  Run indexed, reference;
  explicit Both(const std::string& config)
      : indexed(config), reference(config, [] {
          EngineOptions o;
          o.reference_scan = true;
          return o;
        }()) {}
  void apply(const std::string& line) {
    indexed.apply(line);
    reference.apply(line);
  }
  void apply_all(const std::vector<std::string>& lines) {
    for (const auto& l : lines) apply(l);
  }
  void require_same() {
    REQUIRE(indexed.journal == reference.journal);
    REQUIRE(indexed.summary().state_hash == reference.summary().state_hash);
  }
};

const char* kFlat = R"({
  "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005" } },
  "assets": { "BTC": {} },
  "liquidation": { "insurance_fund": "0", "adl": true } })";

}  // namespace

// ---- finding 4: the ADL score ------------------------------------------------

TEST_CASE("ADL ranks a position opened at an off-market price first, without overflowing its PnL %",
          "[engine][robust][adl]") {
  Both b(kFlat);
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "offmarket", "USD", "1000"),
      // Bought at 1e-8 with the mark at 10000: PnL % is 1e12, beyond any Ratio.
      trade(1, "offmarket", "BTC-PERP", "buy", "1", "0.00000001"),
      deposit(1, "plain", "USD", "1000"),
      trade(1, "plain", "BTC-PERP", "buy", "1", "10000"),
      deposit(1, "short", "USD", "100"),
      trade(1, "short", "BTC-PERP", "sell", "1", "10000"),
  });
  // The short loses 200 on 100 of margin: bankrupt by 100, no fund, so ADL.
  REQUIRE_NOTHROW(b.apply(price(2, "BTC", "10200")));
  b.require_same();
  auto adl = b.indexed.of_type<AdlEvent>();
  REQUIRE(adl.size() == 1);
  CHECK(b.indexed.symbols.name(adl[0].counterparty) == "offmarket");
  CHECK(adl[0].qty.str() == "1");
  CHECK(adl[0].amount.str() == "100");
  CHECK(b.indexed.summary().socialized_loss.is_zero());
}

TEST_CASE("ADL ranks a position whose equity is a few 1e-8 without overflowing its leverage",
          "[engine][robust][adl]") {
  // No margin requirement: an account may hold a position on 1e-8 of equity.
  Both b(R"({
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0", "maintenance_margin_ratio": "0" } },
    "assets": { "BTC": {} },
    "liquidation": { "insurance_fund": "0", "adl": true } })");
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "thin", "USD", "0.00000001"),
      trade(1, "thin", "BTC-PERP", "buy", "1", "10000"),
      deposit(1, "short", "USD", "0.001"),
      trade(1, "short", "BTC-PERP", "sell", "1000000", "10000"),
      deposit(1, "thick", "USD", "1000"),
      trade(1, "thick", "BTC-PERP", "buy", "1", "10000"),
  });
  // +1e-8: the short loses 0.01 on 0.001 and is bankrupt; "thin" has PnL 1e-8
  // on equity 2e-8, an effective leverage of 5e11.
  REQUIRE_NOTHROW(b.apply(price(2, "BTC", "10000.00000001")));
  b.require_same();
  auto adl = b.indexed.of_type<AdlEvent>();
  REQUIRE(adl.size() == 2);
  // Both scores round to 0 (PnL % below 1e-8, as the 64-bit computation had
  // it): the tie goes to the lower account index.
  CHECK(b.indexed.symbols.name(adl[0].counterparty) == "thin");
  CHECK(b.indexed.symbols.name(adl[1].counterparty) == "thick");
}

TEST_CASE("ADL still ranks by PnL % x leverage rounded to 8 digits, ties by account",
          "[engine][robust][adl]") {
  // Two longs whose exact scores differ but whose rounded ones tie (leverage
  // 1 and 1.00000000000098, PnL % 0.02 each): the rounded ranking is kept, so
  // the earlier account goes first although the later one's exact score is
  // higher.
  Both b(kFlat);
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "first", "USD", "10000"),
      trade(1, "first", "BTC-PERP", "buy", "1", "10000"),
      deposit(1, "second", "USD", "9999.99999999"),
      trade(1, "second", "BTC-PERP", "buy", "1", "10000"),
      deposit(1, "short", "USD", "100"),
      trade(1, "short", "BTC-PERP", "sell", "1", "10000"),
  });
  b.apply(price(2, "BTC", "10200"));
  b.require_same();
  auto adl = b.indexed.of_type<AdlEvent>();
  REQUIRE(adl.size() == 1);
  CHECK(b.indexed.symbols.name(adl[0].counterparty) == "first");
}

TEST_CASE("ADL re-ranks a counterparty it took from before the next bankrupt of the same round",
          "[engine][robust][adl]") {
  // Two shorts go bankrupt by 100 each in one price event. The first takes
  // from "a" (leverage 20400 / 1000 = 20.4 before; 10200 / 900 = 11.33 after
  // giving up 100 on half its position). The second must see "a" at 11.33,
  // as a fresh ranking of the market gives: after "b" at leverage 15, before
  // "b" at leverage 10.
  const auto [b_deposit, second] = GENERATE(table<const char*, const char*>({{"480", "b"}, {"820", "a"}}));
  Both b(kFlat);
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "a", "USD", "600"),
      trade(1, "a", "BTC-PERP", "buy", "2", "10000"),
      deposit(1, "b", "USD", b_deposit),
      trade(1, "b", "BTC-PERP", "buy", "1", "10000"),
      deposit(1, "short1", "USD", "100"),
      trade(1, "short1", "BTC-PERP", "sell", "1", "10000"),
      deposit(1, "short2", "USD", "100"),
      trade(1, "short2", "BTC-PERP", "sell", "1", "10000"),
  });
  b.apply(price(2, "BTC", "10200"));
  b.require_same();
  auto adl = b.indexed.of_type<AdlEvent>();
  REQUIRE(adl.size() == 2);
  CHECK(b.indexed.symbols.name(adl[0].account) == "short1");
  CHECK(b.indexed.symbols.name(adl[0].counterparty) == "a");
  CHECK(adl[0].amount.str() == "100");
  CHECK(b.indexed.symbols.name(adl[1].account) == "short2");
  CHECK(b.indexed.symbols.name(adl[1].counterparty) == second);
  CHECK(adl[1].amount.str() == "100");
}

// ---- issue 15: ADL at the bankruptcy price --------------------------------

TEST_CASE("ADL closes counterparties at the bankruptcy price, whatever the fill and the impact",
          "[engine][robust][adl]") {
  // Issue 15's minimal case: a long of 10 @ 100 with 20 of margin gapped to
  // 80 sells through depth 1000 at 79.68 (a 0.8 % move, half of it in the
  // fill): 183.2 short, bankrupt at 98 = 100 − 20 / 10. The short
  // counterparty buys back at 98 — not at the mark moved by the deficit per
  // unit, which gave 97.68 with all the impact kept and 98.32 with none.
  auto run = [](const char* share, const char* fund) {
    std::string cfg = std::string(R"({"assets":{"BTC":{}},"markets":{"BTC-PERP":{"underlying":"BTC",)") +
                      R"("initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01","depth":"1000",)" +
                      R"("impact_permanent_share":")" + share + R"("}},"liquidation":{"insurance_fund":")" +
                      fund + R"(","adl":true}})";
    auto b = std::make_unique<Both>(cfg);
    b->apply_all({price(1, "BTC", "100"), deposit(1, "loser", "USD", "20"),
                  trade(1, "loser", "BTC-PERP", "buy", "10", "100"), deposit(1, "short", "USD", "10000"),
                  trade(1, "short", "BTC-PERP", "sell", "10", "100")});
    REQUIRE(b->indexed.summary().rejected == 0);
    b->apply(price(2, "BTC", "80"));
    b->require_same();
    return b;
  };
  SECTION("all the impact kept: the mark is 79.36, 18.64 a unit covers 183.2 on 9.83 units") {
    auto b = run("1", "0");
    auto liq = b->indexed.of_type<LiquidationEvent>();
    REQUIRE(liq.size() == 1);
    CHECK(liq[0].price.str() == "79.68");
    CHECK(b->indexed.summary().bad_debt.str() == "183.2");
    auto adl = b->indexed.of_type<AdlEvent>();
    REQUIRE(adl.size() == 1);
    CHECK(adl[0].price.str() == "98");
    CHECK(adl[0].amount.str() == "183.2");
    CHECK(adl[0].qty.str() == "9.82832619");  // 183.2 / 18.64, rounded up
    CHECK(b->indexed.summary().socialized_loss.is_zero());
  }
  SECTION(
      "no impact kept: the mark is 80, 18 a unit on all 10 covers 180; the fill's 3.2 below it is "
      "socialized") {
    auto b = run("0", "0");
    auto adl = b->indexed.of_type<AdlEvent>();
    REQUIRE(adl.size() == 1);
    CHECK(adl[0].price.str() == "98");
    CHECK(adl[0].qty.str() == "10");
    CHECK(adl[0].amount.str() == "180");
    CHECK(b->indexed.summary().socialized_loss.str() == "3.2");
  }
  SECTION("the fund pays first: ADL closes at 98 only the units the 83.2 it left needs") {
    auto b = run("0", "100");
    CHECK(b->indexed.summary().insurance_paid.str() == "100");
    auto adl = b->indexed.of_type<AdlEvent>();
    REQUIRE(adl.size() == 1);
    CHECK(adl[0].price.str() == "98");
    CHECK(adl[0].qty.str() == "4.62222223");  // 83.2 / 18, rounded up
    CHECK(adl[0].amount.str() == "83.2");
    CHECK(b->indexed.summary().socialized_loss.is_zero());
  }
}

TEST_CASE("a cross deficit over two markets is covered by each market's counterparties for its share",
          "[engine][robust][adl]") {
  // A cross account long BTC and long ETH, gapped in both: its deficit is
  // split pro rata to the legs' filled notional, each leg bankrupt at its own
  // price, and a BTC short cannot pay for the ETH leg.
  Both b(R"({"assets":{"BTC":{},"ETH":{}},"markets":{
      "BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01"},
      "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01"}},
      "liquidation":{"insurance_fund":"0","adl":true}})");
  b.apply_all({price(1, "BTC", "100"), price(1, "ETH", "100"), deposit(1, "loser", "USD", "250"),
               trade(1, "loser", "BTC-PERP", "buy", "10", "100"),
               trade(1, "loser", "ETH-PERP", "buy", "10", "100"), deposit(1, "bshort", "USD", "10000"),
               trade(1, "bshort", "BTC-PERP", "sell", "10", "100")});
  REQUIRE(b.indexed.summary().rejected == 0);
  // ETH falls to 80 (equity 50, still above maintenance), then BTC: both
  // legs close at 80, filled 800 + 800, equity 250 − 400 = −150, 75 a leg.
  b.apply(price(2, "ETH", "80"));
  REQUIRE(b.indexed.summary().liquidations == 0);
  b.apply(price(3, "BTC", "80"));
  b.require_same();
  REQUIRE(b.indexed.summary().liquidations == 2);
  auto adl = b.indexed.of_type<AdlEvent>();
  REQUIRE(adl.size() == 1);
  CHECK(b.indexed.symbols.name(adl[0].market) == "BTC-PERP");
  CHECK(adl[0].price.str() == "87.5");  // 80 + 75 / 10
  CHECK(adl[0].amount.str() == "75");
  CHECK(b.indexed.summary().socialized_loss.str() == "75");  // ETH's share: no ETH short to take it
}

TEST_CASE("liquidation.socialize charges the loss ADL left to the market's positions, pro rata",
          "[engine][robust][socialize]") {
  // A long of 10 @ 100 on 20 gapped to 90 (no depth, no fund, no ADL): 80
  // socialized. s1 is short 4 @ 120 (profit 120 at 90), s2 short 20 @ 100
  // (profit 200), l2 long 2 @ 90 (no profit).
  auto run = [](const char* rule) {
    std::string cfg = std::string(R"({"assets":{"BTC":{}},"markets":{"BTC-PERP":{"underlying":"BTC",)") +
                      R"("initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01"}},)" +
                      R"("liquidation":{"insurance_fund":"0","adl":false,"socialize":")" + rule + R"("}})";
    auto b = std::make_unique<Both>(cfg);
    b->apply_all({price(1, "BTC", "100"), deposit(1, "loser", "USD", "20"),
                  trade(1, "loser", "BTC-PERP", "buy", "10", "100"), deposit(1, "s1", "USD", "1000"),
                  trade(1, "s1", "BTC-PERP", "sell", "4", "120"), deposit(1, "s2", "USD", "1000"),
                  trade(1, "s2", "BTC-PERP", "sell", "20", "100"), deposit(1, "l2", "USD", "1000"),
                  trade(1, "l2", "BTC-PERP", "buy", "2", "90")});
    REQUIRE(b->indexed.summary().rejected == 0);
    b->apply(price(2, "BTC", "90"));
    b->require_same();
    REQUIRE(b->indexed.summary().socialized_loss.str() == "80");
    REQUIRE(b->indexed.engine->check_ledger().ok());  // (also checked after every event)
    return b;
  };
  auto charges = [](const Both& b) {
    std::map<std::string, std::string> out;
    for (const auto& c : b.indexed.of_type<SocializedChargeEvent>())
      out[b.indexed.symbols.name(c.account)] = c.amount.str();
    return out;
  };
  SECTION("profitable: the shorts, by profit 120 : 200") {
    auto b = run("profitable");
    CHECK(charges(*b) == std::map<std::string, std::string>{{"s1", "30"}, {"s2", "50"}});
    CHECK(b->indexed.journal.back().find("\"type\":\"socialized_charge\"") != std::string::npos);
  }
  SECTION("open_interest: every position by notional 360 : 1800 : 180, the remainder to the largest") {
    auto b = run("open_interest");
    CHECK(charges(*b) == std::map<std::string, std::string>{
                             {"s1", "12.3076923"}, {"s2", "61.53846155"}, {"l2", "6.15384615"}});
  }
  SECTION("none: recorded, charged to no one") {
    auto b = run("none");
    CHECK(charges(*b).empty());
  }
}

// ---- finding 5: the margin ratio of a margin call ---------------------------

TEST_CASE(
    "a unit left liquidatable by max_cascade_rounds with an equity of 3e-8 gets no margin ratio, and its "
    "equity",
    "[engine][robust][margin]") {
  // 2 % initial, 1 % maintenance. "first" is liquidated at 9800; its fill's
  // impact (4 %, half of it permanent) takes the mark to 9604, where "thin"
  // has 3e-8 of equity against 9604 of maintenance: a ratio of 3.2e11, beyond
  // any Ratio. One round only, so "thin" is left for the next event.
  Both b(R"({
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
                               "depth": "24500" } },
    "assets": { "BTC": {} },
    "liquidation": { "insurance_fund": "1000000", "max_cascade_rounds": 1 } })");
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "first", "USD", "2500"),
      trade(1, "first", "BTC-PERP", "buy", "10", "10000"),
      deposit(1, "thin", "USD", "39600.00000003"),
      trade(1, "thin", "BTC-PERP", "buy", "100", "10000"),
  });
  REQUIRE_NOTHROW(b.apply(price(2, "BTC", "9800")));
  b.require_same();
  auto liqs = b.indexed.of_type<LiquidationEvent>();
  REQUIRE(liqs.size() == 1);
  CHECK(b.indexed.symbols.name(liqs[0].account) == "first");
  CHECK(liqs[0].price.str() == "9604");
  auto calls = b.indexed.of_type<MarginCallEvent>();
  REQUIRE(calls.size() == 1);
  CHECK(b.indexed.symbols.name(calls[0].account) == "thin");
  // Beyond Ratio's range: no number, reported as null with the equity that
  // explains it (a few 1e-8 USD), not as the type's maximum.
  CHECK_FALSE(calls[0].margin_ratio.has_value());
  CHECK(calls[0].equity.is_positive());
  CHECK(calls[0].equity < Usd::from_units(1));
  CHECK(b.indexed.journal.back().find("\"margin_ratio\":null") != std::string::npos);
  CHECK(b.indexed.journal.back().find("92233720368") == std::string::npos);
  // The next event (a later ts: the mark returns to 9800) checks it again.
  REQUIRE_NOTHROW(b.apply(price(3, "BTC", "9800")));
  b.require_same();
}

TEST_CASE(
    "a margin call on a unit with negative equity reports no ratio and the equity, in the journal and the "
    "database",
    "[engine][robust][margin]") {
  // As above, but "thin" holds 39000: at the moved mark 9604 its equity is
  // 39000 − 100 × 396 = −600. One round only, so it is left for the next
  // event with a margin call whose ratio is no number.
  Both b(R"({
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01",
                               "depth": "24500" } },
    "assets": { "BTC": {} },
    "liquidation": { "insurance_fund": "1000000", "max_cascade_rounds": 1 } })");
  b.apply_all({
      price(1, "BTC", "10000"),
      deposit(1, "first", "USD", "2500"),
      trade(1, "first", "BTC-PERP", "buy", "10", "10000"),
      deposit(1, "thin", "USD", "39000"),
      trade(1, "thin", "BTC-PERP", "buy", "100", "10000"),
  });
  REQUIRE_NOTHROW(b.apply(price(2, "BTC", "9800")));
  b.require_same();
  auto calls = b.indexed.of_type<MarginCallEvent>();
  REQUIRE(calls.size() == 1);
  CHECK(b.indexed.symbols.name(calls[0].account) == "thin");
  CHECK_FALSE(calls[0].margin_ratio.has_value());
  CHECK(calls[0].equity.str() == "-600");
  CHECK(b.indexed.journal.back().find("\"margin_ratio\":null") != std::string::npos);
  CHECK(b.indexed.journal.back().find("\"equity\":\"-600\"") != std::string::npos);
}

TEST_CASE(
    "the margin-call comparison is unchanged where the ratio fits: rounded up to 8 digits, then compared",
    "[engine][robust][margin]") {
  // 200 long at 100 with 5 % maintenance; at 95 the maintenance is 950 and
  // the equity deposit − 1000: 1187.5 gives 0.8 exactly, 1187.50000001 gives
  // 0.7999999999933, rounded up to 0.8 (a call), 1187.5001 gives 0.79999994.
  Both b(R"({
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
    "assets": { "BTC": {} } })");
  b.apply(price(1, "BTC", "100"));
  for (const auto& [name, amount] : std::vector<std::pair<std::string, std::string>>{
           {"exact", "2187.5"}, {"rounded", "2187.50000001"}, {"below", "2187.5001"}}) {
    b.apply(deposit(1, name, "USD", amount));
    b.apply(trade(1, name, "BTC-PERP", "buy", "200", "100"));
  }
  REQUIRE(b.indexed.summary().rejected == 0);
  b.apply(price(2, "BTC", "96"));
  CHECK(b.indexed.of_type<MarginCallEvent>().empty());
  b.apply(price(3, "BTC", "95"));
  b.require_same();
  auto calls = b.indexed.of_type<MarginCallEvent>();
  REQUIRE(calls.size() == 2);
  CHECK(b.indexed.symbols.name(calls[0].account) == "exact");
  CHECK(calls[0].margin_ratio->str() == "0.8");
  CHECK(b.indexed.symbols.name(calls[1].account) == "rounded");
  CHECK(calls[1].margin_ratio->str() == "0.8");
}

// ---- finding 9: a param re-rates only what it can affect --------------------

namespace {

const char* kTwoMarkets = R"({
  "assets": { "A": {}, "B": {}, "ETH": { "collateral_weight": "0.9" } },
  "markets": {
    "A-PERP": { "underlying": "A", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05", "depth": "1000000" },
    "B-PERP": { "underlying": "B", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05" } },
  "liquidation": { "insurance_fund": "1000" } })";

// 15 accounts: 4 cross and 2 isolated in A-PERP (a1 also holds ETH), 5 in
// B-PERP, 3 holding only ETH, 1 holding only USD.
std::vector<std::string> two_market_population() {
  std::vector<std::string> v = {price(1, "A", "100"), price(1, "B", "50"), price(1, "ETH", "2000")};
  for (int i = 1; i <= 4; ++i) {
    const std::string a = "a" + std::to_string(i);
    v.push_back(deposit(1, a, "USD", "1000"));
    v.push_back(trade(1, a, "A-PERP", "buy", "10", "100"));
  }
  for (int i = 1; i <= 2; ++i) {
    const std::string a = "i" + std::to_string(i);
    v.push_back(deposit(1, a, "USD", "1000"));
    v.push_back(trade(1, a, "A-PERP", "buy", "10", "100", R"(,"margin":"isolated","isolated_margin":"200")"));
  }
  for (int i = 1; i <= 5; ++i) {
    const std::string a = "b" + std::to_string(i);
    v.push_back(deposit(1, a, "USD", "1000"));
    v.push_back(trade(1, a, "B-PERP", "sell", "10", "50"));
  }
  for (int i = 1; i <= 3; ++i) v.push_back(deposit(1, "e" + std::to_string(i), "ETH", "1"));
  v.push_back(deposit(1, "a1", "ETH", "1"));
  v.push_back(deposit(1, "u1", "USD", "10"));
  return v;
}

}  // namespace

TEST_CASE("a param evaluates only the units its key can affect", "[engine][robust][param]") {
  Both b(kTwoMarkets);
  b.apply_all(two_market_population());
  REQUIRE(b.indexed.summary().accounts == 15);
  REQUIRE(b.indexed.summary().rejected == 0);
  std::int64_t ts = 10;
  auto evaluations_of = [&](const std::string& line) {
    const std::int64_t before = b.indexed.summary().evaluations;
    b.apply(line);
    b.require_same();
    return b.indexed.summary().evaluations - before;
  };
  // A market's maintenance: its 6 holders (4 cross, 2 isolated), not the 15.
  CHECK(evaluations_of(param(++ts, "markets.A-PERP.maintenance_margin_ratio", "\"0.06\"")) == 6);
  CHECK(evaluations_of(param(++ts, "markets.B-PERP.maintenance_margin_ratio", "\"0.04\"")) == 5);
  // Keys that act only when a trade or a liquidation happens: no one.
  CHECK(evaluations_of(param(++ts, "markets.A-PERP.initial_margin_ratio", "\"0.2\"")) == 0);
  CHECK(evaluations_of(param(++ts, "markets.A-PERP.liquidation_fee_ratio", "\"0.01\"")) == 0);
  CHECK(evaluations_of(param(++ts, "markets.A-PERP.depth", "\"2000000\"")) == 0);
  CHECK(evaluations_of(param(++ts, "markets.A-PERP.impact_permanent_share", "\"0.2\"")) == 0);
  CHECK(evaluations_of(R"({"type":"liquidity","ts":20,"market":"A-PERP","depth":"3000000"})") == 0);
  ts = 20;
  // A collateral weight: the 4 accounts holding ETH.
  CHECK(evaluations_of(param(++ts, "assets.ETH.collateral_weight", "\"0.5\"")) == 4);
  CHECK(evaluations_of(param(++ts, "assets.USD.collateral_weight", "\"1\"")) == 0);
  // The liquidation block: the threshold may move every unit; the rest none.
  CHECK(evaluations_of(param(++ts, "liquidation.margin_call_threshold", "\"0.7\"")) == 15);
  CHECK(evaluations_of(param(++ts, "liquidation.insurance_fund", "\"5000\"")) == 0);
  CHECK(evaluations_of(param(++ts, "liquidation.adl", "false")) == 0);
  CHECK(evaluations_of(param(++ts, "liquidation.mode", "\"partial\"")) == 0);
  CHECK(evaluations_of(param(++ts, "liquidation.step_ratio", "\"0.5\"")) == 0);
  CHECK(evaluations_of(param(++ts, "liquidation.max_cascade_rounds", "3")) == 0);
  // The reference scan looked at every account each time.
  CHECK(b.reference.summary().evaluations > b.indexed.summary().evaluations);
}

TEST_CASE("a param on a market liquidates its holders that it pushes under, cross and isolated",
          "[engine][robust][param]") {
  Both b(kTwoMarkets);
  b.apply_all(two_market_population());
  // Maintenance 25 %: an isolated wallet of 200 on 1000 of notional is under;
  // the cross accounts (1000 of equity) are not; B-PERP is untouched.
  b.apply(param(10, "markets.A-PERP.maintenance_margin_ratio", "\"0.1\""));
  b.apply(param(11, "markets.A-PERP.initial_margin_ratio", "\"0.3\""));
  b.apply(param(12, "markets.A-PERP.maintenance_margin_ratio", "\"0.25\""));
  b.require_same();
  auto liqs = b.indexed.of_type<LiquidationEvent>();
  REQUIRE(liqs.size() == 2);
  CHECK(b.indexed.symbols.name(liqs[0].account).substr(0, 1) == "i");
  CHECK(b.indexed.symbols.name(liqs[1].account).substr(0, 1) == "i");
  CHECK(liqs[0].margin == MarginMode::isolated);
  // Later ticks agree too: the holders were banded again with the new ratio.
  b.apply(price(20, "A", "99"));
  b.apply(price(21, "A", "25"));
  b.apply(param(22, "markets.B-PERP.maintenance_margin_ratio", "\"0.1\""));
  b.apply(price(23, "B", "137"));  // 1500 − 1370 = 130 of equity, 137 of maintenance
  b.require_same();
  CHECK(b.indexed.of_type<LiquidationEvent>().size() > 2);
}

TEST_CASE("a collateral weight param re-rates the accounts holding that asset", "[engine][robust][param]") {
  Both b(kTwoMarkets);
  b.apply_all(two_market_population());
  // h: 1 ETH (1800 after the 0.9 weight) behind 10000 of A-PERP (500 of maintenance).
  b.apply_all({deposit(2, "h", "ETH", "1"), trade(2, "h", "A-PERP", "buy", "100", "100")});
  REQUIRE(b.indexed.summary().rejected == 0);
  b.apply(param(10, "assets.ETH.collateral_weight", "\"0.2\""));  // 400 < 500
  b.require_same();
  auto liqs = b.indexed.of_type<LiquidationEvent>();
  REQUIRE(liqs.size() == 1);
  CHECK(b.indexed.symbols.name(liqs[0].account) == "h");
  b.apply(param(11, "assets.ETH.collateral_weight", "\"1\""));
  b.apply(price(12, "ETH", "100"));
  b.apply(price(13, "A", "60"));
  b.require_same();
}

TEST_CASE("a margin-call threshold param raises the calls it crosses, for every unit",
          "[engine][robust][param]") {
  Both b(kTwoMarkets);
  b.apply_all(two_market_population());
  // The isolated positions: maintenance 50 against 200 of wallet, ratio 0.25.
  b.apply(param(10, "liquidation.margin_call_threshold", "\"0.25\""));
  b.require_same();
  auto calls = b.indexed.of_type<MarginCallEvent>();
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].market != kNoSym);
  b.apply(param(11, "liquidation.margin_call_threshold", "\"0.8\""));
  b.apply(param(12, "liquidation.margin_call_threshold", "\"0.25\""));
  b.require_same();
  CHECK(b.indexed.of_type<MarginCallEvent>().size() == 4);
}

TEST_CASE("differential: many params of every key on random workloads, index against reference scan",
          "[engine][robust][param][differential]") {
  std::int64_t params = 0, liquidations = 0, calls = 0, adl = 0, charges = 0;
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    WorkloadSpec s;
    s.seed = 1000 + seed;
    s.accounts = 120 + static_cast<std::uint32_t>(seed * 15);
    s.markets = 1 + seed % 3;
    s.ticks = 1500;
    s.volatility_bp = 40 + static_cast<std::uint32_t>(seed % 3) * 20;
    s.crash_at = 500;
    s.crash_ticks = 300;
    s.crash_bp = 2000 + static_cast<std::uint32_t>(seed % 2) * 1000;
    s.activity_ppm = 300'000;
    s.impact = seed % 4 != 0;
    s.param_every = 3 + static_cast<std::uint32_t>(seed % 3);
    if (seed % 2 == 1) {
      s.insurance_fund = 0;
      s.liquidation_fees = false;
    }
    Symbols symbols;
    Workload w = make_workload(s, symbols);
    {
      Status valid = validate_events(w.config, symbols, w.events);
      INFO((valid.ok() ? std::string() : valid.error().describe()));
      REQUIRE(valid.ok());
    }
    for (const auto& ev : w.events) params += std::holds_alternative<ParamEvent>(ev.body);
    std::vector<std::string> journal[2];
    std::string hash[2];
    std::int64_t evaluations[2] = {0, 0};
    for (int ref = 0; ref < 2; ++ref) {
      EngineOptions o;
      o.reference_scan = ref == 1;
      o.check_ledger = true;
      Replayed r = replay_all(w.config, symbols, w.events, o);
      journal[ref] = std::move(r.journal);
      Summary sum = r.summary;
      hash[ref] = sum.state_hash;
      evaluations[ref] = sum.evaluations;
      if (ref == 0) {
        liquidations += sum.liquidations;
        calls += sum.margin_calls;
        adl += sum.adl_events;
        for (const std::string& line : journal[0])
          charges += line.find("\"socialized_charge\"") != std::string::npos;
      }
    }
    INFO("seed " << s.seed << ", " << w.events.size() << " events");
    REQUIRE(journal[0].size() == journal[1].size());
    for (std::size_t i = 0; i < journal[0].size(); ++i) {
      INFO("derived event " << i);
      REQUIRE(journal[0][i] == journal[1][i]);
    }
    CHECK(hash[0] == hash[1]);
    CHECK(evaluations[0] < evaluations[1]);
  }
  // The workloads must exercise what they claim to.
  INFO(params << " params, " << liquidations << " liquidations, " << calls << " margin calls, " << adl
              << " adl");
  CHECK(params > 4000);
  CHECK(liquidations > 100);
  CHECK(calls > 100);
  CHECK(adl > 0);
  CHECK(charges > 0);  // liquidation.socialize params charged someone, alike in both
}

// ---- finding 9: apply_param validates only the changed section ---------------

namespace {

// The rule before issue 10, kept verbatim as the oracle: the whole document
// copied, changed and parsed again.
Result<Config> reparse_whole(const Config& current, const std::string& path, const std::string& value_json) {
  auto bad = [&](const std::string& msg) { return make_error(ErrorKind::input, msg, "path"); };
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const auto& p : parts)
    if (p.empty()) return bad("'" + path + "' has an empty component");
  std::size_t want = parts[0] == "liquidation" ? 2 : 3;
  if ((parts[0] != "liquidation" && parts[0] != "markets" && parts[0] != "assets") || parts.size() != want)
    return bad(
        "'" + path +
        "' is not a configuration value (expected markets.<M>.<key>, assets.<A>.<key> or liquidation.<key>)");
  if (parts[0] == "markets" && current.market_index(parts[1]) < 0)
    return bad("market '" + parts[1] + "' is not defined in the configuration");
  if (parts[0] == "assets" && parts[1] != "USD" && current.asset_index(parts[1]) < 0)
    return bad("asset '" + parts[1] + "' is not defined in the configuration");
  if (parts[0] == "markets" && parts[2] == "underlying") return bad("a market's underlying cannot change");
  if (parts[0] == "markets" &&
      (parts[2] == "initial_margin_ratio" || parts[2] == "maintenance_margin_ratio") &&
      !current.markets[static_cast<std::size_t>(current.market_index(parts[1]))].tiers.empty())
    return bad("market '" + parts[1] + "' has tiers, which replace its flat ratios: change markets." +
               parts[1] + ".tiers instead");
  auto value = parse_json(value_json);
  if (!value) return make_error(ErrorKind::input, "malformed JSON: " + value.error().message, "value");

  JsonValue doc = current.document;
  JsonValue* node = &doc;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    JsonValue* child = nullptr;
    for (auto& m : node->members)
      if (m.first == parts[i]) child = &m.second;
    if (!child) {
      JsonValue obj;
      obj.kind = JsonValue::Kind::object;
      node->members.emplace_back(parts[i], std::move(obj));
      child = &node->members.back().second;
    }
    if (!child->is_object()) return bad("'" + path + "' does not name a value inside an object");
    node = child;
  }
  bool replaced = false;
  for (auto& m : node->members)
    if (m.first == parts.back()) {
      m.second = *value;
      replaced = true;
    }
  if (!replaced) node->members.emplace_back(parts.back(), *value);
  auto next = parse_config(doc, "param");
  if (!next) {
    Error e = next.error();
    e.kind = ErrorKind::input;
    e.file.clear();
    const bool unknown_key = e.field == path && e.message.find("unknown key") != std::string::npos;
    e.message = "'" + path + "' = " + value_json +
                " is not a valid configuration value: " + (e.field.empty() ? "" : e.field + ": ") + e.message;
    e.field = unknown_key ? "path" : "value";
    return e;
  }
  return next;
}

std::string typed(const Config& c) {
  std::string s;
  for (const auto& a : c.assets) s += "asset " + a.name + " " + a.collateral_weight.str() + "\n";
  for (const auto& m : c.markets) {
    s += "market " + m.name + " " + m.underlying + " " + std::to_string(m.underlying_index) + " " +
         m.initial_margin_ratio.str() + " " + m.maintenance_margin_ratio.str() + " " +
         m.liquidation_fee_ratio.str() + " " + (m.has_depth ? m.depth.str() : "-") + " " +
         m.impact_permanent_share.str();
    for (const auto& t : m.tiers)
      s += " [" + t.max_notional.str() + " " + t.initial_margin_ratio.str() + " " +
           t.maintenance_margin_ratio.str() + " " + t.maintenance_amount.str() + "]";
    s += "\n";
  }
  const auto& l = c.liquidation;
  s += "liquidation " + l.insurance_fund.str() + " " + (l.adl ? "adl" : "no-adl") + " " +
       (l.mode == LiquidationMode::full ? "full" : "partial") + " " + l.step_ratio.str() + " " +
       l.margin_call_threshold.str() + " " + std::to_string(l.max_cascade_rounds) + "\n";
  return s;
}

}  // namespace

TEST_CASE("a param changes the configuration in place, exactly as re-parsing the whole document would",
          "[engine][robust][param][config]") {
  const char* tiers_ok =
      R"([{"max_notional":"50000","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01","maintenance_amount":"0"},)"
      R"({"max_notional":"100000","initial_margin_ratio":"0.04","maintenance_margin_ratio":"0.02","maintenance_amount":"500"}])";
  const char* tiers_gap =
      R"([{"max_notional":"50000","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01","maintenance_amount":"0"},)"
      R"({"max_notional":"100000","initial_margin_ratio":"0.04","maintenance_margin_ratio":"0.02","maintenance_amount":"400"}])";
  const std::vector<std::string> configs = {
      // Tiers, a flat market, collateral, a liquidation block.
      R"({"assets":{"BTC":{"collateral_weight":"0.9"},"ETH":{}},"markets":{
        "BTC-PERP":{"underlying":"BTC","tiers":[{"max_notional":"50000","initial_margin_ratio":"0.01","maintenance_margin_ratio":"0.005","maintenance_amount":"0"}]},
        "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.05","maintenance_margin_ratio":"0.025","depth":"1000"}},
        "liquidation":{"insurance_fund":"10","mode":"partial"}})",
      // No "assets" block and no "liquidation" block: a param creates them.
      R"({"markets":{"ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.05","maintenance_margin_ratio":"0.025"}},
        "assets":{"ETH":{}}})",
      R"({"markets":{}})",
  };
  const std::vector<std::pair<std::string, std::string>> params = {
      {"markets.BTC-PERP.tiers", tiers_ok},
      {"markets.BTC-PERP.tiers", tiers_gap},
      {"markets.BTC-PERP.tiers", "[]"},
      {"markets.BTC-PERP.tiers", "7"},
      {"markets.BTC-PERP.maintenance_margin_ratio", "\"0.01\""},
      {"markets.BTC-PERP.liquidation_fee_ratio", "\"0.01\""},
      {"markets.BTC-PERP.liquidation_fee_ratio", "\"1.5\""},
      {"markets.BTC-PERP.underlying", "\"ETH\""},
      {"markets.BTC-PERP.nope", "\"1\""},
      {"markets.ETH-PERP.maintenance_margin_ratio", "\"0.06\""},
      {"markets.ETH-PERP.maintenance_margin_ratio", "\"0.05\""},
      {"markets.ETH-PERP.initial_margin_ratio", "\"0.02\""},
      {"markets.ETH-PERP.initial_margin_ratio", "\"0.3\""},
      {"markets.ETH-PERP.depth", "\"0\""},
      {"markets.ETH-PERP.depth", "\"5\""},
      {"markets.ETH-PERP.impact_permanent_share", "\"0.25\""},
      {"markets.ETH-PERP.impact_permanent_share", "true"},
      {"markets.SOL-PERP.depth", "\"5\""},
      {"markets.ETH-PERP", "\"5\""},
      {"assets.ETH.collateral_weight", "\"0.5\""},
      {"assets.ETH.collateral_weight", "\"-0.5\""},
      {"assets.ETH.haircut", "\"0.5\""},
      {"assets.BTC.collateral_weight", "\"0\""},
      {"assets.USD.collateral_weight", "\"1\""},
      {"assets.USD.collateral_weight", "\"0.9\""},
      {"assets.DOGE.collateral_weight", "\"0.5\""},
      {"liquidation.insurance_fund", "\"123.45\""},
      {"liquidation.insurance_fund", "\"-1\""},
      {"liquidation.adl", "false"},
      {"liquidation.adl", "\"no\""},
      {"liquidation.mode", "\"full\""},
      {"liquidation.mode", "\"sometimes\""},
      {"liquidation.step_ratio", "\"0.0009\""},
      {"liquidation.step_ratio", "\"0.5\""},
      {"liquidation.margin_call_threshold", "\"0\""},
      {"liquidation.margin_call_threshold", "\"0.9\""},
      {"liquidation.max_cascade_rounds", "\"5\""},
      {"liquidation.max_cascade_rounds", "5"},
      {"liquidation.max_cascade_rounds", "0"},
      {"liquidation.bogus", "1"},
      {"liquidation", "1"},
      {"liquidation..x", "1"},
      {"risk.x", "1"},
      {"markets.ETH-PERP.depth", "{"},
  };
  int compared = 0, refused = 0;
  for (const auto& text : configs) {
    auto doc = parse_json(text);
    REQUIRE(doc.ok());
    auto base = parse_config(*doc, "c.json");
    REQUIRE(base.ok());
    // Applied in sequence, so later params see earlier changes (and the
    // sections the earlier ones created).
    Config in_place = *base;
    for (const auto& [path, value] : params) {
      INFO(path << " = " << value);
      const std::string dump_before = in_place.document.dump();
      const std::string typed_before = typed(in_place);
      auto oracle = reparse_whole(in_place, path, value);
      auto scope = apply_param_in_place(in_place, path, value);
      REQUIRE(scope.ok() == oracle.ok());
      ++compared;
      if (!scope.ok()) {
        ++refused;
        CHECK(scope.error().kind == oracle.error().kind);
        CHECK(scope.error().field == oracle.error().field);
        CHECK(scope.error().message == oracle.error().message);
        CHECK(scope.error().file == oracle.error().file);
        // Refused: nothing changed.
        CHECK(in_place.document.dump() == dump_before);
        CHECK(typed(in_place) == typed_before);
        continue;
      }
      CHECK(in_place.document.dump() == oracle->document.dump());
      CHECK(typed(in_place) == typed(*oracle));
    }
  }
  CHECK(compared == static_cast<int>(configs.size() * params.size()));
  CHECK(refused > 0);
  CHECK(refused < compared);
}

TEST_CASE("a param that adds an assets.USD block to 1024 assets is refused like a whole re-parse would",
          "[engine][robust][param][config][limits]") {
  std::string assets;
  for (int i = 0; i < 1024; ++i) assets += std::string(i ? "," : "") + "\"A" + std::to_string(i) + "\":{}";
  auto doc = parse_json(R"({"assets":{)" + assets + R"(},"markets":{}})");
  REQUIRE(doc.ok());
  auto c = parse_config(*doc, "c.json");
  REQUIRE(c.ok());
  Config copy = *c;
  auto scope = apply_param_in_place(copy, "assets.USD.collateral_weight", "\"1\"");
  REQUIRE_FALSE(scope.ok());
  CHECK(scope.error().field == "value");
  CHECK(scope.error().message ==
        "'assets.USD.collateral_weight' = \"1\" is not a valid configuration value: assets: more than 1024 "
        "assets");
  CHECK(copy.document.dump() == c->document.dump());
  // A weight of an asset that exists needs no new block: accepted.
  REQUIRE(apply_param_in_place(copy, "assets.A7.collateral_weight", "\"0.5\"").ok());
  CHECK(copy.assets[8].collateral_weight.str() == "0.5");
}

// Found by fuzz/fuzz_small.cpp: a cross account left in USD debt sells its
// collateral for it; with the collateral priced at 1e-8 the quantity that
// would cover the debt (debt / price) is beyond the range, though the sale
// itself (everything the account holds) is an ordinary amount.
TEST_CASE("a debt is covered by selling collateral priced at 1e-8 without overflowing the quantity needed",
          "[engine][robust]") {
  Both b(R"({"assets":{"BTC":{},"ETH":{}},
    "markets":{"ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}},
    "liquidation":{"insurance_fund":"1000","adl":false}})");
  b.apply_all({price(1, "ETH", "100"), price(1, "BTC", "100"), deposit(2, "alice", "BTC", "100"),
               trade(3, "alice", "ETH-PERP", "buy", "500", "100"), price(4, "ETH", "97"),
               price(5, "BTC", "0.00000001")});
  auto sales = b.indexed.of_type<CollateralSaleEvent>();
  REQUIRE(sales.size() == 1);
  // All of it, for 1e-6 USD against a 1500 USD debt (covering it would take 1.5e11 BTC).
  CHECK(sales[0].amount.str() == "100");
  CHECK(sales[0].proceeds.str() == "0.000001");
  CHECK(b.indexed.of_type<BankruptcyEvent>().size() == 1);
  CHECK(b.indexed.summary().state_hash == b.reference.summary().state_hash);
}
