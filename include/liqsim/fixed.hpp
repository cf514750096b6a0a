// fixed.hpp — exact decimal money.
//
// Owns the fixed-point number types every state transition uses: Price,
// Qty (position size), Amount (a balance of some asset), Usd (value in the
// numeraire) and Ratio (margin ratios, weights, rates). Each is a signed
// 64-bit count of 1e-8 units, so "63250.5" is exactly 6325050000000.
//
// Guarantees:
// - Parsing reads the decimal text exactly (never through double); more than
//   8 fractional digits is an error unless the extra digits are zeros.
// - Printing is canonical: no exponent, no trailing zeros, no "+", never "-0".
// - Every operation is checked: a result outside the int64 range throws
//   OverflowError (a named error, never undefined behaviour).
// - Every multiplication or division that can lose digits takes an explicit
//   Round: `down` is toward minus infinity, `up` toward plus infinity.
//   The protocol-favour rule is the caller's: requirements up, values down.
// - Products and quotients use 128-bit intermediates.
#pragma once

#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "liqsim/error.hpp"

namespace liqsim {

inline constexpr int kFractionDigits = 8;
inline constexpr std::int64_t kScale = 100'000'000;

enum class Round : std::uint8_t { down, up };

// Thrown by checked arithmetic. The replay driver turns it into an input
// error that names the event; it never reaches a user as a crash.
class OverflowError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

using i128 = __int128;

[[noreturn]] void throw_overflow(const char* what);

inline std::int64_t narrow(i128 v, const char* what) {
  if (v > INT64_MAX || v < INT64_MIN) throw_overflow(what);
  return static_cast<std::int64_t>(v);
}

// floor or ceil of n / d for any signs, d != 0: the reference, one 128-bit
// division (a call into the compiler's runtime). div_round gives the same
// result faster; tests/test_fixed.cpp checks them against each other.
inline i128 div_round_generic(i128 n, i128 d, Round r) {
  i128 q = n / d;
  i128 rem = n % d;
  if (rem != 0) {
    bool negative = (rem < 0) != (d < 0);
    if (r == Round::down && negative) q -= 1;
    if (r == Round::up && !negative) q += 1;
  }
  return q;
}

// |n| / d and |n| % d for |n| < d · 2^64 (so the quotient fits 64 bits) and
// 0 < d < 2^64. By the constant 1e8 (every fixed-point multiply): long
// division in base 2^32, two 64-bit divisions by a constant, which the
// compiler turns into multiplications (1e8 < 2^27 keeps each step in 64
// bits). Otherwise one 128-by-64-bit hardware division on x86-64.
struct UDiv {
  std::uint64_t q, r;
};
inline UDiv udiv_scale(std::uint64_t hi, std::uint64_t lo) {
  constexpr std::uint64_t kD = static_cast<std::uint64_t>(kScale);
  const std::uint64_t t1 = (hi << 32) | (lo >> 32);
  const std::uint64_t q1 = t1 / kD, r1 = t1 % kD;
  const std::uint64_t t0 = (r1 << 32) | (lo & 0xffffffffu);
  return UDiv{(q1 << 32) + t0 / kD, t0 % kD};
}
#if defined(__x86_64__)
inline UDiv udiv_128_64(std::uint64_t hi, std::uint64_t lo, std::uint64_t d) {
  std::uint64_t q, r;
  __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
  return UDiv{q, r};
}
#endif

// floor or ceil of n / d for any signs, d != 0: exactly div_round_generic.
inline i128 div_round(i128 n, i128 d, Round r) {
  using u128 = unsigned __int128;
  if (d > 0 && d <= static_cast<i128>(UINT64_MAX >> 1)) {
    const bool neg = n < 0;
    const u128 un = neg ? static_cast<u128>(0) - static_cast<u128>(n) : static_cast<u128>(n);
    const auto hi = static_cast<std::uint64_t>(un >> 64), lo = static_cast<std::uint64_t>(un);
    const auto ud = static_cast<std::uint64_t>(d);
    if (hi < ud) {
      UDiv qr{};
      bool done = true;
      if (ud == static_cast<std::uint64_t>(kScale)) {
        qr = udiv_scale(hi, lo);
      } else if (hi == 0) {
        qr = UDiv{lo / ud, lo % ud};
      } else {
#if defined(__x86_64__)
        qr = udiv_128_64(hi, lo, ud);
#else
        done = false;
#endif
      }
      if (done) {
        // Truncated toward zero, the remainder with n's sign: round as the reference does.
        i128 q = neg ? -static_cast<i128>(qr.q) : static_cast<i128>(qr.q);
        if (qr.r != 0) {
          if (r == Round::down && neg) q -= 1;
          if (r == Round::up && !neg) q += 1;
        }
        return q;
      }
    }
  }
  return div_round_generic(n, d, r);
}

}  // namespace detail

// Parse a decimal string into raw 1e-8 units: the raw count, or an input
// Error whose message (no field, no file) says what is wrong ("not a decimal
// number", "more than 8 fractional digits", "outside the representable
// range"); callers add the field and the text.
Result<std::int64_t> parse_decimal_raw(std::string_view text);
// Canonical text of a raw 1e-8 count.
std::string format_decimal_raw(std::int64_t raw);
// The same text appended to out (no temporary string).
void append_decimal_raw(std::string& out, std::int64_t raw);
std::string format_decimal_wide(__int128 raw);
namespace detail {
// The digit-by-digit 128-bit formatter: what format_decimal_wide gives for
// any value (its 64-bit fast path is tested against this).
std::string format_decimal_generic(__int128 raw);
}  // namespace detail

template <class Tag>
class Fixed {
 public:
  constexpr Fixed() = default;
  static constexpr Fixed from_raw(std::int64_t raw) { return Fixed(raw); }
  static Fixed from_units(std::int64_t units) {
    return Fixed(detail::narrow(detail::i128(units) * kScale, "from_units"));
  }
  // For tests and constants: throws std::invalid_argument on bad text.
  static Fixed parse_or_throw(std::string_view text) {
    Result<std::int64_t> raw = parse_decimal_raw(text);
    if (!raw) throw std::invalid_argument(std::string(text) + ": " + raw.error().message);
    return Fixed(*raw);
  }

  constexpr std::int64_t raw() const { return raw_; }
  std::string str() const { return format_decimal_raw(raw_); }
  constexpr bool is_zero() const { return raw_ == 0; }
  constexpr bool is_positive() const { return raw_ > 0; }
  constexpr bool is_negative() const { return raw_ < 0; }
  constexpr int sign() const { return (raw_ > 0) - (raw_ < 0); }

  Fixed operator-() const { return Fixed(detail::narrow(-detail::i128(raw_), "negate")); }
  Fixed abs() const { return raw_ < 0 ? -*this : *this; }
  friend Fixed operator+(Fixed a, Fixed b) {
    return Fixed(detail::narrow(detail::i128(a.raw_) + b.raw_, "add"));
  }
  friend Fixed operator-(Fixed a, Fixed b) {
    return Fixed(detail::narrow(detail::i128(a.raw_) - b.raw_, "subtract"));
  }
  Fixed& operator+=(Fixed b) { return *this = *this + b; }
  Fixed& operator-=(Fixed b) { return *this = *this - b; }
  friend constexpr auto operator<=>(Fixed a, Fixed b) = default;
  friend constexpr bool operator==(Fixed a, Fixed b) = default;

  static constexpr Fixed zero() { return Fixed(0); }
  static constexpr Fixed one() { return Fixed(kScale); }
  static constexpr Fixed max() { return Fixed(INT64_MAX); }

 private:
  constexpr explicit Fixed(std::int64_t raw) : raw_(raw) {}
  std::int64_t raw_ = 0;
};

struct PriceTag {};
struct QtyTag {};
struct AmountTag {};
struct UsdTag {};
struct RatioTag {};

using Price = Fixed<PriceTag>;    // USD per unit of an asset
using Qty = Fixed<QtyTag>;        // contracts of a perpetual (units of its underlying)
using Amount = Fixed<AmountTag>;  // a balance in some asset's own units
using Usd = Fixed<UsdTag>;        // value in the numeraire
using Ratio = Fixed<RatioTag>;    // dimensionless: margin ratios, weights, rates

// Reinterpret across unit types where the units really are the same thing
// (a USD balance is both an Amount and a Usd). Explicit on purpose.
template <class To, class From>
constexpr To same_units(From v) {
  return To::from_raw(v.raw());
}

// a × b, rounded as asked, in the result type R.
template <class R, class A, class B>
R mul(A a, B b, Round r) {
  detail::i128 p = detail::i128(a.raw()) * b.raw();
  return R::from_raw(detail::narrow(detail::div_round(p, kScale, r), "multiply"));
}

// a ÷ b, rounded as asked. b must not be zero (a programmer error).
template <class R, class A, class B>
R div(A a, B b, Round r) {
  if (b.raw() == 0) detail::throw_overflow("divide by zero");
  detail::i128 n = detail::i128(a.raw()) * kScale;
  return R::from_raw(detail::narrow(detail::div_round(n, b.raw(), r), "divide"));
}

// a × b ÷ c with a single rounding; c must not be zero.
template <class R, class A, class B, class C>
R mul_div(A a, B b, C c, Round r) {
  if (c.raw() == 0) detail::throw_overflow("divide by zero");
  detail::i128 p = detail::i128(a.raw()) * b.raw();
  return R::from_raw(detail::narrow(detail::div_round(p, c.raw(), r), "multiply-divide"));
}

// A running total of Fixed<Tag> values in 128 bits: ledgers of the outside
// world and replay-wide sums (a million accounts can move more than the
// ±9.2e10 a single 64-bit value holds). Adding stays exact; at ±1.7e30 units
// it throws OverflowError like everything else.
template <class Tag>
class Sum {
 public:
  constexpr Sum() = default;
  Sum(Fixed<Tag> v) : raw_(v.raw()) {}
  static Sum from_raw(__int128 raw) {
    Sum s;
    return s.add(raw);
  }
  __int128 raw() const { return raw_; }
  Sum& operator+=(Fixed<Tag> v) { return add(v.raw()); }
  Sum& operator-=(Fixed<Tag> v) { return add(-static_cast<__int128>(v.raw())); }
  Sum& operator+=(Sum v) { return add(v.raw_); }
  Sum& operator-=(Sum v) { return add(-v.raw_); }
  friend Sum operator+(Sum a, Sum b) { return a += b; }
  friend Sum operator-(Sum a, Sum b) { return a -= b; }
  bool is_zero() const { return raw_ == 0; }
  bool is_positive() const { return raw_ > 0; }
  bool is_negative() const { return raw_ < 0; }
  friend auto operator<=>(Sum a, Sum b) = default;
  friend bool operator==(Sum a, Sum b) = default;
  std::string str() const { return format_decimal_wide(raw_); }
  double to_double() const { return static_cast<double>(raw_) / kScale; }

 private:
  Sum& add(__int128 d) {
    constexpr __int128 limit = static_cast<__int128>(1) << 120;
    __int128 next = raw_ + d;
    if (next > limit || next < -limit) detail::throw_overflow("running total");
    raw_ = next;
    return *this;
  }
  __int128 raw_ = 0;
};

using UsdSum = Sum<UsdTag>;
using AmountSum = Sum<AmountTag>;
using QtySum = Sum<QtyTag>;

template <class T>
T min_of(T a, T b) {
  return b < a ? b : a;
}
template <class T>
T max_of(T a, T b) {
  return a < b ? b : a;
}

}  // namespace liqsim
