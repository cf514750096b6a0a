// stress.cpp — VaR and ES, historical and filtered historical losses (stress.hpp).
#include "liqsim/stress.hpp"

#include <algorithm>

namespace liqsim {

namespace {

using i128 = __int128;
using u128 = unsigned __int128;

// floor(n / d) or ceil(n / d) for d > 0.
i128 div_floor(i128 n, i128 d) {
  i128 q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}
i128 div_ceil(i128 n, i128 d) {
  i128 q = n / d;
  if (n % d != 0 && n > 0) ++q;
  return q;
}

Ratio ratio_of(i128 raw) {
  if (raw > INT64_MAX || raw < INT64_MIN) throw OverflowError("a loss outside the representable range");
  return Ratio::from_raw(static_cast<std::int64_t>(raw));
}

}  // namespace

u128 isqrt(u128 v) {
  if (v < 2) return v;
  // Newton's method from above: x(k+1) = (x(k) + v / x(k)) / 2 decreases to ⌊√v⌋.
  u128 x = v;
  int bits = 0;
  for (u128 t = v; t > 0; t >>= 1) ++bits;
  x = u128(1) << ((bits + 1) / 2);  // ≥ √v
  for (;;) {
    const u128 y = (x + v / x) / 2;
    if (y >= x) return x;
    x = y;
  }
}

namespace {

// The estimator over the largest losses (sorted from the largest) of N.
Result<LossStats> estimate(std::vector<Ratio>& losses, std::int64_t count, Ratio alpha) {
  if (losses.empty() || count <= 0) return make_error(ErrorKind::usage, "no loss to take VaR and ES of");
  if (!alpha.is_positive() || alpha.raw() >= kScale)
    return make_error(ErrorKind::usage, "alpha must lie strictly between 0 and 1, not " + alpha.str());
  std::sort(losses.begin(), losses.end(), [](Ratio a, Ratio b) { return a > b; });
  const auto n = static_cast<i128>(count);
  // w = n(1 − α), at scale 1e8: exact.
  const i128 w = n * (kScale - alpha.raw());
  const i128 w_floor = w / kScale;
  const i128 w_ceil = div_ceil(w, kScale);
  const i128 frac = w - w_floor * kScale;  // (w − ⌊w⌋) at 1e8
  const i128 needed = std::min<i128>(n, std::max<i128>(w_ceil, w_floor + (frac != 0 ? 1 : 0)));
  if (static_cast<i128>(losses.size()) < needed)
    return make_error(ErrorKind::usage, "the estimator needs the " +
                                            std::to_string(static_cast<long long>(needed)) +
                                            " largest losses, not " + std::to_string(losses.size()));
  LossStats s;
  s.n = count;
  s.worst = losses.front();
  s.var = losses[static_cast<std::size_t>(std::max<i128>(w_ceil, 1) - 1)];
  i128 sum = 0;  // Σ_{i ≤ ⌊w⌋} L(i), at 1e8
  for (i128 i = 0; i < w_floor; ++i) sum += losses[static_cast<std::size_t>(i)].raw();
  i128 numerator = sum * kScale;  // at 1e16
  if (frac != 0) numerator += frac * losses[static_cast<std::size_t>(w_floor)].raw();
  s.es = ratio_of(div_floor(numerator, w));
  return s;
}

}  // namespace

Result<LossStats> var_es(std::vector<Ratio> losses, Ratio alpha) {
  auto s = estimate(losses, static_cast<std::int64_t>(losses.size()), alpha);
  if (!s) return s;
  i128 total = 0;
  for (Ratio l : losses) total += l.raw();
  s->mean = ratio_of(div_floor(total, static_cast<i128>(losses.size())));
  return s;
}

Result<LossStats> var_es_of_largest(std::vector<Ratio> largest, std::int64_t n, Ratio alpha) {
  return estimate(largest, n, alpha);
}

Result<std::vector<Ratio>> simple_losses(const std::vector<Price>& prices, PositionSide side) {
  std::vector<Ratio> out;
  if (prices.size() < 2) return out;
  out.reserve(prices.size() - 1);
  for (std::size_t t = 0; t + 1 < prices.size(); ++t) {
    const i128 p0 = prices[t].raw(), p1 = prices[t + 1].raw();
    // long: (p0 − p1) / p0; short: (p1 − p0) / p0; at 1e8, rounded up.
    if (p0 <= 0 || p1 <= 0) return make_error(ErrorKind::input, "a price that is not positive");
    const i128 num = (side == PositionSide::long_side ? p0 - p1 : p1 - p0) * kScale;
    const i128 raw = div_ceil(num, p0);
    if (raw > INT64_MAX || raw < INT64_MIN)
      return make_error(ErrorKind::input, "the move from " + prices[t].str() + " to " + prices[t + 1].str() +
                                              " is a loss outside the representable range");
    out.push_back(ratio_of(raw));
  }
  return out;
}

Result<std::vector<Ratio>> fhs_losses(const std::vector<Ratio>& losses, Ratio lambda) {
  std::vector<Ratio> out;
  if (losses.empty()) return out;
  if (!lambda.is_positive() || lambda.raw() >= kScale)
    return make_error(ErrorKind::usage, "lambda must lie strictly between 0 and 1, not " + lambda.str());
  constexpr std::int64_t kMaxLossRaw = 10'000 * kScale;
  for (Ratio l : losses)
    if (l.raw() > kMaxLossRaw || l.raw() < -kMaxLossRaw)
      return make_error(ErrorKind::input,
                        "a loss of " + l.str() + " per unit: beyond ±10000, FHS cannot square it exactly");
  const i128 lam = lambda.raw(), one = kScale;
  // Squares at 1e16 (exact); the variance at 1e16, each update rounded down.
  i128 sum_sq = 0;
  for (Ratio l : losses) sum_sq += i128(l.raw()) * l.raw();
  i128 var = sum_sq / static_cast<i128>(losses.size());
  std::vector<i128> sigma_before(losses.size());
  for (std::size_t t = 0; t < losses.size(); ++t) {
    sigma_before[t] = static_cast<i128>(isqrt(static_cast<u128>(var)));  // at 1e8
    const i128 sq = i128(losses[t].raw()) * losses[t].raw();
    var = div_floor(lam * var + (one - lam) * sq, one);
  }
  const i128 sigma_now = static_cast<i128>(isqrt(static_cast<u128>(var)));
  out.reserve(losses.size());
  for (std::size_t t = 0; t < losses.size(); ++t) {
    const i128 l = losses[t].raw();
    if (sigma_before[t] == 0) {
      out.push_back(losses[t]);
      continue;
    }
    out.push_back(ratio_of(div_ceil(l * sigma_now, sigma_before[t])));
  }
  return out;
}

}  // namespace liqsim
