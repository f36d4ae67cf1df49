// Loss recovery in whole simulated runs: the tail-loss scenario (RFC 8985
// TLP and RACK against the RTO).
#include <gtest/gtest.h>

#include "sim/scenario.hpp"

namespace vigil::sim {
namespace {

ScenarioResult run(const std::string& name, const std::string& profile,
                   std::vector<std::pair<std::string, std::string>> sets) {
  ScenarioParams p;
  p.profile = profile;
  p.sets = std::move(sets);
  ScenarioResult r;
  EXPECT_EQ(run_scenario(name, p, &r), "");
  return r;
}

// RFC 8985 §7: the lost last segment is resent by the probe (the last
// segment again, TLP.is_retrans) one PTO after the last ACK; its ACK
// repairs the tail: one retransmission, one probe, no timeout, the stream
// intact. (With the last 2 or 3 lost, RACK should mark the earlier ones
// lost from the probe's SACK; it does not yet: RACK.min_RTT comes only from
// data segments, which queued behind each other, so the probe's faster
// round trip is taken as ambiguous (§6.2 step 2) and the RTO repairs them.
// Linux's min_rtt includes the handshake's sample.)
TEST(TailLossScenario, ProbeRepairsTheLastSegment) {
  const auto r = run("tail-loss", "linux", {{"drop.tail", "1"}});
  const auto& c = r.connections[0];
  EXPECT_EQ(c.err, 0);
  EXPECT_EQ(c.bytes_sent, 100'000u);
  ASSERT_EQ(r.connections.size(), 2u);
  EXPECT_EQ(r.connections[1].bytes_received, 100'000u);
  EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
  EXPECT_EQ(c.stats.timeouts, 0u);
  EXPECT_EQ(c.stats.tlp_probes, 1u);
  EXPECT_EQ(c.stats.retransmitted_segments, 1u);
}

// Without the probe (the rfc profile: no TLP, no RACK) only the RTO
// repairs a tail: one timeout each.
TEST(TailLossScenario, WithoutTheProbeTheRtoRepairsTheTail) {
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE("drop.tail=" + std::to_string(n));
    const auto r = run("tail-loss", "rfc", {{"drop.tail", std::to_string(n)}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    EXPECT_EQ(c.stats.timeouts, 1u);
    EXPECT_EQ(c.stats.tlp_probes, 0u);
  }
}

// RFC 6675 recovery with RACK (the linux profile): 1 to 10 consecutive
// segments of one window lost, each resent once, no timeout.
TEST(RecoveryMultiLossScenario, RackRepairsOneToTenLossesWithoutAnRto) {
  for (int n = 1; n <= 10; ++n) {
    SCOPED_TRACE("drop.burst=" + std::to_string(n));
    const auto r = run("recovery-multi-loss", "linux", {{"drop.burst", std::to_string(n)}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    ASSERT_EQ(r.connections.size(), 2u);
    EXPECT_EQ(r.connections[1].bytes_received, 200'000u);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    EXPECT_EQ(c.stats.timeouts, 0u);
    EXPECT_EQ(c.stats.retransmitted_segments, static_cast<uint64_t>(n));
    EXPECT_EQ(c.stats.rack_retransmits, static_cast<uint64_t>(n));
  }
}

}  // namespace
}  // namespace vigil::sim

namespace vigil::sim {
namespace {

// reorder-undo, linux profile (IW 10, MSS 1448 with timestamps, CUBIC,
// RACK, PRR, quick ACKs). Derivation, 10 ms each way, no rate limit:
// - 0 SYN, 20 ms established (SRTT 20 ms); #1..#10 sent at 20 (cwnd 14480).
// - 30: the server gets #1, #2, #4..#10 (#3 held until 60) and answers
//   with one ACK: 2897, SACK 4345..14481.
// - 40: RACK (RFC 8985 §6.2): seven SACKed segments and no reordering seen
//   yet, so reo_wnd = 0; #3, sent at 20, is lost at 20 + RACK.rtt 20 + 0 =
//   40: recovery, ssthresh = 14480 × 0.7 = 10136 (RFC 9438 §4.6); PRR (RFC
//   6937) with pipe 0 gives cwnd 10136: #3 resent, #11..#16 new.
// - 50: #3 (resent) and #11..#16 arrive: ACK 23169 (all), echoing the
//   resend's TSval, so no Eifel evidence (RFC 3522).
// - 60: the ACK ends recovery (cwnd = ssthresh = 10136, RFC 6937 §3);
//   #17..#23 go. The original #3 reaches the server: a duplicate, answered
//   with ACK 23169 and D-SACK 2897..4345 (RFC 2883 §4).
// - 70: the D-SACK covers the episode's one retransmission (RFC 3708 §3):
//   undone to cwnd = max(10136, 14480) = 14480, ssthresh = max(10136,
//   slow start's 2^31 - 1) (Linux tcp_undo_cwnd_reduction).
// With undo=off the same run keeps cwnd 10136 and ssthresh 10136 at 70.
TEST(ReorderUndoScenario, DsackUndoesTheSpuriousFastRetransmit) {
  for (const bool undo : {true, false}) {
    SCOPED_TRACE(undo ? "undo=on" : "undo=off");
    const auto r = run("reorder-undo", "linux", {{"undo", undo ? "on" : "off"}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    ASSERT_EQ(r.connections.size(), 2u);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    // One retransmission, of the segment RACK marked lost (the counter
    // fast_retransmits counts recoveries a duplicate ACK or the reordering
    // timer started; this one starts on an ACK of new data).
    EXPECT_EQ(c.stats.rack_retransmits, 1u);
    EXPECT_EQ(c.stats.retransmitted_segments, 1u);
    EXPECT_EQ(c.stats.timeouts, 0u);
    EXPECT_EQ(c.stats.undos, undo ? 1u : 0u);
    EXPECT_EQ(c.stats.spurious_retransmits, undo ? 1u : 0u);
    const Instant at40 = Instant::zero() + Duration::millis(40);
    const Instant at70 = Instant::zero() + Duration::millis(70);
    std::vector<Instant> rtx;
    const tcp::Event* undo_ev = nullptr;
    uint32_t cwnd_40 = 0, ssthresh_40 = 0, cwnd_70 = 0, ssthresh_70 = 0;
    for (const auto& e : r.events) {
      if (r.hosts[e.host].name != r.hosts[0].name) continue;
      if (e.event.type == tcp::EventType::kRetransmit) rtx.push_back(e.event.time);
      if (e.event.type == tcp::EventType::kUndo) undo_ev = &e.event;
      if (e.event.type == tcp::EventType::kCwnd && e.event.time == at40) {
        cwnd_40 = e.event.cwnd;
        ssthresh_40 = e.event.ssthresh;
      }
      if (e.event.type == tcp::EventType::kCwnd && e.event.time <= at70) {
        cwnd_70 = e.event.cwnd;
        ssthresh_70 = e.event.ssthresh;
      }
    }
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0], at40);
    EXPECT_EQ(cwnd_40, 10136u);
    EXPECT_EQ(ssthresh_40, 10136u);
    EXPECT_EQ(cwnd_70, undo ? 14480u : 10136u);
    EXPECT_EQ(ssthresh_70, undo ? 0x7fffffffu : 10136u);
    if (undo) {
      ASSERT_NE(undo_ev, nullptr);
      EXPECT_EQ(undo_ev->time, at70);
      EXPECT_EQ(undo_ev->cwnd, 14480u);
      EXPECT_EQ(undo_ev->seq - c.iss, 2897u);
    } else {
      EXPECT_EQ(undo_ev, nullptr);
    }
  }
}

}  // namespace
}  // namespace vigil::sim
