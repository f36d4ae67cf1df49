// ICMP destination-unreachable parsing (RFC 792, RFC 1122 §4.2.3.9) and a
// builder used by the simulator to play a router or a closed host.
#pragma once

#include <cstdint>
#include <span>

#include "wire/drop.hpp"
#include "wire/ipv4.hpp"

namespace vigil::wire {

inline constexpr uint8_t kIcmpDestUnreachable = 3;

namespace icmp_code {
inline constexpr uint8_t kNetUnreachable = 0;
inline constexpr uint8_t kHostUnreachable = 1;
inline constexpr uint8_t kProtocolUnreachable = 2;
inline constexpr uint8_t kPortUnreachable = 3;
inline constexpr uint8_t kFragmentationNeeded = 4;
inline constexpr uint8_t kSourceRouteFailed = 5;
}  // namespace icmp_code

// A destination-unreachable message quoting the start of a TCP segment we
// sent: its addresses, ports and sequence number (the first 8 bytes of the
// TCP header are all RFC 792 guarantees).
class IcmpUnreachableView {
 public:
  // `message` is the IP payload of an ICMP datagram. Only type 3 quoting a
  // TCP segment is accepted; other types give kIcmpUnsupported.
  static Drop parse(std::span<const uint8_t> message, IcmpUnreachableView* out,
                    bool verify_checksum = true);

  uint8_t code() const { return code_; }
  uint16_t next_hop_mtu() const { return mtu_; }  // code 4 only (RFC 1191)
  Ipv4Addr quoted_src() const { return quoted_src_; }
  Ipv4Addr quoted_dst() const { return quoted_dst_; }
  uint16_t quoted_src_port() const { return sport_; }
  uint16_t quoted_dst_port() const { return dport_; }
  uint32_t quoted_seq() const { return seq_; }

 private:
  uint8_t code_ = 0;
  uint16_t mtu_ = 0;
  Ipv4Addr quoted_src_, quoted_dst_;
  uint16_t sport_ = 0, dport_ = 0;
  uint32_t seq_ = 0;
};

// Builds IP+ICMP destination unreachable from `from` quoting the start of
// `offending` (its IP header plus 8 bytes). Returns the length, 0 if `out`
// is too small or `offending` is shorter than an IP header plus 8 bytes.
size_t build_icmp_unreachable(std::span<uint8_t> out, Ipv4Addr from, uint8_t code,
                              uint16_t next_hop_mtu, std::span<const uint8_t> offending);

}  // namespace vigil::wire
