// What the connection tests (tcp_harness.hpp) and the connection fuzz target
// (tests/fuzz/connection_fuzz.cpp) share: the sequence-number origins, the
// plain config, the 4-tuple, and ICMP quoting one of our segments. No
// GoogleTest here: the fuzz target is built without it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace vigil::testing {

inline constexpr uint32_t kIss = 5000;  // ours
inline constexpr uint32_t kIrs = 9000;  // the peer's

// A config that keeps segments easy to check by hand: no options beyond
// MSS unless a test turns them on.
inline tcp::TcpConfig plain_config() {
  tcp::TcpConfig c = tcp::TcpConfig::rfc();
  c.timestamps = false;
  c.sack = false;
  c.window_scaling = false;
  c.mss = 1000;
  c.recv_buffer = 8000;
  c.send_buffer = 64000;
  return c;
}

// The connection under test is local, the scripted peer remote.
inline tcp::FourTuple test_tuple() {
  tcp::FourTuple t;
  t.local = {wire::Ipv4Addr::of(10, 0, 0, 1), 1000};
  t.remote = {wire::Ipv4Addr::of(10, 0, 0, 2), 2000};
  return t;
}

// IPv4 + ICMP destination unreachable from a router (10.0.0.254) quoting
// the start of a segment of ours on test_tuple() with sequence number
// `seq` (and `payload`); empty if a builder failed.
inline std::vector<uint8_t> icmp_quoting_bytes(uint32_t seq, uint8_t code, uint16_t mtu,
                                               std::span<const uint8_t> payload = {}) {
  const tcp::FourTuple tuple = test_tuple();
  std::vector<uint8_t> seg(2048), icmp(2148);
  wire::Ipv4Fields ip;
  ip.src = tuple.local.addr;
  ip.dst = tuple.remote.addr;
  wire::TcpFields t;
  t.src_port = tuple.local.port;
  t.dst_port = tuple.remote.port;
  t.seq = seq;
  t.flags = wire::tcp_flags::kAck;
  const size_t n = wire::build_ipv4_tcp(seg, ip, t, {}, payload);
  const size_t m = n == 0 ? 0
                          : wire::build_icmp_unreachable(icmp, wire::Ipv4Addr::of(10, 0, 0, 254),
                                                         code, mtu, {seg.data(), n});
  icmp.resize(m);
  return icmp;
}

}  // namespace vigil::testing
