#include "wire/ipv4.hpp"

#include <charconv>

#include "wire/bytes.hpp"
#include "wire/checksum.hpp"

namespace vigil::wire {

std::string Ipv4Addr::to_string() const {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
         std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  uint32_t v = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || octet > 255 || next - p > 3) return std::nullopt;
    p = next;
    v = (v << 8) | octet;
  }
  if (p != end) return std::nullopt;
  return Ipv4Addr{v};
}

Drop Ipv4View::parse(std::span<const uint8_t> bytes, Ipv4View* out, bool verify_checksum) {
  if (bytes.size() < kIpv4MinHeader) return Drop::kIpTruncated;
  if ((bytes[0] >> 4) != 4) return Drop::kIpBadVersion;
  const size_t ihl = static_cast<size_t>(bytes[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader) return Drop::kIpBadHeaderLength;
  if (bytes.size() < ihl) return Drop::kIpTruncated;
  const size_t total = load_be16(&bytes[2]);
  // Shorter-than-received is link padding (e.g. Ethernet minimum frame) and is
  // trimmed; longer-than-received means bytes are missing.
  if (total < ihl || total > bytes.size()) return Drop::kIpLengthMismatch;
  if (verify_checksum && internet_checksum(bytes.subspan(0, ihl)) != 0) {
    return Drop::kIpBadChecksum;
  }
  const uint16_t frag = load_be16(&bytes[6]);
  const bool more_fragments = (frag & 0x2000) != 0;
  const uint16_t offset = frag & 0x1fff;
  if (more_fragments || offset != 0) return Drop::kIpFragment;

  out->src_ = Ipv4Addr{load_be32(&bytes[12])};
  out->dst_ = Ipv4Addr{load_be32(&bytes[16])};
  out->protocol_ = bytes[9];
  out->ttl_ = bytes[8];
  out->id_ = load_be16(&bytes[4]);
  out->df_ = (frag & 0x4000) != 0;
  out->header_ = bytes.subspan(0, ihl);
  out->payload_ = bytes.subspan(ihl, total - ihl);
  return Drop::kNone;
}

void write_ipv4_header(std::span<uint8_t> out, const Ipv4Fields& f, uint16_t total_length) {
  uint8_t* p = out.data();
  p[0] = 0x45;  // version 4, IHL 5
  p[1] = 0;     // DSCP/ECN
  store_be16(p + 2, total_length);
  store_be16(p + 4, f.id);
  store_be16(p + 6, f.dont_fragment ? 0x4000 : 0);
  p[8] = f.ttl;
  p[9] = f.protocol;
  store_be16(p + 10, 0);
  store_be32(p + 12, f.src.value);
  store_be32(p + 16, f.dst.value);
  store_be16(p + 10, internet_checksum(out.subspan(0, kIpv4MinHeader)));
}

}  // namespace vigil::wire
