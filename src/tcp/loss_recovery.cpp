// What every loss-recovery algorithm shares: the duplicate-ACK rule with
// SACK (RFC 6675 §2) and the state digest.
#include "tcp/loss_recovery.hpp"

#include "tcp/seq.hpp"

namespace vigil::tcp {

RecoveryState LossRecovery::state() const {
  RecoveryState r;
  r.in_recovery = in_recovery_;
  r.recover = recover_;
  r.dup_acks = dup_acks_;
  r.sack_high = sack_high_;
  r.fast_retransmit_pending = fast_retransmit_pending_;
  return r;
}

bool LossRecovery::sack_reports_new_data(const SendSpace& s, const wire::TcpOptions& o) {
  // Stale (or never set, at any ISN): restart from SND.UNA.
  if (seq_lt(sack_high_, s.snd_una) || seq_gt(sack_high_, s.snd_max)) sack_high_ = s.snd_una;
  bool fresh = false;
  for (uint8_t i = 0; i < o.sack_count; ++i) {
    const uint32_t right = o.sack[i].right;
    // Only blocks inside what was sent; D-SACKs (RFC 2883) lie below
    // SND.UNA and report nothing new.
    if (seq_gt(right, sack_high_) && seq_le(right, s.snd_max) &&
        seq_gt(o.sack[i].left, s.snd_una)) {
      sack_high_ = right;
      fresh = true;
    }
  }
  return fresh;
}

}  // namespace vigil::tcp
