// Tests for per-connection stories and the RFC 2525 detectors. Traces come
// from the simulator; expected values come from the scenario definitions
// (README.md's scenario table, docs/liveness.md), not from the analyzer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "sim/scenario.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::analyze {
namespace {

struct Run {
  std::string scenario;
  std::string profile = "rfc";
  std::vector<std::pair<std::string, std::string>> sets;
  std::vector<std::string> bugs;
  uint64_t seed = 1;
};

std::vector<Story> stories_of(const Run& r, sim::ScenarioResult* sim_out = nullptr,
                              uint64_t* frames = nullptr) {
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
  if (sim_out) *sim_out = result;
  if (frames) *frames = a.packets().size();
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

// ---------------------------------------------------------------------------
// Keepalive series from crafted segments (RFC 1122 §4.2.3.6).

// A connection between a client (10.0.0.1:40000, ISN 1000) and a server
// (10.0.0.2:80, ISN 5000) fed segment by segment into a streaming analyzer
// and a story builder; times are absolute seconds.
class Crafted {
 public:
  Crafted() : a_([this](const Flow& f, const PacketLabels& p) { b_.add(f, p); }) {}
  // from_client, seq, ack, flags, payload bytes, at time t (s), window.
  void add(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, size_t len, double t,
           uint16_t window = 65535) {
    wire::Ipv4Fields ip;
    ip.src = from_client ? wire::Ipv4Addr::of(10, 0, 0, 1) : wire::Ipv4Addr::of(10, 0, 0, 2);
    ip.dst = from_client ? wire::Ipv4Addr::of(10, 0, 0, 2) : wire::Ipv4Addr::of(10, 0, 0, 1);
    wire::TcpFields tcp;
    tcp.src_port = from_client ? 40000 : 80;
    tcp.dst_port = from_client ? 80 : 40000;
    tcp.seq = seq;
    tcp.ack = ack;
    tcp.flags = flags;
    tcp.window = window;
    std::vector<uint8_t> buf(1500);
    const std::vector<uint8_t> payload(len, 0x42);
    const size_t n = wire::build_ipv4_tcp(buf, ip, tcp, wire::TcpOptions{}, payload);
    a_.add(++frame_, Instant::from_ns(std::llround(t * 1e9)),
           std::span<const uint8_t>(buf.data(), n));
  }
  // Handshake at t = 0 (frames 1-3), then the client sends 10 bytes and the
  // server answers with 10 bytes (frames 4-6). Client next: 1011, server
  // next: 5011.
  void start() {
    add(true, 1000, 0, kSyn, 0, 0.000);
    add(false, 5000, 1001, kSyn | kAck, 0, 0.001);
    add(true, 1001, 5001, kAck, 0, 0.002);
    add(true, 1001, 5001, kAck | kPsh, 10, 0.010);
    add(false, 5001, 1011, kAck | kPsh, 10, 0.011);
    add(true, 1011, 5011, kAck, 0, 0.012);
  }
  std::vector<Story> finish() {
    a_.finish();
    return b_.finish(a_.flows());
  }
  static constexpr uint8_t kSyn = wire::tcp_flags::kSyn, kAck = wire::tcp_flags::kAck,
                           kPsh = wire::tcp_flags::kPsh, kRst = wire::tcp_flags::kRst,
                           kFin = wire::tcp_flags::kFin;

 private:
  StoryBuilder b_;
  FlowAnalyzer a_;
  uint64_t frame_ = 0;
};

// The trace of vigil as keepalive prober over TUN against Linux (idle 2 s,
// interval 1 s, count 3): the first probe (frame 7) is answered (frame 8),
// then Linux is blackholed: three probes 1 s apart (frames 9-11) go
// unanswered and the prober resets (frame 12). Probes carry SEG.SEQ =
// SND.NXT - 1 and no data.
TEST(StoryKeepaliveTest, AnsweredProbeThenDeadPeer) {
  Crafted c;
  c.start();
  c.add(true, 1010, 5011, Crafted::kAck, 0, 2.012);                  // 7: probe, 2 s after frame 6
  c.add(false, 5011, 1011, Crafted::kAck, 0, 2.013);                 // 8: its ACK
  c.add(true, 1010, 5011, Crafted::kAck, 0, 4.013);                  // 9: 2 s idle after the ACK
  c.add(true, 1010, 5011, Crafted::kAck, 0, 5.013);                  // 10
  c.add(true, 1010, 5011, Crafted::kAck, 0, 6.013);                  // 11
  c.add(true, 1011, 5011, Crafted::kRst | Crafted::kAck, 0, 7.013);  // 12
  const auto st = c.finish();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].ending, "keepalive timeout: 3 probes 1.0 s apart unanswered, RST at frame 12");
  ASSERT_EQ(st[0].keepalive.size(), 2u);
  const auto& answered = st[0].keepalive[0];
  EXPECT_TRUE(answered.answered);
  EXPECT_EQ(answered.probes, 1u);
  EXPECT_EQ(answered.frames, std::vector<uint64_t>{7});
  // From the server's last packet (frame 5, 0.011 s) to frame 7 (2.012 s).
  EXPECT_EQ(answered.idle, Duration::millis(2001));
  EXPECT_EQ(answered.interval, Duration::zero());  // no unanswered probe in it
  const auto& dead = st[0].keepalive[1];
  EXPECT_FALSE(dead.answered);
  EXPECT_EQ(dead.probes, 3u);
  EXPECT_EQ(dead.frames, (std::vector<uint64_t>{9, 10, 11}));
  EXPECT_EQ(dead.idle, Duration::seconds(2));  // the keepalive ACK (frame 8) -> frame 9
  EXPECT_EQ(dead.interval, Duration::seconds(1));
  EXPECT_EQ(dead.last_frame, 11u);
  // RFC 2525 §2.9: 3 probes x 1 s before the reset.
  bool short_timeout = false;
  for (const auto& f : st[0].findings) short_timeout |= f.rfc_section == "RFC 2525 §2.9";
  EXPECT_TRUE(short_timeout);
}

// Linux probing an idle peer that answers every probe: each probe follows
// the previous ACK by TCP_KEEPIDLE (RFC 1122 §4.2.3.6: the idle timer starts
// again after an answer), so there is one answered series with the idle
// inferred and no interval, not a series per probe.
TEST(StoryKeepaliveTest, LongAnsweredRunIsOneSeries) {
  Crafted c;
  c.start();
  double t = 0.012;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    t += 75.0;
    c.add(true, 1010, 5011, Crafted::kAck, 0, t);
    t += 0.001;
    c.add(false, 5011, 1011, Crafted::kAck, 0, t);
  }
  c.add(true, 1011, 5011, Crafted::kFin | Crafted::kAck, 0, t + 1);
  c.add(false, 5011, 1012, Crafted::kFin | Crafted::kAck, 0, t + 1.001);
  const auto st = c.finish();
  ASSERT_EQ(st.size(), 1u);
  ASSERT_EQ(st[0].keepalive.size(), 1u);
  const auto& k = st[0].keepalive[0];
  EXPECT_TRUE(k.answered);
  EXPECT_EQ(k.probes, static_cast<uint32_t>(n));
  EXPECT_EQ(k.frames.size(), static_cast<size_t>(n));
  EXPECT_EQ(k.frames.front(), 7u);
  EXPECT_EQ(k.last_frame, 7u + 2 * (n - 1));
  EXPECT_NEAR(k.idle.secs(), 75.0, 1e-6);
  EXPECT_EQ(k.interval, Duration::zero());
  EXPECT_EQ(st[0].ending.rfind("closed with FIN", 0), 0u) << st[0].ending;
}

// A probe lost once in an answered run: the retry follows by the interval
// and is answered, so the run stays one answered series, and that gap is
// the interval. An unanswered tail at the end of the capture is its own
// series, the ending says so.
TEST(StoryKeepaliveTest, LostProbeInAnsweredRunThenSilence) {
  Crafted c;
  c.start();
  c.add(true, 1010, 5011, Crafted::kAck, 0, 10.012);   // 7, answered
  c.add(false, 5011, 1011, Crafted::kAck, 0, 10.013);  // 8
  c.add(true, 1010, 5011, Crafted::kAck, 0, 20.013);   // 9, lost
  c.add(true, 1010, 5011, Crafted::kAck, 0, 23.013);   // 10, 3 s later, answered
  c.add(false, 5011, 1011, Crafted::kAck, 0, 23.014);  // 11
  c.add(true, 1010, 5011, Crafted::kAck, 0, 33.014);   // 12, unanswered
  c.add(true, 1010, 5011, Crafted::kAck, 0, 36.014);   // 13
  const auto st = c.finish();
  ASSERT_EQ(st.size(), 1u);
  ASSERT_EQ(st[0].keepalive.size(), 2u);
  const auto& run = st[0].keepalive[0];
  EXPECT_TRUE(run.answered);
  EXPECT_EQ(run.frames, (std::vector<uint64_t>{7, 9, 10}));
  // Idle samples: frame 5 (0.011 s) -> 7 (10.012 s) and frame 8 -> 9, 10 s;
  // the median of two is the upper one.
  EXPECT_EQ(run.idle, Duration::millis(10001));
  EXPECT_EQ(run.interval, Duration::seconds(3));
  const auto& tail = st[0].keepalive[1];
  EXPECT_FALSE(tail.answered);
  EXPECT_EQ(tail.frames, (std::vector<uint64_t>{12, 13}));
  EXPECT_EQ(tail.idle, Duration::seconds(10));
  EXPECT_EQ(tail.interval, Duration::seconds(3));
  EXPECT_EQ(st[0].ending, "keepalive probes unanswered: 2 probes 3.0 s apart, no RST");
}

// ---------------------------------------------------------------------------
// Memory: one long mid-connection flow fed N and 10 N cycles. Per cycle the
// client sends a new segment and retransmits it 3 times 1 s apart with the
// server silent (a timeout series that does not back off: one RFC 2525
// §2.10 finding each), then the server acknowledges it with two data
// segments the client never acknowledges (so the server's unacknowledged
// send log only grows), then 2 s of silence.

struct Generated {
  size_t retained = 0;
  std::vector<Story> stories;
  size_t analyzer_packets = 0;
  uint64_t segments = 0;
};

Generated generate(int cycles) {
  StoryBuilder builder;
  FlowAnalyzer a([&builder](const Flow& f, const PacketLabels& p) { builder.add(f, p); });
  uint64_t frame = 0;
  Instant t = Instant::from_ns(1'000'000'000);
  uint32_t a_seq = 1000, b_seq = 900'000;
  const uint32_t b_first = b_seq;  // the client's ACK never moves past it
  std::vector<uint8_t> buf(1500);
  const std::vector<uint8_t> payload(100, 0x11);
  auto send = [&](bool from_a, uint32_t seq, uint32_t ack) {
    wire::Ipv4Fields ip;
    ip.src = from_a ? wire::Ipv4Addr::of(10, 0, 0, 1) : wire::Ipv4Addr::of(10, 0, 0, 2);
    ip.dst = from_a ? wire::Ipv4Addr::of(10, 0, 0, 2) : wire::Ipv4Addr::of(10, 0, 0, 1);
    wire::TcpFields tcp;
    tcp.src_port = from_a ? 40000 : 80;
    tcp.dst_port = from_a ? 80 : 40000;
    tcp.seq = seq;
    tcp.ack = ack;
    tcp.flags = wire::tcp_flags::kAck;
    tcp.window = 60000;
    const size_t n = wire::build_ipv4_tcp(buf, ip, tcp, wire::TcpOptions{}, payload);
    a.add(++frame, t, std::span<const uint8_t>(buf.data(), n));
  };
  for (int c = 0; c < cycles; ++c) {
    send(true, a_seq, b_first);
    for (int r = 0; r < 3; ++r) {
      t = t + Duration::seconds(1);
      send(true, a_seq, b_first);
    }
    a_seq += 100;
    t = t + Duration::millis(10);
    send(false, b_seq, a_seq);
    b_seq += 100;
    t = t + Duration::millis(10);
    send(false, b_seq, a_seq);
    b_seq += 100;
    t = t + Duration::seconds(2);
  }
  Generated g;
  g.retained = builder.retained_items();
  g.analyzer_packets = a.packets().size();
  g.segments = a.stats().tcp;
  a.finish();
  g.stories = builder.finish(a.flows());
  return g;
}

TEST(StoryMemoryTest, StateDoesNotGrowWithPackets) {
  // N is past every cap: 2 N unacknowledged server segments > kStoryMaxSendLog.
  const int n = static_cast<int>(kStoryMaxSendLog / 2) + 100;
  const Generated small = generate(n);
  const Generated large = generate(10 * n);
  EXPECT_EQ(small.segments, 6u * n);
  EXPECT_EQ(large.segments, 60u * n);
  EXPECT_EQ(small.analyzer_packets, 0u);  // streaming: nothing retained
  EXPECT_EQ(large.analyzer_packets, 0u);
  EXPECT_GT(small.retained, 0u);
  EXPECT_EQ(large.retained, small.retained);
  for (const Generated* g : {&small, &large}) {
    const uint64_t cycles = g == &small ? n : 10u * n;
    ASSERT_EQ(g->stories.size(), 1u);
    const Story& s = g->stories[0];
    // Idle periods: three 1 s retransmission gaps per cycle, plus the 2 s
    // pause between cycles.
    EXPECT_EQ(s.idle_periods.size(), kStoryMaxIdle);
    EXPECT_EQ(s.idle_periods.size() + s.idle_periods_omitted, 4 * cycles - 1);
    // Timeout series: every cycle (in the first the server was not heard
    // yet: the resent segment is the lowest the client was seen sending).
    EXPECT_EQ(s.rto.size(), kStoryMaxSeries);
    EXPECT_EQ(s.rto.size() + s.series_omitted, cycles);
    EXPECT_EQ(s.rto[0].retransmissions, 3u);
    EXPECT_EQ(s.rto[0].gaps, std::vector<Duration>(3, Duration::seconds(1)));
    EXPECT_EQ(s.findings.size(), kStoryMaxFindings);
    EXPECT_EQ(s.findings.size() + s.findings_omitted, cycles);
    EXPECT_EQ(s.findings[0].rfc_section, "RFC 2525 §2.10");
    EXPECT_EQ(s.min_rto_estimate, Duration::seconds(1));
    EXPECT_EQ(s.max_rto_estimate, Duration::seconds(1));
  }
}

// The long series themselves are capped while their counts stay exact.
TEST(StoryMemoryTest, LongRetransmissionSeriesKeepsCountsExact) {
  StoryBuilder b;
  Flow flow;
  flow.first = Instant::zero();
  flow.end = FlowEnd{"open", 0};
  PacketLabels p;
  p.flow = 0;
  p.dir = 0;
  p.len = 100;
  p.labels = bit(Label::kData);
  p.frame = 1;
  b.add(flow, p);  // the original send
  PacketLabels ack;
  ack.flow = 0;
  ack.dir = 1;
  ack.frame = 2;
  ack.time = Instant::from_ns(1'000'000);
  ack.labels = bit(Label::kPureAck);
  b.add(flow, ack);  // acknowledges nothing new of dir 0's data (rel_ack 0)
  const int retransmissions = 1000;
  for (int i = 0; i < retransmissions; ++i) {
    PacketLabels r = p;
    r.frame = 3 + static_cast<uint64_t>(i);
    r.time = Instant::from_ns(int64_t{i + 1} * 3'000'000'000);
    r.labels = bit(Label::kData) | bit(Label::kRetransmission);
    b.add(flow, r);
  }
  const size_t retained = b.retained_items();
  // Capped gaps and frames of the open series, the capped idle periods
  // (3 s gaps), and the one unacknowledged original send.
  EXPECT_EQ(retained, 2 * kStoryMaxFrames + kStoryMaxIdle + 1);
  const auto st = b.finish({flow});
  ASSERT_EQ(st.size(), 1u);
  ASSERT_EQ(st[0].rto.size(), 1u);
  const auto& s = st[0].rto[0];
  EXPECT_EQ(s.retransmissions, static_cast<uint32_t>(retransmissions));
  EXPECT_EQ(s.gaps.size(), kStoryMaxFrames);
  EXPECT_EQ(s.frames.size(), kStoryMaxFrames);
  EXPECT_EQ(s.last_frame, 2u + retransmissions);
  EXPECT_EQ(s.total, Duration::seconds(3) * retransmissions - Duration::millis(1));
  EXPECT_EQ(st[0].ending, "retransmission timeout: 1000 retransmissions over 3000.0 s, no RST");
}

// ---------------------------------------------------------------------------
// Seed 003: a RST while zero-window probes were being answered. Traces from
// the zero-window-app-abort scenario: the client's application aborts at
// 9 s, between its persist probes; the capture (at the client) ends with
// the last probe, its answer and the RST.

const Finding* unread_finding(const Story& s) {
  for (const auto& f : s.findings) {
    if (f.rfc_section == "RFC 2525 §2.17") return &f;
  }
  return nullptr;
}

void expect_app_abort_story(const std::string& profile, const std::string& mode,
                            bool unread_expected) {
  sim::ScenarioResult r;
  uint64_t frames = 0;
  const auto st =
      stories_of({"zero-window-app-abort", profile, {{"app.abort_mode", mode}}, {}}, &r, &frames);
  ASSERT_EQ(st.size(), 1u);
  const Story& s = st[0];
  // From the simulator's own record: the client's last probe and the RST.
  Instant last_probe, rst;
  uint32_t probes = 0, answered = 0;
  for (const auto& e : r.events) {
    if (r.hosts[e.host].name != "client") continue;
    if (e.event.type == tcp::EventType::kZeroWindowProbe) {
      last_probe = e.event.time;
      ++probes;
    }
    // Each answer acknowledges every probe since the last one; in the linux
    // profile the second probe goes unanswered (tcp_invalid_ratelimit,
    // docs/linux-measurements.md rows 7a, 9, 10).
    if (e.event.type == tcp::EventType::kZeroWindowProbeAck) ++answered;
    if (e.event.type == tcp::EventType::kRstSent) rst = e.event.time;
  }
  ASSERT_TRUE(s.reset.has_value()) << s.ending;
  const Story::Reset& x = *s.reset;
  EXPECT_EQ(x.dir, 0);
  EXPECT_TRUE(x.prober);
  EXPECT_EQ(x.frame, frames);  // the last frame
  EXPECT_EQ(x.last_probe_frame, frames - 2);
  EXPECT_EQ(x.last_answer_frame, frames - 1);
  EXPECT_EQ(x.probes, probes);
  EXPECT_EQ(x.answered, answered);
  EXPECT_EQ(answered, profile == std::string("linux") ? probes - 1 : probes);
  EXPECT_EQ(x.since_last_probe, rst - last_probe);
  EXPECT_EQ(x.timing, "between_probes");
  // The back-off's next gap: twice the last one (RFC 1122 §4.2.2.17).
  ASSERT_FALSE(s.persist.empty());
  const auto& gaps = s.persist.back().gaps;
  ASSERT_FALSE(gaps.empty());
  EXPECT_EQ(x.next_probe_after, gaps.back() * 2);
  EXPECT_GT(x.next_probe_after, x.since_last_probe);
  EXPECT_EQ(s.persist.back().answered, answered);
  const std::string head = "RST at frame " + std::to_string(frames) +
                           " from the client while the server was answering its zero-window "
                           "probes (" +
                           std::to_string(probes) + " probes, last at frame " +
                           std::to_string(frames - 2) + ", answered at frame " +
                           std::to_string(frames - 1) +
                           "): not a TCP timer, it fell between probes";
  EXPECT_EQ(s.ending.rfind(head, 0), 0u) << s.ending;
  EXPECT_NE(s.ending.find("the client application aborted (close with unread data or SO_LINGER 0)"),
            std::string::npos)
      << s.ending;
  const Finding* f = unread_finding(s);
  if (!unread_expected) {
    EXPECT_EQ(f, nullptr) << f->detail;
    return;
  }
  ASSERT_NE(f, nullptr) << profile;
  EXPECT_EQ(f->problem, "reset with received data unread");
  EXPECT_DOUBLE_EQ(f->confidence, 0.7);  // window reduced by the 4000 bytes, not closed
  ASSERT_FALSE(f->frames.empty());
  EXPECT_EQ(f->frames.back(), frames);
  EXPECT_NE(f->detail.find("acknowledged 4000 bytes of the server's data"), std::string::npos)
      << f->detail;
  EXPECT_NE(f->detail.find("at least 4000 bytes unread"), std::string::npos) << f->detail;
}

TEST(StoryResetTest, AppAbortUnreadLinux) { expect_app_abort_story("linux", "unread", true); }
TEST(StoryResetTest, AppAbortUnreadRfc) { expect_app_abort_story("rfc", "unread", true); }
// SO_LINGER 0 after reading everything: the same ending, no unread data.
TEST(StoryResetTest, AppAbortLinger0Linux) { expect_app_abort_story("linux", "linger0", false); }

// Crafted: after start(), the client sends 1000 bytes at 0.5 s, the server
// acknowledges them with window 0 at 0.6 s; the client probes Linux's way
// (SND.UNA - 1, no data) at 0.8, 1.2 and 2.0 s (gaps 0.2, 0.4, 0.8 s from
// the window closing), each answered 1 ms later with window 0. Frames 7-14.
void zero_window_probing(Crafted* c) {
  c->start();
  c->add(true, 1011, 5011, Crafted::kAck, 1000, 0.5);
  c->add(false, 5011, 2011, Crafted::kAck, 0, 0.6, 0);
  for (double t : {0.8, 1.2, 2.0}) {
    c->add(true, 2010, 5011, Crafted::kAck, 0, t);
    c->add(false, 5011, 2011, Crafted::kAck, 0, t + 0.001, 0);
  }
}

// The next probe was due at 2.0 + 1.6 = 3.6 s; a RST then is on the expiry.
TEST(StoryResetTest, RstOnTheProbeExpiryIsTimerDriven) {
  Crafted c;
  zero_window_probing(&c);
  c.add(true, 2011, 5011, Crafted::kRst | Crafted::kAck, 0, 3.6);  // frame 15
  const auto st = c.finish();
  ASSERT_EQ(st.size(), 1u);
  ASSERT_TRUE(st[0].reset.has_value());
  const auto& x = *st[0].reset;
  EXPECT_EQ(x.timing, "probe_expiry");
  EXPECT_EQ(x.probes, 3u);
  EXPECT_EQ(x.answered, 3u);
  EXPECT_EQ(x.last_probe_frame, 13u);
  EXPECT_EQ(x.last_answer_frame, 14u);
  EXPECT_EQ(x.next_probe_after, Duration::millis(1600));
  EXPECT_EQ(
      st[0].ending,
      "RST at frame 15 from the client while the server was answering its zero-window probes "
      "(3 probes, last at frame 13, answered at frame 14): it fell on a probe expiry (1.600 s "
      "after the last probe; the next was due 1.600 s after it): timer-driven, the kernel "
      "dropped an orphan (Linux tcp_probe_timer: too many orphans or out of memory), or the "
      "client application aborted (close with unread data or SO_LINGER 0) at that moment");
  EXPECT_EQ(unread_finding(st[0]), nullptr);  // the client's window never shrank
}

// 1.0 s after the last probe, 0.6 s before the next: the application.
TEST(StoryResetTest, RstBetweenProbesIsTheApplication) {
  Crafted c;
  zero_window_probing(&c);
  c.add(true, 2011, 5011, Crafted::kRst | Crafted::kAck, 0, 3.0);
  const auto st = c.finish();
  ASSERT_TRUE(st[0].reset.has_value());
  EXPECT_EQ(st[0].reset->timing, "between_probes");
  EXPECT_EQ(st[0].reset->since_last_probe, Duration::seconds(1));
}

// The answering side resets with its window closed: its application
// closed with a full buffer unread, RFC 2525 §2.17 (high confidence). It
// acknowledged all 1010 bytes the client sent (10 in start(), then 1000).
// The zero-window side answers a probe with a bare RST at exactly the
// probe's ACK (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>), as a host does
// that no longer has the connection (RFC 2525 §2.12's faulty server after
// its own timeout, vigil sim window-probe-deadlock-blocked --bug
// window-probe-deadlock): the RST reports an end, it is not an abort.
TEST(StoryResetTest, BareRstAnsweringAProbeIsANoConnectionReply) {
  Crafted c;
  zero_window_probing(&c);
  c.add(true, 2010, 5011, Crafted::kAck, 0, 3.6);   // frame 15: the next probe
  c.add(false, 5011, 0, Crafted::kRst, 0, 3.6001);  // frame 16: bare RST at its ACK
  const auto st = c.finish();
  ASSERT_TRUE(st[0].reset.has_value());
  const auto& x = *st[0].reset;
  EXPECT_FALSE(x.prober);
  EXPECT_EQ(x.answers_frame, 15u);
  EXPECT_EQ(st[0].ending,
            "RST at frame 16 from the server in reply to the client's segment at frame 15 (no ACK "
            "bit, SEQ = that segment's ACK: RFC 9293 §3.10.7.1's answer from a host with no such "
            "connection) during zero-window probing (4 probes): the connection had already ended "
            "on the server's side, by its own timeout or an earlier abortive close; this RST only "
            "reports it");
  const Finding* f = unread_finding(st[0]);
  ASSERT_NE(f, nullptr);
  EXPECT_DOUBLE_EQ(f->confidence, 0.5);
  // The same RST with the ACK bit, at SND.NXT, is the server's own abort.
  Crafted c2;
  zero_window_probing(&c2);
  c2.add(true, 2010, 5011, Crafted::kAck, 0, 3.6);
  c2.add(false, 5011, 2011, Crafted::kRst | Crafted::kAck, 0, 3.6001);
  const auto st2 = c2.finish();
  ASSERT_TRUE(st2[0].reset.has_value());
  EXPECT_EQ(st2[0].reset->answers_frame, 0u);
  ASSERT_NE(unread_finding(st2[0]), nullptr);
  EXPECT_DOUBLE_EQ(unread_finding(st2[0])->confidence, 0.9);
}

TEST(StoryResetTest, AnsweringSideResetsWithClosedWindow) {
  Crafted c;
  zero_window_probing(&c);
  c.add(false, 5011, 2011, Crafted::kRst | Crafted::kAck, 0, 3.0);  // frame 15
  const auto st = c.finish();
  ASSERT_TRUE(st[0].reset.has_value());
  const auto& x = *st[0].reset;
  EXPECT_FALSE(x.prober);
  EXPECT_EQ(x.dir, 1);
  EXPECT_EQ(x.timing, "");
  EXPECT_EQ(st[0].ending,
            "RST at frame 15 from the server while it answered the client's zero-window probes (3 "
            "probes, its window closed): not a TCP timer; the server application closed with data "
            "unread (RFC 2525 §2.17) or aborted (SO_LINGER 0)");
  const Finding* f = unread_finding(st[0]);
  ASSERT_NE(f, nullptr);
  EXPECT_DOUBLE_EQ(f->confidence, 0.9);
  // The client's last data (frame 7), the server's last window (frame 14), the RST.
  EXPECT_EQ(f->frames, (std::vector<uint64_t>{7, 14, 15}));
  EXPECT_EQ(f->detail,
            "the server acknowledged 1010 bytes of the client's data and its window stayed below "
            "its largest (0 of 65535, closed): at least 1010 bytes unread; it sent RST, no FIN: an "
            "abortive close that discarded them (close with data unread, RFC 1122 §4.2.2.13)");
}

// A RST after the FIN exchange or without zero-window probing keeps the
// plain ending and no context.
TEST(StoryResetTest, PlainResetHasNoZeroWindowContext) {
  Crafted c;
  c.start();
  c.add(true, 1011, 5011, Crafted::kRst | Crafted::kAck, 0, 1.0);
  const auto st = c.finish();
  EXPECT_FALSE(st[0].reset.has_value());
  EXPECT_EQ(st[0].ending, "reset by the client (RST at frame 7)");
  EXPECT_EQ(unread_finding(st[0]), nullptr);
}

}  // namespace
}  // namespace vigil::analyze
