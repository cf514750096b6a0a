// replay_support.hpp — the replay command's adapters: error locations and
// the progress bar (the pipeline, its sinks and the summary are replay.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/engine.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/metrics.hpp"
#include "liqsim/replay.hpp"

namespace liqsim::cli {

// Adds the file and, for JSON Lines, the line number of the event named by e.seq.
Error locate_event_error(Error e, const std::string& events_path);
std::int64_t wall_clock_ms();

class Progress {
 public:
  enum Mode { off, on, automatic };
  Progress(std::size_t total, Mode mode);
  void tick(std::size_t done) {
    if (enabled_ && (done & 0xfff) == 0) draw(done);
  }
  void finish();

 private:
  void draw(std::size_t done);
  std::size_t total_;
  bool enabled_;
  std::int64_t start_ms_;
};

// The progress bar as a sink of the replay pipeline.
class ProgressSink final : public ReplaySink {
 public:
  ProgressSink(std::size_t total, Progress::Mode mode) : progress_(total, mode) {}
  Status on_event(const InputEvent&, std::int64_t seq, const std::vector<DerivedEvent>&,
                  const Engine&) override {
    progress_.tick(static_cast<std::size_t>(seq) + 1);
    return {};
  }
  void finish() { progress_.finish(); }

 private:
  Progress progress_;
};

}  // namespace liqsim::cli
