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

void SentSegments::set_send_buffer(size_t send_buffer) {
  capacity_ = std::max(
      capacity_, send_buffer / (std::max(min_wire_bytes_, kMaxHeaders + 1) - kMaxHeaders) + 1);
}

void SentSegments::record(uint32_t seq, uint32_t len, uint32_t cut, uint32_t header_bytes,
                          uint32_t snd_una) {
  if (len == 0 || cut == 0) return;
  if (std::min(len, cut) + header_bytes <= min_wire_bytes_) return;
  if (count_ == ring_.size() && ring_.size() < capacity_) {
    // Full: overwrite the oldest only if it has been acknowledged.
    const Entry& oldest = ring_.empty() ? Entry{} : ring_[next_];
    if (ring_.empty() || seq_gt(oldest.seq + oldest.len, snd_una)) grow();
  }
  ring_[next_] = Entry{seq, static_cast<uint16_t>(std::min<uint32_t>(len, 65535)),
                       static_cast<uint16_t>(std::min<uint32_t>(cut, 65535)),
                       static_cast<uint16_t>(header_bytes)};
  next_ = (next_ + 1) % ring_.size();
  count_ = std::min(count_ + 1, ring_.size());
}

void SentSegments::grow() {
  const size_t n = ring_.size();
  std::vector<Entry> grown(std::min(capacity_, std::max<size_t>(16, 2 * n)));
  // Oldest first: the oldest of a full ring is at next_.
  for (size_t i = 0; i < count_; ++i) grown[i] = ring_[(next_ + n - count_ + i) % n];
  ring_ = std::move(grown);
  next_ = count_ % ring_.size();
}

uint32_t SentSegments::wire_bytes_at(uint32_t seq) const {
  // Newest first: a retransmission at a smaller MSS supersedes the original.
  for (size_t i = 1; i <= count_; ++i) {
    const Entry& e = ring_[(next_ + ring_.size() - i) % ring_.size()];
    const uint32_t off = seq - e.seq;
    if (!seq_in(seq, e.seq, e.seq + e.len) || off % e.cut != 0) continue;
    return std::min<uint32_t>(e.cut, e.len - off) + e.hdr;
  }
  return 0;
}

void SentSegments::release() {
  std::vector<Entry>().swap(ring_);
  next_ = 0;
  count_ = 0;
}

}  // namespace vigil::tcp
