// stack::EndLog and stack::end_line: the one line per connection end that
// `vigil tun` prints (issue 10: a real-network user learns why a connection
// died). Two stacks back to back, driven with explicit Instants.
#include "stack/end_log.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "stack/stack.hpp"
#include "stack_harness.hpp"
#include "tcp_harness.hpp"
#include "util/rng.hpp"

namespace vigil::stack {
namespace {

using harness::Bytes;
using harness::config_for;
using harness::drain;
using harness::kA;
using harness::kB;
using tcp::State;

constexpr Instant kT0 = Instant::zero() + Duration::seconds(100);

tcp::FourTuple tuple_ab() {
  tcp::FourTuple t;
  t.local = {kA, 49152};
  t.remote = {kB, 7};
  return t;
}

TEST(EndLine, ErrnoMechanismAndEvidenceAsVigilSimPrintsThem) {
  tcp::ConnectionError err;
  err.err = ETIMEDOUT;
  err.reason = tcp::CloseReason::kRetransmission;
  err.detail = "15 retransmissions over 924.6 s";
  // sim_report's Connections section prints "ETIMEDOUT (retransmission): ..."
  // after the final state; the same words here, after the 4-tuple and time.
  EXPECT_EQ(end_line(tuple_ab(), State::kEstablished, err, Duration::millis(924600)),
            "10.0.0.1:49152 <-> 10.0.0.2:7 ended at 924.600000 s in ESTABLISHED: "
            "ETIMEDOUT (retransmission): 15 retransmissions over 924.6 s");
  EXPECT_EQ(tcp::outcome_text(err.err, err.reason, err.detail),
            "ETIMEDOUT (retransmission): 15 retransmissions over 924.6 s");
}

TEST(EndLine, CleanCloseAndRstWithoutErrno) {
  EXPECT_EQ(end_line(tuple_ab(), State::kLastAck, {}, Duration::micros(1500)),
            "10.0.0.1:49152 <-> 10.0.0.2:7 ended at 0.001500 s in LAST-ACK: closed");
  tcp::ConnectionError rst;  // RFC 2525 §2.17: the closer gets no errno, only a reason
  rst.detail = "closed with 3 bytes unread: RST instead of FIN (RFC 2525 §2.17)";
  EXPECT_EQ(end_line(tuple_ab(), State::kEstablished, rst, Duration::zero()),
            "10.0.0.1:49152 <-> 10.0.0.2:7 ended at 0.000000 s in ESTABLISHED: closed: "
            "closed with 3 bytes unread: RST instead of FIN (RFC 2525 §2.17)");
  EXPECT_EQ(tcp::outcome_text(0, tcp::CloseReason::kNone, "x"), "");
}

// Two stacks whose EndLogs collect the lines; `cut` drops everything in flight.
struct LoggedPair {
  std::vector<std::string> a_lines, b_lines;
  testing::Recorder a_events;
  EndLog a_log{[this](const std::string& l) { a_lines.push_back(l); }, kT0, &a_events};
  EndLog b_log{[this](const std::string& l) { b_lines.push_back(l); }, kT0};
  Stack a{config_for(kA), util::Rng(1), &a_log, kT0};
  Stack b{config_for(kB), util::Rng(2), &b_log, kT0};
  Instant now = kT0;
  bool cut = false;

  LoggedPair() {
    a_log.attach(&a);
    b_log.attach(&b);
  }
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      size_t n = 0;
      for (const auto& o : drain(a, now)) {
        ++n;
        if (!cut) b.receive(now, o.raw);
      }
      for (const auto& o : drain(b, now)) {
        ++n;
        if (!cut) a.receive(now, o.raw);
      }
      if (n == 0) return;
    }
    ADD_FAILURE() << "never quiet";
  }
  // Runs timers until both stacks have nothing due before `until`.
  void run_to(Instant until) {
    pump();
    for (;;) {
      const Instant t = std::min(a.next_deadline(), b.next_deadline());
      if (t > until) break;
      now = t;
      a.on_timers(now);
      b.on_timers(now);
      pump();
    }
    now = until;
  }
  // A connection from A to B's port 7, established at `now` (no delay).
  std::pair<ConnId, ConnId> open(const tcp::TcpConfig* a_config = nullptr) {
    EXPECT_TRUE(b.listen(7, 4));
    const auto ca = a.connect(now, {kB, 7}, nullptr, a_config);
    EXPECT_TRUE(ca);
    pump();
    const auto cb = b.accept(7);
    EXPECT_TRUE(cb);
    return {ca.value_or(0), cb.value_or(0)};
  }
  std::string tuple_text(const Stack& s, ConnId id) const {
    const tcp::FourTuple& t = s.connection(id)->tuple();
    return t.local.to_string() + " <-> " + t.remote.to_string();
  }
};

TEST(EndLog, OneLinePerEndForACleanClose) {
  LoggedPair p;
  const auto [ca, cb] = p.open();
  const std::string ta = p.tuple_text(p.a, ca), tb = p.tuple_text(p.b, cb);
  EXPECT_TRUE(p.a_lines.empty());
  p.a.close(p.now, ca);  // A: FIN-WAIT-1, FIN-WAIT-2 once B ACKs
  p.pump();
  p.b.close(p.now, cb);  // B: LAST-ACK; its FIN takes A to TIME-WAIT
  p.pump();
  // The links have no delay, so both ends come at kT0: 0 s after the start.
  EXPECT_EQ(p.a_lines, std::vector<std::string>{ta + " ended at 0.000000 s in FIN-WAIT-2: closed"});
  EXPECT_EQ(p.b_lines, std::vector<std::string>{tb + " ended at 0.000000 s in LAST-ACK: closed"});
  // TIME-WAIT's own end (2 MSL later, RFC 9293 §3.4.2) is not a second line.
  p.run_to(kT0 + Duration::seconds(3600));
  EXPECT_EQ(p.a.connection(ca) == nullptr || p.a.connection(ca)->state() == State::kClosed, true);
  EXPECT_EQ(p.a_lines.size(), 1u);
  EXPECT_EQ(p.a_log.ends(), 1u);
  // Every event also reached the chained sink.
  EXPECT_GT(p.a_events.count(tcp::EventType::kStateChange), 3u);
}

TEST(EndLog, ResetNamesErrnoAndMechanism) {
  LoggedPair p;
  const auto [ca, cb] = p.open();
  const std::string ta = p.tuple_text(p.a, ca), tb = p.tuple_text(p.b, cb);
  p.b.abort(p.now, cb);  // RST (RFC 9293 §3.10.5): B's own end has no errno
  p.pump();
  EXPECT_EQ(p.b_lines,
            std::vector<std::string>{tb + " ended at 0.000000 s in ESTABLISHED: closed"});
  // RFC 9293 §3.10.7.4: a RST in ESTABLISHED is ECONNRESET for A.
  ASSERT_EQ(p.a_lines.size(), 1u);
  EXPECT_EQ(p.a_lines[0], ta + " ended at 0.000000 s in ESTABLISHED: ECONNRESET (reset): " +
                              p.a.connection(ca)->error().detail);
}

TEST(EndLog, UserTimeoutAfterThePeerVanishes) {
  LoggedPair p;
  tcp::TcpConfig cfg = config_for(kA).tcp;
  cfg.user_timeout = Duration::seconds(10);
  p.now = kT0 + Duration::seconds(5);
  const auto [ca, cb] = p.open(&cfg);
  (void)cb;
  ASSERT_EQ(p.a.connection(ca)->state(), State::kEstablished);
  const std::string ta = p.tuple_text(p.a, ca);
  p.cut = true;  // B vanishes: nothing reaches it or leaves it
  const Bytes data(100, 0x55);
  ASSERT_EQ(p.a.send(p.now, ca, data), data.size());
  p.run_to(kT0 + Duration::seconds(60));
  // docs/liveness.md, rfc profile (RFC 5482 §3): the user timeout runs
  // from when data goes out with nothing outstanding, at 105 s on A's
  // clock, so A gives up at 105 + 10 = 115 s: 15 s after the start (100 s).
  ASSERT_EQ(p.a_lines.size(), 1u);
  EXPECT_EQ(p.a_lines[0], ta + " ended at 15.000000 s in ESTABLISHED: ETIMEDOUT (user_timeout): " +
                              p.a.connection(ca)->error().detail);
  EXPECT_TRUE(p.b_lines.empty());
}

}  // namespace
}  // namespace vigil::stack
