// Fuzz target: a whole replay — configuration and a small event log through
// validate_events and the Engine with the ledger checked after every event.
//
// Input: the first byte picks the configuration: even → a fixed two-market
// configuration and the rest is the JSONL log; odd → the rest is
// CONFIG \0 LOG. At most 256 events are replayed (a bound against hangs that
// are only slow inputs). An input ends in a summary or in an Error from the
// configuration, the decoder or validate_events, or in an OverflowError from
// Engine::apply (which the CLI reports as an input error naming the event).
// Properties: the ledger sums to zero after the replay; replaying the same
// events again gives the same state hash and the same derived events
// (determinism inside one process). Through the replay pipeline (replay.hpp).
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "liqsim/config.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"

using namespace liqsim;

namespace {

const char* const kBase = R"({
  "assets": { "BTC": { "collateral_weight": "0.9" }, "ETH": { "collateral_weight": "0.8" }, "USDC": {} },
  "markets": {
    "BTC-PERP": { "underlying": "BTC", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05",
      "tiers": [ { "max_notional": "1000", "initial_margin_ratio": "0.1", "maintenance_margin_ratio": "0.05", "maintenance_amount": "0" },
                 { "max_notional": "100000", "initial_margin_ratio": "0.2", "maintenance_margin_ratio": "0.1", "maintenance_amount": "50" } ],
      "liquidation_fee_ratio": "0.01", "depth": "5000" },
    "ETH-PERP": { "underlying": "ETH", "initial_margin_ratio": "0.2", "maintenance_margin_ratio": "0.1",
      "liquidation_fee_ratio": "0.005" } },
  "liquidation": { "insurance_fund": "100", "adl": true } })";

constexpr std::size_t kMaxEvents = 256;

struct Outcome {
  std::string hash;
  std::vector<std::string> journal;
};

bool replay(const Config& config, Symbols& symbols, const std::vector<InputEvent>& events, Outcome& out) {
  ReplayOptions options;
  options.engine.check_ledger = true;
  Replay replay(config, symbols, options);
  fuzz::JournalLines journal(symbols);
  replay.add_sink(journal);
  Status ran = replay.run(events);
  out.journal = std::move(journal.lines);
  if (!ran) {
    fuzz::property(ran.error().seq >= 0, "an overflow names no event", ran.error().describe());
    return false;  // an input error naming the event, in the CLI
  }
  Status ledger = replay.engine().check_ledger();
  fuzz::property(ledger.ok(), "the ledger does not sum to zero after the replay",
                 ledger.ok() ? "" : ledger.error().describe());
  auto result = replay.finish();
  if (!result) return false;
  out.hash = result->summary.state_hash;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::uint8_t mode = fuzz::take_byte(input);
  std::string_view config_text = kBase;
  if (mode & 1) {
    std::size_t zero = input.find('\0');
    if (zero == std::string_view::npos) return 0;
    config_text = input.substr(0, zero);
    input.remove_prefix(zero + 1);
  }
  auto doc = parse_json(config_text);
  if (!doc) return 0;
  auto config = parse_config(*doc, "config.json");
  if (!config) return 0;

  Symbols symbols;
  std::istringstream in{std::string(input)};
  JsonlEventReader reader(in, "events.jsonl", symbols);
  std::vector<InputEvent> events;
  InputEvent ev;
  while (events.size() < kMaxEvents) {
    auto more = reader.next(ev);
    if (!more) return 0;
    if (!*more) break;
    events.push_back(ev);
  }
  Status valid = validate_events(*config, symbols, events);
  if (!valid) {
    fuzz::property(valid.error().seq >= 0 && valid.error().seq < static_cast<std::int64_t>(events.size()),
                   "validate_events names no event", valid.error().describe());
    return 0;
  }
  Outcome first, second;
  bool ok1 = replay(*config, symbols, events, first);
  bool ok2 = replay(*config, symbols, events, second);
  fuzz::property(ok1 == ok2, "a replay overflowed once but not twice");
  if (ok1) {
    fuzz::property(first.hash == second.hash, "two replays of the same events differ in state hash");
    fuzz::property(first.journal == second.journal,
                   "two replays of the same events differ in derived events");
  }
  return 0;
}
