// SHA-256 (FIPS 180-4), incremental. Used to fingerprint captures and run
// outputs so that two runs with the same seed can be compared byte for byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vigil::util {

class Sha256 {
 public:
  Sha256();

  // Does not allocate; any chunking of the input gives the same digest.
  void update(std::span<const uint8_t> data);

  // Pads and returns the digest. May be called once; update() after it is
  // a usage error.
  std::array<uint8_t, 32> finish();

  // Lower-case hex, 64 characters.
  static std::string hex(const std::array<uint8_t, 32>& digest);

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;  // bytes held in buffer_, always < 64
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// One-shot convenience: the hex digest of `data`.
std::string sha256_hex(std::span<const uint8_t> data);

}  // namespace vigil::util
