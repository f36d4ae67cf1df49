// Reno congestion control (RFC 5681) with NewReno's recovery window
// arithmetic (RFC 6582) and Appropriate Byte Counting (RFC 3465).
// Written to avoid RFC 2525 §2.6 (no extra additive constant in congestion
// avoidance) and §2.8 (the window is deflated when recovery ends); both
// problems can be switched on (CongestionBugs) to produce faulty traces.
#include <algorithm>

#include "tcp/congestion.hpp"

namespace vigil::tcp {
namespace {

class NewReno final : public CongestionControl {
 public:
  NewReno(uint32_t mss, uint32_t iw_segments, CongestionBugs bugs)
      : mss_(mss), iw_segments_(iw_segments), bugs_(bugs) {
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
      cwnd_ += std::min(acked, 2 * mss_);
      return;
    }
    if (bugs_.extra_additive_constant) {
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

  void on_enter_recovery(uint32_t flight) override {
    // RFC 5681 §3.2 steps 2-3 (equation 4).
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = ssthresh_ + 3 * mss_;
    bytes_acked_ = 0;
  }

  void on_enter_sack_recovery(uint32_t flight) override {
    ssthresh_ = std::max(flight / 2, 2 * mss_);  // RFC 6675 §5 step 4.2 (RFC 5681 eq. 4)
    cwnd_ = ssthresh_;
    bytes_acked_ = 0;
  }

  void on_recovery_dup_ack() override { cwnd_ += mss_; }  // §3.2 step 4: inflate

  void on_partial_ack(uint32_t acked) override {
    // RFC 6582 §3.2 step 5: deflate by the amount acknowledged, then add
    // back one SMSS if at least one SMSS was acknowledged.
    cwnd_ = acked < cwnd_ ? cwnd_ - acked : mss_;
    if (acked >= mss_) cwnd_ += mss_;
    cwnd_ = std::max(cwnd_, mss_);
  }

  void on_exit_recovery(uint32_t flight) override {
    // RFC 6582 §3.2 step 3 option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
    // This is the deflation whose absence RFC 2525 §2.8 describes; with the
    // bug, cwnd keeps the value fast recovery inflated it to.
    if (bugs_.no_window_deflation) return;
    cwnd_ = std::min(ssthresh_, std::max(flight, mss_) + mss_);
  }

  void on_retransmit_timeout(uint32_t flight) override {
    // RFC 5681 §3.1 equation 4 and the loss window of one segment.
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = mss_;
    bytes_acked_ = 0;
  }

 private:
  uint32_t initial_window() const { return iw_segments_ * mss_; }

  uint32_t mss_;
  uint32_t iw_segments_;
  CongestionBugs bugs_;
  uint32_t cwnd_ = 0;
  uint32_t ssthresh_ = 0x7fffffff;  // RFC 5681 §3.1: arbitrarily high at first
  uint32_t bytes_acked_ = 0;
};

}  // namespace

std::unique_ptr<CongestionControl> make_newreno(uint32_t mss, uint32_t initial_window_segments,
                                                CongestionBugs bugs) {
  return std::make_unique<NewReno>(mss, initial_window_segments, bugs);
}

}  // namespace vigil::tcp
