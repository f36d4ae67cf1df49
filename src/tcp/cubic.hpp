// CUBIC congestion control (RFC 9438), declared here so its tests can see
// W_max, K and W_est; the connection uses it through CongestionControl.
#pragma once

#include "tcp/congestion.hpp"

namespace vigil::tcp {

class Cubic final : public CongestionControl {
 public:
  static constexpr double kC = 0.4;     // §4.2: C, in segments / s^3
  static constexpr double kBeta = 0.7;  // §4.6: beta_cubic
  // §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), Reno-equivalent growth.
  static constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

  Cubic(uint32_t mss, uint32_t iw_segments);

  std::string_view name() const override { return "cubic"; }
  uint32_t cwnd() const override { return static_cast<uint32_t>(cwnd_); }
  uint32_t ssthresh() const override { return ssthresh_; }
  void set_mss(uint32_t mss) override;
  void on_rtt_sample(Duration srtt) override { srtt_ = srtt.secs(); }
  void on_ack(uint32_t acked, Instant now) override;
  void on_congestion_event(uint32_t flight, Instant now) override;
  void on_retransmit_timeout(uint32_t flight, Instant now) override;
  void set_cwnd(uint32_t cwnd) override { cwnd_ = cwnd; }
  // §4.9: the state before the spurious congestion event comes back
  // (W_max, the window at the last event); the next stage starts a new
  // epoch from the restored window.
  void undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) override;
  // The next avoidance stage starts a new epoch (§4.2) from the restarted
  // window, as after any reduction.
  void restart_after_idle(uint32_t cwnd, uint32_t ssthresh) override {
    cwnd_ = cwnd;
    ssthresh_ = ssthresh;
    in_epoch_ = false;
  }

  // --- Observation (bytes and seconds) ---
  double w_max() const { return w_max_; }
  double k() const { return k_; }
  double w_est() const { return w_est_; }
  double exact_cwnd() const { return cwnd_; }

 private:
  double initial_window() const { return static_cast<double>(iw_segments_) * mss_; }
  void reduce();

  uint32_t mss_;
  uint32_t iw_segments_;
  double cwnd_ = 0;
  uint32_t ssthresh_ = 0x7fffffff;
  double srtt_ = 0;  // seconds
  // Epoch state (§4.2, §4.3).
  bool in_epoch_ = false;
  Instant epoch_start_;
  double cwnd_epoch_ = 0;
  double w_max_ = 0;            // bytes
  double cwnd_prior_ = 0;       // bytes: cwnd when the last congestion event came
  double k_ = 0;                // seconds
  double w_est_ = 0;            // bytes
  bool after_timeout_ = false;  // §4.8: the next stage is the first after a timeout
  double w_max_prior_ = 0;      // §4.9: W_max and cwnd_prior before the last event
  double cwnd_prior_prior_ = 0;
};

}  // namespace vigil::tcp
