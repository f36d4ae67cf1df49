#include "wire/packet.hpp"

namespace vigil::wire {

Drop parse_packet(std::span<const uint8_t> bytes, PacketView* out, bool verify_checksums) {
  Drop d = Ipv4View::parse(bytes, &out->ip, verify_checksums);
  if (d != Drop::kNone) return d;
  switch (out->ip.protocol()) {
    case kProtoTcp:
      out->kind = PacketView::Kind::kTcp;
      return TcpView::parse(out->ip.payload(), out->ip.src(), out->ip.dst(), &out->tcp,
                            verify_checksums);
    case kProtoIcmp:
      out->kind = PacketView::Kind::kIcmpUnreachable;
      return IcmpUnreachableView::parse(out->ip.payload(), &out->icmp, verify_checksums);
    default:
      return Drop::kIpNotTcp;
  }
}

}  // namespace vigil::wire
