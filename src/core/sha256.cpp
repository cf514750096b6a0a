// SHA-256 over OpenSSL's libcrypto (EVP digest API): a well-kept
// implementation with hardware paths (SHA-NI, AVX2) chosen at run time.
#include "liqsim/sha256.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// The blocks between the reader and the hashing thread: at most kQueued full
// blocks wait (memory stays bounded when the reader is faster); emptied ones
// are reused.
struct Sha256::Background {
  static constexpr std::size_t kBlockBytes = std::size_t{1} << 20;
  static constexpr std::size_t kQueued = 4;
  std::mutex mutex;
  std::condition_variable work, room;
  std::deque<std::vector<unsigned char>> full;
  std::vector<std::vector<unsigned char>> spare;
  std::vector<unsigned char> filling;
  bool closing = false;
  std::thread worker;

  void hand_off() {
    std::unique_lock lock(mutex);
    room.wait(lock, [&] { return full.size() < kQueued; });
    full.push_back(std::move(filling));
    if (!spare.empty()) {
      filling = std::move(spare.back());
      spare.pop_back();
    } else {
      filling = {};
      filling.reserve(kBlockBytes);
    }
    work.notify_one();
  }
  void run(evp_md_ctx_st* ctx) {
    for (;;) {
      std::vector<unsigned char> block;
      {
        std::unique_lock lock(mutex);
        work.wait(lock, [&] { return !full.empty() || closing; });
        if (full.empty()) return;
        block = std::move(full.front());
        full.pop_front();
      }
      LIQSIM_ASSERT(EVP_DigestUpdate(ctx, block.data(), block.size()) == 1, "SHA-256 update failed");
      block.clear();
      std::lock_guard lock(mutex);
      spare.push_back(std::move(block));
      room.notify_one();
    }
  }
  // Stops the thread without hashing what waits (the digest is not wanted).
  void abandon() {
    if (!worker.joinable()) return;
    {
      std::lock_guard lock(mutex);
      full.clear();
      closing = true;
      work.notify_one();
    }
    worker.join();
  }
  // Hands over what is left, then waits for the thread to hash it all.
  void finish() {
    if (!worker.joinable()) return;
    if (!filling.empty()) hand_off();
    {
      std::lock_guard lock(mutex);
      closing = true;
      work.notify_one();
    }
    worker.join();
  }
};

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) == 1,
                "cannot start a SHA-256");
}

Sha256::Sha256(const Sha256& other) : ctx_(EVP_MD_CTX_new()) {
  LIQSIM_ASSERT(!other.background_, "a SHA-256 running in the background is not copied");
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "cannot copy a SHA-256");
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this == &other) return *this;
  LIQSIM_ASSERT(!other.background_ && !background_, "a SHA-256 running in the background is not copied");
  if (ctx_ == nullptr) ctx_ = EVP_MD_CTX_new();  // moved from
  LIQSIM_ASSERT(ctx_ != nullptr && EVP_MD_CTX_copy_ex(ctx_, other.ctx_) == 1, "cannot copy a SHA-256");
  return *this;
}

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {
  LIQSIM_ASSERT(!other.background_, "a SHA-256 running in the background is not moved");
}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  LIQSIM_ASSERT(!other.background_ && !background_, "a SHA-256 running in the background is not moved");
  std::swap(ctx_, other.ctx_);
  return *this;
}

Sha256::~Sha256() {
  if (background_) background_->abandon();
  EVP_MD_CTX_free(ctx_);
}

void Sha256::run_in_background() {
  if (background_) return;
  background_ = std::make_unique<Background>();
  background_->filling.reserve(Background::kBlockBytes);
  background_->worker = std::thread([b = background_.get(), ctx = ctx_] { b->run(ctx); });
}

void Sha256::update(const void* data, std::size_t n) {
  if (!background_) {
    LIQSIM_ASSERT(EVP_DigestUpdate(ctx_, data, n) == 1, "SHA-256 update failed");
    return;
  }
  Background& b = *background_;
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const std::size_t take = std::min(n, Background::kBlockBytes - b.filling.size());
    b.filling.insert(b.filling.end(), p, p + take);
    p += take;
    n -= take;
    if (b.filling.size() == Background::kBlockBytes) b.hand_off();
  }
}

std::string Sha256::hex() {
  if (background_) {
    background_->finish();
    background_.reset();
  }
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
