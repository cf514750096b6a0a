// results_db.cpp — the SQLite results sink (schema in docs/RESULTS.md).
//
// One run is one transaction: begin_run takes the write lock with
// BEGIN IMMEDIATE, every row of the run is written through prepared
// statements that are reused, and finish_run commits. abort_run, a failed
// statement followed by abort_run, or destroying the object mid-run rolls
// everything back, so a run appears whole or not at all and earlier runs are
// untouched. Money is stored twice: exact canonical decimal TEXT and a REAL
// companion (`<name>_f`) for charts and sorting.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "liqsim/json.hpp"
#include "liqsim/results.hpp"

namespace liqsim {

namespace {

const char* const kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  config_json TEXT NOT NULL,
  events_path TEXT NOT NULL,
  events_sha256 TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  series_interval_ms INTEGER NOT NULL,
  complete INTEGER NOT NULL DEFAULT 0,
  state_hash TEXT,
  first_ts INTEGER, last_ts INTEGER,
  events INTEGER, rejected INTEGER, margin_calls INTEGER, liquidations INTEGER,
  liquidated_notional TEXT, liquidated_notional_f REAL,
  liquidation_fees TEXT, liquidation_fees_f REAL,
  bad_debt TEXT, bad_debt_f REAL,
  insurance_fund TEXT, insurance_fund_f REAL,
  adl_events INTEGER,
  socialized_loss TEXT, socialized_loss_f REAL,
  bankruptcies INTEGER, accounts INTEGER, cascade_rounds_max INTEGER, impact_liquidations INTEGER,
  adl_amount TEXT, adl_amount_f REAL,
  insurance_paid TEXT, insurance_paid_f REAL
);
CREATE TABLE IF NOT EXISTS events (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  n INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  type TEXT NOT NULL,
  account TEXT, counterparty TEXT, market TEXT, asset TEXT, side TEXT, margin TEXT,
  qty TEXT, qty_f REAL,
  price TEXT, price_f REAL,
  mark TEXT, mark_f REAL,
  notional TEXT, notional_f REAL,
  fee TEXT, fee_f REAL,
  amount TEXT, amount_f REAL,
  deficit TEXT, deficit_f REAL,
  balance TEXT, balance_f REAL,
  margin_ratio TEXT, margin_ratio_f REAL,
  proceeds TEXT, proceeds_f REAL,
  reason TEXT,
  round INTEGER,
  PRIMARY KEY (run_id, n)
);
CREATE TABLE IF NOT EXISTS market_series (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  market TEXT NOT NULL,
  interval_start_ms INTEGER NOT NULL,
  mark_open TEXT, mark_open_f REAL,
  mark_close TEXT, mark_close_f REAL,
  mark_min TEXT, mark_min_f REAL,
  mark_max TEXT, mark_max_f REAL,
  open_interest_long TEXT, open_interest_long_f REAL,
  open_interest_short TEXT, open_interest_short_f REAL,
  liquidated_notional TEXT, liquidated_notional_f REAL,
  liquidations INTEGER NOT NULL,
  PRIMARY KEY (run_id, market, interval_start_ms)
);
CREATE TABLE IF NOT EXISTS insurance_fund (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  n INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  amount TEXT NOT NULL, amount_f REAL NOT NULL,
  balance TEXT NOT NULL, balance_f REAL NOT NULL,
  PRIMARY KEY (run_id, n)
);
CREATE TABLE IF NOT EXISTS accounts (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  account TEXT NOT NULL,
  state TEXT NOT NULL,
  cross_equity TEXT, cross_equity_f REAL,
  isolated_equity TEXT, isolated_equity_f REAL,
  maintenance_requirement TEXT, maintenance_requirement_f REAL,
  initial_requirement TEXT, initial_requirement_f REAL,
  gross_notional TEXT, gross_notional_f REAL,
  collateral_value TEXT, collateral_value_f REAL,
  positions INTEGER NOT NULL,
  effective_leverage REAL,
  PRIMARY KEY (run_id, account)
);
CREATE TABLE IF NOT EXISTS markets (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  market TEXT NOT NULL,
  mark TEXT, mark_f REAL,
  open_interest_long TEXT, open_interest_long_f REAL,
  open_interest_short TEXT, open_interest_short_f REAL,
  PRIMARY KEY (run_id, market)
);
CREATE TABLE IF NOT EXISTS collateral (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  asset TEXT NOT NULL,
  value TEXT NOT NULL, value_f REAL NOT NULL,
  PRIMARY KEY (run_id, asset)
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  n INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  value_f REAL,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS cascades (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  market TEXT NOT NULL,
  rounds INTEGER NOT NULL,
  liquidations INTEGER NOT NULL,
  impact_liquidations INTEGER NOT NULL,
  notional TEXT, notional_f REAL,
  mark_before TEXT, mark_before_f REAL,
  oracle_after TEXT, oracle_after_f REAL,
  mark_extreme TEXT, mark_extreme_f REAL,
  amplification REAL,
  PRIMARY KEY (run_id, seq, market)
);
CREATE TABLE IF NOT EXISTS episodes (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  n INTEGER NOT NULL,
  account TEXT NOT NULL,
  market TEXT,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  bankrupt INTEGER NOT NULL,
  PRIMARY KEY (run_id, n)
);
CREATE TABLE IF NOT EXISTS sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  sweep_key TEXT NOT NULL,
  grid_json TEXT NOT NULL,
  base_config_json TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  events_path TEXT NOT NULL,
  events_sha256 TEXT NOT NULL,
  points INTEGER NOT NULL,
  at_seq INTEGER,
  prefix_run_id INTEGER REFERENCES runs(id),
  shard_index INTEGER NOT NULL,
  shard_count INTEGER NOT NULL,
  stored_rows TEXT NOT NULL,
  engine_version TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER
);
CREATE TABLE IF NOT EXISTS sweep_points (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  point INTEGER NOT NULL,
  axis INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  path TEXT NOT NULL,
  value TEXT NOT NULL,
  value_f REAL,
  PRIMARY KEY (sweep_id, point, axis)
);
CREATE VIEW IF NOT EXISTS sweep_summary AS
  SELECT p.sweep_id, p.point, r.id AS run_id, r.label,
         (SELECT json_group_object(q.path, json(q.value)) FROM sweep_points q
           WHERE q.sweep_id = p.sweep_id AND q.point = p.point) AS values_json,
         r.liquidations, r.liquidated_notional, r.liquidated_notional_f, r.bad_debt, r.bad_debt_f,
         r.insurance_paid, r.insurance_paid_f, r.adl_events, r.adl_amount, r.adl_amount_f,
         r.socialized_loss, r.socialized_loss_f, r.rejected, r.insurance_fund, r.insurance_fund_f,
         r.state_hash
  FROM (SELECT DISTINCT sweep_id, point, run_id FROM sweep_points) p JOIN runs r ON r.id = p.run_id;
CREATE TABLE IF NOT EXISTS stress_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  command TEXT NOT NULL,
  label TEXT NOT NULL,
  scenarios_json TEXT NOT NULL,
  config_json TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  events_path TEXT NOT NULL,
  events_sha256 TEXT NOT NULL,
  at_seq INTEGER NOT NULL,
  start_ts INTEGER NOT NULL,
  start_state_hash TEXT NOT NULL,
  accounts INTEGER NOT NULL,
  assessed_accounts INTEGER NOT NULL,
  insurance_fund TEXT NOT NULL,
  insurance_fund_f REAL NOT NULL,
  paths INTEGER NOT NULL,
  engine_version TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER
);
CREATE TABLE IF NOT EXISTS stress_scenarios (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  scenario INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  paths INTEGER NOT NULL,
  first_path INTEGER NOT NULL,
  exhausted_paths INTEGER NOT NULL,
  worst_path INTEGER NOT NULL,
  cover1_account TEXT,
  cover1 TEXT NOT NULL,
  cover1_f REAL NOT NULL,
  cover2_accounts TEXT,
  cover2 TEXT NOT NULL,
  cover2_f REAL NOT NULL,
  fund_covers_1 INTEGER NOT NULL,
  fund_covers_2 INTEGER NOT NULL,
  accounts_covered INTEGER NOT NULL,
  PRIMARY KEY (stress_id, scenario)
);
CREATE TABLE IF NOT EXISTS stress_paths (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  path INTEGER NOT NULL,
  scenario INTEGER NOT NULL,
  kind TEXT NOT NULL,
  path_index INTEGER NOT NULL,
  bad_debt TEXT NOT NULL,
  bad_debt_f REAL NOT NULL,
  insurance_paid TEXT NOT NULL,
  insurance_paid_f REAL NOT NULL,
  adl_amount TEXT NOT NULL,
  adl_amount_f REAL NOT NULL,
  socialized_loss TEXT NOT NULL,
  socialized_loss_f REAL NOT NULL,
  liquidations INTEGER NOT NULL,
  liquidated_notional TEXT NOT NULL,
  liquidated_notional_f REAL NOT NULL,
  fund_min TEXT NOT NULL,
  fund_min_f REAL NOT NULL,
  insurance_drawdown TEXT NOT NULL,
  insurance_drawdown_f REAL NOT NULL,
  max_account_deficit TEXT NOT NULL,
  max_account_deficit_f REAL NOT NULL,
  max_deficit_account TEXT,
  exhausted INTEGER NOT NULL,
  end_ts INTEGER NOT NULL,
  state_hash TEXT NOT NULL,
  PRIMARY KEY (stress_id, path)
);
CREATE TABLE IF NOT EXISTS stress_stats (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  scenario INTEGER NOT NULL,
  metric TEXT NOT NULL,
  n INTEGER NOT NULL,
  mean TEXT NOT NULL,
  max TEXT NOT NULL,
  var_95 TEXT NOT NULL,
  es_95 TEXT NOT NULL,
  var_97_5 TEXT NOT NULL,
  es_97_5 TEXT NOT NULL,
  var_99 TEXT NOT NULL,
  es_99 TEXT NOT NULL,
  PRIMARY KEY (stress_id, scenario, metric)
);
CREATE TABLE IF NOT EXISTS stress_accounts (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  scenario INTEGER NOT NULL,
  account TEXT NOT NULL,
  equity TEXT NOT NULL,
  maintenance TEXT NOT NULL,
  var_99 TEXT NOT NULL,
  es_99 TEXT NOT NULL,
  covered INTEGER NOT NULL,
  shortfall TEXT NOT NULL,
  shortfall_f REAL NOT NULL,
  PRIMARY KEY (stress_id, scenario, account)
);
CREATE TABLE IF NOT EXISTS stress_curve (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  asset TEXT NOT NULL,
  move TEXT NOT NULL,
  move_f REAL NOT NULL,
  price TEXT NOT NULL,
  liquidatable_units INTEGER NOT NULL,
  liquidatable_notional TEXT NOT NULL,
  liquidatable_notional_f REAL NOT NULL,
  bad_debt_direct TEXT NOT NULL,
  bad_debt_direct_f REAL NOT NULL,
  liquidations INTEGER NOT NULL,
  liquidated_notional TEXT NOT NULL,
  liquidated_notional_f REAL NOT NULL,
  bad_debt TEXT NOT NULL,
  bad_debt_f REAL NOT NULL,
  PRIMARY KEY (stress_id, asset, move)
);
CREATE TABLE IF NOT EXISTS stress_shards (
  stress_id INTEGER PRIMARY KEY REFERENCES stress_runs(id),
  shard_index INTEGER NOT NULL,
  shard_count INTEGER NOT NULL,
  shard_paths INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stress_shard_scenarios (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  scenario INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  paths INTEGER NOT NULL,
  first_path INTEGER NOT NULL,
  shard_paths INTEGER NOT NULL,
  worst_path INTEGER NOT NULL,
  worst_bad_debt TEXT NOT NULL,
  cover1_account TEXT,
  cover1 TEXT,
  cover2_account TEXT,
  cover2 TEXT,
  PRIMARY KEY (stress_id, scenario)
);
CREATE TABLE IF NOT EXISTS stress_shard_accounts (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  account_index INTEGER NOT NULL,
  account TEXT NOT NULL,
  equity TEXT NOT NULL,
  maintenance TEXT NOT NULL,
  PRIMARY KEY (stress_id, account_index)
);
CREATE TABLE IF NOT EXISTS stress_shard_tails (
  stress_id INTEGER NOT NULL REFERENCES stress_runs(id),
  scenario INTEGER NOT NULL,
  account_index INTEGER NOT NULL,
  losses TEXT NOT NULL,
  PRIMARY KEY (stress_id, scenario, account_index)
);
)sql";

// The secondary indexes of the events table (docs/RESULTS.md), kept apart
// from the tables: a run into an events table that holds no rows yet (a new
// database, the common case) drops them and builds them once its rows are in,
// inside its transaction, so a reader never sees a half-indexed table and a
// failed run leaves them as they were. Building an index costs about what
// maintaining it row by row costs per row, so over earlier runs' rows it would
// not pay: a run added to a table with rows maintains them as it goes.
const char* const kEventIndexes = R"sql(
CREATE INDEX IF NOT EXISTS events_run_ts ON events (run_id, ts);
CREATE INDEX IF NOT EXISTS events_run_account ON events (run_id, account);
CREATE INDEX IF NOT EXISTS events_run_market ON events (run_id, market);
CREATE INDEX IF NOT EXISTS events_run_type ON events (run_id, type);
)sql";
const char* const kDropEventIndexes = R"sql(
DROP INDEX IF EXISTS events_run_ts;
DROP INDEX IF EXISTS events_run_account;
DROP INDEX IF EXISTS events_run_market;
DROP INDEX IF EXISTS events_run_type;
)sql";

double as_double(std::int64_t raw) { return static_cast<double>(raw) / static_cast<double>(kScale); }

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_), scratch_(std::move(o.scratch_)) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    std::swap(scratch_, o.scratch_);
    return *this;
  }
  int prepare(sqlite3* db, const char* sql) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    // One buffer per parameter, allocated once: a buffer bound must not move.
    scratch_.assign(s_ ? static_cast<std::size_t>(sqlite3_bind_parameter_count(s_)) + 1 : 0, std::string());
    return rc;
  }
  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }
  void start() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  void i64(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void real(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void text_or_null(int i, const std::string& v) {
    if (!v.empty()) text(i, v);
  }
  // Text that stays unchanged until the next step (a name in the run's
  // symbols, a static string): bound without a copy.
  void text_static(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void text_static(int i, const char* v) { sqlite3_bind_text(s_, i, v, -1, SQLITE_STATIC); }
  void text_static_or_null(int i, const std::string& v) {
    if (!v.empty()) text_static(i, v);
  }
  // Exact decimal TEXT at i and its REAL companion at i + 1.
  template <class Tag>
  void decimal(int i, Fixed<Tag> v) {
    owned(i, v.str());
    real(i + 1, as_double(v.raw()));
  }
  template <class Tag>
  void decimal(int i, const Sum<Tag>& v) {
    owned(i, v.str());
    real(i + 1, v.to_double());
  }
  int step() { return sqlite3_step(s_); }

 private:
  // Text kept in the statement's own buffer for parameter i until the next
  // step, bound without a copy.
  void owned(int i, std::string v) {
    auto slot = static_cast<std::size_t>(i);
    if (slot >= scratch_.size()) {  // (not a parameter of the statement: SQLite reports the range error)
      sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
      return;
    }
    scratch_[slot] = std::move(v);
    text_static(i, scratch_[slot]);
  }
  sqlite3_stmt* s_ = nullptr;
  std::vector<std::string> scratch_;
};

// Per-market bucket of the time series.
struct Bucket {
  bool active = false;
  std::int64_t start = 0;
  Price open, close, low, high;
  Qty oi_long, oi_short;
  Usd liquidated;
  std::int64_t liquidations = 0;
  void see_mark(Price p) {
    if (!active) return;
    low = min_of(low, p);
    high = max_of(high, p);
  }
};

std::int64_t floor_to(std::int64_t ts, std::int64_t step) {
  std::int64_t q = ts / step;
  if (ts % step != 0 && ts < 0) --q;
  return q * step;
}

// ---- the writer thread ----
//
// SQLite's inserts are most of what --out costs during a run, and nothing in
// the replay waits for them: the replay's thread captures each event's rows
// into a batch and a writer thread inserts the batches, in the order they
// were handed over, so the database is the one a single thread writes. The
// connection is used by one thread at a time: the writer from the first
// hand-off of a run until stop(), the replay's thread before and after.
struct MarketPoint {
  Price mark;
  Qty oi_long, oi_short;
};
struct Observed {  // one input event's share of a batch
  std::int64_t ts = 0;
  std::size_t derived_begin = 0, derived_end = 0;
  std::size_t points_begin = 0, points_end = 0;  // one per market when the marks may have moved
};
struct Batch {
  std::vector<std::string> new_names;  // Syms interned since the last batch, in id order
  std::vector<Observed> events;
  std::vector<DerivedEvent> derived;
  std::vector<MarketPoint> points;
  void clear() {
    new_names.clear();
    events.clear();
    derived.clear();
    points.clear();
  }
};

class Writer {
 public:
  static constexpr std::size_t kBatchEvents = 4096;  // input events per batch
  static constexpr std::size_t kBatchRows = 4096;    // derived events per batch
  static constexpr std::size_t kQueued = 4;          // full batches waiting, at most

  Writer() = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() { abandon(); }

  // Starts the thread; STORE writes one batch (on the writer thread).
  void start(std::function<Status(const Batch&)> store) {
    abandon();
    store_ = std::move(store);
    failed_ = false;
    error_ = Status{};
    closing_ = false;
    filling_.clear();
    thread_ = std::thread([this] { run(); });
  }
  Batch& filling() { return filling_; }
  // The filling batch to the thread (waits while kQueued batches wait).
  void hand_off() {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return full_.size() < kQueued || failed_; });
    if (failed_) {
      filling_.clear();
      return;
    }
    full_.push_back(std::move(filling_));
    if (!spare_.empty()) {
      filling_ = std::move(spare_.back());
      spare_.pop_back();
    } else {
      filling_ = Batch{};
    }
    work_.notify_one();
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  Status error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // Waits until every batch handed over is stored; the first error, if any.
  Status stop() {
    if (!thread_.joinable()) return error();
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      work_.notify_one();
    }
    thread_.join();
    return error();
  }
  // Stops without storing what waits.
  void abandon() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      full_.clear();
      closing_ = true;
      work_.notify_one();
    }
    thread_.join();
  }

 private:
  void run() {
    for (;;) {
      Batch batch;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return !full_.empty() || closing_; });
        if (full_.empty()) return;
        batch = std::move(full_.front());
        full_.pop_front();
      }
      Status st = store_(batch);
      batch.clear();
      std::lock_guard lock(mutex_);
      if (!st.ok() && !failed_) {
        error_ = st;
        failed_.store(true, std::memory_order_release);
        full_.clear();  // nothing after a failed batch is stored
      }
      spare_.push_back(std::move(batch));
      room_.notify_one();
    }
  }

  std::function<Status(const Batch&)> store_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable work_, room_;
  std::deque<Batch> full_;
  std::vector<Batch> spare_;
  Batch filling_;  // the replay's thread's
  bool closing_ = false;
  std::atomic<bool> failed_{false};
  Status error_;
};

class SqliteResultsDb final : public ResultsDb {
 public:
  using ResultsDb::finish_run;
  SqliteResultsDb(std::string path, ResultsOptions options, bool memory = false)
      : path_(std::move(path)), options_(options), memory_(memory) {}
  ~SqliteResultsDb() override {
    writer_.abandon();
    if (in_run_) rollback();
    import_stmts_.clear();
    stmts_.clear();
    ins_event_ = Stmt();
    ins_insurance_ = Stmt();
    ins_series_ = Stmt();
    sqlite3_close(db_);
    // Only after SQLite has closed its own descriptors: closing another
    // descriptor of the file would drop SQLite's POSIX locks on it.
    remove_if_unused();
    if (fd_ >= 0) ::close(fd_);
  }

  // The file's lifecycle among processes (docs/RESULTS.md, "Concurrent
  // writers"): every liqsim that opens a results database holds a shared
  // flock on it for as long as it has it open. A database file this object
  // created (O_EXCL) and committed nothing to is removed when it is closed,
  // but only under an exclusive flock — that is, only when no other liqsim
  // has it open — and only while it is still empty. A process that opened the
  // name just before such a removal finds, once it holds its shared lock, that
  // the name no longer leads to the file it opened, and starts again.
  Status open_file() {
    struct stat link {};
    if (::lstat(path_.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      struct stat target {};
      if (::stat(path_.c_str(), &target) != 0 && errno == ENOENT)
        return make_error_in(ErrorKind::usage,
                             "a symbolic link to a file that does not exist: name the file itself");
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.busy_timeout_ms);
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0 && std::chrono::steady_clock::now() > deadline)
        return make_io("the file kept being removed or replaced while it was opened");
      created_ = false;
      int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        created_ = true;
      } else if (errno == EEXIST) {
        fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT) continue;  // removed since: try again
      }
      if (fd < 0) return make_os_error(path_, "cannot open the results database", errno);
      struct stat mine {};
      if (::fstat(fd, &mine) != 0 || !S_ISREG(mine.st_mode)) {
        ::close(fd);
        return make_error_in(ErrorKind::usage, "not a regular file: a results database is a file");
      }
      if (Status st = lock_shared(fd, deadline); !st.ok()) {
        ::close(fd);  // (a file just created stays: whoever holds it exclusively may be using it)
        return st;
      }
      struct stat now {};
      if (::stat(path_.c_str(), &now) == 0 && now.st_dev == mine.st_dev && now.st_ino == mine.st_ino) {
        fd_ = fd;
        ino_ = mine.st_ino;
        dev_ = mine.st_dev;
        return {};
      }
      ::close(fd);  // the name was removed or replaced meanwhile: open it again
    }
  }

  Status lock_shared(int fd, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return {};
      if (errno != EWOULDBLOCK && errno != EINTR)
        return make_os_error(path_, "cannot lock the results database", errno);
      if (std::chrono::steady_clock::now() > deadline)
        return make_io("another process holds the results database exclusively");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Whether PATH still names the file this object opened.
  bool still_named() const {
    struct stat now {};
    return ::stat(path_.c_str(), &now) == 0 && now.st_dev == dev_ && now.st_ino == ino_;
  }

  void remove_if_unused() {
    if (fd_ < 0 || !created_ || committed_) return;
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) return;  // another liqsim has it open: it is theirs now
    struct stat mine {};
    if (::fstat(fd_, &mine) != 0 || mine.st_size != 0 || !still_named()) return;
    struct stat side {};
    for (const std::string& f : results_side_files(path_))
      if (::lstat(f.c_str(), &side) == 0) return;  // SQLite may still need what is beside it
    ::unlink(path_.c_str());
  }

  Status open() {
    if (!memory_)
      if (Status st = open_file(); !st.ok()) return st;
    // One thread uses the connection: no SQLite mutexes.
    int rc = sqlite3_open_v2(memory_ ? ":memory:" : path_.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return fail("cannot open the results database");
    sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
    sqlite3_extended_result_codes(db_, 1);
    // A run is one transaction of tens of thousands of rows over five B-trees;
    // with SQLite's default 2 MB cache, dirty pages spill to the journal and
    // file before the commit. Up to 256 MB of cache (used only as needed)
    // keeps a run in memory until it commits.
    if (!exec("PRAGMA cache_size = -262144") || !exec("PRAGMA temp_store = MEMORY"))
      return fail("cannot set the page cache");
    if (options_.series_interval_ms <= 0) return make_io("series interval must be positive");
    if (options_.max_page_count > 0 &&
        !exec(("PRAGMA max_page_count = " + std::to_string(options_.max_page_count)).c_str()))
      return fail("cannot set max_page_count");
    // Existing database: check its version without taking the write lock.
    int version = 0;
    bool has_table = false;
    {
      Stmt q;
      if (q.prepare(db_, "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'") !=
          SQLITE_OK)
        return fail("cannot read the schema");
      int s = q.step();
      if (s == SQLITE_ROW)
        has_table = true;
      else if (s != SQLITE_DONE)
        return fail("cannot read the schema");
    }
    if (has_table) {
      Stmt q;
      if (q.prepare(db_, "SELECT version FROM schema_version") != SQLITE_OK)
        return fail("cannot read schema_version");
      if (q.step() == SQLITE_ROW) version = sqlite3_column_int(q.get(), 0);
    }
    if (version == kResultsSchemaVersion) return {};
    if (version == 1) return {};  // migrated inside the first run's transaction (begin_run)
    if (version != 0)
      return make_io("schema_version is " + std::to_string(version) + ", this liqsim writes version " +
                     std::to_string(kResultsSchemaVersion));
    // No schema_version: only an empty database is taken (its schema is
    // created inside the first run's transaction, so a failed first run
    // leaves the file as empty as it was). Anything else is not ours.
    {
      Stmt q;
      if (q.prepare(db_, "SELECT COUNT(*) FROM sqlite_master") != SQLITE_OK || q.step() != SQLITE_ROW)
        return fail("cannot read the schema");
      if (sqlite3_column_int64(q.get(), 0) != 0)
        return make_io(
            "not a liqsim results database (it has tables but no schema_version); name a new file");
    }
    return {};
  }

  // Creates the schema if the database has none yet; inside the run's transaction.
  bool ensure_schema() {
    return exec(kSchema) &&
           exec(("INSERT INTO schema_version (version) SELECT " + std::to_string(kResultsSchemaVersion) +
                 " WHERE NOT EXISTS (SELECT 1 FROM schema_version)")
                    .c_str());
  }

  // Version 1 → 2: accounts gains isolated_equity(_f), NULL for earlier runs.
  // Inside the run's transaction (so a failed run leaves the file as it was),
  // reading the version under the write lock: another process may have
  // migrated it meanwhile.
  bool migrate_from_1() {
    int version = 0;
    {
      Stmt q;  // finalized before the schema changes
      if (q.prepare(db_, "SELECT version FROM schema_version") != SQLITE_OK || q.step() != SQLITE_ROW)
        return false;
      version = sqlite3_column_int(q.get(), 0);
    }
    if (version != 1) return true;
    return exec("ALTER TABLE accounts ADD COLUMN isolated_equity TEXT") &&
           exec("ALTER TABLE accounts ADD COLUMN isolated_equity_f REAL") &&
           exec(("UPDATE schema_version SET version = " + std::to_string(kResultsSchemaVersion)).c_str());
  }

  // Inside the run's transaction: into an events table without rows, the run
  // writes its rows unindexed and build_event_indexes indexes them before the
  // commit (kEventIndexes); otherwise the indexes are kept as rows go in.
  Status prepare_event_indexes() {
    bool empty = true;
    {
      Stmt q;  // finalized before the schema changes
      if (q.prepare(db_, "SELECT 1 FROM events LIMIT 1") != SQLITE_OK)
        return fail_run("cannot read the events table");
      int s = q.step();
      if (s == SQLITE_ROW)
        empty = false;
      else if (s != SQLITE_DONE)
        return fail_run("cannot read the events table");
    }
    defer_event_indexes_ = empty;
    if (!exec(empty ? kDropEventIndexes : kEventIndexes))
      return fail_run("cannot prepare the events indexes");
    return {};
  }

  Status build_event_indexes() {
    if (!defer_event_indexes_) return {};
    if (memory_) return {};  // an image to be copied: the copy is indexed
    if (!exec(kEventIndexes)) return fail_run("cannot index the run's events");
    defer_event_indexes_ = false;
    return {};
  }

  // Kept and written by finish_run (the writer thread may be using the
  // connection until then).
  Status record_events_sha256(const std::string& hex) override {
    if (!in_run_) return make_io("no run is being written");
    events_sha256_ = hex;
    return {};
  }

  Status begin_run(const RunInfo& info, const Symbols& symbols) override {
    return start_run(info, symbols, true);
  }

  // WRITER_THREAD: the rows of observed events are stored by the writer
  // thread (off: by store_recorded, on the calling thread).
  Status start_run(const RunInfo& info, const Symbols& symbols, bool writer_thread) {
    if (recording_) {  // recorder(): nothing but what the rows need, kept for store_recorded
      if (in_run_) return make_io("a run is already being recorded");
      symbols_ = &symbols;
      recorded_info_ = info;
      recorded_.clear();
      rec_filling_.clear();
      in_run_ = true;
      failed_ = false;
      first_ts_ = -1;
      last_ts_ = -1;
      market_names_.clear();
      names_synced_ = 0;
      events_sha256_.clear();
      return {};
    }
    // Inside an import (a sweep writing its points straight in): the run is
    // part of the import's transaction, which the schema and indexes were
    // prepared for, and commit_import commits it.
    if (importing_ && !nested_) {
      nested_ = true;
      symbols_ = &symbols;
    } else {
      if (in_run_) return make_io("a run is already being written");
      symbols_ = &symbols;
      failed_ = false;
      if (!exec("BEGIN IMMEDIATE")) return fail("cannot start the run's transaction");
      in_run_ = true;
      if (!ensure_schema()) return fail_run("cannot create the schema");
      if (!migrate_from_1()) return fail_run("cannot migrate the schema from version 1");
      if (Status st = prepare_event_indexes(); !st.ok()) return st;
    }
    Stmt ins;
    if (ins.prepare(
            db_,
            "INSERT INTO runs (label, config_json, events_path, events_sha256, engine_version, started_ms, "
            "series_interval_ms, complete) VALUES (?,?,?,?,?,?,?,0)") != SQLITE_OK)
      return fail_run("cannot write the run");
    ins.text(1, info.label);
    ins.text(2, info.config_json);
    ins.text(3, info.events_path);
    ins.text(4, info.events_sha256);
    ins.text(5, info.engine_version);
    ins.i64(6, info.started_unix_ms);
    ins.i64(7, options_.series_interval_ms);
    if (ins.step() != SQLITE_DONE) return fail_run("cannot write the run");
    run_id_ = sqlite3_last_insert_rowid(db_);
    if (!ins_event_ &&
        ins_event_.prepare(
            db_,
            "INSERT INTO events (run_id, n, seq, ts, type, account, counterparty, market, asset, side, "
            "margin, qty, qty_f, price, price_f, mark, mark_f, notional, notional_f, fee, fee_f, amount, "
            "amount_f, deficit, deficit_f, balance, balance_f, margin_ratio, margin_ratio_f, proceeds, "
            "proceeds_f, reason, round) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the event statement");
    if (!ins_insurance_ &&
        ins_insurance_.prepare(
            db_,
            "INSERT INTO insurance_fund (run_id, n, seq, ts, amount, amount_f, balance, balance_f) "
            "VALUES (?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the insurance statement");
    if (!ins_series_ &&
        ins_series_.prepare(
            db_,
            "INSERT INTO market_series (run_id, market, interval_start_ms, mark_open, mark_open_f, "
            "mark_close, mark_close_f, mark_min, mark_min_f, mark_max, mark_max_f, open_interest_long, "
            "open_interest_long_f, open_interest_short, open_interest_short_f, liquidated_notional, "
            "liquidated_notional_f, liquidations) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the series statement");
    event_n_ = 0;
    insurance_n_ = 0;
    first_ts_ = -1;
    last_ts_ = -1;
    market_names_.clear();
    market_of_sym_.clear();
    buckets_.clear();
    names_.clear();
    names_synced_ = 0;
    events_sha256_.clear();
    if (writer_thread) writer_.start([this](const Batch& batch) { return store(batch); });
    return {};
  }

  // The replay's thread only captures what a row needs (the derived events,
  // and the marks and open interest when they may have moved) into a batch;
  // the writer thread turns batches into rows, in order (Writer below).
  Status observe(const InputEvent& event, std::int64_t /*seq*/, const std::vector<DerivedEvent>& derived,
                 const Engine& engine) override {
    if (!in_run_) return make_io("observe without begin_run");
    if (failed_) return make_io("the run already failed; abort it");
    if (writer_.failed()) {
      failed_ = true;
      return writer_.error();
    }
    if (first_ts_ < 0) first_ts_ = event.ts_ms;
    last_ts_ = event.ts_ms;
    if (!options_.detail_rows) return {};  // the summary only
    bool marks_moved =
        std::holds_alternative<PriceEvent>(event.body) || std::holds_alternative<TradeEvent>(event.body);
    for (const DerivedEvent& d : derived)
      if (std::holds_alternative<LiquidationEvent>(d.body) || std::holds_alternative<AdlEvent>(d.body))
        marks_moved = true;
    if (derived.empty() && !marks_moved) return {};
    if (market_names_.empty())
      for (std::size_t m = 0; m < engine.market_count(); ++m)
        market_names_.push_back(engine.config().markets[m].name);
    Batch& b = filling();
    Observed o;
    o.ts = event.ts_ms;
    o.derived_begin = b.derived.size();
    b.derived.insert(b.derived.end(), derived.begin(), derived.end());
    o.derived_end = b.derived.size();
    o.points_begin = b.points.size();
    // The marks and open interest read market by market (no view of names
    // built per event: this runs on every tick).
    if (marks_moved)
      for (std::size_t m = 0; m < market_names_.size(); ++m)
        b.points.push_back(
            MarketPoint{engine.mark(m), engine.open_interest_long(m), engine.open_interest_short(m)});
    o.points_end = b.points.size();
    b.events.push_back(o);
    if (b.events.size() >= Writer::kBatchEvents || b.derived.size() >= Writer::kBatchRows) hand_off();
    return {};
  }

  Result<std::int64_t> finish_run(const Summary& summary, const SummaryFields& fields,
                                  const MetricsCollector& metrics, const Engine& engine,
                                  std::int64_t finished_unix_ms) override {
    if (!in_run_) return make_io("finish_run without begin_run").error();
    if (failed_) return make_io("the run already failed; abort it").error();
    hand_off();
    if (recording_) {
      recorded_summary_ = summary;
      recorded_fields_ = fields;
      recorded_finished_ = finished_unix_ms;
      in_run_ = false;
      return std::int64_t{0};
    }
    if (Status st = writer_.stop(); !st.ok()) {
      failed_ = true;
      return st.error();
    }
    return complete_run(summary, fields, metrics, engine, finished_unix_ms);
  }

  // A run a recorder() recorded, stored here as if it had been observed here
  // (the same rows); METRICS and ENGINE are the recorded replay's, at its end.
  Result<std::int64_t> store_recorded(ResultsDb& recorder, const MetricsCollector& metrics,
                                      const Engine& engine) override {
    auto* r = dynamic_cast<SqliteResultsDb*>(&recorder);
    if (!r || !r->recording_ || r->in_run_ || !r->symbols_)
      return make_io("store_recorded needs a finished recording").error();
    if (Status st = start_run(r->recorded_info_, *r->symbols_, false); !st.ok()) return st.error();
    market_names_ = r->market_names_;
    for (const Batch& b : r->recorded_)
      if (Status st = store(b); !st.ok()) return st.error();
    events_sha256_ = r->events_sha256_;
    first_ts_ = r->first_ts_;
    last_ts_ = r->last_ts_;
    return complete_run(r->recorded_summary_, r->recorded_fields_, metrics, engine, r->recorded_finished_);
  }

  Result<std::int64_t> complete_run(const Summary& summary, const SummaryFields& fields,
                                    const MetricsCollector& metrics, const Engine& engine,
                                    std::int64_t finished_unix_ms) {
    if (!events_sha256_.empty()) {
      Stmt up;
      if (up.prepare(db_, "UPDATE runs SET events_sha256=? WHERE id=?") != SQLITE_OK)
        return fail_run("cannot prepare the checksum statement").error();
      up.text(1, events_sha256_);
      up.i64(2, run_id_);
      if (up.step() != SQLITE_DONE) return fail_run("cannot record the log's checksum").error();
    }
    for (std::size_t m = 0; m < buckets_.size(); ++m)
      if (Status st = flush_bucket(m); !st.ok()) return st.error();
    if (Status st = write_final_state(fields, metrics, engine); !st.ok()) return st.error();
    if (Status st = write_summary(summary, finished_unix_ms); !st.ok()) return st.error();
    if (nested_) {
      nested_ = false;
      return run_id_;  // committed with the import
    }
    if (Status st = build_event_indexes(); !st.ok()) return st.error();
    if (!exec("COMMIT")) {
      Status st = fail_run("cannot commit the run");
      rollback();
      return st.error();
    }
    in_run_ = false;
    committed_ = true;
    // A run reported as stored is in the file named: if the name was removed
    // or replaced while the run was written (not by a liqsim, which would
    // have waited for this process's lock), say so.
    if (!memory_ && !still_named())
      return make_io("the file was removed or replaced while the run was written: run " +
                     std::to_string(run_id_) + " is not in the file that now has this name")
          .error();
    return run_id_;
  }

  void abort_run() override {
    writer_.abandon();
    import_stmts_.clear();
    importing_ = false;
    nested_ = false;
    if (in_run_) rollback();
    detach_image();
  }

  void detach_image() {
    if (!image_attached_ || in_run_) return;
    import_stmts_.clear();
    exec("DETACH liqsim_image");
    image_attached_ = false;
  }
  // ---- runs written elsewhere ----

  Result<std::string> serialize() override {
    if (in_run_) return make_io("a run is being written").error();
    sqlite3_int64 size = 0;
    unsigned char* bytes = sqlite3_serialize(db_, "main", &size, 0);
    if (!bytes) return fail("cannot serialize the database").error();
    std::string image(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
    sqlite3_free(bytes);
    return image;
  }

  Status begin_import() override {
    if (in_run_) return make_io("a run is already being written");
    failed_ = false;
    // The schema images are loaded into (import_image): attached before the
    // transaction, detached after it.
    if (!image_attached_) {
      if (!exec("ATTACH ':memory:' AS liqsim_image")) return fail("cannot attach the image schema");
      image_attached_ = true;
    }
    if (!exec("BEGIN IMMEDIATE")) return fail("cannot start the transaction");
    in_run_ = true;
    importing_ = true;
    if (!ensure_schema()) return fail_import("cannot create the schema");
    if (!migrate_from_1()) return fail_import("cannot migrate the schema from version 1");
    if (Status st = prepare_event_indexes(); !st.ok()) {
      abort_run();
      return st;
    }
    return {};
  }

  Status fail_import(const std::string& what) {
    Status st = fail(what);
    abort_run();
    return st;
  }

  Result<std::int64_t> add_sweep(const SweepRecord& w, std::int64_t finished_ms) override {
    if (!importing_) return make_io("add_sweep outside an import").error();
    Stmt ins;
    if (ins.prepare(db_,
                    "INSERT INTO sweeps (label, sweep_key, grid_json, base_config_json, config_sha256, "
                    "events_path, events_sha256, points, at_seq, shard_index, shard_count, engine_version, "
                    "started_ms, finished_ms, stored_rows) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") !=
        SQLITE_OK)
      return fail_run("cannot prepare the sweep statement").error();
    ins.text(1, w.label);
    ins.text(2, w.key);
    ins.text(3, w.grid_json);
    ins.text(4, w.base_config_json);
    ins.text(5, w.config_sha256);
    ins.text(6, w.events_path);
    ins.text(7, w.events_sha256);
    ins.i64(8, w.points);
    if (w.at_seq >= 0) ins.i64(9, w.at_seq);
    ins.i64(10, w.shard_index);
    ins.i64(11, w.shard_count);
    ins.text(12, w.engine_version);
    ins.i64(13, w.started_unix_ms);
    ins.i64(14, finished_ms);
    ins.text(15, w.rows);
    if (ins.step() != SQLITE_DONE) return fail_run("cannot write the sweep").error();
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status set_sweep_finished(std::int64_t sweep_id, std::int64_t finished_ms) override {
    Stmt up;
    if (up.prepare(db_, "UPDATE sweeps SET finished_ms=? WHERE id=?") != SQLITE_OK)
      return fail_run("cannot prepare the sweep statement");
    up.i64(1, finished_ms);
    up.i64(2, sweep_id);
    if (up.step() != SQLITE_DONE) return fail_run("cannot record the sweep's end");
    return {};
  }

  Status set_sweep_prefix(std::int64_t sweep_id, std::int64_t run_id) override {
    Stmt up;
    if (up.prepare(db_, "UPDATE sweeps SET prefix_run_id=? WHERE id=?") != SQLITE_OK)
      return fail_run("cannot prepare the sweep statement");
    up.i64(1, run_id);
    up.i64(2, sweep_id);
    if (up.step() != SQLITE_DONE) return fail_run("cannot record the sweep's prefix run");
    return {};
  }

  Status add_sweep_point(std::int64_t sweep_id, std::int64_t run_id, const SweepPointRow& row) override {
    if (!importing_) return make_io("add_sweep_point outside an import");
    Stmt& ins = import_stmt("sweep_points",
                            "INSERT INTO sweep_points (sweep_id, point, axis, run_id, path, value, value_f) "
                            "VALUES (?,?,?,?,?,?,?)");
    if (!ins) return fail_run("cannot prepare the sweep point statement");
    for (std::size_t axis = 0; axis < row.values.size(); ++axis) {
      const auto& [path, value] = row.values[axis];
      ins.start();
      ins.i64(1, sweep_id);
      ins.i64(2, row.point);
      ins.i64(3, static_cast<std::int64_t>(axis));
      ins.i64(4, run_id);
      ins.text(5, path);
      ins.text(6, value);
      if (auto number = number_of(value)) ins.real(7, *number);
      if (ins.step() != SQLITE_DONE) return fail_run("cannot write a sweep point");
    }
    return {};
  }

  Result<std::int64_t> insert_row(const std::string& table, const std::vector<std::string>& columns,
                                  const std::vector<SqlValue>& values) override {
    if (!importing_) return make_io("insert_row outside an import").error();
    if (table.rfind("stress_", 0) != 0 || columns.size() != values.size() || columns.empty())
      return make_io("insert_row: not a stress table, or columns and values differ").error();
    std::string key = table;
    for (const std::string& c : columns) key += "," + c;
    Stmt* ins = nullptr;
    if (auto it = import_stmts_.find(key); it != import_stmts_.end()) {
      ins = it->second.get();
    } else {
      std::string sql = "INSERT INTO " + table + " (", marks;
      for (std::size_t i = 0; i < columns.size(); ++i) {
        sql += (i ? "," : "") + columns[i];
        marks += i ? ",?" : "?";
      }
      sql += ") VALUES (" + marks + ")";
      ins = &import_stmt(key, sql);
    }
    if (!*ins) return fail_run("cannot prepare the insert into " + table).error();
    ins->start();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int at = static_cast<int>(i) + 1;
      if (const auto* v = std::get_if<std::int64_t>(&values[i])) ins->i64(at, *v);
      if (const auto* v = std::get_if<double>(&values[i])) ins->real(at, *v);
      if (const auto* v = std::get_if<std::string>(&values[i])) ins->text(at, *v);
    }
    if (ins->step() != SQLITE_DONE) return fail_run("cannot write a row of " + table).error();
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status update_finished(const std::string& table, std::int64_t id, std::int64_t finished_ms) override {
    if (table.rfind("stress_", 0) != 0) return make_io("update_finished: not a stress table");
    Stmt up;
    if (up.prepare(db_, ("UPDATE " + table + " SET finished_ms=? WHERE id=?").c_str()) != SQLITE_OK)
      return fail_run("cannot prepare the update of " + table);
    up.i64(1, finished_ms);
    up.i64(2, id);
    if (up.step() != SQLITE_DONE) return fail_run("cannot record the end in " + table);
    return {};
  }

  // A value's number: a JSON number, or a string holding a decimal.
  static std::optional<double> number_of(const std::string& json_text) {
    auto v = parse_json(json_text);
    if (!v || !(v->is_number() || v->is_string())) return std::nullopt;
    if (auto raw = parse_decimal_raw(v->text)) return as_double(*raw);
    char* end = nullptr;
    const double d = std::strtod(v->text.c_str(), &end);
    if (v->text.empty() || !end || *end != '\0' || !std::isfinite(d)) return std::nullopt;
    return d;
  }

  Stmt& import_stmt(const std::string& key, const std::string& sql) {
    auto& slot = import_stmts_[key];
    if (!slot) {
      slot = std::make_unique<Stmt>();
      if (slot->prepare(db_, sql.c_str()) != SQLITE_OK) {
        import_stmts_.erase(key);
        static Stmt none;
        return none;
      }
    }
    return *slot;
  }

  // The columns of TABLE in this database, in order.
  Result<std::vector<std::string>> columns_of(const std::string& table) {
    auto it = import_columns_.find(table);
    if (it != import_columns_.end()) return it->second;
    std::vector<std::string> cols;
    Stmt q;
    if (q.prepare(db_, ("PRAGMA main.table_info(" + table + ")").c_str()) != SQLITE_OK)
      return fail("cannot read the schema of " + table).error();
    while (q.step() == SQLITE_ROW)
      cols.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 1)));
    import_columns_[table] = cols;
    return cols;
  }

  // The tables that hold a run's rows, by run_id (all but runs).
  static const std::vector<std::string>& run_tables() {
    static const std::vector<std::string> t = {"events",   "market_series", "insurance_fund",
                                               "accounts", "markets",       "collateral",
                                               "metrics",  "cascades",      "episodes"};
    return t;
  }

  // Copies run SRC_ID of the connection SRC (a results database of this
  // schema; `what` names it in errors) with every row that belongs to it.
  Result<std::int64_t> copy_run(sqlite3* src, std::int64_t src_id, const std::string& what) {
    auto bad_source = [&](const std::string& m) {
      return make_error_in(ErrorKind::io, what + ": " + m + ": " + sqlite3_errmsg(src)).error();
    };
    // The run row, every column but id.
    std::int64_t new_id = 0;
    {
      auto cols = columns_of("runs");
      if (!cols) return cols.error();
      std::string list, marks;
      for (const std::string& c : *cols) {
        if (c == "id") continue;
        list += (list.empty() ? "" : ", ") + c;
        marks += marks.empty() ? "?" : ",?";
      }
      Stmt sel;
      if (sel.prepare(src, ("SELECT " + list + " FROM runs WHERE id = ?").c_str()) != SQLITE_OK)
        return bad_source("not a results database of this version (its runs table differs)");
      sel.i64(1, src_id);
      Stmt& ins = import_stmt("runs", "INSERT INTO runs (" + list + ") VALUES (" + marks + ")");
      if (!ins) return fail_run("cannot prepare the run statement").error();
      if (sel.step() != SQLITE_ROW) return bad_source("run " + std::to_string(src_id) + " is missing");
      ins.start();
      const int n = sqlite3_column_count(sel.get());
      for (int i = 0; i < n; ++i) sqlite3_bind_value(ins.get(), i + 1, sqlite3_column_value(sel.get(), i));
      if (ins.step() != SQLITE_DONE) return fail_run("cannot copy a run").error();
      new_id = sqlite3_last_insert_rowid(db_);
    }
    for (const std::string& table : run_tables()) {
      auto cols = columns_of(table);
      if (!cols) return cols.error();
      std::string list, marks = "?";
      for (const std::string& c : *cols) {
        if (c == "run_id") continue;
        list += (list.empty() ? "" : ", ") + c;
        marks += ",?";
      }
      Stmt sel;
      if (sel.prepare(src,
                      ("SELECT " + list + " FROM " + table + " WHERE run_id = ? ORDER BY rowid").c_str()) !=
          SQLITE_OK)
        return bad_source("not a results database of this version (its " + table + " table differs)");
      sel.i64(1, src_id);
      Stmt& ins =
          import_stmt(table, "INSERT INTO " + table + " (run_id, " + list + ") VALUES (" + marks + ")");
      if (!ins) return fail_run("cannot prepare the " + table + " statement").error();
      const int n = sqlite3_column_count(sel.get());
      for (;;) {
        const int rc = sel.step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return bad_source("cannot read its " + table + " table");
        sqlite3_reset(ins.get());
        sqlite3_bind_int64(ins.get(), 1, new_id);
        for (int i = 0; i < n; ++i) sqlite3_bind_value(ins.get(), i + 2, sqlite3_column_value(sel.get(), i));
        if (ins.step() != SQLITE_DONE) return fail_run("cannot copy the " + table + " rows of a run").error();
      }
    }
    return new_id;
  }

  // An image is loaded into the attached schema liqsim_image (replacing the
  // last one: SQLite allows that inside the transaction) and its run copied
  // with INSERT ... SELECT, one statement per table.
  Result<std::vector<std::int64_t>> import_image(const std::string& image) override {
    if (!importing_ || !image_attached_) return make_io("import_image outside an import").error();
    auto* bytes = static_cast<unsigned char*>(sqlite3_malloc64(image.size()));
    if (!bytes && !image.empty()) return make_io("out of memory for a database image").error();
    if (!image.empty()) std::memcpy(bytes, image.data(), image.size());
    if (sqlite3_deserialize(db_, "liqsim_image", bytes, static_cast<sqlite3_int64>(image.size()),
                            static_cast<sqlite3_int64>(image.size()),
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
      return fail_run("not a database image").error();
    std::vector<std::int64_t> ids, out;
    {
      Stmt q;
      if (q.prepare(db_, "SELECT id FROM liqsim_image.runs WHERE complete = 1 ORDER BY id") != SQLITE_OK)
        return fail_run("a point's image is not a results database").error();
      while (q.step() == SQLITE_ROW) ids.push_back(sqlite3_column_int64(q.get(), 0));
    }
    for (std::int64_t src : ids) {
      auto cols = columns_of("runs");
      if (!cols) return cols.error();
      std::string list;
      for (const std::string& c : *cols)
        if (c != "id") list += (list.empty() ? "" : ", ") + c;
      Stmt& run = import_stmt("image runs", "INSERT INTO main.runs (" + list + ") SELECT " + list +
                                                " FROM liqsim_image.runs WHERE id = ?");
      if (!run) return fail_run("cannot prepare the image's run copy").error();
      run.start();
      run.i64(1, src);
      if (run.step() != SQLITE_DONE) return fail_run("cannot copy an image's run").error();
      const std::int64_t id = sqlite3_last_insert_rowid(db_);
      for (const std::string& table : run_tables()) {
        auto tc = columns_of(table);
        if (!tc) return tc.error();
        std::string rest;
        for (const std::string& c : *tc)
          if (c != "run_id") rest += ", " + c;
        Stmt& copy = import_stmt("image " + table, "INSERT INTO main." + table + " (run_id" + rest +
                                                       ") SELECT ?" + rest + " FROM liqsim_image." + table +
                                                       " WHERE run_id = ? ORDER BY rowid");
        if (!copy) return fail_run("cannot prepare the image's " + table + " copy").error();
        copy.start();
        copy.i64(1, id);
        copy.i64(2, src);
        if (copy.step() != SQLITE_DONE) return fail_run("cannot copy an image's " + table + " rows").error();
      }
      out.push_back(id);
    }
    return out;
  }

  // Every complete run of SRC, in id order.
  Result<std::vector<std::int64_t>> copy_runs(sqlite3* src, const std::string& what) {
    std::vector<std::int64_t> ids, out;
    {
      Stmt q;
      if (q.prepare(src, "SELECT id FROM runs WHERE complete = 1 ORDER BY id") != SQLITE_OK)
        return make_error_in(ErrorKind::io, what + ": not a results database").error();
      while (q.step() == SQLITE_ROW) ids.push_back(sqlite3_column_int64(q.get(), 0));
    }
    for (std::int64_t id : ids) {
      auto copied = copy_run(src, id, what);
      if (!copied) return copied.error();
      out.push_back(*copied);
    }
    return out;
  }

  // ---- results merge ----

  static constexpr std::int64_t kMaxShardPoints = 1'000'000;  // sweep.hpp's kMaxSweepPoints

  struct ShardInput {
    std::string path;
    sqlite3* db = nullptr;
    SweepRecord sweep;
    std::int64_t id = 0, prefix_run_id = 0, finished_ms = 0;
    std::map<std::int64_t, std::int64_t> point_runs;   // point → run id
    std::map<std::int64_t, SweepPointRow> point_rows;  // point → its values
  };

  Status read_shard(ShardInput& in) {
    auto usage = [&](const std::string& m) {
      Error e = make_error(ErrorKind::usage, m);
      e.file = in.path;
      return Status(e);
    };
    if (sqlite3_open_v2(in.path.c_str(), &in.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK)
      return usage(std::string("cannot open it as a results database: ") + sqlite3_errmsg(in.db));
    sqlite3_busy_timeout(in.db, options_.busy_timeout_ms);
    Stmt q;
    if (q.prepare(in.db,
                  "SELECT id, label, sweep_key, grid_json, base_config_json, config_sha256, events_path, "
                  "events_sha256, points, at_seq, prefix_run_id, shard_index, shard_count, engine_version, "
                  "started_ms, finished_ms, stored_rows FROM sweeps ORDER BY id") != SQLITE_OK)
      return usage("not the database of a sweep (it has no sweeps table)");
    int rows = 0;
    auto text = [&](int i) {
      const unsigned char* t = sqlite3_column_text(q.get(), i);
      return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    while (q.step() == SQLITE_ROW) {
      if (++rows > 1) break;
      in.id = sqlite3_column_int64(q.get(), 0);
      SweepRecord& w = in.sweep;
      w.label = text(1);
      w.key = text(2);
      w.grid_json = text(3);
      w.base_config_json = text(4);
      w.config_sha256 = text(5);
      w.events_path = text(6);
      w.events_sha256 = text(7);
      w.points = sqlite3_column_int64(q.get(), 8);
      w.at_seq = sqlite3_column_type(q.get(), 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(q.get(), 9);
      in.prefix_run_id = sqlite3_column_int64(q.get(), 10);
      w.shard_index = sqlite3_column_int64(q.get(), 11);
      w.shard_count = sqlite3_column_int64(q.get(), 12);
      w.engine_version = text(13);
      w.started_unix_ms = sqlite3_column_int64(q.get(), 14);
      in.finished_ms = sqlite3_column_int64(q.get(), 15);
      w.rows = text(16);
    }
    if (rows == 0) return usage("holds no sweep (write shards with liqsim sweep --shard I/N)");
    if (rows > 1) return usage("holds more than one sweep: a shard holds one");
    const SweepRecord& w = in.sweep;
    if (w.shard_count < 1 || w.shard_count > kMaxShardPoints || w.shard_index < 0 ||
        w.shard_index >= w.shard_count || w.points < 0 || w.points > kMaxShardPoints ||
        (w.rows != "all" && w.rows != "summary"))
      return usage("its sweeps row is not one liqsim writes (shard " + std::to_string(w.shard_index) + "/" +
                   std::to_string(w.shard_count) + ", " + std::to_string(w.points) + " points, rows '" +
                   w.rows + "')");
    if (in.sweep.at_seq >= 0 && in.prefix_run_id <= 0)
      return usage("its sweep forks at an event (--at) but has no prefix run");
    Stmt p;
    if (p.prepare(in.db,
                  "SELECT point, axis, run_id, path, value FROM sweep_points WHERE sweep_id = ? "
                  "ORDER BY point, axis") != SQLITE_OK)
      return usage("not the database of a sweep (it has no sweep_points table)");
    p.i64(1, in.id);
    while (p.step() == SQLITE_ROW) {
      const std::int64_t point = sqlite3_column_int64(p.get(), 0);
      const std::int64_t run = sqlite3_column_int64(p.get(), 2);
      auto [it, fresh] = in.point_runs.emplace(point, run);
      if (!fresh && it->second != run) return usage("point " + std::to_string(point) + " has two runs");
      SweepPointRow& row = in.point_rows[point];
      row.point = point;
      auto col = [&](int i) {
        const unsigned char* t = sqlite3_column_text(p.get(), i);
        return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
      };
      row.values.emplace_back(col(3), col(4));
    }
    for (const auto& [point, run] : in.point_runs)
      if (point < 0 || point >= in.sweep.points || point % in.sweep.shard_count != in.sweep.shard_index)
        return usage("point " + std::to_string(point) + " does not belong to shard " +
                     std::to_string(in.sweep.shard_index) + "/" + std::to_string(in.sweep.shard_count));
    return {};
  }

  Result<std::int64_t> merge_shards(const std::vector<std::string>& paths) override {
    if (paths.empty()) return make_error(ErrorKind::usage, "no shard to merge");
    std::vector<ShardInput> inputs(paths.size());
    struct Closer {
      std::vector<ShardInput>& v;
      ~Closer() {
        for (ShardInput& in : v) sqlite3_close(in.db);
      }
    } closer{inputs};
    auto usage = [&](const std::string& file, const std::string& m) {
      Error e = make_error(ErrorKind::usage, m);
      e.file = file;
      return e;
    };
    for (std::size_t i = 0; i < paths.size(); ++i) {
      inputs[i].path = paths[i];
      if (Status st = read_shard(inputs[i]); !st.ok()) return st.error();
    }
    const ShardInput& first = inputs.front();
    std::map<std::int64_t, const ShardInput*> by_shard;
    for (const ShardInput& in : inputs) {
      if (in.sweep.key != first.sweep.key)
        return usage(in.path, "is a shard of another sweep than " + first.path +
                                  " (their grids, base configurations or inputs differ)");
      if (in.sweep.shard_count != first.sweep.shard_count)
        return usage(in.path, "is shard " + std::to_string(in.sweep.shard_index) + "/" +
                                  std::to_string(in.sweep.shard_count) + ", " + first.path + " is shard " +
                                  std::to_string(first.sweep.shard_index) + "/" +
                                  std::to_string(first.sweep.shard_count) + ": not one split of the sweep");
      auto [it, fresh] = by_shard.emplace(in.sweep.shard_index, &in);
      if (!fresh)
        return usage(in.path, "is shard " + std::to_string(in.sweep.shard_index) + "/" +
                                  std::to_string(in.sweep.shard_count) + " again (so is " + it->second->path +
                                  "): the shards overlap");
    }
    // Every point exactly once.
    std::vector<const ShardInput*> owner(static_cast<std::size_t>(first.sweep.points), nullptr);
    for (const ShardInput& in : inputs)
      for (const auto& [point, run] : in.point_runs) {
        const ShardInput*& o = owner[static_cast<std::size_t>(point)];
        if (o)
          return usage(in.path, "holds point " + std::to_string(point) + ", which " + o->path +
                                    " holds too: the shards overlap");
        o = &in;
      }
    for (std::size_t point = 0; point < owner.size(); ++point)
      if (!owner[point]) {
        const std::int64_t shard = static_cast<std::int64_t>(point) % first.sweep.shard_count;
        return make_error(
            ErrorKind::usage,
            "point " + std::to_string(point) + " of " + std::to_string(first.sweep.points) +
                " is in no input: " +
                (by_shard.count(shard) ? "its shard " + by_shard[shard]->path + " lacks it"
                                       : "shard " + std::to_string(shard) + "/" +
                                             std::to_string(first.sweep.shard_count) + " is missing"));
      }
    // The prefix: one run, the same in every shard.
    const ShardInput& lowest = *by_shard.begin()->second;
    if (first.sweep.at_seq >= 0) {
      auto hash_of = [](const ShardInput& in) {
        Stmt q;
        std::string h;
        if (q.prepare(in.db, "SELECT state_hash FROM runs WHERE id = ?") == SQLITE_OK) {
          q.i64(1, in.prefix_run_id);
          if (q.step() == SQLITE_ROW && sqlite3_column_text(q.get(), 0))
            h = reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0));
        }
        return h;
      };
      const std::string h = hash_of(lowest);
      for (const ShardInput& in : inputs)
        if (hash_of(in) != h || h.empty())
          return usage(in.path, "its prefix run differs from " + lowest.path + "'s");
    }
    SweepRecord merged = lowest.sweep;
    merged.shard_index = 0;
    merged.shard_count = 1;
    std::int64_t finished = 0;
    for (const ShardInput& in : inputs) {
      merged.started_unix_ms = std::min(merged.started_unix_ms, in.sweep.started_unix_ms);
      finished = std::max(finished, in.finished_ms);
    }
    if (Status st = begin_import(); !st.ok()) return st.error();
    auto abandon = [&](Error e) {
      abort_run();
      return e;
    };
    auto sweep_id = add_sweep(merged, finished);
    if (!sweep_id) return abandon(sweep_id.error());
    if (merged.at_seq >= 0) {
      auto run = copy_run(lowest.db, lowest.prefix_run_id, lowest.path);
      if (!run) return abandon(run.error());
      if (Status st = set_sweep_prefix(*sweep_id, *run); !st.ok()) return abandon(st.error());
    }
    for (std::size_t point = 0; point < owner.size(); ++point) {
      const ShardInput& in = *owner[point];
      const auto key = static_cast<std::int64_t>(point);
      auto run = copy_run(in.db, in.point_runs.at(key), in.path);
      if (!run) return abandon(run.error());
      if (Status st = add_sweep_point(*sweep_id, *run, in.point_rows.at(key)); !st.ok())
        return abandon(st.error());
    }
    if (Status st = commit_import(); !st.ok()) return st.error();
    return *sweep_id;
  }
  Status commit_import() override {
    if (!importing_) return make_io("commit_import outside an import");
    if (failed_) {  // a step failed: nothing of the import may be committed
      abort_run();
      return make_io("a step of the import failed: nothing was stored");
    }
    if (Status st = build_event_indexes(); !st.ok()) {
      abort_run();
      return st;
    }
    import_stmts_.clear();
    if (!exec("COMMIT")) {
      Status st = fail("cannot commit");
      abort_run();
      return st;
    }
    in_run_ = false;
    importing_ = false;
    committed_ = true;
    detach_image();
    if (!memory_ && !still_named())
      return make_io(
          "the file was removed or replaced while it was written: what was stored is not in the "
          "file that now has this name");
    return {};
  }

 private:
  std::string path_;
  ResultsOptions options_;
  bool memory_ = false;  // open_memory: no file
  bool importing_ = false;
  bool nested_ = false;          // a run inside the import's transaction (begin_run during an import)
  bool image_attached_ = false;  // the schema liqsim_image (import_image)
  // recorder(): a run kept in memory for store_recorded.
  bool recording_ = false;
  RunInfo recorded_info_;
  std::vector<Batch> recorded_;
  Batch rec_filling_;
  Summary recorded_summary_;
  SummaryFields recorded_fields_;
  std::int64_t recorded_finished_ = 0;

 public:
  void make_recorder() { recording_ = true; }

 private:
  std::map<std::string, std::unique_ptr<Stmt>> import_stmts_;  // per table, on this connection
  std::map<std::string, std::vector<std::string>> import_columns_;
  int fd_ = -1;  // holds the shared flock; closed only after SQLite's descriptors
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool created_ = false;    // this object created the file
  bool committed_ = false;  // a run was committed through this object
  sqlite3* db_ = nullptr;
  bool in_run_ = false;
  std::atomic<bool> failed_{false};   // set by the writer thread too (fail_run)
  bool defer_event_indexes_ = false;  // the events indexes are built at the end of the run
  std::int64_t run_id_ = 0;
  const Symbols* symbols_ = nullptr;
  Stmt ins_event_, ins_insurance_, ins_series_;
  std::vector<Stmt> stmts_;
  std::int64_t event_n_ = 0, insurance_n_ = 0;
  std::int64_t first_ts_ = -1, last_ts_ = -1;
  std::vector<std::string> market_names_;  // set by the replay's thread before the first batch
  // The writer's own state while a run is written (the replay's thread
  // touches it only when the writer is stopped).
  std::vector<std::int32_t> market_of_sym_;
  std::vector<Bucket> buckets_;
  std::vector<std::string> names_;  // Sym → name, as handed over
  std::size_t names_synced_ = 0;    // replay's thread: names handed over so far
  std::string events_sha256_;       // record_events_sha256, written by finish_run
  Writer writer_;

  Status make_io(std::string message) const { return make_error_in(ErrorKind::io, std::move(message)); }
  Status make_error_in(ErrorKind kind, std::string message) const {
    Error e = make_error(kind, std::move(message));
    e.file = path_;
    return e;
  }
  Status fail(const std::string& what) const {
    std::string msg = what;
    if (db_) msg += ": " + std::string(sqlite3_errmsg(db_));
    return make_io(msg);
  }
  Status fail_run(const std::string& what) {
    failed_ = true;
    return fail(what);
  }
  bool exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }
  void rollback() {
    if (!db_) {  // a recorder: nothing to roll back
      in_run_ = false;
      return;
    }
    exec("ROLLBACK");  // (the dropped indexes of a deferred run come back with it)
    in_run_ = false;
    defer_event_indexes_ = false;
  }

  // The writer's side: names from its own copy of the symbols (names_),
  // which the replay's thread may be adding to meanwhile.
  std::int32_t market_index(Sym s) {
    if (s == kNoSym || s >= names_.size()) return -1;
    if (s >= market_of_sym_.size()) market_of_sym_.resize(std::max<std::size_t>(names_.size(), s + 1), -2);
    if (market_of_sym_[s] == -2) {
      const std::string& name = names_[s];
      auto it = std::find(market_names_.begin(), market_names_.end(), name);
      market_of_sym_[s] =
          it == market_names_.end() ? -1 : static_cast<std::int32_t>(it - market_names_.begin());
    }
    return market_of_sym_[s];
  }

  const std::string& name(Sym s) const {
    static const std::string empty;
    return s == kNoSym ? empty : names_[s];
  }

  // Hands the filling batch to the writer with the names interned since the
  // last hand-off (every Sym in the batch was interned before it was captured).
  Batch& filling() { return recording_ ? rec_filling_ : writer_.filling(); }

  void hand_off() {
    Batch& b = filling();
    for (std::size_t id = names_synced_; id < symbols_->size(); ++id)
      b.new_names.push_back(symbols_->name(static_cast<Sym>(id)));
    names_synced_ = symbols_->size();
    if (b.events.empty() && b.new_names.empty()) return;
    if (recording_) {
      recorded_.push_back(std::move(rec_filling_));
      rec_filling_ = Batch{};
      return;
    }
    writer_.hand_off();
  }

  // Writer thread: one batch's rows.
  Status store(const Batch& batch) {
    names_.insert(names_.end(), batch.new_names.begin(), batch.new_names.end());
    for (const Observed& o : batch.events) {
      for (std::size_t k = o.derived_begin; k < o.derived_end; ++k)
        if (Status st = write_derived(batch.derived[k]); !st.ok()) return st;
      if (o.points_begin == o.points_end) continue;
      if (buckets_.empty()) buckets_.resize(market_names_.size());
      const std::int64_t start = floor_to(o.ts, options_.series_interval_ms);
      for (std::size_t m = 0; m < buckets_.size(); ++m) {
        const MarketPoint& p = batch.points[o.points_begin + m];
        Bucket& b = buckets_[m];
        if (p.mark.is_zero() && !b.active) continue;  // no price yet
        if (b.active && b.start != start) {
          if (Status st = flush_bucket(m); !st.ok()) return st;
        }
        if (!b.active) {
          b = Bucket{};
          b.active = true;
          b.start = start;
          b.open = b.low = b.high = p.mark;
        }
        b.see_mark(p.mark);
        b.close = p.mark;
        b.oi_long = p.oi_long;
        b.oi_short = p.oi_short;
      }
      for (std::size_t k = o.derived_begin; k < o.derived_end; ++k) {
        const auto* le = std::get_if<LiquidationEvent>(&batch.derived[k].body);
        if (!le) continue;
        std::int32_t m = market_index(le->market);
        if (m < 0 || static_cast<std::size_t>(m) >= buckets_.size()) continue;
        Bucket& b = buckets_[static_cast<std::size_t>(m)];
        b.see_mark(le->mark);
        b.liquidated += mul<Usd>(le->qty, le->price, Round::down);
        ++b.liquidations;
      }
    }
    return {};
  }

  Status write_derived(const DerivedEvent& d) {
    Stmt& st = ins_event_;
    st.start();
    st.i64(1, run_id_);
    st.i64(2, event_n_++);
    st.i64(3, d.seq);
    st.i64(4, d.ts_ms);
    st.text_static(5, derived_type_name(d.body));
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, RejectedEvent>) {
            st.text_static(32, b.reason);
          } else if constexpr (std::is_same_v<T, MarginCallEvent>) {
            st.text_static(6, name(b.account));
            st.text_static_or_null(8, name(b.market));
            if (b.margin_ratio) st.decimal(28, *b.margin_ratio);  // else NULL: no number
            st.decimal(22, b.equity);
          } else if constexpr (std::is_same_v<T, LiquidationEvent>) {
            st.text_static(6, name(b.account));
            st.text_static(8, name(b.market));
            st.text_static(10, side_name(b.side));
            st.text_static(11, margin_mode_name(b.margin));
            st.decimal(12, b.qty);
            st.decimal(14, b.price);
            st.decimal(16, b.mark);
            st.decimal(18, mul<Usd>(b.qty, b.price, Round::down));
            st.decimal(20, b.fee);
            st.i64(33, b.round);
          } else if constexpr (std::is_same_v<T, BankruptcyEvent>) {
            st.text_static(6, name(b.account));
            st.text_static_or_null(8, name(b.market));
            st.decimal(24, b.deficit);
          } else if constexpr (std::is_same_v<T, InsuranceEvent>) {
            st.decimal(22, b.amount);
            st.decimal(26, b.balance);
          } else if constexpr (std::is_same_v<T, AdlEvent>) {
            st.text_static(6, name(b.account));
            st.text_static(7, name(b.counterparty));
            st.text_static(8, name(b.market));
            st.decimal(12, b.qty);
            st.decimal(14, b.price);
            st.decimal(18, mul<Usd>(b.qty, b.price, Round::down));
            st.decimal(22, b.amount);
          } else if constexpr (std::is_same_v<T, SocializedLossEvent>) {
            st.decimal(22, b.amount);
          } else if constexpr (std::is_same_v<T, CollateralSaleEvent>) {
            st.text_static(6, name(b.account));
            st.text_static(9, name(b.asset));
            st.decimal(22, b.amount);
            st.decimal(14, b.price);
            st.decimal(30, b.proceeds);
          } else if constexpr (std::is_same_v<T, SocializedChargeEvent>) {
            st.text_static(6, name(b.account));
            st.text_static(8, name(b.market));
            st.decimal(22, b.amount);
          }
        },
        d.body);
    if (st.step() != SQLITE_DONE) return fail_run("cannot write a derived event");
    if (const auto* ins = std::get_if<InsuranceEvent>(&d.body)) {
      Stmt& s = ins_insurance_;
      s.start();
      s.i64(1, run_id_);
      s.i64(2, insurance_n_++);
      s.i64(3, d.seq);
      s.i64(4, d.ts_ms);
      s.decimal(5, ins->amount);
      s.decimal(7, ins->balance);
      if (s.step() != SQLITE_DONE) return fail_run("cannot write the insurance fund");
    }
    return {};
  }

  Status flush_bucket(std::size_t m) {
    Bucket& b = buckets_[m];
    if (!b.active) return {};
    Stmt& s = ins_series_;
    s.start();
    s.i64(1, run_id_);
    s.text_static(2, market_names_[m]);
    s.i64(3, b.start);
    s.decimal(4, b.open);
    s.decimal(6, b.close);
    s.decimal(8, b.low);
    s.decimal(10, b.high);
    s.decimal(12, b.oi_long);
    s.decimal(14, b.oi_short);
    s.decimal(16, b.liquidated);
    s.i64(18, b.liquidations);
    b.active = false;
    if (s.step() != SQLITE_DONE) return fail_run("cannot write the market series");
    return {};
  }

  static const std::vector<LiquidationEpisode>& no_episodes() {
    static const std::vector<LiquidationEpisode> none;
    return none;
  }

  Status write_final_state(const SummaryFields& fields, const MetricsCollector& metrics,
                           const Engine& engine) {
    Stmt acc;
    if (acc.prepare(
            db_,
            "INSERT INTO accounts (run_id, account, state, cross_equity, cross_equity_f, "
            "maintenance_requirement, maintenance_requirement_f, initial_requirement, initial_requirement_f, "
            "gross_notional, gross_notional_f, collateral_value, collateral_value_f, positions, "
            "effective_leverage, isolated_equity, isolated_equity_f) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the accounts statement");
    for (const Engine::AccountView& a :
         options_.detail_rows ? engine.account_views() : std::vector<Engine::AccountView>{}) {
      acc.start();
      acc.i64(1, run_id_);
      acc.text(2, a.name);
      acc.text(3, a.state);
      acc.decimal(4, a.cross_equity);
      acc.decimal(6, a.maintenance_requirement);
      acc.decimal(8, a.initial_requirement);
      acc.decimal(10, a.gross_notional);
      acc.decimal(12, a.collateral_value);
      acc.i64(14, a.positions);
      if (a.gross_notional.is_positive()) acc.real(15, effective_leverage(a));
      acc.decimal(16, a.isolated_equity);
      if (acc.step() != SQLITE_DONE) return fail_run("cannot write an account");
    }
    Stmt mk;
    if (mk.prepare(
            db_,
            "INSERT INTO markets (run_id, market, mark, mark_f, open_interest_long, open_interest_long_f, "
            "open_interest_short, open_interest_short_f) VALUES (?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the markets statement");
    for (const Engine::MarketView& v : engine.market_views()) {
      mk.start();
      mk.i64(1, run_id_);
      mk.text(2, v.name);
      mk.decimal(3, v.mark);
      mk.decimal(5, v.open_interest_long);
      mk.decimal(7, v.open_interest_short);
      if (mk.step() != SQLITE_DONE) return fail_run("cannot write a market");
    }
    Stmt col;
    if (col.prepare(db_, "INSERT INTO collateral (run_id, asset, value, value_f) VALUES (?,?,?,?)") !=
        SQLITE_OK)
      return fail_run("cannot prepare the collateral statement");
    for (const auto& [asset, value] : engine.collateral_by_asset()) {
      col.start();
      col.i64(1, run_id_);
      col.text(2, asset);
      col.decimal(3, value);
      if (col.step() != SQLITE_DONE) return fail_run("cannot write collateral");
    }
    if (Status st = write_metrics(fields); !st.ok()) return st;
    Stmt cas;
    if (cas.prepare(
            db_,
            "INSERT INTO cascades (run_id, seq, ts, market, rounds, liquidations, impact_liquidations, "
            "notional, notional_f, mark_before, mark_before_f, oracle_after, oracle_after_f, mark_extreme, "
            "mark_extreme_f, amplification) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the cascades statement");
    for (const CascadeRecord& r : metrics.cascades()) {
      cas.start();
      cas.i64(1, run_id_);
      cas.i64(2, r.seq);
      cas.i64(3, r.ts_ms);
      cas.text(4, r.market);
      cas.i64(5, r.rounds);
      cas.i64(6, r.liquidations);
      cas.i64(7, r.impact_liquidations);
      cas.decimal(8, r.notional);
      cas.decimal(10, r.mark_before);
      cas.decimal(12, r.oracle_after);
      cas.decimal(14, r.mark_extreme);
      if (r.amplification_defined) cas.real(16, r.amplification);
      if (cas.step() != SQLITE_DONE) return fail_run("cannot write a cascade");
    }
    Stmt ep;
    if (ep.prepare(
            db_,
            "INSERT INTO episodes (run_id, n, account, market, start_ms, end_ms, duration_ms, bankrupt) "
            "VALUES (?,?,?,?,?,?,?,?)") != SQLITE_OK)
      return fail_run("cannot prepare the episodes statement");
    std::int64_t n = 0;
    for (const LiquidationEpisode& e : options_.detail_rows ? metrics.episodes() : no_episodes()) {
      ep.start();
      ep.i64(1, run_id_);
      ep.i64(2, n++);
      ep.text(3, e.account);
      ep.text_or_null(4, e.market);
      ep.i64(5, e.start_ms);
      ep.i64(6, e.end_ms);
      ep.i64(7, e.end_ms - e.start_ms);
      ep.i64(8, e.bankrupt ? 1 : 0);
      if (ep.step() != SQLITE_DONE) return fail_run("cannot write an episode");
    }
    return {};
  }

  // Metrics as key/value rows: each summary field, objects flattened to
  // dotted keys ("leverage_end.p90"); value is JSON text, value_f its number.
  Status write_metrics(const SummaryFields& fields) {
    Stmt st;
    if (st.prepare(db_, "INSERT INTO metrics (run_id, n, key, value, value_f) VALUES (?,?,?,?,?)") !=
        SQLITE_OK)
      return fail_run("cannot prepare the metrics statement");
    std::int64_t n = 0;
    Status status;
    auto put = [&](const std::string& key, const JsonValue& v, const auto& self) -> bool {
      if (v.is_object()) {
        for (const auto& [k, child] : v.members)
          if (!self(key + "." + k, child, self)) return false;
        return true;
      }
      st.start();
      st.i64(1, run_id_);
      st.i64(2, n++);
      st.text(3, key);
      st.text(4, v.dump());
      if (v.is_number() || v.is_string()) {
        if (const Result<std::int64_t> raw = parse_decimal_raw(v.text))
          st.real(5, as_double(*raw));
        else if (char* end = nullptr; !v.text.empty()) {
          double d = std::strtod(v.text.c_str(), &end);
          if (end && *end == '\0' && std::isfinite(d)) st.real(5, d);
        }
      }
      if (st.step() != SQLITE_DONE) {
        status = fail_run("cannot write a metric");
        return false;
      }
      return true;
    };
    for (const auto& [key, text] : fields) {
      auto parsed = parse_json(text);
      if (!parsed) return make_io("metric '" + key + "' is not valid JSON: " + parsed.error().message);
      if (!put(key, *parsed, put)) return status;
    }
    return {};
  }

  Status write_summary(const Summary& s, std::int64_t finished_ms) {
    Stmt up;
    if (up.prepare(
            db_,
            "UPDATE runs SET finished_ms=?, complete=1, state_hash=?, first_ts=?, last_ts=?, events=?, "
            "rejected=?, margin_calls=?, liquidations=?, liquidated_notional=?, liquidated_notional_f=?, "
            "liquidation_fees=?, liquidation_fees_f=?, bad_debt=?, bad_debt_f=?, insurance_fund=?, "
            "insurance_fund_f=?, adl_events=?, socialized_loss=?, socialized_loss_f=?, bankruptcies=?, "
            "accounts=?, cascade_rounds_max=?, impact_liquidations=?, adl_amount=?, adl_amount_f=?, "
            "insurance_paid=?, insurance_paid_f=? WHERE id=?") != SQLITE_OK)
      return fail_run("cannot prepare the summary statement");
    up.start();
    up.i64(1, finished_ms);
    up.text(2, s.state_hash);
    if (first_ts_ >= 0) up.i64(3, first_ts_);
    if (last_ts_ >= 0) up.i64(4, last_ts_);
    up.i64(5, s.events);
    up.i64(6, s.rejected);
    up.i64(7, s.margin_calls);
    up.i64(8, s.liquidations);
    up.decimal(9, s.liquidated_notional);
    up.decimal(11, s.liquidation_fees);
    up.decimal(13, s.bad_debt);
    up.decimal(15, s.insurance_fund);
    up.i64(17, s.adl_events);
    up.decimal(18, s.socialized_loss);
    up.i64(20, s.bankruptcies);
    up.i64(21, s.accounts);
    up.i64(22, s.cascade_rounds_max);
    up.i64(23, s.impact_liquidations);
    up.decimal(24, s.adl_amount);
    up.decimal(26, s.insurance_paid);
    up.i64(28, run_id_);
    if (up.step() != SQLITE_DONE) return fail_run("cannot write the summary");
    return {};
  }
};

// ---- read-only access (ResultsReader) ----

class SqliteReader final : public ResultsReader {
 public:
  explicit SqliteReader(std::string path) : path_(std::move(path)) {}
  ~SqliteReader() override { sqlite3_close(db_); }
  const std::string& path() const override { return path_; }

  Status open() {
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      return fail("cannot open it");
    sqlite3_busy_timeout(db_, 5000);
    auto has = has_table("schema_version");
    if (!has) return has.error();
    if (!*has) return make_file_error(ErrorKind::io, path_, "is not a liqsim results database");
    std::int64_t version = 0;
    if (Status st = query("SELECT version FROM schema_version", {},
                          [&](const Row& r) -> Status {
                            if (const auto* v = std::get_if<std::int64_t>(&r[0])) version = *v;
                            return {};
                          });
        !st)
      return st;
    if (version != kResultsSchemaVersion && version != 1)
      return make_file_error(ErrorKind::io, path_,
                             "has schema_version " + std::to_string(version) + "; this liqsim reads " +
                                 std::to_string(kResultsSchemaVersion));
    return {};
  }

  Result<bool> has_table(const std::string& name) override {
    bool found = false;
    if (Status st = query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", {name},
                          [&](const Row&) -> Status {
                            found = true;
                            return {};
                          });
        !st)
      return st.error();
    return found;
  }

  Result<std::vector<std::string>> columns(const std::string& table) override {
    std::vector<std::string> names;
    if (Status st = query("SELECT name FROM pragma_table_info(?) ORDER BY cid", {table},
                          [&](const Row& r) -> Status {
                            if (const auto* v = std::get_if<std::string>(&r[0])) names.push_back(*v);
                            return {};
                          });
        !st)
      return st.error();
    return names;
  }

  Status query(const std::string& sql, const Row& args,
               const std::function<Status(const Row&)>& row) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return fail("cannot read it");
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      const int at = static_cast<int>(i) + 1;
      if (const auto* v = std::get_if<std::int64_t>(&args[i])) sqlite3_bind_int64(st, at, *v);
      if (const auto* v = std::get_if<double>(&args[i])) sqlite3_bind_double(st, at, *v);
      if (const auto* v = std::get_if<std::string>(&args[i]))
        sqlite3_bind_text(st, at, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
    }
    Row r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const int n = sqlite3_column_count(st);
      r.assign(static_cast<std::size_t>(n), ResultsDb::SqlValue{});
      for (int c = 0; c < n; ++c) {
        auto& v = r[static_cast<std::size_t>(c)];
        switch (sqlite3_column_type(st, c)) {
          case SQLITE_INTEGER:
            v = static_cast<std::int64_t>(sqlite3_column_int64(st, c));
            break;
          case SQLITE_FLOAT:
            v = sqlite3_column_double(st, c);
            break;
          case SQLITE_NULL:
            break;
          default: {
            const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
            v = std::string(t ? t : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
          }
        }
      }
      if (Status s = row(r); !s) {
        sqlite3_finalize(st);
        return s;
      }
    }
    if (rc != SQLITE_DONE) {
      Status s = fail("cannot read it");
      sqlite3_finalize(st);
      return s;
    }
    sqlite3_finalize(st);
    return {};
  }

 private:
  Status fail(const std::string& what) {
    return make_file_error(ErrorKind::io, path_,
                           what + (db_ ? std::string(": ") + sqlite3_errmsg(db_) : std::string()));
  }
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<ResultsReader>> ResultsReader::open(const std::string& path) {
  auto r = std::make_unique<SqliteReader>(path);
  if (Status st = r->open(); !st.ok()) return st.error();
  return std::unique_ptr<ResultsReader>(std::move(r));
}

std::vector<std::string> results_side_files(const std::string& db_path) {
  std::vector<std::string> names;
  auto add = [&](const std::string& base) {
    for (const char* suffix : {"-journal", "-wal", "-shm"}) names.push_back(base + suffix);
  };
  add(db_path);
  // SQLite names its side files after the database with symbolic links resolved.
  std::error_code ec;
  auto target = std::filesystem::canonical(db_path, ec);
  if (!ec && target.string() != db_path) add(target.string());
  return names;
}

Result<std::int64_t> ResultsDb::finish_run(const Summary& summary, const MetricsCollector& metrics,
                                           const Engine& engine, std::int64_t finished_unix_ms) {
  return finish_run(summary, metrics.summary_fields(engine), metrics, engine, finished_unix_ms);
}

Result<std::unique_ptr<ResultsDb>> ResultsDb::open(const std::string& path) {
  return open(path, ResultsOptions{});
}

std::unique_ptr<ResultsDb> ResultsDb::recorder(const ResultsOptions& options) {
  auto db = std::make_unique<SqliteResultsDb>("(recording)", options, true);
  db->make_recorder();
  return db;
}

Result<std::unique_ptr<ResultsDb>> ResultsDb::open_memory(const ResultsOptions& options) {
  auto db = std::make_unique<SqliteResultsDb>("(memory)", options, true);
  if (Status st = db->open(); !st.ok()) return st.error();
  return std::unique_ptr<ResultsDb>(std::move(db));
}

Result<std::unique_ptr<ResultsDb>> ResultsDb::open(const std::string& path, const ResultsOptions& options) {
  auto db = std::make_unique<SqliteResultsDb>(path, options);
  if (Status st = db->open(); !st.ok()) return st.error();
  return std::unique_ptr<ResultsDb>(std::move(db));
}

}  // namespace liqsim
