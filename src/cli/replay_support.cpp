#include "replay_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace liqsim::cli {

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Progress::Progress(std::int64_t total_bytes, Mode mode)
    : total_(std::max<std::int64_t>(total_bytes, 0)), start_ms_(wall_clock_ms()) {
  enabled_ = mode == on || (mode == automatic && ::isatty(2) == 1 && total_ >= kAutomaticBytes);
}

void Progress::draw(std::int64_t events, std::int64_t bytes) {
  const double secs = static_cast<double>(wall_clock_ms() - start_ms_) / 1000.0;
  const double rate = secs > 0 ? static_cast<double>(events) / secs : 0.0;
  constexpr int width = 30;
  const std::int64_t done = std::clamp<std::int64_t>(bytes, 0, total_);
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  const int percent = total_ > 0 ? static_cast<int>(100 * done / total_) : 100;
  std::fprintf(stderr, "\r[%.*s%*s] %3d%%  %lld events  %.0f events/s", filled,
               "##############################", width - filled, "", percent, static_cast<long long>(events),
               rate);
  std::fflush(stderr);
}

void Progress::finish(std::int64_t events) {
  if (!enabled_) return;
  draw(events, total_);
  std::fputc('\n', stderr);
}

}  // namespace liqsim::cli
