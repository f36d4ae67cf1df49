// Per-connection stories for `vigil analyze`: when the connection was
// established, where it sat idle, the keepalive / persist / retransmission
// series it went through, how it ended, and RFC 2525 problems spotted along
// the way. Built from FlowAnalyzer's labels after finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analyze/finding.hpp"
#include "analyze/flow_analyzer.hpp"
#include "vigil/time.hpp"

namespace vigil::analyze {

struct Story {
  size_t flow = 0;
  std::optional<uint64_t> established_frame;
  Instant established_time;
  // Gaps of >= 1 s with no packet in either direction.
  std::vector<std::pair<Instant, Instant>> idle_periods;

  // One series of keepalive probes from one side (RFC 1122 §4.2.3.6).
  struct Keepalive {
    int dir = 0;
    Duration idle;      // last packet heard from the peer -> first probe
    Duration interval;  // median gap between probes
    uint32_t probes = 0;
    bool answered = false;
    std::vector<uint64_t> frames;
  };
  std::vector<Keepalive> keepalive;

  // A zero-window probe series (RFC 9293 §3.8.6.1) and its back-off.
  struct Persist {
    int dir = 0;
    Instant start, end;
    std::vector<Duration> gaps;
    std::vector<uint64_t> frames;
  };
  std::vector<Persist> persist;

  // Timeout retransmissions of one segment (RFC 6298 §5.5 back-off). gaps[0]
  // runs from when the timer started (the original send, or the last ACK
  // that restarted it, RFC 6298 §5.3) to the first retransmission.
  struct Backoff {
    int dir = 0;
    uint32_t rel_seq = 0;
    bool syn = false;
    std::vector<Duration> gaps;
    std::vector<uint64_t> frames;
  };
  std::vector<Backoff> rto;

  Duration initial_rto_estimate, min_rto_estimate, max_rto_estimate;  // zero: not seen
  std::string ending;
  std::vector<Finding> findings;
};

std::vector<Story> build_stories(const FlowAnalyzer& a);

}  // namespace vigil::analyze
