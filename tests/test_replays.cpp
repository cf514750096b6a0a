// Golden crisis replays: each packaged scenario under replays/ replays, through
// the library (the same steps as `liqsim replay DIR --json`), to the summary
// recorded in its expected.json, field by field. A change to expected.json is
// explained in its commit (docs: replays/<name>/README.md, "Results").
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/events.hpp"
#include "liqsim/log.hpp"
#include "liqsim/metrics.hpp"

using namespace liqsim;

namespace {

const std::string kReplays = std::string(LIQSIM_SOURCE_ROOT) + "/replays/";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// The --json summary of CONTRACT §5 plus the engine and metrics extensions,
// in the order `liqsim replay --json` prints them, as a JSON object.
nlohmann::json replay_summary(const std::string& dir) {
  auto config = load_config(dir + "/config.json");
  REQUIRE(config.ok());
  Symbols symbols;
  auto events = read_event_log(dir + "/events.jsonl", symbols);
  REQUIRE(events.ok());
  REQUIRE(validate_events(*config, symbols, *events).ok());

  Engine engine(*config, symbols);
  MetricsCollector metrics(engine.config(), symbols);
  std::vector<DerivedEvent> derived;
  for (std::size_t i = 0; i < events->size(); ++i) {
    derived.clear();
    engine.apply((*events)[i], static_cast<std::int64_t>(i), derived);
    metrics.observe((*events)[i], static_cast<std::int64_t>(i), derived, engine);
  }
  REQUIRE(engine.check_ledger().ok());

  const Summary s = engine.summary();
  nlohmann::json j;
  j["events"] = s.events;
  j["rejected"] = s.rejected;
  j["margin_calls"] = s.margin_calls;
  j["liquidations"] = s.liquidations;
  j["liquidated_notional"] = s.liquidated_notional.str();
  j["liquidation_fees"] = s.liquidation_fees.str();
  j["bad_debt"] = s.bad_debt.str();
  j["insurance_fund"] = s.insurance_fund.str();
  j["adl_events"] = s.adl_events;
  j["socialized_loss"] = s.socialized_loss.str();
  j["state_hash"] = s.state_hash;
  j["accounts"] = s.accounts;
  j["bankruptcies"] = s.bankruptcies;
  j["insurance_paid"] = s.insurance_paid.str();
  j["adl_amount"] = s.adl_amount.str();
  j["cascade_rounds_max"] = s.cascade_rounds_max;
  j["impact_liquidations"] = s.impact_liquidations;
  for (const auto& [key, value_json] : metrics.summary_fields(engine)) j[key] = nlohmann::json::parse(value_json);
  return j;
}

void check_golden(const std::string& name) {
  const std::string dir = kReplays + name;
  const nlohmann::json expected = read_json(dir + "/expected.json");
  const nlohmann::json actual = replay_summary(dir);
  // Every recorded field is reproduced exactly ...
  for (const auto& [key, value] : expected.items()) {
    INFO(name << ": field " << key);
    REQUIRE(actual.contains(key));
    CHECK(actual.at(key).dump() == value.dump());
  }
  // ... and the replay reports no field the golden file lacks.
  for (const auto& [key, value] : actual.items()) {
    INFO(name << ": field " << key << " is not in expected.json");
    CHECK(expected.contains(key));
  }
}

}  // namespace

TEST_CASE("golden: eth-2020-03-12 replays to its recorded summary", "[replays]") { check_golden("eth-2020-03-12"); }

TEST_CASE("golden: eth-2021-05-19 replays to its recorded summary", "[replays]") { check_golden("eth-2021-05-19"); }

TEST_CASE("golden: usdc-depeg-2023-03 replays to its recorded summary", "[replays]") {
  check_golden("usdc-depeg-2023-03");
}

TEST_CASE("golden: the crisis replays liquidate, and the depeg scenario holds USDC", "[replays]") {
  // Guards against a rebuilt events.jsonl that silently stops exercising the
  // engine (e.g. every opening trade rejected, or no USDC collateral).
  for (const char* name : {"eth-2020-03-12", "eth-2021-05-19", "usdc-depeg-2023-03"}) {
    const nlohmann::json e = read_json(kReplays + name + "/expected.json");
    INFO(name);
    CHECK(e.at("liquidations").get<std::int64_t>() > 1000);
    CHECK(e.at("rejected").get<std::int64_t>() * 20 < e.at("accounts").get<std::int64_t>());  // < 5 % rejected
  }
  const nlohmann::json usdc = read_json(kReplays + "usdc-depeg-2023-03/expected.json");
  CHECK(usdc.at("collateral_by_asset").at("USDC").get<std::string>() != "0");
}
