// Whole-simulator scenarios: exact schedules, exact delivery over lossy
// links, determinism of the pcap, corruption caught by checksums.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sim/scenario.hpp"

namespace vigil::sim {
namespace {

using tcp::EventType;
using tcp::State;

ScenarioResult run(const std::string& name, uint64_t seed,
                   std::vector<std::pair<std::string, std::string>> sets = {},
                   const std::string& pcap = "", const std::string& profile = "rfc") {
  ScenarioParams p;
  p.seed = seed;
  p.sets = std::move(sets);
  p.pcap_path = pcap;
  p.profile = profile;
  ScenarioResult r;
  const std::string err = run_scenario(name, p, &r);
  EXPECT_EQ(err, "");
  return r;
}

Instant ms(int64_t v) { return Instant::zero() + Duration::millis(v); }

struct Transition {
  std::string host;
  Instant time;
  State from, to;
};

std::vector<Transition> transitions(const ScenarioResult& r) {
  std::vector<Transition> t;
  for (const auto& e : r.events) {
    if (e.event.type != EventType::kStateChange) continue;
    t.push_back({r.hosts[e.host].name, e.event.time, e.event.from, e.event.to});
  }
  return t;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(HandshakeClose, ExactScheduleOverTenMillisecondLinks) {
  const ScenarioResult r = run("handshake-close", 1);
  // One-way delay 10 ms, no serialisation delay. The client's SYN leaves at
  // 0; the SYN-ACK is back at 20 ms; the client closes at once (FIN with
  // the handshake's ACK), the server sees both at 30 ms, closes on EOF with
  // FIN,ACK; at 40 ms one segment acknowledges the client's FIN and carries
  // the server's: RFC 9293 §3.10.7.4 processes the ACK first (FIN-WAIT-1 ->
  // FIN-WAIT-2, "continue processing in that state"), then the FIN
  // (FIN-WAIT-2 -> TIME-WAIT). The last ACK reaches the server at 50 ms.
  // TIME-WAIT lasts 2*MSL = 240 s in the rfc profile.
  const std::vector<Transition> want = {
      {"client", ms(0), State::kClosed, State::kSynSent},
      {"server", ms(10), State::kListen, State::kSynReceived},
      {"client", ms(20), State::kSynSent, State::kEstablished},
      {"client", ms(20), State::kEstablished, State::kFinWait1},
      {"server", ms(30), State::kSynReceived, State::kEstablished},
      {"server", ms(30), State::kEstablished, State::kCloseWait},
      {"server", ms(30), State::kCloseWait, State::kLastAck},
      {"client", ms(40), State::kFinWait1, State::kFinWait2},
      {"client", ms(40), State::kFinWait2, State::kTimeWait},
      {"server", ms(50), State::kLastAck, State::kClosed},
      {"client", ms(40 + 240000), State::kTimeWait, State::kClosed},
  };
  const auto got = transitions(r);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].host, want[i].host) << i;
    EXPECT_EQ(got[i].time, want[i].time) << i;
    EXPECT_EQ(got[i].from, want[i].from) << i;
    EXPECT_EQ(got[i].to, want[i].to) << i;
  }
  ASSERT_EQ(r.connections.size(), 2u);
  for (const auto& c : r.connections) {
    EXPECT_EQ(c.err, 0);
    EXPECT_EQ(c.state, State::kClosed);
  }
  // Client: SYN; FIN,ACK (carrying the handshake's ACK); the last ACK.
  // Server: SYN,ACK; FIN,ACK (carrying the ACK of the client's FIN).
  EXPECT_EQ(r.connections[0].stats.segments_sent, 3u);
  EXPECT_EQ(r.connections[1].stats.segments_sent, 2u);
  EXPECT_EQ(r.link_stats[0].offered, 3u);
  EXPECT_EQ(r.link_stats[1].offered, 2u);
}

TEST(HandshakeClose, LinuxProfileTimeWaitIsSixtySeconds) {
  const ScenarioResult r = run("handshake-close", 1, {}, "", "linux");
  const auto got = transitions(r);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back().to, State::kClosed);
  EXPECT_EQ(got.back().time, ms(40 + 60000));  // TCP_TIMEWAIT_LEN
}

TEST(Bulk, TenMegabytesIntactAndNearLinkRate) {
  const ScenarioResult r = run("bulk", 1);
  ASSERT_EQ(r.connections.size(), 2u);
  const auto& c = r.connections[0];
  const auto& s = r.connections[1];
  EXPECT_EQ(c.bytes_sent, 10'000'000u);
  EXPECT_EQ(s.bytes_received, 10'000'000u);
  EXPECT_EQ(c.sha256_sent, s.sha256_received);
  EXPECT_EQ(c.stats.retransmitted_segments, 0u);
  // 10 MB of payload needs at least 8 s at 10 Mbit/s; headers (40+12 bytes
  // per 1448) add 3.6 %. Finishing within 10 s shows the window opened up.
  Instant server_done;
  for (const auto& t : transitions(r)) {
    if (t.host == "server" && t.to == State::kCloseWait) server_done = t.time;
  }
  EXPECT_GT(server_done, ms(8000));
  EXPECT_LT(server_done, ms(10000));
}

TEST(BulkLossy, TwentySeedsDeliverTheStreamExactly) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const ScenarioResult r = run("bulk-lossy", seed);
    ASSERT_EQ(r.connections.size(), 2u);
    const auto& c = r.connections[0];
    const auto& s = r.connections[1];
    EXPECT_EQ(c.bytes_sent, 10'000'000u) << "seed " << seed;
    EXPECT_EQ(s.bytes_received, 10'000'000u) << "seed " << seed;
    EXPECT_EQ(c.sha256_sent, s.sha256_received) << "seed " << seed;
    EXPECT_NE(c.sha256_sent, "") << "seed " << seed;
    for (const auto& e : r.connections) {
      EXPECT_EQ(e.err, 0) << "seed " << seed << " " << e.host << ": " << e.detail;
      EXPECT_TRUE(e.state == State::kClosed || e.state == State::kTimeWait)
          << "seed " << seed << " " << e.host << " ended in " << tcp::state_name(e.state);
    }
    // The link really was lossy, reordering and duplicating.
    EXPECT_GT(r.link_stats[0].dropped_loss, 100u) << "seed " << seed;
    EXPECT_GT(r.link_stats[1].dropped_loss, 50u) << "seed " << seed;
    EXPECT_GT(r.link_stats[0].reordered, 0u);
    EXPECT_GT(r.link_stats[0].duplicated, 0u);
    EXPECT_GT(c.stats.retransmitted_segments, 0u);
  }
}

TEST(Determinism, SameSeedSamePcapBytes) {
  const std::string a = ::testing::TempDir() + "vigil_det_a.pcap";
  const std::string b = ::testing::TempDir() + "vigil_det_b.pcap";
  const std::string c = ::testing::TempDir() + "vigil_det_c.pcap";
  const auto ra = run("bulk-lossy", 3, {{"bytes", "2MB"}}, a);
  const auto rb = run("bulk-lossy", 3, {{"bytes", "2MB"}}, b);
  const auto rc = run("bulk-lossy", 4, {{"bytes", "2MB"}}, c);
  const std::string fa = read_file(a), fb = read_file(b), fc = read_file(c);
  EXPECT_GT(fa.size(), 1'000'000u);
  EXPECT_EQ(fa, fb);  // byte for byte
  EXPECT_NE(fa, fc);  // and the seed matters
  EXPECT_EQ(ra.events.size(), rb.events.size());
  EXPECT_EQ(ra.packets_captured, rb.packets_captured);
  std::remove(a.c_str());
  std::remove(b.c_str());
  std::remove(c.c_str());
}

TEST(Corruption, EveryFlippedBitIsCaughtAndCounted) {
  const auto r = run("bulk", 5, {{"link.corrupt", "2%"}, {"bytes", "2MB"}});
  const auto& c = r.connections[0];
  const auto& s = r.connections[1];
  EXPECT_EQ(s.bytes_received, 2'000'000u);
  EXPECT_EQ(c.sha256_sent, s.sha256_received);
  // Each corrupted packet is refused by the receiving host under a named
  // drop counter (a single bit flip always breaks a one's-complement sum,
  // or an earlier length/version check catches it).
  ASSERT_GT(r.link_stats[0].corrupted, 10u);
  EXPECT_EQ(r.hosts[1].drops.total_dropped(), r.link_stats[0].corrupted);
  EXPECT_EQ(r.hosts[0].drops.total_dropped(), r.link_stats[1].corrupted);
  EXPECT_GT(r.hosts[1].drops.get(wire::Drop::kTcpBadChecksum), 0u);
}

TEST(Errors, UnknownScenarioKeyAndValueNameTheChoices) {
  ScenarioResult r;
  ScenarioParams p;
  std::string err = run_scenario("no-such", p, &r);
  EXPECT_NE(err.find("valid scenarios: handshake-close, bulk, bulk-lossy"), std::string::npos)
      << err;
  p.sets = {{"link.colour", "blue"}};
  err = run_scenario("bulk", p, &r);
  EXPECT_NE(err.find("unknown key 'link.colour'"), std::string::npos) << err;
  EXPECT_NE(err.find("link.loss"), std::string::npos) << err;
  EXPECT_NE(err.find("rto.min"), std::string::npos) << err;
  p.sets = {{"link.loss", "150%"}};
  err = run_scenario("bulk", p, &r);
  EXPECT_NE(err.find("link.loss expects a probability"), std::string::npos) << err;
  p.sets = {{"rto.min", "fast"}};
  err = run_scenario("bulk", p, &r);
  EXPECT_NE(err.find("rto.min expects a duration"), std::string::npos) << err;
  p.sets = {};
  p.profile = "bsd";
  err = run_scenario("bulk", p, &r);
  EXPECT_NE(err.find("valid profiles: rfc, linux"), std::string::npos) << err;
}

TEST(SimultaneousOpen, Rfc9293Figure8ThenDataBothWays) {
  // Both hosts connect() at 0 from fixed ports to each other's; 10 ms links.
  // RFC 9293 figure 8: each SYN arrives at 10 ms in SYN-SENT (-> SYN-RECEIVED,
  // SYN,ACK); each SYN,ACK arrives at 20 ms in SYN-RECEIVED and its ACK is
  // acceptable (-> ESTABLISHED, nothing sent in reply). Each side then
  // writes 1000 bytes and closes: one segment with data and FIN at 20 ms
  // (FIN-WAIT-1). At 30 ms each takes the other's data and FIN while its own
  // FIN is unacknowledged (-> CLOSING, ACK at once); at 40 ms that ACK
  // arrives (-> TIME-WAIT), and 2*MSL = 240 s later CLOSED. Four segments
  // each: SYN, SYN,ACK, data+FIN, ACK. (Before the fix each answered the
  // other's SYN,ACK with a SYN,ACK, for ever.)
  const ScenarioResult r = run("simultaneous-open", 1);
  for (const char* host : {"client", "server"}) {
    std::vector<Transition> got;
    for (const auto& t : transitions(r)) {
      if (t.host == host) got.push_back(t);
    }
    const std::vector<Transition> want = {
        {host, ms(0), State::kClosed, State::kSynSent},
        {host, ms(10), State::kSynSent, State::kSynReceived},
        {host, ms(20), State::kSynReceived, State::kEstablished},
        {host, ms(20), State::kEstablished, State::kFinWait1},
        {host, ms(30), State::kFinWait1, State::kClosing},
        {host, ms(40), State::kClosing, State::kTimeWait},
        {host, ms(40 + 240000), State::kTimeWait, State::kClosed},
    };
    ASSERT_EQ(got.size(), want.size()) << host;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].time, want[i].time) << host << " " << i;
      EXPECT_EQ(got[i].from, want[i].from) << host << " " << i;
      EXPECT_EQ(got[i].to, want[i].to) << host << " " << i;
    }
  }
  ASSERT_EQ(r.connections.size(), 2u);
  for (const auto& c : r.connections) {
    EXPECT_EQ(c.err, 0) << c.role;
    EXPECT_EQ(c.bytes_sent, 1000u) << c.role;
    EXPECT_EQ(c.bytes_received, 1000u) << c.role;
    EXPECT_EQ(c.stats.segments_sent, 4u) << c.role;
    EXPECT_EQ(c.stats.retransmitted_segments, 0u) << c.role;
  }
  EXPECT_EQ(r.connections[0].sha256_received, r.connections[1].sha256_sent);
  EXPECT_EQ(r.connections[1].sha256_received, r.connections[0].sha256_sent);
  EXPECT_EQ(r.connections[0].local, "10.0.0.1:47002");
  EXPECT_EQ(r.connections[0].remote, "10.0.0.2:47001");
  EXPECT_EQ(r.link_stats[0].offered, 4u);
  EXPECT_EQ(r.link_stats[1].offered, 4u);
}

}  // namespace
}  // namespace vigil::sim
