// Congestion-control scenarios (issue 11): RFC 2525 §2.8 window deflation
// with and without the bug, two flows sharing a bottleneck (Jain's
// fairness index), and NewReno's goodput on a randomly lossy path against
// the Mathis model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "scenario_helpers.hpp"
#include "tcp/seq.hpp"
#include "wire/packet.hpp"

namespace vigil::sim {
namespace {

using Sets = std::vector<std::pair<std::string, std::string>>;

ScenarioResult run(const std::string& name, const std::string& profile, const Sets& sets,
                   const std::vector<std::string>& bugs = {}, const std::string& pcap = "",
                   uint64_t seed = 1) {
  ScenarioParams p;
  p.seed = seed;
  p.profile = profile;
  p.sets = sets;
  p.bugs = bugs;
  p.pcap_path = pcap;
  ScenarioResult r;
  EXPECT_EQ(run_scenario(name, p, &r), "");
  return r;
}

uint64_t figure(const ScenarioResult& r, const std::string& name) {
  for (const auto& [k, v] : r.figures)
    if (k == name) return v;
  ADD_FAILURE() << "no figure " << name;
  return 0;
}

// ---------- RFC 2525 §2.8 ----------

// What the client sent in answer to the ACK that ended fast recovery (the
// first server ACK at or beyond the highest sequence sent before the fast
// retransmission), read from the client-side capture: data segments until
// the next server packet.
struct AfterRecovery {
  int fast_retransmissions = 0;
  int burst = -1;  // -1: no full ACK seen
};

AfterRecovery after_recovery(const std::string& path, uint16_t server_port) {
  AfterRecovery a;
  std::string err;
  auto reader = analyze::CaptureReader::open(path, &err);
  EXPECT_NE(reader, nullptr) << err;
  if (!reader) return a;
  uint32_t high = 0, recover = 0;
  bool have_high = false, in_recovery = false, counting = false;
  analyze::CapturedPacket pkt;
  while (reader->next(&pkt)) {
    wire::PacketView v;
    if (wire::parse_packet(pkt.ipv4, &v) != wire::Drop::kNone) continue;
    const bool from_client = v.tcp.dst_port() == server_port;
    const uint32_t len = static_cast<uint32_t>(v.tcp.payload().size());
    if (from_client) {
      if (len == 0) continue;
      const uint32_t end = v.tcp.seq() + len;
      if (have_high && tcp::seq_le(end, high) && !in_recovery && a.burst < 0) {
        ++a.fast_retransmissions;  // a resend below the highest sent
        in_recovery = true;
        recover = high;
      }
      if (counting) ++a.burst;
      if (!have_high || tcp::seq_gt(end, high)) high = end;
      have_high = true;
    } else {
      counting = false;
      if (in_recovery && tcp::seq_ge(v.tcp.ack(), recover)) {
        in_recovery = false;
        a.burst = 0;
        counting = true;
      }
    }
  }
  return a;
}

// RFC 2525 §2.8: NewReno without SACK, the window of 7 segments full, the
// 30th segment lost. The receiver's ACK for 31 is a new ACK (it also
// covers 29, which its delayed ACK held), so 32..36 draw 5 duplicate ACKs.
// At the third, ssthresh = FlightSize / 2 = 3.5 segments (CUBIC: 0.7 x
// cwnd), cwnd = ssthresh + 3, plus one per further duplicate (RFC 5681
// §3.2): 8.5. The resend fills the hole and the ACK of all 7 ends recovery
// with nothing in flight: a correct sender deflates to min(ssthresh,
// max(FlightSize, SMSS) + SMSS) = 2 segments (RFC 6582 §3.2 step 3) and
// sends 2; the faulty one keeps the inflated window and sends what the
// receiver's 7-segment window allows, 7 back to back. (The correct sender's
// max_burst_segments is 4 nonetheless: an ACK of 2 segments in the slow
// start after recovery adds 2 SMSS, RFC 3465 L = 2.)
TEST(Rfc2525WindowDeflation, TwoSegmentsAfterTheFullAckOrABurstOfSeven) {
  for (const char* profile : {"rfc", "linux"}) {
    for (const bool bug : {false, true}) {
      SCOPED_TRACE(std::string(profile) + (bug ? " --bug no-window-deflation" : ""));
      const std::string pcap = ::testing::TempDir() + "vigil_cc_wd_" + std::to_string(::getpid()) +
                               (bug ? "_bug" : "") + ".pcap";
      std::vector<std::string> bugs;
      if (bug) bugs.push_back("no-window-deflation");
      const ScenarioResult r = run("rfc2525-window-deflation", profile, {}, bugs, pcap);
      const AfterRecovery a = after_recovery(pcap, 47001);
      std::remove(pcap.c_str());
      EXPECT_EQ(a.fast_retransmissions, 1);
      EXPECT_EQ(a.burst, bug ? 7 : 2);
      const auto& c = endpoint(r, "client");
      EXPECT_EQ(c.stats.fast_retransmits, 1u);
      EXPECT_EQ(c.stats.timeouts, 0u);
      EXPECT_EQ(c.stats.dup_acks_received, 5u);
      EXPECT_EQ(c.stats.retransmitted_segments, 1u);
      EXPECT_EQ(endpoint(r, "server").bytes_received, 100'000u);
      if (bug) {
        EXPECT_EQ(c.stats.max_burst_segments, 7u);
      }
    }
  }
}

// RFC 2525 §2.6's setting (MSS 4312, the receiver ACKing every second
// segment, a 64 kB drop-tail queue at 10 Mbit/s, 40 MB). The correct
// sender grows one SMSS per round trip and loses about one segment per
// overflow: no timeouts. The faulty one adds SMSS/8 per ACK on top, about
// 0.5 + W/16 segments per round trip at a window of W (W/2 ACKs), so each
// overflow costs several segments: more than twice the retransmissions
// for 1.6 times the congestion events. Measured (rfc, seed 1): 31 fast
// retransmits and 55 resent segments against 50 and 125. With this queue
// (1.3 x the BDP) the link stays busy through every halving, so neither
// sender times out and goodput is the same (9.8 Mbit/s): the RFC's lower
// goodput needs a shallower queue.
TEST(Rfc2525CongestionAvoidance, TheBugLosesSeveralSegmentsPerWindow) {
  for (const char* profile : {"rfc", "linux"}) {
    SCOPED_TRACE(profile);
    const ScenarioResult ok = run("rfc2525-congestion-avoidance", profile, {});
    const ScenarioResult bug =
        run("rfc2525-congestion-avoidance", profile, {}, {"extra-additive-constant"});
    const auto& c = endpoint(ok, "client").stats;
    const auto& b = endpoint(bug, "client").stats;
    EXPECT_EQ(endpoint(ok, "server").bytes_received, 40'000'000u);
    EXPECT_EQ(endpoint(bug, "server").bytes_received, 40'000'000u);
    EXPECT_LE(c.timeouts, 1u);  // linux: one, in the first slow start's overshoot
    EXPECT_GT(b.fast_retransmits, c.fast_retransmits * 3 / 2);
    // linux: the correct sender runs CUBIC with RACK (26 fast retransmits,
    // 88 resent segments), the bug forces NewReno (49, 124): the resent
    // counts of two algorithms are not the bug's signature, its extra
    // congestion events are.
    EXPECT_GT(b.retransmitted_segments, c.retransmitted_segments);
    if (std::string(profile) == "rfc") {
      EXPECT_GT(b.retransmitted_segments, 2 * c.retransmitted_segments - 10);
      EXPECT_EQ(c.timeouts, 0u);
      EXPECT_EQ(c.fast_retransmits, 31u);
      EXPECT_EQ(c.retransmitted_segments, 55u);
      EXPECT_EQ(b.fast_retransmits, 50u);
      EXPECT_EQ(b.retransmitted_segments, 125u);
    }
  }
}

// ---------- Two flows, one bottleneck ----------

// Two bulk flows, same RTT, started together, 60 s over a 4 Mbit/s link
// with a 30 kB drop-tail queue: Jain's index (x1 + x2)^2 / (2 (x1^2 +
// x2^2)) of their goodputs at least 0.95, and together they keep the link
// busy: payload 1448 of 1500 bytes on the wire (with 40 bytes of IP and
// TCP header and 12 of timestamps) is 3.86 Mbit/s at most; at least 90 %
// of that.
TEST(TwoFlowsBottleneck, JainIndexAtLeast095ForCubicAndNewReno) {
  for (const char* profile : {"rfc", "linux"}) {
    for (const char* cc : {"newreno", "cubic"}) {
      SCOPED_TRACE(std::string(profile) + " congestion=" + cc);
      const ScenarioResult r = run("two-flows-bottleneck", profile, {{"congestion", cc}});
      const uint64_t g1 = figure(r, "flow1_goodput_bps");
      const uint64_t g2 = figure(r, "flow2_goodput_bps");
      EXPECT_GE(figure(r, "jain_x1000"), 950u) << g1 << " " << g2;
      EXPECT_GE(static_cast<double>(g1 + g2), 0.9 * 4e6 * 1448 / 1500);
    }
  }
}

// ---------- NewReno against the Mathis model ----------

// bulk-lossy with only random loss (no reordering or duplication), 50 ms
// each way, 10 Mbit/s, windows of 4 MB so neither buffer limits, NewReno in
// both profiles. Mathis et al. (1997): goodput = MSS / RTT x C / sqrt(p)
// with C = sqrt(3/2) = 1.22 for an ACK per segment; vigil's receiver ACKs
// every second segment, but RFC 3465 byte counting grows cwnd per byte
// acknowledged, so the per-segment constant holds. MSS = 1448 (1460 less
// 12 bytes of timestamps). RTT = the path's: 2 x 50 ms + one 1500-byte data
// packet and one 52-byte ACK serialised at 10 Mbit/s = 101.24 ms; the
// Mathis windows (38.6, 12.2, 7.0 segments) stay far below the 84-segment
// BDP, so no queue builds and SRTT stays at that. p is the link's loss
// probability (it drops ACKs too; cumulative ACKs make that nearly free).
// 40 MB at 0.1 % (about 28 losses: fewer make the figure a lottery), 10
// MB at 1 % and 3 %.
//
// At 3 % the rfc sender's timeouts, at its 1 s RTO floor, cost more than
// the model's ±25 % allows (the Mathis model leaves timeouts out): there
// the bound is Padhye et al.'s model with timeouts (SIGCOMM 1998, b = 1,
// T0 = the 1 s floor), B = 1 / (RTT sqrt(2p/3) + T0 min(1, 3 sqrt(3p/8))
// p (1 + 32 p^2)) segments per second: 481 kbit/s, ±25 %.
TEST(BulkLossyMathis, NewRenoGoodputWithin25PercentOfTheModel) {
  const double rtt = 0.1 + 1500 * 8 / 10e6 + 52 * 8 / 10e6;
  const double mss_bits = 1448 * 8;
  for (const char* profile : {"rfc", "linux"}) {
    for (const double p : {0.001, 0.01, 0.03}) {
      char loss[32];
      std::snprintf(loss, sizeof loss, "%g", p);
      SCOPED_TRACE(std::string(profile) + " loss " + loss);
      const ScenarioResult r = run("bulk-lossy", profile,
                                   {{"link.loss", loss},
                                    {"link.reorder", "0"},
                                    {"link.duplicate", "0"},
                                    {"link.delay", "50ms"},
                                    {"congestion", "newreno"},
                                    {"send_buffer", "4194304"},
                                    {"recv_buffer", "4194304"},
                                    {"bytes", p < 0.005 ? "40MB" : "10MB"}});
      const auto& c = endpoint(r, "client");
      ASSERT_EQ(endpoint(r, "server").bytes_received, p < 0.005 ? 40'000'000u : 10'000'000u);
      const double mathis = mss_bits / rtt * std::sqrt(1.5) / std::sqrt(p);
      double model = mathis;
      if (std::string(profile) == "rfc" && p > 0.02) {
        const double t0 = 1.0;
        const double pftk =
            1.0 / (rtt * std::sqrt(2 * p / 3) +
                   t0 * std::min(1.0, 3 * std::sqrt(3 * p / 8)) * p * (1 + 32 * p * p));
        model = pftk * mss_bits;
      }
      const double ratio = static_cast<double>(c.goodput_bps) / model;
      EXPECT_GE(ratio, 0.75) << c.goodput_bps << " bit/s, model " << model;
      EXPECT_LE(ratio, 1.25) << c.goodput_bps << " bit/s, model " << model;
      std::printf("  %s loss %s: goodput %llu bit/s, Mathis %.0f bit/s (x%.3f)\n", profile, loss,
                  static_cast<unsigned long long>(c.goodput_bps), mathis,
                  static_cast<double>(c.goodput_bps) / mathis);
    }
  }
}

}  // namespace
}  // namespace vigil::sim

namespace vigil::sim {
namespace {

// ---------- Buffer autotuning ----------

// bulk (10 MB) on a 100 Mbit/s, 20 ms link: the round trip is ~40 ms, so a
// fixed 128 kB receive window (the linux profile's tcp_rmem[1]) caps the
// sender at 131072 x 8 / 0.040 = 26.2 Mbit/s. With autotuning (linux's
// default) the receiver's window follows what its application reads
// (tcp_rcv_space_adjust) and the sender's buffer follows cwnd
// (tcp_sndbuf_expand, to tcp_wmem[2] = 4 MiB once cwnd passes 607
// segments: 2 x 607 x 3456 > 4194304); the link, not a buffer, limits.
TEST(BufferAutotuning, BuffersGrowWithTheTransferAndTheLinkLimits) {
  const ScenarioResult tuned = run("bulk", "linux", {{"link.rate", "100000000"}});
  const ScenarioResult fixed = run("bulk", "linux",
                                   {{"link.rate", "100000000"},
                                    {"recv_buffer.max", "0"},
                                    {"window_scale_buffer", "0"},
                                    {"send_buffer.max", "0"}});
  for (const auto* r : {&tuned, &fixed}) {
    ASSERT_EQ(endpoint(*r, "server").bytes_received, 10'000'000u);
  }
  const auto& tc = endpoint(tuned, "client");
  const auto& ts = endpoint(tuned, "server");
  EXPECT_EQ(tc.send_buffer_bytes, 4194304u);
  EXPECT_GT(ts.recv_buffer_bytes, 131072u);
  EXPECT_LE(ts.recv_buffer_bytes, 6u * 1024 * 1024);
  EXPECT_GT(tc.goodput_bps, 70'000'000u);
  const auto& fc = endpoint(fixed, "client");
  EXPECT_EQ(fc.send_buffer_bytes, 16384u);
  EXPECT_EQ(endpoint(fixed, "server").recv_buffer_bytes, 131072u);
  EXPECT_LT(fc.goodput_bps, 26'200'000u);
  // The rfc profile keeps its fixed 256 kB buffers.
  const ScenarioResult rfc = run("bulk", "rfc", {{"link.rate", "100000000"}});
  EXPECT_EQ(endpoint(rfc, "client").send_buffer_bytes, 262144u);
  EXPECT_EQ(endpoint(rfc, "server").recv_buffer_bytes, 262144u);
}

}  // namespace
}  // namespace vigil::sim
