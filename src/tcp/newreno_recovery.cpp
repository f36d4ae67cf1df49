// RFC 6582 NewReno loss recovery over RFC 5681 §3.2 fast retransmit and
// fast recovery: enter on the third duplicate ACK, inflate cwnd by one SMSS
// per further duplicate, resend one hole per partial ACK, deflate at the
// full ACK. Written to avoid RFC 2525 §2.8 (the window is deflated when
// recovery ends); the problem can be switched on to produce faulty traces.
#include <algorithm>

#include "tcp/loss_recovery.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {
namespace {

class NewRenoRecovery final : public LossRecovery {
 public:
  NewRenoRecovery(uint32_t recover, bool no_window_deflation)
      : LossRecovery(recover), no_window_deflation_(no_window_deflation) {}

  std::string_view name() const override { return "newreno"; }

  void on_ack_received(Instant, uint32_t, const SendSpace&, const wire::TcpOptions&) override {}

  bool on_new_ack(Instant, uint32_t ack, const SendSpace& s, uint32_t acked,
                  CongestionControl& cc) override {
    dup_acks_ = 0;
    if (!in_recovery_) return false;
    const uint32_t mss = s.mss;
    if (seq_ge(ack, recover_)) {
      // Full ACK: RFC 6582 §3.2 step 3 option (1), cwnd =
      // min(ssthresh, max(FlightSize, SMSS) + SMSS). This is the deflation
      // whose absence RFC 2525 §2.8 describes; with the bug, cwnd keeps the
      // value fast recovery inflated it to.
      in_recovery_ = false;
      if (!no_window_deflation_) {
        cc.set_cwnd(std::min(cc.ssthresh(), std::max(s.flight(), mss) + mss));
      }
      return true;
    }
    // Partial ACK: RFC 6582 §3.2 step 5, resend the next hole; deflate by
    // the amount acknowledged, then add back one SMSS if at least one SMSS
    // was acknowledged.
    uint32_t cwnd = cc.cwnd();
    cwnd = acked < cwnd ? cwnd - acked : mss;
    if (acked >= mss) cwnd += mss;
    cc.set_cwnd(std::max(cwnd, mss));
    fast_retransmit_pending_ = true;
    return true;
  }

  bool on_dup_ack(Instant now, const SendSpace& s, CongestionControl& cc) override {
    if (in_recovery_) {
      cc.set_cwnd(cc.cwnd() + s.mss);  // RFC 5681 §3.2 step 4: inflate
      return false;
    }
    // RFC 5681 §3.2 on the third duplicate; RFC 6582 §3.2 step 1: only if
    // the ACK covers more than `recover`, so a timeout's echoes don't count.
    if (++dup_acks_ == 3 && seq_gt(s.snd_una, recover_)) {
      in_recovery_ = true;
      recover_ = s.snd_max;
      cc.on_congestion_event(s.flight() - s.limited_transmit, now);
      cc.set_cwnd(cc.ssthresh() + 3 * s.mss);  // RFC 5681 §3.2 step 3
      fast_retransmit_pending_ = true;
      return true;
    }
    return false;
  }

  void on_retransmit_timeout(const SendSpace& s) override {
    // RFC 6582 §4: duplicate ACKs caused by the go-back must not trigger
    // another fast retransmit.
    in_recovery_ = false;
    dup_acks_ = 0;
    recover_ = s.snd_max;
  }

  void on_retransmitted(uint32_t, uint32_t) override {}

  RecoverySend next_send(const SendSpace&, uint32_t) const override { return {}; }

 private:
  bool no_window_deflation_;
};

}  // namespace

std::unique_ptr<LossRecovery> make_newreno_recovery(uint32_t recover, bool no_window_deflation) {
  return std::make_unique<NewRenoRecovery>(recover, no_window_deflation);
}

}  // namespace vigil::tcp
