// IPv6 header view (RFC 8200) and address text (RFC 5952).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "wire/ipv4.hpp"
#include "wire/ipv6.hpp"

namespace vigil::wire {
namespace {

using Bytes = std::vector<uint8_t>;

Ipv6Addr addr(std::initializer_list<uint16_t> groups) {
  Ipv6Addr a;
  size_t i = 0;
  for (uint16_t g : groups) {
    a.bytes[i++] = static_cast<uint8_t>(g >> 8);
    a.bytes[i++] = static_cast<uint8_t>(g);
  }
  return a;
}

// Fixed header from 2001:db8::1 to 2001:db8::2, then `ext` (already chained
// by the caller), then `upper` bytes; `first` is the first Next Header.
Bytes packet(uint8_t first, const Bytes& ext, const Bytes& upper) {
  Bytes b(40, 0);
  b[0] = 0x60;
  const size_t len = ext.size() + upper.size();
  b[4] = static_cast<uint8_t>(len >> 8);
  b[5] = static_cast<uint8_t>(len);
  b[6] = first;
  b[7] = 64;
  const Ipv6Addr s = addr({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1});
  const Ipv6Addr d = addr({0x2001, 0xdb8, 0, 0, 0, 0, 0, 2});
  for (size_t i = 0; i < 16; ++i) {
    b[8 + i] = s.bytes[i];
    b[24 + i] = d.bytes[i];
  }
  b.insert(b.end(), ext.begin(), ext.end());
  b.insert(b.end(), upper.begin(), upper.end());
  return b;
}

// An extension header of (hdr_ext_len + 1) x 8 bytes.
Bytes ext_header(uint8_t next, uint8_t hdr_ext_len) {
  Bytes e((size_t{hdr_ext_len} + 1) * 8, 0);
  e[0] = next;
  e[1] = hdr_ext_len;
  return e;
}

TEST(Ipv6Test, FixedHeader) {
  const Bytes upper(20, 0xab);
  Bytes p = packet(kProtoTcp, {}, upper);
  p.insert(p.end(), {0, 0, 0});  // link padding
  Ipv6View v;
  ASSERT_EQ(Ipv6View::parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.next_header(), kProtoTcp);
  EXPECT_EQ(v.hop_limit(), 64);
  EXPECT_EQ(v.header_length(), 40u);
  EXPECT_EQ(v.payload().size(), 20u);  // trimmed to the Payload Length
  EXPECT_EQ(v.src(), addr({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(v.dst().to_string(), "2001:db8::2");
}

TEST(Ipv6Test, ExtensionHeadersAreSkipped) {
  // Hop-by-hop (8 bytes) -> routing (24 bytes) -> destination options
  // (16 bytes) -> TCP (RFC 8200 §4.1 order).
  Bytes ext = ext_header(kIpv6Routing, 0);
  const Bytes rt = ext_header(kIpv6DestOptions, 2);
  const Bytes dst = ext_header(kProtoTcp, 1);
  ext.insert(ext.end(), rt.begin(), rt.end());
  ext.insert(ext.end(), dst.begin(), dst.end());
  const Bytes upper(20, 0xcd);
  Ipv6View v;
  const Bytes p = packet(kIpv6HopByHop, ext, upper);  // the view points into it
  ASSERT_EQ(Ipv6View::parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.next_header(), kProtoTcp);
  EXPECT_EQ(v.header_length(), 40u + 8 + 24 + 16);
  EXPECT_EQ(v.payload().size(), 20u);
  EXPECT_EQ(v.payload()[0], 0xcd);
}

TEST(Ipv6Test, FragmentHeaderIsAFragment) {
  // Hop-by-hop, then a fragment header (RFC 8200 §4.5): not reassembled.
  Bytes ext = ext_header(kIpv6Fragment, 0);
  const Bytes frag = {kProtoTcp, 0, 0, 1, 0, 0, 0, 42};  // offset 0, M set
  ext.insert(ext.end(), frag.begin(), frag.end());
  Ipv6View v;
  EXPECT_EQ(Ipv6View::parse(packet(kIpv6HopByHop, ext, Bytes(20, 0)), &v), Drop::kIpFragment);
  EXPECT_EQ(Ipv6View::parse(packet(kIpv6Fragment, frag, Bytes(20, 0)), &v), Drop::kIpFragment);
}

TEST(Ipv6Test, NoNextHeaderAndUnknownEndTheChain) {
  Ipv6View v;
  const Bytes none = packet(kIpv6NoNext, {}, Bytes(8, 0));
  ASSERT_EQ(Ipv6View::parse(none, &v), Drop::kNone);
  EXPECT_EQ(v.next_header(), kIpv6NoNext);
  const Bytes icmp6 = packet(58, {}, Bytes(8, 0));
  ASSERT_EQ(Ipv6View::parse(icmp6, &v), Drop::kNone);  // ICMPv6
  EXPECT_EQ(v.next_header(), 58);
}

TEST(Ipv6Test, MalformedIsRefused) {
  Ipv6View v;
  EXPECT_EQ(Ipv6View::parse(Bytes(39, 0x60), &v), Drop::kIpTruncated);
  Bytes p = packet(kProtoTcp, {}, Bytes(20, 0));
  p[0] = 0x40;
  EXPECT_EQ(Ipv6View::parse(p, &v), Drop::kIpBadVersion);
  p = packet(kProtoTcp, {}, Bytes(20, 0));
  p.resize(50);  // Payload Length 20, 10 bytes there
  EXPECT_EQ(Ipv6View::parse(p, &v), Drop::kIpLengthMismatch);
  p = packet(kProtoTcp, {}, {});  // Payload Length 0: a jumbogram
  EXPECT_EQ(Ipv6View::parse(p, &v), Drop::kIpLengthMismatch);
  // An extension header claiming more than the packet holds.
  Bytes e = ext_header(kProtoTcp, 0);
  e[1] = 5;  // 48 bytes claimed, 8 present
  EXPECT_EQ(Ipv6View::parse(packet(kIpv6DestOptions, e, {}), &v), Drop::kIpTruncated);
  // An extension header cut inside its first 8 bytes.
  EXPECT_EQ(Ipv6View::parse(packet(kIpv6HopByHop, Bytes{kProtoTcp, 0, 0, 0}, {}), &v),
            Drop::kIpTruncated);
}

TEST(Ipv6Test, AddressText) {
  // RFC 5952 §4: shortest form, lower case, the longest zero run (the first
  // on a tie) as "::", never a single zero group.
  EXPECT_EQ(addr({0, 0, 0, 0, 0, 0, 0, 1}).to_string(), "::1");
  EXPECT_EQ(Ipv6Addr{}.to_string(), "::");
  EXPECT_EQ(addr({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}).to_string(), "2001:db8::1");
  EXPECT_EQ(addr({0x2001, 0xdb8, 0, 1, 1, 1, 1, 1}).to_string(), "2001:db8:0:1:1:1:1:1");
  EXPECT_EQ(addr({0x2001, 0, 0, 1, 0, 0, 0, 1}).to_string(), "2001:0:0:1::1");
  EXPECT_EQ(addr({0x2001, 0xdb8, 0, 0, 1, 0, 0, 1}).to_string(), "2001:db8::1:0:0:1");
  EXPECT_EQ(addr({0xfe80, 0, 0, 0, 0xABCD, 0, 0, 0}).to_string(), "fe80::abcd:0:0:0");
  EXPECT_EQ(addr({1, 0, 0, 0, 0, 0, 0, 0}).to_string(), "1::");
}

}  // namespace
}  // namespace vigil::wire
