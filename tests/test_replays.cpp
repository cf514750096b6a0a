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
#include "liqsim/replay.hpp"

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

// The --json summary exactly as `liqsim replay --json` prints it (the replay
// module builds those bytes: replay.hpp), through the whole pipeline.
std::string replay_summary_bytes(const std::string& dir) {
  auto config = load_config(dir + "/config.json");
  REQUIRE(config.ok());
  Symbols symbols;
  auto events = read_event_log(dir + "/events.jsonl", symbols);
  REQUIRE(events.ok());
  REQUIRE(validate_events(*config, symbols, *events).ok());
  ReplayOptions options;
  options.engine.check_ledger = false;
  auto result = replay_events(*config, symbols, *events, {}, options);
  if (!result) FAIL(result.error().describe());
  return result->json();
}

void check_golden(const std::string& name) {
  const std::string dir = kReplays + name;
  const nlohmann::json expected = read_json(dir + "/expected.json");
  const std::string bytes = replay_summary_bytes(dir);
  const nlohmann::json actual = nlohmann::json::parse(bytes);
  // Every recorded field is reproduced exactly ...
  for (const auto& [key, value] : expected.items()) {
    INFO(name << ": field " << key);
    REQUIRE(actual.contains(key));
    CHECK(actual.at(key).dump() == value.dump());
  }
  // ... and the replay reports no field the golden file lacks ...
  for (const auto& [key, value] : actual.items()) {
    INFO(name << ": field " << key << " is not in expected.json");
    CHECK(expected.contains(key));
  }
  // ... in the order and bytes the user sees (expected.json is that line, indented).
  std::ifstream in(dir + "/expected.json", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(nlohmann::ordered_json::parse(text.str()).dump() == bytes);
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
