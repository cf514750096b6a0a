// Overrides of a configuration document (`liqsim replay --set PATH=VALUE`):
// each kind of path, exact decimals, order, every refusal, and the
// maintenance_amount a tier leaves out, computed for continuity.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "liqsim/config.hpp"

using namespace liqsim;

namespace {

// Binance BTCUSDT-style tiers with the amounts left out (computed).
const char* kBase = R"({
  "assets": { "ETH": { "collateral_weight": "0.9" }, "BTC": { "collateral_weight": "0.95" } },
  "markets": {
    "BTC-PERP": {
      "underlying": "BTC",
      "tiers": [
        { "max_notional": "50000",   "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004" },
        { "max_notional": "250000",  "initial_margin_ratio": "0.01",  "maintenance_margin_ratio": "0.005" },
        { "max_notional": "1000000", "initial_margin_ratio": "0.02",  "maintenance_margin_ratio": "0.01" },
        { "max_notional": "10000000", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025" },
        { "max_notional": "20000000", "initial_margin_ratio": "0.1",  "maintenance_margin_ratio": "0.05" }
      ],
      "liquidation_fee_ratio": "0.005"
    },
    "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01" }
  },
  "liquidation": { "insurance_fund": "100000", "adl": true }
})";

// The same tiers with their amounts written out (as replays/usdc-depeg-2023-03 does).
const char* kExplicitTiers = R"([
  { "max_notional": "50000",   "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
  { "max_notional": "250000",  "initial_margin_ratio": "0.01",  "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" },
  { "max_notional": "1000000", "initial_margin_ratio": "0.02",  "maintenance_margin_ratio": "0.01", "maintenance_amount": "1300" },
  { "max_notional": "10000000", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025", "maintenance_amount": "16300" },
  { "max_notional": "20000000", "initial_margin_ratio": "0.1",  "maintenance_margin_ratio": "0.05", "maintenance_amount": "266300" }
])";

JsonValue doc_of(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  return *doc;
}

Config config_of(const std::string& text) {
  auto c = parse_config(doc_of(text), "config.json");
  REQUIRE(c.ok());
  return *c;
}

Result<Config> overridden(const std::vector<std::string>& sets, const char* base = kBase) {
  return apply_overrides(doc_of(base), sets, "config.json");
}

Config must(const std::vector<std::string>& sets, const char* base = kBase) {
  auto c = overridden(sets, base);
  if (!c) FAIL(c.error().describe());
  return *c;
}

// The error of overrides that must fail: its text must hold every fragment.
Error refused_error(const std::vector<std::string>& sets, const std::vector<std::string>& fragments,
                    const char* base = kBase) {
  auto c = overridden(sets, base);
  REQUIRE_FALSE(c.ok());
  const Error e = c.error();
  INFO(e.describe());
  CHECK(e.exit_code() == 2);
  for (const std::string& f : fragments) CHECK(e.describe().find(f) != std::string::npos);
  return e;
}

void refused(const std::vector<std::string>& sets, const std::vector<std::string>& fragments,
             const char* base = kBase) {
  (void)refused_error(sets, fragments, base);
}

const MarketConfig& market(const Config& c, const std::string& name) {
  const int m = c.market_index(name);
  REQUIRE(m >= 0);
  return c.markets[static_cast<std::size_t>(m)];
}

std::string amounts(const MarketConfig& m) {
  std::string s;
  for (const Tier& t : m.tiers) s += (s.empty() ? "" : " ") + t.maintenance_amount.str();
  return s;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `doc` with every tier's maintenance_amount removed.
JsonValue without_amounts(JsonValue doc) {
  for (auto& [name, m] : doc.members)
    if (name == "markets")
      for (auto& [market_name, mv] : m.members)
        for (auto& [key, tiers] : mv.members)
          if (key == "tiers")
            for (JsonValue& t : tiers.items)
              std::erase_if(t.members, [](const auto& kv) { return kv.first == "maintenance_amount"; });
  return doc;
}

}  // namespace

// ---------------------------------------------------------------------------
// maintenance_amount left out: computed for continuity

TEST_CASE("a tier without maintenance_amount gets Binance's cumulative amount", "[config][overrides]") {
  // 0; 0 + 50000 × (0.005 − 0.004) = 50; 50 + 250000 × (0.01 − 0.005) = 1300;
  // 1300 + 1000000 × (0.025 − 0.01) = 16300; 16300 + 10000000 × (0.05 − 0.025) = 266300.
  const Config c = config_of(kBase);
  CHECK(amounts(market(c, "BTC-PERP")) == "0 50 1300 16300 266300");
  // Continuous at 250000: 250000 × 0.005 − 50 = 1200 = 250000 × 0.01 − 1300.
  const MarketConfig& m = market(c, "BTC-PERP");
  CHECK(maintenance_requirement(m, Usd::parse_or_throw("250000")).str() == "1200");
  CHECK(maintenance_requirement(m, Usd::parse_or_throw("250000.00000001")).str() == "1200.00000001");
}

TEST_CASE("computed amounts give the canonical text of the explicit ones", "[config][overrides]") {
  JsonValue explicit_doc = doc_of(kBase);
  const Config computed = config_of(kBase);
  auto edited = apply_overrides(explicit_doc, {std::string("markets.BTC-PERP.tiers=") + kExplicitTiers}, "c");
  REQUIRE(edited.ok());
  CHECK(canonical_config(*edited) == canonical_config(computed));
}

TEST_CASE("the shipped tiered configurations read the same with their amounts left out",
          "[config][overrides]") {
  for (const char* dir : {"replays/eth-2020-03-12", "replays/eth-2021-05-19", "replays/usdc-depeg-2023-03",
                          "events/examples/isolated-tiers"}) {
    INFO(dir);
    const JsonValue doc = doc_of(file_text(std::string(LIQSIM_SOURCE_ROOT) + "/" + dir + "/config.json"));
    auto given = parse_config(doc, "config.json");
    auto computed = parse_config(without_amounts(doc), "config.json");
    REQUIRE(given.ok());
    REQUIRE(computed.ok());
    CHECK(canonical_config(*computed) == canonical_config(*given));
  }
}

TEST_CASE("a tier may give its amount while the next leaves it out", "[config][overrides]") {
  // Tier 1 says 50 (continuous), tier 2 is computed from it: 50 + 250000 × 0.005.
  const Config c = must({"markets.BTC-PERP.tiers[1].maintenance_amount=50"});
  CHECK(amounts(market(c, "BTC-PERP")) == "0 50 1300 16300 266300");
  refused({"markets.BTC-PERP.tiers[1].maintenance_amount=60"},
          {"--set markets.BTC-PERP.tiers[1].maintenance_amount=60: ", "not continuous at notional 50000"});
}

TEST_CASE("an override of a ratio recomputes the amounts a file left out", "[config][overrides]") {
  // 50000 × (0.006 − 0.004) = 100; 100 + 250000 × (0.01 − 0.006) = 1100;
  // 1100 + 1000000 × 0.015 = 16100; 16100 + 10000000 × 0.025 = 266100.
  const Config c = must({"markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006"});
  CHECK(amounts(market(c, "BTC-PERP")) == "0 100 1100 16100 266100");
}

TEST_CASE("an override of a ratio recomputes the amounts a file gave, unless an override sets them",
          "[config][overrides]") {
  // Continuity from notional 0 fixes every amount, so the amounts of a valid
  // file are the computed ones: after a ratio changes they are computed
  // again (and written into the document), 50000 × 0.002 = 100, then
  // 100 + 250000 × 0.004 = 1100, ...
  const std::string with_amounts =
      must({std::string("markets.BTC-PERP.tiers=") + kExplicitTiers}).document.dump();
  const Config c = must({"markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006"}, with_amounts.c_str());
  CHECK(amounts(market(c, "BTC-PERP")) == "0 100 1100 16100 266100");
  CHECK(c.document.dump().find("\"maintenance_amount\":\"1100\"") != std::string::npos);
  // An amount an override sets is kept, and checked.
  refused({"markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006",
           "markets.BTC-PERP.tiers[2].maintenance_amount=1000"},
          {"markets.BTC-PERP.tiers[2].maintenance_amount: maintenance requirement is not continuous"},
          with_amounts.c_str());
  const Config kept = must({"markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006",
                            "markets.BTC-PERP.tiers[1].maintenance_amount=100",
                            "markets.BTC-PERP.tiers[2].maintenance_amount=1100"},
                           with_amounts.c_str());
  CHECK(amounts(market(kept, "BTC-PERP")) == "0 100 1100 16100 266100");
  // Amounts given with the whole list by an override are amounts an override
  // sets: kept, and checked.
  refused({std::string("markets.BTC-PERP.tiers=") + kExplicitTiers,
           "markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.006"},
          {"markets.BTC-PERP.tiers[1].maintenance_amount: maintenance requirement is not continuous"},
          with_amounts.c_str());
  // Overriding only a flat value of the market leaves the given amounts as they are.
  const Config flat = must({"markets.BTC-PERP.liquidation_fee_ratio=0.001"}, with_amounts.c_str());
  CHECK(flat.document.dump().find("\"maintenance_amount\":\"1100\"") == std::string::npos);
}

TEST_CASE("an amount no 8-decimal value makes continuous is refused", "[config][overrides]") {
  // 50000.00000001 × 0.001 = 50.00000000001: eleven decimal places.
  refused({"markets.BTC-PERP.tiers[0].max_notional=50000.00000001"},
          {"markets.BTC-PERP.tiers[1].maintenance_amount", "more than 8 decimal places"});
  // A ratio below the previous tier's would need a negative amount.
  refused({"markets.BTC-PERP.tiers[1].maintenance_margin_ratio=0.001",
           "markets.BTC-PERP.tiers[1].initial_margin_ratio=0.01"},
          {"--set markets.BTC-PERP.tiers[1].", "tiers[1].maintenance_amount", "negative"});
}

// ---------------------------------------------------------------------------
// Overrides of each kind

TEST_CASE("an override sets a market's flat value", "[config][overrides]") {
  const Config c = must({"markets.ETH-PERP.maintenance_margin_ratio=0.015"});
  CHECK(market(c, "ETH-PERP").maintenance_margin_ratio.str() == "0.015");
  CHECK(must({"markets.ETH-PERP.depth=2500000"}).markets[1].has_depth);
}

TEST_CASE("an override sets a tier's value by index", "[config][overrides]") {
  const Config c = must({"markets.BTC-PERP.tiers[4].initial_margin_ratio=0.125"});
  CHECK(market(c, "BTC-PERP").tiers[4].initial_margin_ratio.str() == "0.125");
  CHECK(market(c, "BTC-PERP").tiers[3].initial_margin_ratio.str() == "0.05");
}

TEST_CASE("an override sets the liquidation block, creating it if the file has none", "[config][overrides]") {
  const Config c = must({"liquidation.mode=partial", "liquidation.step_ratio=0.1", "liquidation.adl=false"});
  CHECK(c.liquidation.mode == LiquidationMode::partial);
  CHECK(c.liquidation.step_ratio.str() == "0.1");
  CHECK_FALSE(c.liquidation.adl);
  const char* bare = R"({"markets":{"ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.02",
                        "maintenance_margin_ratio":"0.01"}},"assets":{"ETH":{}}})";
  const Config d = must({"liquidation.insurance_fund=\"250\""}, bare);
  CHECK(d.liquidation.insurance_fund.str() == "250");
}

TEST_CASE("an override sets an asset's weight", "[config][overrides]") {
  const Config c = must({"assets.ETH.collateral_weight=0.75"});
  CHECK(c.assets[static_cast<std::size_t>(c.asset_index("ETH"))].collateral_weight.str() == "0.75");
  CHECK(c.assets[static_cast<std::size_t>(c.asset_index("BTC"))].collateral_weight.str() == "0.95");
  refused({"assets.ETH.collateral_weight=1.5"},
          {"--set assets.ETH.collateral_weight=1.5: assets.ETH.collateral_weight: must be within [0, 1]"});
}

TEST_CASE("a decimal override stays exact, and the document is the changed one", "[config][overrides]") {
  const Config c = must({"liquidation.insurance_fund=1234567.12345678"});
  CHECK(c.liquidation.insurance_fund.raw() == 123456712345678);
  CHECK(c.document.dump().find("\"insurance_fund\":1234567.12345678") != std::string::npos);
  // 0.1 + 0.2 in binary floating point is not 0.3; here it is digits.
  CHECK(must({"markets.ETH-PERP.maintenance_margin_ratio=0.00000001"})
            .markets[1]
            .maintenance_margin_ratio.raw() == 1);
  CHECK(must({"markets.ETH-PERP.maintenance_margin_ratio=\"0.01\""})
            .markets[1]
            .maintenance_margin_ratio.str() == "0.01");
  refused({"liquidation.insurance_fund=0.000000001"}, {"--set liquidation.insurance_fund=0.000000001: "});
}

TEST_CASE("an override gives the configuration of a file edited to its value", "[config][overrides]") {
  std::string edited = kBase;
  const std::string from = R"("insurance_fund": "100000")", to = R"("insurance_fund": "777.5")";
  edited.replace(edited.find(from), from.size(), to);
  CHECK(canonical_config(must({"liquidation.insurance_fund=777.5"})) == canonical_config(config_of(edited)));
  CHECK(canonical_config(must({})) == canonical_config(config_of(kBase)));
}

TEST_CASE("overrides apply in the order given", "[config][overrides]") {
  CHECK(must({"liquidation.insurance_fund=1", "liquidation.insurance_fund=2"})
            .liquidation.insurance_fund.str() == "2");
  CHECK(must({"liquidation.insurance_fund=2", "liquidation.insurance_fund=1"})
            .liquidation.insurance_fund.str() == "1");
  // Validation is of the end result: raising maintenance above the initial
  // ratio is fine when the initial ratio is raised too, in either order.
  must({"markets.ETH-PERP.maintenance_margin_ratio=0.03", "markets.ETH-PERP.initial_margin_ratio=0.05"});
  must({"markets.ETH-PERP.initial_margin_ratio=0.05", "markets.ETH-PERP.maintenance_margin_ratio=0.03"});
}

// ---------------------------------------------------------------------------
// Refusals, each naming --set and the override

TEST_CASE("an invalid value is refused as the configuration file would refuse it", "[config][overrides]") {
  const Error e = refused_error({"markets.BTC-PERP.tiers[0].maintenance_margin_ratio=abc"},
                                {"--set markets.BTC-PERP.tiers[0].maintenance_margin_ratio=abc: "
                                 "markets.BTC-PERP.tiers[0].maintenance_margin_ratio: "});
  CHECK(e.kind == ErrorKind::config);
  CHECK(e.file == "config.json");
  // The same message as a configuration file holding "abc".
  std::string edited = kBase;
  const std::string from = R"("maintenance_margin_ratio": "0.004")";
  edited.replace(edited.find(from), from.size(), R"("maintenance_margin_ratio": "abc")");
  auto file = parse_config(doc_of(edited), "config.json");
  REQUIRE_FALSE(file.ok());
  CHECK(e.message.find(file.error().message) != std::string::npos);
}

TEST_CASE("a validation error is blamed on the override that caused it", "[config][overrides]") {
  const Error e =
      refused_error({"liquidation.insurance_fund=5", "markets.ETH-PERP.initial_margin_ratio=0.001",
                     "assets.BTC.collateral_weight=0.5"},
                    {"--set markets.ETH-PERP.initial_margin_ratio=0.001: "});
  CHECK(e.message.find("liquidation.insurance_fund") == std::string::npos);
}

TEST_CASE("malformed overrides are usage errors", "[config][overrides]") {
  CHECK(refused_error({"liquidation.adl"}, {"--set liquidation.adl: ", "no '='"}).kind == ErrorKind::usage);
  CHECK(refused_error({"=1"}, {"--set =1: ", "path before '=' is empty"}).kind == ErrorKind::usage);
  CHECK(refused_error({"liquidation.adl="}, {"value after '=' is empty"}).kind == ErrorKind::usage);
  refused({"markets..depth=1"}, {"--set markets..depth=1: ", "empty component"});
  refused({"markets.BTC-PERP.tiers[x].max_notional=1"}, {"'tiers[x]' is not NAME or NAME[INDEX]"});
  refused({"markets.BTC-PERP.tiers[1.max_notional=1"}, {"is not NAME or NAME[INDEX]"});
  refused({"markets.BTC-PERP.tiers=[1,"}, {"--set markets.BTC-PERP.tiers=[1,: ", "malformed JSON"});
}

TEST_CASE("an unknown path component is named", "[config][overrides]") {
  refused({"markets.NOPE-PERP.depth=1"},
          {"--set markets.NOPE-PERP.depth=1: ", "unknown path component 'NOPE-PERP'"});
  refused({"assets.DOGE.collateral_weight=1"}, {"unknown path component 'DOGE'"});
  refused({"risk.limit=1"}, {"unknown path component 'risk'"});
  refused({"liquidation.speed=1"}, {"--set liquidation.speed=1: liquidation.speed: unknown key"});
  refused({"markets.BTC-PERP.tiers[0].cap=1"}, {"markets.BTC-PERP.tiers[0].cap: unknown key"});
  refused({"markets.ETH-PERP.tiers[0].max_notional=1"}, {"unknown path component 'tiers'"});
}

TEST_CASE("an index out of range is refused", "[config][overrides]") {
  refused({"markets.BTC-PERP.tiers[5].max_notional=1"},
          {"--set markets.BTC-PERP.tiers[5].max_notional=1: ", "index 5 is out of range", "has 5 items"});
  refused({"markets.BTC-PERP.tiers[0][0]=1"}, {"not a list"});
  refused({"markets.BTC-PERP.tiers.max_notional=1"}, {"needs an index"});
}

TEST_CASE("a path that names a section where a value is wanted is refused", "[config][overrides]") {
  refused({"markets.BTC-PERP=1"}, {"--set markets.BTC-PERP=1: ", "is a section, not a value"});
  refused({"markets.BTC-PERP.tiers[0]={}"}, {"is a section, not a value"});
  refused({"liquidation={\"adl\":false}"}, {"is a section, not a value"});
  refused({"markets.BTC-PERP.liquidation_fee_ratio.x=1"}, {"is a value, not a section"});
}

TEST_CASE("an override cannot add or remove a market, asset or tier", "[config][overrides]") {
  refused({"markets.SOL-PERP=1"}, {"--set markets.SOL-PERP=1: ", "cannot add one"});
  refused({"assets.SOL=1"}, {"cannot add one"});
  refused({"markets.BTC-PERP.tiers=[]"}, {"list of 5 items", "not add or remove items"});
  refused({std::string("markets.BTC-PERP.tiers=") + R"([{"max_notional":"1","initial_margin_ratio":"0.1",
           "maintenance_margin_ratio":"0.1"}])"},
          {"not add or remove items"});
  refused(
      {R"(markets.ETH-PERP.tiers=[{"max_notional":"1","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.1"}])"},
      {"may add a value, not a section or a list"});
}

TEST_CASE("an override keeps param's rules on underlyings and flat ratios of tiered markets",
          "[config][overrides]") {
  refused({"markets.ETH-PERP.underlying=BTC"}, {"underlying cannot change"});
  refused({"markets.BTC-PERP.maintenance_margin_ratio=0.01"}, {"has tiers, which replace its flat ratios"});
}
