// TCP header and options: a validated view and a builder (RFC 9293 §3.1,
// options from RFC 9293 §3.2, RFC 7323, RFC 2018, RFC 5482).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "wire/drop.hpp"
#include "wire/ipv4.hpp"

namespace vigil::wire {

namespace tcp_flags {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;
inline constexpr uint8_t kCwr = 0x80;
}  // namespace tcp_flags

// "SYN,ACK"-style text for timelines.
std::string flags_to_string(uint8_t flags);

inline constexpr size_t kTcpMinHeader = 20;
inline constexpr size_t kTcpMaxOptions = 40;

namespace tcp_option {
inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamps = 8;
inline constexpr uint8_t kUserTimeout = 28;  // RFC 5482
}  // namespace tcp_option

struct SackBlock {
  uint32_t left = 0;   // first sequence number of the block
  uint32_t right = 0;  // sequence number just past the block
  auto operator<=>(const SackBlock&) const = default;
};

// Parsed options. Known options of the wrong length are ignored (treated as
// unknown), as RFC 9293 §3.2 asks receivers to be robust; unknown options are
// skipped by their length field.
struct TcpOptions {
  bool has_mss = false;
  uint16_t mss = 0;
  bool has_window_scale = false;
  uint8_t window_scale = 0;
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint8_t sack_count = 0;
  SackBlock sack[4];
  bool has_user_timeout = false;
  uint16_t user_timeout = 0;  // raw RFC 5482 field: granularity bit + 15-bit value

  // Parses an options area. Returns kTcpBadOptionLength on a length byte of
  // 0 or 1 or an option running past the area.
  static Drop parse(std::span<const uint8_t> area, TcpOptions* out);
  // Bytes `write` would produce (a multiple of 4, at most 40).
  size_t encoded_size() const;
  // Writes the options into `out` (at least encoded_size() bytes); returns
  // bytes written. SACK blocks that do not fit in 40 bytes are left out.
  size_t write(std::span<uint8_t> out) const;
};

// A validated view of a TCP segment: header, options, payload.
class TcpView {
 public:
  // `segment` is the IP payload. The checksum covers the IPv4 pseudo-header.
  static Drop parse(std::span<const uint8_t> segment, Ipv4Addr src, Ipv4Addr dst, TcpView* out,
                    bool verify_checksum = true);

  uint16_t src_port() const { return src_port_; }
  uint16_t dst_port() const { return dst_port_; }
  uint32_t seq() const { return seq_; }
  uint32_t ack() const { return ack_; }
  uint8_t flags() const { return flags_; }
  uint16_t window() const { return window_; }
  uint16_t urgent() const { return urgent_; }
  bool has(uint8_t flag) const { return (flags_ & flag) != 0; }
  const TcpOptions& options() const { return options_; }
  std::span<const uint8_t> payload() const { return payload_; }
  // Sequence space the segment occupies: payload plus one each for SYN, FIN.
  uint32_t seg_len() const {
    return static_cast<uint32_t>(payload_.size()) + (has(tcp_flags::kSyn) ? 1 : 0) +
           (has(tcp_flags::kFin) ? 1 : 0);
  }

 private:
  uint16_t src_port_ = 0, dst_port_ = 0;
  uint32_t seq_ = 0, ack_ = 0;
  uint8_t flags_ = 0;
  uint16_t window_ = 0, urgent_ = 0;
  TcpOptions options_;
  std::span<const uint8_t> payload_;
};

struct TcpFields {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
};

// How build_ipv4_tcp fills the TCP checksum field. kFull (the default, and
// always in the simulator): the RFC 9293 §3.1 checksum. kPartial, for a
// driver whose device finishes checksums (a TUN device opened with
// IFF_VNET_HDR, sending with NEEDS_CSUM, Virtio 1.2 §5.1.6.2): only the
// folded, not complemented, pseudo-header sum, skipping the pass over the
// segment; the device completes it (csum_start = IP header length,
// csum_offset = 16). The caller says which on every call (a connection
// carries it as a setting, tcp::Connection::set_partial_checksum), so wire
// keeps no state of its own.
enum class TcpChecksum : uint8_t { kFull, kPartial };

// The folded, not complemented, one's-complement sum of the TCP/IPv4
// pseudo-header (RFC 9293 §3.1): what a partial checksum field holds.
uint16_t tcp_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, size_t tcp_len);

// Builds a whole IPv4+TCP datagram into `out`. The payload may come in two
// parts (a ring buffer that wraps). Returns the datagram length, or 0 when
// `out` is too small or the result would exceed 65535 bytes.
size_t build_ipv4_tcp(std::span<uint8_t> out, const Ipv4Fields& ip, const TcpFields& tcp,
                      const TcpOptions& options, std::span<const uint8_t> payload_a = {},
                      std::span<const uint8_t> payload_b = {},
                      TcpChecksum checksum = TcpChecksum::kFull);

}  // namespace vigil::wire
