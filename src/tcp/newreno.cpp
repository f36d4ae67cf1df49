// Reno congestion control (RFC 5681) with Appropriate Byte Counting (RFC
// 3465). Written to avoid RFC 2525 §2.6 (no extra additive constant in
// congestion avoidance); the problem can be switched on to produce faulty
// traces. The recovery-phase window (RFC 6582 inflation and deflation, and
// RFC 2525 §2.8) is in newreno_recovery.cpp.
#include <algorithm>

#include "tcp/congestion.hpp"

namespace vigil::tcp {
namespace {

class NewReno final : public CongestionControl {
 public:
  NewReno(uint32_t mss, uint32_t iw_segments, bool extra_additive_constant)
      : mss_(mss), iw_segments_(iw_segments), extra_additive_constant_(extra_additive_constant) {
    cwnd_ = initial_window();
  }

  std::string_view name() const override { return "newreno"; }
  uint32_t cwnd() const override { return cwnd_; }
  uint32_t ssthresh() const override { return ssthresh_; }

  void set_mss(uint32_t mss) override {
    // Before any data moved, the initial window follows the negotiated MSS.
    const bool untouched = cwnd_ == initial_window();
    mss_ = mss;
    if (untouched) cwnd_ = initial_window();
  }

  void on_ack(uint32_t acked, Instant) override {
    if (cwnd_ < ssthresh_) {
      // RFC 3465 §2.2 slow start: cwnd += min(N, L*SMSS) with L = 2.
      cwnd_ += slow_start_increase(acked, mss_);
      return;
    }
    if (extra_additive_constant_) {
      // RFC 2525 §2.6, the faulty formula: per ACK of new data,
      // MSS*MSS/cwnd (at least 1 byte, RFC 5681 §3.1) plus MSS/8.
      const uint64_t step = std::max<uint64_t>(uint64_t{mss_} * mss_ / cwnd_, 1);
      cwnd_ = static_cast<uint32_t>(std::min<uint64_t>(cwnd_ + step + mss_ / 8, 0x7fffffff));
      return;
    }
    // RFC 5681 §3.1 congestion avoidance by byte counting (RFC 3465 §2.1):
    // one SMSS per cwnd of acknowledged bytes, and nothing more.
    bytes_acked_ += acked;
    if (bytes_acked_ >= cwnd_) {
      bytes_acked_ -= cwnd_;
      cwnd_ += mss_;
    }
  }

  void on_congestion_event(uint32_t flight, Instant) override {
    // RFC 5681 §3.2 step 2 (equation 4); RFC 6675 §5 step 4.2.
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = ssthresh_;
    bytes_acked_ = 0;
  }

  void on_retransmit_timeout(uint32_t flight, Instant) override {
    // RFC 5681 §3.1 equation 4 and the loss window of one segment.
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = mss_;
    bytes_acked_ = 0;
  }

  void set_cwnd(uint32_t cwnd) override { cwnd_ = cwnd; }

  void undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) override {
    cwnd_ = std::max(cwnd_, prior_cwnd);
    ssthresh_ = std::max(ssthresh_, prior_ssthresh);
    bytes_acked_ = 0;
  }

  void restart_after_idle(uint32_t cwnd, uint32_t ssthresh) override {
    cwnd_ = cwnd;
    ssthresh_ = ssthresh;
    bytes_acked_ = 0;
  }

 private:
  uint32_t initial_window() const { return iw_segments_ * mss_; }

  uint32_t mss_;
  uint32_t iw_segments_;
  bool extra_additive_constant_;
  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = 0x7fffffff;  // RFC 5681 §3.1: arbitrarily high at first
  uint32_t bytes_acked_ = 0;
};

}  // namespace

std::unique_ptr<CongestionControl> make_newreno(uint32_t mss, uint32_t initial_window_segments,
                                                bool extra_additive_constant) {
  return std::make_unique<NewReno>(mss, initial_window_segments, extra_additive_constant);
}

}  // namespace vigil::tcp
