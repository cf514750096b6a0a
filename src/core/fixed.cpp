#include "liqsim/fixed.hpp"

#include <array>
#include <cstring>

namespace liqsim {

namespace detail {
void throw_overflow(const char* what) {
  throw OverflowError(std::string("arithmetic outside the representable range (") + what + ")");
}
}  // namespace detail

namespace {
Error decimal_error(const char* message) { return make_error(ErrorKind::input, message); }
}  // namespace

Result<std::int64_t> parse_decimal_raw(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  // Integer part: digits, at least one (JSON style "0.5"; ".5" is refused).
  std::size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::size_t int_end = i;
  if (int_end == int_begin) return decimal_error("not a decimal number");
  std::size_t frac_begin = i, frac_end = i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    frac_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
    if (frac_end == frac_begin) return decimal_error("not a decimal number");
  }
  // An exponent is accepted (JSON numbers may carry one) and applied exactly.
  long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) exp_negative = text[i++] == '-';
    std::size_t exp_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (exponent < 100000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) return decimal_error("not a decimal number");
    if (exp_negative) exponent = -exponent;
  }
  if (i != text.size()) return decimal_error("not a decimal number");

  // Digits as one string, with the decimal point at position `point`.
  std::string digits(text.substr(int_begin, int_end - int_begin));
  digits.append(text.substr(frac_begin, frac_end - frac_begin));
  long point = static_cast<long>(int_end - int_begin) + exponent;
  // Value = digits × 10^(point − len). Raw = value × 10^8.
  long shift = point - static_cast<long>(digits.size()) + kFractionDigits;
  detail::i128 raw = 0;
  const detail::i128 limit = detail::i128(INT64_MAX) + 1;
  long n = static_cast<long>(digits.size());
  long keep = shift >= 0 ? n : n + shift;  // digits that land at or above 1e-8
  for (long k = 0; k < n; ++k) {
    int d = digits[k] - '0';
    if (k >= keep) {
      if (d != 0) return decimal_error("more than 8 fractional digits");
      continue;
    }
    raw = raw * 10 + d;
    if (raw > limit) return decimal_error("outside the representable range");
  }
  for (long k = 0; k < shift; ++k) {
    if (raw == 0) break;
    raw *= 10;
    if (raw > limit) return decimal_error("outside the representable range");
  }
  if (negative) raw = -raw;
  if (raw > INT64_MAX || raw < INT64_MIN) return decimal_error("outside the representable range");
  return static_cast<std::int64_t>(raw);
}

namespace {
// "00" "01" ... "99": two digits per division.
constexpr auto kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[static_cast<std::size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    t[static_cast<std::size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// In 64 bits, into the end of buf: the form format_decimal_generic gives.
// Returns the first character; the text runs to buf + 48.
char* decimal_digits(std::int64_t raw, char (&buf)[48]) {
  static_assert(kFractionDigits == 8 && kScale == 100'000'000);
  const bool negative = raw < 0;
  const std::uint64_t mag =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(raw) : static_cast<std::uint64_t>(raw);
  constexpr auto kScale64 = static_cast<std::uint64_t>(kScale);
  std::uint64_t int_part = mag / kScale64;
  auto frac = static_cast<std::uint32_t>(mag % kScale64);
  char* p = buf + sizeof buf;
  if (frac != 0) {
    char f[8];
    for (int k = 6; k >= 0; k -= 2) {
      std::memcpy(f + k, &kDigitPairs[2 * (frac % 100)], 2);
      frac /= 100;
    }
    std::size_t len = 8;
    while (f[len - 1] == '0') --len;  // frac != 0: some digit is not
    p -= len;
    std::memcpy(p, f, len);
    *--p = '.';
  }
  while (int_part >= 100) {
    p -= 2;
    std::memcpy(p, &kDigitPairs[2 * (int_part % 100)], 2);
    int_part /= 100;
  }
  if (int_part >= 10) {
    p -= 2;
    std::memcpy(p, &kDigitPairs[2 * int_part], 2);
  } else {
    *--p = static_cast<char>('0' + int_part);
  }
  if (negative) *--p = '-';
  return p;
}
}  // namespace

std::string format_decimal_raw(std::int64_t raw) {
  // Short enough for the small-string buffer: no allocation.
  char buf[48];
  const char* p = decimal_digits(raw, buf);
  return std::string(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

void append_decimal_raw(std::string& out, std::int64_t raw) {
  char buf[48];
  const char* p = decimal_digits(raw, buf);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

std::string format_decimal_wide(__int128 raw) {
  if (raw >= INT64_MIN && raw <= INT64_MAX) return format_decimal_raw(static_cast<std::int64_t>(raw));
  return detail::format_decimal_generic(raw);
}

std::string detail::format_decimal_generic(__int128 raw) {
  bool negative = raw < 0;
  unsigned __int128 mag = negative ? static_cast<unsigned __int128>(0) - static_cast<unsigned __int128>(raw)
                                   : static_cast<unsigned __int128>(raw);
  unsigned __int128 int_part = mag / kScale;
  auto frac_part = static_cast<std::uint64_t>(mag % kScale);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(int_part % 10)));
    int_part /= 10;
  } while (int_part != 0);
  std::string out;
  if (negative) out.push_back('-');
  out.append(digits.rbegin(), digits.rend());
  if (frac_part != 0) {
    char buf[kFractionDigits + 1];
    for (int k = kFractionDigits - 1; k >= 0; --k) {
      buf[k] = static_cast<char>('0' + frac_part % 10);
      frac_part /= 10;
    }
    int len = kFractionDigits;
    while (len > 0 && buf[len - 1] == '0') --len;
    out.push_back('.');
    out.append(buf, static_cast<std::size_t>(len));
  }
  return out;
}

}  // namespace liqsim
