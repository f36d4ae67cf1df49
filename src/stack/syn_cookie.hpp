// SYN cookies (RFC 4987 §3.6): when a listener's SYN queue is full, the
// SYN-ACK's sequence number encodes what the SYN negotiated, so the stack
// keeps no state until the ACK returns it. After the idea of Linux's
// net/ipv4/syncookies.c (own code, own layout):
//
//   cookie = H1(tuple) + (t << 24) + (H2(tuple, t, SEG.SEQ, m) & 0xfffffc) + m
//
// H1, H2 keyed SipHash with the stack's secret; t a coarse counter (one
// tick per kPeriod, mod 256); m the MSS index (2 bits). An ACK is accepted
// while its cookie's t is the current or the previous tick, so a cookie
// lives 64 to 128 s. Unlike Linux's, which adds the SYN's sequence number
// and the MSS index, H2 covers both, so a cookie off by a few (or an ACK
// for a neighbouring SEG.SEQ) does not alias to another MSS: a forged ACK
// passes with probability 2/256 * 2^-22 per guess. Window scale and
// SACK-permitted, which do not fit, ride in the low 6 bits of our TSval
// (Linux's cookie_init_timestamp) and come back in the ACK's TSecr; without
// timestamps only the MSS survives, as on Linux.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "tcp/connection.hpp"
#include "vigil/time.hpp"

namespace vigil::stack {

class SynCookies {
 public:
  // MSS values a cookie can carry (Linux's msstab): the largest entry not
  // above the peer's MSS is encoded, 536 for anything smaller.
  static constexpr std::array<uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};
  static constexpr Duration kPeriod = Duration::seconds(64);
  static constexpr uint32_t kTsBits = 6;  // low TSval bits carrying options
  static constexpr uint32_t kTsMask = (1u << kTsBits) - 1;
  static constexpr uint32_t kNoWscale = 0xf;  // TSval low nibble: no window scale

  SynCookies() = default;
  explicit SynCookies(const std::array<uint8_t, 16>& secret) : secret_(secret) {}

  static uint8_t mss_index(uint16_t peer_mss);
  // The ISS for a SYN from `t` with sequence number `syn_seq`, at `now`.
  uint32_t make(const tcp::FourTuple& t, uint32_t syn_seq, Instant now, uint8_t mss_idx) const;
  // The MSS index if `cookie` (SEG.ACK - 1 of the returning ACK) is one we
  // sent for this tuple and SYN sequence number (SEG.SEQ - 1) in the current
  // or previous period; nullopt otherwise.
  std::optional<uint8_t> check(const tcp::FourTuple& t, uint32_t syn_seq, uint32_t cookie,
                               Instant now) const;

  // The TSval of a cookie SYN-ACK: our clock `ts_now` with its low 6 bits
  // replaced by the options (bits 0-3 window shift or kNoWscale, bit 4
  // SACK-permitted), moved back one step if that would run ahead of the
  // clock, so TSval never goes backwards on the connection.
  static uint32_t encode_ts(uint32_t ts_now, bool wscale, uint8_t shift, bool sack);
  struct TsOptions {
    bool wscale = false;
    uint8_t shift = 0;
    bool sack = false;
  };
  // From the ACK's TSecr; nullopt when bit 5, which we always send clear
  // (Linux's ECN bit), is set: not an echo of our TSval.
  static std::optional<TsOptions> decode_ts(uint32_t ts_ecr);

  static uint32_t counter(Instant now) { return static_cast<uint32_t>(now.ns() / kPeriod.ns()); }

 private:
  uint32_t hash(const tcp::FourTuple& t, uint32_t count, uint32_t syn_seq, uint8_t data,
                uint8_t domain) const;
  std::array<uint8_t, 16> secret_{};
};

}  // namespace vigil::stack
