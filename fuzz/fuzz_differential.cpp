// Fuzz target: differential checks on small random logs (issue 10).
//
// Input: 16 bytes pick a seeded workload (workload.hpp: accounts, markets,
// ticks, volatility, a crash, which features are on); whatever follows is
// JSON Lines appended to it (lines that do not decode, or that the log would
// refuse, are dropped), so the fuzzer can steer a meaningful book with its
// own events. Properties, for every input:
//   1. JSONL → binary → JSONL is the identity: each event's canonical line
//      decodes, its binary payload decodes to the same event, and that event
//      encodes to the same line and the same payload;
//   2. the band index agrees with the reference scan: the same derived events
//      in the same order and the same state hash (or the same overflow at the
//      same event);
//   3. the ledger sums to zero after the replay.
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "liqsim/engine.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"
#include "liqsim/workload.hpp"

using namespace liqsim;

namespace {

constexpr std::size_t kMaxExtraEvents = 128;

struct Outcome {
  std::vector<std::string> journal;
  std::string hash;
  std::int64_t overflow_at = -1;
};

Outcome replay(const Config& config, Symbols& symbols, const std::vector<InputEvent>& events,
               bool reference) {
  ReplayOptions options;
  options.engine.reference_scan = reference;
  options.engine.check_ledger = true;
  Replay replay(config, symbols, options);
  fuzz::JournalLines journal(symbols);
  replay.add_sink(journal);
  Outcome out;
  Status ran = replay.run(events);
  out.journal = std::move(journal.lines);
  if (!ran) {
    out.overflow_at = ran.error().seq;
    return out;
  }
  Status ledger = replay.engine().check_ledger();
  fuzz::property(ledger.ok(), "the ledger does not sum to zero",
                 ledger.ok() ? "" : ledger.error().describe());
  out.hash = replay.engine().state_hash();
  return out;
}

void round_trip(const InputEvent& ev, Symbols& symbols) {
  const std::string line = encode_event(ev, symbols);
  auto decoded = decode_event_line(line, symbols);
  fuzz::property(decoded.ok(), "a canonical JSONL line does not decode", line);
  const std::string payload = encode_record_payload(*decoded, symbols);
  InputEvent back;
  Status st = decode_record_payload(payload, symbols, back);
  fuzz::property(st.ok(), "a binary payload does not decode", line);
  fuzz::property(encode_event(back, symbols) == line, "JSONL → binary → JSONL changed the event",
                 line + "\n" + encode_event(back, symbols));
  fuzz::property(encode_record_payload(back, symbols) == payload,
                 "binary → JSONL → binary changed the payload", line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  WorkloadSpec spec;
  spec.seed = 0;
  for (int i = 0; i < 8; ++i) spec.seed = spec.seed << 8 | fuzz::take_byte(input);
  spec.accounts = 2 + fuzz::take_byte(input) % 40;
  spec.markets = 1 + fuzz::take_byte(input) % 3;
  spec.ticks = 5 + fuzz::take_byte(input) % 120;
  spec.volatility_bp = 5 + fuzz::take_byte(input) % 200;
  const std::uint8_t crash = fuzz::take_byte(input);
  if (crash & 1) {
    spec.crash_at = 1 + (crash >> 1) % spec.ticks;
    spec.crash_ticks = 1 + crash % 7;
    spec.crash_bp = 500u + (crash * 37u) % 6000u;
  }
  const std::uint8_t flags = fuzz::take_byte(input);
  spec.isolated = flags & 1;
  spec.counterparties = flags & 2;
  spec.multi_collateral = flags & 4;
  spec.impact = flags & 8;
  spec.params = flags & 16;
  spec.mean_revert = flags & 32;
  spec.liquidation_fees = !(flags & 64);
  spec.activity_ppm = flags & 128 ? 20'000 : 0;
  const std::uint8_t leverage = fuzz::take_byte(input);
  spec.max_leverage = 1 + leverage % 100;
  spec.insurance_fund = leverage & 1 ? 0 : -1;

  Symbols symbols;
  Workload w = make_workload(spec, symbols);
  // The fuzzer's own events, after the workload's: kept where the log would keep them.
  std::int64_t last_ts = w.events.empty() ? 0 : w.events.back().ts_ms;
  std::istringstream in{std::string(input)};
  std::string line;
  std::size_t extra = 0;
  while (extra < kMaxExtraEvents && std::getline(in, line)) {
    auto ev = decode_event_line(line, symbols);
    if (!ev || ev->ts_ms < last_ts) continue;
    std::vector<InputEvent> candidate = w.events;
    candidate.push_back(*ev);
    if (!validate_events(w.config, symbols, candidate).ok()) continue;
    w.events.push_back(*ev);
    last_ts = ev->ts_ms;
    ++extra;
  }
  fuzz::property(validate_events(w.config, symbols, w.events).ok(), "a generated workload does not validate");
  for (const InputEvent& ev : w.events) round_trip(ev, symbols);

  Outcome indexed = replay(w.config, symbols, w.events, false);
  Outcome reference = replay(w.config, symbols, w.events, true);
  fuzz::property(indexed.overflow_at == reference.overflow_at,
                 "index and reference scan overflow at different events");
  fuzz::property(indexed.journal.size() == reference.journal.size(),
                 "index and reference scan differ in the number of derived events",
                 std::to_string(indexed.journal.size()) + " vs " + std::to_string(reference.journal.size()));
  for (std::size_t i = 0; i < indexed.journal.size(); ++i)
    fuzz::property(indexed.journal[i] == reference.journal[i],
                   "index and reference scan differ in a derived event",
                   indexed.journal[i] + "\n" + reference.journal[i]);
  fuzz::property(indexed.hash == reference.hash, "index and reference scan differ in state hash");
  return 0;
}
