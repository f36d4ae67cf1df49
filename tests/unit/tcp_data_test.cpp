// Data transfer rules of the TCP core, each checked against the RFC text
// with explicit timestamps: RFC 6298 timers, RFC 1122 delayed ACK and
// Nagle, RFC 5681 fast retransmit, RFC 7323 scaling and PAWS, persist,
// sequence wrap-around.
#include <cerrno>
#include <numeric>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t start = 0) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(Rto, InitialOneSecondDoublesCapsAtSixtyAndAbortsAfterRetries) {
  Harness h;
  h.to_established_active(at_ms(0));
  const auto payload = bytes(100);
  h.conn().send(at_ms(0), payload);
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 100u);

  // RFC 6298: the handshake sample is ~0, so RTO = max(1 s, SRTT + 4 RTTVAR)
  // = 1 s (§2.4); each expiry doubles it (§5.5), capped at 60 s (§2.5).
  // Timeout k fires at sum_{i<k} min(2^i, 60) s.
  int64_t t = 0;
  for (uint32_t k = 1; k <= 15; ++k) {
    t += std::min<int64_t>(int64_t{1} << (k - 1), 60) * 1000;
    EXPECT_EQ(h.conn().next_deadline(), at_ms(t)) << "timeout " << k;
    EXPECT_TRUE(h.fire(at_ms(t) - Duration::nanos(1)).empty());
    out = h.fire(at_ms(t));
    ASSERT_EQ(out.size(), 1u) << "timeout " << k;
    EXPECT_EQ(out[0].seq, kIss + 1);
    EXPECT_EQ(out[0].data, payload);
  }
  EXPECT_EQ(t, 603000);  // 1+2+4+8+16+32 + 9*60
  // The 16th expiry exceeds retries.data = 15: ETIMEDOUT, no RST.
  t += 60000;
  out = h.fire(at_ms(t));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
  EXPECT_EQ(h.conn().error().time, at_ms(663000));
  EXPECT_EQ(h.conn().error().detail, "retransmission: 15 retransmissions over 663.0 s");
  EXPECT_EQ(h.rec().count(tcp::EventType::kRetransmit), 15u);
}

TEST(Rto, SynRetransmissionScheduleAndLimit) {
  Harness h;
  h.to_syn_sent(at_ms(0));
  // RFC 1122 §4.2.3.5: R2 for a SYN MUST be at least 3 minutes. The rfc
  // profile's retries.syn = 7: SYN again at 1, 3, 7, 15, 31, 63 s, then at
  // 123 s (RTO capped at 60 s, RFC 6298 §2.5); the eighth expiry, at 183 s,
  // gives up.
  for (int64_t t : {1000, 3000, 7000, 15000, 31000, 63000, 123000}) {
    EXPECT_EQ(h.conn().next_deadline(), at_ms(t));
    auto out = h.fire(at_ms(t));
    ASSERT_EQ(out.size(), 1u) << t;
    EXPECT_EQ(out[0].flags, fl::kSyn);
    EXPECT_EQ(out[0].seq, kIss);
  }
  EXPECT_EQ(h.conn().next_deadline(), at_ms(183000));
  EXPECT_TRUE(h.fire(at_ms(183000)).empty());
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
  EXPECT_EQ(h.conn().error().detail, "retransmission: 7 SYN retransmissions over 183.0 s");
  EXPECT_EQ(h.rec().count(tcp::EventType::kSynRetransmit), 7u);
}

TEST(Rto, SynTimeoutMakesDataStartAtThreeSeconds) {
  Harness h;
  h.to_syn_sent(at_ms(0));
  h.fire(at_ms(1000));  // SYN retransmitted: no RTT sample (Karn)
  h.input(at_ms(1050), h.syn_ack());
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  // RFC 6298 §5.7: RTO re-initialised to 3 s when data transmission begins.
  EXPECT_EQ(h.conn().rtt().rto(), Duration::seconds(3));
  h.conn().send(at_ms(2000), bytes(10));
  h.drain(at_ms(2000));
  EXPECT_EQ(h.conn().next_deadline(), at_ms(5000));
}

TEST(Rto, KarnKeepsBackedOffRtoUntilAValidSample) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), bytes(10));
  h.drain(at_ms(0));
  h.fire(at_ms(1000));                     // retransmission, RTO now 2 s
  h.input(at_ms(1100), h.ack(kIss + 11));  // ambiguous ACK: no sample
  EXPECT_EQ(h.conn().rtt().rto(), Duration::seconds(2));
  h.conn().send(at_ms(1200), bytes(10));
  h.drain(at_ms(1200));
  EXPECT_EQ(h.conn().next_deadline(), at_ms(3200));
  // A fresh segment's ACK is a valid sample R = 300 ms. With the handshake's
  // SRTT = RTTVAR = 0 (§2.3): RTTVAR = 3/4*0 + 1/4*300 = 75 ms, SRTT =
  // 7/8*0 + 1/8*300 = 37.5 ms, RTO = max(1 s, 37.5 + 4*75 ms) = 1 s, which
  // also ends the back-off.
  h.input(at_ms(1500), h.ack(kIss + 21));
  EXPECT_EQ(h.conn().rtt().srtt(), Duration::micros(37500));
  EXPECT_EQ(h.conn().rtt().rttvar(), Duration::millis(75));
  EXPECT_EQ(h.conn().rtt().rto(), Duration::seconds(1));
}

TEST(DelayedAck, OneSegmentAckedAfter200msTwoAtOnce) {
  Harness h;
  h.to_established_active(at_ms(0));
  auto out = h.input(at_ms(100), h.data(kIrs + 1, kIss + 1, 1000));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(h.conn().next_deadline(), at_ms(300));  // RFC 1122 §4.2.3.2, 200 ms here
  EXPECT_TRUE(h.fire(at_ms(299)).empty());
  out = h.fire(at_ms(300));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 1001);

  // Two full-sized segments: ACK at once (RFC 5681 §4.2).
  EXPECT_TRUE(h.input(at_ms(400), h.data(kIrs + 1001, kIss + 1, 1000)).empty());
  out = h.input(at_ms(401), h.data(kIrs + 2001, kIss + 1, 1000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 3001);
}

TEST(DelayedAck, OutOfOrderSegmentAckedImmediatelyAndGapFillToo) {
  Harness h;
  h.to_established_active(at_ms(0));
  auto out = h.input(at_ms(10), h.data(kIrs + 1001, kIss + 1, 1000, 2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 1);  // duplicate ACK points at the gap
  out = h.input(at_ms(20), h.data(kIrs + 1, kIss + 1, 1000, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 2001);
  std::vector<uint8_t> buf(4000);
  ASSERT_EQ(h.conn().recv(at_ms(30), buf), 2000u);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[999], 1);
  EXPECT_EQ(buf[1000], 2);
  EXPECT_EQ(buf[1999], 2);
}

TEST(Nagle, SmallSegmentWaitsForAckUnlessNoDelay) {
  for (bool nodelay : {false, true}) {
    tcp::TcpConfig cfg = plain_config();
    cfg.nodelay = nodelay;
    Harness h(cfg);
    h.to_established_active(at_ms(0));
    h.conn().send(at_ms(0), bytes(10));
    EXPECT_EQ(h.drain(at_ms(0)).size(), 1u);  // nothing outstanding: goes
    h.conn().send(at_ms(1), bytes(10));
    auto out = h.drain(at_ms(1));
    // RFC 1122 §4.2.3.4: with Nagle, a short segment waits while data is
    // unacknowledged.
    EXPECT_EQ(out.size(), nodelay ? 1u : 0u) << "nodelay=" << nodelay;
    if (!nodelay) {
      out = h.input(at_ms(50), h.ack(kIss + 11));
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].seq, kIss + 11);
      EXPECT_EQ(out[0].data.size(), 10u);
    }
  }
}

TEST(FastRetransmit, ThirdDuplicateAckResendsAndSetsSsthresh) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), bytes(5000));
  auto out = h.drain(at_ms(0));
  // RFC 5681 §3.1 / RFC 3390: IW = 3 segments for MSS 1000.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].seq, kIss + 2001);
  // Duplicates 1 and 2: limited transmit (RFC 3042, on in rfc) sends one
  // new segment each, 3001 and 4001, cwnd unchanged.
  for (int i = 0; i < 2; ++i) {
    out = h.input(at_ms(10 + i), h.ack(kIss + 1));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, kIss + 3001 + 1000 * static_cast<uint32_t>(i));
    EXPECT_EQ(h.conn().cwnd(), 3000u);
  }
  out = h.input(at_ms(12), h.ack(kIss + 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 1000u);
  // ssthresh = max(FlightSize/2, 2*SMSS), FlightSize without the two
  // limited-transmit segments (RFC 5681 §3.2 step 2): max(1500, 2000);
  // cwnd = ssthresh + 3*SMSS.
  EXPECT_EQ(h.conn().ssthresh(), 2000u);
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  ASSERT_FALSE(h.rec().events.empty());
  bool saw_fast = false;
  for (const auto& e : h.rec().events) {
    saw_fast |= e.type == tcp::EventType::kRetransmit && e.timer == tcp::RetransmitTimer::kFast;
  }
  EXPECT_TRUE(saw_fast);
  // Full ACK ends recovery and deflates cwnd (RFC 6582 §3.2 step 3;
  // RFC 2525 §2.8): min(ssthresh, max(FlightSize, SMSS) + SMSS).
  h.input(at_ms(40), h.ack(kIss + 5001));
  EXPECT_LE(h.conn().cwnd(), 2000u);
}

TEST(Window, ZeroWindowAnsweredAndReopenAnnounced) {
  Harness h;  // receive buffer 8000 bytes
  h.to_established_active(at_ms(0));
  for (int i = 0; i < 8; ++i) {
    h.input(at_ms(10 + i), h.data(kIrs + 1 + 1000 * i, kIss + 1, 1000));
  }
  auto out = h.fire(at_ms(1000));
  EXPECT_EQ(h.conn().rcv_wnd(), 0u);
  // A one-byte probe against the closed window is not accepted but answered
  // with an ACK showing the window (RFC 9293 §3.8.6.1).
  out = h.input(at_ms(2000), h.data(kIrs + 8001, kIss + 1, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 8001);
  EXPECT_EQ(out[0].window, 0);
  std::vector<uint8_t> buf(8000);
  EXPECT_EQ(h.conn().recv(at_ms(3000), buf), 8000u);
  out = h.drain(at_ms(3000));
  ASSERT_EQ(out.size(), 1u);  // window update
  EXPECT_EQ(out[0].window, 8000);
}

TEST(Window, ProbeByteTakenWhenThereIsRoom) {
  Harness h;
  h.to_established_active(at_ms(0));
  for (int i = 0; i < 8; ++i) h.input(at_ms(10), h.data(kIrs + 1 + 1000 * i, kIss + 1, 1000));
  std::vector<uint8_t> buf(100);
  h.conn().recv(at_ms(20), buf);  // room for 100, too little to announce (SWS)
  auto out = h.input(at_ms(30), h.data(kIrs + 8001, kIss + 1, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 8002);  // the probe byte was accepted
}

TEST(Persist, ZeroWindowProbesBackOff) {
  Harness h;
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 0;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), bytes(500));
  EXPECT_TRUE(h.drain(at_ms(0)).empty());
  // First probe one RTO (1 s) after, then doubling (RFC 1122 §4.2.2.17).
  auto out = h.fire(at_ms(1000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 1u);
  h.input(at_ms(1010), [&] {
    Seg a = h.ack(kIss + 1);
    a.window = 0;
    return a;
  }());
  EXPECT_EQ(h.conn().next_deadline(), at_ms(3000));
  out = h.fire(at_ms(3000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(h.conn().next_deadline(), at_ms(7000));
  // The window opens: data flows from SND.UNA.
  Seg open = h.ack(kIss + 1);
  open.window = 4000;
  out = h.input(at_ms(3010), open);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].data.size(), 500u);
  EXPECT_EQ(h.conn().state(), State::kEstablished);
}

TEST(SequenceWrap, TransferAcrossTwoToThe32) {
  Harness h(plain_config(), 0xffffff00u, 0xfffffff0u);
  h.conn().open_active(at_ms(0));
  h.drain(at_ms(0));
  Seg sa;
  sa.seq = 0xfffffff0u;
  sa.ack = 0xffffff01u;
  sa.flags = fl::kSyn | fl::kAck;
  sa.opt.has_mss = true;  // without it the MSS would be 536 (RFC 9293 §3.7.1)
  sa.opt.mss = 1000;
  h.input(at_ms(1), sa);
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  // Their data crosses the wrap: sequence 0xfffffff1 .. 0x000003d8.
  auto out = h.input(at_ms(2), h.data(0xfffffff1u, 0xffffff01u, 1000, 7));
  out = h.input(at_ms(3), h.data(0xfffffff1u + 1000, 0xffffff01u, 1000, 8));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0xfffffff1u + 2000);  // = 0x000007c1
  std::vector<uint8_t> buf(3000);
  EXPECT_EQ(h.conn().recv(at_ms(4), buf), 2000u);
  // Ours crosses it too.
  h.conn().send(at_ms(5), bytes(1000));
  out = h.drain(at_ms(5));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 0xffffff01u);
  h.input(at_ms(6), h.ack(0xffffff01u + 1000, 2001));
  EXPECT_EQ(h.conn().snd_una(), 0x000002e9u);
  EXPECT_FALSE(h.conn().timer_deadline(tcp::TimerKind::kRetransmit) < Instant::never());
}

TEST(Options, WindowScaleAndMssNegotiated) {
  tcp::TcpConfig cfg = plain_config();
  cfg.window_scaling = true;
  cfg.recv_buffer = 256 * 1024;
  cfg.mss = 1460;
  Harness h(cfg);
  h.conn().open_active(at_ms(0));
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  // RFC 7323 §2.3: smallest shift with 262144 >> shift <= 65535 is 3; the
  // SYN's own window is never scaled (§2.2).
  EXPECT_TRUE(out[0].opt.has_window_scale);
  EXPECT_EQ(out[0].opt.window_scale, 3);
  EXPECT_EQ(out[0].window, 65535);
  EXPECT_EQ(out[0].opt.mss, 1460);
  Seg sa = h.syn_ack();
  sa.opt.has_window_scale = true;
  sa.opt.window_scale = 2;
  sa.opt.mss = 1200;
  h.input(at_ms(1), sa);
  EXPECT_EQ(h.conn().send_mss(), 1200u);  // min(ours, theirs), RFC 9293 §3.7.1
  Seg a = h.ack(kIss + 1);
  a.window = 100;
  h.input(at_ms(2), a);
  EXPECT_EQ(h.conn().snd_wnd(), 400u);  // 100 << 2
  h.conn().send(at_ms(3), bytes(10));
  out = h.drain(at_ms(3));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].window, 262144 >> 3);
}

TEST(Options, NoWindowScaleWithoutPeerOption) {
  tcp::TcpConfig cfg = plain_config();
  cfg.window_scaling = true;
  cfg.recv_buffer = 256 * 1024;
  Harness h(cfg);
  h.to_established_active(at_ms(0));  // SYN-ACK without the option
  h.conn().send(at_ms(1), bytes(10));
  auto out = h.drain(at_ms(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].window, 65535);  // unscaled, capped
}

TEST(Options, PawsDropsOldTimestamp) {
  tcp::TcpConfig cfg = plain_config();
  cfg.timestamps = true;
  Harness h(cfg);
  h.conn().open_active(at_ms(0));
  auto out = h.drain(at_ms(0));
  ASSERT_TRUE(out[0].opt.has_timestamps);
  Seg sa = h.syn_ack();
  sa.opt.has_timestamps = true;
  sa.opt.ts_val = 1000;
  sa.opt.ts_ecr = out[0].opt.ts_val;
  h.input(at_ms(1), sa);
  ASSERT_TRUE(h.conn().timestamps_enabled());
  EXPECT_EQ(h.conn().send_mss(), 1000u - 12u);  // RFC 6691: options come out of the MSS
  Seg d = h.data(kIrs + 1, kIss + 1, 100);
  d.opt.has_timestamps = true;
  d.opt.ts_val = 999;  // older than TS.Recent: RFC 7323 §5.3 R1
  out = h.input(at_ms(2), d);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 1);
  EXPECT_EQ(out[0].opt.ts_ecr, 1000u);
  EXPECT_EQ(h.conn().recv_available(), 0u);
  d.opt.ts_val = 1001;
  h.input(at_ms(3), d);
  EXPECT_EQ(h.conn().recv_available(), 100u);
}

TEST(Close, FinWaitsForQueuedData) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), bytes(2500));
  h.conn().close(at_ms(0));
  auto out = h.drain(at_ms(0));
  // IW 3 segments: 1000, 1000, 500+FIN.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[1].flags & fl::kFin);
  EXPECT_TRUE(out[2].flags & fl::kFin);
  EXPECT_EQ(out[2].seq, kIss + 2001);
  EXPECT_EQ(out[2].data.size(), 500u);
  h.input(at_ms(10), h.ack(kIss + 2502));
  EXPECT_EQ(h.conn().state(), State::kFinWait2);
}

tcp::TcpConfig sack_sender_config() {
  tcp::TcpConfig cfg = plain_config();
  cfg.sack = true;
  cfg.initial_window_segments = 10;
  return cfg;
}

// Established with SACK permitted both ways, 5 segments of 1000 in flight.
void start_sack_sender(Harness& h) {
  h.to_established_with_sack(at_ms(0));
  h.conn().send(at_ms(0), bytes(5000));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 5u);
}

// RFC 6675 §2: with SACK, an ACK whose SACK blocks report new data is a
// duplicate even when its window differs (Linux grows the window while it
// holds out-of-order data); RFC 5681 §2 alone would not count it.
TEST(FastRetransmit, SackReportingNewDataCountsAsDuplicateDespiteWindowChange) {
  for (const bool with_sack : {true, false}) {
    Harness h(sack_sender_config());
    start_sack_sender(h);
    std::vector<Seg> out;
    for (int i = 0; i < 3; ++i) {
      Seg a = h.ack(kIss + 1);
      a.window = static_cast<uint16_t>(60000 + 1000 * i);  // growing each time
      if (with_sack) {
        a.opt.sack_count = 1;
        a.opt.sack[0] = {kIss + 1001, kIss + 2001 + 1000 * static_cast<uint32_t>(i)};
      }
      out = h.input(at_ms(10 + i), a);
    }
    const bool resent = !out.empty() && out[0].seq == kIss + 1 && out[0].data.size() == 1000u;
    EXPECT_EQ(resent, with_sack) << "with_sack=" << with_sack;
    EXPECT_EQ(h.conn().stats().fast_retransmits, with_sack ? 1u : 0u);
  }
}

// The same SACK block again with another window reports nothing new: not a
// duplicate (RFC 6675 §2 "new data"), so no fast retransmit.
TEST(FastRetransmit, RepeatedSackBlockWithNewWindowIsNotDuplicate) {
  Harness h(sack_sender_config());
  start_sack_sender(h);
  for (int i = 0; i < 3; ++i) {
    Seg a = h.ack(kIss + 1);
    a.window = static_cast<uint16_t>(60000 + 1000 * i);
    a.opt.sack_count = 1;
    a.opt.sack[0] = {kIss + 1001, kIss + 2001};
    EXPECT_TRUE(h.input(at_ms(10 + i), a).empty());
  }
  EXPECT_EQ(h.conn().stats().fast_retransmits, 0u);
}

}  // namespace
}  // namespace vigil::testing
