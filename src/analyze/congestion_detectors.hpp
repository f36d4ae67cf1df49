// Streaming RFC 2525 detectors that need the sender's congestion window
// inferred from the trace: §2.6 extra additive constant, §2.8 failure of
// window deflation, §2.12 window-probe deadlock. Per-flow state only, so
// memory grows with flows, not packets.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "analyze/finding.hpp"
#include "analyze/flow_analyzer.hpp"

namespace vigil::analyze {

class CongestionDetectors {
 public:
  CongestionDetectors();
  ~CongestionDetectors();
  CongestionDetectors(const CongestionDetectors&) = delete;
  CongestionDetectors& operator=(const CongestionDetectors&) = delete;
  // Every TCP segment, in capture order, once its labels are final.
  void add(const Flow& flow, const PacketLabels& p);
  // After the last packet: the findings for flow `index`.
  std::vector<Finding> finish(size_t index, const Flow& flow);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analyze
