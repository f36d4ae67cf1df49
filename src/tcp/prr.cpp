// RFC 6937 §3's per-ACK computation, in bytes, with the slow-start
// reduction bound (PRR-SSRB), the variant the RFC recommends and Linux's
// tcp_cwnd_reduction uses after an ACK that advances SND.UNA.
#include "tcp/prr.hpp"

#include <algorithm>

namespace vigil::tcp {

uint32_t ProportionalRateReduction::on_ack(uint32_t delivered, uint32_t pipe, uint32_t ssthresh,
                                           uint32_t mss, bool ssrb) {
  delivered_ += delivered;
  int64_t sndcnt = 0;
  if (pipe > ssthresh) {
    // Proportional: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
    const uint64_t fs = std::max<uint32_t>(recover_fs_, 1);
    const uint64_t target = (delivered_ * ssthresh + fs - 1) / fs;
    sndcnt = static_cast<int64_t>(target) - static_cast<int64_t>(out_);
  } else {
    // PRR-SSRB: limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS;
    // sndcnt = MIN(ssthresh - pipe, limit). PRR-CRB: without the + MSS.
    const int64_t banked = static_cast<int64_t>(delivered_) - static_cast<int64_t>(out_);
    const int64_t limit = std::max<int64_t>(banked, delivered) + (ssrb ? mss : 0);
    sndcnt = std::min<int64_t>(ssthresh - pipe, limit);
  }
  // prr_out may already exceed the proportional share (the fast
  // retransmission goes whatever sndcnt says): nothing more, not less.
  return static_cast<uint32_t>(std::clamp<int64_t>(sndcnt, 0, 0x7fffffff));
}

}  // namespace vigil::tcp
