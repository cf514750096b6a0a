// Fuzz target: inputs whose numbers are all small never overflow (issue 10).
//
// An amount that leaves the fixed-point range is an input error, but a valid
// log of ordinary sizes must never meet one: a ranking score, a margin ratio
// or a metric is not an amount, and may not refuse a replay. The input is a
// program of 6-byte instructions, each one event with small numbers:
// prices from 1e-8 to 1e5 (an opening trade may be far off the market),
// quantities and deposits up to 1e3 (at most 256 events: no balance, position
// or PnL can approach the range), funding rates up to ±1 %, depths from 1e-8, params that keep every ratio
// valid — over one of four configurations (tiers with impact, a market with maintenance ratio 0, 2 %/1 %
// margins with one or two cascade rounds, partial liquidation with an empty fund). Events the log would
// refuse are dropped. Property: the engine, the metrics and the summary never raise OverflowError, and the
// ledger sums to zero.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/replay.hpp"

using namespace liqsim;

namespace {

const char* const kConfigs[] = {
    // 0: tiers and impact
    R"({"assets":{"BTC":{"collateral_weight":"0.9"},"ETH":{"collateral_weight":"0.8"},"USDC":{}},
        "markets":{"BTC-PERP":{"underlying":"BTC","liquidation_fee_ratio":"0.01","depth":"5000",
          "tiers":[{"max_notional":"1000","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05","maintenance_amount":"0"},
                   {"max_notional":"100000","initial_margin_ratio":"0.2","maintenance_margin_ratio":"0.1","maintenance_amount":"50"}]},
          "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.2","maintenance_margin_ratio":"0.1","liquidation_fee_ratio":"0.005"}},
        "liquidation":{"insurance_fund":"100","adl":true}})",
    // 1: maintenance ratio 0 (ADL ranking by leverage against tiny equity)
    R"({"assets":{"BTC":{},"ETH":{"collateral_weight":"0.5"},"USDC":{"collateral_weight":"0.95"}},
        "markets":{"BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.01","maintenance_margin_ratio":"0","depth":"10"},
          "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.05","maintenance_margin_ratio":"0.02","liquidation_fee_ratio":"0.02"}},
        "liquidation":{"insurance_fund":"0","adl":true}})",
    // 2: 2 %/1 % margins, a cascade cut after one round
    R"({"assets":{"BTC":{},"ETH":{},"USDC":{}},
        "markets":{"BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01","depth":"100","impact_permanent_share":"1"},
          "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.02","maintenance_margin_ratio":"0.01","depth":"1"}},
        "liquidation":{"insurance_fund":"10","adl":true,"max_cascade_rounds":1}})",
    // 3: partial liquidation, empty fund, no ADL (socialized loss)
    R"({"assets":{"BTC":{"collateral_weight":"0.7"},"ETH":{},"USDC":{}},
        "markets":{"BTC-PERP":{"underlying":"BTC","initial_margin_ratio":"0.05","maintenance_margin_ratio":"0.03","depth":"1000","liquidation_fee_ratio":"0.01"},
          "ETH-PERP":{"underlying":"ETH","initial_margin_ratio":"0.1","maintenance_margin_ratio":"0.05","depth":"50"}},
        "liquidation":{"insurance_fund":"0","adl":false,"mode":"partial","step_ratio":"0.25","max_cascade_rounds":2}})",
};

const char* const kAssets[] = {"BTC", "ETH", "USDC", "USD"};
const char* const kMarkets[] = {"BTC-PERP", "ETH-PERP"};
constexpr std::size_t kMaxEvents = 256;

// m × 10^(e − 8) with 1 ≤ m ≤ 9999, at most `max_exp10` as a power of ten (value ≤ 10^max_exp10).
std::string small_decimal(std::uint32_t m, std::uint32_t e, int max_exp10) {
  m = 1 + m % 9999;
  int exp = static_cast<int>(e % 15) - 8;  // 1e-8 .. 1e6 scale
  while (exp > max_exp10 - 4 && exp > -8) --exp;
  std::string digits = std::to_string(m);
  if (exp >= 0) return digits + std::string(static_cast<std::size_t>(exp), '0');
  std::size_t frac = static_cast<std::size_t>(-exp);
  if (digits.size() <= frac) digits.insert(0, frac - digits.size() + 1, '0');
  digits.insert(digits.size() - frac, ".");
  return digits;
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

std::string instruction(const std::uint8_t* b, std::int64_t& ts) {
  ts += (b[5] & 3) * 1000;
  const std::string head = "{\"ts\":" + std::to_string(ts) + ",\"type\":";
  const std::string account = q("a" + std::to_string(b[1] & 7));
  const std::string market = q(kMarkets[(b[1] >> 3) & 1]);
  const std::uint32_t m = static_cast<std::uint32_t>(b[2]) << 8 | b[3];
  switch (b[0] % 8) {
    case 0:
    case 1:
      return head + "\"price\",\"asset\":" + q(kAssets[b[1] % 3]) +
             ",\"price\":" + q(small_decimal(m, b[4], 5)) + "}";
    case 2:
      return head + "\"deposit\",\"account\":" + account + ",\"asset\":" + q(kAssets[(b[1] >> 4) % 4]) +
             ",\"amount\":" + q(small_decimal(m, b[4], 3)) + "}";
    case 3:
      return head + "\"withdraw\",\"account\":" + account + ",\"asset\":" + q(kAssets[(b[1] >> 4) % 4]) +
             ",\"amount\":" + q(small_decimal(m, b[4], 3)) + "}";
    case 4:
    case 5: {
      std::string t = head + "\"trade\",\"account\":" + account + ",\"market\":" + market +
                      ",\"side\":" + (b[1] & 16 ? "\"sell\"" : "\"buy\"") +
                      ",\"qty\":" + q(small_decimal(m, b[4] >> 4, 3)) +
                      ",\"price\":" + q(small_decimal(m * 7 + b[5], b[4], 5));
      if (b[1] & 32) t += ",\"margin\":\"isolated\",\"isolated_margin\":" + q(small_decimal(m, b[5] >> 2, 3));
      if (b[1] & 64)
        t += ",\"counterparty\":" + q("a" + std::to_string(((b[1] & 7) + 1 + (b[5] >> 5) % 7) % 8));
      return t + "}";
    }
    case 6:
      return head + "\"funding\",\"market\":" + market +
             ",\"rate\":" + q((b[4] & 1 ? "-0.00" : "0.00") + std::to_string(10 + m % 90)) + "}";
    default:
      if (b[4] & 1)
        return head + "\"liquidity\",\"market\":" + market + ",\"depth\":" + q(small_decimal(m, b[5], 7)) +
               "}";
      switch (b[4] >> 1 & 3) {
        case 0:
          return head + "\"param\",\"path\":\"liquidation.margin_call_threshold\",\"value\":\"0." +
                 std::to_string(1 + m % 9) + "\"}";
        case 1:
          return head + "\"param\",\"path\":\"assets.BTC.collateral_weight\",\"value\":\"0." +
                 std::to_string(m % 10) + "\"}";
        case 2:
          return head + "\"param\",\"path\":\"liquidation.insurance_fund\",\"value\":" +
                 q(small_decimal(m, b[5], 6)) + "}";
        default:
          return head + "\"param\",\"path\":\"markets.ETH-PERP.liquidation_fee_ratio\",\"value\":\"0.0" +
                 std::to_string(m % 10) + "\"}";
      }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  auto doc = parse_json(kConfigs[data[0] % 4]);
  fuzz::property(doc.ok(), "a built-in configuration does not parse");
  auto config = parse_config(*doc, "config.json");
  fuzz::property(config.ok(), "a built-in configuration is invalid",
                 config.ok() ? "" : config.error().describe());
  Symbols symbols;
  std::vector<InputEvent> events;
  std::string log;
  std::int64_t ts = 1'600'000'000'000;
  for (std::size_t at = 1; at + 6 <= size && events.size() < kMaxEvents; at += 6) {
    const std::string line = instruction(data + at, ts);
    auto ev = decode_event_line(line, symbols);
    fuzz::property(ev.ok(), "a generated event line does not decode",
                   line + (ev.ok() ? "" : ": " + ev.error().describe()));
    events.push_back(*ev);
    if (!validate_events(*config, symbols, events).ok()) {
      events.pop_back();
      continue;
    }
    log += line + "\n";
  }
  ReplayOptions options;
  options.engine.check_ledger = true;
  Replay replay(*config, symbols, options);
  Status ran = replay.run(events);
  if (!ran)
    fuzz::property_failed("a log of small numbers overflowed", ran.error().describe() + " of\n" + log);
  auto result = replay.finish();
  if (!result)
    fuzz::property_failed("the totals of a log of small numbers overflowed", result.error().describe());
  const Engine& engine = replay.engine();
  Status ledger = engine.check_ledger();
  fuzz::property(ledger.ok(), "the ledger does not sum to zero",
                 ledger.ok() ? "" : ledger.error().describe());
  return 0;
}
