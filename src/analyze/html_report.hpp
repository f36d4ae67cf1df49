// `vigil analyze --html`: one self-contained HTML page (no external files or
// scripts) with an SVG time-sequence graph per flow in the tcptrace/Stevens
// style, plus each flow's story and findings. Keeps at most a fixed number of
// plotted points per flow, so memory stays bounded on any capture.
//
// Size budget (issue 13 point 10): every flow has a row in the table of
// flows, but only the flows that matter get a section with graphs and story
// (see render()). The report is fed one finished flow at a time (add_flow)
// and keeps a compact row for each, but the story and points only of the
// flows that would get a section so far, so its memory does not grow with
// the detail of 200,000 flows.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/html_plot.hpp"
#include "analyze/story.hpp"
#include "analyze/summary.hpp"

namespace vigil::analyze {

class HtmlReport {
 public:
  // The budget: at most kMaxSections flow sections, and sections stop once
  // they pass kSectionBytes (docs/analyze-html.md).
  static constexpr size_t kMaxSections = 200;
  static constexpr size_t kSectionBytes = size_t{24} << 20;
  // Points kept per flow for its graphs (html::FlowPlot).
  static constexpr size_t kMaxPointsPerFlow = 20000;

  explicit HtmlReport(size_t max_points_per_flow = kMaxPointsPerFlow);
  ~HtmlReport();
  HtmlReport(const HtmlReport&) = delete;
  HtmlReport& operator=(const HtmlReport&) = delete;

  // Points are collected either by the caller (FlowPipeline with plots, as
  // the CLI does, passed to add_flow) or here, for every TCP segment in
  // capture order once its labels are final.
  void add(const Flow& flow, const PacketLabels& p);
  // Flow i is finished: `story` (null: none), `summary` (null: none; the
  // table has the summary columns only when every flow added had one) and
  // its points (null: those add() collected). Once per flow, any order.
  void add_flow(size_t i, const Flow& flow, const Story* story, const FlowSummary* summary,
                std::unique_ptr<html::FlowPlot> plot = nullptr);
  // Story and summary moved in.
  void add_flow(size_t i, const Flow& flow, Story&& story, const FlowSummary& summary,
                std::unique_ptr<html::FlowPlot> plot);
  // The whole page, in pieces, to `write`. `flows` are the capture's flows
  // (their endpoints and counts as shown); `only`: when given, the page
  // shows just the flows i with (*only)[i] != 0 (--flow), still numbered i.
  void render(const std::string& title, const std::vector<Flow>& flows,
              const std::vector<char>* only, const std::function<void(std::string_view)>& write);
  // Convenience for tests: every flow of `flows` added (stories[i] and
  // summaries[i] when given), then the page as one string.
  std::string render(const std::string& title, const std::vector<Flow>& flows,
                     const std::vector<Story>& stories,
                     const std::vector<FlowSummary>* summaries = nullptr,
                     const std::vector<char>* only = nullptr);
  // Flows holding a story and points now (tests: at most kMaxSections).
  size_t detailed() const;

 private:
  // `movable`: `story` again, to be moved from (else copied).
  void add_flow_impl(size_t i, const Flow& flow, const Story* story, Story* movable,
                     const FlowSummary* summary, std::unique_ptr<html::FlowPlot> plot);
  // One flow's section: heading, graphs, story, findings.
  void render_section(std::string& out, size_t i, const Flow& f, const Story* story,
                      const html::FlowPlot* plot) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analyze
