// libFuzzer target for the read-and-analyse path (`vigil analyze`): each
// input is a capture file. Crashes and sanitizer reports are the findings;
// broken counter invariants abort too. Built only with -DVIGIL_LIBFUZZER=ON
// (clang); run with scripts/fuzz-analyze.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "analyze_pipeline.hpp"

namespace {

// libpcap reads files, so each input goes to one per-process file in memory
// (/dev/shm) when there is one.
const std::string& input_path() {
  static const std::string path =
      std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/vigil_fuzz_" +
      std::to_string(::getpid()) + ".pcap";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = input_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (!written) return 0;
  const vigil::analyze::PipelineOutcome o = vigil::analyze::run_analyze_pipeline(path);
  if (const std::string why = vigil::analyze::pipeline_inconsistency(o); !why.empty()) {
    std::fprintf(stderr, "vigil fuzz: inconsistent counters: %s\n", why.c_str());
    std::abort();
  }
  return 0;
}
