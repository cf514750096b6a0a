// Fuzz target: the JSON Lines event decoder.
//
// Every line goes through decode_event_line; the whole input through
// JsonlEventReader (line limit, ts order, seq). Properties of every event
// that decodes: validate_event accepts it (the binary log's rules are the
// JSONL rules), its canonical text decodes to the same canonical text, and
// its binary payload decodes back to the same canonical text. And of every
// line: decode_event_line (fixed-schema fast path first) and the general
// decoder alone give the same event, symbol ids and error; the fast path,
// where it declines, leaves the symbol table alone.
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

using namespace liqsim;

namespace {

void check_round_trips(const InputEvent& ev, const Symbols& symbols) {
  const std::string text = encode_event(ev, symbols);
  Status valid = validate_event(ev, symbols);
  fuzz::property(valid.ok(), "a decoded JSONL event fails validate_event",
                 text + "\n" + (valid.ok() ? "" : valid.error().describe()));
  Symbols again;
  auto back = decode_event_line(text, again);
  fuzz::property(back.ok(), "canonical text of a decoded event does not decode",
                 text + "\n" + (back.ok() ? "" : back.error().describe()));
  fuzz::property(encode_event(*back, again) == text, "canonical text is not a fixed point", text);
  const std::string payload = encode_record_payload(ev, symbols);
  Symbols bin;
  InputEvent from_binary;
  Status st = decode_record_payload(payload, bin, from_binary);
  fuzz::property(st.ok(), "binary payload of a valid event does not decode",
                 text + "\n" + (st.ok() ? "" : st.error().describe()));
  fuzz::property(encode_event(from_binary, bin) == text, "JSONL -> binary -> JSONL changed the event", text);
  fuzz::property(encode_record_payload(from_binary, bin) == payload, "binary -> binary is not byte-identical",
                 text);
}

std::string outcome(const Result<InputEvent>& r, const Symbols& symbols) {
  if (r.ok()) return "ok " + encode_event(*r, symbols);
  const Error& e = r.error();
  return "error " + std::to_string(static_cast<int>(e.kind)) + " field '" + e.field + "': " + e.message;
}

// The fast path against the general decoder, each with its own symbol table
// (kept equal line after line: both intern the same names in the same order).
struct FastAgrees {
  Symbols generic, probe;

  void check(std::string_view line, const Result<InputEvent>& combined, const Symbols& combined_symbols) {
    auto slow = detail::decode_event_line_generic(line, generic);
    const std::string want = outcome(slow, generic);
    fuzz::property(outcome(combined, combined_symbols) == want,
                   "decode_event_line and the general decoder disagree",
                   std::string(line) + "\n" + outcome(combined, combined_symbols) + "\n" + want);
    fuzz::property(combined_symbols.size() == generic.size(), "the fast path interned differently",
                   std::string(line));
    InputEvent fast;
    const std::size_t before = probe.size();
    if (detail::decode_event_line_fast(line, probe, fast)) {
      fuzz::property(
          slow.ok() && encode_event(fast, probe) == encode_event(*slow, generic) && fast.ts_ms == slow->ts_ms,
          "the fast path accepted a line the general decoder reads otherwise", std::string(line));
    } else {
      fuzz::property(probe.size() == before, "the fast path interned a name of a line it declined",
                     std::string(line));
      (void)detail::decode_event_line_generic(line, probe);
    }
    fuzz::property(probe.size() == generic.size(), "symbol tables drifted apart", std::string(line));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. Line by line.
  Symbols symbols;
  FastAgrees fast;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t nl = input.find('\n', start);
    std::string_view line =
        input.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    auto ev = decode_event_line(line, symbols);
    fast.check(line, ev, symbols);
    if (ev.ok())
      check_round_trips(*ev, symbols);
    else
      (void)ev.error().describe();
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }

  // 2. The whole input as a file.
  Symbols file_symbols;
  std::istringstream in{std::string(input)};
  JsonlEventReader reader(in, "fuzz.jsonl", file_symbols);
  InputEvent ev;
  std::int64_t last_ts = INT64_MIN;
  for (int i = 0; i < 100000; ++i) {
    auto more = reader.next(ev);
    if (!more) {
      fuzz::property(more.error().line >= 1, "a reader error names no line", more.error().describe());
      break;
    }
    if (!*more) break;
    fuzz::property(ev.ts_ms >= last_ts, "the reader let ts go backwards");
    last_ts = ev.ts_ms;
  }
  return 0;
}
