// bench_e2e.hpp — the end-to-end section of `liqsim bench` (bench_e2e.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace liqsim::cli {

struct EndToEndOptions {
  std::uint32_t quiet_ticks = 10'000'000;           // quiet ticks at 1e3 accounts, from a file
  std::string flagship = "replays/eth-2020-03-12";  // a packaged scenario; skipped if absent
  std::uint32_t crash_accounts = 1'000'000;         // 0: no crash row
  std::uint32_t sweep_points = 20;                  // points of the flagship sweeps; 0: none
};

// Prints the end-to-end table; 0, or 2 when a child replay failed.
int bench_end_to_end(const EndToEndOptions& options);

}  // namespace liqsim::cli
