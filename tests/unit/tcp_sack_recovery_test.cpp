// Sender-side SACK loss recovery (RFC 6675), hand-computed. MSS 1000, no
// timestamps; sequence numbers written relative to kIss (byte 1 is kIss+1).
#include <numeric>

#include "tcp/sack_scoreboard.hpp"
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

using tcp::SackScoreboard;

std::vector<uint8_t> bytes(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t{0});
  return v;
}

uint32_t rel(uint32_t x) { return kIss + x; }

tcp::TcpConfig sack_config(tcp::TcpConfig::LossRecovery mode) {
  tcp::TcpConfig cfg = plain_config();
  cfg.sack = true;
  cfg.initial_window_segments = 10;
  cfg.loss_recovery = mode;
  // RFC 3042's new segments on duplicates 1 and 2 would shift every pipe
  // figure below; LimitedTransmit.* (tcp_limited_transmit_test.cpp) has them.
  cfg.limited_transmit = false;
  return cfg;
}

// Established with SACK permitted both ways; `n` bytes queued, the first
// `expect_segments` segments sent at t=0.
void start(Harness& h, size_t n, size_t expect_segments) {
  h.to_established_with_sack(at_ms(0));
  h.conn().send(at_ms(0), bytes(n));
  ASSERT_EQ(h.drain(at_ms(0)).size(), expect_segments);
}

// An ACK of `ack` (relative) with SACK blocks (relative, most recent first).
Seg sack_ack(const Harness& h, uint32_t ack,
             std::initializer_list<std::pair<uint32_t, uint32_t>> b) {
  Seg s = h.ack(rel(ack));
  for (const auto& [l, r] : b) s.opt.sack[s.opt.sack_count++] = {rel(l), rel(r)};
  return s;
}

// ---------- The scoreboard alone ----------

TEST(SackScoreboard, MergesAdjacentAndOverlappingBlocks) {
  SackScoreboard sb;
  const wire::SackBlock b1[] = {{3000, 4000}, {1000, 2000}};
  EXPECT_TRUE(sb.update(0, 10000, b1, 2));
  ASSERT_EQ(sb.size(), 2u);
  const wire::SackBlock b2[] = {{2000, 3000}};  // fills the gap: one range
  EXPECT_TRUE(sb.update(0, 10000, b2, 1));
  ASSERT_EQ(sb.size(), 1u);
  EXPECT_EQ(sb.range(0).left, 1000u);
  EXPECT_EQ(sb.range(0).right, 4000u);
  EXPECT_FALSE(sb.update(0, 10000, b1, 2));  // nothing new
  // The cumulative ACK moves into the range: it is trimmed.
  EXPECT_FALSE(sb.update(2500, 10000, nullptr, 0));
  EXPECT_EQ(sb.range(0).left, 2500u);
  EXPECT_EQ(sb.sacked_bytes(0, 10000), 1500u);
}

TEST(SackScoreboard, BoundedMemoryCountsWhatDoesNotFit) {
  SackScoreboard sb;
  for (uint32_t i = 0; i < SackScoreboard::kMaxRanges + 8; ++i) {
    const wire::SackBlock b{100 + 10 * i, 105 + 10 * i};
    sb.update(0, 100000, &b, 1);
  }
  EXPECT_EQ(sb.size(), SackScoreboard::kMaxRanges);
  EXPECT_EQ(sb.dropped_ranges(), 8u);
}

TEST(SackScoreboard, IsLostThresholds) {
  // RFC 6675 §4 IsLost: more than (DupThresh - 1) * SMSS = 2000 bytes, or
  // DupThresh = 3 discontiguous ranges, SACKed above the sequence number.
  SackScoreboard sb;
  const wire::SackBlock two_mss[] = {{1000, 3000}};
  sb.update(0, 10000, two_mss, 1);
  EXPECT_FALSE(sb.is_lost(0, 1000));  // exactly 2000 bytes
  const wire::SackBlock one_more[] = {{3000, 3001}};
  sb.update(0, 10000, one_more, 1);
  EXPECT_TRUE(sb.is_lost(0, 1000));  // 2001 bytes
  SackScoreboard small;
  const wire::SackBlock three[] = {{10, 11}, {20, 21}, {30, 31}};
  small.update(0, 10000, three, 2);
  EXPECT_FALSE(small.is_lost(0, 1000));  // two ranges, two bytes
  small.update(0, 10000, three + 2, 1);
  EXPECT_TRUE(small.is_lost(0, 1000));  // three discontiguous ranges
  EXPECT_FALSE(small.is_lost(25, 1000));
}

// ---------- Recovery in the connection ----------

// Ten segments out, the 1st (bytes 1..1000) and 3rd (2001..3000) lost, the
// rest arrive and each draws an ACK of 1 with SACK blocks. Returns the
// segments sent after each of the eight ACKs.
std::vector<std::vector<Seg>> two_holes(Harness& h, std::vector<uint32_t>* pipes = nullptr) {
  std::vector<std::vector<Seg>> sent;
  sent.push_back(h.input(at_ms(10), sack_ack(h, 1, {{1001, 2001}})));
  if (pipes) pipes->push_back(h.conn().pipe());
  for (uint32_t k = 4; k <= 10; ++k) {  // segments 4..10 arrive: 3001..k*1000
    sent.push_back(h.input(at_ms(10 + k), sack_ack(h, 1, {{3001, k * 1000 + 1}, {1001, 2001}})));
    if (pipes) pipes->push_back(h.conn().pipe());
  }
  return sent;
}

TEST(SackRecovery, TwoHolesInOneWindowBothResentWithinOneRoundTrip) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kSack));
  start(h, 12000, 10);
  std::vector<uint32_t> pipe;
  const auto sent = two_holes(h, &pipe);
  // Dup ACKs 1 and 2 (SACKed 1001..2001, 3001..4001: 2 ranges, 2000 bytes):
  // not yet IsLost(1), nothing sent.
  EXPECT_TRUE(sent[0].empty());
  EXPECT_TRUE(sent[1].empty());
  // Dup ACK 3 (3001..5001): recovery. FlightSize 10000, so ssthresh =
  // cwnd = 5000 (§5 step 4.2), and the segment at 1 goes at once (4.3).
  ASSERT_EQ(sent[2].size(), 1u);
  EXPECT_EQ(sent[2][0].seq, rel(1));
  EXPECT_EQ(sent[2][0].data.size(), 1000u);
  EXPECT_EQ(h.conn().ssthresh(), 5000u);
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  EXPECT_TRUE(h.conn().in_recovery());
  // SetPipe after it: hole 1..1001 lost but resent (1000), hole 2001..3001
  // not lost (2000 SACKed above: 1000), 5001..10001 in flight (5000).
  EXPECT_EQ(pipe[2], 7000u);
  // 3001..6001 SACKed: hole 2001..3001 now lost; pipe 1000 + 4000 = 5000.
  EXPECT_TRUE(sent[3].empty());
  EXPECT_EQ(pipe[3], 5000u);
  // 3001..7001: pipe 1000 + 3000 = 4000 < cwnd: NextSeg rule 1 resends the
  // second hole, before any cumulative ACK (NewReno waits a round trip).
  ASSERT_EQ(sent[4].size(), 1u);
  EXPECT_EQ(sent[4][0].seq, rel(2001));
  EXPECT_EQ(sent[4][0].data.size(), 1000u);
  EXPECT_EQ(pipe[4], 5000u);  // 1000 + 1000 (resent, lost) + 3000
  // Events: the entry resend at SND.UNA is "fast", the hole above it "sack".
  std::vector<tcp::RetransmitTimer> kinds;
  for (const auto& e : h.rec().events) {
    if (e.type == tcp::EventType::kRetransmit) kinds.push_back(e.timer);
  }
  EXPECT_EQ(kinds, (std::vector<tcp::RetransmitTimer>{tcp::RetransmitTimer::kFast,
                                                      tcp::RetransmitTimer::kSack}));
  // 3001..8001 and 3001..9001: pipe 4000 each time; no lost hole left above
  // HighRxt, so rule 2 sends new data 10001 and 11001.
  ASSERT_EQ(sent[5].size(), 1u);
  EXPECT_EQ(sent[5][0].seq, rel(10001));
  ASSERT_EQ(sent[6].size(), 1u);
  EXPECT_EQ(sent[6][0].seq, rel(11001));
  // 3001..10001: pipe 1000+1000+2000 = 4000, but no new data is left and
  // rules 3/4 are not used: nothing.
  EXPECT_TRUE(sent[7].empty());
  EXPECT_EQ(pipe[7], 4000u);
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 2u);
  EXPECT_EQ(h.conn().stats().fast_retransmits, 1u);

  // Partial ACK (the first resend arrived): still in recovery, nothing sent
  // (RFC 6675 has no NewReno partial-ACK retransmission).
  EXPECT_TRUE(h.input(at_ms(30), sack_ack(h, 2001, {{3001, 10001}})).empty());
  EXPECT_TRUE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  // The second resend arrives: ACK 10001 >= RecoveryPoint (10001): recovery
  // ends with cwnd = ssthresh, not inflated (RFC 2525 §2.8).
  h.input(at_ms(31), h.ack(rel(10001)));
  EXPECT_FALSE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  EXPECT_EQ(h.conn().ssthresh(), 5000u);
  h.input(at_ms(40), h.ack(rel(12001)));
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 2u);
  EXPECT_EQ(h.conn().stats().timeouts, 0u);
}

// The tail of the window is lost too: after the first resend arrives, the
// partial ACK 5001 reports nothing SACKed above it. Bytes 5001..10001 went
// out before recovery began and the peer holds none of them, so the segment
// at SND.UNA is resent at once (RFC 6582 §3.2 step 5) instead of waiting
// for the RTO (IsLost() needs SACKed data above a hole).
TEST(SackRecovery, PartialAckWithNothingSackedResendsAtSndUna) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kSack));
  start(h, 10000, 10);
  for (uint32_t k = 2; k <= 4; ++k) h.input(at_ms(10 + k), sack_ack(h, 1, {{1001, k * 1000 + 1}}));
  EXPECT_TRUE(h.conn().in_recovery());  // third duplicate
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 1u);
  // 1001..5001 SACKed: pipe = 1000 (resent) + 5000 (5001..10001) >= cwnd 5000.
  EXPECT_TRUE(h.input(at_ms(15), sack_ack(h, 1, {{1001, 5001}})).empty());
  const auto out = h.input(at_ms(30), h.ack(rel(5001)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(5001));
  EXPECT_EQ(h.rec().events.back().timer, tcp::RetransmitTimer::kFast);
  EXPECT_TRUE(h.conn().in_recovery());  // RecoveryPoint is 10001
  EXPECT_EQ(h.conn().cwnd(), 5000u);
}

TEST(SackRecovery, NewRenoKnobResendsOneHolePerRoundTrip) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kNewReno));
  start(h, 12000, 10);
  const auto sent = two_holes(h);
  // RFC 6582: the third duplicate resends 1..1000; the second hole waits
  // for the partial ACK.
  ASSERT_GE(sent[2].size(), 1u);
  EXPECT_EQ(sent[2][0].seq, rel(1));
  for (const auto& batch : sent) {
    for (const auto& s : batch) EXPECT_NE(s.seq, rel(2001));
  }
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 1u);
  const auto out = h.input(at_ms(30), sack_ack(h, 2001, {{3001, 10001}}));
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(2001));
}

TEST(SackRecovery, TimeoutResendsOnlyHolesNotSackedData) {
  for (const auto mode :
       {tcp::TcpConfig::LossRecovery::kSack, tcp::TcpConfig::LossRecovery::kNewReno}) {
    const bool sack = mode == tcp::TcpConfig::LossRecovery::kSack;
    Harness h(sack_config(mode));
    start(h, 4000, 4);
    // 1..1000 and 2001..3000 lost. Two dup ACKs (2000 bytes in 2 ranges
    // SACKed: neither DupThresh nor IsLost), so only the RTO recovers.
    EXPECT_TRUE(h.input(at_ms(10), sack_ack(h, 1, {{1001, 2001}})).empty());
    EXPECT_TRUE(h.input(at_ms(11), sack_ack(h, 1, {{3001, 4001}, {1001, 2001}})).empty());
    EXPECT_FALSE(h.conn().in_recovery());
    // RFC 6298: RTO 1 s after the send at 0 (the handshake's sample is 0).
    auto out = h.fire(at_ms(1000));
    ASSERT_EQ(out.size(), 1u);  // loss window: one segment
    EXPECT_EQ(out[0].seq, rel(1));
    EXPECT_EQ(h.conn().cwnd(), 1000u);
    // It arrives: ACK 2001 (1001..2001 was held). Slow start: cwnd 3000.
    out = h.input(at_ms(1010), sack_ack(h, 2001, {{3001, 4001}}));
    ASSERT_GE(out.size(), 1u);
    EXPECT_EQ(out[0].seq, rel(2001));
    if (sack) {
      // RFC 6675 §5.1: 3001..4001 is SACKed, so it is not sent again.
      EXPECT_EQ(out.size(), 1u);
    } else {
      // Go-back-N resends it.
      ASSERT_EQ(out.size(), 2u);
      EXPECT_EQ(out[1].seq, rel(3001));
    }
    h.input(at_ms(1020), h.ack(rel(4001)));
    EXPECT_EQ(h.conn().stats().retransmitted_segments, sack ? 2u : 3u);
    EXPECT_EQ(h.conn().snd_una(), rel(4001));
  }
}

TEST(SackRecovery, DsackBlocksDoNotEnterTheScoreboard) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kSack));
  start(h, 5000, 5);
  // ACK 2001 with a D-SACK for 1001..2001 (RFC 2883: below the ACK).
  EXPECT_TRUE(h.input(at_ms(10), sack_ack(h, 2001, {{1001, 2001}})).empty());
  EXPECT_EQ(h.conn().sack_scoreboard().size(), 0u);
  EXPECT_EQ(h.conn().sack_scoreboard().dsack_blocks(), 1u);
  // A D-SACK first block then a real SACK block: only the latter counts.
  h.input(at_ms(11), sack_ack(h, 2001, {{1, 1001}, {3001, 4001}}));
  ASSERT_EQ(h.conn().sack_scoreboard().size(), 1u);
  EXPECT_EQ(h.conn().sack_scoreboard().range(0).left, rel(3001));
  EXPECT_EQ(h.conn().sack_scoreboard().dsack_blocks(), 2u);
  EXPECT_FALSE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 0u);
}

TEST(SackRecovery, MalformedBlocksAreIgnoredAndCounted) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kSack));
  start(h, 5000, 5);  // SND.MAX = 5001
  // Inverted, empty, and past SND.MAX: none is recorded.
  h.input(at_ms(10), sack_ack(h, 1, {{3001, 2001}, {2001, 2001}, {4001, 9001}}));
  EXPECT_EQ(h.conn().sack_scoreboard().size(), 0u);
  EXPECT_EQ(h.conn().sack_scoreboard().invalid_blocks(), 3u);
  // A valid block next to an invalid one is kept.
  h.input(at_ms(11), sack_ack(h, 1, {{1001, 2001}, {5001, 6001}}));
  ASSERT_EQ(h.conn().sack_scoreboard().size(), 1u);
  EXPECT_EQ(h.conn().sack_scoreboard().range(0).right, rel(2001));
  EXPECT_EQ(h.conn().sack_scoreboard().invalid_blocks(), 4u);
}

TEST(SackRecovery, WithoutSackNegotiatedNewRenoRuns) {
  tcp::TcpConfig cfg = sack_config(tcp::TcpConfig::LossRecovery::kSack);
  cfg.sack = false;  // SACK not offered: RFC 6582 recovery as before
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), bytes(5000));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 5u);
  for (int i = 0; i < 2; ++i) h.input(at_ms(10 + i), h.ack(rel(1)));
  auto out = h.input(at_ms(12), h.ack(rel(1)));
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1));
  // RFC 5681 §3.2: cwnd = ssthresh + 3 * SMSS = 2500 + 3000.
  EXPECT_EQ(h.conn().ssthresh(), 2500u);
  EXPECT_EQ(h.conn().cwnd(), 5500u);
}

}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {

// RFC 6675 §2: with SACK, a duplicate acknowledgment is one whose SACK
// blocks report new data. A plain repeat of the last ACK is what a receiver
// sends for any out-of-window segment, so a blind attacker spraying forged
// data at it makes it send as many; counted as duplicates (RFC 5681's rule)
// three of them started a spurious fast retransmit and halved cwnd
// (blind-injection scenario: 54 fast retransmits, 8.5 s -> 13.6 s).
TEST(SackRecovery, PlainRepeatedAcksAreNoDuplicatesWithSack) {
  Harness h(sack_config(tcp::TcpConfig::LossRecovery::kSack));
  start(h, 12000, 10);
  const uint32_t cwnd = h.conn().cwnd();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(h.input(at_ms(1 + i), h.ack(rel(1))).empty());
  EXPECT_EQ(h.conn().stats().dup_acks_received, 0u);
  EXPECT_EQ(h.conn().stats().fast_retransmits, 0u);
  EXPECT_FALSE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().cwnd(), cwnd);
  // The same ACKs with SACK blocks for new data are duplicates: the third
  // starts recovery (RFC 6675 §5 step 4).
  h.input(at_ms(20), sack_ack(h, 1, {{1001, 2001}}));
  h.input(at_ms(21), sack_ack(h, 1, {{1001, 3001}}));
  h.input(at_ms(22), sack_ack(h, 1, {{1001, 4001}}));
  EXPECT_EQ(h.conn().stats().dup_acks_received, 3u);
  EXPECT_EQ(h.conn().stats().fast_retransmits, 1u);
}

// Without SACK, RFC 5681 §2's definition stands: three plain repeats of the
// last ACK with the same window start a fast retransmit.
TEST(SackRecovery, PlainRepeatedAcksStillCountWithoutSack) {
  tcp::TcpConfig cfg = plain_config();
  cfg.initial_window_segments = 10;
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), bytes(12000));
  ASSERT_FALSE(h.drain(at_ms(0)).empty());
  for (int i = 0; i < 3; ++i) h.input(at_ms(1 + i), h.ack(rel(1)));
  EXPECT_EQ(h.conn().stats().dup_acks_received, 3u);
  EXPECT_EQ(h.conn().stats().fast_retransmits, 1u);
}

}  // namespace
}  // namespace vigil::testing

// ---------- D-SACK (RFC 2883), undo (RFC 3708, RFC 3522), F-RTO (RFC 5682) ----------

namespace vigil::testing {
namespace {

// The evidence named by the last undo event ("" if none).
std::string undo_detail(Harness& h) {
  std::string d;
  for (size_t i = 0; i < h.rec().events.size(); ++i) {
    if (h.rec().events[i].type == tcp::EventType::kUndo) d = h.rec().details[i];
  }
  return d;
}

tcp::TcpConfig undo_config(bool undo, bool frto = false) {
  tcp::TcpConfig cfg = sack_config(tcp::TcpConfig::LossRecovery::kSack);
  cfg.undo = undo;
  cfg.frto = frto;
  return cfg;
}

// RFC 2883 §4: the ACK answering a duplicate segment reports it in its
// first SACK block; a partial duplicate reports the duplicated part.
TEST(Dsack, ReceiverReportsDuplicateSegmentsFirst) {
  for (const bool on : {true, false}) {
    tcp::TcpConfig cfg = sack_config(tcp::TcpConfig::LossRecovery::kSack);
    cfg.dsack = on;
    Harness h(cfg);
    h.to_established_with_sack(at_ms(0));
    const uint32_t irs = h.irs();
    h.input(at_ms(1), h.data(irs + 1, kIss + 1, 500));  // in order: ACK delayed
    // The same 500 bytes again: wholly below RCV.NXT, answered at once.
    auto out = h.input(at_ms(2), h.data(irs + 1, kIss + 1, 500));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, irs + 501);
    if (on) {
      ASSERT_EQ(out[0].opt.sack_count, 1u);
      EXPECT_EQ(out[0].opt.sack[0].left, irs + 1);
      EXPECT_EQ(out[0].opt.sack[0].right, irs + 501);
    } else {
      EXPECT_EQ(out[0].opt.sack_count, 0u);
    }
    // Out-of-order data at 1001: a SACK block, and no D-SACK again.
    out = h.input(at_ms(3), h.data(irs + 1001, kIss + 1, 100));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].opt.sack_count, 1u);
    EXPECT_EQ(out[0].opt.sack[0].left, irs + 1001);
    EXPECT_EQ(out[0].opt.sack[0].right, irs + 1101);
    // 301..1001 fills the hole (an immediate ACK, RFC 5681 §4.2): 301..501
    // is a duplicate, reported alone (nothing out of order is left).
    out = h.input(at_ms(4), h.data(irs + 301, kIss + 1, 700));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, irs + 1101);
    ASSERT_EQ(out[0].opt.sack_count, on ? 1u : 0u);
    if (on) {
      EXPECT_EQ(out[0].opt.sack[0].left, irs + 301);
      EXPECT_EQ(out[0].opt.sack[0].right, irs + 501);
    }
  }
}

// RFC 2883 §4 (its §4.2 examples): a duplicate of out-of-order data the
// receiver holds is reported too, the D-SACK block first and the held
// block containing it second (Linux tcp_data_queue_ofo's tcp_dsack_set).
// Without the knob the ACK carries only the SACK blocks (RFC 2018 §4:
// the block most recently changed first).
TEST(Dsack, ReceiverReportsDuplicatesOfOutOfOrderData) {
  for (const bool on : {true, false}) {
    SCOPED_TRACE(on ? "dsack=on" : "dsack=off");
    tcp::TcpConfig cfg = sack_config(tcp::TcpConfig::LossRecovery::kSack);
    cfg.dsack = on;
    Harness h(cfg);
    h.to_established_with_sack(at_ms(0));
    const uint32_t irs = h.irs();
    using Blocks = std::vector<std::pair<uint32_t, uint32_t>>;  // relative to the IRS
    auto blocks = [irs](const Seg& s) {
      Blocks b;
      for (uint8_t i = 0; i < s.opt.sack_count; ++i)
        b.emplace_back(s.opt.sack[i].left - irs, s.opt.sack[i].right - irs);
      return b;
    };
    // 1..1001 missing; 1001..1501 and 2001..2501 held out of order.
    h.input(at_ms(1), h.data(irs + 1001, kIss + 1, 500));
    auto out = h.input(at_ms(2), h.data(irs + 2001, kIss + 1, 500));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(blocks(out[0]), (Blocks{{2001, 2501}, {1001, 1501}}));
    // 1001..1501 again, wholly held: D-SACK 1001..1501, then the block
    // containing it (now the most recently changed), then the other.
    out = h.input(at_ms(3), h.data(irs + 1001, kIss + 1, 500));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, irs + 1);
    EXPECT_EQ(blocks(out[0]), on ? (Blocks{{1001, 1501}, {1001, 1501}, {2001, 2501}})
                                 : (Blocks{{1001, 1501}, {2001, 2501}}));
    // 1301..1801 overlaps the held block's end: only 1301..1501 arrived
    // twice; the block grows to 1001..1801.
    out = h.input(at_ms(4), h.data(irs + 1301, kIss + 1, 500));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(blocks(out[0]), on ? (Blocks{{1301, 1501}, {1001, 1801}, {2001, 2501}})
                                 : (Blocks{{1001, 1801}, {2001, 2501}}));
    // 1701..2101 spans the gap 1801..2001 (new data) between two held
    // blocks: one block cannot name both duplicated parts without the gap,
    // so the first, 1701..1801, is reported; the two blocks merge.
    out = h.input(at_ms(5), h.data(irs + 1701, kIss + 1, 400));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(blocks(out[0]), on ? (Blocks{{1701, 1801}, {1001, 2501}}) : (Blocks{{1001, 2501}}));
    // New out-of-order data: no D-SACK again.
    out = h.input(at_ms(6), h.data(irs + 3001, kIss + 1, 100));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(blocks(out[0]), (Blocks{{3001, 3101}, {1001, 2501}}));
  }
}

// Ten segments out at 0; the first is delayed, so the next three are
// SACKed and the third duplicate starts recovery (RFC 6675 §5 step 4):
// ssthresh = cwnd = FlightSize / 2 = 5000, 1..1001 resent at 13 ms. The
// original then arrives (ACK 10001 ends recovery, cwnd 5000), and the
// resend after it, which the receiver D-SACKs. With undo on, the one
// retransmission of the episode is D-SACKed (RFC 3708 §3, Linux
// tcp_try_undo_dsack): cwnd and ssthresh go back to 10000 and the
// slow-start ssthresh (Linux tcp_undo_cwnd_reduction takes the larger).
TEST(Dsack, DsackOfEveryRetransmissionUndoesTheReduction) {
  for (const bool undo : {true, false}) {
    Harness h(undo_config(undo));
    start(h, 10000, 10);
    EXPECT_EQ(h.conn().cwnd(), 10000u);
    const uint32_t prior_ssthresh = h.conn().ssthresh();
    for (uint32_t k = 2; k <= 4; ++k) {
      h.input(at_ms(10 + k), sack_ack(h, 1, {{1001, k * 1000 + 1}}));
    }
    ASSERT_TRUE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().stats().retransmitted_segments, 1u);
    EXPECT_EQ(h.conn().cwnd(), 5000u);
    EXPECT_EQ(h.conn().ssthresh(), 5000u);
    h.input(at_ms(20), h.ack(rel(10001)));
    EXPECT_FALSE(h.conn().in_recovery());
    EXPECT_EQ(h.conn().cwnd(), 5000u);
    // A D-SACK for a segment never resent (a network duplicate) says
    // nothing about the retransmission: no change.
    h.input(at_ms(22), sack_ack(h, 10001, {{5001, 6001}}));
    EXPECT_EQ(h.conn().cwnd(), 5000u);
    h.input(at_ms(23), sack_ack(h, 10001, {{1, 1001}}));
    EXPECT_EQ(h.conn().cwnd(), undo ? 10000u : 5000u);
    EXPECT_EQ(h.conn().ssthresh(), undo ? prior_ssthresh : 5000u);
    EXPECT_EQ(h.conn().stats().undos, undo ? 1u : 0u);
    EXPECT_EQ(h.conn().stats().spurious_retransmits, undo ? 1u : 0u);
    EXPECT_EQ(h.rec().count(tcp::EventType::kUndo), undo ? 1u : 0u);
    if (undo) {
      for (size_t i = 0; i < h.rec().events.size(); ++i) {
        if (h.rec().events[i].type != tcp::EventType::kUndo) continue;
        EXPECT_EQ(h.rec().details[i], "dsack");
        EXPECT_EQ(h.rec().events[i].cwnd, 10000u);
        EXPECT_EQ(h.rec().events[i].seq, rel(1));
      }
    }
    // Once undone, the same D-SACK again does nothing more.
    h.input(at_ms(24), sack_ack(h, 10001, {{1, 1001}}));
    EXPECT_EQ(h.conn().stats().undos, undo ? 1u : 0u);
  }
}

// Two segments resent in one episode, only one D-SACKed: not every
// retransmission was spurious, so nothing is undone (RFC 3708 §3).
TEST(Dsack, OneSpuriousOfTwoRetransmissionsKeepsTheReduction) {
  Harness h(undo_config(true));
  start(h, 12000, 10);
  two_holes(h);  // 1..1001 and 2001..3001 both resent
  EXPECT_EQ(h.conn().stats().retransmitted_segments, 2u);
  h.input(at_ms(30), h.ack(rel(10001)));
  h.input(at_ms(31), sack_ack(h, 10001, {{1, 1001}}));
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  EXPECT_EQ(h.conn().stats().undos, 0u);
  EXPECT_EQ(h.conn().stats().spurious_retransmits, 1u);
  // The second D-SACK shows the other one spurious too: undone.
  h.input(at_ms(32), sack_ack(h, 10001, {{2001, 3001}}));
  EXPECT_EQ(h.conn().cwnd(), 10000u);
  EXPECT_EQ(h.conn().stats().undos, 1u);
}

// Eifel (RFC 3522 §3, Linux tcp_packet_delayed): with timestamps, the ACK
// that ends recovery echoes the TSval of the original (sent at 5 ms), older
// than the retransmission's (14 ms): the original arrived, the reduction
// is undone at once, before any D-SACK.
TEST(Dsack, TimestampOlderThanTheRetransmissionUndoes) {
  for (const bool undo : {true, false}) {
    tcp::TcpConfig cfg = undo_config(undo);
    cfg.timestamps = true;
    Harness h(cfg);
    h.to_syn_sent(at_ms(0));
    Seg sa = h.syn_ack();
    sa.opt.sack_permitted = true;
    sa.opt.has_timestamps = true;
    sa.opt.ts_val = 777;
    h.input(at_ms(0), sa);
    ASSERT_TRUE(h.conn().sack_enabled());
    const uint32_t cwnd0 = h.conn().cwnd();
    // Sent at 5 ms, so the echoed TSval is not 0 (RFC 7323 §3.2: no echo).
    h.conn().send(at_ms(5), bytes(9880));
    const auto first = h.drain(at_ms(5));
    ASSERT_EQ(first.size(), 10u);  // 1000 - 12 bytes each with timestamps
    const uint32_t seg = static_cast<uint32_t>(first[0].data.size());
    ASSERT_EQ(seg, 988u);
    const uint32_t ts0 = first[0].opt.ts_val;
    std::vector<Seg> out;
    for (uint32_t k = 2; k <= 4; ++k) {
      Seg a = sack_ack(h, 1, {{1 + seg, 1 + k * seg}});
      a.opt.has_timestamps = true;
      a.opt.ts_val = 778;
      a.opt.ts_ecr = ts0;
      out = h.input(at_ms(10 + k), a);
    }
    ASSERT_EQ(out.size(), 1u);  // the fast retransmission at 14 ms
    EXPECT_EQ(out[0].opt.ts_val, ts0 + 9);
    const uint32_t reduced = h.conn().cwnd();
    EXPECT_LT(reduced, 10u * seg);
    Seg full = h.ack(rel(1 + 10 * seg));
    full.opt.has_timestamps = true;
    full.opt.ts_val = 779;
    full.opt.ts_ecr = ts0;  // caused by the original
    h.input(at_ms(20), full);
    EXPECT_EQ(h.conn().cwnd(), undo ? cwnd0 : reduced);
    EXPECT_EQ(h.conn().stats().undos, undo ? 1u : 0u);
    EXPECT_EQ(undo_detail(h), undo ? "timestamp" : "");
  }
}

// RFC 5682 F-RTO, SACK-enhanced as Linux runs it (tcp_process_loss). Ten
// segments out at 0, no ACK: the RTO (1 s, RFC 6298 §2.1) resends 1..1001
// with cwnd = 1 SMSS, ssthresh = FlightSize / 2 = 5000 (RFC 5681 eq. 4).
void rto_after_ten(Harness& h) {
  start(h, 20000, 10);
  const auto out = h.fire(at_ms(1000));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].seq, rel(1));
  ASSERT_EQ(h.conn().cwnd(), 1000u);
  ASSERT_EQ(h.conn().ssthresh(), 5000u);
}

// The originals were only delayed: the first ACK after the timeout covers
// 1..10001, data never resent (step 3b, Linux FLAG_ORIG_SACK_ACKED): the
// timeout was spurious and cwnd goes back to 10000 (slow start's ssthresh
// too), so ten new segments follow at once. Without F-RTO the ACK grows
// cwnd by RFC 3465's L = 2 SMSS to 3000, below ssthresh 5000: three go.
TEST(Frto, AckOfDataNeverResentShowsTheTimeoutSpurious) {
  for (const bool frto : {true, false}) {
    Harness h(undo_config(false, frto));
    rto_after_ten(h);
    const auto out = h.input(at_ms(1010), h.ack(rel(10001)));
    EXPECT_EQ(h.conn().cwnd(), frto ? 10000u : 3000u);
    EXPECT_EQ(h.conn().ssthresh(), frto ? 0x7fffffffu : 5000u);
    ASSERT_EQ(out.size(), frto ? 10u : 3u);
    EXPECT_EQ(out[0].seq, rel(10001));
    EXPECT_EQ(h.conn().stats().undos, frto ? 1u : 0u);
    EXPECT_EQ(undo_detail(h), frto ? "frto" : "");
  }
}

// Step 2b: the first ACK covers only the resent segment (ACK 1001): F-RTO
// sends two new segments (10001, 11001) instead of resending 1001..3001
// (cwnd 2000 after slow start's +1000). Step 3b: the next ACK covers
// originals (1001..5001, never resent): spurious, undone to cwnd 10000.
TEST(Frto, NewDataAfterTheFirstAckThenUndo) {
  for (const bool frto : {true, false}) {
    Harness h(undo_config(false, frto));
    rto_after_ten(h);
    auto out = h.input(at_ms(1010), h.ack(rel(1001)));
    EXPECT_EQ(h.conn().cwnd(), 2000u);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].seq, frto ? rel(10001) : rel(1001));
    EXPECT_EQ(out[1].seq, frto ? rel(11001) : rel(2001));
    h.input(at_ms(1011), h.ack(rel(5001)));
    EXPECT_EQ(h.conn().cwnd(), frto ? 10000u : 4000u);
    EXPECT_EQ(h.conn().stats().undos, frto ? 1u : 0u);
  }
}

// Step 3a: after the two new segments, a duplicate ACK SACKing them: the
// loss was real. The go-back resumes at 1001 in slow start (cwnd 2000), and
// nothing is undone.
TEST(Frto, DuplicateAckAfterTheNewDataMeansTheLossWasReal) {
  Harness h(undo_config(true, true));
  rto_after_ten(h);
  ASSERT_EQ(h.input(at_ms(1010), h.ack(rel(1001))).size(), 2u);
  const auto out = h.input(at_ms(1020), sack_ack(h, 1001, {{10001, 11001}}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].seq, rel(1001));
  EXPECT_EQ(out[1].seq, rel(2001));
  EXPECT_EQ(h.conn().cwnd(), 2000u);
  EXPECT_EQ(h.conn().ssthresh(), 5000u);
  EXPECT_EQ(h.conn().stats().undos, 0u);
}

}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {

// The linux profile with MSS 1000 and no timestamps, established by an
// active open whose handshake took 100 ms (SYN at 0, SYN-ACK at 100): SRTT
// and RACK's min_RTT are 100 ms, so reo_wnd = min_RTT / 4 = 25 ms.
void establish_linux(Harness& h) {
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.sack_permitted = true;
  h.input(at_ms(100), sa);
  ASSERT_EQ(h.conn().state(), State::kEstablished);
  ASSERT_TRUE(h.conn().sack_enabled());
}

tcp::TcpConfig linux_sack_config() {
  tcp::TcpConfig c = tcp::TcpConfig::linux_profile();
  c.timestamps = false;
  c.window_scaling = false;
  c.mss = 1000;
  c.recv_buffer = 8000;
  c.send_buffer = 64000;
  return c;
}

// packetdrill sack-shift-sacked-7-3-4-8-9-fack (Linux 6.18). Ten segments
// at 100 ms; at 200 the peer SACKs 7001:8001 only; RACK's reordering timer
// at 225 (100 + 25 - 100 ms after the SACK) marks 1:7001 lost and starts
// recovery: ssthresh = 0.7 x 10000 = 7000 (CUBIC), pipe = 8001:10001 =
// 2000. Linux's tcp_cwnd_reduction adds PRR-SSRB's extra segment only on
// an ACK that advances SND.UNA without new losses; otherwise PRR-CRB:
// sndcnt = min(ssthresh - pipe, max(prr_delivered - prr_out,
// DeliveredData)) = min(5000, max(1000 - 0, 1000)) = 1000, cwnd 3000: only
// 1:1001 goes (RFC 6937's SSRB, prr.bound=ssrb, sends 1001:2001 too).
// At 229 the SACK of 3001:4001 lies below the highest SACKed, so it is no
// RFC 6675 duplicate ACK, but PRR runs on every ACK of recovery (RFC 6937
// §3): pipe = 1:1001 + 8001:10001 = 3000, prr_delivered 2000, prr_out
// 1000: sndcnt = min(4000, max(1000, 1000)) = 1000, cwnd 4000: 1001:2001,
// as the script's "+.002 > . 1001:2001". At 231 (4001:5001): pipe 4000,
// 3000 - 2000 = 1000 more: 2001:3001, cwnd 5000.
// The script's TCP_INFO asserts, from the digest: lost_out (Linux's
// segments marked lost, resent or not, until delivered) 7 = 1:7001 at
// 225, 6 at 229 (3001:4001 SACKed), 5 at 231; reordering 3, then 5 at 229
// (3001:4001 delivered 5 segments below the highest SACKed, 8001).
TEST(SackRecovery, LinuxPrrSendsOneSegmentPerSegmentDelivered) {
  Harness h(linux_sack_config());
  establish_linux(h);
  h.conn().send(at_ms(100), bytes(10000));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 10u);
  EXPECT_TRUE(h.input(at_ms(200), sack_ack(h, 1, {{7001, 8001}})).empty());
  auto out = h.fire(at_ms(225));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1));
  EXPECT_EQ(out[0].data.size(), 1000u);
  EXPECT_TRUE(h.conn().in_recovery());
  EXPECT_EQ(h.conn().ssthresh(), 7000u);
  EXPECT_EQ(h.conn().cwnd(), 3000u);
  EXPECT_EQ(h.conn().state_digest().value("lost_out"), 7);
  EXPECT_EQ(h.conn().state_digest().value("reordering"), 3);
  out = h.input(at_ms(229), sack_ack(h, 1, {{3001, 4001}, {7001, 8001}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1001));
  EXPECT_EQ(h.conn().cwnd(), 4000u);
  EXPECT_EQ(h.conn().state_digest().value("lost_out"), 6);
  EXPECT_EQ(h.conn().state_digest().value("reordering"), 5);
  out = h.input(at_ms(231), sack_ack(h, 1, {{3001, 5001}, {7001, 8001}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(2001));
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  EXPECT_EQ(h.conn().state_digest().value("lost_out"), 5);
  EXPECT_EQ(h.conn().state_digest().value("reordering"), 5);
  // Everything ACKed: nothing lost any more (the script's last asserts).
  h.input(at_ms(331), h.ack(rel(10001)));
  EXPECT_EQ(h.conn().state_digest().value("lost_out"), 0);
  EXPECT_FALSE(h.conn().in_recovery());
}

// packetdrill fr-4pkt-fack-last-byte (Linux 6.18): the peer SACKs only the
// last byte of the fourth segment (4000:4001). Linux tags SACKs per skb
// and ignores one covering part of a one-segment skb (tcp_match_skb_to_sack),
// so nothing counts as SACKed, and after the timeout's go-back the segment
// goes again whole: "> P. 3001:4001(1000)", not 3001:4000. Times: data at
// 100, the SACK at 200; the probe (2 x SRTT after the send) resends the
// last segment at 300; the RTO then resends 1:1001.
TEST(SackRecovery, RackCountsOnlyWholeSegmentsAsSacked) {
  Harness h(linux_sack_config());
  establish_linux(h);
  h.conn().send(at_ms(100), bytes(4000));
  ASSERT_EQ(h.drain(at_ms(100)).size(), 4u);
  EXPECT_TRUE(h.input(at_ms(200), sack_ack(h, 1, {{4000, 4001}})).empty());
  EXPECT_EQ(h.conn().sack_scoreboard().sacked_bytes(rel(1), rel(4001)), 0u);
  EXPECT_FALSE(h.conn().in_recovery());
  auto out = h.fire(at_ms(300));
  ASSERT_EQ(out.size(), 1u);  // the loss probe: the last segment, whole
  EXPECT_EQ(out[0].seq, rel(3001));
  EXPECT_EQ(out[0].data.size(), 1000u);
  const Instant rto = h.conn().timer_deadline(tcp::TimerKind::kRetransmit);
  out = h.fire(rto);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(1));
  out = h.input(rto + Duration::millis(100), sack_ack(h, 1001, {{4000, 4001}}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].seq, rel(1001));
  EXPECT_EQ(out[1].seq, rel(2001));
  out = h.input(rto + Duration::millis(200), sack_ack(h, 3001, {{4000, 4001}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(3001));
  EXPECT_EQ(out[0].data.size(), 1000u);
  EXPECT_TRUE(out[0].flags & fl::kPsh);  // it ends the queued data
}

}  // namespace
}  // namespace vigil::testing
