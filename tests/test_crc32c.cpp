// Tests of the two CRC32C paths (src/log/crc32c.cpp): the RFC 3720 (iSCSI)
// test vectors on each, and the two against each other on random lengths and
// alignments; and the SHA-256 the core takes from libcrypto (FIPS 180-4
// vectors, streaming in pieces, copies).
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "liqsim/log.hpp"
#include "liqsim/sha256.hpp"
#include "liqsim/splitmix64.hpp"

using namespace liqsim;

namespace {

struct Vector {
  const char* name;
  std::vector<std::uint8_t> bytes;
  std::uint32_t crc;
};

std::vector<Vector> rfc3720_vectors() {
  std::vector<Vector> v;
  v.push_back({"32 bytes of zeros", std::vector<std::uint8_t>(32, 0x00), 0x8A9136AAu});
  v.push_back({"32 bytes of 0xFF", std::vector<std::uint8_t>(32, 0xFF), 0x62A8AB43u});
  std::vector<std::uint8_t> up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  v.push_back({"0..31 ascending", up, 0x46DD794Eu});
  v.push_back({"31..0 descending", down, 0x113FDB5Cu});
  const std::string digits = "123456789";
  v.push_back({"\"123456789\"", std::vector<std::uint8_t>(digits.begin(), digits.end()), 0xE3069283u});
  return v;
}

// Runs a test with the automatic choice and no LIQSIM_CRC32C (the suite may
// be run with it set), and puts both back when the test ends, however it ends.
struct AutomaticChoice {
  AutomaticChoice() {
    if (const char* v = std::getenv("LIQSIM_CRC32C")) saved = v, had = true;
    ::unsetenv("LIQSIM_CRC32C");
    detail::crc32c_force_software(false);
  }
  ~AutomaticChoice() {
    if (had)
      ::setenv("LIQSIM_CRC32C", saved.c_str(), 1);
    else
      ::unsetenv("LIQSIM_CRC32C");
    detail::crc32c_force_software(false);
  }
  AutomaticChoice(const AutomaticChoice&) = delete;
  AutomaticChoice& operator=(const AutomaticChoice&) = delete;
  std::string saved;
  bool had = false;
};

}  // namespace

TEST_CASE("crc32c: RFC 3720 vectors on the software and hardware paths", "[log][crc32c]") {
  AutomaticChoice automatic;
  for (const Vector& v : rfc3720_vectors()) {
    INFO(v.name);
    CHECK(detail::crc32c_extend_software(0, v.bytes.data(), v.bytes.size()) == v.crc);
    CHECK(detail::crc32c_extend_hardware(0, v.bytes.data(), v.bytes.size()) == v.crc);
    detail::crc32c_force_software(true);
    CHECK_FALSE(detail::crc32c_uses_hardware());
    CHECK(crc32c(v.bytes.data(), v.bytes.size()) == v.crc);
    detail::crc32c_force_software(false);
    CHECK(detail::crc32c_uses_hardware() == detail::crc32c_hardware_available());
    CHECK(crc32c(v.bytes.data(), v.bytes.size()) == v.crc);
  }
#if defined(__x86_64__)
  // Every x86-64 CPU this project runs on has SSE4.2: the hardware path is
  // really tested here, not the software one twice.
  CHECK(detail::crc32c_hardware_available());
#endif
}

TEST_CASE("crc32c: LIQSIM_CRC32C=software forces the software path", "[log][crc32c]") {
  AutomaticChoice automatic;
  REQUIRE(::setenv("LIQSIM_CRC32C", "software", 1) == 0);
  detail::crc32c_force_software(false);  // choose again, reading the environment
  CHECK_FALSE(detail::crc32c_uses_hardware());
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  REQUIRE(::unsetenv("LIQSIM_CRC32C") == 0);
  detail::crc32c_force_software(false);
  CHECK(detail::crc32c_uses_hardware() == detail::crc32c_hardware_available());
}

TEST_CASE("crc32c: the two paths agree on random lengths, alignments and chaining", "[log][crc32c]") {
  SplitMix64 rng(0x43524333'32430001ull);
  std::vector<std::uint8_t> buf(4096 + 64);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng.next());
  for (int i = 0; i < 5000; ++i) {
    const std::size_t offset = static_cast<std::size_t>(rng.below(64));
    const std::size_t n = static_cast<std::size_t>(rng.below(i < 2500 ? 80 : 4097));
    const std::uint32_t seed = rng.below(4) == 0 ? 0u : static_cast<std::uint32_t>(rng.next());
    const std::uint8_t* p = buf.data() + offset;
    const std::uint32_t sw = detail::crc32c_extend_software(seed, p, n);
    INFO("offset " << offset << ", length " << n << ", seed " << seed);
    REQUIRE(detail::crc32c_extend_hardware(seed, p, n) == sw);
    // Extending in two pieces is extending over the whole.
    const std::size_t cut = n == 0 ? 0 : static_cast<std::size_t>(rng.below(n + 1));
    REQUIRE(detail::crc32c_extend_hardware(detail::crc32c_extend_hardware(seed, p, cut), p + cut, n - cut) ==
            sw);
    REQUIRE(detail::crc32c_extend_software(detail::crc32c_extend_software(seed, p, cut), p + cut, n - cut) ==
            sw);
    REQUIRE(crc32c_extend(seed, p, n) == sw);
  }
}

TEST_CASE("sha256: FIPS 180-4 vectors, streamed in pieces and copied", "[core][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  SplitMix64 rng(256);
  Sha256 h;
  std::size_t at = 0;
  while (at < million.size()) {
    const std::size_t n = std::min<std::size_t>(million.size() - at, rng.below(300));
    h.update(million.data() + at, n);
    at += n;
  }
  Sha256 copy = h;  // the state so far, carried on independently
  CHECK(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  copy.update("b", 1);
  CHECK(copy.hex() == sha256_hex(million + "b"));
  Sha256 moved = std::move(copy);
  Sha256 again;
  again.update("abc", 3);
  moved = again;
  CHECK(moved.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 in the background: the same digest for every split, empty and abandoned",
          "[core][sha256]") {
  // More than a few of the background's 1 MiB blocks (so the reader waits
  // for room), in pieces from 0 bytes to past a block, including exactly at
  // block boundaries.
  SplitMix64 rng(2026);
  std::string data(9 * (1u << 20) + 12345, '\0');
  for (char& c : data) c = static_cast<char>(rng.below(256));
  const std::string want = sha256_hex(data);
  for (int round = 0; round < 6; ++round) {
    Sha256 h;
    h.run_in_background();
    std::size_t at = 0;
    while (at < data.size()) {
      std::size_t n = 0;
      switch (round % 3) {
        case 0:
          n = rng.below(70'000);
          break;
        case 1:
          n = (1u << 20) - (at % (1u << 20));
          break;  // up to each block boundary
        default:
          n = rng.below(3) == 0 ? (3u << 20) : rng.below(17);
          break;
      }
      n = std::min(n, data.size() - at);
      h.update(data.data() + at, n);
      at += n;
    }
    CHECK(h.hex() == want);
  }
  Sha256 empty;
  empty.run_in_background();
  CHECK(empty.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  {
    Sha256 abandoned;  // destroyed mid-stream: the thread stops, nothing leaks or hangs
    abandoned.run_in_background();
    abandoned.update(data.data(), data.size());
  }
}
