// Link layers and tunnels, one function per header. Each reads one header
// and says what comes next (Step); decapsulate() drives them in a loop of at
// most kMaxLayers steps, so a crafted frame of nested tunnels costs bounded
// work and no recursion.
#include "analyze/decap.hpp"

#include <cstring>

#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"

namespace vigil::analyze {
namespace {

using Bytes = std::span<const uint8_t>;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[1] << 8 | p[0]); }
uint32_t bswap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

// What the bytes at hand are.
enum class P {
  kEthernet,  // a MAC header (Ethernet II or 802.3 + LLC)
  kVlan,      // an 802.1Q/802.1ad tag (TCI, then an EtherType)
  kMpls,      // an MPLS label stack (RFC 3032)
  kPppoe,     // a PPPoE session header (RFC 2516 §4)
  kPpp,       // a PPP protocol field (RFC 1661 §2)
  kIpv4,
  kIpv6,
  kOther,  // not IP: skipped
  kBad,    // too short for its header
};

struct Step {
  P next;
  Bytes rest;
};

constexpr uint16_t kEtIpv4 = 0x0800, kEtIpv6 = 0x86dd, kEtVlan = 0x8100, kEtQinQ = 0x88a8,
                   kEtQinQOld = 0x9100, kEtMpls = 0x8847, kEtMplsMc = 0x8848,
                   kEtPppoeSession = 0x8864, kEtBridged = 0x6558, kEtErspan2 = 0x88be,
                   kEtErspan3 = 0x22eb, kEtPpp = 0x880b;

Step by_ethertype(uint16_t type, Bytes rest) {
  switch (type) {
    case kEtIpv4:
      return {P::kIpv4, rest};
    case kEtIpv6:
      return {P::kIpv6, rest};
    case kEtVlan:
    case kEtQinQ:
    case kEtQinQOld:
      return {P::kVlan, rest};
    case kEtMpls:
    case kEtMplsMc:
      return {P::kMpls, rest};
    case kEtPppoeSession:
      return {P::kPppoe, rest};
    case kEtBridged:
      return {P::kEthernet, rest};
    default:
      return {P::kOther, rest};
  }
}

// By the first nibble: what an MPLS stack, GTP-U or raw link carries.
Step by_version(Bytes b) {
  if (b.empty()) return {P::kBad, b};
  if ((b[0] >> 4) == 4) return {P::kIpv4, b};
  if ((b[0] >> 4) == 6) return {P::kIpv6, b};
  return {P::kOther, b};
}

// LLC with a SNAP header (AA AA 03, OUI 00-00-00, EtherType): how 802.3
// frames and 802.11 data frames carry IP (RFC 1042).
Step llc_snap(Bytes b) {
  if (b.size() < 8) return {P::kOther, b};  // too short for SNAP: some other LLC user
  if (b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 || b[3] != 0 || b[4] != 0 || b[5] != 0)
    return {P::kOther, b};
  return by_ethertype(be16(&b[6]), b.subspan(8));
}

// Ethernet II, or 802.3 (a length below 1536 in the type field) with LLC.
Step ethernet(Bytes b) {
  if (b.size() < 14) return {P::kBad, b};
  const uint16_t type = be16(&b[12]);
  if (type < 0x0600) return llc_snap(b.subspan(14));
  return by_ethertype(type, b.subspan(14));
}

// 802.1Q/802.1ad tag: TCI (PCP, DEI, 12-bit VLAN ID), then an EtherType.
Step vlan(Bytes b, std::string* via) {
  if (b.size() < 4) return {P::kBad, b};
  *via += (via->empty() ? "" : ", ") + std::string("VLAN ") + std::to_string(be16(&b[0]) & 0xfff);
  return by_ethertype(be16(&b[2]), b.subspan(4));
}

// MPLS label stack entries (RFC 3032 §2.1: label 20 bits, TC 3, S 1, TTL
// 8) up to the one with the bottom-of-stack bit. What follows has no type
// field: IP by its version nibble, or, after a pseudowire control word
// (first nibble 0, RFC 4385 §3), an Ethernet frame (RFC 4448).
Step mpls(Bytes b, std::string* via) {
  std::string labels;
  for (int i = 0; i < kMaxLayers; ++i) {
    if (b.size() < 4) return {P::kBad, b};
    const uint32_t e = be32(&b[0]);
    labels += (labels.empty() ? "" : "/") + std::to_string(e >> 12);
    b = b.subspan(4);
    if ((e & 0x100) != 0) {
      *via += (via->empty() ? "" : ", ") + std::string("MPLS ") + labels;
      if (!b.empty() && (b[0] >> 4) == 0) {
        if (b.size() < 4) return {P::kBad, b};
        return {P::kEthernet, b.subspan(4)};
      }
      return by_version(b);
    }
  }
  return {P::kBad, b};  // no bottom of stack within the bound
}

// PPPoE session stage (RFC 2516 §4): VER/TYPE 0x11, CODE 0, SESSION_ID,
// LENGTH; then the PPP protocol field.
Step pppoe(Bytes b, std::string* via) {
  if (b.size() < 6) return {P::kBad, b};
  if (b[0] != 0x11 || b[1] != 0) return {P::kOther, b};
  *via += (via->empty() ? "" : ", ") + std::string("PPPoE session ") + std::to_string(be16(&b[2]));
  return {P::kPpp, b.subspan(6)};
}

// PPP protocol field (RFC 1661 §2), one byte when compressed (RFC 1661
// §6.5: the first byte of a full field is even). 0x21 IPv4 (RFC 1332),
// 0x57 IPv6 (RFC 5072), 0x281 MPLS (RFC 3032 §4.3).
Step ppp(Bytes b) {
  if (b.empty()) return {P::kBad, b};
  uint16_t proto = b[0];
  size_t n = 1;
  if ((b[0] & 1) == 0) {
    if (b.size() < 2) return {P::kBad, b};
    proto = be16(&b[0]);
    n = 2;
  }
  b = b.subspan(n);
  if (proto == 0x21) return {P::kIpv4, b};
  if (proto == 0x57) return {P::kIpv6, b};
  if (proto == 0x281) return {P::kMpls, b};
  return {P::kOther, b};
}

// RFC 1662 §3.1 HDLC-like framing: address 0xff and control 0x03, unless
// compressed away (RFC 1661 §6.6), then the protocol field.
Step ppp_hdlc(Bytes b) {
  if (b.size() >= 2 && b[0] == 0xff && b[1] == 0x03) b = b.subspan(2);
  return {P::kPpp, b};
}

// Linux cooked captures: SLL (16 bytes, protocol at 14), SLL2 (20 bytes,
// protocol at 0). The protocol is an EtherType (ARPHRD_ETHER and most
// others).
Step linux_sll(Bytes b) {
  if (b.size() < 16) return {P::kBad, b};
  return by_ethertype(be16(&b[14]), b.subspan(16));
}
Step linux_sll2(Bytes b) {
  if (b.size() < 20) return {P::kBad, b};
  return by_ethertype(be16(&b[0]), b.subspan(20));
}

// AF_INET is 2 everywhere; AF_INET6 differs: FreeBSD/DragonFly 28, Darwin
// 30, NetBSD/OpenBSD 24 (as libpcap's pcap-null decoding accepts).
Step by_family(uint32_t family, Bytes rest) {
  if (family == 2) return {P::kIpv4, rest};
  if (family == 24 || family == 28 || family == 30) return {P::kIpv6, rest};
  return {P::kOther, rest};
}

// DLT_NULL: the family in the writer's host order, which may not be ours.
// Families are small numbers, so a value with high bits set is a
// byte-swapped one (Wireshark decides the same way).
Step null_header(Bytes b) {
  if (b.size() < 4) return {P::kBad, b};
  uint32_t family;
  std::memcpy(&family, b.data(), 4);
  if ((family & 0xffff0000u) != 0) family = bswap32(family);
  return by_family(family, b.subspan(4));
}

// DLT_LOOP: the family in network order.
Step loop_header(Bytes b) {
  if (b.size() < 4) return {P::kBad, b};
  return by_family(be32(&b[0]), b.subspan(4));
}

// LINKTYPE_NFLOG (Linux NFLOG, pcap-linktype(7)): family, version,
// resource ID, then TLVs whose length and type are in the capturing host's
// byte order (the length counts the 4-byte TLV header; TLVs are padded to
// 4 bytes). Type 9, NFULA_PAYLOAD, holds the packet.
Step nflog(Bytes b) {
  if (b.size() < 4) return {P::kBad, b};
  const uint8_t family = b[0];
  Bytes t = b.subspan(4);
  for (int i = 0; i < 64 && t.size() >= 4; ++i) {
    uint16_t len = le16(&t[0]), type = le16(&t[2]);
    // A big-endian writer: the little-endian reading is off the scale.
    if (len < 4 || len > t.size()) {
      len = be16(&t[0]);
      type = be16(&t[2]);
    }
    if (len < 4 || len > t.size()) return {P::kBad, t};
    if ((type & 0x7fff) == 9) {
      Bytes payload = t.subspan(4, len - 4u);
      if (family == 2) return {P::kIpv4, payload};
      if (family == 10) return {P::kIpv6, payload};
      return {P::kOther, payload};
    }
    const size_t padded = (size_t{len} + 3) & ~size_t{3};
    t = t.subspan(padded < t.size() ? padded : t.size());
  }
  return {P::kOther, t};  // no payload TLV
}

// An 802.11 frame (IEEE 802.11-2020 §9.2): only data frames carry IP, after
// a 24-byte MAC header (+6 with both To DS and From DS, +2 for QoS
// subtypes, +4 HT Control when QoS and the +HTC/Order bit), unprotected,
// in LLC/SNAP. Null (no data) subtypes carry nothing.
Step ieee80211(Bytes b) {
  if (b.size() < 24) return {P::kBad, b};
  const uint8_t fc0 = b[0], fc1 = b[1];
  if (((fc0 >> 2) & 3) != 2) return {P::kOther, b};  // management or control
  const uint8_t subtype = fc0 >> 4;
  if ((subtype & 0x4) != 0) return {P::kOther, b};  // Null, CF-Ack ... without data
  if ((fc1 & 0x40) != 0) return {P::kOther, b};     // Protected: encrypted payload
  size_t hl = 24;
  if ((fc1 & 3) == 3) hl += 6;
  if ((subtype & 0x8) != 0) {
    hl += 2;
    if ((fc1 & 0x80) != 0) hl += 4;
  }
  if (b.size() < hl) return {P::kBad, b};
  return llc_snap(b.subspan(hl));
}

// Radiotap (radiotap.org): version 0, pad, little-endian length of the
// whole radiotap header, then the 802.11 frame. The flags field's FCS bit
// leaves 4 bytes at the end, which the IP length fields make harmless.
Step radiotap(Bytes b) {
  if (b.size() < 8) return {P::kBad, b};
  if (b[0] != 0) return {P::kOther, b};
  const uint16_t len = le16(&b[2]);
  if (len < 8 || len > b.size()) return {P::kBad, b};
  return ieee80211(b.subspan(len));
}

std::string add4(const uint8_t* p) {
  return wire::Ipv4Addr::of(p[0], p[1], p[2], p[3]).to_string();
}
std::string add6(const uint8_t* p) {
  wire::Ipv6Addr a;
  std::memcpy(a.bytes.data(), p, 16);
  return a.to_string();
}

// ERSPAN type II (draft-foschiano-erspan §4.1): 8 bytes, Ver 1, then the
// mirrored Ethernet frame.
Step erspan2(Bytes b) {
  if (b.size() < 8) return {P::kBad, b};
  if ((b[0] >> 4) != 1) return {P::kOther, b};
  return {P::kEthernet, b.subspan(8)};
}

// ERSPAN type III (draft-foschiano-erspan §4.2): 12 bytes, Ver 2, 8 more
// with the O bit (platform-specific subheader); the frame type FT says an
// Ethernet frame (0) or an IP packet (2).
Step erspan3(Bytes b) {
  if (b.size() < 12) return {P::kBad, b};
  if ((b[0] >> 4) != 2) return {P::kOther, b};
  const size_t hl = 12 + ((b[11] & 1) != 0 ? 8 : 0);
  if (b.size() < hl) return {P::kBad, b};
  const int ft = (b[10] >> 2) & 0x1f;
  if (ft == 0) return {P::kEthernet, b.subspan(hl)};
  if (ft == 2) return by_version(b.subspan(hl));
  return {P::kOther, b};
}

// GRE (RFC 2784, key and sequence number RFC 2890; version 1 is PPTP's,
// RFC 2637 §4.1, with the acknowledgment number): the flags say which
// optional words follow the 4-byte header; the protocol is an EtherType.
// ERSPAN rides on it: type I without a sequence number (the mirrored frame
// directly), type II with one, type III by its own EtherType.
Step gre(Bytes b, const char** name) {
  if (b.size() < 4) return {P::kBad, b};
  const uint16_t flags = be16(&b[0]), proto = be16(&b[2]);
  const int version = flags & 7;
  if (version > 1) return {P::kOther, b};
  size_t hl = 4;
  if ((flags & 0x8000) != 0) hl += 4;                  // checksum + reserved1
  if ((flags & 0x2000) != 0) hl += 4;                  // key
  if ((flags & 0x1000) != 0) hl += 4;                  // sequence number
  if (version == 1 && (flags & 0x0080) != 0) hl += 4;  // acknowledgment number
  if (b.size() < hl) return {P::kBad, b};
  const Bytes rest = b.subspan(hl);
  if (version == 1) {
    *name = "PPTP GRE";
    return proto == kEtPpp ? ppp_hdlc(rest) : Step{P::kOther, rest};
  }
  if (proto == kEtErspan2) {
    if ((flags & 0x1000) == 0) {
      *name = "ERSPAN I";
      return {P::kEthernet, rest};
    }
    *name = "ERSPAN II";
    return erspan2(rest);
  }
  if (proto == kEtErspan3) {
    *name = "ERSPAN III";
    return erspan3(rest);
  }
  *name = "GRE";
  return by_ethertype(proto, rest);
}

// VXLAN (RFC 7348 §5): 8 bytes, the I flag set, then an Ethernet frame.
Step vxlan(Bytes b) {
  if (b.size() < 8) return {P::kBad, b};
  if ((b[0] & 0x08) == 0) return {P::kOther, b};
  return {P::kEthernet, b.subspan(8)};
}

// Geneve (RFC 8926 §3.4): version 0, options length in 4-byte words, the
// protocol an EtherType (0x6558 Ethernet).
Step geneve(Bytes b) {
  if (b.size() < 8) return {P::kBad, b};
  if ((b[0] >> 6) != 0) return {P::kOther, b};
  const size_t hl = 8 + 4 * size_t{static_cast<uint8_t>(b[0] & 0x3f)};
  if (b.size() < hl) return {P::kBad, b};
  return by_ethertype(be16(&b[2]), b.subspan(hl));
}

// GTP-U (3GPP TS 29.281 §5.1): version 1, PT 1, message type 255 (G-PDU)
// carries the user's IP packet after 8 bytes, 4 more when any of E, S, PN
// is set, and then the extension headers chain (length in 4-byte units,
// the last byte naming the next type, 0: none).
Step gtpu(Bytes b) {
  if (b.size() < 8) return {P::kBad, b};
  if ((b[0] >> 5) != 1 || (b[0] & 0x10) == 0 || b[1] != 0xff) return {P::kOther, b};
  size_t hl = 8;
  if ((b[0] & 0x07) != 0) {
    hl = 12;
    if (b.size() < hl) return {P::kBad, b};
    uint8_t next = (b[0] & 0x04) != 0 ? b[11] : 0;
    for (int i = 0; next != 0; ++i) {
      if (i == kMaxLayers || b.size() < hl + 1) return {P::kBad, b};
      const size_t len = 4 * size_t{b[hl]};
      if (len == 0 || b.size() < hl + len) return {P::kBad, b};
      next = b[hl + len - 1];
      hl += len;
    }
  }
  return by_version(b.subspan(hl));
}

// The transport payload of an IP packet, when it is a tunnel: GRE (47),
// IPv4 (4) or IPv6 (41) in IP (RFC 2003, RFC 4213), UDP to the VXLAN
// (4789), Geneve (6081) or GTP-U (2152) port. P::kOther: not a tunnel.
// Fragments are not opened (they are not reassembled).
Step ip_tunnel(P version, Bytes ip, std::string* via) {
  uint8_t proto = 0;
  Bytes payload;
  // The outer addresses, formatted only once a tunnel is found (this runs
  // for every packet).
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  if (version == P::kIpv4) {
    if (ip.size() < 20) return {P::kOther, ip};
    const size_t ihl = 4 * size_t{static_cast<uint8_t>(ip[0] & 0x0f)};
    if (ihl < 20 || ip.size() < ihl) return {P::kOther, ip};
    if ((be16(&ip[6]) & 0x3fff) != 0) return {P::kOther, ip};  // MF or offset
    proto = ip[9];
    size_t end = ip.size();
    const uint16_t total = be16(&ip[2]);
    if (total >= ihl && total < end) end = total;
    payload = ip.subspan(ihl, end - ihl);
    src = &ip[12];
    dst = &ip[16];
  } else {
    if (ip.size() < 40) return {P::kOther, ip};
    proto = ip[6];
    size_t off = 40;
    // Hop-by-hop, routing and destination options headers (RFC 8200 §4)
    // before the tunnel; a fragment header ends the search.
    for (int i = 0; i < 8 && (proto == wire::kIpv6HopByHop || proto == wire::kIpv6Routing ||
                              proto == wire::kIpv6DestOptions);
         ++i) {
      if (ip.size() < off + 8) return {P::kOther, ip};
      proto = ip[off];
      off += 8 * (size_t{ip[off + 1]} + 1);
    }
    if (ip.size() < off) return {P::kOther, ip};
    size_t end = ip.size();
    const size_t total = 40 + size_t{be16(&ip[4])};
    if (total > 40 && total >= off && total < end) end = total;
    payload = ip.subspan(off, end - off);
    src = &ip[8];
    dst = &ip[24];
  }
  const char* name = nullptr;
  Step s{P::kOther, payload};
  switch (proto) {
    case 4:
      name = "IPIP";
      s = {P::kIpv4, payload};
      break;
    case 41:
      name = "IPv6-in-IP";
      s = {P::kIpv6, payload};
      break;
    case 47:
      s = gre(payload, &name);
      break;
    case 17: {
      if (payload.size() < 8) return {P::kOther, ip};
      const uint16_t port = be16(&payload[2]);
      const Bytes udp = payload.subspan(8);
      if (port == 4789) {
        name = "VXLAN";
        s = vxlan(udp);
      } else if (port == 6081) {
        name = "Geneve";
        s = geneve(udp);
      } else if (port == 2152) {
        name = "GTP-U";
        s = gtpu(udp);
      } else {
        return {P::kOther, ip};
      }
      break;
    }
    default:
      return {P::kOther, ip};
  }
  if (name == nullptr) return {P::kOther, ip};
  const bool v6 = version == P::kIpv6;
  *via += (via->empty() ? "" : ", ") + std::string(name) + " " + (v6 ? add6(src) : add4(src)) +
          " -> " + (v6 ? add6(dst) : add4(dst));
  return s;
}

Step link(int lt, Bytes f) {
  switch (lt) {
    case linktype::kEthernet:
      return ethernet(f);
    case linktype::kRawA:
    case linktype::kRawB:
    case linktype::kRaw:
    case linktype::kIpv4:
    case linktype::kIpv6:
      return by_version(f);
    case linktype::kLinuxSll:
      return linux_sll(f);
    case linktype::kLinuxSll2:
      return linux_sll2(f);
    case linktype::kNull:
      return null_header(f);
    case linktype::kLoop:
      return loop_header(f);
    case linktype::kPpp:
    case linktype::kPppHdlc:
      return ppp_hdlc(f);
    case linktype::kNflog:
      return nflog(f);
    case linktype::kRadiotap:
      return radiotap(f);
    case linktype::kIeee80211:
      return ieee80211(f);
    default:
      return {P::kBad, f};
  }
}

}  // namespace

bool link_supported(int lt) {
  switch (lt) {
    case linktype::kNull:
    case linktype::kEthernet:
    case linktype::kPpp:
    case linktype::kRawA:
    case linktype::kRawB:
    case linktype::kPppHdlc:
    case linktype::kRaw:
    case linktype::kIeee80211:
    case linktype::kLoop:
    case linktype::kLinuxSll:
    case linktype::kRadiotap:
    case linktype::kIpv4:
    case linktype::kIpv6:
    case linktype::kNflog:
    case linktype::kLinuxSll2:
      return true;
    default:
      return false;
  }
}

const char* link_supported_text() {
  return "supported: EN10MB (1), RAW (12/14/101), IPV4 (228), IPV6 (229), LINUX_SLL (113), "
         "LINUX_SLL2 (276), NULL (0), LOOP (108), PPP (9), PPP_HDLC (50), NFLOG (239), "
         "IEEE802_11 (105), IEEE802_11_RADIO (127)";
}

Decapsulated decapsulate(int lt, Bytes frame) {
  Decapsulated d;
  Step s = link(lt, frame);
  // The last IP packet reached: what is analysed when a tunnel inside it
  // turns out cut, malformed or not IP.
  Inner outer = Inner::kOther;
  Bytes outer_ip;
  auto fallback = [&](bool bad) {
    d.kind = outer != Inner::kOther ? outer : (bad ? Inner::kBad : Inner::kOther);
    d.ip = outer_ip;
    d.bad_tunnel = bad && outer != Inner::kOther;
    return d;
  };
  for (int layer = 0; layer < kMaxLayers; ++layer) {
    switch (s.next) {
      case P::kIpv4:
      case P::kIpv6: {
        const Inner kind = s.next == P::kIpv4 ? Inner::kIpv4 : Inner::kIpv6;
        // A tunnelled packet's own version must match what announced it;
        // the outermost one goes to the analyzer, which counts it malformed.
        if (s.rest.empty() || (s.rest[0] >> 4) != (s.next == P::kIpv4 ? 4 : 6)) {
          if (outer != Inner::kOther) return fallback(true);
          d.kind = kind;
          d.ip = s.rest;
          return d;
        }
        outer = kind;
        outer_ip = s.rest;
        std::string via = d.via;
        Step t = ip_tunnel(s.next, s.rest, &via);
        if (t.next == P::kOther && t.rest.data() == s.rest.data()) {
          d.kind = outer;
          d.ip = outer_ip;
          return d;  // not a tunnel: this is the packet
        }
        d.via = std::move(via);
        d.tunnelled = true;
        s = t;
        break;
      }
      case P::kEthernet:
        s = ethernet(s.rest);
        break;
      case P::kVlan:
        s = vlan(s.rest, &d.via);
        break;
      case P::kMpls:
        s = mpls(s.rest, &d.via);
        break;
      case P::kPppoe:
        s = pppoe(s.rest, &d.via);
        break;
      case P::kPpp:
        s = ppp(s.rest);
        break;
      case P::kOther:
        return fallback(false);
      case P::kBad:
        return fallback(true);
    }
  }
  return fallback(true);  // nested deeper than kMaxLayers
}

}  // namespace vigil::analyze
