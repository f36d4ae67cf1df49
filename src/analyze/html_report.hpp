// `vigil analyze --html`: one self-contained HTML page (no external files or
// scripts) with an SVG time-sequence graph per flow in the tcptrace/Stevens
// style, plus each flow's story and findings. Keeps at most a fixed number of
// plotted points per flow, so memory stays bounded on any capture.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "analyze/summary.hpp"

namespace vigil::analyze {

class HtmlReport {
 public:
  explicit HtmlReport(size_t max_points_per_flow = 20000);
  ~HtmlReport();
  HtmlReport(const HtmlReport&) = delete;
  HtmlReport& operator=(const HtmlReport&) = delete;
  // Every TCP segment, in capture order, once its labels are final.
  void add(const Flow& flow, const PacketLabels& p);
  // The whole page. `stories[i]` and `summaries[i]` belong to `flows[i]`;
  // with summaries the table of flows gains their columns (issue 13 point 14).
  // `only`: when given, the page shows just the flows i with (*only)[i] != 0
  // (--flow), still numbered i.
  std::string render(const std::string& title, const std::vector<Flow>& flows,
                     const std::vector<Story>& stories,
                     const std::vector<FlowSummary>* summaries = nullptr,
                     const std::vector<char>* only = nullptr) const;

 private:
  // One flow's section: heading, graphs, story, findings.
  void render_section(std::string& out, size_t i, const Flow& f, const Story* story) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analyze
