#include "tcp/send_buffer.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace vigil::tcp {

size_t SendBuffer::write(std::span<const uint8_t> bytes) {
  const size_t n = std::min(bytes.size(), space());
  size_t tail = (head_ + size_) % data_.size();
  const size_t first = std::min(n, data_.size() - tail);
  if (first) std::memcpy(&data_[tail], bytes.data(), first);
  if (n > first) std::memcpy(&data_[0], bytes.data() + first, n - first);
  size_ += n;
  return n;
}

void SendBuffer::consume(size_t n) {
  assert(n <= size_);
  if (data_.empty()) return;
  head_ = (head_ + n) % data_.size();
  size_ -= n;
}

std::pair<std::span<const uint8_t>, std::span<const uint8_t>> SendBuffer::view(size_t offset,
                                                                               size_t len) const {
  assert(offset + len <= size_);
  if (len == 0) return {};
  const size_t start = (head_ + offset) % data_.size();
  const size_t first = std::min(len, data_.size() - start);
  std::span<const uint8_t> a(&data_[start], first);
  std::span<const uint8_t> b;
  if (len > first) b = std::span<const uint8_t>(&data_[0], len - first);
  return {a, b};
}

}  // namespace vigil::tcp
