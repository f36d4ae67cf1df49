// Unit tests for sim::Link: timing (delay, serialisation, queueing),
// impairments, blackholes and determinism.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "sim/link.hpp"

namespace vigil::sim {
namespace {

Instant at_ms(int64_t ms) { return Instant::zero() + Duration::millis(ms); }
Instant at_us(int64_t us) { return Instant::zero() + Duration::micros(us); }

std::vector<uint8_t> packet(size_t len, uint8_t tag) {
  std::vector<uint8_t> p(len);
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(tag + i * 31);
  return p;
}

struct Arrival {
  Instant t;
  std::vector<uint8_t> bytes;
  bool operator==(const Arrival&) const = default;
};

// Pops everything, however late, in arrival order.
std::vector<Arrival> drain(Link& link) {
  std::vector<Arrival> out;
  std::vector<uint8_t> buf;
  Instant t;
  while (link.pop_arrival(Instant::never(), buf, &t)) out.push_back({t, buf});
  return out;
}

LinkConfig delay_only(Duration d) {
  LinkConfig c;
  c.delay = d;
  return c;
}

TEST(SimLink, DelayOnlyExactArrivalTimes) {
  Link link(delay_only(Duration::millis(10)), util::Rng(1));
  EXPECT_TRUE(link.next_arrival().is_never());
  link.send(at_ms(0), packet(100, 1));
  link.send(at_ms(3), packet(200, 2));
  EXPECT_EQ(link.next_arrival(), at_ms(10));

  std::vector<uint8_t> out;
  Instant t;
  EXPECT_FALSE(link.pop_arrival(at_ms(10) - Duration::nanos(1), out, &t));
  ASSERT_TRUE(link.pop_arrival(at_ms(10), out, &t));
  EXPECT_EQ(t, at_ms(10));
  EXPECT_EQ(out, packet(100, 1));
  EXPECT_EQ(link.next_arrival(), at_ms(13));
  EXPECT_FALSE(link.pop_arrival(at_ms(12), out, &t));
  ASSERT_TRUE(link.pop_arrival(at_ms(20), out, nullptr));  // late pops are fine
  EXPECT_EQ(out, packet(200, 2));
  EXPECT_TRUE(link.next_arrival().is_never());
  EXPECT_EQ(link.stats().offered, 2u);
  EXPECT_EQ(link.stats().delivered, 2u);
}

TEST(SimLink, TiesComeOutInSendOrder) {
  Link link(delay_only(Duration::millis(1)), util::Rng(1));
  for (uint8_t i = 0; i < 50; ++i) link.send(at_ms(0), packet(10, i));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 50u);
  for (uint8_t i = 0; i < 50; ++i) {
    EXPECT_EQ(got[i].t, at_ms(1));
    EXPECT_EQ(got[i].bytes, packet(10, i));
  }
}

TEST(SimLink, SerialisationAt10Mbps) {
  LinkConfig c = delay_only(Duration::millis(10));
  c.rate_bps = 10'000'000;
  Link link(c, util::Rng(1));
  // 1500 bytes = 12000 bits at 1e7 bit/s = exactly 1.2 ms; back-to-back
  // packets queue behind each other.
  for (uint8_t i = 0; i < 3; ++i) link.send(at_ms(0), packet(1500, i));
  // Sent after the queue has drained: starts immediately.
  link.send(at_ms(100), packet(1500, 3));
  // Sent while the link is busy (until 101.2 ms): waits.
  link.send(at_us(100'600), packet(1500, 4));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].t, at_us(11'200));
  EXPECT_EQ(got[1].t, at_us(12'400));
  EXPECT_EQ(got[2].t, at_us(13'600));
  EXPECT_EQ(got[3].t, at_us(111'200));
  EXPECT_EQ(got[4].t, at_us(112'400));
}

TEST(SimLink, FractionalSerialisationKeepsLongRunRate) {
  LinkConfig c = delay_only(Duration::zero());
  c.rate_bps = 3'000'000;  // 1 byte = 8/3 us: never a whole ns
  Link link(c, util::Rng(1));
  for (int i = 0; i < 3000; ++i) link.send(Instant::zero(), packet(1, 0));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 3000u);
  // 3000 bytes = 24000 bits at 3 Mbit/s = exactly 8 ms; no rounding drift.
  EXPECT_EQ(got.back().t, at_ms(8));
  // Each arrival is the exact end rounded up: first = ceil(2666.67 ns).
  EXPECT_EQ(got.front().t, Instant::from_ns(2667));
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LE(got[i - 1].t, got[i].t);
}

TEST(SimLink, QueueLimitDropsTail) {
  LinkConfig c = delay_only(Duration::millis(1));
  c.rate_bps = 10'000'000;
  c.queue_limit_bytes = 3000;
  Link link(c, util::Rng(1));
  // Bytes not yet serialised: 1500, 3000, then 4500 > 3000 -> drop, drop.
  for (uint8_t i = 0; i < 4; ++i) link.send(at_ms(0), packet(1500, i));
  EXPECT_EQ(link.stats().dropped_queue, 2u);
  // At 1.2 ms the first packet is out, so one more fits; another does not.
  link.send(at_us(1'200), packet(1500, 10));
  link.send(at_us(1'200), packet(1500, 11));
  EXPECT_EQ(link.stats().dropped_queue, 3u);
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].bytes, packet(1500, 0));
  EXPECT_EQ(got[1].bytes, packet(1500, 1));
  EXPECT_EQ(got[2].bytes, packet(1500, 10));
  EXPECT_EQ(got[2].t, at_us(3'600 + 1'000));
  EXPECT_EQ(link.stats().offered, 6u);
  EXPECT_EQ(link.stats().delivered, 3u);
}

TEST(SimLink, LossExtremes) {
  LinkConfig c = delay_only(Duration::millis(1));
  c.loss = 0;
  Link none(c, util::Rng(7));
  c.loss = 1;
  Link all(c, util::Rng(7));
  for (int i = 0; i < 1000; ++i) {
    none.send(at_ms(i), packet(40, 0));
    all.send(at_ms(i), packet(40, 0));
  }
  EXPECT_EQ(drain(none).size(), 1000u);
  EXPECT_EQ(none.stats().dropped_loss, 0u);
  EXPECT_TRUE(drain(all).empty());
  EXPECT_EQ(all.stats().dropped_loss, 1000u);
  EXPECT_TRUE(all.next_arrival().is_never());
}

TEST(SimLink, LossRateIsStatisticallySound) {
  LinkConfig c = delay_only(Duration::millis(1));
  c.loss = 0.05;
  Link link(c, util::Rng(12345));
  std::vector<uint8_t> out;
  const std::vector<uint8_t> p = packet(60, 0);
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i) {
    link.send(at_us(i), p);
    while (link.pop_arrival(at_us(i), out, nullptr)) {
    }
  }
  drain(link);
  // Binomial(100000, 0.05): mean 5000, sd ~68.9; allow +-5 sd.
  const uint64_t lost = link.stats().dropped_loss;
  EXPECT_GT(lost, 4655u);
  EXPECT_LT(lost, 5345u);
  EXPECT_EQ(link.stats().delivered + lost, static_cast<uint64_t>(kN));
}

TEST(SimLink, BlackholeWindowBoundaries) {
  Link link(delay_only(Duration::millis(1)), util::Rng(1));
  link.add_blackhole(at_ms(10), at_ms(20));
  EXPECT_FALSE(link.blackholed(at_ms(10) - Duration::nanos(1)));
  EXPECT_TRUE(link.blackholed(at_ms(10)));  // from is inclusive
  EXPECT_TRUE(link.blackholed(at_ms(20) - Duration::nanos(1)));
  EXPECT_FALSE(link.blackholed(at_ms(20)));  // until is exclusive

  link.send(at_ms(10) - Duration::nanos(1), packet(20, 1));
  link.send(at_ms(10), packet(20, 2));
  link.send(at_ms(20) - Duration::nanos(1), packet(20, 3));
  link.send(at_ms(20), packet(20, 4));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, packet(20, 1));
  EXPECT_EQ(got[1].bytes, packet(20, 4));
  EXPECT_EQ(link.stats().dropped_blackhole, 2u);
}

TEST(SimLink, TwoBlackholeWindowsIncludingForever) {
  Link link(delay_only(Duration::millis(1)), util::Rng(1));
  link.add_blackhole(at_ms(100), at_ms(200));
  link.add_blackhole(at_ms(500), Instant::never());
  int delivered = 0;
  for (int ms = 0; ms < 1000; ms += 50) {
    link.send(at_ms(ms), packet(20, static_cast<uint8_t>(ms)));
    const bool hole = (ms >= 100 && ms < 200) || ms >= 500;
    EXPECT_EQ(link.blackholed(at_ms(ms)), hole) << ms;
    if (!hole) ++delivered;
  }
  EXPECT_TRUE(link.blackholed(at_ms(1'000'000)));
  EXPECT_EQ(drain(link).size(), static_cast<size_t>(delivered));
  EXPECT_EQ(link.stats().dropped_blackhole, 20u - static_cast<uint64_t>(delivered));
}

TEST(SimLink, DuplicateDeliversTwoIdenticalCopies) {
  LinkConfig c = delay_only(Duration::millis(5));
  c.duplicate = 1;
  Link link(c, util::Rng(3));
  link.send(at_ms(0), packet(300, 9));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, packet(300, 9));
  EXPECT_EQ(got[1].bytes, packet(300, 9));
  EXPECT_EQ(got[0].t, at_ms(5));
  EXPECT_EQ(got[1].t, at_ms(5) + Duration::nanos(1));
  EXPECT_EQ(link.stats().duplicated, 1u);
  EXPECT_EQ(link.stats().delivered, 2u);
}

TEST(SimLink, ReorderLetsALaterPacketOvertake) {
  LinkConfig c = delay_only(Duration::millis(10));
  c.reorder = 1;
  c.reorder_extra = Duration::millis(5);
  Link link(c, util::Rng(4));
  link.send(at_ms(0), packet(50, 1));  // held back: arrives at 15 ms
  LinkConfig normal = c;
  normal.reorder = 0;
  link.set_config(normal);
  link.send(at_ms(1), packet(50, 2));  // arrives at 11 ms, overtaking
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, packet(50, 2));
  EXPECT_EQ(got[0].t, at_ms(11));
  EXPECT_EQ(got[1].bytes, packet(50, 1));
  EXPECT_EQ(got[1].t, at_ms(15));
  EXPECT_EQ(link.stats().reordered, 1u);
}

TEST(SimLink, CorruptionFlipsExactlyOneBit) {
  LinkConfig c = delay_only(Duration::millis(1));
  c.corrupt = 1;
  Link link(c, util::Rng(5));
  const std::vector<uint8_t> orig = packet(64, 0x11);
  std::vector<size_t> flipped_at;
  for (int i = 0; i < 200; ++i) link.send(at_ms(0), orig);
  for (const Arrival& a : drain(link)) {
    ASSERT_EQ(a.bytes.size(), orig.size());
    int bits = 0;
    for (size_t j = 0; j < orig.size(); ++j) {
      const uint8_t x = static_cast<uint8_t>(a.bytes[j] ^ orig[j]);
      bits += std::popcount(x);
      if (x != 0) flipped_at.push_back(j * 8 + static_cast<size_t>(std::countr_zero(x)));
    }
    EXPECT_EQ(bits, 1);
  }
  EXPECT_EQ(link.stats().corrupted, 200u);
  // The flipped bit varies (200 draws over 512 bits cannot all coincide).
  ASSERT_EQ(flipped_at.size(), 200u);
  EXPECT_NE(std::count(flipped_at.begin(), flipped_at.end(), flipped_at[0]), 200);
}

TEST(SimLink, NoCorruptionLeavesPacketsIntact) {
  Link link(delay_only(Duration::millis(1)), util::Rng(5));
  // Reused buffers must not leak bytes from an earlier, longer packet.
  link.send(at_ms(0), packet(1000, 1));
  drain(link);
  link.send(at_ms(1), packet(10, 2));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, packet(10, 2));
  EXPECT_EQ(link.stats().corrupted, 0u);
}

std::vector<Arrival> impaired_run(uint64_t seed) {
  LinkConfig c;
  c.delay = Duration::millis(20);
  c.rate_bps = 50'000'000;
  c.queue_limit_bytes = 20'000;
  c.loss = 0.1;
  c.duplicate = 0.05;
  c.reorder = 0.1;
  c.corrupt = 0.05;
  Link link(c, util::Rng(seed));
  std::vector<Arrival> out;
  std::vector<uint8_t> buf;
  Instant t;
  for (int i = 0; i < 2000; ++i) {
    const Instant now = at_us(i * 100);
    link.send(now, packet(200 + static_cast<size_t>(i % 1300), static_cast<uint8_t>(i)));
    while (link.pop_arrival(now, buf, &t)) out.push_back({t, buf});
  }
  for (const Arrival& a : drain(link)) out.push_back(a);
  return out;
}

TEST(SimLink, SameSeedSameOutputDifferentSeedDiffers) {
  const auto a = impaired_run(99);
  const auto b = impaired_run(99);
  const auto c = impaired_run(100);
  EXPECT_GT(a.size(), 1000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SimLink, SetConfigAppliesToLaterPackets) {
  Link link(delay_only(Duration::millis(10)), util::Rng(1));
  link.send(at_ms(0), packet(10, 1));
  LinkConfig c = link.config();
  c.loss = 1;
  link.set_config(c);
  EXPECT_EQ(link.config().loss, 1.0);
  link.send(at_ms(1), packet(10, 2));
  const auto got = drain(link);
  ASSERT_EQ(got.size(), 1u);  // the packet already in flight still arrives
  EXPECT_EQ(got[0].bytes, packet(10, 1));
  EXPECT_EQ(link.stats().dropped_loss, 1u);
}

}  // namespace
}  // namespace vigil::sim
