// splitmix64.hpp — the project's one pseudo-random generator.
//
// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014; Vigna's reference splitmix64.c; the finalizer of
// java.util.SplittableRandom):
//     state += 0x9E3779B97F4A7C15;
//     z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//     z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31);
// Integer-only, so a seed gives the same stream on every machine and
// compiler. Every seeded generator of liqsim draws from it: the workload
// generator (workload.hpp, engine) and the population generator
// (population.hpp, import); tools/gen_big_log.py carries a Python copy. No
// other generator (std:: engines and distributions, rand(), random_device)
// is used in src/, include/, tools/ or fuzz/.
#pragma once

#include <cstdint>

namespace liqsim {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // A uniform 32-bit draw: the top half of one output (population.hpp).
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next() >> 32); }
  // Uniform in [0, n) without modulo bias (Lemire's multiply-shift with rejection).
  std::uint64_t below(std::uint64_t n) {
    for (;;) {
      unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
      auto low = static_cast<std::uint64_t>(m);
      if (low >= n || low >= (0 - n) % n) return static_cast<std::uint64_t>(m >> 64);
    }
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {  // inclusive
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  bool chance(std::uint32_t per_million) { return below(1'000'000) < per_million; }

 private:
  std::uint64_t state_;
};

}  // namespace liqsim
