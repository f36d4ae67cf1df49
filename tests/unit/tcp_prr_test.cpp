// RFC 6937 Proportional Rate Reduction (PRR-SSRB) during RFC 6675 recovery,
// a scripted ACK sequence with every number derived by hand from the RFC's
// §3 pseudo-code:
//
//   at the start:  ssthresh = CongCtrlAlg(); prr_delivered = prr_out = 0;
//                  RecoverFS = snd.nxt - snd.una
//   on every ACK:  DeliveredData = change_in(snd.una) + change_in(SACKd)
//                  prr_delivered += DeliveredData
//                  if (pipe > ssthresh)
//                    sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
//                  else  // PRR-SSRB
//                    sndcnt = MIN(ssthresh - pipe,
//                                 MAX(prr_delivered - prr_out, DeliveredData) + MSS)
//   on any send:   prr_out += data sent
//
// and cwnd = pipe + sndcnt after each ACK (Linux tcp_cwnd_reduction), so
// whole segments go while pipe < cwnd. MSS 1000, no timestamps; sequence
// numbers relative to kIss (byte 1 is kIss + 1).
#include <numeric>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

uint32_t rel(uint32_t x) { return kIss + x; }

tcp::TcpConfig prr_config(bool prr) {
  tcp::TcpConfig cfg = plain_config();
  cfg.sack = true;
  cfg.initial_window_segments = 20;
  cfg.loss_recovery = tcp::TcpConfig::LossRecovery::kSack;
  cfg.prr = prr;
  cfg.limited_transmit = false;  // the tables below leave RFC 3042 out
  return cfg;
}

// What one scripted ACK should leave behind.
struct Step {
  uint32_t cwnd;      // after the ACK: pipe + sndcnt
  uint32_t pipe;      // RFC 6675 SetPipe() after the segments it released
  uint32_t sent_seq;  // relative sequence number of the one segment sent, 0: none
};

// The RFC's first example (§3.1: a single loss, cwnd = FlightSize = 20
// segments, ssthresh = 10) without limited transmit (knob off; see
// LimitedTransmit.* in tcp_limited_transmit_test.cpp): 20 segments 1..20 out, the first lost, each
// of the other 19 arrives and draws a duplicate ACK of 1 SACKing 1001..(k*1000 + 1).
TEST(Prr, SingleLossSpreadsTheReductionOverTheRoundTrip) {
  Harness h(prr_config(true));
  h.to_established_with_sack(at_ms(0));
  std::vector<uint8_t> data(40000);
  std::iota(data.begin(), data.end(), uint8_t{0});
  h.conn().send(at_ms(0), data);
  ASSERT_EQ(h.drain(at_ms(0)).size(), 20u);

  // Dup ACKs 1 and 2 (1000 and 2000 bytes SACKed, one range): neither
  // DupThresh nor IsLost(1) (needs more than 2000 bytes); nothing changes.
  for (uint32_t k = 2; k <= 3; ++k) {
    Seg a = h.ack(rel(1));
    a.opt.sack[a.opt.sack_count++] = {rel(1001), rel(k * 1000 + 1)};
    EXPECT_TRUE(h.input(at_ms(10 + k), a).empty());
    EXPECT_EQ(h.conn().cwnd(), 20000u);
  }

  // Dup ACK 3 (SACKed 1001..4001) starts recovery: ssthresh = max(FlightSize
  // / 2, 2 SMSS) = 10000, RecoverFS = 20000. DeliveredData = 3000 - 2000 =
  // 1000 (SACKd grew), prr_delivered = 1000. pipe = 16000 (1..1000 is lost,
  // 4001..20001 in flight) > ssthresh, so sndcnt = CEIL(1000 * 10000 /
  // 20000) - 0 = 500 and cwnd = 16500. The fast retransmission of 1 goes
  // whatever sndcnt says (RFC 6675 step 4.3): prr_out = 1000, pipe 17000.
  //
  // From here each ACK SACKs 1000 more (DeliveredData 1000) and takes one
  // segment out of pipe. While pipe > ssthresh, sndcnt = CEIL(prr_delivered
  // / 2) - prr_out: one new segment every second ACK (the RFC's table shows
  // the same rhythm), cwnd - pipe < 1000 on the others:
  //   ack  pd     pipe  target  prr_out  sndcnt  cwnd   sent  pipe after
  //   4    2000   16000 1000    1000     0       16000  -     16000
  //   5    3000   15000 1500    1000     500     15500  -     15000
  //   6    4000   14000 2000    1000     1000    15000  21    15000
  //   7    5000   14000 2500    2000     500     14500  -     14000
  //   8    6000   13000 3000    2000     1000    14000  22    14000
  //   9    7000   13000 3500    3000     500     13500  -     13000
  //   10   8000   12000 4000    3000     1000    13000  23    13000
  //   11   9000   12000 4500    4000     500     12500  -     12000
  //   12   10000  11000 5000    4000     1000    12000  24    12000
  //   13   11000  11000 5500    5000     500     11500  -     11000
  // At ACK 14 pipe = 10000 is no longer above ssthresh: PRR-SSRB, limit =
  // MAX(12000 - 5000, 1000) + 1000 = 8000, sndcnt = MIN(10000 - 10000, 8000)
  // = 0, cwnd = 10000. From ACK 15 on pipe = 9000 before sending: sndcnt =
  // MIN(1000, MAX(pd - prr_out, 1000) + 1000) = 1000, cwnd = 10000, one
  // segment per ACK holds pipe at ssthresh (the RFC's "s" rows).
  const Step want[] = {
      {16500, 17000, 1},                                                    // 3
      {16000, 16000, 0},     {15500, 15000, 0},     {15000, 15000, 20001},  // 4-6
      {14500, 14000, 0},     {14000, 14000, 21001}, {13500, 13000, 0},      // 7-9
      {13000, 13000, 22001}, {12500, 12000, 0},     {12000, 12000, 23001},  // 10-12
      {11500, 11000, 0},     {10000, 10000, 0},     {10000, 10000, 24001},  // 13-15
      {10000, 10000, 25001}, {10000, 10000, 26001}, {10000, 10000, 27001},  // 16-18
      {10000, 10000, 28001},                                                // 19
  };
  uint32_t dup = 3;
  for (const Step& w : want) {
    Seg a = h.ack(rel(1));
    a.opt.sack[a.opt.sack_count++] = {rel(1001), rel((dup + 1) * 1000 + 1)};
    const auto out = h.input(at_ms(10 + dup + 1), a);
    SCOPED_TRACE("duplicate ACK " + std::to_string(dup));
    EXPECT_TRUE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().ssthresh(), 10000u);
    EXPECT_EQ(h.conn().cwnd(), w.cwnd);
    EXPECT_EQ(h.conn().pipe(), w.pipe);
    if (w.sent_seq == 0) {
      EXPECT_TRUE(out.empty());
    } else {
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].seq, rel(w.sent_seq));
      EXPECT_EQ(out[0].data.size(), 1000u);
    }
    ++dup;
  }
  // Ten segments sent in the round trip (the retransmission and 21..29):
  // prr_out = 10000 = ssthresh, as the RFC's "same total amount of data"
  // note says. The retransmission arrives: ACK 20001 reaches RecoveryPoint
  // (20001) and recovery ends with cwnd = ssthresh = 10000; 9000 bytes are
  // in flight, so one more segment goes.
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 1u);
  const auto out = h.input(at_ms(40), h.ack(rel(20001)));
  EXPECT_FALSE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().cwnd(), 10000u);
  EXPECT_EQ(h.conn().ssthresh(), 10000u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(29001));
}

// Without PRR the same ACKs leave cwnd at ssthresh = 10000 from the third
// duplicate on (RFC 6675 §5 step 4.2): the first half of the round trip
// sends nothing at all (pipe 17000 .. 10000 is not below cwnd), the RFC's
// "half-silent window"; then one segment per ACK.
TEST(Prr, OffKeepsRfc6675HalfSilentWindow) {
  Harness h(prr_config(false));
  h.to_established_with_sack(at_ms(0));
  std::vector<uint8_t> data(40000);
  h.conn().send(at_ms(0), data);
  ASSERT_EQ(h.drain(at_ms(0)).size(), 20u);
  std::vector<size_t> sent;
  for (uint32_t k = 2; k <= 20; ++k) {
    Seg a = h.ack(rel(1));
    a.opt.sack[a.opt.sack_count++] = {rel(1001), rel(k * 1000 + 1)};
    sent.push_back(h.input(at_ms(10 + k), a).size());
    if (k >= 4) {
      EXPECT_EQ(h.conn().cwnd(), 10000u);
    }
  }
  // Dup ACK 3: the fast retransmission; pipe falls from 17000 by 1000 per
  // ACK and reaches 9000 < cwnd at ACK 11 (SACKed 1001..12001: pipe =
  // 1000 resent + 8000 in flight): from then one new segment per ACK.
  const std::vector<size_t> want = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(sent, want);
}

}  // namespace
}  // namespace vigil::testing
