// jsonl.hpp — events as JSON Lines.
//
// Owns the strict text form of events: decoding one line into an InputEvent
// (unknown type or field, missing field, bad number, bad timestamp → an Error
// naming the field), reading a whole JSONL file with line numbers and the
// non-decreasing `ts` rule, and the canonical encodings written by
// `log cat`, `log convert` and the journal. Canonical input form: fields in
// the order of CONTRACT §2, `ts` as integer milliseconds, numbers as
// canonical decimal strings.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/json.hpp"
#include "liqsim/sha256.hpp"

namespace liqsim {

namespace limits {
inline constexpr std::size_t kMaxLineBytes = 1 << 20;                 // one JSONL record
inline constexpr std::size_t kMaxNameBytes = 256;                     // account, asset, market names
inline constexpr std::size_t kMaxParamBytes = 64 * 1024;              // a param's value text
inline constexpr std::uint64_t kMaxEvents = 1ull << 32;               // events in one log
inline constexpr std::int64_t kMaxTimestampMs = 999'999'999'999'999;  // 15 digits: year 33658
}  // namespace limits

// Integer milliseconds, or RFC 3339 ("2020-03-12T10:15:00Z", fractions to the
// millisecond, 'Z' or ±HH:MM offset): the milliseconds, or an input Error
// whose message (no field) says what is wrong; the caller adds the field.
Result<std::int64_t> parse_timestamp(const JsonValue& v);
std::string format_rfc3339(std::int64_t ms);

// Decode one line. On error the Error has field and message; the caller adds
// file and line.
Result<InputEvent> decode_event_line(std::string_view line, Symbols& symbols);
// Canonical JSON text of an input event (no trailing newline).
std::string encode_event(const InputEvent& e, const Symbols& symbols);
// JSON text of a derived event (no trailing newline), CONTRACT §5 fields first.
std::string encode_derived(const DerivedEvent& e, const Symbols& symbols);

// Streaming reader of a JSONL event file: checks line length, decoding and
// that ts never goes backwards. Blank lines are skipped (they carry no seq).
class JsonlEventReader {
 public:
  JsonlEventReader(std::istream& in, std::string file_name, Symbols& symbols);
  // true and an event; false at end of input; or an Error (with file, line).
  Result<bool> next(InputEvent& out);
  std::int64_t line() const { return line_; }
  std::int64_t seq() const { return seq_; }  // seq of the next event

 private:
  std::istream& in_;
  std::string file_;
  Symbols& symbols_;
  std::string buf_;
  std::int64_t line_ = 0;
  std::int64_t seq_ = 0;
  std::int64_t last_ts_ = INT64_MIN;
};

// Streams a JSONL event file by descriptor in large blocks; every byte read is
// fed to the hash (if set) as it is read. Same events, errors and line numbers
// as JsonlEventReader.
class JsonlFileReader {
 public:
  static Result<JsonlFileReader> open(const std::string& path, Symbols& symbols);
  JsonlFileReader(JsonlFileReader&&) noexcept;
  JsonlFileReader& operator=(JsonlFileReader&&) noexcept;
  ~JsonlFileReader();
  void hash_into(Sha256* hash);        // before the first next()
  Result<bool> next(InputEvent& out);  // true+event, false at end, or Error{file,line}
  std::int64_t line() const;           // line number of the last event returned
  std::int64_t seq() const;            // seq of the next event
  std::int64_t bytes_read() const;     // bytes consumed so far (for a progress bar)
  std::int64_t file_size() const;      // size at open (fstat)

 private:
  struct State;
  explicit JsonlFileReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Reads a whole JSONL event file. With `sha256_hex`, also the SHA-256 of the
// bytes exactly as they were read (one pass: a file that grows meanwhile is
// hashed as far as it was read, never re-read).
Result<std::vector<InputEvent>> read_jsonl_file(const std::string& path, Symbols& symbols,
                                                std::string* sha256_hex = nullptr);

}  // namespace liqsim
