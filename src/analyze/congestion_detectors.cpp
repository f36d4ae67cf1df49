// RFC 2525 §2.6, §2.8 and §2.12 detectors (see congestion_detectors.hpp).
// Scaffolding: detectors are being written; none fire yet.
#include "analyze/congestion_detectors.hpp"

namespace vigil::analyze {

struct CongestionDetectors::Impl {};

CongestionDetectors::CongestionDetectors() : impl_(std::make_unique<Impl>()) {}
CongestionDetectors::~CongestionDetectors() = default;

void CongestionDetectors::add(const Flow& /*flow*/, const PacketLabels& /*p*/) {}

std::vector<Finding> CongestionDetectors::finish(size_t /*index*/, const Flow& /*flow*/) {
  return {};
}

}  // namespace vigil::analyze
