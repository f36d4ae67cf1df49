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
//   §4.8  timeout: ssthresh as in §4.6, cwnd = 1 segment
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
