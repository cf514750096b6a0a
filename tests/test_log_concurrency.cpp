// The log's lock and concurrent use of one log (include/liqsim/log.hpp,
// events/FORMAT.md "Locking" and "Verifying a log that is being appended").
//
// No threads and no timing: a second process's part is played in-process by
// a second open file description (flock locks conflict between descriptions,
// even in one process), and the moments a race needs — between a writer's
// open and its lock, before convert's rename, after verify read a torn tail —
// are reached through detail::lock_hook, which runs the other party's action
// right there.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "temp_dir.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

using test::slurp;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("liqsim-lock-test") {}
};

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string price(std::int64_t ts, const std::string& asset) {
  return R"({"type":"price","ts":)" + std::to_string(ts) + R"(,"asset":")" + asset + R"(","price":"100"})";
}

std::string jsonl_of(std::int64_t first_ts, int n, const std::string& asset) {
  std::string text;
  for (int i = 0; i < n; ++i) text += price(first_ts + i, asset) + "\n";
  return text;
}

// Appends N price events (ts FIRST_TS..) for ASSET through W and syncs.
void append_prices(LogWriter& w, std::int64_t first_ts, int n, const std::string& asset) {
  Symbols symbols;
  for (int i = 0; i < n; ++i) {
    auto ev = decode_event_line(price(first_ts + i, asset), symbols);
    REQUIRE(ev.ok());
    REQUIRE(w.append(*ev, symbols).ok());
  }
  REQUIRE(w.sync().ok());
}

// A binary log of N price events, ts FIRST_TS.., written without any lock games.
void write_log(const std::string& path, std::int64_t first_ts, int n, const std::string& asset) {
  fs::remove(path);
  auto w = LogWriter::open(path);
  REQUIRE(w.ok());
  append_prices(*w, first_ts, n, asset);
  REQUIRE(w->close().ok());
}

// The assets of a log's events, in order ("" if it does not read).
std::string assets_of(const std::string& path) {
  Symbols symbols;
  auto events = read_event_log(path, symbols);
  if (!events) return "<" + events.error().describe() + ">";
  std::string out;
  for (const auto& e : *events) {
    const std::string line = encode_event(e, symbols);
    const auto at = line.find("\"asset\":\"");
    out += line.substr(at + 9, line.find('"', at + 9) - at - 9);
  }
  return out;
}

// The hook for one test: an action run at the first call at POINT, once.
struct HookScope {
  static inline std::string point;
  static inline std::function<void(const std::string&)> action;
  static inline int calls = 0;
  HookScope(std::string at, std::function<void(const std::string&)> what) {
    point = std::move(at);
    action = std::move(what);
    calls = 0;
    detail::lock_hook = &HookScope::run;
  }
  ~HookScope() {
    detail::lock_hook = nullptr;
    action = nullptr;
  }
  static void run(const char* at, const std::string& path) {
    if (point != at) return;
    if (++calls == 1 && action) action(path);
  }
};

// Another process's descriptor on PATH, holding an flock of the given kind.
struct OtherLock {
  int fd = -1;
  OtherLock(const std::string& path, int how) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, how | LOCK_NB) == 0);
  }
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~OtherLock() { release(); }
};

bool has_temporary_file(const TempDir& dir) {
  for (const auto& n : dir.names())
    if (n.find(".tmp") != std::string::npos) return true;
  return false;
}

}  // namespace

// ---------------------------------------------------------------- convert and repair against a writer

TEST_CASE(
    "a conversion onto a log that a writer holds is refused, and the writer's records stay in the file named",
    "[log][lock]") {
  TempDir dir;
  spit(dir.path("x.jsonl"), jsonl_of(1, 3, "X"));
  const std::string log = dir.path("live.evlog");
  auto w = LogWriter::open(log);
  REQUIRE(w.ok());
  append_prices(*w, 10, 2, "A");  // acknowledged: fsync'ed under the lock
  const std::string before = slurp(log);

  std::optional<HookScope> scope;
  scope.emplace("replacing", nullptr);
  auto r = convert_event_log(dir.path("x.jsonl"), log);
  CHECK(HookScope::calls == 0);  // refused at the start, before converting anything
  scope.reset();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::io);
  CHECK(r.error().message.find("locked by another process") != std::string::npos);
  CHECK(slurp(log) == before);
  CHECK_FALSE(has_temporary_file(dir));

  append_prices(*w, 20, 1, "B");  // the writer goes on in the file named
  REQUIRE(w->close().ok());
  CHECK(assets_of(log) == "AAB");
  auto again = convert_event_log(dir.path("x.jsonl"), log);  // the writer is gone
  REQUIRE(again.ok());
  CHECK(assets_of(log) == "XXX");
}

TEST_CASE("a conversion onto a missing log that a writer creates meanwhile does not replace it",
          "[log][lock]") {
  TempDir dir;
  spit(dir.path("x.jsonl"), jsonl_of(1, 3, "X"));
  const std::string log = dir.path("new.evlog");
  std::optional<LogWriter> writer;
  {
    // Just before convert renames its temporary file: an append creates the log.
    HookScope scope("replacing", [&](const std::string& path) {
      auto w = LogWriter::open(path);
      REQUIRE(w.ok());
      append_prices(*w, 10, 2, "A");
      writer.emplace(std::move(*w));
    });
    auto r = convert_event_log(dir.path("x.jsonl"), log);
    REQUIRE(HookScope::calls >= 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("locked by another process") != std::string::npos);
  }
  CHECK(assets_of(log) == "AA");
  CHECK_FALSE(has_temporary_file(dir));
  REQUIRE(writer->close().ok());
}

TEST_CASE("a conversion onto a missing log that a finished append created replaces it under the lock",
          "[log][lock]") {
  TempDir dir;
  spit(dir.path("x.jsonl"), jsonl_of(1, 3, "X"));
  const std::string log = dir.path("new.evlog");
  HookScope scope("replacing", [&](const std::string& path) { write_log(path, 10, 2, "A"); });
  auto r = convert_event_log(dir.path("x.jsonl"), log);
  REQUIRE(r.ok());
  CHECK(assets_of(log) == "XXX");
  CHECK_FALSE(has_temporary_file(dir));
}

TEST_CASE("repair of a log that a writer holds is refused and changes nothing", "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("live.evlog");
  auto w = LogWriter::open(log);
  REQUIRE(w.ok());
  append_prices(*w, 10, 2, "A");
  const std::string before = slurp(log);
  auto r = repair_log(log);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::io);
  CHECK(r.error().message.find("locked by another process") != std::string::npos);
  CHECK(slurp(log) == before);
  REQUIRE(w->close().ok());
}

// ---------------------------------------------------------------- the path still names the file locked

TEST_CASE("a writer whose log is replaced between its open and its lock appends to the file now named",
          "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("log.evlog");
  write_log(log, 1, 2, "O");                      // the file the writer opens first
  write_log(dir.path("other.evlog"), 1, 3, "N");  // what a convert puts in its place
  HookScope scope("opened", [&](const std::string& path) {
    REQUIRE(::rename(dir.path("other.evlog").c_str(), path.c_str()) == 0);
  });
  auto w = LogWriter::open(log);
  REQUIRE(HookScope::calls >= 1);
  REQUIRE(w.ok());
  CHECK(w->next_seq() == 3);  // continues the file named, not the one it opened first
  append_prices(*w, 10, 1, "A");
  REQUIRE(w->check_still_named().ok());
  REQUIRE(w->close().ok());
  CHECK(assets_of(log) == "NNNA");
}

TEST_CASE("a repair whose log is replaced between its open and its lock repairs the file now named",
          "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("log.evlog");
  write_log(log, 1, 2, "O");
  write_log(dir.path("torn.evlog"), 1, 3, "T");
  const std::string whole = slurp(dir.path("torn.evlog"));
  spit(dir.path("torn.evlog"), whole.substr(0, whole.size() - 5));
  HookScope scope("opened", [&](const std::string& path) {
    REQUIRE(::rename(dir.path("torn.evlog").c_str(), path.c_str()) == 0);
  });
  auto r = repair_log(log);
  REQUIRE(r.ok());
  CHECK(r->was_torn);
  CHECK(r->records == 2);
  CHECK(assets_of(log) == "TT");
  CHECK(scan_log(log)->torn == false);
}

TEST_CASE("a writer whose log was replaced by a program that takes no lock acknowledges nothing",
          "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("log.evlog");
  write_log(dir.path("other.evlog"), 1, 1, "N");
  auto w = LogWriter::open(log);
  REQUIRE(w.ok());
  append_prices(*w, 10, 2, "A");
  REQUIRE(w->check_still_named().ok());
  REQUIRE(::rename(dir.path("other.evlog").c_str(), log.c_str()) == 0);  // as `mv` would
  Status st = w->check_still_named();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::io);
  CHECK(st.error().message.find("nothing is acknowledged") != std::string::npos);
}

// ---------------------------------------------------------------- readers and writers

TEST_CASE("a writer waits while only a reader holds the log, and is refused at once by another writer",
          "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("log.evlog");
  write_log(log, 1, 2, "O");
  SECTION("a reader's shared lock is waited out") {
    OtherLock reader(log, LOCK_SH);
    // The reader lets go once the writer has found it and is waiting.
    HookScope scope("readers hold", [&](const std::string&) { reader.release(); });
    auto w = LogWriter::open(log);
    CHECK(HookScope::calls == 1);
    REQUIRE(w.ok());
    append_prices(*w, 10, 1, "A");
    REQUIRE(w->close().ok());
    CHECK(assets_of(log) == "OOA");
  }
  SECTION("a writer's exclusive lock is not waited for") {
    OtherLock writer(log, LOCK_EX);
    HookScope scope("readers hold", nullptr);
    auto w = LogWriter::open(log);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().message.find("locked by another process") != std::string::npos);
    CHECK(HookScope::calls == 0);
  }
}

// ---------------------------------------------------------------- verify during an append

TEST_CASE("verify of a log whose writer holds the lock reads a half-written last record as in progress",
          "[log][lock][verify]") {
  TempDir dir;
  const std::string log = dir.path("live.evlog");
  write_log(dir.path("whole.evlog"), 10, 3, "A");  // the same log with its third record complete
  const std::string whole = slurp(dir.path("whole.evlog"));
  auto w = LogWriter::open(log);
  REQUIRE(w.ok());
  append_prices(*w, 10, 2, "A");
  const std::int64_t two = w->size();
  // The writer is in the middle of writing its third record.
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out << whole.substr(static_cast<std::size_t>(two), 30);
  }
  auto live = verify_log(log);
  REQUIRE(live.ok());
  CHECK(live->writer_appending);
  CHECK(live->records == 2);
  CHECK(live->valid_end == two);
  CHECK(live->file_size == two + 30);

  // The same bytes once no writer holds the log: a torn tail.
  REQUIRE(w->close().ok());  // the writer is gone (as after a crash), and its lock with it
  auto crashed = verify_log(log);
  REQUIRE(crashed.ok());
  CHECK(crashed->torn);
  CHECK_FALSE(crashed->writer_appending);
  CHECK(crashed->torn_error.offset == two);
  CHECK(crashed->torn_error.seq == 2);
}

TEST_CASE(
    "verify reads a torn tail again once its writer has finished: a completed record is not a torn tail",
    "[log][lock][verify]") {
  TempDir dir;
  const std::string log = dir.path("live.evlog");
  write_log(dir.path("whole.evlog"), 10, 3, "A");
  const std::string whole = slurp(dir.path("whole.evlog"));
  spit(log, whole.substr(0, whole.size() - 7));  // the third record being written
  std::optional<OtherLock> writer;
  writer.emplace(log, LOCK_EX);
  // Between verify's read of the tail and its question "who holds the log?",
  // the writer completes the record and lets go.
  HookScope scope("torn tail", [&](const std::string& path) {
    spit(path, whole);
    writer.reset();
  });
  auto r = verify_log(log);
  REQUIRE(HookScope::calls == 1);
  REQUIRE(r.ok());
  CHECK_FALSE(r->torn);
  CHECK_FALSE(r->writer_appending);
  CHECK(r->records == 3);
  CHECK(r->file_size == static_cast<std::int64_t>(whole.size()));
}

TEST_CASE("verify of a log cut inside its header while a writer creates it is in progress, not torn",
          "[log][lock][verify]") {
  TempDir dir;
  const std::string log = dir.path("new.evlog");
  spit(log, detail::file_header().substr(0, 7));
  {
    OtherLock writer(log, LOCK_EX);
    auto r = verify_log(log);
    REQUIRE(r.ok());
    CHECK(r->writer_appending);
    CHECK(r->records == 0);
  }
  auto r = verify_log(log);
  REQUIRE(r.ok());
  CHECK(r->torn);
  CHECK_FALSE(r->writer_appending);
}

// ---------------------------------------------------------------- empty logs and named pipes

TEST_CASE("repair turns a 0-byte file, what a crash at a log's creation leaves, into an empty binary log",
          "[log][lock]") {
  TempDir dir;
  const std::string log = dir.path("empty.evlog");
  spit(log, "");
  auto r = repair_log(log);
  REQUIRE(r.ok());
  CHECK(r->was_torn);
  CHECK(r->size_before == 0);
  CHECK(r->records == 0);
  CHECK(r->valid_end == 16);
  CHECK(slurp(log) == detail::file_header());
  auto w = LogWriter::open(log);  // appends go on
  REQUIRE(w.ok());
  append_prices(*w, 1, 1, "A");
  REQUIRE(w->close().ok());
  CHECK(assets_of(log) == "A");
}

TEST_CASE("a named pipe given as a log is refused by every reader and writer, never waited on",
          "[log][lock]") {
  TempDir dir;
  const std::string fifo = dir.path("pipe.evlog");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Symbols symbols;
  auto reader = LogReader::open(fifo, symbols);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.error().message.find("named pipe") != std::string::npos);
  auto writer = LogWriter::open(fifo);
  REQUIRE_FALSE(writer.ok());
  CHECK(writer.error().message.find("named pipe") != std::string::npos);
  auto repaired = repair_log(fifo);
  REQUIRE_FALSE(repaired.ok());
  CHECK(repaired.error().message.find("named pipe") != std::string::npos);
  auto verified = verify_log(fifo);
  REQUIRE_FALSE(verified.ok());
  auto converted = convert_event_log(fifo, dir.path("out.jsonl"));
  REQUIRE_FALSE(converted.ok());
  CHECK(converted.error().message.find("named pipe") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path("out.jsonl")));
  CHECK(fs::is_fifo(fifo));
}
