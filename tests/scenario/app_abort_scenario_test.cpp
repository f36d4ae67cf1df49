// Seed 003 as a scenario (`zero-window-app-abort`): a sender facing a zero
// window probes with RTO back-off, every probe answered, until its
// application gives up at 9 s and closes abortively. No TCP timer ends it:
// the RST is the application's (RFC 2525 §2.17 unread data, or SO_LINGER 0).
// Link: 1 ms one way, so an answer comes 2 ms after its probe and the RST
// reaches the server 1 ms after it leaves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "scenario_helpers.hpp"
#include "sim/scenario.hpp"

namespace vigil::sim {
namespace {

using tcp::CloseReason;
using tcp::EventType;
using tcp::State;

struct AbortRun {
  ScenarioResult r;
  Instant server_zero_window;  // the server's first window-0 segment in the capture
};

AbortRun run(const std::string& profile, const std::string& mode) {
  static int counter = 0;
  ScenarioParams p;
  p.profile = profile;
  p.sets = {{"app.abort_mode", mode}};
  p.pcap_path = ::testing::TempDir() + "vigil_app_abort_" + std::to_string(::getpid()) + "_" +
                std::to_string(counter++) + ".pcap";
  AbortRun out;
  EXPECT_EQ(run_scenario("zero-window-app-abort", p, &out.r), "");
  // When the window closed, from the wire: the persist timer starts there.
  std::string err;
  auto reader = analyze::CaptureReader::open(p.pcap_path, &err);
  EXPECT_NE(reader, nullptr) << err;
  analyze::FlowAnalyzer a;
  if (reader) {
    analyze::CapturedPacket pkt;
    while (reader->next(&pkt)) a.add(pkt.frame, pkt.time, pkt.ipv4);
  }
  a.finish();
  std::remove(p.pcap_path.c_str());
  for (const auto& pl : a.packets()) {
    if (pl.dir == 1 && analyze::has(pl.labels, analyze::Label::kZeroWindow)) {
      out.server_zero_window = pl.time;
      break;
    }
  }
  return out;
}

// The probe schedule: the persist timer starts with the window closing at W
// and backs off from the RTO (RFC 1122 §4.2.2.17, Linux tcp_probe_timer):
// probe k (1-based) at W + rto * (2^k - 1). Each is answered 2 ms later,
// except probe `unanswered` (1-based; 0: none): a linux-profile receiver
// does not answer an out-of-window probe within 500 ms of its last such
// reply (tcp_invalid_ratelimit), as measured (docs/linux-measurements.md 7a).
void expect_schedule(const AbortRun& run, Duration rto, size_t probes_before_9s,
                     size_t unanswered = 0) {
  const auto probes = times(run.r, "client", EventType::kZeroWindowProbe);
  const auto answers = times(run.r, "client", EventType::kZeroWindowProbeAck);
  ASSERT_EQ(probes.size(), probes_before_9s);
  ASSERT_EQ(answers.size(), probes_before_9s - (unanswered ? 1 : 0));
  ASSERT_GT(run.server_zero_window, Instant::zero());
  size_t a = 0;
  for (size_t k = 1; k <= probes.size(); ++k) {
    const Instant want = run.server_zero_window + rto * ((int64_t{1} << k) - 1);
    EXPECT_EQ(probes[k - 1], want) << "probe " << k;
    if (k == unanswered) continue;
    EXPECT_EQ(answers[a++], want + Duration::millis(2)) << "answer " << k;
  }
  // The RST falls between probes: the next was due after 9 s.
  const Instant next = run.server_zero_window + rto * ((int64_t{1} << (probes.size() + 1)) - 1);
  EXPECT_GT(next, ms(9000));
  EXPECT_LT(probes.back(), ms(9000));
}

// Both ends: the client's application closed at 9 s (app.abort_after), the
// RST reached the server 1 ms later. The closer is told nothing; the server
// gets ECONNRESET (reason reset) on the first RST, no challenge ACK.
void expect_ends(const ScenarioResult& r) {
  EXPECT_EQ(times(r, "client", EventType::kRstSent), std::vector<Instant>{ms(9000)});
  const auto& c = endpoint(r, "client");
  EXPECT_EQ(c.state, State::kClosed);
  EXPECT_EQ(c.time, ms(9000));
  EXPECT_EQ(c.err, 0);
  EXPECT_EQ(c.reason, CloseReason::kNone);
  const auto& s = endpoint(r, "server");
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.err, ECONNRESET);
  EXPECT_EQ(s.reason, CloseReason::kReset);
  EXPECT_EQ(s.time, ms(9001));
  EXPECT_EQ(s.detail, "reset: RST from peer in ESTABLISHED");
  EXPECT_EQ(s.stats.challenge_acks_sent, 0u);
  EXPECT_EQ(s.bytes_sent, 4000u);
}

TEST(ZeroWindowAppAbort, LinuxUnreadGreetingRstAt9sBetweenAnsweredProbes) {
  const AbortRun run1 = run("linux", "unread");
  const ScenarioResult& r = run1.r;
  // The RTO in force: tcp_rto_min 200 ms + SRTT (RTT 2 ms, stretched by the
  // 40 ms delayed ACK): above 200 ms and at most 240 ms. The seed's gaps
  // were 0.2, 0.4, 0.8, 1.6 s: the same back-off within 20 %.
  const Duration rto = endpoint(r, "client").final_rto;
  EXPECT_GT(rto, Duration::millis(200));
  EXPECT_LE(rto, Duration::millis(240));
  for (int k = 0; k < 4; ++k) {
    const double seed_gap = 0.2 * (1 << k);
    EXPECT_NEAR((rto * (int64_t{1} << k)).secs(), seed_gap, seed_gap * 0.2) << k;
  }
  // W + rto * (2^5 - 1) < 9 s < W + rto * (2^6 - 1): five probes before the RST.
  expect_schedule(run1, rto, 5, 2);
  expect_ends(r);
  const auto& c = endpoint(r, "client");
  EXPECT_EQ(c.detail, "closed with 4000 bytes unread: RST instead of FIN (RFC 2525 §2.17)");
  EXPECT_EQ(c.bytes_received, 0u);  // the greeting was never read
}

TEST(ZeroWindowAppAbort, LinuxLinger0SameWireNothingUnread) {
  const AbortRun run1 = run("linux", "linger0");
  const Duration rto = endpoint(run1.r, "client").final_rto;
  expect_schedule(run1, rto, 5, 2);
  expect_ends(run1.r);
  const auto& c = endpoint(run1.r, "client");
  EXPECT_EQ(c.detail, "");
  EXPECT_EQ(c.bytes_received, 4000u);  // it read the greeting; SO_LINGER 0 resets anyway
}

// The rfc profile probes with one byte (RFC 9293 §3.8.6.1) that the server
// refuses, so SND.NXT is one past its closed window; the RST must carry the
// window's edge to be accepted at once (RFC 5961 §3.2 exact match).
TEST(ZeroWindowAppAbort, RfcRstAtWindowEdgeAcceptedAtOnce) {
  const AbortRun run1 = run("rfc", "unread");
  // RFC 6298 §2.4: RTO at least 1 s. Probes at W + 1, W + 3, W + 7 s; the
  // fourth would be at W + 15 s > 9 s.
  const Duration rto = endpoint(run1.r, "client").final_rto;
  EXPECT_EQ(rto, Duration::seconds(1));
  expect_schedule(run1, rto, 3);
  expect_ends(run1.r);
}

TEST(ZeroWindowAppAbort, KnobsRejectBadValues) {
  ScenarioParams p;
  p.sets = {{"app.abort_mode", "later"}};
  ScenarioResult r;
  EXPECT_EQ(run_scenario("zero-window-app-abort", p, &r),
            "app.abort_mode expects linger0 or unread, got 'later'");
  p.sets = {{"app.abort_after", "9"}};
  EXPECT_EQ(
      run_scenario("zero-window-app-abort", p, &r),
      "app.abort_after expects a duration from 0s to 2592000s, with a unit such as 20ms or 1s, "
      "got '9'");
}

// A connection that ended before the application's deadline is left alone.
TEST(ZeroWindowAppAbort, TimeoutAfterTheEndDoesNothing) {
  ScenarioParams p;
  p.sets = {{"app.abort_after", "5s"}};
  ScenarioResult r;
  ASSERT_EQ(run_scenario("handshake-close", p, &r), "");
  EXPECT_TRUE(times(r, "client", EventType::kRstSent).empty());
  EXPECT_TRUE(times(r, "server", EventType::kRstSent).empty());
}

}  // namespace
}  // namespace vigil::sim
