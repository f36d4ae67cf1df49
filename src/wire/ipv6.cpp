#include "wire/ipv6.hpp"

#include <cstdio>

#include "wire/bytes.hpp"

namespace vigil::wire {

std::string Ipv6Addr::to_string() const {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  // The longest run of zero groups, at least two long (RFC 5952 §4.2.2).
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

Drop Ipv6View::parse(std::span<const uint8_t> bytes, Ipv6View* out) {
  if (bytes.size() < kIpv6Header) return Drop::kIpTruncated;
  if ((bytes[0] >> 4) != 6) return Drop::kIpBadVersion;
  const size_t payload_length = load_be16(&bytes[4]);
  // Shorter than received is link padding; longer means missing bytes. Zero
  // announces a jumbogram (RFC 2675), which a capture of TCP never needs.
  if (payload_length == 0 || kIpv6Header + payload_length > bytes.size()) {
    return Drop::kIpLengthMismatch;
  }
  const std::span<const uint8_t> packet = bytes.first(kIpv6Header + payload_length);
  uint8_t next = bytes[6];
  size_t off = kIpv6Header;
  // RFC 8200 §4.1 order; a chain is short in practice, but bound the walk
  // anyway (each header is at least 8 bytes, so the length bounds it too).
  for (int hops = 0; hops < 16; ++hops) {
    if (next == kIpv6Fragment) return Drop::kIpFragment;  // no reassembly
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6DestOptions) break;
    // Hdr Ext Len: 8-octet units beyond the first 8 (RFC 8200 §4.3-4.6).
    if (packet.size() < off + 8) return Drop::kIpTruncated;
    const size_t len = (size_t{packet[off + 1]} + 1) * 8;
    if (packet.size() < off + len) return Drop::kIpTruncated;
    next = packet[off];
    off += len;
  }
  out->src_ = Ipv6Addr{};
  out->dst_ = Ipv6Addr{};
  for (size_t i = 0; i < 16; ++i) {
    out->src_.bytes[i] = bytes[8 + i];
    out->dst_.bytes[i] = bytes[24 + i];
  }
  out->next_ = next;
  out->hop_limit_ = bytes[7];
  out->header_length_ = off;
  out->payload_ = packet.subspan(off);
  return Drop::kNone;
}

}  // namespace vigil::wire
