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
  alloc_ = 0;
}

void RecvBuffer::grow(size_t need) {
  // Doubling up to capacity_ (need <= capacity_: insert cuts at limit_pos).
  size_t n = alloc_ ? alloc_ : std::min(kInitialBytes, capacity_);
  while (n < need) n = std::min(n * 2, capacity_);
  std::unique_ptr<uint8_t[]> old = std::move(data_);
  const size_t old_alloc = alloc_;
  data_.reset(new uint8_t[n]);  // not zero-filled: only stored bytes are read
  alloc_ = n;
  if (old_alloc == 0) return;
  // Move what is held (the readable bytes and each out-of-order range) to
  // its index in the larger ring; nothing else in the old ring is live.
  auto move = [&](uint64_t b, uint64_t e) {
    for (uint64_t p = b; p < e;) {
      const size_t idx = static_cast<size_t>(p % old_alloc);
      const size_t len = static_cast<size_t>(std::min<uint64_t>(e - p, old_alloc - idx));
      copy_in(p, std::span<const uint8_t>(&old[idx], len));
      p += len;
    }
  };
  move(read_pos_, next_pos_);
  for (const auto& r : ranges_) move(r.begin, r.end);
}

void RecvBuffer::copy_in(uint64_t pos, std::span<const uint8_t> bytes) {
  const size_t cap = alloc_;
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
  // Room for every byte up to `end`: the ring grows (doubling), so a
  // connection that exchanges a few bytes never takes capacity_.
  if (end - read_pos_ > alloc_) grow(static_cast<size_t>(end - read_pos_));

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
  // The range table, once, on the first out-of-order byte (in-order
  // traffic never needs it); before any iterator into it is taken.
  if (ranges_.capacity() == 0) ranges_.reserve(kMaxRanges + 1);
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
  copy_out(read_pos_, out.data(), n);
  read_pos_ += n;
  return n;
}

void RecvBuffer::copy_out(uint64_t pos, uint8_t* out, size_t n) const {
  const size_t cap = alloc_;
  const size_t idx = static_cast<size_t>(pos % cap);
  const size_t first = std::min(n, cap - idx);
  std::memcpy(out, &data_[idx], first);
  if (n > first) std::memcpy(out + first, &data_[0], n - first);
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
