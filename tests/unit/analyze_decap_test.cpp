// Issue 13 points 3 and 4: pcapng files whose interfaces differ in link type
// and snaplen (libpcap refuses them: "vigil analyze" read 0 frames and
// exited 1), and TCP inside tunnels and link types the analyzer skipped.
// Every capture is crafted here byte by byte after the specification cited
// at each builder, so expected values follow from the construction.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/decap.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/html_report.hpp"
#include "analyze/story.hpp"

namespace vigil::analyze {
namespace {

using Bytes = std::vector<uint8_t>;

void be16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void be32(Bytes* b, uint32_t v) {
  be16(b, static_cast<uint16_t>(v >> 16));
  be16(b, static_cast<uint16_t>(v));
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The TCP header of a segment 10.0.0.1:40000 -> 10.0.0.2:80 (or back):
// 20 bytes, no options; `flags` 0x02 SYN, 0x12 SYN-ACK, 0x10 ACK.
Bytes tcp(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags) {
  Bytes t;
  be16(&t, from_client ? 40000 : 80);
  be16(&t, from_client ? 80 : 40000);
  be32(&t, seq);
  be32(&t, ack);
  t.push_back(0x50);
  t.push_back(flags);
  be16(&t, 1000);
  be32(&t, 0);  // checksum (not verified), urgent pointer
  return t;
}

// An IPv4 packet (RFC 791) with protocol `proto` around `payload`.
Bytes ipv4(uint8_t proto, const Bytes& payload, uint8_t s = 1, uint8_t d = 2, uint8_t net = 10) {
  Bytes ip{0x45, 0};
  be16(&ip, static_cast<uint16_t>(20 + payload.size()));
  be32(&ip, 0x00004000);  // ID 0, DF
  ip.push_back(64);
  ip.push_back(proto);
  be16(&ip, 0);
  for (uint8_t a : {s, d}) {
    ip.insert(ip.end(), {net, 0, 0, a});
  }
  return cat(ip, payload);
}

// An IPv6 packet (RFC 8200) 2001:db8::s -> 2001:db8::d.
Bytes ipv6(uint8_t next, const Bytes& payload, uint8_t s = 1, uint8_t d = 2) {
  Bytes ip{0x60, 0, 0, 0};
  be16(&ip, static_cast<uint16_t>(payload.size()));
  ip.push_back(next);
  ip.push_back(64);
  for (uint8_t a : {s, d}) {
    ip.insert(ip.end(), {0x20, 0x01, 0x0d, 0xb8});
    ip.insert(ip.end(), 11, 0);
    ip.push_back(a);
  }
  return cat(ip, payload);
}

Bytes inner_syn() { return ipv4(6, tcp(true, 100, 0, 0x02)); }

Bytes udp(uint16_t dport, const Bytes& payload) {
  Bytes u;
  be16(&u, 50000);
  be16(&u, dport);
  be16(&u, static_cast<uint16_t>(8 + payload.size()));
  be16(&u, 0);
  return cat(u, payload);
}

// An Ethernet II header (IEEE 802.3 §3.2.6 type field).
Bytes ether(uint16_t type, const Bytes& payload) {
  Bytes e{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  be16(&e, type);
  return cat(e, payload);
}

// The outer packet of an IP tunnel: 192.0.2.1 -> 192.0.2.2.
Bytes outer4(uint8_t proto, const Bytes& payload) { return ipv4(proto, payload, 1, 2, 192); }

void fix_outer_net(Bytes* ip) {  // 192.0.2.x: TEST-NET-1 (RFC 5737)
  (*ip)[13] = 0;
  (*ip)[14] = 2;
  (*ip)[17] = 0;
  (*ip)[18] = 2;
}

Decapsulated open_frame(int lt, const Bytes& f) { return decapsulate(lt, f); }

void expect_inner(const Decapsulated& d, const Bytes& inner, const std::string& via) {
  EXPECT_EQ(d.kind, (inner[0] >> 4) == 4 ? Inner::kIpv4 : Inner::kIpv6);
  EXPECT_EQ(Bytes(d.ip.begin(), d.ip.end()), inner);
  EXPECT_EQ(d.via, via);
  EXPECT_FALSE(d.bad_tunnel);
}

Bytes tunnel4(uint8_t proto, const Bytes& payload) {
  Bytes o = outer4(proto, payload);
  fix_outer_net(&o);
  return o;
}

// ---------------------------------------------------------------------------
// Tags and link-level encapsulations.

TEST(DecapTest, VlanAndQinQ) {
  // 802.1ad outer tag 100 (TPID 0x88a8), 802.1Q inner tag 200 (0x8100).
  Bytes tags;
  be16(&tags, 100);
  be16(&tags, 0x8100);
  be16(&tags, 200);
  be16(&tags, 0x0800);
  const Bytes f = ether(0x88a8, cat(tags, inner_syn()));
  expect_inner(open_frame(linktype::kEthernet, f), inner_syn(), "VLAN 100, VLAN 200");
}

TEST(DecapTest, MplsTwoLabels) {
  // RFC 3032 §2.1: label 16 (S=0), label 17 (S=1), then IPv4 by its nibble.
  Bytes m;
  be32(&m, 16u << 12 | 64);
  be32(&m, 17u << 12 | 0x100 | 64);
  expect_inner(open_frame(linktype::kEthernet, ether(0x8847, cat(m, inner_syn()))), inner_syn(),
               "MPLS 16/17");
}

TEST(DecapTest, MplsPseudowireWithControlWord) {
  // RFC 4448: Ethernet over MPLS, RFC 4385 control word (first nibble 0).
  Bytes m;
  be32(&m, 18u << 12 | 0x100 | 64);
  be32(&m, 0);  // control word
  const Bytes f = ether(0x8847, cat(m, ether(0x0800, inner_syn())));
  expect_inner(open_frame(linktype::kEthernet, f), inner_syn(), "MPLS 18");
}

TEST(DecapTest, PppoeSession) {
  // RFC 2516 §4: VER 1 TYPE 1, CODE 0, SESSION_ID 0x1234, LENGTH; PPP 0x0021.
  Bytes p{0x11, 0};
  be16(&p, 0x1234);
  be16(&p, static_cast<uint16_t>(2 + inner_syn().size()));
  be16(&p, 0x0021);
  expect_inner(open_frame(linktype::kEthernet, ether(0x8864, cat(p, inner_syn()))), inner_syn(),
               "PPPoE session 4660");
}

TEST(DecapTest, PppLinkType) {
  // LINKTYPE_PPP: RFC 1662 address/control FF 03, protocol 0x0021; and with
  // both compressed (RFC 1661 §6.5, §6.6): protocol 0x57 (IPv6) alone.
  const Bytes six = ipv6(6, tcp(true, 1, 0, 0x02));
  expect_inner(open_frame(linktype::kPpp, cat({0xff, 0x03, 0x00, 0x21}, inner_syn())), inner_syn(),
               "");
  expect_inner(open_frame(linktype::kPpp, cat({0x57}, six)), six, "");
}

TEST(DecapTest, RawIpv6LinkType) {
  const Bytes six = ipv6(6, tcp(true, 1, 0, 0x02));
  expect_inner(open_frame(linktype::kIpv6, six), six, "");
}

TEST(DecapTest, NflogPayloadTlv) {
  // LINKTYPE_NFLOG: AF_INET, version 0, resource 0; a prefix TLV (type 10,
  // "abc\0", padded), then NFULA_PAYLOAD (type 9). TLV fields little-endian
  // (the capturing x86 host's order).
  Bytes f{2, 0, 0, 0};
  f.insert(f.end(), {8, 0, 10, 0, 'a', 'b', 'c', 0});
  const Bytes ip = inner_syn();
  const auto len = static_cast<uint16_t>(4 + ip.size());
  f.insert(f.end(), {static_cast<uint8_t>(len), static_cast<uint8_t>(len >> 8), 9, 0});
  f = cat(f, ip);
  expect_inner(open_frame(linktype::kNflog, f), ip, "");
  // A TLV whose length runs past the frame: a bad link header, not a crash.
  f[4] = 200;
  EXPECT_EQ(open_frame(linktype::kNflog, f).kind, Inner::kBad);
}

TEST(DecapTest, RadiotapQosDataLlcSnap) {
  // Radiotap: version 0, length 8, no fields present. 802.11 QoS Data (type
  // 2, subtype 8: FC byte 0x88), From DS, header 24 + 2 (QoS), then LLC/SNAP
  // AA AA 03 00 00 00 08 00 (RFC 1042).
  Bytes f{0, 0, 8, 0, 0, 0, 0, 0};
  Bytes mac(26, 0);
  mac[0] = 0x88;
  mac[1] = 0x02;
  f = cat(f, mac);
  f = cat(f, {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00});
  f = cat(f, inner_syn());
  expect_inner(open_frame(linktype::kRadiotap, f), inner_syn(), "");
  // The same frame protected (encrypted): not IP to us.
  f[9] |= 0x40;
  EXPECT_EQ(open_frame(linktype::kRadiotap, f).kind, Inner::kOther);
}

// ---------------------------------------------------------------------------
// IP tunnels: the outer addresses go into via.

constexpr const char* kOuter = "192.0.2.1 -> 192.0.2.2";

TEST(DecapTest, GreWithKeyAndSequence) {
  // RFC 2890: K and S set: 4 + 4 (key) + 4 (sequence) bytes, protocol IPv4.
  Bytes g;
  be16(&g, 0x3000);
  be16(&g, 0x0800);
  be32(&g, 7);
  be32(&g, 1);
  expect_inner(open_frame(linktype::kRaw, tunnel4(47, cat(g, inner_syn()))), inner_syn(),
               std::string("GRE ") + kOuter);
}

TEST(DecapTest, GreTransparentEthernet) {
  Bytes g;
  be16(&g, 0);
  be16(&g, 0x6558);
  const Bytes f = tunnel4(47, cat(g, ether(0x0800, inner_syn())));
  expect_inner(open_frame(linktype::kRaw, f), inner_syn(), std::string("GRE ") + kOuter);
}

TEST(DecapTest, ErspanTypesOneTwoThree) {
  const Bytes mirrored = ether(0x0800, inner_syn());
  // Type I: GRE protocol 0x88be without a sequence number: the frame.
  Bytes g1;
  be16(&g1, 0);
  be16(&g1, 0x88be);
  expect_inner(open_frame(linktype::kRaw, tunnel4(47, cat(g1, mirrored))), inner_syn(),
               std::string("ERSPAN I ") + kOuter);
  // Type II: S bit, sequence number, 8-byte ERSPAN header (Ver 1).
  Bytes g2;
  be16(&g2, 0x1000);
  be16(&g2, 0x88be);
  be32(&g2, 5);
  be32(&g2, 0x10000000 | 42);  // Ver 1, VLAN 0, session 42
  be32(&g2, 0);
  expect_inner(open_frame(linktype::kRaw, tunnel4(47, cat(g2, mirrored))), inner_syn(),
               std::string("ERSPAN II ") + kOuter);
  // Type III: 12-byte header (Ver 2), O bit: 8-byte platform subheader, FT 0.
  Bytes g3;
  be16(&g3, 0x1000);
  be16(&g3, 0x22eb);
  be32(&g3, 6);
  be32(&g3, 0x20000000 | 42);
  be32(&g3, 0x12345678);  // timestamp
  be32(&g3, 0x00000001);  // SGT 0, P 0, FT 0, HW ID 0, D 0, Gra 0, O 1
  be32(&g3, 0);
  be32(&g3, 0);
  expect_inner(open_frame(linktype::kRaw, tunnel4(47, cat(g3, mirrored))), inner_syn(),
               std::string("ERSPAN III ") + kOuter);
}

TEST(DecapTest, Vxlan) {
  // RFC 7348 §5: flags 0x08 (I), VNI 5000, then Ethernet; UDP port 4789.
  const Bytes v = {0x08, 0, 0, 0, 0, 0x13, 0x88, 0};
  const Bytes f = ether(0x0800, tunnel4(17, udp(4789, cat(v, ether(0x0800, inner_syn())))));
  expect_inner(open_frame(linktype::kEthernet, f), inner_syn(), std::string("VXLAN ") + kOuter);
}

TEST(DecapTest, GeneveWithOption) {
  // RFC 8926 §3.4: Opt Len 2 (8 bytes of options), protocol 0x6558.
  Bytes g{0x02, 0};
  be16(&g, 0x6558);
  be32(&g, 0x00000100);  // VNI 1
  g.insert(g.end(), 8, 0);
  const Bytes f = tunnel4(17, udp(6081, cat(g, ether(0x0800, inner_syn()))));
  expect_inner(open_frame(linktype::kRaw, f), inner_syn(), std::string("Geneve ") + kOuter);
}

TEST(DecapTest, GtpuWithExtensionHeader) {
  // TS 29.281 §5.1: version 1, PT 1, E 1 (0x34), G-PDU (255), TEID; then
  // sequence number, N-PDU number, next type 0x85 (PDU session container),
  // one 4-byte extension (length 1) ending with next type 0.
  Bytes g{0x34, 0xff};
  be16(&g, static_cast<uint16_t>(8 + inner_syn().size()));
  be32(&g, 0xabcdef01);
  g.insert(g.end(), {0, 0, 0, 0x85});
  g.insert(g.end(), {1, 0x00, 0x01, 0x00});
  const Bytes f = tunnel4(17, udp(2152, cat(g, inner_syn())));
  expect_inner(open_frame(linktype::kRaw, f), inner_syn(), std::string("GTP-U ") + kOuter);
}

TEST(DecapTest, IpInIp4in4_6in4_4in6) {
  expect_inner(open_frame(linktype::kRaw, tunnel4(4, inner_syn())), inner_syn(),
               std::string("IPIP ") + kOuter);
  const Bytes six = ipv6(6, tcp(true, 1, 0, 0x02), 3, 4);
  expect_inner(open_frame(linktype::kRaw, tunnel4(41, six)), six,
               std::string("IPv6-in-IP ") + kOuter);
  expect_inner(open_frame(linktype::kIpv6, ipv6(4, inner_syn())), inner_syn(),
               "IPIP 2001:db8::1 -> 2001:db8::2");
}

TEST(DecapTest, CutTunnelKeepsTheOuterPacketAndCountsIt) {
  // VXLAN whose inner Ethernet header is cut at 6 bytes.
  const Bytes v = {0x08, 0, 0, 0, 0, 0, 1, 0};
  const Bytes outer = tunnel4(17, udp(4789, cat(v, Bytes(6, 0))));
  const Decapsulated d = open_frame(linktype::kRaw, outer);
  EXPECT_EQ(d.kind, Inner::kIpv4);
  EXPECT_EQ(Bytes(d.ip.begin(), d.ip.end()), outer);
  EXPECT_TRUE(d.bad_tunnel);
}

TEST(DecapTest, NestingIsBounded) {
  // 40 IP-in-IP layers: at most kMaxLayers (16) are opened; the packet
  // reached last is kept and the frame counted as a bad tunnel.
  Bytes p = inner_syn();
  for (int i = 0; i < 40; ++i) p = tunnel4(4, p);
  const Decapsulated d = open_frame(linktype::kRaw, p);
  EXPECT_TRUE(d.bad_tunnel);
  EXPECT_EQ(d.kind, Inner::kIpv4);
  EXPECT_EQ(d.ip.size(), p.size() - 20 * (kMaxLayers - 1));
}

// ---------------------------------------------------------------------------
// pcapng (draft-ietf-opsawg-pcapng-02): blocks written by hand, in either
// byte order.

struct Writer {
  bool big = false;
  Bytes file;
  void u16(Bytes* b, uint16_t v) const {
    if (big) {
      be16(b, v);
    } else {
      b->push_back(static_cast<uint8_t>(v));
      b->push_back(static_cast<uint8_t>(v >> 8));
    }
  }
  void u32(Bytes* b, uint32_t v) const {
    if (big) {
      be32(b, v);
    } else {
      u16(b, static_cast<uint16_t>(v));
      u16(b, static_cast<uint16_t>(v >> 16));
    }
  }
  void block(uint32_t type, Bytes body) {
    while (body.size() % 4 != 0) body.push_back(0);
    const auto total = static_cast<uint32_t>(12 + body.size());
    u32(&file, type);
    u32(&file, total);
    file = cat(file, body);
    u32(&file, total);
  }
  void shb() {
    Bytes b;
    u32(&b, 0x1a2b3c4d);
    u16(&b, 1);
    u16(&b, 0);
    u32(&b, 0xffffffff);
    u32(&b, 0xffffffff);
    block(0x0a0d0d0a, b);
  }
  // tsresol < 0: no option (microseconds).
  void idb(uint16_t linktype, uint32_t snaplen, int tsresol) {
    Bytes b;
    u16(&b, linktype);
    u16(&b, 0);
    u32(&b, snaplen);
    if (tsresol >= 0) {
      u16(&b, 9);
      u16(&b, 1);
      b.insert(b.end(), {static_cast<uint8_t>(tsresol), 0, 0, 0});
      u16(&b, 0);
      u16(&b, 0);
    }
    block(1, b);
  }
  void epb(uint32_t iface, uint64_t ts, const Bytes& data, uint32_t orig = 0) {
    Bytes b;
    u32(&b, iface);
    u32(&b, static_cast<uint32_t>(ts >> 32));
    u32(&b, static_cast<uint32_t>(ts));
    u32(&b, static_cast<uint32_t>(data.size()));
    u32(&b, orig != 0 ? orig : static_cast<uint32_t>(data.size()));
    block(6, cat(b, data));
  }
};

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "vigil_decap_" + std::to_string(::getpid()) + "_" + name;
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Linux cooked (SLL) header: packet type 4 (outgoing), ARPHRD_ETHER,
// address length 6, address, protocol.
Bytes sll(uint16_t proto, const Bytes& payload) {
  Bytes s{0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  be16(&s, proto);
  return cat(s, payload);
}

// `dumpcap -i eth0 -i any`: the client's segments on an Ethernet interface
// (snaplen 262144, nanosecond timestamps), the server's on a Linux cooked
// one (snaplen 128, microseconds). libpcap refuses such a file ("an
// interface has a type ... different from the type of the first
// interface"), so before this reader it gave 0 frames and exit 1.
Bytes two_interface_capture(bool big) {
  Writer w;
  w.big = big;
  w.shb();
  w.idb(1, 262144, 9);
  w.idb(113, 128, -1);
  const uint64_t s = 1'700'000'000;
  w.epb(0, s * 1'000'000'000 + 1000, ether(0x0800, ipv4(6, tcp(true, 100, 0, 0x02))));
  w.epb(1, s * 1'000'000 + 2, sll(0x0800, ipv4(6, tcp(false, 500, 101, 0x12), 2, 1)));
  w.epb(0, s * 1'000'000'000 + 3000, ether(0x0800, ipv4(6, tcp(true, 101, 501, 0x10))));
  return w.file;
}

TEST(PcapngTest, InterfacesOfDifferentLinkTypesAndSnaplensAllRead) {
  for (bool big : {false, true}) {
    const std::string path = temp_path(big ? "two_be.pcapng" : "two_le.pcapng");
    write_file(path, two_interface_capture(big));
    std::string err;
    auto r = CaptureReader::open(path, &err);
    ASSERT_NE(r, nullptr) << err;
    FlowAnalyzer a;
    CapturedPacket p;
    std::vector<int64_t> times;
    std::vector<uint32_t> ifaces;
    while (r->next(&p)) {
      times.push_back(p.time.ns());
      ifaces.push_back(p.interface);
      a.add(p.frame, p.time, p.ip, p.ip_wire_length, p.via);
    }
    a.finish();
    EXPECT_EQ(r->error(), "");
    EXPECT_EQ(r->stats().frames, 3u);
    EXPECT_EQ(r->stats().interfaces, 2u);
    // 1 µs after the first (interface 1 counts microseconds), 3 µs after.
    const int64_t t0 = int64_t{1'700'000'000} * 1'000'000'000 + 1000;
    EXPECT_EQ(times, (std::vector<int64_t>{t0, t0 + 1000, t0 + 2000}));
    EXPECT_EQ(ifaces, (std::vector<uint32_t>{0, 1, 0}));
    ASSERT_EQ(a.flows().size(), 1u);
    EXPECT_EQ(a.flows()[0].packets, 3u);
    EXPECT_TRUE(a.flows()[0].saw_syn);
    std::remove(path.c_str());
  }
}

TEST(PcapngTest, MalformedBlocksAreCountedOrReported) {
  Writer w;
  w.shb();
  w.idb(1, 0, -1);
  w.epb(3, 0, ether(0x0800, inner_syn()));  // interface 3 was never described
  Bytes bad;                                // caplen above the block's data
  w.u32(&bad, 0);
  w.u32(&bad, 0);
  w.u32(&bad, 0);
  w.u32(&bad, 5000);
  w.u32(&bad, 5000);
  w.block(6, bad);
  w.epb(0, 0, ether(0x0800, inner_syn()));
  Bytes file = w.file;
  // A block whose length is not a multiple of 4: the framing is lost.
  Writer tail;
  tail.u32(&file, 6);
  tail.u32(&file, 30);
  file.insert(file.end(), 30, 0);
  const std::string path = temp_path("bad.pcapng");
  write_file(path, file);
  std::string err;
  auto r = CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_EQ(p.frame, 3u);
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->stats().bad_blocks, 2u);
  EXPECT_EQ(r->error(), "frame 4: pcapng block of type 6 with impossible length 30");
  std::remove(path.c_str());
}

TEST(PcapngTest, TruncatedBlockIsReported) {
  Writer w;
  w.shb();
  w.idb(101, 0, 9);
  w.epb(0, 5, inner_syn());
  Bytes file = w.file;
  file.resize(file.size() - 10);
  const std::string path = temp_path("cut.pcapng");
  write_file(path, file);
  std::string err;
  auto r = CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  CapturedPacket p;
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->error().rfind("frame 1: truncated pcapng block", 0), 0u) << r->error();
  std::remove(path.c_str());
}

TEST(PcapngTest, VxlanFlowCarriesTheOuterAddresses) {
  Writer w;
  w.shb();
  w.idb(1, 0, 9);
  const Bytes v = {0x08, 0, 0, 0, 0, 0, 1, 0};
  w.epb(0, 1, ether(0x0800, tunnel4(17, udp(4789, cat(v, ether(0x0800, inner_syn()))))));
  const std::string path = temp_path("vxlan.pcapng");
  write_file(path, w.file);
  std::string err;
  auto r = CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  FlowAnalyzer a;
  CapturedPacket p;
  while (r->next(&p)) a.add(p.frame, p.time, p.ip, p.ip_wire_length, p.via);
  a.finish();
  EXPECT_EQ(r->stats().tunnelled, 1u);
  ASSERT_EQ(a.flows().size(), 1u);
  EXPECT_EQ(a.flows()[0].endpoint(0), "10.0.0.1:40000");
  EXPECT_EQ(a.flows()[0].via, "VXLAN 192.0.2.1 -> 192.0.2.2");
  std::remove(path.c_str());
}

// The HTML report's flow description names the tunnel too, as the text
// ("via: ...") and --json ("via") do.
TEST(PcapngTest, VxlanFlowsHtmlSectionNamesTheTunnel) {
  Writer w;
  w.shb();
  w.idb(1, 0, 9);
  const Bytes v = {0x08, 0, 0, 0, 0, 0, 1, 0};
  w.epb(0, 1, ether(0x0800, tunnel4(17, udp(4789, cat(v, ether(0x0800, inner_syn()))))));
  const std::string path = temp_path("vxlan_html.pcapng");
  write_file(path, w.file);
  std::string err;
  auto r = CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  HtmlReport report;
  FlowAnalyzer a([&](const Flow& f, const PacketLabels& pl) { report.add(f, pl); });
  CapturedPacket p;
  while (r->next(&p)) a.add(p.frame, p.time, p.ip, p.ip_wire_length, p.via);
  a.finish();
  ASSERT_EQ(a.flows().size(), 1u);
  const std::string page = report.render("vxlan", a.flows(), std::vector<Story>());
  EXPECT_NE(page.find("<p class=\"meta via\">via VXLAN 192.0.2.1 -&gt; 192.0.2.2</p>"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(FilterTest, BpfFilterPerLinkTypeAndBadFilter) {
  // The two-interface file: 'tcp src port 80' matches only the SYN-ACK,
  // compiled once for Ethernet and once for Linux cooked headers.
  const std::string path = temp_path("filter.pcapng");
  write_file(path, two_interface_capture(false));
  std::string err;
  auto r = CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  ASSERT_TRUE(r->set_filter("tcp src port 80", &err)) << err;
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_EQ(p.frame, 2u);
  EXPECT_EQ(p.interface, 1u);
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->stats().filtered_out, 2u);
  auto r2 = CaptureReader::open(path, &err);
  ASSERT_NE(r2, nullptr);
  EXPECT_FALSE(r2->set_filter("host and and", &err));
  EXPECT_NE(err.find("syntax error"), std::string::npos) << err;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vigil::analyze
