// sinks.cpp — the journal and results-database sinks (replay_sinks.hpp).
#include "liqsim/jsonl.hpp"
#include "liqsim/replay_sinks.hpp"

namespace liqsim {

Result<std::unique_ptr<JournalSink>> JournalSink::open(const std::string& path, const Symbols& symbols) {
  auto file = OutputFile::create(path);
  if (!file) return file.error();
  return std::unique_ptr<JournalSink>(new JournalSink(std::move(*file), symbols, path));
}

Status JournalSink::on_event(const InputEvent&, std::int64_t, const std::vector<DerivedEvent>& derived,
                             const Engine&) {
  if (!file_) return {};
  for (const DerivedEvent& d : derived) {
    line_ = encode_derived(d, symbols_);
    line_.push_back('\n');
    if (Status st = file_->write(line_); !st) return st;
  }
  return {};
}

Status JournalSink::on_finish(const ReplayResult&, const MetricsCollector&, const Engine&) {
  if (!file_) return {};
  return file_->prepare();
}

Status JournalSink::on_publish() {
  if (!file_) return {};
  Status st = file_->commit();
  file_.reset();
  return st;
}

void JournalSink::on_abandon() { file_.reset(); }  // removes an unpublished journal

ResultsSink::ResultsSink(std::unique_ptr<ResultsDb> db, RunInfo info, const Symbols& symbols,
                         std::function<std::int64_t()> finished_ms)
    : owned_(std::move(db)),
      db_(owned_.get()),
      info_(std::move(info)),
      symbols_(symbols),
      finished_ms_(std::move(finished_ms)) {}

ResultsSink::ResultsSink(ResultsDb& db, RunInfo info, const Symbols& symbols,
                         std::function<std::int64_t()> finished_ms)
    : db_(&db), info_(std::move(info)), symbols_(symbols), finished_ms_(std::move(finished_ms)) {}

Status ResultsSink::on_begin(const Engine&) { return db_->begin_run(info_, symbols_); }

Status ResultsSink::on_event(const InputEvent& event, std::int64_t seq,
                             const std::vector<DerivedEvent>& derived, const Engine& engine) {
  return db_->observe(event, seq, derived, engine);
}

Status ResultsSink::on_finish(const ReplayResult& result, const MetricsCollector& metrics,
                              const Engine& engine) {
  // The summary and fields the replay computed (its state hash included):
  // stored as they are, not computed again. A replay without metrics has no
  // fields; its metrics table is then what the collector gives, as before.
  if (!events_sha256_.empty())
    if (Status st = db_->record_events_sha256(events_sha256_); !st) return st;
  const std::int64_t finished = finished_ms_ ? finished_ms_() : 0;
  auto run = result.fields.empty()
                 ? db_->finish_run(result.summary, metrics, engine, finished)
                 : db_->finish_run(result.summary, result.fields, metrics, engine, finished);
  if (!run) return run.error();
  run_id_ = *run;
  if (!keep_open_) {  // closed: the run is in the file, and nothing of this run holds it any more
    owned_.reset();
    db_ = nullptr;
  }
  return {};
}

void ResultsSink::on_abandon() {
  if (db_) {
    db_->abort_run();
    owned_.reset();  // a file this run created and committed nothing to is removed (results.hpp)
    db_ = nullptr;
  }
}

}  // namespace liqsim
