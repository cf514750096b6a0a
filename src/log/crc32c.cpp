// CRC32C (Castagnoli, reflected polynomial 0x82f63b78), two paths giving the
// same result:
// - software, slicing-by-8: eight 256-entry tables built at compile time,
//   eight input bytes per step. Portable: bytes are combined explicitly, so
//   the result does not depend on the machine's byte order.
// - hardware, on x86-64 with SSE4.2: the `crc32` instruction (its polynomial
//   is CRC32C's), eight bytes per instruction. Compiled for SSE4.2 in its own
//   function only, so the binary still runs on any x86-64 CPU; chosen at run
//   time when the CPU has it.
// LIQSIM_CRC32C=software in the environment (read at the first checksum) or
// detail::crc32c_force_software forces the software path.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "liqsim/log.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LIQSIM_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define LIQSIM_CRC32C_X86 0
#endif

namespace liqsim {

namespace {

constexpr std::uint32_t kPolynomial = 0x82f63b78u;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s)
    for (std::size_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

#if LIQSIM_CRC32C_X86
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc, const void* data,
                                                             std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t c = ~crc;
  // The instruction takes any alignment; memcpy keeps the loads well defined.
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian: the byte order the CRC consumes
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#endif

using CrcFn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t);

CrcFn choose() {
  const char* env = std::getenv("LIQSIM_CRC32C");
  if (env != nullptr && std::strcmp(env, "software") == 0) return &detail::crc32c_extend_software;
#if LIQSIM_CRC32C_X86
  if (detail::crc32c_hardware_available()) return &crc32c_sse42;
#endif
  return &detail::crc32c_extend_software;
}

std::atomic<CrcFn> g_crc{nullptr};  // chosen at the first checksum

}  // namespace

std::uint32_t detail::crc32c_extend_software(std::uint32_t crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint32_t c = ~crc;
  while (n >= 8) {
    std::uint32_t lo =
        c ^ (static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
             (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24));
    c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^ kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
  return ~c;
}

bool detail::crc32c_hardware_available() {
#if LIQSIM_CRC32C_X86
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

std::uint32_t detail::crc32c_extend_hardware(std::uint32_t crc, const void* data, std::size_t n) {
#if LIQSIM_CRC32C_X86
  if (crc32c_hardware_available()) return crc32c_sse42(crc, data, n);
#endif
  return crc32c_extend_software(crc, data, n);
}

void detail::crc32c_force_software(bool software) {
  g_crc.store(software ? &crc32c_extend_software : choose(), std::memory_order_relaxed);
}

bool detail::crc32c_uses_hardware() {
  CrcFn f = g_crc.load(std::memory_order_relaxed);
  if (f == nullptr) f = choose();
  return f != &crc32c_extend_software;
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) {
  CrcFn f = g_crc.load(std::memory_order_relaxed);
  if (f == nullptr) {
    f = choose();
    g_crc.store(f, std::memory_order_relaxed);
  }
  return f(crc, data, n);
}

}  // namespace liqsim
