// The receive buffer: in-order bytes waiting for the application plus
// out-of-order bytes held for reassembly, in one ring of at most capacity()
// bytes whose storage grows with the data: nothing until the first byte
// arrives (a half-open connection holds none, issue 12 hole 4), then
// kInitialBytes, doubled whenever a byte lands beyond it, up to capacity()
// and then kept, so the steady-state path never allocates; release() frees
// it once the connection is done with it. The window offered is set by
// capacity(), never by what is allocated (issue 15).
// Positions are 64-bit stream offsets (bytes since the first data byte), so
// nothing here wraps; the connection maps them to sequence numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace vigil::tcp {

class RecvBuffer {
 public:
  // At most this many separate out-of-order ranges are held; data that
  // would open another is dropped (and arrives again by retransmission).
  static constexpr size_t kMaxRanges = 16;

  // The first allocation: a few segments (5.6 at MSS 1460).
  static constexpr size_t kInitialBytes = 8192;

  explicit RecvBuffer(size_t capacity);

  size_t capacity() const { return capacity_; }
  // Heap bytes held now: the ring and the range table, once allocated.
  size_t allocated_bytes() const { return alloc_ + ranges_.capacity() * sizeof(Range); }
  uint64_t read_pos() const { return read_pos_; }  // next byte the app reads
  uint64_t next_pos() const { return next_pos_; }  // RCV.NXT as a stream offset
  size_t readable() const { return static_cast<size_t>(next_pos_ - read_pos_); }
  // Room beyond RCV.NXT that the window may offer.
  size_t free_space() const { return capacity_ - readable(); }
  // Stream offset of the first byte that does not fit.
  uint64_t limit_pos() const { return read_pos_ + capacity_; }

  struct InsertResult {
    size_t stored = 0;         // new bytes stored (in order or not)
    size_t advanced = 0;       // how far next_pos moved
    bool filled_hole = false;  // moved next_pos up to or into held data
    bool no_room = false;      // out of order and kMaxRanges already held: dropped
  };
  // Stores `bytes` starting at stream offset `pos` (pos may precede next_pos:
  // already-received bytes are ignored). Bytes past limit_pos() are cut off.
  InsertResult insert(uint64_t pos, std::span<const uint8_t> bytes);

  size_t read(std::span<uint8_t> out);
  // For a connection nothing more can arrive on (CLOSED, TIME-WAIT): drops
  // the out-of-order bytes, which can never become readable, and frees the
  // storage once no unread byte is left.
  void release();
  // Autotuning (Connection::adjust_recv_space): a larger ceiling; storage
  // still grows only with the data. Never shrinks (a window offered stays).
  void raise_capacity(size_t capacity) { capacity_ = capacity > capacity_ ? capacity : capacity_; }

  struct Range {
    uint64_t begin = 0, end = 0;
    uint64_t stamp = 0;  // higher = more recently extended (RFC 2018 §4 ordering)
  };
  const std::vector<Range>& out_of_order() const { return ranges_; }
  // Out-of-order ranges, most recently changed first (RFC 2018 §4).
  size_t recent_ranges(Range* out, size_t max) const;

 private:
  void copy_in(uint64_t pos, std::span<const uint8_t> bytes);
  void copy_out(uint64_t pos, uint8_t* out, size_t n) const;
  void grow(size_t need);  // storage for stream offsets [read_pos_, read_pos_ + need)

  std::unique_ptr<uint8_t[]> data_;  // alloc_ bytes, never zero-filled
  size_t capacity_;
  size_t alloc_ = 0;  // ring size now; stream offset p lives at index p % alloc_
  uint64_t read_pos_ = 0;
  uint64_t next_pos_ = 0;
  std::vector<Range> ranges_;  // disjoint, sorted by begin, all > next_pos_
  uint64_t stamp_ = 0;
};

}  // namespace vigil::tcp
