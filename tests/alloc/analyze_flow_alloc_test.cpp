// Heap bytes `vigil analyze` keeps per flow (issue 13 point 10: 200,000
// one-SYN flows in at most 256 MB of RSS, i.e. at most 1,342 bytes a flow
// for everything). Counts the live heap of the analyzer and the per-flow
// pipeline exactly as the CLI drives them (FlowAnalyzer's callback into
// FlowPipeline, sweep after every packet). Its own executable: it replaces
// the global operator new and delete to count live bytes.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/flow_pipeline.hpp"
#include "wire/packet.hpp"

namespace {
std::atomic<int64_t> g_live{0};
void* counted(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  g_live += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}
void uncounted(void* p) {
  if (p == nullptr) return;
  g_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { uncounted(p); }
void operator delete(void* p, std::size_t) noexcept { uncounted(p); }
void operator delete[](void* p) noexcept { uncounted(p); }
void operator delete[](void* p, std::size_t) noexcept { uncounted(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { uncounted(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { uncounted(p); }

namespace vigil::analyze {
namespace {

// As tests/tools/gen_syn_flows.cpp: flow i is 10.a.b.c:(1024 + i % 60000)
// -> 192.0.2.1:80, one SYN at i µs.
std::vector<uint8_t> syn(uint32_t i) {
  std::vector<uint8_t> buf(128);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                              static_cast<uint8_t>(i));
  ip.dst = wire::Ipv4Addr::of(192, 0, 2, 1);
  wire::TcpFields t;
  t.src_port = static_cast<uint16_t>(1024 + i % 60000);
  t.dst_port = 80;
  t.seq = i;
  t.flags = wire::tcp_flags::kSyn;
  t.window = 64240;
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  buf.resize(wire::build_ipv4_tcp(buf, ip, t, o, {}));
  return buf;
}

// Live heap bytes per flow after n one-SYN flows went through the
// analyzer and the pipeline (before the results are taken: the peak).
double bytes_per_flow(uint32_t n) {
  std::vector<std::vector<uint8_t>> pkts;
  pkts.reserve(n);
  for (uint32_t i = 0; i < n; ++i) pkts.push_back(syn(i));
  const int64_t before = g_live.load();
  double per_flow = 0;
  {
    FlowPipeline pipeline;
    FlowAnalyzer a([&](const Flow& f, const PacketLabels& p) { pipeline.add(f, p); });
    for (uint32_t i = 0; i < n; ++i) {
      const Instant t = Instant::zero() + Duration::micros(i);
      a.add(i + 1, t, pkts[i]);
      pipeline.sweep(t, a.flows());
    }
    a.finish();
    EXPECT_EQ(a.flows().size(), n);
    EXPECT_EQ(pipeline.stats().single, n);
    EXPECT_EQ(pipeline.stats().full, 0u);
    per_flow = static_cast<double>(g_live.load() - before) / n;
    // Taking a result builds the flow's state for a moment and frees it.
    for (uint32_t i = 0; i < n; ++i) {
      const FlowResult r = pipeline.take(i, a.flows()[i]);
      EXPECT_EQ(r.summary.packets, 1u);
    }
    EXPECT_EQ(pipeline.stats().single, 0u);
  }
  return per_flow;
}

TEST(AnalyzeFlowAlloc, OneSynFlowsFitTheBudget) {
  // 256 MB for 200,000 flows is 1,342 bytes a flow for everything (the
  // binary, libpcap, the 1 MB output buffer included). The analyzer's
  // own state (its 4-tuple map, Flow, FlowState) is about 800 bytes; the
  // pipeline keeps the one segment (a Flow and its labels). Before: a
  // StoryBuilder, CongestionDetectors and SummaryBuilder entry per flow,
  // about 4,200 bytes more (970 MB RSS measured for 200,000 flows).
  const double small = bytes_per_flow(2000);
  const double large = bytes_per_flow(8000);
  std::printf("live heap per one-SYN flow: %.0f bytes (2,000 flows), %.0f bytes (8,000)\n", small,
              large);
  EXPECT_LT(large, 1200.0);
  EXPECT_LT(small, 1200.0);
}

}  // namespace
}  // namespace vigil::analyze
