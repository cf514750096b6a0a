// sweep.hpp — parameter sweeps: one configuration and log, a grid of
// overrides, one replay per point (`liqsim sweep`, `liqsim-mpi sweep`).
//
// Owns: the grid (axes from --grid and grid files, the Cartesian product or
// the axes in step), the points a shard runs, the inputs read once and
// shared read-only by every worker, each point's replay (its summary and its
// run as a serialized in-memory results database), the snapshot that every
// point forks from when the overrides are a governance change at an event
// (--at), and the one writer that stores points in point order. Guarantees:
//   * a point's summary and state hash are those of `liqsim replay --set`
//     with the point's values (and `--at`, when given): the same functions
//     apply the overrides and replay (tests/cli_sweep.sh);
//   * everything that can be refused — a path, a value, an empty grid, a
//     param of the log invalid under a point's configuration — is refused by
//     Sweep::prepare, before any point runs;
//   * the database written does not depend on how many workers ran the
//     points, or on which process (threads, MPI ranks, Slurm shards merged):
//     SweepWriter stores the points in point order, one after another.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/json.hpp"
#include "liqsim/results.hpp"

namespace liqsim {

// A log read whole and checked against a configuration (validate.hpp), as
// every multi-run command shares it read-only: its events, where its param
// and liquidity events are (with their lines, for errors) and the SHA-256 of
// its bytes. An error names the file and the line (or offset).
struct CheckedLog {
  std::vector<InputEvent> events;
  std::vector<std::size_t> config_events;  // indexes of param and liquidity events
  std::vector<std::int64_t> config_event_lines;
  std::string sha256;
};
Result<CheckedLog> read_checked_log(const std::string& events_path, const Config& config, Symbols& symbols);

// One swept path and its values, each an override VALUE (JSON text, or a
// bare word taken as a string).
struct GridAxis {
  std::string path;
  std::vector<std::string> values;
  std::string origin;  // where it was given: "--grid PATH=..." or the grid file, for errors
};

// "PATH=V1,V2,...": values split at commas outside brackets, braces and
// quotes (a list value [1,2] stays whole). Errors are kind usage and name
// the option.
Result<GridAxis> parse_grid_option(const std::string& text);
// A grid file: a JSON object {"PATH": [V1, V2, ...], ...} in file order, or
// {"grid": {...}, "zip": true|false}. Each value is kept as its JSON text.
struct GridFile {
  std::vector<GridAxis> axes;
  bool zip = false;
  bool zip_given = false;
};
Result<GridFile> load_grid_file(const std::string& path);

// One point: a value for every axis, in axis order.
struct SweepPoint {
  std::int64_t index = 0;
  std::vector<std::pair<std::string, std::string>> values;  // (path, value)
  std::vector<std::string> overrides() const;               // "PATH=VALUE", in axis order
};

inline constexpr std::int64_t kMaxSweepPoints = 1'000'000;

// The Cartesian product of the axes (the last axis changes fastest), or with
// `zip` the axes taken in step (all of one length). An axis with no value,
// axes of different lengths under zip, a path given twice or more than
// kMaxSweepPoints points is an Error of kind usage.
Result<std::vector<SweepPoint>> plan_points(const std::vector<GridAxis>& axes, bool zip);

struct Shard {
  std::int64_t index = 0;  // I of --shard I/N
  std::int64_t count = 1;  // N
  // "I/N" with 0 ≤ I < N; an Error of kind usage otherwise.
  static Result<Shard> parse(const std::string& text);
};

// What `liqsim sweep` is asked to do.
struct SweepRequest {
  std::string label;  // the scenario folder's name, or the events file
  std::string config_path, events_path;
  std::vector<GridAxis> axes;
  bool zip = false;
  std::int64_t at_seq = -1;  // ≥ 0: the overrides are a governance change before event AT_SEQ
  Shard shard;
  bool results = true;      // each point's run as a results database image (off: summaries only)
  bool detail_rows = true;  // --rows all; off: --rows summary (ResultsOptions::detail_rows)
};

// The summary of one point and, with results, its run.
struct PointRecord {
  std::int64_t point = 0;
  std::vector<std::pair<std::string, std::string>> values;  // (path, value), as SweepPoint
  std::string summary_json;                                 // `liqsim replay --json` of the point
  std::string db_image;     // a results database holding the point's run alone (sqlite3_serialize)
  std::int64_t run_id = 0;  // set by SweepWriter::add
  // run_sweep's workers: the run recorded in memory, with the replay that
  // made it, for SweepWriter::add to store (ResultsDb::store_recorded).
  std::shared_ptr<struct RecordedPoint> recorded;
};

class Sweep {
 public:
  // Reads the configuration and the log (once), plans the points and checks
  // every one of this shard's points: its overrides (or, with at_seq, the
  // param events they become at that event) and the log's own params under
  // its configuration. Nothing has run or been written when this fails.
  static Result<std::unique_ptr<Sweep>> prepare(const SweepRequest& request);
  ~Sweep();

  const SweepRecord& record() const;
  // The points of this shard, in point order.
  const std::vector<SweepPoint>& points() const;
  // With at_seq: the run of the prefix, events [0, at_seq) under the base
  // configuration, stored once before the points (its PointRecord has point
  // -1 and no values). Without at_seq: nothing to run (an empty record).
  bool has_prefix() const;
  Result<PointRecord> run_prefix() const;
  // Runs points()[k]. Safe to call from several threads at once: each call
  // has its own engine; the inputs (and the snapshot at at_seq) are shared
  // read-only. With INTO (from the writer's thread, in point order) the run
  // is written straight into the writer's database and the record has its
  // run_id and no image; SweepWriter::add then stores only its sweep_points.
  Result<PointRecord> run_point(std::size_t k, class SweepWriter* into = nullptr) const;
  // The same with the run recorded in memory (PointRecord::recorded) instead
  // of an image: what SweepWriter::add stores costs no copy.
  Result<PointRecord> run_point_recorded(std::size_t k) const;

 private:
  Sweep();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The one writer of a sweep's database: the sweeps row, then each run (the
// prefix first, then the points in point order) copied from its image with
// its sweep_points rows, all in one transaction committed by finish().
class SweepWriter {
 public:
  static Result<std::unique_ptr<SweepWriter>> open(const std::string& db_path, const SweepRecord& sweep,
                                                   const ResultsOptions& options = {});
  ~SweepWriter();
  // Stores a record (in order: the prefix, if any, then points ascending);
  // sets record.run_id. The image is released.
  Status add(PointRecord& record);
  // Commits; the sweep's id.
  Result<std::int64_t> finish(std::int64_t finished_unix_ms);
  void abandon();
  // The database being written (Sweep::run_point writes into it directly).
  ResultsDb& database();

 private:
  SweepWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs this shard's points on `jobs` threads and hands each record to
// `done`, in point order, on the calling thread (the writer, the printed
// table). The first error stops the sweep: no later point is handed over.
// `progress(points_done)` is called on the calling thread as points finish.
// With one job and a WRITER, each point is written straight into it
// (Sweep::run_point's INTO): no image, no copy.
Status run_sweep(const Sweep& sweep, int jobs, const std::function<Status(PointRecord&)>& done,
                 const std::function<void(std::int64_t)>& progress = {}, SweepWriter* writer = nullptr);

// Overrides as a governance change (`--at SEQ`): the param events that set
// each override's param path (markets.<M>.<key>, assets.<A>.<key>,
// liquidation.<key>) to its value in the overridden configuration, in the
// order the overrides first name them, and a market's whole tier list when
// its computed amounts change. CURRENT is the configuration in force at the
// event (the base with the log's params so far). Errors are those of
// apply_overrides, or of a param that is not valid where it is applied.
Result<std::vector<ParamEvent>> overrides_as_params(const Config& current,
                                                    const std::vector<std::string>& overrides,
                                                    const std::string& file);

// The printed forms (`liqsim sweep`, `liqsim-mpi sweep`): a table with one
// row per point (the swept values, then liquidations, liquidated notional,
// bad debt, insurance paid, ADL, socialized loss, rejected, fund at the end,
// state hash), and one JSON object per point:
// {"point":I,"run_id":R,"values":{PATH:VALUE,...}, then the replay's --json fields}.
std::string sweep_table(const std::vector<GridAxis>& axes, const std::vector<PointRecord>& records);
std::string point_json(const PointRecord& record);

}  // namespace liqsim
