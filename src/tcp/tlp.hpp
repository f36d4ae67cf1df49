// RFC 8985 §7 Tail Loss Probe: when the last segments of a flight are lost
// there are no duplicate ACKs to start fast recovery, and without a probe
// only the RTO repairs them. A probe timer (PTO, about two round trips)
// sends one segment, new data or the last one again, whose ACK lets
// SACK-based recovery repair the tail. This class holds the algorithm's
// state (TLP.end_seq, TLP.is_retrans) and its arithmetic; the connection
// arms the timer (connection_liveness.cpp) and sends the probe
// (connection_output.cpp).
#pragma once

#include <cstdint>
#include <optional>

#include "vigil/time.hpp"

namespace vigil::tcp {

class TailLossProbe {
 public:
  // RFC 8985 §7.2: WCDelAckT, the worst-case delayed-ACK timer, RECOMMENDED
  // 200 ms. Linux adds TCP_RTO_MIN (also 200 ms) in tcp_schedule_loss_probe.
  static constexpr Duration kWorstCaseDelayedAck = Duration::millis(200);
  // §7.2 without an RTT sample.
  static constexpr Duration kPtoWithoutSrtt = Duration::seconds(1);

  // §7.2 TLP_calc_PTO(): 2·SRTT, plus WCDelAckT when one segment is in
  // flight (its ACK may be delayed), 1 s without a sample; never later
  // than the RTO would fire (`rto_left` from now).
  static Duration pto(bool has_srtt, Duration srtt, bool one_segment, Duration rto_left);

  // One probe per tail episode (§7.2, §7.4): no new probe is scheduled
  // while one is unacknowledged.
  bool probe_outstanding() const { return probe_.has_value(); }
  // §7.3: a probe went out; SND.NXT after it is TLP.end_seq.
  void on_probe_sent(uint32_t end_seq, bool retransmission) {
    probe_ = Probe{end_seq, retransmission};
  }

  // §7.4 on an acceptable ACK. `dsack_end` is the right edge of a D-SACK
  // block the ACK carries (RFC 2883), if any.
  enum class AckVerdict : uint8_t {
    kNone,       // no probe outstanding, or the ACK is below TLP.end_seq
    kDelivered,  // the probe carried new data, or D-SACK shows it was not needed
    kRepaired,   // a retransmitted probe repaired a loss: reduce cwnd (§7.4.2)
  };
  AckVerdict on_ack(uint32_t ack, std::optional<uint32_t> dsack_end);
  // An RTO ends the episode: RTO recovery takes over (and cuts the window).
  void on_retransmit_timeout() { probe_.reset(); }

  // TLP.end_seq, for the state digest (-1 without a probe).
  int64_t end_seq() const { return probe_ ? static_cast<int64_t>(probe_->end_seq) : -1; }
  bool is_retrans() const { return probe_ && probe_->retransmission; }

 private:
  // Present exactly while a probe is unacknowledged: an end sequence
  // without a probe (or a probe without one) cannot be represented.
  struct Probe {
    uint32_t end_seq;     // TLP.end_seq: SND.NXT when the probe was sent
    bool retransmission;  // TLP.is_retrans
  };
  std::optional<Probe> probe_;
};

}  // namespace vigil::tcp
