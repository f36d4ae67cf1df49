// RFC 8985 §6 RACK loss detection, scripted: segments of 1000 bytes sent
// at given times, ACKs at given times, the detector's state after each.
#include <gtest/gtest.h>

#include "tcp/rack.hpp"

namespace vigil::tcp {
namespace {

Instant ms(int64_t v) { return Instant::zero() + Duration::millis(v); }

wire::TcpOptions sack(std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
  wire::TcpOptions o;
  for (const auto& [l, r] : blocks) o.sack[o.sack_count++] = {l, r};
  return o;
}

// s1 [0,1000), s2 [1000,2000), s3 [2000,3000) at 0 ms; s4 [3000,4000) at 10 ms.
RackDetector four_segments() {
  RackDetector r(16);
  r.on_sent(0, 1000, ms(0));
  r.on_sent(1000, 2000, ms(0));
  r.on_sent(2000, 3000, ms(0));
  r.on_sent(3000, 4000, ms(10));
  return r;
}

TEST(Rack, LostOnlyOnceTheReorderingWindowHasPassed) {
  RackDetector r = four_segments();
  // 100 ms: s2 SACKed. Step 2: RACK.rtt = 100 ms, RACK.xmit_ts = 0 (s2's);
  // min_RTT 100 ms. Step 4: no reordering seen, not in recovery, 1 < 3
  // SACKed: reo_wnd = min(min_RTT / 4, SRTT) = 25 ms. Step 5: s1 was sent
  // no later than s2 (same time, lower sequence): 0 + 100 + 25 - 100 =
  // 25 ms remain; s3 and s4 were sent after s2: not judged.
  r.on_ack(ms(100), 0, 0, sack({{1000, 2000}}), 4000);
  EXPECT_EQ(r.rtt(), Duration::millis(100));
  EXPECT_EQ(r.min_rtt(), Duration::millis(100));
  EXPECT_EQ(r.detect_loss(ms(100), Duration::millis(100), false), Duration::millis(25));
  EXPECT_FALSE(r.any_lost());
  EXPECT_EQ(r.pipe(), 3000u);  // s1, s3, s4
  // The reordering timer at 125 ms: s1 is lost.
  EXPECT_EQ(r.detect_loss(ms(125), Duration::millis(100), false), Duration::zero());
  uint32_t seq = 0, len = 0;
  ASSERT_TRUE(r.next_lost(0, &seq, &len));
  EXPECT_EQ(seq, 0u);
  EXPECT_EQ(len, 1000u);
  EXPECT_EQ(r.pipe(), 2000u);  // RFC 6675 pipe without the lost s1
  // Resent at 125 ms: no longer lost, in flight again.
  r.on_sent(0, 1000, ms(125));
  EXPECT_FALSE(r.any_lost());
  EXPECT_EQ(r.pipe(), 3000u);
  // 225 ms: the resend is ACKed (cumulative 2000). It was resent 100 ms
  // ago (>= min_RTT): a valid sample, and sent after s2: RACK.xmit_ts =
  // 125. In recovery reo_wnd = 0: s3 (0 + 100 - 225 < 0) and s4 (10 + 100
  // - 225 < 0) were sent before it and are overdue: both lost.
  r.on_ack(ms(225), 0, 2000, {}, 4000);
  EXPECT_EQ(r.rtt(), Duration::millis(100));
  EXPECT_FALSE(r.reordering_seen());  // s1 came in late because it was resent
  EXPECT_EQ(r.detect_loss(ms(225), Duration::millis(100), true), Duration::zero());
  EXPECT_EQ(r.lost_segments(), 2u);
  EXPECT_EQ(r.segments(), 2u);
}

// packetdrill sack-shift-sacked-2-6-8-3-9-nofack's TCP_INFO figures
// (Linux 6.18): ten segments at 0; SACKs of s3, s7 and s9 at 100 ms (three
// SACKed: reo_wnd 0, RFC 6675's rule) mark s1, s2, s4-s6 and s8 lost:
// lost_out 6. s1 resent: still 6 (Linux keeps TCPCB_LOST until delivered).
// The SACK of s4 comes from 5 segments below the highest SACKed (9000 -
// 3000 = 6000 bytes, 6 segments): reordering 3 -> 6, lost_out 5. The ACK
// of s1 (cumulative 1000): 4.
TEST(Rack, LostOutAndReorderingAsLinuxCountsThem) {
  RackDetector r(16);
  r.set_mss(1000);
  for (uint32_t i = 0; i < 10; ++i) r.on_sent(i * 1000, (i + 1) * 1000, ms(0));
  r.on_ack(ms(100), 0, 0, sack({{2000, 3000}, {6000, 7000}, {8000, 9000}}), 10000);
  EXPECT_EQ(r.detect_loss(ms(100), Duration::millis(100), false), Duration::zero());
  EXPECT_EQ(r.lost_out(), 6u);
  EXPECT_EQ(r.reordering(), 3u);
  r.on_sent(0, 1000, ms(100));
  EXPECT_EQ(r.lost_out(), 6u);
  EXPECT_EQ(r.lost_segments(), 5u);
  r.on_ack(ms(107), 0, 0, sack({{2000, 4000}, {6000, 7000}, {8000, 9000}}), 10000);
  EXPECT_EQ(r.reordering(), 6u);
  EXPECT_EQ(r.lost_out(), 5u);
  r.on_ack(ms(200), 0, 1000, sack({{2000, 4000}, {6000, 7000}, {8000, 10000}}), 10000);
  EXPECT_EQ(r.lost_out(), 4u);
  EXPECT_EQ(r.reordering(), 6u);
}

// packetdrill prr-ss-ack-below-snd_una-cubic (Linux 6.18 passes it): ten
// segments at 10 ms; at 20 ms SACKs of s2, s3 and s9 (three SACKed, no
// reordering: reo_wnd 0) mark s1 and s4-s8 lost (10 + 10 - 20 = 0), and
// s1 is resent. At 32 ms the ACK of 4000 (SACK s9) delivers the resent s1
// (RTT 12 ms >= min_RTT 10: a sample; sent at 20 ms, it becomes
// RACK.xmit_ts) and s4, never resent, below RACK.fack: reordering, so
// reo_wnd = min(min_RTT / 4, SRTT) = 2.5 ms. s10 (sent at 10 ms, before
// RACK.xmit_ts) then waits or not on RACK.rtt:
//   rfc (RFC 8985 §6.2: the latest sent, s1): 10 + 12 + 2.5 - 32 < 0, lost;
//   linux (tcp_rack_advance: every sample, the cumulatively ACKed s4
//   last): 10 + 22 + 2.5 - 32 = 2.5 ms left, the reordering timer's.
TEST(Rack, LinuxRttIsTheLastSampleTheAckGives) {
  for (const bool linux_rtt : {false, true}) {
    RackDetector r(16);
    r.set_mss(1000);
    r.set_linux_rtt(linux_rtt);
    for (uint32_t i = 0; i < 10; ++i) r.on_sent(i * 1000, (i + 1) * 1000, ms(10));
    r.on_ack(ms(20), 0, 0, sack({{1000, 2000}}), 10000);
    r.on_ack(ms(20), 0, 0, sack({{1000, 3000}}), 10000);
    r.on_ack(ms(20), 0, 0, sack({{1000, 3000}, {8000, 9000}}), 10000);
    EXPECT_EQ(r.detect_loss(ms(20), Duration::millis(10), false), Duration::zero());
    EXPECT_EQ(r.lost_segments(), 6u);
    r.on_sent(0, 1000, ms(20));
    r.on_ack(ms(32), 0, 4000, sack({{8000, 9000}}), 10000);
    EXPECT_TRUE(r.reordering_seen());
    EXPECT_EQ(r.rtt(), Duration::millis(linux_rtt ? 22 : 12));
    EXPECT_EQ(r.detect_loss(ms(32), Duration::millis(10), true),
              linux_rtt ? Duration::micros(2500) : Duration::zero());
    EXPECT_EQ(r.lost_out(), linux_rtt ? 4u : 5u) << linux_rtt;  // s5-s8 (and s10)
  }
}

TEST(Rack, ReorderingWithinTheWindowIsNotLoss) {
  RackDetector r = four_segments();
  r.on_ack(ms(100), 0, 0, sack({{1000, 2000}}), 4000);
  EXPECT_EQ(r.detect_loss(ms(100), Duration::millis(100), false), Duration::millis(25));
  // s1 arrives 10 ms late, before its 25 ms ran out: no loss, and it was
  // delivered below RACK.fack (2000) without a resend: reordering (step 3).
  r.on_ack(ms(110), 0, 2000, {}, 4000);
  EXPECT_TRUE(r.reordering_seen());
  EXPECT_EQ(r.detect_loss(ms(110), Duration::millis(100), false), Duration::zero());
  EXPECT_FALSE(r.any_lost());
  // With reordering seen, reo_wnd stays min_RTT / 4 even in recovery.
  EXPECT_EQ(r.reo_wnd(Duration::millis(100), true), Duration::millis(25));
}

TEST(Rack, ThreeSackedSegmentsWithoutReorderingLeaveNoWindow) {
  RackDetector r(16);
  for (uint32_t i = 0; i < 5; ++i) r.on_sent(i * 1000, (i + 1) * 1000, ms(0));
  // s2, s3, s4 SACKed: RFC 6675's DupThresh reached, reo_wnd = 0 (§6.2
  // step 4), so s1 (sent with them) is lost at once.
  r.on_ack(ms(100), 0, 0, sack({{1000, 4000}}), 5000);
  EXPECT_EQ(r.reo_wnd(Duration::millis(100), false), Duration::zero());
  EXPECT_EQ(r.detect_loss(ms(100), Duration::millis(100), false), Duration::zero());
  EXPECT_EQ(r.lost_segments(), 1u);
}

// §6.2 step 3 takes newly delivered segments in ascending end_seq: an ACK
// that cumulatively covers s1 and SACKs s3..s5 above the hole at s2 is no
// reordering (s1 comes before them), so, with three SACKed, reo_wnd = 0
// and s2, sent with them, is lost at once. (Taking the SACKed ones first
// set RACK.reord from s1 and waited min_RTT / 4 more.)
TEST(Rack, CumulativeAckBelowNewSackBlocksIsNotReordering) {
  RackDetector r(16);
  for (uint32_t i = 0; i < 6; ++i) r.on_sent(i * 1000, (i + 1) * 1000, ms(0));
  r.on_ack(ms(100), 0, 1000, sack({{2000, 5000}}), 6000);
  EXPECT_FALSE(r.reordering_seen());
  EXPECT_EQ(r.reo_wnd(Duration::millis(100), false), Duration::zero());
  EXPECT_EQ(r.detect_loss(ms(100), Duration::millis(100), false), Duration::zero());
  EXPECT_EQ(r.lost_segments(), 1u);
}

TEST(Rack, DsackWidensTheWindowForSixteenRecoveries) {
  RackDetector r = four_segments();
  r.on_ack(ms(100), 0, 2000, {}, 4000);  // min_RTT 100 ms
  EXPECT_EQ(r.reo_wnd_mult(), 1u);
  // A D-SACK (first block below the cumulative ACK, RFC 2883): one
  // spurious retransmission, reo_wnd_mult 2 -> min(2·100/4, SRTT) = 50 ms.
  r.on_ack(ms(150), 2000, 2000, sack({{1000, 2000}}), 4000);
  EXPECT_EQ(r.reo_wnd_mult(), 2u);
  EXPECT_EQ(r.reo_wnd(Duration::millis(100), false), Duration::millis(50));
  EXPECT_EQ(r.reo_wnd(Duration::millis(40), false), Duration::millis(40));  // capped at SRTT
  // A second D-SACK in the same round (SND.UNA below SND.NXT then) counts once.
  r.on_ack(ms(160), 2000, 2000, sack({{1000, 2000}}), 4000);
  EXPECT_EQ(r.reo_wnd_mult(), 2u);
  // 16 recoveries later it is back to 1.
  for (int i = 0; i < 15; ++i) r.on_recovery_end();
  EXPECT_EQ(r.reo_wnd_mult(), 2u);
  r.on_recovery_end();
  EXPECT_EQ(r.reo_wnd_mult(), 1u);
}

TEST(Rack, FullRecordsMergeInsteadOfAllocating) {
  RackDetector r(4);  // room for 4 records, reserved on the first send
  for (uint32_t i = 0; i < 4; ++i) r.on_sent(i * 1000, (i + 1) * 1000, ms(0));
  r.on_sent(4000, 5000, ms(5));  // no room: joins the last record, sent at 5 ms
  EXPECT_EQ(r.segments(), 4u);
  r.on_ack(ms(100), 0, 1000, {}, 5000);
  EXPECT_EQ(r.segments(), 3u);
  r.on_sent(5000, 6000, ms(100));  // room again once the ACK freed one
  EXPECT_EQ(r.segments(), 4u);
}

}  // namespace
}  // namespace vigil::tcp
