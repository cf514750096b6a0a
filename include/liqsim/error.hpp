// error.hpp — the operating-error channel.
//
// Bad input, bad configuration, I/O failures and log corruption are values,
// not exceptions: an Error carries where (file, line or byte offset, field)
// and what was expected, and Result<T> is either a T or an Error. Both are
// [[nodiscard]] so an ignored failure is a compile warning (an error in CI).
// Programmer errors use LIQSIM_ASSERT, which is always on and aborts with a
// message.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace liqsim {

enum class ErrorKind : std::uint8_t {
  usage,    // bad command line                      → exit 2
  config,   // configuration file                    → exit 2
  input,    // an event, CSV row or other input data → exit 2
  io,       // the operating system said no          → exit 2
  corrupt,  // a log that fails its checksums        → exit 3
};

struct [[nodiscard]] Error {
  ErrorKind kind = ErrorKind::input;
  std::string file;          // may be empty
  std::int64_t line = 0;     // 1-based line; 0 when not applicable
  std::int64_t offset = -1;  // byte offset in a binary file; -1 when not applicable
  std::int64_t seq = -1;     // event seq; -1 when not applicable
  std::string field;         // field or config key; may be empty
  std::string message;       // what is wrong / what was expected

  // "events.jsonl:12: field 'qty': not a decimal number", control bytes
  // escaped (printable()).
  std::string describe() const;
  int exit_code() const { return kind == ErrorKind::corrupt ? 3 : 2; }
};

inline Error make_error(ErrorKind kind, std::string message, std::string field = {}) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.field = std::move(field);
  return e;
}

// An error about a whole file (cannot open, cannot write), naming it.
// Input text quoted in a message, cut to its first 48 bytes when it is long
// (a megabyte-long number is named, not echoed).
inline std::string excerpt(std::string_view text) {
  if (text.size() <= 64) return std::string(text);
  return std::string(text.substr(0, 48)) + "... (" + std::to_string(text.size()) + " bytes)";
}

// TEXT with every control byte (0x00-0x1f, 0x7f) written as \xNN, so a name
// or value echoed into a message cannot ring the terminal's bell, move its
// cursor or recolour it (an ESC sequence in an asset name, say). Every message
// liqsim prints to stderr goes through it (Error::describe escapes each part).
std::string printable(std::string_view text);

// An operating-system failure on a file, kind io: "what: reason", with
// ENOSPC spelled "no space left on device". Defined in error.cpp.
Error make_os_error(const std::string& file, const std::string& what, int err);

inline Error make_file_error(ErrorKind kind, std::string file, std::string message) {
  Error e = make_error(kind, std::move(message));
  e.file = std::move(file);
  return e;
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  // User-provided, not defaulted: `return {};` on a hot path would otherwise
  // value-initialize, zeroing the whole (disengaged) Error first.
  Status() noexcept {}
  Status(Error e) : e_(std::move(e)) {}
  static Status success() { return {}; }
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "liqsim: internal error: %s (%s) at %s:%d\n", msg, expr, file, line);
  std::abort();
}

}  // namespace liqsim

#define LIQSIM_ASSERT(cond, msg) ((cond) ? (void)0 : ::liqsim::assert_fail(#cond, __FILE__, __LINE__, msg))
