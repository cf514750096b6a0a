// stress_run.hpp — stress tests of a book: scenario paths forked from one
// snapshot and run through the engine (`liqsim stress run`), and the
// liquidation curve of instantaneous moves (`liqsim stress curve`).
//
// Owns: the scenario file (kinds shock, historical, fhs, gbm, depeg, freeze)
// and the price path each of its paths applies; the start state (the book
// after the log's events up to --at) that every path forks from; what one
// path measures (bad debt, fund, liquidations, each account's deficit and
// equity loss); the distribution over a scenario's paths (VaR and ES by
// stress.hpp's estimator, the fund's exhaustion, cover-1 and cover-2, the
// accounts whose maintenance margin does not cover their 99 % loss); and the
// rows of the stress tables; a run in shards (--shard I/N) and their merge
// (`liqsim stress merge`). Guarantees:
//   * a path is the replay of the log up to --at followed by the path's
//     events, through the same engine: its state hash is that of `liqsim
//     replay` over the log with those events appended (tests/cli_stress.sh);
//   * everything that can be refused (the file, a kind, a field, an asset,
//     a matrix, zero paths) is refused by StressRun::prepare, before any path
//     runs or anything is written;
//   * the paths are numbered in scenario order and every figure is computed
//     from them in that order, so the results do not depend on --jobs or on
//     thread scheduling; randomness is SplitMix64 with a seed from the file;
//   * the merge of a run's shards is the database the unsharded run writes
//     (but for the stress_runs row's times; tests/cli_stress.sh);
//   * no `double` reaches a price except through stress_exp (basic IEEE
//     operations only, compiled without contraction), then rounded toward
//     zero to 8 decimals; every figure is fixed point.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/splitmix64.hpp"
#include "liqsim/stress.hpp"
#include "liqsim/sweep.hpp"

namespace liqsim {

class ResultsDb;

// ---- deterministic functions of the Monte Carlo paths ----
//
// e^x and ln x from IEEE double's basic operations alone (+, −, ×, ÷ and
// exact scaling by powers of two), so every compiler and build gives the same
// bits (no libm, no fused multiply-add: the module is compiled with
// -ffp-contract=off). Relative error below 1e-15 on the ranges the paths use.
double stress_exp(double x);
double stress_log(double x);  // x > 0

// Standard normal draws from SplitMix64 by Marsaglia's polar method: u, v
// uniform in (−1, 1) from the top 53 bits of one output each, s = u² + v²,
// rejected unless 0 < s < 1, then u·√(−2 ln s / s) and v·√(−2 ln s / s)
// (√ is IEEE's correctly rounded square root).
class NormalSampler {
 public:
  explicit NormalSampler(std::uint64_t seed) : rng_(seed) {}
  double next();

 private:
  SplitMix64 rng_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// The lower-triangular L with L·Lᵀ = C of a correlation matrix C (row major,
// n × n), for a C that is symmetric with a unit diagonal, entries in [−1, 1]
// and positive semi-definite (a pivot below −1e-9 refuses it; a pivot within
// 1e-12 of zero is a dependent row). An Error of kind config says which.
Result<std::vector<double>> cholesky(const std::vector<double>& c, std::size_t n);

// ---- scenarios ----

enum class ScenarioKind : std::uint8_t { shock, historical, fhs, gbm, depeg, freeze };
const char* scenario_kind_name(ScenarioKind k);

// One asset's price over a price log (historical, fhs): its ticks at the
// log's timestamps, in order.
struct PriceSeries {
  Sym asset = kNoSym;
  std::vector<std::int64_t> ts;
  std::vector<Price> price;
};

struct Scenario {
  std::string name;  // "name" in the file, or "<kind>-<index>"
  ScenarioKind kind = ScenarioKind::shock;
  std::string spec_json;  // the scenario's object as given (compact)
  std::int64_t paths = 1;
  // shock, freeze (optional moves): per asset, the move at the last step
  std::vector<std::pair<Sym, Ratio>> moves;
  std::int64_t steps = 10;
  std::int64_t interval_ms = 60'000;
  // historical, fhs: each asset's series, the windows' starts
  std::vector<PriceSeries> series;
  std::int64_t window_ms = 0, step_ms = 0;
  std::vector<std::int64_t> window_starts;
  Ratio lambda = Ratio::from_raw(94'000'000);
  // fhs: per series, the scaled simple return of each tick after the first
  // (its index t + 1), at 1e-8: −fhs_losses of the long's losses.
  std::vector<std::vector<Ratio>> scaled_returns;
  // gbm
  std::uint64_t seed = 0;
  std::vector<std::pair<Sym, double>> vols;  // annualised (365 days), per asset
  std::vector<double> chol;                  // the correlation's Cholesky factor (empty: independent)
  // depeg: the asset goes linearly to `level` over duration_ms in `steps`
  // steps; freeze: the asset's collateral_weight is 0 from at_ms on.
  Sym asset = kNoSym;
  Price level;
  std::int64_t duration_ms = 0;
  std::int64_t at_ms = 0;
  std::string freeze_path;  // "assets.<A>.collateral_weight"
};

// The start state's prices and time, which a path's events are built from.
struct StressStart {
  std::int64_t ts_ms = 0;                 // the ts of the last event of the start state
  std::vector<std::pair<Sym, Price>> px;  // each asset's price in the start state
  std::optional<Price> price_of(Sym asset) const;
};

// Reads a scenario file: {"scenarios": [S, ...]} or one scenario object S.
// Checks every field (an unknown kind or field, an asset the configuration
// lacks or that has no price at the start, α or λ outside (0, 1), a matrix
// that is not a symmetric positive semi-definite correlation, zero paths);
// an Error of kind config names the file and the field
// ("scenarios[1].vol.ETH"). A price log a scenario names is read relative to
// the file's folder.
Result<std::vector<Scenario>> load_scenarios(const std::string& path, const Config& config,
                                             const StressStart& start, Symbols& symbols);

// Path P (0-based, P < scenario.paths) of a scenario as input events, in
// time order, from the start state.
std::vector<InputEvent> scenario_path(const Scenario& scenario, std::int64_t p, const StressStart& start);

// ---- the run ----

struct StressRequest {
  std::string label;
  std::string config_path, events_path, scenarios_path;
  std::int64_t at_seq = -1;  // -1: the whole log
};

// What one path measured, from the start state.
struct PathResult {
  std::int64_t path = 0;  // across the file, in scenario order
  std::size_t scenario = 0;
  std::int64_t index = 0;  // within its scenario
  UsdSum bad_debt, insurance_paid, adl_amount, socialized_loss, liquidated_notional;
  std::int64_t liquidations = 0;
  Usd fund_min;  // the fund's lowest balance, the start included
  std::int64_t end_ts = 0;
  std::string state_hash;
  // Each account's deficits summed (bankruptcy events), largest first (ties: engine order).
  std::vector<std::pair<Sym, UsdSum>> deficits;
  // Each assessed account's equity loss (start equity − end equity), in
  // the order of StressRun::accounts().
  std::vector<std::int64_t> equity_loss;
};

// An account with a position at the start: what its margin is measured against.
struct StressAccount {
  Sym name = kNoSym;
  std::size_t engine_index = 0;
  __int128 equity = 0;           // raw 1e-8 USD
  std::int64_t maintenance = 0;  // raw 1e-8 USD
};

// What the statistics, their rows and their printed forms read of a stress
// run: the start state's figures, the scenarios, the assessed accounts. A
// StressRun has one (StressRun::frame); `liqsim stress merge` builds one from
// the shards' rows, whose scenarios then hold name, kind, spec_json and paths
// alone.
struct StressFrame {
  std::int64_t start_seq = 0, start_ts = 0;
  std::string start_state_hash;
  std::int64_t start_accounts = 0;  // every account in the start state
  Usd insurance_fund;               // the fund at the start
  std::vector<Scenario> scenarios;
  std::vector<std::int64_t> first_path;  // per scenario: its first path's index
  std::int64_t paths = 0;                // over every scenario
  std::vector<StressAccount> accounts;   // the assessed ones, in engine order
  const Symbols* symbols = nullptr;      // their names (and the assets')
  const std::string& name(Sym s) const { return symbols->name(s); }
};

// The distribution of one figure over a scenario's paths.
struct FigureStats {
  std::int64_t n = 0;
  Ratio mean, max;
  Ratio var95, es95, var975, es975, var99, es99;  // raw 1e-8 USD held as Ratio raw
};

struct AccountTail {
  Sym name = kNoSym;
  __int128 equity = 0;
  std::int64_t maintenance = 0;
  std::int64_t var99 = 0, es99 = 0;  // of the equity loss
  bool covered() const { return var99 <= maintenance; }
  std::int64_t shortfall() const { return var99 - maintenance; }
};

struct ScenarioStats {
  std::size_t scenario = 0;
  std::int64_t paths = 0;
  FigureStats bad_debt, liquidated_notional, insurance_drawdown;
  std::int64_t exhausted_paths = 0;           // paths where a deficit went past the fund (ADL or socialized)
  std::int64_t worst_path = -1;               // largest bad debt (ties: the lowest path)
  std::vector<std::pair<Sym, UsdSum>> cover;  // the worst path's two largest defaulters
  Usd fund_start;
  std::vector<AccountTail> accounts;  // every assessed account, in engine order
  std::int64_t accounts_covered = 0;
};

class StressRun {
 public:
  // Reads and checks the configuration, the log and the scenario file, and
  // runs the log up to --at: the snapshot every path forks from.
  static Result<std::unique_ptr<StressRun>> prepare(const StressRequest& request);
  ~StressRun();

  const std::vector<Scenario>& scenarios() const;
  std::int64_t path_count() const;  // over every scenario
  const StressStart& start() const;
  const Symbols& symbols() const;
  const Summary& start_summary() const;  // the start state's (its state hash included)
  const std::vector<StressAccount>& accounts() const;
  std::int64_t start_seq() const;  // the seq the first path event gets
  std::string config_json() const;
  std::string config_sha256() const;
  const std::string& events_path() const;
  std::string events_sha256() const;
  std::string scenarios_json() const;  // the file, compact
  const Config& config() const;
  const Engine& snapshot() const;  // the start state
  const StressFrame& frame() const;

  // Runs path P (0 ≤ P < path_count()): a fork of the snapshot. Safe to
  // call from several threads at once.
  Result<PathResult> run_path(std::int64_t p) const;
  // The same in SCRATCH, an engine kept by the caller from one path to the
  // next (empty at first): each path reuses its memory (Engine::assign).
  Result<PathResult> run_path(std::int64_t p, std::optional<Engine>& scratch) const;

 private:
  StressRun();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The paths of SHARD (path p is in shard I of N when p mod N = I; {0, 1}:
// every path), run on `jobs` threads; `done` gets each result in path order
// on the calling thread. The first error stops the run.
std::int64_t shard_path_count(std::int64_t paths, const Shard& shard);
Status run_stress(const StressRun& run, int jobs, const std::function<Status(PathResult&)>& done,
                  const std::function<void(std::int64_t)>& progress = {}, const Shard& shard = {});

// Accumulates the paths of one scenario into its statistics. Paths may come
// in any order and in parts (the shards of a run, `liqsim stress merge`): the
// figures are sorted, the worst path is the largest bad debt with ties to the
// lowest path, each account keeps the largest losses the 99 % estimator reads
// of the scenario's whole path count.
class ScenarioAccumulator {
 public:
  ScenarioAccumulator(const StressFrame& frame, std::size_t scenario);
  void add(const PathResult& path);
  // The parts of add, for paths read back from a shard's rows.
  void add_figures(const UsdSum& bad_debt, const UsdSum& liquidated_notional, const UsdSum& drawdown,
                   bool exhausted);
  void offer_worst(std::int64_t path, const UsdSum& bad_debt,
                   const std::vector<std::pair<Sym, UsdSum>>& cover);
  void offer_loss(std::size_t account, std::int64_t loss);
  Result<ScenarioStats> finish() const;

  std::size_t scenario() const { return scenario_; }
  std::int64_t paths_added() const { return static_cast<std::int64_t>(bad_debt_.size()); }
  std::int64_t worst_path() const { return worst_; }  // -1: no path yet
  const UsdSum& worst_bad_debt() const { return worst_bad_debt_; }
  const std::vector<std::pair<Sym, UsdSum>>& cover() const { return cover_; }
  // Per assessed account: its largest losses so far (at most the kept count), in no order.
  const std::vector<std::vector<std::int64_t>>& tails() const { return tail_; }

 private:
  const StressFrame* frame_;
  std::size_t scenario_;
  std::vector<Ratio> bad_debt_, liquidated_, drawdown_;
  std::int64_t exhausted_ = 0, worst_ = -1;
  UsdSum worst_bad_debt_;
  std::vector<std::pair<Sym, UsdSum>> cover_;
  std::size_t keep_ = 1;                         // the 99 % tail each account keeps
  std::vector<std::vector<std::int64_t>> tail_;  // per account: its largest losses, a min-heap
};

// ---- the liquidation curve ----

struct CurvePoint {
  Sym asset = kNoSym;
  Ratio move;                    // −0.50 … +0.50
  UsdSum liquidatable_notional;  // units below maintenance after the move, before any liquidation
  std::int64_t liquidatable_units = 0;
  UsdSum bad_debt_direct;      // their deficits at the moved price (no impact, no cascade)
  UsdSum liquidated_notional;  // with the engine: the move as one price event, cascade included
  UsdSum bad_debt;             // the same run's bad debt
  std::int64_t liquidations = 0;
};

// For each underlying of the configuration's markets and each move in
// MOVES: the start state with that asset moved, without and with the
// cascade. Runs on `jobs` threads; the result is in (asset, move) order.
Result<std::vector<CurvePoint>> liquidation_curve(const StressRun& run, const std::vector<Ratio>& moves,
                                                  int jobs);

// ---- the database and the printed forms ----

// The one writer of a stress run's rows (docs/RESULTS.md, "Stress tests"):
// the stress_runs row, then each path, each scenario's statistics and
// accounts (or the curve), in one transaction committed by finish(). A shard
// (SHARD.count > 1) writes its stress_shards row, its paths and, per
// scenario, what `liqsim stress merge` needs of them (add_shard_part) in place
// of the statistics.
class StressWriter {
 public:
  // COMMAND: "run" or "curve".
  static Result<std::unique_ptr<StressWriter>> open(const std::string& db_path, const StressRun& run,
                                                    const std::string& command, const std::string& label,
                                                    std::int64_t started_unix_ms, int busy_timeout_ms,
                                                    const Shard& shard = {});
  ~StressWriter();
  Status add_path(const PathResult& path);
  Status add_scenario(const ScenarioStats& stats);
  Status add_shard_part(const ScenarioAccumulator& part);
  Status add_curve(const std::vector<CurvePoint>& curve);
  Result<std::int64_t> finish(std::int64_t finished_unix_ms);  // the stress_runs id
  void abandon();

 private:
  StressWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A scenario's stress_scenarios, stress_stats and stress_accounts rows, into
// DB (inside an import) for stress run STRESS_ID.
Status write_scenario_rows(ResultsDb& db, std::int64_t stress_id, const StressFrame& frame,
                           const ScenarioStats& stats);

// `liqsim stress merge`: the shards of one stress run (each written by
// `liqsim stress run --shard I/N`, one per input file) joined into OUT as the
// unsharded run writes it: the stress_runs row, every path in path order,
// each scenario's statistics recomputed from the shards' paths and tails.
// Refuses (kind usage, naming the file and what differs) an input that is
// not one finished shard, shards of different runs, a shard given twice or
// missing, before anything is written; one transaction.
struct StressMerged {
  std::int64_t id = 0;  // the stress_runs id in OUT
  std::string label;
  Symbols symbols;
  StressFrame frame;
  std::vector<ScenarioStats> stats;
};
Result<std::unique_ptr<StressMerged>> merge_stress_shards(const std::string& out,
                                                          const std::vector<std::string>& inputs,
                                                          int busy_timeout_ms, std::int64_t now_unix_ms);

// `liqsim stress run`'s text: per scenario, the VaR/ES table of bad debt,
// liquidated notional and insurance drawdown, the fund's exhaustion, cover-1
// and cover-2, the accounts' coverage and their 20 largest shortfalls.
std::string stress_text(const StressFrame& frame, const std::vector<ScenarioStats>& stats,
                        const std::string& label);
// --json: one object (docs/RESULTS.md shows its fields).
std::string stress_json(const StressFrame& frame, const std::vector<ScenarioStats>& stats,
                        const std::string& label);
std::string curve_text(const StressRun& run, const std::vector<CurvePoint>& curve, const std::string& label);
std::string curve_json(const StressRun& run, const std::vector<CurvePoint>& curve, const std::string& label);

}  // namespace liqsim
