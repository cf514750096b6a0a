#include <catch2/catch.hpp>
#include <sstream>

#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"

using namespace liqsim;

namespace {
Error decode_error(const std::string& line) {
  Symbols s;
  auto r = decode_event_line(line, s);
  REQUIRE_FALSE(r.ok());
  return r.error();
}
}  // namespace

TEST_CASE("every input event type decodes and re-encodes canonically", "[jsonl]") {
  Symbols s;
  const char* lines[] = {
      R"({"type":"price","ts":1583971200000,"asset":"ETH","price":"195.21"})",
      R"({"type":"deposit","ts":1583971200000,"account":"a1","asset":"USD","amount":"1000"})",
      R"({"type":"withdraw","ts":1583971200000,"account":"a1","asset":"USD","amount":"10.5"})",
      R"({"type":"trade","ts":1583971200000,"account":"a1","market":"ETH-PERP","side":"buy","qty":"2","price":"195","margin":"isolated","isolated_margin":"50","counterparty":"a2"})",
      R"({"type":"funding","ts":1583971200000,"market":"ETH-PERP","rate":"-0.0001"})",
      R"({"type":"param","ts":1583971200000,"path":"markets.ETH-PERP.maintenance_margin_ratio","value":"0.02"})",
      R"({"type":"liquidity","ts":1583971200000,"market":"ETH-PERP","depth":"1000000"})",
  };
  for (const char* line : lines) {
    INFO(line);
    auto ev = decode_event_line(line, s);
    REQUIRE(ev.ok());
    CHECK(encode_event(*ev, s) == line);
  }
}

TEST_CASE("JSON numbers are read exactly from their text", "[jsonl]") {
  Symbols s;
  auto ev = decode_event_line(R"({"type":"price","ts":0,"asset":"BTC","price":63250.12345678})", s);
  REQUIRE(ev.ok());
  CHECK(std::get<PriceEvent>(ev->body).price.raw() == 6325012345678);
  auto err = decode_error(R"({"type":"price","ts":0,"asset":"BTC","price":0.123456789})");
  CHECK(err.field == "price");
  CHECK(err.message.find("more than 8 fractional digits") != std::string::npos);
}

TEST_CASE("RFC 3339 and integer millisecond timestamps agree", "[jsonl]") {
  Symbols s;
  auto a =
      decode_event_line(R"({"type":"price","ts":"2020-03-12T10:15:00.250Z","asset":"ETH","price":"1"})", s);
  auto b = decode_event_line(R"({"type":"price","ts":1584008100250,"asset":"ETH","price":"1"})", s);
  auto c = decode_event_line(
      R"({"type":"price","ts":"2020-03-12T12:15:00.25+02:00","asset":"ETH","price":"1"})", s);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->ts_ms == 1584008100250);
  CHECK(b->ts_ms == a->ts_ms);
  CHECK(c->ts_ms == a->ts_ms);
  CHECK(format_rfc3339(a->ts_ms) == "2020-03-12T10:15:00.250Z");
  CHECK(decode_error(R"({"type":"price","ts":"2020-02-30T00:00:00Z","asset":"ETH","price":"1"})").field ==
        "ts");
  CHECK(decode_error(R"({"type":"price","ts":"2020-03-12 10:15","asset":"ETH","price":"1"})").field == "ts");
  CHECK(decode_error(R"({"type":"price","ts":1.5,"asset":"ETH","price":"1"})").field == "ts");
  CHECK(decode_error(R"({"type":"price","ts":-1,"asset":"ETH","price":"1"})").field == "ts");
}

TEST_CASE("bad events name the field that is wrong", "[jsonl]") {
  struct Case {
    const char* line;
    const char* field;
  };
  Case cases[] = {
      {R"({"type":"pryce","ts":0})", "type"},
      {R"({"ts":0,"asset":"ETH","price":"1"})", "type"},
      {R"({"type":"price","asset":"ETH","price":"1"})", "ts"},
      {R"({"type":"price","ts":0,"price":"1"})", "asset"},
      {R"({"type":"price","ts":0,"asset":"ETH","price":"1","extra":1})", "extra"},
      {R"({"type":"price","ts":0,"asset":"ETH","price":"0"})", "price"},
      {R"({"type":"price","ts":0,"asset":"ETH","price":"-5"})", "price"},
      {R"({"type":"price","ts":0,"asset":"ETH","price":"1.2.3"})", "price"},
      {R"({"type":"price","ts":0,"asset":"","price":"1"})", "asset"},
      {R"({"type":"price","ts":0,"asset":7,"price":"1"})", "asset"},
      {R"({"type":"deposit","ts":0,"account":"a","asset":"USD","amount":"0"})", "amount"},
      {R"({"type":"trade","ts":0,"account":"a","market":"M","side":"long","qty":"1","price":"1"})", "side"},
      {R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"-1","price":"1"})", "qty"},
      {R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"1","isolated_margin":"5"})",
       "isolated_margin"},
      {R"({"type":"trade","ts":0,"account":"a","market":"M","side":"buy","qty":"1","price":"1","counterparty":"a"})",
       "counterparty"},
      {R"({"type":"funding","ts":0,"market":"M"})", "rate"},
      {R"({"type":"param","ts":0,"value":"1"})", "path"},
      {R"({"type":"liquidity","ts":0,"market":"M","depth":"0"})", "depth"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CHECK(decode_error(c.line).field == c.field);
  }
  CHECK(decode_error("{not json").message.find("malformed JSON") != std::string::npos);
  CHECK(decode_error(R"({"type":"price","type":"price"})").message.find("duplicate") != std::string::npos);
  CHECK(decode_error("[1,2]").message == "expected a JSON object");
}

TEST_CASE("a reader names the file and line, and refuses ts going backwards", "[jsonl]") {
  Symbols s;
  std::istringstream in(
      "{\"type\":\"price\",\"ts\":10,\"asset\":\"ETH\",\"price\":\"1\"}\n"
      "\n"
      "{\"type\":\"price\",\"ts\":10,\"asset\":\"ETH\",\"price\":\"2\"}\n"
      "{\"type\":\"price\",\"ts\":9,\"asset\":\"ETH\",\"price\":\"3\"}\n");
  JsonlEventReader r(in, "x.jsonl", s);
  InputEvent ev;
  REQUIRE(*r.next(ev));
  REQUIRE(*r.next(ev));
  CHECK(r.seq() == 2);
  auto bad = r.next(ev);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().describe() == "x.jsonl:4: field 'ts': goes backwards: 9 after 10");
}
