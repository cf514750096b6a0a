// event_rules.hpp — the rules every input event obeys, whatever its encoding.
//
// The rules the JSONL decoder (jsonl.hpp) enforces, as functions: the binary
// payload decoder and the log writer (log.hpp) and the importers' name
// options (import.hpp) judge events by them, and fuzz/fuzz_jsonl.cpp checks
// that every event the JSONL decoder accepts passes validate_event, so both
// formats accept the same events and nothing is written that a reader would
// refuse: ts in 0..limits::kMaxTimestampMs, names 1..256 bytes of valid
// UTF-8, positive price/qty/amount/depth, non-negative isolated_margin,
// trade option consistency, counterparty ≠ account, param path non-empty
// and value canonical JSON ≤ 64 KiB. Per event and without a
// configuration; the checks against a configuration (defined assets and
// markets, a price before use, params) are validate_events' (validate.hpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "liqsim/error.hpp"
#include "liqsim/events.hpp"

namespace liqsim {

// Checks an event built in memory. Error kind is `input`, with the field named.
Status validate_event(const InputEvent& e, const Symbols& symbols);

// The single rules, for decoders that meet the fields one by one; `kind` is
// the Error kind a failure gets (input for text, corrupt for a binary log).
namespace event_rules {

enum class Sign : std::uint8_t { any, positive, non_negative };

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), the
// same strings a JSON parser accepts.
bool valid_utf8(std::string_view s);
Status check_ts(std::int64_t ts, ErrorKind kind);
Status check_name(std::string_view name, const char* field, ErrorKind kind);
Status check_number(std::int64_t raw, Sign sign, const char* field, ErrorKind kind);
Status check_param(std::string_view path, std::string_view value, ErrorKind kind);
Status check_trade_options(bool has_margin, bool isolated, bool has_isolated_margin, ErrorKind kind);

}  // namespace event_rules

}  // namespace liqsim
