// Tests for per-connection stories and the RFC 2525 detectors. Traces come
// from the simulator; expected values come from the scenario definitions
// (README.md's scenario table, docs/liveness.md), not from the analyzer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "sim/scenario.hpp"

namespace vigil::analyze {
namespace {

struct Run {
  std::string scenario;
  std::string profile = "rfc";
  std::vector<std::pair<std::string, std::string>> sets;
  std::vector<std::string> bugs;
  uint64_t seed = 1;
};

std::vector<Story> stories_of(const Run& r) {
  static int counter = 0;
  sim::ScenarioParams params;
  params.seed = r.seed;
  params.profile = r.profile;
  params.sets = r.sets;
  params.bugs = r.bugs;
  params.pcap_path = ::testing::TempDir() + "vigil_story_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + ".pcap";
  sim::ScenarioResult result;
  const std::string err = sim::run_scenario(r.scenario, params, &result);
  EXPECT_EQ(err, "");
  std::string open_err;
  auto reader = CaptureReader::open(params.pcap_path, &open_err);
  EXPECT_NE(reader, nullptr) << open_err;
  FlowAnalyzer a;
  if (reader) {
    CapturedPacket pkt;
    while (reader->next(&pkt)) a.add(pkt.frame, pkt.time, pkt.ipv4);
  }
  a.finish();
  std::remove(params.pcap_path.c_str());
  return build_stories(a);
}

const Finding* find(const std::vector<Story>& st, const std::string& section) {
  for (const auto& s : st) {
    for (const auto& f : s.findings) {
      if (f.rfc_section == section) return &f;
    }
  }
  return nullptr;
}

void expect_fires(const Run& r, const std::string& section) {
  const auto st = stories_of(r);
  const Finding* f = find(st, section);
  ASSERT_NE(f, nullptr) << r.scenario << " should show " << section;
  EXPECT_FALSE(f->frames.empty());
  EXPECT_FALSE(f->problem.empty());
  EXPECT_GT(f->confidence, 0.0);
  EXPECT_LE(f->confidence, 1.0);
}

// The correct traces: no RFC 2525 finding at all.
std::vector<Run> correct_runs() {
  std::vector<Run> runs;
  for (const char* profile : {"rfc", "linux"}) {
    runs.push_back({"rto-blackhole", profile, {}, {}});
    runs.push_back({"syn-blackhole", profile, {}, {}});
    runs.push_back({"keepalive-idle", profile, {}, {}});
    runs.push_back({"keepalive-dead-peer", profile, {}, {}});
    runs.push_back({"handshake-close", profile, {}, {}});
    runs.push_back({"zero-window-persist", profile, {{"limit", "600s"}}, {}});
    runs.push_back({"window-probe-deadlock", profile, {}, {}});
    runs.push_back({"bulk-lossy", profile, {{"bytes", "300k"}}, {}, 3});
  }
  return runs;
}

TEST(StoryDetectorTest, SilentOnCorrectTraces) {
  for (const auto& r : correct_runs()) {
    const auto st = stories_of(r);
    for (const auto& s : st) {
      for (const auto& f : s.findings) {
        ADD_FAILURE() << r.scenario << " (" << r.profile << "): unexpected " << f.rfc_section << " "
                      << f.problem << ": " << f.detail;
      }
    }
  }
}

TEST(StoryDetectorTest, InitialRtoTooLow) {
  expect_fires({"syn-blackhole", "rfc", {}, {"initial-rto-too-low"}}, "RFC 2525 §2.7");
}

TEST(StoryDetectorTest, ShortKeepaliveTimeout) {
  expect_fires({"keepalive-dead-peer", "rfc", {}, {"short-keepalive-timeout"}}, "RFC 2525 §2.9");
}

TEST(StoryDetectorTest, NoRtoBackoff) {
  expect_fires({"rto-blackhole", "rfc", {}, {"no-rto-backoff"}}, "RFC 2525 §2.10");
}

TEST(StoryDetectorTest, ShortKeepaliveInterval) {
  expect_fires({"keepalive-idle", "rfc", {}, {"short-keepalive-interval"}}, "RFC 2525 §2.11");
}

TEST(StoryTest, KeepaliveInference) {
  const auto st = stories_of(
      {"keepalive-dead-peer",
       "rfc",
       {{"keepalive.idle", "2s"}, {"keepalive.interval", "1s"}, {"keepalive.count", "3"}},
       {}});
  ASSERT_EQ(st.size(), 1u);
  const auto& s = st[0];
  ASSERT_TRUE(s.established_frame.has_value());
  ASSERT_EQ(s.keepalive.size(), 1u);
  const auto& k = s.keepalive[0];
  EXPECT_EQ(k.dir, 0);
  // Idle measured from the last packet heard from the server (the SYN-ACK,
  // one 10 ms hop before the client's final ACK): about 2 s.
  EXPECT_NEAR(k.idle.secs(), 2.0, 0.05);
  EXPECT_EQ(k.interval, Duration::seconds(1));
  EXPECT_EQ(k.probes, 3u);
  EXPECT_FALSE(k.answered);
  EXPECT_NE(s.ending.find("keepalive"), std::string::npos) << s.ending;
  // The RST follows the three probes: handshake (3) + probes (3) + RST.
  EXPECT_NE(s.ending.find("RST at frame 7"), std::string::npos) << s.ending;
}

TEST(StoryTest, RtoBlackholeEnding) {
  for (const char* profile : {"rfc", "linux"}) {
    const auto st = stories_of({"rto-blackhole", profile, {}, {}});
    ASSERT_EQ(st.size(), 1u);
    EXPECT_NE(st[0].ending.find("retransmission timeout"), std::string::npos) << st[0].ending;
    EXPECT_NE(st[0].ending.find("no RST"), std::string::npos) << st[0].ending;
    ASSERT_FALSE(st[0].rto.empty());
    EXPECT_GE(st[0].rto.back().gaps.size(), 3u);
  }
}

TEST(StoryTest, ClosedPortRefused) {
  const auto st = stories_of({"closed-port-rst", "rfc", {}, {}});
  ASSERT_EQ(st.size(), 1u);
  EXPECT_NE(st[0].ending.find("refused"), std::string::npos) << st[0].ending;
  EXPECT_FALSE(st[0].established_frame.has_value());
}

TEST(StoryTest, SynBlackholeInitialRto) {
  const auto st = stories_of({"syn-blackhole", "rfc", {}, {}});
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].initial_rto_estimate, Duration::seconds(1));  // RFC 6298 §2.1
  EXPECT_GE(st[0].max_rto_estimate, Duration::seconds(32));
}

TEST(StoryTest, HandshakeCloseEnding) {
  const auto st = stories_of({"handshake-close", "rfc", {}, {}});
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].established_frame.has_value());
  EXPECT_NE(st[0].ending.find("closed with FIN"), std::string::npos) << st[0].ending;
}

TEST(StoryTest, ZeroWindowPersistSeries) {
  const auto st = stories_of({"zero-window-persist", "rfc", {{"limit", "600s"}}, {}});
  ASSERT_EQ(st.size(), 1u);
  ASSERT_FALSE(st[0].persist.empty());
  EXPECT_FALSE(st[0].persist[0].gaps.empty());
  EXPECT_FALSE(st[0].idle_periods.empty());
}

}  // namespace
}  // namespace vigil::analyze
