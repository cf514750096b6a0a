// population.hpp — synthetic account populations, byte-identical everywhere.
//
// Owns `liqsim gen population`: N accounts, each with its collateral
// deposit(s) and one opening `trade`, drawn from a seeded generator with
// integer-only distributions, so the same seed and parameters give the same
// bytes on every machine and compiler (no std:: distributions, no double).
//
// Generator: the project's SplitMix64 (splitmix64.hpp; Steele, Lea, Flood,
// "Fast splittable pseudorandom number generators", OOPSLA 2014; Vigna's
// reference splitmix64.c). A uniform draw u is the top 32 bits of one
// output (SplitMix64::next_u32).
//
// Distributions (all integer):
// - a continuous quantity (leverage, equity) is the inverse CDF of a
//   piecewise-linear quantile table {(p_i in ppm, x_i)} at u / 2^32, with
//   linear interpolation floored to 1e-8; its exact mean is
//   Σ (p_{i+1} − p_i)(x_i + x_{i+1}) / 2;
// - a Bernoulli(p) draw is u · 1e8 < p_raw · 2^32 (p as a 1e-8 decimal);
// - a weighted pick of k items with weights w is the first i whose running
//   sum exceeds ⌊u · Σw / 2^32⌋.
// Every account consumes exactly five draws in this order, whatever their
// outcomes: leverage, equity, side, isolated, collateral. Account i therefore
// depends only on the seed and i.
//
// The tables and the calibration of the defaults are in tools/POPULATION.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/events.hpp"
#include "liqsim/fixed.hpp"

namespace liqsim::population {

inline constexpr int kFormatVersion = 1;  // bump when the same parameters would give other bytes

// FNV-1a 64-bit, for pinning output bytes in tests and the meta file.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ull);

// Piecewise-linear inverse CDF: knots (cumulative probability in parts per
// million, value in 1e-8 units); p strictly increasing from 0 to 1'000'000,
// values non-decreasing.
class QuantileTable {
 public:
  struct Knot {
    std::int64_t p_ppm;
    std::int64_t value_raw;
  };
  explicit QuantileTable(std::vector<Knot> knots);
  // The value at cumulative probability u / 2^32, floored to 1e-8.
  std::int64_t sample(std::uint32_t u) const;
  // Exact mean of the table's distribution, floored to 1e-8.
  std::int64_t mean_raw() const;
  const std::vector<Knot>& knots() const { return knots_; }

 private:
  std::vector<Knot> knots_;
};

// Shape of effective leverage (×), mean 10.5375, median 5 — see POPULATION.md.
const QuantileTable& leverage_shape();
// Shape of account equity in USD, median 2,000 — see POPULATION.md.
const QuantileTable& equity_shape();

bool bernoulli(std::uint32_t u, std::int64_t p_raw);
std::size_t weighted_pick(std::uint32_t u, const std::vector<std::int64_t>& weights_raw);

enum class CollateralMode : std::uint8_t { pick, split };

struct CollateralShare {
  std::string asset;
  std::int64_t weight_raw = 0;  // > 0
  std::int64_t price_raw = 0;   // USD per unit (USD: 1)
};

struct PopulationParams {
  std::int64_t accounts = 1000;
  std::uint64_t seed = 1;
  std::string market = "ETH-PERP";
  std::string asset = "ETH";
  std::int64_t price_raw = 0;  // required, > 0
  std::int64_t ts_ms = 0;
  std::int64_t leverage_mean_raw = 10 * kScale;  // before clipping to [1, max_leverage]
  std::int64_t max_leverage_raw = 20 * kScale;
  std::int64_t equity_median_raw = 2000 * kScale;  // USD
  std::int64_t isolated_share_raw = 30'000'000;    // 0.3
  std::int64_t long_share_raw = 50'000'000;        // 0.5
  std::vector<CollateralShare> collateral;         // empty: USD only
  CollateralMode collateral_mode = CollateralMode::pick;
  bool with_price = false;
  std::string account_prefix = "acct-";
};

// What was drawn for one account (for tests and statistics).
struct AccountDraw {
  std::int64_t leverage_raw = 0;  // after clipping
  std::int64_t equity_raw = 0;    // USD, cents
  bool is_long = false;
  bool isolated = false;
  std::size_t collateral = 0;  // index into params.collateral (pick mode)
  std::int64_t qty_raw = 0;    // 0: the position rounded to zero and no trade was written
};

struct PopulationStats {
  std::int64_t accounts = 0, longs = 0, isolated = 0, zero_positions = 0, events = 0;
  std::int64_t leverage_sum_raw = 0;  // Σ clipped leverage
  std::int64_t equity_sum_raw = 0;
};

// Checks the parameters (a usage Error names the option): among others the
// market, asset and collateral names and the account names made from
// account_prefix must be names every event decoder accepts (1 to 256 bytes of
// well-formed UTF-8, import::check_name_option), the asset not USD, and ts
// within [0, limits::kMaxTimestampMs], so every event generated is valid.
Status validate(const PopulationParams& params);

// Receives one event and the table that names its symbols (valid for this
// call only); an error stops the generation and is returned.
using EventSinkFn = std::function<Status(const InputEvent&, const Symbols&)>;

// The events, in order: [price], then per account its deposit(s) and trade,
// each passed to `emit` as it is drawn. Memory does not grow with
// params.accounts: no event is kept, and account names are interned in a
// table of the generator's own that is started afresh every few thousand
// accounts (so a Sym means something only inside the emit call it comes
// with). `draws`, when given, receives one entry per account (it grows).
Status stream_population(const PopulationParams& params, PopulationStats& stats, const EventSinkFn& emit,
                         std::vector<AccountDraw>* draws = nullptr);

// The same events collected, named in `symbols` (for tests and small
// populations; the command line streams).
Result<std::vector<InputEvent>> generate_population(const PopulationParams& params, Symbols& symbols,
                                                    PopulationStats& stats,
                                                    std::vector<AccountDraw>* draws = nullptr);

// The sidecar: generator, version, seed, parameters, tables, counts and the
// FNV-1a 64 of the event bytes, as one JSON object (with a final newline).
std::string meta_json(const PopulationParams& params, const PopulationStats& stats,
                      std::uint64_t events_fnv1a64);

}  // namespace liqsim::population
