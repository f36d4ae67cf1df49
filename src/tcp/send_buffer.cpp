#include "tcp/send_buffer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vigil::tcp {

void SendBuffer::grow(size_t need) {
  // Doubling from kInitialBytes up to capacity_: a connection that sends a
  // few bytes holds a few KB, a bulk sender reaches capacity_ after
  // log2(capacity_ / kInitialBytes) copies and then never allocates again.
  size_t n = alloc_ ? alloc_ : std::min(kInitialBytes, capacity_);
  while (n < need) n = std::min(n * 2, capacity_);
  std::unique_ptr<uint8_t[]> fresh(new uint8_t[n]);  // not zero-filled: only written bytes are read
  if (size_ != 0) {
    // Lay the queued bytes out from index 0 of the new ring.
    const size_t first = std::min(size_, alloc_ - head_);
    std::memcpy(&fresh[0], &data_[head_], first);
    if (size_ > first) std::memcpy(&fresh[first], &data_[0], size_ - first);
  }
  data_ = std::move(fresh);
  alloc_ = n;
  head_ = 0;
}

size_t SendBuffer::write(std::span<const uint8_t> bytes) {
  const size_t n = std::min(bytes.size(), space());
  if (n == 0) return 0;
  if (size_ + n > alloc_) grow(size_ + n);
  size_t tail = (head_ + size_) % alloc_;
  const size_t first = std::min(n, alloc_ - tail);
  std::memcpy(&data_[tail], bytes.data(), first);
  if (n > first) std::memcpy(&data_[0], bytes.data() + first, n - first);
  size_ += n;
  return n;
}

void SendBuffer::consume(size_t n) {
  assert(n <= size_);
  if (alloc_ == 0 || n == 0) return;
  head_ = (head_ + n) % alloc_;
  size_ -= n;
}

std::pair<std::span<const uint8_t>, std::span<const uint8_t>> SendBuffer::view(size_t offset,
                                                                               size_t len) const {
  assert(offset + len <= size_);
  if (len == 0) return {};
  const size_t start = (head_ + offset) % alloc_;
  const size_t first = std::min(len, alloc_ - start);
  std::span<const uint8_t> a(&data_[start], first);
  std::span<const uint8_t> b;
  if (len > first) b = std::span<const uint8_t>(&data_[0], len - first);
  return {a, b};
}

void SendBuffer::release() {
  data_.reset();
  alloc_ = 0;
  head_ = 0;
  size_ = 0;
}

}  // namespace vigil::tcp
