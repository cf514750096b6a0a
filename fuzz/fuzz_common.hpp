// fuzz_common.hpp — shared helpers of the libFuzzer targets (fuzz/*.cpp).
//
// The rule every target checks: each input ends in a value or an Error.
// An uncaught exception, a crash, a sanitizer report or a hang is a finding;
// `property()` turns a broken invariant (e.g. a round trip that is not
// byte-identical) into an abort with a message, which libFuzzer saves.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "liqsim/jsonl.hpp"
#include "liqsim/replay.hpp"

namespace liqsim::fuzz {

// A sink that keeps the journal lines of a run.
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

[[noreturn]] inline void property_failed(const char* what, const std::string& detail) {
  std::fprintf(stderr, "liqsim fuzz: property violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

inline void property(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) property_failed(what, detail);
}

// One temporary file per process, rewritten per input (the log reader takes a path).
inline const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string d = dir && *dir ? dir : "/tmp";
    return d + "/liqsim-fuzz-" + std::to_string(::getpid()) + ".bin";
  }();
  return path;
}

inline bool write_scratch(std::string_view bytes) {
  std::FILE* f = std::fopen(scratch_path().c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  return ok;
}

// Takes one byte off the front (0 when empty).
inline std::uint8_t take_byte(std::string_view& in) {
  if (in.empty()) return 0;
  auto b = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  return b;
}

}  // namespace liqsim::fuzz
