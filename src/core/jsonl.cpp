#include "liqsim/jsonl.hpp"

#include <fstream>
#include <streambuf>

#include "liqsim/json.hpp"
#include "liqsim/sha256.hpp"

namespace liqsim {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Error timestamp_error(const char* message) { return make_error(ErrorKind::input, message); }

Result<std::int64_t> parse_rfc3339(std::string_view s) {
  const char* bad = "not an RFC 3339 timestamp (e.g. 2020-03-12T10:15:00.250Z)";
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, hour) ||
      s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second))
    return timestamp_error(bad);
  static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 || minute > 59 ||
      second > 59)
    return timestamp_error("timestamp has a field out of range");
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return timestamp_error("timestamp has a field out of range");
  std::size_t i = 19;
  std::int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t begin = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      std::size_t k = i - begin;
      if (k < 3)
        millis = millis * 10 + (s[i] - '0');
      else if (s[i] != '0')
        return timestamp_error("timestamp has more precision than a millisecond");
      ++i;
    }
    std::size_t n = i - begin;
    if (n == 0) return timestamp_error(bad);
    for (std::size_t k = n; k < 3; ++k) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) ||
        oh > 23 || om > 59)
      return timestamp_error(bad);
    offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return timestamp_error(bad);
  }
  if (i != s.size()) return timestamp_error(bad);
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  const std::int64_t ms = secs * 1000 + millis;
  if (ms < 0) return timestamp_error("timestamp before 1970-01-01");
  return ms;
}

// Reads one object's fields against a schema, so that unknown and missing
// fields are named.
class FieldReader {
 public:
  FieldReader(const JsonValue& obj) : obj_(obj), used_(obj.members.size(), false) {}

  const JsonValue* optional(std::string_view name) {
    for (std::size_t i = 0; i < obj_.members.size(); ++i) {
      if (obj_.members[i].first == name) {
        used_[i] = true;
        return &obj_.members[i].second;
      }
    }
    return nullptr;
  }
  Result<const JsonValue*> required(std::string_view name) {
    const JsonValue* v = optional(name);
    if (!v) return make_error(ErrorKind::input, "missing", std::string(name));
    return v;
  }
  Status no_unknown(std::string_view type) {
    for (std::size_t i = 0; i < used_.size(); ++i)
      if (!used_[i])
        return make_error(ErrorKind::input,
                          std::string("unknown field for a '") + std::string(type) + "' event",
                          obj_.members[i].first);
    return {};
  }

 private:
  const JsonValue& obj_;
  std::vector<bool> used_;
};

enum class Sign : std::uint8_t { any, positive, non_negative };

template <class T>
Status read_number(FieldReader& r, std::string_view name, Sign sign, T& out) {
  auto v = r.required(name);
  if (!v) return v.error();
  const JsonValue& j = **v;
  if (!j.is_string() && !j.is_number())
    return make_error(ErrorKind::input, "expected a decimal string or number", std::string(name));
  Result<std::int64_t> parsed = parse_decimal_raw(j.text);
  if (!parsed)
    return make_error(ErrorKind::input, parsed.error().message + ": '" + excerpt(j.text) + "'",
                      std::string(name));
  const std::int64_t raw = *parsed;
  if (sign == Sign::positive && raw <= 0)
    return make_error(ErrorKind::input, "must be positive, got " + excerpt(j.text), std::string(name));
  if (sign == Sign::non_negative && raw < 0)
    return make_error(ErrorKind::input, "must not be negative, got " + excerpt(j.text), std::string(name));
  out = T::from_raw(raw);
  return {};
}

Status read_symbol(FieldReader& r, std::string_view name, Symbols& symbols, Sym& out) {
  auto v = r.required(name);
  if (!v) return v.error();
  const JsonValue& j = **v;
  if (!j.is_string()) return make_error(ErrorKind::input, "expected a string", std::string(name));
  if (j.text.empty()) return make_error(ErrorKind::input, "must not be empty", std::string(name));
  if (j.text.size() > limits::kMaxNameBytes)
    return make_error(ErrorKind::input, "longer than 256 bytes", std::string(name));
  out = symbols.intern(j.text);
  return {};
}

Status read_enum(FieldReader& r, std::string_view name, const char* a, const char* b, bool& is_b) {
  auto v = r.required(name);
  if (!v) return v.error();
  const JsonValue& j = **v;
  if (j.is_string() && j.text == a)
    is_b = false;
  else if (j.is_string() && j.text == b)
    is_b = true;
  else
    return make_error(ErrorKind::input, std::string("expected \"") + a + "\" or \"" + b + "\"",
                      std::string(name));
  return {};
}

#define LIQSIM_TRY(expr)          \
  do {                            \
    Status st_ = (expr);          \
    if (!st_) return st_.error(); \
  } while (0)

Result<EventBody> decode_body(std::string_view type, FieldReader& r, Symbols& sym) {
  if (type == "price") {
    PriceEvent e;
    LIQSIM_TRY(read_symbol(r, "asset", sym, e.asset));
    LIQSIM_TRY(read_number(r, "price", Sign::positive, e.price));
    return EventBody{e};
  }
  if (type == "deposit" || type == "withdraw") {
    DepositEvent e;
    LIQSIM_TRY(read_symbol(r, "account", sym, e.account));
    LIQSIM_TRY(read_symbol(r, "asset", sym, e.asset));
    LIQSIM_TRY(read_number(r, "amount", Sign::positive, e.amount));
    if (type == "deposit") return EventBody{e};
    return EventBody{WithdrawEvent{e.account, e.asset, e.amount}};
  }
  if (type == "trade") {
    TradeEvent e;
    LIQSIM_TRY(read_symbol(r, "account", sym, e.account));
    LIQSIM_TRY(read_symbol(r, "market", sym, e.market));
    bool sell = false;
    LIQSIM_TRY(read_enum(r, "side", "buy", "sell", sell));
    e.side = sell ? Side::sell : Side::buy;
    LIQSIM_TRY(read_number(r, "qty", Sign::positive, e.qty));
    LIQSIM_TRY(read_number(r, "price", Sign::positive, e.price));
    if (r.optional("margin")) {
      bool isolated = false;
      LIQSIM_TRY(read_enum(r, "margin", "cross", "isolated", isolated));
      e.has_margin = true;
      e.margin = isolated ? MarginMode::isolated : MarginMode::cross;
    }
    if (r.optional("isolated_margin")) {
      LIQSIM_TRY(read_number(r, "isolated_margin", Sign::non_negative, e.isolated_margin));
      e.has_isolated_margin = true;
      if (e.margin != MarginMode::isolated)
        return make_error(ErrorKind::input, "only allowed with \"margin\": \"isolated\"", "isolated_margin");
    }
    if (r.optional("counterparty")) {
      LIQSIM_TRY(read_symbol(r, "counterparty", sym, e.counterparty));
      if (e.counterparty == e.account)
        return make_error(ErrorKind::input, "must differ from account", "counterparty");
    }
    return EventBody{e};
  }
  if (type == "funding") {
    FundingEvent e;
    LIQSIM_TRY(read_symbol(r, "market", sym, e.market));
    LIQSIM_TRY(read_number(r, "rate", Sign::any, e.rate));
    return EventBody{e};
  }
  if (type == "param") {
    ParamEvent e;
    auto path = r.required("path");
    if (!path) return path.error();
    if (!(*path)->is_string() || (*path)->text.empty())
      return make_error(ErrorKind::input, "expected a non-empty string", "path");
    e.path = (*path)->text;
    auto value = r.required("value");
    if (!value) return value.error();
    e.value_json = (*value)->dump();
    if (e.value_json.size() > limits::kMaxParamBytes)
      return make_error(ErrorKind::input, "longer than 64 KiB", "value");
    return EventBody{std::move(e)};
  }
  if (type == "liquidity") {
    LiquidityEvent e;
    LIQSIM_TRY(read_symbol(r, "market", sym, e.market));
    LIQSIM_TRY(read_number(r, "depth", Sign::positive, e.depth));
    return EventBody{e};
  }
  return make_error(ErrorKind::input,
                    "unknown event type '" + excerpt(type) +
                        "' (expected price, deposit, withdraw, trade, funding, param or liquidity)",
                    "type");
}

void put_field(std::string& out, std::string_view name, std::string_view json_text) {
  out.push_back(',');
  out += json_quote(name);
  out.push_back(':');
  out += json_text;
}
template <class T>
void put_num(std::string& out, std::string_view name, T v) {
  put_field(out, name, json_quote(v.str()));
}
void put_sym(std::string& out, std::string_view name, Sym s, const Symbols& symbols) {
  put_field(out, name, json_quote(symbols.name(s)));
}

}  // namespace

Result<std::int64_t> parse_timestamp(const JsonValue& v) {
  if (v.is_number()) {
    const std::string& t = v.text;
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
      return timestamp_error("expected integer milliseconds or an RFC 3339 string");
    if (t.size() > 15) return timestamp_error("timestamp outside the supported range (year 1970..33658)");
    return static_cast<std::int64_t>(std::stoll(t));
  }
  if (v.is_string()) return parse_rfc3339(v.text);
  return timestamp_error("expected integer milliseconds or an RFC 3339 string");
}

std::string format_rfc3339(std::int64_t ms) {
  // Floor division without negating ms (INT64_MIN has no negation).
  std::int64_t days = ms / 86400000;
  std::int64_t rem = ms % 86400000;
  if (rem < 0) {
    --days;
    rem += 86400000;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600000), static_cast<long long>(rem / 60000 % 60),
                static_cast<long long>(rem / 1000 % 60), static_cast<long long>(rem % 1000));
  return buf;
}

Result<InputEvent> decode_event_line(std::string_view line, Symbols& symbols) {
  auto doc = parse_json(line);
  if (!doc) return make_error(ErrorKind::input, "malformed JSON: " + doc.error().message);
  const JsonValue& obj = *doc;
  if (!obj.is_object()) return make_error(ErrorKind::input, "expected a JSON object");
  FieldReader r(obj);
  auto type = r.required("type");
  if (!type) return type.error();
  if (!(*type)->is_string()) return make_error(ErrorKind::input, "expected a string", "type");
  auto ts = r.required("ts");
  if (!ts) return ts.error();
  InputEvent ev;
  Result<std::int64_t> ts_ms = parse_timestamp(**ts);
  if (!ts_ms) return make_error(ErrorKind::input, ts_ms.error().message, "ts");
  ev.ts_ms = *ts_ms;
  auto body = decode_body((*type)->text, r, symbols);
  if (!body) return body.error();
  LIQSIM_TRY(r.no_unknown((*type)->text));
  ev.body = std::move(*body);
  return ev;
}

std::string encode_event(const InputEvent& e, const Symbols& sym) {
  std::string out = "{\"type\":";
  out += json_quote(event_type_name(e.body));
  put_field(out, "ts", std::to_string(e.ts_ms));
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PriceEvent>) {
          put_sym(out, "asset", b.asset, sym);
          put_num(out, "price", b.price);
        } else if constexpr (std::is_same_v<T, DepositEvent> || std::is_same_v<T, WithdrawEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "asset", b.asset, sym);
          put_num(out, "amount", b.amount);
        } else if constexpr (std::is_same_v<T, TradeEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "market", b.market, sym);
          put_field(out, "side", json_quote(side_name(b.side)));
          put_num(out, "qty", b.qty);
          put_num(out, "price", b.price);
          if (b.has_margin) put_field(out, "margin", json_quote(margin_mode_name(b.margin)));
          if (b.has_isolated_margin) put_num(out, "isolated_margin", b.isolated_margin);
          if (b.counterparty != kNoSym) put_sym(out, "counterparty", b.counterparty, sym);
        } else if constexpr (std::is_same_v<T, FundingEvent>) {
          put_sym(out, "market", b.market, sym);
          put_num(out, "rate", b.rate);
        } else if constexpr (std::is_same_v<T, ParamEvent>) {
          put_field(out, "path", json_quote(b.path));
          put_field(out, "value", b.value_json);
        } else if constexpr (std::is_same_v<T, LiquidityEvent>) {
          put_sym(out, "market", b.market, sym);
          put_num(out, "depth", b.depth);
        }
      },
      e.body);
  out.push_back('}');
  return out;
}

std::string encode_derived(const DerivedEvent& e, const Symbols& sym) {
  std::string out = "{\"type\":";
  out += json_quote(derived_type_name(e.body));
  put_field(out, "ts", std::to_string(e.ts_ms));
  put_field(out, "seq", std::to_string(e.seq));
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RejectedEvent>) {
          put_field(out, "reason", json_quote(b.reason));
        } else if constexpr (std::is_same_v<T, MarginCallEvent>) {
          put_sym(out, "account", b.account, sym);
          put_num(out, "margin_ratio", b.margin_ratio);
          if (b.market != kNoSym) put_sym(out, "market", b.market, sym);
        } else if constexpr (std::is_same_v<T, LiquidationEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "market", b.market, sym);
          put_field(out, "side", json_quote(side_name(b.side)));
          put_num(out, "qty", b.qty);
          put_num(out, "price", b.price);
          put_num(out, "fee", b.fee);
          put_field(out, "margin", json_quote(margin_mode_name(b.margin)));
          put_num(out, "mark", b.mark);
          put_field(out, "round", std::to_string(b.round));
        } else if constexpr (std::is_same_v<T, BankruptcyEvent>) {
          put_sym(out, "account", b.account, sym);
          put_num(out, "deficit", b.deficit);
          if (b.market != kNoSym) put_sym(out, "market", b.market, sym);
        } else if constexpr (std::is_same_v<T, InsuranceEvent>) {
          put_num(out, "amount", b.amount);
          put_num(out, "balance", b.balance);
        } else if constexpr (std::is_same_v<T, AdlEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "counterparty", b.counterparty, sym);
          put_sym(out, "market", b.market, sym);
          put_num(out, "qty", b.qty);
          put_num(out, "price", b.price);
          put_num(out, "amount", b.amount);
        } else if constexpr (std::is_same_v<T, SocializedLossEvent>) {
          put_num(out, "amount", b.amount);
        } else if constexpr (std::is_same_v<T, CollateralSaleEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "asset", b.asset, sym);
          put_num(out, "amount", b.amount);
          put_num(out, "price", b.price);
          put_num(out, "proceeds", b.proceeds);
        }
      },
      e.body);
  out.push_back('}');
  return out;
}

JsonlEventReader::JsonlEventReader(std::istream& in, std::string file_name, Symbols& symbols)
    : in_(in), file_(std::move(file_name)), symbols_(symbols) {}

Result<bool> JsonlEventReader::next(InputEvent& out) {
  for (;;) {
    buf_.clear();
    // Read one line without letting a hostile file grow the buffer unbounded.
    int c;
    bool any = false;
    std::streambuf* sb = in_.rdbuf();
    while ((c = sb->sbumpc()) != std::char_traits<char>::eof()) {
      any = true;
      if (c == '\n') break;
      if (buf_.size() >= limits::kMaxLineBytes) {
        Error e = make_error(ErrorKind::input, "line longer than 1 MiB");
        e.file = file_;
        e.line = line_ + 1;
        return e;
      }
      buf_.push_back(static_cast<char>(c));
    }
    if (!any) return false;
    ++line_;
    if (!buf_.empty() && buf_.back() == '\r') buf_.pop_back();
    if (buf_.find_first_not_of(" \t") == std::string::npos) continue;
    auto ev = decode_event_line(buf_, symbols_);
    if (!ev) {
      Error e = ev.error();
      e.file = file_;
      e.line = line_;
      return e;
    }
    if (ev->ts_ms < last_ts_) {
      Error e = make_error(
          ErrorKind::input,
          "goes backwards: " + std::to_string(ev->ts_ms) + " after " + std::to_string(last_ts_), "ts");
      e.file = file_;
      e.line = line_;
      return e;
    }
    if (static_cast<std::uint64_t>(seq_) >= limits::kMaxEvents) {
      Error e = make_error(ErrorKind::input, "more than 2^32 events in one log");
      e.file = file_;
      e.line = line_;
      return e;
    }
    last_ts_ = ev->ts_ms;
    ++seq_;
    out = std::move(*ev);
    return true;
  }
}

namespace {

// A read-only stream buffer over a file that hashes every byte it hands out,
// so the checksum is of the bytes decoded, taken in the same pass.
class HashingFileBuf final : public std::streambuf {
 public:
  HashingFileBuf(std::filebuf& file, Sha256* hash) : file_(file), hash_(hash) {}

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    std::streamsize n = file_.sgetn(buf_, sizeof buf_);
    if (n <= 0) return traits_type::eof();
    if (hash_) hash_->update(buf_, static_cast<std::size_t>(n));
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::filebuf& file_;
  Sha256* hash_;
  char buf_[1 << 16];
};

}  // namespace

// TEMPORARY (replaced by the block reader): JsonlFileReader over the streambuf path.
class HashingFileBuf2 final : public std::streambuf {
 public:
  explicit HashingFileBuf2(std::filebuf& file) : file_(file) {}
  Sha256* hash = nullptr;
  std::int64_t read = 0;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    std::streamsize n = file_.sgetn(buf_, sizeof buf_);
    if (n <= 0) return traits_type::eof();
    if (hash) hash->update(buf_, static_cast<std::size_t>(n));
    read += n;
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::filebuf& file_;
  char buf_[1 << 16];
};

struct JsonlFileReader::State {
  State(const std::string& path, Symbols& symbols) : hashing(file), in(&hashing), reader(in, path, symbols) {}
  std::filebuf file;
  HashingFileBuf2 hashing;
  std::istream in;
  JsonlEventReader reader;
  std::int64_t size = 0;
  std::int64_t line = 0;
};

Result<JsonlFileReader> JsonlFileReader::open(const std::string& path, Symbols& symbols) {
  auto st = std::make_unique<State>(path, symbols);
  if (!st->file.open(path, std::ios::in | std::ios::binary))
    return make_file_error(ErrorKind::io, path, "cannot open for reading");
  st->size = static_cast<std::int64_t>(st->file.pubseekoff(0, std::ios::end));
  st->file.pubseekoff(0, std::ios::beg);
  return JsonlFileReader(std::move(st));
}
JsonlFileReader::JsonlFileReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
JsonlFileReader::JsonlFileReader(JsonlFileReader&&) noexcept = default;
JsonlFileReader& JsonlFileReader::operator=(JsonlFileReader&&) noexcept = default;
JsonlFileReader::~JsonlFileReader() = default;
void JsonlFileReader::hash_into(Sha256* hash) { state_->hashing.hash = hash; }
Result<bool> JsonlFileReader::next(InputEvent& out) {
  auto r = state_->reader.next(out);
  if (r && *r) state_->line = state_->reader.line();
  return r;
}
std::int64_t JsonlFileReader::line() const { return state_->line; }
std::int64_t JsonlFileReader::seq() const { return state_->reader.seq(); }
std::int64_t JsonlFileReader::bytes_read() const { return state_->hashing.read; }
std::int64_t JsonlFileReader::file_size() const { return state_->size; }

Result<std::vector<InputEvent>> read_jsonl_file(const std::string& path, Symbols& symbols,
                                                std::string* sha256_hex) {
  std::filebuf file;
  if (!file.open(path, std::ios::in | std::ios::binary)) {
    return make_file_error(ErrorKind::io, path, "cannot open for reading");
  }
  Sha256 hash;
  HashingFileBuf hashing(file, sha256_hex ? &hash : nullptr);
  std::istream in(&hashing);
  JsonlEventReader reader(in, path, symbols);
  std::vector<InputEvent> events;
  InputEvent ev;
  for (;;) {
    auto more = reader.next(ev);
    if (!more) return more.error();
    if (!*more) break;
    events.push_back(std::move(ev));
  }
  if (in.bad()) return make_file_error(ErrorKind::io, path, "read failed");
  if (sha256_hex) *sha256_hex = hash.hex();
  return events;
}

}  // namespace liqsim
