// ICMP destination unreachable on one connection (connection_icmp.cpp):
// which code aborts in which state and profile, the errno each reports
// (Linux's icmp_err_convert[], net/ipv4/icmp.c), RFC 5927's in-window rule,
// and path MTU discovery with Linux's 552-byte floor and RFC 1191 §6.3's
// 10-minute re-probe. Expected values come from the RFCs and Linux's
// tcp_v4_err / tcp_req_err, written out below, not from vigil's output.
#include <algorithm>
#include <cerrno>
#include <string>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

constexpr int64_t kS = 1000;  // ms per second, for readability

tcp::TcpConfig plain(const std::string& profile) {
  tcp::TcpConfig c;
  EXPECT_TRUE(tcp::TcpConfig::from_profile(profile, &c));
  c.timestamps = false;
  c.sack = false;
  c.window_scaling = false;
  c.mss = 1000;
  c.recv_buffer = 8000;
  c.send_buffer = 64000;
  return c;
}

// Runs the connection's timers forward until `end`, answering nothing.
void run_silent(Harness& h, Instant end) {
  for (int guard = 0; guard < 100000; ++guard) {
    const Instant t = h.conn().next_deadline();
    if (t > end) break;
    h.fire(t);
    if (h.conn().state() == State::kClosed) break;
  }
}

// Linux's icmp_err_convert[] for destination-unreachable codes 0..15.
constexpr int kLinuxErrno[16] = {
    ENETUNREACH,  EHOSTUNREACH, ENOPROTOOPT,  ECONNREFUSED, EMSGSIZE,     EOPNOTSUPP,
    ENETUNREACH,  EHOSTDOWN,    ENONET,       ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
    EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH,
};

enum class At {
  kSynSent,
  kSynReceivedPassive,
  kSynReceivedSimultaneous,
  kEstablished,
  kCloseWait,
  kFinWait1,
  kLastAck,
};
constexpr At kAll[] = {At::kSynSent,     At::kSynReceivedPassive, At::kSynReceivedSimultaneous,
                       At::kEstablished, At::kCloseWait,          At::kFinWait1,
                       At::kLastAck};
const char* at_name(At a) {
  switch (a) {
    case At::kSynSent:
      return "SYN-SENT";
    case At::kSynReceivedPassive:
      return "SYN-RECEIVED (passive)";
    case At::kSynReceivedSimultaneous:
      return "SYN-RECEIVED (simultaneous)";
    case At::kEstablished:
      return "ESTABLISHED";
    case At::kCloseWait:
      return "CLOSE-WAIT";
    case At::kFinWait1:
      return "FIN-WAIT-1";
    case At::kLastAck:
      return "LAST-ACK";
  }
  return "";
}
bool handshake(At a) {
  return a == At::kSynSent || a == At::kSynReceivedPassive || a == At::kSynReceivedSimultaneous;
}

// Walks to `a` at t = 0 with something in flight; returns the sequence
// number of the oldest unacknowledged segment (what a router would quote).
uint32_t walk(Harness& h, At a) {
  const std::vector<uint8_t> ten(10, 1);
  switch (a) {
    case At::kSynSent:
      h.to_syn_sent();
      return kIss;
    case At::kSynReceivedPassive:
      h.to_syn_received();
      return kIss;  // our SYN-ACK
    case At::kSynReceivedSimultaneous: {
      h.to_syn_sent();
      Seg syn;  // their SYN crosses ours (RFC 9293 figure 8)
      syn.seq = kIrs;
      syn.flags = fl::kSyn;
      syn.opt.has_mss = true;
      syn.opt.mss = 1000;
      h.input(at_ms(0), syn);
      EXPECT_EQ(h.conn().state(), State::kSynReceived);
      return kIss;
    }
    case At::kEstablished:
      h.to_established_active();
      h.conn().send(at_ms(0), ten);
      h.drain(at_ms(0));
      return kIss + 1;
    case At::kCloseWait:
      h.to_close_wait();
      h.conn().send(at_ms(0), ten);
      h.drain(at_ms(0));
      return kIss + 1;
    case At::kFinWait1:
      h.to_fin_wait1();
      return kIss + 1;  // our FIN
    case At::kLastAck:
      h.to_last_ack();
      return kIss + 1;  // our FIN
  }
  return 0;
}

// The rule, written from the sources: synchronized states never abort (RFC
// 5927 §4.2; Linux's tcp_v4_err only sets sk_err_soft). In the handshake,
// rfc aborts on RFC 1122 §4.2.3.9's hard codes 2 and 3; linux aborts a
// socket in SYN_SENT or SYN_RECV on any code, but a passive open is a
// request sock that tcp_req_err drops only on net or host unreachable.
bool expect_abort(const std::string& profile, At a, uint8_t code) {
  if (!handshake(a)) return false;
  if (profile == "rfc") return code == 2 || code == 3;
  if (a == At::kSynReceivedPassive) return code == 0 || code == 1;
  return true;
}

TEST(IcmpErrors, EveryCodeInEveryStateAndProfile) {
  for (const std::string profile : {"rfc", "linux"}) {
    for (const At a : kAll) {
      for (uint8_t code = 0; code <= 15; ++code) {
        if (code == wire::icmp_code::kFragmentationNeeded) continue;  // PathMtu below
        SCOPED_TRACE(profile + " " + at_name(a) + " code " + std::to_string(code));
        Harness h(plain(profile));
        const uint32_t quoted = walk(h, a);
        const State before = h.conn().state();
        h.conn().on_icmp(at_ms(100), Harness::icmp_quoting(quoted, code));
        EXPECT_EQ(h.rec().count(tcp::EventType::kIcmpReceived), 1u);
        if (expect_abort(profile, a, code)) {
          EXPECT_EQ(h.conn().state(), State::kClosed);
          EXPECT_EQ(h.conn().error().err, kLinuxErrno[code]);
          EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kIcmp);
          EXPECT_EQ(h.conn().error().time, at_ms(100));
          continue;
        }
        // Soft: nothing changes now; the errno comes with the timeout.
        EXPECT_EQ(h.conn().state(), before);
        EXPECT_EQ(h.conn().error().err, 0);
        run_silent(h, at_ms(100000 * kS));
        EXPECT_EQ(h.conn().state(), State::kClosed);
        EXPECT_EQ(h.conn().error().err, kLinuxErrno[code]);
        EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
        if (profile == "rfc" && a == At::kEstablished) {
          // R2 = 15 timeouts from the send at 0 with RTO 1 s doubling to
          // 60 s: 1+2+4+8+16+32 + 9*60 = 603 s, and the 15th expires 60 s
          // later: 663 s.
          EXPECT_EQ(h.conn().error().time, at_ms(663 * kS));
        }
        if (profile == "rfc" && a == At::kSynSent) {
          // 7 SYN timeouts at 1, 2, 4, ..., 60 s: 1+2+4+8+16+32+60+60 = 183 s.
          EXPECT_EQ(h.conn().error().time, at_ms(183 * kS));
        }
      }
    }
  }
}

TEST(IcmpErrors, AbortDetailNamesTheCodeAndTheState) {
  {
    Harness h(plain("rfc"));
    h.to_syn_sent();
    h.conn().on_icmp(at_ms(20), Harness::icmp_quoting(kIss, wire::icmp_code::kPortUnreachable));
    EXPECT_EQ(h.conn().error().err, ECONNREFUSED);
    EXPECT_EQ(h.conn().error().detail, "icmp: port unreachable in SYN-SENT");
  }
  {
    Harness h(plain("linux"));
    h.to_syn_sent();
    h.conn().on_icmp(at_ms(20), Harness::icmp_quoting(kIss, wire::icmp_code::kHostUnreachable));
    EXPECT_EQ(h.conn().error().err, EHOSTUNREACH);
    EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kIcmp);
    EXPECT_EQ(h.conn().error().detail, "icmp: host unreachable in SYN-SENT");
  }
  {
    // The knob alone gives the rfc profile Linux's handshake rule.
    tcp::TcpConfig c = plain("rfc");
    EXPECT_EQ(c.set("icmp.handshake_abort", "any"), "");
    Harness h(c);
    h.to_syn_sent();
    h.conn().on_icmp(at_ms(20), Harness::icmp_quoting(kIss, wire::icmp_code::kNetUnreachable));
    EXPECT_EQ(h.conn().error().err, ENETUNREACH);
    EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kIcmp);
    EXPECT_NE(c.set("icmp.handshake_abort", "some"), "");
  }
}

TEST(IcmpErrors, SoftErrorIsReportedWithItsErrnoName) {
  Harness h(plain("rfc"));
  const uint32_t quoted = walk(h, At::kEstablished);
  h.conn().on_icmp(at_ms(100),
                   Harness::icmp_quoting(quoted, wire::icmp_code::kProtocolUnreachable));
  run_silent(h, at_ms(100000 * kS));
  EXPECT_EQ(h.conn().error().err, ENOPROTOOPT);
  // The detail names it too (the start of the text is R2's).
  EXPECT_NE(h.conn().error().detail.find("(last ICMP: ENOPROTOOPT)"), std::string::npos)
      << h.conn().error().detail;
}

TEST(IcmpErrors, CodesAbove15AreIgnoredAndCounted) {
  // Linux tcp_v4_err: code > NR_ICMP_UNREACH (15) goes to out, untouched.
  Harness h(plain("linux"));
  h.to_syn_sent();
  h.conn().on_icmp(at_ms(20), Harness::icmp_quoting(kIss, 16));
  h.conn().on_icmp(at_ms(20), Harness::icmp_quoting(kIss, 255));
  EXPECT_EQ(h.conn().state(), State::kSynSent);
  EXPECT_EQ(h.conn().stats().icmp_ignored, 2u);
  EXPECT_EQ(h.rec().count(tcp::EventType::kIcmpReceived), 0u);
  run_silent(h, at_ms(100000 * kS));
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);  // nothing was remembered
}

TEST(IcmpErrors, QuoteOutsideSndUnaToSndNxtIsIgnoredAndCounted) {
  // RFC 5927 §4.1: SND.UNA <= SEG.SEQ < SND.NXT. After 10 bytes sent:
  // SND.UNA = ISS+1, SND.NXT = ISS+11.
  Harness h(plain("rfc"));
  walk(h, At::kEstablished);
  for (uint32_t seq : {kIss, kIss + 11, kIss + 1000, kIss + 1 + 0x80000000u}) {
    h.conn().on_icmp(at_ms(100), Harness::icmp_quoting(seq, wire::icmp_code::kPortUnreachable));
  }
  EXPECT_EQ(h.conn().state(), State::kEstablished);
  EXPECT_EQ(h.conn().stats().icmp_out_of_window, 4u);
  EXPECT_EQ(h.rec().count(tcp::EventType::kIcmpReceived), 0u);
  run_silent(h, at_ms(100000 * kS));
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);  // none was remembered
}

// Moved from tcp_liveness_test.cpp.
TEST(IcmpErrors, SoftErrorTurnsTheTimeoutIntoEhostunreach) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(10, 1));
  auto out = h.drain(at_ms(0));
  ASSERT_EQ(out.size(), 1u);
  // A host-unreachable quoting our outstanding segment: remembered, not fatal
  // (RFC 1122 §4.2.3.9).
  h.conn().on_icmp(at_ms(100), Harness::icmp_quoting(kIss + 1, wire::icmp_code::kHostUnreachable));
  EXPECT_EQ(h.conn().state(), State::kEstablished);
  run_silent(h, at_ms(10000 * kS));
  EXPECT_EQ(h.conn().error().err, EHOSTUNREACH);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
}

// ---- Path MTU (RFC 1191) ----------------------------------------------------

// Established at t = 0 with MSS 1460 both ways, 3000 bytes in flight from
// t = 2 ms: segments of 1460 + 1460 + 80.
struct Mtu {
  Harness h;
  std::vector<Seg> first;
  explicit Mtu(bool timestamps = false) : h(config(timestamps)) {
    h.conn().open_active(at_ms(0));
    h.drain(at_ms(0));
    Seg sa = h.syn_ack();
    sa.opt.mss = 1460;
    if (timestamps) {
      sa.opt.has_timestamps = true;
      sa.opt.ts_val = 1;
      sa.opt.ts_ecr = 0;
    }
    h.input(at_ms(1), sa);
    EXPECT_EQ(h.conn().state(), State::kEstablished);
    h.conn().send(at_ms(2), std::vector<uint8_t>(3000, 7));
    first = h.drain(at_ms(2));
  }
  static tcp::TcpConfig config(bool timestamps) {
    tcp::TcpConfig c = plain("rfc");
    c.mss = 1460;
    c.timestamps = timestamps;
    c.nodelay = true;  // the 80-byte tail goes too: SND.NXT = ISS + 3001
    return c;
  }
  // The peer acknowledges everything sent, at `t`, until nothing more goes
  // out. Returns the segments sent.
  std::vector<Seg> ack_all(Instant t, std::vector<Seg> out) {
    std::vector<Seg> all;
    for (int guard = 0; guard < 100 && !out.empty(); ++guard) {
      uint32_t end = kIss + 1;
      for (const auto& seg : out) {
        all.push_back(seg);
        end = std::max(end, seg.seq + static_cast<uint32_t>(seg.data.size()));
        acked = std::max(acked, end);
      }
      out = h.input(t, h.ack(acked));
    }
    return all;
  }
  uint32_t acked = kIss + 1;
  void frag_needed(Instant t, uint16_t mtu, uint32_t seq = kIss + 1) {
    h.conn().on_icmp(t, Harness::icmp_quoting(seq, wire::icmp_code::kFragmentationNeeded, mtu));
  }
};

TEST(PathMtu, ForgedTinyMtuStopsAtTheLinuxFloorOf552) {
  {
    Mtu m;
    ASSERT_EQ(m.first.size(), 3u);
    ASSERT_EQ(m.first[0].data.size(), 1460u);
    // Next-hop MTU 68 (RFC 791's minimum) is taken as 552 (Linux
    // net.ipv4.route.min_pmtu): MSS 552 - 20 - 20 = 512.
    m.frag_needed(at_ms(3), 68);
    EXPECT_EQ(m.h.conn().send_mss(), 512u);
    EXPECT_EQ(m.h.conn().state(), State::kEstablished);
    EXPECT_EQ(m.h.conn().error().err, 0);
    // What was in flight goes again at the new size (tcp_simple_retransmit).
    const auto out = m.h.drain(at_ms(3));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0].seq, kIss + 1);
    EXPECT_EQ(out[0].data.size(), 512u);
    size_t pmtu_resends = 0;
    for (const auto& e : m.h.rec().events) {
      if (e.type == tcp::EventType::kRetransmit && e.timer == tcp::RetransmitTimer::kPmtu)
        ++pmtu_resends;
    }
    EXPECT_EQ(pmtu_resends, out.size());
  }
  {
    // With timestamps, 12 more bytes of options: 552 - 40 - 12 = 500. The
    // attack's MTU 108 used to give 108 - 40 - 12 = 56.
    Mtu m(true);
    ASSERT_EQ(m.first[0].data.size(), 1448u);
    m.frag_needed(at_ms(3), 108);
    EXPECT_EQ(m.h.conn().send_mss(), 500u);
    m.frag_needed(at_ms(4), 0);  // an old router's "no MTU given" too
    EXPECT_EQ(m.h.conn().send_mss(), 500u);
  }
}

TEST(PathMtu, OnlyASmallerMtuShrinksTheSegments) {
  Mtu m;
  // The current path MTU is 1460 + 40 = 1500.
  m.frag_needed(at_ms(3), 1500);  // not smaller: ignored
  EXPECT_EQ(m.h.conn().send_mss(), 1460u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 1u);
  m.frag_needed(at_ms(4), 9000);  // larger: ignored
  EXPECT_EQ(m.h.conn().send_mss(), 1460u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 2u);
  m.frag_needed(at_ms(5), 1000);  // smaller: 1000 - 40
  EXPECT_EQ(m.h.conn().send_mss(), 960u);
  m.frag_needed(at_ms(6), 1200);  // above the 1000 learned: ignored
  EXPECT_EQ(m.h.conn().send_mss(), 960u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 3u);
  m.frag_needed(at_ms(7), 1000);  // the same: confirms, changes nothing
  EXPECT_EQ(m.h.conn().send_mss(), 960u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 3u);
  m.frag_needed(at_ms(8), 600);
  EXPECT_EQ(m.h.conn().send_mss(), 560u);
  m.frag_needed(at_ms(9), 300);  // below the floor: 552
  EXPECT_EQ(m.h.conn().send_mss(), 512u);
  m.frag_needed(at_ms(10), 68);  // the floor again: no lower
  EXPECT_EQ(m.h.conn().send_mss(), 512u);
  EXPECT_EQ(m.h.conn().stats().icmp_out_of_window, 0u);
}

TEST(PathMtu, ForgedFragNeededQuotingNothingInFlightIsIgnoredAndCounted) {
  Mtu m;
  // In flight: [ISS+1, ISS+3001). ISS (the SYN, acknowledged), SND.NXT
  // itself, and far away are all outside RFC 5927 §4.1's window.
  for (uint32_t seq : {kIss, kIss + 3001, kIss + 100000, kIss - 1000}) {
    m.frag_needed(at_ms(3), 68, seq);
  }
  EXPECT_EQ(m.h.conn().send_mss(), 1460u);
  EXPECT_EQ(m.h.conn().stats().icmp_out_of_window, 4u);
  EXPECT_EQ(m.h.rec().count(tcp::EventType::kIcmpReceived), 0u);
  // The first byte of the first segment (1460 + 40 bytes sent) is inside:
  // acted on.
  m.frag_needed(at_ms(4), 68, kIss + 1);
  EXPECT_EQ(m.h.conn().send_mss(), 512u);
}

TEST(PathMtu, FragNeededMustQuoteTheStartOfASegmentTooBigForTheMtu) {
  // In flight: segments of 1460, 1460 and 80 bytes at ISS+1, ISS+1461 and
  // ISS+2921, 1500, 1500 and 120 bytes on the wire. A router quotes the
  // first bytes of the datagram it dropped (RFC 792), which was longer than
  // its next-hop MTU (RFC 1191 §4; RFC 5927 §7.2). Blind guesses that only
  // fall in flight used to lower the MSS (3 of 10,000 in `vigil sim
  // blind-injection`); each of these is now ignored and counted.
  Mtu m;
  ASSERT_EQ(m.first.size(), 3u);
  const struct {
    uint32_t seq;
    uint16_t mtu;
  } ignored[] = {
      {kIss + 3000, 68},    // the last byte in flight: no segment starts there
      {kIss + 2, 576},      // one byte into the first segment
      {kIss + 1460, 1000},  // the last byte of the first segment
      {kIss + 2921, 68},    // the 120-byte tail: fits even the 552 floor
      {kIss + 1461, 1500},  // a 1500-byte segment fits an MTU of 1500
      {kIss + 1461, 9000},
  };
  for (const auto& f : ignored) m.frag_needed(at_ms(3), f.mtu, f.seq);
  EXPECT_EQ(m.h.conn().send_mss(), 1460u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 6u);
  EXPECT_EQ(m.h.conn().stats().icmp_out_of_window, 0u);
  // The second segment's first byte with a smaller MTU: 1000 - 40.
  m.frag_needed(at_ms(4), 1000, kIss + 1461);
  EXPECT_EQ(m.h.conn().send_mss(), 960u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 6u);
  // What goes again is cut at 960: 960 + 40 = 1000 bytes fit an MTU of
  // 1000, so a report of 1000 quoting the resent first segment cannot be
  // true and is ignored.
  const auto resent = m.h.drain(at_ms(4));
  ASSERT_FALSE(resent.empty());
  ASSERT_EQ(resent[0].seq, kIss + 1);
  ASSERT_EQ(resent[0].data.size(), 960u);
  m.frag_needed(at_ms(5), 1000, kIss + 1);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 7u);
  // ... while 600 is below it: 600 - 40.
  m.frag_needed(at_ms(6), 600, kIss + 1);
  EXPECT_EQ(m.h.conn().send_mss(), 560u);
}

TEST(PathMtu, FragNeededQuotingOurSynIsIgnored) {
  // A SYN is at most 60 bytes of TCP: no IPv4 link (MTU >= 68) refuses it.
  Harness h(Mtu::config(false));
  h.to_syn_sent();
  h.conn().on_icmp(at_ms(5),
                   Harness::icmp_quoting(kIss, wire::icmp_code::kFragmentationNeeded, 552));
  EXPECT_EQ(h.conn().stats().icmp_ignored, 1u);
  EXPECT_EQ(h.conn().state(), State::kSynSent);
  Seg sa = h.syn_ack();
  sa.opt.mss = 1460;
  h.input(at_ms(10), sa);
  EXPECT_EQ(h.conn().send_mss(), 1460u);
}

// Sends 3000 bytes at `t` and has the peer acknowledge all of it; returns
// the size of the first segment.
size_t send_and_ack(Mtu& m, Instant t) {
  m.h.conn().send(t, std::vector<uint8_t>(3000, 7));
  const auto all = m.ack_all(t, m.h.drain(t));
  EXPECT_FALSE(all.empty());
  EXPECT_EQ(m.acked, m.h.conn().snd_una());
  return all.empty() ? 0 : all[0].data.size();
}

TEST(PathMtu, SegmentsGrowBackExactly600sAfterTheLastFragNeeded) {
  Mtu m;
  m.frag_needed(at_ms(3), 576);  // 576 - 40 = 536
  EXPECT_EQ(m.h.conn().send_mss(), 536u);
  m.ack_all(at_ms(10), m.h.drain(at_ms(3)));
  // RFC 1191 §6.3 / Linux ip_rt_mtu_expires: 600 s after 3 ms.
  EXPECT_EQ(send_and_ack(m, at_ms(100 * kS)), 536u);
  EXPECT_EQ(send_and_ack(m, at_ms(600 * kS + 2)), 536u);
  EXPECT_EQ(m.h.conn().send_mss(), 536u);
  EXPECT_EQ(send_and_ack(m, at_ms(600 * kS + 3)), 1460u);
  EXPECT_EQ(m.h.conn().send_mss(), 1460u);
}

TEST(PathMtu, AFurtherFragNeededRestartsTheTenMinutes) {
  Mtu m;
  m.frag_needed(at_ms(3), 576);
  // Resent at 536: new segments start at ISS+1, +537, +1073, +1609.
  const auto out = m.h.drain(at_ms(3));
  ASSERT_FALSE(out.empty());
  // At 300 s the router's report for the second original segment (ISS+1461,
  // 1500 bytes, still unacknowledged) says 576 again. (A report quoting a
  // 576-byte segment cannot: it fit; test above.)
  m.frag_needed(at_ms(300 * kS), 576, kIss + 1461);
  EXPECT_EQ(m.h.conn().send_mss(), 536u);
  EXPECT_EQ(m.h.conn().stats().icmp_ignored, 0u);
  m.ack_all(at_ms(300 * kS + 10), out);
  // So 576 holds until 300 + 600 = 900 s.
  EXPECT_EQ(send_and_ack(m, at_ms(600 * kS + 3)), 536u);
  EXPECT_EQ(send_and_ack(m, at_ms(900 * kS - 1)), 536u);
  EXPECT_EQ(send_and_ack(m, at_ms(900 * kS)), 1460u);
}

// Moved from tcp_liveness_test.cpp.
TEST(PathMtu, FragmentationNeededShrinksTheSegmentsAndResends) {
  tcp::TcpConfig c = plain_config();
  c.mss = 1460;
  Harness h(c);
  h.conn().open_active(at_ms(0));
  h.drain(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.mss = 1460;
  h.input(at_ms(1), sa);
  h.conn().send(at_ms(2), std::vector<uint8_t>(3000, 7));
  auto out = h.drain(at_ms(2));
  ASSERT_FALSE(out.empty());
  ASSERT_EQ(out[0].data.size(), 1460u);
  // A router says the path MTU is 576 (RFC 1191): MSS becomes 576 - 40.
  h.conn().on_icmp(at_ms(3), Harness::icmp_quoting(kIss + 1, wire::icmp_code::kFragmentationNeeded,
                                                   576, out[0].data));
  EXPECT_EQ(h.conn().send_mss(), 536u);
  EXPECT_EQ(h.conn().state(), State::kEstablished);  // not an error (RFC 1122 §4.2.3.9)
  out = h.drain(at_ms(3));
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].seq, kIss + 1);  // what was lost goes again, smaller
  EXPECT_EQ(out[0].data.size(), 536u);
}

}  // namespace
}  // namespace vigil::testing
