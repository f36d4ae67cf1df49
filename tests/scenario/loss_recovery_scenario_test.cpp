// Loss recovery in whole simulated runs: the tail-loss scenario (RFC 8985
// TLP and RACK against the RTO), multiple losses, and reordering without
// loss (spurious cuts undone or kept).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "sim/scenario.hpp"

namespace vigil::sim {
namespace {

ScenarioResult run(const std::string& name, const std::string& profile,
                   std::vector<std::pair<std::string, std::string>> sets) {
  ScenarioParams p;
  p.profile = profile;
  p.sets = std::move(sets);
  ScenarioResult r;
  EXPECT_EQ(run_scenario(name, p, &r), "");
  return r;
}

// RFC 8985 §7: the lost last segment is resent by the probe (the last
// segment again, TLP.is_retrans) one PTO after the last ACK; its ACK
// repairs the tail: one retransmission, one probe, no timeout, the stream
// intact. (With the last 2 or 3 lost, RACK should mark the earlier ones
// lost from the probe's SACK; it does not yet: RACK.min_RTT comes only from
// data segments, which queued behind each other, so the probe's faster
// round trip is taken as ambiguous (§6.2 step 2) and the RTO repairs them.
// Linux's min_rtt includes the handshake's sample.)
TEST(TailLossScenario, ProbeRepairsTheLastSegment) {
  const auto r = run("tail-loss", "linux", {{"drop.tail", "1"}});
  const auto& c = r.connections[0];
  EXPECT_EQ(c.err, 0);
  EXPECT_EQ(c.bytes_sent, 100'000u);
  ASSERT_EQ(r.connections.size(), 2u);
  EXPECT_EQ(r.connections[1].bytes_received, 100'000u);
  EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
  EXPECT_EQ(c.stats.timeouts, 0u);
  EXPECT_EQ(c.stats.tlp_probes, 1u);
  EXPECT_EQ(c.stats.retransmitted_segments, 1u);
}

// Without the probe (the rfc profile: no TLP, no RACK) only the RTO
// repairs a tail: one timeout each.
TEST(TailLossScenario, WithoutTheProbeTheRtoRepairsTheTail) {
  for (int n = 1; n <= 3; ++n) {
    SCOPED_TRACE("drop.tail=" + std::to_string(n));
    const auto r = run("tail-loss", "rfc", {{"drop.tail", std::to_string(n)}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    EXPECT_EQ(c.stats.timeouts, 1u);
    EXPECT_EQ(c.stats.tlp_probes, 0u);
  }
}

// RFC 6675 recovery with RACK (the linux profile): 1 to 10 consecutive
// segments of one window lost, each resent once, no timeout.
TEST(RecoveryMultiLossScenario, RackRepairsOneToTenLossesWithoutAnRto) {
  for (int n = 1; n <= 10; ++n) {
    SCOPED_TRACE("drop.burst=" + std::to_string(n));
    const auto r = run("recovery-multi-loss", "linux", {{"drop.burst", std::to_string(n)}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    ASSERT_EQ(r.connections.size(), 2u);
    EXPECT_EQ(r.connections[1].bytes_received, 200'000u);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    EXPECT_EQ(c.stats.timeouts, 0u);
    EXPECT_EQ(c.stats.retransmitted_segments, static_cast<uint64_t>(n));
    EXPECT_EQ(c.stats.rack_retransmits, static_cast<uint64_t>(n));
    // Each lost segment resent whole and alone: segment k (from 0) starts
    // at ISN + 1 + 1448 k (MSS 1460 less 12 of timestamps), the first lost
    // is the 30th; never more than one MSS (a run of lost segments once
    // went out as 1449-byte pieces).
    std::vector<uint32_t> offsets;
    for (const auto& e : r.events) {
      if (e.host != 0 || e.event.type != tcp::EventType::kRetransmit) continue;
      EXPECT_EQ(e.event.len, 1448u);
      offsets.push_back(e.event.seq);
    }
    ASSERT_EQ(offsets.size(), static_cast<size_t>(n));
    std::sort(offsets.begin(), offsets.end());
    for (int k = 1; k < n; ++k) EXPECT_EQ(offsets[k] - offsets[k - 1], 1448u) << k;
  }
}

}  // namespace
}  // namespace vigil::sim

namespace vigil::sim {
namespace {

// reorder-undo, linux profile (IW 10, MSS 1448 with timestamps, CUBIC,
// RACK, PRR, quick ACKs). Derivation, 10 ms each way, no rate limit:
// - 0 SYN, 20 ms established (SRTT 20 ms); #1..#10 sent at 20 (cwnd 14480).
// - 30: the server gets #1, #2, #4..#10 (#3 held until 60) and answers
//   with one ACK: 2897, SACK 4345..14481.
// - 40: RACK (RFC 8985 §6.2): seven SACKed segments and no reordering seen
//   yet, so reo_wnd = 0; #3, sent at 20, is lost at 20 + RACK.rtt 20 + 0 =
//   40: recovery, ssthresh = 14480 × 0.7 = 10136 (RFC 9438 §4.6); PRR (RFC
//   6937) with pipe 0 gives cwnd 10136: #3 resent, #11..#16 new.
// - 50: #3 (resent) and #11..#16 arrive: ACK 23169 (all), echoing the
//   resend's TSval, so no Eifel evidence (RFC 3522).
// - 60: the ACK ends recovery (cwnd = ssthresh = 10136, RFC 6937 §3);
//   #17..#23 go. The original #3 reaches the server: a duplicate, answered
//   with ACK 23169 and D-SACK 2897..4345 (RFC 2883 §4).
// - 70: the D-SACK covers the episode's one retransmission (RFC 3708 §3):
//   undone to cwnd = max(10136, 14480) = 14480, ssthresh = max(10136,
//   slow start's 2^31 - 1) (Linux tcp_undo_cwnd_reduction).
// With undo=off the same run keeps cwnd 10136 and ssthresh 10136 at 70.
TEST(ReorderUndoScenario, DsackUndoesTheSpuriousFastRetransmit) {
  for (const bool undo : {true, false}) {
    SCOPED_TRACE(undo ? "undo=on" : "undo=off");
    const auto r = run("reorder-undo", "linux", {{"undo", undo ? "on" : "off"}});
    const auto& c = r.connections[0];
    EXPECT_EQ(c.err, 0);
    ASSERT_EQ(r.connections.size(), 2u);
    EXPECT_EQ(r.connections[1].sha256_received, c.sha256_sent);
    // One retransmission, of the segment RACK marked lost (the counter
    // fast_retransmits counts recoveries a duplicate ACK or the reordering
    // timer started; this one starts on an ACK of new data).
    EXPECT_EQ(c.stats.rack_retransmits, 1u);
    EXPECT_EQ(c.stats.retransmitted_segments, 1u);
    EXPECT_EQ(c.stats.timeouts, 0u);
    EXPECT_EQ(c.stats.undos, undo ? 1u : 0u);
    EXPECT_EQ(c.stats.spurious_retransmits, undo ? 1u : 0u);
    const Instant at40 = Instant::zero() + Duration::millis(40);
    const Instant at70 = Instant::zero() + Duration::millis(70);
    std::vector<Instant> rtx;
    const tcp::Event* undo_ev = nullptr;
    uint32_t cwnd_40 = 0, ssthresh_40 = 0, cwnd_70 = 0, ssthresh_70 = 0;
    for (const auto& e : r.events) {
      if (r.hosts[e.host].name != r.hosts[0].name) continue;
      if (e.event.type == tcp::EventType::kRetransmit) rtx.push_back(e.event.time);
      if (e.event.type == tcp::EventType::kUndo) undo_ev = &e.event;
      if (e.event.type == tcp::EventType::kCwnd && e.event.time == at40) {
        cwnd_40 = e.event.cwnd;
        ssthresh_40 = e.event.ssthresh;
      }
      if (e.event.type == tcp::EventType::kCwnd && e.event.time <= at70) {
        cwnd_70 = e.event.cwnd;
        ssthresh_70 = e.event.ssthresh;
      }
    }
    ASSERT_EQ(rtx.size(), 1u);
    EXPECT_EQ(rtx[0], at40);
    EXPECT_EQ(cwnd_40, 10136u);
    EXPECT_EQ(ssthresh_40, 10136u);
    EXPECT_EQ(cwnd_70, undo ? 14480u : 10136u);
    EXPECT_EQ(ssthresh_70, undo ? 0x7fffffffu : 10136u);
    if (undo) {
      ASSERT_NE(undo_ev, nullptr);
      EXPECT_EQ(undo_ev->time, at70);
      EXPECT_EQ(undo_ev->cwnd, 14480u);
      EXPECT_EQ(undo_ev->seq - c.iss, 2897u);
    } else {
      EXPECT_EQ(undo_ev, nullptr);
    }
  }
}

}  // namespace
}  // namespace vigil::sim

namespace vigil::sim {
namespace {

// reordering: 2 MB (1382 data segments of 1448 bytes, timestamps on) over
// a 10 Mbit/s, 20 ms link that holds 3% of the client's packets back by
// 8 ms and loses none; 128 kB buffers both ways. At 10 Mbit/s a segment
// takes 1.2 ms to serialise, so a held segment is overtaken by up to 6
// (8 / 1.2) segments sent after it: each of those arrives above a hole and
// is ACKed at once (RFC 5681 §4.2), so 3 or more duplicate ACKs follow.
// The counts below were checked against the run's captures (server side:
// which originals arrived late and how many segments overtook each).
// timer.hz=0: no count depends on it, but the linux default may change.
ScenarioResult run_reordering(const std::string& profile, const char* reorder) {
  return run("reordering", profile, {{"timer.hz", "0"}, {"link.reorder", reorder}});
}

void expect_intact_without_loss(const ScenarioResult& r) {
  ASSERT_EQ(r.connections.size(), 2u);
  EXPECT_EQ(r.connections[0].err, 0);
  EXPECT_EQ(r.connections[1].bytes_received, 2'000'000u);
  EXPECT_EQ(r.connections[1].sha256_received, r.connections[0].sha256_sent);
  const LinkStats& up = r.link_stats[0];
  EXPECT_EQ(up.dropped_loss + up.dropped_queue + up.dropped_blackhole, 0u);
  EXPECT_EQ(r.link_stats[1].reordered, 0u);  // the ACKs keep their order
  EXPECT_EQ(r.connections[0].stats.timeouts, 0u);
}

// linux: 43 of the client's 1385 packets held back (3.1%); 42 are data
// segments sent in a burst, each overtaken by 4 to 6 others. Only the
// first (byte 92673) is taken for loss: with no reordering seen yet and 3
// segments SACKed above it, reo_wnd is 0 (RFC 8985 §6.2 step 4), and its
// deadline, xmit_ts + RACK.rtt, takes RACK.rtt from a segment sent after
// it, which shrank as the slow-start queue drained: it passed before the
// held original arrived. One RACK retransmission, one window cut. The
// ACK of the late original echoes a timestamp older than the resend:
// Eifel (RFC 3522) undoes the cut at once, so the D-SACK of the resend
// that follows (0.295 s) finds no episode open (spurious_retransmits
// counts D-SACKed ones only). The second late original (byte 115841) came
// while the queue grew (a later RACK.rtt, a later deadline); delivered
// below RACK.fack and never resent, it set RACK.reord, so reo_wnd is
// min_RTT/4, about 10 ms, doubled by that D-SACK and kept for 16
// recoveries: the 8 ms holds stay within it and none of the other 41 is
// resent. Every cut undone; goodput within 1% of the run without
// reordering.
TEST(ReorderingScenario, LinuxUndoesEveryWindowCut) {
  const auto r = run_reordering("linux", "0.03");
  expect_intact_without_loss(r);
  // The SYN, 1382 data segments (the handshake's ACK on the first, the FIN
  // on the last, 312 bytes), the ACK of the server's FIN: 1384, plus
  // every resend.
  EXPECT_EQ(r.link_stats[0].offered, 1384u + 1u);
  EXPECT_EQ(r.link_stats[0].reordered, 43u);
  const auto& s = r.connections[0].stats;
  EXPECT_EQ(s.fast_retransmits, 1u);  // window cuts (recoveries started)
  EXPECT_EQ(s.rack_retransmits, 1u);
  EXPECT_EQ(s.retransmitted_segments, 1u);
  EXPECT_EQ(s.undos, s.fast_retransmits);
  EXPECT_EQ(s.spurious_retransmits, 0u);
  EXPECT_EQ(s.tlp_probes, 0u);
  std::string cause;
  for (const auto& e : r.events) {
    if (e.host == 0 && e.event.type == tcp::EventType::kUndo) cause = e.detail;
  }
  EXPECT_EQ(cause, "timestamp");
  const auto base = run_reordering("linux", "0");
  expect_intact_without_loss(base);
  EXPECT_EQ(base.link_stats[0].offered, 1384u);
  EXPECT_EQ(base.connections[0].stats.retransmitted_segments, 0u);
  EXPECT_GE(r.connections[0].goodput_bps * 100, base.connections[0].goodput_bps * 99);
}

// rfc (three duplicate ACKs, no undo): 48 packets held back; of the 35
// originals that arrived late, 18 were overtaken by 3 or more segments.
// 14 of them start fast recovery (RFC 6675 §5 step 4); the other 4 arrive
// while an earlier recovery runs, SND.UNA not past its RecoveryPoint (RFC
// 6675 §5.1: one of them exactly at it). Each cut (ssthresh = FlightSize/2)
// is kept. 71 more segments are resent inside those recoveries, every one
// spurious too (the link loses nothing, and the server receives 85
// duplicates): a partial ACK with nothing SACKed above it resends SND.UNA
// (RFC 6582 §3.2 step 5, sack_recovery.cpp), though the data behind it is
// still in flight. Goodput falls to a third of the run without reordering.
TEST(ReorderingScenario, RfcKeepsSpuriousCuts) {
  const auto r = run_reordering("rfc", "0.03");
  expect_intact_without_loss(r);
  EXPECT_EQ(r.link_stats[0].offered, 1384u + 85u);  // as in linux's run, plus every resend
  EXPECT_EQ(r.link_stats[0].reordered, 48u);
  const auto& s = r.connections[0].stats;
  EXPECT_EQ(s.fast_retransmits, 14u);
  EXPECT_EQ(s.retransmitted_segments, 85u);
  EXPECT_EQ(s.rack_retransmits, 0u);
  EXPECT_EQ(s.undos, 0u);
  EXPECT_EQ(s.spurious_retransmits, 0u);  // rfc does not look for the evidence
  const auto base = run_reordering("rfc", "0");
  expect_intact_without_loss(base);
  EXPECT_EQ(base.connections[0].stats.fast_retransmits, 0u);
  EXPECT_LT(r.connections[0].goodput_bps * 3, base.connections[0].goodput_bps);
  const auto linux_run = run_reordering("linux", "0.03");
  EXPECT_LT(r.connections[0].goodput_bps * 3, linux_run.connections[0].goodput_bps);
}

}  // namespace
}  // namespace vigil::sim

namespace vigil::sim {
namespace {

struct SpikeRun {
  ScenarioResult r;
  std::vector<const RecordedEvent*> rto;  // the client's RTO retransmissions
  const RecordedEvent* undo = nullptr;
  const RecordedEvent* cwnd_at_first_rto = nullptr;
  Instant last_rtt_before_rto;  // the last ACK with an RTT sample before the first RTO
};

SpikeRun run_spike(const std::string& profile, const char* timestamps) {
  SpikeRun s;
  s.r = run("delay-spike", profile, {{"timer.hz", "0"}, {"timestamps", timestamps}});
  std::vector<Instant> rtt_times;
  for (const auto& e : s.r.events) {
    if (e.host != 0) continue;
    if (e.event.type == tcp::EventType::kRetransmit) {
      EXPECT_EQ(e.event.timer, tcp::RetransmitTimer::kRto);
      s.rto.push_back(&e);
    }
    if (e.event.type == tcp::EventType::kRtt) rtt_times.push_back(e.event.time);
    if (e.event.type == tcp::EventType::kCwnd && s.rto.empty()) s.cwnd_at_first_rto = &e;
    if (e.event.type == tcp::EventType::kUndo) s.undo = &e;
  }
  // Not the estimate's move at the timeout itself (the back-off).
  for (const Instant t : rtt_times) {
    if (!s.rto.empty() && t < s.rto[0]->event.time) s.last_rtt_before_rto = t;
  }
  EXPECT_EQ(s.r.connections[0].err, 0);
  EXPECT_EQ(s.r.connections[1].sha256_received, s.r.connections[0].sha256_sent);
  const LinkStats& up = s.r.link_stats[0];
  EXPECT_EQ(up.dropped_loss + up.dropped_queue + up.dropped_blackhole, 0u);
  return s;
}

// delay-spike: the client's packets reaching the server's end from 0.3 s
// are all delivered at 1.8 s, in order; nothing is lost. The server ACKs
// the burst at once (it holds a resend as a duplicate: D-SACK pending):
// its ACK reaches the client 10 ms + 64 bytes at 10 Mbit/s (51.2 us) later,
// at 1.8100512 s (52 bytes and 41.6 us without timestamps), covering all.
//
// linux: the tail-loss probe (new data), then the RTO from it (srtt +
// 200 ms) and once more backed off; both resend the segment at SND.UNA
// (the 314,217th byte). The first cut cwnd 180 segments (260640) to one,
// ssthresh to 0.7 × 260640 = 182448 (RFC 9438 §4.6). The burst's ACK
// echoes the TSval of the original at SND.UNA, older than the first
// resend: Eifel (RFC 3522) undoes the cut at once, to cwnd 260640 and
// slow start's ssthresh. Its D-SACK names one of the two resends (one
// spurious_retransmits; RFC 3708 alone would need both). Without
// timestamps the same ACK undoes it by F-RTO (RFC 5682 §3.1 step 2: it
// acknowledges data never resent).
TEST(DelaySpikeScenario, LinuxUndoesTheSpuriousTimeout) {
  for (const char* ts : {"on", "off"}) {
    SCOPED_TRACE(std::string("timestamps=") + ts);
    const bool on = std::string(ts) == "on";
    const auto s = run_spike("linux", ts);
    const auto& c = s.r.connections[0];
    EXPECT_EQ(c.stats.timeouts, 2u);
    EXPECT_EQ(c.stats.tlp_probes, 1u);
    EXPECT_EQ(c.stats.retransmitted_segments, 2u);
    ASSERT_EQ(s.rto.size(), 2u);
    EXPECT_EQ(s.rto[0]->event.seq, s.rto[1]->event.seq);
    if (on) {
      EXPECT_EQ(s.rto[0]->event.seq - c.iss, 314'217u);
    }
    // RFC 6298 §5.5: the second RTO comes after the first's backed-off RTO.
    EXPECT_EQ(s.rto[1]->event.time - s.rto[0]->event.time, s.rto[0]->event.rto);
    ASSERT_NE(s.cwnd_at_first_rto, nullptr);
    EXPECT_EQ(s.cwnd_at_first_rto->event.cwnd, 1u * (on ? 1448 : 1460));
    ASSERT_NE(s.undo, nullptr);
    EXPECT_EQ(s.undo->detail, on ? "timestamp" : "frto");
    EXPECT_EQ(s.undo->event.time, Instant::zero() + Duration::micros(on ? 1'810'051 : 1'810'041) +
                                      Duration::nanos(on ? 200 : 600));
    EXPECT_EQ(s.undo->event.ssthresh, 0x7fffffffu);
    if (on) {
      EXPECT_EQ(s.cwnd_at_first_rto->event.ssthresh, 182'448u);
      EXPECT_EQ(s.undo->event.cwnd, 260'640u);
    }
    EXPECT_EQ(c.stats.undos, 1u);
    EXPECT_EQ(c.stats.spurious_retransmits, 1u);
  }
}

// rfc: no probe, RTO floor 1 s (RFC 6298 (2.4)): the one timeout comes
// 1 s after the last ACK before the stall (the server's delayed ACK) and
// resends one segment; the burst's ACK covers it before the next. The cut
// (ssthresh = FlightSize / 2: 90 segments of 1448 in flight, the 128 kB
// send buffer's whole segments, so 65160; cwnd one segment) is kept: no
// undo, slow start from one segment.
TEST(DelaySpikeScenario, RfcKeepsTheSpuriousTimeoutsCut) {
  const auto s = run_spike("rfc", "on");
  const auto& c = s.r.connections[0];
  EXPECT_EQ(c.stats.timeouts, 1u);
  EXPECT_EQ(c.stats.retransmitted_segments, 1u);
  ASSERT_EQ(s.rto.size(), 1u);
  EXPECT_EQ(s.rto[0]->event.time - s.last_rtt_before_rto, Duration::seconds(1));
  ASSERT_NE(s.cwnd_at_first_rto, nullptr);
  EXPECT_EQ(s.cwnd_at_first_rto->event.cwnd, 1448u);
  EXPECT_EQ(s.cwnd_at_first_rto->event.ssthresh, 65'160u);
  EXPECT_EQ(s.undo, nullptr);
  EXPECT_EQ(c.stats.undos, 0u);
  uint32_t ssthresh_after = 0;
  for (const auto& e : s.r.events) {
    if (e.host == 0 && e.event.type == tcp::EventType::kCwnd) ssthresh_after = e.event.ssthresh;
  }
  EXPECT_EQ(ssthresh_after, 65'160u);  // never undone, no later cut
}

}  // namespace
}  // namespace vigil::sim
