// The read-and-analyse path exactly as `vigil analyze --html` runs it:
// capture reader, flow analyzer, FlowPipeline (stories, congestion
// detectors, summaries; finished flows retired by the capture's clock) and
// HTML report. Shared by the deterministic fuzz test (tests/unit) and the
// libFuzzer target (tests/fuzz), which judge its counters.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/flow_pipeline.hpp"
#include "analyze/html_report.hpp"
#include "analyze/story.hpp"
#include "analyze/summary.hpp"

namespace vigil::analyze {

struct PipelineOutcome {
  bool opened = false;
  std::string open_error;  // why the file was refused (empty when opened)
  uint64_t packets = 0;    // IP packets the reader handed out
  uint64_t segments = 0;   // TCP segments the analyzer delivered
  uint64_t flows = 0, stories = 0;
  size_t html_bytes = 0;
  bool retained_packets = false;  // the streaming analyzer must keep none
  ReaderStats reader;
  AnalyzerStats analyzer;
};

inline PipelineOutcome run_analyze_pipeline(const std::string& path) {
  PipelineOutcome o;
  auto reader = CaptureReader::open(path, &o.open_error);
  if (!reader) return o;
  o.opened = true;
  FlowPipeline pipeline;
  HtmlReport report(200);
  FlowAnalyzer a([&](const Flow& f, const PacketLabels& p) {
    ++o.segments;
    pipeline.add(f, p);
    report.add(f, p);
  });
  CapturedPacket pkt;
  while (reader->next(&pkt)) {
    ++o.packets;
    a.add(pkt.frame, pkt.time, pkt.ip);
    pipeline.sweep(pkt.time, a.flows());
  }
  a.finish();
  std::vector<Story> st;
  std::vector<FlowSummary> sums;
  for (size_t i = 0; i < a.flows().size(); ++i) {
    FlowResult r = pipeline.take(i, a.flows()[i]);
    st.push_back(std::move(r.story));
    sums.push_back(std::move(r.summary));
  }
  o.html_bytes = report.render("fuzz", a.flows(), st, &sums).size();
  o.flows = a.flows().size();
  o.stories = st.size();
  o.retained_packets = !a.packets().empty();
  o.reader = reader->stats();
  o.analyzer = a.stats();
  return o;
}

// The counters' invariants: every frame and every packet is accounted for
// exactly once. Empty when they hold, else which one broke.
inline std::string pipeline_inconsistency(const PipelineOutcome& o) {
  if (!o.opened) return o.open_error.empty() ? "refused without a reason" : "";
  const ReaderStats& rs = o.reader;
  const AnalyzerStats& as = o.analyzer;
  if (rs.ipv4 + rs.ipv6 != o.packets) return "reader: ipv4 + ipv6 != packets handed out";
  if (rs.frames != rs.ipv4 + rs.ipv6 + rs.non_ipv4 + rs.bad_link_header) {
    return "reader: frames != ipv4 + ipv6 + non_ip + bad_link_header";
  }
  if (as.tcp != o.segments) return "analyzer: tcp != segments delivered";
  if (as.tcp + as.non_tcp + as.fragments + as.malformed_ip + as.malformed_tcp + as.cut_headers !=
      o.packets) {
    return "analyzer: the skip counters do not add up to the packets";
  }
  if (o.stories != o.flows) return "one story per flow";
  if (o.retained_packets) return "the streaming analyzer retained packets";
  if (o.html_bytes == 0) return "empty HTML report";
  return "";
}

}  // namespace vigil::analyze
