// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4, RFC 1982 style):
// a < b when the signed 32-bit difference a - b is negative. At a distance
// of exactly 2^31 the difference is INT32_MIN either way, so each number is
// "less" than the other; RFC 1982 §3.2 leaves that case undefined, and TCP
// windows (at most 2^30, RFC 7323 §2.3) never come near it. In wire, not
// tcp, because the analyzer compares sequence numbers too (issue 10 §1).
#pragma once

#include <cstdint>

namespace vigil::wire {

inline int32_t seq_diff(uint32_t a, uint32_t b) {  // a - b, as a signed distance
  return static_cast<int32_t>(a - b);
}
inline bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
// lo <= x < hi, all modulo 2^32.
inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi) { return seq_le(lo, x) && seq_lt(x, hi); }
inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_lt(a, b) ? b : a; }
inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

}  // namespace vigil::wire
