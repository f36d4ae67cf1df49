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
#include <vector>

#include "analyze/labels.hpp"
#include "vigil/time.hpp"
#include "wire/ipv4.hpp"

namespace vigil::analyze {

struct PacketLabels {
  uint64_t frame = 0;
  Instant time;
  size_t flow = 0;  // index into flows()
  int dir = 0;      // 0: from the flow's initiator (SYN sender, else first seen), 1: reverse
  LabelSet labels = 0;
  uint32_t rel_seq = 0;  // relative to the direction's ISN (as Wireshark shows it)
  uint32_t rel_ack = 0;
  uint32_t len = 0;     // payload bytes
  uint32_t window = 0;  // scaled, when the scale is known
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
  wire::Ipv4Addr addr[2];
  uint16_t port[2] = {0, 0};
  bool saw_syn = false;      // the capture has the handshake
  bool scale_known = false;  // window scale learned from both SYNs
  Instant first, last;
  uint64_t packets = 0;
  FlowEnd end;
};

class FlowAnalyzer {
 public:
  // `on_packet` (optional) is called once per TCP segment as soon as its
  // labels are final; packets() also keeps them.
  explicit FlowAnalyzer(std::function<void(const PacketLabels&)> on_packet = {});
  // One captured IPv4 datagram (checksums are not verified: captures often
  // see offloaded ones). Non-TCP and malformed datagrams are counted only.
  void add(uint64_t frame, Instant time, std::span<const uint8_t> ipv4);
  void finish();
  const std::vector<Flow>& flows() const { return flows_; }
  const std::vector<PacketLabels>& packets() const { return packets_; }
  uint64_t malformed() const { return malformed_; }

 private:
  struct Impl;
  std::vector<Flow> flows_;
  std::vector<PacketLabels> packets_;
  uint64_t malformed_ = 0;
  std::function<void(const PacketLabels&)> on_packet_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vigil::analyze
