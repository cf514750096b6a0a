// The index must be exact: random workloads replayed with the band index and
// with the reference full scan give identical journals and state hashes, and
// the double-entry ledger sums to zero after every event.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine_harness.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/workload.hpp"

using namespace liqsim;

namespace {

struct Outcome {
  std::vector<std::string> journal;
  std::string hash;
  Summary summary;
};

Outcome replay(const Workload& w, Symbols& symbols, bool reference) {
  EngineOptions o;
  o.reference_scan = reference;
  o.check_ledger = true;  // asserts after every event
  test::Replayed r = test::replay_all(w.config, symbols, w.events, o);
  return {std::move(r.journal), r.summary.state_hash, r.summary};
}

void compare(const WorkloadSpec& spec) {
  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  REQUIRE(validate_events(w.config, symbols, w.events).ok());
  Outcome indexed = replay(w, symbols, false);
  Outcome reference = replay(w, symbols, true);
  INFO("seed " << spec.seed << ", " << w.events.size() << " events, " << indexed.journal.size()
               << " derived");
  REQUIRE(indexed.journal.size() == reference.journal.size());
  for (std::size_t i = 0; i < indexed.journal.size(); ++i) {
    INFO("derived event " << i);
    REQUIRE(indexed.journal[i] == reference.journal[i]);
  }
  CHECK(indexed.hash == reference.hash);
}

}  // namespace

TEST_CASE("differential: the band index and the reference scan agree on random workloads",
          "[engine][differential]") {
  std::uint64_t liquidations = 0, margin_calls = 0, adl = 0, rejected = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    WorkloadSpec s;
    s.seed = seed;
    s.accounts = 150 + static_cast<std::uint32_t>(seed * 20);
    s.markets = 1 + seed % 3;
    s.ticks = 1500;
    s.volatility_bp = 30 + static_cast<std::uint32_t>(seed % 4) * 20;
    s.crash_at = 600;
    s.crash_ticks = 300;
    s.crash_bp = 1500 + static_cast<std::uint32_t>(seed % 3) * 1000;
    s.activity_ppm = 400'000;
    s.impact = seed % 4 != 0;
    if (seed % 2 == 1) {  // bankruptcies then reach ADL
      s.insurance_fund = 0;
      s.liquidation_fees = false;
    }
    compare(s);
    Symbols sym;
    Workload w = make_workload(s, sym);
    Summary sum = test::replay_all(w.config, sym, w.events).summary;
    liquidations += static_cast<std::uint64_t>(sum.liquidations);
    margin_calls += static_cast<std::uint64_t>(sum.margin_calls);
    adl += static_cast<std::uint64_t>(sum.adl_events);
    rejected += static_cast<std::uint64_t>(sum.rejected);
  }
  // The workloads must exercise what they claim to, or agreement proves little.
  CHECK(liquidations > 100);
  CHECK(margin_calls > 100);
  CHECK(rejected > 0);
  INFO("adl events " << adl);
  CHECK(adl > 0);
}

TEST_CASE("differential: partial liquidation mode agrees too", "[engine][differential]") {
  for (std::uint64_t seed = 100; seed <= 103; ++seed) {
    WorkloadSpec s;
    s.seed = seed;
    s.accounts = 200;
    s.ticks = 1200;
    s.volatility_bp = 60;
    s.crash_at = 400;
    s.crash_ticks = 200;
    s.crash_bp = 2500;
    s.activity_ppm = 300'000;
    Symbols symbols;
    Workload w = make_workload(s, symbols);
    auto next = apply_param(w.config, "liquidation.mode", "\"partial\"");
    REQUIRE(next.ok());
    w.config = *next;
    Outcome a = replay(w, symbols, false);
    Outcome b = replay(w, symbols, true);
    REQUIRE(a.journal == b.journal);
    CHECK(a.hash == b.hash);
  }
}

TEST_CASE("determinism: the same workload replayed twice gives the same journal and hash", "[engine]") {
  WorkloadSpec s;
  s.seed = 7;
  s.accounts = 300;
  s.ticks = 800;
  s.crash_at = 200;
  s.crash_ticks = 100;
  s.crash_bp = 3000;
  s.activity_ppm = 200'000;
  Symbols s1, s2;
  Workload w1 = make_workload(s, s1), w2 = make_workload(s, s2);
  Outcome a = replay(w1, s1, false), b = replay(w2, s2, false);
  CHECK(a.journal == b.journal);
  CHECK(a.hash == b.hash);
  CHECK(a.summary.liquidations > 0);
}

TEST_CASE(
    "differential: ADL's ranking kept across a round's bankrupts gives the per-leg scan's counterparties",
    "[engine][differential][adl]") {
  // Deep crashes with an empty fund and no fees: many accounts go bankrupt in
  // the same round, so one ranking serves many legs and the counterparties
  // ADL takes from are re-scored in it (liquidation.cpp, deleverage).
  std::uint64_t adl = 0, shared_rankings = 0;
  for (std::uint64_t seed = 101; seed <= 106; ++seed) {
    WorkloadSpec s;
    s.seed = seed;
    s.accounts = 1200;
    s.markets = 1 + seed % 3;
    s.ticks = 400;
    s.volatility_bp = 40;
    s.crash_at = 100;
    s.crash_ticks = 20 + static_cast<std::uint32_t>(seed % 3) * 40;
    s.crash_bp = 3000 + static_cast<std::uint32_t>(seed % 2) * 2000;
    s.activity_ppm = 100'000;
    s.impact = seed % 2 == 0;
    s.insurance_fund = 0;
    s.liquidation_fees = false;
    compare(s);
    Symbols sym;
    Workload w = make_workload(s, sym);
    test::Replayed r = test::replay_all(w.config, sym, w.events);
    adl += static_cast<std::uint64_t>(r.summary.adl_events);
    // Events in which ADL served more than one bankrupt account: those reuse
    // the ranking the first one built.
    std::map<std::string, std::set<std::string>> bankrupts_by_event;
    for (const std::string& line : r.journal) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.value("type", "") == "adl")
        bankrupts_by_event[j.at("seq").dump()].insert(j.at("account").get<std::string>());
    }
    for (const auto& [seq, accounts] : bankrupts_by_event) shared_rankings += accounts.size() > 1 ? 1 : 0;
  }
  INFO("adl events " << adl << ", events whose ADL served several bankrupts " << shared_rankings);
  CHECK(adl > 500);
  CHECK(shared_rankings > 20);
}
