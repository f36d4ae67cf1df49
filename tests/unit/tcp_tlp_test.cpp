// RFC 8985 §7 tail-loss probe, scripted. MSS 1000, no timestamps, SACK
// negotiated; the handshake's RTT is 100 ms (SYN at 0, SYN-ACK at 100), so
// SRTT = 100 ms and RTTVAR = 50 ms (RFC 6298 §2.2) and, with rto.min 1 s,
// RTO = max(1 s, 100 + 4·50 ms) = 1 s. Sequence numbers relative to kIss.
#include <numeric>

#include "tcp/tlp.hpp"
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

using tcp::EventType;
using tcp::RetransmitTimer;
using tcp::TimerKind;

uint32_t rel(uint32_t x) { return kIss + x; }

std::vector<uint8_t> bytes(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t{0});
  return v;
}

tcp::TcpConfig tlp_config() {
  tcp::TcpConfig cfg = plain_config();
  cfg.sack = true;
  cfg.tlp = true;
  return cfg;  // initial window 3 segments, rto.min 1 s (rfc)
}

void establish(Harness& h) {
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.sack_permitted = true;
  h.input(at_ms(100), sa);
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  ASSERT_EQ(h.conn().rtt().srtt(), Duration::millis(100));
  ASSERT_EQ(h.conn().rtt().rto(), Duration::seconds(1));
}

size_t tlp_events(Harness& h) {
  size_t n = 0;
  for (const auto& e : h.rec().events) {
    n += e.type == EventType::kRetransmit && e.timer == RetransmitTimer::kTlp ? 1 : 0;
  }
  return n;
}

// packetdrill sack-shift-sacked-7-3-4-8-9-fack (Linux 6.18): ten segments
// at 100 ms arm the probe for 100 + 2 x SRTT = 300 ms. At 200 ms the peer
// SACKs only 7001:8001; RACK (RFC 8985 §6.3) must wait out reo_wnd =
// min_RTT / 4 = 25 ms for 1:1001 (sent with it, RACK.rtt 100 ms): its
// reordering timer, due at 200 + (100 + 25 - 100) = 225 ms, takes the
// probe's slot, as Linux's ICSK_TIME_REO_TIMEOUT does ("+.027 > .
// 1:1001(1000)", with 2 ms of timer slack). Without that the probe at 300
// ms resent 9001:10001 first.
TEST(TailLossProbe, ReorderingTimerTakesTheProbesSlot) {
  tcp::TcpConfig cfg = tlp_config();
  cfg.initial_window_segments = 10;
  cfg.loss_detection = tcp::TcpConfig::LossDetection::kRack;
  Harness h(cfg);
  establish(h);
  h.conn().send(at_ms(100), bytes(10000));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 10u);
  Seg sack = h.ack(rel(1));
  sack.opt.sack_count = 1;
  sack.opt.sack[0] = {rel(7001), rel(8001)};
  EXPECT_TRUE(h.input(at_ms(200), sack).empty());
  EXPECT_TRUE(h.fire(at_ms(224)).empty());
  const auto out = h.fire(at_ms(225));
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].seq, rel(1));
  EXPECT_EQ(out[0].data.size(), 1000u);
  EXPECT_TRUE(h.conn().in_recovery());
  EXPECT_EQ(tlp_events(h), 0u);
}

TEST(TailLossProbe, PtoArithmetic) {
  using P = tcp::TailLossProbe;
  // §7.2: 2·SRTT; + WCDelAckT (200 ms) for one segment; 1 s without SRTT;
  // never past the RTO.
  EXPECT_EQ(P::pto(true, Duration::millis(100), false, Duration::seconds(1)),
            Duration::millis(200));
  EXPECT_EQ(P::pto(true, Duration::millis(100), true, Duration::seconds(1)), Duration::millis(400));
  EXPECT_EQ(P::pto(false, Duration::zero(), true, Duration::seconds(3)), Duration::seconds(1));
  EXPECT_EQ(P::pto(true, Duration::millis(100), true, Duration::millis(300)),
            Duration::millis(300));
}

TEST(TailLossProbe, LoneSegmentIsProbedAfterTwoSrttPlusDelayedAckThenRtoFromTheProbe) {
  Harness h(tlp_config());
  establish(h);
  h.conn().send(at_ms(100), bytes(100));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 1u);
  // One segment in flight: PTO = 2·100 + 200 = 400 ms < RTO (1 s), armed in
  // the RTO's place.
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kLossProbe), at_ms(500));
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kRetransmit).is_never());
  // §7.3: no new data, so the last segment again; the RTO re-armed from now.
  auto out = h.fire(at_ms(500));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1));
  EXPECT_EQ(out[0].data.size(), 100u);
  EXPECT_EQ(tlp_events(h), 1u);
  EXPECT_EQ(h.conn().stats().tlp_probes, 1u);
  EXPECT_EQ(h.conn().stats().timeouts, 0u);
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kRetransmit), at_ms(1500));
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kLossProbe).is_never());
  EXPECT_EQ(h.conn().state_digest().value("tlp_end_seq"), rel(101));
  // The ACK covers TLP.end_seq without a D-SACK: the probe repaired a loss
  // (§7.4.2), so the window is cut as fast recovery would: ssthresh =
  // max(FlightSize / 2, 2·SMSS) = max(50, 2000) = 2000 = cwnd; the ACK's
  // 100 bytes then count in congestion avoidance (100 < cwnd: no step).
  h.input(at_ms(600), h.ack(rel(101)));
  EXPECT_EQ(h.conn().ssthresh(), 2000u);
  EXPECT_EQ(h.conn().cwnd(), 2000u);
  EXPECT_EQ(h.conn().state_digest().value("tlp_end_seq"), -1);
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kRetransmit).is_never());  // nothing in flight
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kLossProbe).is_never());
}

TEST(TailLossProbe, DsackOfTheProbeMeansNothingWasLost) {
  Harness h(tlp_config());
  establish(h);
  h.conn().send(at_ms(100), bytes(100));
  h.drain(at_ms(100));
  ASSERT_EQ(h.fire(at_ms(500)).size(), 1u);
  // The original arrived (only its ACK was late): the peer reports the
  // probe as a duplicate, RFC 2883 D-SACK [1, 101) below the ACK.
  Seg a = h.ack(rel(101));
  a.opt.sack[a.opt.sack_count++] = {rel(1), rel(101)};
  h.input(at_ms(600), a);
  // No reduction: slow start grows cwnd by the 100 bytes (RFC 3465).
  EXPECT_EQ(h.conn().cwnd(), 3100u);
  EXPECT_EQ(h.conn().state_digest().value("tlp_end_seq"), -1);
}

TEST(TailLossProbe, ProbeSendsNewDataWhenTheReceiveWindowTakesIt) {
  Harness h(tlp_config());
  establish(h);
  // 5000 bytes queued, cwnd 3000: three segments go, 2000 bytes wait.
  h.conn().send(at_ms(100), bytes(5000));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 3u);
  // Several segments in flight: PTO = 2·SRTT = 200 ms.
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kLossProbe), at_ms(300));
  // §7.3: a new segment, whatever cwnd says.
  auto out = h.fire(at_ms(300));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(3001));
  EXPECT_EQ(out[0].data.size(), 1000u);
  EXPECT_EQ(tlp_events(h), 0u);  // not a retransmission
  EXPECT_EQ(h.conn().stats().tlp_probes, 1u);
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 0u);
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kRetransmit), at_ms(1300));
  // §7.4.1: new data delivered, no reduction; slow start: 3000 + min(4000,
  // 2·1000) = 5000.
  h.input(at_ms(400), h.ack(rel(4001)));
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  EXPECT_EQ(h.conn().state_digest().value("tlp_end_seq"), -1);
}

TEST(TailLossProbe, OneProbePerEpisodeThenTheRtoBacksOff) {
  Harness h(tlp_config());
  establish(h);
  h.conn().send(at_ms(100), bytes(100));
  h.drain(at_ms(100));
  ASSERT_EQ(h.fire(at_ms(500)).size(), 1u);  // the probe
  // Nothing answers: the RTO fires one RTO after the probe, doubles, and
  // no second probe is scheduled (RTO recovery, §7.2).
  auto out = h.fire(at_ms(1500));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(h.conn().stats().timeouts, 1u);
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kRetransmit), at_ms(3500));
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kLossProbe).is_never());
  EXPECT_EQ(h.conn().stats().tlp_probes, 1u);
  EXPECT_EQ(h.conn().state_digest().value("tlp_end_seq"), -1);
}

TEST(TailLossProbe, PtoNeverLaterThanTheRto) {
  tcp::TcpConfig cfg = tlp_config();
  cfg.rto_min = Duration::millis(200);  // RTO = 100 + 4·50 = 300 ms
  Harness h(cfg);
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.sack_permitted = true;
  h.input(at_ms(100), sa);
  ASSERT_EQ(h.conn().rtt().rto(), Duration::millis(300));
  h.conn().send(at_ms(100), bytes(100));
  h.drain(at_ms(100));
  // 2·100 + 200 = 400 ms, capped at the RTO's expiry 300 ms away.
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kLossProbe), at_ms(400));
}

TEST(TailLossProbe, OffOrWithoutSackTheRtoRuns) {
  tcp::TcpConfig off = tlp_config();
  off.tlp = false;  // the rfc profile's default
  Harness h(off);
  establish(h);
  h.conn().send(at_ms(100), bytes(100));
  h.drain(at_ms(100));
  EXPECT_TRUE(h.conn().timer_deadline(TimerKind::kLossProbe).is_never());
  EXPECT_EQ(h.conn().timer_deadline(TimerKind::kRetransmit), at_ms(1100));

  // §7.2 condition 1: the connection supports SACK.
  Harness n(tlp_config());
  n.to_syn_sent(at_ms(0));
  n.input(at_ms(100), n.syn_ack());
  ASSERT_FALSE(n.conn().sack_enabled());
  n.conn().send(at_ms(100), bytes(100));
  n.drain(at_ms(100));
  EXPECT_TRUE(n.conn().timer_deadline(TimerKind::kLossProbe).is_never());
  EXPECT_EQ(n.conn().timer_deadline(TimerKind::kRetransmit), at_ms(1100));
}

}  // namespace
}  // namespace vigil::testing
