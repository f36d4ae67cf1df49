// The cases' reading of a capture: each IPv4 datagram as a TCP segment (or
// an ICMP message), with the target's send sequence tracked so a probe can
// be told from data. Parsed here with bounds checks; a datagram too short
// for its headers is kept as `malformed` and graded as nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "conform/testbed.hpp"

namespace vigil::conform {

struct Seg {
  double t = 0;  // seconds since the testbed started
  bool from_target = false;
  bool tcp = false;
  bool icmp = false;
  bool malformed = false;
  uint16_t ip_len = 0;  // the IPv4 total length
  uint8_t flags = 0;    // TCP flags
  uint32_t seq = 0, ack = 0;
  uint32_t len = 0;  // TCP payload bytes
  uint32_t win = 0;  // raw window field (unscaled)
  // For the target's segments: SND.MAX (the highest sequence number the
  // target had sent before this segment, SYN and FIN counted) and the
  // peer's latest ACK before it (SND.UNA as the wire shows it).
  uint32_t snd_max_before = 0;
  uint32_t peer_ack_before = 0;
  bool peer_ack_seen = false;

  bool syn() const { return flags & 0x02; }
  bool fin() const { return flags & 0x01; }
  bool rst() const { return flags & 0x04; }
  bool has_ack() const { return flags & 0x10; }
  // A keepalive probe's form (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4): SEQ =
  // SND.NXT - 1 with no data or the one byte there (Linux sends no data).
  bool keepalive_form() const {
    return tcp && from_target && !syn() && !fin() && !rst() && len <= 1 &&
           seq == snd_max_before - 1;
  }
};

std::vector<Seg> parse_capture(const std::vector<WireDatagram>& capture);

}  // namespace vigil::conform
