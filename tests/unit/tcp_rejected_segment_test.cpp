// The rule "a rejected segment changes no connection state" (RFC 5961,
// RFC 7323 §4.3, RFC 9293 §3.10.7), table-driven: every kind of segment a
// connection must reject, in every state, with timestamps on. The
// connection's state_digest() before and after must be equal; the only
// thing it may do is send one reply (an ACK echoing the old TS.Recent, or
// in SYN-SENT / SYN-RECEIVED the RST the RFC asks for). A genuine segment
// afterwards must still be taken: the timestamp-poisoning attack of issue 12
// (a bad-ACK segment with a TSval far ahead wedged every later segment in
// PAWS) fails here without the fix. Not in the table: a FIN retransmitted
// into TIME-WAIT, which RFC 9293 §3.10.7.4 answers and lets restart the
// 2 MSL timeout (StateTimers.RetransmittedFinRestartsTimeWait).
#include <cerrno>
#include <functional>
#include <string>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

// The peer's timestamp clock starts above 2^31, so TSval 0 is "newer" by
// RFC 7323's modular comparison: the "even TSval 0 did it once" case.
constexpr uint32_t kPeerTs = 0x9000'0000u;
constexpr uint32_t kFarAhead = kPeerTs + 0x4000'0000u;  // 2^30 ahead: newer, and absurd
constexpr uint32_t kWnd = 8000;                         // plain_config's receive buffer

tcp::TcpConfig ts_config() {
  tcp::TcpConfig c = plain_config();
  c.timestamps = true;
  return c;
}

Seg with_ts(Seg s, uint32_t tsval) {
  s.opt.has_timestamps = true;
  s.opt.ts_val = tsval;
  s.opt.ts_ecr = 0;  // no RTT sample from the peer's segments
  return s;
}

// Walks to each state with every peer segment carrying a timestamp; the
// peer's TSval is kPeerTs + n at its n-th segment, all at t = 0.
struct Walk {
  const char* name;
  std::function<void(Harness&)> go;
};

Seg seg_of(uint32_t seq, uint32_t ack, uint8_t f) {
  Seg s;
  s.seq = seq;
  s.ack = ack;
  s.flags = f;
  return s;
}

void syn_sent(Harness& h) { h.to_syn_sent(); }
void established(Harness& h) {
  h.to_syn_sent();
  Seg sa = with_ts(h.syn_ack(), kPeerTs);
  h.input(at_ms(0), sa);
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  ASSERT_TRUE(h.conn().timestamps_enabled());
}
void syn_received(Harness& h) {
  h.conn().open_passive(at_ms(0));
  Seg syn = with_ts(seg_of(kIrs, 0, fl::kSyn), kPeerTs);
  syn.opt.has_mss = true;
  syn.opt.mss = 1000;
  ASSERT_EQ(h.input(at_ms(0), syn).size(), 1u);
  ASSERT_EQ(h.conn().state(), State::kSynReceived);
}
void fin_wait1(Harness& h) {
  established(h);
  h.conn().close(at_ms(0));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 1u);
  ASSERT_EQ(h.conn().state(), State::kFinWait1);
}
void fin_wait2(Harness& h) {
  fin_wait1(h);
  h.input(at_ms(0), with_ts(h.ack(kIss + 2), kPeerTs + 1));
  ASSERT_EQ(h.conn().state(), State::kFinWait2);
}
void close_wait(Harness& h) {
  established(h);
  h.input(at_ms(0), with_ts(h.fin(kIrs + 1, kIss + 1), kPeerTs + 1));
  ASSERT_EQ(h.conn().state(), State::kCloseWait);
}
void last_ack(Harness& h) {
  close_wait(h);
  h.conn().close(at_ms(0));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 1u);
  ASSERT_EQ(h.conn().state(), State::kLastAck);
}
void closing(Harness& h) {
  fin_wait1(h);
  h.input(at_ms(0), with_ts(h.fin(kIrs + 1, kIss + 1), kPeerTs + 1));
  ASSERT_EQ(h.conn().state(), State::kClosing);
}
void time_wait(Harness& h) {
  fin_wait2(h);
  h.input(at_ms(0), with_ts(h.fin(kIrs + 1, kIss + 2), kPeerTs + 2));
  ASSERT_EQ(h.conn().state(), State::kTimeWait);
}

const std::vector<Walk>& walks() {
  static const std::vector<Walk> w = {
      {"SynSent", syn_sent},   {"SynReceived", syn_received}, {"Established", established},
      {"FinWait1", fin_wait1}, {"FinWait2", fin_wait2},       {"CloseWait", close_wait},
      {"Closing", closing},    {"LastAck", last_ack},         {"TimeWait", time_wait},
  };
  return w;
}

// Where the connection stands, for building segments relative to it.
struct Pos {
  uint32_t rcv_nxt, snd_una, snd_nxt, ts_recent;
};
Pos pos_of(const Harness& h) {
  auto& c = const_cast<Harness&>(h).conn();
  const auto d = c.state_digest();
  return {c.rcv_nxt(), c.snd_una(), static_cast<uint32_t>(d.value("snd_max")),
          static_cast<uint32_t>(d.value("ts_recent"))};
}

struct Kind {
  const char* name;
  bool for_syn_sent;  // SYN-SENT has its own checks (§3.10.7.3)
  std::function<Seg(const Pos&)> make;
};

std::vector<uint8_t> ten() { return std::vector<uint8_t>(10, 0x5a); }

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> k = {
      // --- synchronized states (SYN-RECEIVED onwards), §3.10.7.4 ---
      {"DataBeyondWindow", false,
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt + kWnd + 100, p.snd_nxt, fl::kAck), kFarAhead);
         s.data = ten();
         return s;
       }},
      {"DataBelowWindow", false,
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt - 20000, p.snd_nxt, fl::kAck), kFarAhead);
         s.data = ten();
         return s;
       }},
      {"AckBeyondWindow", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt + kWnd + 100, p.snd_nxt, fl::kAck), kFarAhead);
       }},
      {"AckAboveSndNxt", false,  // RFC 9293 §3.10.7.4 step 5, RFC 5961 §5.2
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt, p.snd_nxt + 1000, fl::kAck), kFarAhead);
         s.data = ten();
         return s;
       }},
      {"AckTooOld", false,  // RFC 5961 §5.2: below SND.UNA - MAX.SND.WND
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt, p.snd_una - 70000, fl::kAck), kFarAhead);
         s.data = ten();
         return s;
       }},
      {"NoAckFlag", false,  // §3.10.7.4: "if the ACK bit is off, drop the segment"
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt, 0, fl::kPsh), kFarAhead);
         s.data = ten();
         return s;
       }},
      {"NoAckFlagTsvalZero", false,
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt, 0, fl::kPsh), 0);
         s.data = ten();
         return s;
       }},
      {"AckAboveSndNxtTsvalZero", false,
       [](const Pos& p) { return with_ts(seg_of(p.rcv_nxt, p.snd_nxt + 1000, fl::kAck), 0); }},
      {"PawsOldTsval", false,  // RFC 7323 §5.3
       [](const Pos& p) {
         Seg s = with_ts(seg_of(p.rcv_nxt, p.snd_nxt, fl::kAck), p.ts_recent - 1);
         s.data = ten();
         return s;
       }},
      {"RstInWindowNotAtRcvNxt", false,  // RFC 5961 §3.2
       [](const Pos& p) { return with_ts(seg_of(p.rcv_nxt + 5, 0, fl::kRst), kFarAhead); }},
      {"RstAckInWindowNotAtRcvNxt", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt + 5, p.snd_nxt, fl::kRst | fl::kAck), kFarAhead);
       }},
      {"RstBeyondWindow", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt + kWnd + 100, 0, fl::kRst), kFarAhead);
       }},
      {"SynInWindow", false,  // RFC 5961 §4.2
       [](const Pos& p) { return with_ts(seg_of(p.rcv_nxt + 5, 0, fl::kSyn), kFarAhead); }},
      {"SynAckInWindow", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt + 5, p.snd_nxt, fl::kSyn | fl::kAck), kFarAhead);
       }},
      {"SynAtRcvNxt", false,  // passes RFC 7323 §4.3's SEG.SEQ <= Last.ACK.sent
       [](const Pos& p) { return with_ts(seg_of(p.rcv_nxt, 0, fl::kSyn), kFarAhead); }},
      {"SynAckAtRcvNxt", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt, p.snd_nxt, fl::kSyn | fl::kAck), kFarAhead);
       }},
      {"SynBeyondWindow", false,
       [](const Pos& p) {
         return with_ts(seg_of(p.rcv_nxt + kWnd + 100, 0, fl::kSyn), kFarAhead);
       }},
      {"SynFailingPaws", false,
       [](const Pos& p) { return with_ts(seg_of(p.rcv_nxt + 5, 0, fl::kSyn), p.ts_recent - 1); }},
      // --- SYN-SENT (§3.10.7.3, RFC 5961 §3.2) ---
      {"SynSentAckNotForOurSyn", true,
       [](const Pos&) { return with_ts(seg_of(kIrs, kIss, fl::kAck), kFarAhead); }},
      {"SynSentSynAckAboveSndNxt", true,
       [](const Pos&) { return with_ts(seg_of(kIrs, kIss + 5, fl::kSyn | fl::kAck), kFarAhead); }},
      {"SynSentRstWithoutAck", true,
       [](const Pos&) { return with_ts(seg_of(kIrs, 0, fl::kRst), kFarAhead); }},
      {"SynSentRstWrongAck", true,
       [](const Pos&) { return with_ts(seg_of(kIrs, kIss + 5, fl::kRst | fl::kAck), kFarAhead); }},
      {"SynSentAckWithoutSyn", true,
       [](const Pos&) { return with_ts(seg_of(kIrs, kIss + 1, fl::kAck), kFarAhead); }},
      {"SynSentNoFlags", true,
       [](const Pos&) {
         Seg s = with_ts(seg_of(kIrs, 0, 0), kFarAhead);
         s.data = ten();
         return s;
       }},
  };
  return k;
}

struct Case {
  size_t walk, kind;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  for (size_t w = 0; w < walks().size(); ++w) {
    const bool syn_sent_state = std::string(walks()[w].name) == "SynSent";
    for (size_t k = 0; k < kinds().size(); ++k) {
      if (kinds()[k].for_syn_sent == syn_sent_state) v.push_back({w, k});
    }
  }
  return v;
}

// Shown by GoogleTest instead of the case's bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << walks()[c.walk].name << " " << kinds()[c.kind].name;
}

class RejectedSegment : public ::testing::TestWithParam<Case> {};

TEST_P(RejectedSegment, ChangesNoStateAndLeavesTheConnectionWorking) {
  const Walk& walk = walks()[GetParam().walk];
  const Kind& kind = kinds()[GetParam().kind];
  Harness h(ts_config());
  walk.go(h);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const Pos p = pos_of(h);
  const State state = h.conn().state();
  const auto before = h.conn().state_digest();
  const auto dropped = h.conn().stats().segments_dropped;

  const auto out = h.input(at_ms(100), kind.make(p));
  const auto after = h.conn().state_digest();
  EXPECT_EQ(before, after) << "changed by a rejected segment:\n" << before.diff(after);
  EXPECT_EQ(h.conn().stats().segments_dropped, dropped + 1);
  // At most the one reply the RFCs ask for.
  ASSERT_LE(out.size(), 1u);
  if (!out.empty()) {
    if (out[0].flags & fl::kRst) {
      EXPECT_TRUE(state == State::kSynSent || state == State::kSynReceived)
          << "RST sent in " << tcp::state_name(state);
    } else {
      EXPECT_EQ(out[0].flags, fl::kAck);
      EXPECT_EQ(out[0].ack, p.rcv_nxt);
      EXPECT_EQ(out[0].seq, p.snd_nxt);
      ASSERT_TRUE(out[0].opt.has_timestamps);
      EXPECT_EQ(out[0].opt.ts_ecr, p.ts_recent);  // TS.Recent unchanged (RFC 7323 §4.3)
      EXPECT_EQ(out[0].opt.ts_val, 100u);         // our 1 ms clock from 0
    }
  }

  // A genuine segment afterwards is taken, and its timestamp becomes
  // TS.Recent: the connection is not wedged in PAWS.
  const uint32_t genuine_ts = kPeerTs + 10;
  if (state == State::kSynSent) {
    h.input(at_ms(200), with_ts(h.syn_ack(), genuine_ts));
    EXPECT_EQ(h.conn().state(), State::kEstablished);
  } else {
    // It acknowledges what the peer has had (our SYN in SYN-RECEIVED).
    const uint32_t ack_no = state == State::kSynReceived ? p.snd_nxt : p.snd_una;
    h.input(at_ms(200), with_ts(h.ack(ack_no, p.rcv_nxt - kIrs), genuine_ts));
    EXPECT_EQ(h.conn().stats().segments_dropped, dropped + 1);
    if (state == State::kSynReceived) {
      EXPECT_EQ(h.conn().state(), State::kEstablished);
    }
  }
  EXPECT_EQ(h.conn().state_digest().value("ts_recent"), genuine_ts);
}

INSTANTIATE_TEST_SUITE_P(EveryStateEveryKind, RejectedSegment, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(walks()[i.param.walk].name) + "_" +
                                  kinds()[i.param.kind].name;
                         });

// The attack of issue 12 hole 1, replayed: in-window segments with no ACK
// or an ACK above SND.NXT and a TSval 2^30 ahead (and 0), then the genuine
// peer's data. Before the fix the first set TS.Recent, and every genuine
// segment after it failed PAWS: the stream stalled for ever.
TEST(TimestampPoisoning, GenuineDataStillDeliveredAfterPoisonedSegments) {
  Harness h(ts_config());
  established(h);
  uint32_t seq = kIrs + 1;
  for (const uint32_t tsval : {kFarAhead, 0u}) {
    Seg no_ack = with_ts(seg_of(seq, 0, 0), tsval);
    no_ack.data = ten();
    h.input(at_ms(10), no_ack);
    Seg bad_ack = with_ts(seg_of(seq, kIss + 1 + 5000, fl::kAck), tsval);
    h.input(at_ms(10), bad_ack);
  }
  EXPECT_EQ(h.conn().state_digest().value("ts_recent"), kPeerTs);
  for (uint32_t i = 1; i <= 3; ++i) {
    const auto out = h.input(at_ms(20 * i), with_ts(h.data(seq, kIss + 1, 100), kPeerTs + i));
    seq += 100;
    EXPECT_EQ(h.conn().rcv_nxt(), seq) << "segment " << i;
    for (const auto& s : out) EXPECT_EQ(s.opt.ts_ecr, kPeerTs + i);
  }
  EXPECT_EQ(h.conn().stats().bytes_delivered, 300u);
  EXPECT_EQ(h.conn().recv_available(), 300u);
}

// RFC 7323 §5.2: timestamps compare modulo 2^32, so a peer clock wrapping
// past 0 keeps passing PAWS, and a TSval 2^31 behind fails it.
TEST(TimestampPoisoning, PawsComparesModulo2To32) {
  Harness h(ts_config());
  h.to_syn_sent();
  h.input(at_ms(0), with_ts(h.syn_ack(), 0xffff'fff0u));
  ASSERT_TRUE(h.conn().timestamps_enabled());
  h.input(at_ms(10), with_ts(h.data(kIrs + 1, kIss + 1, 10), 0x10u));  // wrapped: newer
  EXPECT_EQ(h.conn().rcv_nxt(), kIrs + 11);
  EXPECT_EQ(h.conn().state_digest().value("ts_recent"), 0x10);
  h.input(at_ms(20), with_ts(h.data(kIrs + 11, kIss + 1, 10), 0x10u + 0x8000'0001u));  // behind
  EXPECT_EQ(h.conn().rcv_nxt(), kIrs + 11);
  EXPECT_EQ(h.conn().stats().segments_dropped, 1u);
}

// --- Replies to out-of-window segments: Linux's tcp_invalid_ratelimit ---
// (challenge_ack_interval, 500 ms per connection, one clock shared with the
// RFC 5961 challenge ACKs, as Linux's tp->last_oow_ack_time). Segments with
// data and no SYN are always answered (tcp_oow_rate_limited: "not likely
// part of an ACK loop").

TEST(InvalidRateLimit, PureAcksOutsideTheWindowAnsweredOncePer500ms) {
  Harness h;
  h.to_established_active();
  Seg beyond = h.ack(kIss + 1, 1 + kWnd + 100);  // SEG.SEQ past RCV.NXT + RCV.WND
  auto out = h.input(at_ms(100), beyond);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kAck);
  EXPECT_EQ(out[0].ack, kIrs + 1);
  EXPECT_EQ(h.input(at_ms(599), beyond).size(), 0u);  // 499 ms later: suppressed
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 1u);
  EXPECT_EQ(h.input(at_ms(600), beyond).size(), 1u);  // 500 ms after the last reply
  EXPECT_EQ(h.input(at_ms(700), beyond).size(), 0u);
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 2u);
  EXPECT_EQ(h.conn().stats().segments_dropped, 4u);
}

TEST(InvalidRateLimit, DataOutsideTheWindowIsAlwaysAnswered) {
  Harness h;
  h.to_established_active();
  // An old retransmission (its ACK was lost): the sender needs the ACK.
  for (int t : {100, 101, 102}) {
    const auto out = h.input(at_ms(t), h.data(kIrs + 1 - 500, kIss + 1, 100));
    ASSERT_EQ(out.size(), 1u) << t;
    EXPECT_EQ(out[0].ack, kIrs + 1);
  }
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 0u);
}

TEST(InvalidRateLimit, SharesItsClockWithChallengeAcks) {
  Harness h;
  h.to_established_active();
  Seg rst = seg_of(kIrs + 100, 0, fl::kRst);  // in window, not at RCV.NXT: challenge
  EXPECT_EQ(h.input(at_ms(100), rst).size(), 1u);
  Seg beyond = h.ack(kIss + 1, 1 + kWnd + 100);
  EXPECT_EQ(h.input(at_ms(300), beyond).size(), 0u);  // 200 ms after the challenge ACK
  EXPECT_EQ(h.input(at_ms(600), beyond).size(), 1u);
  EXPECT_EQ(h.input(at_ms(601), rst).size(), 0u);
  EXPECT_EQ(h.conn().stats().challenge_acks_sent, 1u);
  EXPECT_EQ(h.conn().stats().challenge_acks_suppressed, 1u);
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 1u);
}

TEST(InvalidRateLimit, SynOutsideTheWindowGetsAChallengeAck) {
  // RFC 5961 §4.2 (any SYN in a synchronized state) and Linux's
  // tcp_validate_incoming (an out-of-window SYN goes to syn_challenge).
  Harness h;
  h.to_established_active();
  const auto out = h.input(at_ms(100), seg_of(kIrs + 1 + kWnd + 5000, 0, fl::kSyn));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].ack, kIrs + 1);
  EXPECT_EQ(h.conn().stats().challenge_acks_sent, 1u);
  EXPECT_EQ(h.rec().count(tcp::EventType::kChallengeAck), 1u);
  EXPECT_EQ(h.conn().state(), State::kEstablished);
}

TEST(InvalidRateLimit, LinuxZeroWindowProbeTwoGoesUnanswered) {
  // docs/linux-measurements.md row 7a / tests/data/linux-schedules.json
  // "zero_window_answered": Linux's probes (SEG.SEQ = SND.UNA - 1, no data)
  // at 0.220, 0.672, 1.572, 3.328, 6.852, 14.016, 28.096 s after the ACK
  // that closed the window; the receiver answered all but the one at 0.672,
  // 0.452 s after its last answer (TCPACKSkippedSeq). The same probes at the
  // same times into a closed vigil window (linux profile), t0 = 1 s here.
  tcp::TcpConfig cfg = tcp::TcpConfig::linux_profile();
  cfg.timestamps = false;
  cfg.sack = false;
  cfg.window_scaling = false;
  cfg.mss = 1000;
  cfg.recv_buffer = 4000;
  Harness h(cfg);
  h.to_established_active();
  for (uint32_t i = 0; i < 4; ++i) h.input(at_ms(500), h.data(kIrs + 1 + 1000 * i, kIss + 1, 1000));
  h.drain(at_ms(1000));
  ASSERT_EQ(h.conn().rcv_wnd(), 0u);
  const uint32_t rcv_nxt = kIrs + 1 + 4000;
  const std::vector<int> probe_ms = {220, 672, 1572, 3328, 6852, 14016, 28096};
  std::vector<bool> answered;
  for (int t : probe_ms) {
    const auto out = h.input(at_ms(1000 + t), h.ack(kIss + 1, rcv_nxt - 1 - kIrs));
    answered.push_back(!out.empty());
    if (!out.empty()) {
      EXPECT_EQ(out[0].window, 0u);
      EXPECT_EQ(out[0].ack, rcv_nxt);
    }
  }
  EXPECT_EQ(answered, (std::vector<bool>{true, false, true, true, true, true, true}));
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 1u);
}

}  // namespace
}  // namespace vigil::testing
