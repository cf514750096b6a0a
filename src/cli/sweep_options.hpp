// sweep_options.hpp — the command line of `liqsim sweep` and what it prints,
// shared by `liqsim-mpi sweep`.
#pragma once

#include <string>
#include <vector>

#include "commands.hpp"
#include "liqsim/error.hpp"
#include "liqsim/sweep.hpp"

namespace liqsim::cli {

struct SweepOptions {
  SweepRequest request;
  std::string out;    // --out R.sqlite
  int jobs = 0;       // --jobs (0: the machine's cores)
  bool json = false;  // --json
  int progress = 2;   // 0 off (--quiet), 1 on (--progress), 2 on a terminal
  int busy_timeout_ms = 5000;
};

// Parses `sweep ...` (args[0] is "sweep"). A bad command line is an Error of
// kind usage (print it with usage_error("sweep", e)); `help` is set when
// --help was asked (then print_help("sweep")).
Result<SweepOptions> parse_sweep_options(const Args& args, bool& help);

// What `liqsim sweep` prints on stdout for these records: the table and the
// database line, or with --json one object per line.
void print_sweep_output(const SweepOptions& options, const std::vector<GridAxis>& axes,
                        const std::vector<PointRecord>& records, std::int64_t sweep_id);

// A points progress bar on standard error ("points 12/100  3.1/s  ETA 28 s").
class PointProgress {
 public:
  PointProgress(std::int64_t total, int mode);
  void update(std::int64_t done);
  void finish();

 private:
  std::int64_t total_;
  bool enabled_;
  std::int64_t start_ms_;
  std::int64_t last_ms_ = -1;
};

}  // namespace liqsim::cli
