// jsonl.hpp — events as JSON Lines.
//
// Owns the strict text form of events: decoding one line into an InputEvent
// (unknown type or field, missing field, bad number, bad timestamp → an Error
// naming the field), reading a whole JSONL file with line numbers and the
// non-decreasing `ts` rule, and the canonical encodings written by
// `log cat`, `log convert` and the journal. Canonical input form: fields in
// the order of CONTRACT §2, `ts` as integer milliseconds, numbers as
// canonical decimal strings.
//
// Speed. A line in exactly that canonical form (what encode_event writes) is
// decoded straight from its bytes, without building a JSON tree; any other
// line — and any canonical line that breaks a rule — goes through the general
// decoder, so what is accepted and every error message are the same either
// way (tests/test_jsonl_fast.cpp checks the two against each other). Files
// are read in large blocks, never a byte at a time.
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

namespace detail {

// The general decoder: the line parsed as JSON into a tree, then its fields
// read against the schema. Every line the fast path does not take.
Result<InputEvent> decode_event_line_generic(std::string_view line, Symbols& symbols);
// The fixed-schema decoder: true and OUT set when LINE is in canonical form
// (type, ts as an integer without leading zeros, the type's fields in
// canonical order, strings of printable ASCII without escapes, numbers as
// decimal strings, no whitespace) and obeys every rule; false otherwise,
// with OUT and SYMBOLS untouched. Never takes a param. decode_event_line
// tries it first.
bool decode_event_line_fast(std::string_view line, Symbols& symbols, InputEvent& out);

// The line handling of both readers below, over any source of bytes: blocks
// into one buffer, '\n' found with memchr, a line's content (before '\n',
// a trailing '\r' included) over limits::kMaxLineBytes refused without
// buffering the rest, one trailing '\r' dropped, lines of only spaces and
// tabs skipped (no seq), then decoding, ts order and the event count.
class JsonlLines {
 public:
  class Source {
   public:
    virtual ~Source() = default;
    // Up to N bytes into DST: how many (0 only at end of input), or an Error.
    virtual Result<std::size_t> read(char* dst, std::size_t n) = 0;
  };

  JsonlLines(std::string file_name, Symbols& symbols);
  Result<bool> next(Source& source, InputEvent& out);
  std::int64_t line() const { return line_; }
  std::int64_t seq() const { return seq_; }

 private:
  Result<bool> next_line(Source& source, std::string_view& line);
  Status refill(Source& source);
  Error at_line(Error e, std::int64_t line) const;

  std::string file_;
  Symbols* symbols_;
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // first byte of the next line
  std::size_t scan_ = 0;   // bytes before this hold no '\n' of the next line
  std::size_t end_ = 0;    // end of the bytes read
  bool end_of_input_ = false;
  std::int64_t line_ = 0;
  std::int64_t seq_ = 0;
  std::int64_t last_ts_ = INT64_MIN;
};

}  // namespace detail

// Streaming reader of a JSONL event file: checks line length, decoding and
// that ts never goes backwards. Blank lines are skipped (they carry no seq).
// It reads IN's stream buffer in blocks, so it may read past the event it
// returns: nothing else should read IN after it (every current use reads to
// the end or stops at the first error).
class JsonlEventReader {
 public:
  JsonlEventReader(std::istream& in, std::string file_name, Symbols& symbols);
  // true and an event; false at end of input; or an Error (with file, line),
  // after which OUT is unspecified.
  Result<bool> next(InputEvent& out);
  std::int64_t line() const { return lines_.line(); }
  std::int64_t seq() const { return lines_.seq(); }  // seq of the next event

 private:
  std::istream& in_;
  detail::JsonlLines lines_;
};

// Streams a JSONL event file by descriptor in large blocks; every byte read is
// fed to the hash (if set) as it is read. Same events, errors and line numbers
// as JsonlEventReader.
class JsonlFileReader {
 public:
  static Result<JsonlFileReader> open(const std::string& path,
                                      Symbols& symbols);  // io error naming path if it cannot be opened
  JsonlFileReader(JsonlFileReader&&) noexcept;
  JsonlFileReader& operator=(JsonlFileReader&&) noexcept;
  ~JsonlFileReader();
  void hash_into(Sha256* hash);                            // before the first next()
  Result<bool> next(InputEvent& out);                      // true+event, false at end, or Error{file,line}
  std::int64_t line() const { return lines_.line(); }      // line number of the last event returned
  std::int64_t seq() const { return lines_.seq(); }        // seq of the next event
  std::int64_t bytes_read() const { return bytes_read_; }  // bytes consumed so far (for a progress bar)
  std::int64_t file_size() const { return file_size_; }    // size at open (fstat)

 private:
  JsonlFileReader(int fd, const std::string& path, std::int64_t file_size, Symbols& symbols);

  int fd_ = -1;
  std::string path_;
  Sha256* hash_ = nullptr;
  std::int64_t bytes_read_ = 0;
  std::int64_t file_size_ = 0;
  detail::JsonlLines lines_;
};

// Reads a whole JSONL event file. With `sha256_hex`, also the SHA-256 of the
// bytes exactly as they were read (one pass: a file that grows meanwhile is
// hashed as far as it was read, never re-read).
Result<std::vector<InputEvent>> read_jsonl_file(const std::string& path, Symbols& symbols,
                                                std::string* sha256_hex = nullptr);

}  // namespace liqsim
