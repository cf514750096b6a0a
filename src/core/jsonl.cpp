#include "liqsim/jsonl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <streambuf>
#include <utility>

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

namespace detail {

Result<InputEvent> decode_event_line_generic(std::string_view line, Symbols& symbols) {
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

}  // namespace detail

namespace {

// ---- the fixed-schema fast path ----

// A cursor over a line expected in canonical form. Every step either
// consumes what it expects or reports false, and the caller gives up on the
// line (the general decoder then reads it, errors included).
class Canonical {
 public:
  explicit Canonical(std::string_view line) : p_(line.data()), end_(line.data() + line.size()) {}

  // Exactly TEXT (a literal) next.
  template <std::size_t N>
  bool literal(const char (&text)[N]) {
    constexpr std::size_t n = N - 1;
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    for (std::size_t i = 0; i < n; ++i)  // unrolled: N is known (memcmp would be a call)
      if (p_[i] != text[i]) return false;
    p_ += n;
    return true;
  }
  // A string's contents, its opening quote already consumed, through its
  // closing quote: printable ASCII (0x20..0x7e) only, no escape.
  bool string_body(std::string_view& out) {
    const char* begin = p_;
    for (; p_ < end_; ++p_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
        ++p_;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
    }
    return false;
  }
  // An unsigned integer of at most 15 digits, no leading zero but "0"
  // itself, not followed by another digit.
  bool timestamp(std::int64_t& out) {
    const char* begin = p_;
    std::int64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - begin == 15) return false;
      v = v * 10 + (*p_ - '0');
      ++p_;
    }
    const std::ptrdiff_t n = p_ - begin;
    if (n == 0 || (n > 1 && *begin == '0')) return false;
    out = v;
    return true;
  }
  bool at_end() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

// A name's contents after its key and opening quote: non-empty, at most
// limits::kMaxNameBytes bytes.
bool fast_name(Canonical& c, std::string_view& out) {
  return c.string_body(out) && !out.empty() && out.size() <= limits::kMaxNameBytes;
}

// The usual decimal text — an optional '-', 1 to 10 integer digits, then
// optionally '.' and 1 to 8 fractional digits — as a raw 1e-8 count, read
// directly: in that form parse_decimal_raw gives the same value and cannot
// overflow (below 1e18). false for any other text (the caller asks
// parse_decimal_raw, which accepts more and words the errors).
bool plain_decimal_raw(std::string_view text, std::int64_t& raw) {
  static constexpr std::uint64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
  const char* p = text.data();
  const char* const end = p + text.size();
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  const char* begin = p;
  std::uint64_t whole = 0;
  for (; p < end && *p >= '0' && *p <= '9' && p - begin < 11; ++p) whole = whole * 10 + (*p - '0');
  const std::ptrdiff_t whole_digits = p - begin;
  if (whole_digits == 0 || whole_digits > 10) return false;
  std::uint64_t fraction = 0;
  std::ptrdiff_t fraction_digits = 0;
  if (p < end && *p == '.') {
    begin = ++p;
    for (; p < end && *p >= '0' && *p <= '9' && p - begin < 9; ++p) fraction = fraction * 10 + (*p - '0');
    fraction_digits = p - begin;
    if (fraction_digits == 0 || fraction_digits > 8) return false;
  }
  if (p != end) return false;
  const std::uint64_t magnitude = whole * kPow10[8] + fraction * kPow10[8 - fraction_digits];
  raw = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
  return true;
}

// A decimal string's value after its key and opening quote, with the sign
// rule of read_number.
template <class T>
bool fast_number(Canonical& c, Sign sign, T& out) {
  std::string_view text;
  if (!c.string_body(text)) return false;
  std::int64_t raw = 0;
  if (!plain_decimal_raw(text, raw)) {
    Result<std::int64_t> parsed = parse_decimal_raw(text);
    if (!parsed) return false;
    raw = *parsed;
  }
  if (sign == Sign::positive && raw <= 0) return false;
  if (sign == Sign::non_negative && raw < 0) return false;
  out = T::from_raw(raw);
  return true;
}

// The fields after "ts" of each type, then the closing brace. Names are
// interned only once the whole line is known good, in the order the general
// decoder interns them, so a line given up on leaves the table untouched.
bool fast_price(Canonical& c, Symbols& symbols, EventBody& body) {
  PriceEvent e;
  std::string_view asset;
  if (!c.literal(R"(,"asset":")") || !fast_name(c, asset) || !c.literal(R"(,"price":")") ||
      !fast_number(c, Sign::positive, e.price) || !c.literal("}") || !c.at_end())
    return false;
  e.asset = symbols.intern(asset);
  body = e;
  return true;
}

template <class T>
bool fast_deposit(Canonical& c, Symbols& symbols, EventBody& body) {
  T e;
  std::string_view account, asset;
  if (!c.literal(R"(,"account":")") || !fast_name(c, account) || !c.literal(R"(,"asset":")") ||
      !fast_name(c, asset) || !c.literal(R"(,"amount":")") || !fast_number(c, Sign::positive, e.amount) ||
      !c.literal("}") || !c.at_end())
    return false;
  e.account = symbols.intern(account);
  e.asset = symbols.intern(asset);
  body = e;
  return true;
}

bool fast_trade(Canonical& c, Symbols& symbols, EventBody& body) {
  TradeEvent e;
  std::string_view account, market, counterparty;
  if (!c.literal(R"(,"account":")") || !fast_name(c, account) || !c.literal(R"(,"market":")") ||
      !fast_name(c, market) || !c.literal(R"(,"side":")"))
    return false;
  if (c.literal(R"(buy")"))
    e.side = Side::buy;
  else if (c.literal(R"(sell")"))
    e.side = Side::sell;
  else
    return false;
  if (!c.literal(R"(,"qty":")") || !fast_number(c, Sign::positive, e.qty) || !c.literal(R"(,"price":")") ||
      !fast_number(c, Sign::positive, e.price))
    return false;
  if (c.literal(R"(,"margin":")")) {
    if (c.literal(R"(cross")"))
      e.margin = MarginMode::cross;
    else if (c.literal(R"(isolated")"))
      e.margin = MarginMode::isolated;
    else
      return false;
    e.has_margin = true;
  }
  if (c.literal(R"(,"isolated_margin":")")) {
    if (e.margin != MarginMode::isolated || !fast_number(c, Sign::non_negative, e.isolated_margin))
      return false;
    e.has_isolated_margin = true;
  }
  const bool has_counterparty = c.literal(R"(,"counterparty":")");
  if (has_counterparty && (!fast_name(c, counterparty) || counterparty == account)) return false;
  if (!c.literal("}") || !c.at_end()) return false;
  e.account = symbols.intern(account);
  e.market = symbols.intern(market);
  if (has_counterparty) e.counterparty = symbols.intern(counterparty);
  body = e;
  return true;
}

bool fast_funding(Canonical& c, Symbols& symbols, EventBody& body) {
  FundingEvent e;
  std::string_view market;
  if (!c.literal(R"(,"market":")") || !fast_name(c, market) || !c.literal(R"(,"rate":")") ||
      !fast_number(c, Sign::any, e.rate) || !c.literal("}") || !c.at_end())
    return false;
  e.market = symbols.intern(market);
  body = e;
  return true;
}

bool fast_liquidity(Canonical& c, Symbols& symbols, EventBody& body) {
  LiquidityEvent e;
  std::string_view market;
  if (!c.literal(R"(,"market":")") || !fast_name(c, market) || !c.literal(R"(,"depth":")") ||
      !fast_number(c, Sign::positive, e.depth) || !c.literal("}") || !c.at_end())
    return false;
  e.market = symbols.intern(market);
  body = e;
  return true;
}

}  // namespace

namespace detail {

bool decode_event_line_fast(std::string_view line, Symbols& symbols, InputEvent& out) {
  Canonical c(line);
  if (!c.literal(R"({"type":")")) return false;
  // The type with its closing quote: any other (param, unknown) is not taken.
  bool (*body)(Canonical&, Symbols&, EventBody&) = nullptr;
  if (c.literal(R"(price")"))
    body = fast_price;
  else if (c.literal(R"(trade")"))
    body = fast_trade;
  else if (c.literal(R"(deposit")"))
    body = fast_deposit<DepositEvent>;
  else if (c.literal(R"(withdraw")"))
    body = fast_deposit<WithdrawEvent>;
  else if (c.literal(R"(funding")"))
    body = fast_funding;
  else if (c.literal(R"(liquidity")"))
    body = fast_liquidity;
  else
    return false;
  std::int64_t ts_ms = 0;
  if (!c.literal(R"(,"ts":)") || !c.timestamp(ts_ms) || !body(c, symbols, out.body)) return false;
  out.ts_ms = ts_ms;
  return true;
}

}  // namespace detail

Result<InputEvent> decode_event_line(std::string_view line, Symbols& symbols) {
  InputEvent ev;
  if (detail::decode_event_line_fast(line, symbols, ev)) return ev;
  return detail::decode_event_line_generic(line, symbols);
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
          if (b.margin_ratio)
            put_num(out, "margin_ratio", *b.margin_ratio);
          else
            put_field(out, "margin_ratio", "null");
          if (b.market != kNoSym) put_sym(out, "market", b.market, sym);
          put_num(out, "equity", b.equity);
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
        } else if constexpr (std::is_same_v<T, SocializedChargeEvent>) {
          put_sym(out, "account", b.account, sym);
          put_sym(out, "market", b.market, sym);
          put_num(out, "amount", b.amount);
        }
      },
      e.body);
  out.push_back('}');
  return out;
}

// ---- reading lines ----

namespace detail {

namespace {
// Blocks are read into free space of at least half this; the buffer starts
// at this size and grows (to hold a long line) up to a line's limit plus it.
constexpr std::size_t kBlockBytes = std::size_t{1} << 18;
constexpr std::size_t kMaxBufferBytes = limits::kMaxLineBytes + kBlockBytes;
}  // namespace

JsonlLines::JsonlLines(std::string file_name, Symbols& symbols)
    : file_(std::move(file_name)), symbols_(&symbols) {}

Error JsonlLines::at_line(Error e, std::int64_t line) const {
  e.file = file_;
  e.line = line;
  return e;
}

// Moves the unfinished line to the front, grows the buffer if the space
// after it is small, and reads one block after it.
Status JsonlLines::refill(Source& source) {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < kBlockBytes / 2) {
    // end_ <= kMaxLineBytes here (a longer line is refused before), so the
    // largest buffer always has a block's room.
    const std::size_t capacity = std::min(std::max(capacity_ * 2, kBlockBytes), kMaxBufferBytes);
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (end_ > 0) std::memcpy(grown.get(), buf_.get(), end_);
    buf_ = std::move(grown);
    capacity_ = capacity;
  }
  Result<std::size_t> n = source.read(buf_.get() + end_, capacity_ - end_);
  if (!n) return n.error();
  if (*n == 0)
    end_of_input_ = true;
  else
    end_ += *n;
  return {};
}

// The next line's content (without its '\n'), or false at end of input.
Result<bool> JsonlLines::next_line(Source& source, std::string_view& line) {
  for (;;) {
    const void* nl = scan_ < end_ ? std::memchr(buf_.get() + scan_, '\n', end_ - scan_) : nullptr;
    const std::size_t stop = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get()) : end_;
    // The byte after the first kMaxLineBytes of content is not a '\n'.
    if (stop - begin_ > limits::kMaxLineBytes)
      return at_line(make_error(ErrorKind::input, "line longer than 1 MiB"), line_ + 1);
    if (nl || (end_of_input_ && begin_ < end_)) {
      line = std::string_view(buf_.get() + begin_, stop - begin_);
      begin_ = scan_ = nl ? stop + 1 : stop;
      return true;
    }
    if (end_of_input_) return false;
    scan_ = end_;
    if (Status st = refill(source); !st) return st.error();
  }
}

Result<bool> JsonlLines::next(Source& source, InputEvent& out) {
  for (;;) {
    std::string_view text;
    Result<bool> got = next_line(source, text);
    if (!got) return got.error();
    if (!*got) return false;
    ++line_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    // decode_event_line, with the fast path decoding in place (no moves).
    if (!decode_event_line_fast(text, *symbols_, out)) {
      auto ev = decode_event_line_generic(text, *symbols_);
      if (!ev) return at_line(ev.error(), line_);
      out = std::move(*ev);
    }
    if (out.ts_ms < last_ts_)
      return at_line(
          make_error(ErrorKind::input,
                     "goes backwards: " + std::to_string(out.ts_ms) + " after " + std::to_string(last_ts_),
                     "ts"),
          line_);
    if (static_cast<std::uint64_t>(seq_) >= limits::kMaxEvents)
      return at_line(make_error(ErrorKind::input, "more than 2^32 events in one log"), line_);
    last_ts_ = out.ts_ms;
    ++seq_;
    return true;
  }
}

}  // namespace detail

namespace {

// An istream's buffer as a source: the reader owns the stream from here on.
class StreamSource final : public detail::JsonlLines::Source {
 public:
  explicit StreamSource(std::istream& in) : in_(in) {}
  Result<std::size_t> read(char* dst, std::size_t n) override {
    std::streambuf* sb = in_.rdbuf();
    if (!sb) return std::size_t{0};
    const std::streamsize got = sb->sgetn(dst, static_cast<std::streamsize>(n));
    return got > 0 ? static_cast<std::size_t>(got) : std::size_t{0};
  }

 private:
  std::istream& in_;
};

// A descriptor as a source, hashing and counting every byte read.
class DescriptorSource final : public detail::JsonlLines::Source {
 public:
  DescriptorSource(int fd, const std::string& path, Sha256* hash, std::int64_t& bytes_read)
      : fd_(fd), path_(path), hash_(hash), bytes_read_(bytes_read) {}
  Result<std::size_t> read(char* dst, std::size_t n) override {
    for (;;) {
      const ssize_t got = ::read(fd_, dst, n);
      if (got >= 0) {
        if (got > 0 && hash_) hash_->update(dst, static_cast<std::size_t>(got));
        bytes_read_ += got;
        return static_cast<std::size_t>(got);
      }
      if (errno != EINTR) return make_os_error(path_, "read failed", errno);
    }
  }

 private:
  int fd_;
  const std::string& path_;
  Sha256* hash_;
  std::int64_t& bytes_read_;
};

}  // namespace

JsonlEventReader::JsonlEventReader(std::istream& in, std::string file_name, Symbols& symbols)
    : in_(in), lines_(std::move(file_name), symbols) {}

Result<bool> JsonlEventReader::next(InputEvent& out) {
  StreamSource source(in_);
  return lines_.next(source, out);
}

JsonlFileReader::JsonlFileReader(int fd, const std::string& path, std::int64_t file_size, Symbols& symbols)
    : fd_(fd), path_(path), file_size_(file_size), lines_(path, symbols) {}

JsonlFileReader::JsonlFileReader(JsonlFileReader&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      hash_(other.hash_),
      bytes_read_(other.bytes_read_),
      file_size_(other.file_size_),
      lines_(std::move(other.lines_)) {}

JsonlFileReader& JsonlFileReader::operator=(JsonlFileReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    hash_ = other.hash_;
    bytes_read_ = other.bytes_read_;
    file_size_ = other.file_size_;
    lines_ = std::move(other.lines_);
  }
  return *this;
}

JsonlFileReader::~JsonlFileReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<JsonlFileReader> JsonlFileReader::open(const std::string& path, Symbols& symbols) {
  // O_NONBLOCK so that opening a FIFO does not wait for a writer; it changes
  // nothing for a regular file, and reads block again once it is cleared.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_os_error(path, "cannot open for reading", errno);
  if (int flags = ::fcntl(fd, F_GETFL); flags >= 0) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Error e = make_os_error(path, "cannot stat", errno);
    ::close(fd);
    return e;
  }
  return JsonlFileReader(fd, path, S_ISREG(st.st_mode) ? static_cast<std::int64_t>(st.st_size) : 0, symbols);
}

void JsonlFileReader::hash_into(Sha256* hash) { hash_ = hash; }

Result<bool> JsonlFileReader::next(InputEvent& out) {
  DescriptorSource source(fd_, path_, hash_, bytes_read_);
  return lines_.next(source, out);
}

Result<std::vector<InputEvent>> read_jsonl_file(const std::string& path, Symbols& symbols,
                                                std::string* sha256_hex) {
  auto reader = JsonlFileReader::open(path, symbols);
  if (!reader) return reader.error();
  Sha256 hash;
  if (sha256_hex) reader->hash_into(&hash);
  std::vector<InputEvent> events;
  // No line that decodes is shorter than 44 bytes plus its '\n' (a param:
  // {"type":"param","ts":0,"path":"a","value":0}), so this many events is an
  // upper bound: the vector is never moved as it grows, and the pages
  // reserved past the last event are never touched.
  constexpr std::int64_t kMinLineBytes = 45;
  events.reserve(static_cast<std::size_t>(std::min<std::int64_t>(
      reader->file_size() / kMinLineBytes + 1, static_cast<std::int64_t>(limits::kMaxEvents))));
  InputEvent ev;
  for (;;) {
    auto more = reader->next(ev);
    if (!more) return more.error();
    if (!*more) break;
    events.push_back(std::move(ev));
  }
  if (sha256_hex) *sha256_hex = hash.hex();
  return events;
}

}  // namespace liqsim
