// The liquidation path's own structures against simple references (issue 12
// item 6): the band index's buckets (src/engine/band_index.hpp, BandSide)
// against a plain list of bounds over random pushes, stale entries and price
// moves, jumps included; and the maintenance form of a unit's risk
// (src/engine/risk.hpp) against the full computation, overflow included.
// The engine as a whole is proven unchanged by the goldens and the
// differential tests.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "../src/engine/band_index.hpp"
#include "../src/engine/risk.hpp"
#include "engine_harness.hpp"
#include "liqsim/splitmix64.hpp"

using namespace liqsim;
using namespace liqsim::engine;

namespace {

using Entry = BandSide::Entry;

struct Reference {
  bool lower;
  std::vector<Entry> entries;  // every bound pushed and not yet crossed, stale ones too
  bool crossed(const Entry& e, std::int64_t value) const {
    return lower ? e.bound >= value : e.bound <= value;
  }
};

using Taken = std::vector<std::tuple<std::uint32_t, std::uint32_t, std::int64_t>>;

// Checks one side over `steps` random operations; returns how many live
// entries the crossings took out (so a test can see it was not vacuous).
std::size_t check_side(bool lower, std::uint64_t seed, int steps, std::uint32_t accounts) {
  SplitMix64 rng(seed);
  BandSide side(lower);
  Reference ref{lower, {}};
  std::vector<std::uint32_t> version(accounts, 0);
  const auto live = [&](const Entry& e) { return e.version == version[e.account]; };
  const std::size_t most = 2 * accounts + 16;  // small: stale entries are dropped often
  std::int64_t value = 3'000'000'000'000;      // 30 000.00000000
  std::size_t total = 0;

  const auto cross = [&](std::int64_t v) {
    Taken got, want;
    side.take_crossed(v, live, [&](const Entry& e) {
      if (live(e)) got.emplace_back(e.account, e.version, e.bound);
    });
    std::vector<Entry> kept;
    for (const Entry& e : ref.entries) {
      if (!ref.crossed(e, v))
        kept.push_back(e);
      else if (live(e))
        want.emplace_back(e.account, e.version, e.bound);
    }
    ref.entries.swap(kept);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    INFO("seed " << seed << (lower ? " lower" : " upper") << ", value " << v);
    REQUIRE(got == want);
    total += got.size();
  };

  for (int step = 0; step < steps; ++step) {
    const std::uint64_t kind = rng.below(100);
    if (kind < 60) {
      // A new band for an account: near the value mostly, sometimes far off or at it.
      const std::uint32_t acct = static_cast<std::uint32_t>(rng.below(accounts));
      const std::uint32_t ver = ++version[acct];
      std::int64_t width = 0;
      const std::uint64_t w = rng.below(10);
      if (w < 6)
        width = rng.between(0, value / 20);
      else if (w < 8)
        width = rng.between(0, value / 1000);
      else if (w == 8)
        width = rng.between(value, 50 * value);  // far: the heap beyond the buckets (upper side)
      const std::int64_t bound = lower ? value - std::min(width, value - 1) : value + width;
      side.push(Entry{bound, acct, ver}, value, most, live);
      ref.entries.push_back(Entry{bound, acct, ver});
    } else if (kind < 97) {
      // A tick: a small move either way.
      value += rng.between(-value / 200, value / 200);
      value = std::max<std::int64_t>(value, 1);
      cross(value);
    } else {
      // A jump: the value leaves the buckets' range, up or down.
      value = rng.below(2) ? value * static_cast<std::int64_t>(rng.between(3, 8))
                           : std::max<std::int64_t>(value / rng.between(3, 40), 1);
      cross(value);
    }
  }
  // Everything left, crossed at the extreme: nothing live was lost.
  cross(lower ? 1 : INT64_MAX - 1);
  REQUIRE(side.size() == 0);
  return total;
}

std::string outcome(const auto& f) {
  try {
    Risk r = f();
    return r.equity.str() + " " + r.mm.str();
  } catch (const OverflowError& e) {
    return std::string("overflow: ") + e.what();
  }
}

const char* kTwoMarkets = R"({
  "assets": { "USD": {}, "BTC": { "collateral_weight": "0.95" }, "ETH": { "collateral_weight": "0.8" } },
  "markets": {
    "BTC-PERP": { "underlying": "BTC",
      "tiers": [
        { "max_notional": "50000",  "initial_margin_ratio": "0.02", "maintenance_margin_ratio": "0.01", "maintenance_amount": "0" },
        { "max_notional": "500000", "initial_margin_ratio": "0.05", "maintenance_margin_ratio": "0.025", "maintenance_amount": "750" },
        { "max_notional": "90000000000", "initial_margin_ratio": "1", "maintenance_margin_ratio": "0.5", "maintenance_amount": "238250" }
      ] },
    "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "1", "maintenance_margin_ratio": "0.05" }
  },
  "liquidation": { "insurance_fund": "0" }
})";

}  // namespace

TEST_CASE("band buckets give up exactly the bounds a plain list says a value crosses", "[liquidation_path]") {
  std::size_t taken = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    taken += check_side(true, seed, 4000, 1 + static_cast<std::uint32_t>(seed * 37 % 300));
    taken += check_side(false, seed + 100, 4000, 1 + static_cast<std::uint32_t>(seed * 53 % 300));
  }
  CHECK(taken > 10'000);
}

TEST_CASE("band buckets grow finer as entries accumulate and coarser when stale ones go",
          "[liquidation_path]") {
  BandSide side(true);
  std::vector<std::uint32_t> version(200'000, 1);
  const auto live = [&](const Entry& e) { return e.version == version[e.account]; };
  const std::int64_t value = 150'000'000'000;  // 1500
  SplitMix64 rng(7);
  for (std::uint32_t a = 0; a < 200'000; ++a)
    side.push(Entry{value - rng.between(0, value / 10), a, 1}, value, 2 * 200'000 + 1024, live);
  CHECK(side.size() == 200'000);
  CHECK(side.bucket_count() >= 200'000 / 32);
  // Every entry stale but one: the next rebuild keeps just that one, in few buckets.
  for (std::uint32_t a = 1; a < 200'000; ++a) ++version[a];
  side.rebuild(value, live);
  CHECK(side.size() == 1);
  CHECK(side.bucket_count() == BandSide::kMinBuckets);
  std::vector<std::uint32_t> got;
  side.take_crossed(1, live, [&](const Entry& e) { got.push_back(e.account); });
  CHECK(got == std::vector<std::uint32_t>{0});
}

TEST_CASE("the maintenance form of a unit's risk is the full one without its initial requirement",
          "[liquidation_path]") {
  const Config config = test::config_from(kTwoMarkets);
  std::vector<MarketState> markets(config.markets.size());
  std::vector<AssetState> assets(config.assets.size());
  const Valuation v{config, markets, assets};
  SplitMix64 rng(12);
  int overflows = 0, compared = 0;
  for (int trial = 0; trial < 20'000; ++trial) {
    // Marks and prices, occasionally huge; a collateral asset sometimes unpriced.
    const bool huge = rng.below(20) == 0;
    for (std::size_t a = 1; a < assets.size(); ++a) {
      assets[a].has_price = rng.below(10) != 0;
      assets[a].price = Price::from_raw(rng.between(1, huge ? INT64_MAX / 2 : 10'000'000'000'000));
    }
    for (std::size_t m = 0; m < markets.size(); ++m)
      markets[m].mark = assets[config.markets[m].underlying_index].price;
    Account acct;
    for (std::uint32_t a = 0; a < assets.size(); ++a)
      if (rng.below(2)) {
        BalanceSlot b;
        b.asset = a;
        b.amount = Amount::from_raw(rng.between(-1'000'000'000'000, 10'000'000'000'000));
        acct.balances.push_back(b);
      }
    for (std::uint32_t m = 0; m < markets.size(); ++m)
      if (rng.below(3)) {
        PositionSlot p;
        p.market = m;
        p.mode = rng.below(3) == 0 ? MarginMode::isolated : MarginMode::cross;
        p.qty = Qty::from_raw(rng.between(-(huge ? INT64_MAX / 4 : 100'000'000'000), 100'000'000'000));
        p.entry = Price::from_raw(rng.between(1, 10'000'000'000'000));
        p.wallet =
            p.mode == MarginMode::isolated ? Usd::from_raw(rng.between(0, 1'000'000'000'000)) : Usd::zero();
        acct.positions.push_back(p);
      }
    const std::string full = outcome([&] { return v.cross_risk(acct); });
    const std::string maintenance = outcome([&] {
      Risk r = v.cross_risk_mm(acct);
      REQUIRE(r.im.is_zero());
      return r;
    });
    INFO("trial " << trial);
    REQUIRE(maintenance == full);
    for (const PositionSlot& p : acct.positions) {
      if (p.mode != MarginMode::isolated) continue;
      REQUIRE(outcome([&] { return v.iso_risk_mm(p); }) == outcome([&] { return v.iso_risk(p); }));
    }
    ++compared;
    if (full.starts_with("overflow")) ++overflows;
  }
  CHECK(compared == 20'000);
  CHECK(overflows > 10);  // the out-of-range paths were reached, not only the ordinary ones
}

TEST_CASE("the maintenance form throws where the initial requirements' sum leaves the range",
          "[liquidation_path]") {
  // Two cross positions whose notionals (and, at an initial ratio of 1, their
  // initial requirements) sum past the range while each term and the
  // maintenance sum stay within it: the full computation throws on the sum of
  // the initial requirements, and so must the maintenance form.
  const Config config = test::config_from(kTwoMarkets);
  std::vector<MarketState> markets(config.markets.size());
  std::vector<AssetState> assets(config.assets.size());
  markets[0].mark = Price::from_raw(100'000'000);  // 1
  markets[1].mark = Price::from_raw(100'000'000);
  const Valuation v{config, markets, assets};
  Account acct;
  for (std::uint32_t m = 0; m < 2; ++m) {
    PositionSlot p;
    p.market = m;
    p.qty = Qty::from_raw(INT64_MAX / 2 + 1000);  // notional ≈ 4.6e10 each, the tier of ratio 1
    p.entry = Price::from_raw(100'000'000);
    acct.positions.push_back(p);
  }
  const std::string full = outcome([&] { return v.cross_risk(acct); });
  CHECK(full.starts_with("overflow"));
  CHECK(outcome([&] { return v.cross_risk_mm(acct); }) == full);
}
