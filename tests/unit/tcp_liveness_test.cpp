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
  // Linux's tcp_send_active_reset(): RST|ACK, SEQ = SND.NXT, ACK = RCV.NXT
  // (measured: docs/linux-measurements.md scenario 1, "R.").
  EXPECT_EQ(sent[9].second.flags, fl::kRst | fl::kAck);
  EXPECT_EQ(sent[9].second.seq, kIss + 1);
  EXPECT_EQ(sent[9].second.ack, kIrs + 1);
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kKeepalive);
  EXPECT_EQ(h.conn().error().time, at_ms(7875 * kS));
  EXPECT_EQ(h.conn().error().detail, "keepalive: 9 probes unanswered over 675.0 s");
  EXPECT_EQ(h.rec().count(tcp::EventType::kKeepaliveProbe), 9u);
}

TEST(Keepalive, ProbesInFinWait2OnceOurFinIsAcknowledged) {
  // Found by `vigil sim fuzz --seeds 261`: after close() the FIN stayed
  // "queued" once acknowledged, so the keepalive timer took it for data
  // waiting to go and rescheduled itself for ever; the half-closed
  // connection outlived its dead peer. RFC 1122 §4.2.3.6 keeps probing in
  // FIN-WAIT-2 (Linux's tcp_keepalive_timer too, packets_out being 0).
  tcp::TcpConfig c = keepalive_config(60, 10, 3);
  c.liveness_deadline = false;  // keepalive's own verdict
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().close(at_ms(1000));
  h.drain(at_ms(1000));
  h.input(at_ms(1100), h.ack(kIss + 2));  // our FIN acknowledged: heard at 1.1 s
  ASSERT_EQ(h.conn().state(), State::kFinWait2);
  const auto sent = run_silent(h, at_ms(1000 * kS));
  // Probes at 1.1 + 60 + (k-1) * 10 s: 61.1, 71.1, 81.1 s; RST at 91.1 s.
  ASSERT_EQ(sent.size(), 4u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(sent[k].first, at_ms(61100 + 10000 * static_cast<int64_t>(k))) << "probe " << k + 1;
    EXPECT_EQ(sent[k].second.seq, kIss + 1);  // SND.NXT - 1, SND.NXT past our FIN
  }
  EXPECT_EQ(sent[3].second.flags, fl::kRst | fl::kAck);
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kKeepalive);
  EXPECT_EQ(h.conn().error().time, at_ms(91100));
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
  EXPECT_EQ(sent.back().second.flags, fl::kRst | fl::kAck);  // as Linux's active reset
  EXPECT_EQ(sent.back().second.ack, kIrs + 1);
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
  EXPECT_EQ(sent[2].second.flags, fl::kRst | fl::kAck);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
}

TEST(UserTimeout, RfcDataClockStopsWhenTheWindowClosesAnsweredProbesLiveOn) {
  // Found by `vigil sim fuzz --seeds 25235`: the data clock started when data
  // went out kept running through a zero window whose probes the peer
  // answered, and killed the connection user_timeout later. rfc bounds only
  // unanswered probes there (docs/liveness.md); an answered probe is the
  // peer acknowledging all it can take (RFC 1122 §4.2.2.17).
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(30);
  Harness h(c);
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 2000;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), std::vector<uint8_t>(3000, 1));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 2u);
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout), at_ms(30000));
  Seg a = h.ack(kIss + 1001);
  a.window = 0;  // took 1000 bytes, buffer full: the window closes
  h.input(at_ms(100), a);
  EXPECT_TRUE(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout).is_never());
  // Ten minutes of probes, each answered at once with the window still shut.
  int answered = 0;
  for (int guard = 0; guard < 1000; ++guard) {
    const Instant t = h.conn().next_deadline();
    if (t > at_ms(600 * kS)) break;
    for (const auto& s : h.fire(t)) {
      if (s.seq == kIss + 1001) {
        h.input(t, a);
        ++answered;
      }
    }
    ASSERT_EQ(h.conn().state(), State::kEstablished) << "at " << t.secs() << " s";
  }
  EXPECT_GE(answered, 10);
  EXPECT_EQ(h.conn().error().err, 0);
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

TEST(Persist, SwsOverrideSendArmsTheRetransmissionTimer) {
  // Found by `vigil sim fuzz --seeds 293`: data sent by the SWS override
  // (RFC 1122 §4.2.3.4) armed no timer, so when it was lost (there, the peer
  // vanished) nothing ever retransmitted it and the connection lived for
  // ever. RFC 6298 §5.1: every send of data starts the timer if it is off.
  Harness h;
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 2000;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), std::vector<uint8_t>(5000, 1));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 2u);  // 2 x 1000 bytes fill the window
  Seg a = h.ack(kIss + 2001);
  a.window = 300;  // below one MSS and below half the largest window (1000)
  h.input(at_ms(100), a);
  EXPECT_TRUE(h.drain(at_ms(100)).empty());  // held back by the sender's SWS rule
  // The override comes one RTO (1 s, the RFC 6298 floor) after the hold.
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kPersist), at_ms(1100));
  const auto out = h.fire(at_ms(1100));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss + 2001);
  EXPECT_EQ(out[0].data.size(), 300u);
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kRetransmit), at_ms(2100));
  // Unanswered, it is retransmitted until R2 (15 timeouts) ends the connection.
  const auto sent = run_silent(h, at_ms(100000 * kS));
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kRetransmission);
  EXPECT_EQ(sent.front().first, at_ms(2100));
  EXPECT_EQ(sent.front().second.seq, kIss + 2001);
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

// --- A user timeout replaces R2 for data (issue 9, point 1) ---

TEST(UserTimeout, ReplacesR2ForDataRfc) {
  // Seed 001: a user timeout longer than R2 keeps the connection trying.
  // RFC 5482 §3 makes it the time to give up; Linux's tcp_write_timeout()
  // uses it instead of tcp_retries2. Data at 0.5 s into silence:
  // retransmissions at 1.5, 3.5, 7.5, 15.5, 31.5, 63.5 s (RTO 1 s doubling)
  // then every 60 s (rto.max): R2 (15) would end it at 63.5 + 10 x 60 =
  // 663.5 s. With a 2000 s user timeout it ends at 0.5 + 2000 s, after
  // 6 + 32 retransmissions (the last at 63.5 + 32 x 60 = 1983.5 s).
  tcp::TcpConfig c = plain_config();
  c.user_timeout = Duration::seconds(2000);
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(500), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(500));
  run_silent(h, at_ms(10000 * kS));
  EXPECT_EQ(h.conn().error().time, at_ms(2000 * kS + 500));
  EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
  EXPECT_EQ(h.rec().count(tcp::EventType::kRetransmit), 38u);
}

TEST(UserTimeout, ReplacesR2ForDataLinux) {
  // linux: R2 is the time 15 timeouts take (here 1 s doubling to 60 s:
  // 663 s from the original send, 663.5 s); the user timeout starts at the
  // first RTO retransmission (1.5 s) and replaces it: death at 2001.5 s,
  // after the same 38 retransmissions (the 39th would be at 2043.5 s).
  tcp::TcpConfig c = plain_config();
  c.linux_retry_model = true;
  c.user_timeout_from_first_rto = true;
  c.user_timeout = Duration::seconds(2000);
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(500), std::vector<uint8_t>(10, 1));
  h.drain(at_ms(500));
  run_silent(h, at_ms(10000 * kS));
  EXPECT_EQ(h.conn().error().time, at_ms(2001 * kS + 500));
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
  EXPECT_EQ(h.rec().count(tcp::EventType::kRetransmit), 38u);
}

// --- The liveness deadline never ends a connection whose probes are
// answered (issue 9, point 2) ---

// A window-0 SYN-ACK, then 100 bytes waiting: only persist probes move.
void open_into_zero_window(Harness& h) {
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 0;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), std::vector<uint8_t>(100, 1));
  h.drain(at_ms(0));
}

TEST(LivenessDeadline, TenHoursOfAnsweredZeroWindowProbesThenTheDeadPeerDies) {
  // Keepalive 30 s + 3 x 5 s: the deadline is 45 s after the peer was last
  // heard. Probes back off 1, 2, 4 ... 32 s then 60 s (rto.max), so from the
  // 7th on they are further apart than 45 s. Every probe is answered 10 ms
  // later (RFC 1122 §4.2.2.17: the sender must stay open), so the deadline
  // must never fire. Probes at 1, 3, 7, 15, 31, 63 s, then 63 + 60 n s: 604
  // up to 10 h (63 + 598 x 60 = 35943 s).
  Harness h(keepalive_config(30, 5, 3));
  open_into_zero_window(h);
  int64_t answered = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    const Instant t = h.conn().next_deadline();
    if (t > at_ms(36000 * kS)) break;
    for (const auto& s : h.fire(t)) {
      ASSERT_EQ(s.data.size(), 1u) << t.secs();  // only zero-window probes go out
      Seg a = h.ack(kIss + 1);
      a.window = 0;
      h.input(t + Duration::millis(10), a);
      ++answered;
    }
    ASSERT_EQ(h.conn().state(), State::kEstablished) << t.secs() << " " << h.conn().error().detail;
  }
  EXPECT_EQ(answered, 604);
  EXPECT_EQ(h.rec().count(tcp::EventType::kZeroWindowProbeAck), 604u);
  // Now the peer dies. Last heard 35943.01 s; the deadline at 35988.01 s
  // finds no probe outstanding and looks again one interval after the next
  // probe (36003 s): at 36008 s that probe is unanswered. Dead, with RST|ACK.
  const auto sent = run_silent(h, at_ms(40000 * kS));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].first, at_ms(36003 * kS));
  EXPECT_EQ(sent[1].first, at_ms(36008 * kS));
  EXPECT_EQ(sent[1].second.flags, fl::kRst | fl::kAck);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kPersist);
  EXPECT_EQ(h.conn().error().time, at_ms(36008 * kS));
}

// --- linux: the user timeout bounds a zero window, answered or not
// (issue 9, point 8) ---

TEST(UserTimeout, LinuxBoundsTheZeroWindowEpisodeFromItsFirstProbe) {
  // Linux 5.11+ tcp_probe_timer: icsk_probes_tstamp is set at the first
  // probe and cleared only when the window opens; the probe timer is clamped
  // to it. Probes at 1, 3, 7, 15 s, all answered; user timeout 30 s from
  // the first probe: death at 31 s (the 31 s probe is never sent). rfc
  // (episode off): an answer stops the clock, so it lives on.
  for (bool episode : {true, false}) {
    tcp::TcpConfig c = plain_config();
    c.persist_probe = tcp::TcpConfig::PersistProbe::kSeqMinusOne;
    c.user_timeout = Duration::seconds(30);
    c.user_timeout_zero_window_episode = episode;
    Harness h(c);
    open_into_zero_window(h);
    for (int guard = 0; guard < 1000; ++guard) {
      const Instant t = h.conn().next_deadline();
      if (t > at_ms(300 * kS)) break;
      for (const auto& s : h.fire(t)) {
        EXPECT_EQ(s.seq, kIss);  // SND.UNA - 1
        Seg a = h.ack(kIss + 1);
        a.window = 0;
        h.input(t + Duration::millis(10), a);
      }
      if (h.conn().state() == State::kClosed) break;
    }
    if (episode) {
      EXPECT_EQ(h.conn().error().time, at_ms(31 * kS));
      EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
      EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kUserTimeout);
      EXPECT_EQ(h.rec().count(tcp::EventType::kZeroWindowProbe), 4u);
    } else {
      EXPECT_EQ(h.conn().state(), State::kEstablished);
    }
  }
}

TEST(UserTimeout, LinuxZeroWindowEpisodeEndsWhenTheWindowOpens) {
  tcp::TcpConfig c = plain_config();
  c.user_timeout_from_first_rto = true;  // as linux: sending data starts no clock
  c.persist_probe = tcp::TcpConfig::PersistProbe::kSeqMinusOne;
  c.user_timeout = Duration::seconds(30);
  c.user_timeout_zero_window_episode = true;
  Harness h(c);
  open_into_zero_window(h);
  h.fire(at_ms(1 * kS));  // first probe: the episode's clock starts
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout), at_ms(31 * kS));
  Seg a = h.ack(kIss + 1);
  a.window = 0;
  h.input(at_ms(1 * kS + 10), a);  // answered, window still 0: still timing
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout), at_ms(31 * kS));
  a.window = 1000;
  h.input(at_ms(2 * kS), a);  // the window opens: the episode is over
  EXPECT_TRUE(h.conn().timer_deadline(tcp::TimerKind::kUserTimeout).is_never());
}

// --- Orphans behind a zero window (issue 9, point 13) ---

TEST(Orphan, LinuxOrphanRetriesEndAZeroWindowAfterTheApplicationClosed) {
  // Linux tcp_probe_timer() for an orphan: "alive" while RTO << backoff is
  // below rto.max; tcp_orphan_retries 0 reads as 8 while alive, 0 once not.
  // RTO 1 s, rto.max 600 s: probes at 1, 3, 7, ..., 511 s (interval 2^k).
  // Unanswered: the 9th expiry (511 s) finds 8 out: dead after 8 probes,
  // where R2 would allow 15. Answered: the count never grows, but the
  // 11th expiry (1023 + 600 = 1623 s) finds backoff 10 (1024 s >= 600 s):
  // not alive, so dead after 10 probes even though all were answered.
  for (bool answered : {false, true}) {
    tcp::TcpConfig c = plain_config();
    c.rto_max = Duration::seconds(600);
    c.orphan_retries = 0;
    Harness h(c);
    open_into_zero_window(h);
    h.conn().orphan(at_ms(0));  // the application closes and lets go: an orphan
    uint32_t probes = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      const Instant t = h.conn().next_deadline();
      if (t > at_ms(10000 * kS)) break;
      for (const auto& s : h.fire(t)) {
        if (s.data.size() != 1) continue;
        ++probes;
        if (!answered) continue;
        Seg a = h.ack(kIss + 1);
        a.window = 0;
        h.input(t + Duration::millis(10), a);
      }
      if (h.conn().state() == State::kClosed) break;
    }
    EXPECT_EQ(probes, answered ? 10u : 8u);
    EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kOrphan);
    EXPECT_EQ(h.conn().error().err, ETIMEDOUT);
    EXPECT_EQ(h.conn().error().time, at_ms((answered ? 1623 : 511) * kS));
    // Without close() (not an orphan) the same probes go on: R2 or never.
  }
}

TEST(FinWait2, AHalfClosedConnectionThatStillReadsWaitsForEver) {
  // close() alone is a half-close (the application may still read): Linux
  // arms tcp_fin_timeout only for orphans, so neither does vigil.
  tcp::TcpConfig c = plain_config();
  c.fin_wait2_timeout = Duration::seconds(60);
  Harness h(c);
  h.to_established_active(at_ms(0));
  h.conn().close(at_ms(1000));
  h.drain(at_ms(1000));
  h.input(at_ms(1100), h.ack(kIss + 2));
  ASSERT_EQ(h.conn().state(), State::kFinWait2);
  EXPECT_TRUE(h.conn().timer_deadline(tcp::TimerKind::kFinWait2).is_never());
  h.conn().orphan(at_ms(5000));  // now it lets go: 60 s from here
  EXPECT_EQ(h.conn().timer_deadline(tcp::TimerKind::kFinWait2), at_ms(65000));
}

TEST(Orphan, RfcHasNoOrphanRule) {
  // RFC 9293 has no orphans: answered probes keep a closed-by-the-
  // application connection open (rfc default orphan_retries off).
  Harness h(plain_config());
  open_into_zero_window(h);
  h.conn().orphan(at_ms(0));
  for (int guard = 0; guard < 1000; ++guard) {
    const Instant t = h.conn().next_deadline();
    if (t > at_ms(5000 * kS)) break;
    for (const auto& s : h.fire(t)) {
      (void)s;
      Seg a = h.ack(kIss + 1);
      a.window = 0;
      h.input(t + Duration::millis(10), a);
    }
  }
  EXPECT_EQ(h.conn().state(), State::kFinWait1);
}

// --- FIN-WAIT-2 timeout (issue 9, point 13) ---

TEST(FinWait2, LinuxEndsItAfterTcpFinTimeoutRfcWaitsForEver) {
  for (bool linux_rule : {true, false}) {
    tcp::TcpConfig c = plain_config();
    if (linux_rule) c.fin_wait2_timeout = Duration::seconds(60);  // tcp_fin_timeout
    Harness h(c);
    h.to_established_active(at_ms(0));
    h.conn().orphan(at_ms(1000));  // Linux's close(): the timer is for orphans
    h.drain(at_ms(1000));
    h.input(at_ms(1100), h.ack(kIss + 2));  // our FIN acknowledged: FIN-WAIT-2
    ASSERT_EQ(h.conn().state(), State::kFinWait2);
    const auto sent = run_silent(h, at_ms(100000 * kS));
    EXPECT_TRUE(sent.empty());  // silently: no RST (Linux frees the socket)
    if (linux_rule) {
      EXPECT_EQ(h.conn().state(), State::kClosed);
      EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kFinWait2Timeout);
      EXPECT_EQ(h.conn().error().time, at_ms(61100));  // 1.1 s + 60 s
    } else {
      EXPECT_EQ(h.conn().state(), State::kFinWait2);
    }
  }
}

}  // namespace
}  // namespace vigil::testing
