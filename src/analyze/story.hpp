// Per-connection stories for `vigil analyze`: when the connection was
// established, where it sat idle, the keepalive / persist / retransmission
// series it went through, how it ended, and RFC 2525 problems spotted along
// the way. Built incrementally from FlowAnalyzer's labels, one packet at a
// time, keeping per-flow state only: every list below is capped, with
// counts of what did not fit, so memory grows with flows, not packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analyze/finding.hpp"
#include "analyze/flow_analyzer.hpp"
#include "vigil/time.hpp"

namespace vigil::analyze {

// Caps on what one story stores (the counts stay exact).
inline constexpr size_t kStoryMaxFrames = 64;     // frames/gaps kept per series
inline constexpr size_t kStoryMaxSeries = 64;     // keepalive, persist, rto series each
inline constexpr size_t kStoryMaxIdle = 256;      // idle periods
inline constexpr size_t kStoryMaxFindings = 32;   // findings per flow from the story detectors
inline constexpr size_t kStoryMaxSendLog = 4096;  // unacknowledged segments remembered per side

struct Story {
  size_t flow = 0;
  std::optional<uint64_t> established_frame;
  Instant established_time;
  // Gaps of >= 1 s with no packet in either direction.
  std::vector<std::pair<Instant, Instant>> idle_periods;

  // One series of keepalive probes from one side (RFC 1122 §4.2.3.6): a
  // run of probes that were answered (the last one at least), or a run of
  // unanswered ones (after an answered run, its own series: the peer went
  // silent). After an answered probe the sender waits the idle time again,
  // after an unanswered one the interval, and the two are inferred that way.
  struct Keepalive {
    int dir = 0;
    Duration idle;        // median of: last packet heard from the peer -> next probe
    Duration interval;    // median gap after an unanswered probe (zero: none seen)
    uint32_t probes = 0;  // all of them (frames holds the first kStoryMaxFrames)
    bool answered = false;
    std::vector<uint64_t> frames;
    uint64_t last_frame = 0;
  };
  std::vector<Keepalive> keepalive;

  // A zero-window probe series (RFC 9293 §3.8.6.1) and its back-off.
  struct Persist {
    int dir = 0;
    Instant start, end;
    std::vector<Duration> gaps;
    std::vector<uint64_t> frames;
    uint32_t probes = 0;    // all of them
    uint32_t answered = 0;  // probes the peer answered (zero_window_probe_ack)
    uint64_t last_frame = 0;
  };
  std::vector<Persist> persist;

  // Timeout retransmissions of one segment (RFC 6298 §5.5 back-off). gaps[0]
  // runs from when the timer started (the original send, or the last ACK
  // that restarted it, RFC 6298 §5.3) to the first retransmission.
  struct Backoff {
    int dir = 0;
    uint32_t rel_seq = 0;
    bool syn = false;
    std::vector<Duration> gaps;  // gaps[i] ends at frames[i]
    std::vector<uint64_t> frames;
    uint32_t retransmissions = 0;  // all of them
    Duration total;                // sum of all gaps
    uint64_t last_frame = 0;
  };
  std::vector<Backoff> rto;

  // The RST that ended the connection while a zero-window probe series was
  // running (seed 003): who sent it, the probes, and whether it fell on the
  // prober's next probe expiry (timer-driven) or between probes (an
  // application's abortive close: close with unread data, SO_LINGER 0).
  struct Reset {
    int dir = 0;
    uint64_t frame = 0;
    bool prober = true;  // the RST sender was probing; false: it was answering the peer's probes
    uint32_t probes = 0, answered = 0;
    uint64_t last_probe_frame = 0;
    uint64_t last_answer_frame = 0;  // 0: the last probe was not answered
    Duration since_last_probe;       // RST time - last probe
    Duration next_probe_after;       // the back-off's next gap; zero: unknown
    std::string timing;  // "between_probes", "probe_expiry", "unknown", "" (answering side)
    // Nonzero: the RST answered the peer's segment at this frame as a host
    // with no such connection does (no ACK bit, SEQ = that segment's ACK,
    // RFC 9293 §3.10.7.1): the connection had already ended on its side.
    uint64_t answers_frame = 0;
  };
  std::optional<Reset> reset;

  Duration initial_rto_estimate, min_rto_estimate, max_rto_estimate;  // zero: not seen
  std::string ending;
  std::vector<Finding> findings;
  // What the caps left out.
  uint64_t idle_periods_omitted = 0;
  uint64_t series_omitted = 0;
  uint64_t findings_omitted = 0;
};

// Builds the stories while packets stream by.
class StoryBuilder {
 public:
  StoryBuilder();
  ~StoryBuilder();
  StoryBuilder(const StoryBuilder&) = delete;
  StoryBuilder& operator=(const StoryBuilder&) = delete;
  // Every TCP segment in capture order. `flow` is p.flow's flow as it is at
  // this packet (its end is already set when p is the RST or FIN ending it).
  void add(const Flow& flow, const PacketLabels& p);
  // After FlowAnalyzer::finish(): one story per flow, stories[i] for flows[i].
  std::vector<Story> finish(const std::vector<Flow>& flows);
  // Elements held in per-flow lists (frames, gaps, send logs ...): bounded
  // per flow whatever the number of packets (tests use it).
  size_t retained_items() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The same from an analyzer that retained its packets (FlowAnalyzer()).
std::vector<Story> build_stories(const FlowAnalyzer& a);

}  // namespace vigil::analyze
