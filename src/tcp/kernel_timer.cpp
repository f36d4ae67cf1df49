#include "tcp/kernel_timer.hpp"

#include <algorithm>

namespace vigil::tcp {

namespace {
constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int kLevelClockShift = 3;  // LVL_CLK_SHIFT: each level 8x coarser
constexpr int64_t kLevelSize = 64;   // LVL_SIZE: slots per level
constexpr int kLevels = 9;           // LVL_DEPTH for HZ > 100
}  // namespace

Duration round_up_to_jiffies(Duration d, uint32_t hz) {
  if (hz == 0) return d;
  const int64_t tick_ns = kNsPerSecond / hz;
  const int64_t ns = std::max<int64_t>(0, d.ns());
  return Duration::nanos((ns + tick_ns - 1) / tick_ns * tick_ns);
}

Instant kernel_timer_expiry(Instant now, Instant when, uint32_t hz) {
  if (hz == 0 || when.is_never() || now.is_never()) return when;
  const int64_t tick_ns = kNsPerSecond / hz;
  const int64_t now_jiffies = now.ns() / tick_ns;
  // usecs_to_jiffies rounds up; a deadline already due is one of 0 jiffies.
  const int64_t delta = round_up_to_jiffies(when - now, hz).ns() / tick_ns;
  int level = 0;
  // LVL_START(L + 1) = (LVL_SIZE - 1) << (L * LVL_CLK_SHIFT).
  while (level < kLevels - 1 && delta >= (kLevelSize - 1) << (level * kLevelClockShift)) ++level;
  const int shift = level * kLevelClockShift;
  // calc_index: "(expires >> LVL_SHIFT(lvl)) + 1", back in jiffies.
  const int64_t fire_jiffies = (((now_jiffies + delta) >> shift) + 1) << shift;
  return Instant::from_ns(fire_jiffies * tick_ns);
}

}  // namespace vigil::tcp
