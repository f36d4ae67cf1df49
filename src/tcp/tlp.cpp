// RFC 8985 §7: the probe timeout and what the ACK of a probe says.
#include "tcp/tlp.hpp"

#include <algorithm>

#include "tcp/seq.hpp"

namespace vigil::tcp {

Duration TailLossProbe::pto(bool has_srtt, Duration srtt, bool one_segment, Duration rto_left) {
  Duration p = kPtoWithoutSrtt;
  if (has_srtt) {
    p = srtt * 2;
    // A lone segment's ACK may wait for the receiver's delayed-ACK timer.
    if (one_segment) p += kWorstCaseDelayedAck;
  }
  // "If Now() + PTO > TCP_RTO_expiration(): PTO = TCP_RTO_expiration() - Now()"
  return std::max(std::min(p, rto_left), Duration::zero());
}

TailLossProbe::AckVerdict TailLossProbe::on_ack(uint32_t ack, std::optional<uint32_t> dsack_end) {
  if (!probe_ || seq_lt(ack, probe_->end_seq)) return AckVerdict::kNone;
  const Probe p = *probe_;
  probe_.reset();  // §7.4: the episode ends once SND.UNA reaches TLP.end_seq
  if (!p.retransmission) return AckVerdict::kDelivered;  // §7.4.1: new data
  // §7.4.2: a D-SACK for the probe says the original arrived, so nothing
  // was lost; otherwise the probe repaired a loss.
  if (dsack_end && *dsack_end == p.end_seq) return AckVerdict::kDelivered;
  return AckVerdict::kRepaired;
}

}  // namespace vigil::tcp
