#include "wire/checksum.hpp"

namespace vigil::wire {

void ChecksumAccumulator::add(std::span<const uint8_t> bytes) {
  size_t i = 0;
  if (odd_ && !bytes.empty()) {
    sum_ += bytes[0];  // low byte of the word the previous piece started
    i = 1;
    odd_ = false;
  }
  for (; i + 1 < bytes.size(); i += 2) {
    sum_ += (static_cast<uint32_t>(bytes[i]) << 8) | bytes[i + 1];
  }
  if (i < bytes.size()) {
    sum_ += static_cast<uint32_t>(bytes[i]) << 8;
    odd_ = true;
  }
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
