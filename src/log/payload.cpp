// The record payload: one InputEvent, little-endian, byte by byte
// (events/FORMAT.md, "Payload"). The decoder enforces exactly the rules of the
// JSONL decoder so that both formats accept the same events.
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "liqsim/json.hpp"
#include "liqsim/log.hpp"

namespace liqsim {

namespace {

using logfmt::EventCode;

Error rule_error(ErrorKind kind, std::string message, std::string field) {
  return make_error(kind, std::move(message), std::move(field));
}

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), the
// same strings a JSON parser accepts.
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c == 0xe0) n = 2, lo = 0xa0;
    else if (c >= 0xe1 && c <= 0xec) n = 2;
    else if (c == 0xed) n = 2, hi = 0x9f;
    else if (c >= 0xee && c <= 0xef) n = 2;
    else if (c == 0xf0) n = 3, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else if (c == 0xf4) n = 3, hi = 0x8f;
    else return false;
    if (static_cast<std::size_t>(end - p) < n + 1) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k <= n; ++k)
      if (p[k] < 0x80 || p[k] > 0xbf) return false;
    p += n + 1;
  }
  return true;
}

Status check_ts(std::int64_t ts, ErrorKind kind) {
  if (ts < logfmt::kMinTsMs || ts > logfmt::kMaxTsMs)
    return rule_error(kind, "outside the supported range (0.." + std::to_string(logfmt::kMaxTsMs) + " ms), got " +
                                std::to_string(ts),
                      "ts");
  return {};
}

Status check_name(std::string_view name, const char* field, ErrorKind kind) {
  if (name.empty()) return rule_error(kind, "must not be empty", field);
  if (name.size() > limits::kMaxNameBytes) return rule_error(kind, "longer than 256 bytes", field);
  if (!valid_utf8(name)) return rule_error(kind, "not valid UTF-8", field);
  return {};
}

enum class Sign : std::uint8_t { any, positive, non_negative };

Status check_number(std::int64_t raw, Sign sign, const char* field, ErrorKind kind) {
  if (sign == Sign::positive && raw <= 0)
    return rule_error(kind, "must be positive, got " + format_decimal_raw(raw), field);
  if (sign == Sign::non_negative && raw < 0)
    return rule_error(kind, "must not be negative, got " + format_decimal_raw(raw), field);
  return {};
}

Status check_param(std::string_view path, std::string_view value, ErrorKind kind) {
  if (path.empty()) return rule_error(kind, "expected a non-empty string", "path");
  if (!valid_utf8(path)) return rule_error(kind, "not valid UTF-8", "path");
  if (value.size() > limits::kMaxParamBytes) return rule_error(kind, "longer than 64 KiB", "value");
  auto doc = parse_json(value);
  if (!doc) return rule_error(kind, "not valid JSON: " + doc.error().message, "value");
  if (doc->dump() != value) return rule_error(kind, "not in canonical compact JSON form", "value");
  return {};
}

Status check_trade_options(bool has_margin, bool isolated, bool has_isolated_margin, ErrorKind kind) {
  if (isolated && !has_margin) return rule_error(kind, "isolated margin without a margin field", "margin");
  if (has_isolated_margin && !isolated)
    return rule_error(kind, "only allowed with \"margin\": \"isolated\"", "isolated_margin");
  return {};
}

// ---- decoding ----

class Cursor {
 public:
  explicit Cursor(std::string_view bytes)
      : p_(reinterpret_cast<const std::uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = *p_++;
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return false;
    v = detail::load_u16(p_);
    p_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (left() < 4) return false;
    v = detail::load_u32(p_);
    p_ += 4;
    return true;
  }
  bool i64(std::int64_t& v) {
    if (left() < 8) return false;
    v = static_cast<std::int64_t>(detail::load_u64(p_));
    p_ += 8;
    return true;
  }
  bool bytes(std::size_t n, std::string_view& v) {
    if (left() < n) return false;
    v = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

constexpr ErrorKind kCorrupt = ErrorKind::corrupt;

Error truncated(const char* field) {
  return rule_error(kCorrupt, "payload ends before this field", field);
}

struct Decoder {
  Cursor in;
  detail::InternFn intern;
  void* context;

  Status name(const char* field, Sym& out) {
    std::uint16_t n = 0;
    std::string_view s;
    if (!in.u16(n) || !in.bytes(n, s)) return truncated(field);
    Status st = check_name(s, field, kCorrupt);
    if (!st) return st;
    out = intern(context, s);
    return {};
  }
  template <class T>
  Status number(const char* field, Sign sign, T& out) {
    std::int64_t raw = 0;
    if (!in.i64(raw)) return truncated(field);
    Status st = check_number(raw, sign, field, kCorrupt);
    if (!st) return st;
    out = T::from_raw(raw);
    return {};
  }
  Status string32(const char* field, std::string_view& out) {
    std::uint32_t n = 0;
    if (!in.u32(n) || !in.bytes(n, out)) return truncated(field);
    return {};
  }
};

#define LIQSIM_LOG_TRY(expr)      \
  do {                            \
    Status st_ = (expr);          \
    if (!st_) return st_;         \
  } while (0)

Status decode_trade(Decoder& d, InputEvent& out) {
  TradeEvent e;
  LIQSIM_LOG_TRY(d.name("account", e.account));
  LIQSIM_LOG_TRY(d.name("market", e.market));
  std::uint8_t side = 0;
  if (!d.in.u8(side)) return truncated("side");
  if (side > 1) return rule_error(kCorrupt, "expected 0 (buy) or 1 (sell), got " + std::to_string(side), "side");
  e.side = side == 0 ? Side::buy : Side::sell;
  LIQSIM_LOG_TRY(d.number("qty", Sign::positive, e.qty));
  LIQSIM_LOG_TRY(d.number("price", Sign::positive, e.price));
  std::uint8_t flags = 0;
  if (!d.in.u8(flags)) return truncated("flags");
  if (flags & ~logfmt::kTradeKnownFlags)
    return rule_error(kCorrupt, "unknown trade flag bits " + std::to_string(flags & ~logfmt::kTradeKnownFlags), "flags");
  e.has_margin = (flags & logfmt::kTradeHasMargin) != 0;
  bool isolated = (flags & logfmt::kTradeIsolated) != 0;
  e.margin = isolated ? MarginMode::isolated : MarginMode::cross;
  e.has_isolated_margin = (flags & logfmt::kTradeHasIsolatedMargin) != 0;
  LIQSIM_LOG_TRY(check_trade_options(e.has_margin, isolated, e.has_isolated_margin, kCorrupt));
  if (e.has_isolated_margin) LIQSIM_LOG_TRY(d.number("isolated_margin", Sign::non_negative, e.isolated_margin));
  if (flags & logfmt::kTradeHasCounterparty) {
    LIQSIM_LOG_TRY(d.name("counterparty", e.counterparty));
    if (e.counterparty == e.account) return rule_error(kCorrupt, "must differ from account", "counterparty");
  }
  out.body = e;
  return {};
}

Status decode_param(Decoder& d, InputEvent& out) {
  std::string_view path, value;
  LIQSIM_LOG_TRY(d.string32("path", path));
  LIQSIM_LOG_TRY(d.string32("value", value));
  LIQSIM_LOG_TRY(check_param(path, value, kCorrupt));
  ParamEvent* p = std::get_if<ParamEvent>(&out.body);
  if (!p) p = &out.body.emplace<ParamEvent>();
  p->path.assign(path);
  p->value_json.assign(value);
  return {};
}

Sym intern_direct(void* context, std::string_view name) { return static_cast<Symbols*>(context)->intern(name); }

}  // namespace

Status detail::decode_record_payload_with(std::string_view payload, InternFn intern, void* context,
                                          InputEvent& out) {
  Decoder d{Cursor(payload), intern, context};
  std::int64_t ts = 0;
  if (!d.in.i64(ts)) return truncated("ts");
  LIQSIM_LOG_TRY(check_ts(ts, kCorrupt));
  out.ts_ms = ts;
  std::uint8_t code = 0;
  if (!d.in.u8(code)) return truncated("type");
  switch (static_cast<EventCode>(code)) {
    case EventCode::price: {
      PriceEvent e;
      LIQSIM_LOG_TRY(d.name("asset", e.asset));
      LIQSIM_LOG_TRY(d.number("price", Sign::positive, e.price));
      out.body = e;
      break;
    }
    case EventCode::deposit:
    case EventCode::withdraw: {
      DepositEvent e;
      LIQSIM_LOG_TRY(d.name("account", e.account));
      LIQSIM_LOG_TRY(d.name("asset", e.asset));
      LIQSIM_LOG_TRY(d.number("amount", Sign::positive, e.amount));
      if (static_cast<EventCode>(code) == EventCode::deposit) out.body = e;
      else out.body = WithdrawEvent{e.account, e.asset, e.amount};
      break;
    }
    case EventCode::trade: LIQSIM_LOG_TRY(decode_trade(d, out)); break;
    case EventCode::funding: {
      FundingEvent e;
      LIQSIM_LOG_TRY(d.name("market", e.market));
      LIQSIM_LOG_TRY(d.number("rate", Sign::any, e.rate));
      out.body = e;
      break;
    }
    case EventCode::param: LIQSIM_LOG_TRY(decode_param(d, out)); break;
    case EventCode::liquidity: {
      LiquidityEvent e;
      LIQSIM_LOG_TRY(d.name("market", e.market));
      LIQSIM_LOG_TRY(d.number("depth", Sign::positive, e.depth));
      out.body = e;
      break;
    }
    default:
      return rule_error(kCorrupt, "unknown event code " + std::to_string(code) + " (expected 1..7)", "type");
  }
  if (d.in.left() != 0)
    return rule_error(kCorrupt, std::to_string(d.in.left()) + " unexpected bytes after the event", "");
  return {};
}

Status decode_record_payload(std::string_view payload, Symbols& symbols, InputEvent& out) {
  return detail::decode_record_payload_with(payload, &intern_direct, &symbols, out);
}

// ---- validation of events built in memory (the writer's side) ----

namespace {

constexpr ErrorKind kInput = ErrorKind::input;

Status check_sym(Sym s, const Symbols& symbols, const char* field) {
  if (s == kNoSym || s >= symbols.size()) return rule_error(kInput, "no such symbol", field);
  return check_name(symbols.name(s), field, kInput);
}

}  // namespace

Status validate_event(const InputEvent& e, const Symbols& symbols) {
  LIQSIM_LOG_TRY(check_ts(e.ts_ms, kInput));
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PriceEvent>) {
          LIQSIM_LOG_TRY(check_sym(b.asset, symbols, "asset"));
          return check_number(b.price.raw(), Sign::positive, "price", kInput);
        } else if constexpr (std::is_same_v<T, DepositEvent> || std::is_same_v<T, WithdrawEvent>) {
          LIQSIM_LOG_TRY(check_sym(b.account, symbols, "account"));
          LIQSIM_LOG_TRY(check_sym(b.asset, symbols, "asset"));
          return check_number(b.amount.raw(), Sign::positive, "amount", kInput);
        } else if constexpr (std::is_same_v<T, TradeEvent>) {
          LIQSIM_LOG_TRY(check_sym(b.account, symbols, "account"));
          LIQSIM_LOG_TRY(check_sym(b.market, symbols, "market"));
          if (b.side != Side::buy && b.side != Side::sell) return rule_error(kInput, "not buy or sell", "side");
          if (b.margin != MarginMode::cross && b.margin != MarginMode::isolated)
            return rule_error(kInput, "not cross or isolated", "margin");
          LIQSIM_LOG_TRY(check_number(b.qty.raw(), Sign::positive, "qty", kInput));
          LIQSIM_LOG_TRY(check_number(b.price.raw(), Sign::positive, "price", kInput));
          LIQSIM_LOG_TRY(check_trade_options(b.has_margin, b.margin == MarginMode::isolated, b.has_isolated_margin, kInput));
          if (b.has_isolated_margin)
            LIQSIM_LOG_TRY(check_number(b.isolated_margin.raw(), Sign::non_negative, "isolated_margin", kInput));
          if (b.counterparty != kNoSym) {
            LIQSIM_LOG_TRY(check_sym(b.counterparty, symbols, "counterparty"));
            if (b.counterparty == b.account) return rule_error(kInput, "must differ from account", "counterparty");
          }
          return {};
        } else if constexpr (std::is_same_v<T, FundingEvent>) {
          return check_sym(b.market, symbols, "market");
        } else if constexpr (std::is_same_v<T, ParamEvent>) {
          return check_param(b.path, b.value_json, kInput);
        } else {
          static_assert(std::is_same_v<T, LiquidityEvent>);
          LIQSIM_LOG_TRY(check_sym(b.market, symbols, "market"));
          return check_number(b.depth.raw(), Sign::positive, "depth", kInput);
        }
      },
      e.body);
}

// ---- encoding ----

namespace {

void put_name(std::string& out, Sym s, const Symbols& symbols) {
  const std::string& n = symbols.name(s);
  LIQSIM_ASSERT(n.size() <= limits::kMaxNameBytes, "symbol name longer than the log format allows");
  detail::put_u16(out, static_cast<std::uint16_t>(n.size()));
  out += n;
}
void put_raw(std::string& out, std::int64_t raw) { detail::put_u64(out, static_cast<std::uint64_t>(raw)); }
void put_string32(std::string& out, const std::string& s) {
  LIQSIM_ASSERT(s.size() <= logfmt::kMaxRecordPayloadBytes, "string longer than a record");
  detail::put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

}  // namespace

void append_record_payload(const InputEvent& e, const Symbols& symbols, std::string& out) {
  put_raw(out, e.ts_ms);
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PriceEvent>) {
          detail::put_u8(out, static_cast<std::uint8_t>(EventCode::price));
          put_name(out, b.asset, symbols);
          put_raw(out, b.price.raw());
        } else if constexpr (std::is_same_v<T, DepositEvent> || std::is_same_v<T, WithdrawEvent>) {
          EventCode code = std::is_same_v<T, DepositEvent> ? EventCode::deposit : EventCode::withdraw;
          detail::put_u8(out, static_cast<std::uint8_t>(code));
          put_name(out, b.account, symbols);
          put_name(out, b.asset, symbols);
          put_raw(out, b.amount.raw());
        } else if constexpr (std::is_same_v<T, TradeEvent>) {
          detail::put_u8(out, static_cast<std::uint8_t>(EventCode::trade));
          put_name(out, b.account, symbols);
          put_name(out, b.market, symbols);
          detail::put_u8(out, b.side == Side::buy ? 0 : 1);
          put_raw(out, b.qty.raw());
          put_raw(out, b.price.raw());
          std::uint8_t flags = 0;
          if (b.has_margin) flags |= logfmt::kTradeHasMargin;
          if (b.margin == MarginMode::isolated) flags |= logfmt::kTradeIsolated;
          if (b.has_isolated_margin) flags |= logfmt::kTradeHasIsolatedMargin;
          if (b.counterparty != kNoSym) flags |= logfmt::kTradeHasCounterparty;
          detail::put_u8(out, flags);
          if (b.has_isolated_margin) put_raw(out, b.isolated_margin.raw());
          if (b.counterparty != kNoSym) put_name(out, b.counterparty, symbols);
        } else if constexpr (std::is_same_v<T, FundingEvent>) {
          detail::put_u8(out, static_cast<std::uint8_t>(EventCode::funding));
          put_name(out, b.market, symbols);
          put_raw(out, b.rate.raw());
        } else if constexpr (std::is_same_v<T, ParamEvent>) {
          detail::put_u8(out, static_cast<std::uint8_t>(EventCode::param));
          put_string32(out, b.path);
          put_string32(out, b.value_json);
        } else {
          static_assert(std::is_same_v<T, LiquidityEvent>);
          detail::put_u8(out, static_cast<std::uint8_t>(EventCode::liquidity));
          put_name(out, b.market, symbols);
          put_raw(out, b.depth.raw());
        }
      },
      e.body);
}

std::string encode_record_payload(const InputEvent& e, const Symbols& symbols) {
  std::string out;
  append_record_payload(e, symbols, out);
  return out;
}

}  // namespace liqsim
