#include "tcp/recv_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace vigil::tcp {

RecvBuffer::RecvBuffer(size_t capacity) : capacity_(capacity) {}

void RecvBuffer::release() {
  // Called once nothing more can arrive (CLOSED, TIME-WAIT): out-of-order
  // bytes can never become readable then, so only readable bytes keep it.
  std::vector<Range>().swap(ranges_);
  if (readable() != 0) return;
  data_.reset();
}

void RecvBuffer::copy_in(uint64_t pos, std::span<const uint8_t> bytes) {
  const size_t cap = capacity_;
  size_t idx = static_cast<size_t>(pos % cap);
  const size_t first = std::min(bytes.size(), cap - idx);
  std::memcpy(&data_[idx], bytes.data(), first);
  if (bytes.size() > first) std::memcpy(&data_[0], bytes.data() + first, bytes.size() - first);
}

RecvBuffer::InsertResult RecvBuffer::insert(uint64_t pos, std::span<const uint8_t> bytes) {
  InsertResult r;
  if (capacity_ == 0) return r;
  uint64_t begin = pos;
  uint64_t end = pos + bytes.size();
  if (begin < next_pos_) begin = next_pos_;  // already have these
  end = std::min(end, limit_pos());
  if (begin >= end) return r;
  const auto slice =
      bytes.subspan(static_cast<size_t>(begin - pos), static_cast<size_t>(end - begin));
  if (!data_) {
    // First byte: allocate the ring (default-initialised, not zero-filled:
    // only stored bytes are read) and the range table, once.
    data_.reset(new uint8_t[capacity_]);
    ranges_.reserve(kMaxRanges + 1);
  }

  if (begin == next_pos_) {
    copy_in(begin, slice);
    r.stored = slice.size();
    next_pos_ = end;
    // Swallow held ranges that are now contiguous.
    while (!ranges_.empty() && ranges_.front().begin <= next_pos_) {
      r.filled_hole = true;
      next_pos_ = std::max(next_pos_, ranges_.front().end);
      ranges_.erase(ranges_.begin());
    }
    r.advanced = static_cast<size_t>(next_pos_ - begin);
    return r;
  }

  // Out of order: merge with overlapping or touching ranges.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                             [](const Range& x, uint64_t b) { return x.end < b; });
  uint64_t nb = begin, ne = end;
  auto last = it;
  while (last != ranges_.end() && last->begin <= ne) {
    nb = std::min(nb, last->begin);
    ne = std::max(ne, last->end);
    ++last;
  }
  if (it == last && ranges_.size() >= kMaxRanges) {  // no room to track it
    r.no_room = true;
    return r;
  }
  // Count only bytes not already held.
  size_t already = 0;
  for (auto k = it; k != last; ++k) {
    const uint64_t ob = std::max(k->begin, begin), oe = std::min(k->end, end);
    if (oe > ob) already += static_cast<size_t>(oe - ob);
  }
  copy_in(begin, slice);
  r.stored = slice.size() - already;
  it = ranges_.erase(it, last);
  ranges_.insert(it, Range{nb, ne, ++stamp_});
  return r;
}

size_t RecvBuffer::read(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), readable());
  if (n == 0) return 0;
  const size_t cap = capacity_;
  const size_t idx = static_cast<size_t>(read_pos_ % cap);
  const size_t first = std::min(n, cap - idx);
  std::memcpy(out.data(), &data_[idx], first);
  if (n > first) std::memcpy(out.data() + first, &data_[0], n - first);
  read_pos_ += n;
  return n;
}

size_t RecvBuffer::recent_ranges(Range* out, size_t max) const {
  size_t n = 0;
  for (const auto& r : ranges_) {
    // Insertion sort by stamp, descending; ranges_ is tiny.
    size_t k = std::min(n, max);
    if (k == max && (max == 0 || out[max - 1].stamp >= r.stamp)) continue;
    if (k == max) --k;
    while (k > 0 && out[k - 1].stamp < r.stamp) {
      out[k] = out[k - 1];
      --k;
    }
    out[k] = r;
    if (n < max) ++n;
  }
  return n;
}

}  // namespace vigil::tcp
