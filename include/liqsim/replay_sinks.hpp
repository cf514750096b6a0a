// replay_sinks.hpp — the sinks every replay can write to (replay.hpp):
//
//   * JournalSink: the derived events as JSON Lines (CONTRACT §5 "Derived
//     events") into an OutputFile — a temporary file fsync'd in on_finish and
//     renamed into place in on_publish, or a pipe or device streamed into;
//   * ResultsSink: the run into a results database (results.hpp): begun in
//     on_begin, one row per derived event, committed in on_finish, rolled
//     back by on_abandon.
//
// With both, add the journal first: it is made durable before the run is
// committed and renamed only after, so a failure before the commit leaves no
// output at all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "liqsim/output_file.hpp"
#include "liqsim/replay.hpp"
#include "liqsim/results.hpp"

namespace liqsim {

class JournalSink final : public ReplaySink {
 public:
  // Opens the output (output_file.hpp: refused names, devices, pipes).
  static Result<std::unique_ptr<JournalSink>> open(const std::string& path, const Symbols& symbols);
  Status on_event(const InputEvent& event, std::int64_t seq, const std::vector<DerivedEvent>& derived,
                  const Engine& engine) override;
  Status on_finish(const ReplayResult& result, const MetricsCollector& metrics,
                   const Engine& engine) override;
  Status on_publish() override;
  void on_abandon() override;
  const std::string& path() const { return path_; }
  // Streamed into a pipe or device: what it wrote cannot be taken back.
  bool streaming() const { return file_ && file_->streaming(); }

 private:
  JournalSink(OutputFile file, const Symbols& symbols, std::string path)
      : file_(std::move(file)), symbols_(symbols), path_(std::move(path)) {}
  std::optional<OutputFile> file_;
  const Symbols& symbols_;
  std::string path_;
  std::string line_;
};

class ResultsSink final : public ReplaySink {
 public:
  // `finished_ms` gives the wall-clock time recorded as runs.finished_ms
  // (recorded only: nothing computed depends on it).
  ResultsSink(std::unique_ptr<ResultsDb> db, RunInfo info, const Symbols& symbols,
              std::function<std::int64_t()> finished_ms);
  // Into a database the caller owns (a sweep's output, inside its import).
  ResultsSink(ResultsDb& db, RunInfo info, const Symbols& symbols, std::function<std::int64_t()> finished_ms);
  Status on_begin(const Engine& engine) override;
  Status on_event(const InputEvent& event, std::int64_t seq, const std::vector<DerivedEvent>& derived,
                  const Engine& engine) override;
  Status on_finish(const ReplayResult& result, const MetricsCollector& metrics,
                   const Engine& engine) override;
  void on_abandon() override;
  // The log's checksum when it is known only after the events (a streamed
  // log): recorded as the run's events_sha256 in on_finish.
  void set_events_sha256(std::string hex) { events_sha256_ = std::move(hex); }
  // The run's id once on_finish has committed it; 0 before.
  std::int64_t run_id() const { return run_id_; }
  // Keeps the database open after on_finish (it is closed there otherwise),
  // for database(): a sweep serializes its point's in-memory database.
  void keep_open() { keep_open_ = true; }
  ResultsDb& database() { return *db_; }

 private:
  std::unique_ptr<ResultsDb> owned_;
  ResultsDb* db_ = nullptr;
  RunInfo info_;
  const Symbols& symbols_;
  std::function<std::int64_t()> finished_ms_;
  std::int64_t run_id_ = 0;
  std::string events_sha256_;
  bool keep_open_ = false;
};

}  // namespace liqsim
