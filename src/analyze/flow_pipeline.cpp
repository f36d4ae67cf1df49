#include "analyze/flow_pipeline.hpp"

#include <bit>
#include <utility>

#include "analyze/congestion_detectors.hpp"

namespace vigil::analyze {

// The builders of one flow, fed with flow index 0.
struct FlowPipeline::Full {
  StoryBuilder story;
  CongestionDetectors congestion;
  SummaryBuilder summary;
  std::array<uint64_t, static_cast<size_t>(Label::kCount)> labels{};
  std::unique_ptr<html::FlowPlot> plot;
  size_t plot_points = 0;
  void add(const Flow& f, PacketLabels p) {
    p.flow = 0;
    story.add(f, p);
    congestion.add(f, p);
    summary.add(f, p);
    count_labels(labels, p.labels);
    if (plot_points > 0) {
      if (!plot) plot = std::make_unique<html::FlowPlot>();
      plot->add(p, plot_points);
    }
  }
  static void count_labels(std::array<uint64_t, static_cast<size_t>(Label::kCount)>& n,
                           LabelSet l) {
    for (LabelSet rest = l; rest != 0; rest &= rest - 1) {
      const auto b = static_cast<size_t>(std::countr_zero(rest));
      if (b < n.size()) ++n[b];
    }
  }
};

FlowPipeline::FlowPipeline(size_t plot_points) : plot_points_(plot_points) {}
FlowPipeline::~FlowPipeline() = default;

FlowPipeline::Full& FlowPipeline::materialise(Slot& s) {
  if (!s.full) {
    s.full = std::make_unique<Full>();
    s.full->plot_points = plot_points_;
    ++stats_.full;
    if (s.first) {
      s.full->add(s.first->flow, s.first->p);
      s.first.reset();
      --stats_.single;
    }
  }
  return *s.full;
}

void FlowPipeline::add(const Flow& flow, const PacketLabels& p) {
  if (p.flow >= slots_.size()) slots_.resize(p.flow + 1);
  Slot& s = slots_[p.flow];
  if (s.taken || s.done) {
    ++stats_.late;
    // Listed and counted (the text's labels line), not analysed.
    if (s.done) Full::count_labels(s.done->labels, p.labels);
    return;
  }
  s.last = p.time;
  s.last_frame = p.frame;
  const bool syn = has(p.labels, Label::kSyn) || has(p.labels, Label::kSynRetransmission);
  if (p.dir != 0 || !syn || p.ack_flag) s.syn_only = false;
  if (!s.full && !s.first) {
    s.first = std::make_unique<First>(First{flow, p});
    ++stats_.single;
    return;
  }
  materialise(s).add(flow, p);
}

FlowResult FlowPipeline::finish(Slot& s, size_t i, const Flow& flow) {
  FlowResult r;
  if (s.done) {
    r = std::move(*s.done);
    s.done.reset();
    --stats_.done;
    return r;
  }
  if (s.full || s.first) {
    Full& f = materialise(s);
    std::vector<Story> st = f.story.finish({flow});
    r.story = std::move(st[0]);
    for (auto& fd : f.congestion.finish(0, flow)) r.story.findings.push_back(std::move(fd));
    r.summary = std::move(f.summary.finish({flow})[0]);
    r.labels = f.labels;
    r.plot = std::move(f.plot);
    s.full.reset();
    --stats_.full;
  } else {
    // No segment reached the pipeline (--flow left the flow out).
    StoryBuilder b;
    r.story = std::move(b.finish({flow})[0]);
    SummaryBuilder sb;
    r.summary = std::move(sb.finish({flow})[0]);
  }
  r.story.flow = i;
  return r;
}

void FlowPipeline::sweep(Instant now, const std::vector<Flow>& flows) {
  if (!swept_) {
    swept_ = true;
    next_sweep_ = now + kSweepEvery;
    return;
  }
  if (now < next_sweep_) return;
  next_sweep_ = now + kSweepEvery;
  for (size_t i = 0; i < slots_.size() && i < flows.size(); ++i) {
    Slot& s = slots_[i];
    if (s.taken || s.done || (!s.full && !s.first)) continue;
    const bool ended = flows[i].end.how == "rst" || flows[i].end.how == "fin";
    if (!ended && !s.syn_only) continue;
    if (now - s.last < kMsl * 2) continue;
    // As FlowAnalyzer::finish() will leave it: a flow that did not end is
    // "open" at its last segment.
    Flow f = flows[i];
    if (f.end.how.empty()) f.end = FlowEnd{"open", s.last_frame};
    FlowResult r = finish(s, i, f);
    if (on_finish_) on_finish_(i, f, r);
    s.done = std::make_unique<FlowResult>(std::move(r));
    ++stats_.done;
    ++stats_.retired;
  }
}

FlowResult FlowPipeline::take(size_t i, const Flow& flow) {
  if (i >= slots_.size()) slots_.resize(i + 1);
  Slot& s = slots_[i];
  FlowResult r = finish(s, i, flow);
  s.taken = true;
  return r;
}

void FlowPipeline::on_finish(std::function<void(size_t, const Flow&, FlowResult&)> f) {
  on_finish_ = std::move(f);
}

PipelineStats FlowPipeline::stats() const { return stats_; }

}  // namespace vigil::analyze
