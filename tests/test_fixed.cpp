#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "liqsim/fixed.hpp"
#include "liqsim/splitmix64.hpp"

using namespace liqsim;

namespace {

// The raw count of text that must parse.
std::int64_t accepted(std::string_view text) {
  const Result<std::int64_t> r = parse_decimal_raw(text);
  INFO(text << ": " << (r ? std::string("ok") : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

// The message of text that must be refused (an input Error with no field).
std::string refusal(std::string_view text) {
  const Result<std::int64_t> r = parse_decimal_raw(text);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::input);
  CHECK(r.error().field.empty());
  return r.error().message;
}

}  // namespace

TEST_CASE("decimal text parses exactly and prints canonically", "[fixed]") {
  CHECK(Price::parse_or_throw("63250.5").raw() == 6325050000000);
  CHECK(Price::parse_or_throw("63250.50000000").str() == "63250.5");
  CHECK(Ratio::parse_or_throw("-0.0001").str() == "-0.0001");
  CHECK(Ratio::parse_or_throw("0.005").str() == "0.005");
  CHECK(Ratio::parse_or_throw("-0").str() == "0");
  CHECK(Usd::parse_or_throw("1e3").str() == "1000");
  CHECK(Usd::parse_or_throw("1.5E-7").raw() == 15);
  CHECK(Usd::parse_or_throw("0.00000001").raw() == 1);
  CHECK(Usd::parse_or_throw("12.000000010000").raw() == 1200000001);
}

TEST_CASE("more than 8 fractional digits is an error unless they are zeros", "[fixed]") {
  CHECK(refusal("0.000000001") == "more than 8 fractional digits");
  CHECK(accepted("0.000000010") == 1);
  CHECK(refusal("1e-9") == "more than 8 fractional digits");
}

TEST_CASE("malformed decimal text is refused", "[fixed]") {
  for (const char* bad :
       {"", "-", ".5", "5.", "1..2", "abc", "1,5", "0x10", " 1", "1 ", "1e", "--1", "NaN", "inf"}) {
    INFO(bad);
    CHECK(refusal(bad) == "not a decimal number");
  }
}

TEST_CASE("the representable range is int64 of 1e-8 units, checked at both ends", "[fixed]") {
  CHECK(accepted("92233720368.54775807") == INT64_MAX);
  CHECK(refusal("92233720368.54775808") == "outside the representable range");
  CHECK(accepted("-92233720368.54775808") == INT64_MIN);
  CHECK(refusal("-92233720368.54775809") == "outside the representable range");
  CHECK(refusal("1e30") == "outside the representable range");
  CHECK_THROWS_AS(Usd::max() + Usd::from_raw(1), OverflowError);
  CHECK_THROWS_AS(Usd::from_raw(INT64_MIN) - Usd::from_raw(1), OverflowError);
  CHECK_THROWS_AS(-Usd::from_raw(INT64_MIN), OverflowError);
  CHECK_THROWS_AS((mul<Usd>(Price::from_units(1'000'000), Qty::from_units(1'000'000), Round::down)),
                  OverflowError);
  CHECK_THROWS_AS((div<Usd>(Usd::one(), Ratio::zero(), Round::down)), OverflowError);
}

TEST_CASE("rounding goes the way it is asked, for every sign", "[fixed]") {
  // 1e-8 × 0.5 = 0.5e-8: down floors to 0, up ceils to 1e-8.
  Usd tiny = Usd::from_raw(1);
  Ratio half = Ratio::parse_or_throw("0.5");
  CHECK(mul<Usd>(tiny, half, Round::down).raw() == 0);
  CHECK(mul<Usd>(tiny, half, Round::up).raw() == 1);
  CHECK(mul<Usd>(-tiny, half, Round::down).raw() == -1);
  CHECK(mul<Usd>(-tiny, half, Round::up).raw() == 0);
  CHECK(div<Usd>(Usd::one(), Ratio::from_units(3), Round::down).str() == "0.33333333");
  CHECK(div<Usd>(Usd::one(), Ratio::from_units(3), Round::up).str() == "0.33333334");
  CHECK(div<Usd>(-Usd::one(), Ratio::from_units(3), Round::down).str() == "-0.33333334");
  CHECK(div<Usd>(-Usd::one(), Ratio::from_units(3), Round::up).str() == "-0.33333333");
  CHECK(div<Usd>(Usd::one(), -Ratio::from_units(3), Round::down).str() == "-0.33333334");
}

TEST_CASE("property: parse and print round trip on random values", "[fixed][property]") {
  std::mt19937_64 rng(20200312);
  for (int i = 0; i < 100000; ++i) {
    std::int64_t raw = static_cast<std::int64_t>(rng());
    if (i % 3 == 0) raw %= 100000000000LL;
    std::string text = format_decimal_raw(raw);
    const Result<std::int64_t> back = parse_decimal_raw(text);
    REQUIRE(back.ok());
    REQUIRE(*back == raw);
    REQUIRE(format_decimal_raw(*back) == text);
  }
}

TEST_CASE("property: up minus down is at most one unit and brackets the exact product", "[fixed][property]") {
  std::mt19937_64 rng(20210519);
  for (int i = 0; i < 100000; ++i) {
    auto a = Price::from_raw(static_cast<std::int64_t>(rng() % 10'000'000'000'000ULL) - 5'000'000'000'000LL);
    auto b = Qty::from_raw(static_cast<std::int64_t>(rng() % 1'000'000'000'000ULL) - 500'000'000'000LL);
    Usd lo = mul<Usd>(a, b, Round::down);
    Usd hi = mul<Usd>(a, b, Round::up);
    __int128 exact = static_cast<__int128>(a.raw()) * b.raw();
    REQUIRE(static_cast<__int128>(lo.raw()) * kScale <= exact);
    REQUIRE(static_cast<__int128>(hi.raw()) * kScale >= exact);
    REQUIRE(hi.raw() - lo.raw() == (exact % kScale == 0 ? 0 : 1));
  }
}

// Issue 12: div_round's fast paths (the constant 1e8 by long division in base
// 2^32, a 64-bit division, the 128-by-64-bit hardware division) give exactly
// the reference 128-bit division's floor and ceiling, for every sign and
// magnitude — including the edges where each path hands over to the next.
TEST_CASE("div_round: the fast paths equal the 128-bit reference", "[fixed]") {
  using detail::i128;
  using u128 = unsigned __int128;
  SplitMix64 rng(20261201);
  auto wide = [&](int bits) -> i128 {  // a random magnitude of up to `bits` bits, random sign
    u128 v = (static_cast<u128>(rng.next()) << 64) | rng.next();
    v = bits >= 128 ? v : v & ((static_cast<u128>(1) << bits) - 1);
    i128 x = static_cast<i128>(v >> 1);
    return (rng.next() & 1) ? -x : x;
  };
  const i128 scale = kScale;
  const i128 edges[] = {0,
                        1,
                        -1,
                        scale - 1,
                        scale,
                        scale + 1,
                        -scale,
                        static_cast<i128>(INT64_MAX),
                        static_cast<i128>(INT64_MIN),
                        scale * (static_cast<i128>(1) << 64) - 1,  // the last n the 1e8 path takes
                        scale * (static_cast<i128>(1) << 64),
                        -(scale * (static_cast<i128>(1) << 64) - 1),
                        -(scale * (static_cast<i128>(1) << 64)),
                        static_cast<i128>(static_cast<u128>(1) << 127 >> 1),
                        -static_cast<i128>(static_cast<u128>(1) << 126)};
  const i128 divisors[] = {1,
                           2,
                           3,
                           7,
                           scale - 1,
                           scale,
                           scale + 1,
                           1000000007,
                           static_cast<i128>(INT64_MAX),
                           static_cast<i128>(UINT64_MAX >> 1) + 1,
                           -1,
                           -scale,
                           static_cast<i128>(1) << 80};
  std::int64_t checked = 0;
  auto check = [&](i128 n, i128 d) {
    for (Round r : {Round::down, Round::up}) {
      if (detail::div_round(n, d, r) != detail::div_round_generic(n, d, r)) {
        FAIL("n=" << format_decimal_wide(n) << " d=" << format_decimal_wide(d) << " r=" << int(r));
      }
      ++checked;
    }
  };
  for (i128 n : edges)
    for (i128 d : divisors) {
      check(n, d);
      check(n + 1, d);
      check(n - 1, d);
    }
  for (int i = 0; i < 200000; ++i) {
    const int nbits = 1 + static_cast<int>(rng.next() % 127);
    const i128 n = wide(nbits + 1);
    i128 d = 0;
    switch (rng.next() % 4) {
      case 0:
        d = scale;
        break;
      case 1:
        d = wide(1 + static_cast<int>(rng.next() % 63) + 1);
        break;  // up to 64 bits
      case 2:
        d = static_cast<i128>(rng.next() >> 1);
        break;
      default:
        d = wide(1 + static_cast<int>(rng.next() % 100) + 1);
        break;
    }
    if (d == 0) d = 1;
    check(n, d);
    // The same quotient near the 64-bit boundary of the hardware path: n ≈ d · 2^64.
    if (d > 0 && d < (static_cast<i128>(1) << 62)) {
      const i128 edge = d * (static_cast<i128>(1) << 64);
      check(edge - 1, d);
      check(-(edge - 1), d);
      check(edge, d);
    }
  }
  CHECK(checked > 800000);
}

TEST_CASE("format_decimal: the 64-bit fast path writes what the 128-bit formatter writes", "[fixed]") {
  CHECK(format_decimal_raw(0) == "0");
  CHECK(format_decimal_raw(1) == "0.00000001");
  CHECK(format_decimal_raw(-1) == "-0.00000001");
  CHECK(format_decimal_raw(150'000'000) == "1.5");
  CHECK(format_decimal_raw(-100'000'000) == "-1");
  CHECK(format_decimal_raw(INT64_MIN) == "-92233720368.54775808");
  CHECK(format_decimal_raw(INT64_MAX) == "92233720368.54775807");
  CHECK(format_decimal_wide(static_cast<__int128>(INT64_MAX) + 1) == "92233720368.54775808");
  liqsim::SplitMix64 rng(808);
  for (int i = 0; i < 200'000; ++i) {
    // Every magnitude from 1 digit to 19, with trailing zeros of every length.
    const int digits = 1 + static_cast<int>(rng.below(19));
    std::uint64_t bound = 1;
    for (int d = 0; d < digits; ++d) bound *= 10;  // at most 1e19: fits in 64 bits unsigned
    auto v = static_cast<std::int64_t>(rng.below(bound) >> (bound > (std::uint64_t{1} << 62) ? 2 : 0));
    for (std::uint64_t z = rng.below(9); z > 0 && v <= INT64_MAX / 10; --z) v *= 10;
    if (rng.below(2) == 0) v = -v;
    REQUIRE(format_decimal_raw(v) == liqsim::detail::format_decimal_generic(v));
    REQUIRE(format_decimal_wide(v) == liqsim::detail::format_decimal_generic(v));
    std::string appended = "x";
    liqsim::append_decimal_raw(appended, v);
    REQUIRE(appended == "x" + liqsim::detail::format_decimal_generic(v));
  }
}
