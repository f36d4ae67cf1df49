#include "tcp/sent_segments.hpp"

#include <algorithm>

#include "tcp/seq.hpp"

namespace vigil::tcp {

namespace {
constexpr uint32_t kMaxHeaders = 80;  // IPv4 header (20) + the largest TCP header (60)
}

SentSegments::SentSegments(size_t send_buffer, uint32_t min_wire_bytes)
    : capacity_(send_buffer / (std::max(min_wire_bytes, kMaxHeaders + 1) - kMaxHeaders) + 1),
      min_wire_bytes_(min_wire_bytes) {}

void SentSegments::record(uint32_t seq, uint32_t len, uint32_t cut, uint32_t header_bytes) {
  if (len == 0 || cut == 0) return;
  if (std::min(len, cut) + header_bytes <= min_wire_bytes_) return;
  if (!ring_) ring_ = std::make_unique<Entry[]>(capacity_);
  ring_[next_] = Entry{seq, static_cast<uint16_t>(std::min<uint32_t>(len, 65535)),
                       static_cast<uint16_t>(std::min<uint32_t>(cut, 65535)),
                       static_cast<uint16_t>(header_bytes)};
  next_ = (next_ + 1) % capacity_;
  count_ = std::min(count_ + 1, capacity_);
}

uint32_t SentSegments::wire_bytes_at(uint32_t seq) const {
  // Newest first: a retransmission at a smaller MSS supersedes the original.
  for (size_t i = 1; i <= count_; ++i) {
    const Entry& e = ring_[(next_ + capacity_ - i) % capacity_];
    const uint32_t off = seq - e.seq;
    if (!seq_in(seq, e.seq, e.seq + e.len) || off % e.cut != 0) continue;
    return std::min<uint32_t>(e.cut, e.len - off) + e.hdr;
  }
  return 0;
}

void SentSegments::release() {
  ring_.reset();
  next_ = 0;
  count_ = 0;
}

}  // namespace vigil::tcp
