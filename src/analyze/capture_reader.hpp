// Streams IPv4 and IPv6 packets out of a capture file (pcap through libpcap;
// pcapng read block by block here, so that interfaces of different link
// types and snaplens all count), standard input, or a live interface, with
// frame numbers as Wireshark counts them. Link layers and tunnels are
// opened by decapsulate() (decap.hpp). Memory stays bounded: one packet at
// a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "vigil/time.hpp"

namespace vigil::analyze {

struct CapturedPacket {
  uint64_t frame = 0;             // 1-based, every frame in the file counts
  Instant time;                   // capture timestamp (ns since the epoch)
  std::span<const uint8_t> ipv4;  // the IPv4 datagram or IPv6 packet (valid until the next call)
  std::span<const uint8_t> ip;    // the same (a version-neutral name)
  uint32_t original_length = 0;   // on-the-wire length of the whole frame
  // On-the-wire length of `ip` (original_length less the link header): what
  // a packet whose own length field cannot tell (a TSO or BIG TCP frame)
  // was, when the snaplen cut it.
  uint32_t ip_wire_length = 0;
  bool truncated = false;  // captured shorter than the frame (snaplen)
  // Tunnels and tags the packet came through, outermost first ("" none):
  // "GRE 192.0.2.1 -> 192.0.2.2", "VLAN 100" (valid until the next call).
  std::string via;
  uint32_t interface = 0;  // pcapng interface (0 for pcap and live)
};

struct ReaderStats {
  uint64_t frames = 0;
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
  uint64_t non_ipv4 = 0;         // neither IPv4 nor IPv6 (ARP ...): skipped
  uint64_t bad_link_header = 0;  // too short for its link header
  uint64_t truncated = 0;        // IP packets captured shorter than sent (snaplen)
  uint64_t tunnelled = 0;        // IP packets taken out of an IP tunnel (GRE, VXLAN ...)
  // A tunnel header whose content was cut or malformed: the outer packet
  // is analysed as it is.
  uint64_t bad_tunnel = 0;
  uint64_t bad_blocks = 0;    // pcapng blocks framed right but malformed inside: skipped
  uint64_t filtered_out = 0;  // frames the -f filter did not match
  uint64_t interfaces = 0;    // pcapng Interface Description Blocks (0: pcap)
};

class CaptureReader {
 public:
  virtual ~CaptureReader() = default;
  // nullptr with *error set (file missing, not a capture, unsupported link
  // type, naming the supported ones).
  // "-" reads standard input.
  static std::unique_ptr<CaptureReader> open(const std::string& path, std::string* error);
  // A live capture on `iface` (libpcap; needs CAP_NET_RAW). next() waits
  // for packets and returns false once interrupt() was called.
  static std::unique_ptr<CaptureReader> open_live(const std::string& iface, std::string* error);
  // Async-signal-safe: makes a live next() return false (Ctrl-C).
  static void interrupt();
  // A BPF filter (pcap-filter(7)), compiled by libpcap for each link type
  // in the capture; frames it does not match are counted and skipped (frame
  // numbers still count them). false with *error = libpcap's message.
  virtual bool set_filter(const std::string& expression, std::string* error) = 0;
  // The next IPv4 or IPv6 packet; false at the end of the file, or when a record
  // cannot be read (then error() says why).
  virtual bool next(CapturedPacket* out) = 0;
  // Empty, or why reading stopped early: "frame N: <libpcap's message>",
  // N being the frame that could not be read (e.g. a record cut short by a
  // capture killed mid-write, or a record header with an impossible length).
  virtual const std::string& error() const = 0;
  virtual const ReaderStats& stats() const = 0;
  virtual int link_type() const = 0;  // DLT_* value
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t file_size() const = 0;
};

}  // namespace vigil::analyze
