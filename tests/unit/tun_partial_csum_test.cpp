// The opt-in partial TCP checksum for a TUN device with IFF_VNET_HDR
// (wire::TcpChecksum::kPartial, link::prepare_tx_partial): the checksum
// field holds the RFC 9293 §3.1 pseudo-header sum, and finishing it as the
// device does (Virtio 1.2 §5.1.6.2, link::complete_checksum) gives the same
// bytes as the full software checksum.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "link/vnet_hdr.hpp"
#include "stack/stack.hpp"
#include "wire/bytes.hpp"
#include "wire/packet.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::link {
namespace {

// 10.0.0.1:1000 -> 10.0.0.2:2000, `payload` bytes of i*7 mod 251, with the
// timestamp option (12 bytes) so the TCP header is 32 bytes.
std::vector<uint8_t> build(size_t payload, wire::TcpChecksum checksum = wire::TcpChecksum::kFull) {
  std::vector<uint8_t> data(payload);
  for (size_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>((i * 7) % 251);
  std::vector<uint8_t> buf(65535);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, 0, 0, 1);
  ip.dst = wire::Ipv4Addr::of(10, 0, 0, 2);
  wire::TcpFields t;
  t.src_port = 1000;
  t.dst_port = 2000;
  t.seq = 0x01020304;
  t.ack = 0xa0b0c0d0;
  t.flags = wire::tcp_flags::kAck | wire::tcp_flags::kPsh;
  t.window = 501;
  wire::TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 77;
  o.ts_ecr = 88;
  // Two parts, as from a ring buffer that wraps.
  const size_t half = payload / 2;
  const size_t n = wire::build_ipv4_tcp(buf, ip, t, o, std::span<const uint8_t>(data).first(half),
                                        std::span<const uint8_t>(data).subspan(half), checksum);
  EXPECT_EQ(n, 20 + 32 + payload);
  buf.resize(n);
  return buf;
}

// RFC 9293 §3.1 pseudo-header of 10.0.0.1 -> 10.0.0.2, by hand: 0x0a00 +
// 0x0001 + 0x0a00 + 0x0002 + protocol 6 = 0x1409, plus the TCP length,
// folded (RFC 1071 end-around carry), not complemented.
uint16_t pseudo(size_t tcp_len) {
  uint32_t s = 0x1409 + static_cast<uint32_t>(tcp_len);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

TEST(PartialChecksum, OffByDefaultTheFieldHoldsTheFullChecksum) {
  const auto pkt = build(1000);
  wire::PacketView v;
  EXPECT_EQ(wire::parse_packet(pkt, &v), wire::Drop::kNone);
}

TEST(PartialChecksum, FieldHoldsThePseudoHeaderSumAndTheRestIsUnchanged) {
  for (size_t payload : {0u, 1u, 999u, 1448u, 3000u, 65000u}) {
    const auto full = build(payload);
    const std::vector<uint8_t> part = build(payload, wire::TcpChecksum::kPartial);
    ASSERT_EQ(part.size(), full.size());
    EXPECT_EQ(wire::load_be16(part.data() + 20 + 16), pseudo(32 + payload)) << payload;
    // Every other byte, IP header checksum included, is what the full
    // build wrote.
    for (size_t i = 0; i < full.size(); ++i) {
      if (i == 36 || i == 37) continue;
      ASSERT_EQ(part[i], full[i]) << "byte " << i << " payload " << payload;
    }
  }
  // 65000 + 32 = 65032 = 0xfe08: 0x1409 + 0xfe08 = 0x11211 folds to 0x1212.
  EXPECT_EQ(pseudo(65032), 0x1212);
}

TEST(PartialChecksum, CompletingItGivesTheFullChecksumBytes) {
  // Odd lengths exercise RFC 1071 §4 padding; 65000 the carry folding.
  for (size_t payload : {0u, 1u, 999u, 1448u, 3000u, 65000u}) {
    const auto full = build(payload);
    std::vector<uint8_t> part = build(payload, wire::TcpChecksum::kPartial);
    const VnetHdr h = prepare_tx_partial(part, 1448);
    EXPECT_EQ(h.flags, VnetHdr::kNeedsCsum);
    EXPECT_EQ(h.csum_start, 20);
    EXPECT_EQ(h.csum_offset, 16);
    ASSERT_EQ(check_vnet_packet(h, part), VnetDrop::kNone);
    if (payload > 1448) {
      EXPECT_EQ(h.gso_type, VnetHdr::kGsoTcpV4);
      EXPECT_EQ(h.gso_size, 1448);
      EXPECT_EQ(h.hdr_len, 52);
    } else {
      EXPECT_EQ(h.gso_type, VnetHdr::kGsoNone);
      EXPECT_EQ(h.gso_size, 0);
      EXPECT_EQ(h.hdr_len, 0);
    }
    complete_checksum(h, part);
    EXPECT_EQ(part, full) << payload;
  }
}

TEST(PartialChecksum, NotIpv4TcpGetsAZeroHeader) {
  auto pkt = build(100);
  pkt[9] = 17;  // UDP
  EXPECT_EQ(prepare_tx_partial(pkt, 1448).flags, 0);
  auto shortp = build(100);
  shortp.resize(30);
  EXPECT_EQ(prepare_tx_partial(shortp, 1448).flags, 0);
  auto lying = build(100);
  wire::store_be16(lying.data() + 2, 2000);  // total length past the buffer
  EXPECT_EQ(prepare_tx_partial(lying, 1448).flags, 0);
}

// The stack's opt-in: a connection's SYN built under set_partial_checksum
// carries the pseudo-header sum and is reported as partial; off (the
// default) it carries the full checksum.
TEST(PartialChecksum, StackReportsPartialDatagramsOnlyWhenOptedIn) {
  for (bool on : {false, true}) {
    stack::StackConfig cfg;
    cfg.address = wire::Ipv4Addr::of(10, 0, 0, 1);
    stack::Stack s(cfg, util::Rng(1), nullptr, Instant::from_ns(0));
    s.set_partial_checksum(on);
    ASSERT_TRUE(s.connect(Instant::from_ns(0), tcp::Endpoint{wire::Ipv4Addr::of(10, 0, 0, 2), 80})
                    .has_value());
    std::vector<uint8_t> buf(65535);
    uint32_t mss = 0;
    bool partial = !on;
    const size_t n = s.poll_transmit(Instant::from_ns(0), buf, &mss, &partial);
    ASSERT_GT(n, 40u);
    EXPECT_EQ(partial, on);
    EXPECT_GT(mss, 0u);
    buf.resize(n);
    const size_t tcp_len = n - 20;
    wire::PacketView v;
    if (on) {
      EXPECT_EQ(wire::load_be16(buf.data() + 36), pseudo(tcp_len));
      EXPECT_EQ(wire::parse_packet(buf, &v), wire::Drop::kTcpBadChecksum);
      complete_checksum(prepare_tx_partial(buf, mss), buf);
    }
    EXPECT_EQ(wire::parse_packet(buf, &v), wire::Drop::kNone);
  }
}

// The setting is each connection's, given by the stack to connections
// already open as well as to new ones: turned on after connect(), the SYN
// (not yet sent) goes out partial; turned off again, the next datagram (the
// SYN's retransmission at the RTO) is full. Two stacks in one thread, one on and one off,
// interleave without either leaking into the other (no thread-local state).
TEST(PartialChecksum, StackSettingReachesOpenConnectionsAndStaysPerStack) {
  auto make = [] {
    stack::StackConfig cfg;
    cfg.address = wire::Ipv4Addr::of(10, 0, 0, 1);
    return std::make_unique<stack::Stack>(cfg, util::Rng(1), nullptr, Instant::from_ns(0));
  };
  auto on = make();
  auto off = make();
  const tcp::Endpoint peer{wire::Ipv4Addr::of(10, 0, 0, 2), 80};
  const auto id_on = on->connect(Instant::from_ns(0), peer);
  const auto id_off = off->connect(Instant::from_ns(0), peer);
  ASSERT_TRUE(id_on && id_off);
  on->set_partial_checksum(true);
  std::vector<uint8_t> a(65535), b(65535);
  uint32_t mss = 0;
  bool partial_a = false, partial_b = true;
  const size_t na = on->poll_transmit(Instant::from_ns(0), a, &mss, &partial_a);
  const size_t nb = off->poll_transmit(Instant::from_ns(0), b, &mss, &partial_b);
  ASSERT_GT(na, 40u);
  ASSERT_EQ(na, nb);
  EXPECT_TRUE(partial_a);
  EXPECT_FALSE(partial_b);
  EXPECT_EQ(wire::load_be16(a.data() + 36), pseudo(na - 20));
  b.resize(nb);
  wire::PacketView v;
  EXPECT_EQ(wire::parse_packet(b, &v), wire::Drop::kNone);

  on->set_partial_checksum(false);
  const Instant rto = on->next_deadline();
  on->on_timers(rto);
  std::vector<uint8_t> again(65535);
  partial_a = true;
  const size_t nr = on->poll_transmit(rto, again, &mss, &partial_a);
  ASSERT_EQ(nr, na);  // the same SYN, retransmitted
  EXPECT_FALSE(partial_a);
  again.resize(nr);
  EXPECT_EQ(wire::parse_packet(again, &v), wire::Drop::kNone);
}

}  // namespace
}  // namespace vigil::link
