// The record payload: one InputEvent, little-endian, byte by byte
// (events/FORMAT.md, "Payload"). The decoder enforces exactly the rules of the
// JSONL decoder so that both formats accept the same events.
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "liqsim/event_rules.hpp"
#include "liqsim/log.hpp"

namespace liqsim {

// The binary format's ts range is the JSONL decoder's (event_rules::check_ts).
static_assert(logfmt::kMinTsMs == 0 && logfmt::kMaxTsMs == limits::kMaxTimestampMs);

namespace {

using logfmt::EventCode;
using namespace event_rules;

Error rule_error(ErrorKind kind, std::string message, std::string field) {
  return make_error(kind, std::move(message), std::move(field));
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

Error truncated(const char* field) { return rule_error(kCorrupt, "payload ends before this field", field); }

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

#define LIQSIM_LOG_TRY(expr) \
  do {                       \
    Status st_ = (expr);     \
    if (!st_) return st_;    \
  } while (0)

Status decode_trade(Decoder& d, InputEvent& out) {
  TradeEvent e;
  LIQSIM_LOG_TRY(d.name("account", e.account));
  LIQSIM_LOG_TRY(d.name("market", e.market));
  std::uint8_t side = 0;
  if (!d.in.u8(side)) return truncated("side");
  if (side > 1)
    return rule_error(kCorrupt, "expected 0 (buy) or 1 (sell), got " + std::to_string(side), "side");
  e.side = side == 0 ? Side::buy : Side::sell;
  LIQSIM_LOG_TRY(d.number("qty", Sign::positive, e.qty));
  LIQSIM_LOG_TRY(d.number("price", Sign::positive, e.price));
  std::uint8_t flags = 0;
  if (!d.in.u8(flags)) return truncated("flags");
  if (flags & ~logfmt::kTradeKnownFlags)
    return rule_error(
        kCorrupt, "unknown trade flag bits " + std::to_string(flags & ~logfmt::kTradeKnownFlags), "flags");
  e.has_margin = (flags & logfmt::kTradeHasMargin) != 0;
  bool isolated = (flags & logfmt::kTradeIsolated) != 0;
  e.margin = isolated ? MarginMode::isolated : MarginMode::cross;
  e.has_isolated_margin = (flags & logfmt::kTradeHasIsolatedMargin) != 0;
  LIQSIM_LOG_TRY(check_trade_options(e.has_margin, isolated, e.has_isolated_margin, kCorrupt));
  if (e.has_isolated_margin)
    LIQSIM_LOG_TRY(d.number("isolated_margin", Sign::non_negative, e.isolated_margin));
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

Sym intern_direct(void* context, std::string_view name) {
  return static_cast<Symbols*>(context)->intern(name);
}

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
      if (static_cast<EventCode>(code) == EventCode::deposit)
        out.body = e;
      else
        out.body = WithdrawEvent{e.account, e.asset, e.amount};
      break;
    }
    case EventCode::trade:
      LIQSIM_LOG_TRY(decode_trade(d, out));
      break;
    case EventCode::funding: {
      FundingEvent e;
      LIQSIM_LOG_TRY(d.name("market", e.market));
      LIQSIM_LOG_TRY(d.number("rate", Sign::any, e.rate));
      out.body = e;
      break;
    }
    case EventCode::param:
      LIQSIM_LOG_TRY(decode_param(d, out));
      break;
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
