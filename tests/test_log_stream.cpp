// Tests of the replay's streaming reader (EventFileReader, log.hpp) and of the
// binary reader's one-piece path for whole records (LogReader::next_whole):
// every record it accepts is the event the payload decoder gives, and every
// record it declines is read the careful way, with the same error.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/splitmix64.hpp"
#include "temp_dir.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

using test::slurp;
using test::spit;
using test::TempDir;

// Price ticks with names of every kind the fast path must accept or decline
// (ASCII, multi-byte UTF-8, one byte, 256 bytes), between other events.
std::vector<InputEvent> mixed_events(Symbols& symbols, SplitMix64& rng, int n) {
  const std::vector<std::string> names = {
      "ETH", "BTC", "\xc3\xa9th", "X", std::string(256, 'n'), "\xe2\x82\xac-coin"};
  std::vector<InputEvent> events;
  std::int64_t ts = 0;
  for (int i = 0; i < n; ++i) {
    InputEvent e;
    ts += static_cast<std::int64_t>(rng.below(3));
    e.ts_ms = ts;
    const Sym name = symbols.intern(names[rng.below(names.size())]);
    switch (rng.below(4)) {
      case 0:
        e.body = DepositEvent{symbols.intern("acct-" + std::to_string(rng.below(5))), name,
                              Amount::from_raw(1 + static_cast<std::int64_t>(rng.below(1'000'000)))};
        break;
      case 1:
        e.body = FundingEvent{name, Ratio::from_raw(static_cast<std::int64_t>(rng.below(2000)) - 1000)};
        break;
      default:
        e.body = PriceEvent{name, Price::from_raw(1 + static_cast<std::int64_t>(rng.below(1ull << 50)))};
        break;
    }
    events.push_back(e);
  }
  return events;
}

void write_log(const std::string& path, const std::vector<InputEvent>& events, const Symbols& symbols) {
  auto w = LogWriter::create(path);
  REQUIRE(w.ok());
  for (const InputEvent& e : events) REQUIRE(w->append(e, symbols).ok());
  REQUIRE(w->close().ok());
}

}  // namespace

TEST_CASE("binary reader: whole records read in one piece are the events written", "[log][stream]") {
  TempDir dir("liqsim-stream-test");
  SplitMix64 rng(12);
  Symbols symbols;
  const std::vector<InputEvent> events = mixed_events(symbols, rng, 20'000);
  write_log(dir.path("a.evlog"), events, symbols);
  Symbols read_symbols;
  auto reader = LogReader::open(dir.path("a.evlog"), read_symbols);
  REQUIRE(reader.ok());
  InputEvent ev;
  for (const InputEvent& want : events) {
    auto more = reader->next(ev);
    REQUIRE(more.ok());
    REQUIRE(*more);
    CHECK(encode_event(ev, read_symbols) == encode_event(want, symbols));
  }
  auto end = reader->next(ev);
  REQUIRE(end.ok());
  CHECK_FALSE(*end);
}

TEST_CASE("binary reader: a damaged price record is reported where the careful path reports it",
          "[log][stream]") {
  TempDir dir("liqsim-stream-test");
  SplitMix64 rng(13);
  Symbols symbols;
  std::vector<InputEvent> events;
  for (int i = 0; i < 50; ++i) {
    InputEvent e;
    e.ts_ms = i;
    e.body = PriceEvent{symbols.intern("ETH"), Price::from_raw(100 + i)};
    events.push_back(e);
  }
  write_log(dir.path("good.evlog"), events, symbols);
  const std::string good = slurp(dir.path("good.evlog"));
  const std::size_t record = logfmt::kRecordHeaderBytes + 8 + 1 + 2 + 3 + 8;
  REQUIRE(good.size() == logfmt::kFileHeaderBytes + 50 * record);
  for (int trial = 0; trial < 300; ++trial) {
    // One byte of record 20..29 changed: the reader accepts the records
    // before it and stops at it with a corrupt error at its offset.
    const std::size_t victim = 20 + rng.below(10);
    const std::size_t at = logfmt::kFileHeaderBytes + victim * record + rng.below(record);
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ (1 + rng.below(255)));
    spit(dir.path("bad.evlog"), bad);
    Symbols s;
    auto reader = LogReader::open(dir.path("bad.evlog"), s);
    REQUIRE(reader.ok());
    InputEvent ev;
    std::size_t accepted = 0;
    Result<bool> more = true;
    while ((more = reader->next(ev)).ok() && *more) ++accepted;
    REQUIRE(accepted == victim);
    REQUIRE_FALSE(more.ok());
    CHECK(more.error().kind == ErrorKind::corrupt);
    CHECK(more.error().offset == static_cast<std::int64_t>(logfmt::kFileHeaderBytes + victim * record));
    CHECK(more.error().seq == static_cast<std::int64_t>(victim));
  }
}

TEST_CASE("EventFileReader: either format, the SHA-256 of the bytes read, lines and torn tails",
          "[log][stream]") {
  TempDir dir("liqsim-stream-test");
  SplitMix64 rng(14);
  Symbols symbols;
  // Large enough that the checksum is taken on its own thread (4 MiB and more).
  const std::vector<InputEvent> events = mixed_events(symbols, rng, 120'000);
  std::string text;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i % 1000 == 7) text += "\n";  // blank lines carry no seq but count as lines
    text += encode_event(events[i], symbols) + "\n";
  }
  REQUIRE(text.size() > (std::size_t{4} << 20));
  spit(dir.path("e.jsonl"), text);
  write_log(dir.path("e.evlog"), events, symbols);
  for (const char* name : {"e.jsonl", "e.evlog"}) {
    Symbols s;
    auto reader = EventFileReader::open(dir.path(name), s);
    REQUIRE(reader.ok());
    InputEvent ev;
    std::size_t n = 0;
    std::int64_t line = 0;
    for (;;) {
      auto more = reader->next(ev);
      REQUIRE(more.ok());
      if (!*more) break;
      REQUIRE(encode_event(ev, s) == encode_event(events[n], symbols));
      if (!reader->binary()) {
        ++line;
        if (n % 1000 == 7) ++line;
        REQUIRE(reader->line() == line);
      }
      ++n;
    }
    CHECK(n == events.size());
    CHECK(reader->bytes_read() == reader->file_size());
    CHECK(reader->warning().empty());
    CHECK(reader->sha256_hex() == sha256_hex(slurp(dir.path(name))));
  }
  // A torn tail: the valid records are hashed, the tail is not, and it is a warning.
  std::string torn = slurp(dir.path("e.evlog"));
  const std::size_t valid = torn.size();
  torn += std::string("\x01\x02\x03", 3);
  spit(dir.path("t.evlog"), torn);
  Symbols s;
  auto reader = EventFileReader::open(dir.path("t.evlog"), s);
  REQUIRE(reader.ok());
  InputEvent ev;
  std::size_t n = 0;
  for (;;) {
    auto more = reader->next(ev);
    REQUIRE(more.ok());
    if (!*more) break;
    ++n;
  }
  CHECK(n == events.size());
  CHECK_FALSE(reader->warning().empty());
  CHECK(reader->sha256_hex() == sha256_hex(torn.substr(0, valid)));
  // Not a regular file: refused without reading.
  auto dir_reader = EventFileReader::open(dir.root, s);
  REQUIRE_FALSE(dir_reader.ok());
  CHECK(dir_reader.error().kind == ErrorKind::usage);
}
