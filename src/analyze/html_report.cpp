// HTML/SVG report (see html_report.hpp). Scaffolding: being written.
#include "analyze/html_report.hpp"

namespace vigil::analyze {

struct HtmlReport::Impl {};

HtmlReport::HtmlReport(size_t /*max_points_per_flow*/) : impl_(std::make_unique<Impl>()) {}
HtmlReport::~HtmlReport() = default;

void HtmlReport::add(const Flow& /*flow*/, const PacketLabels& /*p*/) {}

std::string HtmlReport::render(const std::string& title, const std::vector<Flow>& /*flows*/,
                               const std::vector<Story>& /*stories*/) const {
  return "<!DOCTYPE html><title>" + title + "</title><p>report not implemented yet</p>\n";
}

}  // namespace vigil::analyze
