#include "wire/checksum.hpp"

#include <cstring>

namespace vigil::wire {

namespace {

// One's-complement sum of `bytes` (even length not required) read as
// little-endian 32-bit words, 8 bytes per load, folded to 16 bits. RFC 1071
// §2(B): the sum is byte-order independent, so this is the big-endian
// 16-bit-word sum with its two bytes swapped. About 8x fewer instructions
// than a 16-bit loop: 61 % of a bulk transfer at MTU 1500 before (issue 15).
uint32_t sum_native(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  // Four independent sums so the additions do not wait for each other; a
  // 64-bit accumulator takes 2^32 32-bit words before it could overflow.
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (; n >= 32; p += 32, n -= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    a0 += (w[0] & 0xffffffff) + (w[0] >> 32);
    a1 += (w[1] & 0xffffffff) + (w[1] >> 32);
    a2 += (w[2] & 0xffffffff) + (w[2] >> 32);
    a3 += (w[3] & 0xffffffff) + (w[3] >> 32);
  }
  acc = a0 + a1 + a2 + a3;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc += (w & 0xffffffff) + (w >> 32);
  }
  for (; n >= 2; p += 2, n -= 2) acc += uint32_t{p[0]} | (uint32_t{p[1]} << 8);
  if (n) acc += p[0];  // the last odd byte is the high byte of a big-endian word
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint32_t>(acc);
}

}  // namespace

void ChecksumAccumulator::add(std::span<const uint8_t> bytes) {
  size_t i = 0;
  if (odd_ && !bytes.empty()) {
    sum_ += bytes[0];  // low byte of the word the previous piece started
    i = 1;
    odd_ = false;
  }
  const size_t n = bytes.size() - i;
  if (n == 0) return;
  // Native-order sum, swapped back to big-endian words (RFC 1071 §2(B)).
  const uint32_t s = sum_native(bytes.data() + i, n);
  sum_ += ((s & 0xff) << 8) | (s >> 8);
  odd_ = (n & 1) != 0;
}

uint16_t ChecksumAccumulator::finish() const {
  uint64_t s = sum_;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

uint16_t internet_checksum(std::span<const uint8_t> bytes) {
  ChecksumAccumulator acc;
  acc.add(bytes);
  return acc.finish();
}

}  // namespace vigil::wire
