#include "tcp/send_buffer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vigil::tcp {

size_t SendBuffer::write(std::span<const uint8_t> bytes) {
  const size_t n = std::min(bytes.size(), space());
  if (n == 0) return 0;
  // Default-initialised: only bytes written are ever read, so the 256 KB
  // are not zero-filled (3.5 ms of CPU per connection, issue 12).
  if (!data_) data_.reset(new uint8_t[capacity_]);
  size_t tail = (head_ + size_) % capacity_;
  const size_t first = std::min(n, capacity_ - tail);
  std::memcpy(&data_[tail], bytes.data(), first);
  if (n > first) std::memcpy(&data_[0], bytes.data() + first, n - first);
  size_ += n;
  return n;
}

void SendBuffer::consume(size_t n) {
  assert(n <= size_);
  if (capacity_ == 0 || n == 0) return;
  head_ = (head_ + n) % capacity_;
  size_ -= n;
}

std::pair<std::span<const uint8_t>, std::span<const uint8_t>> SendBuffer::view(size_t offset,
                                                                               size_t len) const {
  assert(offset + len <= size_);
  if (len == 0) return {};
  const size_t start = (head_ + offset) % capacity_;
  const size_t first = std::min(len, capacity_ - start);
  std::span<const uint8_t> a(&data_[start], first);
  std::span<const uint8_t> b;
  if (len > first) b = std::span<const uint8_t>(&data_[0], len - first);
  return {a, b};
}

void SendBuffer::release() {
  data_.reset();
  head_ = 0;
  size_ = 0;
}

}  // namespace vigil::tcp
