// Unit tests for stack::Stack: two stacks wired back to back, 4-tuple
// demultiplexing, the listener backlog, ephemeral ports, listen() errors,
// closed-port resets, address filtering, malformed-datagram counters, ICMP
// (RFC 1122 §4.2.3.9, RFC 5927), the timer wheel and connection reaping,
// seeded determinism (RFC 6528), a randomized robustness run with a
// per-datagram accounting oracle, and the application layer over two
// stacks (src/app: the pattern, the read pause, the echo/discard/http
// server that `vigil tun serve` and the simulator share).
//
// Everything is driven with explicit Instants; the fake remote host is
// 10.0.0.2 and its segments are built with wire::build_ipv4_tcp.
#include "stack/stack.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "app/pattern.hpp"
#include "app/read_pause.hpp"
#include "app/server.hpp"
#include "stack_harness.hpp"
#include "tcp_harness.hpp"
#include "util/rng.hpp"
#include "util/sha256.hpp"
#include "wire/bytes.hpp"
#include "wire/checksum.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace vigil::stack {
namespace {

namespace fl = wire::tcp_flags;
using tcp::State;
using testing::plain_config;
using testing::Recorder;
using namespace harness;  // NOLINT(google-build-using-namespace): the shared test harness

constexpr wire::Ipv4Addr kOther = wire::Ipv4Addr::of(10, 0, 0, 3);

// An arbitrary origin, away from zero so nothing depends on it.
constexpr Instant kT0 = Instant::zero() + Duration::seconds(100);

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + i / 251);
  return b;
}

Bytes read_all(Stack& s, Instant now, ConnId id) {
  Bytes got, buf(4096);
  for (;;) {
    const size_t n = s.recv(now, id, buf);
    if (n == 0) return got;
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

// Completes a handshake from the fake remote (kB:sport) to the stack's
// listener on `dport`; returns the stack's ISS.
uint32_t handshake(Stack& s, Instant now, uint16_t sport, uint16_t dport, uint32_t cli_iss) {
  auto out = deliver(s, now, build(syn_spec(sport, dport, cli_iss)));
  EXPECT_EQ(out.size(), 1u);
  if (out.empty()) return 0;
  EXPECT_EQ(out[0].flags, fl::kSyn | fl::kAck);
  EXPECT_EQ(out[0].ack, cli_iss + 1);
  EXPECT_EQ(out[0].dport, sport);
  TcpSpec ack;
  ack.sport = sport;
  ack.dport = dport;
  ack.seq = cli_iss + 1;
  ack.ack = out[0].seq + 1;
  ack.flags = fl::kAck;
  EXPECT_TRUE(deliver(s, now, build(ack)).empty());
  return out[0].seq;
}

// ---- Two stacks back to back -----------------------------------------------

struct Pair {
  Recorder ra, rb;
  Instant now = kT0;
  Stack a{config_for(kA), util::Rng(1), &ra, kT0};
  Stack b{config_for(kB), util::Rng(2), &rb, kT0};
  std::vector<Out> a_sent, b_sent;

  // Moves everything `from` owes into `to` at the current instant.
  std::vector<Out> transfer(Stack& from, Stack& to) {
    auto out = drain(from, now);
    for (const auto& o : out) to.receive(now, o.raw);
    auto& log = &from == &a ? a_sent : b_sent;
    log.insert(log.end(), out.begin(), out.end());
    return out;
  }
  // Exchanges datagrams at `now` until both stacks are quiet.
  void pump() {
    for (int guard = 0; guard < 10000; ++guard) {
      const size_t n = transfer(a, b).size() + transfer(b, a).size();
      if (n == 0) return;
    }
    ADD_FAILURE() << "stacks never went quiet";
  }
  // Advances to the earliest deadline, runs timers, pumps. False if none.
  bool advance() {
    const Instant t = std::min(a.next_deadline(), b.next_deadline());
    if (t.is_never()) return false;
    EXPECT_GE(t, now);
    now = t;
    a.on_timers(now);
    b.on_timers(now);
    pump();
    return true;
  }
  // pump, then advance until `done` or `limit` steps.
  template <typename F>
  bool run_until(F done, int limit = 1000) {
    pump();
    for (int i = 0; i < limit; ++i) {
      if (done()) return true;
      if (!advance()) return done();
    }
    return done();
  }
};

TEST(StackPair, HandshakeDataCloseAndIds) {
  Pair p;
  ASSERT_TRUE(p.b.listen(80, 4));
  const auto ca = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(ca);
  const tcp::Connection* a_conn = p.a.connection(*ca);
  ASSERT_NE(a_conn, nullptr);
  EXPECT_EQ(a_conn->id(), *ca);
  EXPECT_EQ(a_conn->state(), State::kSynSent);
  EXPECT_EQ(p.a.connection_ids(), std::vector<ConnId>{*ca});
  EXPECT_FALSE(p.b.accept(80));

  // Walk the three-way handshake (RFC 9293 §3.5, Figure 6) one leg at a time.
  auto syn = p.transfer(p.a, p.b);
  ASSERT_EQ(syn.size(), 1u);
  EXPECT_EQ(syn[0].flags, fl::kSyn);
  EXPECT_EQ(syn[0].src, kA);
  EXPECT_EQ(syn[0].dst, kB);
  EXPECT_EQ(syn[0].dport, 80);
  EXPECT_EQ(syn[0].sport, a_conn->tuple().local.port);
  EXPECT_EQ(syn[0].seq, a_conn->iss());
  // B has a SYN-RECEIVED connection, but accept() must not hand it out yet.
  ASSERT_EQ(p.b.connection_ids().size(), 1u);
  const ConnId b_embryo = p.b.connection_ids()[0];
  EXPECT_EQ(p.b.connection(b_embryo)->state(), State::kSynReceived);
  EXPECT_FALSE(p.b.accept(80));

  auto synack = p.transfer(p.b, p.a);
  ASSERT_EQ(synack.size(), 1u);
  EXPECT_EQ(synack[0].flags, fl::kSyn | fl::kAck);
  EXPECT_EQ(synack[0].ack, syn[0].seq + 1);
  EXPECT_EQ(a_conn->state(), State::kEstablished);
  EXPECT_FALSE(p.b.accept(80));  // B has not seen the final ACK

  auto ack = p.transfer(p.a, p.b);
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0].flags, fl::kAck);
  EXPECT_EQ(ack[0].ack, synack[0].seq + 1);
  const auto cb = p.b.accept(80);
  ASSERT_TRUE(cb);
  EXPECT_EQ(*cb, b_embryo);
  EXPECT_FALSE(p.b.accept(80));  // exactly one connection queued
  const tcp::Connection* b_conn = p.b.connection(*cb);
  ASSERT_NE(b_conn, nullptr);
  EXPECT_EQ(b_conn->id(), *cb);
  EXPECT_EQ(b_conn->state(), State::kEstablished);
  // The two ends name the same 4-tuple from opposite sides.
  EXPECT_EQ(b_conn->tuple().local, a_conn->tuple().remote);
  EXPECT_EQ(b_conn->tuple().remote, a_conn->tuple().local);
  EXPECT_EQ(p.a.live_connections(), 1u);
  EXPECT_EQ(p.b.live_connections(), 1u);
  EXPECT_EQ(p.a.stats().connections_opened, 1u);
  EXPECT_EQ(p.b.stats().connections_opened, 1u);

  // Data both ways: more than one segment each (MSS 1000).
  const Bytes a_data = pattern(3000, 1), b_data = pattern(2500, 99);
  EXPECT_EQ(p.a.send(p.now, *ca, a_data), a_data.size());
  EXPECT_EQ(p.b.send(p.now, *cb, b_data), b_data.size());
  Bytes a_got, b_got;
  ASSERT_TRUE(p.run_until([&] {
    auto x = read_all(p.a, p.now, *ca);
    a_got.insert(a_got.end(), x.begin(), x.end());
    auto y = read_all(p.b, p.now, *cb);
    b_got.insert(b_got.end(), y.begin(), y.end());
    return a_got.size() >= b_data.size() && b_got.size() >= a_data.size();
  }));
  EXPECT_EQ(a_got, b_data);
  EXPECT_EQ(b_got, a_data);

  // Close: A first (active close, ends in TIME-WAIT), then B.
  p.a.close(p.now, *ca);
  p.pump();
  EXPECT_EQ(a_conn->state(), State::kFinWait2);
  EXPECT_TRUE(b_conn->peer_closed());
  EXPECT_EQ(b_conn->state(), State::kCloseWait);
  p.b.close(p.now, *cb);
  p.pump();
  EXPECT_EQ(a_conn->state(), State::kTimeWait);
  // B got the ACK of its FIN: CLOSED, but not released, so still there.
  ASSERT_NE(p.b.connection(*cb), nullptr);
  EXPECT_EQ(p.b.connection(*cb)->state(), State::kClosed);
  EXPECT_EQ(p.b.live_connections(), 0u);
  EXPECT_EQ(p.b.stats().connections_reaped, 0u);

  // TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2; plain_config keeps MSL = 120 s).
  const Instant tw_start = p.now;
  EXPECT_EQ(p.a.next_deadline(), tw_start + Duration::seconds(240));
  ASSERT_TRUE(p.advance());
  EXPECT_EQ(p.now, tw_start + Duration::seconds(240));
  EXPECT_EQ(a_conn->state(), State::kClosed);

  // Every event either stack reported is labelled with its connection id.
  ASSERT_FALSE(p.ra.events.empty());
  ASSERT_FALSE(p.rb.events.empty());
  for (const auto& e : p.ra.events) EXPECT_EQ(e.conn, *ca);
  for (const auto& e : p.rb.events) EXPECT_EQ(e.conn, *cb);

  // Released and CLOSED: reaped on the next poll.
  p.a.release(*ca);
  p.b.release(*cb);
  p.pump();
  EXPECT_EQ(p.a.connection(*ca), nullptr);
  EXPECT_EQ(p.b.connection(*cb), nullptr);
  EXPECT_TRUE(p.a.connection_ids().empty());
  EXPECT_TRUE(p.b.connection_ids().empty());
  EXPECT_EQ(p.a.stats().connections_reaped, 1u);
  EXPECT_EQ(p.b.stats().connections_reaped, 1u);
  EXPECT_EQ(p.a.next_deadline(), Instant::never());
  EXPECT_EQ(p.b.next_deadline(), Instant::never());

  // A new connection gets a fresh id: ids are not reused after reaping.
  const auto ca2 = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(ca2);
  EXPECT_NE(*ca2, *ca);
}

TEST(StackPair, ConnectionIdsListedInOpeningOrder) {
  Pair p;
  ASSERT_TRUE(p.b.listen(80, 8));
  std::vector<ConnId> ids;
  for (int i = 0; i < 3; ++i) {
    const auto id = p.a.connect(p.now, {kB, 80});
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  EXPECT_EQ(std::set<ConnId>(ids.begin(), ids.end()).size(), 3u);  // distinct
  EXPECT_EQ(p.a.connection_ids(), ids);
  for (ConnId id : ids) {
    ASSERT_NE(p.a.connection(id), nullptr);
    EXPECT_EQ(p.a.connection(id)->id(), id);
  }
  EXPECT_EQ(p.a.connection(ids.back() + 1000), nullptr);  // unknown id
}

TEST(StackPair, DemultiplexesConnectionsToOneListener) {
  Pair p;
  ASSERT_TRUE(p.b.listen(80, 8));
  constexpr int kConns = 4;
  std::map<uint16_t, ConnId> a_by_port;  // A's local port -> A's id
  std::map<uint16_t, Bytes> up;          // A's local port -> what it sends
  for (int i = 0; i < kConns; ++i) {
    const auto id = p.a.connect(p.now, {kB, 80});
    ASSERT_TRUE(id);
    const uint16_t port = p.a.connection(*id)->tuple().local.port;
    ASSERT_FALSE(a_by_port.count(port)) << "two connections share a source port";
    a_by_port[port] = *id;
    // Distinct content and length per connection, so a crossed wire shows.
    up[port] = pattern(700 + 900 * static_cast<size_t>(i), static_cast<uint8_t>(17 * i + 3));
  }
  p.pump();
  std::map<uint16_t, ConnId> b_by_port;  // remote (A's) port -> B's id
  while (auto id = p.b.accept(80)) b_by_port[p.b.connection(*id)->tuple().remote.port] = *id;
  ASSERT_EQ(b_by_port.size(), static_cast<size_t>(kConns));

  std::map<uint16_t, Bytes> down;
  for (auto& [port, id] : a_by_port) {
    ASSERT_TRUE(b_by_port.count(port));
    EXPECT_EQ(p.a.send(p.now, id, up[port]), up[port].size());
    down[port] = pattern(300 + port % 500, static_cast<uint8_t>(port));
    EXPECT_EQ(p.b.send(p.now, b_by_port[port], down[port]), down[port].size());
  }
  std::map<uint16_t, Bytes> got_b, got_a;
  ASSERT_TRUE(p.run_until([&] {
    bool done = true;
    for (auto& [port, id] : a_by_port) {
      auto x = read_all(p.b, p.now, b_by_port[port]);
      got_b[port].insert(got_b[port].end(), x.begin(), x.end());
      auto y = read_all(p.a, p.now, id);
      got_a[port].insert(got_a[port].end(), y.begin(), y.end());
      done =
          done && got_b[port].size() >= up[port].size() && got_a[port].size() >= down[port].size();
    }
    return done;
  }));
  for (auto& [port, id] : a_by_port) {
    EXPECT_EQ(got_b[port], up[port]) << "B's connection from port " << port;
    EXPECT_EQ(got_a[port], down[port]) << "A's connection from port " << port;
  }
}

// Issue 15: connections of one config share one immutable TcpConfig, so a
// setsockopt on one (Stack::set_socket_options) must change a copy, never
// its siblings' options. Expected: the keepalive it turns on arms at now +
// the new idle (Linux sock_set_keepalive: a full idle period from now);
// the sibling keeps the stack's defaults (keepalive off, 7200 s, Nagle on).
TEST(StackPair, SocketOptionsOnOneConnectionLeaveItsSiblingsAlone) {
  Pair p;
  ASSERT_TRUE(p.b.listen(80, 8));
  const auto c1 = p.a.connect(p.now, {kB, 80});
  const auto c2 = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(c1 && c2);
  p.pump();
  const auto s1 = p.b.accept(80), s2 = p.b.accept(80);
  ASSERT_TRUE(s1 && s2);
  const tcp::Connection& a1 = *p.a.connection(*c1);
  const tcp::Connection& a2 = *p.a.connection(*c2);
  EXPECT_EQ(&a1.config(), &a2.config());  // shared, not copied
  EXPECT_EQ(&p.b.connection(*s1)->config(), &p.b.connection(*s2)->config());

  tcp::TcpConfig opts = a1.config();
  opts.nodelay = true;
  opts.keepalive = true;
  opts.keepalive_idle = Duration::seconds(60);
  p.a.set_socket_options(p.now, *c1, opts);
  EXPECT_TRUE(a1.config().nodelay);
  EXPECT_TRUE(a1.config().keepalive);
  EXPECT_EQ(a1.config().keepalive_idle, Duration::seconds(60));
  EXPECT_EQ(a1.timer_deadline(tcp::TimerKind::kKeepalive), p.now + Duration::seconds(60));
  EXPECT_FALSE(a2.config().nodelay);
  EXPECT_FALSE(a2.config().keepalive);
  EXPECT_EQ(a2.config().keepalive_idle, Duration::seconds(7200));
  EXPECT_TRUE(a2.timer_deadline(tcp::TimerKind::kKeepalive).is_never());
  EXPECT_FALSE(p.a.config().tcp.keepalive);
  // A connection made after it takes the stack's config, not c1's.
  const auto c3 = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(c3);
  EXPECT_FALSE(p.a.connection(*c3)->config().keepalive);
}

// ---- Listener backlog --------------------------------------------------------

TEST(StackListener, BacklogFullDropsSynUntilAccept) {
  Stack s(config_for(kA), util::Rng(3), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 2));
  handshake(s, kT0, 5001, 80, 1000);
  handshake(s, kT0, 5002, 80, 2000);
  EXPECT_EQ(s.stats().syn_backlog_drops, 0u);
  const size_t conns = s.connection_ids().size();
  ASSERT_EQ(conns, 2u);

  // Two established connections wait un-accepted: the queue holds 2.
  auto out = deliver(s, kT0, build(syn_spec(5003, 80, 3000)));
  EXPECT_TRUE(out.empty()) << "no SYN-ACK while the backlog is full";
  EXPECT_EQ(s.stats().syn_backlog_drops, 1u);
  EXPECT_EQ(s.connection_ids().size(), conns);  // nothing created
  EXPECT_EQ(s.stats().resets_sent, 0u);         // dropped, not refused: the client retries

  const auto first = s.accept(80);
  ASSERT_TRUE(first);
  EXPECT_EQ(s.connection(*first)->tuple().remote.port, 5001);  // FIFO

  // The client's retransmitted SYN now fits.
  const Instant later = kT0 + Duration::seconds(1);
  out = deliver(s, later, build(syn_spec(5003, 80, 3000)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kSyn | fl::kAck);
  EXPECT_EQ(out[0].ack, 3001u);
  EXPECT_EQ(out[0].dport, 5003);
  EXPECT_EQ(s.stats().syn_backlog_drops, 1u);
}

TEST(StackListener, ResetUnacceptedConnectionFreesBacklogSlot) {
  Stack s(config_for(kA), util::Rng(3), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 1));
  handshake(s, kT0, 5001, 80, 1000);
  EXPECT_TRUE(deliver(s, kT0, build(syn_spec(5002, 80, 2000))).empty());
  EXPECT_EQ(s.stats().syn_backlog_drops, 1u);

  // The client resets its (un-accepted) connection: RST at RCV.NXT = 1001.
  TcpSpec rst;
  rst.sport = 5001;
  rst.dport = 80;
  rst.seq = 1001;
  rst.flags = fl::kRst;
  EXPECT_TRUE(deliver(s, kT0, build(rst)).empty());
  // Never the application's: gone from the queue and reaped.
  EXPECT_FALSE(s.accept(80));
  EXPECT_TRUE(s.connection_ids().empty());
  EXPECT_EQ(s.stats().connections_reaped, 1u);

  auto out = deliver(s, kT0, build(syn_spec(5002, 80, 2000)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kSyn | fl::kAck);
}

TEST(StackListener, EmbryonicConnectionThatTimesOutFreesSynQueueSlot) {
  StackConfig cfg = config_for(kA);
  cfg.syn_backlog = 1;
  cfg.syn_cookies = false;
  Stack s(cfg, util::Rng(3), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 1));
  auto out = deliver(s, kT0, build(syn_spec(5001, 80, 1000)));
  ASSERT_EQ(out.size(), 1u);  // SYN-ACK; the client never completes
  EXPECT_TRUE(deliver(s, kT0, build(syn_spec(5002, 80, 2000))).empty());
  EXPECT_EQ(s.stats().syn_queue_drops, 1u);
  EXPECT_EQ(s.stats().syn_backlog_drops, 0u);

  // Let the SYN-ACK retransmissions run out: synack_retries = 5 (Linux
  // tcp_synack_retries) ends a half-open connection at 1+2+4+8+16+32 = 63 s
  // (RFC 4987 §3.2); stack_syn_test.cpp checks the schedule.
  Instant now = kT0;
  size_t synacks = 0;
  for (int i = 0; i < 100 && !s.next_deadline().is_never(); ++i) {
    now = s.next_deadline();
    s.on_timers(now);
    for (const auto& o : drain(s, now)) synacks += o.flags == (fl::kSyn | fl::kAck) ? 1 : 0;
  }
  EXPECT_EQ(synacks, 5u);
  EXPECT_EQ(now - kT0, Duration::seconds(63));
  EXPECT_TRUE(s.connection_ids().empty());
  EXPECT_EQ(s.stats().connections_reaped, 1u);
  out = deliver(s, now, build(syn_spec(5002, 80, 2000)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kSyn | fl::kAck);
}

// ---- Ephemeral ports and listen() ------------------------------------------

TEST(StackPorts, EphemeralRangeDistinctAndExhausted) {
  StackConfig cfg = config_for(kA);
  cfg.ephemeral_low = 40000;
  cfg.ephemeral_high = 40003;
  Stack s(cfg, util::Rng(4), nullptr, kT0);
  const tcp::Endpoint remote{kB, 80};
  std::set<uint16_t> ports;
  std::vector<ConnId> ids;
  for (int i = 0; i < 4; ++i) {
    OpenError err;
    const auto id = s.connect(kT0, remote, &err);
    ASSERT_TRUE(id) << err.message;
    ids.push_back(*id);
    const uint16_t port = s.connection(*id)->tuple().local.port;
    EXPECT_GE(port, 40000);
    EXPECT_LE(port, 40003);
    ports.insert(port);
  }
  EXPECT_EQ(ports.size(), 4u);  // distinct: the whole range is in use
  // The SYNs on the wire carry those ports.
  std::set<uint16_t> wire_ports;
  for (const auto& o : drain(s, kT0)) wire_ports.insert(o.sport);
  EXPECT_EQ(wire_ports, ports);

  OpenError err;
  EXPECT_FALSE(s.connect(kT0, remote, &err));
  EXPECT_NE(err.message.find("ephemeral"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("10.0.0.2:80"), std::string::npos) << err.message;
  EXPECT_FALSE(s.connect(kT0, remote));  // a null error pointer is fine
  EXPECT_EQ(s.connection_ids().size(), 4u);

  // Uniqueness is per 4-tuple: another remote port can reuse a local port.
  const auto other = s.connect(kT0, {kB, 81});
  ASSERT_TRUE(other);
  EXPECT_TRUE(ports.count(s.connection(*other)->tuple().local.port));

  // A port comes back once its connection is gone.
  const uint16_t freed = s.connection(ids[2])->tuple().local.port;
  s.abort(kT0, ids[2]);
  s.release(ids[2]);
  drain(s, kT0);
  ASSERT_EQ(s.connection(ids[2]), nullptr);
  const auto again = s.connect(kT0, remote, &err);
  ASSERT_TRUE(again) << err.message;
  EXPECT_EQ(s.connection(*again)->tuple().local.port, freed);
}

TEST(StackPorts, EphemeralPortsAvoidListeningPorts) {
  StackConfig cfg = config_for(kA);
  cfg.ephemeral_low = 40000;
  cfg.ephemeral_high = 40003;
  Stack s(cfg, util::Rng(5), nullptr, kT0);
  ASSERT_TRUE(s.listen(40001, 4));
  std::set<uint16_t> ports;
  for (int i = 0; i < 10; ++i) {  // bounded: a broken stack might never refuse
    const auto id = s.connect(kT0, {kB, 80});
    if (!id) break;
    ports.insert(s.connection(*id)->tuple().local.port);
  }
  EXPECT_EQ(ports, (std::set<uint16_t>{40000, 40002, 40003}));
}

TEST(StackPorts, ExplicitLocalPortInUse) {
  Stack s(config_for(kA), util::Rng(6), nullptr, kT0);
  const tcp::Endpoint remote{kB, 80};
  OpenError err;
  const auto id = s.connect(kT0, remote, &err, nullptr, 5555);
  ASSERT_TRUE(id) << err.message;
  EXPECT_EQ(s.connection(*id)->tuple().local.port, 5555);
  EXPECT_FALSE(s.connect(kT0, remote, &err, nullptr, 5555));
  EXPECT_NE(err.message.find("address in use"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("5555"), std::string::npos) << err.message;
  EXPECT_EQ(s.connection_ids().size(), 1u);
  // The same local port towards a different remote is a different 4-tuple.
  EXPECT_TRUE(s.connect(kT0, {kB, 81}, &err, nullptr, 5555)) << err.message;
}

TEST(StackPorts, ListenErrors) {
  Stack s(config_for(kA), util::Rng(7), nullptr, kT0);
  OpenError err;
  EXPECT_FALSE(s.listen(0, 4, &err));
  EXPECT_NE(err.message.find("port 0"), std::string::npos) << err.message;
  EXPECT_FALSE(s.listen(0, 4));  // null error pointer

  err = {};
  ASSERT_TRUE(s.listen(80, 4, &err));
  EXPECT_TRUE(err.message.empty());
  EXPECT_FALSE(s.listen(80, 8, &err));
  EXPECT_NE(err.message.find("address in use"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("80"), std::string::npos) << err.message;
  // The first listener is intact.
  EXPECT_EQ(deliver(s, kT0, build(syn_spec(5000, 80, 1))).size(), 1u);
}

// ---- Closed ports, addresses, malformed input --------------------------------

TEST(StackInput, SynToClosedPortGetsRstAck) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 4));  // a different port
  auto out = deliver(s, kT0, build(syn_spec(5000, 81, 0x12345678)));
  // RFC 9293 §3.10.7.1: no ACK in the segment, so
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a SYN's SEG.LEN is 1.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kRst | fl::kAck);
  EXPECT_EQ(out[0].seq, 0u);
  EXPECT_EQ(out[0].ack, 0x12345679u);
  EXPECT_EQ(out[0].src, kA);
  EXPECT_EQ(out[0].dst, kB);
  EXPECT_EQ(out[0].sport, 81);
  EXPECT_EQ(out[0].dport, 5000);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(s.stats().no_connection, 1u);
  EXPECT_EQ(s.stats().resets_sent, 1u);
  EXPECT_TRUE(s.connection_ids().empty());

  // SEG.LEN counts payload too: a SYN with 5 bytes is acknowledged past them.
  TcpSpec syn_data = syn_spec(5000, 81, 0xfffffffe);  // and wraps
  syn_data.payload = {1, 2, 3, 4, 5};
  out = deliver(s, kT0, build(syn_data));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 0xfffffffeu + 6u);

  // With an ACK: <SEQ=SEG.ACK><CTL=RST>.
  TcpSpec ack;
  ack.sport = 5000;
  ack.dport = 81;
  ack.seq = 77;
  ack.ack = 0xabcdef01;
  ack.flags = fl::kAck;
  out = deliver(s, kT0, build(ack));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kRst);
  EXPECT_EQ(out[0].seq, 0xabcdef01u);
  EXPECT_EQ(s.stats().resets_sent, 3u);
  EXPECT_EQ(s.stats().no_connection, 3u);
}

TEST(StackInput, RstToClosedPortGetsNothing) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  for (uint8_t f : {fl::kRst, static_cast<uint8_t>(fl::kRst | fl::kAck)}) {
    TcpSpec rst;
    rst.sport = 5000;
    rst.dport = 81;
    rst.seq = 1234;
    rst.ack = 99;
    rst.flags = f;
    EXPECT_TRUE(deliver(s, kT0, build(rst)).empty());  // RFC 9293 §3.10.7.1: discard
  }
  EXPECT_EQ(s.stats().resets_sent, 0u);
  EXPECT_EQ(s.stats().datagrams_out, 0u);
  EXPECT_EQ(s.stats().no_connection, 2u);  // still counted
}

TEST(StackInput, AckToListenerGetsRst) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 4));
  // RFC 9293 §3.10.7.2 LISTEN, second check: any ACK-bearing segment gets
  // <SEQ=SEG.ACK><CTL=RST>, and no connection is created.
  TcpSpec ack;
  ack.sport = 5000;
  ack.dport = 80;
  ack.seq = 5;
  ack.ack = 4242;
  ack.flags = fl::kAck;
  auto out = deliver(s, kT0, build(ack));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kRst);
  EXPECT_EQ(out[0].seq, 4242u);
  // A SYN,ACK is ACK-bearing as well.
  ack.flags = fl::kSyn | fl::kAck;
  out = deliver(s, kT0, build(ack));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kRst);
  EXPECT_EQ(out[0].seq, 4242u);
  // First check: a RST (even with SYN) is ignored.
  ack.flags = fl::kSyn | fl::kRst;
  EXPECT_TRUE(deliver(s, kT0, build(ack)).empty());
  EXPECT_TRUE(s.connection_ids().empty());
}

TEST(StackInput, NonSynNonAckSegmentToListenerIsDropped) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 4));
  // RFC 9293 §3.10.7.2 LISTEN, fourth step: a segment with neither SYN, ACK
  // nor RST (here a bare FIN, then bare data) "should not be reached. Drop
  // the segment and return." Linux discards it too (tcp_rcv_state_process).
  TcpSpec fin;
  fin.sport = 5000;
  fin.dport = 80;
  fin.seq = 1000;
  fin.flags = fl::kFin;
  const auto out_fin = deliver(s, kT0, build(fin));
  TcpSpec data = fin;
  data.flags = fl::kPsh;
  data.payload = {1, 2, 3};
  const auto out_data = deliver(s, kT0, build(data));
  // RFC 9293 §3.10.7.2: LISTEN drops it silently.
  EXPECT_TRUE(out_fin.empty());
  EXPECT_TRUE(out_data.empty());
  EXPECT_EQ(s.stats().listen_no_syn, 2u);
  EXPECT_EQ(s.stats().resets_sent, 0u);
  EXPECT_TRUE(s.connection_ids().empty());
}

TEST(StackInput, SynFromBroadcastOrMulticastSourceIsDiscarded) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 4));
  // RFC 1122 §3.2.1.3: a host MUST silently discard a datagram whose source
  // is a broadcast, multicast (class D) or {0,0} address; it may be done in
  // IP or in the transport. Answering would send SYN-ACKs/RSTs to a group.
  size_t answered = 0;
  for (auto src : {wire::Ipv4Addr::of(255, 255, 255, 255), wire::Ipv4Addr::of(224, 0, 0, 5),
                   wire::Ipv4Addr::of(0, 0, 0, 0)}) {
    for (uint16_t port : {uint16_t{80}, uint16_t{81}}) {  // listener, closed port
      TcpSpec syn = syn_spec(5000, port, 1);
      syn.src = src;
      answered += deliver(s, kT0, build(syn)).size();
    }
  }
  EXPECT_EQ(answered, 0u);
  EXPECT_TRUE(s.connection_ids().empty());
  EXPECT_EQ(s.stats().martian_source, 6u);
}

TEST(StackInput, ResetRepliesAreBounded) {
  Stack s(config_for(kA), util::Rng(8), nullptr, kT0);
  // 70 SYNs to a closed port without polling: the reply queue holds a
  // bounded number (64) and counts the rest instead of growing.
  for (uint32_t i = 0; i < 70; ++i) s.receive(kT0, build(syn_spec(5000, 81, i * 10)));
  const auto out = drain(s, kT0);
  EXPECT_EQ(out.size() + s.stats().resets_queue_full, 70u);
  EXPECT_GE(out.size(), 1u);
  EXPECT_LE(out.size(), 64u);
  // Oldest first: the replies are for the first SYNs, in order.
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].ack, i * 10 + 1);
  EXPECT_EQ(s.stats().resets_sent, out.size());
}

TEST(StackInput, NotForUsIsCountedAndIgnored) {
  Stack s(config_for(kA), util::Rng(9), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 4));
  TcpSpec syn = syn_spec(5000, 80, 1);
  syn.dst = kOther;
  EXPECT_TRUE(deliver(s, kT0, build(syn)).empty());
  syn.dport = 81;  // not even a RST for a "closed" port of someone else
  EXPECT_TRUE(deliver(s, kT0, build(syn)).empty());
  EXPECT_EQ(s.stats().not_for_us, 2u);
  EXPECT_EQ(s.stats().no_connection, 0u);
  EXPECT_EQ(s.stats().resets_sent, 0u);
  EXPECT_EQ(s.stats().datagrams_in, 2u);
  EXPECT_EQ(s.stats().datagrams_out, 0u);
  EXPECT_TRUE(s.connection_ids().empty());
}

TEST(StackInput, MalformedDatagramsAreCountedAndSilent) {
  Stack s(config_for(kA), util::Rng(10), nullptr, kT0);
  ASSERT_TRUE(s.listen(80, 16));
  const Bytes good = build(syn_spec(5000, 80, 1000));  // 20 IP + 24 TCP (MSS)
  ASSERT_EQ(good.size(), 44u);

  struct Case {
    const char* name;
    Bytes dg;
    wire::Drop expect;
  };
  std::vector<Case> cases;
  cases.push_back({"10 bytes", Bytes(good.begin(), good.begin() + 10), wire::Drop::kIpTruncated});
  cases.push_back({"cut at 30 of 44 (total length 44)", Bytes(good.begin(), good.begin() + 30),
                   wire::Drop::kIpLengthMismatch});
  {
    Bytes d = good;
    d[8] ^= 0x01;  // TTL changed, header checksum not updated
    cases.push_back({"IP header checksum", d, wire::Drop::kIpBadChecksum});
  }
  {
    Bytes d = good;
    d[24] ^= 0x80;  // TCP sequence number bit: the TCP checksum no longer verifies
    cases.push_back({"TCP checksum", d, wire::Drop::kTcpBadChecksum});
  }
  {
    // A valid IP header announcing 20 + 10 bytes: TCP header truncated.
    Bytes d(good.begin(), good.begin() + 30);
    wire::Ipv4Fields ip;
    ip.src = kB;
    ip.dst = kA;
    wire::write_ipv4_header(d, ip, 30);
    cases.push_back({"TCP truncated", d, wire::Drop::kTcpTruncated});
  }
  {
    Bytes d = good;
    d[0] = 0x65;  // version 6
    cases.push_back({"IP version", d, wire::Drop::kIpBadVersion});
  }

  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const StackStats before = s.stats();
    const uint64_t count_before = s.drops().get(c.expect);
    const uint64_t dropped_before = s.drops().total_dropped();
    const uint64_t accepted_before = s.drops().get(wire::Drop::kNone);
    EXPECT_TRUE(deliver(s, kT0, c.dg).empty());
    EXPECT_EQ(s.drops().get(c.expect), count_before + 1);
    EXPECT_EQ(s.drops().total_dropped(), dropped_before + 1);
    EXPECT_EQ(s.drops().get(wire::Drop::kNone), accepted_before);
    EXPECT_EQ(s.stats().datagrams_in, before.datagrams_in + 1);
    EXPECT_EQ(s.stats().no_connection, before.no_connection);
    EXPECT_EQ(s.stats().not_for_us, before.not_for_us);
    EXPECT_EQ(s.stats().datagrams_out, before.datagrams_out);
    EXPECT_TRUE(s.connection_ids().empty());
  }
  // The control: the intact datagram is answered.
  EXPECT_EQ(deliver(s, kT0, good).size(), 1u);
  EXPECT_EQ(s.drops().get(wire::Drop::kNone), 1u);
}

// ---- ICMP --------------------------------------------------------------------

// A stack with one connection in SYN-SENT towards kB:80, and its SYN.
struct Connecting {
  Recorder rec;
  Stack s{config_for(kA), util::Rng(11), &rec, kT0};
  ConnId id = 0;
  Out syn;
  Connecting() {
    const auto c = s.connect(kT0, {kB, 80});
    EXPECT_TRUE(c);
    id = c.value_or(0);
    auto out = drain(s, kT0);
    EXPECT_EQ(out.size(), 1u);
    if (!out.empty()) syn = out[0];
  }
  // ICMP from kB quoting our SYN with its sequence number replaced.
  Bytes icmp_quoting(uint32_t seq, uint8_t code = wire::icmp_code::kPortUnreachable) const {
    Bytes offending = syn.raw;
    wire::store_be32(&offending[20 + 4], seq);
    Bytes buf(200);
    const size_t n = wire::build_icmp_unreachable(buf, kB, code, 0, offending);
    EXPECT_GT(n, 0u);
    buf.resize(n);
    return buf;
  }
};

TEST(StackIcmp, PortUnreachableQuotingOurSynRefusesConnection) {
  Connecting c;
  ASSERT_EQ(c.syn.flags, fl::kSyn);
  const tcp::Connection* conn = c.s.connection(c.id);
  ASSERT_NE(conn, nullptr);
  ASSERT_EQ(c.syn.seq, conn->iss());
  Bytes buf(200);
  const size_t n = wire::build_icmp_unreachable(buf, kB, wire::icmp_code::kPortUnreachable, 0,
                                                c.syn.raw);  // the SYN exactly as captured
  ASSERT_GT(n, 0u);
  buf.resize(n);
  const Instant t = kT0 + Duration::millis(30);
  EXPECT_TRUE(deliver(c.s, t, buf).empty());
  // RFC 1122 §4.2.3.9: port unreachable is a hard error; in SYN-SENT it
  // fails the open (Linux reports ECONNREFUSED).
  EXPECT_EQ(conn->state(), State::kClosed);
  EXPECT_EQ(conn->error().err, ECONNREFUSED);
  EXPECT_EQ(conn->error().reason, tcp::CloseReason::kIcmp);
  EXPECT_EQ(conn->error().time, t);
  EXPECT_EQ(c.rec.count(tcp::EventType::kIcmpReceived), 1u);
  EXPECT_EQ(c.rec.count(tcp::EventType::kAbort), 1u);
  EXPECT_EQ(c.s.stats().icmp_no_connection, 0u);
  EXPECT_EQ(c.s.live_connections(), 0u);
  EXPECT_EQ(c.s.next_deadline(), Instant::never());  // no SYN retransmission left
}

TEST(StackIcmp, QuotedSequenceOutsideWindowIsIgnored) {
  // RFC 5927 §4.1: act only when SND.UNA <= quoted SEG.SEQ < SND.NXT. In
  // SYN-SENT SND.UNA = ISS and SND.NXT = ISS+1, so only ISS qualifies.
  Connecting c;
  const tcp::Connection* conn = c.s.connection(c.id);
  ASSERT_NE(conn, nullptr);
  const uint32_t iss = conn->iss();
  for (uint32_t seq : {iss - 1, iss + 2, iss + 1000, iss ^ 0x80000000u}) {
    SCOPED_TRACE(seq - iss);
    EXPECT_TRUE(deliver(c.s, kT0, c.icmp_quoting(seq)).empty());
    EXPECT_EQ(conn->state(), State::kSynSent);
    EXPECT_EQ(conn->error().err, 0);
  }
  EXPECT_EQ(c.rec.count(tcp::EventType::kIcmpReceived), 0u);
  EXPECT_EQ(c.s.stats().icmp_no_connection, 0u);  // it did reach the connection
  // The connection still works: the SYN is retransmitted at +1 s.
  c.s.on_timers(kT0 + Duration::seconds(1));
  const auto out = drain(c.s, kT0 + Duration::seconds(1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kSyn);
}

TEST(StackIcmp, QuotedSequenceAtSndNxtIsIgnored) {
  Connecting c;
  const tcp::Connection* conn = c.s.connection(c.id);
  ASSERT_NE(conn, nullptr);
  // ISS+1 = SND.NXT: outside RFC 5927's SND.UNA <= SEG.SEQ < SND.NXT, and no
  // segment we sent in SYN-SENT can carry it.
  c.s.receive(kT0, c.icmp_quoting(conn->iss() + 1));
  // RFC 5927 §4.1: act only when SND.UNA <= SEG.SEQ < SND.NXT.
  EXPECT_EQ(conn->state(), State::kSynSent);
  EXPECT_EQ(conn->error().err, 0);
}

TEST(StackIcmp, IcmpForNoConnectionIsCounted) {
  Connecting c;
  // Quote a segment from a port we have no connection on.
  Bytes offending = c.syn.raw;
  wire::store_be16(&offending[20], static_cast<uint16_t>(c.syn.sport + 1));
  Bytes buf(200);
  const size_t n =
      wire::build_icmp_unreachable(buf, kB, wire::icmp_code::kPortUnreachable, 0, offending);
  ASSERT_GT(n, 0u);
  buf.resize(n);
  EXPECT_TRUE(deliver(c.s, kT0, buf).empty());
  EXPECT_EQ(c.s.stats().icmp_no_connection, 1u);
  EXPECT_EQ(c.s.connection(c.id)->state(), State::kSynSent);  // untouched
  EXPECT_EQ(c.rec.count(tcp::EventType::kIcmpReceived), 0u);

  // An ICMP addressed to someone else is not ours at all.
  Bytes to_other(200);
  Bytes quoted = c.syn.raw;
  wire::Ipv4Fields f;
  f.src = kOther;  // the quoted datagram came from 10.0.0.3 ...
  f.dst = kB;
  wire::write_ipv4_header(quoted, f, static_cast<uint16_t>(quoted.size()));
  const size_t m = wire::build_icmp_unreachable(to_other, kB, wire::icmp_code::kPortUnreachable, 0,
                                                quoted);  // ... so the ICMP goes to it
  ASSERT_GT(m, 0u);
  to_other.resize(m);
  EXPECT_TRUE(deliver(c.s, kT0, to_other).empty());
  EXPECT_EQ(c.s.stats().not_for_us, 1u);
  EXPECT_EQ(c.s.stats().icmp_no_connection, 1u);
  EXPECT_EQ(c.s.connection(c.id)->state(), State::kSynSent);
}

// ---- Timer wheel integration and reaping ------------------------------------

TEST(StackTimers, NextDeadlineIsSynRetransmission) {
  Stack s(config_for(kA), util::Rng(12), nullptr, kT0);
  EXPECT_EQ(s.next_deadline(), Instant::never());
  const auto id = s.connect(kT0, {kB, 80});
  ASSERT_TRUE(id);
  // RFC 6298 §2.1: the initial RTO is 1 s, armed when the SYN goes out; the
  // stack's deadline must follow as soon as poll_transmit hands the SYN out,
  // even if the driver does not poll again yet.
  const Instant rto = kT0 + Duration::seconds(1);
  Bytes buf(2048);
  const size_t n = s.poll_transmit(kT0, buf);
  ASSERT_GT(n, 0u);
  const Out syn = decode(std::span<const uint8_t>(buf.data(), n));
  EXPECT_EQ(syn.flags, fl::kSyn);
  const uint32_t iss = syn.seq;
  EXPECT_EQ(s.next_deadline(), rto);
  auto out = drain(s, kT0);
  EXPECT_TRUE(out.empty());  // one SYN only
  EXPECT_EQ(s.connection(*id)->next_deadline(), rto);
  EXPECT_EQ(s.next_deadline(), rto);

  s.on_timers(rto - Duration::nanos(1));  // one nanosecond early: nothing
  EXPECT_TRUE(drain(s, rto - Duration::nanos(1)).empty());
  EXPECT_EQ(s.next_deadline(), rto);

  s.on_timers(rto);
  out = drain(s, rto);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kSyn);
  EXPECT_EQ(out[0].seq, iss);  // the same SYN again
  // RFC 6298 §5.5: the RTO doubles, so the next try is 2 s later.
  EXPECT_EQ(s.next_deadline(), rto + Duration::seconds(2));
  EXPECT_EQ(s.connection(*id)->next_deadline(), s.next_deadline());
  EXPECT_EQ(s.stats().datagrams_out, 2u);
}

TEST(StackTimers, NextDeadlineIsEarliestOverConnections) {
  Stack s(config_for(kA), util::Rng(13), nullptr, kT0);
  const auto a = s.connect(kT0, {kB, 80});
  drain(s, kT0);
  const Instant t1 = kT0 + Duration::millis(300);
  const auto b = s.connect(t1, {kB, 81});
  drain(s, t1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(s.next_deadline(), kT0 + Duration::seconds(1));
  s.on_timers(kT0 + Duration::seconds(1));
  drain(s, kT0 + Duration::seconds(1));
  // a backed off to +3 s; b's first RTO (t1 + 1 s) is now the earliest.
  EXPECT_EQ(s.next_deadline(), t1 + Duration::seconds(1));
  // Aborting b leaves a's deadline.
  s.abort(t1 + Duration::seconds(1), *b);
  drain(s, t1 + Duration::seconds(1));
  EXPECT_EQ(s.next_deadline(), kT0 + Duration::seconds(3));
}

TEST(StackTimers, ReleasedConnectionReapedOnlyAfterTimeWait) {
  Stack s(config_for(kA), util::Rng(14), nullptr, kT0);
  const auto id = s.connect(kT0, {kB, 80});
  ASSERT_TRUE(id);
  auto out = drain(s, kT0);
  ASSERT_EQ(out.size(), 1u);
  const uint16_t lport = out[0].sport;
  const uint32_t iss = out[0].seq;
  constexpr uint32_t kIrs = 70000;

  TcpSpec seg;
  seg.sport = 80;
  seg.dport = lport;
  seg.seq = kIrs;
  seg.ack = iss + 1;
  seg.flags = fl::kSyn | fl::kAck;
  seg.opt.has_mss = true;
  seg.opt.mss = 1000;
  out = deliver(s, kT0, build(seg));
  ASSERT_EQ(out.size(), 1u);  // the handshake's ACK
  ASSERT_EQ(s.connection(*id)->state(), State::kEstablished);

  s.close(kT0, *id);
  out = drain(s, kT0);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].flags & fl::kFin);
  // The peer acknowledges our FIN and sends its own.
  seg.opt = {};
  seg.seq = kIrs + 1;
  seg.ack = iss + 2;
  seg.flags = fl::kFin | fl::kAck;
  const Instant t = kT0 + Duration::millis(10);
  out = deliver(s, t, build(seg));
  ASSERT_EQ(out.size(), 1u);  // ACK of their FIN
  ASSERT_EQ(s.connection(*id)->state(), State::kTimeWait);

  s.release(*id);
  drain(s, t);
  // Released, but TIME-WAIT must run its 2*MSL (RFC 9293 §3.4.2) first.
  ASSERT_NE(s.connection(*id), nullptr);
  EXPECT_EQ(s.stats().connections_reaped, 0u);
  const Instant end = t + Duration::seconds(240);
  EXPECT_EQ(s.next_deadline(), end);
  s.on_timers(end - Duration::nanos(1));
  drain(s, end - Duration::nanos(1));
  ASSERT_NE(s.connection(*id), nullptr);
  EXPECT_EQ(s.connection(*id)->state(), State::kTimeWait);
  // While TIME-WAIT lasts the 4-tuple is still taken.
  EXPECT_FALSE(s.connect(end - Duration::nanos(1), {kB, 80}, nullptr, nullptr, lport));

  s.on_timers(end);
  EXPECT_TRUE(drain(s, end).empty());
  EXPECT_EQ(s.connection(*id), nullptr);
  EXPECT_EQ(s.stats().connections_reaped, 1u);
  EXPECT_EQ(s.live_connections(), 0u);
  EXPECT_TRUE(s.connection_ids().empty());
  EXPECT_EQ(s.next_deadline(), Instant::never());
  // ... and free again afterwards.
  EXPECT_TRUE(s.connect(end, {kB, 80}, nullptr, nullptr, lport));
}

TEST(StackTimers, UnreleasedClosedConnectionIsKept) {
  Stack s(config_for(kA), util::Rng(15), nullptr, kT0);
  const auto id = s.connect(kT0, {kB, 80});
  ASSERT_TRUE(id);
  drain(s, kT0);
  s.abort(kT0, *id);
  drain(s, kT0);
  // CLOSED but the application still holds it: error and state stay readable.
  ASSERT_NE(s.connection(*id), nullptr);
  EXPECT_EQ(s.connection(*id)->state(), State::kClosed);
  EXPECT_EQ(s.stats().connections_reaped, 0u);
  EXPECT_EQ(s.live_connections(), 0u);
  s.release(*id);
  drain(s, kT0);
  EXPECT_EQ(s.connection(*id), nullptr);
  EXPECT_EQ(s.stats().connections_reaped, 1u);
}

// ---- Determinism (RFC 6528) -------------------------------------------------

Out first_syn(uint64_t seed, Instant when) {
  Stack s(config_for(kA), util::Rng(seed), nullptr, when);
  EXPECT_TRUE(s.connect(when, {kB, 80}));
  auto out = drain(s, when);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Out{} : out[0];
}

TEST(StackDeterminism, SameSeedSameSynDifferentSeedDifferentIsn) {
  const Out a = first_syn(42, kT0);
  const Out b = first_syn(42, kT0);
  ASSERT_FALSE(a.raw.empty());
  EXPECT_EQ(a.raw, b.raw);  // byte for byte

  // Another seed: another RFC 6528 secret, so F() and the ISN change (and
  // the ephemeral port is drawn from another stream). Equal ISNs would have
  // probability 2^-32.
  const Out c = first_syn(43, kT0);
  EXPECT_NE(c.seq, a.seq);
  EXPECT_NE(c.raw, a.raw);

  // Same seed, 400 us later: same port (same random draws), and by RFC
  // 6528 §3, ISN = M + F(tuple, secret) with M ticking every 4 us, the ISN
  // is exactly 400 / 4 = 100 higher.
  const Out d = first_syn(42, kT0 + Duration::micros(400));
  EXPECT_EQ(d.sport, a.sport);
  EXPECT_EQ(d.seq, a.seq + 100u);
}

TEST(StackDeterminism, SeedChangesIsnForAFixedTuple) {
  // With the local port given, the 4-tuple and the clock are the same for
  // both stacks: only the seed-derived RFC 6528 secret can move the ISN.
  std::vector<uint32_t> isns;
  for (uint64_t seed : {42u, 42u, 43u}) {
    Stack s(config_for(kA), util::Rng(seed), nullptr, kT0);
    ASSERT_TRUE(s.connect(kT0, {kB, 80}, nullptr, nullptr, 5000));
    const auto out = drain(s, kT0);
    ASSERT_EQ(out.size(), 1u);
    isns.push_back(out[0].seq);
  }
  EXPECT_EQ(isns[0], isns[1]);
  EXPECT_NE(isns[0], isns[2]);
}

TEST(StackDeterminism, IsnDependsOnTheFourTuple) {
  // F() hashes the 4-tuple: two connections of one stack differ in ISN even
  // at the same instant (RFC 6528 §3).
  Stack s(config_for(kA), util::Rng(42), nullptr, kT0);
  ASSERT_TRUE(s.connect(kT0, {kB, 80}, nullptr, nullptr, 5000));
  ASSERT_TRUE(s.connect(kT0, {kB, 80}, nullptr, nullptr, 5001));
  const auto out = drain(s, kT0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].seq, out[1].seq);
}

// ---- Randomized robustness -------------------------------------------------

struct CountingSink : tcp::EventSink {
  uint64_t n = 0;
  void on_event(const tcp::Event&) override { ++n; }
};

void fix_checksums(Bytes& d) {
  if (d.size() < 20) return;
  const size_t ihl = static_cast<size_t>(d[0] & 0x0f) * 4;
  if (ihl < 20 || ihl > d.size()) return;
  d[10] = d[11] = 0;
  wire::store_be16(&d[10], wire::internet_checksum(std::span<const uint8_t>(d.data(), ihl)));
  const size_t total = wire::load_be16(&d[2]);
  if (total < ihl || total > d.size()) return;
  uint8_t* l4 = d.data() + ihl;
  const size_t len = total - ihl;
  if (d[9] == wire::kProtoTcp && len >= 20) {
    l4[16] = l4[17] = 0;
    wire::ChecksumAccumulator acc;
    acc.add_u32(wire::load_be32(&d[12]));
    acc.add_u32(wire::load_be32(&d[16]));
    acc.add_u16(wire::kProtoTcp);
    acc.add_u16(static_cast<uint16_t>(len));
    acc.add(std::span<const uint8_t>(l4, len));
    wire::store_be16(l4 + 16, acc.finish());
  } else if (d[9] == wire::kProtoIcmp && len >= 8) {
    l4[2] = l4[3] = 0;
    wire::store_be16(l4 + 2, wire::internet_checksum(std::span<const uint8_t>(l4, len)));
  }
}

bool is_valid_datagram(const Bytes& d) {
  wire::PacketView pkt;
  return wire::parse_packet(d, &pkt) == wire::Drop::kNone;
}

// 0/8, loopback 127/8, and 224/3 (multicast, reserved, broadcast).
bool martian_source(wire::Ipv4Addr a) {
  const uint32_t top = a.value >> 24;
  return top == 0 || top == 127 || top >= 224;
}

// What should become of a datagram, predicted from the stack's public state
// before it arrives.
enum class Fate {
  kMalformed,
  kNotForUs,
  kIcmpNoConnection,
  kDelivered,
  kListener,
  kNoConnection,
  kSynRejected,  // SYN+FIN, port 0 or LAND for no connection: counted, no reply
};

TEST(StackFuzz, RandomDatagramsAreAcceptedOrCounted) {
  constexpr int kIterations = 100000;
  constexpr uint16_t kListen = 80;
  util::Rng rng(0xC0FFEE);
  CountingSink sink;
  StackConfig cfg;
  cfg.address = kA;
  cfg.tcp = tcp::TcpConfig::rfc();  // every option on: more input paths
  cfg.tcp.recv_buffer = 16384;
  cfg.tcp.send_buffer = 16384;
  cfg.ephemeral_low = 50000;
  cfg.ephemeral_high = 50015;
  Instant now = kT0;
  Stack s(cfg, util::Rng(99), &sink, now);
  ASSERT_TRUE(s.listen(kListen, 4));

  std::vector<Bytes> pool;  // recent valid datagrams, both directions
  auto remember = [&](Bytes d) {
    if (pool.size() < 64) {
      pool.push_back(std::move(d));
    } else {
      pool[rng.uniform(pool.size())] = std::move(d);
    }
  };
  auto drain_all = [&] {
    for (auto& o : drain(s, now)) {
      EXPECT_EQ(o.src, kA);
      remember(std::move(o.raw));
    }
  };
  uint16_t next_client_port = 1024;
  auto client_handshake = [&] {
    const uint16_t port = next_client_port++;
    if (next_client_port == 0) next_client_port = 1024;
    const uint32_t iss = static_cast<uint32_t>(rng.next_u64());
    s.receive(now, build(syn_spec(port, kListen, iss)));
    for (auto& o : drain(s, now)) {
      if (o.dport == port && o.flags == (fl::kSyn | fl::kAck)) {
        TcpSpec ack;
        ack.sport = port;
        ack.dport = kListen;
        ack.seq = iss + 1;
        ack.ack = o.seq + 1;
        ack.flags = fl::kAck;
        s.receive(now, build(ack));
      }
      remember(std::move(o.raw));
    }
    drain_all();
  };
  std::vector<ConnId> app;  // connections the "application" holds

  auto live = [&] {
    std::vector<ConnId> ids;
    for (ConnId id : s.connection_ids()) {
      if (s.connection(id)->state() != State::kClosed) ids.push_back(id);
    }
    return ids;
  };

  uint64_t delivered = 0, counted = 0;
  for (int i = 0; i < kIterations; ++i) {
    now = now + Duration::micros(static_cast<int64_t>(rng.uniform(20000)));
    if (s.next_deadline() <= now) {
      s.on_timers(now);
      drain_all();
    }
    // The application: accept, talk, close, release; keep the table bounded.
    while (auto id = s.accept(kListen)) app.push_back(*id);
    if (rng.chance(0.01)) client_handshake();
    if (rng.chance(0.005)) {
      if (auto id = s.connect(now, {kB, static_cast<uint16_t>(rng.uniform(4) + 80)})) {
        app.push_back(*id);
      }
    }
    if (!app.empty() && rng.chance(0.05)) {
      const ConnId id = app[rng.uniform(app.size())];
      Bytes data = pattern(rng.uniform(3000), static_cast<uint8_t>(i));
      s.send(now, id, data);
      Bytes sink_buf(4096);
      while (s.recv(now, id, sink_buf) > 0) {
      }
    }
    if (!app.empty() && (rng.chance(0.005) || app.size() > 24)) {
      const size_t k = rng.uniform(app.size());
      if (rng.chance(0.5)) {
        s.close(now, app[k]);
      } else {
        s.abort(now, app[k]);
      }
      s.release(app[k]);
      app.erase(app.begin() + static_cast<std::ptrdiff_t>(k));
    }
    drain_all();

    // --- make a datagram ---
    const auto ids = live();
    Bytes dg;
    const uint64_t kind = rng.uniform(100);
    if (kind < 10) {  // random bytes
      dg.resize(rng.uniform(90));
      for (auto& b : dg) b = static_cast<uint8_t>(rng.next_u32());
    } else if (kind < 55 && !ids.empty()) {  // near-valid segment for a live connection
      const tcp::Connection* c = s.connection(ids[rng.uniform(ids.size())]);
      TcpSpec t;
      t.src = c->tuple().remote.addr;
      t.dst = c->tuple().local.addr;
      t.sport = c->tuple().remote.port;
      t.dport = c->tuple().local.port;
      t.seq = c->rcv_nxt() + static_cast<uint32_t>(rng.uniform(5000)) - 1000;
      if (rng.chance(0.5)) t.seq = c->rcv_nxt();
      t.ack = c->snd_una() + static_cast<uint32_t>(rng.uniform(4000)) - 500;
      if (rng.chance(0.4)) t.ack = c->snd_nxt();
      t.flags = static_cast<uint8_t>(rng.chance(0.7) ? fl::kAck : 0);
      if (rng.chance(0.1)) t.flags |= fl::kFin;
      if (rng.chance(0.05)) t.flags |= fl::kRst;
      if (rng.chance(0.05)) t.flags |= fl::kSyn;
      if (rng.chance(0.05)) t.flags = static_cast<uint8_t>(rng.next_u32());
      t.window = static_cast<uint16_t>(rng.chance(0.1) ? 0 : rng.uniform(65536));
      if (rng.chance(0.3)) t.payload = pattern(rng.uniform(1500), static_cast<uint8_t>(i));
      if (rng.chance(0.3)) {
        t.opt.has_timestamps = true;
        t.opt.ts_val = rng.next_u32();
        t.opt.ts_ecr = rng.next_u32();
      }
      if (rng.chance(0.2)) {
        t.opt.sack_count = static_cast<uint8_t>(1 + rng.uniform(3));
        for (int b = 0; b < t.opt.sack_count; ++b) {
          const uint32_t left = c->snd_una() + static_cast<uint32_t>(rng.uniform(30000)) - 1000;
          t.opt.sack[b] = {left, left + static_cast<uint32_t>(rng.uniform(5000))};
        }
      }
      dg = build(t);
    } else if (kind < 75) {  // arbitrary segment, sometimes to the listener
      TcpSpec t;
      t.src = rng.chance(0.9) ? kB : wire::Ipv4Addr{rng.next_u32()};
      t.dst = rng.chance(0.95) ? kA : kOther;
      t.sport = static_cast<uint16_t>(rng.chance(0.5) ? 1024 + rng.uniform(64) : rng.next_u32());
      t.dport = static_cast<uint16_t>(rng.chance(0.5) ? kListen : rng.next_u32());
      t.seq = rng.next_u32();
      t.ack = rng.next_u32();
      t.flags = static_cast<uint8_t>(rng.chance(0.4) ? fl::kSyn : rng.next_u32());
      t.window = static_cast<uint16_t>(rng.next_u32());
      if (rng.chance(0.5)) {
        t.opt.has_mss = true;
        t.opt.mss = static_cast<uint16_t>(rng.next_u32());
      }
      if (rng.chance(0.3)) {
        t.opt.has_window_scale = true;
        t.opt.window_scale = static_cast<uint8_t>(rng.uniform(20));
      }
      t.opt.sack_permitted = rng.chance(0.3);
      if (rng.chance(0.2)) t.payload = pattern(rng.uniform(200), 5);
      dg = build(t);
    } else if (kind < 85 && !pool.empty()) {  // ICMP quoting something we (or they) sent
      Bytes offending = pool[rng.uniform(pool.size())];
      if (offending.size() >= 28 && rng.chance(0.5)) {
        const size_t ihl = static_cast<size_t>(offending[0] & 0x0f) * 4;
        if (offending.size() >= ihl + 8) {
          wire::store_be32(&offending[ihl + 4], wire::load_be32(&offending[ihl + 4]) +
                                                    static_cast<uint32_t>(rng.uniform(64)) - 32);
        }
      }
      Bytes buf(200);
      const size_t n =
          wire::build_icmp_unreachable(buf, kB, static_cast<uint8_t>(rng.uniform(16)),
                                       static_cast<uint16_t>(rng.uniform(2000)), offending);
      buf.resize(n);
      dg = std::move(buf);
      if (dg.empty()) dg = {0x45};
    } else if (!pool.empty()) {  // mutation of a valid datagram
      dg = pool[rng.uniform(pool.size())];
      if (rng.chance(0.3) && dg.size() >= 20) {  // turn ours into one addressed to us
        std::swap_ranges(dg.begin() + 12, dg.begin() + 16, dg.begin() + 16);
      }
      const uint64_t flips = 1 + rng.uniform(4);
      for (uint64_t f = 0; f < flips && !dg.empty(); ++f) {
        dg[rng.uniform(dg.size())] ^= static_cast<uint8_t>(1u << rng.uniform(8));
      }
      if (rng.chance(0.1) && !dg.empty()) dg.resize(rng.uniform(dg.size()));
      if (rng.chance(0.05)) dg.resize(dg.size() + rng.uniform(8), 0);
      if (rng.chance(0.6)) fix_checksums(dg);
    } else {
      dg.resize(rng.uniform(2000));
      for (auto& b : dg) b = static_cast<uint8_t>(rng.next_u32());
      if (dg.size() >= 20 && rng.chance(0.5)) {
        dg[0] = 0x45;
        wire::store_be16(&dg[2], static_cast<uint16_t>(dg.size()));
        dg[6] = dg[7] = 0;
        dg[9] = rng.chance(0.5) ? wire::kProtoTcp : wire::kProtoIcmp;
        wire::store_be32(&dg[16], kA.value);
        fix_checksums(dg);
      }
    }

    if (is_valid_datagram(dg)) remember(dg);  // mutate it later

    // --- predict its fate from the stack's state, then deliver ---
    wire::PacketView pkt;
    const wire::Drop drop = wire::parse_packet(dg, &pkt);
    Fate fate = Fate::kMalformed;
    ConnId target = 0;
    std::map<tcp::FourTuple, ConnId> by_tuple;
    for (ConnId id : ids) by_tuple[s.connection(id)->tuple()] = id;
    if (drop == wire::Drop::kNone) {
      tcp::FourTuple t;
      if (pkt.ip.dst() != kA) {
        fate = Fate::kNotForUs;
      } else if (pkt.kind == wire::PacketView::Kind::kIcmpUnreachable) {
        t.local = {pkt.icmp.quoted_src(), pkt.icmp.quoted_src_port()};
        t.remote = {pkt.icmp.quoted_dst(), pkt.icmp.quoted_dst_port()};
        fate = by_tuple.count(t) ? Fate::kDelivered : Fate::kIcmpNoConnection;
      } else {
        t.local = {pkt.ip.dst(), pkt.tcp.dst_port()};
        t.remote = {pkt.ip.src(), pkt.tcp.src_port()};
        const bool syn = pkt.tcp.has(fl::kSyn) && !pkt.tcp.has(fl::kAck) && !pkt.tcp.has(fl::kRst);
        const bool bad_syn =
            syn && (pkt.tcp.has(fl::kFin) || pkt.tcp.src_port() == 0 || pkt.tcp.dst_port() == 0 ||
                    (pkt.ip.src() == pkt.ip.dst() && pkt.tcp.src_port() == pkt.tcp.dst_port()));
        // RFC 6191: a newer SYN ends TIME-WAIT and goes to the listener.
        const bool reuse = by_tuple.count(t) && pkt.tcp.dst_port() == kListen &&
                           s.connection(by_tuple[t])->time_wait_accepts_syn(pkt.tcp);
        if (by_tuple.count(t) && !reuse) {
          fate = Fate::kDelivered;
          target = by_tuple[t];
        } else if (bad_syn) {
          fate = Fate::kSynRejected;
        } else if (pkt.tcp.dst_port() == kListen && syn) {
          fate = Fate::kListener;
        } else {
          fate = Fate::kNoConnection;
        }
      }
    }
    const bool martian = drop == wire::Drop::kNone && martian_source(pkt.ip.src());
    const StackStats before = s.stats();
    const uint64_t drop_before = s.drops().get(drop);
    const uint64_t dropped_total = s.drops().total_dropped();
    const uint64_t accepted = s.drops().get(wire::Drop::kNone);
    const uint64_t target_rx = target ? s.connection(target)->stats().segments_received : 0;
    const uint64_t resets_before = before.resets_sent + before.resets_queue_full;

    s.receive(now, dg);

    const StackStats& after = s.stats();
    ASSERT_EQ(after.datagrams_in, before.datagrams_in + 1);
    ASSERT_EQ(s.drops().get(drop), drop_before + 1) << "drop " << wire::drop_name(drop);
    ASSERT_EQ(s.drops().total_dropped() + s.drops().get(wire::Drop::kNone),
              dropped_total + accepted + 1);
    const uint64_t d_not_for_us = after.not_for_us - before.not_for_us;
    const uint64_t d_icmp = after.icmp_no_connection - before.icmp_no_connection;
    const uint64_t d_noconn = after.no_connection - before.no_connection;
    const uint64_t d_listener = (after.connections_opened - before.connections_opened) +
                                (after.syn_backlog_drops - before.syn_backlog_drops) +
                                (after.syn_queue_drops - before.syn_queue_drops) +
                                (after.syn_cookies_sent - before.syn_cookies_sent) +
                                (after.connections_refused_cap - before.connections_refused_cap);
    const uint64_t d_synrej = (after.syn_fin_drops - before.syn_fin_drops) +
                              (after.syn_port_zero_drops - before.syn_port_zero_drops) +
                              (after.land_drops - before.land_drops);
    const uint64_t d_martian = after.martian_source - before.martian_source;
    const uint64_t d_listen_nosyn = after.listen_no_syn - before.listen_no_syn;
    const uint64_t classified =
        d_not_for_us + d_icmp + d_noconn + d_listener + d_martian + d_listen_nosyn + d_synrej;
    // RFC 1122 §3.2.1.3: a martian source is discarded whatever it carries.
    if (martian && fate != Fate::kMalformed && fate != Fate::kNotForUs) {
      ASSERT_EQ(d_martian, 1u);
      ASSERT_EQ(classified, 1u);
      counted += classified;
      drain_all();
      continue;
    }
    switch (fate) {
      case Fate::kMalformed:
        ASSERT_EQ(classified, 0u);
        break;
      case Fate::kNotForUs:
        ASSERT_EQ(d_not_for_us, 1u);
        ASSERT_EQ(classified, 1u);
        break;
      case Fate::kIcmpNoConnection:
        ASSERT_EQ(d_icmp, 1u);
        ASSERT_EQ(classified, 1u);
        break;
      case Fate::kDelivered:
        ASSERT_EQ(classified, 0u) << "datagram for a live connection was not delivered";
        if (target) {
          ASSERT_NE(s.connection(target), nullptr);
          ASSERT_EQ(s.connection(target)->stats().segments_received, target_rx + 1);
        }
        ++delivered;
        break;
      case Fate::kListener:
        ASSERT_EQ(d_listener, 1u);
        ASSERT_EQ(classified, 1u);
        break;
      case Fate::kSynRejected:
        ASSERT_EQ(d_synrej, 1u);
        ASSERT_EQ(classified, 1u);
        ASSERT_EQ(s.stats().resets_sent + s.stats().resets_queue_full, resets_before);
        break;
      case Fate::kNoConnection:
        // RFC 9293 §3.10.7.2: a listener drops segments without SYN, ACK or
        // RST silently; everything else to nowhere gets a reset.
        if (pkt.tcp.dst_port() == kListen && !pkt.tcp.has(fl::kSyn) && !pkt.tcp.has(fl::kAck) &&
            !pkt.tcp.has(fl::kRst)) {
          ASSERT_EQ(d_listen_nosyn, 1u);
        } else {
          ASSERT_EQ(d_noconn, 1u);
        }
        ASSERT_EQ(classified, 1u);
        break;
    }
    counted += classified;
    drain_all();
    // Exactly one reply for a segment to nowhere (not queued behind others:
    // we drain after every datagram). RFC 9293 §3.10.7.1 answers all but
    // RSTs; on a listening port (§3.10.7.2) only ACK-bearing segments are
    // answered; the ones without SYN/ACK/RST are dropped silently (counted
    // in listen_no_syn above).
    const bool listener_port = pkt.tcp.dst_port() == kListen;
    if (fate == Fate::kNoConnection && !pkt.tcp.has(fl::kRst) &&
        (!listener_port || pkt.tcp.has(fl::kAck))) {
      ASSERT_EQ(s.stats().resets_sent + s.stats().resets_queue_full, resets_before + 1);
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The run must have exercised the interesting paths, not just the parser.
  EXPECT_GT(delivered, 10000u);
  EXPECT_GT(counted, 10000u);
  EXPECT_GT(s.drops().total_dropped(), 10000u);
  EXPECT_GT(s.stats().connections_opened, 100u);
  EXPECT_GT(s.stats().connections_reaped, 50u);
  EXPECT_GT(sink.n, 0u);
}

// ---- The application layer (src/app) over two stacks -----------------------

// Two stacks connected a -> b:80, b's side accepted.
struct AppPair : Pair {
  ConnId ca = 0, cb = 0;
  void open() {
    ASSERT_TRUE(b.listen(80, 4));
    const auto c = a.connect(now, {kB, 80});
    ASSERT_TRUE(c);
    ca = *c;
    pump();
    const auto s = b.accept(80);
    ASSERT_TRUE(s);
    cb = *s;
  }
  // Runs every timer due up to `t`, then stands at `t`.
  void jump(Instant t) {
    while (std::min(a.next_deadline(), b.next_deadline()) <= t && advance()) {
    }
    now = t;
  }
};

// Both kinds of the one generator, written in pieces that stop wherever
// the send buffer fills: the reader sees each kind's defined stream.
TEST(AppPattern, BothKindsArriveAsDefinedAcrossPartialWrites) {
  for (const auto kind : {app::Pattern::Kind::kMod251, app::Pattern::Kind::kRandom}) {
    AppPair p;
    p.open();
    constexpr uint64_t kTotal = 300'000;  // several send buffers, several 16 KiB blocks
    app::Pattern pattern(kind, 7);
    util::Sha256 sent_hash;
    uint64_t pos = 0;
    Bytes got;
    for (int guard = 0; got.size() < kTotal && guard < 10'000; ++guard) {
      const uint64_t n = pattern.send(p.a, p.now, p.ca, pos, kTotal, &sent_hash);
      pos += n;
      p.pump();
      const Bytes more = read_all(p.b, p.now, p.cb);
      got.insert(got.end(), more.begin(), more.end());
      p.pump();
      if (n == 0 && more.empty() && !p.advance()) break;  // a delayed ACK's timer
    }
    ASSERT_EQ(pos, kTotal);
    ASSERT_EQ(got.size(), kTotal);
    Bytes want(kTotal);
    util::Rng rng(7);
    for (size_t i = 0; i < kTotal; i += 8) {
      const uint64_t r = rng.next_u64();  // kRandom: the draws, little-endian
      for (size_t k = 0; k < 8 && i + k < kTotal; ++k) {
        want[i + k] = kind == app::Pattern::Kind::kMod251 ? static_cast<uint8_t>((i + k) * 7 % 251)
                                                          : static_cast<uint8_t>(r >> (8 * k));
      }
    }
    EXPECT_EQ(got, want);
    util::Sha256 got_hash;
    got_hash.update(got);
    EXPECT_EQ(util::Sha256::hex(sent_hash.finish()), util::Sha256::hex(got_hash.finish()));
  }
}

// `vigil tun --read-pause-after 1000 --read-pause 10s`: reading stops at
// exactly 1000 bytes, for exactly 10 s from that moment, once.
TEST(AppReadPause, AfterBytesPausesOnceForTheLength) {
  app::ReadPausePlan plan;
  plan.after = 1000;
  plan.length = Duration::seconds(10);
  app::ReadPause pause(plan);
  EXPECT_EQ(pause.room(kT0, 0), 1000u);
  EXPECT_EQ(pause.room(kT0, 600), 400u);
  EXPECT_EQ(pause.next_wake(kT0), Instant::never());
  EXPECT_EQ(pause.room(kT0, 1000), 0u);  // the pause starts here
  EXPECT_TRUE(pause.paused(kT0));
  EXPECT_EQ(pause.next_wake(kT0), kT0 + Duration::seconds(10));
  const Instant just_before = kT0 + Duration::seconds(10) - Duration::nanos(1);
  EXPECT_EQ(pause.room(just_before, 1000), 0u);
  EXPECT_FALSE(pause.paused(kT0 + Duration::seconds(10)));
  EXPECT_EQ(pause.room(kT0 + Duration::seconds(10), 1000), app::ReadPause::kUnlimited);
  EXPECT_EQ(pause.room(kT0 + Duration::seconds(11), 5000), app::ReadPause::kUnlimited);  // once
  EXPECT_EQ(pause.take_trickle(kT0), 0u);
}

// The simulator's window, with its one small read (RFC 2525 §2.12): 100
// bytes at trickle_at, only while paused, only once.
TEST(AppReadPause, WindowWithOneTrickle) {
  app::ReadPausePlan plan;
  plan.from = kT0 + Duration::seconds(1);
  plan.until = kT0 + Duration::seconds(5);
  plan.trickle_at = kT0 + Duration::seconds(2);
  plan.trickle_bytes = 100;
  app::ReadPause pause(plan);
  EXPECT_EQ(pause.room(kT0, 0), app::ReadPause::kUnlimited);
  EXPECT_EQ(pause.next_wake(kT0), plan.from);
  EXPECT_EQ(pause.room(plan.from, 0), 0u);
  EXPECT_EQ(pause.take_trickle(plan.from), 0u);  // paused, but not yet trickle_at
  EXPECT_EQ(pause.next_wake(plan.from), plan.trickle_at);
  EXPECT_EQ(pause.take_trickle(plan.trickle_at), 100u);
  EXPECT_EQ(pause.take_trickle(plan.trickle_at + Duration::seconds(1)), 0u);  // once
  EXPECT_EQ(pause.next_wake(plan.trickle_at), plan.until);
  EXPECT_EQ(pause.room(plan.until, 0), app::ReadPause::kUnlimited);
  EXPECT_EQ(pause.next_wake(plan.until), Instant::never());
}

// app::Server, discard with a read pause after 3000 bytes for 5 s: 7000
// bytes wait in the receive buffer (of 8000); the server reads 3000, nothing more
// until 5 s later, then the rest; the end callback has all 7000 bytes and
// their sha256.
TEST(AppServer, DiscardPausesAfterNBytesThenReadsTheRest) {
  AppPair p;
  app::ReadPausePlan plan;
  plan.after = 3000;
  plan.length = Duration::seconds(5);
  app::Server server(app::ServeKind::kDiscard, 80, p.b.config().tcp, plan);
  uint64_t ended_in = 0;
  std::string ended_sha;
  server.on_end([&](const tcp::Connection&, uint64_t in, util::Sha256* hash) {
    ended_in = in;
    ASSERT_NE(hash, nullptr);
    ended_sha = util::Sha256::hex(hash->finish());
  });
  server.poll(p.b, p.now);  // listens
  const auto ca = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(ca);
  p.pump();
  const Bytes data = pattern(7000, 3);
  ASSERT_EQ(p.a.send(p.now, *ca, data), data.size());
  ASSERT_EQ(p.b.connection_ids().size(), 1u);
  const tcp::Connection* server_side = p.b.connection(p.b.connection_ids()[0]);
  ASSERT_TRUE(p.run_until([&] { return server_side->recv_available() == 7000u; }));

  server.poll(p.b, p.now);
  EXPECT_EQ(server.accepted(), 1u);
  EXPECT_EQ(server.bytes_in(), 3000u);
  const Instant resume = p.now + Duration::seconds(5);
  EXPECT_EQ(server.next_wake(p.now), resume);
  p.jump(resume - Duration::nanos(1));
  server.poll(p.b, p.now);
  EXPECT_EQ(server.bytes_in(), 3000u);
  p.jump(resume);
  server.poll(p.b, p.now);
  EXPECT_EQ(server.bytes_in(), 7000u);
  EXPECT_EQ(server.next_wake(p.now), Instant::never());

  // The client closes; the server closes on EOF, the connection ends.
  p.a.close(p.now, *ca);
  ASSERT_TRUE(p.run_until([&] {
    server.poll(p.b, p.now);
    p.pump();
    return server.quiesced();
  }));
  EXPECT_EQ(ended_in, 7000u);
  util::Sha256 want;
  want.update(data);
  EXPECT_EQ(ended_sha, util::Sha256::hex(want.finish()));
}

// app::Server, http: GET /bytes/1000 with Connection: close gets exactly
// this header and 1000 bytes of i*7 mod 251, then the server's FIN.
TEST(AppServer, HttpGetBytesServesThePatternAndCloses) {
  AppPair p;
  app::Server server(app::ServeKind::kHttp, 80, p.b.config().tcp);
  server.poll(p.b, p.now);
  const auto ca = p.a.connect(p.now, {kB, 80});
  ASSERT_TRUE(ca);
  p.pump();
  const std::string req = "GET /bytes/1000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(p.a.send(p.now, *ca, Bytes(req.begin(), req.end())), req.size());
  Bytes got;
  ASSERT_TRUE(p.run_until([&] {
    server.poll(p.b, p.now);
    p.pump();
    const Bytes more = read_all(p.a, p.now, *ca);
    got.insert(got.end(), more.begin(), more.end());
    return p.a.connection(*ca)->peer_closed();
  }));
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n"
      "Connection: close\r\n\r\n";
  ASSERT_EQ(got.size(), head.size() + 1000);
  EXPECT_EQ(std::string(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(head.size())), head);
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(got[head.size() + i], static_cast<uint8_t>(i * 7 % 251)) << "byte " << i;
  }
  EXPECT_EQ(server.bytes_out(), got.size());
}

}  // namespace
}  // namespace vigil::stack
