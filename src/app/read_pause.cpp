#include "app/read_pause.hpp"

#include <algorithm>

namespace vigil::app {

uint64_t ReadPause::room(Instant now, uint64_t read) {
  if (now >= plan_.from && now < plan_.until) return 0;
  if (until_) {
    if (now < *until_) return 0;
    until_.reset();
  }
  if (plan_.after && !paused_once_) {
    if (read >= *plan_.after) {
      paused_once_ = true;
      until_ = now + plan_.length;
      return 0;
    }
    return *plan_.after - read;
  }
  return kUnlimited;
}

size_t ReadPause::take_trickle(Instant now) {
  if (!paused(now) || trickled_ || now < plan_.trickle_at || plan_.trickle_bytes == 0) return 0;
  trickled_ = true;
  return plan_.trickle_bytes;
}

Instant ReadPause::next_wake(Instant now) const {
  Instant next = Instant::never();
  auto consider = [&](Instant t) {
    if (t > now) next = std::min(next, t);
  };
  consider(plan_.from);
  consider(plan_.until);
  if (until_) consider(*until_);
  if (!trickled_ && plan_.trickle_bytes > 0) consider(plan_.trickle_at);
  return next;
}

}  // namespace vigil::app
