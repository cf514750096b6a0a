// stress.hpp — the statistics of stress tests: Value at Risk and Expected
// Shortfall of a list of losses, and the losses of one asset's price series
// by historical simulation (hs) and filtered historical simulation (fhs).
//
// Owns the one estimator every stress figure uses (Acerbi–Tasche, fixed):
// losses sorted from the largest, L(1) ≥ L(2) ≥ ... ≥ L(n); w = n(1 − α);
//   VaR = L(⌈w⌉)
//   ES  = (Σ_{i ≤ ⌊w⌋} L(i) + (w − ⌊w⌋) · L(⌊w⌋ + 1)) / w
// computed exactly on fixed-point values (8 decimals, 128-bit sums) and
// rounded down to 8 decimals. Guarantees: no floating point anywhere — a
// return, an EWMA variance and its square root are integers at a stated
// scale, so every figure is the same on every machine and compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/fixed.hpp"

namespace liqsim {

struct LossStats {
  std::int64_t n = 0;
  Ratio var;  // of the loss (a ratio of value, or the unit of the losses given)
  Ratio es;
  Ratio worst;  // L(1)
  Ratio mean;   // Σ L / n, rounded down
};

// The estimator above over LOSSES (any order; at least one) at ALPHA in (0, 1).
// An Error of kind usage names what is wrong (no loss, α outside (0, 1)).
Result<LossStats> var_es(std::vector<Ratio> losses, Ratio alpha);

// The same estimator when only the largest losses are kept: LARGEST holds
// the min(N, ⌊w⌋ + 1) largest of N losses (any order), which is all VaR and
// ES read. `worst` is L(1); `mean` is not known and is left 0.
Result<LossStats> var_es_of_largest(std::vector<Ratio> largest, std::int64_t n, Ratio alpha);

enum class PositionSide : std::uint8_t { long_side, short_side };

// The simple-return losses of consecutive prices, per unit of value: a
// long's loss from p(t) to p(t+1) is 1 − p(t+1)/p(t), a short's p(t+1)/p(t) − 1,
// each to 8 decimals rounded up (a loss is never understated). Prices must be
// positive; n prices give n − 1 losses.
// A loss beyond the 64-bit range (a price that moves by more than ~9e10
// times in one step) is an Error of kind input.
Result<std::vector<Ratio>> simple_losses(const std::vector<Price>& prices, PositionSide side);

// Filtered historical simulation: each loss L(t) (from simple_losses, with
// its return r(t) = −L(t) for a long) rescaled to today's volatility,
// L(t) × σ(now) / σ(t). σ² starts at the mean of the squared returns; σ(t)
// is the EWMA before r(t), then σ² = λσ² + (1 − λ) r(t)²; σ(now) is the
// value after the last return. Squares and variances are kept at 1e-16
// (exact for 8-decimal returns), each update rounded down; σ = ⌊√σ²⌋ at 1e-8;
// the scaled loss is rounded up. A σ(t) of 0 (a flat start) scales by 1.
// LAMBDA in (0, 1). A loss beyond ±10,000 (a million percent in one step)
// is an Error of kind input: its square would leave the exact range.
Result<std::vector<Ratio>> fhs_losses(const std::vector<Ratio>& losses, Ratio lambda);

// ⌊√v⌋ for v ≥ 0, exactly.
unsigned __int128 isqrt(unsigned __int128 v);

}  // namespace liqsim
