// Issue 13's classes of real captures, each on a capture crafted here:
// Ethernet frames written through libpcap (pcap_dump, with the snaplen a
// `tcpdump -s N` would apply), read back by CaptureReader and analysed as
// `vigil analyze` does (FlowAnalyzer, then StoryBuilder). Expected values
// follow from how each capture is built, per the RFC cited.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::analyze {
namespace {

using Bytes = std::vector<uint8_t>;
namespace fl = wire::tcp_flags;

// One segment of a crafted connection between A (client, port 40000) and
// B (server, port 80).
struct Seg {
  Seg(bool a, uint32_t sq, uint32_t ak, uint8_t f = fl::kAck, uint32_t n = 0, uint16_t w = 1000,
      bool syn_opts = false)
      : from_a(a), seq(sq), ack(ak), flags(f), len(n), window(w), syn_options(syn_opts) {}
  bool from_a = true;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = fl::kAck;
  uint32_t len = 0;
  uint16_t window = 1000;
  bool syn_options = false;  // Linux's SYN options: MSS, SACK-permitted, timestamps, NOP, WS 7
  bool timestamps = true;    // NOP NOP TS (Linux's data and ACK segments)
  std::vector<wire::SackBlock> sack;
  uint16_t ip_id = 0;
  uint32_t tsval = 1;
};

// The TCP segment (header, options in Linux's order, payload). The
// checksum is over the IPv4 pseudo-header; nothing here verifies it.
Bytes tcp_bytes(const Seg& s) {
  Bytes opt;
  auto put32 = [&opt](uint32_t v) {
    for (int i = 3; i >= 0; --i) opt.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (s.syn_options) {
    opt = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};  // MSS 1460, SACK-permitted, TS ...
    put32(s.tsval);
    put32(0);
    opt.insert(opt.end(), {1, 3, 3, 7});  // NOP, window scale 7
  } else {
    if (s.timestamps) {
      opt = {1, 1, 8, 10};
      put32(s.tsval);
      put32(1);
    }
    if (!s.sack.empty()) {
      opt.insert(opt.end(), {1, 1, 5, static_cast<uint8_t>(2 + 8 * s.sack.size())});
      for (const auto& b : s.sack) {
        put32(b.left);
        put32(b.right);
      }
    }
  }
  const size_t hl = 20 + opt.size();
  Bytes t(hl + s.len, 0x41);
  wire::store_be16(&t[0], s.from_a ? 40000 : 80);
  wire::store_be16(&t[2], s.from_a ? 80 : 40000);
  wire::store_be32(&t[4], s.seq);
  wire::store_be32(&t[8], s.ack);
  t[12] = static_cast<uint8_t>(hl / 4 << 4);
  t[13] = s.flags;
  wire::store_be16(&t[14], s.window);
  wire::store_be16(&t[18], 0);
  std::copy(opt.begin(), opt.end(), t.begin() + 20);
  // Like the real checksum (it leaves out the pseudo-header), it covers
  // every byte: segments that differ only in bytes a snaplen cut still
  // differ in what was captured.
  wire::store_be16(&t[16], wire::internet_checksum(t));
  return t;
}

// IPv4 datagram; total_override 0 writes 0 into the total length (TSO).
Bytes ipv4(const Seg& s, bool tso = false) {
  const Bytes t = tcp_bytes(s);
  Bytes ip(20, 0);
  ip[0] = 0x45;
  const size_t total = 20 + t.size();
  wire::store_be16(&ip[2], tso || total > 65535 ? 0 : static_cast<uint16_t>(total));
  wire::store_be16(&ip[4], s.ip_id);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = 6;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  std::copy(a, a + 4, ip.begin() + (s.from_a ? 12 : 16));
  std::copy(b, b + 4, ip.begin() + (s.from_a ? 16 : 12));
  wire::store_be16(&ip[10], wire::internet_checksum(ip));  // RFC 791 header checksum
  ip.insert(ip.end(), t.begin(), t.end());
  return ip;
}

// IPv6 packet (2001:db8::1 / 2001:db8::2); jumbo writes Payload Length 0.
Bytes ipv6(const Seg& s, bool jumbo = false) {
  const Bytes t = tcp_bytes(s);
  Bytes ip(40, 0);
  ip[0] = 0x60;
  wire::store_be16(&ip[4], jumbo || t.size() > 65535 ? 0 : static_cast<uint16_t>(t.size()));
  ip[6] = 6;
  ip[7] = 64;
  for (int side = 0; side < 2; ++side) {
    const size_t at = 8 + 16 * static_cast<size_t>(side);
    ip[at] = 0x20;
    ip[at + 1] = 0x01;
    ip[at + 2] = 0x0d;
    ip[at + 3] = 0xb8;
    ip[at + 15] = static_cast<uint8_t>((side == 0) == s.from_a ? 1 : 2);
  }
  ip.insert(ip.end(), t.begin(), t.end());
  return ip;
}

Bytes ethernet(const Bytes& ip) {
  Bytes f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
  if ((ip[0] >> 4) == 6) f[12] = 0x86, f[13] = 0xdd;
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

struct Frame {
  double t = 0;  // seconds from the start
  Bytes ip;
};

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "vigil_classes_" + std::to_string(::getpid()) + "_" + name;
}

// Writes the frames as `tcpdump -s snaplen` would have kept them.
void write_pcap(const std::string& path, const std::vector<Frame>& frames, uint32_t snaplen) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(snaplen),
                                                      PCAP_TSTAMP_PRECISION_NANO);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(dead);
  for (const Frame& f : frames) {
    const Bytes e = ethernet(f.ip);
    pcap_pkthdr h{};
    const auto ns = static_cast<int64_t>(f.t * 1e9 + 0.5);
    h.ts.tv_sec = static_cast<time_t>(1'700'000'000 + ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(ns % 1'000'000'000);
    h.len = static_cast<uint32_t>(e.size());
    h.caplen = std::min<uint32_t>(h.len, snaplen);
    pcap_dump(reinterpret_cast<u_char*>(d), &h, e.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

struct Result {
  ReaderStats reader;
  AnalyzerStats stats;
  std::vector<Flow> flows;
  std::vector<PacketLabels> packets;
  std::vector<Story> stories;
};

// The analyze command's pipeline over a capture file.
Result analyse_file(const std::string& path) {
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_NE(r, nullptr) << error;
  Result out;
  if (!r) return out;
  FlowAnalyzer a;
  CapturedPacket p;
  while (r->next(&p)) a.add(p.frame, p.time, p.ip, p.ip_wire_length);
  a.finish();
  out.reader = r->stats();
  out.stats = a.stats();
  out.flows = a.flows();
  out.packets = a.packets();
  out.stories = build_stories(a);
  return out;
}

// VIGIL_KEEP_CAPTURES=DIR keeps the crafted captures there (to compare
// with tshark, docs/analyze-vs-tshark.md).
Result analyse(const std::string& name, const std::vector<Frame>& frames, uint32_t snaplen) {
  const char* keep = std::getenv("VIGIL_KEEP_CAPTURES");
  const std::string path = keep ? std::string(keep) + "/" + name : temp_path(name);
  write_pcap(path, frames, snaplen);
  Result r = analyse_file(path);
  if (!keep) std::remove(path.c_str());
  return r;
}

const PacketLabels* find_frame(const Result& r, uint64_t n) {
  for (const auto& p : r.packets) {
    if (p.frame == n) return &p;
  }
  return nullptr;
}

// Frame n's labels (a failure, and an empty entry, when it was not analysed).
const PacketLabels* frame(const Result& r, uint64_t n) {
  static const PacketLabels kNone;
  const PacketLabels* p = find_frame(r, n);
  if (p == nullptr) ADD_FAILURE() << "frame " << n << " was not analysed";
  return p ? p : &kNone;
}

std::string labels_of(const Result& r, uint64_t n) {
  const PacketLabels* p = find_frame(r, n);
  return p ? labels_to_string(p->labels) : "(not analysed)";
}

// ---------------------------------------------------------------------------
// Point 1: a snaplen that cuts into the TCP options.

// A Linux-like connection: the handshake with Linux's SYN options (20
// bytes), data with timestamps (12 bytes of options), segment 2 (seq 1461)
// lost before the capture point, three duplicate ACKs carrying a SACK block
// for the segments above it (24 bytes of options), the fast retransmission,
// the ACK of everything, FIN, FIN, ACK.
std::vector<Frame> linux_loss(bool v6) {
  auto mk = [v6](const Seg& s) { return v6 ? ipv6(s) : ipv4(s); };
  std::vector<Frame> f;
  double t = 0;
  auto add = [&](const Seg& s, double gap) {
    t += gap;
    f.push_back({t, mk(s)});
  };
  constexpr uint32_t a = 1000, b = 9000, mss = 1448;
  Seg syn{true, a, 0, fl::kSyn, 0, 64240, true};
  add(syn, 0);
  Seg synack{false, b, a + 1, fl::kSyn | fl::kAck, 0, 65160, true};
  add(synack, 0.010);
  add({true, a + 1, b + 1, fl::kAck, 0, 502}, 0.010);  // 3
  for (uint32_t i = 0; i < 5; ++i) {                   // 4..8
    add({true, a + 1 + i * mss, b + 1, fl::kAck, mss, 502}, 0.0001);
  }
  // The receiver got segment 1, not 2: ACK 1449, then dup ACKs with SACK
  // blocks for segments 3..5 (frames 9..12).
  add({false, b + 1, a + 1 + mss, fl::kAck, 0, 508}, 0.010);
  for (uint32_t k = 3; k <= 5; ++k) {
    Seg d{false, b + 1, a + 1 + mss, fl::kAck, 0, 508};
    d.sack = {{a + 1 + 2 * mss, a + 1 + k * mss}};
    add(d, 0.0001);
  }
  add({true, a + 1 + mss, b + 1, fl::kAck, mss, 502}, 0.0001);    // 13: fast retransmission
  add({false, b + 1, a + 1 + 5 * mss, fl::kAck, 0, 508}, 0.010);  // 14
  add({true, a + 1 + 5 * mss, b + 1, fl::kFin | fl::kAck, 0, 502}, 0.001);   // 15
  add({false, b + 1, a + 2 + 5 * mss, fl::kFin | fl::kAck, 0, 508}, 0.010);  // 16
  add({true, a + 2 + 5 * mss, b + 2, fl::kAck, 0, 502}, 0.010);              // 17
  return f;
}

// Link 14 + IP 20 + TCP 20 + options: what each snaplen leaves of the
// options of this capture's segments (SYN 20, data 12, SACK ACK 24 bytes).
void expect_whole_story(const Result& r, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.stats.cut_headers, 0u);
  EXPECT_EQ(r.stats.tcp, 17u);  // every segment analysed
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_TRUE(r.flows[0].saw_syn);
  EXPECT_EQ(r.flows[0].end.how, "fin");
  EXPECT_EQ(labels_of(r, 1), "syn");
  EXPECT_EQ(labels_of(r, 2), "syn_ack");
  // Segment 2 (frame 5) was captured, so nothing is lost; the dup ACKs are
  // dup ACKs, and frame 13 resends seq 1449 (relative) after three of them
  // (RFC 5681 §3.2).
  for (uint64_t n = 10; n <= 12; ++n) EXPECT_EQ(labels_of(r, n), "pure_ack,dup_ack") << n;
  EXPECT_EQ(labels_of(r, 13), "data,retransmission,fast_retransmission");
  EXPECT_EQ(frame(r, 13)->len, 1448u);  // from the IP length field
  EXPECT_EQ(frame(r, 13)->rel_seq, 1449u);
  ASSERT_EQ(r.stories.size(), 1u);
  EXPECT_EQ(r.stories[0].ending, "closed with FIN (frames 15, 16)");
  EXPECT_TRUE(r.stories[0].rto.empty());
}

TEST(SnaplenCutOptions, Ipv4Snaplen68KeepsSynsAndSackAcks) {
  // -s 68: 14 bytes of options. SYN: MSS (4) and SACK-permitted (2) whole,
  // the timestamps cut, the window scale never seen. Data: NOP NOP TS (12)
  // whole. SACK ACKs: NOP NOP TS NOP NOP whole, the SACK option's kind not
  // captured.
  const Result r = analyse("s68.pcap", linux_loss(false), 68);
  expect_whole_story(r, "-s 68");
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_FALSE(r.flows[0].scale_known);     // RFC 7323 §1.3 needs both SYNs' options
  EXPECT_EQ(r.stats.options_cut, 5u);       // 2 SYNs + 3 SACK ACKs
  EXPECT_EQ(r.stats.snaplen_cut, 11u);      // those and the 6 data segments
  EXPECT_EQ(frame(r, 10)->sack_count, 0u);  // cut: not read
  EXPECT_EQ(frame(r, 2)->window, 65160u);
  EXPECT_EQ(frame(r, 3)->window, 502u);  // unscaled: the scale is unknown
}

TEST(SnaplenCutOptions, Ipv4Snaplen54KeepsTheFixedHeader) {
  const Result r = analyse("s54.pcap", linux_loss(false), 54);
  expect_whole_story(r, "-s 54");
  EXPECT_EQ(r.stats.options_cut, 17u);  // every segment has options, none captured
  EXPECT_EQ(r.stats.snaplen_cut, 17u);
}

TEST(SnaplenCutOptions, Ipv4Snaplen80ReadsTheSackBlockWhole) {
  // -s 80: 26 bytes of options: everything but data payloads is whole, and
  // the window scale is known (7 each way).
  const Result r = analyse("s80.pcap", linux_loss(false), 80);
  expect_whole_story(r, "-s 80");
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_TRUE(r.flows[0].scale_known);
  EXPECT_EQ(r.stats.options_cut, 0u);
  EXPECT_EQ(frame(r, 3)->window, 502u << 7);
  ASSERT_EQ(frame(r, 12)->sack_count, 1u);
  EXPECT_EQ(frame(r, 12)->rel_sack[0][0], 1u + 2 * 1448);
}

TEST(SnaplenCutOptions, Ipv4CutInsideASackBlockReadsNoBogusBlock) {
  // -s 72: 18 bytes of options: a SACK ACK's option area is cut 4 bytes
  // into the SACK option (its kind, length and 2 bytes of the left edge).
  const Result r = analyse("s72.pcap", linux_loss(false), 72);
  expect_whole_story(r, "-s 72");
  EXPECT_EQ(frame(r, 10)->sack_count, 0u);  // not a block with a zeroed edge
  EXPECT_EQ(r.stats.options_cut, 5u);
}

TEST(SnaplenCutOptions, Ipv6CutAt74And78KeepsEverySegment) {
  // IPv6 on Ethernet: 14 + 40 + 20 = 74 bytes hold the fixed TCP header.
  for (uint32_t snap : {74u, 78u}) {
    const Result r = analyse("v6.pcap", linux_loss(true), snap);
    expect_whole_story(r, snap == 74 ? "IPv6 -s 74" : "IPv6 -s 78");
    ASSERT_EQ(r.flows.size(), 1u);
    EXPECT_TRUE(r.flows[0].ipv6);
    EXPECT_EQ(r.stats.ipv6, 17u);
  }
  // One byte short of the fixed TCP header: cut inside it, counted.
  const Result r = analyse("v6short.pcap", linux_loss(true), 73);
  EXPECT_EQ(r.stats.cut_headers, 17u);
  EXPECT_EQ(r.stats.tcp, 0u);
}

}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

// ---------------------------------------------------------------------------
// Point 2: TSO/GSO and BIG TCP frames captured on the sending host carry
// an IP length of 0 (the NIC cuts them into segments later).

// Handshake (no options, so relative numbers are easy), then A sends
// `big` bytes in one frame whose IP length field is 0, then 1000 more
// bytes in an ordinary segment, and B acknowledges everything.
std::vector<Frame> tso_capture(bool v6, uint32_t big, bool hop_by_hop_jumbo = false) {
  constexpr uint32_t a = 100, b = 900;
  auto plain = [](Seg s) {
    s.timestamps = false;
    return s;
  };
  auto mk = [v6](const Seg& s) { return v6 ? ipv6(s) : ipv4(s); };
  std::vector<Frame> f;
  f.push_back({0.0, mk(plain({true, a, 0, fl::kSyn}))});
  f.push_back({0.010, mk(plain({false, b, a + 1, fl::kSyn | fl::kAck}))});
  f.push_back({0.020, mk(plain({true, a + 1, b + 1, fl::kAck}))});
  const Seg tso = plain({true, a + 1, b + 1, fl::kAck, big});
  Bytes frame = v6 ? ipv6(tso, true) : ipv4(tso, true);
  if (hop_by_hop_jumbo) {
    // RFC 2675 §2: a hop-by-hop header holding the Jumbo Payload option,
    // whose value counts every byte after the fixed header.
    const uint32_t jumbo = 8 + static_cast<uint32_t>(frame.size() - 40);
    const Bytes hbh = {6,
                       0,
                       0xc2,
                       4,
                       static_cast<uint8_t>(jumbo >> 24),
                       static_cast<uint8_t>(jumbo >> 16),
                       static_cast<uint8_t>(jumbo >> 8),
                       static_cast<uint8_t>(jumbo)};
    frame[6] = 0;  // next header: hop-by-hop
    frame.insert(frame.begin() + 40, hbh.begin(), hbh.end());
  }
  f.push_back({0.021, frame});
  f.push_back({0.0211, mk(plain({true, a + 1 + big, b + 1, fl::kAck, 1000}))});
  f.push_back({0.030, mk(plain({false, b + 1, a + 1 + big + 1000, fl::kAck}))});
  return f;
}

void expect_tso_analysed(const Result& r, uint32_t big) {
  EXPECT_EQ(r.stats.malformed_ip, 0u);
  EXPECT_EQ(r.stats.tcp, 6u);
  EXPECT_EQ(r.stats.length_from_capture, 1u);
  EXPECT_EQ(labels_of(r, 4), "data");
  EXPECT_EQ(frame(r, 4)->len, big);
  // The next segment starts where the big frame ended: nothing was lost.
  EXPECT_EQ(labels_of(r, 5), "data");
  EXPECT_EQ(frame(r, 5)->rel_seq, 1u + big);
  EXPECT_EQ(labels_of(r, 6), "pure_ack");
  EXPECT_EQ(frame(r, 6)->rel_ack, 1u + big + 1000);
}

TEST(LengthFromCapture, Ipv4TsoFrameWithTotalLengthZero) {
  // 4 x 1448 bytes, as a 4-segment TSO frame.
  const Result r = analyse("tso.pcap", tso_capture(false, 5792), 262144);
  expect_tso_analysed(r, 5792);
}

TEST(LengthFromCapture, Ipv4BigTcpFrameAbove64KiB) {
  const Result r = analyse("bigtcp4.pcap", tso_capture(false, 150000), 262144);
  expect_tso_analysed(r, 150000);
}

TEST(LengthFromCapture, Ipv6BigTcpWithAndWithoutJumboOption) {
  expect_tso_analysed(analyse("bigtcp6.pcap", tso_capture(true, 150000), 262144), 150000);
  expect_tso_analysed(analyse("jumbo6.pcap", tso_capture(true, 150000, true), 262144), 150000);
}

TEST(LengthFromCapture, TsoFrameCutBySnaplenTakesTheWireLength) {
  // tcpdump -s 128 on the sender: the record keeps the frame's on-the-wire
  // length (14 + 20 + 20 + 5792), so the payload is known though not
  // captured.
  const Result r = analyse("tso128.pcap", tso_capture(false, 5792), 128);
  expect_tso_analysed(r, 5792);
  EXPECT_EQ(r.stats.snaplen_cut, 2u);  // the big frame and the 1000-byte one
}

}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

// A capture being built frame by frame: add() returns the frame number.
class Capture {
 public:
  explicit Capture(bool v6 = false) : v6_(v6) {}
  uint64_t add(double t, const Seg& s) {
    frames_.push_back({t, v6_ ? ipv6(s) : ipv4(s)});
    return frames_.size();
  }
  uint64_t again(double t) {  // the last frame captured once more
    frames_.push_back({t, frames_.back().ip});
    return frames_.size();
  }
  const std::vector<Frame>& frames() const { return frames_; }

 private:
  bool v6_;
  std::vector<Frame> frames_;
};

constexpr uint32_t kA = 1000, kB = 9000;  // ISNs: relative numbers are seq - ISN
constexpr uint32_t kMss = 1000;

Seg data(uint32_t rel, uint16_t id = 0) {
  Seg s{true, kA + rel, kB + 1, fl::kAck, kMss, 1000};
  s.ip_id = id;
  return s;
}

Seg ack_of(uint32_t rel_ack, std::vector<std::pair<uint32_t, uint32_t>> sack = {}) {
  Seg s{false, kB + 1, kA + rel_ack, fl::kAck, 0, 1000};
  for (auto [l, r] : sack) s.sack.push_back({kA + l, kA + r});
  return s;
}

// Handshake at 0, 10 ms, 20 ms: irtt 20 ms.
void handshake(Capture& c) {
  c.add(0.000, {true, kA, 0, fl::kSyn, 0, 64240, true});
  c.add(0.010, {false, kB, kA + 1, fl::kSyn | fl::kAck, 0, 65160, true});
  c.add(0.020, {true, kA + 1, kB + 1, fl::kAck, 0, 1000});
}

// ---------------------------------------------------------------------------
// Point 5: retransmissions an ACK explains are not timeouts.

TEST(AckClockedRetransmissions, SecondFastRetransmissionAndSackResendsAreNotTimeouts) {
  // Seven segments (rel 1, 1001, ... 6001) at 21 ms; 1001 and 4001 lost.
  Capture c;
  handshake(c);
  for (uint32_t k = 0; k < 7; ++k) c.add(0.021 + k * 0.0001, data(1 + k * kMss));
  c.add(0.041, ack_of(1001));                        // segment 1 arrived
  c.add(0.0411, ack_of(1001, {{2001, 3001}}));       // SACK: 3rd segment
  c.add(0.0412, ack_of(1001, {{2001, 4001}}));       // and the 4th
  const uint64_t fast1 = c.add(0.0413, data(1001));  // RFC 6675 fast retransmit
  c.add(0.0414, ack_of(1001, {{5001, 6001}, {2001, 4001}}));
  c.add(0.0415, ack_of(1001, {{5001, 7001}, {2001, 4001}}));
  c.add(0.0416, data(7001));  // new data (RFC 6675 §5)
  // One round trip later the segment sent after the resend is SACKed and
  // 1001 is not: the resend was lost too, and Linux's RACK resends it again
  // on this ACK (RFC 8985 §6.2).
  c.add(0.0615, ack_of(1001, {{7001, 8001}, {5001, 7001}, {2001, 4001}}));
  const uint64_t fast2 = c.add(0.0616, data(1001));
  // 1001..4001 arrived: the ACK point moves to the second hole, with SACK
  // blocks above it; 4001 is resent at once (a partial ACK, RFC 6582 §3.2,
  // and SACK-driven).
  c.add(0.0816, ack_of(4001, {{5001, 8001}}));
  const uint64_t fast3 = c.add(0.0817, data(4001));
  c.add(0.1017, ack_of(8001));

  const Result r = analyse("ackclocked.pcap", c.frames(), 65535);
  EXPECT_EQ(labels_of(r, fast1), "data,retransmission,fast_retransmission");
  EXPECT_EQ(labels_of(r, fast2), "data,retransmission,fast_retransmission");
  EXPECT_EQ(labels_of(r, fast3), "data,retransmission,fast_retransmission");
  ASSERT_EQ(r.stories.size(), 1u);
  EXPECT_TRUE(r.stories[0].rto.empty());
  EXPECT_EQ(r.stories[0].min_rto_estimate, Duration::zero());
  EXPECT_EQ(r.stories[0].ending, "still open at the end of the capture");
}

TEST(AckClockedRetransmissions, NoTimeoutSoonerThanOneRoundTripPlusTheMinimumRto) {
  // irtt 20 ms. Three segments; the peer acknowledges the first only, then
  // is silent. 40 ms after that ACK the sender resends 1001 (RACK's
  // reordering timer or a probe; not an RTO, which needs at least irtt +
  // 200 ms, Linux's TCP_RTO_MIN). 440 ms after that ACK it resends 1001
  // again: that one is an RTO, timed from the early resend, which restarted
  // the timer (RFC 6298 §5.6).
  Capture c;
  handshake(c);
  for (uint32_t k = 0; k < 3; ++k) c.add(0.021 + k * 0.0001, data(1 + k * kMss));
  c.add(0.041, ack_of(1001));
  const uint64_t early = c.add(0.081, data(1001));
  const uint64_t rto = c.add(0.481, data(1001));
  const Result r = analyse("rtofloor.pcap", c.frames(), 65535);
  EXPECT_EQ(labels_of(r, early), "data,retransmission");
  EXPECT_EQ(labels_of(r, rto), "data,retransmission");
  ASSERT_EQ(r.stories.size(), 1u);
  ASSERT_EQ(r.stories[0].rto.size(), 1u);
  const Story::Backoff& b = r.stories[0].rto[0];
  EXPECT_EQ(b.frames, std::vector<uint64_t>{rto});
  ASSERT_EQ(b.gaps.size(), 1u);
  EXPECT_EQ(b.gaps[0], Duration::millis(400));  // 0.481 - 0.081
  EXPECT_EQ(b.rel_seq, 1001u);
}

// ---------------------------------------------------------------------------
// Point 6: resends into a silent peer are an RTO back-off.

TEST(SilentPeerBackoff, FixedCadenceProbesAreNoBackoff) {
  // A scanner's FIN probes into a silent port, 175 ms apart (nmap's OS
  // detection): below irtt + 200 ms each, and each resend restarts the
  // timer, so no gap is an RTO.
  Capture c;
  Seg fin{true, kA, 0, fl::kFin, 0, 65535};
  fin.timestamps = false;
  for (int k = 0; k < 4; ++k) c.add(0.175 * k, fin);
  const Result r = analyse("fins.pcap", c.frames(), 65535);
  ASSERT_EQ(r.stories.size(), 1u);
  EXPECT_TRUE(r.stories[0].rto.empty());
  EXPECT_EQ(r.stories[0].ending, "still open at the end of the capture");
}

TEST(SilentPeerBackoff, ResendsWithNothingFromThePeerAreATimeoutStory) {
  // A mid-connection capture: one segment, then five resends 0.2, 0.6, 1.2,
  // 2.4 and 4.8 s apart; the peer never appears.
  Capture c;
  double t = 0;
  c.add(t, data(1));
  const double gaps[] = {0.2, 0.6, 1.2, 2.4, 4.8};
  std::vector<uint64_t> resends;
  for (double g : gaps) resends.push_back(c.add(t += g, data(1)));
  const Result r = analyse("silent.pcap", c.frames(), 65535);
  ASSERT_EQ(r.flows.size(), 1u);
  for (uint64_t f : resends) EXPECT_EQ(labels_of(r, f), "data,retransmission") << f;
  ASSERT_EQ(r.stories.size(), 1u);
  const Story& s = r.stories[0];
  ASSERT_EQ(s.rto.size(), 1u);
  EXPECT_EQ(s.rto[0].retransmissions, 5u);
  EXPECT_EQ(s.rto[0].frames, resends);
  const std::vector<Duration> want = {Duration::millis(200), Duration::millis(600),
                                      Duration::millis(1200), Duration::millis(2400),
                                      Duration::millis(4800)};
  EXPECT_EQ(s.rto[0].gaps, want);
  // 0.2 + 0.6 + 1.2 + 2.4 + 4.8 = 9.2 s.
  EXPECT_EQ(s.ending,
            "retransmission timeout: 5 retransmissions over 9.2 s, no RST, nothing from the "
            "server in the capture");
}

// ---------------------------------------------------------------------------
// Point 7: the same datagram captured twice.

TEST(CaptureDuplicates, SameDatagramTwiceIsLabelledAndKeptOutOfTheStory) {
  Capture c;
  const uint64_t syn = c.add(0.000, {true, kA, 0, fl::kSyn, 0, 64240, true});
  const uint64_t syn_dup = c.again(0.000020);  // 20 µs later, every byte the same
  c.add(0.010, {false, kB, kA + 1, fl::kSyn | fl::kAck, 0, 65160, true});
  c.add(0.020, {true, kA + 1, kB + 1, fl::kAck, 0, 1000});
  std::vector<uint64_t> dups;
  for (uint32_t k = 0; k < 3; ++k) {
    c.add(0.021 + k * 0.001, data(1 + k * kMss, static_cast<uint16_t>(7 + k)));
    dups.push_back(c.again(0.021 + k * 0.001 + 0.000015));
  }
  c.add(0.041, ack_of(3001));
  dups.push_back(c.again(0.041008));
  const Result r = analyse("dups.pcap", c.frames(), 65535);
  EXPECT_EQ(labels_of(r, syn), "syn");
  EXPECT_EQ(labels_of(r, syn_dup), "capture_duplicate");
  for (uint64_t f : dups) EXPECT_EQ(labels_of(r, f), "capture_duplicate") << f;
  EXPECT_EQ(r.stats.capture_duplicates, 5u);
  EXPECT_EQ(labels_of(r, dups.back() - 1), "pure_ack");  // not a dup ACK of itself
  ASSERT_EQ(r.stories.size(), 1u);
  const Story& s = r.stories[0];
  EXPECT_TRUE(s.rto.empty());
  EXPECT_TRUE(s.findings.empty());  // no RFC 2525 §2.7 "initial RTO too low"
  EXPECT_EQ(s.initial_rto_estimate, Duration::zero());
  EXPECT_EQ(r.flows[0].packets, 12u);  // the capture holds them all
}

TEST(CaptureDuplicates, ResendsAreNotDuplicates) {
  // A SYN resent after 1 s (RFC 6298 §2.1) and a data segment resent
  // after 300 ms, both with every header byte equal to the original's (a
  // stack with IP ID 0 and no timestamps would send such): not within one
  // round trip (or 1 ms without a handshake) of the original, so real
  // resends.
  Capture c;
  Seg syn{true, kA, 0, fl::kSyn, 0, 64240};
  syn.timestamps = false;
  c.add(0.0, syn);
  const uint64_t syn2 = c.again(1.0);
  c.add(1.010, {false, kB, kA + 1, fl::kSyn | fl::kAck, 0, 65160});
  c.add(1.020, {true, kA + 1, kB + 1, fl::kAck, 0, 1000});  // irtt 20 ms (from the 2nd SYN)
  c.add(1.021, data(1));
  const uint64_t resend = c.again(1.321);
  const Result r = analyse("resends.pcap", c.frames(), 65535);
  EXPECT_EQ(labels_of(r, syn2), "syn,syn_retransmission");
  EXPECT_EQ(labels_of(r, resend), "data,retransmission");
  EXPECT_EQ(r.stats.capture_duplicates, 0u);
}

}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

// ---------------------------------------------------------------------------
// Point 8: labels tshark has.

TEST(TsharkLabels, AckForBytesTheCaptureNeverSaw) {
  Capture c;
  handshake(c);
  c.add(0.021, data(1));
  // A's next segment (rel 1001..2001) is not in the capture (dropped by the
  // capturing host); B acknowledges both.
  const uint64_t ack = c.add(0.041, ack_of(2001));
  const uint64_t next = c.add(0.042, data(2001));
  const Result r = analyse("ackedunseen.pcap", c.frames(), 65535);
  EXPECT_EQ(labels_of(r, ack), "pure_ack,acked_unseen");
  // The segment after the gap: the capture missed what came before it.
  EXPECT_EQ(labels_of(r, next), "data,lost_segment");
}

TEST(TsharkLabels, SynAfterRstIsANewConnectionOnlyWithANewIsn) {
  // Windows: connect refused (RST/ACK), retried with the same SYN 0.5 s and
  // 1 s later; then the application connects again from the same port
  // with a new ISN.
  Capture c;
  Seg syn{true, kA, 0, fl::kSyn};
  syn.timestamps = false;
  Seg rst{false, 0, kA + 1, fl::kRst | fl::kAck, 0, 0};
  rst.timestamps = false;
  c.add(0.0, syn);
  c.add(0.001, rst);
  const uint64_t retry = c.add(0.5, syn);
  c.add(0.501, rst);
  Seg again{true, kA + 70000, 0, fl::kSyn};
  again.timestamps = false;
  const uint64_t reuse = c.add(1.5, again);
  const Result r = analyse("reuse.pcap", c.frames(), 65535);
  ASSERT_EQ(r.flows.size(), 2u);
  EXPECT_EQ(labels_of(r, retry), "syn,syn_retransmission");
  EXPECT_EQ(frame(r, retry)->flow, 0u);
  EXPECT_EQ(labels_of(r, reuse), "syn,port_reuse");
  EXPECT_EQ(frame(r, reuse)->flow, 1u);
  // The retry follows a RST, not a timer: no SYN RTO series, no RFC 2525
  // §2.7 "initial RTO too low" for its 0.5 s.
  ASSERT_EQ(r.stories.size(), 2u);
  EXPECT_TRUE(r.stories[0].rto.empty());
  EXPECT_TRUE(r.stories[0].findings.empty());
  EXPECT_EQ(r.stories[0].ending,
            "refused: RST/ACK in reply to SYN (frame 2); the same SYN was sent again 1 time and "
            "refused again (last RST frame 4)");
}

}  // namespace
}  // namespace vigil::analyze
