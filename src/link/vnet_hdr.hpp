// The virtio-net header that a TUN device opened with IFF_VNET_HDR puts in
// front of every packet (Virtio 1.2 §5.1.6 "Device Operation", struct
// virtio_net_hdr without num_buffers: 10 bytes). It carries the offloads:
// a GSO super-segment ("segment this at gso_size") and a partial checksum
// ("the checksum field holds only the pseudo-header sum; finish it over
// [csum_start, end) and store it at csum_start + csum_offset").
//
// vigil asks the kernel for little-endian headers (TUNSETVNETLE), so the
// 16-bit fields are decoded as little-endian on every host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vigil::link {

inline constexpr size_t kVnetHdrSize = 10;

struct VnetHdr {
  // flags (Virtio §5.1.6): NEEDS_CSUM = partial checksum to complete;
  // DATA_VALID = the device already checked it.
  static constexpr uint8_t kNeedsCsum = 1;
  static constexpr uint8_t kDataValid = 2;
  // gso_type
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpV4 = 1;
  static constexpr uint8_t kGsoUdp = 3;
  static constexpr uint8_t kGsoTcpV6 = 4;
  static constexpr uint8_t kGsoEcn = 0x80;

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;   // bytes of IP + TCP header in every segment
  uint16_t gso_size = 0;  // payload bytes per segment
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

// Why a packet read from the device was refused; each is counted.
enum class VnetDrop : uint8_t {
  kNone = 0,
  kShort,           // fewer bytes than the header
  kUnsupportedGso,  // a GSO type vigil did not ask for (UDP, TCPv6, ECN)
  kBadCsumRange,    // csum_start/csum_offset outside the packet
  kNotTcpV4,        // GSO TCPv4 on something that is not IPv4 + TCP
  kCount
};
std::string_view vnet_drop_name(VnetDrop d);

// Reads the header at the front of `frame`.
VnetDrop decode_vnet_hdr(std::span<const uint8_t> frame, VnetHdr* out);
// Writes `h` into the first kVnetHdrSize bytes of `out` (at least that long).
void encode_vnet_hdr(const VnetHdr& h, std::span<uint8_t> out);

// Checks `h` against the packet it prefixes (the bytes after the header):
// partial-checksum offsets inside the packet, GSO only on IPv4 + TCP.
VnetDrop check_vnet_packet(const VnetHdr& h, std::span<const uint8_t> packet);

// NEEDS_CSUM: sums [csum_start, end) (the field already holds the
// pseudo-header sum) and stores the complement, as a NIC would. The
// offsets must have passed check_vnet_packet.
void complete_checksum(const VnetHdr& h, std::span<uint8_t> packet);

// For a TCP/IPv4 datagram vigil built with a full checksum: the header to
// send it with. When its payload exceeds `mss` (and mss > 0) it becomes a
// GSO TCPv4 super-segment with gso_size = mss, and its TCP checksum field
// is rewritten to the pseudo-header sum with NEEDS_CSUM, which is what the
// kernel's segmentation expects (each segment's checksum is finished
// there). Anything else goes with a zero header, checksum intact.
VnetHdr prepare_tx(std::span<uint8_t> datagram, uint32_t mss);

// For a TCP/IPv4 datagram built with a partial checksum (the field already
// holds the pseudo-header sum, wire::TcpChecksum::kPartial): NEEDS_CSUM
// always, so the kernel finishes the checksum (or, delivering locally,
// trusts it as CHECKSUM_PARTIAL), and GSO TCPv4 with gso_size = mss when the
// payload exceeds `mss` (and mss > 0). The datagram is not touched. A
// datagram that is not IPv4 + TCP with a consistent length gets a zero
// header.
VnetHdr prepare_tx_partial(std::span<const uint8_t> datagram, uint32_t mss);

}  // namespace vigil::link
