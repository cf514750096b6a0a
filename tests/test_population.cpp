#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "liqsim/jsonl.hpp"
#include "liqsim/population.hpp"
#include "liqsim/splitmix64.hpp"

using namespace liqsim;
using namespace liqsim::population;

namespace {

PopulationParams eth_params(std::uint64_t seed, std::int64_t accounts = 1000) {
  PopulationParams p;
  p.accounts = accounts;
  p.seed = seed;
  p.market = "ETH-PERP";
  p.asset = "ETH";
  p.price_raw = 19521LL * 1'000'000;  // 195.21
  p.ts_ms = 1583971200000;
  p.collateral = {{"USD", 70'000'000, 100'000'000},
                  {"ETH", 20'000'000, 19521LL * 1'000'000},
                  {"USDC", 10'000'000, 100'000'000}};
  return p;
}

std::string render(const PopulationParams& p, PopulationStats* stats_out = nullptr,
                   std::vector<AccountDraw>* draws = nullptr) {
  Symbols s;
  PopulationStats stats;
  auto ev = generate_population(p, s, stats, draws);
  REQUIRE(ev.ok());
  std::string out;
  for (const auto& e : *ev) {
    out += encode_event(e, s);
    out += '\n';
  }
  if (stats_out) *stats_out = stats;
  return out;
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

TEST_CASE("SplitMix64 reproduces its published reference outputs", "[population]") {
  // Rosetta Code "Pseudo-random numbers/Splitmix64", seed 1234567.
  SplitMix64 a(1234567);
  CHECK(a.next() == 6457827717110365317ull);
  CHECK(a.next() == 3203168211198807973ull);
  CHECK(a.next() == 9817491932198370423ull);
  CHECK(a.next() == 4593380528125082431ull);
  CHECK(a.next() == 16408922859458223821ull);
  // Seed 0 (Vigna's splitmix64.c, also the seeding sequence of xoshiro).
  SplitMix64 z(0);
  CHECK(z.next() == 0xe220a8397b1dcdafull);
  CHECK(z.next() == 0x6e789e6aa1b965f4ull);
  CHECK(z.next() == 0x06c45d188009454full);
  CHECK(z.next() == 0xf88bb8a8724c81ecull);
  CHECK(z.next() == 0x1b39896a51a8749bull);
  SplitMix64 top(1234567);
  CHECK(top.next_u32() == static_cast<std::uint32_t>(6457827717110365317ull >> 32));
}

TEST_CASE("FNV-1a 64 matches its reference values", "[population]") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("a quantile table interpolates between its knots and knows its exact mean", "[population]") {
  QuantileTable t({{0, 0}, {500'000, 100'00000000}, {1'000'000, 300'00000000}});
  CHECK(t.sample(0) == 0);
  CHECK(t.sample(0x40000000u) == 50'00000000);   // p = 0.25
  CHECK(t.sample(0x80000000u) == 100'00000000);  // p = 0.5, a knot
  CHECK(t.sample(0xC0000000u) == 200'00000000);  // p = 0.75
  CHECK(t.sample(0xFFFFFFFFu) < 300'00000000);
  CHECK(t.mean_raw() == 125'00000000);  // 0.5·50 + 0.5·200
  CHECK(leverage_shape().mean_raw() == 10'53750000);
  CHECK(leverage_shape().sample(0x80000000u) == 5'00000000);
  CHECK(equity_shape().sample(0x80000000u) == 2000'00000000);
}

TEST_CASE("Bernoulli and weighted picks are exact at their edges", "[population]") {
  CHECK_FALSE(bernoulli(0, 0));
  CHECK(bernoulli(0xFFFFFFFFu, 100'000'000));
  CHECK(bernoulli(0x7FFFFFFFu, 50'000'000));
  CHECK_FALSE(bernoulli(0x80000000u, 50'000'000));
  std::vector<std::int64_t> w = {70, 20, 10};
  CHECK(weighted_pick(0, w) == 0);
  CHECK(weighted_pick(0xB3333332u, w) == 0);  // just below 0.7
  CHECK(weighted_pick(0xB3333334u, w) == 1);
  CHECK(weighted_pick(0xFFFFFFFFu, w) == 2);
}

TEST_CASE("the same seed and parameters give identical bytes", "[population]") {
  std::string a = render(eth_params(42));
  std::string b = render(eth_params(42));
  CHECK(a == b);
  CHECK(fnv1a64(a) == fnv1a64(b));
}

TEST_CASE("a different seed gives a different population", "[population]") {
  CHECK(render(eth_params(42)) != render(eth_params(43)));
}

TEST_CASE("the population of a pinned seed has a pinned hash on every machine", "[population]") {
  std::string out = render(eth_params(20200312));
  // Changing this hash changes every generated population: bump kFormatVersion
  // and explain it in the commit.
  CHECK(hex(fnv1a64(out)) == "41d0f68a94ab7a25");
  CHECK(out.substr(0, out.find('\n')) ==
        R"({"type":"deposit","ts":1583971200000,"account":"acct-000001","asset":"USD","amount":"17045.7"})");
}

TEST_CASE("leverage over 10k accounts has the requested mean and stays in [1, max]", "[population]") {
  PopulationParams p = eth_params(7, 10000);
  p.max_leverage_raw = 1000'00000000;  // no clipping: the mean is the parameter
  std::vector<AccountDraw> draws;
  PopulationStats stats;
  render(p, &stats, &draws);
  REQUIRE(draws.size() == 10000);
  const double mean = static_cast<double>(stats.leverage_sum_raw) / 10000 / 1e8;
  CHECK(mean > 9.5);
  CHECK(mean < 10.5);
  // With the default cap of 20× everything stays in [1, 20] and the mean drops.
  PopulationParams capped = eth_params(7, 10000);
  std::vector<AccountDraw> capped_draws;
  PopulationStats capped_stats;
  render(capped, &capped_stats, &capped_draws);
  std::int64_t at_cap = 0;
  for (const auto& d : capped_draws) {
    REQUIRE(d.leverage_raw >= 1'00000000);
    REQUIRE(d.leverage_raw <= 20'00000000);
    at_cap += d.leverage_raw == 20'00000000;
  }
  const double capped_mean = static_cast<double>(capped_stats.leverage_sum_raw) / 10000 / 1e8;
  CHECK(capped_mean > 6.5);
  CHECK(capped_mean < 8.0);
  CHECK(at_cap > 800);  // ≈ 10 % of accounts sit at the cap
  CHECK(at_cap < 1300);
}

TEST_CASE("long and isolated shares are honoured over 10k accounts", "[population]") {
  PopulationParams p = eth_params(99, 10000);
  p.long_share_raw = 60'000'000;
  PopulationStats stats;
  render(p, &stats);
  CHECK(stats.longs > 5800);
  CHECK(stats.longs < 6200);
  CHECK(stats.isolated > 2800);
  CHECK(stats.isolated < 3200);
  p.long_share_raw = 0;
  p.isolated_share_raw = kScale;
  render(p, &stats);
}

TEST_CASE("every account deposits, then opens at most its leverage, isolated ones in USD", "[population]") {
  PopulationParams p = eth_params(5, 2000);
  p.with_price = true;
  Symbols s;
  PopulationStats stats;
  std::vector<AccountDraw> draws;
  auto ev = generate_population(p, s, stats, &draws);
  REQUIRE(ev.ok());
  REQUIRE(std::holds_alternative<PriceEvent>((*ev)[0].body));
  std::map<std::string, Usd> equity;  // value of deposits at the generator's prices
  std::map<std::string, bool> usd_only;
  std::int64_t trades = 0, eth_collateral = 0;
  for (std::size_t i = 1; i < ev->size(); ++i) {
    const InputEvent& e = (*ev)[i];
    CHECK(e.ts_ms == p.ts_ms);
    if (auto* d = std::get_if<DepositEvent>(&e.body)) {
      const std::string& asset = s.name(d->asset);
      Price px = asset == "ETH" ? Price::from_raw(p.price_raw) : Price::one();
      equity[s.name(d->account)] += mul<Usd>(d->amount, px, Round::down);
      eth_collateral += asset == "ETH";
      auto [it, fresh] = usd_only.emplace(s.name(d->account), asset == "USD");
      if (!fresh) it->second = it->second && asset == "USD";
    } else {
      const auto& t = std::get<TradeEvent>(e.body);
      ++trades;
      const std::string& acct = s.name(t.account);
      REQUIRE(equity.count(acct) == 1);  // deposits come first
      const Usd notional = mul<Usd>(t.qty, t.price, Round::up);
      CHECK(notional <= mul<Usd>(equity[acct], Ratio::from_units(20), Round::down) + Usd::from_raw(1));
      if (t.margin == MarginMode::isolated) {
        CHECK(usd_only[acct]);
        CHECK(t.isolated_margin == equity[acct]);
      }
    }
  }
  CHECK(trades == 2000 - stats.zero_positions);
  CHECK(eth_collateral > 100);  // pick mode: ≈ 20 % of the 70 % cross accounts
  CHECK(s.find("acct-000001") != kNoSym);
  CHECK(s.find("acct-002000") != kNoSym);
}

TEST_CASE("invalid parameters name the option", "[population]") {
  PopulationParams p = eth_params(1);
  p.long_share_raw = 2 * kScale;
  Status st = validate(p);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().field == "--long-share");
  p = eth_params(1);
  p.collateral.push_back({"WBTC", kScale, 0});
  st = validate(p);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().field == "--collateral");
}

TEST_CASE("gen population --out writes the events and a meta file next to them", "[population]") {
  const std::string exe = std::string(LIQSIM_BUILD_ROOT) + "/liqsim";
  if (access(exe.c_str(), X_OK) != 0) {
    WARN("liqsim executable not built; skipped");
    return;
  }
  char tmpl[] = "/tmp/liqsim-pop-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  const std::string args =
      " gen population --accounts 50 --seed 9 --market ETH-PERP --asset ETH --price 195.21 --ts "
      "2020-03-12T00:00:00Z"
      " --collateral USD:0.7,ETH:0.2,USDC:0.1 --with-price";
  REQUIRE(std::system((exe + args + " --out " + dir + "/a.jsonl").c_str()) == 0);
  REQUIRE(std::system((exe + args + " --out " + dir + "/b.jsonl").c_str()) == 0);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string a = slurp(dir + "/a.jsonl");
  CHECK(!a.empty());
  CHECK(a == slurp(dir + "/b.jsonl"));
  const std::string meta = slurp(dir + "/a.jsonl.meta.json");
  CHECK(meta.find("\"seed\": \"9\"") != std::string::npos);
  CHECK(meta.find("\"events_fnv1a64\": \"" + hex(fnv1a64(a)) + "\"") != std::string::npos);
  CHECK(a.rfind(R"({"type":"price","ts":1583971200000,"asset":"ETH","price":"195.21"})", 0) == 0);
  // A bad option value is a usage error (exit 2) naming the option.
  CHECK(std::system((exe + args + " --long-share 1.5 --out " + dir + "/c.jsonl 2>/dev/null").c_str()) != 0);
}

TEST_CASE(
    "names, a timestamp and an account prefix that would make invalid events are refused, naming the option",
    "[population]") {
  auto refused = [](const PopulationParams& p, const std::string& option, const std::string& text) {
    Status st = validate(p);
    REQUIRE_FALSE(st.ok());
    INFO(st.error().describe());
    CHECK(st.error().kind == ErrorKind::usage);
    CHECK(st.error().field == option);
    CHECK(st.error().message.find(text) != std::string::npos);
    Symbols s;
    PopulationStats stats;
    CHECK_FALSE(generate_population(p, s, stats).ok());
  };
  PopulationParams p = eth_params(1, 10);
  p.ts_ms = limits::kMaxTimestampMs + 1;
  refused(p, "--ts", "range");
  p = eth_params(1, 10);
  p.account_prefix = std::string(limits::kMaxNameBytes - 5, 'p');  // + 6 digits = 257 bytes
  refused(p, "--account-prefix", "256 bytes");
  p.account_prefix = "acct-\xc3";  // a lead byte followed by digits, not by a continuation
  refused(p, "--account-prefix", "UTF-8");
  p = eth_params(1, 10);
  p.market = std::string(limits::kMaxNameBytes + 1, 'M');
  refused(p, "--market", "256 bytes");
  p.market = "";
  refused(p, "--market", "empty");
  p.market = "ETH\xff-PERP";
  refused(p, "--market", "UTF-8");
  p = eth_params(1, 10);
  p.asset = "\xe2\x82";
  refused(p, "--asset", "UTF-8");
  p.asset = "USD";
  refused(p, "--asset", "USD");
  p = eth_params(1, 10);
  p.collateral.push_back({std::string(limits::kMaxNameBytes + 1, 'C'), kScale, kScale});
  refused(p, "--collateral", "256 bytes");

  // At the limits everything is accepted, and every event is one the decoders accept.
  p = eth_params(1, 10);
  p.ts_ms = limits::kMaxTimestampMs;
  p.account_prefix = std::string(limits::kMaxNameBytes - 6, 'p');  // + 6 digits = 256 bytes
  p.market = std::string(limits::kMaxNameBytes, 'M');
  p.with_price = true;
  Symbols s;
  PopulationStats stats;
  auto events = generate_population(p, s, stats);
  REQUIRE(events.ok());
  for (const auto& e : *events) {
    const std::string line = encode_event(e, s);
    Symbols fresh;
    auto back = decode_event_line(line, fresh);
    INFO(line.substr(0, 120));
    CHECK(back.ok());
  }
}
