#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "liqsim/fixed.hpp"

using namespace liqsim;

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
  std::int64_t raw = 0;
  CHECK(parse_decimal_raw("0.000000001", raw) == "more than 8 fractional digits");
  CHECK(parse_decimal_raw("0.000000010", raw).empty());
  CHECK(raw == 1);
  CHECK(parse_decimal_raw("1e-9", raw) == "more than 8 fractional digits");
}

TEST_CASE("malformed decimal text is refused", "[fixed]") {
  std::int64_t raw = 0;
  for (const char* bad : {"", "-", ".5", "5.", "1..2", "abc", "1,5", "0x10", " 1", "1 ", "1e", "--1", "NaN", "inf"}) {
    INFO(bad);
    CHECK(parse_decimal_raw(bad, raw) == "not a decimal number");
  }
}

TEST_CASE("the representable range is int64 of 1e-8 units, checked at both ends", "[fixed]") {
  std::int64_t raw = 0;
  CHECK(parse_decimal_raw("92233720368.54775807", raw).empty());
  CHECK(raw == INT64_MAX);
  CHECK(parse_decimal_raw("92233720368.54775808", raw) == "outside the representable range");
  CHECK(parse_decimal_raw("-92233720368.54775808", raw).empty());
  CHECK(raw == INT64_MIN);
  CHECK(parse_decimal_raw("-92233720368.54775809", raw) == "outside the representable range");
  CHECK(parse_decimal_raw("1e30", raw) == "outside the representable range");
  CHECK_THROWS_AS(Usd::max() + Usd::from_raw(1), OverflowError);
  CHECK_THROWS_AS(Usd::from_raw(INT64_MIN) - Usd::from_raw(1), OverflowError);
  CHECK_THROWS_AS(-Usd::from_raw(INT64_MIN), OverflowError);
  CHECK_THROWS_AS((mul<Usd>(Price::from_units(1'000'000), Qty::from_units(1'000'000), Round::down)), OverflowError);
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
    std::int64_t back = 0;
    REQUIRE(parse_decimal_raw(text, back).empty());
    REQUIRE(back == raw);
    REQUIRE(format_decimal_raw(back) == text);
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
