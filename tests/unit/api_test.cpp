// vigil::Stack, Socket, Listener and SocketOptions (include/vigil/vigil.hpp,
// issue 10 §1): two public stacks wired back to back on a virtual clock.
#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "vigil/vigil.hpp"

namespace vigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Ipv4 kClient = Ipv4::of(10, 0, 0, 1);
constexpr Ipv4 kServer = Ipv4::of(10, 0, 0, 2);

std::string text(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

// Two stacks and a lossless zero-delay wire that can be cut.
struct Pair {
  explicit Pair(StackOptions c = {.address = kClient, .seed = 1},
                StackOptions s = {.address = kServer, .seed = 2})
      : client(c, now), server(s, now) {}
  void pump() {
    for (bool moved = true; moved;) {
      moved = false;
      while (const size_t n = client.transmit(buf)) {
        moved = true;
        if (up) server.receive(now, std::span(buf.data(), n));
      }
      while (const size_t n = server.transmit(buf)) {
        moved = true;
        if (up) client.receive(now, std::span(buf.data(), n));
      }
    }
  }
  // Runs both stacks' timers until `until`.
  void run_until(TimePoint until) {
    for (;;) {
      std::optional<TimePoint> next;
      for (Stack* s : {&client, &server}) {
        if (auto d = s->next_deadline(); d && (!next || *d < *next)) next = d;
      }
      if (!next || *next > until) break;
      now = *next;
      client.advance(now);
      server.advance(now);
      pump();
    }
    now = until;
  }
  // run_until(t), then both stacks' time is t: socket calls made next
  // happen at t (sans-IO, a Stack's time is its last receive or advance).
  void idle_until(TimePoint t) {
    run_until(t);
    client.advance(now);
    server.advance(now);
    pump();
  }
  TimePoint now{};
  Stack client, server;
  bool up = true;
  std::vector<uint8_t> buf = std::vector<uint8_t>(65535);
};

TEST(Api, HandshakeEchoAndEdgeTriggeredCallbacks) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  ASSERT_FALSE(ec);
  int acceptable = 0;
  std::optional<Socket> srv;
  l.on_acceptable([&](Listener& self) {
    ++acceptable;
    srv = self.accept(ec);
  });
  Socket c = p.client.connect({kServer, 7}, ec);
  ASSERT_FALSE(ec);
  int writable = 0;
  c.on_writable([&](Socket&) { ++writable; });
  EXPECT_EQ(c.state(), "SYN-SENT");
  uint8_t buf[64];
  c.recv(buf, ec);
  EXPECT_EQ(ec, std::errc::resource_unavailable_try_again);  // connecting: nothing yet

  p.pump();
  ASSERT_TRUE(srv.has_value());
  EXPECT_EQ(acceptable, 1);
  EXPECT_EQ(writable, 1);  // once, when the SYN-ACK made it ESTABLISHED
  EXPECT_EQ(srv->remote(), c.local());
  EXPECT_EQ(srv->local(), (Endpoint{kServer, 7}));

  int readable = 0;
  srv->on_readable([&](Socket& s) {
    ++readable;
    const size_t n = s.recv(buf, ec);
    s.send(std::span(buf, n), ec);
  });
  EXPECT_EQ(c.send("hello", ec), 5u);
  p.pump();
  EXPECT_EQ(readable, 1);
  EXPECT_EQ(c.readable_bytes(), 5u);
  EXPECT_EQ(c.recv(buf, ec), 5u);
  EXPECT_EQ(text(std::span(buf, 5)), "hello");
  EXPECT_EQ(writable, 1);  // space never ran out: no new edge

  // Half-close: the server's readable fires for the FIN, recv says EOF.
  ASSERT_FALSE(c.shutdown());
  c.send("x", ec);
  EXPECT_EQ(ec, std::errc::broken_pipe);
  srv->on_readable([&](Socket& s) {
    ++readable;
    EXPECT_EQ(s.recv(buf, ec), 0u);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(s.poll().eof);
  });
  p.pump();
  EXPECT_EQ(readable, 2);
  EXPECT_EQ(srv->state(), "CLOSE-WAIT");
}

TEST(Api, UserTimeoutOutcomeThroughRecvAndCallback) {
  SocketOptions o;
  ASSERT_FALSE(o.user_timeout(seconds(10)));
  Pair p({.address = kClient, .seed = 1, .defaults = o});
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  std::vector<Outcome> ends;
  p.client.on_connection_end([&](const Outcome& e) { ends.push_back(e); });
  std::optional<Outcome> closed;
  c.on_closed([&](Socket&, const Outcome& e) { closed = e; });

  p.up = false;
  c.send("anyone there?", ec);
  p.pump();
  p.run_until(TimePoint(seconds(60)));
  // RFC 5482 §3 / TCP_USER_TIMEOUT: 10 s after the data went out at 0 with
  // nothing outstanding, retransmissions (1, 3, 7 s) notwithstanding.
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->at, TimePoint(seconds(10)));
  EXPECT_EQ(closed->error, std::errc::timed_out);
  EXPECT_EQ(closed->errno_name, "ETIMEDOUT");
  EXPECT_EQ(closed->mechanism, "user_timeout");
  EXPECT_EQ(closed->from_state, "ESTABLISHED");
  EXPECT_TRUE(closed->summary.starts_with("ETIMEDOUT (user_timeout): ")) << closed->summary;
  EXPECT_TRUE(closed->line.starts_with("10.0.0.1:")) << closed->line;
  EXPECT_NE(closed->line.find(" ended at 10.000000 s in ESTABLISHED: ETIMEDOUT (user_timeout): "),
            std::string::npos)
      << closed->line;
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].line, closed->line);
  ASSERT_TRUE(c.outcome().has_value());
  // The failure reaches the application once (SO_ERROR), then EOF / EPIPE.
  uint8_t buf[8];
  EXPECT_EQ(c.recv(buf, ec), 0u);
  EXPECT_EQ(ec, std::errc::timed_out);
  EXPECT_EQ(c.recv(buf, ec), 0u);
  EXPECT_FALSE(ec);
  c.send("more", ec);
  EXPECT_EQ(ec, std::errc::broken_pipe);
}

TEST(Api, DroppingAHandleWithUnreadDataResetsThePeer) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  std::optional<Socket> srv = l.accept(ec);
  ASSERT_TRUE(srv.has_value());
  c.send("unread", ec);
  p.pump();
  std::optional<Outcome> peer;
  c.on_closed([&](Socket&, const Outcome& e) { peer = e; });
  srv.reset();  // close(2) with 6 bytes unread: RST, not FIN (RFC 2525 §2.17)
  p.pump();
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->error, std::errc::connection_reset);
  EXPECT_EQ(peer->mechanism, "reset");
  EXPECT_EQ(p.server.connections(), 0u);  // released and reaped
}

TEST(Api, ClosingAListenerResetsConnectionsNotYetAccepted) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  EXPECT_TRUE(l.pending());
  l.close();  // Linux inet_csk_listen_stop: the queued child is reset
  p.pump();
  EXPECT_EQ(c.poll().error, std::errc::connection_reset);
  EXPECT_TRUE(c.poll().closed);
  EXPECT_EQ(p.server.connections(), 0u);
  l.accept(ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
  // The port is free again.
  Listener again = p.server.listen(7, 16, ec);
  EXPECT_FALSE(ec);
}

TEST(Api, OpenErrorsAreErrnoValuesWithReasons) {
  Pair p;
  std::error_code ec;
  Listener a = p.server.listen(7, 16, ec);
  Listener b = p.server.listen(7, 16, ec);
  EXPECT_EQ(ec, std::errc::address_in_use);
  EXPECT_FALSE(b);
  EXPECT_NE(p.server.why().find("already listening on port 7"), std::string::npos);
  p.server.listen(0, 16, ec);
  EXPECT_EQ(ec, std::errc::invalid_argument);
  a.accept(ec);
  EXPECT_EQ(ec, std::errc::resource_unavailable_try_again);
  Socket empty;
  uint8_t buf[4];
  empty.recv(buf, ec);
  EXPECT_EQ(ec, std::errc::bad_file_descriptor);
}

TEST(Api, OptionsAreRangeCheckedWithClearErrors) {
  SocketOptions o;
  // Linux TCP_KEEPIDLE: 1 to 32767 s (docs/knobs.md).
  EXPECT_EQ(o.keepalive_idle(milliseconds(500)), std::errc::invalid_argument);
  EXPECT_NE(o.why().find("keepalive.idle"), std::string::npos) << o.why();
  EXPECT_NE(o.why().find("32767s"), std::string::npos) << o.why();
  EXPECT_FALSE(o.keepalive_idle(seconds(60)));
  EXPECT_TRUE(o.why().empty());
  EXPECT_EQ(o.set("no.such_knob", "1"), std::errc::no_protocol_option);
  EXPECT_EQ(o.mss(10), std::errc::invalid_argument);  // below Linux TCP_MIN_MSS 88
  EXPECT_EQ(o.profile("bsd"), std::errc::invalid_argument);
  EXPECT_FALSE(o.profile("linux"));
  EXPECT_FALSE(o.congestion("cubic"));
  EXPECT_EQ(o.congestion("vegas"), std::errc::invalid_argument);
  // A stack with a contradictory option refuses to start.
  EXPECT_THROW(Stack({.address = kClient, .synack_retries = 1000}, TimePoint{}), std::system_error);
}

TEST(Api, ListenerOptionsReachAcceptedConnections) {
  Pair p;
  SocketOptions o;
  ASSERT_FALSE(o.keepalive(true));
  ASSERT_FALSE(o.keepalive_idle(seconds(5)));
  ASSERT_FALSE(o.keepalive_interval(seconds(1)));
  ASSERT_FALSE(o.keepalive_count(2));
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec, &o);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  std::optional<Socket> srv = l.accept(ec);
  ASSERT_TRUE(srv);
  std::optional<Outcome> end;
  srv->on_closed([&](Socket&, const Outcome& e) { end = e; });
  p.up = false;
  p.run_until(TimePoint(seconds(60)));
  // RFC 1122 §4.2.3.6: idle 5 s, probes at 5 and 6 s, dead at 7 s
  // (idle + interval * count).
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, TimePoint(seconds(7)));
  EXPECT_EQ(end->error, std::errc::timed_out);
  EXPECT_EQ(end->mechanism, "keepalive");
}

// Options changed on an open Socket (setsockopt on a live connection).
// SO_KEEPALIVE turned on at 100 s, after 100 s of silence: Linux's
// sock_set_keepalive -> tcp_set_keepalive arms the timer a full idle period
// from the call (not from the last segment heard, which would be due at
// once), so with idle 10 s, interval 5 s, count 3 the probes go at 110, 115
// and 120 s, and the third unanswered interval ends the connection at
// 125 s = 100 + idle + count * interval (RFC 1122 §4.2.3.6, Linux
// tcp_keepalive_timer).
TEST(Api, KeepaliveTurnedOnLiveProbesAtTheExactTimes) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  std::vector<TimePoint> probes;
  p.client.on_event([&](const Event& e) {
    if (e.type == "keepalive_probe") probes.push_back(e.time);
  });
  std::optional<Outcome> end;
  c.on_closed([&](Socket&, const Outcome& e) { end = e; });
  p.idle_until(TimePoint(seconds(100)));
  EXPECT_TRUE(probes.empty());  // off by default (the rfc profile)
  p.up = false;
  ASSERT_FALSE(c.set("keepalive.idle", "10s")) << c.why();
  ASSERT_FALSE(c.set("keepalive.interval", "5s")) << c.why();
  ASSERT_FALSE(c.set("keepalive.count", "3")) << c.why();
  ASSERT_FALSE(c.set("keepalive.enabled", "true")) << c.why();
  EXPECT_EQ(c.why(), "");
  p.run_until(TimePoint(seconds(1000)));
  EXPECT_EQ(probes, (std::vector<TimePoint>{TimePoint(seconds(110)), TimePoint(seconds(115)),
                                            TimePoint(seconds(120))}));
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, TimePoint(seconds(125)));
  EXPECT_EQ(end->error, std::errc::timed_out);
  EXPECT_EQ(end->mechanism, "keepalive");
}

// TCP_USER_TIMEOUT set on the open connection at 5 s (through
// set_options, from the options it was opened with), then data sent into
// a dead link at 5 s: RFC 5482 §3, Linux tcp_retransmit_timer. The RTO is
// the rfc profile's 1 s floor (RFC 6298 §2.4), so retransmissions go at 6,
// 8 and 12 s; the next (20 s) is cut to the user timeout's end (Linux
// tcp_clamp_rto_to_user_timeout): ETIMEDOUT at 5 + 10 = 15 s. Without it
// the connection would retransmit retries.data (15) times, for minutes.
TEST(Api, UserTimeoutSetLiveEndsTheConnectionAtTheExactTime) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  std::vector<TimePoint> retransmits;
  p.client.on_event([&](const Event& e) {
    if (e.type == "retransmit") retransmits.push_back(e.time);
  });
  std::optional<Outcome> end;
  c.on_closed([&](Socket&, const Outcome& e) { end = e; });
  p.idle_until(TimePoint(seconds(5)));
  SocketOptions o;  // the rfc profile the connection opened with
  ASSERT_FALSE(o.user_timeout(seconds(10)));
  ASSERT_FALSE(c.set_options(o)) << c.why();
  p.up = false;
  c.send("anyone there?", ec);
  p.pump();
  p.run_until(TimePoint(seconds(1000)));
  EXPECT_EQ(retransmits, (std::vector<TimePoint>{TimePoint(seconds(6)), TimePoint(seconds(8)),
                                                 TimePoint(seconds(12))}));
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, TimePoint(seconds(15)));
  EXPECT_EQ(end->error, std::errc::timed_out);
  EXPECT_EQ(end->mechanism, "user_timeout");
}

// What the SYN negotiated or the open sized cannot change afterwards:
// EISCONN with the reason, nothing changed; the same value is a no-op.
TEST(Api, FixedOptionsOnAnOpenSocketAreRefusedWithTheReason) {
  Pair p;
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  EXPECT_EQ(c.set("mss", "536"), std::errc::already_connected);
  EXPECT_NE(c.why().find("mss is negotiated in the SYN"), std::string::npos) << c.why();
  EXPECT_NE(c.why().find("only nodelay, keepalive.enabled"), std::string::npos) << c.why();
  EXPECT_EQ(c.set("window_scaling", "false"), std::errc::already_connected);
  EXPECT_EQ(c.set("send_buffer", "100000"), std::errc::already_connected);
  EXPECT_NE(c.why().find("send_buffer sizes the buffers"), std::string::npos) << c.why();
  EXPECT_EQ(c.set("rto.min", "300ms"), std::errc::already_connected);
  // Bad values and unknown names, as SocketOptions::set reports them.
  EXPECT_EQ(c.set("keepalive.idle", "0s"), std::errc::invalid_argument);
  EXPECT_NE(c.why().find("keepalive.idle"), std::string::npos) << c.why();
  EXPECT_EQ(c.set("no.such_knob", "1"), std::errc::no_protocol_option);
  // The options it opened with: nothing to change.
  SocketOptions same;
  EXPECT_FALSE(c.set_options(same));
  EXPECT_EQ(c.why(), "");
  SocketOptions other;
  ASSERT_FALSE(other.mss(536));
  ASSERT_FALSE(other.nodelay(true));
  EXPECT_EQ(c.set_options(other), std::errc::already_connected);
  EXPECT_NE(c.why().find("fixed once it exists"), std::string::npos) << c.why();
  Socket empty;
  EXPECT_EQ(empty.set("nodelay", "true"), std::errc::bad_file_descriptor);
  EXPECT_EQ(empty.set_options(same), std::errc::bad_file_descriptor);
}

TEST(Api, EventSinkSeesEveryDecision) {
  Pair p;
  std::vector<std::string> seen;
  p.client.on_event([&](const Event& e) {
    if (e.type == "state") seen.push_back(std::string(e.from) + ">" + std::string(e.to));
  });
  std::error_code ec;
  Listener l = p.server.listen(7, 16, ec);
  Socket c = p.client.connect({kServer, 7}, ec);
  p.pump();
  EXPECT_EQ(seen, (std::vector<std::string>{"CLOSED>SYN-SENT", "SYN-SENT>ESTABLISHED"}));
}

}  // namespace
}  // namespace vigil
