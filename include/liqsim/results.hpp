// results.hpp — the SQLite results database (`liqsim replay --out R.sqlite`).
//
// Owns the schema and the writing of one run: the run row, every derived
// event as typed columns, per-market time series, the insurance fund over
// time, per-account final state and the run's metrics. A run is written in
// one transaction: it appears whole or not at all, and a failure leaves the
// runs already in the database intact.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "liqsim/engine.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/metrics.hpp"

namespace liqsim {

struct RunInfo {
  std::string label;        // e.g. the scenario folder name, or the events file name
  std::string config_json;  // the configuration as given
  std::string events_path;
  std::string events_sha256;         // checksum of the input log file's bytes
  std::string engine_version;        // "liqsim 0.1.0"
  std::int64_t started_unix_ms = 0;  // wall clock: recorded, never used by the engine
};

// The schema written by this version; docs/RESULTS.md documents it.
// Version 2 added accounts.isolated_equity(_f); a version-1 database is
// migrated in place when a run is added to it (docs/RESULTS.md).
inline constexpr int kResultsSchemaVersion = 2;

struct ResultsOptions {
  std::int64_t series_interval_ms = 60'000;  // per-market time series bucket (event time)
  int busy_timeout_ms = 5'000;               // wait this long for another writer's lock
  std::int64_t max_page_count = 0;           // a size quota in pages (0: SQLite's default); tests use it
  // Off: a run stores its summary, metrics, markets, collateral and cascades
  // but not its rows by event and by account (events, market_series,
  // insurance_fund, accounts, episodes) — `liqsim sweep --rows summary`.
  bool detail_rows = true;
};

// The names of the files SQLite keeps beside a database while writing it
// (rollback journal, WAL, shared memory), for the given name and, where it is
// a symbolic link, its target. An output under one of these names would be
// taken for a hot journal and deleted by the next open: callers refuse them.
std::vector<std::string> results_side_files(const std::string& db_path);

// ---- sweeps (docs/RESULTS.md, "Sweeps") ----

// The sweeps row of a sweep (`liqsim sweep`, sweep.hpp).
struct SweepRecord {
  std::string label;
  std::string grid_json;  // {"axes":[{"path":P,"values":[V...]}...],"zip":B,"at":SEQ|null}
  std::string base_config_json;
  std::string config_sha256, events_path, events_sha256;
  std::string key;           // SHA-256 of what makes two sweeps the same sweep (not paths, not the shard)
  std::int64_t points = 0;   // points of the whole sweep, every shard
  std::int64_t at_seq = -1;  // -1: overrides at the start
  std::int64_t shard_index = 0, shard_count = 1;
  std::string rows = "all";  // "all", or "summary" (ResultsOptions::detail_rows off)
  std::string engine_version;
  std::int64_t started_unix_ms = 0;
};

// One sweep_points row per axis of a point.
struct SweepPointRow {
  std::int64_t point = 0;
  std::vector<std::pair<std::string, std::string>> values;  // (path, value JSON text), axis order
};

// Opening a database for writing holds a shared flock on the file until the
// object is destroyed. A file the object created and committed no run to is
// removed on destruction, but only when no other process has it open and it
// is still empty (docs/RESULTS.md, "Concurrent writers").
class ResultsDb {
 public:
  static Result<std::unique_ptr<ResultsDb>> open(const std::string& path);
  static Result<std::unique_ptr<ResultsDb>> open(const std::string& path, const ResultsOptions& options);
  virtual ~ResultsDb() = default;
  virtual Status begin_run(const RunInfo& info, const Symbols& symbols) = 0;
  virtual Status observe(const InputEvent& event, std::int64_t seq, const std::vector<DerivedEvent>& derived,
                         const Engine& engine) = 0;
  // Replaces the run's events_sha256 (RunInfo's) before finish_run: a log
  // streamed through the replay is hashed as it is read, so its checksum is
  // known only at the end.
  virtual Status record_events_sha256(const std::string& hex) = 0;
  // The metrics' summary fields, (key, JSON value text) in their fixed order
  // (MetricsCollector::summary_fields, ReplayResult::fields).
  using SummaryFields = std::vector<std::pair<std::string, std::string>>;
  // Writes summary, metrics and final state, then commits. Returns the run id.
  // `summary` (its state hash included) and `fields` are stored as given — the
  // replay has computed them once (ReplayResult); nothing is recomputed here.
  virtual Result<std::int64_t> finish_run(const Summary& summary, const SummaryFields& fields,
                                          const MetricsCollector& metrics, const Engine& engine,
                                          std::int64_t finished_unix_ms) = 0;
  // The same with the fields computed from `metrics` (metrics.summary_fields(engine)).
  Result<std::int64_t> finish_run(const Summary& summary, const MetricsCollector& metrics,
                                  const Engine& engine, std::int64_t finished_unix_ms);
  virtual void abort_run() = 0;  // rolls back; earlier runs stay

  // ---- runs written elsewhere: a sweep's points, shards being merged ----
  //
  // A database in memory only (no file, no secondary indexes): a sweep
  // worker writes its point's run here and serialize() gives the image that
  // the one writer of the sweep copies in.
  static Result<std::unique_ptr<ResultsDb>> open_memory(const ResultsOptions& options = {});
  // The whole database as SQLite's serialization (after finish_run).
  virtual Result<std::string> serialize() = 0;
  // A recorder: begin_run, observe and finish_run keep in memory what the
  // run's rows need (no SQLite); store_recorded on a database then writes
  // those rows there, on its own thread — a sweep's worker records, its one
  // writer stores. The replay's engine and metrics must outlive the storing.
  static std::unique_ptr<ResultsDb> recorder(const ResultsOptions& options = {});
  // The recorded run stored here (inside an import: as part of it); its id.
  virtual Result<std::int64_t> store_recorded(ResultsDb& recorder, const MetricsCollector& metrics,
                                              const Engine& engine) = 0;
  // One transaction of copied runs and sweep rows: begin_import, then any of
  // add_sweep, import_image, add_sweep_point, then commit_import; abort_run
  // rolls all of it back.
  virtual Status begin_import() = 0;
  // The sweeps row; its id.
  virtual Result<std::int64_t> add_sweep(const SweepRecord& sweep, std::int64_t finished_unix_ms) = 0;
  // sweeps.finished_ms, when the last point is in.
  virtual Status set_sweep_finished(std::int64_t sweep_id, std::int64_t finished_unix_ms) = 0;
  // With --at: the sweep's prefix run (sweeps.prefix_run_id).
  virtual Status set_sweep_prefix(std::int64_t sweep_id, std::int64_t run_id) = 0;
  // Copies every complete run of IMAGE (a serialized results database), in
  // id order, with all its rows; the new run ids.
  virtual Result<std::vector<std::int64_t>> import_image(const std::string& image) = 0;
  virtual Status add_sweep_point(std::int64_t sweep_id, std::int64_t run_id, const SweepPointRow& row) = 0;
  virtual Status commit_import() = 0;
  // Inside an import: one row of a stress table (stress_runs, stress_paths,
  // ... — stress_run.hpp's rows; the schema is docs/RESULTS.md's) with these
  // columns and values; its rowid. Another table is refused.
  using SqlValue = std::variant<std::monostate, std::int64_t, double, std::string>;
  virtual Result<std::int64_t> insert_row(const std::string& table, const std::vector<std::string>& columns,
                                          const std::vector<SqlValue>& values) = 0;
  // TABLE.finished_ms of row ID (a stress_runs row, when its last row is in).
  virtual Status update_finished(const std::string& table, std::int64_t id, std::int64_t finished_ms) = 0;
  // `liqsim results merge`: the shards of one sweep (each written by
  // `liqsim sweep --shard I/N`) copied in as the unsharded sweep would have
  // written them — the prefix run, then every point's run in point order,
  // the sweeps row with shard 0/1 — in one transaction. Refuses (kind usage,
  // naming the file) inputs that are not all shards of one sweep, a shard
  // given twice, points in two shards, and missing points. The sweep's id.
  virtual Result<std::int64_t> merge_shards(const std::vector<std::string>& inputs) = 0;
};

// A results database opened read-only, for a module that reads its own rows
// back (`liqsim stress merge` reads the shards' stress tables). Refuses a file
// that is not a liqsim results database this version reads. Errors are of
// kind io and name the file.
class ResultsReader {
 public:
  using Row = std::vector<ResultsDb::SqlValue>;  // NULL is std::monostate
  static Result<std::unique_ptr<ResultsReader>> open(const std::string& path);
  virtual ~ResultsReader() = default;
  virtual const std::string& path() const = 0;
  virtual Result<bool> has_table(const std::string& name) = 0;
  // TABLE's column names, in schema order.
  virtual Result<std::vector<std::string>> columns(const std::string& table) = 0;
  // Runs SQL with ARGS bound in order; ROW gets each result row in turn, and
  // an error it returns stops the query and is returned.
  virtual Status query(const std::string& sql, const Row& args,
                       const std::function<Status(const Row&)>& row) = 0;
};

// `liqsim report`: one self-contained HTML page (inline SVG charts, no
// network) from a results database. `run_id` 0 picks the newest complete run.
// With several runs in the database the page also compares them, one row per
// run; a sweep (the sweeps and sweep_points tables) gets one row per point, a
// heatmap (two axes) or line charts (one axis), and each point's configuration
// against the sweep's base. Differences are against `baseline_run_id` (0: a
// sweep's first point, the comparison's first run); a run id that is not a
// complete run is an Error of kind usage naming --baseline (or --run).
struct ReportOptions {
  std::int64_t run_id = 0;
  std::int64_t baseline_run_id = 0;
};
Result<std::string> render_report(const std::string& db_path, const ReportOptions& options);
Status write_report(const std::string& db_path, const std::string& html_path, const ReportOptions& options);

}  // namespace liqsim
