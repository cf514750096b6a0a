// Fault injection in the I/O adapters (docs/ROBUSTNESS.md): every failing
// system call of the log writer (open, write, short write, ENOSPC, fsync,
// ftruncate, rename) and every failing SQLite write, sync, full disk or busy
// lock, injected at the Nth call for N = 1, 2, … until the operation
// succeeds. Each time the operation returns an Error — no crash, abort or
// exception — and nothing is half-written: a log is unchanged (or has only a
// torn tail that repair cuts), a conversion leaves no OUT and no OUT.tmp,
// a results database keeps its earlier runs and has no partial run.
// The engine is never faulted: it is pure.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/io_faults.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "liqsim/metrics.hpp"
#include "liqsim/output_file.hpp"
#include "liqsim/replay_sinks.hpp"
#include "liqsim/results.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMaxN = 2000;  // a bound on N; every loop below ends far sooner

std::string fault_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("liqsim-faults-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Disarms on scope exit, so a failed REQUIRE never leaves faults armed for the next test.
struct Disarm {
  ~Disarm() { io_faults::disarm(); }
};

std::vector<std::string> event_lines(int n, int first_ts = 0) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    int ts = first_ts + i;
    switch (i % 3) {
      case 0:
        lines.push_back(R"({"type":"price","ts":)" + std::to_string(ts) + R"(,"asset":"BTC","price":")" +
                        std::to_string(100 + i) + "\"}");
        break;
      case 1:
        lines.push_back(R"({"type":"deposit","ts":)" + std::to_string(ts) + R"(,"account":"a)" +
                        std::to_string(i) + R"(","asset":"USD","amount":"5"})");
        break;
      default:
        // A large param value: a few of these make the writer write before sync.
        lines.push_back(R"({"type":"param","ts":)" + std::to_string(ts) +
                        R"(,"path":"liquidation.insurance_fund","value":")" + std::string(60000, '7') +
                        "\"}");
    }
  }
  return lines;
}

std::vector<InputEvent> decode_all(const std::vector<std::string>& lines, Symbols& symbols) {
  std::vector<InputEvent> out;
  for (const auto& l : lines) {
    auto ev = decode_event_line(l, symbols);
    REQUIRE(ev.ok());
    out.push_back(*ev);
  }
  return out;
}

// A binary log of the given events, written without faults.
void write_log(const std::string& path, const std::vector<std::string>& lines) {
  Symbols s;
  auto events = decode_all(lines, s);
  fs::remove(path);
  auto w = LogWriter::open(path);
  REQUIRE(w.ok());
  for (const auto& e : events) REQUIRE(w->append(e, s).ok());
  REQUIRE(w->close().ok());
}

// The canonical text of every valid record; torn tails are cut first (by
// repair, as a user would). A corrupt log fails the test.
std::vector<std::string> recovered_records(const std::string& path, bool* was_torn = nullptr) {
  auto scan = scan_log(path);
  if (!scan.ok()) FAIL("not a recoverable log: " + scan.error().describe());
  if (was_torn) *was_torn = scan->torn;
  if (scan->torn) {
    auto r = repair_log(path);
    if (!r.ok()) FAIL("repair failed: " + r.error().describe());
    auto again = scan_log(path);
    REQUIRE(again.ok());
    REQUIRE_FALSE(again->torn);
  }
  Symbols s;
  auto events = read_event_log(path, s);
  REQUIRE(events.ok());
  std::vector<std::string> out;
  for (const auto& e : *events) out.push_back(encode_event(e, s));
  return out;
}

std::vector<std::string> canonical(const std::vector<std::string>& lines) {
  Symbols s;
  std::vector<std::string> out;
  for (const auto& e : decode_all(lines, s)) out.push_back(encode_event(e, s));
  return out;
}

struct Fault {
  const char* name;
  io_faults::Op op;
  int err;
  std::size_t short_bytes;
  bool sticky;
};

// After a failed whole-file write: OUT holds its previous contents (or does
// not exist), unless the failure came after the rename — only the directory
// fsync can fail that late, and then OUT is complete. Returns 1 in that case.
int check_left_as_it_was(const std::string& out, const std::string& complete, bool existing, const Error& e) {
  if (fs::exists(out) && slurp(out) == complete) {
    CHECK(e.message.find("directory") != std::string::npos);
    return 1;
  }
  if (existing)
    CHECK(slurp(out) == "previous contents\n");
  else
    CHECK_FALSE(fs::exists(out));
  return 0;
}

const Fault kWriterFaults[] = {
    {"write EIO", io_faults::Op::write, EIO, 0, false},
    {"write ENOSPC (disk stays full)", io_faults::Op::write, ENOSPC, 0, true},
    {"short write, then ENOSPC", io_faults::Op::write, ENOSPC, 13, true},
    {"short write, then room", io_faults::Op::write, 0, 5, false},
    {"fsync EIO", io_faults::Op::fsync, EIO, 0, false},
    {"fsync EIO (every one)", io_faults::Op::fsync, EIO, 0, true},
    {"ftruncate EIO", io_faults::Op::truncate, EIO, 0, false},
    {"open EACCES", io_faults::Op::open, EACCES, 0, false},
    {"open EMFILE (every one)", io_faults::Op::open, EMFILE, 0, true},
    {"rename EXDEV", io_faults::Op::rename, EXDEV, 0, false},
};

}  // namespace

TEST_CASE(
    "an append that fails at any system call acknowledges nothing and leaves the log at its last durable "
    "record",
    "[faults][log]") {
  const std::string dir = fault_dir("append");
  const std::string base = dir + "/base.evlog";
  const auto before = event_lines(7);
  const auto batch = event_lines(90, 100);  // ~ 1.8 MiB of params: more than one write
  write_log(base, before);
  const auto before_canonical = canonical(before);
  auto all = before_canonical;
  for (const auto& l : canonical(batch)) all.push_back(l);
  Disarm disarm;
  for (const Fault& f : kWriterFaults) {
    DYNAMIC_SECTION(f.name) {
      std::uint64_t n = 1, failures = 0;
      for (; n <= kMaxN; ++n) {
        const std::string path = dir + "/log-" + std::to_string(n) + ".evlog";
        fs::copy_file(base, path, fs::copy_options::overwrite_existing);
        Symbols s;
        auto events = decode_all(batch, s);
        io_faults::arm(f.op, n, f.err, f.short_bytes, f.sticky);
        Status st;
        {
          auto w = LogWriter::open(path);
          if (!w.ok()) st = w.error();
          for (std::size_t i = 0; st.ok() && i < events.size(); ++i) st = w->append(events[i], s);
          if (st.ok()) st = w->sync();
          if (st.ok()) st = w->close();
          if (!st.ok() && w.ok()) {
            // A failed writer refuses further use.
            CHECK_FALSE(w->sync().ok());
          }
        }
        const auto injected = io_faults::injected();
        io_faults::disarm();
        const auto records = recovered_records(path);
        if (st.ok()) {
          CHECK(records == all);     // acknowledged: all of it is there
          if (injected == 0) break;  // N is past the last call: the loop is done
        } else {
          ++failures;
          CHECK(injected > 0);
          CHECK(st.error().kind == ErrorKind::io);
          CHECK_FALSE(st.error().describe().empty());
          CHECK(records == before_canonical);  // not acknowledged: nothing of the batch
        }
        fs::remove(path);
      }
      WARN(f.name << ": N = 1.." << n << ", " << failures << " failed");
      CHECK(n <= kMaxN);
      if (f.err != 0 && f.op != io_faults::Op::rename && f.op != io_faults::Op::truncate) CHECK(failures > 0);
    }
  }
}

TEST_CASE("creating a log under faults leaves no log or an empty one, never a half header that is corrupt",
          "[faults][log]") {
  const std::string dir = fault_dir("create");
  Disarm disarm;
  for (const Fault& f : kWriterFaults) {
    DYNAMIC_SECTION(f.name) {
      std::uint64_t n = 1;
      for (; n <= kMaxN; ++n) {
        const std::string path = dir + "/new-" + std::to_string(n) + ".evlog";
        io_faults::arm(f.op, n, f.err, f.short_bytes, f.sticky);
        Status st;
        {
          auto w = LogWriter::open(path);
          if (!w.ok())
            st = w.error();
          else
            st = w->close();
        }
        const auto injected = io_faults::injected();
        io_faults::disarm();
        if (!st.ok()) CHECK(st.error().kind == ErrorKind::io);
        if (fs::exists(path) && fs::file_size(path) > 0) CHECK(recovered_records(path).empty());
        // Whatever is left, the next writer opens it and appends.
        {
          Symbols s;
          auto w = LogWriter::open(path);
          REQUIRE(w.ok());
          auto ev = decode_event_line(R"({"type":"price","ts":1,"asset":"BTC","price":"1"})", s);
          REQUIRE(w->append(*ev, s).ok());
          REQUIRE(w->close().ok());
        }
        CHECK(recovered_records(path).size() == 1);
        fs::remove(path);
        if (st.ok() && injected == 0) break;
      }
      CHECK(n <= kMaxN);
    }
  }
}

TEST_CASE(
    "a conversion that fails at any system call leaves neither OUT nor OUT.tmp, and an existing OUT as it "
    "was",
    "[faults][log]") {
  const std::string dir = fault_dir("convert");
  const auto lines = event_lines(30);
  const std::string jsonl = dir + "/in.jsonl";
  {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    spit(jsonl, text);
  }
  const std::string binary = dir + "/in.evlog";
  write_log(binary, lines);
  std::string canonical_jsonl;
  for (const auto& l : canonical(lines)) canonical_jsonl += l + "\n";
  const std::string binary_bytes = slurp(binary);
  Disarm disarm;
  struct Direction {
    const char* name;
    std::string in;
    std::string expected;
  };
  for (const Direction& d : {Direction{"JSONL to binary", jsonl, binary_bytes},
                             Direction{"binary to JSONL", binary, canonical_jsonl}}) {
    for (bool existing : {false, true}) {
      for (const Fault& f : kWriterFaults) {
        DYNAMIC_SECTION(d.name << (existing ? ", over an existing OUT, " : ", new OUT, ") << f.name) {
          std::uint64_t n = 1, failures = 0, renamed_but_failed = 0;
          const std::string out = dir + "/out";
          for (; n <= kMaxN; ++n) {
            fs::remove(out);
            if (existing) spit(out, "previous contents\n");
            io_faults::arm(f.op, n, f.err, f.short_bytes, f.sticky);
            auto r = convert_event_log(d.in, out);
            const auto injected = io_faults::injected();
            io_faults::disarm();
            for (const auto& entry : fs::directory_iterator(dir))  // no temporary file of any name
              CHECK(entry.path().filename().string().rfind("out.tmp", 0) != 0);
            if (r.ok()) {
              CHECK(slurp(out) == d.expected);
              if (injected == 0) break;
              continue;
            }
            ++failures;
            CHECK(r.error().kind == ErrorKind::io);
            renamed_but_failed += check_left_as_it_was(out, d.expected, existing, r.error());
          }
          WARN(f.name << ": N = 1.." << n << ", " << failures << " failed, " << renamed_but_failed
                      << " after the rename");
          CHECK(n <= kMaxN);
        }
      }
    }
  }
}

// The journal, report, imported events and generated populations are all
// written through OutputFile. Written in chunks larger than its buffer, so
// several writes happen before the commit.
TEST_CASE("an output file that fails at any system call leaves the target as it was and no .tmp",
          "[faults][output]") {
  const std::string dir = fault_dir("output");
  std::string payload;
  for (int i = 0; payload.size() < (std::size_t{3} << 20); ++i) payload += "line " + std::to_string(i) + "\n";
  Disarm disarm;
  for (bool existing : {false, true}) {
    for (const Fault& f : kWriterFaults) {
      DYNAMIC_SECTION((existing ? "over an existing file, " : "new file, ") << f.name) {
        const std::string out = dir + "/out.jsonl";
        std::uint64_t n = 1, failures = 0, renamed_but_failed = 0;
        for (; n <= kMaxN; ++n) {
          fs::remove(out);
          if (existing) spit(out, "previous contents\n");
          io_faults::arm(f.op, n, f.err, f.short_bytes, f.sticky);
          Status st;
          {
            auto file = OutputFile::create(out);
            if (!file) {
              st = file.error();
            } else {
              for (std::size_t at = 0; at < payload.size() && st.ok(); at += 700'000)
                st = file->write(std::string_view(payload).substr(at, 700'000));
              if (st) st = file->commit();
            }
          }  // an uncommitted file is abandoned here
          const auto injected = io_faults::injected();
          io_faults::disarm();
          // Nothing beside the target: no temporary file of any name is left.
          std::size_t files = 0;
          for (const auto& entry : fs::directory_iterator(dir)) files += entry.path() != out ? 1 : 0;
          CHECK(files == 0);
          if (st.ok()) {
            CHECK(slurp(out) == payload);
            if (injected == 0) break;
            continue;
          }
          ++failures;
          CHECK(st.error().kind == ErrorKind::io);
          CHECK(st.error().file == out);
          renamed_but_failed += check_left_as_it_was(out, payload, existing, st.error());
        }
        WARN(f.name << ": N = 1.." << n << ", " << failures << " failed, " << renamed_but_failed
                    << " after the rename");
        // Every fault of a call it makes is seen (it never truncates; a short
        // write followed by room is retried and succeeds).
        if (f.op != io_faults::Op::truncate && f.err != 0) CHECK(failures > 0);
        CHECK(n <= kMaxN);
      }
    }
  }
}

TEST_CASE("an output file replaces regular files atomically and streams into devices and pipes", "[output]") {
  const std::string dir = fault_dir("targets");
  SECTION("a missing or regular file is replaced by rename") {
    auto t = resolve_output(dir + "/new.jsonl");
    REQUIRE(t.ok());
    CHECK_FALSE(t->stream);
    spit(dir + "/old.jsonl", "x");
    t = resolve_output(dir + "/old.jsonl");
    REQUIRE(t.ok());
    CHECK_FALSE(t->stream);
  }
  SECTION("a symbolic link keeps pointing at the new file") {
    spit(dir + "/real.jsonl", "old\n");
    fs::create_symlink("real.jsonl", dir + "/link.jsonl");
    auto file = OutputFile::create(dir + "/link.jsonl");
    REQUIRE(file.ok());
    REQUIRE(file->write("new\n").ok());
    REQUIRE(file->commit().ok());
    CHECK(fs::is_symlink(dir + "/link.jsonl"));
    CHECK(slurp(dir + "/real.jsonl") == "new\n");
  }
  SECTION("a dangling symbolic link and a directory are refused by name") {
    fs::create_symlink("nowhere.jsonl", dir + "/dangling.jsonl");
    auto t = resolve_output(dir + "/dangling.jsonl");
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().file == dir + "/dangling.jsonl");
    t = resolve_output(dir);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.find("directory") != std::string::npos);
    CHECK_FALSE(resolve_output("").ok());
  }
  SECTION("a device is written into, never replaced") {
    auto file = OutputFile::create("/dev/null");
    REQUIRE(file.ok());
    CHECK(file->streaming());
    REQUIRE(file->write("discarded\n").ok());
    REQUIRE(file->commit().ok());
    CHECK(fs::is_character_file("/dev/null"));
    CHECK_FALSE(fs::exists("/dev/null.tmp"));
  }
  SECTION("a full device is an error naming it, and stays a device") {
    if (!fs::is_character_file("/dev/full"))
      SUCCEED("no /dev/full here");
    else {
      auto file = OutputFile::create("/dev/full");
      REQUIRE(file.ok());
      Status st = file->write("x\n");
      if (st) st = file->commit();
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().file == "/dev/full");
      CHECK(st.error().message.find("no space left") != std::string::npos);
      CHECK(fs::is_character_file("/dev/full"));
    }
  }
  SECTION("a FIFO receives the bytes as they are written") {
    const std::string fifo = dir + "/pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    {
      auto file = OutputFile::create(fifo);
      REQUIRE(file.ok());
      CHECK(file->streaming());
      REQUIRE(file->write("through the pipe\n").ok());
      REQUIRE(file->commit().ok());
    }
    char buf[64] = {};
    ssize_t got = ::read(reader, buf, sizeof buf - 1);
    ::close(reader);
    CHECK(std::string(buf, got > 0 ? static_cast<std::size_t>(got) : 0) == "through the pipe\n");
    CHECK(fs::is_fifo(fifo));
  }
}

TEST_CASE("a repair that fails at any system call leaves a log that a later repair still repairs",
          "[faults][log]") {
  const std::string dir = fault_dir("repair");
  const auto lines = event_lines(5);
  const std::string base = dir + "/base.evlog";
  write_log(base, lines);
  std::string torn = slurp(base);
  torn.resize(torn.size() - 9);  // cut inside the last record
  auto kept = canonical(lines);
  kept.pop_back();
  Disarm disarm;
  for (const Fault& f : kWriterFaults) {
    DYNAMIC_SECTION(f.name) {
      std::uint64_t n = 1;
      for (; n <= kMaxN; ++n) {
        const std::string path = dir + "/torn.evlog";
        spit(path, torn);
        io_faults::arm(f.op, n, f.err, f.short_bytes, f.sticky);
        auto r = repair_log(path);
        const auto injected = io_faults::injected();
        io_faults::disarm();
        if (!r.ok()) CHECK(r.error().kind == ErrorKind::io);
        CHECK(recovered_records(path) == kept);
        if (r.ok() && injected == 0) break;
      }
      CHECK(n <= kMaxN);
    }
  }
}

// ----------------------------------------------------------------------------- SQLite

namespace {

// A VFS that wraps the default one and fails the Nth xWrite, xSync or
// xTruncate of any file (database or journal) with a chosen SQLite code.
// Registered as the default VFS only inside FaultVfsScope (tests only).
struct FaultVfs {
  enum Op { write, sync, truncate };
  static inline sqlite3_vfs* real = nullptr;
  static inline sqlite3_vfs vfs{};
  static inline sqlite3_io_methods methods{};
  static inline bool armed = false;
  static inline Op op = write;
  static inline std::uint64_t nth = 0, calls = 0, injected = 0;
  static inline int code = SQLITE_IOERR_WRITE;
  static inline bool sticky = false;

  struct File {
    sqlite3_file base;
    sqlite3_file* inner;
  };

  static bool fault(Op o) {
    if (!armed || o != op) return false;
    ++calls;
    if (calls == nth || (sticky && calls > nth)) {
      ++injected;
      return true;
    }
    return false;
  }
  static sqlite3_file* in(sqlite3_file* f) { return reinterpret_cast<File*>(f)->inner; }

  static int x_close(sqlite3_file* f) {
    int rc = in(f)->pMethods ? in(f)->pMethods->xClose(in(f)) : SQLITE_OK;
    return rc;
  }
  static int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
    return in(f)->pMethods->xRead(in(f), b, n, o);
  }
  static int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
    if (fault(write)) return code;
    return in(f)->pMethods->xWrite(in(f), b, n, o);
  }
  static int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    if (fault(truncate)) return code;
    return in(f)->pMethods->xTruncate(in(f), size);
  }
  static int x_sync(sqlite3_file* f, int flags) {
    if (fault(sync)) return code;
    return in(f)->pMethods->xSync(in(f), flags);
  }
  static int x_size(sqlite3_file* f, sqlite3_int64* s) { return in(f)->pMethods->xFileSize(in(f), s); }
  static int x_lock(sqlite3_file* f, int l) { return in(f)->pMethods->xLock(in(f), l); }
  static int x_unlock(sqlite3_file* f, int l) { return in(f)->pMethods->xUnlock(in(f), l); }
  static int x_check(sqlite3_file* f, int* r) { return in(f)->pMethods->xCheckReservedLock(in(f), r); }
  static int x_fcntl(sqlite3_file* f, int op, void* a) { return in(f)->pMethods->xFileControl(in(f), op, a); }
  static int x_sector(sqlite3_file* f) { return in(f)->pMethods->xSectorSize(in(f)); }
  static int x_dev(sqlite3_file* f) { return in(f)->pMethods->xDeviceCharacteristics(in(f)); }

  static int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
    auto* file = reinterpret_cast<File*>(f);
    file->inner = reinterpret_cast<sqlite3_file*>(file + 1);
    file->base.pMethods = nullptr;
    int rc = real->xOpen(real, name, file->inner, flags, out_flags);
    if (rc == SQLITE_OK) file->base.pMethods = &methods;
    return rc;
  }

  static void install() {
    real = sqlite3_vfs_find(nullptr);
    REQUIRE(real != nullptr);
    vfs = *real;
    vfs.zName = "liqsim-faults";
    vfs.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
    vfs.xOpen = &x_open;
    vfs.pNext = nullptr;
    methods = sqlite3_io_methods{};
    methods.iVersion = 1;  // no shared memory: the results database uses a rollback journal
    methods.xClose = &x_close;
    methods.xRead = &x_read;
    methods.xWrite = &x_write;
    methods.xTruncate = &x_truncate;
    methods.xSync = &x_sync;
    methods.xFileSize = &x_size;
    methods.xLock = &x_lock;
    methods.xUnlock = &x_unlock;
    methods.xCheckReservedLock = &x_check;
    methods.xFileControl = &x_fcntl;
    methods.xSectorSize = &x_sector;
    methods.xDeviceCharacteristics = &x_dev;
    REQUIRE(sqlite3_vfs_register(&vfs, 1) == SQLITE_OK);
  }
  static void uninstall() {
    armed = false;
    sqlite3_vfs_register(real, 1);
    sqlite3_vfs_unregister(&vfs);
  }
  static void arm(Op o, std::uint64_t n, int c, bool s) {
    op = o;
    nth = n;
    code = c;
    sticky = s;
    calls = injected = 0;
    armed = true;
  }
};

struct FaultVfsScope {
  FaultVfsScope() { FaultVfs::install(); }
  ~FaultVfsScope() { FaultVfs::uninstall(); }
};

const char* const kRunConfig = R"({
  "assets": { "BTC": { "collateral_weight": "1" } },
  "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1",
                             "maintenance_margin_ratio": "0.05", "liquidation_fee_ratio": "0.01", "depth": "500" } },
  "liquidation": { "insurance_fund": "100000", "adl": true } })";

std::vector<std::string> run_events() {
  std::vector<std::string> lines = {
      R"({"type":"price","ts":0,"asset":"BTC","price":"100"})",
      R"({"type":"deposit","ts":0,"account":"mm","asset":"USD","amount":"1000000"})",
  };
  for (int d = 110; d <= 300; d += 10) {
    std::string a = "a" + std::to_string(d);
    lines.push_back(R"({"type":"deposit","ts":1000,"account":")" + a + R"(","asset":"USD","amount":")" +
                    std::to_string(d) + "\"}");
    lines.push_back(R"({"type":"trade","ts":1000,"account":")" + a +
                    R"(","market":"BTC-PERP","side":"buy","qty":"10","price":"100","counterparty":"mm"})");
  }
  for (int i = 0; i < 40; ++i)
    lines.push_back(R"({"type":"price","ts":)" + std::to_string(60000 * (i + 1)) +
                    R"(,"asset":"BTC","price":")" + std::to_string(i % 2 ? 97 - i / 2 : 99) + "\"}");
  return lines;
}

// One whole run through ResultsDb; the first error, or ok.
Status write_whole_run(const std::string& path, const std::string& label, const ResultsOptions& options) {
  auto doc = parse_json(kRunConfig);
  REQUIRE(doc.ok());
  auto config = parse_config(*doc, "config.json");
  REQUIRE(config.ok());
  Symbols symbols;
  auto events = decode_all(run_events(), symbols);
  auto db = ResultsDb::open(path, options);
  if (!db.ok()) return db.error();
  RunInfo info;
  info.label = label;
  info.config_json = doc->dump();
  info.events_path = "events.jsonl";
  info.events_sha256 = std::string(64, '0');
  info.engine_version = "liqsim test";
  ResultsSink sink(std::move(*db), info, symbols, [] { return std::int64_t{0}; });
  auto result = replay_events(*config, symbols, events, {&sink});
  if (!result.ok()) return result.error();
  return {};
}

struct DbCheck {
  sqlite3* db = nullptr;
  explicit DbCheck(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, "unix") == SQLITE_OK);
  }
  ~DbCheck() { sqlite3_close(db); }
  std::string one(const std::string& q) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr) != SQLITE_OK) FAIL(q + ": " + sqlite3_errmsg(db));
    std::string out = "<no row>";
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "NULL";
    }
    sqlite3_finalize(st);
    return out;
  }
  // Row counts of every table, per run: the fingerprint of the earlier runs.
  std::string fingerprint() {
    std::string f;
    for (const char* t : {"runs", "events", "market_series", "insurance_fund", "accounts", "markets",
                          "collateral", "metrics", "cascades", "episodes"})
      f += std::string(t) + "=" +
           one(std::string("SELECT COUNT(*) || ':' || COALESCE(SUM(") +
               (std::string(t) == "runs" ? "id" : "run_id") + "), 0) FROM " + t) +
           " ";
    return f;
  }
};

// The earlier runs are intact and no partial run exists.
void check_db(const std::string& path, const std::string& fingerprint_before, bool run_added) {
  DbCheck q(path);
  CHECK(q.one("PRAGMA integrity_check") == "ok");
  CHECK(q.one("SELECT COUNT(*) FROM runs WHERE complete <> 1") == "0");
  CHECK(q.one("SELECT COUNT(*) FROM events WHERE run_id NOT IN (SELECT id FROM runs)") == "0");
  CHECK(q.one("SELECT COUNT(*) FROM metrics WHERE run_id NOT IN (SELECT id FROM runs)") == "0");
  if (!run_added)
    CHECK(q.fingerprint() == fingerprint_before);
  else
    CHECK(q.one("SELECT COUNT(*) FROM runs") == "2");
}

}  // namespace

TEST_CASE(
    "a results run that fails at any SQLite write, sync or truncate is rolled back whole and earlier runs "
    "stay",
    "[faults][results]") {
  const std::string dir = fault_dir("sqlite");
  const std::string base = dir + "/base.sqlite";
  REQUIRE(write_whole_run(base, "kept", {}).ok());
  std::string fingerprint;
  {
    DbCheck q(base);
    fingerprint = q.fingerprint();
  }
  struct SqlFault {
    const char* name;
    FaultVfs::Op op;
    int code;
    bool sticky;
  };
  const SqlFault faults[] = {
      {"xWrite SQLITE_IOERR_WRITE", FaultVfs::write, SQLITE_IOERR_WRITE, false},
      {"xWrite SQLITE_FULL (disk stays full)", FaultVfs::write, SQLITE_FULL, true},
      {"xSync SQLITE_IOERR_FSYNC", FaultVfs::sync, SQLITE_IOERR_FSYNC, false},
      {"xTruncate SQLITE_IOERR_TRUNCATE", FaultVfs::truncate, SQLITE_IOERR_TRUNCATE, false},
  };
  for (const SqlFault& f : faults) {
    DYNAMIC_SECTION(f.name) {
      std::uint64_t n = 1, failures = 0;
      for (; n <= kMaxN; ++n) {
        const std::string path = dir + "/r.sqlite";
        fs::remove(path);
        fs::remove(path + "-journal");
        fs::copy_file(base, path);
        Status st;
        std::uint64_t injected = 0;
        {
          FaultVfsScope scope;
          FaultVfs::arm(f.op, n, f.code, f.sticky);
          st = write_whole_run(path, "faulted", {});
          injected = FaultVfs::injected;
        }
        if (!st.ok()) {
          ++failures;
          CHECK(st.error().kind == ErrorKind::io);
        }
        check_db(path, fingerprint, st.ok());
        if (st.ok() && injected == 0) break;
      }
      WARN(f.name << ": N = 1.." << n << ", " << failures << " failed");
      CHECK(n <= kMaxN);
      if (f.op != FaultVfs::truncate) CHECK(failures > 0);
    }
  }
}

TEST_CASE("a results database that is full at any size rolls the run back and keeps earlier runs",
          "[faults][results]") {
  const std::string dir = fault_dir("sqlite-full");
  const std::string base = dir + "/base.sqlite";
  REQUIRE(write_whole_run(base, "kept", {}).ok());
  std::string fingerprint;
  std::int64_t pages = 0;
  {
    DbCheck q(base);
    fingerprint = q.fingerprint();
    pages = std::stoll(q.one("PRAGMA page_count"));
  }
  std::int64_t extra = 0, failures = 0;
  for (; extra < 1000; ++extra) {
    const std::string path = dir + "/r.sqlite";
    fs::remove(path);
    fs::copy_file(base, path);
    ResultsOptions options;
    options.max_page_count = pages + extra;
    Status st = write_whole_run(path, "quota", options);
    if (!st.ok()) {
      ++failures;
      CHECK(st.error().kind == ErrorKind::io);
    }
    check_db(path, fingerprint, st.ok());
    if (st.ok()) break;
  }
  WARN("quota = page_count + 0.." << extra << ", " << failures << " failed");
  CHECK(failures > 0);
  CHECK(extra < 1000);
}

TEST_CASE(
    "a results database locked by another connection at begin or at commit is a busy error with no partial "
    "run",
    "[faults][results]") {
  const std::string dir = fault_dir("sqlite-busy");
  const std::string path = dir + "/r.sqlite";
  REQUIRE(write_whole_run(path, "kept", {}).ok());
  std::string fingerprint;
  {
    DbCheck q(path);
    fingerprint = q.fingerprint();
  }
  ResultsOptions options;
  options.busy_timeout_ms = 20;
  SECTION("another writer holds the write lock") {
    DbCheck holder(path);
    REQUIRE(sqlite3_exec(holder.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    Status st = write_whole_run(path, "blocked", options);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::io);
    REQUIRE(sqlite3_exec(holder.db, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  SECTION("a reader holds a shared lock through the commit") {
    DbCheck reader(path);
    REQUIRE(sqlite3_exec(reader.db, "BEGIN; SELECT COUNT(*) FROM events;", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    Status st = write_whole_run(path, "blocked", options);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::io);
    REQUIRE(sqlite3_exec(reader.db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  check_db(path, fingerprint, false);
  CHECK(write_whole_run(path, "after", options).ok());
}
