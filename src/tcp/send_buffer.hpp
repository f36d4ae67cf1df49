// The send buffer: bytes the application wrote that are not yet
// acknowledged. A fixed-capacity ring, allocated on the first write (so a
// half-open connection holds no storage, issue 12 hole 4) and then kept, so
// the steady-state path never allocates; release() frees it once the
// connection can send no more. Offsets are relative to SND.UNA.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace vigil::tcp {

class SendBuffer {
 public:
  explicit SendBuffer(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  size_t space() const { return capacity_ - size_; }
  // Heap bytes held now: 0 until the first write and after release().
  size_t allocated_bytes() const { return data_ ? capacity_ : 0; }

  // Appends up to space() bytes; returns how many were taken.
  size_t write(std::span<const uint8_t> bytes);
  // Drops `n` acknowledged bytes from the front.
  void consume(size_t n);
  // The bytes at [offset, offset+len) as up to two contiguous parts.
  std::pair<std::span<const uint8_t>, std::span<const uint8_t>> view(size_t offset,
                                                                     size_t len) const;
  // Frees the storage and drops anything queued (the connection can send
  // no more); a later write allocates it again.
  void release();

 private:
  std::unique_ptr<uint8_t[]> data_;  // capacity_ bytes once allocated, never zero-filled
  size_t capacity_;
  size_t head_ = 0;  // index of the byte at SND.UNA
  size_t size_ = 0;
};

}  // namespace vigil::tcp
