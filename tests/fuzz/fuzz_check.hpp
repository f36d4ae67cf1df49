// Shared by the libFuzzer targets: an invariant check that aborts (so
// libFuzzer records the input as a crash) and a reader that hands out the
// fuzz input a few bytes at a time, returning zeros once it runs dry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace vigil::fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "vigil fuzz: invariant broken at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define VIGIL_FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::vigil::fuzz::fail(#cond, __FILE__, __LINE__))

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t left() const { return empty() ? 0 : size_ - pos_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
  uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
  // Up to `n` bytes (fewer at the end of the input).
  std::span<const uint8_t> take(size_t n) {
    const size_t k = n < left() ? n : left();
    std::span<const uint8_t> s(data_ + pos_, k);
    pos_ += k;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace vigil::fuzz
