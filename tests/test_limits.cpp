// Limits with named errors (docs/ROBUSTNESS.md): every bound on hostile input
// is an Error that names what and where, never a crash, a hang, an unbounded
// allocation or undefined behaviour.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

std::string limits_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("liqsim-limits-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Error decode_error(const std::string& line) {
  Symbols s;
  auto ev = decode_event_line(line, s);
  if (ev.ok()) FAIL("accepted: " + line.substr(0, 200));
  return ev.error();
}

std::string deposit(const std::string& account, const std::string& amount = "1") {
  return R"({"type":"deposit","ts":0,"account":")" + account + R"(","asset":"USD","amount":")" + amount +
         "\"}";
}

Result<Config> config_of(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  return parse_config(*doc, "config.json");
}

std::string market(const std::string& name, const std::string& underlying, const std::string& tiers = "") {
  return "\"" + name + R"(": { "underlying": ")" + underlying +
         R"(", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05", "liquidation_fee_ratio": "0")" +
         (tiers.empty() ? "" : ", \"tiers\": " + tiers) + " }";
}

// One log record with the given header fields and payload, framed correctly.
std::string record(std::uint64_t seq, std::uint32_t prev, const std::string& payload,
                   std::uint32_t length_field) {
  std::string rec;
  detail::put_u32(rec, 0);
  detail::put_u32(rec, length_field);
  detail::put_u8(rec, logfmt::kRecordEvent);
  detail::put_u64(rec, seq);
  detail::put_u32(rec, prev);
  rec += payload;
  detail::store_u32(reinterpret_cast<std::uint8_t*>(rec.data()),
                    crc32c_mask(crc32c(rec.data() + 4, rec.size() - 4)));
  return rec;
}

std::string price_payload() {
  Symbols s;
  auto ev = decode_event_line(R"({"type":"price","ts":1,"asset":"BTC","price":"1"})", s);
  REQUIRE(ev.ok());
  return encode_record_payload(*ev, s);
}

// Runs the CLI; returns its exit status, stderr in *err.
int run_cli(const std::string& args, std::string* err) {
  const std::string dir = limits_dir("cli");
  const std::string cmd =
      std::string(LIQSIM_BUILD_ROOT) + "/liqsim " + args + " >" + dir + "/out 2>" + dir + "/err";
  int status = std::system(cmd.c_str());
  *err = read_file(dir + "/err");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("a name of 256 bytes is accepted and one of 257 is an error naming the field", "[limits]") {
  Symbols s;
  CHECK(decode_event_line(deposit(std::string(limits::kMaxNameBytes, 'a')), s).ok());
  Error e = decode_error(deposit(std::string(limits::kMaxNameBytes + 1, 'a')));
  CHECK(e.kind == ErrorKind::input);
  CHECK(e.field == "account");
  CHECK(e.message.find("256") != std::string::npos);
  // The binary log holds names to the same bound.
  InputEvent ev;
  DepositEvent d;
  d.account = s.intern(std::string(limits::kMaxNameBytes + 1, 'b'));
  d.asset = s.intern("USD");
  d.amount = Amount::parse_or_throw("1");
  ev.body = d;
  Status st = validate_event(ev, s);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().field == "account");
}

TEST_CASE("a param value over 64 KiB is an error naming the value", "[limits]") {
  auto line = [](std::size_t n) {
    return R"({"type":"param","ts":0,"path":"liquidation.insurance_fund","value":")" + std::string(n, '1') +
           "\"}";
  };
  Symbols s;
  CHECK(decode_event_line(line(limits::kMaxParamBytes - 2), s).ok());  // the quotes count
  Error e = decode_error(line(limits::kMaxParamBytes));
  CHECK(e.field == "value");
}

TEST_CASE("a JSONL line over 1 MiB is an error naming the line, read without buffering the rest",
          "[limits]") {
  std::string text =
      deposit("a") + "\n" + std::string(limits::kMaxLineBytes + 1, ' ') + "x\n" + deposit("b") + "\n";
  std::istringstream in(text);
  Symbols s;
  JsonlEventReader reader(in, "big.jsonl", s);
  InputEvent ev;
  auto first = reader.next(ev);
  REQUIRE(first.ok());
  CHECK(*first);
  auto second = reader.next(ev);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().file == "big.jsonl");
  CHECK(second.error().line == 2);
  CHECK(second.error().message.find("1 MiB") != std::string::npos);
}

TEST_CASE("a record length over 1 MiB is corruption at its offset; zeros to the end are a torn tail",
          "[limits]") {
  const std::string dir = limits_dir("record");
  const std::string header = detail::file_header();
  const std::string good = record(0, 0, price_payload(), static_cast<std::uint32_t>(price_payload().size()));
  std::string rec;
  detail::put_u32(rec, 0x12345678);
  detail::put_u32(rec, static_cast<std::uint32_t>(logfmt::kMaxRecordPayloadBytes + 1));
  rec += std::string(13, '\x01');
  write_file(dir + "/long.evlog", header + good + rec);
  auto scan = scan_log(dir + "/long.evlog");
  REQUIRE_FALSE(scan.ok());
  CHECK(scan.error().kind == ErrorKind::corrupt);
  CHECK(scan.error().offset == static_cast<std::int64_t>(header.size() + good.size()));
  CHECK(scan.error().seq == 1);
  CHECK(scan.error().message.find("1 MiB") != std::string::npos);
  // A length field that is all zeros after the last record is space allocated and never written.
  write_file(dir + "/zeros.evlog", header + good + std::string(64, '\0'));
  auto torn = scan_log(dir + "/zeros.evlog");
  REQUIRE(torn.ok());
  CHECK(torn->torn);
  CHECK(torn->records == 1);
}

TEST_CASE("events per log: the bound is 2^32 and seq is 64 bits on disk, never wrapped to 32", "[limits]") {
  STATIC_REQUIRE(limits::kMaxEvents == (std::uint64_t{1} << 32));
  // A first record that claims seq 2^32 (low 32 bits zero) is a seq gap, so a
  // reader can never be misled into seq 0 by a 32-bit truncation.
  const std::string dir = limits_dir("seq");
  const std::string p = price_payload();
  write_file(dir + "/wrap.evlog", detail::file_header() + record(std::uint64_t{1} << 32, 0, p,
                                                                 static_cast<std::uint32_t>(p.size())));
  auto scan = scan_log(dir + "/wrap.evlog");
  REQUIRE_FALSE(scan.ok());
  CHECK(scan.error().kind == ErrorKind::corrupt);
  CHECK(scan.error().message.find("seq gap") != std::string::npos);
  CHECK(scan.error().message.find("4294967296") != std::string::npos);
  // The writer encodes the seq as a u64: its record header has room for the bound.
  STATIC_REQUIRE(logfmt::kPrevOffset - logfmt::kSeqOffset == 8);
}

TEST_CASE(
    "config counts: 1024 assets, 1024 markets and 64 tiers are accepted; one more is a config error naming "
    "the key",
    "[limits]") {
  auto assets = [](std::size_t n) {
    std::string a = "{";
    for (std::size_t i = 0; i < n; ++i)
      a += (i ? "," : "") + std::string("\"A") + std::to_string(i) + "\":{}";
    return a + "}";
  };
  auto markets = [](std::size_t n) {
    std::string m = "{";
    for (std::size_t i = 0; i < n; ++i) m += (i ? "," : "") + market("M" + std::to_string(i), "A0");
    return m + "}";
  };
  auto tiers = [](std::size_t n) {
    std::string t = "[";
    for (std::size_t i = 0; i < n; ++i)
      t += (i ? "," : "") + std::string(R"({"max_notional":")") + std::to_string(1000 * (i + 1)) +
           R"(","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05","maintenance_amount":"0"})";
    return t + "]";
  };
  auto doc = [&](std::size_t a, std::size_t m, std::size_t t) {
    std::string ms = m ? markets(m) : "{" + market("M", "A0", tiers(t)) + "}";
    return "{\"assets\":" + assets(a) + ",\"markets\":" + ms + "}";
  };
  // USD is always asset 0 and is not listed: 1023 listed + USD = 1024.
  CHECK(config_of(doc(limits::kMaxAssets - 1, 1, 0)).ok());
  auto too_many_assets = config_of(doc(limits::kMaxAssets + 1, 1, 0));
  REQUIRE_FALSE(too_many_assets.ok());
  CHECK(too_many_assets.error().kind == ErrorKind::config);
  CHECK(too_many_assets.error().field == "assets");
  CHECK(config_of(doc(1, limits::kMaxMarkets, 0)).ok());
  auto too_many_markets = config_of(doc(1, limits::kMaxMarkets + 1, 0));
  REQUIRE_FALSE(too_many_markets.ok());
  CHECK(too_many_markets.error().field == "markets");
  CHECK(config_of(doc(1, 0, limits::kMaxTiers)).ok());
  auto too_many_tiers = config_of(doc(1, 0, limits::kMaxTiers + 1));
  REQUIRE_FALSE(too_many_tiers.ok());
  CHECK(too_many_tiers.error().field == "markets.M.tiers");
}

TEST_CASE("numbers outside the fixed-point range are input errors naming the field", "[limits]") {
  // 8 fractional digits; the integer part of an i64 of 1e-8 units is 92233720368.
  Symbols s;
  CHECK(decode_event_line(deposit("a", "92233720368.54775807"), s).ok());
  CHECK(decode_error(deposit("a", "92233720368.54775808")).field == "amount");
  CHECK(decode_error(deposit("a", "1e400")).field == "amount");
  CHECK(decode_error(deposit("a", "0.000000001")).field == "amount");
  CHECK(decode_event_line(deposit("a", "0.100000000000"), s).ok());  // zeros beyond the 8th digit
  CHECK(decode_error(deposit("a", std::string(400, '9'))).field == "amount");
  CHECK(decode_error(R"({"type":"price","ts":1000000000000000,"asset":"BTC","price":"1"})").field == "ts");
  CHECK(decode_error(R"({"type":"price","ts":-1,"asset":"BTC","price":"1"})").field == "ts");
  CHECK(decode_error(R"({"type":"price","ts":"9999-99-99T00:00:00Z","asset":"BTC","price":"1"})").field ==
        "ts");
  CHECK(decode_error(R"({"type":"funding","ts":1,"market":"M","rate":"-92233720368.54775809"})").field ==
        "rate");
}

TEST_CASE(
    "a trade whose notional overflows is an input error through the CLI: exit 2 naming file, line and seq",
    "[limits][cli]") {
  const std::string dir = limits_dir("overflow");
  write_file(dir + "/config.json", R"({
    "assets": { "BTC": {} },
    "markets": { "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05",
                               "liquidation_fee_ratio": "0.01" } },
    "liquidation": { "insurance_fund": "0", "adl": true } })");
  // qty × price = 9.2e10 × 9.2e10 USD: far beyond the 9.2e10 USD an i64 of 1e-8 units holds.
  write_file(
      dir + "/events.jsonl",
      R"({"type":"price","ts":0,"asset":"BTC","price":"92233720368"})"
      "\n"
      R"({"type":"deposit","ts":0,"account":"w","asset":"USD","amount":"92233720368"})"
      "\n"
      R"({"type":"deposit","ts":0,"account":"v","asset":"USD","amount":"92233720368"})"
      "\n"
      R"({"type":"trade","ts":0,"account":"v","market":"BTC-PERP","side":"buy","qty":"92233720368","price":"92233720368","counterparty":"w"})"
      "\n");
  std::string err;
  int rc = run_cli("replay --config " + dir + "/config.json --events " + dir + "/events.jsonl --json", &err);
  INFO(err);
  CHECK(rc == 2);
  CHECK(err.find(dir + "/events.jsonl:4") != std::string::npos);
  CHECK(err.find("seq 3") != std::string::npos);
  CHECK(err.find("internal error") == std::string::npos);
  // The same through the binary log: named by file and seq.
  std::string convert_err;
  REQUIRE(run_cli("log convert " + dir + "/events.jsonl " + dir + "/events.evlog", &convert_err) == 0);
  rc = run_cli("replay --config " + dir + "/config.json --events " + dir + "/events.evlog --json", &err);
  CHECK(rc == 2);
  CHECK(err.find("seq 3") != std::string::npos);
}

TEST_CASE("sums that overflow over many events are input errors, never wrapped", "[limits][cli]") {
  const std::string dir = limits_dir("sum");
  write_file(dir + "/config.json",
             R"({ "assets": {}, "markets": {}, "liquidation": { "insurance_fund": "0" } })");
  std::string events;
  for (int i = 0; i < 4; ++i)
    events += R"({"type":"deposit","ts":0,"account":"a","asset":"USD","amount":"92233720368"})"
              "\n";
  write_file(dir + "/events.jsonl", events);
  std::string err;
  int rc = run_cli("replay --config " + dir + "/config.json --events " + dir + "/events.jsonl --json", &err);
  INFO(err);
  CHECK(rc == 2);
  CHECK(err.find("events.jsonl:2") != std::string::npos);
  CHECK(err.find("seq 1") != std::string::npos);
}
