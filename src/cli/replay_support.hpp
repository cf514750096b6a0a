// replay_support.hpp — the replay command's adapters: output files that
// appear only on success, error locations, the progress bar, summary text.
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
#include "liqsim/output_file.hpp"
#include "liqsim/results.hpp"

namespace liqsim::cli {

// Adds the file and, for JSON Lines, the line number of the event named by e.seq.
Error locate_event_error(Error e, const std::string& events_path);
std::int64_t wall_clock_ms();

using ExtraFields = std::vector<std::pair<std::string, std::string>>;
std::string summary_json(const Summary& s, const ExtraFields& extra);
std::string summary_text(const Summary& s, const ExtraFields& extra, const std::string& label);

// Journal and results database of one replay. Nothing is visible under the
// final names until publish() succeeds; abandon() removes every trace. A
// journal streamed into a pipe or device (output_file.hpp) is the exception:
// what was streamed stays streamed.
class ReplayOutputs {
 public:
  ~ReplayOutputs();
  Status open(const std::string& journal, const std::string& db, const std::string& report,
              const ResultsOptions& results_options);
  Status begin(const RunInfo& info, const Symbols& symbols);
  Status write(const InputEvent& ev, std::int64_t seq, const std::vector<DerivedEvent>& derived,
               const Engine& engine, const Symbols& symbols);
  // Lines saying where each output went.
  Result<std::vector<std::string>> publish(const Summary& summary, const MetricsCollector& metrics,
                                           const Engine& engine);
  void abandon();

 private:
  std::string db_, report_;
  std::optional<OutputFile> journal_;
  std::unique_ptr<ResultsDb> results_;
  std::string line_;
};

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

}  // namespace liqsim::cli
