// Congestion control behind a narrow interface (one file per algorithm):
// how large the window grows while data is acknowledged, and how far a
// congestion event or a timeout cuts it. Loss detection and the window
// during recovery (inflation, deflation, PRR) belong to LossRecovery
// (loss_recovery.hpp), which sets cwnd through set_cwnd(), as Linux's
// tcp_cwnd_reduction does beside the tcp_congestion_ops hooks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>

#include "vigil/time.hpp"

namespace vigil::tcp {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual std::string_view name() const = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
  // The sender's MSS changed (after the handshake, or a path MTU change).
  virtual void set_mss(uint32_t mss) = 0;

  // New data acknowledged outside loss recovery: grow the window.
  virtual void on_ack(uint32_t acked_bytes, Instant now) = 0;
  // Loss recovery begins with `flight` bytes outstanding: ssthresh takes
  // the reduced window and so does cwnd; recovery may then reshape cwnd.
  virtual void on_congestion_event(uint32_t flight, Instant now) = 0;
  // The retransmission timer expired with `flight` bytes outstanding.
  virtual void on_retransmit_timeout(uint32_t flight, Instant now) = 0;
  // Loss recovery's window while it runs and when it ends.
  virtual void set_cwnd(uint32_t cwnd) = 0;
  // Restart after idle (RFC 5681 §4.1, Linux tcp_cwnd_restart): the
  // connection computes both windows; avoidance starts afresh.
  virtual void restart_after_idle(uint32_t cwnd, uint32_t ssthresh) = 0;
  // A congestion response shown spurious (undo.hpp) is undone: the windows
  // go back to those before it, never below what they are now (Linux
  // tcp_undo_cwnd_reduction: cwnd = max(cwnd, prior_cwnd) by
  // tcp_reno_undo_cwnd, ssthresh = max(ssthresh, prior_ssthresh)).
  virtual void undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) = 0;
  // The smoothed RTT before an ACK is handed to on_ack() (CUBIC's
  // W_cubic(t + RTT)); Reno does not need it.
  virtual void on_rtt_sample(Duration) {}
  // Slow start's per-ACK growth limit L in segments (RFC 3465 §2.2: 2);
  // 0: none, every acknowledged byte counts (Linux tcp_slow_start).
  void set_abc_limit(uint32_t segments) { abc_limit_ = segments; }

 protected:
  uint32_t slow_start_increase(uint32_t acked, uint32_t mss) const {
    return abc_limit_ == 0 ? acked : std::min(acked, abc_limit_ * mss);
  }

 private:
  uint32_t abc_limit_ = 2;
};

// RFC 5681 Reno with RFC 3465 byte counting. `extra_additive_constant`
// emulates RFC 2525 §2.6 (knob bug.extra_additive_constant).
std::unique_ptr<CongestionControl> make_newreno(uint32_t mss, uint32_t initial_window_segments,
                                                bool extra_additive_constant = false);
// RFC 9438 CUBIC with the Reno-friendly region and fast convergence (cubic.hpp).
std::unique_ptr<CongestionControl> make_cubic(uint32_t mss, uint32_t initial_window_segments);

}  // namespace vigil::tcp
