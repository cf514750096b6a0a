// engine_harness.hpp — runs a config and JSONL lines through the engine in tests.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/replay.hpp"

namespace liqsim::test {

inline Config config_from(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  auto cfg = parse_config(*doc, "test-config");
  if (!cfg) FAIL(cfg.error().describe());
  return *cfg;
}

// The replay pipeline (replay.hpp) fed one JSONL line at a time, with the
// ledger checked after every event.
struct Run {
  Symbols symbols;
  std::unique_ptr<Replay> replay;
  const Engine* engine = nullptr;
  std::vector<DerivedEvent> derived;
  std::vector<std::string> journal;

  Run(const std::string& config_text, EngineOptions opts = {}) {
    opts.check_ledger = true;
    ReplayOptions o;
    o.engine = opts;
    replay = std::make_unique<Replay>(config_from(config_text), symbols, o);
    engine = &replay->engine();
  }
  // Applies one JSONL event; returns the journal lines it produced.
  std::vector<std::string> apply(const std::string& line) {
    auto ev = decode_event_line(line, symbols);
    if (!ev) FAIL(ev.error().describe() + " in " + line);
    Status applied = replay->apply(*ev);
    if (!applied) FAIL(applied.error().describe() + " in " + line);
    std::vector<std::string> lines;
    for (const auto& d : replay->derived()) {
      lines.push_back(encode_derived(d, symbols));
      journal.push_back(lines.back());
      derived.push_back(d);
    }
    Status st = engine->check_ledger();
    if (!st) FAIL(st.error().describe());
    return lines;
  }
  void apply_all(const std::vector<std::string>& lines) {
    for (const auto& l : lines) apply(l);
  }
  template <class T>
  std::vector<T> of_type() const {
    std::vector<T> v;
    for (const auto& d : derived)
      if (const T* t = std::get_if<T>(&d.body)) v.push_back(*t);
    return v;
  }
  Summary summary() const { return engine->summary(); }
};

// A sink that keeps the journal lines of a run (CONTRACT §5 derived events).
struct JournalLines final : ReplaySink {
  explicit JournalLines(const Symbols& s) : symbols(s) {}
  Status on_event(const InputEvent&, std::int64_t, const std::vector<DerivedEvent>& derived,
                  const Engine&) override {
    for (const auto& d : derived) lines.push_back(encode_derived(d, symbols));
    return {};
  }
  const Symbols& symbols;
  std::vector<std::string> lines;
};

// A whole event sequence through the replay pipeline: journal and summary.
struct Replayed {
  std::vector<std::string> journal;
  Summary summary;
};
inline Replayed replay_all(const Config& config, Symbols& symbols, const std::vector<InputEvent>& events,
                           EngineOptions engine = {}) {
  ReplayOptions o;
  o.engine = engine;
  Replay replay(config, symbols, o);
  JournalLines journal(symbols);
  replay.add_sink(journal);
  Status st = replay.run(events);
  if (!st) FAIL(st.error().describe());
  REQUIRE(replay.engine().check_ledger().ok());
  auto result = replay.finish();
  if (!result) FAIL(result.error().describe());
  return {std::move(journal.lines), result->summary};
}

inline std::string price(std::int64_t ts, const std::string& asset, const std::string& p) {
  return R"({"type":"price","ts":)" + std::to_string(ts) + R"(,"asset":")" + asset + R"(","price":")" + p +
         "\"}";
}
inline std::string deposit(std::int64_t ts, const std::string& acct, const std::string& asset,
                           const std::string& a) {
  return R"({"type":"deposit","ts":)" + std::to_string(ts) + R"(,"account":")" + acct + R"(","asset":")" +
         asset + R"(","amount":")" + a + "\"}";
}
inline std::string trade(std::int64_t ts, const std::string& acct, const std::string& market,
                         const std::string& side, const std::string& qty, const std::string& px,
                         const std::string& extra = "") {
  return R"({"type":"trade","ts":)" + std::to_string(ts) + R"(,"account":")" + acct + R"(","market":")" +
         market + R"(","side":")" + side + R"(","qty":")" + qty + R"(","price":")" + px + "\"" + extra + "}";
}

}  // namespace liqsim::test
