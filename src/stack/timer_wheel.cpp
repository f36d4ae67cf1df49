// Placement is relative to the current tick (as in the classic cascading
// Linux wheel): an entry whose tick T lies `delta = T - cur_` ahead goes to
// level l where 64^l <= delta < 64^(l+1), slot (T >> 6l) % 64. That slot is
// next visited at tick P = T rounded down to a multiple of 64^l, with
// cur_ < P <= T, and no visit of that slot falls in between; at P the entry
// is cascaded to a lower level, so it reaches level 0 exactly at tick T.
// Hence a slot at level l holds only ticks in [P, P + 64^l).
#include "stack/timer_wheel.hpp"

#include <algorithm>
#include <bit>

namespace vigil::stack {

namespace {

int shift_of(int level) { return level * TimerWheel::kSlotBits; }

// First occupied slot at `level` in visiting order after tick `cur` (the
// slot holding cur's own period comes last: it was visited when that period
// began, so anything in it waits for the next round). Returns the tick at
// which that slot is visited; *slot receives its index.
uint64_t first_visit(uint64_t bits, int level, uint64_t cur, int* slot) {
  const uint64_t base = cur >> shift_of(level);
  const int from = static_cast<int>((base + 1) & (TimerWheel::kSlots - 1));
  const uint64_t k = static_cast<uint64_t>(std::countr_zero(std::rotr(bits, from))) + 1;
  *slot = static_cast<int>((base + k) & (TimerWheel::kSlots - 1));
  return (base + k) << shift_of(level);
}

}  // namespace

TimerWheel::TimerWheel(Instant start, Duration tick)
    : origin_(start), tick_ns_(static_cast<uint64_t>(tick.ns())), now_(start) {
  assert(tick > Duration::zero());
}

TimerWheel::~TimerWheel() {
  // Leave surviving entries disarmed so their owners may outlive the wheel.
  auto release = [](Slot& s) {
    for (TimerEntry* e = s.head; e;) {
      TimerEntry* next = e->next_;
      e->prev_ = e->next_ = nullptr;
      e->where_ = TimerEntry::kDisarmed;
      e->deadline = Instant::never();
      e = next;
    }
    s.head = nullptr;
  };
  for (auto& level : slots_)
    for (Slot& s : level) release(s);
  release(overflow_);
}

uint64_t TimerWheel::tick_of(Instant t) const {
  // Unsigned difference: exact for any t >= origin_, even across the int64 range.
  return (static_cast<uint64_t>(t.ns()) - static_cast<uint64_t>(origin_.ns())) / tick_ns_;
}

TimerWheel::Slot& TimerWheel::slot_at(uint16_t where) {
  if (where == TimerEntry::kOverflow) return overflow_;
  return slots_[where >> kSlotBits][where & (kSlots - 1)];
}

void TimerWheel::place(TimerEntry& e, uint64_t tick) {
  assert(tick >= cur_);
  const uint64_t delta = tick - cur_;
  const int level = delta == 0 ? 0 : (std::bit_width(delta) - 1) / kSlotBits;
  Slot* s;
  if (level >= kLevels) {
    s = &overflow_;
    e.where_ = TimerEntry::kOverflow;
    overflow_lb_ = std::min(overflow_lb_, tick);
  } else {
    const int idx = static_cast<int>((tick >> shift_of(level)) & (kSlots - 1));
    s = &slots_[level][idx];
    e.where_ = static_cast<uint16_t>(level * kSlots + idx);
    occupied_[level] |= uint64_t{1} << idx;
  }
  e.prev_ = nullptr;
  e.next_ = s->head;
  if (s->head) s->head->prev_ = &e;
  s->head = &e;
  // While stale, `min` is still a lower bound, so an entry at or below it
  // is the exact minimum again (common: re-arming the holder unchanged).
  if (e.deadline <= s->min) {
    s->min = e.deadline;
    s->stale = false;
  }
}

void TimerWheel::unlink(TimerEntry& e) {
  Slot& s = slot_at(e.where_);
  if (e.prev_) {
    e.prev_->next_ = e.next_;
  } else {
    s.head = e.next_;
  }
  if (e.next_) e.next_->prev_ = e.prev_;
  e.prev_ = e.next_ = nullptr;
  if (s.head == nullptr) {
    s.min = Instant::never();
    s.stale = false;
    if (e.where_ == TimerEntry::kOverflow) {
      overflow_lb_ = UINT64_MAX;
    } else {
      occupied_[e.where_ >> kSlotBits] &= ~(uint64_t{1} << (e.where_ & (kSlots - 1)));
    }
  } else if (e.deadline == s.min) {
    s.stale = true;  // `min` stays a lower bound; the exact value is found lazily
  }
  e.where_ = TimerEntry::kDisarmed;
}

void TimerWheel::disarm(TimerEntry& e) {
  e.deadline = Instant::never();
  --size_;
}

void TimerWheel::arm(TimerEntry& e, Instant deadline) {
  if (deadline.is_never()) {
    cancel(e);
    return;
  }
  if (e.armed()) {
    unlink(e);
  } else {
    ++size_;
  }
  e.deadline = deadline;
  e.seq_ = next_seq_++;
  // Already due: file under the current tick so the next expire() fires it.
  place(e, deadline <= now_ ? cur_ : tick_of(deadline));
}

void TimerWheel::cancel(TimerEntry& e) {
  if (!e.armed()) return;
  unlink(e);
  disarm(e);
}

Instant TimerWheel::slot_min(const Slot& s) {
  if (s.stale) {
    s.min = Instant::never();
    for (const TimerEntry* e = s.head; e; e = e->next_) s.min = std::min(s.min, e->deadline);
    s.stale = false;
  }
  return s.min;
}

// True if `t` is earlier than every deadline filed at `tick` or later.
// Callers pass ticks beyond cur_, which all start after now_.
bool TimerWheel::before_tick(Instant t, uint64_t tick) const {
  if (t.is_never()) return false;
  if (t <= now_) return true;
  return tick_of(t) < tick;
}

Instant TimerWheel::next_deadline() const {
  Instant best = Instant::never();
  if (occupied_[0]) {
    // Level 0 slots hold one tick each; start at the current one, which may
    // also hold entries armed in the past.
    const int from = static_cast<int>(cur_ & (kSlots - 1));
    const int k = std::countr_zero(std::rotr(occupied_[0], from));
    best = slot_min(slots_[0][(from + k) & (kSlots - 1)]);
  }
  for (int level = 1; level < kLevels; ++level) {
    if (!occupied_[level]) continue;
    int idx;
    const uint64_t visit = first_visit(occupied_[level], level, cur_, &idx);
    // Later slots of this level hold later ticks only, so one slot suffices.
    if (before_tick(best, visit)) continue;
    best = std::min(best, slot_min(slots_[level][idx]));
  }
  if (overflow_.head && !before_tick(best, overflow_lb_))
    best = std::min(best, slot_min(overflow_));
  return best;
}

// Earliest tick after cur_ at which a slot must be visited or the overflow
// list rescanned. Requires level 0's current slot to be empty.
bool TimerWheel::next_event(uint64_t* tick) const {
  bool found = false;
  uint64_t best = UINT64_MAX;
  for (int level = 0; level < kLevels; ++level) {
    if (!occupied_[level]) continue;
    int idx;
    const uint64_t visit = first_visit(occupied_[level], level, cur_, &idx);
    if (!found || visit < best) best = visit;
    found = true;
  }
  if (overflow_.head) {
    assert(overflow_lb_ > cur_);
    if (!found || overflow_lb_ < best) best = overflow_lb_;
    found = true;
  }
  *tick = best;
  return found;
}

void TimerWheel::cascade(int level) {
  const int idx = static_cast<int>((cur_ >> shift_of(level)) & (kSlots - 1));
  Slot& s = slots_[level][idx];
  TimerEntry* e = s.head;
  s = Slot{};
  occupied_[level] &= ~(uint64_t{1} << idx);
  while (e) {
    TimerEntry* next = e->next_;
    const uint64_t tick = tick_of(e->deadline);
    assert(tick >= cur_ && tick - cur_ < (uint64_t{1} << shift_of(level)));
    place(*e, tick);
    e = next;
  }
}

void TimerWheel::rescan_overflow() {
  // Re-filing every entry moves in all that now fit (a whole top-level reach
  // at once), so each entry is rescanned at most once per 64^kLevels ticks.
  TimerEntry* e = overflow_.head;
  overflow_ = Slot{};
  overflow_lb_ = UINT64_MAX;
  while (e) {
    TimerEntry* next = e->next_;
    place(*e, tick_of(e->deadline));
    e = next;
  }
}

void TimerWheel::drain(Instant limit, std::vector<uint64_t>& out) {
  Slot& s = slots_[0][cur_ & (kSlots - 1)];
  if (!s.head) return;
  scratch_.clear();
  for (TimerEntry* e = s.head; e;) {
    TimerEntry* next = e->next_;
    if (e->deadline <= limit) {
      unlink(*e);
      scratch_.push_back(e);
    }
    e = next;
  }
  // One tick holds many nanosecond deadlines: order them exactly.
  std::sort(scratch_.begin(), scratch_.end(), [](const TimerEntry* a, const TimerEntry* b) {
    return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq_ < b->seq_;
  });
  for (TimerEntry* e : scratch_) {
    out.push_back(e->owner);
    disarm(*e);
  }
}

void TimerWheel::expire(Instant now, std::vector<uint64_t>& out) {
  assert(now >= now_ && "time must not go backwards");
  if (now < now_) now = now_;
  const uint64_t target = tick_of(now);
  while (cur_ < target) {
    // Every entry in the current tick is due: the target lies beyond it.
    drain(Instant::never(), out);
    uint64_t t;
    if (!next_event(&t) || t > target) {
      cur_ = target;  // nothing in between: jump
      break;
    }
    cur_ = t;
    ++steps_;
    if (overflow_.head && overflow_lb_ <= cur_) rescan_overflow();
    for (int level = kLevels - 1; level >= 1; --level) {
      const uint64_t mask = (uint64_t{1} << shift_of(level)) - 1;
      if ((cur_ & mask) != 0) continue;
      const int idx = static_cast<int>((cur_ >> shift_of(level)) & (kSlots - 1));
      if (occupied_[level] & (uint64_t{1} << idx)) cascade(level);
    }
  }
  now_ = now;
  drain(now, out);
}

}  // namespace vigil::stack
