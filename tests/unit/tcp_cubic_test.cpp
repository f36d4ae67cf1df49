// CUBIC (RFC 9438) against the RFC's own formulas, MSS 1000 (windows in
// bytes; one segment = 1000 bytes):
//   §4.2  W_cubic(t) = C (t - K)^3 + W_max,  K = cbrt((W_max - cwnd_epoch) / C),
//         C = 0.4; on each ACK target = W_cubic(t + RTT) within [cwnd, 1.5 cwnd]
//   §4.3  W_est += alpha_cubic * segments_acked / cwnd, alpha_cubic =
//         3 (1 - 0.7) / (1 + 0.7) = 0.529412 (1 once W_est >= cwnd_prior);
//         if W_cubic < W_est then cwnd = W_est (the Reno-friendly region)
//   §4.4-5 otherwise cwnd += (target - cwnd) / cwnd per segment acknowledged
//   §4.6  ssthresh = cwnd * 0.7, cwnd = ssthresh
//   §4.7  fast convergence: W_max = cwnd < W_max ? cwnd * (1 + 0.7) / 2 : cwnd
//   §4.8  timeout: ssthresh as in §4.6, cwnd = 1 segment; the first
//         congestion-avoidance stage after it has K = 0 and W_max = cwnd
//         at its start
#include <gtest/gtest.h>

#include "tcp/cubic.hpp"
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

const Instant kT0 = Instant::zero() + Duration::seconds(100);

TEST(Cubic, MultiplicativeDecreaseAndFastConvergence) {
  tcp::Cubic c(1000, 10);
  EXPECT_EQ(c.cwnd(), 10000u);
  // First loss at cwnd 100000: no earlier W_max, so W_max = 100000;
  // ssthresh = cwnd = 100000 * 0.7 = 70000.
  c.set_cwnd(100000);
  c.on_congestion_event(0, kT0);
  EXPECT_EQ(c.w_max(), 100000.0);
  EXPECT_EQ(c.ssthresh(), 70000u);
  EXPECT_EQ(c.cwnd(), 70000u);
  // Next loss at 80000 < W_max: fast convergence, W_max = 80000 * 1.7 / 2
  // = 68000; ssthresh = cwnd = 56000.
  c.set_cwnd(80000);
  c.on_congestion_event(0, kT0);
  EXPECT_EQ(c.w_max(), 68000.0);
  EXPECT_EQ(c.ssthresh(), 56000u);
  EXPECT_EQ(c.cwnd(), 56000u);
  // A loss at 90000 >= W_max: W_max = 90000, ssthresh = 63000.
  c.set_cwnd(90000);
  c.on_congestion_event(0, kT0);
  EXPECT_EQ(c.w_max(), 90000.0);
  EXPECT_EQ(c.ssthresh(), 63000u);
  // A timeout at 50000 < W_max: W_max = 50000 * 1.7 / 2 = 42500, ssthresh
  // = 35000, cwnd = one segment.
  c.set_cwnd(50000);
  c.on_retransmit_timeout(0, kT0);
  EXPECT_EQ(c.w_max(), 42500.0);
  EXPECT_EQ(c.ssthresh(), 35000u);
  EXPECT_EQ(c.cwnd(), 1000u);
}

// §4.9 (spurious congestion events): the undo gives back the windows from
// before the event and W_max as it was, so fast convergence does not
// count the spurious event. W_max 100000 from a first loss; at cwnd 80000 a
// spurious one would set W_max = 68000 (fast convergence) and ssthresh =
// cwnd = 56000; undone: cwnd 80000, ssthresh 70000, W_max 100000.
TEST(Cubic, UndoRestoresTheWindowsAndWmax) {
  tcp::Cubic c(1000, 10);
  c.set_cwnd(100000);
  c.on_congestion_event(0, kT0);
  c.set_cwnd(80000);
  const uint32_t prior_ssthresh = c.ssthresh();
  c.on_congestion_event(0, kT0);
  EXPECT_EQ(c.w_max(), 68000.0);
  EXPECT_EQ(c.cwnd(), 56000u);
  c.undo(80000, prior_ssthresh);
  EXPECT_EQ(c.cwnd(), 80000u);
  EXPECT_EQ(c.ssthresh(), 70000u);
  EXPECT_EQ(c.w_max(), 100000.0);
  // Undo never lowers a window that grew since (Linux tcp_reno_undo_cwnd).
  c.set_cwnd(90000);
  c.undo(80000, 1000);
  EXPECT_EQ(c.cwnd(), 90000u);
  EXPECT_EQ(c.ssthresh(), 70000u);
}

// Loss at W_max = 36 segments: cwnd_epoch = ssthresh = 25.2 segments and
// K = cbrt((36 - 25.2) / 0.4) = cbrt(27) = 3 s, so W_cubic(t) = 0.4 (t -
// 3)^3 + 36 segments is 25.2, 32.8, 35.6, 36, 36.4, 39.2, 46.8 at t = 0..6
// s. One ACK of 25200 bytes each second, SRTT 0 (no sample): t + RTT = t.
TEST(Cubic, ConcaveUpToWmaxThenConvex) {
  tcp::Cubic c(1000, 10);
  c.set_cwnd(36000);
  c.on_congestion_event(0, kT0);
  ASSERT_EQ(c.cwnd(), 25200u);
  // t = 0: W_cubic = 25200; W_est = 25200 + 0.529412 * 25200 * 1000 /
  // 25200 = 25729.41 > W_cubic: the Reno-friendly region, cwnd = 25729.41.
  // t = 1: target 32800; W_est += 0.529412 * 25.2e6 / 25729.41 = 518.52 ->
  //   26247.93 < 32800; cwnd += (32800 - 25729.41) / 25729.41 * 25200 =
  //   6925.10 -> 32654.51 (concave: growing fast, far below W_max).
  // t = 2: target 35600; cwnd += 2945.49 / 32654.51 * 25200 = 2273.08 ->
  //   34927.59.
  // t = 3 = K: target = W_max = 36000; cwnd += 1072.41 / 34927.59 * 25200
  //   = 773.74 -> 35701.33 (the plateau at W_max).
  // t = 4: target 36400; cwnd += 698.67 / 35701.33 * 25200 = 493.16 ->
  //   36194.49 (convex: past W_max, probing).
  // t = 5: target 39200; cwnd += 3005.51 / 36194.49 * 25200 = 2092.55 ->
  //   38287.04.
  // t = 6: target 46800 (below 1.5 cwnd = 57430.6); cwnd += 8512.96 /
  //   38287.04 * 25200 = 5603.11 -> 43890.15.
  const uint32_t want[] = {25729, 32654, 34927, 35701, 36194, 38287, 43890};
  for (int t = 0; t <= 6; ++t) {
    c.on_ack(25200, kT0 + Duration::seconds(t));
    EXPECT_EQ(c.cwnd(), want[t]) << "t = " << t << " s";
    if (t == 0) {
      EXPECT_NEAR(c.k(), 3.0, 1e-9);
      EXPECT_EQ(c.ssthresh(), 25200u);
    }
  }
}

// A short path (SRTT 10 ms) after a loss at 10 segments: K = cbrt((10 - 7)
// / 0.4) = cbrt(7.5) = 1.9574 s, so W_cubic barely moves within a few
// round trips (W_cubic(0.01) = 0.4 (0.01 - 1.9574)^3 + 10 = 7.0457
// segments) and Reno's estimate leads: cwnd = W_est throughout. One ACK of
// 7000 bytes every 10 ms:
//   W_est_k = W_est_(k-1) + alpha * 7000 * 1000 / cwnd_(k-1), cwnd = W_est:
//   7000 + 0.529412 * 7e6 / 7000 = 7529.41; + 0.529412 * 7e6 / 7529.41 =
//   492.19 -> 8021.60; + 461.99 -> 8483.59; + 436.83 -> 8920.42; + 415.44
//   -> 9335.86; + 396.95 -> 9732.81; + 380.76 -> 10113.57, which passes
//   cwnd_prior = 10000, so alpha becomes 1: + 7e6 / 10113.57 = 692.14 ->
//   10805.71.
TEST(Cubic, RenoFriendlyRegionLeadsOnShortPaths) {
  tcp::Cubic c(1000, 10);
  c.on_congestion_event(0, kT0);  // at the initial window, 10000
  ASSERT_EQ(c.cwnd(), 7000u);
  c.on_rtt_sample(Duration::millis(10));
  const uint32_t want[] = {7529, 8021, 8483, 8920, 9335, 9732, 10113, 10805};
  for (int i = 0; i < 8; ++i) {
    c.on_ack(7000, kT0 + Duration::millis(10 * i));
    EXPECT_EQ(c.cwnd(), want[i]) << "ACK " << i;
    EXPECT_EQ(c.exact_cwnd(), c.w_est()) << "ACK " << i;
  }
  EXPECT_NEAR(c.k(), 1.9574338, 1e-6);
}

// §4.3 asks whether W_cubic(t) (not the target W_cubic(t + RTT)) is below
// W_est. Loss at W_max = 36 segments as above (cwnd 25200, K = 3 s), but
// SRTT 1 s, and one ACK of 1000 bytes at t = 0, 0.5 and 1 s:
//   t = 0:   W_est = 25200 + 0.529412 * 1000 * 1000 / 25200 = 25221.01;
//            W_cubic(0) = 25200 < W_est: Reno-friendly, cwnd = 25221.01.
//            (With W_cubic(t + RTT) = 32800 in the test, the cubic rule
//            would have given 25200 + 7600 / 25200 * 1000 = 25501.59.)
//   t = 0.5: W_est += 0.529412e6 / 25221.01 = 20.99 -> 25242.00; W_cubic(0.5)
//            = 0.4 (-2.5)^3 + 36 = 29.75 segments > W_est: cubic, target =
//            W_cubic(1.5) = 34650; cwnd += (34650 - 25221.01) / 25221.01 *
//            1000 = 373.85 -> 25594.86.
//   t = 1:   W_cubic(1) = 32800 > W_est; target W_cubic(2) = 35600; cwnd +=
//            10005.14 / 25594.86 * 1000 = 390.91 -> 25985.77.
TEST(Cubic, RenoFriendlyTestUsesWcubicAtTNotTPlusRtt) {
  tcp::Cubic c(1000, 10);
  c.set_cwnd(36000);
  c.on_congestion_event(0, kT0);
  c.on_rtt_sample(Duration::seconds(1));
  c.on_ack(1000, kT0);
  EXPECT_NEAR(c.exact_cwnd(), 25221.0084, 1e-3);
  EXPECT_EQ(c.exact_cwnd(), c.w_est());
  c.on_ack(1000, kT0 + Duration::millis(500));
  EXPECT_NEAR(c.exact_cwnd(), 25594.8631, 1e-3);
  c.on_ack(1000, kT0 + Duration::seconds(1));
  EXPECT_NEAR(c.exact_cwnd(), 25985.7672, 1e-3);
  EXPECT_EQ(c.cwnd(), 25985u);
}

// §4.8: after a timeout at cwnd 50000 (ssthresh 35000, cwnd 1000), slow
// start climbs 2000 per ACK (RFC 3465 L = 2) to 35000 in 17 ACKs; the first
// congestion-avoidance stage then has K = 0 and W_max = 35000 (not the
// 42500 that fast convergence left, whose K = cbrt(7.5 / 0.4) = 2.66 s
// would put W_cubic(1) at 40681), W_est starting at 35000; SRTT 0.
//   t = 0, 1000 acked:  W_est = 35000 + 0.529412e6 / 35000 = 35015.13 >
//                       W_cubic(0) = 35000: cwnd = 35015.13
//   t = 1, 35000 acked: W_est += 0.529412 * 35e6 / 35015.13 = 529.18 ->
//                       35544.31 > W_cubic(1) = 35400: cwnd = 35544.31
//   t = 2, 35000 acked: W_est += 521.31 -> 36065.61 < W_cubic(2) = 38200:
//                       cwnd += 2655.69 / 35544.31 * 35000 = 2615.02 -> 38159.33
//   t = 3, 35000 acked: W_cubic(3) = 45800; cwnd += 7640.67 / 38159.33 *
//                       35000 = 7008.07 -> 45167.40
TEST(Cubic, FirstStageAfterTimeoutStartsTheCurveAtItsOwnWindow) {
  tcp::Cubic c(1000, 10);
  c.set_cwnd(50000);
  c.on_retransmit_timeout(0, kT0);
  ASSERT_EQ(c.cwnd(), 1000u);
  ASSERT_EQ(c.ssthresh(), 35000u);
  for (int i = 0; i < 17; ++i) {
    c.on_ack(2000, kT0);
    EXPECT_EQ(c.cwnd(), 1000u + 2000u * static_cast<uint32_t>(i + 1));
  }
  const Instant ca = kT0 + Duration::seconds(1);
  c.on_ack(1000, ca);
  EXPECT_EQ(c.k(), 0.0);
  EXPECT_EQ(c.w_max(), 35000.0);
  EXPECT_NEAR(c.exact_cwnd(), 35015.1261, 1e-3);
  c.on_ack(35000, ca + Duration::seconds(1));
  EXPECT_NEAR(c.exact_cwnd(), 35544.3091, 1e-3);
  c.on_ack(35000, ca + Duration::seconds(2));
  EXPECT_NEAR(c.exact_cwnd(), 38159.3320, 1e-3);
  c.on_ack(35000, ca + Duration::seconds(3));
  EXPECT_NEAR(c.exact_cwnd(), 45167.4049, 1e-3);
  EXPECT_EQ(c.ssthresh(), 35000u);
}

// The knob puts CUBIC in the connection: entering SACK recovery with ten
// segments (10000 bytes) in flight and cwnd 10000, ssthresh = 10000 * 0.7
// = 7000 (NewReno would halve FlightSize: 5000).
TEST(Cubic, KnobSelectsCubicInTheConnection) {
  for (const auto cc : {tcp::TcpConfig::Congestion::kCubic, tcp::TcpConfig::Congestion::kNewReno}) {
    tcp::TcpConfig cfg = plain_config();
    cfg.sack = true;
    cfg.initial_window_segments = 10;
    cfg.congestion = cc;
    Harness h(cfg);
    h.to_established_with_sack(at_ms(0));
    h.conn().send(at_ms(0), std::vector<uint8_t>(10000));
    ASSERT_EQ(h.drain(at_ms(0)).size(), 10u);
    for (uint32_t k = 2; k <= 4; ++k) {
      Seg a = h.ack(kIss + 1);
      a.opt.sack[a.opt.sack_count++] = {kIss + 1001, kIss + k * 1000 + 1};
      h.input(at_ms(10 + k), a);
    }
    ASSERT_TRUE(h.conn().in_recovery());
    const bool cubic = cc == tcp::TcpConfig::Congestion::kCubic;
    EXPECT_EQ(h.conn().ssthresh(), cubic ? 7000u : 5000u);
  }
}

}  // namespace
}  // namespace vigil::testing
