// FlowPipeline (issue 13 point 10): finished flows are summarised and their
// state freed by the capture's own clock, so the state held at once is
// bounded by the connections alive within 2 MSL, not by the capture's flow
// count; their results are what they would have been at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/flow_pipeline.hpp"
#include "wire/packet.hpp"

namespace vigil::analyze {
namespace {

constexpr uint8_t kAckF = wire::tcp_flags::kAck;
constexpr uint8_t kSynF = wire::tcp_flags::kSyn;
constexpr uint8_t kRstF = wire::tcp_flags::kRst;
constexpr uint8_t kFinF = wire::tcp_flags::kFin;

// Client 10.1.a.b:(1024 + i % 60000) -> 192.0.2.1:80.
std::vector<uint8_t> seg(uint32_t i, bool from_client, uint32_t seq, uint32_t ack, uint8_t flags) {
  const auto c = wire::Ipv4Addr::of(10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
  const auto s = wire::Ipv4Addr::of(192, 0, 2, 1);
  wire::Ipv4Fields ip;
  ip.src = from_client ? c : s;
  ip.dst = from_client ? s : c;
  wire::TcpFields t;
  const auto cport = static_cast<uint16_t>(1024 + i % 60000);
  t.src_port = from_client ? cport : 80;
  t.dst_port = from_client ? 80 : cport;
  t.seq = seq;
  t.ack = ack;
  t.flags = flags;
  t.window = 65535;
  std::vector<uint8_t> out(128);
  out.resize(wire::build_ipv4_tcp(out, ip, t, wire::TcpOptions{}, {}));
  return out;
}

struct Trace {
  size_t max_held = 0;  // most flows holding state (full or one segment) at once
  PipelineStats end;    // after the last packet, before the results are taken
  std::vector<FlowResult> results;
};

// n connections, one starting every second: handshake, then the client
// resets it (ended_by_fin: a FIN from each side and the last ACK) 3 ms in.
// sweep: whether finished flows are retired as the capture goes.
Trace connections(uint32_t n, bool sweep, bool ended_by_fin = false) {
  Trace r;
  FlowPipeline pipeline;
  FlowAnalyzer a([&](const Flow& f, const PacketLabels& p) { pipeline.add(f, p); });
  uint64_t frame = 0;
  auto add = [&](Instant t, const std::vector<uint8_t>& b) {
    a.add(++frame, t, b);
    if (sweep) pipeline.sweep(t, a.flows());
    const PipelineStats s = pipeline.stats();
    r.max_held = std::max(r.max_held, s.full + s.single);
  };
  for (uint32_t i = 0; i < n; ++i) {
    const Instant t = Instant::zero() + Duration::seconds(i);
    add(t, seg(i, true, 1000, 0, kSynF));
    add(t + Duration::millis(1), seg(i, false, 5000, 1001, kSynF | kAckF));
    add(t + Duration::millis(2), seg(i, true, 1001, 5001, kAckF));
    if (ended_by_fin) {
      add(t + Duration::millis(3), seg(i, true, 1001, 5001, kFinF | kAckF));
      add(t + Duration::millis(4), seg(i, false, 5001, 1002, kFinF | kAckF));
      add(t + Duration::millis(5), seg(i, true, 1002, 5002, kAckF));
    } else {
      add(t + Duration::millis(3), seg(i, true, 1001, 5001, kRstF | kAckF));
    }
  }
  a.finish();
  r.end = pipeline.stats();
  for (size_t i = 0; i < a.flows().size(); ++i) r.results.push_back(pipeline.take(i, a.flows()[i]));
  return r;
}

// With one connection a second, a flow is held from its SYN until the first
// sweep at least 2 MSL = 240 s after its RST: sweeps run every 60 s of
// capture time, so at most 240 + 60 = 300 s, i.e. the flows of the last
// 301 seconds (the one starting now included). The bound is the same for
// 600 and 1,200 connections; without the sweep every flow is held.
TEST(FlowPipelineTest, FinishedFlowsAreFreedBoundIndependentOfFlowCount) {
  const Trace small = connections(600, true);
  const Trace large = connections(1200, true);
  EXPECT_LE(small.max_held, 301u);
  EXPECT_LE(large.max_held, 301u);
  EXPECT_GE(large.max_held, 240u);  // the last 240 s are never finished early
  EXPECT_EQ(large.end.late, 0u);
  // Retired: every connection whose RST is 240 s or more before the last
  // sweep (at 1,140 s, the first packet at or after 1,080 + 60 s): flows
  // 0 .. 899 (flow 899's RST at 899.003 s <= 1,140 - 240; flow 900's at
  // 900.003 s is 239.997 s before).
  EXPECT_EQ(large.end.retired, 900u);
  EXPECT_EQ(large.end.done, 900u);
  EXPECT_EQ(large.end.full, 300u);
  const Trace kept = connections(1200, false);
  EXPECT_EQ(kept.max_held, 1200u);
  EXPECT_EQ(kept.end.retired, 0u);
}

// A retired flow's result is the one it gets at the end of the capture.
TEST(FlowPipelineTest, RetiredResultsEqualResultsAtTheEnd) {
  for (bool fin : {false, true}) {
    const Trace swept = connections(400, true, fin);
    const Trace kept = connections(400, false, fin);
    ASSERT_EQ(swept.results.size(), kept.results.size());
    EXPECT_GT(swept.end.retired, 0u);
    for (size_t i = 0; i < kept.results.size(); ++i) {
      const FlowResult& x = swept.results[i];
      const FlowResult& y = kept.results[i];
      EXPECT_EQ(x.story.flow, i);
      EXPECT_EQ(x.story.ending, y.story.ending) << i;
      EXPECT_EQ(x.story.established_frame, y.story.established_frame) << i;
      EXPECT_EQ(x.summary.packets, fin ? 6u : 4u) << i;
      EXPECT_EQ(x.summary.packets, y.summary.packets) << i;
      EXPECT_EQ(x.summary.end, fin ? "fin" : "rst") << i;
      EXPECT_EQ(x.summary.end, y.summary.end) << i;
      EXPECT_EQ(x.summary.end_dir, y.summary.end_dir) << i;
      EXPECT_EQ(x.summary.duration, y.summary.duration) << i;
      EXPECT_EQ(x.summary.rtt_samples, y.summary.rtt_samples) << i;
    }
  }
}

// Open connections are never finished by silence (they may idle for hours);
// an unanswered SYN is, 2 MSL after it (RFC 1122 §4.2.3.5: at least 3
// minutes of SYN retransmissions). A segment after that is counted late.
TEST(FlowPipelineTest, SilenceFinishesOnlyUnansweredSyns) {
  FlowPipeline pipeline;
  FlowAnalyzer a([&](const Flow& f, const PacketLabels& p) { pipeline.add(f, p); });
  const Instant t0 = Instant::zero();
  auto add = [&](uint64_t frame, Instant t, const std::vector<uint8_t>& b) {
    a.add(frame, t, b);
    pipeline.sweep(t, a.flows());
  };
  add(1, t0, seg(1, true, 1000, 0, kSynF));  // flow 0: SYN, never answered
  add(2, t0, seg(2, true, 7000, 0, kSynF));  // flow 1: an established, idle connection
  add(3, t0 + Duration::millis(1), seg(2, false, 9000, 7001, kSynF | kAckF));
  add(4, t0 + Duration::millis(2), seg(2, true, 7001, 9001, kAckF));
  // 2 MSL later, another flow's packet moves the capture's clock.
  add(5, t0 + Duration::seconds(239), seg(3, true, 1, 0, kSynF));
  EXPECT_EQ(pipeline.stats().retired, 0u);  // 239 s < 2 MSL
  add(6, t0 + Duration::seconds(300), seg(3, true, 1, 0, kSynF));
  EXPECT_EQ(pipeline.stats().retired, 1u);                            // flow 0 only: flow 1 is open
  add(7, t0 + Duration::seconds(301), seg(1, true, 1000, 0, kSynF));  // flow 0 again
  a.finish();
  EXPECT_EQ(pipeline.stats().late, 1u);
  const FlowResult r0 = pipeline.take(0, a.flows()[0]);
  EXPECT_EQ(r0.summary.packets, 1u);
  EXPECT_EQ(r0.summary.end, "open");
  const FlowResult r1 = pipeline.take(1, a.flows()[1]);
  EXPECT_EQ(r1.summary.packets, 3u);
}

}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

TEST(FlowPipelineTest, FinishedFlowsHandTheirPointsOverAtOnce) {
  // With plots (--html) a flow finished early gives its graph points to
  // on_finish (the report, which keeps them only for the flows it shows)
  // instead of keeping them to the end; take() still has the story, the
  // summary and the label counts. 400 connections, one a second, each
  // SYN, SYN-ACK, ACK, RST: a flow is finished at the first sweep 2 MSL =
  // 240 s after its RST (sweeps every 60 s of capture time), so flows
  // 0 .. 399 - 240 - 60 = 99 at least are finished before the end.
  FlowPipeline pipeline(100);
  std::vector<size_t> finished;
  std::vector<size_t> points;
  pipeline.on_finish([&](size_t i, const Flow& f, FlowResult& r) {
    finished.push_back(i);
    EXPECT_EQ(f.end.how, "rst");
    ASSERT_NE(r.plot, nullptr);
    points.push_back(r.plot->pts.size());
    r.plot.reset();
  });
  FlowAnalyzer a([&](const Flow& f, const PacketLabels& p) { pipeline.add(f, p); });
  uint64_t frame = 0;
  for (uint32_t i = 0; i < 400; ++i) {
    const Instant t = Instant::zero() + Duration::seconds(i);
    const std::vector<std::vector<uint8_t>> segs = {
        seg(i, true, 1000, 0, kSynF), seg(i, false, 5000, 1001, kSynF | kAckF),
        seg(i, true, 1001, 5001, kAckF), seg(i, true, 1001, 5001, kRstF | kAckF)};
    for (size_t k = 0; k < segs.size(); ++k) {
      const Instant tk = t + Duration::millis(static_cast<int64_t>(k));
      a.add(++frame, tk, segs[k]);
      pipeline.sweep(tk, a.flows());
    }
  }
  a.finish();
  ASSERT_GE(finished.size(), 100u);
  EXPECT_EQ(finished.size(), pipeline.stats().retired);
  for (size_t k = 0; k < finished.size(); ++k) {
    EXPECT_EQ(finished[k], k);  // in flow order, as they ended
    EXPECT_EQ(points[k], 4u);   // every segment is a plotted point
  }
  for (size_t i = 0; i < a.flows().size(); ++i) {
    const FlowResult r = pipeline.take(i, a.flows()[i]);
    // Points moved out for the flows finished early; the others bring theirs.
    EXPECT_EQ(r.plot == nullptr, i < finished.size()) << i;
    EXPECT_EQ(r.summary.packets, 4u);
    EXPECT_EQ(r.labels[static_cast<size_t>(Label::kSyn)], 1u) << i;
    EXPECT_EQ(r.labels[static_cast<size_t>(Label::kRst)], 1u) << i;
  }
}

}  // namespace
}  // namespace vigil::analyze
