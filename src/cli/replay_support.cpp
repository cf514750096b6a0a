#include "replay_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.hpp"
#include "liqsim/jsonl.hpp"
#include "liqsim/log.hpp"

namespace liqsim::cli {

Error locate_event_error(Error e, const std::string& events_path) {
  e.file = events_path;
  if (e.seq < 0 || is_binary_log(events_path)) return e;
  // JSON Lines: the event with this seq is the seq-th non-blank line.
  std::ifstream in(events_path, std::ios::binary);
  std::string line;
  std::int64_t n = 0, seen = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (seen++ == e.seq) {
      e.line = n;
      break;
    }
  }
  return e;
}

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Progress::Progress(std::size_t total, Mode mode) : total_(total), start_ms_(wall_clock_ms()) {
  enabled_ = mode == on || (mode == automatic && ::isatty(2) == 1 && total >= 100000);
}

void Progress::draw(std::size_t done) {
  double secs = static_cast<double>(wall_clock_ms() - start_ms_) / 1000.0;
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  int width = 30;
  int filled = total_ ? static_cast<int>(width * done / total_) : width;
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu events  %.0f events/s", filled, "##############################",
               width - filled, "", done, total_, rate);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  draw(total_);
  std::fputc('\n', stderr);
}

}  // namespace liqsim::cli
