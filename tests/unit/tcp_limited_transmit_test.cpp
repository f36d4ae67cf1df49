// RFC 3042 limited transmit and restart after idle (RFC 5681 §4.1, Linux
// tcp_cwnd_restart), with the connection in the loop. MSS 1000, no
// options (plain_config), sequence numbers relative to kIss.
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

uint32_t rel(uint32_t x) { return kIss + x; }

// IW 10 segments (1..10000 out), the first lost. RFC 5681 §3.2 step 1:
// on the first and second duplicate ACK one new segment each (10001,
// 11001), FlightSize <= cwnd + 2 SMSS, cwnd unchanged. Step 2: at the third
// ssthresh = max(FlightSize / 2, 2 SMSS) with FlightSize not counting the
// two: (12000 - 2000) / 2 = 5000 (counting them: 6000); cwnd = ssthresh +
// 3 SMSS = 8000 (step 3), below the 12000 in flight: only the fast
// retransmission of 1. Off, the duplicates send nothing and ssthresh =
// 10000 / 2 = 5000 as well.
TEST(LimitedTransmit, OneNewSegmentOnEachOfTheFirstTwoDuplicates) {
  for (const bool lt : {true, false}) {
    SCOPED_TRACE(lt ? "limited_transmit=true" : "limited_transmit=false");
    tcp::TcpConfig cfg = plain_config();
    cfg.initial_window_segments = 10;
    cfg.limited_transmit = lt;
    Harness h(cfg);
    h.to_established_active(at_ms(0));
    h.conn().send(at_ms(0), std::vector<uint8_t>(20000));
    ASSERT_EQ(h.drain(at_ms(0)).size(), 10u);
    for (uint32_t d = 1; d <= 2; ++d) {
      const auto out = h.input(at_ms(10 + d), h.ack(rel(1)));
      EXPECT_EQ(h.conn().cwnd(), 10000u);
      if (!lt) {
        EXPECT_TRUE(out.empty());
        continue;
      }
      ASSERT_EQ(out.size(), 1u) << "duplicate " << d;
      EXPECT_EQ(out[0].seq, rel(10001 + 1000 * (d - 1)));
      EXPECT_EQ(out[0].data.size(), 1000u);
    }
    const auto out = h.input(at_ms(13), h.ack(rel(1)));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seq, rel(1));  // the fast retransmission
    EXPECT_EQ(h.conn().ssthresh(), 5000u);
    EXPECT_EQ(h.conn().cwnd(), 8000u);
    EXPECT_TRUE(h.conn().in_recovery());
  }
}

// A duplicate after a new ACK counts from one again: an ACK of 1001 resets
// the count, so the next duplicate is a first one and sends one segment.
TEST(LimitedTransmit, CountStartsAgainAfterNewAck) {
  tcp::TcpConfig cfg = plain_config();
  cfg.initial_window_segments = 4;
  Harness h(cfg);
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(20000));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 4u);
  ASSERT_EQ(h.input(at_ms(10), h.ack(rel(1))).size(), 1u);  // 4001
  // New ACK of 1001: slow start, cwnd 5000; in flight 1001..5001 = 4000:
  // one segment (5001), and no limited transmit on top.
  auto out = h.input(at_ms(11), h.ack(rel(1001)));
  EXPECT_EQ(h.conn().cwnd(), 5000u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(5001));
  // A first duplicate of 1001 again: one more (6001).
  out = h.input(at_ms(12), h.ack(rel(1001)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, rel(6001));
}

// packetdrill limited_transmit/limited-transmit-sack and -no-sack (Linux's
// behaviour): IW 10 of a 15000-byte write, two duplicate ACKs (SACKing
// 1001:2001, then 1001:3001, or plain) each send one segment (10001,
// 11001), then the ACK of 3001 shows it was reordering. Linux grows cwnd
// by what the ACK newly delivers (tcp_cong_control's acked_sacked): only
// 1:1001, since the duplicates had delivered 1001:3001 (SACK:
// tcp_clean_rtx_queue skips TCPCB_SACKED_ACKED segments; Reno:
// tcp_remove_reno_sacks counts 3 acked - 2 duplicates = 1). cwnd 10000 +
// 1000 = 11000 with 12001 - 3001 = 9000 in flight: 12001:14001 at once,
// and 14001:15001 only on the ACK of 5001 (cwnd 13000, 9000 in flight).
// cwnd_count=acked (rfc, RFC 3465 §2.1 counts the 3000 bytes the ACK
// covers): cwnd 13000, all three of 12001:15001 on the ACK of 3001.
TEST(LimitedTransmit, SlowStartCountsOnlyNewlyDeliveredBytes) {
  for (const bool sack : {true, false}) {
    for (const auto count :
         {tcp::TcpConfig::CwndCount::kDelivered, tcp::TcpConfig::CwndCount::kAcked}) {
      const bool delivered = count == tcp::TcpConfig::CwndCount::kDelivered;
      SCOPED_TRACE(std::string(sack ? "sack" : "no sack") +
                   (delivered ? ", delivered" : ", acked"));
      tcp::TcpConfig cfg = plain_config();
      cfg.initial_window_segments = 10;
      cfg.sack = sack;
      cfg.cwnd_count = count;
      cfg.abc_limit_segments = 0;  // tcp_slow_start, as the linux profile
      Harness h(cfg);
      if (sack) {
        h.to_established_with_sack(at_ms(200));
      } else {
        h.to_established_active(at_ms(200));
      }
      h.conn().send(at_ms(200), std::vector<uint8_t>(15000));
      ASSERT_EQ(h.drain(at_ms(200)).size(), 10u);
      for (uint32_t d = 1; d <= 2; ++d) {
        Seg dup = h.ack(rel(1));
        if (sack) {
          dup.opt.sack_count = 1;
          dup.opt.sack[0] = {rel(1001), rel(1001 + 1000 * d)};
        }
        const auto out = h.input(at_ms(300 + 10 * d), dup);
        ASSERT_EQ(out.size(), 1u) << "duplicate " << d;
        EXPECT_EQ(out[0].seq, rel(10001 + 1000 * (d - 1)));
      }
      auto out = h.input(at_ms(330), h.ack(rel(3001)));
      EXPECT_FALSE(h.conn().in_recovery());
      EXPECT_EQ(h.conn().cwnd(), delivered ? 11000u : 13000u);
      ASSERT_EQ(out.size(), delivered ? 2u : 3u);
      EXPECT_EQ(out[0].seq, rel(12001));
      out = h.input(at_ms(350), h.ack(rel(5001)));
      EXPECT_EQ(h.conn().cwnd(), delivered ? 13000u : 15000u);
      ASSERT_EQ(out.size(), delivered ? 1u : 0u);
      if (delivered) {
        EXPECT_EQ(out[0].seq, rel(14001));
      }
    }
  }
}

// The linux profile counts delivered bytes (tcp_cong_control); rfc keeps
// RFC 3465 §2.1's acknowledged bytes.
TEST(LimitedTransmit, CwndCountProfileDefaults) {
  EXPECT_EQ(tcp::TcpConfig::rfc().cwnd_count, tcp::TcpConfig::CwndCount::kAcked);
  EXPECT_EQ(tcp::TcpConfig::linux_profile().cwnd_count, tcp::TcpConfig::CwndCount::kDelivered);
}

// packetdrill slow_start/slow-start-ack-per-2pkt-send-5pkt, -send-6pkt,
// slow-start-app-limited-9-packets-out and slow-start-app-limited (Linux's
// tcpi_snd_cwnd after each ACK): IW 10, one write of 5, 6, 9 or 10
// segments, every second segment ACKed. Linux grows cwnd only while
// tcp_is_cwnd_limited: the flight reached cwnd in this window (10
// segments), or in slow start cwnd < 2 x the most segments out (5: 10 <
// 10 fails, cwnd stays 10; 6: 10 < 12, one ACK of 2 gives 12, then 12 <
// 12 fails; 9: grows by 2 per ACK up to 18, and 18 < 18 stops the last
// ACK's). abc_limit 0 as in the linux profile (tcp_slow_start). With
// app_limited_growth=true (rfc) every ACK grows it: 5 segments end at 15.
TEST(CwndValidation, AppLimitedFlightGrowsCwndOnlyToTwiceItsSize) {
  struct Case {
    uint32_t segments;
    bool app_limited_growth;
    std::vector<uint32_t> cwnd_after;  // in segments, after each ACK
  };
  const std::vector<Case> cases = {
      {5, false, {10, 10, 10}},          {6, false, {12, 12, 12}}, {9, false, {12, 14, 16, 18, 18}},
      {10, false, {12, 14, 16, 18, 20}}, {5, true, {12, 14, 15}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.segments) +
                 " segments, app_limited_growth=" + (c.app_limited_growth ? "true" : "false"));
    tcp::TcpConfig cfg = plain_config();
    cfg.initial_window_segments = 10;
    cfg.abc_limit_segments = 0;
    cfg.app_limited_growth = c.app_limited_growth;
    Harness h(cfg);
    h.to_established_active(at_ms(0));
    h.conn().send(at_ms(0), std::vector<uint8_t>(1000 * c.segments));
    ASSERT_EQ(h.drain(at_ms(0)).size(), c.segments);
    EXPECT_EQ(h.conn().cwnd(), 10000u);
    uint32_t acked = 1;
    for (size_t i = 0; i < c.cwnd_after.size(); ++i) {
      acked = std::min(acked + 2000, 1 + 1000 * c.segments);
      h.input(at_ms(100 + 5 * static_cast<int64_t>(i)), h.ack(rel(acked)));
      EXPECT_EQ(h.conn().cwnd(), 1000 * c.cwnd_after[i]) << "after the ACK of " << acked - 1;
    }
    EXPECT_EQ(acked, 1 + 1000 * c.segments);
  }
}

TEST(CwndValidation, ProfileDefaults) {
  EXPECT_TRUE(tcp::TcpConfig::rfc().app_limited_growth);
  EXPECT_FALSE(tcp::TcpConfig::linux_profile().app_limited_growth);
}

// Grows cwnd to 24000 with per-segment ACKs 100 ms apart (slow start, +1000
// per ACK): 3 segments at 0, 6 at 100 ms, 12 at 200 ms (21000 bytes, all
// sent by 200 ms), all acknowledged at 300 ms. RTT samples of 0 (the
// handshake) and 100 ms keep RTO at its 1 s floor (RFC 6298 §2.4).
void grow_to_24000(Harness& h) {
  h.to_established_active(at_ms(0));
  h.conn().send(at_ms(0), std::vector<uint8_t>(21000));
  ASSERT_EQ(h.drain(at_ms(0)).size(), 3u);
  uint32_t acked = 1;
  size_t round = 3;
  for (int r = 1; r <= 3; ++r) {
    size_t sent = 0;
    for (size_t i = 0; i < round; ++i) {
      acked += 1000;
      sent += h.input(at_ms(100 * r), h.ack(rel(acked))).size();
    }
    round = sent;
  }
  ASSERT_EQ(acked, 21001u);
  ASSERT_EQ(h.conn().cwnd(), 24000u);
  ASSERT_EQ(h.conn().rtt().rto(), Duration::seconds(1));
}

size_t burst_at(Harness& h, int64_t ms) {
  h.conn().send(at_ms(ms), std::vector<uint8_t>(40000));
  return h.drain(at_ms(ms)).size();
}

// RFC 5681 §4.1: no data sent for more than one RTO (the last at 200 ms):
// cwnd = RW = min(IW, cwnd) = 3000 before the next send, ssthresh left
// alone. At exactly one RTO of idle (1200 ms) nothing changes: 24
// segments go.
TEST(IdleRestart, Rfc5681RestartsFromTheInitialWindow) {
  {
    Harness h;
    grow_to_24000(h);
    EXPECT_EQ(burst_at(h, 1200), 24u);
  }
  Harness h;
  grow_to_24000(h);
  EXPECT_EQ(burst_at(h, 1201), 3u);
  EXPECT_EQ(h.conn().cwnd(), 3000u);
  EXPECT_EQ(h.conn().ssthresh(), 0x7fffffffu);
}

// Linux tcp_cwnd_restart: cwnd halves for every RTO of idle beyond the
// first while above RW = 3000. Idle 2.5 s: 2.5 - 1 = 1.5 > 0: 12000; 0.5 >
// 0: 6000; then -0.5: stop, 6 segments. Idle 4.5 s: 12000, 6000, 3000, and
// 3000 is not above RW: 3 segments. ssthresh = max(ssthresh, 3/4 cwnd)
// keeps the never-set 0x7fffffff. Off: all 24 after any idle.
TEST(IdleRestart, LinuxHalvesPerRtoOfIdle) {
  tcp::TcpConfig cfg = plain_config();
  cfg.idle_restart = tcp::TcpConfig::IdleRestart::kLinux;
  {
    Harness h(cfg);
    grow_to_24000(h);
    EXPECT_EQ(burst_at(h, 2700), 6u);
    EXPECT_EQ(h.conn().cwnd(), 6000u);
    EXPECT_EQ(h.conn().ssthresh(), 0x7fffffffu);
  }
  {
    Harness h(cfg);
    grow_to_24000(h);
    EXPECT_EQ(burst_at(h, 4700), 3u);
  }
  cfg.idle_restart = tcp::TcpConfig::IdleRestart::kOff;
  Harness h(cfg);
  grow_to_24000(h);
  EXPECT_EQ(burst_at(h, 60'000), 24u);
}

// packetdrill slow-start-after-win-update's shape: the ACK of everything
// at 300 ms closes the window, the application writes more, and only
// zero-window probes (SND.UNA - 1, no data) go until the window opens at
// 2700 ms. Linux restarts cwnd only as new data leaves (the lsndtime check
// of tcp_event_data_sent; tcp_xmit_probe_skb sends none): cwnd stays 24000
// through every probe, then the first send restarts it from 24000 after
// 2.5 s of idle since the last data at 200 ms, as above: 6 segments.
TEST(IdleRestart, LinuxZeroWindowProbesDoNotRestart) {
  tcp::TcpConfig cfg = plain_config();
  cfg.idle_restart = tcp::TcpConfig::IdleRestart::kLinux;
  cfg.persist_probe = tcp::TcpConfig::PersistProbe::kSeqMinusOne;
  Harness h(cfg);
  grow_to_24000(h);
  Seg closed = h.ack(rel(21001));
  closed.window = 0;
  EXPECT_TRUE(h.input(at_ms(300), closed).empty());
  h.conn().send(at_ms(300), std::vector<uint8_t>(40000));
  EXPECT_TRUE(h.drain(at_ms(300)).empty());
  size_t probes = 0;
  for (;;) {
    const Instant t = h.conn().next_deadline();
    if (t >= at_ms(2700)) break;
    for (const Seg& s : h.fire(t)) {
      EXPECT_EQ(s.seq, rel(21000));
      EXPECT_TRUE(s.data.empty());
      ++probes;
    }
    EXPECT_EQ(h.conn().cwnd(), 24000u) << "after the probe at " << (t - Instant::zero()).ns();
  }
  EXPECT_GE(probes, 1u);
  const auto out = h.input(at_ms(2700), h.ack(rel(21001)));
  EXPECT_EQ(out.size(), 6u);
  EXPECT_EQ(h.conn().cwnd(), 6000u);
}

// The linux profile restarts as Linux does; rfc as RFC 5681 §4.1.
TEST(IdleRestart, ProfileDefaults) {
  EXPECT_EQ(tcp::TcpConfig::rfc().idle_restart, tcp::TcpConfig::IdleRestart::kRfc5681);
  EXPECT_EQ(tcp::TcpConfig::linux_profile().idle_restart, tcp::TcpConfig::IdleRestart::kLinux);
  EXPECT_TRUE(tcp::TcpConfig::rfc().limited_transmit);
  EXPECT_TRUE(tcp::TcpConfig::linux_profile().limited_transmit);
}

}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {

// The stats and events of the same growth: each per-segment ACK releases 2
// segments (the one it acknowledged and 1 SMSS of slow-start growth), so
// max_burst_segments = 2 (the initial window went out in answer to the
// application, not an ACK); cwnd_max_bytes = 24000; goodput = 21000 bytes
// x 8 over 0.3 s (first data segment at 0, last ACK at 300 ms) = 560000
// bit/s. cwnd events when cwnd moved max(SMSS, 1/8 of the last reported):
// 3000, 4000, ..., 9000 (steps of 1000), then 11000 (1125 needed), 13000
// (1375), 15000 (1625), 17000 (1875), 20000 (2125), 23000 (2500); 24000 is
// 1000 short of 2875 more. ssthresh is never set. rtt events: every sample moves SRTT by 1/8 at
// least 1 ms apart from the handshake's 0 ms one, whose SRTT 0 and RTO 1 s come first.
TEST(WindowStats, BurstCwndMaxGoodputAndEvents) {
  Harness h;
  grow_to_24000(h);
  const auto& s = h.conn().stats();
  EXPECT_EQ(s.max_burst_segments, 2u);
  EXPECT_EQ(s.cwnd_max_bytes, 24000u);
  EXPECT_EQ(h.conn().goodput_bps(), 560000u);
  std::vector<tcp::Event> cw, rtt;
  for (const auto& e : h.rec().events) {
    if (e.type == tcp::EventType::kCwnd) cw.push_back(e);
    if (e.type == tcp::EventType::kRtt) rtt.push_back(e);
  }
  ASSERT_FALSE(cw.empty());
  EXPECT_EQ(cw.front().cwnd, 3000u);  // the IW, once data has gone
  EXPECT_EQ(cw.back().cwnd, 23000u);
  EXPECT_EQ(cw.back().ssthresh, 0x7fffffffu);
  EXPECT_EQ(cw.size(), 13u);
  ASSERT_FALSE(rtt.empty());
  EXPECT_EQ(rtt.front().srtt, Duration::zero());
  EXPECT_EQ(rtt.front().rto, Duration::seconds(1));
}

}  // namespace
}  // namespace vigil::testing
