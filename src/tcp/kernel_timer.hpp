// When a Linux kernel timer armed at `now` for `when` actually fires: the
// linux profile's timers follow it (knob `timer.hz`), so its schedules keep
// the kernel's jiffies and its timer wheel's rounding instead of running a
// few percent early (issue 11; tests/data/linux-schedules.json, HZ=250).
#pragma once

#include <cstdint>

#include "vigil/time.hpp"

namespace vigil::tcp {

// Linux arms every TCP timer as `jiffies + delta` (sk_reset_timer), with
// the delta rounded up to whole jiffies (usecs_to_jiffies). The timer wheel
// (kernel/time/timer.c, calc_wheel_index and calc_index) keeps a timer in
// level L when delta < 63 << 3L, and rounds its expiry up to the next
// multiple of that level's granularity, 8^L jiffies, strictly after it, so
// that it never fires early: +1 jiffy at level 0 (deltas under 252 ms at
// HZ=250), up to +8 jiffies (32 ms) at level 1 (up to 2 s), up to +64
// (256 ms) at level 2 (up to 16 s), and so on. Jiffy 0 is time 0 here.
// `hz` 0 means exact timers: `when` is returned unchanged, as is never().
Instant kernel_timer_expiry(Instant now, Instant when, uint32_t hz);

// `d` rounded up to whole jiffies of 1/hz s (usecs_to_jiffies); `hz` 0
// returns it unchanged. A negative `d` counts as 0.
Duration round_up_to_jiffies(Duration d, uint32_t hz);

}  // namespace vigil::tcp
