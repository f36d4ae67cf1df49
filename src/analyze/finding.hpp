// One RFC 2525 problem spotted in a trace, with the frames that show it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::analyze {

struct Finding {
  std::string problem;      // "failure to back off"
  std::string rfc_section;  // "RFC 2525 §2.10"
  std::vector<uint64_t> frames;
  double confidence = 0;  // 0..1
  std::string detail;
};

}  // namespace vigil::analyze
