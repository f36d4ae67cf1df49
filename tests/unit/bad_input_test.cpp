// docs/bad-input.md, row by row (issue 12 "Prove it" point 7): every kind of
// bad input the wire layer, the stack, a connection and the analyzer meet is
// fed once, and the counter the table names must move by exactly 1. The
// stack rows run against a stack holding one ESTABLISHED connection with
// timestamps and 500 bytes in flight, so the connection rows (out of window,
// PAWS, bad ACK, RST/SYN in window, forged ICMP) reach a real connection.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/decap.hpp"
#include "analyze/flow_analyzer.hpp"
#include "link/pcap_writer.hpp"
#include "stack/stack.hpp"
#include "stack_harness.hpp"
#include "tcp_harness.hpp"
#include "util/rng.hpp"
#include "wire/checksum.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace vigil {
namespace {

namespace fl = wire::tcp_flags;
using Bytes = std::vector<uint8_t>;

using stack::harness::kA;  // the stack under test
using stack::harness::kB;  // the peer
constexpr Instant kT0 = Instant::zero() + Duration::seconds(6400);
constexpr uint16_t kPort = 80, kPeerPort = 5001;
constexpr uint32_t kIrs = 1000;     // the peer's ISN
constexpr uint32_t kPeerTs = 5000;  // the peer's TSval on its handshake ACK: TS.Recent

struct Seg {
  wire::Ipv4Addr src = kB, dst = kA;
  uint16_t sport = kPeerPort, dport = kPort;
  uint32_t seq = kIrs + 1, ack = 0;
  uint8_t flags = fl::kAck;
  bool ts = true;
  uint32_t ts_val = kPeerTs, ts_ecr = 0;
  Bytes payload;
};

// The peer's segment, built by the stack tests' shared builder.
Bytes build(const Seg& s) {
  stack::harness::TcpSpec spec;
  spec.src = s.src;
  spec.dst = s.dst;
  spec.sport = s.sport;
  spec.dport = s.dport;
  spec.seq = s.seq;
  spec.ack = s.ack;
  spec.flags = s.flags;
  spec.payload = s.payload;
  if (s.flags & fl::kSyn) {
    spec.opt.has_mss = true;
    spec.opt.mss = 1000;
  }
  spec.opt.has_timestamps = s.ts;
  spec.opt.ts_val = s.ts_val;
  spec.opt.ts_ecr = s.ts_ecr;
  return stack::harness::build(spec);
}

void store16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
// After editing a header field, make its checksums right again so that
// only the intended fault remains.
void fix_ip_checksum(Bytes& b) {
  const size_t ihl = size_t{b[0]} % 16 * 4;
  store16(b, 10, 0);
  store16(b, 10, wire::internet_checksum(std::span<const uint8_t>(b.data(), ihl)));
}
void fix_tcp_checksum(Bytes& b) {
  const size_t ihl = size_t{b[0]} % 16 * 4;
  store16(b, ihl + 16, 0);
  wire::ChecksumAccumulator acc;
  acc.add(std::span<const uint8_t>(b.data() + 12, 8));  // source and destination
  acc.add_u16(wire::kProtoTcp);
  acc.add_u16(static_cast<uint16_t>(b.size() - ihl));
  acc.add(std::span<const uint8_t>(b.data() + ihl, b.size() - ihl));
  store16(b, ihl + 16, acc.finish());
}

// A stack listening on kPort with one accepted ESTABLISHED connection from
// kB:kPeerPort (timestamps on, TS.Recent = kPeerTs) and 500 bytes of ours
// unacknowledged: SND.UNA = ISS + 1, SND.NXT = ISS + 501, RCV.NXT = IRS + 1.
struct Ctx {
  std::unique_ptr<stack::Stack> s;
  stack::ConnId id = 0;
  uint32_t iss = 0;
  uint32_t our_ts = 0;
  Bytes last_data;  // the datagram carrying our 500 bytes, to quote in ICMP
  Instant now = kT0;

  std::vector<Bytes> drain() {
    std::vector<Bytes> out;
    Bytes buf(70000);
    for (int i = 0; i < 1000; ++i) {
      const size_t n = s->poll_transmit(now, buf);
      if (n == 0) break;
      out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
  }
  void feed(const Bytes& b) {
    s->receive(now, b);
    drain();
  }
  // A full handshake from `sport`; returns our ISS for it.
  uint32_t handshake(uint16_t sport) {
    Seg syn;
    syn.sport = sport;
    syn.seq = kIrs;
    syn.flags = fl::kSyn;
    syn.ts_val = kPeerTs - 1;
    s->receive(now, build(syn));
    const auto out = drain();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return 0;
    wire::PacketView v;
    EXPECT_EQ(wire::parse_packet(out[0], &v), wire::Drop::kNone);
    Seg ack;
    ack.sport = sport;
    ack.ack = v.tcp.seq() + 1;
    ack.ts_ecr = v.tcp.options().ts_val;
    our_ts = v.tcp.options().ts_val;
    feed(build(ack));
    return v.tcp.seq();
  }
  Seg in_window() const {  // an acceptable segment: seq RCV.NXT, ack SND.UNA
    Seg g;
    g.ack = iss + 1;
    g.ts_ecr = our_ts;
    return g;
  }
  Bytes icmp(uint8_t code, uint16_t mtu, uint32_t quoted_seq) const {
    Bytes q = last_data;
    const size_t ihl = size_t{q[0]} % 16 * 4;
    q[ihl + 4] = static_cast<uint8_t>(quoted_seq >> 24);
    q[ihl + 5] = static_cast<uint8_t>(quoted_seq >> 16);
    q[ihl + 6] = static_cast<uint8_t>(quoted_seq >> 8);
    q[ihl + 7] = static_cast<uint8_t>(quoted_seq);
    Bytes out(q.size() + 64);
    const size_t n =
        wire::build_icmp_unreachable(out, wire::Ipv4Addr::of(10, 0, 0, 254), code, mtu, q);
    EXPECT_GT(n, 0u);
    out.resize(n);
    return out;
  }
  // A full segment more (988 bytes at ISS+501: 1040 on the wire), now
  // the datagram ICMP quotes.
  void send_full_segment() {
    EXPECT_EQ(s->send(now, id, Bytes(988, 'y')), 988u);
    const auto out = drain();
    EXPECT_EQ(out.size(), 1u);
    if (!out.empty()) last_data = out.back();
  }
  const tcp::ConnectionStats& conn() const { return s->connection(id)->stats(); }
  const stack::StackStats& st() const { return s->stats(); }
  uint64_t drop(wire::Drop d) const { return s->drops().get(d); }
};

std::unique_ptr<Ctx> make_ctx(const std::function<void(stack::StackConfig&)>& tweak) {
  auto c = std::make_unique<Ctx>();
  stack::StackConfig cfg;
  cfg.address = kA;
  cfg.tcp = testing::plain_config();
  cfg.tcp.timestamps = true;
  if (tweak) tweak(cfg);
  c->s = std::make_unique<stack::Stack>(cfg, util::Rng(7), nullptr, kT0);
  EXPECT_TRUE(c->s->listen(kPort, 1));
  c->iss = c->handshake(kPeerPort);
  const auto id = c->s->accept(kPort);
  EXPECT_TRUE(id.has_value());
  c->id = id.value_or(0);
  const Bytes data(500, 'x');
  EXPECT_EQ(c->s->send(c->now, c->id, data), 500u);
  const auto out = c->drain();
  EXPECT_EQ(out.size(), 1u);
  if (!out.empty()) c->last_data = out.back();
  EXPECT_EQ(c->s->connection(c->id)->state(), tcp::State::kEstablished);
  return c;
}

struct Row {
  const char* input;    // as in docs/bad-input.md
  const char* counter;  // as in the code and the JSON
  std::function<void(stack::StackConfig&)> tweak;
  std::function<void(Ctx&)> prepare;  // may be null
  std::function<void(Ctx&)> feed;
  std::function<uint64_t(const Ctx&)> get;
};

#define DROP(d) [](const Ctx& c) { return c.drop(wire::Drop::d); }
#define STACK(f) [](const Ctx& c) { return c.st().f; }
#define CONN(f) [](const Ctx& c) { return c.conn().f; }

std::vector<Row> stack_rows() {
  auto good = [](Ctx& c) { return build(c.in_window()); };
  return {
      {"truncated IPv4 header",
       "ip_truncated",
       {},
       {},
       [](Ctx& c) { c.feed(Bytes(10, 0x45)); },
       DROP(kIpTruncated)},
      {"IP version not 4",
       "ip_bad_version",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[0] = 0x55;
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kIpBadVersion)},
      {"IP header length below 20",
       "ip_bad_header_length",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[0] = 0x44;
         c.feed(b);
       },
       DROP(kIpBadHeaderLength)},
      {"IP total length beyond the bytes received",
       "ip_length_mismatch",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         store16(b, 2, static_cast<uint16_t>(b.size() + 10));
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kIpLengthMismatch)},
      {"bad IP header checksum",
       "ip_bad_checksum",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[10] ^= 0xff;
         c.feed(b);
       },
       DROP(kIpBadChecksum)},
      {"IP fragment",
       "ip_fragment",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[6] |= 0x20;  // MF
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kIpFragment)},
      {"unknown protocol (UDP)",
       "ip_not_tcp",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[9] = 17;
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kIpNotTcp)},
      {"truncated TCP header",
       "tcp_truncated",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b.resize(20 + 12);
         store16(b, 2, 32);
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kTcpTruncated)},
      {"TCP data offset past the segment",
       "tcp_bad_data_offset",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[20 + 12] = 0xf0;  // 60 bytes of header in a 32-byte segment
         c.feed(b);
       },
       DROP(kTcpBadDataOffset)},
      {"TCP option overrunning the header",
       "tcp_bad_option_length",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         // The timestamps option (NOP NOP kind 8 len 10): say length 40.
         b[20 + 20 + 3] = 40;
         fix_tcp_checksum(b);
         c.feed(b);
       },
       DROP(kTcpBadOptionLength)},
      {"bad TCP checksum",
       "tcp_bad_checksum",
       {},
       {},
       [=](Ctx& c) {
         Bytes b = good(c);
         b[20 + 16] ^= 0xff;
         c.feed(b);
       },
       DROP(kTcpBadChecksum)},
      {"truncated ICMP",
       "icmp_truncated",
       {},
       {},
       [](Ctx& c) {
         Bytes b = c.icmp(wire::icmp_code::kPortUnreachable, 0, c.iss + 1);
         b.resize(20 + 6);
         store16(b, 2, 26);
         fix_ip_checksum(b);
         c.feed(b);
       },
       DROP(kIcmpTruncated)},
      {"bad ICMP checksum",
       "icmp_bad_checksum",
       {},
       {},
       [](Ctx& c) {
         Bytes b = c.icmp(wire::icmp_code::kPortUnreachable, 0, c.iss + 1);
         b[20 + 2] ^= 0xff;
         c.feed(b);
       },
       DROP(kIcmpBadChecksum)},
      {"ICMP other than destination unreachable (echo request)",
       "icmp_unsupported",
       {},
       {},
       [](Ctx& c) {
         Bytes b = c.icmp(wire::icmp_code::kPortUnreachable, 0, c.iss + 1);
         b[20] = 8;  // echo request
         store16(b, 22, 0);
         store16(b, 22,
                 wire::internet_checksum(std::span<const uint8_t>(b.data() + 20, b.size() - 20)));
         c.feed(b);
       },
       DROP(kIcmpUnsupported)},
      // --- the stack ---
      {"datagram not for us",
       "not_for_us",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.dst = wire::Ipv4Addr::of(10, 0, 0, 99);
         c.feed(build(g));
       },
       STACK(not_for_us)},
      {"martian source (127.0.0.1)",
       "martian_source",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.src = wire::Ipv4Addr::of(127, 0, 0, 1);
         c.feed(build(g));
       },
       STACK(martian_source)},
      {"segment without SYN, ACK or RST to a listener",
       "listen_no_syn",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.sport = 6000;
         g.flags = fl::kFin;
         c.feed(build(g));
       },
       STACK(listen_no_syn)},
      {"segment to a closed port",
       "no_connection",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.dport = 81;
         c.feed(build(g));
       },
       STACK(no_connection)},
      {"segment to a closed port (the RST)",
       "resets_sent",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.dport = 81;
         c.feed(build(g));
       },
       STACK(resets_sent)},
      {"SYN+FIN",
       "syn_fin_drops",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.sport = 6000;
         g.flags = fl::kSyn | fl::kFin;
         c.feed(build(g));
       },
       STACK(syn_fin_drops)},
      {"SYN from port 0",
       "syn_port_zero_drops",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.sport = 0;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(syn_port_zero_drops)},
      {"LAND SYN (our address and port as source)",
       "land_drops",
       {},
       {},
       [](Ctx& c) {
         Seg g;
         g.src = kA;
         g.sport = kPort;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(land_drops)},
      {"SYN with the accept queue full",
       "syn_backlog_drops",
       {},
       [](Ctx& c) { c.handshake(6001); },  // not accepted: the 1-slot queue is full
       [](Ctx& c) {
         Seg g;
         g.sport = 6002;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(syn_backlog_drops)},
      {"SYN with the SYN queue full, cookies off", "syn_queue_drops",
       [](stack::StackConfig& cfg) {
         cfg.syn_backlog = 1;
         cfg.syn_cookies = false;
       },
       [](Ctx& c) {  // a half-open connection fills the 1-slot SYN queue
         Seg g;
         g.sport = 6001;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       [](Ctx& c) {
         Seg g;
         g.sport = 6002;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(syn_queue_drops)},
      {"ACK with a forged SYN cookie", "syn_cookies_invalid",
       [](stack::StackConfig& cfg) { cfg.syn_backlog = 1; },
       [](Ctx& c) {  // a half-open fills the 1-slot SYN queue; the next SYN gets a cookie
         for (uint16_t port : {6001, 6002}) {
           Seg g;
           g.sport = port;
           g.seq = kIrs;
           g.flags = fl::kSyn;
           c.feed(build(g));
         }
         EXPECT_EQ(c.st().syn_cookies_sent, 1u);
       },
       [](Ctx& c) {
         Seg g;
         g.sport = 6003;
         g.ack = 12345;  // not a cookie we made
         g.ts = false;
         c.feed(build(g));
       },
       STACK(syn_cookies_invalid)},
      {"SYN beyond max_connections",
       "connections_refused_cap",
       [](stack::StackConfig& cfg) { cfg.max_connections = 1; },
       {},
       [](Ctx& c) {
         Seg g;
         g.sport = 6002;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(connections_refused_cap)},
      {"ICMP quoting no connection of ours",
       "icmp_no_connection",
       {},
       {},
       [](Ctx& c) {
         Bytes b = c.icmp(wire::icmp_code::kPortUnreachable, 0, c.iss + 1);
         // The quoted destination port (offset 20 ICMP 8, quoted IP 20, port at 2).
         b[20 + 8 + 20 + 2] ^= 0x01;
         store16(b, 22, 0);
         store16(b, 22,
                 wire::internet_checksum(std::span<const uint8_t>(b.data() + 20, b.size() - 20)));
         c.feed(b);
       },
       STACK(icmp_no_connection)},
      // --- the connection (ESTABLISHED) ---
      {"data segment outside the receive window",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 1'000'000;
         g.payload = Bytes(10, 'y');
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"PAWS failure (TSval older than TS.Recent)",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.ts_val = kPeerTs - 10;
         g.payload = Bytes(10, 'y');
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"out-of-order data when the reassembly table holds 16 ranges",
       "out_of_order_dropped",
       {},
       [](Ctx& c) {
         // 16 separate ranges above RCV.NXT (RecvBuffer::kMaxRanges): 10
         // bytes every 100, so none touches another.
         for (uint32_t k = 0; k < 16; ++k) {
           Seg g = c.in_window();
           g.seq = kIrs + 1 + 100 * (k + 1);
           g.payload = Bytes(10, 'o');
           c.feed(build(g));
         }
       },
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 100 * 17;  // would be a 17th range
         g.payload = Bytes(10, 'o');
         c.feed(build(g));
       },
       CONN(out_of_order_dropped)},
      {"ACK of data never sent (above SND.NXT)",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.ack = c.iss + 100'000;
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"ACK below SND.UNA - MAX.SND.WND",
       "challenge_acks_sent",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.ack = c.iss - 200'000;
         c.feed(build(g));
       },
       CONN(challenge_acks_sent)},
      {"segment without ACK",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.flags = 0;
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"RST in the window but not at RCV.NXT",
       "challenge_acks_sent",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 100;
         g.flags = fl::kRst;
         c.feed(build(g));
       },
       CONN(challenge_acks_sent)},
      {"RST outside the window",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 1'000'000;
         g.flags = fl::kRst;
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"SYN in the window",
       "challenge_acks_sent",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       CONN(challenge_acks_sent)},
      {"second challenge within challenge_ack_interval",
       "challenge_acks_suppressed",
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       [](Ctx& c) {
         Seg g = c.in_window();
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       CONN(challenge_acks_suppressed)},
      {"second out-of-window ACK within challenge_ack_interval",
       "invalid_acks_suppressed",
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 1'000'000;
         c.feed(build(g));
       },
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 1'000'000;
         c.feed(build(g));
       },
       CONN(invalid_acks_suppressed)},
      {"forged ICMP quoting a sequence number not in flight",
       "icmp_out_of_window",
       {},
       {},
       [](Ctx& c) { c.feed(c.icmp(wire::icmp_code::kPortUnreachable, 0, c.iss + 5000)); },
       CONN(icmp_out_of_window)},
      {"ICMP unreachable with an unknown code (16)",
       "icmp_ignored",
       {},
       {},
       [](Ctx& c) { c.feed(c.icmp(16, 0, c.iss + 1)); },
       CONN(icmp_ignored)},
      {"frag-needed quoting a byte in flight that starts no segment we sent",
       "icmp_ignored",
       {},
       {},
       [](Ctx& c) { c.feed(c.icmp(wire::icmp_code::kFragmentationNeeded, 576, c.iss + 2)); },
       CONN(icmp_ignored)},
      {"frag-needed quoting a segment that fits the MTU it reports",
       "icmp_ignored",
       {},
       {},
       // The 500 bytes at ISS+1 went as 552 bytes (500 + 40 + 12 of
       // timestamps): they fit 576, and even the 552 floor.
       [](Ctx& c) { c.feed(c.icmp(wire::icmp_code::kFragmentationNeeded, 68, c.iss + 1)); },
       CONN(icmp_ignored)},
      {"frag-needed not below the current path MTU",
       "icmp_ignored",
       {},
       // The 988 bytes at ISS+501 went as 1040 bytes; a router says 600
       // (the resent segments start at ISS+1, +549, +1097: MSS 548).
       [](Ctx& c) {
         c.send_full_segment();
         c.feed(c.icmp(wire::icmp_code::kFragmentationNeeded, 600, c.iss + 501));
       },
       // A later report for the same 1040-byte datagram says 800: above 600.
       [](Ctx& c) { c.feed(c.icmp(wire::icmp_code::kFragmentationNeeded, 800, c.iss + 501)); },
       CONN(icmp_ignored)},
      {"SYN with the SYN queue full (cookies on)", "syn_cookies_sent",
       [](stack::StackConfig& cfg) { cfg.syn_backlog = 1; },
       [](Ctx& c) {  // a half-open connection fills the 1-slot SYN queue
         Seg g;
         g.sport = 6001;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       [](Ctx& c) {
         Seg g;
         g.sport = 6002;
         g.seq = kIrs;
         g.flags = fl::kSyn;
         c.feed(build(g));
       },
       STACK(syn_cookies_sent)},
      {"RST owed with the reply queue full",
       "resets_queue_full",
       {},
       [](Ctx& c) {  // 64 (Stack::kMaxPendingResets) RSTs owed, none taken out
         for (uint16_t i = 0; i < 64; ++i) {  // Stack::kMaxPendingResets
           Seg g;
           g.sport = static_cast<uint16_t>(7000 + i);
           g.dport = 81;
           c.s->receive(c.now, build(g));
         }
         EXPECT_EQ(c.st().resets_queue_full, 0u);
       },
       [](Ctx& c) {
         Seg g;
         g.sport = 8000;
         g.dport = 81;
         c.feed(build(g));
       },
       STACK(resets_queue_full)},
      {"pure ACK outside the receive window",
       "segments_dropped",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.seq = kIrs + 1 + 1'000'000;
         c.feed(build(g));
       },
       CONN(segments_dropped)},
      {"SYN failing PAWS",
       "challenge_acks_sent",
       {},
       {},
       [](Ctx& c) {
         Seg g = c.in_window();
         g.flags = fl::kSyn;
         g.ts_val = kPeerTs - 10;
         c.feed(build(g));
       },
       CONN(challenge_acks_sent)},
  };
}

TEST(BadInput, EveryStackRowMovesItsCounterByExactlyOne) {
  for (const Row& r : stack_rows()) {
    SCOPED_TRACE(std::string(r.input) + " -> " + r.counter);
    auto c = make_ctx(r.tweak);
    if (r.prepare) r.prepare(*c);
    const uint64_t before = r.get(*c);
    r.feed(*c);
    EXPECT_EQ(r.get(*c), before + 1);
    // The established connection lives on: no bad input ends it.
    EXPECT_EQ(c->s->connection(c->id)->state(), tcp::State::kEstablished);
  }
}

TEST(BadInput, FragNeededBelow552IsFlooredNotIgnored) {
  // Linux min_pmtu: MTU 68 counts as 552, so the MSS becomes 552 - 40 - 12
  // (timestamps) = 500, and nothing is counted as ignored.
  auto c = make_ctx({});
  EXPECT_EQ(c->s->connection(c->id)->send_mss(), 988u);  // 1000 - 12
  // A router drops the 1040-byte datagram carrying 988 bytes at ISS+501.
  c->send_full_segment();
  c->feed(c->icmp(wire::icmp_code::kFragmentationNeeded, 68, c->iss + 501));
  EXPECT_EQ(c->s->connection(c->id)->send_mss(), 500u);
  EXPECT_EQ(c->conn().icmp_ignored, 0u);
}

TEST(BadInput, FragNeededDuringTheHandshakeIsIgnored) {
  // Our SYN is at most 60 bytes of TCP: no IPv4 link (MTU >= 68) refused it.
  testing::Harness h;
  h.to_syn_sent();
  const uint64_t before = h.conn().stats().icmp_ignored;
  h.conn().on_icmp(
      testing::at_ms(5),
      testing::Harness::icmp_quoting(testing::kIss, wire::icmp_code::kFragmentationNeeded, 68));
  EXPECT_EQ(h.conn().stats().icmp_ignored, before + 1);
  EXPECT_EQ(h.conn().state(), tcp::State::kSynSent);
}

TEST(BadInput, UnreachableInFlightIsASoftErrorNotAnAbort) {
  // RFC 5927 §4.2: in a synchronized state port, protocol and host
  // unreachable are soft errors; no drop counter moves and the connection
  // stays ESTABLISHED.
  for (uint8_t code : {wire::icmp_code::kPortUnreachable, wire::icmp_code::kProtocolUnreachable,
                       wire::icmp_code::kHostUnreachable}) {
    auto c = make_ctx({});
    c->feed(c->icmp(code, 0, c->iss + 1));
    EXPECT_EQ(c->s->connection(c->id)->state(), tcp::State::kEstablished) << int{code};
    EXPECT_EQ(c->conn().icmp_out_of_window + c->conn().icmp_ignored + c->conn().segments_dropped,
              0u);
  }
}

TEST(BadInput, EveryAnalyzerRowMovesItsCounterByExactlyOne) {
  Seg g;
  g.ack = 1;
  const Bytes good = build(g);
  struct ARow {
    const char* input;
    const char* counter;
    std::function<Bytes()> make;
    uint64_t analyze::AnalyzerStats::*field;
  };
  std::vector<ARow> rows = {
      {"IP header cut short", "cut_headers", [] { return Bytes(10, 0x45); },
       &analyze::AnalyzerStats::cut_headers},
      {"IP version not 4 or 6", "malformed_ip",
       [&] {
         Bytes b = good;
         b[0] = 0x55;
         return b;
       },
       &analyze::AnalyzerStats::malformed_ip},
      {"IP fragment", "fragments",
       [&] {
         Bytes b = good;
         b[6] |= 0x20;
         return b;
       },
       &analyze::AnalyzerStats::fragments},
      {"not TCP (UDP)", "non_tcp",
       [&] {
         Bytes b = good;
         b[9] = 17;
         return b;
       },
       &analyze::AnalyzerStats::non_tcp},
      {"TCP data offset past the segment", "malformed_tcp",
       [&] {
         Bytes b = good;
         b[20 + 12] = 0xf0;
         return b;
       },
       &analyze::AnalyzerStats::malformed_tcp},
  };
  // A segment whose 4 bytes of TCP options the snaplen cut after 2: total
  // length 60 (RFC 791), 42 bytes captured. Analysed, counted twice.
  const auto cut_options = [&] {
    Bytes b = good;
    b[2] = 0;
    b[3] = 60;
    b[20 + 12] = 0x60;  // data offset 6: 4 bytes of options
    b.resize(42);
    return b;
  };
  rows.push_back({"TCP options cut by the snaplen", "options_cut", cut_options,
                  &analyze::AnalyzerStats::options_cut});
  rows.push_back({"payload cut by the snaplen", "snaplen_cut", cut_options,
                  &analyze::AnalyzerStats::snaplen_cut});
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.input) + " -> " + r.counter);
    analyze::FlowAnalyzer fa;
    fa.add(1, kT0, good);
    const uint64_t before = fa.stats().*r.field;
    const Bytes b = r.make();
    fa.add(2, kT0, b);
    fa.finish();
    EXPECT_EQ(fa.stats().*r.field, before + 1);
  }
}

// docs/bad-input.md's reader rows: "tunnel_malformed" (a tunnel header
// whose content is cut) and "read_error" (a pcapng block of impossible
// length: the framing is lost, reading stops there).
TEST(BadInput, ReaderRowsTunnelMalformedAndReadError) {
  // VXLAN (UDP to 4789, RFC 7348) with 4 bytes where its 8-byte header goes.
  const Bytes vxlan = {0x45, 0, 0, 32, 0,    0,    0x40, 0,    64, 17, 0, 0, 192, 0, 2, 1,
                       192,  0, 2, 2,  0xc3, 0x50, 0x12, 0xb5, 0,  12, 0, 0, 8,   0, 0, 0};
  const analyze::Decapsulated d = analyze::decapsulate(analyze::linktype::kRaw, vxlan);
  EXPECT_TRUE(d.bad_tunnel);
  EXPECT_EQ(d.ip.size(), vxlan.size());  // the outer packet, analysed as it is
  // A little-endian Section Header Block, then a block of length 30.
  const Bytes file = {0x0a, 0x0d, 0x0d, 0x0a, 28,   0,    0,    0,    0x4d, 0x3c, 0x2b, 0x1a, 1, 0,
                      0,    0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28,   0,    0, 0,
                      6,    0,    0,    0,    30,   0,    0,    0,    0,    0,    0,    0};
  const std::string path = ::testing::TempDir() + "vigil_bad_input_block.pcapng";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(file.data(), 1, file.size(), f), file.size());
  std::fclose(f);
  std::string err;
  auto r = analyze::CaptureReader::open(path, &err);
  ASSERT_NE(r, nullptr) << err;
  analyze::CapturedPacket p;
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->error(), "frame 1: pcapng block of type 6 with impossible length 30");
  std::remove(path.c_str());
}

TEST(BadInput, AbsurdKnobValuesAreRefusedAndLeaveTheConfigUnchanged) {
  tcp::TcpConfig t = testing::plain_config();
  const tcp::TcpConfig t0 = t;
  EXPECT_NE(t.set_one("keepalive.interval", "300000h"), "");
  EXPECT_NE(t.set_one("mss", "0"), "");
  EXPECT_EQ(t.keepalive_interval, t0.keepalive_interval);
  EXPECT_EQ(t.mss, t0.mss);
  stack::StackConfig s;
  EXPECT_EQ(s.set_one("stack.syn_backlog", "65536"),
            "stack.syn_backlog expects a whole number from 0 to 65535 (0: every SYN answered by "
            "a cookie; Linux somaxconn), got '65536'");
  EXPECT_NE(s.set_one("stack.synack_retries", "256"), "");
  EXPECT_NE(s.set_one("stack.max_connections", "-1"), "");
  EXPECT_NE(s.set_one("stack.syn_cookies", "2"), "");
  EXPECT_EQ(s.syn_backlog, 256u);
  EXPECT_EQ(s.synack_retries, 5u);
  EXPECT_EQ(s.max_connections, 16384u);
  EXPECT_TRUE(s.syn_cookies);
  EXPECT_EQ(s.set_one("stack.synack_retries", "255"), "");
  EXPECT_EQ(s.synack_retries, 255u);
}

TEST(BadInput, UnwritableOutputFileIsAnErrorNotASuccess) {
  link::PcapWriter w("/nonexistent-dir/x.pcap");
  EXPECT_FALSE(w.ok());
  EXPECT_NE(w.error().find("/nonexistent-dir/x.pcap"), std::string::npos) << w.error();
}

}  // namespace
}  // namespace vigil
