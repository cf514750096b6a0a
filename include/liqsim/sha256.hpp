// sha256.hpp — SHA-256 (FIPS 180-4) in the core: the state hash and the
// checksum of an input log's bytes as they are read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace liqsim {

std::string sha256_hex(const std::string& data);

// Streaming SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t n);
  std::string hex();  // finishes the hash; call once

 private:
  std::uint32_t h_[8];
  unsigned char block_[64] = {};
  std::size_t used_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace liqsim
