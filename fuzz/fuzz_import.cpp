// Fuzz target: the CSV importers (candles in every layout, trades).
//
// The first input byte picks the importer and options:
//   bit 0      candles (0) or trades (1)
//   bits 1..2  candles: layout auto/coinapi/binanceus/kline; trades: time unit
//   bit 3      repair mode
//   bits 4..5  candles: ticks per bar 1, 2, 4 (3 means an invalid 3, refused)
//   bit 6      a wick filter (max_move 5 %) / trades: a [from, to) window
//   bit 7      keep repeats
// The rest is the CSV. Property: every emitted event is a valid `price`
// event, in non-decreasing ts order.
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "liqsim/event_rules.hpp"
#include "liqsim/import.hpp"
#include "liqsim/jsonl.hpp"

using namespace liqsim;
using namespace liqsim::import;

namespace {

void check_events(const std::vector<InputEvent>& events, const Symbols& symbols) {
  std::int64_t last = INT64_MIN;
  for (const InputEvent& e : events) {
    fuzz::property(std::holds_alternative<PriceEvent>(e.body), "an importer emitted a non-price event");
    Status st = validate_event(e, symbols);
    fuzz::property(st.ok(), "an importer emitted an invalid event",
                   encode_event(e, symbols) + "\n" + (st.ok() ? "" : st.error().describe()));
    fuzz::property(e.ts_ms >= last, "an importer emitted events out of time order", encode_event(e, symbols));
    last = e.ts_ms;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::uint8_t opt = fuzz::take_byte(input);
  std::istringstream in{std::string(input)};
  Symbols symbols;
  ImportStats stats;
  ReportFn report = [](const std::string& line) { fuzz::property(!line.empty(), "an empty repair report"); };
  if ((opt & 1) == 0) {
    CandleOptions o;
    o.layout = static_cast<CandleLayout>((opt >> 1) & 3);
    o.repair = (opt & 8) != 0;
    static constexpr int kTicks[] = {1, 2, 4, 3};
    o.ticks_per_bar = kTicks[(opt >> 4) & 3];
    if (opt & 0x40) o.max_move_raw = 5'000'000;
    o.keep_repeats = (opt & 0x80) != 0;
    auto events = import_candles(in, "fuzz.csv", "BTC", o, symbols, report, stats);
    if (events)
      check_events(*events, symbols);
    else
      (void)events.error().describe();
  } else {
    TradeOptions o;
    o.time_unit = static_cast<TimeUnit>((opt >> 1) & 3);
    o.repair = (opt & 8) != 0;
    if (opt & 0x40) {
      o.from_ms = 1'000;
      o.to_ms = 2'000'000'000'000;
    }
    o.keep_repeats = (opt & 0x80) != 0;
    std::vector<InputEvent> events;
    Status st = import_trades(
        in, "fuzz.csv", "BTC", o, symbols,
        [&](const InputEvent& e) {
          if (events.size() < 100000) events.push_back(e);
        },
        report, stats);
    check_events(events, symbols);
    if (!st) (void)st.error().describe();
  }
  return 0;
}
