// IPv4 header view and builder (RFC 791).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "wire/drop.hpp"

namespace vigil::wire {

struct Ipv4Addr {
  uint32_t value = 0;  // host byte order
  constexpr auto operator<=>(const Ipv4Addr&) const = default;
  static constexpr Ipv4Addr of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d};
  }
  std::string to_string() const;
  static std::optional<Ipv4Addr> parse(std::string_view text);
};

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr size_t kIpv4MinHeader = 20;

// A validated view over an IPv4 datagram. Only `parse` constructs a valid one;
// the payload span is trimmed to the header's total length (link padding is
// not payload).
class Ipv4View {
 public:
  static Drop parse(std::span<const uint8_t> bytes, Ipv4View* out, bool verify_checksum = true);

  Ipv4Addr src() const { return src_; }
  Ipv4Addr dst() const { return dst_; }
  uint8_t protocol() const { return protocol_; }
  uint8_t ttl() const { return ttl_; }
  uint16_t id() const { return id_; }
  bool dont_fragment() const { return df_; }
  std::span<const uint8_t> header() const { return header_; }
  std::span<const uint8_t> payload() const { return payload_; }

 private:
  Ipv4Addr src_, dst_;
  uint8_t protocol_ = 0, ttl_ = 0;
  uint16_t id_ = 0;
  bool df_ = false;
  std::span<const uint8_t> header_, payload_;
};

struct Ipv4Fields {
  Ipv4Addr src, dst;
  uint8_t protocol = kProtoTcp;
  uint8_t ttl = 64;
  uint16_t id = 0;
  bool dont_fragment = true;
};

// Writes a 20-byte header (no options) for a datagram of `total_length`
// bytes into out[0..20), with its checksum. `out` must hold 20 bytes.
void write_ipv4_header(std::span<uint8_t> out, const Ipv4Fields& f, uint16_t total_length);

}  // namespace vigil::wire
