// Liveness rules with exact schedules: keepalive (RFC 1122 §4.2.3.6), the
// liveness deadline, user timeout (RFC 5482 / TCP_USER_TIMEOUT), persist
// limits (RFC 1122 §4.2.2.17), the stall guard, and the RFC 2525 §2.10
// no-back-off bug knob. Times are derived in the comments from the rules.
#include <cerrno>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

constexpr int64_t kS = 1000;  // ms per second, for readability

tcp::TcpConfig keepalive_config(int64_t idle_s, int64_t intvl_s, uint32_t count) {
  tcp::TcpConfig c = plain_config();
  c.keepalive = true;
  c.keepalive_idle = Duration::seconds(idle_s);
  c.keepalive_interval = Duration::seconds(intvl_s);
  c.keepalive_count = count;
  return c;
}

std::vector<Instant> event_times(const Recorder& r, tcp::EventType t) {
  std::vector<Instant> v;
  for (const auto& e : r.events) {
    if (e.type == t) v.push_back(e.time);
  }
  return v;
}

// Runs the connection's timers forward until `end`, answering nothing.
std::vector<std::pair<Instant, Seg>> run_silent(Harness& h, Instant end) {
  std::vector<std::pair<Instant, Seg>> sent;
  for (int guard = 0; guard < 100000; ++guard) {
    const Instant t = h.conn().next_deadline();
    if (t > end) break;
    for (auto& s : h.fire(t)) sent.emplace_back(t, s);
    if (h.conn().state() == State::kClosed) break;
  }
  return sent;
}

TEST(Keepalive, DeadPeerRfcDefaultsProbesFrom7200sAbortAt7875s) {
  tcp::TcpConfig c = plain_config();
  c.keepalive = true;  // idle 7200 s, interval 75 s, count 9: the RFC 1122 defaults
  Harness h(c);
  h.to_established_active(at_ms(0));
  const auto sent = run_silent(h, at_ms(100000 * kS));
  // Probe k at 7200 + (k-1)*75 s; the ninth at 7800 s; RST at 7875 s.
  ASSERT_EQ(sent.size(), 10u);
  for (size_t k = 0; k < 9; ++k) {
    EXPECT_EQ(sent[k].first, at_ms((7200 + 75 * static_cast<int64_t>(k)) * kS))
        << "probe " << k + 1;
    EXPECT_EQ(sent[k].second.flags, fl::kAck);
    EXPECT_EQ(sent[k].second.seq, kIss);  // SND.NXT - 1
    EXPECT_EQ(sent[k].second.ack, kIrs + 1);
    EXPECT_TRUE(sent[k].second.data.empty());
  }
  EXPECT_EQ(sent[9].first, at_ms(7875 * kS));
  EXPECT_EQ(sent[9].second.flags, fl::kRst);
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kKeepalive);
  EXPECT_EQ(h.conn().error().time, at_ms(7875 * kS));
  EXPECT_EQ(h.conn().error().detail, "keepalive: 9 probes unanswered over 675.0 s");
  EXPECT_EQ(h.rec().count(tcp::EventType::kKeepaliveProbe), 9u);
}

TEST(Keepalive, AnsweredProbesGoOnForeverEachAfterAFullIdle) {
  Harness h(keepalive_config(10, 2, 3));
  h.to_established_active(at_ms(0));
  for (int round = 0; round < 50; ++round) {
    const Instant probe_at = at_ms((10 * kS + 5) * round + 10 * kS);
    EXPECT_EQ(h.conn().next_deadline(), probe_at) << round;
    auto out = h.fire(probe_at);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, kIss);
    // The peer answers 5 ms later; the next probe is a full idle after that.
    h.input(probe_at + Duration::millis(5), h.ack(kIss + 1));
  }
  EXPECT_EQ(h.conn().state(), State::kEstablished);
  EXPECT_EQ(h.rec().count(tcp::EventType::kKeepaliveAck), 50u);
}

TEST(Keepalive, PeersKeepaliveDoesNotRestartOurIdleClockButDataDoes) {
  Harness h(keepalive_config(100, 10, 3));
  h.to_established_active(at_ms(0));
  // A keepalive from the peer (SEG.SEQ = RCV.NXT - 1) is out of window: we
  // answer it, but it is not "heard" (Linux behaves the same).
  auto out = h.input(at_ms(50 * kS), h.ack(kIss + 1, 0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, kIrs + 1);
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kKeepalive), at_ms(100 * kS));
  // New data restarts it.
  h.input(at_ms(60 * kS), h.data(kIrs + 1, kIss + 1, 10));
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kKeepalive), at_ms(160 * kS));
  // So does a bare ACK that is acceptable.
  h.input(at_ms(70 * kS), h.ack(kIss + 1, 11));
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kKeepalive), at_ms(170 * kS));
}

TEST(Keepalive, ProbeCanCarryOneGarbageByte) {
  tcp::TcpConfig c = keepalive_config(10, 2, 3);
  c.keepalive_probe_bytes = 1;
  Harness h(c);
  h.to_established_active(at_ms(0));
  auto out = h.fire(at_ms(10 * kS));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss);
  EXPECT_EQ(out[0].data.size(), 1u);
}

TEST(Keepalive, NoProbeWhileDataIsOutstanding) {
  tcp::TcpConfig c = keepalive_config(10, 2, 3);
  c.liveness_deadline = false;
  c.retries_data = 100;
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(1), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(1));
  const auto sent = run_silent(h, at_ms(60 * kS));
  for (const auto& [t, s] : sent) {
    EXPECT_EQ(s.seq, kIss + 1) << "only retransmissions, no keepalive, at " << t.secs();
    EXPECT_EQ(s.data.size(), 10u);
  }
  EXPECT_EQ(h.rec().count(tcp::EventType::kKeepaliveProbe), 0u);
}

TEST(LivenessDeadline, RetransmissionCannotHideADeadPeer) {
  // Keepalive 60 s + 5 x 10 s: the peer must be heard from within 110 s.
  Harness h(keepalive_config(60, 10, 5));
  h.to_established_active(at_ms(0));
  // The peer vanished; at 30 s the application writes. Retransmissions at
  // 31, 33, 37, 45, 61, 93 s (RTO 1 s doubling) would go on for 663 s, but
  // the deadline says dead at 0 + 60 + 5*10 = 110 s.
  h.conn().send(at_ms(30 * kS), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(30 * kS));
  const auto sent = run_silent(h, at_ms(1000 * kS));
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().first, at_ms(110 * kS));
  EXPECT_EQ(sent.back().second.flags, fl::kRst);
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
  EXPECT_EQ(h.conn().error().time, at_ms(110 * kS));
  EXPECT_NE(h.conn().error().detail.find("liveness deadline: nothing heard for 110.0 s"),
            std::string::npos)
      << h.conn().error().detail;
  EXPECT_EQ(h.rec().count(tcp::EventType::kRetransmit), 6u);
}

TEST(LivenessDeadline, OffLetsRetransmissionRunToItsOwnLimit) {
  tcp::TcpConfig c = keepalive_config(60, 10, 5);
  c.liveness_deadline = false;  // as Linux
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(30 * kS), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(30 * kS));
  run_silent(h, at_ms(5000 * kS));
  // 15 retransmissions then failure 663 s after the first send (RFC 6298 schedule).
  EXPECT_EQ(h.conn().error().time, at_ms(693 * kS));
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
}

TEST(UserTimeout, RfcClockStartsWhenDataIsSent) {
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(3);
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(500), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(500));
  run_silent(h, at_ms(100 * kS));
  // Retransmission at 1.5 s, then the user timeout at 0.5 + 3 s, before the
  // 3.5 s retransmission.
  EXPECT_EQ(h.conn().error().time, at_ms(3500));
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
  EXPECT_EQ(h.conn().error().detail, "user timeout 3.0 s elapsed with data unacknowledged");
  EXPECT_EQ(h.rec().count(tcp::EventType::kRetransmit), 1u);
}

TEST(UserTimeout, ProgressRestartsTheClock) {
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(3);
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(3000, 1));
  h.drain(at_ms(0));
  h.input(at_ms(2000), h.ack(kIss + 1001));  // progress at 2 s
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout), at_ms(5000));
  h.input(at_ms(2500), h.ack(kIss + 3001));  // all acknowledged: stopped
  EXPECT_TRUE(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout).is_never());
}

TEST(UserTimeout, LinuxModeStartsAtTheFirstTimeoutRetransmission) {
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(3);
  c.user_timeout_from_first_rto = true;
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(500), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(500));
  EXPECT_TRUE(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout).is_never());
  h.fire(at_ms(1500));  // first timeout retransmission starts the clock
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout), at_ms(4500));
}

TEST(UserTimeout, BoundsUnansweredKeepalivesInsteadOfTheCount) {
  // Linux tcp_keepalive_timer: with a user timeout the count is ignored;
  // dead once silent >= user timeout with a probe out. Probes at 10, 15 s;
  // at 20 s silence = 20 s >= 20 s: RST and ETIMEDOUT.
  tcp::TcpConfig c = keepalive_config(10, 5, 9);
  c.user_timeout = Duration::seconds(20);
  c.liveness_deadline = false;
  Harness h(c);
  h.to_established_active(at_ms(0));
  const auto sent = run_silent(h, at_ms(1000 * kS));
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].first, at_ms(10 * kS));
  EXPECT_EQ(sent[1].first, at_ms(15 * kS));
  EXPECT_EQ(sent[2].first, at_ms(20 * kS));
  EXPECT_EQ(sent[2].second.flags, fl::kRst);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
}

TEST(Persist, UnansweredProbesAbortAfterR2AnsweredOnesNever) {
  for (bool answered : {false, true}) {
    Harness h;
    h.to_syn_sent(at_ms(0));
    Seg sa = h.syn_ack();
    sa.window = 0;
    h.input(at_ms(0), sa);
    h.conn().send(at_ms(0), std::vector<uint8_t>(100, 1));
    h.drain(at_ms(0));
    // Probes k = 1..15 at sum_{i<k} min(2^i, 60) s: 1, 3, 7, ..., 603 s.
    int64_t t = 0;
    for (int k = 1; k <= 40; ++k) {
      t += std::min<int64_t>(int64_t{1} << std::min(k - 1, 10), 60) * kS;
      if (!answered && k == 16) break;
      ASSERT_EQ(h.conn().next_deadline(), at_ms(t)) << "probe " << k;
      auto out = h.fire(at_ms(t));
      ASSERT_EQ(out.size(), 1u) << "probe " << k;
      EXPECT_EQ(out[0].seq, kIss + 1);
      EXPECT_EQ(out[0].data.size(), 1u);
      if (answered) {
        Seg a = h.ack(kIss + 1);
        a.window = 0;
        h.input(at_ms(t + 10), a);
        // The backed-off schedule continues from the probe times.
      }
    }
    if (answered) {
      EXPECT_EQ(h.conn().state(), State::kEstablished);  // MUST stay open
      EXPECT_EQ(h.rec().count(tcp::EventType::kZeroWindowProbeAck), 40u);
    } else {
      // The 16th expiry, at 663 s, finds 15 probes unanswered.
      h.fire(at_ms(t));
      EXPECT_EQ(t, 663 * kS);
      EXPECT_EQ(h.conn().state(), State::kClosed);
      EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kPersist);
      EXPECT_EQ(h.conn().error().detail, "persist: 15 zero-window probes unanswered over 662.0 s");
    }
  }
}

TEST(Persist, LinuxShapedProbeIsSndUnaMinusOneWithoutData) {
  tcp::TcpConfig c = plain_config();
  c.persist_probe = tcp::TcpConfig::PersistProbe::kSeqMinusOne;
  Harness h(c);
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 0;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), std::vector<uint8_t>(100, 1));
  h.drain(at_ms(0));
  auto out = h.fire(at_ms(1000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss);  // SND.UNA - 1
  EXPECT_TRUE(out[0].data.empty());
  EXPECT_EQ(out[0].flags, fl::kAck);
}

TEST(StallGuard, PureAckEveryPeriodRestartedByAnySegment) {
  tcp::TcpConfig c = plain_config();
  c.stall_guard_period = Duration::seconds(15);
  Harness h(c);
  h.to_established_active(at_ms(0));
  auto out = h.fire(at_ms(15 * kS));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_TRUE(out[0].data.empty());
  EXPECT_EQ(h.conn().next_deadline(), at_ms(30 * kS));
  // Even an out-of-window segment counts as "something arrived".
  h.input(at_ms(20 * kS), h.ack(kIss + 1, 0));
  EXPECT_EQ(h.conn().next_deadline(), at_ms(35 * kS));
  run_silent(h, at_ms(3600 * kS));
  EXPECT_EQ(h.conn().state(), State::kEstablished);  // never kills
  EXPECT_EQ(event_times(h.rec(), tcp::EventType::kStallGuardAck).size(), 1u + (3600 - 20) / 15);
}

TEST(Rfc2525Bug, NoRtoBackoffRetransmitsEverySecond) {
  tcp::TcpConfig c = plain_config();
  c.bug_no_rto_backoff = true;
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(0));
  run_silent(h, at_ms(100 * kS));
  const auto times = event_times(h.rec(), tcp::EventType::kRetransmit);
  ASSERT_EQ(times.size(), 15u);
  for (size_t i = 0; i < times.size(); ++i)
    EXPECT_EQ(times[i], at_ms((static_cast<int64_t>(i) + 1) * kS));
}

TEST(UserTimeoutOption, SentOnSynAndAdoptedPerRfc5482) {
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(30);
  c.user_timeout_option = true;
  c.user_timeout_lower = Duration::seconds(10);
  c.user_timeout_upper = Duration::seconds(600);
  {
    Harness h(c);
    h.conn().open_active(at_ms(0));
    auto out = h.drain(at_ms(0));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].opt.has_user_timeout);
    EXPECT_EQ(out[0].opt.user_timeout, 30);  // G = 0: seconds (RFC 5482 §4.1)
    // The peer asks for 5 minutes (G = 1, value 5): max(30 s, 300 s, 10 s),
    // capped at 600 s, gives 300 s.
    Seg sa = h.syn_ack();
    sa.opt.has_user_timeout = true;
    sa.opt.user_timeout = 0x8000 | 5;
    h.input(at_ms(1), sa);
    EXPECT_EQ(h.conn().user_timeout(), Duration::seconds(300));
  }
  {
    Harness h(c);
    h.conn().open_active(at_ms(0));
    h.drain(at_ms(0));
    Seg sa = h.syn_ack();
    sa.opt.has_user_timeout = true;
    sa.opt.user_timeout = 0x8000 | 100;  // 100 minutes: capped by U_LIMIT
    h.input(at_ms(1), sa);
    EXPECT_EQ(h.conn().user_timeout(), Duration::seconds(600));
  }
  {
    tcp::TcpConfig off = c;
    off.user_timeout_option = false;  // the default: neither sent nor adopted
    Harness h(off);
    h.conn().open_active(at_ms(0));
    auto out = h.drain(at_ms(0));
    EXPECT_FALSE(out[0].opt.has_user_timeout);
    Seg sa = h.syn_ack();
    sa.opt.has_user_timeout = true;
    sa.opt.user_timeout = 0x8000 | 5;
    h.input(at_ms(1), sa);
    EXPECT_EQ(h.conn().user_timeout(), Duration::seconds(30));
  }
}

}  // namespace
}  // namespace vigil::testing
