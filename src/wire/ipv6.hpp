// IPv6 header view (RFC 8200): the fixed 40-byte header and the extension
// headers a TCP segment may sit behind. Used by `vigil analyze` only (the
// stack itself speaks IPv4).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "wire/drop.hpp"

namespace vigil::wire {

struct Ipv6Addr {
  std::array<uint8_t, 16> bytes{};  // network byte order
  constexpr auto operator<=>(const Ipv6Addr&) const = default;
  // RFC 5952 §4: lower-case hex, leading zeros dropped, the longest run of
  // two or more zero groups (the first on a tie) written "::".
  std::string to_string() const;
};

inline constexpr size_t kIpv6Header = 40;
// Next Header values of the extension headers walked over (RFC 8200 §4).
inline constexpr uint8_t kIpv6HopByHop = 0;
inline constexpr uint8_t kIpv6Routing = 43;
inline constexpr uint8_t kIpv6Fragment = 44;
inline constexpr uint8_t kIpv6NoNext = 59;
inline constexpr uint8_t kIpv6DestOptions = 60;

// A validated view over an IPv6 packet. Extension headers (hop-by-hop,
// routing, destination options) are skipped to the upper-layer header;
// a fragment header makes parse() return kIpFragment (no reassembly, as for
// IPv4). The payload is trimmed to the Payload Length (link padding).
class Ipv6View {
 public:
  // kIpTruncated: under 40 bytes, or an extension header past the end;
  // kIpBadVersion: not 6; kIpLengthMismatch: Payload Length above the bytes
  // (or 0: a jumbogram, RFC 2675, not supported); kIpFragment; kIpNotTcp for
  // an unknown or "no next header" chain end is left to the caller
  // (next_header() tells which).
  static Drop parse(std::span<const uint8_t> bytes, Ipv6View* out);

  const Ipv6Addr& src() const { return src_; }
  const Ipv6Addr& dst() const { return dst_; }
  uint8_t next_header() const { return next_; }  // the upper-layer protocol
  uint8_t hop_limit() const { return hop_limit_; }
  size_t header_length() const { return header_length_; }        // fixed + extension headers
  std::span<const uint8_t> payload() const { return payload_; }  // upper-layer bytes

 private:
  Ipv6Addr src_, dst_;
  uint8_t next_ = 0, hop_limit_ = 0;
  size_t header_length_ = 0;
  std::span<const uint8_t> payload_;
};

}  // namespace vigil::wire
