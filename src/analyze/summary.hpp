// The per-flow summary of `vigil analyze` (issue 13 point 14): what a user
// reaches for first in Wireshark's Conversations and Expert views, one row
// per connection. Built from FlowAnalyzer's labelled segments as they stream
// by, with a few counters per flow (and at most kSummaryMaxInFlight
// outstanding segments per direction for the RTT samples). The columns are
// defined in docs/analyze-json.md ("summary").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "util/json.hpp"
#include "vigil/time.hpp"

namespace vigil::analyze {

// Segments whose ACK is awaited for an RTT sample, per direction; more in
// flight at once are not sampled (the count of samples says how many were).
inline constexpr size_t kSummaryMaxInFlight = 128;

struct FlowSummary {
  uint64_t packets = 0;        // segments, capture duplicates excluded
  uint64_t bytes[2] = {};      // payload sent by dir d, retransmissions included
  uint64_t acked[2] = {};      // distinct payload bytes of dir d the peer acknowledged
  uint64_t data_segments = 0;  // segments with payload (probes and keepalives excluded)
  uint64_t retransmitted = 0;  // of which labelled as any kind of retransmission
  Duration duration;           // first to last packet
  // Time from a segment (sent once: Karn's rule, RFC 6298 §3) to the first
  // ACK from the peer that covers it, as the capture point sees it: the path
  // beyond the capture point and back (Wireshark's tcp.analysis.ack_rtt).
  // Only segments of rtt_dir, the direction that sent more payload (SYN and
  // FIN count), so a capture near the receiver does not mix in its own
  // immediate ACKs.
  int rtt_dir = 0;
  uint64_t rtt_samples = 0;
  Duration rtt_min, rtt_max, rtt_sum;
  // Time during which either side advertised a zero window: from its
  // zero_window segment to its next segment with an open window (or the end).
  Duration zero_window;
  std::string end;   // "fin", "rst", "open" (Flow::end.how)
  int end_dir = -1;  // who sent the RST or the first FIN (-1: open)

  // bit/s: acked[d] * 8 / duration; negative when the duration is zero.
  double goodput_bps(int d) const;
  // retransmitted / data_segments * 100; negative without data segments.
  double retransmission_pct() const;
  Duration rtt_avg() const;
};

class SummaryBuilder {
 public:
  SummaryBuilder();
  ~SummaryBuilder();
  SummaryBuilder(const SummaryBuilder&) = delete;
  SummaryBuilder& operator=(const SummaryBuilder&) = delete;
  // Every segment in capture order (FlowAnalyzer's callback).
  void add(const Flow& flow, const PacketLabels& p);
  // One summary per flow, summaries[i] for flows[i].
  std::vector<FlowSummary> finish(const std::vector<Flow>& flows);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The text table (one header line, one line per flow). `only`: when given,
// just the flows i with (*only)[i] != 0 (--flow), still numbered i.
std::string summary_table(const std::vector<Flow>& flows, const std::vector<FlowSummary>& s,
                          const std::vector<char>* only = nullptr);
// The same, in pieces to `write` (200,000 rows never formatted at once);
// flow i's row from summary_of(i), none when it gives null.
void summary_table(const std::vector<Flow>& flows,
                   const std::function<const FlowSummary*(size_t)>& summary_of,
                   const std::function<void(std::string_view)>& write);
// The same as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or
// line break quoted, quotes doubled), with a header row.
std::string summary_csv(const std::vector<Flow>& flows, const std::vector<FlowSummary>& s,
                        const std::vector<char>* only = nullptr);
// Its header row, and flow i's row, for writing one row at a time.
std::string summary_csv_header();
std::string summary_csv_row(const Flow& flow, size_t i, const FlowSummary& s);
// One field quoted as RFC 4180 §2 asks.
std::string csv_field(const std::string& v);
// The "summary" object of a flow in --json.
void summary_json(util::JsonWriter& j, const FlowSummary& s);
// "1.50 Mbit/s", "980 bit/s"; "-" when negative (unknown).
std::string format_rate(double bps);

}  // namespace vigil::analyze

namespace vigil::analyze {

// Appends `lines` to `out`, each run of identical consecutive lines as one
// line with " (N times in a row)" (issue 13 point 15: a lossy transfer's 62
// identical "RTO back-off: gaps 1s" lines are one line).
void append_collapsed(std::string& out, const std::vector<std::string>& lines);

}  // namespace vigil::analyze
