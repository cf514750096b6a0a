// Sweeps (sweep.hpp): the grid, the points, the governance change of --at.
// The points against `liqsim replay` end to end are tests/cli_sweep.sh.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "liqsim/sweep.hpp"

using namespace liqsim;

namespace {

std::vector<std::string> flat(const std::vector<SweepPoint>& points) {
  std::vector<std::string> out;
  for (const SweepPoint& p : points) {
    std::string s = std::to_string(p.index) + ":";
    for (const std::string& o : p.overrides()) s += " " + o;
    out.push_back(s);
  }
  return out;
}

GridAxis axis(const std::string& text) {
  auto a = parse_grid_option(text);
  REQUIRE(a.ok());
  return *a;
}

}  // namespace

TEST_CASE("a grid option splits at commas outside lists, objects and strings", "[sweep]") {
  const GridAxis a = axis("markets.M.tiers=[1,2],[3,4]");
  CHECK(a.path == "markets.M.tiers");
  CHECK(a.values == std::vector<std::string>{"[1,2]", "[3,4]"});
  CHECK(axis("liquidation.mode=full,partial").values == std::vector<std::string>{"\"full\"", "\"partial\""});
  CHECK(axis("p=\"a,b\",0.010").values == std::vector<std::string>{"\"a,b\"", "0.010"});
  for (const char* bad : {"noequals", "=1,2", "p=", "p=1,,2", "p=1,", "p=[1,2"}) {
    auto r = parse_grid_option(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().kind == ErrorKind::usage);
  }
}

TEST_CASE("points are the product of the axes, the last changing fastest, or the axes in step", "[sweep]") {
  const std::vector<GridAxis> axes = {axis("a=1,2"), axis("b=x,y,z")};
  auto product = plan_points(axes, false);
  REQUIRE(product.ok());
  CHECK(flat(*product) == std::vector<std::string>{"0: a=1 b=\"x\"", "1: a=1 b=\"y\"", "2: a=1 b=\"z\"",
                                                   "3: a=2 b=\"x\"", "4: a=2 b=\"y\"", "5: a=2 b=\"z\""});
  auto zipped = plan_points({axis("a=1,2,3"), axis("b=x,y,z")}, true);
  REQUIRE(zipped.ok());
  CHECK(flat(*zipped) == std::vector<std::string>{"0: a=1 b=\"x\"", "1: a=2 b=\"y\"", "2: a=3 b=\"z\""});
  CHECK_FALSE(plan_points(axes, true).ok());                         // lengths differ
  CHECK_FALSE(plan_points({}, false).ok());                          // nothing to sweep
  CHECK_FALSE(plan_points({axis("a=1"), axis("a=2")}, false).ok());  // a path twice
  std::vector<GridAxis> huge;
  for (int i = 0; i < 7; ++i) huge.push_back(axis("p" + std::to_string(i) + "=1,2,3,4,5,6,7,8,9,10"));
  auto too_many = plan_points(huge, false);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().message.find("more than 1000000 points") != std::string::npos);
}

TEST_CASE("a shard is I/N with 0 <= I < N", "[sweep]") {
  auto s = Shard::parse("2/5");
  REQUIRE(s.ok());
  CHECK(s->index == 2);
  CHECK(s->count == 5);
  for (const char* bad : {"5/5", "1", "-1/3", "1/0", "a/b", "1/3/4", ""}) CHECK_FALSE(Shard::parse(bad).ok());
}

TEST_CASE("overrides as a governance change are the params of their sections", "[sweep]") {
  auto doc = parse_json(R"({"assets":{"BTC":{}},"markets":{"BTC-PERP":{"underlying":"BTC","tiers":[
    {"max_notional":"50000","initial_margin_ratio":"0.008","maintenance_margin_ratio":"0.004"},
    {"max_notional":"250000","initial_margin_ratio":"0.01","maintenance_margin_ratio":"0.005"}]}},
    "liquidation":{"insurance_fund":"1000"}})");
  REQUIRE(doc.ok());
  auto config = parse_config(*doc, "c.json");
  REQUIRE(config.ok());
  auto params = overrides_as_params(
      *config, {"markets.BTC-PERP.tiers[0].maintenance_margin_ratio=0.003", "liquidation.insurance_fund=5"},
      "c.json");
  REQUIRE(params.ok());
  REQUIRE(params->size() == 2);
  CHECK((*params)[0].path == "markets.BTC-PERP.tiers");
  // The whole tier list; its second amount, left out, is computed when the
  // param is applied: 50000 × (0.005 − 0.003) = 100.
  CHECK((*params)[0].value_json.find("\"maintenance_margin_ratio\":0.003") != std::string::npos);
  Config applied = *config;
  REQUIRE(apply_param_in_place(applied, (*params)[0].path, (*params)[0].value_json).ok());
  CHECK(applied.markets[0].tiers[1].maintenance_amount.str() == "100");
  CHECK((*params)[1].path == "liquidation.insurance_fund");
  CHECK((*params)[1].value_json == "5");
  auto bad = overrides_as_params(*config, {"liquidation.insurance_fund=-5"}, "c.json");
  CHECK_FALSE(bad.ok());
}
