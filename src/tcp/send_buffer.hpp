// The send buffer: bytes the application wrote that are not yet
// acknowledged. A ring of at most capacity() bytes whose storage grows with
// what is queued: nothing until the first write (a half-open connection
// holds no storage, issue 12 hole 4), then kInitialBytes, doubled as more is
// queued up to capacity() and then kept, so the steady-state path never
// allocates (issue 15: a 1-byte exchange no longer takes 256 KiB).
// release() frees it once the connection can send no more. Offsets are
// relative to SND.UNA.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>

namespace vigil::tcp {

class SendBuffer {
 public:
  // The first allocation: a few segments (5.6 at MSS 1460).
  static constexpr size_t kInitialBytes = 8192;

  explicit SendBuffer(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  size_t space() const { return size_ < capacity_ ? capacity_ - size_ : 0; }
  // SO_SNDBUF on a live connection: a new bound on what may be queued.
  // Below what is queued now, it takes nothing until enough is acked
  // (Linux's sk_sndbuf likewise leaves queued data alone).
  void set_capacity(size_t capacity) { capacity_ = capacity; }
  // Heap bytes held now: 0 until the first write and after release().
  size_t allocated_bytes() const { return alloc_; }

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
  void grow(size_t need);  // storage for at least `need` bytes (need <= capacity_)

  std::unique_ptr<uint8_t[]> data_;  // alloc_ bytes, never zero-filled
  size_t capacity_;
  size_t alloc_ = 0;  // ring size now: 0, then kInitialBytes doubling up to capacity_
  size_t head_ = 0;   // index of the byte at SND.UNA
  size_t size_ = 0;
};

}  // namespace vigil::tcp
