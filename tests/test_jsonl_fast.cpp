// The fixed-schema JSONL fast path and the block line readers, checked
// against the general decoder and against a model of the old byte-at-a-time
// reader: same events, same symbol ids, same errors, same line numbers.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "liqsim/jsonl.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/splitmix64.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

// Every field of an event, symbols by id, numbers by raw value.
std::string fingerprint(const InputEvent& ev) {
  std::string out = std::to_string(ev.ts_ms) + " #" + std::to_string(ev.body.index());
  auto put = [&](auto v) { out += " " + std::to_string(v); };
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PriceEvent>) {
          put(b.asset), put(b.price.raw());
        } else if constexpr (std::is_same_v<T, DepositEvent> || std::is_same_v<T, WithdrawEvent>) {
          put(b.account), put(b.asset), put(b.amount.raw());
        } else if constexpr (std::is_same_v<T, TradeEvent>) {
          put(b.account), put(b.market), put(static_cast<int>(b.side)), put(b.qty.raw()), put(b.price.raw());
          put(b.has_margin), put(static_cast<int>(b.margin)), put(b.has_isolated_margin);
          put(b.isolated_margin.raw()), put(b.counterparty);
        } else if constexpr (std::is_same_v<T, FundingEvent>) {
          put(b.market), put(b.rate.raw());
        } else if constexpr (std::is_same_v<T, ParamEvent>) {
          out += " " + b.path + " " + b.value_json;
        } else if constexpr (std::is_same_v<T, LiquidityEvent>) {
          put(b.market), put(b.depth.raw());
        }
      },
      ev.body);
  return out;
}

std::string describe_result(const Result<InputEvent>& r) {
  if (r.ok()) return "ok " + fingerprint(*r);
  const Error& e = r.error();
  return "error kind=" + std::to_string(static_cast<int>(e.kind)) + " field=" + e.field +
         " message=" + e.message;
}

std::string table(const Symbols& s) {
  std::string out;
  for (Sym i = 0; i < s.size(); ++i) out += s.name(i) + "|";
  return out;
}

template <class T>
const T& pick(SplitMix64& rng, const std::vector<T>& v) {
  return v[rng.below(v.size())];
}

// ---- generated lines: canonical ones of every type, then mutations ----

struct Field {
  std::string key;    // without quotes
  std::string value;  // JSON text
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string render(const std::vector<Field>& fields) {
  std::string out = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ",";
    out += quoted(fields[i].key) + ":" + fields[i].value;
  }
  return out + "}";
}

class LineGen {
 public:
  explicit LineGen(std::uint64_t seed) : rng_(seed) {}
  SplitMix64& rng() { return rng_; }

  std::string name_text() {
    static const std::vector<std::string> usual = {"ETH", "BTC",         "USD",      "USDC",     "a1",
                                                   "a2",  "acct-000001", "ETH-PERP", "BTC-PERP", "M"};
    static const std::vector<std::string> odd = {
        "",  // empty: an error
        "x y",
        "~!@#$%^&*()",
        "\\\"q\\\"",  // an escaped quote
        "a\\\\b",     // an escaped backslash
        "\\u0041",    // escape of 'A'
        "\xc3\xbc"
        "ber",                  // raw UTF-8
        "\x01",                 // a raw control byte: malformed JSON
        "\x7f",                 // DEL
        "\xff",                 // invalid UTF-8
        std::string(256, 'n'),  // at the limit
        std::string(257, 'n'),  // over it
        std::string(300, 'z'),
    };
    if (rng_.chance(850'000)) return pick(rng_, usual);
    return pick(rng_, odd);
  }
  std::string name() {
    if (rng_.chance(20'000)) return rng_.chance(500'000) ? "7" : "null";
    return quoted(name_text());
  }

  std::string number_text() {
    static const std::vector<std::string> odd = {"0",
                                                 "-0",
                                                 "+5",
                                                 "007",
                                                 "1e3",
                                                 "1E-8",
                                                 "0.5e1",
                                                 "1.",
                                                 ".5",
                                                 "",
                                                 "-",
                                                 "1.2.3",
                                                 "abc",
                                                 " 1",
                                                 "1 ",
                                                 "0.123456789",
                                                 "0.100000000",
                                                 "0.00000001",
                                                 "-0.00000001",
                                                 "9999999999.99999999",
                                                 "-9999999999.99999999",
                                                 "10000000000",
                                                 "99999999999",
                                                 "92233720368.54775807",
                                                 "92233720368.54775808",
                                                 "-92233720368.54775808",
                                                 "-92233720368.54775809",
                                                 "123456789012345678901234567890",
                                                 "0x10",
                                                 "1,5",
                                                 "\\u0031"};
    const std::uint64_t mode = rng_.below(10);
    if (mode == 0) return pick(rng_, odd);
    if (mode <= 3) {  // random digits around the fast parser's limits
      std::string s = rng_.chance(300'000) ? "-" : "";
      const std::uint64_t whole = 1 + rng_.below(12), fraction = rng_.below(11);
      for (std::uint64_t i = 0; i < whole; ++i) s.push_back(static_cast<char>('0' + rng_.below(10)));
      if (fraction > 0) {
        s.push_back('.');
        for (std::uint64_t i = 0; i < fraction; ++i) s.push_back(static_cast<char>('0' + rng_.below(10)));
      }
      return s;
    }
    std::int64_t raw = static_cast<std::int64_t>(rng_.next() >> rng_.below(64));
    if (rng_.chance(200'000)) raw = -raw;
    return format_decimal_raw(raw);
  }
  std::string number() {
    const std::string t = number_text();
    if (rng_.chance(50'000)) return t.empty() ? "0" : t;  // a bare JSON number (when valid)
    return quoted(t);
  }

  std::string ts() {
    static const std::vector<std::string> odd = {"0",
                                                 "00",
                                                 "0123",
                                                 "-1",
                                                 "1.5",
                                                 "1e3",
                                                 "999999999999999",
                                                 "1000000000000000",
                                                 "12345678901234567890",
                                                 "\"2020-03-12T10:15:00Z\"",
                                                 "\"2020-03-12T12:15:00.25+02:00\"",
                                                 "\"1583971200000\"",
                                                 "null",
                                                 "true"};
    if (rng_.chance(100'000)) return pick(rng_, odd);
    return std::to_string(static_cast<std::int64_t>(rng_.below(2'000'000'000'000ull)));
  }

  std::string enum_value(const char* a, const char* b) {
    if (rng_.chance(30'000)) return pick(rng_, std::vector<std::string>{"\"long\"", "\"\"", "1", "\"BUY\""});
    return quoted(rng_.chance(500'000) ? a : b);
  }

  // Fields of one event of a random type, in canonical order.
  std::vector<Field> canonical() {
    std::vector<Field> f;
    const std::uint64_t type = rng_.below(8);
    auto add = [&](std::string k, std::string v) { f.push_back({std::move(k), std::move(v)}); };
    static const char* names[] = {"price",   "deposit", "withdraw",  "trade",
                                  "funding", "param",   "liquidity", "pryce"};
    add("type", quoted(names[type]));
    add("ts", ts());
    switch (type) {
      case 0:
        add("asset", name());
        add("price", number());
        break;
      case 1:
      case 2:
        add("account", name());
        add("asset", name());
        add("amount", number());
        break;
      case 3: {
        const std::string account = name();
        add("account", account);
        add("market", name());
        add("side", enum_value("buy", "sell"));
        add("qty", number());
        add("price", number());
        const bool isolated = rng_.chance(500'000);
        if (isolated || rng_.chance(300'000))
          add("margin", isolated ? "\"isolated\"" : enum_value("cross", "isolated"));
        if ((isolated && rng_.chance(700'000)) || rng_.chance(50'000)) add("isolated_margin", number());
        if (rng_.chance(500'000)) add("counterparty", rng_.chance(100'000) ? account : name());
        break;
      }
      case 4:
        add("market", name());
        add("rate", number());
        break;
      case 5: {
        static const std::vector<std::string> values = {"\"0.02\"", "5",    "{\"a\":1}", "[1,2]",
                                                        "true",     "null", "\"x\""};
        add("path", rng_.chance(900'000) ? quoted("markets.ETH-PERP.maintenance_margin_ratio") : "\"\"");
        add("value", pick(rng_, values));
        break;
      }
      case 6:
        add("market", name());
        add("depth", number());
        break;
      default:
        add("asset", name());
        break;
    }
    return f;
  }

  // One structural change to a canonical field list, rendered.
  std::string mutate_fields(std::vector<Field> f) {
    switch (rng_.below(9)) {
      case 0:
        if (f.size() > 1) std::swap(f[rng_.below(f.size())], f[rng_.below(f.size())]);
        break;
      case 1:
        f.erase(f.begin() + static_cast<std::ptrdiff_t>(rng_.below(f.size())));
        break;
      case 2:
        f.insert(f.begin() + static_cast<std::ptrdiff_t>(rng_.below(f.size() + 1)), f[rng_.below(f.size())]);
        break;
      case 3:
        f.insert(f.begin() + static_cast<std::ptrdiff_t>(rng_.below(f.size() + 1)), Field{"extra", "1"});
        break;
      case 4: {
        static const std::vector<std::string> optional = {"margin", "isolated_margin", "counterparty"};
        static const std::vector<std::string> values = {"\"cross\"", "\"isolated\"", "\"5\"", "\"b\""};
        f.push_back({pick(rng_, optional), pick(rng_, values)});
        break;
      }
      case 5: {  // whitespace between tokens
        std::string s = render(f);
        static const std::vector<std::string> ws = {" ", "\t", "  ", "\r", "\n"};
        s.insert(rng_.below(s.size() + 1), pick(rng_, ws));
        return s;
      }
      case 6: {  // something after the object
        static const std::vector<std::string> tails = {" ", "x", "}", "\r", "{}", ",", "\t"};
        return render(f) + pick(rng_, tails);
      }
      case 7: {  // a key spelled with an escape
        std::string& k = f[rng_.below(f.size())].key;
        if (!k.empty())
          k = "\\u00" + std::string(k[0] == 'a' ? "61" : k[0] == 't' ? "74" : "6d") + k.substr(1);
        break;
      }
      default:
        f.back().value = number();
        break;
    }
    return render(f);
  }

  // One byte changed, deleted or doubled.
  std::string mutate_byte(std::string s, std::size_t at, int how) {
    if (s.empty()) return s;
    at %= s.size();
    switch (how) {
      case 0:
        s[at] = static_cast<char>(s[at] ^ (1u << rng_.below(8)));
        break;
      case 1:
        s.erase(at, 1);
        break;
      default:
        s.insert(at, 1, s[at]);
        break;
    }
    return s;
  }

 private:
  SplitMix64 rng_;
};

// decode_event_line (fast path first), the general decoder alone, and the
// fast path tried by hand, each with its own symbol table: results, symbol
// ids and tables must stay the same line after line.
struct Differential {
  Symbols combined, generic, probe;
  std::size_t lines = 0, fast = 0, accepted = 0;

  void check(const std::string& line) {
    INFO("line: " << line);
    ++lines;
    const auto a = decode_event_line(line, combined);
    const auto b = detail::decode_event_line_generic(line, generic);
    REQUIRE(describe_result(a) == describe_result(b));
    REQUIRE(combined.size() == generic.size());  // whole tables compared at the end
    if (a.ok()) ++accepted;
    InputEvent sentinel;
    sentinel.ts_ms = -7;
    sentinel.body = ParamEvent{"sentinel", "1"};
    InputEvent out = sentinel;
    const std::size_t before = probe.size();
    if (detail::decode_event_line_fast(line, probe, out)) {
      ++fast;
      REQUIRE(b.ok());
      REQUIRE(fingerprint(out) == fingerprint(*b));
    } else {
      REQUIRE(probe.size() == before);  // gave up without interning
      REQUIRE(fingerprint(out) == fingerprint(sentinel));
      (void)detail::decode_event_line_generic(line, probe);
    }
    REQUIRE(probe.size() == generic.size());
  }
};

}  // namespace

TEST_CASE("the JSONL fast path decodes exactly like the general decoder", "[jsonl][property]") {
  LineGen gen(20260312);
  Differential d;
  for (int i = 0; i < 6000; ++i) {
    std::vector<Field> fields = gen.canonical();
    const std::string line = render(fields);
    d.check(line);
    for (int k = 0; k < 4; ++k) d.check(gen.mutate_fields(fields));
    for (int k = 0; k < 4; ++k)
      d.check(gen.mutate_byte(line, gen.rng().next(), static_cast<int>(gen.rng().below(3))));
  }
  // Every byte of some lines flipped, deleted and doubled.
  for (int i = 0; i < 60; ++i) {
    const std::string line = render(gen.canonical());
    for (std::size_t at = 0; at < line.size(); ++at)
      for (int how = 0; how < 3; ++how) d.check(gen.mutate_byte(line, at, how));
  }
  CHECK(table(d.combined) == table(d.generic));
  CHECK(table(d.probe) == table(d.generic));
  INFO("lines " << d.lines << ", accepted " << d.accepted << ", fast " << d.fast);
  // The generator reaches both paths and both outcomes.
  CHECK(d.fast > d.lines / 20);
  CHECK(d.accepted > d.fast);
  CHECK(d.accepted < d.lines);
}

TEST_CASE("canonical lines take the fast path and leave the symbols alone when they do not", "[jsonl]") {
  const char* canonical[] = {
      R"({"type":"price","ts":1583971200000,"asset":"ETH","price":"195.21"})",
      R"({"type":"deposit","ts":0,"account":"a1","asset":"USD","amount":"1000"})",
      R"({"type":"withdraw","ts":1,"account":"a1","asset":"USD","amount":"10.5"})",
      R"({"type":"trade","ts":2,"account":"a1","market":"ETH-PERP","side":"buy","qty":"2","price":"195"})",
      R"({"type":"trade","ts":2,"account":"a1","market":"ETH-PERP","side":"sell","qty":"2","price":"195","margin":"isolated","isolated_margin":"0","counterparty":"a2"})",
      R"({"type":"trade","ts":2,"account":"a1","market":"ETH-PERP","side":"sell","qty":"2","price":"195","margin":"cross"})",
      R"({"type":"funding","ts":999999999999999,"market":"ETH-PERP","rate":"-0.0001"})",
      R"({"type":"liquidity","ts":3,"market":"ETH-PERP","depth":"1000000"})",
      R"({"type":"price","ts":4,"asset":"BTC","price":"92233720368.54775807"})",  // parse_decimal_raw's range
  };
  Symbols s;
  for (const char* line : canonical) {
    INFO(line);
    InputEvent ev;
    REQUIRE(detail::decode_event_line_fast(line, s, ev));
    CHECK(encode_event(ev, s) == line);
  }
  const std::size_t known = s.size();
  const char* not_fast[] = {
      R"({"type":"param","ts":0,"path":"markets.ETH-PERP.maintenance_margin_ratio","value":"0.02"})",
      R"({"type":"price", "ts":1,"asset":"NEW1","price":"1"})",
      R"({"ts":1,"type":"price","asset":"NEW2","price":"1"})",
      R"({"type":"price","ts":01,"asset":"NEW3","price":"1"})",
      R"({"type":"price","ts":1000000000000000,"asset":"NEW4","price":"1"})",
      R"({"type":"price","ts":1,"asset":"NEW5","price":1})",
      R"({"type":"price","ts":1,"asset":"NEW\u0036","price":"1"})",
      R"({"type":"price","ts":1,"asset":"NEW7","price":"0"})",
      R"({"type":"price","ts":1,"asset":"NEW8","price":"1"} )",
      R"({"type":"trade","ts":2,"account":"NEW9","market":"M","side":"buy","qty":"2","price":"1","isolated_margin":"1"})",
      R"({"type":"trade","ts":2,"account":"NEW10","market":"M","side":"buy","qty":"2","price":"1","counterparty":"NEW10"})",
  };
  for (const char* line : not_fast) {
    INFO(line);
    InputEvent ev;
    ev.ts_ms = -3;
    CHECK_FALSE(detail::decode_event_line_fast(line, s, ev));
    CHECK(ev.ts_ms == -3);
    CHECK(s.size() == known);
  }
}

// ---- the block line readers ----

namespace {

// The old JsonlEventReader::next, byte by byte, as the model of line
// handling (limit, '\r', blank lines, ts order, event count).
class ModelReader {
 public:
  ModelReader(std::string text, Symbols& symbols) : text_(std::move(text)), symbols_(symbols) {}
  Result<bool> next(InputEvent& out) {
    for (;;) {
      std::string buf;
      bool any = false;
      while (pos_ < text_.size()) {
        const char c = text_[pos_++];
        any = true;
        if (c == '\n') break;
        if (buf.size() >= limits::kMaxLineBytes)
          return error(make_error(ErrorKind::input, "line longer than 1 MiB"), line_ + 1);
        buf.push_back(c);
      }
      if (!any) return false;
      ++line_;
      if (!buf.empty() && buf.back() == '\r') buf.pop_back();
      if (buf.find_first_not_of(" \t") == std::string::npos) continue;
      auto ev = detail::decode_event_line_generic(buf, symbols_);
      if (!ev) return error(ev.error(), line_);
      if (ev->ts_ms < last_ts_)
        return error(
            make_error(ErrorKind::input,
                       "goes backwards: " + std::to_string(ev->ts_ms) + " after " + std::to_string(last_ts_),
                       "ts"),
            line_);
      last_ts_ = ev->ts_ms;
      ++seq_;
      out = std::move(*ev);
      return true;
    }
  }
  std::int64_t line() const { return line_; }
  std::int64_t seq() const { return seq_; }

 private:
  Error error(Error e, std::int64_t line) {
    e.file = "f.jsonl";
    e.line = line;
    return e;
  }
  std::string text_;
  std::size_t pos_ = 0;
  Symbols& symbols_;
  std::int64_t line_ = 0, seq_ = 0, last_ts_ = INT64_MIN;
};

// A stream buffer that hands out at most `piece` bytes per read, so lines
// are split across the reader's blocks everywhere.
class PieceBuf final : public std::streambuf {
 public:
  PieceBuf(std::string text, std::size_t piece) : text_(std::move(text)), piece_(piece) {}

 protected:
  std::streamsize xsgetn(char* dst, std::streamsize n) override {
    const std::size_t k = std::min({static_cast<std::size_t>(n), piece_, text_.size() - pos_});
    std::copy_n(text_.data() + pos_, k, dst);
    pos_ += k;
    return static_cast<std::streamsize>(k);
  }
  int_type underflow() override {
    return pos_ < text_.size() ? traits_type::to_int_type(text_[pos_]) : traits_type::eof();
  }
  int_type uflow() override {
    return pos_ < text_.size() ? traits_type::to_int_type(text_[pos_++]) : traits_type::eof();
  }

 private:
  std::string text_;
  std::size_t pos_ = 0, piece_;
};

// Every step of a reader, up to its end or first error, as text.
template <class Reader>
std::vector<std::string> transcript(Reader& r, const Symbols& symbols) {
  std::vector<std::string> out;
  InputEvent ev;
  for (;;) {
    auto more = r.next(ev);
    if (!more) {
      out.push_back("error " + more.error().describe() + " line=" + std::to_string(more.error().line));
      break;
    }
    if (!*more) {
      out.push_back("end line=" + std::to_string(r.line()) + " seq=" + std::to_string(r.seq()));
      break;
    }
    out.push_back(fingerprint(ev) + " line=" + std::to_string(r.line()) + " seq=" + std::to_string(r.seq()));
  }
  out.push_back("symbols " + table(symbols));
  return out;
}

std::string scratch_dir() {
  fs::path p = fs::temp_directory_path() / ("liqsim-jsonl-fast-" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// TEXT read by the model, by JsonlEventReader (whole and in pieces) and by
// JsonlFileReader: the same transcript; the file reader's hash and byte count
// are the file's.
std::vector<std::string> check_readers(const std::string& text, std::size_t piece) {
  Symbols sm;
  ModelReader model(text, sm);
  const auto expected = transcript(model, sm);
  {
    Symbols s;
    std::istringstream in(text);
    JsonlEventReader r(in, "f.jsonl", s);
    CHECK(transcript(r, s) == expected);
  }
  {
    Symbols s;
    PieceBuf buf(text, piece);
    std::istream in(&buf);
    JsonlEventReader r(in, "f.jsonl", s);
    CHECK(transcript(r, s) == expected);
  }
  const std::string path = scratch_dir() + "/f.jsonl";
  write_file(path, text);
  Symbols s;
  auto r = JsonlFileReader::open(path, s);
  REQUIRE(r.ok());
  CHECK(r->file_size() == static_cast<std::int64_t>(text.size()));
  Sha256 hash;
  r->hash_into(&hash);
  auto got = transcript(*r, s);
  for (std::string& step : got)  // the file reader names the file by its path
    if (auto at = step.find(path); at != std::string::npos) step.replace(at, path.size(), "f.jsonl");
  CHECK(got == expected);
  if (expected.size() >= 2 && expected[expected.size() - 2].rfind("end", 0) == 0) {
    CHECK(r->bytes_read() == static_cast<std::int64_t>(text.size()));
    CHECK(hash.hex() == sha256_hex(text));
  }
  return expected;
}

std::string price_line(std::int64_t ts, const std::string& asset = "ETH") {
  return R"({"type":"price","ts":)" + std::to_string(ts) + R"(,"asset":")" + asset + R"(","price":"1"})";
}

}  // namespace

TEST_CASE("block readers split lines across reads exactly like the byte-at-a-time reader",
          "[jsonl][property]") {
  SplitMix64 rng(77);
  LineGen gen(78);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    std::int64_t ts = 0;
    const std::uint64_t n = rng.below(40);
    for (std::uint64_t i = 0; i < n; ++i) {
      switch (rng.below(12)) {
        case 0:
          text += "\n";
          break;
        case 1:
          text += " \t \r\n";
          break;
        case 2:
          text += price_line(ts) + "\r\n";
          break;
        case 3:
          text += price_line(ts - 1 - static_cast<std::int64_t>(rng.below(5))) + "\n";  // may go backwards
          break;
        case 4:
          if (rng.chance(200'000)) text += render(gen.canonical()) + "\n";  // often an error
          break;
        case 5:
          text += " " + price_line(ts) + " \n";  // general path
          break;
        default:
          ts += static_cast<std::int64_t>(rng.below(3));
          text += price_line(ts, rng.chance(500'000) ? "ETH" : "BTC") + "\n";
          break;
      }
    }
    if (rng.chance(300'000) && !text.empty()) text.pop_back();  // no final newline
    if (rng.chance(100'000)) text += "\r";
    INFO("text: " << text);
    check_readers(text, 1 + rng.below(70));
  }
}

TEST_CASE("block readers: a line of exactly 1 MiB is read, one byte more is an error at its line",
          "[jsonl][limits]") {
  const std::size_t max = limits::kMaxLineBytes;
  const std::string first = price_line(1) + "\n";
  auto padded = [&](std::size_t content_bytes) {  // a price line led by spaces, CONTENT_BYTES long
    std::string line = price_line(2);
    return std::string(content_bytes - line.size(), ' ') + line;
  };
  SECTION("exactly the limit, then another line") {
    auto t = check_readers(first + padded(max) + "\n" + price_line(3) + "\n", 4096);
    REQUIRE(t.size() == 5);
    CHECK(t[1].find("line=2") != std::string::npos);
    CHECK(t[3].rfind("end line=3 seq=3", 0) == 0);
  }
  SECTION("exactly the limit, no final newline") {
    auto t = check_readers(first + padded(max), 65536);
    REQUIRE(t.size() == 4);
    CHECK(t[2].rfind("end line=2 seq=2", 0) == 0);
  }
  SECTION("one byte over") {
    auto t = check_readers(first + padded(max + 1) + "\n" + price_line(3) + "\n", 100000);
    REQUIRE(t.size() == 3);
    CHECK(t[1] == "error f.jsonl:2: line longer than 1 MiB line=2");
  }
  SECTION("one byte over, no final newline") {
    auto t = check_readers(first + padded(max + 1), 1 << 20);
    REQUIRE(t.size() == 3);
    CHECK(t[1] == "error f.jsonl:2: line longer than 1 MiB line=2");
  }
  SECTION("the '\\r' of a CRLF line counts toward the limit") {
    auto over = check_readers(first + padded(max) + "\r\n", 1 << 16);
    CHECK(over[1] == "error f.jsonl:2: line longer than 1 MiB line=2");
    auto at = check_readers(first + padded(max - 1) + "\r\n", 1 << 16);
    CHECK(at[2].rfind("end line=2 seq=2", 0) == 0);
  }
  SECTION("a long line of blanks is still a long line") {
    auto t = check_readers(std::string(max + 1, ' ') + "\n", 1 << 18);
    CHECK(t[0] == "error f.jsonl:1: line longer than 1 MiB line=1");
  }
}

TEST_CASE("block readers: CRLF, blank lines and a missing final newline", "[jsonl]") {
  const std::string text = "\r\n" + price_line(5) + "\r\n  \t\r\n\n" + price_line(6) + "\r\n" + price_line(7);
  auto t = check_readers(text, 3);
  REQUIRE(t.size() == 5);
  CHECK(t[0].find("line=2 seq=1") != std::string::npos);
  CHECK(t[1].find("line=5 seq=2") != std::string::npos);
  CHECK(t[2].find("line=6 seq=3") != std::string::npos);
  CHECK(t[3] == "end line=6 seq=3");
  CHECK(check_readers("", 1)[0] == "end line=0 seq=0");
  CHECK(check_readers("\n\n", 1)[0] == "end line=2 seq=0");
  // A '\r' alone is not a line end; a lone '\r' line is blank.
  CHECK(check_readers(price_line(1) + "\r" + price_line(2) + "\n", 5)[0].rfind("error f.jsonl:1:", 0) == 0);
  CHECK(check_readers("\r", 1)[0] == "end line=1 seq=0");
}

TEST_CASE("JsonlFileReader: a big file reads like the stream reader and hashes to the file's SHA-256",
          "[jsonl]") {
  std::string text;
  SplitMix64 rng(5);
  for (int i = 0; i < 60000; ++i) {
    text += price_line(i, i % 3 ? "ETH" : "BTC");
    text += rng.chance(100'000) ? "\r\n" : "\n";
  }
  const std::string path = scratch_dir() + "/big.jsonl";
  write_file(path, text);
  check_readers(text, 1 << 16);
  Symbols s;
  std::string sha;
  auto events = read_jsonl_file(path, s, &sha);
  REQUIRE(events.ok());
  CHECK(events->size() == 60000);
  CHECK(sha == sha256_hex(text));
}

TEST_CASE("JsonlFileReader: open and read failures are io errors naming the file", "[jsonl]") {
  Symbols s;
  const std::string dir = scratch_dir();
  auto missing = JsonlFileReader::open(dir + "/missing.jsonl", s);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::io);
  CHECK(missing.error().file == dir + "/missing.jsonl");
  CHECK(missing.error().message == "cannot open for reading: No such file or directory");
  // A directory opens, but read() fails (EISDIR).
  auto directory = JsonlFileReader::open(dir, s);
  REQUIRE(directory.ok());
  InputEvent ev;
  auto more = directory->next(ev);
  REQUIRE_FALSE(more.ok());
  CHECK(more.error().kind == ErrorKind::io);
  CHECK(more.error().file == dir);
  CHECK(more.error().message.rfind("read failed: ", 0) == 0);
  // A reader moved from keeps reading where it was.
  write_file(dir + "/two.jsonl", price_line(1) + "\n" + price_line(2) + "\n");
  auto a = JsonlFileReader::open(dir + "/two.jsonl", s);
  REQUIRE(a.ok());
  REQUIRE(*a->next(ev));
  JsonlFileReader b = std::move(*a);
  REQUIRE(*b.next(ev));
  CHECK(ev.ts_ms == 2);
  CHECK(b.line() == 2);
  CHECK_FALSE(*b.next(ev));
}
