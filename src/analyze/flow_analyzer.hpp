// Reconstructs TCP connections from captured IPv4 packets and labels every
// segment (keep-alive vs zero-window probe vs retransmission ...). It sees
// packets as a capture point does, in order, both directions, and keeps
// only per-flow state, so memory grows with flows, not packets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/labels.hpp"
#include "vigil/time.hpp"
#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::analyze {

struct PacketLabels {
  uint64_t frame = 0;
  Instant time;
  size_t flow = 0;  // index into flows()
  int dir = 0;      // 0: from the flow's initiator (SYN sender, else first seen), 1: reverse
  LabelSet labels = 0;
  uint32_t rel_seq = 0;  // relative to the direction's ISN (as Wireshark shows it)
  uint32_t rel_ack = 0;
  uint32_t len = 0;       // payload bytes
  uint32_t window = 0;    // scaled, when the scale is known
  bool ack_flag = false;  // the ACK bit: a RST without it may be a no-connection reply
  // SACK blocks (RFC 2018) in this segment, relative to the peer's ISN like
  // rel_ack: [left, right) pairs.
  uint8_t sack_count = 0;
  uint32_t rel_sack[4][2] = {};
};

struct FlowEnd {
  std::string how;  // "fin", "rst", "open" (still open at the end of the capture)
  uint64_t frame = 0;
};

struct Flow {
  wire::Ipv4Addr addr[2];  // IPv4 flows (0.0.0.0 for IPv6 ones)
  bool ipv6 = false;
  wire::Ipv6Addr addr6[2];  // IPv6 flows
  uint16_t port[2] = {0, 0};
  bool saw_syn = false;      // the capture has the handshake
  bool scale_known = false;  // window scale learned from both SYNs
  Instant first, last;
  uint64_t packets = 0;
  FlowEnd end;
  // The tunnels and tags its first packet came through ("" none), e.g.
  // "VXLAN 192.0.2.1 -> 192.0.2.2" (CapturedPacket::via).
  std::string via;
  // "10.0.0.1:80" or "[2001:db8::1]:80" (RFC 5952 §6).
  std::string endpoint(int side) const;
};

// What FlowAnalyzer::add skipped or treated specially, by reason.
struct AnalyzerStats {
  uint64_t tcp = 0;            // segments labelled
  uint64_t ipv6 = 0;           // of which over IPv6
  uint64_t non_tcp = 0;        // ICMP and other protocols
  uint64_t fragments = 0;      // IP fragments (MF or offset set): not reassembled
  uint64_t malformed_ip = 0;   // bad version, header length, or length fields
  uint64_t malformed_tcp = 0;  // bad data offset or options
  uint64_t cut_headers = 0;    // cut by the snaplen inside the IP or TCP header
  uint64_t snaplen_cut = 0;    // payload cut by the snaplen: analysed from the headers
  uint64_t options_cut = 0;    // of which the TCP options too: read as far as captured
  // IPv4 total length 0 or IPv6 payload length 0 (TSO/GSO and BIG TCP frames
  // captured on the sending host, RFC 2675 jumbograms): analysed with the
  // length the capture gives.
  uint64_t length_from_capture = 0;
  uint64_t holes_forgotten = 0;     // per-direction gap list full: the oldest gap forgotten
  uint64_t capture_duplicates = 0;  // the same datagram captured twice: labelled, not analysed
  // RFC 2883 hold-back (see FlowAnalyzer::add).
  uint64_t dsack_spurious = 0;    // retransmissions a later D-SACK showed spurious
  uint64_t holdback_expired = 0;  // open retransmissions closed by the bound, no verdict
  uint64_t max_held = 0;          // most packets held back at once (streaming)
};

class FlowAnalyzer {
 public:
  // Called once per TCP segment, in frame order, as soon as its labels are
  // final, with the flow it belongs to as it was at that segment (valid only
  // during the call).
  using PacketCallback = std::function<void(const Flow&, const PacketLabels&)>;
  // Streaming: every segment goes to `on_packet` and nothing is kept, so
  // memory grows with flows, not packets.
  explicit FlowAnalyzer(PacketCallback on_packet);
  // Retaining: without a callback every segment is kept in packets() (unit
  // tests and build_stories(const FlowAnalyzer&); memory grows with packets).
  FlowAnalyzer();
  // One captured IPv4 datagram or IPv6 packet, told apart by the version
  // field (IPv6 extension headers are skipped, fragments counted and
  // dropped). Checksums are not verified: captures often see offloaded
  // ones. A datagram cut by the snaplen is analysed from its headers when
  // the IP header(s) and the fixed 20-byte TCP header were captured (the
  // payload length comes from the IPv4 total length or the IPv6 payload
  // length); TCP options are read as far as they were captured whole.
  // Non-TCP and malformed datagrams are counted only.
  //
  // A retransmission's `spurious_retransmission` label may come from the
  // peer's reply: a D-SACK (RFC 2883) naming its bytes. So a retransmission
  // stays open until the peer acknowledges its bytes at least one handshake
  // round trip after it (or names it in a D-SACK); in streaming mode it and
  // every later packet are held until then, so the callback still sees
  // frame order. Bounded: at most 256 packets held, and an entry is closed
  // 1 s of capture time after its retransmission. finish() releases all.
  //
  // A length field of 0 (an IPv4 total length below its minimum of 20, RFC
  // 791; an IPv6 Payload Length of 0) is what a capture on the sending
  // host shows for TSO/GSO frames and BIG TCP: the packet is real, and its
  // length is the Jumbo Payload option's (RFC 2675) or else `wire_length`
  // (the on-the-wire length of `ip`, which the snaplen may have cut; 0:
  // what was captured).
  // `via`: the tunnels the packet came through, kept as a new flow's via.
  void add(uint64_t frame, Instant time, std::span<const uint8_t> ipv4, size_t wire_length = 0,
           std::string_view via = {});
  void finish();
  const std::vector<Flow>& flows() const { return flows_; }
  const std::vector<PacketLabels>& packets() const { return packets_; }
  const AnalyzerStats& stats() const { return stats_; }
  // Datagrams dropped as malformed (IP, TCP or cut inside a header).
  uint64_t malformed() const {
    return stats_.malformed_ip + stats_.malformed_tcp + stats_.cut_headers;
  }

 private:
  struct Impl;
  // What the snaplen cut off a segment.
  struct Cut {
    bool cut = false;          // analysed from the headers, the payload length from elsewhere
    bool payload_cut = false;  // the payload was cut by the snaplen
    bool options = false;      // the TCP options too (those captured whole were read)
    int option_kind = -1;      // the kind of the option the cut fell in (-1: between options)
    size_t tcp_header = 0;     // the TCP header's length (data offset)
  };
  struct Endpoints {
    bool v6 = false;
    wire::Ipv6Addr src, dst;  // IPv4 ones mapped
    wire::Ipv4Addr src4, dst4;
    Cut cut;
    uint64_t sig = 0;  // hash of the IP and TCP headers as captured (capture duplicates)
  };
  void add_ipv6(uint64_t frame, Instant time, std::span<const uint8_t> ip, size_t wire_length);
  bool headers_only(std::span<const uint8_t> ip, size_t ip_header, Cut* cut);
  // len: payload bytes (from the IP length fields when the capture cut them).
  void segment(uint64_t frame, Instant time, const Endpoints& e, const wire::TcpView& t,
               uint32_t len);
  void release();  // streaming: hands on held packets no open retransmission blocks
  std::vector<Flow> flows_;
  std::vector<PacketLabels> packets_;
  bool retain_ = false;
  AnalyzerStats stats_;
  PacketCallback on_packet_;
  std::vector<uint8_t> scratch_;  // the headers of a snaplen-cut datagram
  std::shared_ptr<Impl> impl_;
  std::string_view via_;  // add()'s `via`, for the duration of the call
};

}  // namespace vigil::analyze
