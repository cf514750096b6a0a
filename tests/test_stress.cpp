// Stress statistics (stress.hpp): the fixed VaR/ES estimator on hand-checked
// loss lists, the exact integer square root, simple and FHS losses. The
// command on real data against an independent implementation is
// tests/cli_stress.sh.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "liqsim/stress.hpp"
#include "liqsim/stress_run.hpp"

using namespace liqsim;

namespace {

Ratio r(const char* text) { return Ratio::parse_or_throw(text); }

std::vector<Ratio> units(int from, int to) {
  std::vector<Ratio> out;
  for (int i = from; i <= to; ++i) out.push_back(Ratio::from_units(i));
  return out;
}

LossStats stats(std::vector<Ratio> losses, const char* alpha) {
  auto s = var_es(std::move(losses), r(alpha));
  REQUIRE(s.ok());
  return *s;
}

}  // namespace

TEST_CASE("VaR and ES by the fixed estimator, w = n(1 - alpha) whole and not", "[stress]") {
  // 1..10, alpha 0.9: w = 1, VaR = L(1) = 10, ES = 10 / 1.
  LossStats a = stats(units(1, 10), "0.9");
  CHECK(a.var.str() == "10");
  CHECK(a.es.str() == "10");
  CHECK(a.worst.str() == "10");
  CHECK(a.mean.str() == "5.5");
  // alpha 0.75: w = 2.5, VaR = L(3) = 8, ES = (10 + 9 + 0.5 × 8) / 2.5 = 9.2.
  LossStats b = stats(units(1, 10), "0.75");
  CHECK(b.var.str() == "8");
  CHECK(b.es.str() == "9.2");
  // alpha 0.99 over 10: w = 0.1 < 1, VaR = L(1), ES = 0.1 × 10 / 0.1 = 10.
  LossStats c = stats(units(1, 10), "0.99");
  CHECK(c.var.str() == "10");
  CHECK(c.es.str() == "10");
  // 500 paths at 99 %: the 5th worst, and the mean of the 5 worst (the example).
  LossStats d = stats(units(1, 500), "0.99");
  CHECK(d.var.str() == "496");
  CHECK(d.es.str() == "498");
  // Order does not matter.
  std::vector<Ratio> shuffled = {r("3"), r("500"), r("1"), r("499")};
  for (Ratio x : units(2, 498))
    if (x.str() != "3") shuffled.push_back(x);
  CHECK(stats(shuffled, "0.99").es.str() == "498");
}

TEST_CASE("ES is rounded down to 8 decimals; gains are negative losses", "[stress]") {
  // {1, 0, 0} at 0.5: w = 1.5, VaR = L(2) = 0, ES = (1 + 0.5 × 0) / 1.5 = 0.666666666... → 0.66666666.
  LossStats a = stats({r("0"), r("1"), r("0")}, "0.5");
  CHECK(a.var.str() == "0");
  CHECK(a.es.str() == "0.66666666");
  // {-1, -2, -3} at 0.5: w = 1.5, VaR = L(2) = -2, ES = (-1 + 0.5 × -2) / 1.5 = -1.333...→ -1.33333334.
  LossStats b = stats({r("-3"), r("-1"), r("-2")}, "0.5");
  CHECK(b.var.str() == "-2");
  CHECK(b.es.str() == "-1.33333334");
  CHECK(b.mean.str() == "-2");
}

TEST_CASE("the estimator refuses no losses and alpha outside (0, 1)", "[stress]") {
  CHECK_FALSE(var_es({}, r("0.99")).ok());
  for (const char* bad : {"0", "1", "-0.5", "1.5"}) {
    auto s = var_es(units(1, 3), r(bad));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::usage);
  }
}

TEST_CASE("isqrt is the exact floor of the square root", "[stress]") {
  using u128 = unsigned __int128;
  CHECK(isqrt(0) == 0);
  CHECK(isqrt(1) == 1);
  CHECK(isqrt(3) == 1);
  CHECK(isqrt(4) == 2);
  CHECK(isqrt(99) == 9);
  for (u128 x : {u128(1) << 62, (u128(1) << 62) + 12345, u128(999'999'999'999ULL), (u128(1) << 63) + 7}) {
    const u128 s = isqrt(x * x);
    CHECK(s == x);
    CHECK(isqrt(x * x + 2 * x) == x);  // just below (x + 1)²
    CHECK(isqrt(x * x - 1) == x - 1);
  }
  const u128 top = ~u128(0);
  const u128 s = isqrt(top);
  CHECK(s * s <= top);
  CHECK(s == (u128(1) << 64) - 1);
}

TEST_CASE("simple losses of a long and a short, rounded up", "[stress]") {
  const std::vector<Price> p = {Price::parse_or_throw("100"), Price::parse_or_throw("90"),
                                Price::parse_or_throw("99"), Price::parse_or_throw("66")};
  auto l = simple_losses(p, PositionSide::long_side);
  REQUIRE(l.ok());
  REQUIRE(l->size() == 3);
  CHECK((*l)[0].str() == "0.1");
  CHECK((*l)[1].str() == "-0.1");
  CHECK((*l)[2].str() == "0.33333334");  // 33/99 = 0.333..., up
  auto s = simple_losses(p, PositionSide::short_side);
  REQUIRE(s.ok());
  CHECK((*s)[0].str() == "-0.1");
  CHECK((*s)[2].str() == "-0.33333333");  // -0.333..., up is toward zero
  CHECK(simple_losses({Price::parse_or_throw("1")}, PositionSide::long_side)->empty());
}

TEST_CASE("FHS rescales each loss by today's EWMA volatility over the volatility before it", "[stress]") {
  // Losses 0.1, 0.3 (returns -0.1, -0.3), lambda 0.5, at 1e16: squares 1e14, 9e14;
  // σ² starts at their mean 5e14; σ before the first = ⌊√5e14⌋ = 22360679;
  // σ² = 0.5 × 5e14 + 0.5 × 1e14 = 3e14, σ before the second = ⌊√3e14⌋ = 17320508;
  // σ² = 0.5 × 3e14 + 0.5 × 9e14 = 6e14, σ now = ⌊√6e14⌋ = 24494897.
  // Scaled, up: 0.1 × 24494897 / 22360679 = 0.10954451..., 0.3 × 24494897 / 17320508 = 0.42426406...
  auto f = fhs_losses({r("0.1"), r("0.3")}, r("0.5"));
  REQUIRE(f.ok());
  REQUIRE(f->size() == 2);
  CHECK((*f)[0].str() == "0.10954452");
  CHECK((*f)[1].str() == "0.42426407");
  CHECK_FALSE(fhs_losses({r("0.1")}, r("1")).ok());
  CHECK_FALSE(fhs_losses({r("20000")}, r("0.94")).ok());
}

TEST_CASE("the estimator from the largest losses alone equals the whole list's", "[stress]") {
  // 250 losses 1..250: at 99 %, w = 2.5, VaR = L(3) = 248, ES = (250 + 249 + 0.5 × 248) / 2.5 = 249.2.
  std::vector<Ratio> all, largest;
  for (int i = 1; i <= 250; ++i) all.push_back(Ratio::from_raw(std::int64_t{i} * kScale));
  for (int i = 248; i <= 250; ++i) largest.push_back(Ratio::from_raw(std::int64_t{i} * kScale));
  auto whole = var_es(all, r("0.99"));
  auto tail = var_es_of_largest(largest, 250, r("0.99"));
  REQUIRE(whole.ok());
  REQUIRE(tail.ok());
  CHECK(whole->var.str() == "248");
  CHECK(whole->es.str() == "249.2");
  CHECK(tail->var == whole->var);
  CHECK(tail->es == whole->es);
  // Too few kept losses is refused, not guessed.
  CHECK_FALSE(var_es_of_largest({Ratio::from_raw(kScale)}, 250, r("0.99")).ok());
}

TEST_CASE("stress_exp and stress_log agree with the exact values to 1e-15", "[stress]") {
  // Reference values to 20 digits (e.g. e^1, ln 2, e^-0.5, ln 10).
  const std::pair<double, double> exps[] = {{1.0, 2.71828182845904523536},
                                            {-0.5, 0.60653065971263342360},
                                            {0.001, 1.00100050016670834168},
                                            {-3.0, 0.04978706836786394298},
                                            {10.0, 22026.465794806716517}};
  for (const auto& [x, want] : exps) CHECK(std::abs(stress_exp(x) / want - 1.0) < 1e-15);
  const std::pair<double, double> logs[] = {{2.0, 0.69314718055994530942},
                                            {10.0, 2.30258509299404568402},
                                            {0.3, -1.20397280432593599263},
                                            {1e-9, -20.7232658369464111659},
                                            {1.0 + 1.0 / 1048576.0, 9.53673861659188233908e-07}};
  for (const auto& [x, want] : logs) CHECK(std::abs(stress_log(x) / want - 1.0) < 1e-14);
  CHECK(stress_log(1.0) == 0.0);
  CHECK(stress_exp(0.0) == 1.0);
}

TEST_CASE("the normal sampler: mean 0, variance 1, the same stream for a seed", "[stress]") {
  NormalSampler a(42), b(42);
  double sum = 0, sq = 0;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const double z = a.next();
    CHECK(z == b.next());
    sum += z;
    sq += z * z;
  }
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::abs(sq / n - 1.0) < 0.01);
}

TEST_CASE("the Cholesky factor of a correlation, and matrices that are not one", "[stress]") {
  auto l = cholesky({1, 0.6, 0.6, 1}, 2);
  REQUIRE(l.ok());
  CHECK((*l)[0] == 1.0);
  CHECK(std::abs((*l)[2] - 0.6) < 1e-15);
  CHECK(std::abs((*l)[3] - 0.8) < 1e-15);
  CHECK(cholesky({1, 1, 1, 1}, 2).ok());            // singular but positive semi-definite
  CHECK_FALSE(cholesky({1, 0.5, 0.4, 1}, 2).ok());  // not symmetric
  CHECK_FALSE(cholesky({1, 0.9, -0.9, 0.9, 1, 0.9, -0.9, 0.9, 1}, 3).ok());  // not PSD
  CHECK_FALSE(cholesky({2, 0, 0, 1}, 2).ok());                               // not a unit diagonal
}

TEST_CASE("a scenario's statistics do not depend on the order or the parts its paths come in", "[stress]") {
  // 250 paths of one scenario, two accounts; the statistics of the paths in
  // order against those of three shards' parts (p mod 3) offered in reverse,
  // the way `liqsim stress merge` offers them.
  Symbols symbols;
  StressFrame frame;
  frame.symbols = &symbols;
  frame.insurance_fund = Usd::from_units(1000);
  Scenario sc;
  sc.name = "s";
  sc.paths = 250;
  frame.scenarios.push_back(sc);
  frame.first_path.push_back(0);
  frame.paths = 250;
  for (const char* name : {"a", "b"}) {
    StressAccount x;
    x.name = symbols.intern(name);
    x.maintenance = 50 * kScale;
    frame.accounts.push_back(x);
  }
  std::vector<PathResult> paths;
  std::uint64_t x = 99;
  for (std::int64_t p = 0; p < 250; ++p) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    PathResult r;
    r.path = p;
    r.index = p;
    r.bad_debt = Usd::from_raw(static_cast<std::int64_t>((x >> 33) % 7) * kScale);  // many ties
    r.liquidated_notional = Usd::from_raw(static_cast<std::int64_t>((x >> 20) % 100'000) * kScale);
    r.fund_min = Usd::from_raw(1000 * kScale - static_cast<std::int64_t>((x >> 40) % 2000) * kScale);
    if (r.bad_debt.is_positive()) {
      r.adl_amount = Usd::from_raw(static_cast<std::int64_t>((x >> 45) % 2) * kScale);
      r.deficits = {{frame.accounts[p % 2].name, r.bad_debt}};
    }
    r.equity_loss = {static_cast<std::int64_t>((x >> 13) % 9000) * kScale / 100,
                     -static_cast<std::int64_t>((x >> 17) % 500) * kScale / 10};
    paths.push_back(r);
  }
  ScenarioAccumulator whole(frame, 0);
  for (const PathResult& p : paths) whole.add(p);
  std::vector<ScenarioAccumulator> parts;
  for (int k = 0; k < 3; ++k) {
    parts.emplace_back(frame, 0);
    for (const PathResult& p : paths)
      if (p.path % 3 == k) parts.back().add(p);
  }
  ScenarioAccumulator joined(frame, 0);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    joined.offer_worst(it->worst_path(), it->worst_bad_debt(), it->cover());
    for (std::size_t a = 0; a < it->tails().size(); ++a)
      for (std::int64_t loss : it->tails()[a]) joined.offer_loss(a, loss);
  }
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    const UsdSum draw = UsdSum::from_raw(std::max<__int128>(0, __int128(1000 * kScale) - it->fund_min.raw()));
    joined.add_figures(it->bad_debt, it->liquidated_notional, draw,
                       it->adl_amount.is_positive() || it->socialized_loss.is_positive());
  }
  auto a = whole.finish();
  auto b = joined.finish();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->worst_path == b->worst_path);
  CHECK(a->worst_path >= 0);
  CHECK(paths[static_cast<std::size_t>(a->worst_path)].bad_debt.str() == "6");
  CHECK(a->cover == b->cover);
  CHECK(a->exhausted_paths == b->exhausted_paths);
  for (auto f :
       {&ScenarioStats::bad_debt, &ScenarioStats::liquidated_notional, &ScenarioStats::insurance_drawdown}) {
    CHECK((*a.*f).mean == (*b.*f).mean);
    CHECK((*a.*f).var99 == (*b.*f).var99);
    CHECK((*a.*f).es975 == (*b.*f).es975);
    CHECK((*a.*f).es95 == (*b.*f).es95);
  }
  REQUIRE(a->accounts.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(a->accounts[i].var99 == b->accounts[i].var99);
    CHECK(a->accounts[i].es99 == b->accounts[i].es99);
  }
  CHECK(a->accounts_covered == b->accounts_covered);
}
