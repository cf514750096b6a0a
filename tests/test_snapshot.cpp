// Forks of a replay (replay.hpp): the state after event k is copied, and a
// run resumed from the copy gives what one run over the whole log gives —
// the same journal bytes, summary (metrics included) and state hash — and
// the copy and the original never affect each other.
#include <catch2/catch.hpp>

#include "engine_harness.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/workload.hpp"

using namespace liqsim;

namespace {

struct Resumed {
  std::vector<std::string> journal;
  std::string json;
};

Resumed whole(const Workload& w, Symbols& symbols) {
  Replay replay(w.config, symbols);
  test::JournalLines journal(symbols);
  replay.add_sink(journal);
  REQUIRE(replay.run(w.events).ok());
  auto result = replay.finish();
  REQUIRE(result.ok());
  return {std::move(journal.lines), result->json()};
}

// Events [0, k) on one replay, a fork, then [k, n) on the fork.
Resumed forked_at(const Workload& w, Symbols& symbols, std::size_t k) {
  Replay prefix(w.config, symbols);
  test::JournalLines before(symbols);
  prefix.add_sink(before);
  REQUIRE(prefix.run(w.events, 0, k).ok());
  Replay fork(prefix);
  CHECK(fork.next_seq() == static_cast<std::int64_t>(k));
  test::JournalLines after(symbols);
  fork.add_sink(after);
  REQUIRE(fork.run(w.events, k).ok());
  auto result = fork.finish();
  REQUIRE(result.ok());
  Resumed r{std::move(before.lines), result->json()};
  r.journal.insert(r.journal.end(), after.lines.begin(), after.lines.end());
  return r;
}

}  // namespace

TEST_CASE("a run resumed from a fork at any event equals one run over the whole log", "[replay][snapshot]") {
  std::uint64_t liquidations = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    WorkloadSpec spec;
    spec.seed = seed;
    spec.accounts = 120;
    spec.ticks = 400;
    spec.crash_at = 150;
    spec.crash_ticks = 40;
    spec.crash_bp = 2500;
    spec.activity_ppm = 5000;
    spec.param_every = seed % 2 ? 37 : 0;
    Symbols symbols;
    Workload w = make_workload(spec, symbols);
    REQUIRE(validate_events(w.config, symbols, w.events).ok());
    const Resumed one = whole(w, symbols);
    const std::size_t n = w.events.size();
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, n / 3, n / 2, n - 1, n}) {
      INFO("seed " << seed << ", fork after " << k << " of " << n << " events");
      const Resumed two = forked_at(w, symbols, k);
      REQUIRE(two.journal.size() == one.journal.size());
      for (std::size_t i = 0; i < one.journal.size(); ++i) REQUIRE(two.journal[i] == one.journal[i]);
      CHECK(two.json == one.json);  // summary, metrics and state hash
    }
    for (const std::string& line : one.journal)
      liquidations += line.find("\"type\":\"liquidation\"") != std::string::npos;
  }
  CHECK(liquidations > 0);
}

TEST_CASE("a fork and its original go on independently", "[replay][snapshot]") {
  WorkloadSpec spec;
  spec.seed = 9;
  spec.accounts = 80;
  spec.ticks = 300;
  spec.crash_at = 100;
  spec.crash_ticks = 30;
  spec.crash_bp = 3000;
  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  const std::size_t k = w.events.size() / 2;
  Replay original(w.config, symbols);
  REQUIRE(original.run(w.events, 0, k).ok());
  const std::string at_k = original.engine().state_hash();
  Replay fork(original);
  CHECK(fork.engine().state_hash() == at_k);
  REQUIRE(fork.run(w.events, k).ok());            // the fork runs on through the crash ...
  CHECK(original.engine().state_hash() == at_k);  // ... and the original has not moved
  CHECK(fork.engine().state_hash() != at_k);
  REQUIRE(original.run(w.events, k).ok());
  CHECK(original.engine().state_hash() == fork.engine().state_hash());
  auto a = original.finish(), b = fork.finish();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->json() == b->json());
}

TEST_CASE("a fork that keeps the start state's account text hashes and prints its state as one that does not",
          "[replay][snapshot]") {
  // Engine::keep_account_text (stress paths): unchanged accounts are copied
  // from the kept text, changed ones formatted; the hash streams the text in
  // pieces. Both must give exactly the text and hash of a plain engine.
  Symbols symbols;
  WorkloadSpec spec;
  spec.seed = 77;
  spec.accounts = 400;
  spec.markets = 3;
  spec.ticks = 600;
  spec.crash_at = 300;
  spec.crash_ticks = 100;
  spec.crash_bp = 2500;
  spec.activity_ppm = 200'000;
  spec.insurance_fund = 0;
  Workload w = make_workload(spec, symbols);
  const std::size_t half = w.events.size() / 2;
  Engine start(w.config, symbols);
  std::vector<DerivedEvent> out;
  for (std::size_t i = 0; i < half; ++i) REQUIRE(start.apply(w.events[i], static_cast<std::int64_t>(i), out));
  Engine plain(start);
  start.keep_account_text();
  Engine kept(start);
  CHECK(kept.canonical_state() == plain.canonical_state());
  CHECK(kept.state_hash() == plain.state_hash());
  for (std::size_t i = half; i < w.events.size(); ++i) {
    REQUIRE(plain.apply(w.events[i], static_cast<std::int64_t>(i), out));
    REQUIRE(kept.apply(w.events[i], static_cast<std::int64_t>(i), out));
  }
  REQUIRE(plain.summary().liquidations > 0);
  const std::string text = plain.canonical_state();
  CHECK(kept.canonical_state() == text);
  CHECK(kept.state_hash() == sha256_hex(text));
  CHECK(plain.state_hash() == sha256_hex(text));
  CHECK(start.state_hash() != plain.state_hash());
}

TEST_CASE("an engine assigned a start state runs on as a fresh copy of it does", "[replay][snapshot]") {
  // Engine::assign (stress paths reuse one engine per thread): after running
  // through a crash, the engine is assigned the start state again and must
  // give, event for event, what a fresh copy gives — derived events, counters
  // and the state hash — including after a run that failed half-way.
  Symbols symbols;
  WorkloadSpec spec;
  spec.seed = 31;
  spec.accounts = 300;
  spec.markets = 2;
  spec.ticks = 500;
  spec.crash_at = 250;
  spec.crash_ticks = 80;
  spec.crash_bp = 3000;
  spec.activity_ppm = 150'000;
  Workload w = make_workload(spec, symbols);
  const std::size_t half = w.events.size() / 2;
  Engine start(w.config, symbols);
  std::vector<DerivedEvent> out;
  for (std::size_t i = 0; i < half; ++i) REQUIRE(start.apply(w.events[i], static_cast<std::int64_t>(i), out));
  start.keep_account_text();
  auto run_rest = [&](Engine& e) {
    std::vector<std::string> lines;
    std::vector<DerivedEvent> d;
    for (std::size_t i = half; i < w.events.size(); ++i) {
      d.clear();
      REQUIRE(e.apply(w.events[i], static_cast<std::int64_t>(i), d));
      lines.push_back(std::to_string(d.size()) + " " + std::to_string(e.totals().liquidations));
    }
    lines.push_back(e.state_hash());
    return lines;
  };
  Engine fresh(start);
  const auto expected = run_rest(fresh);
  REQUIRE(fresh.summary().liquidations > start.summary().liquidations);
  Engine reused(start);
  CHECK(run_rest(reused) == expected);
  // A failed event leaves an engine refusing every later one; assign clears it.
  PriceEvent huge;
  huge.price = Price::from_raw(INT64_MAX);
  for (const InputEvent& ev : w.events)
    if (const auto* p = std::get_if<PriceEvent>(&ev.body)) huge.asset = p->asset;
  (void)reused.apply(InputEvent{w.events.back().ts_ms, huge}, static_cast<std::int64_t>(w.events.size()),
                     out);
  REQUIRE(reused.failed());
  reused.assign(start);
  CHECK_FALSE(reused.failed());
  CHECK(reused.state_hash() == start.state_hash());
  CHECK(run_rest(reused) == expected);
}
