#include "util/sha256.hpp"

#include <openssl/evp.h>

#include <cassert>
#include <cstdlib>
#include <new>
#include <utility>

namespace vigil::util {
namespace {

// Fetched once: EVP_sha256() would look the algorithm up again in every
// EVP_DigestInit_ex (OpenSSL 3 "implicit fetch", crypto(7)).
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// libcrypto fails only when it cannot allocate or the default provider is
// missing: both leave nothing sensible to hash with.
void check(int ok) {
  if (ok != 1) throw std::bad_alloc();
}

EVP_MD_CTX* new_context() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || !sha256_md()) {
    EVP_MD_CTX_free(ctx);
    throw std::bad_alloc();
  }
  return ctx;
}

}  // namespace

Sha256::Sha256() : ctx_(new_context()) {
  if (EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256::Sha256(const Sha256& other) : ctx_(new_context()), finished_(other.finished_) {
  if (other.ctx_ && EVP_MD_CTX_copy_ex(ctx_, other.ctx_) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::bad_alloc();
  }
}

Sha256& Sha256::operator=(const Sha256& other) {
  if (this != &other) {
    Sha256 copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Sha256::Sha256(Sha256&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)), finished_(other.finished_) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    finished_ = other.finished_;
  }
  return *this;
}

void Sha256::update(std::span<const uint8_t> data) {
  assert(!finished_ && ctx_);
  if (data.empty()) return;
  check(EVP_DigestUpdate(ctx_, data.data(), data.size()));
}

std::array<uint8_t, 32> Sha256::finish() {
  assert(!finished_ && ctx_);
  finished_ = true;
  std::array<uint8_t, 32> digest{};
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(ctx_, digest.data(), &len));
  assert(len == digest.size());
  return digest;
}

std::string Sha256::hex(const std::array<uint8_t, 32>& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t byte : digest) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::span<const uint8_t> data) {
  Sha256 h;
  h.update(data);
  return Sha256::hex(h.finish());
}

}  // namespace vigil::util
