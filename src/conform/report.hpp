// `vigil conform`'s outputs: the text table, JSON, the HTML page (the
// matrix and each case's time-sequence plot from the analyzer), the
// markdown matrix for docs/conformance.md, and each case's pcap.
#pragma once

#include <string>
#include <vector>

#include "conform/cases.hpp"

namespace vigil::conform {

struct TargetRun {
  std::string target;  // the testbed's name: "vigil linux"
  std::vector<std::pair<const Case*, CaseResult>> results;
};

std::string text_report(const TargetRun& run);
std::string json_report(const std::vector<TargetRun>& runs);
std::string html_report(const std::vector<TargetRun>& runs);
// Rows: cases; columns: targets; cells: verdict and measured value.
std::string markdown_matrix(const std::vector<TargetRun>& runs);
// Writes DIR/<target>-<case>.pcap for every case with a capture; "" or
// the first error.
std::string write_pcaps(const TargetRun& run, const std::string& dir);
// True if any case failed.
bool any_failed(const std::vector<TargetRun>& runs);

}  // namespace vigil::conform
