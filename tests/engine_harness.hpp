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

namespace liqsim::test {

inline Config config_from(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  auto cfg = parse_config(*doc, "test-config");
  if (!cfg) FAIL(cfg.error().describe());
  return *cfg;
}

struct Run {
  Symbols symbols;
  std::unique_ptr<Engine> engine;
  std::vector<DerivedEvent> derived;
  std::vector<std::string> journal;
  std::int64_t seq = 0;

  Run(const std::string& config_text, EngineOptions opts = {}) {
    opts.check_ledger = true;
    engine = std::make_unique<Engine>(config_from(config_text), symbols, opts);
  }
  // Applies one JSONL event; returns the journal lines it produced.
  std::vector<std::string> apply(const std::string& line) {
    auto ev = decode_event_line(line, symbols);
    if (!ev) FAIL(ev.error().describe() + " in " + line);
    std::vector<DerivedEvent> out;
    engine->apply(*ev, seq++, out);
    std::vector<std::string> lines;
    for (const auto& d : out) {
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

inline std::string price(std::int64_t ts, const std::string& asset, const std::string& p) {
  return R"({"type":"price","ts":)" + std::to_string(ts) + R"(,"asset":")" + asset + R"(","price":")" + p + "\"}";
}
inline std::string deposit(std::int64_t ts, const std::string& acct, const std::string& asset, const std::string& a) {
  return R"({"type":"deposit","ts":)" + std::to_string(ts) + R"(,"account":")" + acct + R"(","asset":")" + asset +
         R"(","amount":")" + a + "\"}";
}
inline std::string trade(std::int64_t ts, const std::string& acct, const std::string& market, const std::string& side,
                         const std::string& qty, const std::string& px, const std::string& extra = "") {
  return R"({"type":"trade","ts":)" + std::to_string(ts) + R"(,"account":")" + acct + R"(","market":")" + market +
         R"(","side":")" + side + R"(","qty":")" + qty + R"(","price":")" + px + "\"" + extra + "}";
}

}  // namespace liqsim::test
