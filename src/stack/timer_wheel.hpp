// Hierarchical timer wheel (after Varghese & Lauck's scheme 7) holding one
// deadline per connection. Arm, re-arm and cancel are O(1). Advancing costs
// the occupied slots passed plus the entries cascaded, never the ticks
// elapsed, because per-level occupancy bitmaps let expire() jump straight
// to the next occupied slot: virtual time may leap by hours at once.
//
// Deadlines stay exact nanosecond Instants; slots only bucket them. An
// entry never fires before its deadline, and expire(now) returns every
// entry due by `now`, ordered by (deadline, arm order).
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vigil/time.hpp"

namespace vigil::stack {

class TimerWheel;

// An intrusive handle embedded in its owner, so the wheel never allocates
// per timer. The wheel links to it by address, hence no copy or move.
// Destroying an armed entry is a bug (cancel() first; asserted in debug
// builds). Destroying the wheel disarms every entry it still holds, so
// entries may outlive their wheel.
struct TimerEntry {
  // Written by TimerWheel::arm(); never() whenever disarmed. Read-only to
  // callers while armed (the wheel files the entry by it).
  Instant deadline = Instant::never();
  uint64_t owner = 0;  // caller's id, returned by expire()

  TimerEntry() = default;
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry(TimerEntry&&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;
  TimerEntry& operator=(TimerEntry&&) = delete;
  ~TimerEntry() { assert(!armed() && "cancel a TimerEntry before destroying it"); }

  bool armed() const { return where_ != kDisarmed; }

 private:
  friend class TimerWheel;
  static constexpr uint16_t kDisarmed = 0xffff;
  static constexpr uint16_t kOverflow = 0xfffe;

  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  uint64_t seq_ = 0;            // arm order: breaks deadline ties deterministically
  uint16_t where_ = kDisarmed;  // level * 64 + slot, kOverflow or kDisarmed
};

class TimerWheel {
 public:
  static constexpr int kLevels = 4;  // 64^4 ticks: about 4.66 h at 1 ms
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;

  // `tick` is the level-0 slot width (must be positive); each level is 64x
  // coarser. Deadlines beyond the top level's reach wait in an overflow
  // list that is re-examined as time advances.
  explicit TimerWheel(Instant start, Duration tick = Duration::millis(1));
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // Arms `e`, or moves it if already armed; either way it counts as a fresh
  // arm for tie-breaking. A deadline at or before the last expire() time
  // fires on the next expire(); never() cancels.
  void arm(TimerEntry& e, Instant deadline);
  // No-op if `e` is not armed.
  void cancel(TimerEntry& e);

  // Earliest armed deadline, exact, or never() if empty. O(levels) bitmap
  // work plus, at worst, a rescan of the one candidate slot per level whose
  // cached minimum was invalidated by removing its holder.
  Instant next_deadline() const;

  // Advances to `now` (monotonic; must not go backwards) and appends the
  // owner ids of every entry with deadline <= now to `out`, in
  // nondecreasing deadline order, ties in arm order. Fired entries are
  // disarmed.
  void expire(Instant now, std::vector<uint64_t>& out);

  size_t size() const { return size_; }

  // Ticks at which expire() has stopped (to drain, cascade or rescan) so
  // far: lets tests check that advancing never walks empty ticks.
  uint64_t advance_steps() const { return steps_; }

 private:
  struct Slot {
    TimerEntry* head = nullptr;
    // Earliest deadline in the list: exact, or once its holder left
    // (`stale`) a lower bound that next_deadline() makes exact on demand.
    mutable Instant min = Instant::never();
    mutable bool stale = false;
  };

  uint64_t tick_of(Instant t) const;
  Slot& slot_at(uint16_t where);
  void place(TimerEntry& e, uint64_t tick);
  void unlink(TimerEntry& e);
  void disarm(TimerEntry& e);
  bool next_event(uint64_t* tick) const;
  void cascade(int level);
  void rescan_overflow();
  void drain(Instant limit, std::vector<uint64_t>& out);
  bool before_tick(Instant t, uint64_t tick) const;
  static Instant slot_min(const Slot& s);

  Instant origin_;    // tick 0 starts here
  uint64_t tick_ns_;  // slot width at level 0
  Instant now_;       // last expire() time
  uint64_t cur_ = 0;  // tick of now_: level 0 slot cur_ % 64 is current
  uint64_t next_seq_ = 0;
  size_t size_ = 0;
  uint64_t steps_ = 0;
  std::array<uint64_t, kLevels> occupied_{};  // bit i: slot i is non-empty
  std::array<std::array<Slot, kSlots>, kLevels> slots_{};
  Slot overflow_;
  // Lower bound on the overflow list's earliest tick (cancels may leave it
  // low): the wheel rescans the list once cur_ reaches it.
  uint64_t overflow_lb_ = UINT64_MAX;
  std::vector<TimerEntry*> scratch_;  // reused by drain(): no per-call allocation
};

}  // namespace vigil::stack
