// Send and receive rings grow with the data (issue 15): a connection that
// moves a few bytes holds a few KB, not its 256 KiB capacity, while the
// capacity alone still sets what the window offers and how much is queued.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tcp/recv_buffer.hpp"
#include "tcp/send_buffer.hpp"

namespace vigil::tcp {
namespace {

using Bytes = std::vector<uint8_t>;

// Bytes whose value names their stream offset, so a misplaced copy shows.
Bytes pattern(uint64_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((from + i) * 7 + (from + i) / 251);
  return b;
}

Bytes flatten(const SendBuffer& s, size_t offset, size_t len) {
  auto [a, b] = s.view(offset, len);
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(SendBufferGrowth, StartsAtEightKiBAndDoublesUpToTheCapacity) {
  SendBuffer s(256 * 1024);
  EXPECT_EQ(s.allocated_bytes(), 0u);
  EXPECT_EQ(s.write(pattern(0, 1)), 1u);
  EXPECT_EQ(s.allocated_bytes(), 8192u) << "one byte takes kInitialBytes, not 256 KiB";
  EXPECT_EQ(s.space(), 256u * 1024 - 1) << "what may be queued is set by the capacity";
  EXPECT_EQ(s.write(pattern(1, 8191)), 8191u);
  EXPECT_EQ(s.allocated_bytes(), 8192u) << "exactly full: no growth yet";
  EXPECT_EQ(s.write(pattern(8192, 1)), 1u);
  EXPECT_EQ(s.allocated_bytes(), 16384u);
  // Everything up to the capacity is accepted; the ring stops there:
  // 16 K -> 32 K -> 64 K -> 128 K -> 256 K.
  Bytes rest = pattern(8193, 300 * 1024);
  EXPECT_EQ(s.write(rest), 256u * 1024 - 8193);
  EXPECT_EQ(s.allocated_bytes(), 256u * 1024);
  EXPECT_EQ(s.space(), 0u);
  EXPECT_EQ(flatten(s, 0, s.size()), pattern(0, 256 * 1024));
  s.release();
  EXPECT_EQ(s.allocated_bytes(), 0u);
}

TEST(SendBufferGrowth, ACapacityThatIsNoPowerOfTwoIsReachedExactly) {
  SendBuffer s(100'000);
  EXPECT_EQ(s.write(pattern(0, 70'000)), 70'000u);
  EXPECT_EQ(s.allocated_bytes(), 100'000u) << "131072 would exceed the capacity";
  EXPECT_EQ(s.write(pattern(70'000, 40'000)), 30'000u);
  EXPECT_EQ(flatten(s, 0, 100'000), pattern(0, 100'000));
}

TEST(SendBufferGrowth, GrowingKeepsWrappedBytesInOrder) {
  SendBuffer s(256 * 1024);
  ASSERT_EQ(s.write(pattern(0, 6000)), 6000u);
  s.consume(5000);                                 // head at index 5000 of the 8 KiB ring
  ASSERT_EQ(s.write(pattern(6000, 6000)), 6000u);  // 7000 queued, wrapping past index 8191
  ASSERT_EQ(s.allocated_bytes(), 8192u);
  ASSERT_EQ(s.write(pattern(12'000, 3000)), 3000u);  // 10,000 queued: grows to 16 KiB
  EXPECT_EQ(s.allocated_bytes(), 16384u);
  EXPECT_EQ(flatten(s, 0, 10'000), pattern(5000, 10'000));
  EXPECT_EQ(flatten(s, 4000, 3000), pattern(9000, 3000));
}

Bytes read_all(RecvBuffer& r, size_t n) {
  Bytes out(n);
  EXPECT_EQ(r.read(out), n);
  return out;
}

TEST(RecvBufferGrowth, StartsAtEightKiBAndTheWindowStaysTheCapacity) {
  RecvBuffer r(256 * 1024);
  EXPECT_EQ(r.allocated_bytes(), 0u);
  EXPECT_EQ(r.insert(0, pattern(0, 1)).stored, 1u);
  EXPECT_EQ(r.allocated_bytes(), 8192u) << "one byte: kInitialBytes and no range table";
  EXPECT_EQ(r.free_space(), 256u * 1024 - 1) << "the window offers the capacity";
  EXPECT_EQ(r.limit_pos(), 256u * 1024);
  // In order past the first ring: 8 K -> 16 K -> 32 K.
  EXPECT_EQ(r.insert(1, pattern(1, 20'000)).advanced, 20'000u);
  EXPECT_EQ(r.allocated_bytes(), 32768u);
  EXPECT_EQ(read_all(r, 20'001), pattern(0, 20'001));
  // A segment at the window's right edge is stored: the ring reaches the
  // capacity (256 KiB) and the range table (17 entries of 24 bytes) appears.
  const uint64_t edge = 20'001 + 256 * 1024 - 100;
  auto res = r.insert(edge, pattern(edge, 500));
  EXPECT_EQ(res.stored, 100u) << "cut at limit_pos, as before";
  EXPECT_EQ(r.allocated_bytes(), 256u * 1024 + 17 * 24);
  r.release();
  EXPECT_EQ(r.allocated_bytes(), 0u) << "nothing readable: ring and table freed";
}

TEST(RecvBufferGrowth, GrowingMovesReadableAndOutOfOrderBytes) {
  RecvBuffer r(64 * 1024);
  // read_pos 6000 so the 8 KiB ring wraps: readable [6000, 9000) sits at
  // indices 5904..8191 and 0..711.
  ASSERT_EQ(r.insert(0, pattern(0, 6000)).stored, 6000u);
  ASSERT_EQ(read_all(r, 6000), pattern(0, 6000));
  ASSERT_EQ(r.insert(6000, pattern(6000, 3000)).stored, 3000u);
  ASSERT_EQ(r.allocated_bytes(), 8192u);
  // Out of order inside the ring (needs 13,000 - 6000 = 7000 bytes), then
  // beyond it (30,000 - 6000 = 24,000: the ring doubles twice, to 32 KiB).
  ASSERT_EQ(r.insert(10'000, pattern(10'000, 3000)).stored, 3000u);
  ASSERT_EQ(r.allocated_bytes(), 8192u + 17 * 24);
  ASSERT_EQ(r.insert(28'000, pattern(28'000, 2000)).stored, 2000u);
  EXPECT_EQ(r.allocated_bytes(), 32768u + 17 * 24);
  ASSERT_EQ(r.out_of_order().size(), 2u);
  // Fill both holes; every byte comes out where it was sent.
  EXPECT_EQ(r.insert(9000, pattern(9000, 1000)).advanced, 4000u);
  EXPECT_EQ(r.insert(13'000, pattern(13'000, 15'000)).advanced, 17'000u);
  EXPECT_EQ(r.readable(), 24'000u);
  EXPECT_EQ(read_all(r, 24'000), pattern(6000, 24'000));
}

}  // namespace
}  // namespace vigil::tcp
