// Per-flow analysis state for `vigil analyze`, kept compact so that memory
// follows the connections that need it (issue 13 point 10: 200,000 one-SYN
// flows in at most 256 MB).
//
// Each flow's story, congestion detectors and summary (StoryBuilder,
// CongestionDetectors, SummaryBuilder, a few KB together) are built only
// from the flow's second segment on: a flow of one segment (a scan's or a
// flood's SYN, a stray RST) keeps that segment and nothing else, and is
// analysed when its result is taken. A finished flow is summarised and its
// state freed (see FlowPipeline::sweep for when a flow is finished).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/html_plot.hpp"
#include "analyze/story.hpp"
#include "analyze/summary.hpp"
#include "vigil/time.hpp"

namespace vigil::analyze {

// A flow's results: its story (with the congestion detectors' findings
// appended), its summary row, how many of its segments carried each label,
// and (when the pipeline plots, for --html) its graphs' points.
struct FlowResult {
  Story story;
  FlowSummary summary;
  std::array<uint64_t, static_cast<size_t>(Label::kCount)> labels{};
  std::unique_ptr<html::FlowPlot> plot;
};

// Counts for tests and the docs (docs/analyze-bench.md).
struct PipelineStats {
  size_t full = 0;       // flows holding full per-flow state now
  size_t single = 0;     // flows holding just their one segment now
  size_t done = 0;       // flows finished early, holding their result
  uint64_t retired = 0;  // flows finished early so far
  uint64_t late = 0;     // segments of a flow after it was finished: not analysed
};

class FlowPipeline {
 public:
  // plot_points > 0: also collect each flow's graph points (at most that
  // many, html::FlowPlot) into its result.
  explicit FlowPipeline(size_t plot_points = 0);
  ~FlowPipeline();
  FlowPipeline(const FlowPipeline&) = delete;
  FlowPipeline& operator=(const FlowPipeline&) = delete;

  // Every segment in capture order (FlowAnalyzer's callback), `flow` as it is
  // at that segment.
  void add(const Flow& flow, const PacketLabels& p);
  // Finishes flows the capture's clock shows finished at `now`; cheap to
  // call often (it looks at the flows once per kSweepEvery of capture time).
  //
  // A flow is finished when no segment of it can still come:
  // - it ended (a RST, or a FIN from each side: Flow::end) and 2 MSL passed
  //   since its last segment: what TIME-WAIT waits for the last old segment
  //   to die (RFC 9293 §3.4.2, MSL 2 minutes);
  // - or only SYNs from one side were seen, never an answer, and 2 MSL
  //   passed: RFC 1122 §4.2.3.5 lets a SYN be retransmitted for at least 3
  //   minutes (Linux gives up after 127 s, tcp_syn_retries 6), no longer.
  // Silence alone never finishes an open connection: one may idle for hours
  // (RFC 1122 §4.2.3.6: keep-alives at most every 2 hours, by default off).
  void sweep(Instant now, const std::vector<Flow>& flows);
  // Called by sweep() with each flow it finishes, before the result is kept
  // for take(); it may move parts out (--html takes the points, so that
  // they are not kept for every finished flow).
  void on_finish(std::function<void(size_t, const Flow&, FlowResult&)> f);
  // Flow i's result (finishing it now if it is not yet); its state is freed.
  // Once per flow.
  FlowResult take(size_t i, const Flow& flow);
  PipelineStats stats() const;

  static constexpr Duration kMsl = Duration::seconds(120);
  static constexpr Duration kSweepEvery = Duration::seconds(60);

 private:
  struct Full;
  struct First {  // a flow's one segment, and the flow as it was then
    Flow flow;
    PacketLabels p;
  };
  struct Slot {
    std::unique_ptr<First> first;
    std::unique_ptr<Full> full;
    std::unique_ptr<FlowResult> done;
    Instant last;
    uint64_t last_frame = 0;
    bool syn_only = true;  // every segment so far a SYN from the initiator
    bool taken = false;
  };
  size_t plot_points_ = 0;
  std::function<void(size_t, const Flow&, FlowResult&)> on_finish_;
  Full& materialise(Slot& s);
  FlowResult finish(Slot& s, size_t i, const Flow& flow);
  std::deque<Slot> slots_;
  bool swept_ = false;
  Instant next_sweep_;
  PipelineStats stats_;
};

}  // namespace vigil::analyze
