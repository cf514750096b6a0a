// Streaming candle import and population generation (issue 10): the bound on
// what --repair may invent, inputs that are not plain files, and outputs that
// stay the bytes they always were. Memory itself is checked under a hard
// address-space limit by tests/import_limits.sh.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "liqsim/import.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/population.hpp"

using namespace liqsim;
using namespace liqsim::import;

namespace {

constexpr std::int64_t kT0 = 1678320000000;  // 2023-03-09T00:00Z
constexpr std::int64_t kMinute = 60000;
const std::string kHeader = "open_time,open,high,low,close,volume\n";

std::string row(std::int64_t open_ms, const std::string& o, const std::string& h, const std::string& l,
                const std::string& c) {
  return std::to_string(open_ms) + "," + o + "," + h + "," + l + "," + c + ",1\n";
}
std::string flat(std::int64_t minute) { return row(kT0 + minute * kMinute, "1", "1", "1", "1"); }

struct Run {
  Status status;
  std::vector<InputEvent> events;
  std::vector<std::string> reports;
  ImportStats stats;
  Symbols symbols;
};

Run stream(std::istream& in, CandleOptions opt = {}) {
  Run r;
  r.status = import_candles(
      in, "c.csv", "ETH", opt, r.symbols, [&](const InputEvent& e) { r.events.push_back(e); },
      [&](const std::string& s) { r.reports.push_back(s); }, r.stats);
  return r;
}
Run stream(const std::string& text, CandleOptions opt = {}) {
  std::istringstream in(text);
  return stream(in, opt);
}

CandleOptions repairing() {
  CandleOptions opt;
  opt.repair = true;
  return opt;
}

std::string fmt_time(std::int64_t ms) {
  std::string s = format_rfc3339(ms);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

// ---- the reference: the whole-file algorithm the streaming import replaced ----
//
// All rows in memory: reported out-of-order rows, a stable sort, the first of
// each duplicate kept, the smallest step as the bar, then gaps filled (or
// refused) bar by bar. Rows here are valid one by one (the single-row checks
// are shared code), so only order, duplicates, grid and gaps are modelled.
struct Expected {
  bool ok = true;
  std::int64_t error_line = 0;
  std::string error_text;
  std::vector<std::string> reports;
  std::vector<std::pair<std::int64_t, std::int64_t>> ticks;
};

Expected reference_import(std::vector<Candle> rows, bool repair, std::int64_t bar_given) {
  Expected x;
  auto fail = [&](std::int64_t line, std::string text) {
    x.ok = false;
    x.error_line = line;
    x.error_text = std::move(text);
    return x;
  };
  auto report = [&](std::int64_t line, const std::string& what) {
    x.reports.push_back("c.csv:" + std::to_string(line) + ": repaired: " + what);
  };
  if (repair) {
    for (std::size_t i = 1; i < rows.size(); ++i)
      if (rows[i].open_ms < rows[i - 1].open_ms)
        report(rows[i].line, "moved row into time order (" + fmt_time(rows[i].open_ms) + " after " +
                                 fmt_time(rows[i - 1].open_ms) + ")");
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Candle& a, const Candle& b) { return a.open_ms < b.open_ms; });
    std::vector<Candle> unique;
    for (const Candle& c : rows) {
      if (!unique.empty() && unique.back().open_ms == c.open_ms) {
        report(c.line,
               "dropped duplicate of line " + std::to_string(unique.back().line) + " (kept the first)");
        continue;
      }
      unique.push_back(c);
    }
    rows = unique;
  } else {
    for (std::size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].open_ms == rows[i - 1].open_ms) return fail(rows[i].line, "duplicate bar");
      if (rows[i].open_ms < rows[i - 1].open_ms) return fail(rows[i].line, "out of order");
    }
  }
  std::int64_t bar = bar_given;
  for (std::size_t i = 1; bar_given == 0 && i < rows.size(); ++i) {
    const std::int64_t d = rows[i].open_ms - rows[i - 1].open_ms;
    if (d > 0 && (bar == 0 || d < bar)) bar = d;
  }
  if (bar == 0) return fail(rows[0].line, "cannot infer");
  std::vector<Candle> out;
  for (const Candle& c : rows) {
    if (!out.empty()) {
      const Candle prev = out.back();
      const std::int64_t d = c.open_ms - prev.open_ms;
      if (d % bar != 0) {
        if (!repair) return fail(c.line, "is not on the");
        report(c.line, "dropped row off the bar grid (open time " + fmt_time(c.open_ms) + " is not on the " +
                           std::to_string(bar) + " ms grid of line " + std::to_string(prev.line) + ")");
        continue;
      }
      if (d > bar) {
        const std::int64_t missing = d / bar - 1;
        if (!repair) return fail(c.line, "gap: " + std::to_string(missing) + " missing bar");
        report(c.line, "filled gap of " + std::to_string(missing) + " missing bar" +
                           (missing == 1 ? "" : "s") + " from " + fmt_time(prev.open_ms + bar) + " to " +
                           fmt_time(c.open_ms - bar) + " with the previous close " +
                           format_decimal_raw(prev.close));
        for (std::int64_t k = 1; k <= missing; ++k) {
          Candle fill{prev.open_ms + k * bar, prev.close, prev.close, prev.close, prev.close, 0};
          out.push_back(fill);
        }
      }
    }
    out.push_back(c);
  }
  std::int64_t last = 0;
  for (const Candle& c : out)
    for (auto [ts, price] : candle_ticks(c, bar, 4)) {
      if (price == last) continue;
      last = price;
      x.ticks.emplace_back(ts, price);
    }
  return x;
}

// A random file of valid rows: mostly one bar apart, with gaps, half steps,
// repeats, steps back and shuffles.
std::vector<Candle> random_rows(std::mt19937_64& rng) {
  std::vector<Candle> rows;
  const int n = static_cast<int>(rng() % 20) + 1;
  std::int64_t t = kT0, price = 100'00000000;
  for (int i = 0; i < n; ++i) {
    const std::int64_t open = price,
                       close = std::max<std::int64_t>(
                           1'00000000, open + static_cast<std::int64_t>(rng() % 601) * 1'000000 - 300'000000);
    Candle c{t, open, std::max(open, close) + 50'000000, std::min(open, close) - 50'000000, close, i + 2};
    rows.push_back(c);
    price = close;
    switch (rng() % 10) {
      case 0:
        t += kMinute * static_cast<std::int64_t>(2 + rng() % 3);
        break;
      case 1:
        t += kMinute / 2;
        break;
      case 2:
        break;  // a duplicate open time
      case 3:
        t -= kMinute * static_cast<std::int64_t>(1 + rng() % 3);
        break;
      default:
        t += kMinute;
    }
  }
  if (rng() % 5 == 0) {
    std::shuffle(rows.begin(), rows.end(), rng);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].line = static_cast<std::int64_t>(i) + 2;
  }
  return rows;
}

std::string csv_of(const std::vector<Candle>& rows) {
  std::string text = kHeader;
  for (const Candle& c : rows)
    text += row(c.open_ms, format_decimal_raw(c.open), format_decimal_raw(c.high), format_decimal_raw(c.low),
                format_decimal_raw(c.close));
  return text;
}

// Serves `first` until the stream is sought back to its start, then `second`:
// a file rewritten between two passes.
class ChangingBuf : public std::streambuf {
 public:
  ChangingBuf(std::string first, std::string second) : first_(std::move(first)), second_(std::move(second)) {
    setg(first_.data(), first_.data(), first_.data() + first_.size());
  }

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    if (off == 0 && dir == std::ios_base::cur) return pos_type(gptr() - eback());
    if (dir == std::ios_base::beg) return seekpos(pos_type(off), which);
    return pos_type(off_type(-1));
  }
  pos_type seekpos(pos_type pos, std::ios_base::openmode) override {
    if (pos != pos_type(0)) return pos_type(off_type(-1));
    setg(second_.data(), second_.data(), second_.data() + second_.size());
    return pos;
  }

 private:
  std::string first_, second_;
};

// Serves its text, then fails the next read (an EIO from the disk): the
// stream's badbit is set.
class FailingBuf : public std::streambuf {
 public:
  explicit FailingBuf(std::string text) : text_(std::move(text)) {
    setg(text_.data(), text_.data(), text_.data() + text_.size());
  }

 protected:
  int_type underflow() override { throw std::runtime_error("read error"); }
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
    if (off == 0 && dir == std::ios_base::cur) return pos_type(gptr() - eback());
    return pos_type(off_type(-1));
  }

 private:
  std::string text_;
};

// A stream that cannot seek (a pipe).
class PipeBuf : public std::streambuf {
 public:
  explicit PipeBuf(std::string text) : text_(std::move(text)) {
    setg(text_.data(), text_.data(), text_.data() + text_.size());
  }

 private:
  std::string text_;
};

}  // namespace

// ---- the bound on what --repair invents ----

TEST_CASE(
    "--repair fills at most 1,000,000 bars plus one per data row in all, naming the line past the limit",
    "[import][stream][limits]") {
  // Four rows (lines 2..5): two gaps of 999,999 bars each are allowed one by
  // one, but not together: 1,999,998 > 1,000,000 + 4.
  const std::string csv = kHeader + flat(0) + flat(1) + flat(1'000'001) + flat(2'000'001);
  Run r = stream(csv, repairing());
  REQUIRE_FALSE(r.status.ok());
  const Error& e = r.status.error();
  INFO(e.describe());
  CHECK(e.kind == ErrorKind::input);
  CHECK(e.file == "c.csv");
  CHECK(e.line == 5);
  CHECK(e.field == "open_time");
  CHECK(e.message.find("--repair's limit") != std::string::npos);
  CHECK(e.message.find("1999998 filled bars in all, more than 1000004") != std::string::npos);
  CHECK(e.message.find("(after line 4)") != std::string::npos);
  CHECK(r.events.empty());  // nothing is emitted for an input that fails
  // The first gap was within the limit and is reported as it was filled.
  REQUIRE(r.reports.size() == 1);
  CHECK(r.reports[0].rfind("c.csv:4: repaired: filled gap of 999999 missing bars", 0) == 0);
}

TEST_CASE("--repair's total limit is reached exactly, not before", "[import][stream][limits]") {
  // 999,999 + 5 = 1,000,004 = 1,000,000 + 4 rows: allowed; one bar more is not.
  Run at = stream(kHeader + flat(0) + flat(1) + flat(1'000'001) + flat(1'000'007), repairing());
  INFO((at.status.ok() ? std::string() : at.status.error().describe()));
  REQUIRE(at.status.ok());
  CHECK(at.stats.bars == 4 + 1'000'004);
  CHECK(fill_limit_bars(4) == 1'000'004);
  Run over = stream(kHeader + flat(0) + flat(1) + flat(1'000'001) + flat(1'000'008), repairing());
  REQUIRE_FALSE(over.status.ok());
  CHECK(over.status.error().line == 5);
  CHECK(over.status.error().message.find("1000005 filled bars in all, more than 1000004") !=
        std::string::npos);
  // One gap above 1,000,000 bars is refused on its own, as before.
  Run one = stream(kHeader + flat(0) + flat(1) + flat(1'000'003), repairing());
  REQUIRE_FALSE(one.status.ok());
  CHECK(one.status.error().message.find("gap too long to fill (more than 1,000,000 bars)") !=
        std::string::npos);
}

// ---- streaming gives the bytes the whole-file import gave ----

TEST_CASE("the streamed import equals the whole-file sort-and-fill on random files", "[import][stream]") {
  std::mt19937_64 rng(20260101);
  int compared_ok = 0, compared_errors = 0;
  for (int i = 0; i < 600; ++i) {
    const std::vector<Candle> rows = random_rows(rng);
    const std::string csv = csv_of(rows);
    for (bool repair : {false, true})
      for (std::int64_t bar_given : {std::int64_t{0}, kMinute}) {
        INFO("case " << i << (repair ? " repair" : " strict") << " bar " << bar_given << "\n" << csv);
        CandleOptions opt;
        opt.repair = repair;
        opt.bar_ms = bar_given;
        const Expected want = reference_import(rows, repair, bar_given);
        Run got = stream(csv, opt);
        REQUIRE(got.status.ok() == want.ok);
        CHECK(got.reports == want.reports);
        if (!want.ok) {
          CHECK(got.status.error().line == want.error_line);
          CHECK(got.status.error().message.find(want.error_text) != std::string::npos);
          CHECK(got.events.empty());
          ++compared_errors;
          continue;
        }
        std::vector<std::pair<std::int64_t, std::int64_t>> ticks;
        for (const InputEvent& e : got.events)
          ticks.emplace_back(e.ts_ms, std::get<PriceEvent>(e.body).price.raw());
        CHECK(ticks == want.ticks);
        ++compared_ok;
      }
  }
  // Both outcomes were exercised, many times.
  CHECK(compared_ok > 300);
  CHECK(compared_errors > 300);
}

TEST_CASE("the collected and the streamed candle imports give the same events", "[import][stream]") {
  const std::string csv =
      kHeader + row(kT0, "10", "11", "9", "10") + row(kT0 + 2 * kMinute, "10", "10", "9", "9") +
      row(kT0 + kMinute, "10", "10", "10", "10") + row(kT0 + 2 * kMinute, "50", "50", "50", "50") +
      row(kT0 + 4 * kMinute, "9", "9.5", "8", "9.5");
  for (bool keep : {false, true}) {
    CandleOptions opt = repairing();
    opt.keep_repeats = keep;
    Symbols s;
    ImportStats stats;
    std::istringstream in(csv);
    auto collected = import_candles(in, "c.csv", "ETH", opt, s, nullptr, stats);
    REQUIRE(collected.ok());
    Run streamed = stream(csv, opt);
    REQUIRE(streamed.status.ok());
    REQUIRE(streamed.events.size() == collected->size());
    for (std::size_t i = 0; i < collected->size(); ++i)
      CHECK(encode_event(streamed.events[i], streamed.symbols) == encode_event((*collected)[i], s));
    CHECK(streamed.stats.events == static_cast<std::int64_t>(collected->size()));
    CHECK(streamed.stats.bars == 5);
  }
}

TEST_CASE("a strict import that fails on its last row emits nothing", "[import][stream]") {
  Run gap = stream(kHeader + flat(0) + flat(1) + flat(2) + flat(5));
  REQUIRE_FALSE(gap.status.ok());
  CHECK(gap.status.error().line == 5);
  CHECK(gap.status.error().message.find("gap: 2 missing bars") != std::string::npos);
  CHECK(gap.events.empty());
  Run bad = stream(kHeader + flat(0) + flat(1) + flat(2) + "1678320180000,1,1,1\n");
  REQUIRE_FALSE(bad.status.ok());
  CHECK(bad.status.error().line == 5);
  CHECK(bad.events.empty());
}

// ---- inputs read more than once ----

TEST_CASE("a candle input that changes between passes is an io error, not another import",
          "[import][stream]") {
  const std::string a = kHeader + flat(0) + flat(1) + flat(2);
  for (const std::string& b :
       {kHeader + flat(0) + row(kT0 + kMinute, "2", "2", "2", "2") + flat(2),
        kHeader + flat(0) + flat(1) + flat(2) + flat(3), kHeader + flat(0) + flat(1), kHeader + flat(0)}) {
    for (bool repair : {false, true}) {
      ChangingBuf buf(a, b);
      std::istream in(&buf);
      CandleOptions opt;
      opt.repair = repair;
      Run r = stream(in, opt);
      REQUIRE_FALSE(r.status.ok());
      INFO(r.status.error().describe());
      CHECK(r.status.error().kind == ErrorKind::io);
      CHECK(r.status.error().message.find("changed while it was being read") != std::string::npos);
    }
  }
  // The same text twice is an import like any other.
  ChangingBuf same(a, a);
  std::istream in(&same);
  Run r = stream(in);
  CHECK(r.status.ok());
}

TEST_CASE("a candle input that cannot be read twice is refused before a row is read", "[import][stream]") {
  PipeBuf buf(kHeader + flat(0) + flat(1));
  std::istream in(&buf);
  Run r = stream(in);
  REQUIRE_FALSE(r.status.ok());
  CHECK(r.status.error().kind == ErrorKind::io);
  CHECK(r.status.error().message.find("more than once") != std::string::npos);
  CHECK(r.stats.rows == 0);
}

TEST_CASE("a read error is an io error, never the end of the file", "[import][stream]") {
  const std::string text = kHeader + flat(0) + flat(1) + flat(2);
  {
    FailingBuf buf(text);
    std::istream in(&buf);
    Run r = stream(in);
    REQUIRE_FALSE(r.status.ok());
    CHECK(r.status.error().kind == ErrorKind::io);
    CHECK(r.status.error().message.find("read failed") != std::string::npos);
    CHECK(r.events.empty());
  }
  FailingBuf buf("time,price\n1678320000000,5\n1678320001000,6\n");
  std::istream in(&buf);
  Symbols s;
  ImportStats stats;
  Status st = import_trades(
      in, "t.csv", "BTC", {}, s, [](const InputEvent&) {}, nullptr, stats);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::io);
}

TEST_CASE("a CSV line longer than 1 MiB is refused naming its line, or dropped and reported with --repair",
          "[import][stream][limits]") {
  const std::string huge = std::string(kMaxLineBytes + 1, '7') + "\n";
  const std::string csv = kHeader + flat(0) + huge + flat(1) + flat(2);
  Run strict = stream(csv);
  REQUIRE_FALSE(strict.status.ok());
  INFO(strict.status.error().describe());
  CHECK(strict.status.error().line == 3);
  CHECK(strict.status.error().message.find("line longer than 1 MiB") != std::string::npos);
  Run repaired = stream(csv, repairing());
  INFO((repaired.status.ok() ? std::string() : repaired.status.error().describe()));
  REQUIRE(repaired.status.ok());
  REQUIRE(repaired.reports.size() == 1);
  CHECK(repaired.reports[0] ==
        "c.csv:3: repaired: dropped malformed row (line longer than 1 MiB (1048576 bytes): not a CSV row)");
  CHECK(repaired.stats.rows == 4);
  CHECK(repaired.stats.bars == 3);
  // A line of exactly 1 MiB is read (and here is a malformed row like any other).
  Run edge = stream(kHeader + flat(0) + std::string(kMaxLineBytes, '7') + "\n" + flat(1), repairing());
  REQUIRE(edge.status.ok());
  REQUIRE(edge.reports.size() == 1);
  CHECK(edge.reports[0].find("longer than 1 MiB") == std::string::npos);
  // Trades: the same rule.
  Symbols s;
  ImportStats stats;
  std::istringstream trades("time,price\n1678320000000,5\n" + huge + "1678320001000,6\n");
  Status st = import_trades(
      trades, "t.csv", "BTC", {}, s, [](const InputEvent&) {}, nullptr, stats);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().line == 3);
  CHECK(st.error().message.find("line longer than 1 MiB") != std::string::npos);
}

// ---- populations, generated as they are written ----

TEST_CASE("a streamed population has the bytes of the collected one and keeps its name table small",
          "[population][stream]") {
  population::PopulationParams p;
  p.accounts = 10'000;  // more than one name table
  p.seed = 20200312;
  p.market = "ETH-PERP";
  p.asset = "ETH";
  p.price_raw = 19521LL * 1'000'000;
  p.ts_ms = 1583971200000;
  p.collateral = {{"USD", 70'000'000, 100'000'000},
                  {"ETH", 20'000'000, 19521LL * 1'000'000},
                  {"USDC", 10'000'000, 100'000'000}};
  std::string streamed;
  std::size_t most_names = 0;
  population::PopulationStats stats;
  Status st = population::stream_population(p, stats, [&](const InputEvent& e, const Symbols& names) {
    streamed += encode_event(e, names);
    streamed += '\n';
    most_names = std::max(most_names, names.size());
    return Status::success();
  });
  REQUIRE(st.ok());
  Symbols s;
  population::PopulationStats collected_stats;
  auto collected = population::generate_population(p, s, collected_stats);
  REQUIRE(collected.ok());
  std::string bytes;
  for (const InputEvent& e : *collected) {
    bytes += encode_event(e, s);
    bytes += '\n';
  }
  CHECK(streamed == bytes);
  CHECK(stats.events == collected_stats.events);
  CHECK(stats.events == static_cast<std::int64_t>(collected->size()));
  // The hash `liqsim gen population --accounts 10000 --seed 20200312 --market
  // ETH-PERP --asset ETH --price 195.21 --ts 1583971200000 --collateral
  // USD:0.7,ETH:0.2,USDC:0.1` printed before populations were streamed.
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(population::fnv1a64(streamed)));
  CHECK(std::string(hex) == "d03e49dd09a232d1");
  // Never more than one table's worth of account names (plus USD, the
  // market, its asset and the collateral).
  CHECK(most_names <= 4096 + 6);
  CHECK(s.size() == 10'000 + 4);  // the collected table names every account, as before
}

TEST_CASE("a population whose output fails stops at the failure and returns it", "[population][stream]") {
  population::PopulationParams p;
  p.accounts = 100'000;
  p.price_raw = 100 * kScale;
  int calls = 0;
  population::PopulationStats stats;
  Status st = population::stream_population(p, stats, [&](const InputEvent&, const Symbols&) -> Status {
    if (++calls == 10) return make_file_error(ErrorKind::io, "out.jsonl", "write failed");
    return Status::success();
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().file == "out.jsonl");
  CHECK(calls == 10);
  CHECK(stats.accounts < 10);
}
