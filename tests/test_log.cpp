// Tests of the binary append-only log (include/liqsim/log.hpp, events/FORMAT.md).
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
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
using test::spit;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("liqsim-log-test") {}
};

// Every input event type, and every optional-field shape of a trade.
const char* kAllTypes =
    "{\"type\":\"param\",\"ts\":1583971200000,\"path\":\"liquidation.adl\",\"value\":true}\n"
    "{\"type\":\"price\",\"ts\":\"2020-03-12T00:00:00.250Z\",\"asset\":\"BTC\",\"price\":7950.5}\n"
    "{\"type\":\"deposit\",\"ts\":1583971200250,\"account\":\"alice\",\"asset\":\"USD\",\"amount\":\"10000\"}"
    "\n"
    "{\"type\":\"withdraw\",\"ts\":1583971200250,\"account\":\"alice\",\"asset\":\"USD\",\"amount\":\"0."
    "00000001\"}\n"
    "{\"type\":\"trade\",\"ts\":1583971201000,\"account\":\"alice\",\"market\":\"BTC-PERP\",\"side\":\"buy\","
    "\"qty\":\"1.5\",\"price\":\"7950\"}\n"
    "{\"type\":\"trade\",\"ts\":1583971201000,\"account\":\"alice\",\"market\":\"BTC-PERP\",\"side\":"
    "\"sell\","
    "\"qty\":\"0.5\",\"price\":\"7951\",\"margin\":\"cross\"}\n"
    "{\"type\":\"trade\",\"ts\":1583971202000,\"account\":\"bob\",\"market\":\"BTC-PERP\",\"side\":\"buy\","
    "\"qty\":\"2\",\"price\":\"7952\",\"margin\":\"isolated\",\"isolated_margin\":\"0\",\"counterparty\":"
    "\"alice\"}\n"
    "{\"type\":\"trade\",\"ts\":1583971202000,\"account\":\"bob\",\"market\":\"BTC-PERP\",\"side\":\"sell\","
    "\"qty\":\"1\",\"price\":\"7953\",\"margin\":\"isolated\"}\n"
    "{\"type\":\"trade\",\"ts\":1583971202000,\"account\":\"bob\",\"market\":\"BTC-PERP\",\"side\":\"sell\","
    "\"qty\":\"1\",\"price\":\"7953\",\"counterparty\":\"carol\"}\n"
    "{\"type\":\"funding\",\"ts\":1583971203000,\"market\":\"BTC-PERP\",\"rate\":\"-0.0001\"}\n"
    "{\"type\":\"funding\",\"ts\":1583971203000,\"market\":\"BTC-PERP\",\"rate\":\"-92233720368.54775808\"}\n"
    "{\"type\":\"param\",\"ts\":1583971204000,\"path\":\"markets.BTC-PERP.tiers\",\"value\":"
    "[{\"max_notional\":\"50000\",\"x\":[1,2.50,1e3,null,false,\"\\u00e9\\n\"]}]}\n"
    "{\"type\":\"liquidity\",\"ts\":1583971205000,\"market\":\"BTC-PERP\",\"depth\":\"10000000\"}\n"
    "{\"type\":\"deposit\",\"ts\":1583971205000,\"account\":\"\\u00fcber-\\u0000-\\ud83d\\ude00\",\"asset\":"
    "\"ETH\","
    "\"amount\":\"92233720368.54775807\"}\n";

// The canonical JSONL text of a JSONL text (decode and re-encode every line).
std::string canonical_jsonl(const std::string& text) {
  std::istringstream in(text);
  Symbols symbols;
  JsonlEventReader reader(in, "<text>", symbols);
  std::string out;
  InputEvent ev;
  for (;;) {
    auto more = reader.next(ev);
    REQUIRE(more.ok());
    if (!*more) break;
    out += encode_event(ev, symbols) + "\n";
  }
  return out;
}

std::vector<std::string> jsonl_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// Writes the events of a JSONL text as a new binary log.
void write_binary(const std::string& path, const std::string& jsonl) {
  auto writer = LogWriter::create(path);
  REQUIRE(writer.ok());
  Symbols symbols;
  for (const std::string& line : jsonl_lines(jsonl)) {
    auto ev = decode_event_line(line, symbols);
    REQUIRE(ev.ok());
    REQUIRE(writer->append(*ev, symbols).ok());
  }
  REQUIRE(writer->close().ok());
}

// What a reader makes of a file: the events it returned (as JSONL), and how it ended.
struct ReadOutcome {
  std::vector<std::string> events;
  bool open_failed = false;
  bool failed = false;
  Error error;
  bool torn = false;
  std::int64_t valid_end = -1;
  std::string warning;
};

ReadOutcome read_binary(const std::string& path) {
  ReadOutcome r;
  Symbols symbols;
  auto reader = LogReader::open(path, symbols);
  if (!reader) {
    r.open_failed = r.failed = true;
    r.error = reader.error();
    return r;
  }
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) {
      r.failed = true;
      r.error = more.error();
      break;
    }
    if (!*more) break;
    r.events.push_back(encode_event(ev, symbols));
  }
  r.torn = reader->torn();
  r.valid_end = reader->valid_end();
  r.warning = reader->torn_warning();
  return r;
}

// Byte offsets at which each record of a valid log starts, plus the end.
std::vector<std::int64_t> record_offsets(const std::string& path) {
  Symbols symbols;
  auto reader = LogReader::open(path, symbols);
  REQUIRE(reader.ok());
  std::vector<std::int64_t> offsets{reader->valid_end()};
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    REQUIRE(more.ok());
    if (!*more) break;
    offsets.push_back(reader->valid_end());
  }
  REQUIRE_FALSE(reader->torn());
  return offsets;
}

// Builds payloads and whole logs byte by byte, so that tests can write what
// the writer never would (valid checksums around bad contents).
struct Bytes {
  std::string s;
  Bytes& u8(std::uint8_t v) { return detail::put_u8(s, v), *this; }
  Bytes& u16(std::uint16_t v) { return detail::put_u16(s, v), *this; }
  Bytes& u32(std::uint32_t v) { return detail::put_u32(s, v), *this; }
  Bytes& i64(std::int64_t v) { return detail::put_u64(s, static_cast<std::uint64_t>(v)), *this; }
  Bytes& name(const std::string& n) {
    u16(static_cast<std::uint16_t>(n.size()));
    s += n;
    return *this;
  }
  Bytes& str32(const std::string& n) {
    u32(static_cast<std::uint32_t>(n.size()));
    s += n;
    return *this;
  }
};

constexpr std::int64_t kOne = 100'000'000;  // 1.0 in raw 1e-8 units

std::string price_payload(std::int64_t ts, std::int64_t price_raw, const std::string& asset = "BTC") {
  return Bytes().i64(ts).u8(1).name(asset).i64(price_raw).s;
}

struct RawRecord {
  std::string payload;
  std::uint64_t seq;
  std::uint8_t type = logfmt::kRecordEvent;
  bool break_chain = false;
};

// A log of the given records with correct checksums; seq and chain as given.
std::string raw_log(const std::vector<RawRecord>& records) {
  std::string out = detail::file_header();
  std::uint32_t prev = logfmt::kFirstPrevChecksum;
  for (const RawRecord& r : records) {
    Bytes h;
    h.u32(0).u32(static_cast<std::uint32_t>(r.payload.size())).u8(r.type);
    detail::put_u64(h.s, r.seq);
    h.u32(r.break_chain ? prev ^ 1u : prev);
    h.s += r.payload;
    std::uint32_t crc = crc32c_mask(crc32c(h.s.data() + 4, h.s.size() - 4));
    detail::store_u32(reinterpret_cast<std::uint8_t*>(h.s.data()), crc);
    prev = crc;
    out += h.s;
  }
  return out;
}

}  // namespace

TEST_CASE("CRC32C matches the published check values", "[log][crc]") {
  CHECK(crc32c("123456789", 9) == 0xe3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8a9136aau);  // RFC 3720 B.4
  CHECK(crc32c(ones.data(), ones.size()) == 0x62a8ab43u);
  CHECK(crc32c(ascending.data(), ascending.size()) == 0x46dd794eu);
  // Extending in pieces equals one pass, whatever the split.
  for (std::size_t split = 0; split <= ascending.size(); ++split) {
    std::uint32_t c = crc32c_extend(0, ascending.data(), split);
    c = crc32c_extend(c, ascending.data() + split, ascending.size() - split);
    CHECK(c == 0x46dd794eu);
  }
  for (std::uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu}) {
    CHECK(crc32c_unmask(crc32c_mask(v)) == v);
    CHECK(crc32c_mask(v) != v);
  }
}

TEST_CASE(
    "every event type survives JSONL to binary to JSONL unchanged, and binary round trips byte for byte",
    "[log]") {
  TempDir dir;
  const std::string canonical = canonical_jsonl(kAllTypes);
  REQUIRE(jsonl_lines(canonical).size() == 14);
  spit(dir.path("in.jsonl"), kAllTypes);

  auto to_binary = convert_event_log(dir.path("in.jsonl"), dir.path("a.evlog"));
  REQUIRE(to_binary.ok());
  CHECK(to_binary->to_binary);
  CHECK(to_binary->events == 14);
  CHECK(is_binary_log(dir.path("a.evlog")));

  auto to_jsonl = convert_event_log(dir.path("a.evlog"), dir.path("b.jsonl"));
  REQUIRE(to_jsonl.ok());
  CHECK_FALSE(to_jsonl->to_binary);
  CHECK(to_jsonl->warning.empty());
  CHECK(slurp(dir.path("b.jsonl")) == canonical);

  auto again = convert_event_log(dir.path("b.jsonl"), dir.path("c.evlog"));
  REQUIRE(again.ok());
  CHECK(slurp(dir.path("c.evlog")) == slurp(dir.path("a.evlog")));
  CHECK_FALSE(fs::exists(dir.path("c.evlog.tmp")));
}

TEST_CASE("the example logs in events/ round trip through the binary log", "[log]") {
  TempDir dir;
  std::vector<fs::path> examples;
  const fs::path events_dir = fs::path(LIQSIM_SOURCE_ROOT) / "events";
  if (fs::exists(events_dir))
    for (const auto& entry : fs::directory_iterator(events_dir))
      if (entry.path().extension() == ".jsonl") examples.push_back(entry.path());
  std::sort(examples.begin(), examples.end());
  if (examples.empty()) WARN("no example logs in " << events_dir.string() << " yet: nothing to round trip");
  for (const fs::path& example : examples) {
    INFO(example.string());
    const std::string original = slurp(example.string());
    auto a = convert_event_log(example.string(), dir.path("a.evlog"));
    REQUIRE(a.ok());
    auto b = convert_event_log(dir.path("a.evlog"), dir.path("b.jsonl"));
    REQUIRE(b.ok());
    CHECK(slurp(dir.path("b.jsonl")) == canonical_jsonl(original));
    auto c = convert_event_log(dir.path("b.jsonl"), dir.path("c.evlog"));
    REQUIRE(c.ok());
    CHECK(slurp(dir.path("c.evlog")) == slurp(dir.path("a.evlog")));
  }
  CHECK(examples.size() ==
        static_cast<std::size_t>(std::count_if(
            fs::directory_iterator(fs::exists(events_dir) ? events_dir : fs::path(dir.root)),
            fs::directory_iterator(), [](const auto& e) { return e.path().extension() == ".jsonl"; })));
}

TEST_CASE("JSONL and binary logs read to the same events", "[log]") {
  TempDir dir;
  spit(dir.path("in.jsonl"), kAllTypes);
  write_binary(dir.path("in.evlog"), kAllTypes);
  CHECK(is_binary_log(dir.path("in.evlog")));
  CHECK_FALSE(is_binary_log(dir.path("in.jsonl")));
  CHECK_FALSE(is_binary_log(dir.path("missing")));
  spit(dir.path("empty"), "");
  CHECK_FALSE(is_binary_log(dir.path("empty")));

  Symbols s1, s2;
  std::string warning = "stale";
  auto from_jsonl = read_event_log(dir.path("in.jsonl"), s1, &warning);
  auto from_binary = read_event_log(dir.path("in.evlog"), s2, &warning);
  REQUIRE(from_jsonl.ok());
  REQUIRE(from_binary.ok());
  CHECK(warning.empty());
  REQUIRE(from_jsonl->size() == from_binary->size());
  for (std::size_t i = 0; i < from_jsonl->size(); ++i)
    CHECK(encode_event((*from_jsonl)[i], s1) == encode_event((*from_binary)[i], s2));
}

TEST_CASE("a binary payload is held to the JSONL decoder's rules", "[log]") {
  struct Case {
    const char* name;
    std::string payload;
    const char* field;
    const char* jsonl;  // the same content as JSONL, which must also be refused (or nullptr)
  };
  const std::string long_name(257, 'a');
  const std::string max_name(256, 'a');
  const Case cases[] = {
      {"zero price", price_payload(0, 0), "price", R"({"type":"price","ts":0,"asset":"BTC","price":"0"})"},
      {"negative price", price_payload(0, -kOne), "price",
       R"({"type":"price","ts":0,"asset":"BTC","price":"-1"})"},
      {"zero amount", Bytes().i64(0).u8(2).name("a").name("USD").i64(0).s, "amount",
       R"({"type":"deposit","ts":0,"account":"a","asset":"USD","amount":"0"})"},
      {"negative withdraw", Bytes().i64(0).u8(3).name("a").name("USD").i64(-1).s, "amount",
       R"({"type":"withdraw","ts":0,"account":"a","asset":"USD","amount":"-0.00000001"})"},
      {"zero qty", Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(0).i64(kOne).u8(0).s, "qty",
       R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"0","price":"1"})"},
      {"negative trade price", Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(-kOne).u8(0).s,
       "price", R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"-1"})"},
      {"zero depth", Bytes().i64(0).u8(7).name("M").i64(0).s, "depth",
       R"({"type":"liquidity","ts":0,"market":"M","depth":"0"})"},
      {"empty name", price_payload(0, kOne, ""), "asset",
       R"({"type":"price","ts":0,"asset":"","price":"1"})"},
      {"257-byte name", price_payload(0, kOne, long_name), "asset", nullptr},
      {"invalid UTF-8 name", price_payload(0, kOne, "B\xff"), "asset", nullptr},
      {"surrogate in UTF-8", price_payload(0, kOne, "\xed\xa0\x80"), "asset", nullptr},
      {"overlong UTF-8", price_payload(0, kOne, "\xc0\xaf"), "asset", nullptr},
      {"side 2", Bytes().i64(0).u8(4).name("a").name("M").u8(2).i64(kOne).i64(kOne).u8(0).s, "side",
       R"({"type":"trade","ts":0,"account":"a","market":"M","side":"hold","qty":"1","price":"1"})"},
      {"unknown trade flag", Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(kOne).u8(0x10).s,
       "flags", nullptr},
      {"isolated without margin",
       Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(kOne).u8(0x02).s, "margin", nullptr},
      {"isolated_margin on a cross trade",
       Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(kOne).u8(0x05).i64(kOne).s,
       "isolated_margin",
       R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"1","margin":"cross","isolated_margin":"1"})"},
      {"negative isolated_margin",
       Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(kOne).u8(0x07).i64(-1).s,
       "isolated_margin",
       R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"1","margin":"isolated","isolated_margin":"-1"})"},
      {"counterparty is the account",
       Bytes().i64(0).u8(4).name("a").name("M").u8(0).i64(kOne).i64(kOne).u8(0x08).name("a").s,
       "counterparty",
       R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"1","counterparty":"a"})"},
      {"event code 0", Bytes().i64(0).u8(0).s, "type", nullptr},
      {"event code 8", Bytes().i64(0).u8(8).s, "type", R"({"type":"snapshot","ts":0})"},
      {"negative ts", price_payload(-1, kOne), "ts", R"({"type":"price","ts":-1,"asset":"BTC","price":"1"})"},
      {"ts beyond 15 digits", price_payload(1'000'000'000'000'000, kOne), "ts",
       R"({"type":"price","ts":1000000000000000,"asset":"BTC","price":"1"})"},
      {"trailing bytes", price_payload(0, kOne) + "x", "", nullptr},
      {"payload cut inside a number", price_payload(0, kOne).substr(0, 15), "price", nullptr},
      {"payload cut inside a name", Bytes().i64(0).u8(1).u16(5).s + "BT", "asset", nullptr},
      {"empty payload", "", "ts", nullptr},
      {"empty param path", Bytes().i64(0).u8(6).str32("").str32("1").s, "path",
       R"({"type":"param","ts":0,"path":"","value":1})"},
      {"param value not JSON", Bytes().i64(0).u8(6).str32("p").str32("{").s, "value", nullptr},
      {"param value not canonical", Bytes().i64(0).u8(6).str32("p").str32("{ \"a\": 1 }").s, "value",
       nullptr},
      {"param value over 64 KiB",
       Bytes().i64(0).u8(6).str32("p").str32("\"" + std::string(70000, 'x') + "\"").s, "value", nullptr},
      {"param length beyond the payload", Bytes().i64(0).u8(6).u32(1000).s + "p", "path", nullptr},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Symbols symbols;
    InputEvent ev;
    Status st = decode_record_payload(c.payload, symbols, ev);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::corrupt);
    CHECK(st.error().field == c.field);
    if (c.jsonl) CHECK_FALSE(decode_event_line(c.jsonl, symbols).ok());
  }
  SECTION("and accepts what the JSONL decoder accepts") {
    Symbols symbols;
    InputEvent ev;
    REQUIRE(decode_record_payload(price_payload(0, kOne, max_name), symbols, ev).ok());
    CHECK(encode_event(ev, symbols) ==
          R"({"type":"price","ts":0,"asset":")" + max_name + R"(","price":"1"})");
    REQUIRE(decode_record_payload(price_payload(logfmt::kMaxTsMs, kOne), symbols, ev).ok());
    CHECK(ev.ts_ms == 999'999'999'999'999);
  }
}

TEST_CASE("a record with a valid checksum but a bad payload is corruption naming offset, seq and field",
          "[log]") {
  TempDir dir;
  const std::string bytes =
      raw_log({{price_payload(1, kOne), 0}, {price_payload(2, kOne), 1}, {price_payload(3, 0), 2}});
  spit(dir.path("bad.evlog"), bytes);
  ReadOutcome r = read_binary(dir.path("bad.evlog"));
  REQUIRE(r.failed);
  CHECK(r.events.size() == 2);
  CHECK(r.error.kind == ErrorKind::corrupt);
  CHECK(r.error.field == "price");
  CHECK(r.error.seq == 2);
  const std::int64_t record_bytes =
      static_cast<std::int64_t>(logfmt::kRecordHeaderBytes + price_payload(0, 1).size());
  CHECK(r.error.offset == static_cast<std::int64_t>(logfmt::kFileHeaderBytes) + 2 * record_bytes);
  CHECK(r.error.exit_code() == 3);
  CHECK(r.error.describe().find("bad.evlog: byte offset ") != std::string::npos);
  // read_event_log refuses it as a whole.
  Symbols symbols;
  auto all = read_event_log(dir.path("bad.evlog"), symbols);
  REQUIRE_FALSE(all.ok());
  CHECK(all.error().kind == ErrorKind::corrupt);
}

TEST_CASE(
    "framing errors are corruption: broken chain, seq gap, unknown record type, oversized length, ts "
    "backwards",
    "[log]") {
  TempDir dir;
  struct Case {
    const char* name;
    std::string bytes;
    std::int64_t bad_seq;
    const char* message_part;
    const char* field;
  };
  const std::string p1 = price_payload(10, kOne), p2 = price_payload(20, kOne), p3 = price_payload(30, kOne);
  std::string oversized = raw_log({{p1, 0}});
  {
    Bytes h;
    h.u32(0).u32(2u << 20).u8(1);
    detail::put_u64(h.s, 1);
    h.u32(0);
    oversized += h.s + std::string(64, 'x');
  }
  const Case cases[] = {
      {"broken chain", raw_log({{p1, 0}, {p2, 1}, {p3, 2, logfmt::kRecordEvent, true}}), 2, "broken chain",
       ""},
      {"seq gap", raw_log({{p1, 0}, {p2, 1}, {p3, 3}}), 2, "seq gap", ""},
      {"seq not starting at 0", raw_log({{p1, 1}}), 0, "seq gap", ""},
      {"repeated seq", raw_log({{p1, 0}, {p2, 0}}), 1, "seq gap", ""},
      {"unknown record type", raw_log({{p1, 0}, {p2, 1, 7}}), 1, "unknown record type", ""},
      {"record type 0", raw_log({{p1, 0}, {p2, 1, 0}, {p3, 2}}), 1, "unknown record type", ""},
      {"length over 1 MiB", oversized, 1, "exceeds the 1 MiB limit", ""},
      {"ts backwards", raw_log({{p2, 0}, {p1, 1}}), 1, "goes backwards", "ts"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    spit(dir.path("log.evlog"), c.bytes);
    ReadOutcome r = read_binary(dir.path("log.evlog"));
    REQUIRE(r.failed);
    CHECK(r.error.kind == ErrorKind::corrupt);
    CHECK(r.error.seq == c.bad_seq);
    CHECK(r.error.offset == r.valid_end);
    CHECK(r.events.size() == static_cast<std::size_t>(c.bad_seq));
    CHECK(r.error.message.find(c.message_part) != std::string::npos);
    CHECK(r.error.field == c.field);
  }
}

TEST_CASE("a damaged file header is refused", "[log]") {
  TempDir dir;
  std::string good = raw_log({{price_payload(1, kOne), 0}});
  SECTION("bad magic is corruption") {
    std::string bad = good;
    bad[3] = 'X';
    spit(dir.path("x.evlog"), bad);
    ReadOutcome r = read_binary(dir.path("x.evlog"));
    REQUIRE(r.open_failed);
    CHECK(r.error.kind == ErrorKind::corrupt);
    CHECK(r.error.offset == 0);
  }
  SECTION("an unknown format version with a valid header checksum is an input error, not corruption") {
    std::string bad = good;
    bad[8] = 2;
    std::uint32_t crc = crc32c_mask(crc32c(bad.data(), 12));
    detail::store_u32(reinterpret_cast<std::uint8_t*>(bad.data() + 12), crc);
    spit(dir.path("x.evlog"), bad);
    ReadOutcome r = read_binary(dir.path("x.evlog"));
    REQUIRE(r.open_failed);
    CHECK(r.error.kind == ErrorKind::input);
    CHECK(r.error.message.find("unsupported log format version 2") != std::string::npos);
  }
  SECTION("a file cut inside its header is an empty log with a torn tail") {
    for (std::size_t cut = 1; cut < logfmt::kFileHeaderBytes; ++cut) {
      INFO("cut at " << cut);
      spit(dir.path("x.evlog"), good.substr(0, cut));
      ReadOutcome r = read_binary(dir.path("x.evlog"));
      CHECK_FALSE(r.failed);
      CHECK(r.torn);
      CHECK(r.events.empty());
    }
  }
}

TEST_CASE("flipping any bit pattern in any byte of a log is detected, never read as different events",
          "[log]") {
  TempDir dir;
  const std::string jsonl = canonical_jsonl(
      "{\"type\":\"price\",\"ts\":1,\"asset\":\"BTC\",\"price\":\"100\"}\n"
      "{\"type\":\"deposit\",\"ts\":2,\"account\":\"a\",\"asset\":\"USD\",\"amount\":\"50\"}\n"
      "{\"type\":\"trade\",\"ts\":3,\"account\":\"a\",\"market\":\"BTC-PERP\",\"side\":\"buy\",\"qty\":\"1\","
      "\"price\":\"100\",\"margin\":\"isolated\",\"isolated_margin\":\"5\",\"counterparty\":\"b\"}\n"
      "{\"type\":\"param\",\"ts\":4,\"path\":\"p\",\"value\":{\"k\":1}}\n"
      "{\"type\":\"funding\",\"ts\":5,\"market\":\"BTC-PERP\",\"rate\":\"0.01\"}\n");
  write_binary(dir.path("good.evlog"), jsonl);
  const std::vector<std::string> original = jsonl_lines(jsonl);
  const std::string good = slurp(dir.path("good.evlog"));
  REQUIRE(read_binary(dir.path("good.evlog")).events == original);

  // Only the last record's length field can read as a torn tail: a damaged
  // length anywhere else covers the next record of the chain, which gives it away.
  const std::vector<std::int64_t> at = record_offsets(dir.path("good.evlog"));
  const std::size_t last_length = static_cast<std::size_t>(at[at.size() - 2]) + logfmt::kLengthOffset;
  std::size_t corrupt = 0, torn = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned mask : {0x01u, 0x10u, 0x80u, 0xffu}) {
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
      spit(dir.path("bad.evlog"), bad);
      ReadOutcome r = read_binary(dir.path("bad.evlog"));
      INFO("byte " << i << " xor " << mask);
      const bool detected = (r.failed && r.error.kind == ErrorKind::corrupt) || (!r.failed && r.torn);
      CHECK(detected);
      // Whatever was read before the damage is the original prefix.
      REQUIRE(r.events.size() <= original.size());
      CHECK(std::equal(r.events.begin(), r.events.end(), original.begin()));
      if (r.torn) {
        CHECK(r.events.size() < original.size());
        CHECK(i >= last_length);
        CHECK(i < last_length + 4);
      }
      (r.failed ? corrupt : torn) += 1;
    }
  }
  CHECK(corrupt + torn == good.size() * 4);
  CHECK(corrupt > torn);  // only a length field grown past the end of the file reads as a torn tail
}

TEST_CASE("torn tail is end of file, not corruption", "[log]") {
  TempDir dir;
  write_binary(dir.path("good.evlog"), kAllTypes);
  const std::string good = slurp(dir.path("good.evlog"));
  const std::vector<std::int64_t> offsets = record_offsets(dir.path("good.evlog"));
  const std::size_t n = offsets.size() - 1;
  REQUIRE(n == 14);
  const std::vector<std::string> all = read_binary(dir.path("good.evlog")).events;
  const std::int64_t last_start = offsets[n - 1];
  REQUIRE(static_cast<std::int64_t>(good.size()) == offsets[n]);

  for (std::int64_t cut = last_start + 1; cut < offsets[n]; ++cut) {
    INFO("cut at " << cut);
    spit(dir.path("torn.evlog"), good.substr(0, static_cast<std::size_t>(cut)));
    ReadOutcome r = read_binary(dir.path("torn.evlog"));
    REQUIRE_FALSE(r.failed);
    CHECK(r.torn);
    CHECK(r.events == std::vector<std::string>(all.begin(), all.end() - 1));
    CHECK(r.valid_end == last_start);
    CHECK(r.warning.find("byte offset " + std::to_string(last_start)) != std::string::npos);
    CHECK(r.warning.find("seq " + std::to_string(n - 1)) != std::string::npos);
    Symbols symbols;
    std::string warning;
    auto events = read_event_log(dir.path("torn.evlog"), symbols, &warning);
    REQUIRE(events.ok());
    CHECK(events->size() == n - 1);
    CHECK_FALSE(warning.empty());
  }
  SECTION("a cut exactly at a record boundary is a clean, shorter log") {
    spit(dir.path("short.evlog"), good.substr(0, static_cast<std::size_t>(last_start)));
    ReadOutcome r = read_binary(dir.path("short.evlog"));
    CHECK_FALSE(r.failed);
    CHECK_FALSE(r.torn);
    CHECK(r.events.size() == n - 1);
    CHECK(r.warning.empty());
  }
  SECTION("a zero-filled tail after a crash is a torn tail") {
    spit(dir.path("zeros.evlog"), good + std::string(100, '\0'));
    ReadOutcome r = read_binary(dir.path("zeros.evlog"));
    CHECK_FALSE(r.failed);
    CHECK(r.torn);
    CHECK(r.events == all);
    std::string zeroed_last = good.substr(0, static_cast<std::size_t>(last_start)) +
                              std::string(static_cast<std::size_t>(offsets[n] - last_start), '\0');
    spit(dir.path("zeros.evlog"), zeroed_last);
    r = read_binary(dir.path("zeros.evlog"));
    CHECK_FALSE(r.failed);
    CHECK(r.torn);
    CHECK(r.events.size() == n - 1);
  }
  SECTION(
      "a last record cut short and followed by zeros (a file system that extended the file) is a torn tail") {
    std::string torn = good.substr(0, good.size() - 5) + std::string(5, '\0') + std::string(100, '\0');
    spit(dir.path("zeroed.evlog"), torn);
    ReadOutcome r = read_binary(dir.path("zeroed.evlog"));
    CHECK_FALSE(r.failed);
    CHECK(r.torn);
    CHECK(r.events == std::vector<std::string>(all.begin(), all.end() - 1));
    CHECK(r.valid_end == last_start);
    // Without zeros after it, the same record is corruption (next section).
    spit(dir.path("zeroed.evlog"), good.substr(0, good.size() - 5) + std::string(5, '\0'));
    r = read_binary(dir.path("zeroed.evlog"));
    CHECK(r.failed);
  }
  SECTION("a record written up to a 512-byte sector boundary, zeros after it, is a torn tail") {
    // Disks write whole sectors: after a power cut the last record can hold
    // real bytes up to a sector boundary and zeros from there on, its header
    // included. Every record that spans a boundary, cut there.
    std::string many;
    for (int i = 0; i < 60; ++i)
      many += R"({"type":"deposit","ts":)" + std::to_string(i) + R"(,"account":"a)" + std::to_string(i) +
              R"(","asset":"USD","amount":"100"})" + "\n";
    write_binary(dir.path("many.evlog"), many);
    const std::string bytes = slurp(dir.path("many.evlog"));
    const std::vector<std::int64_t> at = record_offsets(dir.path("many.evlog"));
    int spanning = 0;
    for (std::size_t k = 0; k + 1 < at.size(); ++k) {
      const std::int64_t boundary = (at[k] / 512 + 1) * 512;
      if (boundary >= at[k + 1]) continue;
      ++spanning;
      INFO("record " << k << " cut at sector boundary " << boundary);
      spit(dir.path("sector.evlog"),
           bytes.substr(0, static_cast<std::size_t>(boundary)) +
               std::string(static_cast<std::size_t>(at[k + 1] - boundary) + 300, '\0'));
      ReadOutcome r = read_binary(dir.path("sector.evlog"));
      REQUIRE_FALSE(r.failed);
      CHECK(r.torn);
      CHECK(r.events.size() == k);
      CHECK(r.valid_end == at[k]);
      // Zeros only to the record's own end, nothing after: the record is whole
      // in the file, and damage must not pass for a torn write (known limit).
      spit(dir.path("sector.evlog"), bytes.substr(0, static_cast<std::size_t>(boundary)) +
                                         std::string(static_cast<std::size_t>(at[k + 1] - boundary), '\0'));
      CHECK(read_binary(dir.path("sector.evlog")).failed);
      // The same zeros starting off a sector boundary inside the header are corruption.
      const std::int64_t off = at[k] + 6;
      if (off % 512 != 0 && bytes[static_cast<std::size_t>(off - 1)] != '\0') {
        spit(dir.path("sector.evlog"),
             bytes.substr(0, static_cast<std::size_t>(off)) +
                 std::string(static_cast<std::size_t>(at[k + 1] - off) + 300, '\0'));
        CHECK(read_binary(dir.path("sector.evlog")).failed);
      }
    }
    CHECK(spanning >= 3);
  }
  SECTION(
      "damage to a complete last record that ends in zeros of its own across a sector boundary is "
      "corruption") {
    // Records often end in zero bytes (high bytes of an amount). Find a log
    // whose last record ends exactly at the end of the file with such zeros
    // running over a 512-byte boundary, then damage it before the boundary.
    int found = 0;
    for (int n = 1; n <= 120 && found < 3; ++n) {
      std::string text;
      for (int i = 0; i < n; ++i)
        text += R"({"type":"price","ts":)" + std::to_string(i) + R"(,"asset":"BTC","price":"100"})" + "\n";
      write_binary(dir.path("own-zeros.evlog"), text);
      std::string bytes = slurp(dir.path("own-zeros.evlog"));
      const std::vector<std::int64_t> at = record_offsets(dir.path("own-zeros.evlog"));
      const std::int64_t start = at[at.size() - 2], end = at.back();
      const std::int64_t boundary = (start / 512 + 1) * 512;
      if (boundary >= end || bytes[static_cast<std::size_t>(boundary - 1)] != '\0') continue;
      bool zeros = true;
      for (std::int64_t i = boundary - 1; i < end; ++i)
        zeros = zeros && bytes[static_cast<std::size_t>(i)] == '\0';
      if (!zeros) continue;
      ++found;
      INFO(n << " records, the last at " << start << ".." << end);
      bytes[static_cast<std::size_t>(start)] =
          static_cast<char>(bytes[static_cast<std::size_t>(start)] ^ 0x01);
      spit(dir.path("own-zeros.evlog"), bytes);
      ReadOutcome r = read_binary(dir.path("own-zeros.evlog"));
      CHECK(r.failed);
      CHECK_FALSE(r.torn);
    }
    CHECK(found >= 1);
  }
  SECTION("a complete last record with a bad checksum is corruption, not a torn tail") {
    std::string bad = good;
    bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 0x40);
    spit(dir.path("bad.evlog"), bad);
    ReadOutcome r = read_binary(dir.path("bad.evlog"));
    REQUIRE(r.failed);
    CHECK(r.error.kind == ErrorKind::corrupt);
    CHECK(r.error.offset == last_start);
    CHECK(r.error.seq == static_cast<std::int64_t>(n - 1));
    CHECK(r.error.message.find("checksum") != std::string::npos);
  }
  SECTION("a cut last record whose header names the wrong seq is corruption") {
    std::string bad = raw_log({{price_payload(1, kOne), 0}, {price_payload(2, kOne), 5}});
    spit(dir.path("bad.evlog"), bad.substr(0, bad.size() - 3));
    ReadOutcome r = read_binary(dir.path("bad.evlog"));
    REQUIRE(r.failed);
    CHECK(r.error.kind == ErrorKind::corrupt);
    CHECK(r.error.seq == 1);
  }
}

TEST_CASE("a writer reopens a log and continues its seq and chain", "[log]") {
  TempDir dir;
  const std::vector<std::string> lines = jsonl_lines(canonical_jsonl(kAllTypes));
  Symbols symbols;
  std::vector<InputEvent> events;
  for (const std::string& line : lines) {
    auto ev = decode_event_line(line, symbols);
    REQUIRE(ev.ok());
    events.push_back(*ev);
  }
  // In one go.
  {
    auto w = LogWriter::create(dir.path("one.evlog"));
    REQUIRE(w.ok());
    for (const auto& e : events) REQUIRE(w->append(e, symbols).ok());
    REQUIRE(w->close().ok());
  }
  // In three sessions, reopening each time (the first creates the file).
  std::size_t done = 0;
  for (std::size_t session_end : {std::size_t{3}, std::size_t{9}, events.size()}) {
    std::string warning;
    auto w = LogWriter::open(dir.path("three.evlog"), &warning);
    REQUIRE(w.ok());
    CHECK(warning.empty());
    CHECK(w->next_seq() == done);
    CHECK(w->last_ts() == (done == 0 ? INT64_MIN : events[done - 1].ts_ms));
    for (; done < session_end; ++done) REQUIRE(w->append(events[done], symbols).ok());
    REQUIRE(w->sync().ok());
    CHECK(w->durable_records() == done);
    REQUIRE(w->close().ok());
  }
  CHECK(slurp(dir.path("three.evlog")) == slurp(dir.path("one.evlog")));
  CHECK(read_binary(dir.path("three.evlog")).events == lines);
}

TEST_CASE("a writer refuses invalid events and appends nothing for them", "[log]") {
  TempDir dir;
  Symbols symbols;
  auto w = LogWriter::open(dir.path("w.evlog"));
  REQUIRE(w.ok());
  auto first = decode_event_line(R"({"type":"price","ts":100,"asset":"BTC","price":"1"})", symbols);
  REQUIRE(first.ok());
  REQUIRE(w->append(*first, symbols).ok());
  REQUIRE(w->sync().ok());
  const std::int64_t size = w->size();

  InputEvent backwards = *first;
  backwards.ts_ms = 99;
  Status st = w->append(backwards, symbols);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().field == "ts");

  InputEvent zero_price = *first;
  std::get<PriceEvent>(zero_price.body).price = Price::zero();
  st = w->append(zero_price, symbols);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().kind == ErrorKind::input);
  CHECK(st.error().field == "price");

  InputEvent bad_trade;
  bad_trade.ts_ms = 100;
  TradeEvent t;
  t.account = symbols.intern("a");
  t.market = symbols.intern("M");
  t.qty = Qty::one();
  t.price = Price::one();
  t.has_isolated_margin = true;  // without margin isolated
  bad_trade.body = t;
  st = w->append(bad_trade, symbols);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().field == "isolated_margin");

  REQUIRE(w->sync().ok());
  CHECK(w->size() == size);
  CHECK(w->next_seq() == 1);
  REQUIRE(w->close().ok());
  CHECK(read_binary(dir.path("w.evlog")).events.size() == 1);
}

TEST_CASE("a second writer on the same log is refused", "[log]") {
  TempDir dir;
  auto a = LogWriter::open(dir.path("w.evlog"));
  REQUIRE(a.ok());
  auto b = LogWriter::open(dir.path("w.evlog"));
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().kind == ErrorKind::io);
  REQUIRE(a->close().ok());
  auto c = LogWriter::open(dir.path("w.evlog"));
  CHECK(c.ok());
}

TEST_CASE("a writer cuts a torn tail and continues after the last valid record; it refuses a corrupt log",
          "[log]") {
  TempDir dir;
  const std::string jsonl = canonical_jsonl(kAllTypes);
  write_binary(dir.path("good.evlog"), jsonl);
  const std::string good = slurp(dir.path("good.evlog"));
  const std::vector<std::int64_t> offsets = record_offsets(dir.path("good.evlog"));
  const std::size_t n = offsets.size() - 1;

  spit(dir.path("torn.evlog"), good.substr(0, static_cast<std::size_t>(offsets[n - 1] + 7)));
  {
    std::string warning;
    auto w = LogWriter::open(dir.path("torn.evlog"), &warning);
    REQUIRE(w.ok());
    CHECK(warning.find("torn tail") != std::string::npos);
    CHECK(w->next_seq() == n - 1);
    Symbols symbols;
    auto last = decode_event_line(jsonl_lines(jsonl).back(), symbols);
    REQUIRE(last.ok());
    REQUIRE(w->append(*last, symbols).ok());
    REQUIRE(w->close().ok());
  }
  CHECK(slurp(dir.path("torn.evlog")) == good);

  std::string bad = good;
  bad[static_cast<std::size_t>(offsets[2] + 25)] ^= 0x04;
  spit(dir.path("bad.evlog"), bad);
  auto w = LogWriter::open(dir.path("bad.evlog"));
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().kind == ErrorKind::corrupt);
  CHECK(w.error().seq == 2);
  CHECK(slurp(dir.path("bad.evlog")) == bad);
}

TEST_CASE("repair cuts a torn tail, leaves a clean log alone and refuses a corrupt one", "[log]") {
  TempDir dir;
  write_binary(dir.path("good.evlog"), kAllTypes);
  const std::string good = slurp(dir.path("good.evlog"));
  const std::vector<std::int64_t> offsets = record_offsets(dir.path("good.evlog"));
  const std::size_t n = offsets.size() - 1;

  SECTION("torn") {
    const std::size_t cut = static_cast<std::size_t>(offsets[n - 1] + 30);
    spit(dir.path("x.evlog"), good.substr(0, cut));
    auto r = repair_log(dir.path("x.evlog"));
    REQUIRE(r.ok());
    CHECK(r->was_torn);
    CHECK(r->bytes_cut == 30);
    CHECK(r->records == n - 1);
    CHECK(slurp(dir.path("x.evlog")) == good.substr(0, static_cast<std::size_t>(offsets[n - 1])));
    ReadOutcome after = read_binary(dir.path("x.evlog"));
    CHECK_FALSE(after.torn);
    CHECK(after.events.size() == n - 1);
  }
  SECTION("torn inside the file header") {
    spit(dir.path("x.evlog"), good.substr(0, 5));
    auto r = repair_log(dir.path("x.evlog"));
    REQUIRE(r.ok());
    CHECK(r->was_torn);
    CHECK(slurp(dir.path("x.evlog")) == detail::file_header());
  }
  SECTION("clean") {
    spit(dir.path("x.evlog"), good);
    auto r = repair_log(dir.path("x.evlog"));
    REQUIRE(r.ok());
    CHECK_FALSE(r->was_torn);
    CHECK(r->bytes_cut == 0);
    CHECK(slurp(dir.path("x.evlog")) == good);
  }
  SECTION("corrupt") {
    std::string bad = good;
    bad[static_cast<std::size_t>(offsets[1] + 30)] ^= 0x01;
    spit(dir.path("x.evlog"), bad);
    auto r = repair_log(dir.path("x.evlog"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::corrupt);
    CHECK(slurp(dir.path("x.evlog")) == bad);
  }
  SECTION("JSONL") {
    spit(dir.path("x.jsonl"), kAllTypes);
    auto r = repair_log(dir.path("x.jsonl"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::input);
  }
}

TEST_CASE("a failed conversion leaves neither the output nor a temporary file", "[log]") {
  TempDir dir;
  SECTION("bad JSONL input") {
    spit(dir.path("in.jsonl"), std::string(kAllTypes) + "{\"type\":\"price\",\"ts\":1,\"asset\":\"BTC\"}\n");
    auto r = convert_event_log(dir.path("in.jsonl"), dir.path("out.evlog"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::input);
    CHECK(r.error().line == 15);
    CHECK(r.error().field == "price");
    CHECK_FALSE(fs::exists(dir.path("out.evlog")));
    CHECK_FALSE(fs::exists(dir.path("out.evlog.tmp")));
  }
  SECTION("corrupt binary input") {
    write_binary(dir.path("in.evlog"), kAllTypes);
    std::string bad = slurp(dir.path("in.evlog"));
    bad[60] ^= 0x20;
    spit(dir.path("in.evlog"), bad);
    spit(dir.path("out.jsonl"), "previous contents\n");
    auto r = convert_event_log(dir.path("in.evlog"), dir.path("out.jsonl"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::corrupt);
    CHECK(slurp(dir.path("out.jsonl")) == "previous contents\n");
    CHECK_FALSE(fs::exists(dir.path("out.jsonl.tmp")));
  }
  SECTION("a torn binary input converts its valid records with a warning") {
    write_binary(dir.path("in.evlog"), kAllTypes);
    std::string bytes = slurp(dir.path("in.evlog"));
    spit(dir.path("in.evlog"), bytes.substr(0, bytes.size() - 2));
    auto r = convert_event_log(dir.path("in.evlog"), dir.path("out.jsonl"));
    REQUIRE(r.ok());
    CHECK(r->events == 13);
    CHECK(r->warning.find("torn tail") != std::string::npos);
  }
}
