// CUBIC congestion control (RFC 9438): after a congestion event the window
// follows W_cubic(t) = C * (t - K)^3 + W_max (§4.2), concave up to the
// window where the loss happened, then convex beyond it; never below what
// Reno would have (the Reno-friendly region, §4.3); fast convergence
// (§4.7) gives up bandwidth to newer flows. Windows are kept in bytes as
// doubles, so the RFC's per-ACK fractions add up exactly; cwnd() is the
// whole bytes of it. Slow start is Reno's with RFC 3465 byte counting.
#include "tcp/cubic.hpp"

#include <algorithm>
#include <cmath>

namespace vigil::tcp {

Cubic::Cubic(uint32_t mss, uint32_t iw_segments) : mss_(mss), iw_segments_(iw_segments) {
  cwnd_ = initial_window();
}

void Cubic::set_mss(uint32_t mss) {
  // Before any data moved, the initial window follows the negotiated MSS.
  const bool untouched = cwnd_ == initial_window();
  mss_ = mss;
  if (untouched) cwnd_ = initial_window();
}

void Cubic::on_ack(uint32_t acked, Instant now) {
  if (cwnd_ < ssthresh_) {
    // Slow start (RFC 5681 §3.1 with RFC 3465 §2.2, L = 2 unless set).
    cwnd_ += slow_start_increase(acked, mss_);
    return;
  }
  const double mss = mss_;
  if (!in_epoch_) {
    // §4.2: a congestion-avoidance stage starts now. Without an earlier
    // congestion event above the current window, K = 0 and the curve
    // starts at the current window.
    in_epoch_ = true;
    epoch_start_ = now;
    cwnd_epoch_ = cwnd_;
    w_est_ = cwnd_;  // §4.3: W_est = cwnd_epoch at the start of the stage
    if (after_timeout_ || w_max_ <= cwnd_) {
      // §4.8: the first stage after a timeout starts its curve here too:
      // K = 0 and W_max = the window at the start of the stage.
      after_timeout_ = false;
      w_max_ = cwnd_;
      k_ = 0;
    } else {
      k_ = std::cbrt((w_max_ - cwnd_epoch_) / mss / kC);  // K, eq. 2, in segments
    }
  }
  // §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 cwnd] (§4.4);
  // the Reno-friendly test below compares W_cubic(t) itself (§4.3).
  const double t = (now - epoch_start_).secs();
  const auto w_cubic_at = [&](double x) { return (kC * std::pow(x - k_, 3) + w_max_ / mss) * mss; };
  const double w_cubic = w_cubic_at(t);
  const double target = std::clamp(w_cubic_at(t + srtt_), cwnd_, 1.5 * cwnd_);
  // §4.3: W_est grows by alpha_cubic * segments_acked / cwnd segments;
  // once it reaches cwnd_prior (the window at the last congestion event)
  // Reno's alpha = 1 applies.
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : kAlpha;
  w_est_ += alpha * acked * mss / cwnd_;
  if (w_cubic < w_est_) {
    cwnd_ = w_est_;  // §4.3: the Reno-friendly region
  } else {
    // §4.4 (concave) / §4.5 (convex): cwnd += (target - cwnd) / cwnd for
    // each SMSS acknowledged.
    cwnd_ += (target - cwnd_) / cwnd_ * acked;
  }
}

void Cubic::reduce() {
  // §4.9: kept so a spurious event can be undone.
  w_max_prior_ = w_max_;
  cwnd_prior_prior_ = cwnd_prior_;
  // §4.7 fast convergence: a loss below the last W_max means another flow
  // is taking its share: release more, W_max = cwnd (1 + beta) / 2.
  cwnd_prior_ = cwnd_;
  w_max_ = cwnd_ < w_max_ ? cwnd_ * (1.0 + kBeta) / 2.0 : cwnd_;
  // §4.6: ssthresh = cwnd * beta_cubic, at least 2 segments; beta as the
  // fraction 7/10 on whole bytes, so 90000 gives 63000, not 62999.99...
  const uint64_t whole = static_cast<uint64_t>(cwnd_);
  ssthresh_ = std::max(static_cast<uint32_t>(whole * 7 / 10), 2 * mss_);
  in_epoch_ = false;
}

void Cubic::on_congestion_event(uint32_t, Instant) {
  reduce();
  after_timeout_ = false;
  cwnd_ = ssthresh_;  // §4.6: cwnd = ssthresh
}

void Cubic::on_retransmit_timeout(uint32_t, Instant) {
  // §4.8: ssthresh as for a congestion event, cwnd back to one segment
  // (RFC 5681's loss window); the next stage starts a new epoch.
  reduce();
  cwnd_ = mss_;
  after_timeout_ = true;
}

void Cubic::undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) {
  cwnd_ = std::max(cwnd_, static_cast<double>(prior_cwnd));
  ssthresh_ = std::max(ssthresh_, prior_ssthresh);
  w_max_ = w_max_prior_;
  cwnd_prior_ = cwnd_prior_prior_;
  after_timeout_ = false;
  in_epoch_ = false;
}

std::unique_ptr<CongestionControl> make_cubic(uint32_t mss, uint32_t initial_window_segments) {
  return std::make_unique<Cubic>(mss, initial_window_segments);
}

}  // namespace vigil::tcp
