// canonical_config: the text depends on what a configuration means, not on
// how it is spelled. Spellings of one meaning give one text; a change of any
// key the parser accepts (the key list is checked against config.cpp's
// source, so a key added there without a line here fails), of any typed
// value, or of market order gives another; a param gives the text of the
// source file with that value written in.
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/config.hpp"

using namespace liqsim;

namespace {

JsonValue json_of(const std::string& text) {
  auto doc = parse_json(text);
  INFO(text);
  REQUIRE(doc.ok());
  return *doc;
}

Config config_of(const JsonValue& doc) {
  auto c = parse_config(doc, "config.json");
  INFO(doc.dump());
  if (!c.ok()) FAIL(c.error().describe());
  return *c;
}

std::string canon_doc(const JsonValue& doc) { return canonical_config(config_of(doc)); }
std::string canon(const std::string& text) { return canon_doc(json_of(text)); }

// Every key the parser accepts set to a valid value other than its default
// (where one is possible: the first tier's amount must be 0 and USD's weight
// 1), with a tiered market that also has flat ratios and a flat one.
const char* const kFull = R"({
  "assets": {
    "USD": { "collateral_weight": "1" },
    "BTC": { "collateral_weight": "0.95" },
    "ETH": { "collateral_weight": "0.9" }
  },
  "markets": {
    "BTC-PERP": {
      "underlying": "BTC",
      "initial_margin_ratio": "0.05",
      "maintenance_margin_ratio": "0.02",
      "tiers": [
        { "max_notional": "50000", "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004", "maintenance_amount": "0" },
        { "max_notional": "500000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" }
      ],
      "liquidation_fee_ratio": "0.005",
      "depth": "10000000",
      "impact_permanent_share": "0.3"
    },
    "ETH-PERP": {
      "underlying": "ETH",
      "initial_margin_ratio": "0.1",
      "maintenance_margin_ratio": "0.05",
      "liquidation_fee_ratio": "0.01",
      "depth": "2000000",
      "impact_permanent_share": "0.7"
    }
  },
  "liquidation": { "insurance_fund": "1000000", "adl": false, "mode": "partial", "step_ratio": "0.1",
                   "margin_call_threshold": "0.9", "max_cascade_rounds": 50, "socialize": "profitable" }
})";

// One change to a document: `path` is dotted, a component may end in [i]
// (an array item); json is the new value, nullopt removes the key.
struct Edit {
  std::string path;
  std::optional<std::string> json;
};

void apply_edit(JsonValue& doc, const Edit& e) {
  INFO("edit " << e.path);
  std::vector<std::string> parts;
  std::stringstream ss(e.path);
  for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
  JsonValue* node = &doc;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string name = parts[i];
    int index = -1;
    if (const auto bracket = name.find('['); bracket != std::string::npos) {
      index = std::stoi(name.substr(bracket + 1));
      name = name.substr(0, bracket);
    }
    const bool last = i + 1 == parts.size();
    REQUIRE(node->is_object());
    auto it = node->members.begin();
    while (it != node->members.end() && it->first != name) ++it;
    if (last && index < 0) {
      if (!e.json) {
        REQUIRE(it != node->members.end());
        node->members.erase(it);
      } else if (it == node->members.end()) {
        node->members.emplace_back(name, json_of(*e.json));
      } else {
        it->second = json_of(*e.json);
      }
      return;
    }
    if (it == node->members.end()) {
      JsonValue obj;
      obj.kind = JsonValue::Kind::object;
      node->members.emplace_back(name, std::move(obj));
      it = std::prev(node->members.end());
    }
    node = &it->second;
    if (index >= 0) {
      REQUIRE(node->kind == JsonValue::Kind::array);
      REQUIRE(static_cast<std::size_t>(index) < node->items.size());
      node = &node->items[static_cast<std::size_t>(index)];
    }
  }
}

JsonValue edited(const std::string& text, const std::vector<Edit>& edits) {
  JsonValue doc = json_of(text);
  for (const Edit& e : edits) apply_edit(doc, e);
  return doc;
}

// A key the parser accepts, where it sits in kFull, and what it means to
// leave it out.
struct KeyCase {
  const char* section;  // "top", "asset", "market", "tier", "liquidation"
  const char* key;
  std::string at;                           // its path in kFull
  bool optional;                            // kFull without it still parses
  std::optional<std::string> default_json;  // a value that means the same as leaving it out
  std::vector<Edit> change;                 // to another valid value (with what validity needs alongside)
  const char* no_change = nullptr;          // why `change` is empty
};

// clang-format off
const std::vector<KeyCase>& key_cases() {
  static const std::vector<KeyCase> cases = {
    // Without assets, BTC-PERP's underlying is undefined.
    {"top", "assets", "assets", false, std::nullopt, {{"assets.SOL", "{}"}}},
    {"top", "markets", "markets", false, std::nullopt, {{"markets.ETH-PERP", std::nullopt}}},
    {"top", "liquidation", "liquidation", true, "{}", {{"liquidation", R"({"adl":false})"}}},
    {"asset", "collateral_weight", "assets.BTC.collateral_weight", true, "\"1\"",
     {{"assets.BTC.collateral_weight", "\"0.96\""}}},
    {"asset", "collateral_weight", "assets.USD.collateral_weight", true, "\"1\"", {},
     "USD's weight is always 1"},
    {"market", "underlying", "markets.BTC-PERP.underlying", false, std::nullopt,
     {{"markets.BTC-PERP.underlying", "\"ETH\""}}},
    {"market", "initial_margin_ratio", "markets.ETH-PERP.initial_margin_ratio", false, std::nullopt,
     {{"markets.ETH-PERP.initial_margin_ratio", "\"0.12\""}}},
    {"market", "maintenance_margin_ratio", "markets.ETH-PERP.maintenance_margin_ratio", false, std::nullopt,
     {{"markets.ETH-PERP.maintenance_margin_ratio", "\"0.06\""}}},
    // Without tiers the market's flat ratios (0.05, 0.02) apply: absence is a meaning.
    {"market", "tiers", "markets.BTC-PERP.tiers", true, std::nullopt,
     {{"markets.BTC-PERP.tiers",
       R"([{"max_notional":"50000","initial_margin_ratio":"0.008","maintenance_margin_ratio":"0.004"}])"}}},
    {"market", "liquidation_fee_ratio", "markets.BTC-PERP.liquidation_fee_ratio", true, "\"0\"",
     {{"markets.BTC-PERP.liquidation_fee_ratio", "\"0.006\""}}},
    // Without depth, liquidations fill at the mark: absence is a meaning.
    {"market", "depth", "markets.BTC-PERP.depth", true, std::nullopt,
     {{"markets.BTC-PERP.depth", "\"20000000\""}}},
    {"market", "impact_permanent_share", "markets.BTC-PERP.impact_permanent_share", true, "\"0.5\"",
     {{"markets.BTC-PERP.impact_permanent_share", "\"0.4\""}}},
    {"tier", "max_notional", "markets.BTC-PERP.tiers[1].max_notional", false, std::nullopt,
     {{"markets.BTC-PERP.tiers[1].max_notional", "\"600000\""}}},
    {"tier", "initial_margin_ratio", "markets.BTC-PERP.tiers[1].initial_margin_ratio", false, std::nullopt,
     {{"markets.BTC-PERP.tiers[1].initial_margin_ratio", "\"0.02\""}}},
    // Continuity at 50000 ties a tier's ratio to its amount: 50000 × 0.006 − 100 = 200.
    {"tier", "maintenance_margin_ratio", "markets.BTC-PERP.tiers[1].maintenance_margin_ratio", false, std::nullopt,
     {{"markets.BTC-PERP.tiers[1].maintenance_margin_ratio", "\"0.006\""},
      {"markets.BTC-PERP.tiers[1].maintenance_amount", "\"100\""}}},
    // The first tier's amount must be 0; a later one's is tied to its boundary:
    // 25000 × 0.004 = 25000 × 0.005 − 25. (The typed test below changes the
    // amount alone.)
    {"tier", "maintenance_amount", "markets.BTC-PERP.tiers[0].maintenance_amount", true, "\"0\"",
     {{"markets.BTC-PERP.tiers[1].maintenance_amount", "\"25\""},
      {"markets.BTC-PERP.tiers[0].max_notional", "\"25000\""}}},
    {"liquidation", "insurance_fund", "liquidation.insurance_fund", true, "\"0\"",
     {{"liquidation.insurance_fund", "\"2000000\""}}},
    {"liquidation", "adl", "liquidation.adl", true, "true", {{"liquidation.adl", "true"}}},
    {"liquidation", "mode", "liquidation.mode", true, "\"full\"", {{"liquidation.mode", "\"full\""}}},
    {"liquidation", "step_ratio", "liquidation.step_ratio", true, "\"0.25\"", {{"liquidation.step_ratio", "\"0.2\""}}},
    {"liquidation", "margin_call_threshold", "liquidation.margin_call_threshold", true, "\"0.8\"",
     {{"liquidation.margin_call_threshold", "\"0.85\""}}},
    {"liquidation", "max_cascade_rounds", "liquidation.max_cascade_rounds", true, "1000",
     {{"liquidation.max_cascade_rounds", "51"}}},
    {"liquidation", "socialize", "liquidation.socialize", true, "\"none\"",
     {{"liquidation.socialize", "\"open_interest\""}}},
  };
  return cases;
}
// clang-format on

std::string describe(const KeyCase& k) { return std::string(k.section) + " key '" + k.key + "' at " + k.at; }

}  // namespace

TEST_CASE("canonical text: the documented format, one line per record", "[config][canonical]") {
  const std::string text = canon(R"({
    "assets": { "BTC": { "collateral_weight": "0.95" }, "ETH": {} },
    "markets": {
      "BTC-PERP": { "underlying": "BTC",
        "tiers": [ { "max_notional": "50000", "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004" },
                   { "max_notional": "500000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.005", "maintenance_amount": "50" } ],
        "liquidation_fee_ratio": "0.005", "depth": "10000000" },
      "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025" } },
    "liquidation": { "insurance_fund": "1000000" } })");
  CHECK(text ==
        "liqsim-config-v1\n"
        "asset \"USD\" collateral_weight=1\n"
        "asset \"BTC\" collateral_weight=0.95\n"
        "asset \"ETH\" collateral_weight=1\n"
        "market \"BTC-PERP\" underlying=\"BTC\" initial_margin_ratio=0 maintenance_margin_ratio=0 "
        "liquidation_fee_ratio=0.005 depth=10000000 impact_permanent_share=0.5 tiers=2\n"
        "tier 0 max_notional=50000 initial_margin_ratio=0.008 maintenance_margin_ratio=0.004 "
        "maintenance_amount=0\n"
        "tier 1 max_notional=500000 initial_margin_ratio=0.01 maintenance_margin_ratio=0.005 "
        "maintenance_amount=50\n"
        "market \"ETH-PERP\" underlying=\"ETH\" initial_margin_ratio=0.05 maintenance_margin_ratio=0.025 "
        "liquidation_fee_ratio=0 depth=none impact_permanent_share=0.5 tiers=0\n"
        "liquidation insurance_fund=1000000 adl=true mode=full step_ratio=0.25 margin_call_threshold=0.8 "
        "max_cascade_rounds=1000\n");
  CHECK(canon(kFull) == canon(kFull));  // deterministic
}

TEST_CASE("canonical text: spelling, written-out defaults and key order do not matter",
          "[config][canonical]") {
  // maintenance_amount 15 at 50000 needs 50000 × 0.004 = 50000 × 0.0043 − 15.
  const std::string plain = R"({
    "assets": { "BTC": { "collateral_weight": "0.95" }, "ETH": {} },
    "markets": {
      "BTC-PERP": { "underlying": "BTC",
        "tiers": [ { "max_notional": "50000", "initial_margin_ratio": "0.008", "maintenance_margin_ratio": "0.004" },
                   { "max_notional": "500000", "initial_margin_ratio": "0.01", "maintenance_margin_ratio": "0.0043", "maintenance_amount": "15" } ],
        "depth": "10000000" },
      "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.5", "maintenance_margin_ratio": "0.025" } },
    "liquidation": { "insurance_fund": "1000000" } })";
  // The same meaning: decimals with trailing zeros, JSON numbers for strings,
  // exponents, "-0", every default written out (USD's block included, at the
  // end; a tiered market's flat ratios as 0), and every object's keys in
  // another order. Asset and market order are kept: they are meaning.
  const std::string respelled = R"({
    "liquidation": { "max_cascade_rounds": 1000, "margin_call_threshold": "0.80", "step_ratio": 0.25,
                     "mode": "full", "adl": true, "insurance_fund": 1e6 },
    "markets": {
      "BTC-PERP": { "impact_permanent_share": "0.50", "depth": "1.0E7", "liquidation_fee_ratio": "-0",
        "maintenance_margin_ratio": 0, "initial_margin_ratio": "0.000",
        "tiers": [ { "maintenance_amount": "0.0000", "maintenance_margin_ratio": "0.0040", "initial_margin_ratio": 0.008,
                     "max_notional": "5e4" },
                   { "maintenance_amount": "15.0000", "maintenance_margin_ratio": 0.00430000, "max_notional": 500000,
                     "initial_margin_ratio": "0.010" } ],
        "underlying": "BTC" },
      "ETH-PERP": { "liquidation_fee_ratio": 0, "impact_permanent_share": 5e-1, "maintenance_margin_ratio": 0.0250,
                    "initial_margin_ratio": "0.50", "underlying": "ETH" } },
    "assets": { "BTC": { "collateral_weight": 0.950 }, "ETH": { "collateral_weight": "1.0" },
                "USD": { "collateral_weight": 1 } } })";
  CHECK(canon(plain) == canon(respelled));

  // The optional blocks: left out, empty, or USD's written (first or last).
  const std::string bare = canon(R"({"markets":{}})");
  CHECK(canon(R"({"assets":{},"markets":{},"liquidation":{}})") == bare);
  CHECK(canon(R"({"liquidation":{},"markets":{},"assets":{"USD":{"collateral_weight":"1.00"}}})") == bare);
  CHECK(canon(R"({"assets":{"USD":{},"BTC":{}},"markets":{}})") ==
        canon(R"({"assets":{"BTC":{},"USD":{}},"markets":{}})"));
}

TEST_CASE("canonical text: the key list is the parser's", "[config][canonical]") {
  // Every key name config.cpp reads (`.number("k"`, `.get("k"`, `.boolean("k"`)
  // must have a case here: a key added to the parser without one fails.
  std::ifstream in(std::string(LIQSIM_SOURCE_ROOT) + "/src/core/config.cpp");
  REQUIRE(in.good());
  const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<std::string> parsed;
  const std::regex read_key(R"(\.(number|get|boolean)\(\s*"([A-Za-z0-9_]+)\")");
  for (auto it = std::sregex_iterator(source.begin(), source.end(), read_key); it != std::sregex_iterator();
       ++it)
    parsed.insert((*it)[2].str());
  std::set<std::string> listed;
  for (const KeyCase& k : key_cases()) listed.insert(k.key);
  CHECK(parsed == listed);
  CHECK(listed.size() == 20);

  // kFull sets every listed key: each section's objects hold exactly the
  // section's keys between them.
  std::map<std::string, std::set<std::string>> want, have;
  for (const KeyCase& k : key_cases()) want[k.section].insert(k.key);
  const JsonValue full = json_of(kFull);
  for (const auto& [key, v] : full.members) {
    have["top"].insert(key);
    for (const auto& [name, block] : v.members) {
      if (key == "assets")
        for (const auto& m : block.members) have["asset"].insert(m.first);
      if (key == "markets")
        for (const auto& [mkey, mv] : block.members) {
          have["market"].insert(mkey);
          if (mkey == "tiers")
            for (const JsonValue& t : mv.items)
              for (const auto& m : t.members) have["tier"].insert(m.first);
        }
    }
    if (key == "liquidation")
      for (const auto& m : v.members) have["liquidation"].insert(m.first);
  }
  CHECK(have == want);
  const Config c = config_of(full);
  CHECK(c.markets.size() == 2);
}

TEST_CASE("canonical text: a key may be left out exactly where its default or absence is listed",
          "[config][canonical]") {
  const std::string full = canon(kFull);
  for (const KeyCase& k : key_cases()) {
    INFO(describe(k));
    const JsonValue without = edited(kFull, {{k.at, std::nullopt}});
    auto c = parse_config(without, "config.json");
    CHECK(c.ok() == k.optional);
    if (!k.optional) {
      CHECK_FALSE(k.default_json.has_value());
      continue;
    }
    if (!c.ok()) continue;
    const std::string left_out = canonical_config(*c);
    if (k.default_json) {
      // Writing the default means leaving the key out.
      CHECK(canon_doc(edited(kFull, {{k.at, *k.default_json}})) == left_out);
    } else {
      // No default: leaving the key out is a meaning of its own.
      CHECK(left_out != full);
    }
  }
}

TEST_CASE("canonical text: changing any key the configuration accepts changes the text",
          "[config][canonical]") {
  const std::string full = canon(kFull);
  std::set<std::string> changed_keys;
  for (const KeyCase& k : key_cases()) {
    INFO(describe(k));
    if (k.change.empty()) {
      CHECK(k.no_change != nullptr);
      continue;
    }
    const JsonValue doc = edited(kFull, k.change);
    CHECK(canon_doc(doc) != full);
    changed_keys.insert(std::string(k.section) + "." + k.key);
    // kFull's value is not the default where another value is allowed.
    if (k.default_json && k.no_change == nullptr && std::string(k.key) != "maintenance_amount")
      CHECK(canon_doc(edited(kFull, {{k.at, *k.default_json}})) != full);
  }
  std::set<std::string> all_keys;
  for (const KeyCase& k : key_cases()) all_keys.insert(std::string(k.section) + "." + k.key);
  CHECK(changed_keys == all_keys);
}

namespace {

// Names every member of the configuration's structs: a member added to one
// of them stops this file compiling until it is named here and changed in
// the test below.
[[maybe_unused]] void members_are_known(const Config& c, const AssetConfig& a, const MarketConfig& m,
                                        const Tier& t, const LiquidationConfig& l) {
  [[maybe_unused]] const auto& [assets, markets, liquidation, document] = c;
  [[maybe_unused]] const auto& [a_name, collateral_weight] = a;
  [[maybe_unused]] const auto& [m_name, underlying, underlying_index, initial_margin_ratio,
                                maintenance_margin_ratio, tiers, liquidation_fee_ratio, has_depth, depth,
                                impact_permanent_share] = m;
  [[maybe_unused]] const auto& [max_notional, t_initial_margin_ratio, t_maintenance_margin_ratio,
                                maintenance_amount] = t;
  [[maybe_unused]] const auto& [insurance_fund, adl, mode, step_ratio, margin_call_threshold,
                                max_cascade_rounds, socialize] = l;
}

Ratio bump(Ratio r) { return Ratio::from_raw(r.raw() + 1); }
Usd bump(Usd u) { return Usd::from_raw(u.raw() + 1); }

}  // namespace

TEST_CASE("canonical text: every typed value is in it, and only typed values", "[config][canonical]") {
  const Config base = config_of(json_of(kFull));
  const std::string text = canonical_config(base);
  REQUIRE(base.markets[0].tiers.size() == 2);
  // One change of one typed value each, by one raw unit where it is a number.
  const std::vector<std::pair<const char*, std::function<void(Config&)>>> changes = {
      {"asset name", [](Config& c) { c.assets[1].name += "X"; }},
      {"collateral_weight",
       [](Config& c) { c.assets[1].collateral_weight = bump(c.assets[1].collateral_weight); }},
      {"market name", [](Config& c) { c.markets[0].name += "X"; }},
      {"underlying", [](Config& c) { c.markets[0].underlying = "ETH"; }},
      {"initial_margin_ratio",
       [](Config& c) { c.markets[0].initial_margin_ratio = bump(c.markets[0].initial_margin_ratio); }},
      {"maintenance_margin_ratio",
       [](Config& c) {
         c.markets[0].maintenance_margin_ratio = bump(c.markets[0].maintenance_margin_ratio);
       }},
      {"tiers", [](Config& c) { c.markets[0].tiers.pop_back(); }},
      {"liquidation_fee_ratio",
       [](Config& c) { c.markets[0].liquidation_fee_ratio = bump(c.markets[0].liquidation_fee_ratio); }},
      {"has_depth", [](Config& c) { c.markets[0].has_depth = false; }},
      {"depth", [](Config& c) { c.markets[0].depth = bump(c.markets[0].depth); }},
      {"impact_permanent_share",
       [](Config& c) { c.markets[0].impact_permanent_share = bump(c.markets[0].impact_permanent_share); }},
      {"tier max_notional",
       [](Config& c) { c.markets[0].tiers[1].max_notional = bump(c.markets[0].tiers[1].max_notional); }},
      {"tier initial_margin_ratio",
       [](Config& c) {
         c.markets[0].tiers[1].initial_margin_ratio = bump(c.markets[0].tiers[1].initial_margin_ratio);
       }},
      {"tier maintenance_margin_ratio",
       [](Config& c) {
         c.markets[0].tiers[1].maintenance_margin_ratio =
             bump(c.markets[0].tiers[1].maintenance_margin_ratio);
       }},
      {"tier maintenance_amount",
       [](Config& c) {
         c.markets[0].tiers[1].maintenance_amount = bump(c.markets[0].tiers[1].maintenance_amount);
       }},
      {"insurance_fund",
       [](Config& c) { c.liquidation.insurance_fund = bump(c.liquidation.insurance_fund); }},
      {"adl", [](Config& c) { c.liquidation.adl = !c.liquidation.adl; }},
      {"mode", [](Config& c) { c.liquidation.mode = LiquidationMode::full; }},
      {"step_ratio", [](Config& c) { c.liquidation.step_ratio = bump(c.liquidation.step_ratio); }},
      {"margin_call_threshold",
       [](Config& c) { c.liquidation.margin_call_threshold = bump(c.liquidation.margin_call_threshold); }},
      {"max_cascade_rounds", [](Config& c) { c.liquidation.max_cascade_rounds += 1; }},
      {"socialize", [](Config& c) { c.liquidation.socialize = SocializeRule::open_interest; }},
      {"asset order", [](Config& c) { std::swap(c.assets[1], c.assets[2]); }},
      {"market order", [](Config& c) { std::swap(c.markets[0], c.markets[1]); }},
  };
  std::set<std::string> texts{text};
  for (const auto& [what, change] : changes) {
    INFO(what);
    Config c = base;
    change(c);
    const std::string changed = canonical_config(c);
    CHECK(changed != text);
    CHECK(texts.insert(changed).second);  // and no two changes give one text
  }
  // Not read: the document (the hash must not see the spelling) and the
  // underlying's index (implied by its name).
  Config c = base;
  c.document = JsonValue{};
  c.markets[0].underlying_index = 2;
  CHECK(canonical_config(c) == text);
}

TEST_CASE("canonical text: market order matters", "[config][canonical]") {
  const std::string a = canon(R"({"assets":{"BTC":{},"ETH":{}},"markets":{
    "BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"},
    "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}}})");
  const std::string b = canon(R"({"assets":{"BTC":{},"ETH":{}},"markets":{
    "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"},
    "BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}}})");
  CHECK(a != b);
  // Two markets alike but for their names: still told apart by order.
  const std::string c = canon(R"({"assets":{"BTC":{}},"markets":{
    "A":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"},
    "B":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}}})");
  const std::string d = canon(R"({"assets":{"BTC":{}},"markets":{
    "B":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"},
    "A":{"underlying":"BTC","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}}})");
  CHECK(c != d);
  // Asset order is kept too (asset indices are positions in the config).
  CHECK(canon(R"({"assets":{"BTC":{},"ETH":{}},"markets":{}})") !=
        canon(R"({"assets":{"ETH":{},"BTC":{}},"markets":{}})"));
}

TEST_CASE("canonical text: a name cannot forge a field or a line", "[config][canonical]") {
  // parse_config allows any name of 1 to 256 bytes without '.': quotes, '=',
  // spaces, backslashes and line breaks included.
  const std::string forged = canon(R"({"assets":{"X\" collateral_weight=1\nasset \"Y":{}},"markets":{}})");
  const std::string honest = canon(R"({"assets":{"X":{},"Y":{}},"markets":{}})");
  CHECK(forged != honest);
  CHECK(forged ==
        "liqsim-config-v1\n"
        "asset \"USD\" collateral_weight=1\n"
        "asset \"X\\\" collateral_weight=1\\x0aasset \\\"Y\" collateral_weight=1\n"
        "liquidation insurance_fund=0 adl=true mode=full step_ratio=0.25 margin_call_threshold=0.8 "
        "max_cascade_rounds=1000\n");
  // A backslash is escaped too, so `a\` + `"` cannot pass for `a` + `\"`.
  CHECK(canon(R"({"assets":{"a\\":{}},"markets":{}})").find("asset \"a\\\\\" ") != std::string::npos);
  CHECK(canon(R"({"assets":{"a\\\"":{}},"markets":{}})") !=
        canon(R"({"assets":{"a\\":{},"\"":{}},"markets":{}})"));
  // A market's name and its underlying's are quoted the same way.
  const std::string market = canon(R"({"assets":{"B C":{}},"markets":{
    "M underlying=\"B C\"":{"underlying":"B C","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05"}}})");
  CHECK(market.find("market \"M underlying=\\\"B C\\\"\" underlying=\"B C\" ") != std::string::npos);
}

TEST_CASE("canonical text: a param gives the text of the source with that value written in",
          "[config][canonical]") {
  // kFull without ETH-PERP's depth, so a param can add one.
  const JsonValue base = edited(kFull, {{"markets.ETH-PERP.depth", std::nullopt}});
  const std::string before = canon_doc(base);
  struct Param {
    std::string path, value;
    bool accepted = true;
  };
  const std::vector<Param> params = {
      {"markets.ETH-PERP.depth", "\"3000000.00\""},
      {"markets.BTC-PERP.depth", "10000001"},
      {"markets.BTC-PERP.tiers",
       R"([{"max_notional":"5e4","initial_margin_ratio":"0.0080","maintenance_margin_ratio":0.004}])"},
      {"markets.BTC-PERP.impact_permanent_share", "\"0.25\""},
      {"markets.BTC-PERP.liquidation_fee_ratio", "\"0.0070\""},
      {"markets.ETH-PERP.initial_margin_ratio", "0.2"},
      {"markets.ETH-PERP.maintenance_margin_ratio", "\"0.01\""},
      {"markets.ETH-PERP.underlying", "\"BTC\"", false},  // a market's underlying cannot change
      {"assets.BTC.collateral_weight", "\"0.5\""},
      {"assets.USD.collateral_weight", "\"1.0\""},  // USD's weight: no change of meaning
      {"liquidation.insurance_fund", "\"1000000.5\""},
      {"liquidation.adl", "true"},
      {"liquidation.mode", "\"full\""},
      {"liquidation.step_ratio", "\"0.5\""},
      {"liquidation.margin_call_threshold", "0.75"},
      {"liquidation.max_cascade_rounds", "7"},
      {"liquidation.step_ratio", "\"0.0001\"", false},  // below the minimum step
  };
  for (const Param& p : params) {
    INFO(p.path << " = " << p.value);
    Config c = config_of(base);
    auto scope = apply_param_in_place(c, p.path, p.value);
    const std::string after = canonical_config(c);
    REQUIRE(scope.ok() == p.accepted);
    if (!scope.ok()) {
      CHECK(after == before);  // a refused param changes nothing
      continue;
    }
    JsonValue source = base;
    apply_edit(source, {p.path, p.value});
    CHECK(after == canon_doc(source));
    if (p.path == "assets.USD.collateral_weight")
      CHECK(after == before);
    else
      CHECK(after != before);
    // apply_param (on a copy) agrees.
    auto copy = apply_param(config_of(base), p.path, p.value);
    REQUIRE(copy.ok());
    CHECK(canonical_config(*copy) == after);
  }

  // A param that creates the liquidation block the file left out.
  const JsonValue no_block = edited(kFull, {{"liquidation", std::nullopt}});
  Config c = config_of(no_block);
  REQUIRE(apply_param_in_place(c, "liquidation.step_ratio", "\"0.50\"").ok());
  CHECK(canonical_config(c) == canon_doc(edited(kFull, {{"liquidation", R"({"step_ratio":0.5})"}})));
  CHECK(canonical_config(c) != canon_doc(no_block));
}
