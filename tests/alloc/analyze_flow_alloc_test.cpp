// Heap bytes `vigil analyze` keeps per flow (issue 13 point 10: 200,000
// one-SYN flows in at most 256 MB of RSS, i.e. at most 1,342 bytes a flow
// for everything). Counts the live heap of the analyzer and the per-flow
// pipeline exactly as the CLI drives them (FlowAnalyzer's callback into
// FlowPipeline, sweep after every packet), and the peak heap of the whole
// command (run_analyze) with --json, --csv, --html and the text. Its own
// executable: it replaces the global operator new and delete to count live
// bytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/flow_pipeline.hpp"
#include "cli/commands.hpp"
#include "wire/packet.hpp"

namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};  // the most g_live reached (single-threaded use)
void* counted(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  g_live += static_cast<int64_t>(malloc_usable_size(p));
  if (g_live.load() > g_peak.load()) g_peak = g_live.load();
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

// A classic pcap (raw IPv4, link type 101) of n one-SYN flows, as
// tests/tools/gen_syn_flows.cpp writes it.
std::string write_syn_capture(uint32_t n) {
  const std::string path = ::testing::TempDir() + "vigil_alloc_syn_" + std::to_string(::getpid()) +
                           "_" + std::to_string(n) + ".pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return path;
  auto u32 = [f](uint32_t v) { std::fwrite(&v, 4, 1, f); };
  auto u16 = [f](uint16_t v) { std::fwrite(&v, 2, 1, f); };
  u32(0xa1b2c3d4);  // microsecond timestamps, host byte order
  u16(2);
  u16(4);
  u32(0);
  u32(0);
  u32(65535);
  u32(101);  // LINKTYPE_RAW
  for (uint32_t i = 0; i < n; ++i) {
    const std::vector<uint8_t> p = syn(i);
    u32(i / 1000000);
    u32(i % 1000000);
    u32(static_cast<uint32_t>(p.size()));
    u32(static_cast<uint32_t>(p.size()));
    std::fwrite(p.data(), 1, p.size(), f);
  }
  std::fclose(f);
  return path;
}

// Peak live heap while `vigil analyze CAPTURE args` runs (stdout to
// /dev/null), above the live heap before it.
int64_t analyze_peak(const std::string& capture, std::vector<std::string> args) {
  args.insert(args.begin(), capture);
  std::fflush(stdout);
  const int saved = dup(1);
  const int null = open("/dev/null", O_WRONLY);
  dup2(null, 1);
  close(null);
  const int64_t before = g_live.load();
  g_peak = before;
  const int rc = cli::run_analyze(args);
  std::fflush(stdout);
  const int64_t peak = g_peak.load() - before;
  dup2(saved, 1);
  close(saved);
  EXPECT_EQ(rc, 0);
  return peak;
}

TEST(AnalyzeFlowAlloc, EveryOutputFitsTheBudget) {
  // Each output, not only --json, keeps per flow just a compact row (the
  // text's table, the HTML table) and the detail of the flows it shows
  // (--html: at most 200 sections), so the peak grows per flow by no more
  // than the analyzer and the pipeline need (1,042 bytes, as --json; the
  // same bound as above). Slope between 2,000 and 8,000 flows, so the fixed
  // costs (the output buffers, the 200 sections, the page's style and
  // script) drop out. Before: --csv 1,399 bytes (a label count array per
  // flow), the text 2,233 and --html 2,373 (every story and summary kept
  // to the end, the table as 13 strings a row, a plot per flow, the page
  // in one string); 319, 492 and 561 MB RSS for 200,000 flows.
  const std::string small = write_syn_capture(2000);
  const std::string large = write_syn_capture(8000);
  const std::string html =
      ::testing::TempDir() + "vigil_alloc_" + std::to_string(::getpid()) + ".html";
  const std::vector<std::pair<const char*, std::vector<std::string>>> modes = {
      {"--json", {"--json"}},
      {"--csv", {"--csv"}},
      {"text", {}},
      {"--html (and the text)", {"--html", html}}};
  for (const auto& [name, args] : modes) {
    const double slope =
        static_cast<double>(analyze_peak(large, args) - analyze_peak(small, args)) / 6000;
    std::printf("%s: peak heap %.0f bytes a one-SYN flow\n", name, slope);
    EXPECT_LT(slope, 1200.0) << name;
  }
  std::remove(small.c_str());
  std::remove(large.c_str());
  std::remove(html.c_str());
}

}  // namespace
}  // namespace vigil::analyze
