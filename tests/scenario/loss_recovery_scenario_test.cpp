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

// RFC 8985 §7: the probe resends the last segment (TLP.is_retrans); its
// SACK shows RACK every earlier tail segment sent before it as lost once
// RACK.rtt has passed (§6.2: the probe left a PTO after them), so fast
// recovery resends those: N retransmissions in all, N - 1 by RACK, one
// probe, no timeout, and the stream arrives intact.
TEST(TailLossScenario, ProbeAndRackRepairTheLastOneTwoAndThreeSegments) {
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE("drop.tail=" + std::to_string(n));
    const auto r = run("tail-loss", "linux", {{"drop.tail", std::to_string(n)}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    EXPECT_EQ(c.bytes_sent, 100'000u);
    ASSERT_EQ(r.connections.size(), 2u);
    EXPECT_EQ(r.connections[1].bytes_received, 100'000u);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    EXPECT_EQ(c.stats.timeouts, 0u);
    EXPECT_EQ(c.stats.tlp_probes, 1u);
    EXPECT_EQ(c.stats.retransmitted_segments, static_cast<uint64_t>(n));
    EXPECT_EQ(c.stats.rack_retransmits, static_cast<uint64_t>(n - 1));
  }
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
