// The linux profile's PSH rule (TcpConfig::PushRule::kLinux) and quick-ACK
// mode (TcpConfig::quickack_segments), against the rfc behaviour. MSS 1000,
// no options (plain_config), sequence numbers relative to kIss / kIrs.
// Expected flags are Linux 6.18's, as packetdrill's core scripts record
// them (docs/conformance.md): slow-start-ack-per-1pkt, limited-transmit-sack,
// prr-ss-30pkt-lost1_4, fr-4pkt-fack-last-byte, blocking-read.
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

uint32_t rel(uint32_t x) { return kIss + x; }

bool psh(const Seg& s) { return (s.flags & fl::kPsh) != 0; }

tcp::TcpConfig push_config(tcp::TcpConfig::PushRule rule, uint32_t iw) {
  tcp::TcpConfig c = plain_config();
  c.initial_window_segments = iw;
  c.push = rule;
  return c;
}

// slow-start-ack-per-1pkt: write(30000) with IW 10 sends 1:10001 with PSH
// on its last segment, though 20000 bytes stay queued; the ACK of 1001
// (cwnd 11000, 9000 in flight) sends 10001:12001, PSH again on the last.
// Linux's two-segment skbs each end in PSH, so segments 2, 4, ... 10 carry
// it; the rfc rule (PSH only on the segment that empties the buffer) sets
// none of them.
TEST(PushRule, LinuxMarksEverySecondSegmentOfAPass) {
  for (const auto rule : {tcp::TcpConfig::PushRule::kLinux, tcp::TcpConfig::PushRule::kLastByte}) {
    const bool lx = rule == tcp::TcpConfig::PushRule::kLinux;
    SCOPED_TRACE(lx ? "push=linux" : "push=last_byte");
    Harness h(push_config(rule, 10));
    h.to_established_active(at_ms(0));
    h.conn().send(at_ms(0), std::vector<uint8_t>(30000));
    const auto out = h.drain(at_ms(0));
    ASSERT_EQ(out.size(), 10u);
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].seq, rel(1 + 1000 * static_cast<uint32_t>(i)));
      EXPECT_EQ(psh(out[i]), lx && i % 2 == 1) << "segment " << i + 1;
    }
    const auto more = h.input(at_ms(100), h.ack(rel(1001)));
    ASSERT_EQ(more.size(), 2u);
    EXPECT_EQ(more[0].seq, rel(10001));
    EXPECT_FALSE(psh(more[0]));
    EXPECT_EQ(more[1].seq, rel(11001));
    EXPECT_EQ(psh(more[1]), lx);
  }
}

// prr-ss-30pkt-lost1_4 ("> . 10001:17001(7000)"): a pass of 7 segments ends
// on an odd one, which goes without PSH (only 2, 4 and 6 carry it).
TEST(PushRule, OddPassEndsWithoutPush) {
  Harness h(push_config(tcp::TcpConfig::PushRule::kLinux, 7));
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(10000));
  const auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 7u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(psh(out[i]), i % 2 == 1) << i + 1;
}

// limited-transmit-sack: the segment sent on each of the first two
// duplicate ACKs (10001:11001, 11001:12001) carries no PSH: each is a
// pass of one.
TEST(PushRule, LimitedTransmitSegmentsGoWithoutPush) {
  Harness h(push_config(tcp::TcpConfig::PushRule::kLinux, 10));
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(15000));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 10u);
  for (uint32_t d = 1; d <= 2; ++d) {
    const auto out = h.input(at_ms(100 + d), h.ack(rel(1)));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, rel(10001 + 1000 * (d - 1)));
    EXPECT_FALSE(psh(out[0])) << "duplicate " << d;
  }
}

// slow_start/slow-start-after-idle (tcp_min_tso_segs = 10, Linux 6.18):
// Linux sends a pass as TSO packets of max(rate term, tcp_min_tso_segs)
// segments, each at most half of cwnd (tcp_cwnd_test), each ending in PSH.
//  - write(26000), IW 10: halfcwnd 5, "> P. 1:5001(5000)", "> P.
//    5001:10001(5000)": PSH on segments 5 and 10 only;
//  - the ACK of 10001 at 100 ms: cwnd 20, halfcwnd 10: "> P.
//    10001:20001(10000)", "> P. 20001:26001(6000)": PSH on the 10th and
//    the 16th (the end of the data);
//  - after 2 s idle (> RTO), tcp_cwnd_restart takes cwnd 36 back to 10:
//    write(20000) sends "> P. 26001:31001(5000)" and 31001:36001 likewise.
// The default floor (2) keeps PSH on every second segment (test above).
TEST(PushRule, LinuxTsoPacketsOfMinTsoSegsCappedAtHalfCwnd) {
  tcp::TcpConfig cfg = push_config(tcp::TcpConfig::PushRule::kLinux, 10);
  cfg.min_tso_segs = 10;
  cfg.idle_restart = tcp::TcpConfig::IdleRestart::kLinux;
  cfg.abc_limit_segments = 0;  // tcp_slow_start: cwnd 20 + 16 = 36
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(26000));
  const auto pushes = [](const std::vector<Seg>& segs) {
    std::vector<size_t> at;
    for (size_t i = 0; i < segs.size(); ++i) {
      if (psh(segs[i])) at.push_back(i + 1);
    }
    return at;
  };
  const auto iw = h.drain(at_ms(0));
  ASSERT_EQ(iw.size(), 10u);
  EXPECT_EQ(pushes(iw), (std::vector<size_t>{5, 10}));
  const auto second = h.input(at_ms(100), h.ack(rel(10001)));
  ASSERT_EQ(second.size(), 16u);
  EXPECT_EQ(second[0].seq, rel(10001));
  EXPECT_EQ(pushes(second), (std::vector<size_t>{10, 16}));
  EXPECT_TRUE(h.input(at_ms(200), h.ack(rel(26001))).empty());
  EXPECT_EQ(h.conn().cwnd(), 36000u);
  h.conn().send(at_ms(2200), std::vector<uint8_t>(20000));
  const auto restart = h.drain(at_ms(2200));
  ASSERT_EQ(restart.size(), 10u);
  EXPECT_EQ(restart[0].seq, rel(26001));
  EXPECT_EQ(pushes(restart), (std::vector<size_t>{5, 10}));
}

// fr-4pkt-fack-last-byte: the resent last segment (3001:4001, the end of
// the queued data) carries PSH as its first transmission did; the rfc
// profile's retransmissions carry none. Three duplicate ACKs of 3001 make
// the fast retransmission of 3001 (RFC 5681 §3.2 step 2).
TEST(PushRule, RetransmissionOfTheLastSegmentKeepsPush) {
  for (const auto rule : {tcp::TcpConfig::PushRule::kLinux, tcp::TcpConfig::PushRule::kLastByte}) {
    const bool lx = rule == tcp::TcpConfig::PushRule::kLinux;
    SCOPED_TRACE(lx ? "push=linux" : "push=last_byte");
    tcp::TcpConfig cfg = push_config(rule, 10);
    cfg.limited_transmit = false;
    Harness h(cfg);
    h.to_established_active(at_ms(0));
    h.conn().send(at_ms(0), std::vector<uint8_t>(4000));
    const auto out = h.drain(at_ms(0));
    ASSERT_EQ(out.size(), 4u);
    EXPECT_TRUE(psh(out[3]));  // empties the buffer: both rules
    h.input(at_ms(100), h.ack(rel(3001)));
    h.input(at_ms(101), h.ack(rel(3001)));
    h.input(at_ms(102), h.ack(rel(3001)));
    const auto rtx = h.input(at_ms(103), h.ack(rel(3001)));
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0].seq, rel(3001));
    EXPECT_EQ(rtx[0].data.size(), 1000u);
    EXPECT_EQ(psh(rtx[0]), lx);
  }
}

// packetdrill nagle/sendmsg_msg_more (Linux 6.18), TCP_NODELAY on, MSS
// 1000, IW 10, RTO 210 ms (SYN at 0, SYN-ACK at 10: SRTT 10 ms + rto.min
// 200 ms, tcp_set_rto). MSG_MORE corks only the tail of its own write
// (tcp_push with TCP_NAGLE_CORK) and marks no PSH (tcp_mark_push only
// without it):
//  - 40 bytes with MSG_MORE and nothing in flight wait for the probe timer
//    one RTO later (tcp_check_probe_timer), which sends them with PSH
//    (tcp_write_wakeup): "+.21~+.215 > P. 1:41(40)";
//  - writes of 100, 160, 495 with MSG_MORE, then 5 without: "> P. 41:801";
//  - 3100 with MSG_MORE: the three full segments go, no PSH; 50 more wait;
//    the ACK of 2801 pushes with the socket's setting (Nagle off) "> .
//    3801:3951(150)", still no PSH;
//  - 1, 2, 3, 4 bytes with MSG_MORE wait for the ACK of 3951: "> .
//    3951:3961(10)";
//  - 20 with MSG_MORE, then a plain write of 20 50 ms later: "> P.
//    3961:4001(40)".
// Then sockopt_cork_nodelay's end: two MSG_MORE writes of 40 pushed by
// setting TCP_NODELAY (TCP_NAGLE_PUSH) leave without PSH: "> . 161:241(80)".
TEST(MsgMore, CorksTheWriteTailUntilAnAckAndMarksNoPush) {
  tcp::TcpConfig cfg = plain_config();
  cfg.initial_window_segments = 10;
  cfg.nodelay = true;
  cfg.rto_min = Duration::millis(200);
  cfg.linux_rto_formula = true;
  Harness h(cfg);
  h.to_syn_sent(at_ms(0));
  h.input(at_ms(10), h.syn_ack());
  ASSERT_EQ(h.conn().rtt().rto(), Duration::millis(210));
  // setsockopt(TCP_NODELAY, 1) with nothing queued: its push
  // (TCP_NAGLE_PUSH) must not undo the next write's MSG_MORE.
  h.conn().set_socket_options(at_ms(10), cfg, /*push=*/true);
  auto send = [&](int64_t ms, size_t n, bool more) {
    h.conn().send(at_ms(ms), std::vector<uint8_t>(n), more);
    return h.drain(at_ms(ms));
  };
  EXPECT_TRUE(send(10, 40, true).empty());
  EXPECT_TRUE(h.fire(at_ms(219)).empty());
  auto out = h.fire(at_ms(220));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1));
  EXPECT_EQ(out[0].data.size(), 40u);
  EXPECT_TRUE(psh(out[0]));
  EXPECT_TRUE(h.input(at_ms(230), h.ack(rel(41))).empty());

  EXPECT_TRUE(send(230, 100, true).empty());
  EXPECT_TRUE(send(235, 160, true).empty());
  EXPECT_TRUE(send(245, 495, true).empty());
  out = send(253, 5, false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(41));
  EXPECT_EQ(out[0].data.size(), 760u);
  EXPECT_TRUE(psh(out[0]));
  EXPECT_TRUE(h.input(at_ms(273), h.ack(rel(801))).empty());

  out = send(373, 3100, true);
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].seq, rel(801 + 1000 * static_cast<uint32_t>(i)));
    EXPECT_FALSE(psh(out[i])) << i;
  }
  EXPECT_TRUE(send(376, 50, true).empty());
  out = h.input(at_ms(386), h.ack(rel(2801)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(3801));
  EXPECT_EQ(out[0].data.size(), 150u);
  EXPECT_FALSE(psh(out[0]));

  for (size_t n = 1; n <= 4; ++n) {
    EXPECT_TRUE(send(386 + static_cast<int64_t>(n), n, true).empty()) << n;
  }
  out = h.input(at_ms(416), h.ack(rel(3951)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(3951));
  EXPECT_EQ(out[0].data.size(), 10u);
  EXPECT_FALSE(psh(out[0]));
  EXPECT_TRUE(h.input(at_ms(436), h.ack(rel(3961))).empty());

  EXPECT_TRUE(send(436, 20, true).empty());
  out = send(486, 20, false);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(3961));
  EXPECT_EQ(out[0].data.size(), 40u);
  EXPECT_TRUE(psh(out[0]));
  EXPECT_TRUE(h.input(at_ms(496), h.ack(rel(4001))).empty());

  // sockopt_cork_nodelay: TCP_CORK on, then two MSG_MORE writes, pushed.
  tcp::TcpConfig corked = cfg;
  corked.cork = true;
  h.conn().set_socket_options(at_ms(496), corked);
  EXPECT_TRUE(send(496, 40, true).empty());
  EXPECT_TRUE(send(546, 40, true).empty());
  h.conn().set_socket_options(at_ms(556), corked, /*push=*/true);
  out = h.drain(at_ms(556));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(4001));
  EXPECT_EQ(out[0].data.size(), 80u);
  EXPECT_FALSE(psh(out[0]));
}

// Quick ACKs (Linux tcp_event_data_recv / tcp_incr_quickack): the first
// data of a connection starts quick-ACK mode for min(16, max(2, rcv_wnd /
// (2 * rcv_mss))) ACKs: window 8000, rcv_mss 1000 -> 4. Segments of 1000
// bytes at 100, 110, 120, 130 are each ACKed at once; the one at 140 is
// the first left to the delayed-ACK timer (200 ms: ACK at 340). Off (rfc),
// the first single segment waits for the timer too (ACK at 300).
TEST(QuickAck, FirstSegmentsAckedAtOnce) {
  tcp::TcpConfig cfg = plain_config();
  cfg.quickack_segments = 16;
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  for (uint32_t i = 0; i < 4; ++i) {
    const int64_t t = 100 + 10 * i;
    const auto out = h.input(at_ms(t), h.data(h.irs() + 1 + 1000 * i, rel(1), 1000));
    ASSERT_EQ(out.size(), 1u) << "segment " << i + 1;
    EXPECT_EQ(out[0].flags, fl::kAck);
    EXPECT_EQ(out[0].ack, h.irs() + 1 + 1000 * (i + 1));
  }
  EXPECT_TRUE(h.input(at_ms(140), h.data(h.irs() + 4001, rel(1), 1000)).empty());
  EXPECT_TRUE(h.fire(at_ms(339)).empty());
  const auto late = h.fire(at_ms(340));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].ack, h.irs() + 5001);

  Harness off(plain_config());
  off.to_established_active(at_ms(0));
  EXPECT_TRUE(off.input(at_ms(100), off.data(off.irs() + 1, rel(1), 1000)).empty());
  EXPECT_TRUE(off.fire(at_ms(299)).empty());
  EXPECT_EQ(off.fire(at_ms(300)).size(), 1u);
}

// After more than an RTO without data (RTO 1 s here: rto.min, the
// handshake's sample being 0), data restarts quick-ACK mode: the segment
// at 2000 ms is ACKed at once though the mode had run out.
TEST(QuickAck, RestartsAfterAnRtoWithoutData) {
  tcp::TcpConfig cfg = plain_config();
  cfg.quickack_segments = 2;  // max(2, 8000 / 2000) = 4, capped at 2
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  EXPECT_EQ(h.input(at_ms(100), h.data(h.irs() + 1, rel(1), 1000)).size(), 1u);
  EXPECT_EQ(h.input(at_ms(110), h.data(h.irs() + 1001, rel(1), 1000)).size(), 1u);
  EXPECT_TRUE(h.input(at_ms(120), h.data(h.irs() + 2001, rel(1), 1000)).empty());
  EXPECT_EQ(h.fire(at_ms(320)).size(), 1u);  // the delayed ACK
  const auto out = h.input(at_ms(2000), h.data(h.irs() + 3001, rel(1), 1000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, h.irs() + 4001);
}

// shutdown-rdwr-write-queue-close: the FIN went in a segment of its own
// after the data, so that bare FIN is the highest segment sent and the
// loss probe sends it alone (RFC 8985 §7.3; Linux resends the FIN skb),
// not the last 1000 bytes again with it. SACK and TLP on, SRTT 100 ms (SYN
// at 0, SYN-ACK at 100): PTO = 2 * 100 ms after the FIN at 100 = 300 ms.
TEST(TailLossProbe, BareFinIsProbedAlone) {
  tcp::TcpConfig cfg = plain_config();
  cfg.sack = true;
  cfg.tlp = true;
  Harness h(cfg);
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.sack_permitted = true;
  h.input(at_ms(100), sa);
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  h.conn().send(at_ms(100), std::vector<uint8_t>(3000));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 3u);
  h.conn().close(at_ms(100));
  const auto fin = h.drain(at_ms(100));
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0].seq, rel(3001));
  EXPECT_TRUE(fin[0].data.empty());
  EXPECT_TRUE(h.fire(at_ms(299)).empty());
  const auto probe = h.fire(at_ms(300));
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].seq, rel(3001));
  EXPECT_TRUE(probe[0].data.empty());
  EXPECT_EQ(probe[0].flags, fl::kFin | fl::kAck);
}

// An ACK of data never sent (ack 9999 with nothing sent): RFC 9293
// §3.10.7.4 and Linux 6.18 (tcp_ack -> tcp_send_challenge_ack) answer it
// with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; older kernels dropped it with
// no reply (packetdrill's ts_recent/invalid_ack). Either way it is dropped.
TEST(AckOfUnsentData, AnsweredOrDroppedSilentlyByTheKnob) {
  for (const bool reply : {true, false}) {
    SCOPED_TRACE(reply ? "ack_unsent_reply=true" : "ack_unsent_reply=false");
    tcp::TcpConfig cfg = plain_config();
    cfg.ack_unsent_reply = reply;
    Harness h(cfg);
    h.to_established_active(at_ms(0));
    const auto out = h.input(at_ms(100), h.ack(rel(9999)));
    ASSERT_EQ(out.size(), reply ? 1u : 0u);
    if (reply) {
      EXPECT_EQ(out[0].flags, fl::kAck);
      EXPECT_EQ(out[0].seq, rel(1));
      EXPECT_EQ(out[0].ack, h.irs() + 1);
    }
    EXPECT_EQ(h.conn().stats().segments_dropped, 1u);
  }
}

}  // namespace
}  // namespace vigil::testing
