// From a captured frame to the IP packet that carries TCP: strips the link
// layer (Ethernet, Linux cooked, PPP, NFLOG, 802.11 ...) and then any
// tunnels and tags around the inner packet (VLAN/QinQ, MPLS, PPPoE, GRE,
// ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP). Pure parsing, no allocation but
// the description; nesting is bounded (kMaxLayers), so crafted input cannot
// recurse without end.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace vigil::analyze {

// LINKTYPE_/DLT_ values this file understands (pcap-linktype(7)).
namespace linktype {
constexpr int kNull = 0;
constexpr int kEthernet = 1;
constexpr int kPpp = 9;
constexpr int kRawA = 12;     // DLT_RAW on most systems (DLT_LOOP on OpenBSD)
constexpr int kRawB = 14;     // DLT_RAW on OpenBSD and BSD/OS
constexpr int kPppHdlc = 50;  // PPP in HDLC-like framing (RFC 1662)
constexpr int kRaw = 101;
constexpr int kIeee80211 = 105;
constexpr int kLoop = 108;
constexpr int kLinuxSll = 113;
constexpr int kRadiotap = 127;
constexpr int kIpv4 = 228;
constexpr int kIpv6 = 229;
constexpr int kNflog = 239;
constexpr int kLinuxSll2 = 276;
}  // namespace linktype

// Link types decapsulate() can read, and a sentence naming them.
bool link_supported(int linktype);
const char* link_supported_text();

enum class Inner { kIpv4, kIpv6, kOther, kBad };

struct Decapsulated {
  Inner kind = Inner::kOther;
  std::span<const uint8_t> ip;  // the innermost IP packet (kIpv4/kIpv6)
  // Tunnels and tags passed on the way, outermost first, e.g.
  // "VLAN 100, GRE 192.0.2.1 -> 192.0.2.2" ("" for none).
  std::string via;
  bool tunnelled = false;  // an IP tunnel (GRE, VXLAN ... IP-in-IP) was opened
  // A tunnel header was recognised but what it carries was cut or malformed:
  // ip is the outer packet, analysed as it is (non-TCP).
  bool bad_tunnel = false;
};

// At most this many headers (link, tags, tunnels) are opened per frame.
constexpr int kMaxLayers = 16;

Decapsulated decapsulate(int linktype, std::span<const uint8_t> frame);

}  // namespace vigil::analyze
