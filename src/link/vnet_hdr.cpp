#include "link/vnet_hdr.hpp"

#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::link {

namespace {

uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

constexpr size_t kIpMin = 20;
constexpr size_t kTcpMin = 20;
constexpr uint8_t kProtoTcp = 6;

// IPv4 + TCP with sane header lengths inside `p`; sets the IP header length.
bool ipv4_tcp(std::span<const uint8_t> p, size_t* ihl_out, size_t* thl_out) {
  if (p.size() < kIpMin || (p[0] >> 4) != 4 || p[9] != kProtoTcp) return false;
  const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  if (ihl < kIpMin || p.size() < ihl + kTcpMin) return false;
  const size_t thl = static_cast<size_t>(p[ihl + 12] >> 4) * 4;
  if (thl < kTcpMin || p.size() < ihl + thl) return false;
  *ihl_out = ihl;
  *thl_out = thl;
  return true;
}

}  // namespace

std::string_view vnet_drop_name(VnetDrop d) {
  switch (d) {
    case VnetDrop::kNone:
      return "none";
    case VnetDrop::kShort:
      return "vnet_short";
    case VnetDrop::kUnsupportedGso:
      return "vnet_unsupported_gso";
    case VnetDrop::kBadCsumRange:
      return "vnet_bad_csum_range";
    case VnetDrop::kNotTcpV4:
      return "vnet_gso_not_tcpv4";
    case VnetDrop::kCount:
      break;
  }
  return "?";
}

VnetDrop decode_vnet_hdr(std::span<const uint8_t> frame, VnetHdr* out) {
  if (frame.size() < kVnetHdrSize) return VnetDrop::kShort;
  const uint8_t* p = frame.data();
  out->flags = p[0];
  out->gso_type = p[1];
  out->hdr_len = load_le16(p + 2);
  out->gso_size = load_le16(p + 4);
  out->csum_start = load_le16(p + 6);
  out->csum_offset = load_le16(p + 8);
  if (out->gso_type != VnetHdr::kGsoNone && out->gso_type != VnetHdr::kGsoTcpV4) {
    return VnetDrop::kUnsupportedGso;  // we offered TUN_F_TSO4 only
  }
  return VnetDrop::kNone;
}

void encode_vnet_hdr(const VnetHdr& h, std::span<uint8_t> out) {
  uint8_t* p = out.data();
  p[0] = h.flags;
  p[1] = h.gso_type;
  store_le16(p + 2, h.hdr_len);
  store_le16(p + 4, h.gso_size);
  store_le16(p + 6, h.csum_start);
  store_le16(p + 8, h.csum_offset);
}

VnetDrop check_vnet_packet(const VnetHdr& h, std::span<const uint8_t> packet) {
  if (h.flags & VnetHdr::kNeedsCsum) {
    // The 16-bit field must lie inside the packet, after csum_start.
    if (size_t{h.csum_start} + h.csum_offset + 2 > packet.size()) return VnetDrop::kBadCsumRange;
  }
  if (h.gso_type == VnetHdr::kGsoTcpV4) {
    size_t ihl = 0, thl = 0;
    if (!ipv4_tcp(packet, &ihl, &thl)) return VnetDrop::kNotTcpV4;
  }
  return VnetDrop::kNone;
}

void complete_checksum(const VnetHdr& h, std::span<uint8_t> packet) {
  if (!(h.flags & VnetHdr::kNeedsCsum)) return;
  const size_t field = size_t{h.csum_start} + h.csum_offset;
  if (field + 2 > packet.size()) return;  // refused by check_vnet_packet
  wire::ChecksumAccumulator acc;
  acc.add(packet.subspan(h.csum_start));
  wire::store_be16(packet.data() + field, acc.finish());
}

namespace {

// The NEEDS_CSUM (and, above `mss`, GSO TCPv4) header for an IPv4 + TCP
// datagram; flags 0 when it is not one or its lengths do not add up.
VnetHdr offload_hdr(std::span<const uint8_t> datagram, uint32_t mss, size_t* tcp_len_out) {
  VnetHdr h;
  size_t ihl = 0, thl = 0;
  if (!ipv4_tcp(datagram, &ihl, &thl)) return h;
  const size_t total = wire::load_be16(datagram.data() + 2);
  if (total > datagram.size() || total < ihl + thl) return h;
  const size_t tcp_len = total - ihl;
  h.flags = VnetHdr::kNeedsCsum;
  h.csum_start = static_cast<uint16_t>(ihl);
  h.csum_offset = 16;  // offsetof(tcphdr, check)
  if (mss > 0 && tcp_len - thl > mss) {
    h.gso_type = VnetHdr::kGsoTcpV4;
    h.hdr_len = static_cast<uint16_t>(ihl + thl);
    h.gso_size = static_cast<uint16_t>(mss);
  }
  *tcp_len_out = tcp_len;
  return h;
}

}  // namespace

VnetHdr prepare_tx(std::span<uint8_t> datagram, uint32_t mss) {
  size_t tcp_len = 0;
  if (mss == 0) return VnetHdr{};
  const VnetHdr h = offload_hdr(datagram, mss, &tcp_len);
  if (h.gso_type != VnetHdr::kGsoTcpV4) return VnetHdr{};
  // RFC 9293 §3.1 pseudo-header: the folded sum, not complemented, so the
  // kernel can add each segment's bytes to it.
  const uint8_t* ip = datagram.data();
  const wire::Ipv4Addr src{wire::load_be32(ip + 12)};
  const wire::Ipv4Addr dst{wire::load_be32(ip + 16)};
  wire::store_be16(datagram.data() + h.csum_start + h.csum_offset,
                   wire::tcp_pseudo_header_sum(src, dst, tcp_len));
  return h;
}

VnetHdr prepare_tx_partial(std::span<const uint8_t> datagram, uint32_t mss) {
  size_t tcp_len = 0;
  return offload_hdr(datagram, mss, &tcp_len);
}

}  // namespace vigil::link
