// Issue 10: the smaller reliability findings that live in the core —
// control characters echoed into messages, and times formatted from any
// 64-bit value a database could hand back.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

#include "liqsim/error.hpp"
#include "liqsim/jsonl.hpp"

using namespace liqsim;

TEST_CASE("control characters in a message are written as \\xNN, everything else as it is", "[reliability]") {
  CHECK(printable("BTC\x1b[31mX\a") == "BTC\\x1b[31mX\\x07");
  CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(printable("tab\tnewline\ndel\x7f") == "tab\\x09newline\\x0adel\\x7f");
  CHECK(printable("plain ascii, UTF-8 \xc3\xa9 and a backslash \\") ==
        "plain ascii, UTF-8 \xc3\xa9 and a backslash \\");
}

TEST_CASE("an error names its file, field and message with their control characters escaped",
          "[reliability]") {
  Error e = make_error(ErrorKind::input, "market 'X\x1b]0;pwned\a' is not defined", "mar\nket");
  e.file =
      "ev\x1b"
      "ents.jsonl";
  e.line = 3;
  const std::string d = e.describe();
  CHECK(d == "ev\\x1bents.jsonl:3: field 'mar\\x0aket': market 'X\\x1b]0;pwned\\x07' is not defined");
  for (char c : d) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
}

TEST_CASE("times are formatted from any 64-bit millisecond value without overflow", "[reliability]") {
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339(1583973900000) == "2020-03-12T00:45:00.000Z");
  // INT64_MIN has no negation: the old formatter negated it (UBSan: signed
  // overflow). Any value must format to something, never undefined behaviour.
  CHECK_FALSE(format_rfc3339(std::numeric_limits<std::int64_t>::min()).empty());
  CHECK_FALSE(format_rfc3339(std::numeric_limits<std::int64_t>::max()).empty());
  CHECK(format_rfc3339(-86400000) == "1969-12-31T00:00:00.000Z");
}
