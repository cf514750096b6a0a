// replay_support.hpp — the replay command's progress bar and wall clock (the
// pipeline, its sinks and the summary are replay.hpp).
#pragma once

#include <cstdint>

namespace liqsim::cli {

std::int64_t wall_clock_ms();

// A progress bar on standard error, by how far into the log reading has got
// (the log is streamed, so its event count is known only at the end).
class Progress {
 public:
  enum Mode { off, on, automatic };
  // `total_bytes`: the log's size. Automatic: shown on a terminal for a log
  // of at least kAutomaticBytes.
  Progress(std::int64_t total_bytes, Mode mode);
  void tick(std::int64_t events, std::int64_t bytes) {
    if (enabled_ && (events & 0xfff) == 0) draw(events, bytes);
  }
  void finish(std::int64_t events);

  static constexpr std::int64_t kAutomaticBytes = 8 << 20;

 private:
  void draw(std::int64_t events, std::int64_t bytes);
  std::int64_t total_;
  bool enabled_;
  std::int64_t start_ms_;
};

}  // namespace liqsim::cli
