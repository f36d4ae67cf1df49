// The send buffer: bytes the application wrote that are not yet
// acknowledged. A fixed-capacity ring allocated once, so the steady-state
// path never allocates. Offsets are relative to SND.UNA.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace vigil::tcp {

class SendBuffer {
 public:
  explicit SendBuffer(size_t capacity) : data_(capacity) {}

  size_t capacity() const { return data_.size(); }
  size_t size() const { return size_; }
  size_t space() const { return data_.size() - size_; }

  // Appends up to space() bytes; returns how many were taken.
  size_t write(std::span<const uint8_t> bytes);
  // Drops `n` acknowledged bytes from the front.
  void consume(size_t n);
  // The bytes at [offset, offset+len) as up to two contiguous parts.
  std::pair<std::span<const uint8_t>, std::span<const uint8_t>> view(size_t offset,
                                                                     size_t len) const;

 private:
  std::vector<uint8_t> data_;
  size_t head_ = 0;  // index of the byte at SND.UNA
  size_t size_ = 0;
};

}  // namespace vigil::tcp
