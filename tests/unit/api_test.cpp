// vigil::Stack, Socket, Listener and SocketOptions (include/vigil/vigil.hpp,
// issue 10 §1): two public stacks wired back to back on a virtual clock.
#include <gtest/gtest.h>

#include <cerrno>
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
