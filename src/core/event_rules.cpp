// event_rules.cpp — the per-event rules of every encoding (see event_rules.hpp).
// Moved here from src/log/payload.cpp so that the importers' name checks do
// not reach into the log module.
#include "liqsim/event_rules.hpp"

#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "liqsim/fixed.hpp"
#include "liqsim/json.hpp"
#include "liqsim/jsonl.hpp"

#define LIQSIM_RULES_TRY(expr) \
  do {                         \
    Status st_ = (expr);       \
    if (!st_) return st_;      \
  } while (0)

namespace liqsim {

namespace {

Error rule_error(ErrorKind kind, std::string message, std::string field) {
  return make_error(kind, std::move(message), std::move(field));
}

}  // namespace

namespace event_rules {

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
    if (c >= 0xc2 && c <= 0xdf)
      n = 1;
    else if (c == 0xe0)
      n = 2, lo = 0xa0;
    else if (c >= 0xe1 && c <= 0xec)
      n = 2;
    else if (c == 0xed)
      n = 2, hi = 0x9f;
    else if (c >= 0xee && c <= 0xef)
      n = 2;
    else if (c == 0xf0)
      n = 3, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3)
      n = 3;
    else if (c == 0xf4)
      n = 3, hi = 0x8f;
    else
      return false;
    if (static_cast<std::size_t>(end - p) < n + 1) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k <= n; ++k)
      if (p[k] < 0x80 || p[k] > 0xbf) return false;
    p += n + 1;
  }
  return true;
}

Status check_ts(std::int64_t ts, ErrorKind kind) {
  if (ts < 0 || ts > limits::kMaxTimestampMs)
    return rule_error(kind,
                      "outside the supported range (0.." + std::to_string(limits::kMaxTimestampMs) +
                          " ms), got " + std::to_string(ts),
                      "ts");
  return {};
}

Status check_name(std::string_view name, const char* field, ErrorKind kind) {
  if (name.empty()) return rule_error(kind, "must not be empty", field);
  if (name.size() > limits::kMaxNameBytes) return rule_error(kind, "longer than 256 bytes", field);
  if (!valid_utf8(name)) return rule_error(kind, "not valid UTF-8", field);
  return {};
}

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

}  // namespace event_rules

using namespace event_rules;

namespace {

constexpr ErrorKind kInput = ErrorKind::input;

Status check_sym(Sym s, const Symbols& symbols, const char* field) {
  if (s == kNoSym || s >= symbols.size()) return rule_error(kInput, "no such symbol", field);
  return check_name(symbols.name(s), field, kInput);
}

}  // namespace

Status validate_event(const InputEvent& e, const Symbols& symbols) {
  LIQSIM_RULES_TRY(check_ts(e.ts_ms, kInput));
  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, PriceEvent>) {
          LIQSIM_RULES_TRY(check_sym(b.asset, symbols, "asset"));
          return check_number(b.price.raw(), Sign::positive, "price", kInput);
        } else if constexpr (std::is_same_v<T, DepositEvent> || std::is_same_v<T, WithdrawEvent>) {
          LIQSIM_RULES_TRY(check_sym(b.account, symbols, "account"));
          LIQSIM_RULES_TRY(check_sym(b.asset, symbols, "asset"));
          return check_number(b.amount.raw(), Sign::positive, "amount", kInput);
        } else if constexpr (std::is_same_v<T, TradeEvent>) {
          LIQSIM_RULES_TRY(check_sym(b.account, symbols, "account"));
          LIQSIM_RULES_TRY(check_sym(b.market, symbols, "market"));
          if (b.side != Side::buy && b.side != Side::sell)
            return rule_error(kInput, "not buy or sell", "side");
          if (b.margin != MarginMode::cross && b.margin != MarginMode::isolated)
            return rule_error(kInput, "not cross or isolated", "margin");
          LIQSIM_RULES_TRY(check_number(b.qty.raw(), Sign::positive, "qty", kInput));
          LIQSIM_RULES_TRY(check_number(b.price.raw(), Sign::positive, "price", kInput));
          LIQSIM_RULES_TRY(check_trade_options(b.has_margin, b.margin == MarginMode::isolated,
                                               b.has_isolated_margin, kInput));
          if (b.has_isolated_margin)
            LIQSIM_RULES_TRY(
                check_number(b.isolated_margin.raw(), Sign::non_negative, "isolated_margin", kInput));
          if (b.counterparty != kNoSym) {
            LIQSIM_RULES_TRY(check_sym(b.counterparty, symbols, "counterparty"));
            if (b.counterparty == b.account)
              return rule_error(kInput, "must differ from account", "counterparty");
          }
          return {};
        } else if constexpr (std::is_same_v<T, FundingEvent>) {
          return check_sym(b.market, symbols, "market");
        } else if constexpr (std::is_same_v<T, ParamEvent>) {
          return check_param(b.path, b.value_json, kInput);
        } else {
          static_assert(std::is_same_v<T, LiquidityEvent>);
          LIQSIM_RULES_TRY(check_sym(b.market, symbols, "market"));
          return check_number(b.depth.raw(), Sign::positive, "depth", kInput);
        }
      },
      e.body);
}

#undef LIQSIM_RULES_TRY

}  // namespace liqsim
