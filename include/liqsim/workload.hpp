// workload.hpp — seeded synthetic workloads for differential tests and benchmarks.
//
// Owns a deterministic generator of (config, event log) pairs: many accounts
// across several markets and collateral assets, cross and isolated margin,
// counterparty trades, funding, param changes, liquidity changes, a random
// walk of prices and an optional crash. Only integer arithmetic on a
// SplitMix64 stream (splitmix64.hpp): the same spec gives the same events on
// every machine.
#pragma once

#include <cstdint>
#include <vector>

#include "liqsim/config.hpp"
#include "liqsim/events.hpp"

namespace liqsim {

struct WorkloadSpec {
  std::uint64_t seed = 1;
  std::uint32_t accounts = 100;
  std::uint32_t markets = 3;         // 1..3: BTC-PERP, ETH-PERP, SOL-PERP
  std::uint32_t ticks = 1000;        // price events after the set-up
  std::uint32_t tick_ms = 1000;      // time between ticks
  std::uint32_t volatility_bp = 20;  // per-tick move bound, basis points
  bool mean_revert = false;          // ticks scatter around the start price instead of walking
  std::uint32_t crash_at = 0;        // tick index where a crash starts (0: none)
  std::uint32_t crash_ticks = 0;     // ticks the crash lasts
  std::uint32_t crash_bp = 0;        // total fall over the crash, basis points
  std::uint32_t activity_ppm = 0;    // per tick, chance (ppm) of each kind of account activity
  bool isolated = true;              // some accounts use isolated margin
  bool counterparties = true;        // some set-up trades have an in-system counterparty
  bool multi_collateral = true;      // ETH/SOL/USDC collateral besides USD
  bool impact = true;                // markets have depth
  bool params = true;                // occasional param and liquidity changes
  std::uint32_t param_every = 0;     // > 0: also a param of any key every N ticks (own seeded stream)
  std::uint32_t max_leverage = 20;
  std::int64_t insurance_fund = -1;  // USD units at the start; -1: 50 per account
  bool liquidation_fees = true;      // false: no fee refills the fund (bankruptcies reach ADL)
};

struct Workload {
  Config config;
  std::vector<InputEvent> events;
};

Workload make_workload(const WorkloadSpec& spec, Symbols& symbols);

}  // namespace liqsim
