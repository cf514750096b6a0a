// math.cpp — e^x, ln x, normal draws and the Cholesky factor of the Monte
// Carlo paths (stress_run.hpp), from IEEE double's basic operations only.
//
// Why not <cmath>: glibc's exp and log are not correctly rounded and a
// compiler may fold a call at compile time with another library (MPFR), so
// the same source could give different bits in two builds. +, −, ×, ÷ and
// √ are correctly rounded by IEEE 754 and std::ldexp / std::frexp are exact,
// so these functions give the same bits everywhere; the module is compiled
// with -ffp-contract=off so no build fuses a multiply and an add. The
// determinism audit (tools/ci_extra.sh) compares a GBM stress run's path
// hashes between the gcc release, sanitizer and clang builds.
#include <cmath>
#include <limits>

#include "liqsim/stress_run.hpp"

namespace liqsim {

namespace {

// ln 2 split so that k·kLn2Hi is exact for |k| < 2^20 (Cody and Waite).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;

}  // namespace

double stress_exp(double x) {
  if (x != x) return x;
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  // x = k ln2 + r, |r| ≤ ln2 / 2: e^x = 2^k e^r.
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // e^r by its Taylor series to r^17/17! (|r| ≤ 0.347: the next term is < 1e-19).
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 17; ++i) {
    term = term * r / static_cast<double>(i);
    sum = sum + term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

double stress_log(double x) {
  if (!(x > 0.0)) return x == 0.0 ? -HUGE_VAL : std::numeric_limits<double>::quiet_NaN();
  if (x == HUGE_VAL) return x;
  // x = m 2^e with m in [√½, √2): ln x = e ln2 + ln m, ln m = 2 atanh(t), t = (m − 1)/(m + 1).
  int e = 0;
  double m = std::frexp(x, &e);  // m in [0.5, 1)
  if (m < kSqrtHalf) {
    m = m * 2.0;
    e = e - 1;
  }
  const double t = (m - 1.0) / (m + 1.0);  // |t| ≤ 0.1716
  const double t2 = t * t;
  // 2 Σ t^(2j+1) / (2j+1) for j ≤ 13 (the next term is < 1e-21).
  double power = t, sum = 0.0;
  for (int j = 0; j <= 13; ++j) {
    sum = sum + power / static_cast<double>(2 * j + 1);
    power = power * t2;
  }
  const double de = static_cast<double>(e);
  return de * kLn2Hi + (2.0 * sum + de * kLn2Lo);
}

double NormalSampler::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  constexpr double kUnit = 1.0 / 9007199254740992.0;  // 2^-53
  for (;;) {
    // Uniform in (−1, 1): (2j + 1) 2^-53 − 1 for j in [0, 2^53).
    const double u = static_cast<double>((rng_.next() >> 11) * 2 + 1) * kUnit - 1.0;
    const double v = static_cast<double>((rng_.next() >> 11) * 2 + 1) * kUnit - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    const double f = std::sqrt(-2.0 * stress_log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
}

Result<std::vector<double>> cholesky(const std::vector<double>& c, std::size_t n) {
  auto refuse = [](std::string what) { return make_error(ErrorKind::config, std::move(what)); };
  if (c.size() != n * n) return refuse("the matrix is not " + std::to_string(n) + " x " + std::to_string(n));
  for (std::size_t i = 0; i < n; ++i) {
    if (c[i * n + i] != 1.0)
      return refuse("entry [" + std::to_string(i) + "][" + std::to_string(i) + "] of the diagonal is not 1");
    for (std::size_t j = 0; j < n; ++j) {
      if (!(c[i * n + j] >= -1.0 && c[i * n + j] <= 1.0))
        return refuse("entry [" + std::to_string(i) + "][" + std::to_string(j) + "] is outside [-1, 1]");
      if (c[i * n + j] != c[j * n + i])
        return refuse("it is not symmetric: [" + std::to_string(i) + "][" + std::to_string(j) +
                      "] differs from [" + std::to_string(j) + "][" + std::to_string(i) + "]");
    }
  }
  std::vector<double> l(n * n, 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    double d = c[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d = d - l[j * n + k] * l[j * n + k];
    if (d < -1e-9)
      return refuse("it is not positive semi-definite (pivot " + std::to_string(j) + " is negative)");
    const bool dependent = d <= 1e-12;
    l[j * n + j] = dependent ? 0.0 : std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = c[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s = s - l[i * n + k] * l[j * n + k];
      if (dependent) {
        if (s > 1e-9 || s < -1e-9)
          return refuse("it is not positive semi-definite (row " + std::to_string(i) +
                        " against dependent row " + std::to_string(j) + ")");
        l[i * n + j] = 0.0;
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

}  // namespace liqsim
