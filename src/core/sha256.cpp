// SHA-256 over OpenSSL's libcrypto (EVP digest API): a well-kept
// implementation with hardware paths (SHA-NI, AVX2) chosen at run time.
#include "liqsim/sha256.hpp"

#include <openssl/evp.h>

#include <string>
#include <utility>

#include "liqsim/error.hpp"

namespace liqsim {

namespace {

// Fetched once (OpenSSL 3: an explicit fetch saves a lookup per digest).
const EVP_MD* sha256_md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    LIQSIM_ASSERT(m != nullptr, "libcrypto has no SHA-256");
    return m;
  }();
  return md;
}

std::string to_hex(const unsigned char* digest, unsigned int n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(digits[digest[i] >> 4]);
    out.push_back(digits[digest[i] & 15]);
  }
  return out;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) == 1,
                "cannot start a SHA-256");
}

Sha256::Sha256(const Sha256& other) : ctx_(EVP_MD_CTX_new()) {
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "cannot copy a SHA-256");
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this == &other) return *this;
  if (ctx_ == nullptr) ctx_ = EVP_MD_CTX_new();  // moved from
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "cannot copy a SHA-256");
  return *this;
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void* data, std::size_t n) {
  LIQSIM_ASSERT(EVP_DigestUpdate(ctx_, data, n) == 1, "SHA-256 update failed");
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  LIQSIM_ASSERT(EVP_DigestFinal_ex(ctx_, digest, &n) == 1, "SHA-256 final failed");
  return to_hex(digest, n);
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  LIQSIM_ASSERT(EVP_Digest(data.data(), data.size(), digest, &n, sha256_md(), nullptr) == 1,
                "SHA-256 failed");
  return to_hex(digest, n);
}

}  // namespace liqsim
