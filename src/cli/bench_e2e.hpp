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
  std::uint32_t stress_paths = 10'000;              // GBM paths from the flagship's book; 0: none
  std::int64_t stress_at = 40'001;                  // the flagship's book before the crash
  std::uint32_t stress_book_accounts = 1'000'000;   // the big-book stress row; 0: none
  std::uint32_t stress_book_paths = 200;            // its paths
};

// Prints the end-to-end table; 0, or 2 when a child replay failed.
int bench_end_to_end(const EndToEndOptions& options);

}  // namespace liqsim::cli
