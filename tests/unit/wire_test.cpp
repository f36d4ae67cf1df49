// Unit tests for src/wire: the Internet checksum, IPv4 addresses and
// headers, TCP headers and options, ICMP destination unreachable, and every
// Drop reason parse_packet() can report.
//
// Expected values never come from the code under test:
//  - packets are assembled by hand in this file (raw_ipv4/raw_tcp/raw_icmp)
//    from the RFC 791 §3.1, RFC 9293 §3.1 and RFC 792 layouts;
//  - checksums come from published examples (RFC 1071 §3, the IPv4 header
//    example used by Wikipedia's "Internet checksum" article) or from
//    ref_checksum() below, a deliberately naive implementation that shares no
//    code with src/wire;
//  - kSynCapture's two checksums were computed by a separate script and are
//    re-derived by ref_checksum() in a test, so the two references check each
//    other;
//  - the fuzz tests compare parse_packet() against ref_parse(), an
//    independent parser written here from the RFC rules and the Drop
//    documentation in drop.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/drop.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/packet.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::wire {

// Readable Drop values in assertion messages (found by ADL, so it must live in
// vigil::wire itself; static keeps it private to this file).
[[maybe_unused]] static void PrintTo(Drop d, std::ostream* os) {
  *os << drop_name(d) << " (" << static_cast<int>(d) << ")";
}

namespace {

using Bytes = std::vector<uint8_t>;
using CSpan = std::span<const uint8_t>;

// ---- independent byte helpers -------------------------------------------------

uint16_t rd16(CSpan b, size_t off) { return static_cast<uint16_t>(b[off] * 256u + b[off + 1]); }
uint32_t rd32(CSpan b, size_t off) {
  return (uint32_t{b[off]} << 24) + (uint32_t{b[off + 1]} << 16) + (uint32_t{b[off + 2]} << 8) +
         b[off + 3];
}
void wr16(Bytes& b, size_t off, uint32_t v) {
  b[off] = static_cast<uint8_t>((v / 256) % 256);
  b[off + 1] = static_cast<uint8_t>(v % 256);
}
void wr32(Bytes& b, size_t off, uint32_t v) {
  wr16(b, off, v >> 16);
  wr16(b, off + 2, v & 0xffff);
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes be32(uint32_t v) {
  Bytes b(4);
  wr32(b, 0, v);
  return b;
}
std::string hex(CSpan b) {
  std::string s;
  char buf[4];
  for (uint8_t c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

// RFC 1071 written out the slow obvious way: add up big-endian 16-bit words in
// a wide integer (a trailing odd byte is the high half of a zero-padded
// word), fold the carries back in, take the one's complement.
uint16_t ref_checksum(CSpan data) {
  uint64_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    const uint64_t hi = data[i];
    const uint64_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += hi * 256 + lo;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(0xffff - sum);
}

// RFC 9293 §3.1 pseudo-header: source, destination, zero, protocol, length.
Bytes pseudo_header(uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
  Bytes p(12, 0);
  wr32(p, 0, src);
  wr32(p, 4, dst);
  p[9] = proto;
  wr16(p, 10, static_cast<uint32_t>(len));
  return p;
}
uint16_t ref_tcp_checksum(uint32_t src, uint32_t dst, CSpan segment) {
  Bytes all = pseudo_header(src, dst, 6, segment.size());
  all.insert(all.end(), segment.begin(), segment.end());
  return ref_checksum(all);
}

constexpr uint32_t kHostA = 0x0a000001;   // 10.0.0.1
constexpr uint32_t kHostB = 0x0a000002;   // 10.0.0.2
constexpr uint32_t kRouter = 0xc0000201;  // 192.0.2.1

// ---- hand assembly (RFC 791 §3.1, RFC 9293 §3.1, RFC 792) --------------------

struct RawIp {
  uint8_t ver_ihl = 0x45;
  uint16_t id = 0x1c46;
  uint16_t frag = 0x4000;  // flags (DF) and fragment offset
  uint8_t ttl = 64;
  uint8_t proto = 6;
  uint32_t src = kHostA, dst = kHostB;
  Bytes options;  // the caller sets ver_ihl to match
};

// A datagram carrying `payload`, followed by `padding` bytes of link padding
// (not counted in the total length, deliberately non-zero).
Bytes raw_ipv4(const RawIp& h, const Bytes& payload, size_t padding = 0) {
  const size_t hl = 20 + h.options.size();
  Bytes p(hl + payload.size() + padding, 0xa5);
  p[0] = h.ver_ihl;
  p[1] = 0;
  wr16(p, 2, static_cast<uint32_t>(hl + payload.size()));
  wr16(p, 4, h.id);
  wr16(p, 6, h.frag);
  p[8] = h.ttl;
  p[9] = h.proto;
  p[10] = p[11] = 0;
  wr32(p, 12, h.src);
  wr32(p, 16, h.dst);
  std::copy(h.options.begin(), h.options.end(), p.begin() + 20);
  std::copy(payload.begin(), payload.end(), p.begin() + static_cast<ptrdiff_t>(hl));
  wr16(p, 10, ref_checksum(CSpan(p).first(hl)));
  return p;
}

struct RawTcp {
  uint16_t sport = 50000, dport = 80;
  uint32_t seq = 0x01020304, ack = 0;
  int data_offset = -1;  // in words; -1 means "from the options"
  uint8_t flags = tcp_flags::kSyn;
  uint16_t window = 64240;
  uint16_t urgent = 0;
  Bytes options;
  Bytes payload;
};

Bytes raw_tcp(const RawTcp& t, uint32_t src = kHostA, uint32_t dst = kHostB) {
  Bytes s(20 + t.options.size() + t.payload.size(), 0);
  wr16(s, 0, t.sport);
  wr16(s, 2, t.dport);
  wr32(s, 4, t.seq);
  wr32(s, 8, t.ack);
  const size_t words =
      t.data_offset >= 0 ? static_cast<size_t>(t.data_offset) : (20 + t.options.size()) / 4;
  s[12] = static_cast<uint8_t>(words << 4);
  s[13] = t.flags;
  wr16(s, 14, t.window);
  wr16(s, 18, t.urgent);
  std::copy(t.options.begin(), t.options.end(), s.begin() + 20);
  std::copy(t.payload.begin(), t.payload.end(),
            s.begin() + 20 + static_cast<ptrdiff_t>(t.options.size()));
  wr16(s, 16, ref_tcp_checksum(src, dst, s));
  return s;
}

Bytes raw_packet(const RawTcp& t, const RawIp& h = {}, size_t padding = 0) {
  return raw_ipv4(h, raw_tcp(t, h.src, h.dst), padding);
}

// ICMP message: type, code, checksum, 4 bytes "unused"/next-hop MTU, then data.
Bytes raw_icmp(uint8_t type, uint8_t code, uint16_t mtu, const Bytes& data) {
  Bytes m(8, 0);
  m[0] = type;
  m[1] = code;
  wr16(m, 6, mtu);
  m.insert(m.end(), data.begin(), data.end());
  wr16(m, 2, ref_checksum(m));
  return m;
}

Bytes raw_icmp_packet(const Bytes& message, size_t padding = 0) {
  RawIp h;
  h.proto = 1;
  h.src = kRouter;
  h.dst = kHostA;
  h.frag = 0;
  return raw_ipv4(h, message, padding);
}

// Re-derive checksums after a test has edited a field, so that the field is
// the only thing wrong with the packet.
void refix_ip(Bytes& p) {
  const size_t hl = std::clamp<size_t>((p[0] & 0x0fu) * 4u, 20, p.size());
  p[10] = p[11] = 0;
  wr16(p, 10, ref_checksum(CSpan(p).first(hl)));
}
void refix_tcp(Bytes& p) {
  const size_t hl = (p[0] & 0x0fu) * 4u;
  const size_t total = rd16(p, 2);
  if (hl < 20 || total > p.size() || total < hl + 18) return;
  p[hl + 16] = p[hl + 17] = 0;
  const uint16_t c = ref_tcp_checksum(rd32(p, 12), rd32(p, 16), CSpan(p).subspan(hl, total - hl));
  wr16(p, hl + 16, c);
}
void refix_icmp(Bytes& p) {
  const size_t hl = (p[0] & 0x0fu) * 4u;
  const size_t total = rd16(p, 2);
  if (hl < 20 || total > p.size() || total < hl + 4) return;
  p[hl + 2] = p[hl + 3] = 0;
  wr16(p, hl + 2, ref_checksum(CSpan(p).subspan(hl, total - hl)));
}
void set_total_length(Bytes& p, size_t total) { wr16(p, 2, static_cast<uint32_t>(total)); }

Drop parse(const Bytes& b, PacketView* v = nullptr, bool verify = true) {
  PacketView local;
  return parse_packet(CSpan(b), v ? v : &local, verify);
}

// Linux's SYN option layout (RFC 9293 §3.2 MSS, RFC 2018 §2 SACK-permitted,
// RFC 7323 §3.2 timestamps, §2.2 window scale): MSS 1460, SACK-permitted +
// timestamps (TSval 100, TSecr 0), NOP + window scale 7.
const Bytes kLinuxSynOptions = {0x02, 0x04, 0x05, 0xb4,                          // MSS 1460
                                0x04, 0x02,                                      // SACK-permitted
                                0x08, 0x0a, 0x00, 0x00, 0x00, 0x64, 0, 0, 0, 0,  // TS 100, 0
                                0x01,                                            // NOP
                                0x03, 0x03, 0x07};                               // WS 7

// SYN 10.0.0.1:50000 -> 10.0.0.2:80, ISN 0x01020304, window 64240, id 0x1c46,
// DF, TTL 64, the Linux options above. IP checksum 0x0a74, TCP 0x7102.
const Bytes kSynCapture = {0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x74,
                           0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xc3, 0x50, 0x00, 0x50,
                           0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
                           0x71, 0x02, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
                           0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};

RawTcp syn_fields() {
  RawTcp t;
  t.options = kLinuxSynOptions;
  return t;
}

// A data segment with timestamps and one SACK block (NOP,NOP,TS,NOP,NOP,SACK)
// and a 6-byte payload.
RawTcp data_fields() {
  RawTcp t;
  t.sport = 50000;
  t.dport = 8080;
  t.seq = 0xfffffffe;
  t.ack = 0x89abcdef;
  t.flags = tcp_flags::kAck | tcp_flags::kPsh;
  t.window = 501;
  t.options = cat({{0x01, 0x01, 0x08, 0x0a},
                   be32(0x11223344),
                   be32(0x55667788),
                   {0x01, 0x01, 0x05, 0x0a},
                   be32(1000),
                   be32(2000)});
  t.payload = {'v', 'i', 'g', 'i', 'l', '!'};
  return t;
}

constexpr std::array kAllDrops = {Drop::kNone,
                                  Drop::kIpTruncated,
                                  Drop::kIpBadVersion,
                                  Drop::kIpBadHeaderLength,
                                  Drop::kIpLengthMismatch,
                                  Drop::kIpBadChecksum,
                                  Drop::kIpFragment,
                                  Drop::kIpNotTcp,
                                  Drop::kTcpTruncated,
                                  Drop::kTcpBadDataOffset,
                                  Drop::kTcpBadOptionLength,
                                  Drop::kTcpBadChecksum,
                                  Drop::kIcmpTruncated,
                                  Drop::kIcmpBadChecksum,
                                  Drop::kIcmpUnsupported};
static_assert(kAllDrops.size() == static_cast<size_t>(Drop::kCount));

// =============================================================================
// Reference implementations for the checks above
// =============================================================================

TEST(Reference, ChecksumMatchesPublishedExamples) {
  // RFC 1071 §3 numerical example: the sum is ddf2, so the checksum is 220d.
  EXPECT_EQ(ref_checksum(Bytes{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}), 0x220d);
  EXPECT_EQ(ref_checksum(Bytes{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                               0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}),
            0xb861);
}

TEST(Reference, HandAssemblerReproducesTheKnownSyn) {
  // Two independent derivations of the same bytes (script and this file).
  EXPECT_EQ(hex(raw_packet(syn_fields())), hex(kSynCapture));
  EXPECT_EQ(ref_checksum(CSpan(kSynCapture).first(20)), 0);
  EXPECT_EQ(ref_tcp_checksum(kHostA, kHostB, CSpan(kSynCapture).subspan(20)), 0);
}

// =============================================================================
// Internet checksum
// =============================================================================

TEST(InternetChecksum, Rfc1071NumericalExample) {
  const Bytes b = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(internet_checksum(b), 0x220d);
  // Appending the checksum makes the data verify to 0.
  const Bytes with = cat({b, {0x22, 0x0d}});
  EXPECT_EQ(internet_checksum(with), 0);
}

TEST(InternetChecksum, PublishedIpv4HeaderExample) {
  Bytes h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
             0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(internet_checksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(internet_checksum(h), 0);
}

TEST(InternetChecksum, SmallAndOddLengthsByHand) {
  EXPECT_EQ(internet_checksum({}), 0xffff);                             // empty sum is 0
  EXPECT_EQ(internet_checksum(Bytes{0x00, 0x00}), 0xffff);              // so is a zero word
  EXPECT_EQ(internet_checksum(Bytes{0xab}), 0x54ff);                    // ~0xab00: odd byte is high
  EXPECT_EQ(internet_checksum(Bytes{0x01, 0x02, 0x03}), 0xfbfd);        // ~(0x0102 + 0x0300)
  EXPECT_EQ(internet_checksum(Bytes{0xff, 0xff}), 0x0000);              // ~0xffff
  EXPECT_EQ(internet_checksum(Bytes{0xff, 0xff, 0x00, 0x01}), 0xfffe);  // end-around carry
  EXPECT_EQ(internet_checksum(Bytes{0x80, 0x00, 0x80, 0x00}), 0xfffe);  // 0x10000 folds to 1
  // 0xffff + 0xffff + 0x0001 = 0x1ffff: folding once gives 0x10000, so a second fold is needed.
  EXPECT_EQ(internet_checksum(Bytes{0xff, 0xff, 0xff, 0xff, 0x00, 0x01}), 0xfffe);
}

TEST(InternetChecksum, MatchesReferenceForEveryLengthUpTo300) {
  std::mt19937 rng(1071);
  for (size_t len = 0; len <= 300; ++len) {
    Bytes b(len);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    EXPECT_EQ(internet_checksum(b), ref_checksum(b)) << "len " << len;
    Bytes ones(len, 0xff);  // the most carries possible
    EXPECT_EQ(internet_checksum(ones), ref_checksum(ones)) << "len " << len;
  }
}

TEST(InternetChecksum, LargeBuffersFoldAllCarries) {
  // 32768 words of 0xffff: 0xffff is negative zero, so the checksum is 0.
  EXPECT_EQ(internet_checksum(Bytes(65536, 0xff)), 0x0000);
  // 32767 words of 0xffff plus a final 0xff00: the sum is 0xff00.
  EXPECT_EQ(internet_checksum(Bytes(65535, 0xff)), 0x00ff);
}

TEST(ChecksumAccumulator, EveryTwoWaySplitEqualsOneShot) {
  std::mt19937 rng(7);
  for (size_t len = 0; len <= 41; ++len) {
    Bytes b(len);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    const uint16_t want = ref_checksum(b);
    for (size_t i = 0; i <= len; ++i) {
      ChecksumAccumulator acc;
      acc.add(CSpan(b).first(i));
      acc.add(CSpan(b).subspan(i));
      EXPECT_EQ(acc.finish(), want) << "len " << len << " split " << i;
    }
  }
}

TEST(ChecksumAccumulator, EveryThreeWaySplitWithEmptyPiecesEqualsOneShot) {
  std::mt19937 rng(8);
  for (size_t len = 0; len <= 23; ++len) {
    Bytes b(len);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    const uint16_t want = ref_checksum(b);
    for (size_t i = 0; i <= len; ++i) {
      for (size_t j = i; j <= len; ++j) {
        ChecksumAccumulator acc;
        acc.add(CSpan(b).first(i));
        acc.add({});  // an empty piece must not disturb a pending odd byte
        acc.add(CSpan(b).subspan(i, j - i));
        acc.add({});
        acc.add(CSpan(b).subspan(j));
        EXPECT_EQ(acc.finish(), want) << "len " << len << " splits " << i << "," << j;
      }
    }
  }
}

TEST(ChecksumAccumulator, ByteAtATimeEqualsOneShot) {
  Bytes b(257);
  std::mt19937 rng(9);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  ChecksumAccumulator acc;
  for (size_t i = 0; i < b.size(); ++i) acc.add(CSpan(b).subspan(i, 1));
  EXPECT_EQ(acc.finish(), ref_checksum(b));
}

TEST(ChecksumAccumulator, WordsEqualTheirBigEndianBytes) {
  ChecksumAccumulator words;
  words.add_u32(0x0a000001);
  words.add_u32(0xc0a80164);
  words.add_u16(6);
  words.add_u16(0xfffe);
  const Bytes bytes = {0x0a, 0x00, 0x00, 0x01, 0xc0, 0xa8, 0x01, 0x64, 0x00, 0x06, 0xff, 0xfe};
  EXPECT_EQ(words.finish(), ref_checksum(bytes));
}

TEST(ChecksumAccumulator, PseudoHeaderPlusKnownSynVerifiesToZero) {
  ChecksumAccumulator acc;
  acc.add_u32(kHostA);
  acc.add_u32(kHostB);
  acc.add_u16(6);
  acc.add_u16(40);
  acc.add(CSpan(kSynCapture).subspan(20, 13));  // odd split inside the header
  acc.add(CSpan(kSynCapture).subspan(33));
  EXPECT_EQ(acc.finish(), 0);
  EXPECT_EQ(acc.finish(), 0);  // finish() does not consume the state
}

// =============================================================================
// Ipv4Addr
// =============================================================================

TEST(Ipv4Addr, OfAndToString) {
  EXPECT_EQ(Ipv4Addr::of(10, 0, 0, 1).value, 0x0a000001u);
  EXPECT_EQ(Ipv4Addr::of(192, 168, 1, 200).value, 0xc0a801c8u);
  EXPECT_EQ(Ipv4Addr::of(10, 0, 0, 1).to_string(), "10.0.0.1");
  EXPECT_EQ(Ipv4Addr{0}.to_string(), "0.0.0.0");
  EXPECT_EQ(Ipv4Addr{0xffffffff}.to_string(), "255.255.255.255");
  EXPECT_EQ(Ipv4Addr{0xc0a801c8}.to_string(), "192.168.1.200");
  EXPECT_EQ(Ipv4Addr{0x01000a00}.to_string(), "1.0.10.0");
}

TEST(Ipv4Addr, ParseValid) {
  const struct {
    const char* text;
    uint32_t value;
  } cases[] = {{"10.0.0.1", 0x0a000001},        {"0.0.0.0", 0},
               {"255.255.255.255", 0xffffffff}, {"192.168.1.200", 0xc0a801c8},
               {"1.2.3.4", 0x01020304},         {"100.64.0.255", 0x644000ff}};
  for (const auto& c : cases) {
    const auto a = Ipv4Addr::parse(c.text);
    ASSERT_TRUE(a.has_value()) << c.text;
    EXPECT_EQ(a->value, c.value) << c.text;
    EXPECT_EQ(a->to_string(), c.text);
  }
}

TEST(Ipv4Addr, ParseRejectsMalformed) {
  const std::string_view bad[] = {"",
                                  "1.2.3",
                                  "256.1.1.1",
                                  "1.2.3.256",
                                  "1.2.3.4.5",
                                  "a.b.c.d",
                                  "1.2.3.a",
                                  "1..2.3",
                                  ".1.2.3",
                                  "1.2.3.",
                                  "1.2.3.4.",
                                  " 1.2.3.4",
                                  "1.2.3.4 ",
                                  "+1.2.3.4",
                                  "-1.2.3.4",
                                  "1.2.3.-4",
                                  "1.2.3.+4",
                                  "1,2,3,4",
                                  "1.2.3.4/24",
                                  "4294967295",
                                  "0x1.2.3.4",
                                  "1.2.3.99999999999999999999999",  // from_chars overflow
                                  "1000.2.3.4",
                                  "....",
                                  std::string_view("1.2.3.4\0", 8)};  // embedded NUL
  for (std::string_view s : bad) {
    EXPECT_FALSE(Ipv4Addr::parse(s).has_value()) << '"' << s << '"';
  }
  EXPECT_FALSE(Ipv4Addr::parse(std::string_view()).has_value());  // null data pointer
}

// Policy found in the code: each octet is 1 to 3 decimal digits, leading
// zeros allowed and read as decimal. Note this differs from inet_aton(),
// which reads "010" as octal 8; vigil reads it as 10.
TEST(Ipv4Addr, LeadingZerosAreDecimalUpToThreeDigits) {
  EXPECT_EQ(Ipv4Addr::parse("01.2.3.4"), Ipv4Addr::of(1, 2, 3, 4));
  EXPECT_EQ(Ipv4Addr::parse("010.0.0.1"), Ipv4Addr::of(10, 0, 0, 1));
  EXPECT_EQ(Ipv4Addr::parse("000.000.000.000"), Ipv4Addr::of(0, 0, 0, 0));
  EXPECT_EQ(Ipv4Addr::parse("001.002.003.255"), Ipv4Addr::of(1, 2, 3, 255));
  EXPECT_FALSE(Ipv4Addr::parse("0001.2.3.4").has_value());  // 4 digits, even if value < 256
  EXPECT_FALSE(Ipv4Addr::parse("1.2.3.0255").has_value());
  // to_string never produces leading zeros, so parse(to_string(x)) is exact.
  EXPECT_EQ(Ipv4Addr::parse("010.0.0.1")->to_string(), "10.0.0.1");
}

TEST(Ipv4Addr, RoundTripRandomValues) {
  std::mt19937 rng(791);
  for (int i = 0; i < 100000; ++i) {
    const Ipv4Addr a{static_cast<uint32_t>(rng())};
    const auto back = Ipv4Addr::parse(a.to_string());
    ASSERT_TRUE(back.has_value()) << a.to_string();
    ASSERT_EQ(*back, a);
  }
}

// A validator written from the policy above, independent of from_chars.
std::optional<uint32_t> ref_parse_ip(std::string_view s) {
  uint32_t v = 0;
  int groups = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    uint32_t octet = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 3) return std::nullopt;
      octet = octet * 10 + static_cast<uint32_t>(s[i] - '0');
      ++i;
    }
    if (digits == 0 || octet > 255) return std::nullopt;
    v = v * 256 + octet;
    if (++groups == 4) break;
    if (i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
  }
  if (i != s.size()) return std::nullopt;
  return v;
}

TEST(Ipv4Addr, ParseAgreesWithReferenceOnRandomText) {
  std::mt19937 rng(1234);
  static constexpr char kAlphabet[] = "0123456789012345678901234567890123456789....-+ x";
  int accepted = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    if (rng() % 2) {
      // Near-valid: four groups of 0..4 digits with occasional noise.
      for (int g = 0; g < 4 + (rng() % 8 == 0 ? 1 : 0); ++g) {
        if (g) s += '.';
        const int d = static_cast<int>(rng() % 5);
        for (int k = 0; k < d; ++k) s += static_cast<char>('0' + rng() % (k == 0 ? 3 : 10));
      }
      if (rng() % 10 == 0) s.insert(rng() % (s.size() + 1), 1, kAlphabet[rng() % 48]);
    } else {
      const size_t len = rng() % 20;
      for (size_t k = 0; k < len; ++k) s += kAlphabet[rng() % 48];
    }
    const auto got = Ipv4Addr::parse(s);
    const auto want = ref_parse_ip(s);
    ASSERT_EQ(got.has_value(), want.has_value()) << '"' << s << '"';
    if (got) {
      ASSERT_EQ(got->value, *want) << s;
      ++accepted;
    }
  }
  EXPECT_GT(accepted, 5000);  // the generator really exercises the accepting path
}

TEST(Ipv4Addr, OrderingIsNumeric) {
  EXPECT_LT(Ipv4Addr::of(1, 2, 3, 4), Ipv4Addr::of(1, 2, 3, 5));
  EXPECT_LT(Ipv4Addr::of(1, 255, 255, 255), Ipv4Addr::of(2, 0, 0, 0));
  EXPECT_EQ(Ipv4Addr::of(9, 9, 9, 9), Ipv4Addr{0x09090909});
}

// =============================================================================
// Drop names and counters
// =============================================================================

TEST(Drop, NamesAreDistinctAndSnakeCase) {
  std::set<std::string_view> names;
  for (Drop d : kAllDrops) {
    const std::string_view n = drop_name(d);
    EXPECT_NE(n, "unknown") << static_cast<int>(d);
    EXPECT_FALSE(n.empty());
    for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << n;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kAllDrops.size());
  EXPECT_EQ(drop_name(Drop::kCount), "unknown");
}

TEST(Drop, CountersTotalExcludesAccepted) {
  DropCounters c;
  EXPECT_EQ(c.total_dropped(), 0u);
  c.count(Drop::kNone);
  c.count(Drop::kNone);
  c.count(Drop::kIpBadChecksum);
  c.count(Drop::kIcmpUnsupported);
  c.count(Drop::kIcmpUnsupported);
  EXPECT_EQ(c.get(Drop::kNone), 2u);
  EXPECT_EQ(c.get(Drop::kIpBadChecksum), 1u);
  EXPECT_EQ(c.get(Drop::kIcmpUnsupported), 2u);
  EXPECT_EQ(c.get(Drop::kTcpTruncated), 0u);
  EXPECT_EQ(c.total_dropped(), 3u);
}

TEST(TcpFlags, ToString) {
  EXPECT_EQ(flags_to_string(0), "none");
  EXPECT_EQ(flags_to_string(tcp_flags::kSyn | tcp_flags::kAck), "SYN,ACK");
  EXPECT_EQ(flags_to_string(tcp_flags::kRst), "RST");
  const std::pair<uint8_t, const char*> each[] = {{0x01, "FIN"}, {0x02, "SYN"}, {0x04, "RST"},
                                                  {0x08, "PSH"}, {0x10, "ACK"}, {0x20, "URG"},
                                                  {0x40, "ECE"}, {0x80, "CWR"}};
  for (const auto& [bit, name] : each) EXPECT_EQ(flags_to_string(bit), name);
  const std::string all = flags_to_string(0xff);
  EXPECT_EQ(std::count(all.begin(), all.end(), ','), 7);
  for (const auto& [bit, name] : each) EXPECT_NE(all.find(name), std::string::npos) << name;
}

// =============================================================================
// parse_packet: accepted packets
// =============================================================================

TEST(ParsePacket, KnownSynFields) {
  PacketView v;
  ASSERT_EQ(parse(kSynCapture, &v), Drop::kNone);
  EXPECT_EQ(v.kind, PacketView::Kind::kTcp);
  EXPECT_EQ(v.ip.src(), Ipv4Addr::of(10, 0, 0, 1));
  EXPECT_EQ(v.ip.dst(), Ipv4Addr::of(10, 0, 0, 2));
  EXPECT_EQ(v.ip.protocol(), 6);
  EXPECT_EQ(v.ip.ttl(), 64);
  EXPECT_EQ(v.ip.id(), 0x1c46);
  EXPECT_TRUE(v.ip.dont_fragment());
  EXPECT_EQ(v.ip.header().data(), kSynCapture.data());
  EXPECT_EQ(v.ip.header().size(), 20u);
  EXPECT_EQ(v.ip.payload().size(), 40u);
  EXPECT_EQ(v.tcp.src_port(), 50000);
  EXPECT_EQ(v.tcp.dst_port(), 80);
  EXPECT_EQ(v.tcp.seq(), 0x01020304u);
  EXPECT_EQ(v.tcp.ack(), 0u);
  EXPECT_EQ(v.tcp.flags(), tcp_flags::kSyn);
  EXPECT_TRUE(v.tcp.has(tcp_flags::kSyn));
  EXPECT_FALSE(v.tcp.has(tcp_flags::kAck));
  EXPECT_EQ(v.tcp.window(), 64240);
  EXPECT_EQ(v.tcp.urgent(), 0);
  EXPECT_TRUE(v.tcp.payload().empty());
  EXPECT_EQ(v.tcp.seg_len(), 1u);  // SYN occupies one sequence number
  const TcpOptions& o = v.tcp.options();
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 100u);
  EXPECT_EQ(o.ts_ecr, 0u);
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_EQ(o.window_scale, 7);
  EXPECT_EQ(o.sack_count, 0);
  EXPECT_FALSE(o.has_user_timeout);
}

TEST(ParsePacket, DataSegmentFields) {
  const Bytes p = raw_packet(data_fields());
  PacketView v;
  ASSERT_EQ(parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.tcp.dst_port(), 8080);
  EXPECT_EQ(v.tcp.seq(), 0xfffffffeu);
  EXPECT_EQ(v.tcp.ack(), 0x89abcdefu);
  EXPECT_EQ(v.tcp.flags(), tcp_flags::kAck | tcp_flags::kPsh);
  EXPECT_EQ(v.tcp.window(), 501);
  EXPECT_EQ(std::string(v.tcp.payload().begin(), v.tcp.payload().end()), "vigil!");
  EXPECT_EQ(v.tcp.payload().data(), p.data() + 64);  // a view, not a copy
  EXPECT_EQ(v.tcp.seg_len(), 6u);
  EXPECT_TRUE(v.tcp.options().has_timestamps);
  EXPECT_EQ(v.tcp.options().ts_val, 0x11223344u);
  EXPECT_EQ(v.tcp.options().ts_ecr, 0x55667788u);
  ASSERT_EQ(v.tcp.options().sack_count, 1);
  EXPECT_EQ(v.tcp.options().sack[0], (SackBlock{1000, 2000}));
}

TEST(ParsePacket, SegLenCountsSynAndFin) {
  RawTcp t;
  t.flags = tcp_flags::kSyn | tcp_flags::kFin;
  t.payload = {1, 2, 3};
  PacketView v;
  ASSERT_EQ(parse(raw_packet(t), &v), Drop::kNone);
  EXPECT_EQ(v.tcp.seg_len(), 5u);
}

TEST(ParsePacket, TrailingLinkPaddingIsAcceptedAndTrimmed) {
  // A bare SYN padded to the Ethernet minimum (46 bytes of IP).
  Bytes syn = kSynCapture;
  syn.resize(46 + 20, 0x00);
  PacketView v;
  ASSERT_EQ(parse(syn, &v), Drop::kNone);
  EXPECT_EQ(v.ip.payload().size(), 40u);
  EXPECT_TRUE(v.tcp.payload().empty());

  // Non-zero padding after a payload is not payload and not checksummed.
  const Bytes p = raw_packet(data_fields(), {}, 7);
  ASSERT_EQ(p.size(), 70u + 7u);
  ASSERT_EQ(parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.ip.payload().size(), 50u);
  EXPECT_EQ(std::string(v.tcp.payload().begin(), v.tcp.payload().end()), "vigil!");
}

TEST(ParsePacket, IpOptionsAreSkipped) {
  RawIp h;
  h.ver_ihl = 0x46;
  h.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
  const Bytes p = raw_packet(data_fields(), h);
  PacketView v;
  ASSERT_EQ(parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.ip.header().size(), 24u);
  EXPECT_EQ(v.ip.payload().data(), p.data() + 24);
  EXPECT_EQ(v.tcp.src_port(), 50000);
  EXPECT_EQ(std::string(v.tcp.payload().begin(), v.tcp.payload().end()), "vigil!");
}

TEST(ParsePacket, DontFragmentAloneIsFineAndSoIsNoFlag) {
  RawIp h;
  h.frag = 0x4000;
  PacketView v;
  ASSERT_EQ(parse(raw_packet(syn_fields(), h), &v), Drop::kNone);
  EXPECT_TRUE(v.ip.dont_fragment());
  h.frag = 0;
  ASSERT_EQ(parse(raw_packet(syn_fields(), h), &v), Drop::kNone);
  EXPECT_FALSE(v.ip.dont_fragment());
}

TEST(ParsePacket, VerifyChecksumsFalseIgnoresBothChecksums) {
  Bytes p = raw_packet(data_fields());
  p[10] ^= 0x01;  // IP checksum
  p[36] ^= 0x80;  // TCP checksum
  EXPECT_EQ(parse(p), Drop::kIpBadChecksum);
  PacketView v;
  EXPECT_EQ(parse(p, &v, /*verify=*/false), Drop::kNone);
  EXPECT_EQ(v.tcp.seq(), 0xfffffffeu);
}

// =============================================================================
// parse_packet: every IPv4 drop reason
// =============================================================================

TEST(IpDrops, TruncatedBelowTwentyBytes) {
  for (size_t n = 0; n < 20; ++n) {
    const Bytes prefix(kSynCapture.begin(), kSynCapture.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_EQ(parse(prefix), Drop::kIpTruncated) << n << " bytes";
  }
}

TEST(IpDrops, TruncatedWhenIhlIsLongerThanTheBuffer) {
  for (uint8_t ihl = 6; ihl <= 15; ++ihl) {
    Bytes p(kSynCapture.begin(), kSynCapture.begin() + 20);  // header only
    p[0] = static_cast<uint8_t>(0x40 | ihl);
    set_total_length(p, 20);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kIpTruncated) << "ihl " << int{ihl};
  }
  // 40 bytes received, IHL says 60.
  Bytes p = kSynCapture;
  p.resize(40);
  p[0] = 0x4f;
  set_total_length(p, 40);
  refix_ip(p);
  EXPECT_EQ(parse(p), Drop::kIpTruncated);
}

TEST(IpDrops, BadVersion) {
  for (int ver = 0; ver < 16; ++ver) {
    if (ver == 4) continue;
    Bytes p = kSynCapture;
    p[0] = static_cast<uint8_t>(ver << 4 | 5);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kIpBadVersion) << "version " << ver;
  }
}

TEST(IpDrops, BadHeaderLength) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    Bytes p = kSynCapture;
    p[0] = static_cast<uint8_t>(0x40 | ihl);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kIpBadHeaderLength) << "ihl " << int{ihl};
  }
}

TEST(IpDrops, TotalLengthLongerThanReceived) {
  for (size_t total : {61u, 100u, 65535u}) {
    Bytes p = kSynCapture;
    set_total_length(p, total);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kIpLengthMismatch) << total;
  }
}

TEST(IpDrops, TotalLengthShorterThanHeader) {
  for (size_t total : {0u, 1u, 19u}) {
    Bytes p = kSynCapture;
    set_total_length(p, total);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kIpLengthMismatch) << total;
  }
  // With IP options: total 20 < IHL 24.
  RawIp h;
  h.ver_ihl = 0x46;
  h.options = {0, 0, 0, 0};
  Bytes p = raw_packet(syn_fields(), h);
  set_total_length(p, 20);
  refix_ip(p);
  EXPECT_EQ(parse(p), Drop::kIpLengthMismatch);
}

TEST(IpDrops, EveryHeaderBitFlipIsCaught) {
  for (size_t byte = 0; byte < 20; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes p = kSynCapture;
      p[byte] ^= static_cast<uint8_t>(1u << bit);
      const Drop d = parse(p);
      if (byte == 0 || byte == 2 || byte == 3) {
        // Version, IHL and total length are checked before the checksum.
        EXPECT_NE(d, Drop::kNone) << byte << ":" << bit;
      } else {
        EXPECT_EQ(d, Drop::kIpBadChecksum) << byte << ":" << bit;
      }
    }
  }
}

TEST(IpDrops, ShorterTotalLengthStillCaughtByChecksum) {
  // Lowering the total length (a valid value) changes the header, so its
  // checksum fails unless re-derived.
  Bytes p = kSynCapture;
  set_total_length(p, 59);
  EXPECT_EQ(parse(p), Drop::kIpBadChecksum);
}

TEST(IpDrops, Fragments) {
  const struct {
    uint16_t frag;
    Drop want;
  } cases[] = {
      {0x2000, Drop::kIpFragment},  // MF, offset 0: first fragment
      {0x6000, Drop::kIpFragment},  // DF + MF (contradictory, still a fragment)
      {0x0001, Drop::kIpFragment},  // offset 8 bytes: last fragment
      {0x1fff, Drop::kIpFragment},  // largest offset
      {0x2100, Drop::kIpFragment},  // MF and an offset
      {0x4001, Drop::kIpFragment},  // DF with an offset
      {0x4000, Drop::kNone},        // DF alone
      {0x0000, Drop::kNone},
  };
  for (const auto& c : cases) {
    RawIp h;
    h.frag = c.frag;
    EXPECT_EQ(parse(raw_packet(syn_fields(), h)), c.want) << std::hex << c.frag;
  }
}

TEST(IpDrops, NotTcpPublishedUdpHeader) {
  // The published example header above is UDP (protocol 17), total length 115.
  Bytes p = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
             0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  p.resize(0x73, 0x00);
  EXPECT_EQ(parse(p), Drop::kIpNotTcp);
}

TEST(IpDrops, NotTcpOtherProtocols) {
  for (uint8_t proto : {0, 2, 17, 41, 47, 50, 58, 132, 255}) {
    RawIp h;
    h.proto = proto;
    EXPECT_EQ(parse(raw_packet(syn_fields(), h)), Drop::kIpNotTcp) << int{proto};
  }
}

// =============================================================================
// parse_packet: every TCP drop reason
// =============================================================================

TEST(TcpDrops, Truncated) {
  for (size_t seg : {0u, 1u, 8u, 19u}) {
    Bytes p(kSynCapture.begin(), kSynCapture.begin() + 20 + static_cast<ptrdiff_t>(seg));
    set_total_length(p, 20 + seg);
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kTcpTruncated) << seg;
  }
}

TEST(TcpDrops, TruncatedEvenWithLinkPaddingPresent) {
  // 10 TCP bytes inside the datagram, 30 bytes of padding after it.
  Bytes p = kSynCapture;
  set_total_length(p, 30);
  refix_ip(p);
  EXPECT_EQ(parse(p), Drop::kTcpTruncated);
}

TEST(TcpDrops, DataOffsetBelowFive) {
  for (uint8_t words = 0; words < 5; ++words) {
    RawTcp t = data_fields();
    t.data_offset = words;
    EXPECT_EQ(parse(raw_packet(t)), Drop::kTcpBadDataOffset) << int{words};
  }
}

TEST(TcpDrops, DataOffsetPastTheEnd) {
  RawTcp t;
  t.data_offset = 6;  // 24 bytes claimed, 20 present
  EXPECT_EQ(parse(raw_packet(t)), Drop::kTcpBadDataOffset);
  t = syn_fields();
  t.data_offset = 11;  // 44 claimed, 40 present
  EXPECT_EQ(parse(raw_packet(t)), Drop::kTcpBadDataOffset);
  t.data_offset = 15;
  EXPECT_EQ(parse(raw_packet(t)), Drop::kTcpBadDataOffset);
  t.data_offset = 10;  // exactly the segment: fine
  EXPECT_EQ(parse(raw_packet(t)), Drop::kNone);
}

TEST(TcpDrops, DataOffsetCannotReachIntoLinkPadding) {
  // The segment is 20 bytes by the IP total length; 8 padding bytes follow
  // in the buffer. A data offset of 6 words must not count them.
  RawTcp t;
  t.data_offset = 6;
  EXPECT_EQ(parse(raw_packet(t, {}, 8)), Drop::kTcpBadDataOffset);
}

Drop parse_with_options(const Bytes& options) {
  RawTcp t;
  t.options = options;
  return parse(raw_packet(t));
}

TEST(TcpDrops, BadOptionLength) {
  // Checksums are valid in every case: the options are the only defect.
  EXPECT_EQ(parse_with_options({0x02, 0x00, 0x00, 0x00}), Drop::kTcpBadOptionLength);  // len 0
  EXPECT_EQ(parse_with_options({0x02, 0x01, 0x00, 0x00}), Drop::kTcpBadOptionLength);  // len 1
  EXPECT_EQ(parse_with_options({0x1e, 0x00, 0x01, 0x01}), Drop::kTcpBadOptionLength);  // unknown
  EXPECT_EQ(parse_with_options({0x1e, 0x01, 0x01, 0x01}), Drop::kTcpBadOptionLength);
  // Running past the header: MSS claims 8 bytes in a 4-byte area.
  EXPECT_EQ(parse_with_options({0x02, 0x08, 0x05, 0xb4}), Drop::kTcpBadOptionLength);
  // Timestamps (10) starting at offset 4 of an 12-byte area.
  EXPECT_EQ(parse_with_options(cat({{0x01, 0x01, 0x01, 0x01, 0x08, 0x0a}, Bytes(6, 0)})),
            Drop::kTcpBadOptionLength);
  // A kind byte as the very last byte, with no room for its length.
  EXPECT_EQ(parse_with_options({0x01, 0x01, 0x01, 0x02}), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_with_options({0x01, 0x01, 0x01, 0x1e}), Drop::kTcpBadOptionLength);
  // The same bytes after an EOL are not looked at.
  EXPECT_EQ(parse_with_options({0x00, 0x02, 0x00, 0x00}), Drop::kNone);
  EXPECT_EQ(parse_with_options({0x01, 0x00, 0x01, 0x02}), Drop::kNone);
}

TEST(TcpDrops, EverySegmentBitFlipIsCaughtByChecksum) {
  const Bytes base = raw_packet(data_fields());
  for (size_t byte = 20; byte < base.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes p = base;
      p[byte] ^= static_cast<uint8_t>(1u << bit);
      const Drop d = parse(p);
      if (byte == 20 + 12 && bit >= 4) {
        EXPECT_TRUE(d == Drop::kTcpBadDataOffset || d == Drop::kTcpBadChecksum)
            << byte << ":" << bit << " " << drop_name(d);
      } else {
        EXPECT_EQ(d, Drop::kTcpBadChecksum) << byte << ":" << bit;
      }
    }
  }
}

TEST(TcpDrops, ChecksumCoversThePseudoHeader) {
  // Changing an address (with a valid IP checksum) breaks the TCP checksum.
  for (size_t off : {12u, 15u, 16u, 19u}) {
    Bytes p = raw_packet(data_fields());
    p[off] ^= 0x01;
    refix_ip(p);
    EXPECT_EQ(parse(p), Drop::kTcpBadChecksum) << off;
  }
  // A segment checksummed without the pseudo-header is refused.
  Bytes p = raw_packet(data_fields());
  p[36] = p[37] = 0;
  Bytes seg(p.begin() + 20, p.end());
  wr16(p, 36, ref_checksum(seg));
  EXPECT_EQ(parse(p), Drop::kTcpBadChecksum);
  // A segment checksummed with the wrong length in the pseudo-header too.
  p[36] = p[37] = 0;
  Bytes ph = cat({pseudo_header(kHostA, kHostB, 6, seg.size() + 1), seg});
  wr16(p, 36, ref_checksum(ph));
  EXPECT_EQ(parse(p), Drop::kTcpBadChecksum);
}

TEST(TcpDrops, OddLengthPayloadChecksum) {
  for (size_t n : {1u, 3u, 5u, 1001u}) {
    RawTcp t = data_fields();
    t.payload.assign(n, 0xc3);
    Bytes p = raw_packet(t);
    EXPECT_EQ(parse(p), Drop::kNone) << n;
    p.back() ^= 0x01;  // the odd last byte is the high half of its word
    EXPECT_EQ(parse(p), Drop::kTcpBadChecksum) << n;
  }
}

// =============================================================================
// TCP options parsing (RFC 9293 §3.2, RFC 7323, RFC 2018, RFC 5482)
// =============================================================================

// Parses from an exactly-sized heap copy so ASan sees any over-read.
Drop parse_opts(const Bytes& area, TcpOptions* out) {
  const Bytes copy(area);
  return TcpOptions::parse(CSpan(copy.data(), copy.size()), out);
}

TEST(TcpOptionsParse, EmptyAndNopOnly) {
  TcpOptions o;
  EXPECT_EQ(parse_opts({}, &o), Drop::kNone);
  EXPECT_FALSE(o.has_mss || o.has_window_scale || o.sack_permitted || o.has_timestamps ||
               o.has_user_timeout || o.sack_count);
  EXPECT_EQ(parse_opts({1, 1, 1, 1, 1, 1, 1}, &o), Drop::kNone);
  EXPECT_FALSE(o.has_mss || o.has_window_scale || o.sack_permitted || o.has_timestamps);
}

TEST(TcpOptionsParse, EolStopsParsing) {
  TcpOptions o;
  ASSERT_EQ(parse_opts({0x00, 0x02, 0x04, 0x05, 0xb4}, &o), Drop::kNone);
  EXPECT_FALSE(o.has_mss);
  ASSERT_EQ(parse_opts({0x02, 0x04, 0x05, 0xb4, 0x00, 0x03, 0x03, 0x07}, &o), Drop::kNone);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.has_window_scale);
  // Garbage after EOL (which would be a bad length) is never read.
  ASSERT_EQ(parse_opts({0x01, 0x00, 0x08, 0x01, 0xff}, &o), Drop::kNone);
}

TEST(TcpOptionsParse, Mss) {
  TcpOptions o;
  ASSERT_EQ(parse_opts({0x02, 0x04, 0x21, 0x40}, &o), Drop::kNone);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 0x2140);
  ASSERT_EQ(parse_opts({0x02, 0x04, 0xff, 0xff}, &o), Drop::kNone);
  EXPECT_EQ(o.mss, 0xffff);
}

TEST(TcpOptionsParse, WindowScale) {
  TcpOptions o;
  ASSERT_EQ(parse_opts({0x01, 0x03, 0x03, 0x0e}, &o), Drop::kNone);
  EXPECT_TRUE(o.has_window_scale);
  EXPECT_EQ(o.window_scale, 14);
  // Values above 14 are reported raw; RFC 7323 §2.3 clamping is the
  // connection's job.
  ASSERT_EQ(parse_opts({0x03, 0x03, 0xff, 0x00}, &o), Drop::kNone);
  EXPECT_EQ(o.window_scale, 255);
}

TEST(TcpOptionsParse, SackPermitted) {
  TcpOptions o;
  ASSERT_EQ(parse_opts({0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07}, &o), Drop::kNone);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_window_scale);
}

// A 2-byte option (SACK-permitted, or an unknown kind of length 2) ending
// the option area, as in Windows' MSS,NOP,WS,NOP,NOP,SACK_PERM: the parser
// must not index past the area (run under -D_GLIBCXX_ASSERTIONS to see it).
TEST(TcpOptionsParse, TwoByteOptionEndingTheArea) {
  TcpOptions o;
  ASSERT_EQ(
      parse_opts({0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02}, &o),
      Drop::kNone);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_EQ(o.window_scale, 8);
  EXPECT_EQ(o.mss, 1460);
  ASSERT_EQ(parse_opts({0x01, 0x01, 0x1e, 0x02}, &o), Drop::kNone);  // unknown, length 2
}

TEST(TcpOptionsParse, SackOneToFourBlocks) {
  for (uint8_t n = 1; n <= 4; ++n) {
    Bytes area = {0x01, 0x01, 0x05, static_cast<uint8_t>(2 + 8 * n)};
    for (uint32_t b = 0; b < n; ++b) {
      area = cat({area, be32(0xfffffff0u + 0x100 * b), be32(0x00000010u + 0x100 * b)});
    }
    TcpOptions o;
    ASSERT_EQ(parse_opts(area, &o), Drop::kNone) << int{n};
    ASSERT_EQ(o.sack_count, n);
    for (uint32_t b = 0; b < n; ++b) {
      EXPECT_EQ(o.sack[b].left, 0xfffffff0u + 0x100 * b);
      EXPECT_EQ(o.sack[b].right, 0x00000010u + 0x100 * b);
    }
  }
}

TEST(TcpOptionsParse, SackWithMoreThanFourBlocksKeepsFour) {
  // Only possible outside a real header (40-byte limit), but parse() takes
  // any span: five blocks (length 42) must not overflow sack[4].
  Bytes area = {0x05, 42};
  for (uint32_t b = 0; b < 5; ++b) area = cat({area, be32(b * 10), be32(b * 10 + 5)});
  TcpOptions o;
  ASSERT_EQ(parse_opts(area, &o), Drop::kNone);
  EXPECT_EQ(o.sack_count, 4);
  EXPECT_EQ(o.sack[3], (SackBlock{30, 35}));
}

TEST(TcpOptionsParse, Timestamps) {
  TcpOptions o;
  ASSERT_EQ(parse_opts(cat({{0x01, 0x01, 0x08, 0x0a}, be32(0xdeadbeef), be32(0x01020304)}), &o),
            Drop::kNone);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.ts_val, 0xdeadbeefu);
  EXPECT_EQ(o.ts_ecr, 0x01020304u);
}

TEST(TcpOptionsParse, UserTimeout) {
  TcpOptions o;
  // RFC 5482 §2: G=1 (minutes), timeout 10.
  ASSERT_EQ(parse_opts({0x1c, 0x04, 0x80, 0x0a}, &o), Drop::kNone);
  EXPECT_TRUE(o.has_user_timeout);
  EXPECT_EQ(o.user_timeout, 0x800a);
}

TEST(TcpOptionsParse, UnknownKindSkippedByLength) {
  TcpOptions o;
  // Kind 30 (MPTCP), length 6, whose body happens to look like an MSS option.
  ASSERT_EQ(parse_opts({0x1e, 0x06, 0x02, 0x04, 0x11, 0x11, 0x02, 0x04, 0x05, 0xdc}, &o),
            Drop::kNone);
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1500);
  // Kind 254 (experimental, RFC 6994) length 4, then window scale.
  ASSERT_EQ(parse_opts({0xfe, 0x04, 0xf9, 0x89, 0x01, 0x03, 0x03, 0x02}, &o), Drop::kNone);
  EXPECT_EQ(o.window_scale, 2);
}

TEST(TcpOptionsParse, KnownOptionWithWrongLengthIgnored) {
  const struct {
    Bytes area;
    const char* what;
  } cases[] = {
      {{0x02, 0x03, 0x05, 0x01, 0x03, 0x03, 0x05}, "MSS length 3"},
      {{0x02, 0x06, 0x05, 0xb4, 0x00, 0x00, 0x03, 0x03, 0x05}, "MSS length 6"},
      {{0x04, 0x03, 0x00, 0x03, 0x03, 0x05}, "SACK-permitted length 3"},
      {{0x08, 0x08, 1, 2, 3, 4, 5, 6, 0x03, 0x03, 0x05}, "timestamps length 8"},
      {{0x05, 0x09, 1, 2, 3, 4, 5, 6, 7, 0x03, 0x03, 0x05}, "SACK length 9"},
      {{0x05, 0x02, 0x03, 0x03, 0x05}, "SACK length 2"},
      {{0x1c, 0x03, 0x80, 0x03, 0x03, 0x05}, "UTO length 3"},
  };
  for (const auto& c : cases) {
    TcpOptions o;
    ASSERT_EQ(parse_opts(c.area, &o), Drop::kNone) << c.what;
    EXPECT_FALSE(o.has_mss || o.sack_permitted || o.has_timestamps || o.sack_count ||
                 o.has_user_timeout)
        << c.what;
    // Parsing carried on past the ignored option by its length.
    EXPECT_TRUE(o.has_window_scale) << c.what;
    EXPECT_EQ(o.window_scale, 5) << c.what;
  }
  // Window scale with length 4 is ignored too.
  TcpOptions o;
  ASSERT_EQ(parse_opts({0x03, 0x04, 0x07, 0x00}, &o), Drop::kNone);
  EXPECT_FALSE(o.has_window_scale);
}

TEST(TcpOptionsParse, OutputIsResetOnEveryParse) {
  TcpOptions o;
  ASSERT_EQ(parse_opts(kLinuxSynOptions, &o), Drop::kNone);
  ASSERT_TRUE(o.has_mss && o.has_timestamps && o.has_window_scale && o.sack_permitted);
  ASSERT_EQ(parse_opts({0x01}, &o), Drop::kNone);
  EXPECT_FALSE(o.has_mss || o.has_timestamps || o.has_window_scale || o.sack_permitted);
}

TEST(TcpOptionsParse, BadLengthsDirect) {
  TcpOptions o;
  EXPECT_EQ(parse_opts({0x02}, &o), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_opts({0x08, 0x00}, &o), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_opts({0x08, 0x01}, &o), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_opts({0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0}, &o), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_opts({0x05, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0}, &o), Drop::kNone);  // exact fit
  EXPECT_EQ(parse_opts({0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0}, &o), Drop::kTcpBadOptionLength);
  EXPECT_EQ(parse_opts({0x1e, 0xff, 0, 0}, &o), Drop::kTcpBadOptionLength);
}

// =============================================================================
// TCP options writing
// =============================================================================

Bytes write_opts(const TcpOptions& o) {
  Bytes out(o.encoded_size());  // exact size: ASan catches writes past it
  const size_t n = o.write(std::span<uint8_t>(out.data(), out.size()));
  EXPECT_EQ(n, out.size());
  return out;
}

TEST(TcpOptionsWrite, NothingWritesNothing) {
  TcpOptions o;
  EXPECT_EQ(o.encoded_size(), 0u);
  EXPECT_TRUE(write_opts(o).empty());
}

TEST(TcpOptionsWrite, LinuxSynLayoutByteForByte) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 100;
  o.ts_ecr = 0;
  o.has_window_scale = true;
  o.window_scale = 7;
  EXPECT_EQ(hex(write_opts(o)), hex(kLinuxSynOptions));
}

TEST(TcpOptionsWrite, SynWithoutTimestampsByteForByte) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_window_scale = true;
  o.window_scale = 7;
  const Bytes want = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07};
  EXPECT_EQ(hex(write_opts(o)), hex(want));
}

TEST(TcpOptionsWrite, SynWithTimestampsNoSackByteForByte) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 536;
  o.has_timestamps = true;
  o.ts_val = 0x01020304;
  o.ts_ecr = 0xa0b0c0d0;
  const Bytes want = cat({{0x02, 0x04, 0x02, 0x18, 0x01, 0x01, 0x08, 0x0a},
                          {0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0}});
  EXPECT_EQ(hex(write_opts(o)), hex(want));
}

TEST(TcpOptionsWrite, AckWithTimestampsAndOneSackBlockByteForByte) {
  TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 7;
  o.ts_ecr = 6;
  o.sack_count = 1;
  o.sack[0] = {0x10000000, 0x10000100};
  const Bytes want = cat({{0x01, 0x01, 0x08, 0x0a},
                          be32(7),
                          be32(6),
                          {0x01, 0x01, 0x05, 0x0a},
                          be32(0x10000000),
                          be32(0x10000100)});
  EXPECT_EQ(hex(write_opts(o)), hex(want));
}

TEST(TcpOptionsWrite, TimestampsLeaveRoomForOnlyThreeSackBlocks) {
  // RFC 2018 §3: with timestamps (10 bytes + 2 NOPs) only 3 blocks fit in 40.
  TcpOptions o;
  o.has_timestamps = true;
  o.ts_val = 1;
  o.ts_ecr = 2;
  o.sack_count = 4;
  for (uint32_t b = 0; b < 4; ++b) o.sack[b] = {100 * b + 1, 100 * b + 50};
  EXPECT_EQ(o.encoded_size(), 40u);
  const Bytes want = cat({{0x01, 0x01, 0x08, 0x0a},
                          be32(1),
                          be32(2),
                          {0x01, 0x01, 0x05, 26},
                          be32(1),
                          be32(50),
                          be32(101),
                          be32(150),
                          be32(201),
                          be32(250)});
  const Bytes got = write_opts(o);
  EXPECT_EQ(hex(got), hex(want));
  TcpOptions back;
  ASSERT_EQ(parse_opts(got, &back), Drop::kNone);
  EXPECT_EQ(back.sack_count, 3);
}

TEST(TcpOptionsWrite, FourSackBlocksAloneByteForByte) {
  TcpOptions o;
  o.sack_count = 4;
  for (uint32_t b = 0; b < 4; ++b) o.sack[b] = {b, b + 1};
  const Bytes want = cat({{0x01, 0x01, 0x05, 34},
                          be32(0),
                          be32(1),
                          be32(1),
                          be32(2),
                          be32(2),
                          be32(3),
                          be32(3),
                          be32(4)});
  EXPECT_EQ(hex(write_opts(o)), hex(want));
}

TEST(TcpOptionsWrite, UserTimeoutByteForByte) {
  TcpOptions o;
  o.has_user_timeout = true;
  o.user_timeout = 0x800a;
  EXPECT_EQ(hex(write_opts(o)), "1c04800a");
}

// Size of the documented layout (tcp_header.cpp): each option padded with
// NOPs to 4 bytes, SACK-permitted sharing a word with timestamps.
size_t layout_size(bool mss, bool ts, bool sackok, bool ws, bool uto) {
  return (mss ? 4 : 0) + (ts ? 12 : sackok ? 4 : 0) + (ws ? 4 : 0) + (uto ? 4 : 0);
}

TEST(TcpOptionsWrite, RoundTripEveryCombination) {
  for (int mask = 0; mask < 32; ++mask) {
    for (uint8_t sacks = 0; sacks <= 4; ++sacks) {
      TcpOptions o;
      o.has_mss = mask & 1;
      o.mss = 0x1234;
      o.has_timestamps = mask & 2;
      o.ts_val = 0xfedcba98;
      o.ts_ecr = 0x76543210;
      o.sack_permitted = mask & 4;
      o.has_window_scale = mask & 8;
      o.window_scale = 14;
      o.has_user_timeout = mask & 16;
      o.user_timeout = 0x7fff;
      o.sack_count = sacks;
      for (uint32_t b = 0; b < 4; ++b) o.sack[b] = {0xfffffff0 + b * 0x1000, 0x20 + b * 0x1000};

      const size_t fixed = layout_size(o.has_mss, o.has_timestamps, o.sack_permitted,
                                       o.has_window_scale, o.has_user_timeout);
      size_t fit = sacks;
      while (fit > 0 && fixed + 4 + 8 * fit > kTcpMaxOptions) --fit;
      const size_t want_size = fixed + (fit ? 4 + 8 * fit : 0);

      SCOPED_TRACE(testing::Message() << "mask " << mask << " sacks " << int{sacks});
      EXPECT_EQ(o.encoded_size(), want_size);
      EXPECT_EQ(o.encoded_size() % 4, 0u);
      EXPECT_LE(o.encoded_size(), kTcpMaxOptions);
      const Bytes w = write_opts(o);
      TcpOptions back;
      ASSERT_EQ(parse_opts(w, &back), Drop::kNone) << hex(w);
      EXPECT_EQ(back.has_mss, o.has_mss);
      if (o.has_mss) {
        EXPECT_EQ(back.mss, o.mss);
      }
      EXPECT_EQ(back.has_timestamps, o.has_timestamps);
      if (o.has_timestamps) {
        EXPECT_EQ(back.ts_val, o.ts_val);
        EXPECT_EQ(back.ts_ecr, o.ts_ecr);
      }
      EXPECT_EQ(back.sack_permitted, o.sack_permitted);
      EXPECT_EQ(back.has_window_scale, o.has_window_scale);
      if (o.has_window_scale) {
        EXPECT_EQ(back.window_scale, o.window_scale);
      }
      EXPECT_EQ(back.has_user_timeout, o.has_user_timeout);
      if (o.has_user_timeout) {
        EXPECT_EQ(back.user_timeout, o.user_timeout);
      }
      ASSERT_EQ(back.sack_count, fit);
      for (size_t b = 0; b < fit; ++b) EXPECT_EQ(back.sack[b], o.sack[b]);
    }
  }
}

TEST(TcpOptionsWrite, AllOptionsAndFourSacksFitsOneBlock) {
  TcpOptions o;
  o.has_mss = o.has_timestamps = o.sack_permitted = o.has_window_scale = o.has_user_timeout = true;
  o.sack_count = 4;
  EXPECT_EQ(o.encoded_size(), 36u);  // 24 fixed + NOP,NOP,SACK(10)
}

// =============================================================================
// build_ipv4_tcp
// =============================================================================

Ipv4Fields ip_fields() {
  Ipv4Fields f;
  f.src = Ipv4Addr{kHostA};
  f.dst = Ipv4Addr{kHostB};
  f.id = 0x1c46;
  return f;  // TTL 64, DF, protocol TCP by default
}

TcpOptions syn_options() {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 100;
  o.has_window_scale = true;
  o.window_scale = 7;
  return o;
}

TEST(BuildIpv4Tcp, ReproducesTheKnownSynByteForByte) {
  TcpFields t;
  t.src_port = 50000;
  t.dst_port = 80;
  t.seq = 0x01020304;
  t.flags = tcp_flags::kSyn;
  t.window = 64240;
  Bytes out(60);
  ASSERT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), t, syn_options()), 60u);
  EXPECT_EQ(hex(out), hex(kSynCapture));
}

TEST(BuildIpv4Tcp, HeaderBytesAtFixedOffsets) {
  TcpFields t;
  t.src_port = 0x1234;
  t.dst_port = 0xabcd;
  t.seq = 0x89abcdef;
  t.ack = 0x01234567;
  t.flags = 0xff;  // all eight flag bits land in byte 13 unchanged
  t.window = 0xfedc;
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1000;
  Ipv4Fields ip = ip_fields();
  ip.protocol = 17;  // ignored: the builder writes TCP
  ip.id = 0xbeef;
  Bytes out(100, 0xee);
  const size_t n = build_ipv4_tcp(std::span<uint8_t>(out), ip, t, o, Bytes{1, 2, 3});
  ASSERT_EQ(n, 20u + 24u + 3u);
  EXPECT_EQ(out[0], 0x45);           // version 4, IHL 5
  EXPECT_EQ(out[1], 0x00);           // DSCP/ECN
  EXPECT_EQ(rd16(out, 2), 47);       // total length
  EXPECT_EQ(rd16(out, 4), 0xbeef);   // identification
  EXPECT_EQ(rd16(out, 6), 0x4000);   // DF, offset 0
  EXPECT_EQ(out[8], 64);             // TTL
  EXPECT_EQ(out[9], 6);              // TCP
  EXPECT_EQ(rd32(out, 12), kHostA);  // source
  EXPECT_EQ(rd32(out, 16), kHostB);  // destination
  EXPECT_EQ(rd16(out, 20), 0x1234);
  EXPECT_EQ(rd16(out, 22), 0xabcd);
  EXPECT_EQ(rd32(out, 24), 0x89abcdefu);
  EXPECT_EQ(rd32(out, 28), 0x01234567u);
  EXPECT_EQ(out[32], 0x60);  // data offset 6 words, reserved bits zero
  EXPECT_EQ(out[33], 0xff);
  EXPECT_EQ(rd16(out, 34), 0xfedc);
  EXPECT_EQ(rd16(out, 38), 0);  // urgent pointer
  EXPECT_EQ(hex(CSpan(out).subspan(40, 4)), "020403e8");
  EXPECT_EQ(hex(CSpan(out).subspan(44, 3)), "010203");
  EXPECT_EQ(out[47], 0xee);  // nothing written past the datagram
  EXPECT_EQ(ref_checksum(CSpan(out).first(20)), 0);
  EXPECT_EQ(ref_tcp_checksum(kHostA, kHostB, CSpan(out).subspan(20, 27)), 0);
}

TEST(BuildIpv4Tcp, DontFragmentOffAndOtherTtl) {
  Ipv4Fields ip = ip_fields();
  ip.dont_fragment = false;
  ip.ttl = 1;
  Bytes out(40);
  ASSERT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip, TcpFields{}, TcpOptions{}), 40u);
  EXPECT_EQ(rd16(out, 6), 0x0000);
  EXPECT_EQ(out[8], 1);
  EXPECT_EQ(out[32], 0x50);
  PacketView v;
  ASSERT_EQ(parse(out, &v), Drop::kNone);
  EXPECT_FALSE(v.ip.dont_fragment());
}

TEST(BuildIpv4Tcp, TwoPartPayloadMatchesHandAssembly) {
  std::mt19937 rng(9293);
  Bytes payload(67);
  for (auto& x : payload) x = static_cast<uint8_t>(rng());
  for (size_t total : {0u, 1u, 2u, 7u, 66u, 67u}) {
    for (size_t split = 0; split <= total; ++split) {
      SCOPED_TRACE(testing::Message() << "payload " << total << " split " << split);
      const Bytes a(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(split));
      const Bytes b(payload.begin() + static_cast<ptrdiff_t>(split),
                    payload.begin() + static_cast<ptrdiff_t>(total));
      RawTcp want = data_fields();
      want.payload.assign(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(total));
      TcpFields t;
      t.src_port = want.sport;
      t.dst_port = want.dport;
      t.seq = want.seq;
      t.ack = want.ack;
      t.flags = want.flags;
      t.window = want.window;
      TcpOptions o;
      o.has_timestamps = true;
      o.ts_val = 0x11223344;
      o.ts_ecr = 0x55667788;
      o.sack_count = 1;
      o.sack[0] = {1000, 2000};
      const Bytes expected = raw_packet(want);
      Bytes out(expected.size());
      ASSERT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), t, o, a, b), expected.size());
      ASSERT_EQ(hex(out), hex(expected));

      PacketView v;
      ASSERT_EQ(parse(out, &v), Drop::kNone);
      EXPECT_EQ(v.tcp.seq(), want.seq);
      EXPECT_EQ(v.tcp.ack(), want.ack);
      EXPECT_EQ(v.tcp.window(), want.window);
      EXPECT_TRUE(std::equal(v.tcp.payload().begin(), v.tcp.payload().end(), want.payload.begin(),
                             want.payload.end()));
    }
  }
}

TEST(BuildIpv4Tcp, BufferTooSmallReturnsZero) {
  const Bytes payload(10, 0x42);
  const TcpOptions o = syn_options();
  const size_t need = 20 + 20 + 20 + 10;
  for (size_t size : {size_t{0}, size_t{1}, size_t{20}, size_t{40}, need - 1}) {
    Bytes out(size);
    EXPECT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), TcpFields{}, o, payload), 0u)
        << size;
  }
  Bytes out(need);
  EXPECT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), TcpFields{}, o, payload), need);
}

TEST(BuildIpv4Tcp, LargestDatagramAndOneByteMore) {
  Bytes a(30000, 0x5a);
  Bytes b(65535 - 40 - 30000, 0xa5);  // total exactly 65535
  Bytes out(70000);
  ASSERT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), TcpFields{}, TcpOptions{}, a, b),
            65535u);
  EXPECT_EQ(rd16(out, 2), 65535);
  out.resize(65535);
  PacketView v;
  ASSERT_EQ(parse(out, &v), Drop::kNone);
  EXPECT_EQ(v.tcp.payload().size(), 65495u);
  EXPECT_EQ(ref_tcp_checksum(kHostA, kHostB, CSpan(out).subspan(20)), 0);

  out.assign(70000, 0);
  b.push_back(0);  // 65536
  EXPECT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), TcpFields{}, TcpOptions{}, a, b),
            0u);
  b.pop_back();  // options push it over too
  TcpOptions mss;
  mss.has_mss = true;
  EXPECT_EQ(build_ipv4_tcp(std::span<uint8_t>(out), ip_fields(), TcpFields{}, mss, a, b), 0u);
}

TEST(WriteIpv4Header, ByHand) {
  Ipv4Fields f;
  f.src = Ipv4Addr::of(192, 168, 0, 1);
  f.dst = Ipv4Addr::of(192, 168, 0, 199);
  f.protocol = 17;
  f.id = 0;
  Bytes out(20);
  write_ipv4_header(std::span<uint8_t>(out), f, 0x73);
  // The published example header, with TTL 64 and DF.
  EXPECT_EQ(hex(out), "45000073000040004011b861c0a80001c0a800c7");
}

// =============================================================================
// ICMP destination unreachable (RFC 792, RFC 1191)
// =============================================================================

TEST(Icmp, HandAssembledFragmentationNeededParses) {
  const Bytes quoted(kSynCapture.begin(), kSynCapture.begin() + 28);  // IP header + 8
  const Bytes p = raw_icmp_packet(raw_icmp(3, 4, 1400, quoted));
  PacketView v;
  ASSERT_EQ(parse(p, &v), Drop::kNone);
  EXPECT_EQ(v.kind, PacketView::Kind::kIcmpUnreachable);
  EXPECT_EQ(v.ip.protocol(), 1);
  EXPECT_EQ(v.icmp.code(), icmp_code::kFragmentationNeeded);
  EXPECT_EQ(v.icmp.next_hop_mtu(), 1400);
  EXPECT_EQ(v.icmp.quoted_src(), Ipv4Addr::of(10, 0, 0, 1));
  EXPECT_EQ(v.icmp.quoted_dst(), Ipv4Addr::of(10, 0, 0, 2));
  EXPECT_EQ(v.icmp.quoted_src_port(), 50000);
  EXPECT_EQ(v.icmp.quoted_dst_port(), 80);
  EXPECT_EQ(v.icmp.quoted_seq(), 0x01020304u);
}

TEST(Icmp, QuoteWithIpOptionsUsesItsHeaderLength) {
  RawIp h;
  h.ver_ihl = 0x47;
  h.options = {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00};
  const Bytes offending = raw_packet(data_fields(), h);
  const Bytes quoted(offending.begin(), offending.begin() + 28 + 8);
  PacketView v;
  ASSERT_EQ(parse(raw_icmp_packet(raw_icmp(3, 3, 0, quoted)), &v), Drop::kNone);
  EXPECT_EQ(v.icmp.code(), icmp_code::kPortUnreachable);
  EXPECT_EQ(v.icmp.quoted_src_port(), 50000);
  EXPECT_EQ(v.icmp.quoted_dst_port(), 8080);
  EXPECT_EQ(v.icmp.quoted_seq(), 0xfffffffeu);
}

TEST(Icmp, LongerQuoteAndPaddingAccepted) {
  // RFC 1812 routers quote as much as fits; link padding follows.
  PacketView v;
  ASSERT_EQ(parse(raw_icmp_packet(raw_icmp(3, 1, 0, kSynCapture), 5), &v), Drop::kNone);
  EXPECT_EQ(v.icmp.code(), icmp_code::kHostUnreachable);
  EXPECT_EQ(v.icmp.quoted_seq(), 0x01020304u);
}

TEST(IcmpDrops, MessageShorterThanEightBytes) {
  for (size_t n = 0; n < 8; ++n) {
    Bytes m = raw_icmp(3, 0, 0, {});
    m.resize(n);
    if (n >= 4) {
      m[2] = m[3] = 0;
      wr16(m, 2, ref_checksum(m));
    }
    EXPECT_EQ(parse(raw_icmp_packet(m)), Drop::kIcmpTruncated) << n;
  }
}

TEST(IcmpDrops, QuotedDatagramTooShort) {
  const Bytes syn = kSynCapture;
  // Fewer than 20 quoted bytes.
  for (size_t q : {0u, 1u, 19u}) {
    EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, Bytes(syn.begin(), syn.begin() + q)))),
              Drop::kIcmpTruncated)
        << q;
  }
  // A full header but fewer than IHL + 8 bytes.
  for (size_t q : {20u, 24u, 27u}) {
    EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, Bytes(syn.begin(), syn.begin() + q)))),
              Drop::kIcmpTruncated)
        << q;
  }
  // A quoted header with options (IHL 6) needs 32 bytes; 28 is too short.
  RawIp h;
  h.ver_ihl = 0x46;
  h.options = {0, 0, 0, 0};
  const Bytes off = raw_packet(data_fields(), h);
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, Bytes(off.begin(), off.begin() + 31)))),
            Drop::kIcmpTruncated);
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, Bytes(off.begin(), off.begin() + 32)))),
            Drop::kNone);
}

TEST(IcmpDrops, MalformedQuotedHeader) {
  // The wire layer reports a quote that is not a usable IPv4 header (wrong
  // version, IHL < 5) as kIcmpTruncated, its only "bad quote" reason.
  Bytes q(kSynCapture.begin(), kSynCapture.begin() + 28);
  q[0] = 0x65;
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, q))), Drop::kIcmpTruncated);
  q[0] = 0x44;
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 0, 0, q))), Drop::kIcmpTruncated);
}

TEST(IcmpDrops, BadChecksumEveryBit) {
  const Bytes quoted(kSynCapture.begin(), kSynCapture.begin() + 28);
  const Bytes base = raw_icmp_packet(raw_icmp(3, 4, 1400, quoted));
  for (size_t byte = 20; byte < base.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes p = base;
      p[byte] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_EQ(parse(p), Drop::kIcmpBadChecksum) << byte << ":" << bit;
    }
  }
  // An odd-length message verifies with the same padding rule.
  const Bytes odd = raw_icmp_packet(raw_icmp(3, 0, 0, cat({quoted, {0x77}})));
  EXPECT_EQ(parse(odd), Drop::kNone);
}

TEST(IcmpDrops, UnsupportedTypes) {
  // Echo request (type 8) with a valid checksum: counted as unsupported.
  const Bytes echo_data = {0x00, 0x01, 0x00, 0x02, 'p', 'i', 'n', 'g'};
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(8, 0, 0, echo_data))), Drop::kIcmpUnsupported);
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(0, 0, 0, echo_data))), Drop::kIcmpUnsupported);
  const Bytes quoted(kSynCapture.begin(), kSynCapture.begin() + 28);
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(11, 0, 0, quoted))), Drop::kIcmpUnsupported);
  // A destination unreachable quoting UDP is not for TCP.
  Bytes udp = quoted;
  udp[9] = 17;
  refix_ip(udp);
  EXPECT_EQ(parse(raw_icmp_packet(raw_icmp(3, 3, 0, udp))), Drop::kIcmpUnsupported);
  // The checksum is checked first: a broken echo request is a checksum drop.
  Bytes bad = raw_icmp_packet(raw_icmp(8, 0, 0, echo_data));
  bad.back() ^= 1;
  EXPECT_EQ(parse(bad), Drop::kIcmpBadChecksum);
}

TEST(BuildIcmpUnreachable, QuotingABuiltSegmentParsesBack) {
  TcpFields t;
  t.src_port = 40000;
  t.dst_port = 443;
  t.seq = 0xdeadbeef;
  t.flags = tcp_flags::kAck;
  const Bytes payload(1400, 0x33);
  Bytes seg(1500);
  const size_t seg_len =
      build_ipv4_tcp(std::span<uint8_t>(seg), ip_fields(), t, TcpOptions{}, payload);
  ASSERT_EQ(seg_len, 1440u);
  seg.resize(seg_len);

  for (uint8_t code = 0; code <= 5; ++code) {
    SCOPED_TRACE(testing::Message() << "code " << int{code});
    Bytes out(100, 0xee);
    const size_t n =
        build_icmp_unreachable(std::span<uint8_t>(out), Ipv4Addr{kRouter}, code, 1280, seg);
    ASSERT_EQ(n, 20u + 8u + 28u);
    // Hand-checked layout: outer IP from the router back to the sender.
    EXPECT_EQ(out[0], 0x45);
    EXPECT_EQ(rd16(out, 2), 56);
    EXPECT_EQ(rd16(out, 6), 0x0000);  // no DF on ICMP errors
    EXPECT_EQ(out[9], 1);
    EXPECT_EQ(rd32(out, 12), kRouter);
    EXPECT_EQ(rd32(out, 16), kHostA);
    EXPECT_EQ(out[20], 3);
    EXPECT_EQ(out[21], code);
    EXPECT_EQ(rd16(out, 24), 0);
    EXPECT_EQ(rd16(out, 26), code == 4 ? 1280 : 0);  // RFC 1191 next-hop MTU
    EXPECT_TRUE(std::equal(out.begin() + 28, out.begin() + 56, seg.begin()));
    EXPECT_EQ(out[56], 0xee);
    EXPECT_EQ(ref_checksum(CSpan(out).first(20)), 0);
    EXPECT_EQ(ref_checksum(CSpan(out).subspan(20, 36)), 0);

    out.resize(n);
    PacketView v;
    ASSERT_EQ(parse(out, &v), Drop::kNone);
    EXPECT_EQ(v.kind, PacketView::Kind::kIcmpUnreachable);
    EXPECT_EQ(v.ip.src(), Ipv4Addr{kRouter});
    EXPECT_EQ(v.ip.dst(), Ipv4Addr{kHostA});
    EXPECT_EQ(v.icmp.code(), code);
    EXPECT_EQ(v.icmp.next_hop_mtu(), code == 4 ? 1280 : 0);
    EXPECT_EQ(v.icmp.quoted_src(), Ipv4Addr{kHostA});
    EXPECT_EQ(v.icmp.quoted_dst(), Ipv4Addr{kHostB});
    EXPECT_EQ(v.icmp.quoted_src_port(), 40000);
    EXPECT_EQ(v.icmp.quoted_dst_port(), 443);
    EXPECT_EQ(v.icmp.quoted_seq(), 0xdeadbeefu);
  }
}

TEST(BuildIcmpUnreachable, RefusesShortInputOrOutput) {
  Bytes out(100);
  const auto build = [&](const Bytes& offending, size_t out_size = 100) {
    return build_icmp_unreachable(std::span<uint8_t>(out.data(), out_size), Ipv4Addr{kRouter}, 3, 0,
                                  offending);
  };
  EXPECT_EQ(build(Bytes(kSynCapture.begin(), kSynCapture.begin() + 27)), 0u);
  EXPECT_EQ(build(Bytes(kSynCapture.begin(), kSynCapture.begin() + 19)), 0u);
  EXPECT_EQ(build(Bytes{}), 0u);
  EXPECT_EQ(build(kSynCapture, 55), 0u);
  EXPECT_EQ(build(kSynCapture, 56), 56u);
  Bytes bad_ihl = kSynCapture;
  bad_ihl[0] = 0x44;
  EXPECT_EQ(build(bad_ihl), 0u);
  RawIp h;
  h.ver_ihl = 0x46;
  h.options = {0, 0, 0, 0};
  const Bytes with_opts = raw_packet(syn_fields(), h);
  EXPECT_EQ(build(Bytes(with_opts.begin(), with_opts.begin() + 31)), 0u);
  EXPECT_EQ(build(with_opts), 60u);  // 20 + 8 + 24 + 8
}

// =============================================================================
// Robustness: random and mutated input, checked against ref_parse()
// =============================================================================

// Options parser written from RFC 9293 §3.2 and the TcpOptions contract.
bool ref_parse_options(CSpan a, TcpOptions* o) {
  *o = TcpOptions{};
  for (size_t i = 0; i < a.size();) {
    const uint8_t kind = a[i];
    if (kind == 0) return true;
    if (kind == 1) {
      i += 1;
      continue;
    }
    if (a.size() - i < 2) return false;
    const size_t len = a[i + 1];
    if (len < 2 || len > a.size() - i) return false;
    const CSpan body = a.subspan(i + 2, len - 2);
    if (kind == 2 && len == 4) {
      o->has_mss = true;
      o->mss = rd16(body, 0);
    } else if (kind == 3 && len == 3) {
      o->has_window_scale = true;
      o->window_scale = body[0];
    } else if (kind == 4 && len == 2) {
      o->sack_permitted = true;
    } else if (kind == 5 && len >= 10 && len % 8 == 2) {
      o->sack_count = 0;
      for (size_t off = 0; off + 8 <= body.size() && o->sack_count < 4; off += 8) {
        o->sack[o->sack_count++] = {rd32(body, off), rd32(body, off + 4)};
      }
    } else if (kind == 8 && len == 10) {
      o->has_timestamps = true;
      o->ts_val = rd32(body, 0);
      o->ts_ecr = rd32(body, 4);
    } else if (kind == 28 && len == 4) {
      o->has_user_timeout = true;
      o->user_timeout = rd16(body, 0);
    }
    i += len;
  }
  return true;
}

void expect_same_options(const TcpOptions& got, const TcpOptions& want) {
  EXPECT_EQ(got.has_mss, want.has_mss);
  if (want.has_mss) {
    EXPECT_EQ(got.mss, want.mss);
  }
  EXPECT_EQ(got.has_window_scale, want.has_window_scale);
  if (want.has_window_scale) {
    EXPECT_EQ(got.window_scale, want.window_scale);
  }
  EXPECT_EQ(got.sack_permitted, want.sack_permitted);
  EXPECT_EQ(got.has_timestamps, want.has_timestamps);
  if (want.has_timestamps) {
    EXPECT_EQ(got.ts_val, want.ts_val);
    EXPECT_EQ(got.ts_ecr, want.ts_ecr);
  }
  EXPECT_EQ(got.has_user_timeout, want.has_user_timeout);
  if (want.has_user_timeout) {
    EXPECT_EQ(got.user_timeout, want.user_timeout);
  }
  ASSERT_EQ(got.sack_count, want.sack_count);
  for (size_t b = 0; b < want.sack_count; ++b) EXPECT_EQ(got.sack[b], want.sack[b]);
}

struct RefResult {
  Drop drop = Drop::kNone;
  bool tcp = false;
  size_t ihl = 0, total = 0;
  size_t payload_off = 0, payload_len = 0;  // TCP payload within the buffer
  TcpOptions opts;
};

// Independent parser following RFC 791/9293/792 and the order of checks
// documented in drop.hpp (IPv4 structure, IPv4 checksum, fragments,
// protocol; TCP structure, checksum, options; ICMP length, checksum, type,
// quote).
RefResult ref_parse(CSpan b, bool verify) {
  RefResult r;
  const auto fail = [&r](Drop d) {
    r.drop = d;
    return r;
  };
  if (b.size() < 20) return fail(Drop::kIpTruncated);
  if (b[0] / 16 != 4) return fail(Drop::kIpBadVersion);
  const size_t ihl = (b[0] % 16) * 4u;
  if (ihl < 20) return fail(Drop::kIpBadHeaderLength);
  if (ihl > b.size()) return fail(Drop::kIpTruncated);
  const size_t total = rd16(b, 2);
  if (total < ihl || total > b.size()) return fail(Drop::kIpLengthMismatch);
  if (verify && ref_checksum(b.first(ihl)) != 0) return fail(Drop::kIpBadChecksum);
  const uint16_t frag = rd16(b, 6);
  if ((frag & 0x2000) || (frag & 0x1fff)) return fail(Drop::kIpFragment);
  r.ihl = ihl;
  r.total = total;
  const CSpan body = b.subspan(ihl, total - ihl);
  if (b[9] == 6) {
    r.tcp = true;
    if (body.size() < 20) return fail(Drop::kTcpTruncated);
    const size_t doff = (body[12] / 16) * 4u;
    if (doff < 20 || doff > body.size()) return fail(Drop::kTcpBadDataOffset);
    if (verify && ref_tcp_checksum(rd32(b, 12), rd32(b, 16), body) != 0) {
      return fail(Drop::kTcpBadChecksum);
    }
    if (!ref_parse_options(body.subspan(20, doff - 20), &r.opts)) {
      return fail(Drop::kTcpBadOptionLength);
    }
    r.payload_off = ihl + doff;
    r.payload_len = body.size() - doff;
    return r;
  }
  if (b[9] == 1) {
    if (body.size() < 8) return fail(Drop::kIcmpTruncated);
    if (verify && ref_checksum(body) != 0) return fail(Drop::kIcmpBadChecksum);
    if (body[0] != 3) return fail(Drop::kIcmpUnsupported);
    const CSpan q = body.subspan(8);
    if (q.size() < 20 || q[0] / 16 != 4) return fail(Drop::kIcmpTruncated);
    const size_t qhl = (q[0] % 16) * 4u;
    if (qhl < 20 || q.size() < qhl + 8) return fail(Drop::kIcmpTruncated);
    if (q[9] != 6) return fail(Drop::kIcmpUnsupported);
    return r;
  }
  return fail(Drop::kIpNotTcp);
}

// parse_packet() on an exactly-sized heap copy must agree with ref_parse():
// same Drop, and for accepted packets the same fields and payload location.
Drop check_against_reference(const Bytes& buf, bool verify) {
  const Bytes copy(buf);  // exact size, so ASan flags any over-read
  const CSpan b(copy.data(), copy.size());
  PacketView v;
  const Drop got = parse_packet(b, &v, verify);
  EXPECT_LT(static_cast<size_t>(got), static_cast<size_t>(Drop::kCount));
  const RefResult want = ref_parse(b, verify);
  EXPECT_EQ(got, want.drop) << "verify=" << verify << " " << hex(b);
  if (got != Drop::kNone || want.drop != Drop::kNone) return got;
  EXPECT_EQ(v.ip.header().data(), b.data());
  EXPECT_EQ(v.ip.header().size(), want.ihl);
  EXPECT_EQ(v.ip.payload().data(), b.data() + want.ihl);
  EXPECT_EQ(v.ip.payload().size(), want.total - want.ihl);
  EXPECT_EQ(v.ip.src().value, rd32(b, 12));
  EXPECT_EQ(v.ip.dst().value, rd32(b, 16));
  EXPECT_EQ(v.ip.ttl(), b[8]);
  EXPECT_EQ(v.ip.id(), rd16(b, 4));
  if (want.tcp) {
    EXPECT_EQ(v.kind, PacketView::Kind::kTcp);
    const CSpan s = b.subspan(want.ihl);
    EXPECT_EQ(v.tcp.src_port(), rd16(s, 0));
    EXPECT_EQ(v.tcp.dst_port(), rd16(s, 2));
    EXPECT_EQ(v.tcp.seq(), rd32(s, 4));
    EXPECT_EQ(v.tcp.ack(), rd32(s, 8));
    EXPECT_EQ(v.tcp.flags(), s[13]);
    EXPECT_EQ(v.tcp.window(), rd16(s, 14));
    EXPECT_EQ(v.tcp.urgent(), rd16(s, 18));
    EXPECT_EQ(v.tcp.payload().data(), b.data() + want.payload_off);
    EXPECT_EQ(v.tcp.payload().size(), want.payload_len);
    expect_same_options(v.tcp.options(), want.opts);
  } else {
    EXPECT_EQ(v.kind, PacketView::Kind::kIcmpUnreachable);
    const CSpan m = b.subspan(want.ihl);
    const CSpan q = m.subspan(8);
    const size_t qhl = (q[0] % 16) * 4u;
    EXPECT_EQ(v.icmp.code(), m[1]);
    EXPECT_EQ(v.icmp.next_hop_mtu(), rd16(m, 6));
    EXPECT_EQ(v.icmp.quoted_src().value, rd32(q, 12));
    EXPECT_EQ(v.icmp.quoted_dst().value, rd32(q, 16));
    EXPECT_EQ(v.icmp.quoted_src_port(), rd16(q, qhl));
    EXPECT_EQ(v.icmp.quoted_dst_port(), rd16(q, qhl + 2));
    EXPECT_EQ(v.icmp.quoted_seq(), rd32(q, qhl + 4));
  }
  return got;
}

TEST(Fuzz, RandomBuffers) {
  std::mt19937 rng(0x5eed);
  std::array<int, kAllDrops.size()> seen{};
  for (int n = 0; n < 200000; ++n) {
    Bytes b(rng() % 121);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Half the time, a plausible first byte, so the fuzz gets past version.
    if (!b.empty() && rng() % 2) b[0] = static_cast<uint8_t>(0x45 + rng() % 2);
    ++seen[static_cast<size_t>(check_against_reference(b, true))];
    check_against_reference(b, false);
    if (testing::Test::HasFailure()) return;
  }
  EXPECT_GT(seen[static_cast<size_t>(Drop::kIpTruncated)], 0);
  EXPECT_GT(seen[static_cast<size_t>(Drop::kIpBadVersion)], 0);
  EXPECT_GT(seen[static_cast<size_t>(Drop::kIpBadHeaderLength)], 0);
  EXPECT_GT(seen[static_cast<size_t>(Drop::kIpLengthMismatch)], 0);
}

Bytes random_option_area(std::mt19937& rng, size_t len) {
  static constexpr uint8_t kKinds[] = {0, 1, 1, 2, 3, 4, 5, 5, 8, 28, 30, 254};
  static constexpr uint8_t kGoodLen[] = {1, 1, 1, 4, 3, 2, 10, 26, 10, 4, 6, 4};
  Bytes a;
  while (a.size() < len) {
    const size_t k = rng() % std::size(kKinds);
    a.push_back(kKinds[k]);
    if (kKinds[k] <= 1) continue;
    uint8_t l = kGoodLen[k];
    if (kKinds[k] == 5) l = static_cast<uint8_t>(2 + 8 * (1 + rng() % 4));
    if (rng() % 6 == 0) l = static_cast<uint8_t>(rng() % 12);  // often wrong
    a.push_back(l);
    for (int i = 2; i < l; ++i) a.push_back(static_cast<uint8_t>(rng()));
  }
  a.resize(len);  // may cut the last option short
  return a;
}

// Mostly well-formed TCP or ICMP datagrams with random damage, so that every
// stage of the parser is reached.
Bytes random_packet(std::mt19937& rng) {
  RawIp h;
  const unsigned kind = rng() % 10;
  h.proto = kind < 6 ? 6 : kind < 9 ? 1 : static_cast<uint8_t>(rng());
  h.frag = (rng() % 8 == 0) ? static_cast<uint16_t>(rng()) : (rng() % 2 ? 0x4000 : 0);
  if (rng() % 8 == 0) {
    h.ver_ihl = 0x46;
    h.options = {1, 1, 1, 0};
  }
  Bytes body;
  if (h.proto == 1) {
    Bytes quoted;
    if (rng() % 4) {
      RawTcp t;
      t.seq = static_cast<uint32_t>(rng());
      quoted = raw_packet(t);
      if (rng() % 6 == 0) quoted[0] = static_cast<uint8_t>(rng());
      if (rng() % 6 == 0) quoted[9] = 17;
    }
    quoted.resize(rng() % 48, 0x11);
    const uint8_t type = rng() % 4 ? 3 : static_cast<uint8_t>(rng() % 20);
    body = raw_icmp(type, static_cast<uint8_t>(rng() % 6), static_cast<uint16_t>(rng()), quoted);
  } else {
    RawTcp t;
    t.flags = static_cast<uint8_t>(rng());
    t.options = random_option_area(rng, 4 * (rng() % 11));
    t.payload.resize(rng() % 24, 0x77);
    if (rng() % 8 == 0) t.data_offset = static_cast<int>(rng() % 16);
    body = raw_tcp(t, h.src, h.dst);
  }
  Bytes p = raw_ipv4(h, body, rng() % 4 == 0 ? rng() % 8 : 0);
  // Random damage, then (usually) re-derived checksums.
  switch (rng() % 12) {
    case 0:
      p.resize(rng() % (p.size() + 1));
      break;
    case 1:
      p[0] = static_cast<uint8_t>(rng());
      break;
    case 2:
      set_total_length(p, rng() % (p.size() + 8));
      break;
    case 3:
      p[rng() % p.size()] = static_cast<uint8_t>(rng());
      break;
    default:
      break;
  }
  if (p.size() >= 20 && rng() % 5) {
    refix_ip(p);
    if (p[9] == 6) refix_tcp(p);
    if (p[9] == 1) refix_icmp(p);
  }
  return p;
}

TEST(Fuzz, StructuredPacketsAgreeWithReference) {
  std::mt19937 rng(9293);
  std::array<int, kAllDrops.size()> seen{};
  for (int n = 0; n < 200000; ++n) {
    const Bytes p = random_packet(rng);
    ++seen[static_cast<size_t>(check_against_reference(p, true))];
    check_against_reference(p, false);
    if (testing::Test::HasFailure()) return;
  }
  // The generator reaches every outcome, so agreement above is meaningful.
  for (Drop d : kAllDrops) EXPECT_GT(seen[static_cast<size_t>(d)], 20) << drop_name(d);
}

TEST(Fuzz, OptionAreasAgreeWithReference) {
  std::mt19937 rng(7323);
  int accepted = 0;
  for (int n = 0; n < 200000; ++n) {
    const Bytes a = random_option_area(rng, rng() % 45);
    TcpOptions got, want;
    const Drop d = parse_opts(a, &got);
    const bool ok = ref_parse_options(a, &want);
    ASSERT_EQ(d == Drop::kNone, ok) << hex(a);
    ASSERT_TRUE(d == Drop::kNone || d == Drop::kTcpBadOptionLength);
    if (ok) {
      ++accepted;
      expect_same_options(got, want);
      if (testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(accepted, 20000);
}

// The expected result of changing one byte of a valid TCP datagram, derived
// from the header layout: a single changed byte shifts the one's-complement
// sum by a nonzero amount smaller than 0xffff, so a checksum always notices.
Drop expected_after_mutation(const Bytes& base, size_t pos, uint8_t v) {
  const size_t total = rd16(base, 2);
  if (pos >= total) return Drop::kNone;  // link padding
  if (pos == 2 || pos == 3) {
    Bytes m = base;
    m[pos] = v;
    const size_t t = rd16(m, 2);
    return (t < 20 || t > base.size()) ? Drop::kIpLengthMismatch : Drop::kIpBadChecksum;
  }
  if (pos < 20) return Drop::kIpBadChecksum;  // byte 0 is handled by the caller
  if (pos == 20 + 12) {
    const size_t doff = (v >> 4) * 4u;
    if (doff < 20 || doff > total - 20) return Drop::kTcpBadDataOffset;
  }
  return Drop::kTcpBadChecksum;
}

TEST(Fuzz, EverySingleByteMutationOfATcpDatagram) {
  const Bytes base = raw_packet(data_fields(), {}, 4);  // 70 bytes + 4 padding
  PacketView orig;
  ASSERT_EQ(parse(base, &orig), Drop::kNone);
  int accepted = 0;
  for (size_t pos = 0; pos < base.size(); ++pos) {
    for (int val = 0; val < 256; ++val) {
      if (val == base[pos]) continue;
      Bytes m = base;
      m[pos] = static_cast<uint8_t>(val);
      const Drop got = check_against_reference(m, true);
      if (pos == 0) {
        // Version/IHL: structural checks first; a different IHL moves the
        // checksummed range, so only "refused" is certain.
        EXPECT_NE(got, Drop::kNone) << "byte 0 = " << val;
      } else {
        EXPECT_EQ(got, expected_after_mutation(base, pos, static_cast<uint8_t>(val)))
            << "pos " << pos << " val " << val;
      }
      if (got == Drop::kNone) {
        ++accepted;
        PacketView v;
        ASSERT_EQ(parse(m, &v), Drop::kNone);
        EXPECT_EQ(v.tcp.seq(), orig.tcp.seq());
        EXPECT_TRUE(std::equal(v.tcp.payload().begin(), v.tcp.payload().end(),
                               orig.tcp.payload().begin(), orig.tcp.payload().end()));
      }
      if (testing::Test::HasFailure()) return;
    }
  }
  EXPECT_EQ(accepted, 4 * 255);  // exactly the padding mutations
}

TEST(Fuzz, RandomSingleByteMutations) {
  const Bytes quoted(kSynCapture.begin(), kSynCapture.begin() + 28);
  const Bytes bases[] = {
      raw_packet(data_fields(), {}, 6),
      kSynCapture,
      raw_icmp_packet(raw_icmp(3, 4, 1400, quoted), 10),
  };
  std::mt19937 rng(42);
  int accepted = 0, padding_hits = 0;
  for (int n = 0; n < 200000; ++n) {
    const Bytes& base = bases[n % 3];
    const size_t pos = rng() % base.size();
    Bytes m = base;
    m[pos] = static_cast<uint8_t>(m[pos] + 1 + rng() % 255);  // always a change
    const bool in_padding = pos >= rd16(base, 2);
    padding_hits += in_padding;
    const Drop got = check_against_reference(m, true);
    // Accepted if and only if the changed byte is link padding.
    EXPECT_EQ(got == Drop::kNone, in_padding) << "base " << n % 3 << " pos " << pos;
    accepted += got == Drop::kNone;
    if (testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(accepted, padding_hits);
  EXPECT_GT(padding_hits, 0);
  EXPECT_LT(accepted, 200000 / 10);
}

}  // namespace
}  // namespace vigil::wire
