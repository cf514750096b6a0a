// sha256.hpp — SHA-256 (FIPS 180-4) in the core: the state hash and the
// checksum of an input log's bytes as they are read. Computed by OpenSSL's
// libcrypto (its SHA-NI / AVX2 code where the CPU has it); the digest is
// SHA-256's, whatever computes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace liqsim {

std::string sha256_hex(const std::string& data);

// Streaming SHA-256.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  ~Sha256();
  void update(const void* data, std::size_t n);
  std::string hex();  // finishes the hash; call once

  // From now on (before the first update), the digest is computed on a
  // thread of its own: update() copies the bytes into blocks that the thread
  // hashes in order, so a reader's thread spends a copy on them, not the
  // hash. hex() waits for the thread; the digest is the same. A hash running
  // in the background cannot be copied or moved.
  void run_in_background();

 private:
  struct Background;
  evp_md_ctx_st* ctx_ = nullptr;
  std::unique_ptr<Background> background_;
};

}  // namespace liqsim
