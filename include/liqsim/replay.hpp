// replay.hpp — the one replay pipeline: a configuration over a sequence of
// input events, every event with the derived events it caused fed to a list
// of sinks (journal, results database, progress, any a caller adds), and the
// summary a user sees built in one place.
//
// Owns: the Engine and the MetricsCollector of one run, the order in which
// they and the sinks see each event, and the summary (CONTRACT §5 fields,
// then the metrics) as the exact bytes `liqsim replay --json` prints and the
// text it prints without --json. Guarantees:
//   * every input event reaches the engine, then the metrics, then each sink
//     in the order the sinks were added, with the seq the log gives it;
//   * an amount that leaves the fixed-point range is an Error naming the
//     event's seq (never an exception), and the run stops there;
//   * a Replay can be forked (copied) between events: the fork holds an
//     independent engine and metrics and no sinks, and resuming it with the
//     rest of the log gives the journal, summary and state hash that one run
//     over the whole log gives (tests/test_snapshot.cpp). The state hash is
//     computed once, in finish().
// A sink's output is made durable in on_finish and visible in on_publish,
// both in sink order; if any step fails every sink is abandoned, so a failed
// replay publishes nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/metrics.hpp"

namespace liqsim {

// The finished run: the summary, then the metrics' summary fields as (key,
// JSON value text) in their fixed order.
struct ReplayResult {
  Summary summary;
  std::vector<std::pair<std::string, std::string>> fields;

  // `liqsim replay --json`: one JSON object, no newline.
  std::string json() const;
  // `liqsim replay` without --json: the summary block under "liqsim replay: LABEL".
  std::string text(const std::string& label) const;
};

class ReplaySink {
 public:
  virtual ~ReplaySink() = default;
  // Before the first event this run applies (the engine in its start state).
  virtual Status on_begin(const Engine& engine) {
    (void)engine;
    return {};
  }
  virtual Status on_event(const InputEvent& event, std::int64_t seq, const std::vector<DerivedEvent>& derived,
                          const Engine& engine) = 0;
  // After the last event: make the output durable, not yet visible.
  virtual Status on_finish(const ReplayResult& result, const MetricsCollector& metrics,
                           const Engine& engine) {
    (void)result;
    (void)metrics;
    (void)engine;
    return {};
  }
  // Make the output visible (rename into place).
  virtual Status on_publish() { return {}; }
  // Remove every trace of an unpublished output. Idempotent.
  virtual void on_abandon() {}
};

struct ReplayOptions {
  EngineOptions engine;
  // Off: the metrics see nothing and the result has no metric fields (the
  // bench's engine-only figures; everything a user runs keeps them on).
  bool metrics = true;
};

class Replay {
 public:
  Replay(Config config, Symbols& symbols, ReplayOptions options = {});
  // A fork: the engine and metrics copied as they stand, no sinks.
  Replay(const Replay& other);
  Replay& operator=(const Replay&) = delete;
  Replay(Replay&&) noexcept = default;
  Replay& operator=(Replay&&) = delete;

  // Sinks are not owned and must outlive the run. Added before the first event.
  void add_sink(ReplaySink& sink);

  // Applies the next input event (its seq is next_seq()). On the first call,
  // every sink's on_begin runs first.
  Status apply(const InputEvent& event);
  // Applies events[from, to); each gets the next seq (next_seq() counts on
  // across calls, so a log given in pieces keeps its seqs).
  Status run(const std::vector<InputEvent>& events, std::size_t from = 0,
             std::size_t to = std::numeric_limits<std::size_t>::max());

  // The summary (state hash computed here, once) and the metrics' fields;
  // then every sink's on_finish. A second call returns the same result.
  Result<ReplayResult> finish();
  // Every sink's on_publish, in order. After finish().
  Status publish();
  // Every sink's on_abandon.
  void abandon();

  const Engine& engine() const { return engine_; }
  const MetricsCollector& metrics() const { return metrics_; }
  const Config& config() const { return engine_.config(); }
  std::int64_t next_seq() const { return next_seq_; }
  // The derived events of the last applied event.
  const std::vector<DerivedEvent>& derived() const { return derived_; }

 private:
  Status fail(Status st);
  Engine engine_;
  MetricsCollector metrics_;
  bool metrics_on_ = true;
  std::vector<ReplaySink*> sinks_;
  std::vector<DerivedEvent> derived_;
  std::int64_t next_seq_ = 0;
  bool begun_ = false;
  std::optional<ReplayResult> result_;
  std::optional<Error> error_;
};

// The whole pipeline at once: events[0..n) through a new Replay with these
// sinks, then finish() and publish(). On any error every sink is abandoned.
Result<ReplayResult> replay_events(const Config& config, Symbols& symbols,
                                   const std::vector<InputEvent>& events,
                                   const std::vector<ReplaySink*>& sinks, ReplayOptions options = {});

}  // namespace liqsim
