// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words.
#pragma once

#include <cstdint>
#include <span>

namespace vigil::wire {

// Accumulates the one's-complement sum across several pieces (pseudo-header,
// header, payload in two ring-buffer parts). Pieces of odd length are handled
// as if they were concatenated, per RFC 1071 §4.
class ChecksumAccumulator {
 public:
  void add(std::span<const uint8_t> bytes);
  // Whole words, for the pseudo-header: call these before any add() of odd
  // length, since they do not realign a half-filled word.
  void add_u16(uint16_t v) { sum_ += v; }
  void add_u32(uint32_t v) {
    sum_ += v >> 16;
    sum_ += v & 0xffff;
  }
  // The value to store in a header's checksum field.
  uint16_t finish() const;

 private:
  uint64_t sum_ = 0;
  bool odd_ = false;  // the previous piece ended in the middle of a word
};

// Checksum of one contiguous buffer. Verifying a header that includes its
// own checksum field yields 0 when the header is intact.
uint16_t internet_checksum(std::span<const uint8_t> bytes);

}  // namespace vigil::wire
