// The virtio_net_hdr codec and checksum offload helpers used with a TUN
// device opened with IFF_VNET_HDR (link/vnet_hdr.*), and the opt-in
// TSO-sized sends of tcp::Connection that go with them.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "link/vnet_hdr.hpp"
#include "tcp_harness.hpp"
#include "wire/bytes.hpp"
#include "wire/packet.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::link {
namespace {

// A TCP/IPv4 datagram 10.0.0.1:1000 -> 10.0.0.2:2000 with `payload` bytes of
// i*7 mod 251, built (and checksummed) by the wire layer.
std::vector<uint8_t> datagram(size_t payload, uint8_t proto_override = 0) {
  std::vector<uint8_t> data(payload);
  for (size_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>((i * 7) % 251);
  std::vector<uint8_t> buf(65535);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, 0, 0, 1);
  ip.dst = wire::Ipv4Addr::of(10, 0, 0, 2);
  wire::TcpFields t;
  t.src_port = 1000;
  t.dst_port = 2000;
  t.seq = 123456;
  t.ack = 654321;
  t.flags = wire::tcp_flags::kAck;
  t.window = 512;
  const size_t n = wire::build_ipv4_tcp(buf, ip, t, wire::TcpOptions{}, data);
  EXPECT_EQ(n, 40 + payload);
  buf.resize(n);
  if (proto_override) buf[9] = proto_override;  // header checksum now stale: fine here
  return buf;
}

TEST(VnetHdr, EncodesLittleEndianFieldsInVirtioOrder) {
  // Virtio 1.2 §5.1.6: flags, gso_type, hdr_len, gso_size, csum_start,
  // csum_offset; 16-bit fields little-endian (TUNSETVNETLE).
  VnetHdr h;
  h.flags = VnetHdr::kNeedsCsum;
  h.gso_type = VnetHdr::kGsoTcpV4;
  h.hdr_len = 52;
  h.gso_size = 1448;  // 0x05a8
  h.csum_start = 20;
  h.csum_offset = 16;
  std::array<uint8_t, kVnetHdrSize> b{};
  encode_vnet_hdr(h, b);
  const std::array<uint8_t, kVnetHdrSize> want = {0x01, 0x01, 0x34, 0x00, 0xa8,
                                                  0x05, 0x14, 0x00, 0x10, 0x00};
  EXPECT_EQ(b, want);

  VnetHdr d;
  ASSERT_EQ(decode_vnet_hdr(b, &d), VnetDrop::kNone);
  EXPECT_EQ(d.flags, 1);
  EXPECT_EQ(d.gso_type, 1);
  EXPECT_EQ(d.hdr_len, 52);
  EXPECT_EQ(d.gso_size, 1448);
  EXPECT_EQ(d.csum_start, 20);
  EXPECT_EQ(d.csum_offset, 16);
}

TEST(VnetHdr, ShortFramesAndUnrequestedGsoTypesAreCountedDrops) {
  std::array<uint8_t, kVnetHdrSize> b{};
  VnetHdr d;
  for (size_t n = 0; n < kVnetHdrSize; ++n) {
    EXPECT_EQ(decode_vnet_hdr(std::span<const uint8_t>(b.data(), n), &d), VnetDrop::kShort) << n;
  }
  EXPECT_EQ(decode_vnet_hdr(b, &d), VnetDrop::kNone);
  // Only TCPv4 was offered (TUN_F_TSO4): UDP, TCPv6 and the ECN bit are refused.
  for (uint8_t type :
       {VnetHdr::kGsoUdp, VnetHdr::kGsoTcpV6,
        static_cast<uint8_t>(VnetHdr::kGsoTcpV4 | VnetHdr::kGsoEcn), uint8_t{0x7f}}) {
    b[1] = type;
    EXPECT_EQ(decode_vnet_hdr(b, &d), VnetDrop::kUnsupportedGso) << int{type};
  }
  EXPECT_NE(vnet_drop_name(VnetDrop::kShort), vnet_drop_name(VnetDrop::kBadCsumRange));
}

TEST(VnetHdr, PartialChecksumOffsetsMustLieInsideThePacket) {
  const auto pkt = datagram(100);  // 140 bytes
  VnetHdr h;
  h.flags = VnetHdr::kNeedsCsum;
  h.csum_start = 20;
  h.csum_offset = 16;
  EXPECT_EQ(check_vnet_packet(h, pkt), VnetDrop::kNone);
  h.csum_start = 138;  // field at 154: past the end
  EXPECT_EQ(check_vnet_packet(h, pkt), VnetDrop::kBadCsumRange);
  h.csum_start = 122;
  h.csum_offset = 16;  // field at bytes 138..139: the last two, allowed
  EXPECT_EQ(check_vnet_packet(h, pkt), VnetDrop::kNone);
  h.csum_start = 0xffff;
  h.csum_offset = 0xffff;
  EXPECT_EQ(check_vnet_packet(h, pkt), VnetDrop::kBadCsumRange);
  // complete_checksum on refused offsets leaves the packet alone.
  auto copy = pkt;
  complete_checksum(h, copy);
  EXPECT_EQ(copy, pkt);
}

TEST(VnetHdr, GsoTcpV4OnAnythingButTcpOverIpv4IsRefused) {
  VnetHdr h;
  h.gso_type = VnetHdr::kGsoTcpV4;
  h.gso_size = 1000;
  EXPECT_EQ(check_vnet_packet(h, datagram(3000)), VnetDrop::kNone);
  EXPECT_EQ(check_vnet_packet(h, datagram(3000, 17)), VnetDrop::kNotTcpV4);  // UDP
  auto v6 = datagram(3000);
  v6[0] = 0x60;
  EXPECT_EQ(check_vnet_packet(h, v6), VnetDrop::kNotTcpV4);
  const auto whole = datagram(0);
  for (size_t n = 0; n < whole.size(); ++n) {  // cut inside the IP or TCP header
    EXPECT_EQ(check_vnet_packet(h, std::span<const uint8_t>(whole.data(), n)), VnetDrop::kNotTcpV4)
        << n;
  }
  auto bad_offset = datagram(100);
  bad_offset[20 + 12] = 0x40;  // TCP data offset 4 words < 5
  EXPECT_EQ(check_vnet_packet(h, bad_offset), VnetDrop::kNotTcpV4);
}

TEST(VnetHdr, SmallDatagramsGoWithAZeroHeaderAndTheirChecksum) {
  auto pkt = datagram(1000);
  const auto orig = pkt;
  for (uint32_t mss : {0u, 1000u, 1460u}) {
    const VnetHdr h = prepare_tx(pkt, mss);
    EXPECT_EQ(h.flags, 0);
    EXPECT_EQ(h.gso_type, VnetHdr::kGsoNone);
    EXPECT_EQ(h.gso_size, 0);
    EXPECT_EQ(pkt, orig);
  }
}

TEST(VnetHdr, TsoDatagramBecomesGsoWithPseudoHeaderSum) {
  auto pkt = datagram(3000);
  const uint16_t full = wire::load_be16(pkt.data() + 36);
  const VnetHdr h = prepare_tx(pkt, 1000);
  EXPECT_EQ(h.flags, VnetHdr::kNeedsCsum);
  EXPECT_EQ(h.gso_type, VnetHdr::kGsoTcpV4);
  EXPECT_EQ(h.hdr_len, 40);
  EXPECT_EQ(h.gso_size, 1000);
  EXPECT_EQ(h.csum_start, 20);
  EXPECT_EQ(h.csum_offset, 16);
  // RFC 9293 §3.1 pseudo-header, by hand: 0x0a00 + 0x0001 + 0x0a00 +
  // 0x0002 + protocol 6 + TCP length 3020 (0x0bcc) = 0x1fd5.
  EXPECT_EQ(wire::load_be16(pkt.data() + 36), 0x1fd5);
  EXPECT_EQ(check_vnet_packet(h, pkt), VnetDrop::kNone);

  // Finishing it as a NIC (or Linux's skb_checksum_help) would gives back
  // exactly the checksum the wire layer computed over the whole segment,
  // and the datagram verifies again.
  complete_checksum(h, pkt);
  EXPECT_EQ(wire::load_be16(pkt.data() + 36), full);
  wire::PacketView v;
  EXPECT_EQ(wire::parse_packet(pkt, &v), wire::Drop::kNone);
}

TEST(VnetHdr, CompletingAPartialChecksumFromTheKernelVerifies) {
  // What the kernel hands us with NEEDS_CSUM: the field holds the folded
  // pseudo-header sum. Odd payload lengths exercise RFC 1071 §4 padding.
  for (size_t payload : {0u, 1u, 999u, 1448u, 65000u}) {
    auto pkt = datagram(payload);
    uint32_t sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + static_cast<uint32_t>(20 + payload);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    wire::store_be16(pkt.data() + 36, static_cast<uint16_t>(sum));
    wire::PacketView v;
    if (payload > 0) {
      EXPECT_EQ(wire::parse_packet(pkt, &v), wire::Drop::kTcpBadChecksum) << payload;
    }
    VnetHdr h;
    h.flags = VnetHdr::kNeedsCsum;
    h.csum_start = 20;
    h.csum_offset = 16;
    ASSERT_EQ(check_vnet_packet(h, pkt), VnetDrop::kNone);
    complete_checksum(h, pkt);
    EXPECT_EQ(wire::parse_packet(pkt, &v), wire::Drop::kNone) << payload;
  }
}

}  // namespace
}  // namespace vigil::link

namespace vigil::testing {
namespace {

tcp::TcpConfig tso_config() {
  tcp::TcpConfig c = plain_config();
  c.initial_window_segments = 10;  // RFC 6928: IW = 10 * 1000 bytes here
  c.send_buffer = 200000;
  return c;
}

std::vector<uint8_t> bytes(size_t n) { return std::vector<uint8_t>(n, 0x5a); }

TEST(Tso, OffByDefaultEverySegmentIsOneMss) {
  Harness h(tso_config());
  h.to_established_active();
  ASSERT_EQ(h.conn().cwnd(), 10000u);
  const auto data = bytes(20000);
  ASSERT_EQ(h.conn().send(at_ms(0), data), 20000u);
  const auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 10u);  // the initial window, one MSS each
  for (const auto& s : out) EXPECT_EQ(s.data.size(), 1000u);
}

TEST(Tso, OnTheInitialWindowGoesAsOneSegmentOfWholeMss) {
  Harness h(tso_config());
  h.conn().set_tso_limit(65535);
  h.to_established_active();
  ASSERT_EQ(h.conn().cwnd(), 10000u);
  const auto data = bytes(20000);
  ASSERT_EQ(h.conn().send(at_ms(0), data), 20000u);
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 10000u);
  // The peer acknowledges all of it: slow start adds min(acked, 2 MSS)
  // (RFC 3465 §2.2), so 12000 bytes may go: the 10000 left, in one segment.
  out = h.input(at_ms(10), h.ack(kIss + 1 + 10000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1 + 10000);
  EXPECT_EQ(out[0].data.size(), 10000u);
}

TEST(Tso, NagleStillHoldsAShortTailAndAFinCarriesIt) {
  Harness h(tso_config());
  h.conn().set_tso_limit(65535);
  h.to_established_active();
  const auto data = bytes(2500);
  h.conn().send(at_ms(0), data);
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data.size(), 2000u);  // the 500-byte tail waits (RFC 1122 §4.2.3.4)
  out = h.input(at_ms(10), h.ack(kIss + 1 + 2000));
  ASSERT_EQ(out.size(), 1u);  // nothing in flight: the tail goes
  EXPECT_EQ(out[0].data.size(), 500u);

  Harness f(tso_config());
  f.conn().set_tso_limit(65535);
  f.to_established_active();
  f.conn().send(at_ms(0), data);
  f.conn().close(at_ms(0));
  out = f.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data.size(), 2500u);
  EXPECT_TRUE(out[0].flags & fl::kFin);
}

TEST(Tso, RetransmissionsAreOneMss) {
  Harness h(tso_config());
  h.conn().set_tso_limit(65535);
  h.to_established_active();
  const auto data = bytes(5000);
  h.conn().send(at_ms(0), data);
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].data.size(), 5000u);
  const Instant rto = h.conn().timer_deadline(tcp::TimerKind::kRetransmit);
  out = h.fire(rto);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 1000u);
}

}  // namespace
}  // namespace vigil::testing
