// `vigil sim fuzz` in process (docs/sim-fuzz.md): a run of seeds holds every
// invariant (the 2,000-seed run is tests/tools/sim_fuzz.sh, g++ only), a
// seed replays byte for byte, and each invariant can fail: a deliberate
// fault makes the checker report it, with the seed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "sim/fuzz.hpp"

namespace vigil::sim {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(SimFuzz, TwoHundredSeedsHoldEveryInvariant) {
  // Fewer than CI's 2,000 so that it stays quick under ASan too.
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const FuzzSeedResult r = run_fuzz_seed(seed, {});
    EXPECT_TRUE(r.error.empty()) << r.error;
    for (const auto& f : r.failures)
      ADD_FAILURE() << "seed " << seed << ": " << f.invariant << ": " << f.detail;
    EXPECT_GT(r.packets, 0u) << "seed " << seed << " ran nothing";
  }
}

TEST(SimFuzz, ASeedReplaysByteForByte) {
  // Seed 8 draws an attacker (it is among accept-forged's failures below).
  const std::string a = ::testing::TempDir() + "sim_fuzz_a.pcap";
  const std::string b = ::testing::TempDir() + "sim_fuzz_b.pcap";
  FuzzOptions oa, ob;
  oa.pcap_path = a;
  ob.pcap_path = b;
  const FuzzSeedResult ra = run_fuzz_seed(8, oa);
  const FuzzSeedResult rb = run_fuzz_seed(8, ob);
  ASSERT_TRUE(ra.error.empty()) << ra.error;
  EXPECT_GT(ra.injected, 0u);
  EXPECT_EQ(ra.params, rb.params);
  EXPECT_EQ(ra.summary, rb.summary);
  EXPECT_EQ(ra.events, rb.events);
  EXPECT_EQ(ra.packets, rb.packets);
  EXPECT_EQ(ra.end, rb.end);
  const std::string pa = read_file(a), pb = read_file(b);
  EXPECT_GT(pa.size(), 24u);  // more than the pcap file header
  EXPECT_EQ(pa, pb);
  // A different seed draws a different world.
  EXPECT_NE(run_fuzz_seed(9, {}).params, ra.params);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST(SimFuzz, Seed19366UserTimeoutBoundsDataSentAsAProbe) {
  // rfc, user timeout 446 s: a zero-window probe byte's clock stopped when
  // the probe was answered, the window opened, the peer vanished at 19.75 s,
  // and as the user timeout replaces R2 the data was resent every 60 s for
  // ever (liveness-bound at 1399 s). The first timeout after the probe (at
  // 19.345 s) now starts the clock: ETIMEDOUT at 19.345 + 446 = 465.345 s.
  const FuzzSeedResult r = run_fuzz_seed(19366, {});
  for (const auto& f : r.failures) ADD_FAILURE() << f.invariant << ": " << f.detail;
  EXPECT_NE(r.summary.find("conn 0 server: CLOSED, sent 20575, received 0 + EOF, Connection timed "
                           "out (user_timeout) at 465.345 s"),
            std::string::npos)
      << r.summary;
}

struct FaultCase {
  FuzzFault fault;
  const char* invariant;
};

TEST(SimFuzz, EachInvariantCanFail) {
  // internal-assertion (a crash) needs a worker process: tests/tools/sim_fuzz.sh.
  const FaultCase cases[] = {
      {FuzzFault::kFlipReadByte, kInvStreamPrefix},
      {FuzzFault::kLoseTail, kInvTransferComplete},
      {FuzzFault::kImmortal, kInvLivenessBound},
      {FuzzFault::kFragile, kInvDiesAnswering},
      {FuzzFault::kAcceptForged, kInvRejectedSegment},
      {FuzzFault::kAcceptForged, kInvStreamPrefix},
      {FuzzFault::kMemoryCap, kInvMemory},
      {FuzzFault::kRejectedChanges, kInvRejectedSegment},
  };
  for (const auto& fc : cases) {
    FuzzOptions o;
    o.fault = fc.fault;
    bool seen = false;
    for (uint64_t seed = 1; seed <= 60 && !seen; ++seed) {
      const FuzzSeedResult r = run_fuzz_seed(seed, o);
      for (const auto& f : r.failures) {
        EXPECT_EQ(f.seed, seed);
        EXPECT_FALSE(f.detail.empty());
        if (f.invariant == fc.invariant) seen = true;
      }
    }
    EXPECT_TRUE(seen) << fuzz_fault_name(fc.fault) << " never showed as " << fc.invariant;
  }
}

TEST(SimFuzz, FaultNamesRoundTrip) {
  for (const auto& n : fuzz_fault_names()) {
    FuzzFault f = FuzzFault::kNone;
    ASSERT_TRUE(parse_fuzz_fault(n, &f)) << n;
    EXPECT_EQ(fuzz_fault_name(f), n);
  }
  FuzzFault f = FuzzFault::kNone;
  EXPECT_FALSE(parse_fuzz_fault("no-such-fault", &f));
}

}  // namespace
}  // namespace vigil::sim
