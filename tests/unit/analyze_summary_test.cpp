// The per-flow summary (issue 13 point 14) on a hand-built connection whose
// every value is derived by hand below, the CSV quoting of RFC 4180 §2, and
// the collapsing of identical story lines (point 15).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/summary.hpp"
#include "wire/packet.hpp"

namespace vigil::analyze {
namespace {

const wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);
const wire::Ipv4Addr kB = wire::Ipv4Addr::of(10, 0, 0, 2);
constexpr uint8_t kAckF = wire::tcp_flags::kAck;
constexpr uint8_t kSynF = wire::tcp_flags::kSyn;
constexpr uint8_t kFinF = wire::tcp_flags::kFin;

struct Seg {
  int64_t t_ms = 0;  // capture time
  bool from_a = true;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = kAckF;
  uint16_t window = 65535;
  uint32_t len = 0;
  uint32_t sack_l = 0, sack_r = 0;
};

std::vector<uint8_t> build(const Seg& s) {
  wire::Ipv4Fields ip;
  ip.src = s.from_a ? kA : kB;
  ip.dst = s.from_a ? kB : kA;
  wire::TcpFields t;
  t.src_port = s.from_a ? 40000 : 80;
  t.dst_port = s.from_a ? 80 : 40000;
  t.seq = s.seq;
  t.ack = s.ack;
  t.flags = s.flags;
  t.window = s.window;
  wire::TcpOptions o;
  if (s.sack_r != 0) {
    o.sack_count = 1;
    o.sack[0].left = s.sack_l;
    o.sack[0].right = s.sack_r;
  }
  std::vector<uint8_t> payload(s.len, 0x41);
  std::vector<uint8_t> out(2000);
  out.resize(wire::build_ipv4_tcp(out, ip, t, o, payload));
  return out;
}

// A (client, ISN 1000) sends 3000 bytes to B (ISN 5000); the capture point
// is 2 ms from A and 30 ms (round trip) from B.
std::vector<Seg> connection() {
  return {
      {0, true, 1000, 0, kSynF},                             // SYN
      {30, false, 5000, 1001, kSynF | kAckF},                // SYN/ACK: RTT 30 ms
      {32, true, 1001, 5001},                                // ACK: RTT 2 ms (B's SYN)
      {40, true, 1001, 5001, kAckF, 65535, 1000},            // 1001..2001
      {41, true, 2001, 5001, kAckF, 65535, 1000},            // 2001..3001 (lost)
      {42, true, 3001, 5001, kAckF, 65535, 1000},            // 3001..4001
      {72, false, 5001, 2001},                               // RTT 72-40 = 32 ms
      {74, false, 5001, 2001, kAckF, 65535, 0, 3001, 4001},  // dup ACK + SACK
      {300, true, 2001, 5001, kAckF, 65535, 1000},           // timeout resend: Karn
      {330, false, 5001, 4001},                              // no sample (resent)
      {400, false, 5001, 4001, kAckF, 0},                    // B's window closes
      {900, false, 5001, 4001, kAckF, 65535},                // ... opens: 500 ms
      {1000, true, 4001, 5001, kFinF | kAckF},               // FIN
      {1030, false, 5001, 4002, kFinF | kAckF},              // RTT 30 ms (A's FIN)
      {1032, true, 4002, 5002},                              // RTT 2 ms (B's FIN)
  };
}

struct Result {
  std::vector<Flow> flows;
  std::vector<FlowSummary> sums;
};

Result run(const std::vector<Seg>& segs) {
  SummaryBuilder sb;
  FlowAnalyzer fa([&](const Flow& f, const PacketLabels& p) { sb.add(f, p); });
  uint64_t frame = 0;
  for (const Seg& s : segs) {
    fa.add(++frame, Instant::zero() + Duration::millis(s.t_ms), build(s));
  }
  fa.finish();
  Result r;
  r.flows = fa.flows();
  r.sums = sb.finish(r.flows);
  return r;
}

TEST(AnalyzeSummary, HandBuiltConnection) {
  const Result r = run(connection());
  ASSERT_EQ(r.flows.size(), 1u);
  ASSERT_EQ(r.sums.size(), 1u);
  const FlowSummary& s = r.sums[0];
  EXPECT_EQ(s.packets, 15u);
  // Payload on the wire: three 1000-byte segments and one resend.
  EXPECT_EQ(s.bytes[0], 4000u);
  EXPECT_EQ(s.bytes[1], 0u);
  // Distinct bytes B acknowledged: 1001..4001 (the FIN's ACK 4002 is not data).
  EXPECT_EQ(s.acked[0], 3000u);
  EXPECT_EQ(s.acked[1], 0u);
  EXPECT_EQ(s.duration, Duration::millis(1032));
  // 3000 * 8 bit / 1.032 s = 23255.81 bit/s.
  EXPECT_NEAR(s.goodput_bps(0), 23255.81, 0.01);
  EXPECT_EQ(s.goodput_bps(1), 0.0);
  // The client sent the payload, so its segments' samples: SYN 30 ms,
  // 1001..2001 32 ms, FIN 30 ms (the resent segment and the one sent after it
  // before the resend give none: Karn). Avg 92 / 3 = 30.666666 ms. B's
  // SYN/ACK and FIN (2 ms each) are the other direction's.
  EXPECT_EQ(s.rtt_dir, 0);
  EXPECT_EQ(s.rtt_samples, 3u);
  EXPECT_EQ(s.rtt_min, Duration::millis(30));
  EXPECT_EQ(s.rtt_max, Duration::millis(32));
  EXPECT_EQ(s.rtt_avg(), Duration::nanos(30666666));
  EXPECT_EQ(s.data_segments, 4u);
  EXPECT_EQ(s.retransmitted, 1u);
  EXPECT_DOUBLE_EQ(s.retransmission_pct(), 25.0);
  EXPECT_EQ(s.zero_window, Duration::millis(500));
  EXPECT_EQ(s.end, "fin");
  EXPECT_EQ(s.end_dir, 0);

  const std::string csv = summary_csv(r.flows, r.sums);
  EXPECT_EQ(csv,
            "flow,client,server,packets,bytes_c2s,bytes_s2c,acked_c2s,acked_s2c,duration_s,"
            "goodput_c2s_bps,goodput_s2c_bps,rtt_samples,rtt_min_s,rtt_avg_s,rtt_max_s,"
            "data_segments,retransmitted,retransmission_pct,zero_window_s,end,end_by\r\n"
            "0,10.0.0.1:40000,10.0.0.2:80,15,4000,0,3000,0,1.032000,23256,0,3,0.030000,"
            "0.030666,0.032000,4,1,25.00,0.500000,fin,client\r\n");
  const std::string table = summary_table(r.flows, r.sums);
  EXPECT_NE(table.find("23.26 kbit/s"), std::string::npos) << table;
  EXPECT_NE(table.find("30ms/30.666ms/32ms"), std::string::npos) << table;
  EXPECT_NE(table.find("25.0%"), std::string::npos) << table;
  EXPECT_NE(table.find("fin (client)"), std::string::npos) << table;
}

// A window still closed at the end counts until the flow's last packet.
TEST(AnalyzeSummary, ZeroWindowOpenAtTheEnd) {
  std::vector<Seg> segs = connection();
  segs.resize(11);                          // up to B's zero window at 400 ms
  segs.push_back({650, true, 4001, 5001});  // A's ACK: the last packet
  const Result r = run(segs);
  ASSERT_EQ(r.sums.size(), 1u);
  EXPECT_EQ(r.sums[0].zero_window, Duration::millis(250));  // 400 .. 650 ms
  EXPECT_EQ(r.sums[0].end, "open");
  EXPECT_EQ(r.sums[0].end_dir, -1);
}

TEST(AnalyzeSummary, CsvQuotingRfc4180) {
  EXPECT_EQ(csv_field("10.0.0.1:80"), "10.0.0.1:80");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(csv_field(""), "");
}

TEST(AnalyzeSummary, RateUnits) {
  EXPECT_EQ(format_rate(-1), "-");
  EXPECT_EQ(format_rate(980), "980 bit/s");
  EXPECT_EQ(format_rate(23255.81), "23.26 kbit/s");
  EXPECT_EQ(format_rate(1.5e6), "1.50 Mbit/s");
  EXPECT_EQ(format_rate(9.4e9), "9.40 Gbit/s");
}

TEST(AnalyzeText, IdenticalLinesCollapse) {
  std::string out;
  append_collapsed(out, {"a", "b", "b", "b", "c", "b"});
  EXPECT_EQ(out, "a\nb (3 times in a row)\nc\nb\n");
  std::string none;
  append_collapsed(none, {});
  EXPECT_EQ(none, "");
}

}  // namespace
}  // namespace vigil::analyze
