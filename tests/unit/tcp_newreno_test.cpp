// Reno congestion control (RFC 5681 §3.1) with Appropriate Byte Counting
// (RFC 3465), a scripted ACK sequence with cwnd and ssthresh checked after
// every ACK, MSS 1000, initial window 3 segments (RFC 3390 for this MSS):
//   slow start (cwnd < ssthresh):  cwnd += min(N, L * SMSS), L = 2 (RFC 3465 §2.2)
//   congestion avoidance:          bytes_acked += N; when bytes_acked >= cwnd,
//                                  bytes_acked -= cwnd and cwnd += SMSS (§2.1)
//   congestion event (3rd dup ACK): ssthresh = max(FlightSize / 2, 2 SMSS),
//                                  cwnd = ssthresh (RFC 5681 eq. 4; the
//                                  inflation is the recovery's, not tested here)
//   timeout:                       ssthresh as above, cwnd = 1 SMSS (LW)
// and the RFC 2525 §2.6 emulation (cwnd += SMSS^2 / cwnd + SMSS / 8).
#include <gtest/gtest.h>

#include "tcp/congestion.hpp"

namespace vigil::testing {
namespace {

const Instant kT0 = Instant::zero() + Duration::seconds(1);

struct Step {
  uint32_t acked;  // bytes the ACK acknowledges
  uint32_t cwnd;   // after it
};

void run(tcp::CongestionControl& cc, const std::vector<Step>& steps, uint32_t ssthresh) {
  int i = 0;
  for (const Step& s : steps) {
    cc.on_ack(s.acked, kT0);
    EXPECT_EQ(cc.cwnd(), s.cwnd) << "ACK " << i;
    EXPECT_EQ(cc.ssthresh(), ssthresh) << "ACK " << i;
    ++i;
  }
}

TEST(NewReno, SlowStartCongestionAvoidanceLossAndTimeout) {
  auto cc = tcp::make_newreno(1000, 3);
  EXPECT_EQ(cc->cwnd(), 3000u);
  EXPECT_EQ(cc->ssthresh(), 0x7fffffffu);  // RFC 5681 §3.1: arbitrarily high
  // Slow start: an ACK of one segment adds it; a stretch ACK of three adds
  // only L * SMSS = 2000; an ACK of 1500 adds 1500 (byte counting, not
  // ACK counting): 4000, 6000, 7500, 8500.
  run(*cc, {{1000, 4000}, {3000, 6000}, {1500, 7500}, {1000, 8500}}, 0x7fffffff);

  // Third duplicate ACK with 9000 bytes in flight: ssthresh = cwnd = 4500.
  cc->on_congestion_event(9000, kT0);
  EXPECT_EQ(cc->ssthresh(), 4500u);
  EXPECT_EQ(cc->cwnd(), 4500u);
  // Congestion avoidance (cwnd = ssthresh, RFC 5681 allows either; vigil
  // takes avoidance): bytes_acked 1000, 2000, 3000, 4000 leave cwnd alone;
  // the fifth ACK makes it 5000 >= 4500: cwnd 5500, bytes_acked 500. Then
  // 1500 ... 5500 >= 5500 after five more ACKs: cwnd 6500, bytes_acked 0.
  // A stretch ACK of 7000 bytes: 7000 >= 6500, cwnd 7500 (one SMSS per
  // window, however many segments the ACK covers), bytes_acked 500.
  run(*cc,
      {{1000, 4500},
       {1000, 4500},
       {1000, 4500},
       {1000, 4500},
       {1000, 5500},
       {1000, 5500},
       {1000, 5500},
       {1000, 5500},
       {1000, 5500},
       {1000, 6500},
       {7000, 7500},
       {6000, 7500},
       {1000, 8500}},
      4500);

  // Timeout with 8500 bytes in flight: ssthresh = 4250, cwnd = 1000; slow
  // start again below ssthresh: 2000, 3000, 4000, then 4000 < 4250 is still
  // slow start: 5000 (RFC 5681 §3.1: slow start while cwnd < ssthresh).
  // From 5000 > ssthresh, avoidance: five ACKs of 1000 reach cwnd: 6000.
  cc->on_retransmit_timeout(8500, kT0);
  EXPECT_EQ(cc->ssthresh(), 4250u);
  EXPECT_EQ(cc->cwnd(), 1000u);
  run(*cc,
      {{1000, 2000},
       {1000, 3000},
       {1000, 4000},
       {1000, 5000},
       {1000, 5000},
       {1000, 5000},
       {1000, 5000},
       {1000, 5000},
       {1000, 6000}},
      4250);

  // A loss with little in flight: ssthresh never below 2 SMSS.
  cc->on_congestion_event(3000, kT0);
  EXPECT_EQ(cc->ssthresh(), 2000u);
  EXPECT_EQ(cc->cwnd(), 2000u);
}

// RFC 2525 §2.6's faulty avoidance adds SMSS^2 / cwnd + SMSS / 8 per ACK
// (integer bytes): from 4500, 222 + 125 -> 4847; 206 + 125 -> 5178; 193 +
// 125 -> 5496; 181 + 125 -> 5802. The correct sender is still at 4500: over
// one window the bug grows cwnd by about 1.6 SMSS instead of 1.
TEST(NewReno, ExtraAdditiveConstantEmulation) {
  auto bug = tcp::make_newreno(1000, 3, /*extra_additive_constant=*/true);
  bug->on_congestion_event(9000, kT0);
  run(*bug, {{1000, 4847}, {1000, 5178}, {1000, 5496}, {1000, 5802}}, 4500);
}

// The initial window follows the MSS the handshake settles on, until data
// has moved (RFC 5681 §3.1 defines IW in SMSS).
TEST(NewReno, InitialWindowFollowsNegotiatedMss) {
  auto cc = tcp::make_newreno(1460, 10);
  EXPECT_EQ(cc->cwnd(), 14600u);
  cc->set_mss(1000);
  EXPECT_EQ(cc->cwnd(), 10000u);
  cc->on_ack(1000, kT0);
  cc->set_mss(500);
  EXPECT_EQ(cc->cwnd(), 11000u);
}

}  // namespace
}  // namespace vigil::testing
