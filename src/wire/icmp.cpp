#include "wire/icmp.hpp"

#include <algorithm>
#include <cstring>

#include "wire/bytes.hpp"
#include "wire/checksum.hpp"

namespace vigil::wire {

Drop IcmpUnreachableView::parse(std::span<const uint8_t> message, IcmpUnreachableView* out,
                                bool verify_checksum) {
  if (message.size() < 8) return Drop::kIcmpTruncated;
  if (verify_checksum && internet_checksum(message) != 0) return Drop::kIcmpBadChecksum;
  if (message[0] != kIcmpDestUnreachable) return Drop::kIcmpUnsupported;
  const auto quoted = message.subspan(8);
  if (quoted.size() < kIpv4MinHeader || (quoted[0] >> 4) != 4) return Drop::kIcmpTruncated;
  const size_t ihl = static_cast<size_t>(quoted[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader || quoted.size() < ihl + 8) return Drop::kIcmpTruncated;
  if (quoted[9] != kProtoTcp) return Drop::kIcmpUnsupported;
  out->code_ = message[1];
  out->mtu_ = load_be16(&message[6]);
  out->quoted_src_ = Ipv4Addr{load_be32(&quoted[12])};
  out->quoted_dst_ = Ipv4Addr{load_be32(&quoted[16])};
  out->sport_ = load_be16(&quoted[ihl]);
  out->dport_ = load_be16(&quoted[ihl + 2]);
  out->seq_ = load_be32(&quoted[ihl + 4]);
  return Drop::kNone;
}

size_t build_icmp_unreachable(std::span<uint8_t> out, Ipv4Addr from, uint8_t code,
                              uint16_t next_hop_mtu, std::span<const uint8_t> offending) {
  if (offending.size() < kIpv4MinHeader) return 0;
  const size_t ihl = static_cast<size_t>(offending[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader || offending.size() < ihl + 8) return 0;
  const size_t quoted = ihl + 8;
  const size_t total = kIpv4MinHeader + 8 + quoted;
  if (out.size() < total) return 0;
  uint8_t* m = out.data() + kIpv4MinHeader;
  m[0] = kIcmpDestUnreachable;
  m[1] = code;
  store_be16(m + 2, 0);
  store_be16(m + 4, 0);
  store_be16(m + 6, code == icmp_code::kFragmentationNeeded ? next_hop_mtu : 0);
  std::memcpy(m + 8, offending.data(), quoted);
  store_be16(m + 2, internet_checksum(std::span<const uint8_t>(m, 8 + quoted)));
  Ipv4Fields ip;
  ip.src = from;
  ip.dst = Ipv4Addr{load_be32(&offending[12])};
  ip.protocol = kProtoIcmp;
  ip.dont_fragment = false;
  write_ipv4_header(out, ip, static_cast<uint16_t>(total));
  return total;
}

}  // namespace vigil::wire
