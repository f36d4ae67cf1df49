// Table-driven tests of every RFC 9293 state transition and every RST rule
// (RFC 9293 §3.10.7, RFC 5961), with explicit timestamps. Each row names
// the rule it checks; expected segments are written from the RFC text.
#include <cerrno>
#include <functional>

#include "tcp/reset.hpp"
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

struct Expect {
  uint8_t flags;
  uint32_t seq;
  uint32_t ack;  // checked only when the ACK flag is expected
};

struct Row {
  const char* name;
  std::function<void(Harness&)> setup;
  std::function<std::vector<Seg>(Harness&)> act;  // runs at t = 10 ms
  State state;
  std::vector<Expect> out;
  int err = 0;
  tcp::CloseReason reason = tcp::CloseReason::kNone;
};

// Shown by GoogleTest when a row fails, instead of the row's bytes.
void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

const Instant kT = at_ms(10);

std::vector<Row> rows() {
  using H = Harness;
  auto seg = [](uint32_t seq, uint32_t ack, uint8_t f) {
    Seg s;
    s.seq = seq;
    s.ack = ack;
    s.flags = f;
    return s;
  };
  return {
      // --- Opening ---
      {"closed_open_active_sends_syn",
       [](H&) {},
       [](H& h) {
         h.conn().open_active(kT);
         return h.drain(kT);
       },
       State::kSynSent,
       {{fl::kSyn, kIss, 0}}},
      {"listen_syn_sends_syn_ack",
       [](H& h) { h.conn().open_passive(at_ms(0)); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, fl::kSyn)); },
       State::kSynReceived,
       {{fl::kSyn | fl::kAck, kIss, kIrs + 1}}},
      {"listen_rst_ignored",
       [](H& h) { h.conn().open_passive(at_ms(0)); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, fl::kRst)); },
       State::kListen,
       {}},
      {"listen_ack_gets_rst_seq_seg_ack",
       [](H& h) { h.conn().open_passive(at_ms(0)); },
       [=](H& h) { return h.input(kT, seg(kIrs, 777, fl::kAck)); },
       State::kListen,
       {{fl::kRst, 777, 0}}},
      {"listen_plain_segment_dropped",
       [](H& h) { h.conn().open_passive(at_ms(0)); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, 0)); },
       State::kListen,
       {}},
      {"syn_sent_syn_ack_established",
       [](H& h) { h.to_syn_sent(); },
       [](H& h) { return h.input(kT, h.syn_ack()); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"syn_sent_syn_simultaneous_open",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, fl::kSyn)); },
       State::kSynReceived,
       {{fl::kSyn | fl::kAck, kIss, kIrs + 1}}},
      // RFC 9293 figure 8 (simultaneous open), line 6: in SYN-RECEIVED the
      // peer's SYN,ACK repeats its SYN (old: SEQ = IRS) and acknowledges ours;
      // the acceptable ACK moves us to ESTABLISHED, and nothing more is sent.
      {"syn_received_simultaneous_syn_ack_established",
       [=](H& h) {
         h.to_syn_sent();
         h.input(at_ms(1), seg(kIrs, 0, fl::kSyn));
       },
       [](H& h) { return h.input(kT, h.syn_ack()); },
       State::kEstablished,
       {}},
      // ... and one whose ACK does not cover our SYN gets <SEQ=SEG.ACK><CTL=RST>
      // (§3.10.7.4 step 5, SYN-RECEIVED).
      {"syn_received_simultaneous_syn_ack_bad_ack_gets_rst",
       [=](H& h) {
         h.to_syn_sent();
         h.input(at_ms(1), seg(kIrs, 0, fl::kSyn));
       },
       [](H& h) { return h.input(kT, h.syn_ack(kIss + 7)); },
       State::kSynReceived,
       {{fl::kRst, kIss + 7, 0}}},
      // §3.10.7.4: an unacceptable segment in SYN-RECEIVED gets
      // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, not a second SYN,ACK.
      {"syn_received_unacceptable_segment_gets_ack",
       [](H& h) { h.to_syn_received(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1 + 20000, kIss + 1, fl::kAck)); },
       State::kSynReceived,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"syn_sent_rst_ack_refused",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(0, kIss + 1, fl::kRst | fl::kAck)); },
       State::kClosed,
       {},
       ECONNREFUSED,
       tcp::CloseReason::kRefused},
      {"syn_sent_rst_without_ack_ignored",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(0, 0, fl::kRst)); },
       State::kSynSent,
       {}},
      {"syn_sent_rst_with_wrong_ack_ignored",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(0, kIss + 7, fl::kRst | fl::kAck)); },
       State::kSynSent,
       {}},
      {"syn_sent_bad_ack_gets_rst",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(kIrs, kIss, fl::kSyn | fl::kAck)); },
       State::kSynSent,
       {{fl::kRst, kIss, 0}}},
      {"syn_sent_ack_beyond_snd_nxt_gets_rst",
       [](H& h) { h.to_syn_sent(); },
       [=](H& h) { return h.input(kT, seg(kIrs, kIss + 5, fl::kAck)); },
       State::kSynSent,
       {{fl::kRst, kIss + 5, 0}}},
      {"syn_received_ack_established",
       [](H& h) { h.to_syn_received(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 1)); },
       State::kEstablished,
       {}},
      {"syn_received_bad_ack_gets_rst",
       [](H& h) { h.to_syn_received(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 9)); },
       State::kSynReceived,
       {{fl::kRst, kIss + 9, 0}}},
      {"syn_received_passive_rst_closes_quietly",
       [](H& h) { h.to_syn_received(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1, 0, fl::kRst)); },
       State::kClosed,
       {}},
      {"syn_received_repeated_syn_resends_syn_ack",
       [](H& h) { h.to_syn_received(); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, fl::kSyn)); },
       State::kSynReceived,
       {{fl::kSyn | fl::kAck, kIss, kIrs + 1}}},
      // --- Closing ---
      {"established_fin_close_wait",
       [](H& h) { h.to_established_active(); },
       [](H& h) { return h.input(kT, h.fin(kIrs + 1, kIss + 1)); },
       State::kCloseWait,
       {{fl::kAck, kIss + 1, kIrs + 2}}},
      {"established_close_fin_wait1",
       [](H& h) { h.to_established_active(); },
       [](H& h) {
         h.conn().close(kT);
         return h.drain(kT);
       },
       State::kFinWait1,
       {{fl::kFin | fl::kAck, kIss + 1, kIrs + 1}}},
      {"fin_wait1_ack_of_fin_fin_wait2",
       [](H& h) { h.to_fin_wait1(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 2)); },
       State::kFinWait2,
       {}},
      {"fin_wait1_fin_closing",
       [](H& h) { h.to_fin_wait1(); },
       [](H& h) { return h.input(kT, h.fin(kIrs + 1, kIss + 1)); },
       State::kClosing,
       {{fl::kAck, kIss + 2, kIrs + 2}}},
      {"fin_wait1_fin_ack_time_wait",
       [](H& h) { h.to_fin_wait1(); },
       [](H& h) { return h.input(kT, h.fin(kIrs + 1, kIss + 2)); },
       State::kTimeWait,
       {{fl::kAck, kIss + 2, kIrs + 2}}},
      {"fin_wait2_fin_time_wait",
       [](H& h) { h.to_fin_wait2(); },
       [](H& h) { return h.input(kT, h.fin(kIrs + 1, kIss + 2)); },
       State::kTimeWait,
       {{fl::kAck, kIss + 2, kIrs + 2}}},
      {"closing_ack_time_wait",
       [](H& h) { h.to_closing(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 2, 2)); },
       State::kTimeWait,
       {}},
      {"close_wait_close_last_ack",
       [](H& h) { h.to_close_wait(); },
       [](H& h) {
         h.conn().close(kT);
         return h.drain(kT);
       },
       State::kLastAck,
       {{fl::kFin | fl::kAck, kIss + 1, kIrs + 2}}},
      {"last_ack_ack_closed",
       [](H& h) { h.to_last_ack(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 2, 2)); },
       State::kClosed,
       {}},
      {"time_wait_retransmitted_fin_acked",
       [](H& h) { h.to_time_wait(); },
       [](H& h) { return h.input(kT, h.fin(kIrs + 1, kIss + 2)); },
       State::kTimeWait,
       {{fl::kAck, kIss + 2, kIrs + 2}}},
      {"syn_sent_close_closed",
       [](H& h) { h.to_syn_sent(); },
       [](H& h) {
         h.conn().close(kT);
         return h.drain(kT);
       },
       State::kClosed,
       {}},
      {"listen_close_closed",
       [](H& h) { h.conn().open_passive(at_ms(0)); },
       [](H& h) {
         h.conn().close(kT);
         return h.drain(kT);
       },
       State::kClosed,
       {}},
      // --- RST rules (RFC 9293 §3.10.7.4 second step, RFC 5961 §3.2) ---
      {"established_rst_exact_resets",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1, 0, fl::kRst)); },
       State::kClosed,
       {},
       ECONNRESET,
       tcp::CloseReason::kReset},
      {"established_rst_in_window_challenge_ack",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 100, 0, fl::kRst)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_rst_out_of_window_ignored",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 100000, 0, fl::kRst)); },
       State::kEstablished,
       {}},
      {"established_rst_before_window_ignored",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs, 0, fl::kRst)); },
       State::kEstablished,
       {}},
      {"fin_wait2_rst_exact_resets",
       [](H& h) { h.to_fin_wait2(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1, 0, fl::kRst)); },
       State::kClosed,
       {},
       ECONNRESET,
       tcp::CloseReason::kReset},
      {"close_wait_rst_exact_resets",
       [](H& h) { h.to_close_wait(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 2, 0, fl::kRst)); },
       State::kClosed,
       {},
       ECONNRESET,
       tcp::CloseReason::kReset},
      {"closing_rst_closes_without_error",
       [](H& h) { h.to_closing(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 2, 0, fl::kRst)); },
       State::kClosed,
       {}},
      {"last_ack_rst_closes_without_error",
       [](H& h) { h.to_last_ack(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 2, 0, fl::kRst)); },
       State::kClosed,
       {}},
      {"time_wait_rst_closes",
       [](H& h) { h.to_time_wait(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 2, 0, fl::kRst)); },
       State::kClosed,
       {}},
      // --- SYN and ACK checks (RFC 5961 §4.2, §5.2) ---
      {"established_syn_challenge_ack",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1, 0, fl::kSyn)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_ack_of_unsent_data_acked_and_dropped",
       [](H& h) { h.to_established_active(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 500)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_segment_out_of_window_gets_ack",
       [](H& h) { h.to_established_active(); },
       [](H& h) { return h.input(kT, h.data(kIrs + 50000, kIss + 1, 10)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_old_duplicate_gets_ack",
       [](H& h) { h.to_established_active(); },
       [](H& h) { return h.input(kT, h.data(kIrs - 20, kIss + 1, 10)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_keepalive_shaped_probe_gets_ack",
       [](H& h) { h.to_established_active(); },
       [](H& h) { return h.input(kT, h.ack(kIss + 1, 0)); },
       State::kEstablished,
       {{fl::kAck, kIss + 1, kIrs + 1}}},
      {"established_segment_without_ack_dropped",
       [](H& h) { h.to_established_active(); },
       [=](H& h) { return h.input(kT, seg(kIrs + 1, 0, 0)); },
       State::kEstablished,
       {}},
      // --- ABORT (RFC 9293 §3.10.5) ---
      {"established_abort_sends_rst",
       [](H& h) { h.to_established_active(); },
       [](H& h) {
         h.conn().abort(kT);
         return h.drain(kT);
       },
       State::kClosed,
       // Linux tcp_send_active_reset: RST|ACK, SEG.ACK = RCV.NXT.
       {{fl::kRst | fl::kAck, kIss + 1, kIrs + 1}}},
      {"syn_sent_abort_silent",
       [](H& h) { h.to_syn_sent(); },
       [](H& h) {
         h.conn().abort(kT);
         return h.drain(kT);
       },
       State::kClosed,
       {}},
  };
}

class StateTransition : public ::testing::TestWithParam<Row> {};

TEST_P(StateTransition, FollowsRfc9293) {
  const Row& row = GetParam();
  Harness h;
  row.setup(h);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const auto out = row.act(h);
  EXPECT_EQ(h.conn().state(), row.state) << "state is " << tcp::state_name(h.conn().state());
  ASSERT_EQ(out.size(), row.out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].flags, row.out[i].flags)
        << "segment " << i << " flags " << wire::flags_to_string(out[i].flags);
    EXPECT_EQ(out[i].seq, row.out[i].seq) << "segment " << i;
    if (row.out[i].flags & fl::kAck) {
      EXPECT_EQ(out[i].ack, row.out[i].ack) << "segment " << i;
    }
  }
  EXPECT_EQ(h.conn().error().err, row.err);
  EXPECT_EQ(h.conn().error().reason, row.reason);
}

INSTANTIATE_TEST_SUITE_P(Rfc9293, StateTransition, ::testing::ValuesIn(rows()),
                         [](const ::testing::TestParamInfo<Row>& p) {
                           return std::string(p.param.name);
                         });

TEST(StateTimers, TimeWaitLastsExactlyTwoMsl) {
  Harness h;
  h.to_time_wait(at_ms(0));
  // RFC 9293 §3.4.2: 2*MSL; the rfc profile's MSL is 60 s here.
  const Duration two_msl = h.conn().config().msl * 2;
  EXPECT_EQ(h.conn().next_deadline(), at_ms(0) + two_msl);
  h.fire(at_ms(0) + two_msl - Duration::nanos(1));
  EXPECT_EQ(h.conn().state(), State::kTimeWait);
  h.fire(at_ms(0) + two_msl);
  EXPECT_EQ(h.conn().state(), State::kClosed);
}

TEST(StateTimers, RetransmittedFinRestartsTimeWait) {
  Harness h;
  h.to_time_wait(at_ms(0));
  h.input(at_ms(30000), h.fin(kIrs + 1, kIss + 2));
  EXPECT_EQ(h.conn().next_deadline(), at_ms(30000) + h.conn().config().msl * 2);
}

TEST(ChallengeAck, RateLimitedPerInterval) {
  Harness h;
  h.to_established_active();
  Seg rst;
  rst.seq = kIrs + 100;
  rst.flags = fl::kRst;
  EXPECT_EQ(h.input(at_ms(100), rst).size(), 1u);
  // Within 500 ms (RFC 5961 §7 rate limit): suppressed.
  EXPECT_EQ(h.input(at_ms(599), rst).size(), 0u);
  EXPECT_EQ(h.conn().stats().challenge_acks_suppressed, 1u);
  EXPECT_EQ(h.input(at_ms(600), rst).size(), 1u);
  EXPECT_EQ(h.conn().stats().challenge_acks_sent, 2u);
  EXPECT_EQ(h.conn().state(), State::kEstablished);
}

// RFC 9293 §3.10.7.1: replies for segments that reach no connection.
TEST(ClosedPortReset, SynGetsRstAckForSeqPlusLen) {
  std::vector<uint8_t> in(100), out(100);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, 0, 0, 2);
  ip.dst = wire::Ipv4Addr::of(10, 0, 0, 1);
  wire::TcpFields t;
  t.src_port = 2000;
  t.dst_port = 81;
  t.seq = 0xfffffff0;
  t.flags = fl::kSyn;
  const size_t n = wire::build_ipv4_tcp(in, ip, t, {});
  wire::PacketView pkt;
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(in.data(), n), &pkt), wire::Drop::kNone);
  const size_t m = tcp::build_reset_reply(out, pkt.ip, pkt.tcp);
  wire::PacketView rep;
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(out.data(), m), &rep), wire::Drop::kNone);
  EXPECT_EQ(rep.tcp.flags(), fl::kRst | fl::kAck);
  EXPECT_EQ(rep.tcp.seq(), 0u);
  EXPECT_EQ(rep.tcp.ack(), 0xfffffff1u);  // SEG.SEQ + SEG.LEN, SYN counts one
  EXPECT_EQ(rep.ip.src(), ip.dst);
  EXPECT_EQ(rep.tcp.src_port(), 81);
  EXPECT_EQ(rep.tcp.dst_port(), 2000);
}

TEST(ClosedPortReset, AckGetsRstWithSeqSegAckAndRstGetsNothing) {
  std::vector<uint8_t> in(100), out(100);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, 0, 0, 2);
  ip.dst = wire::Ipv4Addr::of(10, 0, 0, 1);
  wire::TcpFields t;
  t.src_port = 2000;
  t.dst_port = 81;
  t.seq = 100;
  t.ack = 4242;
  t.flags = fl::kAck | fl::kFin;
  std::vector<uint8_t> payload(10, 1);
  size_t n = wire::build_ipv4_tcp(in, ip, t, {}, payload);
  wire::PacketView pkt;
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(in.data(), n), &pkt), wire::Drop::kNone);
  size_t m = tcp::build_reset_reply(out, pkt.ip, pkt.tcp);
  wire::PacketView rep;
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(out.data(), m), &rep), wire::Drop::kNone);
  EXPECT_EQ(rep.tcp.flags(), fl::kRst);
  EXPECT_EQ(rep.tcp.seq(), 4242u);

  t.flags = fl::kRst | fl::kAck;
  n = wire::build_ipv4_tcp(in, ip, t, {});
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(in.data(), n), &pkt), wire::Drop::kNone);
  EXPECT_EQ(tcp::build_reset_reply(out, pkt.ip, pkt.tcp), 0u);

  // Data without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN> with FIN counted.
  t.flags = fl::kFin;
  n = wire::build_ipv4_tcp(in, ip, t, {}, payload);
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(in.data(), n), &pkt), wire::Drop::kNone);
  m = tcp::build_reset_reply(out, pkt.ip, pkt.tcp);
  ASSERT_EQ(wire::parse_packet(std::span<const uint8_t>(out.data(), m), &rep), wire::Drop::kNone);
  EXPECT_EQ(rep.tcp.flags(), fl::kRst | fl::kAck);
  EXPECT_EQ(rep.tcp.ack(), 100u + 10u + 1u);
}

}  // namespace
}  // namespace vigil::testing
