// Drives a stack::Stack with hand-built datagrams from a fake remote and
// decodes what it sends: shared by the stack tests (tests/unit/stack_*).
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "stack/stack.hpp"
#include "tcp_harness.hpp"
#include "wire/packet.hpp"

namespace vigil::stack::harness {

using Bytes = std::vector<uint8_t>;

inline constexpr wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);  // the stack under test
inline constexpr wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 0, 0, 2);  // peer / fake remote

inline StackConfig config_for(wire::Ipv4Addr addr) {
  StackConfig c;
  c.address = addr;
  c.tcp = testing::plain_config();  // MSS 1000, no TS/SACK/wscale: segments easy to check
  return c;
}

// ---- Building and decoding datagrams ----------------------------------------

struct TcpSpec {
  wire::Ipv4Addr src = kB, dst = kA;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 65535;
  Bytes payload;
  wire::TcpOptions opt;
};

inline Bytes build(const TcpSpec& s) {
  Bytes buf(70000);
  wire::Ipv4Fields ip;
  ip.src = s.src;
  ip.dst = s.dst;
  wire::TcpFields t;
  t.src_port = s.sport;
  t.dst_port = s.dport;
  t.seq = s.seq;
  t.ack = s.ack;
  t.flags = s.flags;
  t.window = s.window;
  const size_t n = wire::build_ipv4_tcp(buf, ip, t, s.opt, s.payload);
  EXPECT_GT(n, 0u);
  buf.resize(n);
  return buf;
}

inline TcpSpec syn_spec(uint16_t sport, uint16_t dport, uint32_t seq) {
  TcpSpec s;
  s.sport = sport;
  s.dport = dport;
  s.seq = seq;
  s.flags = wire::tcp_flags::kSyn;
  s.opt.has_mss = true;
  s.opt.mss = 1000;
  return s;
}

// A decoded copy of one datagram a stack sent.
struct Out {
  Bytes raw;
  wire::Ipv4Addr src, dst;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  wire::TcpOptions opt;
  Bytes payload;
};

inline Out decode(std::span<const uint8_t> dg) {
  Out o;
  o.raw.assign(dg.begin(), dg.end());
  wire::PacketView pkt;
  EXPECT_EQ(wire::parse_packet(o.raw, &pkt), wire::Drop::kNone) << "stack sent a bad datagram";
  EXPECT_EQ(pkt.kind, wire::PacketView::Kind::kTcp);
  o.src = pkt.ip.src();
  o.dst = pkt.ip.dst();
  o.sport = pkt.tcp.src_port();
  o.dport = pkt.tcp.dst_port();
  o.seq = pkt.tcp.seq();
  o.ack = pkt.tcp.ack();
  o.flags = pkt.tcp.flags();
  o.window = pkt.tcp.window();
  o.opt = pkt.tcp.options();
  o.payload.assign(pkt.tcp.payload().begin(), pkt.tcp.payload().end());
  return o;
}

// Everything `s` owes at `now`.
inline std::vector<Out> drain(Stack& s, Instant now) {
  std::vector<Out> out;
  Bytes buf(70000);
  for (int guard = 0; guard < 100000; ++guard) {
    const size_t n = s.poll_transmit(now, buf);
    if (n == 0) return out;
    out.push_back(decode(std::span<const uint8_t>(buf.data(), n)));
  }
  ADD_FAILURE() << "poll_transmit never went quiet";
  return out;
}

inline std::vector<Out> deliver(Stack& s, Instant now, const Bytes& dg) {
  s.receive(now, dg);
  return drain(s, now);
}

}  // namespace vigil::stack::harness
