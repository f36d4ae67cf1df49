// One entry point from raw bytes to a validated packet: IPv4 then TCP or
// ICMP. Anything refused is reported with its Drop reason for counting.
#pragma once

#include <span>

#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::wire {

struct PacketView {
  enum class Kind { kTcp, kIcmpUnreachable };
  Kind kind = Kind::kTcp;
  Ipv4View ip;
  TcpView tcp;               // valid when kind == kTcp
  IcmpUnreachableView icmp;  // valid when kind == kIcmpUnreachable
};

// verify_checksums=false is for captures whose checksums were offloaded.
Drop parse_packet(std::span<const uint8_t> bytes, PacketView* out, bool verify_checksums = true);

}  // namespace vigil::wire
