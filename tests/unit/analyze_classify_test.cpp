// Tests for the analyzer's segment classifier. Ground truth comes from the
// simulator's own stack events (what each endpoint meant to send), matched
// to the packets of its pcap by host, time and sequence number; the hand-built
// cases follow RFC 9293 / RFC 1122 / RFC 5681 definitions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/labels.hpp"
#include "sim/scenario.hpp"
#include "wire/packet.hpp"

namespace vigil::analyze {
namespace {

// ---------------------------------------------------------------------------
// Hand-built segments.

const wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);
const wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 0, 0, 2);

struct Seg {
  bool from_a = true;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = wire::tcp_flags::kAck;
  uint16_t window = 65535;
  uint32_t len = 0;
  int ws = -1;                        // window scale option (SYNs)
  uint32_t sack_l = 0, sack_r = 0;    // one SACK block when sack_r != 0
  uint32_t sack2_l = 0, sack2_r = 0;  // a second one when sack2_r != 0
};

std::vector<uint8_t> build(const Seg& s) {
  wire::Ipv4Fields ip;
  ip.src = s.from_a ? kA : kB;
  ip.dst = s.from_a ? kB : kA;
  wire::TcpFields t;
  t.src_port = s.from_a ? 40000 : 80;
  t.dst_port = s.from_a ? 80 : 40000;
  t.seq = s.seq;
  t.ack = s.ack;
  t.flags = s.flags;
  t.window = s.window;
  wire::TcpOptions o;
  if (s.ws >= 0) {
    o.has_window_scale = true;
    o.window_scale = static_cast<uint8_t>(s.ws);
  }
  if (s.sack_r != 0) {
    o.sack_count = 1;
    o.sack[0].left = s.sack_l;
    o.sack[0].right = s.sack_r;
  }
  if (s.sack2_r != 0) {
    o.sack_count = 2;
    o.sack[1].left = s.sack2_l;
    o.sack[1].right = s.sack2_r;
  }
  std::vector<uint8_t> payload(s.len, 0x41);
  std::vector<uint8_t> out(2000);
  const size_t n = wire::build_ipv4_tcp(out, ip, t, o, payload);
  out.resize(n);
  return out;
}

class Feed {
 public:
  // Returns the labels of the segment just added.
  LabelSet add(const Seg& s, Duration gap = Duration::millis(10)) {
    time_ = time_ + gap;
    const auto bytes = build(s);
    fa_.add(++frame_, time_, bytes);
    return fa_.packets().back().labels;
  }
  FlowAnalyzer& fa() { return fa_; }

 private:
  FlowAnalyzer fa_;
  uint64_t frame_ = 0;
  Instant time_;
};

constexpr uint8_t kAckF = wire::tcp_flags::kAck;
constexpr uint8_t kSynF = wire::tcp_flags::kSyn;
constexpr uint8_t kFinF = wire::tcp_flags::kFin;
constexpr uint8_t kRstF = wire::tcp_flags::kRst;

// A: ISN 1000, B: ISN 5000, handshake with scaling (A shift 2, B shift 3).
void handshake(Feed& f, uint32_t a_isn = 1000, uint32_t b_isn = 5000) {
  EXPECT_TRUE(has(f.add({true, a_isn, 0, kSynF, 65535, 0, 2}), Label::kSyn));
  EXPECT_TRUE(has(f.add({false, b_isn, a_isn + 1, kSynF | kAckF, 65535, 0, 3}), Label::kSynAck));
  EXPECT_TRUE(has(f.add({true, a_isn + 1, b_isn + 1, kAckF, 1000, 0}), Label::kPureAck));
}

TEST(Labels, Names) {
  EXPECT_EQ(label_name(Label::kZeroWindowProbe), "zero_window_probe");
  EXPECT_EQ(labels_to_string(bit(Label::kPureAck) | bit(Label::kDupAck)), "pure_ack,dup_ack");
  EXPECT_EQ(labels_to_string(0), "");
}

TEST(Classify, HandshakeScaleAndRelativeNumbers) {
  Feed f;
  handshake(f);
  const auto& fl = f.fa().flows();
  ASSERT_EQ(fl.size(), 1u);
  EXPECT_TRUE(fl[0].saw_syn);
  EXPECT_TRUE(fl[0].scale_known);
  EXPECT_EQ(fl[0].addr[0], kA);
  const auto& p = f.fa().packets();
  EXPECT_EQ(p[2].rel_seq, 1u);
  EXPECT_EQ(p[2].rel_ack, 1u);
  EXPECT_EQ(p[2].window, 1000u << 2);  // A's shift
  EXPECT_EQ(p[1].window, 65535u);      // a SYN's window is never scaled
  EXPECT_EQ(p[1].dir, 1);
  f.fa().finish();
  EXPECT_EQ(f.fa().flows()[0].end.how, "open");
}

TEST(Classify, SynRetransmissionAndRefused) {
  Feed f;
  EXPECT_EQ(f.add({true, 7, 0, kSynF}), bit(Label::kSyn));
  EXPECT_EQ(f.add({true, 7, 0, kSynF}), bit(Label::kSyn) | bit(Label::kSynRetransmission));
  const LabelSet r = f.add({false, 0, 8, kRstF | kAckF, 0});
  EXPECT_EQ(r, bit(Label::kRst) | bit(Label::kRstRefused));  // no zero_window on an RST
  EXPECT_EQ(f.fa().flows()[0].end.how, "rst");
  EXPECT_EQ(f.fa().flows()[0].end.frame, 3u);
}

// The seed-003 confusion: SEG.SEQ = SND.UNA - 1 with no data. With the
// peer's window closed (data waiting) it is Linux's zero-window probe; with
// it open and the sender idle it is a keepalive.
TEST(Classify, LinuxZeroWindowProbeVsKeepalive) {
  {
    Feed f;
    handshake(f);
    f.add({true, 1001, 5001, kAckF, 1000, 100});  // A sends 100 bytes
    const LabelSet zw = f.add({false, 5001, 1101, kAckF, 0});
    EXPECT_TRUE(has(zw, Label::kZeroWindow));
    const LabelSet probe = f.add({true, 1100, 5001, kAckF, 1000, 0});
    EXPECT_TRUE(has(probe, Label::kZeroWindowProbe)) << labels_to_string(probe);
    EXPECT_FALSE(has(probe, Label::kKeepalive));
    EXPECT_FALSE(has(probe, Label::kRetransmission));
    const LabelSet reply = f.add({false, 5001, 1101, kAckF, 0});
    EXPECT_TRUE(has(reply, Label::kZeroWindowProbeAck)) << labels_to_string(reply);
    EXPECT_FALSE(has(reply, Label::kDupAck));
    const LabelSet open = f.add({false, 5001, 1101, kAckF, 500});
    EXPECT_TRUE(has(open, Label::kWindowUpdate)) << labels_to_string(open);
  }
  {
    Feed f;
    handshake(f);
    f.add({true, 1001, 5001, kAckF, 1000, 100});
    f.add({false, 5001, 1101, kAckF, 500});
    const LabelSet ka = f.add({true, 1100, 5001, kAckF, 1000, 0});
    EXPECT_TRUE(has(ka, Label::kKeepalive)) << labels_to_string(ka);
    EXPECT_FALSE(has(ka, Label::kZeroWindowProbe));
    const LabelSet reply = f.add({false, 5001, 1101, kAckF, 500});
    EXPECT_TRUE(has(reply, Label::kKeepaliveAck)) << labels_to_string(reply);
    EXPECT_FALSE(has(reply, Label::kDupAck));
  }
}

TEST(Classify, BsdZeroWindowProbeIsNotRetransmission) {
  Feed f;
  handshake(f);
  f.add({true, 1001, 5001, kAckF, 1000, 100});
  f.add({false, 5001, 1101, kAckF, 0});
  const LabelSet p1 = f.add({true, 1101, 5001, kAckF, 1000, 1});
  EXPECT_TRUE(has(p1, Label::kZeroWindowProbe)) << labels_to_string(p1);
  f.add({false, 5001, 1101, kAckF, 0});
  const LabelSet p2 = f.add({true, 1101, 5001, kAckF, 1000, 1});  // same byte again
  EXPECT_TRUE(has(p2, Label::kZeroWindowProbe));
  EXPECT_FALSE(has(p2, Label::kRetransmission));
}

TEST(Classify, GarbageByteKeepalive) {
  Feed f;
  handshake(f);
  const LabelSet ka = f.add({true, 1000, 5001, kAckF, 1000, 1});  // 1 byte at SND.NXT - 1
  EXPECT_TRUE(has(ka, Label::kKeepalive)) << labels_to_string(ka);
  EXPECT_TRUE(has(ka, Label::kData));
  EXPECT_FALSE(has(ka, Label::kRetransmission));
  const LabelSet reply = f.add({false, 5001, 1001, kAckF});
  EXPECT_TRUE(has(reply, Label::kKeepaliveAck)) << labels_to_string(reply);
}

TEST(Classify, DupAcksAndFastRetransmission) {
  Feed f;
  handshake(f);
  for (uint32_t i = 0; i < 5; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
  EXPECT_FALSE(has(f.add({false, 5001, 1101, kAckF}), Label::kDupAck));  // new ack
  for (int i = 0; i < 3; ++i) {
    const LabelSet d = f.add({false, 5001, 1101, kAckF});
    EXPECT_TRUE(has(d, Label::kDupAck)) << i << " " << labels_to_string(d);
  }
  const LabelSet fr = f.add({true, 1101, 5001, kAckF, 1000, 100});
  EXPECT_TRUE(has(fr, Label::kRetransmission));
  EXPECT_TRUE(has(fr, Label::kFastRetransmission));
  // A changed window is not a duplicate ACK.
  EXPECT_FALSE(has(f.add({false, 5001, 1101, kAckF, 60000}), Label::kDupAck));
  // Partial ACK in NewReno recovery, then the next hole goes at once.
  f.add({false, 5001, 1301, kAckF, 60000});
  const LabelSet pr = f.add({true, 1301, 5001, kAckF, 1000, 100});
  EXPECT_TRUE(has(pr, Label::kFastRetransmission)) << labels_to_string(pr);
  // Only 2 dup ACKs, then a resend: a timeout retransmission.
  f.add({false, 5001, 1501, kAckF, 60000});
  f.add({true, 1501, 5001, kAckF, 1000, 100});
  f.add({false, 5001, 1501, kAckF, 60000});
  f.add({false, 5001, 1501, kAckF, 60000});
  const LabelSet rto = f.add({true, 1501, 5001, kAckF, 1000, 100});
  EXPECT_TRUE(has(rto, Label::kRetransmission));
  EXPECT_FALSE(has(rto, Label::kFastRetransmission));
  // No data outstanding: a repeated ACK is not a dup ACK.
  f.add({false, 5001, 1601, kAckF, 60000});
  EXPECT_FALSE(has(f.add({false, 5001, 1601, kAckF, 60000}), Label::kDupAck));
}

TEST(Classify, WindowFullAndGaps) {
  Feed f;
  handshake(f);
  f.add({false, 5001, 1001, kAckF, 50});  // B: window 50 << 3 = 400
  EXPECT_FALSE(has(f.add({true, 1001, 5001, kAckF, 1000, 200}), Label::kWindowFull));
  EXPECT_TRUE(has(f.add({true, 1201, 5001, kAckF, 1000, 200}), Label::kWindowFull));
  f.add({false, 5001, 1401, kAckF, 200});
  // A gap: 1401..1501 never captured.
  EXPECT_TRUE(has(f.add({true, 1501, 5001, kAckF, 1000, 100}), Label::kLostSegment));
  // The hole filled 10 ms later, within the 20 ms handshake round trip: too
  // soon for a resend, so reordering.
  const LabelSet fill = f.add({true, 1401, 5001, kAckF, 1000, 100});
  EXPECT_TRUE(has(fill, Label::kOutOfOrder)) << labels_to_string(fill);
  EXPECT_FALSE(has(fill, Label::kRetransmission));
  const LabelSet again = f.add({true, 1401, 5001, kAckF, 1000, 100});
  EXPECT_TRUE(has(again, Label::kRetransmission));
  EXPECT_FALSE(has(again, Label::kOutOfOrder));
}

TEST(Classify, SequenceWrap) {
  Feed f;
  const uint32_t isn = 0xFFFFFF00u;
  handshake(f, isn, 0xFFFFFFF0u);
  // 0x100 bytes from 0xFFFFFF01: wraps past zero.
  const LabelSet d1 = f.add({true, isn + 1, 0xFFFFFFF1u, kAckF, 1000, 0x100});
  EXPECT_FALSE(has(d1, Label::kRetransmission));
  const LabelSet d2 = f.add({true, isn + 1 + 0x100, 0xFFFFFFF1u, kAckF, 1000, 0x100});
  EXPECT_FALSE(has(d2, Label::kRetransmission)) << labels_to_string(d2);
  EXPECT_FALSE(has(d2, Label::kLostSegment));
  EXPECT_EQ(f.fa().packets().back().rel_seq, 0x101u);
  EXPECT_TRUE(has(f.add({true, isn + 1, 0xFFFFFFF1u, kAckF, 1000, 0x100}), Label::kRetransmission));
  // B acks across zero; then a keepalive at 0x200 - 1 past the wrap.
  f.add({false, 0xFFFFFFF1u, isn + 1 + 0x200, kAckF});
  const LabelSet ka = f.add({true, isn + 0x200, 0xFFFFFFF1u, kAckF, 1000, 0});
  EXPECT_TRUE(has(ka, Label::kKeepalive)) << labels_to_string(ka);
}

TEST(Classify, FinEnd) {
  Feed f;
  handshake(f);
  EXPECT_TRUE(has(f.add({true, 1001, 5001, kFinF | kAckF}), Label::kFin));
  f.add({false, 5001, 1002, kFinF | kAckF});
  const LabelSet again = f.add({true, 1001, 5002, kFinF | kAckF});
  EXPECT_TRUE(has(again, Label::kRetransmission));
  f.fa().finish();
  EXPECT_EQ(f.fa().flows()[0].end.how, "fin");
  EXPECT_EQ(f.fa().flows()[0].end.frame, 5u);
}

// RFC 8985 §7.3: after sending new data, the sender resends its
// highest-sequenced segment before any RTO could fire (here 10 ms after it;
// the handshake round trip is 20 ms, so no RTO comes before 220 ms).
TEST(Classify, TailLossProbe) {
  Feed f;
  handshake(f);
  for (uint32_t i = 0; i < 4; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
  const LabelSet tlp = f.add({true, 1301, 5001, kAckF, 1000, 100});
  EXPECT_EQ(tlp, bit(Label::kData) | bit(Label::kRetransmission) | bit(Label::kTailLossProbe))
      << labels_to_string(tlp);
  // The RTO then resends the first unacknowledged segment: not a probe.
  const LabelSet rto = f.add({true, 1001, 5001, kAckF, 1000, 100}, Duration::millis(300));
  EXPECT_EQ(rto, bit(Label::kData) | bit(Label::kRetransmission)) << labels_to_string(rto);
  // Go-back-N after the timeout reaches the tail again: still not a probe.
  f.add({false, 5001, 1101, kAckF});
  f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(1));
  f.add({false, 5001, 1301, kAckF});
  const LabelSet gbn = f.add({true, 1301, 5001, kAckF, 1000, 100}, Duration::millis(1));
  EXPECT_FALSE(has(gbn, Label::kTailLossProbe)) << labels_to_string(gbn);
}

TEST(Classify, TailLossProbeNeedsQuietPeerAndEarlyResend) {
  {  // After a duplicate ACK the peer already signalled loss.
    Feed f;
    handshake(f);
    for (uint32_t i = 0; i < 3; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
    f.add({false, 5001, 1101, kAckF});
    EXPECT_TRUE(has(f.add({false, 5001, 1101, kAckF}), Label::kDupAck));
    f.add({true, 1301, 5001, kAckF, 1000, 100});  // new data (limited transmit)
    const LabelSet r = f.add({true, 1301, 5001, kAckF, 1000, 100});
    EXPECT_TRUE(has(r, Label::kRetransmission));
    EXPECT_FALSE(has(r, Label::kTailLossProbe)) << labels_to_string(r);
  }
  {  // The only segment outstanding, resent 1 s later: the RTO.
    Feed f;
    handshake(f);
    f.add({true, 1001, 5001, kAckF, 1000, 100});
    const LabelSet r = f.add({true, 1001, 5001, kAckF, 1000, 100}, Duration::seconds(1));
    EXPECT_EQ(r, bit(Label::kData) | bit(Label::kRetransmission)) << labels_to_string(r);
  }
  {  // Resent at 230 ms: past one round trip (20 ms) + 200 ms, an RTO could have fired.
    Feed f;
    handshake(f);
    f.add({true, 1001, 5001, kAckF, 1000, 100});
    f.add({true, 1101, 5001, kAckF, 1000, 100});
    const LabelSet r = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(230));
    EXPECT_FALSE(has(r, Label::kTailLossProbe)) << labels_to_string(r);
  }
}

// Data the capture saw acknowledged, sent again: the copy was not needed.
TEST(Classify, SpuriousRetransmission) {
  Feed f;
  handshake(f);
  f.add({true, 1001, 5001, kAckF, 1000, 100});
  f.add({true, 1101, 5001, kAckF, 1000, 100});
  f.add({false, 5001, 1101, kAckF});
  const LabelSet sp = f.add({true, 1001, 5001, kAckF, 1000, 100}, Duration::millis(300));
  EXPECT_EQ(sp,
            bit(Label::kData) | bit(Label::kRetransmission) | bit(Label::kSpuriousRetransmission))
      << labels_to_string(sp);
  // Partly acknowledged (1051..1151, ACK 1101): the tail was still needed.
  const LabelSet part = f.add({true, 1051, 5001, kAckF, 1000, 100}, Duration::millis(300));
  EXPECT_TRUE(has(part, Label::kRetransmission));
  EXPECT_FALSE(has(part, Label::kSpuriousRetransmission)) << labels_to_string(part);
  // Not yet acknowledged: a plain retransmission.
  const LabelSet un = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(300));
  EXPECT_FALSE(has(un, Label::kSpuriousRetransmission)) << labels_to_string(un);
  // A FIN sent again after its ACK.
  f.add({false, 5001, 1201, kAckF});
  f.add({true, 1201, 5001, kFinF | kAckF});
  f.add({false, 5001, 1202, kAckF});
  const LabelSet fin = f.add({true, 1201, 5001, kFinF | kAckF}, Duration::millis(300));
  EXPECT_TRUE(has(fin, Label::kSpuriousRetransmission)) << labels_to_string(fin);
  // A keepalive's garbage byte is below the ACK too, but it is a probe.
  const LabelSet ka = f.add({true, 1201, 5001, kAckF, 1000, 1}, Duration::seconds(10));
  EXPECT_FALSE(has(ka, Label::kSpuriousRetransmission)) << labels_to_string(ka);
}

// Linux (RACK, RFC 8985 §6; RFC 6675 §5) resends a hole as soon as an ACK's
// SACK block shows later data arrived, with fewer than 3 duplicate ACKs
// (tests/tools/analyze_linux_traces.sh, the loss trace). Bug fixed: these
// were labelled plain retransmissions, like timeout resends.
TEST(Classify, SackDrivenFastRetransmission) {
  {
    Feed f;
    handshake(f);
    for (uint32_t i = 0; i < 4; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
    f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1201, 1301});  // 1101..1201 missing
    const LabelSet fr = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(1));
    EXPECT_EQ(fr, bit(Label::kData) | bit(Label::kRetransmission) | bit(Label::kFastRetransmission))
        << labels_to_string(fr);
    // The same hole again, later: no longer the fast path.
    const LabelSet again = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(400));
    EXPECT_FALSE(has(again, Label::kFastRetransmission)) << labels_to_string(again);
  }
  {  // SACK blocks, but the resend comes 300 ms after the peer went silent: a timeout.
    Feed f;
    handshake(f);
    for (uint32_t i = 0; i < 4; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
    f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1201, 1301});
    const LabelSet rto = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(300));
    EXPECT_EQ(rto, bit(Label::kData) | bit(Label::kRetransmission)) << labels_to_string(rto);
    // Go-back-N after it: the next hole follows an ACK with SACK blocks at
    // once, but it is the timeout's recovery, not a fast retransmission.
    f.add({false, 5001, 1201, kAckF, 65535, 0, -1, 1301, 1401});
    const LabelSet gbn = f.add({true, 1201, 5001, kAckF, 1000, 100}, Duration::millis(1));
    EXPECT_FALSE(has(gbn, Label::kFastRetransmission)) << labels_to_string(gbn);
  }
}

// RFC 2883 §4 (D-SACK): the peer's ACK after a retransmission reports its
// bytes as received twice, so the retransmission was spurious even though no
// ACK covered it when it was sent. The label is added afterwards.
TEST(Classify, DsackBelowAckMakesRetransmissionSpurious) {
  Feed f;
  handshake(f);  // irtt 20 ms
  f.add({true, 1001, 5001, kAckF, 1000, 100});
  f.add({true, 1101, 5001, kAckF, 1000, 100});
  const LabelSet tlp = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(5));
  EXPECT_TRUE(has(tlp, Label::kRetransmission));
  EXPECT_FALSE(has(tlp, Label::kSpuriousRetransmission));
  const size_t idx = f.fa().packets().size() - 1;
  // ACK 1201 with SACK 1101-1201: the first block lies below the ACK.
  f.add({false, 5001, 1201, kAckF, 65535, 0, -1, 1101, 1201}, Duration::millis(30));
  EXPECT_EQ(f.fa().packets()[idx].labels, bit(Label::kData) | bit(Label::kRetransmission) |
                                              bit(Label::kTailLossProbe) |
                                              bit(Label::kSpuriousRetransmission))
      << labels_to_string(f.fa().packets()[idx].labels);
  EXPECT_EQ(f.fa().stats().dsack_spurious, 1u);
}

TEST(Classify, DsackInsideSecondBlock) {
  Feed f;
  handshake(f);
  for (uint32_t i = 0; i < 4; ++i) f.add({true, 1001 + 100 * i, 5001, kAckF, 1000, 100});
  // 1101-1201 missing at the receiver; 1201-1401 arrived.
  f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1201, 1401});
  f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(1));  // the hole
  const LabelSet dup = f.add({true, 1201, 5001, kAckF, 1000, 100}, Duration::millis(1));
  EXPECT_TRUE(has(dup, Label::kRetransmission));
  EXPECT_FALSE(has(dup, Label::kSpuriousRetransmission));
  const size_t idx = f.fa().packets().size() - 1;
  // ACK still 1101 (this ACK left before the hole's resend arrived); the
  // first block 1201-1301 lies inside the second, 1201-1401: a duplicate.
  f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1201, 1301, 1201, 1401});
  EXPECT_TRUE(has(f.fa().packets()[idx].labels, Label::kSpuriousRetransmission))
      << labels_to_string(f.fa().packets()[idx].labels);
  // The hole's resend (idx - 1) is not named by it.
  EXPECT_FALSE(has(f.fa().packets()[idx - 1].labels, Label::kSpuriousRetransmission));
  // An ordinary SACK block (above the ACK, not inside another) is no D-SACK.
  EXPECT_EQ(f.fa().stats().dsack_spurious, 1u);
}

// The peer acknowledged the retransmission a round trip after it with no
// D-SACK: it was needed, and a D-SACK coming later names another copy. But
// an ACK that was already in flight (less than the handshake round trip
// after the resend) leaves it open: its D-SACK may follow.
TEST(Classify, DsackVerdictWaitsOneRoundTrip) {
  {
    Feed f;
    handshake(f);  // irtt 20 ms
    f.add({true, 1001, 5001, kAckF, 1000, 100});
    f.add({true, 1001, 5001, kAckF, 1000, 100}, Duration::millis(300));  // RTO resend
    const size_t idx = f.fa().packets().size() - 1;
    f.add({false, 5001, 1101, kAckF}, Duration::millis(25));  // closes it
    f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1001, 1101}, Duration::millis(1));
    EXPECT_FALSE(has(f.fa().packets()[idx].labels, Label::kSpuriousRetransmission));
    EXPECT_EQ(f.fa().stats().dsack_spurious, 0u);
  }
  {
    Feed f;
    handshake(f);
    f.add({true, 1001, 5001, kAckF, 1000, 100});
    f.add({true, 1001, 5001, kAckF, 1000, 100}, Duration::millis(300));
    const size_t idx = f.fa().packets().size() - 1;
    f.add({false, 5001, 1101, kAckF}, Duration::millis(5));  // in flight: the original's ACK
    f.add({false, 5001, 1101, kAckF, 65535, 0, -1, 1001, 1101}, Duration::millis(15));
    EXPECT_TRUE(has(f.fa().packets()[idx].labels, Label::kSpuriousRetransmission))
        << labels_to_string(f.fa().packets()[idx].labels);
  }
}

// Streaming: the held retransmission reaches the callback with the label
// the later D-SACK added, every packet arrives once and in frame order, and
// the hold is bounded in packets and in capture time.
struct Collected {
  std::vector<uint64_t> frames;
  std::vector<LabelSet> labels;
};

std::vector<uint8_t> bytes_of(const Seg& s, uint16_t a_port) {
  auto b = build(s);
  // Another connection: rewrite A's port (checksums are not verified).
  const size_t port_off = 20 + (s.from_a ? 0 : 2);
  b[port_off] = static_cast<uint8_t>(a_port >> 8);
  b[port_off + 1] = static_cast<uint8_t>(a_port);
  return b;
}

TEST(Classify, StreamingHoldBackOrderAndBounds) {
  Collected c;
  FlowAnalyzer fa([&c](const Flow&, const PacketLabels& p) {
    c.frames.push_back(p.frame);
    c.labels.push_back(p.labels);
  });
  uint64_t frame = 0;
  Instant t;
  auto add = [&](const Seg& s, Duration gap, uint16_t port = 40000) {
    t = t + gap;
    fa.add(++frame, t, bytes_of(s, port));
  };
  const Duration ms = Duration::millis(1);
  add({true, 1000, 0, kSynF, 65535, 0}, ms);
  add({false, 5000, 1001, kSynF | kAckF, 65535, 0}, ms);
  add({true, 1001, 5001, kAckF, 65535, 0}, ms);
  add({true, 1001, 5001, kAckF, 65535, 100}, ms);
  add({true, 1101, 5001, kAckF, 65535, 100}, ms);
  add({true, 1101, 5001, kAckF, 65535, 100}, ms);  // 6: a resend, open
  EXPECT_EQ(c.frames.size(), 5u);
  // Another connection's packets are held behind it (frame order).
  add({true, 7000, 0, kSynF, 65535, 0}, ms, 40001);
  add({false, 9000, 7001, kSynF | kAckF, 65535, 0}, ms, 40001);
  EXPECT_EQ(c.frames.size(), 5u);
  add({false, 5001, 1201, kAckF, 65535, 0, -1, 1101, 1201}, ms);  // 9: D-SACK
  ASSERT_EQ(c.frames.size(), 9u);
  EXPECT_TRUE(has(c.labels[5], Label::kSpuriousRetransmission)) << labels_to_string(c.labels[5]);
  EXPECT_EQ(fa.stats().max_held, 4u);  // frames 6-9

  // Count bound: a resend the peer never answers, then 300 more segments
  // within 1 s: at most 256 are held, then the resend is let go unlabelled.
  add({true, 1201, 5001, kAckF, 65535, 100}, ms);  // 10
  add({true, 1201, 5001, kAckF, 65535, 100}, ms);  // 11: a resend, open
  for (int i = 0; i < 300; ++i) add({true, 7001, 9001, kAckF, 65535, 0}, ms, 40001);
  EXPECT_EQ(fa.stats().max_held, 257u);
  EXPECT_EQ(fa.stats().holdback_expired, 1u);
  EXPECT_EQ(c.frames.size(), frame);
  EXPECT_TRUE(has(c.labels[10], Label::kRetransmission));
  EXPECT_FALSE(has(c.labels[10], Label::kSpuriousRetransmission));

  // Time bound: a resend, then a packet every 100 ms: the resend is let go
  // once it has waited more than 1 s.
  add({true, 1201, 5001, kAckF, 65535, 100}, ms);
  const uint64_t resend = frame;
  for (int i = 0; i < 10; ++i)
    add({true, 7001, 9001, kAckF, 65535, 0}, Duration::millis(100), 40001);
  EXPECT_EQ(c.frames.size(), resend - 1);  // 1.0 s: still held
  add({true, 7001, 9001, kAckF, 65535, 0}, Duration::millis(100), 40001);
  EXPECT_EQ(c.frames.size(), frame);
  EXPECT_EQ(fa.stats().holdback_expired, 2u);

  // finish() lets everything go.
  add({true, 1201, 5001, kAckF, 65535, 100}, ms);
  add({true, 7001, 9001, kAckF, 65535, 0}, ms, 40001);
  EXPECT_EQ(c.frames.size(), frame - 2);
  fa.finish();
  ASSERT_EQ(c.frames.size(), frame);
  for (size_t i = 0; i < c.frames.size(); ++i) EXPECT_EQ(c.frames[i], i + 1);
}

// Task: the capture missed bytes that the peer then acknowledged. The next
// segment above them still follows a gap in the capture (tshark: "previous
// segment not captured"), although an ACK covered the missing bytes.
TEST(Classify, LostSegmentAfterAckedGap) {
  Feed f;
  handshake(f);
  f.add({true, 1001, 5001, kAckF, 1000, 100});
  // 1101-1201 sent but not captured; B acknowledges it.
  f.add({false, 5001, 1201, kAckF});
  const LabelSet next = f.add({true, 1201, 5001, kAckF, 1000, 100});
  EXPECT_EQ(next, bit(Label::kData) | bit(Label::kLostSegment)) << labels_to_string(next);
  // No lost_segment for the segment after it.
  EXPECT_EQ(f.add({true, 1301, 5001, kAckF, 1000, 100}), bit(Label::kData));
}

// The segment the capture missed is sent again after B acknowledged it: it
// starts at the highest byte seen (no gap before it), but B's ACK shows A
// had sent it: a spurious retransmission.
TEST(Classify, ResendOfUncapturedAckedSegment) {
  Feed f;
  handshake(f);
  f.add({true, 1001, 5001, kAckF, 1000, 100});
  f.add({false, 5001, 1201, kAckF});
  const LabelSet again = f.add({true, 1101, 5001, kAckF, 1000, 100}, Duration::millis(300));
  EXPECT_EQ(again,
            bit(Label::kData) | bit(Label::kRetransmission) | bit(Label::kSpuriousRetransmission))
      << labels_to_string(again);
}

// IPv6 (RFC 8200): the same segment behind a 40-byte header from
// 2001:db8::1 (A) to 2001:db8::2 (B), optionally behind a hop-by-hop
// header. The TCP bytes come from the IPv4 builder (checksums are not
// verified by the analyzer).
std::vector<uint8_t> build6(const Seg& s, bool hop_by_hop = false) {
  const auto v4 = build(s);
  std::vector<uint8_t> tcp(v4.begin() + 20, v4.end());
  std::vector<uint8_t> b(40, 0);
  b[0] = 0x60;
  const size_t len = tcp.size() + (hop_by_hop ? 8 : 0);
  b[4] = static_cast<uint8_t>(len >> 8);
  b[5] = static_cast<uint8_t>(len);
  b[6] = hop_by_hop ? 0 : 6;
  b[7] = 64;
  for (int i = 0; i < 2; ++i) {
    uint8_t* a = &b[8 + 16 * i];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = static_cast<uint8_t>((i == 0) == s.from_a ? 1 : 2);
  }
  if (hop_by_hop) b.insert(b.end(), {6, 0, 1, 4, 0, 0, 0, 0});  // PadN option
  b.insert(b.end(), tcp.begin(), tcp.end());
  return b;
}

TEST(Classify, Ipv6Flow) {
  FlowAnalyzer fa;
  uint64_t frame = 0;
  Instant t;
  auto add = [&](const std::vector<uint8_t>& bytes, Duration gap = Duration::millis(10)) {
    t = t + gap;
    fa.add(++frame, t, bytes);
    return fa.packets().back().labels;
  };
  EXPECT_TRUE(has(add(build6({true, 1000, 0, kSynF, 65535, 0, 2})), Label::kSyn));
  EXPECT_TRUE(
      has(add(build6({false, 5000, 1001, kSynF | kAckF, 65535, 0, 3}, true)), Label::kSynAck));
  add(build6({true, 1001, 5001, kAckF, 1000, 0}));
  add(build6({true, 1001, 5001, kAckF, 1000, 100}));
  add(build6({false, 5001, 1101, kAckF, 1000, 0}, true));
  EXPECT_EQ(add(build6({true, 1001, 5001, kAckF, 1000, 100}), Duration::millis(300)),
            bit(Label::kData) | bit(Label::kRetransmission) | bit(Label::kSpuriousRetransmission));
  // The same ports over IPv4: another connection.
  fa.add(++frame, t, build({true, 1000, 0, kSynF, 65535, 0, 2}));
  // A fragment (RFC 8200 §4.5) and a segment cut by the snaplen inside TCP.
  auto frag = build6({true, 1101, 5001, kAckF, 1000, 10});
  frag[6] = 44;
  frag.insert(frag.begin() + 40, {6, 0, 0, 1, 0, 0, 0, 9});
  frag[5] = static_cast<uint8_t>(frag[5] + 8);
  fa.add(++frame, t, frag);
  auto cut = build6({true, 1101, 5001, kAckF, 1000, 10});
  cut.resize(40 + 12);
  fa.add(++frame, t, cut);
  // Cut inside the hop-by-hop header.
  auto cut_ext = build6({true, 1101, 5001, kAckF, 1000, 10}, true);
  cut_ext.resize(40 + 4);
  fa.add(++frame, t, cut_ext);
  // Cut in the payload only: analysed from the headers.
  auto short_payload = build6({true, 1101, 5001, kAckF, 1000, 100});
  short_payload.resize(40 + 20 + 10);
  EXPECT_EQ(add(short_payload), bit(Label::kData));
  EXPECT_EQ(fa.packets().back().len, 100u);

  const auto& fl = fa.flows();
  ASSERT_EQ(fl.size(), 2u);
  EXPECT_TRUE(fl[0].ipv6);
  EXPECT_EQ(fl[0].endpoint(0), "[2001:db8::1]:40000");
  EXPECT_EQ(fl[0].endpoint(1), "[2001:db8::2]:80");
  EXPECT_EQ(fl[0].packets, 7u);
  EXPECT_TRUE(fl[0].scale_known);
  EXPECT_EQ(fa.packets()[4].window, 1000u << 3);  // B's scale
  EXPECT_FALSE(fl[1].ipv6);
  EXPECT_EQ(fl[1].endpoint(0), "10.0.0.1:40000");
  EXPECT_EQ(fa.stats().tcp, 8u);
  EXPECT_EQ(fa.stats().ipv6, 7u);
  EXPECT_EQ(fa.stats().fragments, 1u);
  EXPECT_EQ(fa.stats().cut_headers, 2u);
  EXPECT_EQ(fa.stats().non_tcp, 0u);
  EXPECT_EQ(fa.stats().snaplen_cut, 1u);
}

// ---------------------------------------------------------------------------
// Simulator ground truth.

struct CapturedPacket {
  Instant time;
  std::string src;
  uint32_t seq = 0;
  LabelSet labels = 0;
};

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  return uint32_t{b[off]} | (uint32_t{b[off + 1]} << 8) | (uint32_t{b[off + 2]} << 16) |
         (uint32_t{b[off + 3]} << 24);
}

// Classic pcap, nanosecond magic, linktype 228 (raw IPv4).
std::vector<CapturedPacket> analyze_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> b{std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>()};
  std::vector<CapturedPacket> out;
  EXPECT_GE(b.size(), 24u);
  if (b.size() < 24) return out;
  EXPECT_EQ(le32(b, 0), 0xa1b23c4du);
  EXPECT_EQ(le32(b, 20), 228u);
  FlowAnalyzer fa;
  size_t off = 24;
  uint64_t frame = 0;
  while (off + 16 <= b.size()) {
    const int64_t ns = int64_t{le32(b, off)} * 1'000'000'000 + le32(b, off + 4);
    const uint32_t incl = le32(b, off + 8);
    off += 16;
    if (off + incl > b.size()) break;
    std::span<const uint8_t> pkt(b.data() + off, incl);
    off += incl;
    const size_t before = fa.packets().size();
    fa.add(++frame, Instant::from_ns(ns), pkt);
    if (fa.packets().size() == before) continue;
    wire::PacketView v;
    EXPECT_EQ(wire::parse_packet(pkt, &v, false), wire::Drop::kNone);
    CapturedPacket c;
    c.time = Instant::from_ns(ns);
    c.src = v.ip.src().to_string();
    c.seq = v.tcp.seq();
    c.labels = fa.packets().back().labels;
    out.push_back(c);
  }
  EXPECT_EQ(off, b.size());
  return out;
}

struct Agreement {
  int events = 0, matched = 0;
};

struct SimCase {
  std::string scenario;
  std::string profile = "rfc";
  uint64_t seed = 1;
  std::vector<std::pair<std::string, std::string>> sets = {};
};

int n_events(const sim::ScenarioResult& r, size_t host, tcp::EventType t) {
  int n = 0;
  for (const auto& e : r.events) n += (e.host == host && e.event.type == t) ? 1 : 0;
  return n;
}
int n_fast(const sim::ScenarioResult& r, size_t host) {
  int n = 0;
  for (const auto& e : r.events)
    n += (e.host == host && e.event.type == tcp::EventType::kRetransmit &&
          e.event.timer == tcp::RetransmitTimer::kFast)
             ? 1
             : 0;
  return n;
}

void check_against_events(const SimCase& c, Agreement* fast = nullptr,
                          sim::ScenarioResult* result_out = nullptr,
                          std::vector<CapturedPacket>* packets_out = nullptr) {
  SCOPED_TRACE(c.scenario + " profile=" + c.profile);
  sim::ScenarioParams params;
  params.seed = c.seed;
  params.profile = c.profile;
  params.sets = c.sets;
  params.pcap_path = ::testing::TempDir() + "vigil_classify_" + std::to_string(::getpid()) + "_" +
                     c.scenario + "_" + c.profile + ".pcap";
  sim::ScenarioResult r;
  ASSERT_EQ(sim::run_scenario(c.scenario, params, &r), "");
  const auto packets = analyze_pcap(params.pcap_path);
  std::remove(params.pcap_path.c_str());
  ASSERT_FALSE(packets.empty());

  size_t cap = 0;
  for (const auto& [k, v] : c.sets)
    if (k == "capture" && v == "server") cap = 1;
  ASSERT_LT(cap, r.hosts.size());
  const std::string cap_addr = r.hosts[cap].address;

  using tcp::EventType;
  auto matching = [&](const sim::RecordedEvent& e) {
    std::vector<const CapturedPacket*> m;
    for (const auto& p : packets)
      if (p.src == cap_addr && p.time == e.event.time && p.seq == e.event.seq) m.push_back(&p);
    return m;
  };
  auto has_event = [&](const CapturedPacket& p, std::initializer_list<EventType> types) {
    for (const auto& e : r.events)
      if (e.host == cap && e.event.time == p.time && e.event.seq == p.seq)
        for (EventType t : types)
          if (e.event.type == t) return true;
    return false;
  };

  for (const auto& e : r.events) {
    if (e.host != cap) continue;
    const auto m = matching(e);
    auto count = [&](Label l) {
      int n = 0;
      for (const auto* p : m) n += has(p->labels, l) ? 1 : 0;
      return n;
    };
    const std::string when =
        "event at " + format_seconds(e.event.time) + " seq " + std::to_string(e.event.seq);
    switch (e.event.type) {
      case EventType::kKeepaliveProbe:
        EXPECT_EQ(count(Label::kKeepalive), 1) << "keepalive " << when;
        break;
      case EventType::kZeroWindowProbe:
        EXPECT_EQ(count(Label::kZeroWindowProbe), 1) << "zero-window probe " << when;
        EXPECT_EQ(count(Label::kKeepalive), 0) << when;
        break;
      case EventType::kRetransmit:
        EXPECT_GE(count(Label::kRetransmission), 1) << "retransmit " << when;
        if (fast != nullptr) {
          const bool is_fast = e.event.timer == tcp::RetransmitTimer::kFast;
          ++fast->events;
          if ((count(Label::kFastRetransmission) > 0) == is_fast) {
            ++fast->matched;
          } else {
            std::printf("  fast mismatch: %s timer=%s\n", when.c_str(),
                        std::string(tcp::timer_name(e.event.timer)).c_str());
          }
        }
        break;
      case EventType::kSynRetransmit:
        EXPECT_EQ(count(Label::kSynRetransmission), 1) << "syn retransmit " << when;
        break;
      case EventType::kRstSent:
        EXPECT_EQ(count(Label::kRst), 1) << "rst " << when;
        break;
      default:
        break;
    }
  }
  for (const auto& p : packets) {
    if (p.src != cap_addr) continue;
    const std::string what = "packet at " + format_seconds(p.time) + " seq " +
                             std::to_string(p.seq) + " " + labels_to_string(p.labels);
    if (has(p.labels, Label::kKeepalive)) {
      EXPECT_TRUE(has_event(p, {EventType::kKeepaliveProbe})) << what;
    }
    if (has(p.labels, Label::kZeroWindowProbe)) {
      EXPECT_TRUE(has_event(p, {EventType::kZeroWindowProbe})) << what;
    }
    if (has(p.labels, Label::kRetransmission)) {
      EXPECT_TRUE(has_event(p, {EventType::kRetransmit, EventType::kSynRetransmit})) << what;
    }
    if (has(p.labels, Label::kSynRetransmission)) {
      EXPECT_TRUE(has_event(p, {EventType::kSynRetransmit})) << what;
    }
    EXPECT_FALSE(has(p.labels, Label::kKeepalive) && has(p.labels, Label::kZeroWindowProbe));
    // The simulator's stack has no tail loss probe (RFC 8985).
    EXPECT_FALSE(has(p.labels, Label::kTailLossProbe)) << what;
  }
  std::printf(
      "%s/%s: %d keepalive, %d zero-window probe, %d retransmit (%d fast), %d syn "
      "retransmit, %d rst events at the capture host; %zu packets\n",
      c.scenario.c_str(), c.profile.c_str(), n_events(r, cap, EventType::kKeepaliveProbe),
      n_events(r, cap, EventType::kZeroWindowProbe), n_events(r, cap, EventType::kRetransmit),
      n_fast(r, cap), n_events(r, cap, EventType::kSynRetransmit),
      n_events(r, cap, EventType::kRstSent), packets.size());
  if (result_out != nullptr) *result_out = r;
  if (packets_out != nullptr) *packets_out = packets;
}

int count_label(const std::vector<CapturedPacket>& ps, Label l) {
  int n = 0;
  for (const auto& p : ps) n += has(p.labels, l) ? 1 : 0;
  return n;
}
int count_events(const sim::ScenarioResult& r, tcp::EventType t) {
  int n = 0;
  for (const auto& e : r.events) n += e.event.type == t ? 1 : 0;
  return n;
}

TEST(ClassifySim, KeepaliveDeadPeer) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"keepalive-dead-peer"}, nullptr, &r, &ps);
  EXPECT_GT(count_events(r, tcp::EventType::kKeepaliveProbe), 0);
  EXPECT_EQ(count_label(ps, Label::kKeepalive), count_events(r, tcp::EventType::kKeepaliveProbe));
}

TEST(ClassifySim, KeepaliveIdle) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"keepalive-idle", "rfc", 1, {{"limit", "20000s"}}}, nullptr, &r, &ps);
  EXPECT_GT(count_events(r, tcp::EventType::kKeepaliveProbe), 0);
  EXPECT_EQ(count_label(ps, Label::kKeepalive), count_events(r, tcp::EventType::kKeepaliveProbe));
  // The server answers every probe.
  EXPECT_EQ(count_label(ps, Label::kKeepaliveAck), count_label(ps, Label::kKeepalive));
  EXPECT_EQ(count_label(ps, Label::kDupAck), 0);
}

TEST(ClassifySim, ZeroWindowPersist) {
  for (const char* profile : {"rfc", "linux"}) {
    sim::ScenarioResult r;
    std::vector<CapturedPacket> ps;
    check_against_events({"zero-window-persist", profile, 1, {{"limit", "600s"}}}, nullptr, &r,
                         &ps);
    EXPECT_GT(count_events(r, tcp::EventType::kZeroWindowProbe), 0) << profile;
    EXPECT_EQ(count_label(ps, Label::kZeroWindowProbe),
              count_events(r, tcp::EventType::kZeroWindowProbe))
        << profile;
    EXPECT_EQ(count_label(ps, Label::kKeepalive), 0) << profile;
    EXPECT_GT(count_label(ps, Label::kZeroWindow), 0) << profile;
  }
}

TEST(ClassifySim, RtoBlackhole) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"rto-blackhole"}, nullptr, &r, &ps);
  EXPECT_GT(count_label(ps, Label::kRetransmission), 0);
}

TEST(ClassifySim, SynBlackhole) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"syn-blackhole"}, nullptr, &r, &ps);
  EXPECT_GT(count_events(r, tcp::EventType::kSynRetransmit), 0);
  EXPECT_EQ(count_label(ps, Label::kSynRetransmission),
            count_events(r, tcp::EventType::kSynRetransmit));
}

TEST(ClassifySim, ClosedPortRst) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"closed-port-rst", "rfc", 1, {{"capture", "server"}}}, nullptr, &r, &ps);
  int refused = 0;
  for (const auto& p : ps)
    if (p.src == r.hosts[1].address && has(p.labels, Label::kRstRefused)) ++refused;
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(count_label(ps, Label::kRstRefused), 1);
}

TEST(ClassifySim, BulkLossy) {
  Agreement fast;
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"bulk-lossy", "rfc", 3, {{"bytes", "300k"}}}, &fast, &r, &ps);
  std::printf(
      "bulk-lossy seed 3: fast_retransmission agrees with the timer on %d of %d "
      "retransmit events\n",
      fast.matched, fast.events);
  EXPECT_GT(fast.events, 0);
  EXPECT_EQ(fast.matched, fast.events);
  EXPECT_GT(count_label(ps, Label::kDupAck), 0);
}

TEST(ClassifySim, HandshakeClose) {
  sim::ScenarioResult r;
  std::vector<CapturedPacket> ps;
  check_against_events({"handshake-close"}, nullptr, &r, &ps);
  EXPECT_EQ(count_label(ps, Label::kRetransmission), 0);
  EXPECT_EQ(count_label(ps, Label::kSyn), 1);
  EXPECT_EQ(count_label(ps, Label::kSynAck), 1);
  EXPECT_EQ(count_label(ps, Label::kFin), 2);
  EXPECT_EQ(count_label(ps, Label::kDupAck), 0);
  EXPECT_EQ(count_label(ps, Label::kKeepalive), 0);
}

}  // namespace
}  // namespace vigil::analyze
