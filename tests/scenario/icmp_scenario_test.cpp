// ICMP in the simulator: a router answering with destination unreachable
// (`icmp-unreachable`) and an attacker forging ICMP errors that quote
// in-flight segments of a 2 MB transfer (`icmp-forged`). One-way delay is
// 10 ms in the first (20 ms to the router and back), 20 ms in the second.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "scenario_helpers.hpp"
#include "sim/scenario.hpp"
#include "wire/packet.hpp"

namespace vigil::sim {
namespace {

using tcp::CloseReason;
using tcp::EventType;

ScenarioResult run(const std::string& name, const std::string& profile = "rfc",
                   std::vector<std::pair<std::string, std::string>> sets = {},
                   const std::string& pcap = "") {
  ScenarioParams p;
  p.profile = profile;
  p.sets = std::move(sets);
  p.pcap_path = pcap;
  ScenarioResult r;
  EXPECT_EQ(run_scenario(name, p, &r), "");
  return r;
}

std::vector<tcp::Event> client_events(const ScenarioResult& r, EventType t) {
  std::vector<tcp::Event> v;
  for (const auto& e : r.events) {
    if (r.hosts[e.host].name == "client" && e.event.type == t) v.push_back(e.event);
  }
  return v;
}

TEST(IcmpUnreachable, EstablishedEveryCodeIsSoftAndBecomesTheR2Errno) {
  struct Case {
    const char* code;
    int err;
  };
  for (const char* profile : {"rfc", "linux"}) {
    for (const Case c : {Case{"host", EHOSTUNREACH}, Case{"net", ENETUNREACH},
                         Case{"port", ECONNREFUSED}, Case{"protocol", ENOPROTOOPT}}) {
      SCOPED_TRACE(std::string(profile) + " " + c.code);
      const auto r = run("icmp-unreachable", profile, {{"icmp.code", c.code}});
      const auto& cl = endpoint(r, "client");
      EXPECT_TRUE(cl.established);
      // One ICMP per transmission (the original and 15 retransmissions;
      // linux also sends its tail-loss probe, RFC 8985 §7), none fatal
      // (RFC 5927 §4.2, Linux's sk_err_soft); R2 then reports the
      // remembered errno.
      EXPECT_EQ(client_events(r, EventType::kIcmpReceived).size(),
                std::string(profile) == "rfc" ? 16u : 17u);
      EXPECT_EQ(cl.err, c.err);
      EXPECT_EQ(cl.reason, CloseReason::kRetransmission);
      // rfc R2: 15 timeouts of 1 s doubling to 60 s, 663 s after the write at 2 s.
      if (std::string(profile) == "rfc") {
        EXPECT_EQ(cl.time, ms(2000 + 663000));
      }
    }
  }
}

TEST(IcmpUnreachable, AnsweredSynHardCodesAbortRfcLinuxEveryCode) {
  // icmp.from=0: the SYN (sent at 0) reaches the router at 10 ms; its
  // answer is back at 20 ms.
  struct Case {
    const char* profile;
    const char* code;
    int err;
    bool aborts;  // RFC 1122 §4.2.3.9 (rfc) / tcp_v4_err in SYN_SENT (linux)
  };
  for (const Case c :
       {Case{"rfc", "port", ECONNREFUSED, true}, Case{"rfc", "protocol", ENOPROTOOPT, true},
        Case{"rfc", "host", EHOSTUNREACH, false}, Case{"rfc", "net", ENETUNREACH, false},
        Case{"linux", "port", ECONNREFUSED, true}, Case{"linux", "protocol", ENOPROTOOPT, true},
        Case{"linux", "host", EHOSTUNREACH, true}, Case{"linux", "net", ENETUNREACH, true}}) {
    SCOPED_TRACE(std::string(c.profile) + " " + c.code);
    const auto r = run("icmp-unreachable", c.profile, {{"icmp.code", c.code}, {"icmp.from", "0s"}});
    const auto& cl = endpoint(r, "client");
    EXPECT_FALSE(cl.established);
    EXPECT_EQ(cl.err, c.err);
    if (c.aborts) {
      EXPECT_EQ(cl.reason, CloseReason::kIcmp);
      EXPECT_EQ(cl.time, ms(20));
      EXPECT_EQ(client_events(r, EventType::kIcmpReceived).size(), 1u);
    } else {
      // Soft: the SYN retries run out as without ICMP, 7 timeouts at
      // 1, 2, 4, ..., 60 s: 183 s; each SYN got its answer (8).
      EXPECT_EQ(cl.reason, CloseReason::kRetransmission);
      EXPECT_EQ(cl.time, ms(183000));
      EXPECT_EQ(client_events(r, EventType::kIcmpReceived).size(), 8u);
    }
  }
}

// The client's data segments from a capture at its interface: (time, payload).
std::vector<std::pair<Instant, size_t>> client_data(const std::string& pcap) {
  std::vector<std::pair<Instant, size_t>> v;
  std::string error;
  auto reader = analyze::CaptureReader::open(pcap, &error);
  EXPECT_NE(reader, nullptr) << error;
  if (!reader) return v;
  analyze::CapturedPacket p;
  while (reader->next(&p)) {
    wire::PacketView pkt;
    if (wire::parse_packet(p.ip, &pkt) != wire::Drop::kNone) continue;
    if (pkt.kind != wire::PacketView::Kind::kTcp) continue;
    if (pkt.ip.src() != wire::Ipv4Addr::of(10, 0, 0, 1) || pkt.tcp.payload().empty()) continue;
    v.emplace_back(p.time, pkt.tcp.payload().size());
  }
  EXPECT_EQ(reader->error(), "");
  return v;
}

TEST(IcmpForged, ThreeMegabytesSurviveSixteenForgedErrorsAndTheMssStopsAt500) {
  // The forger sends its k-th ICMP (k = 0..15) for the first client data
  // segment reaching the server's side at or after T_k = 500 + 100 k ms,
  // with code port, protocol, host, frag-needed (MTU 68) for k mod 4.
  constexpr uint32_t kCodes[4] = {3, 2, 1, 4};
  for (const char* profile : {"rfc", "linux"}) {
    SCOPED_TRACE(profile);
    const std::string pcap = ::testing::TempDir() + "vigil_icmp_forged_" +
                             std::to_string(::getpid()) + "_" + profile + ".pcap";
    const auto r = run("icmp-forged", profile, {}, pcap);
    const auto& c = endpoint(r, "client");
    const auto& s = endpoint(r, "server");
    // Nothing aborted: the stream is complete and byte-exact.
    EXPECT_EQ(c.err, 0);
    EXPECT_EQ(c.reason, CloseReason::kNone);
    EXPECT_EQ(s.err, 0);
    EXPECT_EQ(s.bytes_received, 3'000'000u);
    EXPECT_EQ(s.sha256_received, c.sha256_sent);
    // Every forged ICMP reached the client: acted on if the quoted segment
    // was still unacknowledged when it arrived, else counted out of window
    // (a resent copy of data the server already had).
    const auto icmps = client_events(r, EventType::kIcmpReceived);
    EXPECT_EQ(icmps.size() + c.stats.icmp_out_of_window, 16u);
    EXPECT_GE(icmps.size(), 12u);
    // The first frag-needed quotes a 1500-byte segment and lowers the MTU
    // to the 552 floor; every later one quotes a 552-byte segment, which
    // fits even the floor, so it cannot have been too big: ignored.
    size_t frags = 0;
    for (const auto& e : icmps) frags += e.count == 4 ? 1 : 0;
    ASSERT_GE(frags, 1u);
    EXPECT_EQ(c.stats.icmp_ignored, frags - 1);
    // Each accepted one arrives 20 ms (the link back) after T_k plus the
    // wait for the next segment at the router: the stream is continuous in
    // both profiles (linux's send buffer grows with cwnd: autotuning), so
    // within 2 ms (1.2 ms per 1500-byte segment at 10 Mbit/s, plus the
    // ICMP's own 45 us). k is the slot the arrival falls in; its code must
    // match.
    const Duration slack = Duration::millis(2);
    int64_t last_k = -1;
    Instant first_frag = Instant::never();
    for (const auto& e : icmps) {
      const int64_t k = (e.time - ms(520)).ns() / Duration::millis(100).ns();
      ASSERT_GE(k, 0);
      ASSERT_LT(k, 16);
      EXPECT_GT(k, last_k);
      last_k = k;
      const Instant t_k = ms(500 + 100 * k);
      EXPECT_GE(e.time, t_k + Duration::millis(20));
      EXPECT_LE(e.time, t_k + Duration::millis(20) + slack) << "k=" << k;
      EXPECT_EQ(e.count, kCodes[k % 4]) << "k=" << k;
      if (e.count == 4 && first_frag.is_never()) first_frag = e.time;
    }
    ASSERT_FALSE(first_frag.is_never());
    // The MSS: 1460 - 12 (timestamps) = 1448 until the first frag-needed;
    // then MTU 68 counts as Linux's floor 552: 552 - 40 - 12 = 500, never
    // less, for the rest of the transfer (under 10 minutes: no re-probe).
    size_t before = 0, after = 0, full_after = 0;
    for (const auto& [t, len] : client_data(pcap)) {
      if (t < first_frag) {
        before = std::max(before, len);
      } else {
        after = std::max(after, len);
        full_after += len == 500 ? 1 : 0;
      }
    }
    EXPECT_EQ(before, 1448u);
    EXPECT_EQ(after, 500u);
    EXPECT_GT(full_after, 1000u);  // most of 2 MB goes as 500-byte segments
    std::remove(pcap.c_str());
  }
}

}  // namespace
}  // namespace vigil::sim
