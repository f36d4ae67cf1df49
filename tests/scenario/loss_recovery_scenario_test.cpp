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
