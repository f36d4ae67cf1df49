// An application that stops reading for a while, so its receive window
// closes (RFC 9293 §3.8.6.1) and the peer has to probe it; then it reads
// on. One implementation for the simulator's peers (a window of time, with
// an optional small read inside it) and `vigil tun --read-pause-after N
// --read-pause D` (after N bytes, for D).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "vigil/time.hpp"

namespace vigil::app {

struct ReadPausePlan {
  Instant from = Instant::never();          // stop reading at...
  Instant until = Instant::never();         // ...and resume at
  std::optional<uint64_t> after;            // or: stop once this many bytes are read...
  Duration length = Duration::seconds(10);  // ...for this long (once)
  // While paused, read once this many bytes at trickle_at: the RFC 2525
  // §2.12 recipe (1 < N < MSS bytes, too few for a window update).
  Instant trickle_at = Instant::never();
  size_t trickle_bytes = 0;
};

class ReadPause {
 public:
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

  explicit ReadPause(const ReadPausePlan& plan = {}) : plan_(plan) {}
  const ReadPausePlan& plan() const { return plan_; }

  // How many more bytes the application may read at `now`, having read
  // `read` so far: 0 while paused, kUnlimited when nothing limits it.
  // Reaching `after` starts the pause.
  uint64_t room(Instant now, uint64_t read);
  bool paused(Instant now) const {
    return (now >= plan_.from && now < plan_.until) || (until_ && now < *until_);
  }
  // While paused, the size of the one small read due at `now` (once), or 0.
  size_t take_trickle(Instant now);
  // The earliest moment after `now` at which the answers above change.
  Instant next_wake(Instant now) const;

 private:
  ReadPausePlan plan_;
  std::optional<Instant> until_;  // an `after` pause in progress, until then
  bool paused_once_ = false;      // `after` has started its pause
  bool trickled_ = false;
};

}  // namespace vigil::app
