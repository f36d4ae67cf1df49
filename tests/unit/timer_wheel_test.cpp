// Unit tests for stack::TimerWheel: exact nanosecond boundaries, ordering,
// re-arm/cancel, the overflow list, large virtual-time jumps, and a
// randomized comparison against a std::multimap reference model.
#include "stack/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <vector>

#include "tcp/kernel_timer.hpp"
#include "tcp/rtt_estimator.hpp"

namespace vigil::stack {
namespace {

static_assert(!std::is_copy_constructible_v<TimerEntry>);
static_assert(!std::is_move_constructible_v<TimerEntry>);
static_assert(!std::is_copy_assignable_v<TimerEntry>);
static_assert(!std::is_move_assignable_v<TimerEntry>);

using Ids = std::vector<uint64_t>;

constexpr Instant kStart = Instant::zero();

Instant ms(int64_t n) { return kStart + Duration::millis(n); }
Instant sec(int64_t n) { return kStart + Duration::seconds(n); }

Ids fire(TimerWheel& w, Instant now) {
  Ids out;
  w.expire(now, out);
  return out;
}

// ---- Basics ---------------------------------------------------------------

TEST(TimerWheel, EmptyWheel) {
  TimerWheel w(kStart);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.next_deadline(), Instant::never());
  EXPECT_TRUE(fire(w, sec(10)).empty());
  EXPECT_EQ(w.next_deadline(), Instant::never());
}

TEST(TimerWheel, ExactBoundary) {
  TimerWheel w(kStart);
  TimerEntry a, b;
  a.owner = 1;
  b.owner = 2;
  const Instant da = ms(10);                             // on a tick boundary
  const Instant db = ms(20) + Duration::nanos(123'456);  // inside a tick
  w.arm(a, da);
  w.arm(b, db);
  EXPECT_TRUE(a.armed());
  EXPECT_EQ(a.deadline, da);
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.next_deadline(), da);

  EXPECT_TRUE(fire(w, da - Duration::nanos(1)).empty());
  EXPECT_EQ(fire(w, da), Ids{1});
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(a.deadline, Instant::never());
  EXPECT_EQ(w.next_deadline(), db);

  EXPECT_TRUE(fire(w, db - Duration::nanos(1)).empty());
  EXPECT_EQ(fire(w, db), Ids{2});
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.next_deadline(), Instant::never());
}

TEST(TimerWheel, SubTickDeadlinesFireInOrderAndNotEarly) {
  TimerWheel w(kStart);
  TimerEntry late, early;
  late.owner = 1;
  early.owner = 2;
  const Instant t_late = ms(5) + Duration::nanos(700'000);
  const Instant t_early = ms(5) + Duration::nanos(300'000);
  w.arm(late, t_late);  // armed first, due second
  w.arm(early, t_early);
  EXPECT_EQ(w.next_deadline(), t_early);
  EXPECT_TRUE(fire(w, t_early - Duration::nanos(1)).empty());
  EXPECT_EQ(fire(w, t_early), Ids{2});
  EXPECT_EQ(w.next_deadline(), t_late);
  EXPECT_TRUE(fire(w, t_late - Duration::nanos(1)).empty());
  EXPECT_EQ(fire(w, t_late), Ids{1});

  // In one jump past all of them they still come out in deadline order,
  // whatever the arm order.
  TimerWheel w2(kStart);
  TimerEntry mid;
  mid.owner = 3;
  w2.arm(mid, ms(5) + Duration::nanos(500'000));
  w2.arm(late, t_late);
  w2.arm(early, t_early);
  EXPECT_EQ(fire(w2, ms(100)), (Ids{2, 3, 1}));
}

TEST(TimerWheel, TiesBreakByArmOrder) {
  TimerWheel w(kStart);
  TimerEntry e[4];
  for (uint64_t i = 0; i < 4; ++i) e[i].owner = i;
  const Instant t = ms(3) + Duration::nanos(5);
  for (int i : {2, 0, 3, 1}) w.arm(e[i], t);
  w.arm(e[2], t);  // re-arming counts as a fresh arm
  EXPECT_EQ(fire(w, t), (Ids{0, 3, 1, 2}));
}

TEST(TimerWheel, RearmMoves) {
  TimerWheel w(kStart);
  TimerEntry e;
  e.owner = 7;
  w.arm(e, sec(100));
  w.arm(e, ms(50));  // earlier
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_deadline(), ms(50));
  EXPECT_TRUE(fire(w, ms(49)).empty());
  EXPECT_EQ(fire(w, ms(50)), Ids{7});

  w.arm(e, ms(80));
  w.arm(e, sec(3000));  // later, different level
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_deadline(), sec(3000));
  EXPECT_TRUE(fire(w, sec(2999)).empty());
  EXPECT_EQ(fire(w, sec(3000)), Ids{7});
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, Cancel) {
  TimerWheel w(kStart);
  TimerEntry a, b, idle;
  a.owner = 1;
  b.owner = 2;
  w.cancel(idle);  // not armed: no-op
  EXPECT_FALSE(idle.armed());
  w.arm(a, ms(10));
  w.arm(b, ms(10));
  w.cancel(a);
  w.cancel(a);
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(a.deadline, Instant::never());
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(fire(w, ms(10)), Ids{2});

  w.arm(a, sec(5));
  w.arm(a, Instant::never());  // arming at never() cancels
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.next_deadline(), Instant::never());
  EXPECT_TRUE(fire(w, sec(10)).empty());
}

TEST(TimerWheel, DeadlineInThePast) {
  const Instant start = Instant::from_ns(1'000'000'000);
  TimerWheel w(start);
  TimerEntry a, b, c, d;
  a.owner = 1;
  b.owner = 2;
  c.owner = 3;
  d.owner = 4;
  const Instant now = start + Duration::millis(1500) + Duration::nanos(17);
  EXPECT_TRUE(fire(w, now).empty());
  w.arm(a, now);                          // exactly now
  w.arm(b, now - Duration::millis(700));  // earlier tick
  w.arm(c, Instant::from_ns(-5));         // before the wheel's start
  w.arm(d, now + Duration::nanos(1));     // future, same tick
  EXPECT_EQ(w.next_deadline(), Instant::from_ns(-5));
  EXPECT_EQ(fire(w, now), (Ids{3, 2, 1}));  // same `now` again still fires them
  EXPECT_EQ(w.next_deadline(), now + Duration::nanos(1));
  EXPECT_EQ(fire(w, now + Duration::nanos(1)), Ids{4});
}

TEST(TimerWheel, NextDeadlineExactAcrossLevels) {
  TimerWheel w(kStart);
  TimerEntry e[5];
  const Instant d[5] = {
      ms(3) + Duration::nanos(7),            // level 0
      sec(1) + Duration::nanos(11),          // level 1
      sec(100) + Duration::nanos(13),        // level 2
      sec(3000) + Duration::nanos(17),       // level 3
      sec(2 * 86400) + Duration::nanos(19),  // overflow
  };
  // Arm latest first so every arm lowers the minimum.
  for (int i = 4; i >= 0; --i) {
    e[i].owner = static_cast<uint64_t>(i);
    w.arm(e[i], d[i]);
    EXPECT_EQ(w.next_deadline(), d[i]);
  }
  // Cancel the earliest one by one: the minimum climbs the levels.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(w.next_deadline(), d[i]);
    w.cancel(e[i]);
  }
  EXPECT_EQ(w.next_deadline(), Instant::never());

  // Same walk driven by expiry, one ns short of and then at each deadline.
  for (int i = 0; i < 5; ++i) w.arm(e[i], d[i]);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(w.next_deadline(), d[i]);
    EXPECT_TRUE(fire(w, d[i] - Duration::nanos(1)).empty());
    EXPECT_EQ(w.next_deadline(), d[i]);
    EXPECT_EQ(fire(w, d[i]), Ids{static_cast<uint64_t>(i)});
  }
}

TEST(TimerWheel, HigherLevelEntryCanBeEarliest) {
  // Filed from tick 0, 70 ms goes to level 1; after moving to tick 63, a
  // 126 ms deadline goes to level 0 yet is later.
  TimerWheel w(kStart);
  TimerEntry hi, lo;
  hi.owner = 1;
  lo.owner = 2;
  const Instant t_hi = ms(70) + Duration::nanos(3);
  const Instant t_lo = ms(126);
  w.arm(hi, t_hi);
  EXPECT_TRUE(fire(w, ms(63)).empty());
  w.arm(lo, t_lo);
  EXPECT_EQ(w.next_deadline(), t_hi);
  EXPECT_EQ(fire(w, ms(200)), (Ids{1, 2}));
}

TEST(TimerWheel, SameTickOnTwoLevels) {
  // Both deadlines fall in tick 64, one filed at level 1 (from tick 0), the
  // other at level 0 (from tick 1): the exact minimum needs both slots.
  for (const bool level1_first : {true, false}) {
    SCOPED_TRACE(level1_first);
    TimerWheel w(kStart);
    TimerEntry hi, lo;
    hi.owner = 1;
    lo.owner = 2;
    const Instant t_hi = ms(64) + Duration::nanos(level1_first ? 100 : 900);
    const Instant t_lo = ms(64) + Duration::nanos(level1_first ? 900 : 100);
    w.arm(hi, t_hi);
    EXPECT_TRUE(fire(w, ms(1)).empty());
    w.arm(lo, t_lo);
    EXPECT_EQ(w.next_deadline(), std::min(t_hi, t_lo));
    EXPECT_EQ(fire(w, ms(64) + Duration::nanos(500)), Ids{level1_first ? 1u : 2u});
    EXPECT_EQ(w.next_deadline(), std::max(t_hi, t_lo));
    EXPECT_EQ(fire(w, ms(65)), Ids{level1_first ? 2u : 1u});
  }
}

TEST(TimerWheel, SevenThousandTwoHundredSecondJump) {
  TimerWheel w(kStart);
  TimerEntry e[4];
  const Instant d[4] = {ms(1), sec(75), sec(7200), sec(2 * 86400)};  // the last overflows
  for (int i = 0; i < 4; ++i) {
    e[i].owner = static_cast<uint64_t>(i);
    w.arm(e[i], d[i]);
  }
  EXPECT_EQ(w.next_deadline(), d[0]);
  EXPECT_EQ(fire(w, sec(7200)), (Ids{0, 1, 2}));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next_deadline(), d[3]);
  EXPECT_TRUE(fire(w, d[3] - Duration::nanos(1)).empty());
  EXPECT_EQ(fire(w, d[3]), Ids{3});
  EXPECT_EQ(w.size(), 0u);
  // 172.8 million 1 ms ticks passed; only occupied slots cost a step.
  EXPECT_LT(w.advance_steps(), 40u);
}

TEST(TimerWheel, HugeJumpWithNanosecondTicks) {
  // 30 days at 1 ns per tick is 2.6e15 ticks: only jumping gets through.
  TimerWheel w(kStart, Duration::nanos(1));
  TimerEntry a, b;
  a.owner = 1;
  b.owner = 2;
  const Instant ta = sec(30 * 86400) + Duration::nanos(1);
  const Instant tb = sec(10 * 86400);
  w.arm(a, ta);
  w.arm(b, tb);
  EXPECT_EQ(w.next_deadline(), tb);
  EXPECT_EQ(fire(w, ta - Duration::nanos(1)), Ids{2});
  EXPECT_EQ(w.next_deadline(), ta);
  EXPECT_EQ(fire(w, ta), Ids{1});
  EXPECT_LT(w.advance_steps(), 60u);
}

TEST(TimerWheel, ExtremeInstants) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Instant start = Instant::from_ns(std::numeric_limits<int64_t>::min() + 10);
  TimerWheel w(start, Duration::nanos(1));
  TimerEntry a, b;
  a.owner = 1;
  b.owner = 2;
  w.arm(a, Instant::from_ns(kMax - 1));  // the last instant before never()
  w.arm(b, Instant::from_ns(0));
  EXPECT_EQ(w.next_deadline(), Instant::from_ns(0));
  EXPECT_EQ(fire(w, Instant::from_ns(kMax - 2)), Ids{2});
  EXPECT_EQ(w.next_deadline(), Instant::from_ns(kMax - 1));
  EXPECT_EQ(fire(w, Instant::from_ns(kMax - 1)), Ids{1});
}

TEST(TimerWheel, OddTickAndStart) {
  const Instant start = Instant::from_ns(-123'456'789);
  TimerWheel w(start, Duration::micros(7));
  TimerEntry e[3];
  const Instant d[3] = {start + Duration::nanos(6'999), start + Duration::nanos(7'000),
                        start + Duration::seconds(40'000)};
  for (int i = 2; i >= 0; --i) {
    e[i].owner = static_cast<uint64_t>(i);
    w.arm(e[i], d[i]);
  }
  EXPECT_EQ(fire(w, d[1] - Duration::nanos(1)), Ids{0});
  EXPECT_EQ(fire(w, d[1]), Ids{1});
  EXPECT_EQ(w.next_deadline(), d[2]);
  EXPECT_EQ(fire(w, d[2]), Ids{2});
}

TEST(TimerWheel, DestroyingTheWheelDisarmsEntries) {
  TimerEntry a;
  {
    TimerWheel w(kStart);
    w.arm(a, sec(1));
    EXPECT_TRUE(a.armed());
  }
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(a.deadline, Instant::never());
}

#ifndef NDEBUG
TEST(TimerWheelDeathTest, DestroyingArmedEntryAsserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        TimerWheel w(kStart);
        auto e = std::make_unique<TimerEntry>();
        w.arm(*e, sec(1));
        e.reset();
      },
      "cancel a TimerEntry");
}
#endif

// ---- Randomized comparison against a reference model ----------------------

struct RandomConfig {
  Duration tick;
  Instant start;
  int ops;
  uint64_t seed;
  bool extremes;       // also jump and arm near the end of the int64 time line
  bool dense = false;  // deadlines and jumps within a few hundred ticks
};

constexpr int64_t kLast = std::numeric_limits<int64_t>::max() - 1;  // latest non-never instant

// Saturating t + ns for ns >= -1, staying within [int64 min, kLast].
Instant add_sat(Instant t, int64_t ns) {
  if (ns > 0 && t.ns() > kLast - ns) return Instant::from_ns(kLast);
  if (ns < 0 && t.ns() == std::numeric_limits<int64_t>::min()) return t;
  return Instant::from_ns(t.ns() + ns);
}

Instant sub_sat(Instant t, int64_t ns) {
  if (t.ns() < std::numeric_limits<int64_t>::min() + ns) {
    return Instant::from_ns(std::numeric_limits<int64_t>::min());
  }
  return Instant::from_ns(t.ns() - ns);
}

void run_random(const RandomConfig& cfg) {
  std::mt19937_64 rng(cfg.seed);
  auto uniform = [&](int64_t hi) {  // [0, hi]
    return std::uniform_int_distribution<int64_t>(0, hi)(rng);
  };
  constexpr int64_t kMs = 1'000'000, kSec = 1000 * kMs, kDay = 86400 * kSec;

  constexpr size_t kPool = 1000;
  auto entries = std::make_unique<TimerEntry[]>(kPool);
  for (size_t i = 0; i < kPool; ++i) entries[i].owner = i;

  // The model: multimap keeps equal keys in insertion (= arm) order.
  using Model = std::multimap<Instant, size_t>;
  Model model;
  std::vector<std::optional<Model::iterator>> pos(kPool);

  TimerWheel w(cfg.start, cfg.tick);
  Instant now = cfg.start;
  Ids got;
  size_t fired = 0;

  auto pick_deadline = [&]() -> Instant {
    const int r = static_cast<int>(uniform(99));
    if (cfg.dense && r < 90) {  // crowd the level 0/1 boundary, nanoseconds apart
      if (r < 5) return sub_sat(now, uniform(3 * cfg.tick.ns()));
      return add_sat(now, uniform(200 * cfg.tick.ns()));
    }
    if (r < 5) return sub_sat(now, uniform(10 * kSec));  // past
    if (r < 10) return now;
    if (r < 30) return add_sat(now, uniform(2 * kMs));  // sub-tick
    if (r < 50) return add_sat(now, uniform(kSec));
    if (r < 62) return add_sat(now, uniform(300 * kSec));
    if (r < 72) return add_sat(now, 7200 * kSec + uniform(75 * kSec));  // keepalive
    if (r < 82) return add_sat(now, uniform(5 * 3600 * kSec));          // top level / overflow
    if (r < 88) return add_sat(now, uniform(10 * kDay));
    if (r < 93 && !model.empty()) {  // tie with an armed deadline
      auto it = model.begin();
      std::advance(it, static_cast<long>(uniform(static_cast<int64_t>(model.size()) - 1)));
      return it->first;
    }
    if (r < 95) return Instant::never();
    if (r < 97 && cfg.extremes) return Instant::from_ns(kLast - uniform(1000));
    // Around a tick boundary a few ticks ahead (unsigned: the span from
    // start may exceed int64).
    const auto tick = static_cast<uint64_t>(cfg.tick.ns());
    const uint64_t start = static_cast<uint64_t>(cfg.start.ns());
    const uint64_t off = static_cast<uint64_t>(now.ns()) - start;
    const uint64_t room = static_cast<uint64_t>(kLast) - start;
    const uint64_t ahead = static_cast<uint64_t>(uniform(200)) * tick;
    if (ahead > room || off - off % tick > room - ahead) return Instant::from_ns(kLast);
    const uint64_t boundary = start + (off - off % tick + ahead);
    return add_sat(Instant::from_ns(static_cast<int64_t>(boundary)), uniform(2) - 1);
  };

  // Calm phases jump at most 100 s so that long timers pile up (hundreds
  // armed across all levels); wild phases add jumps of hours to months.
  auto pick_now = [&](bool calm) -> Instant {
    const int r = static_cast<int>(uniform(calm ? 81 : 99));
    if (cfg.dense && r >= 15 && r < 90) {
      if (r < 35) return now;
      return add_sat(now, uniform(70 * cfg.tick.ns()));
    }
    if (r < 10 && !model.empty() && model.begin()->first > now) return model.begin()->first;
    if (r < 15 && !model.empty() && model.begin()->first > now)
      return Instant::from_ns(model.begin()->first.ns() - 1);
    if (r < 35) return now;
    if (r < 55) return add_sat(now, uniform(2 * kMs));
    if (r < 70) return add_sat(now, uniform(kSec));
    if (r < 82) return add_sat(now, uniform(100 * kSec));
    if (r < 91) return add_sat(now, uniform(3 * 3600 * kSec));
    if (r < 96) return add_sat(now, uniform(3 * kDay));
    if (r < 99 || !cfg.extremes) return add_sat(now, uniform(60 * kDay));
    return add_sat(now, uniform(std::numeric_limits<int64_t>::max() / 8));
  };

  for (int op = 0; op < cfg.ops; ++op) {
    const int kind = static_cast<int>(uniform(99));
    if (kind < 50) {
      const size_t i = static_cast<size_t>(uniform(kPool - 1));
      const Instant d = pick_deadline();
      w.arm(entries[i], d);
      if (pos[i]) model.erase(*pos[i]);
      pos[i].reset();
      if (!d.is_never()) pos[i] = model.emplace(d, i);
      ASSERT_EQ(entries[i].armed(), pos[i].has_value()) << "op " << op;
      ASSERT_EQ(entries[i].deadline, d) << "op " << op;
    } else if (kind < 62) {
      const size_t i = static_cast<size_t>(uniform(kPool - 1));
      w.cancel(entries[i]);
      if (pos[i]) model.erase(*pos[i]);
      pos[i].reset();
      ASSERT_FALSE(entries[i].armed()) << "op " << op;
    } else {
      now = pick_now((op / 8000) % 2 == 0);
      got.clear();
      w.expire(now, got);
      Ids want;
      while (!model.empty() && model.begin()->first <= now) {
        want.push_back(model.begin()->second);
        pos[model.begin()->second].reset();
        model.erase(model.begin());
      }
      ASSERT_EQ(got, want) << "op " << op << " now " << now.ns();
      for (uint64_t id : got) ASSERT_FALSE(entries[id].armed()) << "op " << op;
      fired += got.size();
    }
    ASSERT_EQ(w.size(), model.size()) << "op " << op;
    const Instant want_next = model.empty() ? Instant::never() : model.begin()->first;
    ASSERT_EQ(w.next_deadline(), want_next) << "op " << op << " now " << now.ns();
  }
  EXPECT_GT(fired, static_cast<size_t>(cfg.ops) / 10);  // the run exercised expiry
  for (size_t i = 0; i < kPool; ++i) w.cancel(entries[i]);
}

TEST(TimerWheelRandom, MillisecondTicks) {
  run_random({Duration::millis(1), Instant::zero(), 200'000, 1, false});
}

TEST(TimerWheelRandom, UnalignedStart) {
  run_random({Duration::millis(1), Instant::from_ns(123'456'789), 50'000, 2, false});
}

TEST(TimerWheelRandom, NanosecondTicksNegativeStart) {
  // Level 3 reaches only 16.7 ms: most deadlines overflow and cascade.
  run_random({Duration::nanos(1), Instant::from_ns(-5'000'000'000), 50'000, 3, false});
}

TEST(TimerWheelRandom, OddTick) {
  run_random({Duration::micros(7), Instant::from_ns(999), 50'000, 4, false});
}

TEST(TimerWheelRandom, DenseSubTickDeadlines) {
  run_random({Duration::millis(1), Instant::zero(), 100'000, 6, false, true});
}

TEST(TimerWheelRandom, ExtremeTimeLine) {
  run_random({Duration::nanos(1), Instant::from_ns(std::numeric_limits<int64_t>::min() + 1000),
              50'000, 5, true});
}

// ---- Scale ----------------------------------------------------------------

TEST(TimerWheel, MillionEntries) {
  constexpr size_t kN = 1'000'000;
  std::mt19937_64 rng(42);
  auto entries = std::make_unique<TimerEntry[]>(kN);
  std::vector<Instant> deadline(kN);
  // Mostly within 3 h (levels 0-3), one in ten 1-4 days out (overflow).
  std::uniform_int_distribution<int64_t> near(0, 3 * 3600 * int64_t{1'000'000'000});
  std::uniform_int_distribution<int64_t> far(86400 * int64_t{1'000'000'000},
                                             4 * 86400 * int64_t{1'000'000'000});
  TimerWheel w(kStart);
  Instant earliest = Instant::never();
  for (size_t i = 0; i < kN; ++i) {
    deadline[i] = kStart + Duration::nanos(i % 10 == 0 ? far(rng) : near(rng));
    entries[i].owner = i;
    w.arm(entries[i], deadline[i]);
    earliest = std::min(earliest, deadline[i]);
  }
  EXPECT_EQ(w.size(), kN);
  EXPECT_EQ(w.next_deadline(), earliest);

  std::vector<Instant> sorted = deadline;
  std::sort(sorted.begin(), sorted.end());
  std::vector<bool> seen(kN);
  size_t total = 0;
  Ids out;
  Instant now = kStart;
  const Duration steps[] = {Duration::millis(3), Duration::seconds(1), Duration::seconds(75),
                            Duration::seconds(7200), Duration::seconds(86400)};
  for (int round = 0; now < sec(5 * 86400); ++round) {
    now = now + steps[round % 5];
    out.clear();
    w.expire(now, out);
    const size_t due =
        static_cast<size_t>(std::upper_bound(sorted.begin(), sorted.end(), now) - sorted.begin());
    ASSERT_EQ(total + out.size(), due) << "round " << round;
    for (size_t k = 0; k < out.size(); ++k) {
      ASSERT_LE(deadline[out[k]], now);
      ASSERT_FALSE(seen[out[k]]);
      seen[out[k]] = true;
      if (k) {
        ASSERT_LE(deadline[out[k - 1]], deadline[out[k]]);
      }
    }
    total += out.size();
    ASSERT_EQ(w.size(), kN - total);
    ASSERT_EQ(w.next_deadline(), total == kN ? Instant::never() : sorted[total]);
  }
  EXPECT_EQ(total, kN);
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace vigil::stack

// Linux's timer wheel, as the linux profile can follow it (`timer.hz`).
// Every expected value is worked by hand from kernel/time/timer.c:
// level L while the delta is under 63 << 3L jiffies, and the expiry
// rounded to ((expires >> 3L) + 1) << 3L. HZ 250: a jiffy is 4 ms.
namespace kernel_timer {
using vigil::Duration;
using vigil::Instant;
using vigil::tcp::kernel_timer_expiry;
Instant at_ms(double ms) { return Instant::from_ns(static_cast<int64_t>(ms * 1e6)); }

TEST(KernelTimer, LevelZeroFiresOneJiffyAfterTheRoundedUpDelta) {
  // Armed at 0.5 s (jiffy 125) for 200.2 ms (an RTO of SRTT 0.2 ms + 200):
  // 51 jiffies after rounding up, level 0, fires at jiffy 125 + 51 + 1.
  EXPECT_EQ(kernel_timer_expiry(at_ms(500), at_ms(700.2), 250), at_ms(708));
  // Mid-jiffy: at 501.1 ms the jiffy is still 125, so the same tick.
  EXPECT_EQ(kernel_timer_expiry(at_ms(501.1), at_ms(701.3), 250), at_ms(708));
  // 62 jiffies is the last delta of level 0: jiffy 0 + 62 + 1.
  EXPECT_EQ(kernel_timer_expiry(at_ms(0), at_ms(248), 250), at_ms(252));
}

TEST(KernelTimer, OuterLevelsRoundUpToTheirGranularity) {
  // 63 jiffies is level 1 (8 jiffies): ((63 >> 3) + 1) << 3 = 64.
  EXPECT_EQ(kernel_timer_expiry(at_ms(0), at_ms(252), 250), at_ms(256));
  // 408 ms from jiffy 125: 102 jiffies, level 1: ((227 >> 3) + 1) << 3 = 232.
  EXPECT_EQ(kernel_timer_expiry(at_ms(500), at_ms(908), 250), at_ms(928));
  // 3.264 s from jiffy 125: 816 jiffies, level 2 (64): ((941 >> 6) + 1) << 6 = 960.
  EXPECT_EQ(kernel_timer_expiry(at_ms(500), at_ms(3764), 250), at_ms(3840));
  // 2 h (1,800,000 jiffies, under 63 << 15) is level 5 (32,768 jiffies):
  // ((1,800,000 >> 15) + 1) << 15 = 55 * 32,768 = 1,802,240 jiffies = 7208.96 s.
  EXPECT_EQ(kernel_timer_expiry(at_ms(0), at_ms(7'200'000), 250), at_ms(7'208'960));
}

TEST(KernelTimer, DueNeverAndExactTimers) {
  // Already due: a delta of 0 fires on the next tick (jiffy 250 + 1).
  EXPECT_EQ(kernel_timer_expiry(at_ms(1001), at_ms(1000), 250), at_ms(1004));
  EXPECT_EQ(kernel_timer_expiry(at_ms(1001), Instant::never(), 250), Instant::never());
  EXPECT_EQ(kernel_timer_expiry(at_ms(500), at_ms(700.2), 0), at_ms(700.2));
  // HZ 1000: 200.2 ms is 201 jiffies, level 1: ((701 >> 3) + 1) << 3 = 704.
  EXPECT_EQ(kernel_timer_expiry(at_ms(500), at_ms(700.2), 1000), at_ms(704));
}

TEST(KernelTimer, RtoKeptInWholeJiffiesSoDoublingsStayWhole) {
  // SRTT 0.1 ms, RTTVAR 0.05 ms: the Linux formula gives 200.1 ms, which
  // __tcp_set_rto's usecs_to_jiffies makes 51 jiffies (204 ms, the
  // tcpi_rto of 204000 us measured in tests/data/linux-schedules.json).
  vigil::tcp::RttEstimator jiffies(Duration::seconds(1), Duration::millis(200),
                                   Duration::seconds(120), Duration::millis(1), true, 250);
  jiffies.sample(Duration::micros(100));
  EXPECT_EQ(jiffies.rto(), Duration::millis(204));
  jiffies.back_off();
  EXPECT_EQ(jiffies.rto(), Duration::millis(408));
  vigil::tcp::RttEstimator exact(Duration::seconds(1), Duration::millis(200),
                                 Duration::seconds(120), Duration::millis(1), true);
  exact.sample(Duration::micros(100));
  EXPECT_EQ(exact.rto(), Duration::micros(200'100));
}
}  // namespace kernel_timer
