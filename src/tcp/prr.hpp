// Proportional Rate Reduction (RFC 6937): how much may be sent on each ACK
// during loss recovery, so that the window comes down to ssthresh spread
// over the round trip (rather than RFC 6675's half-silent window) and
// climbs back at most one SMSS per ACK (the slow-start reduction bound,
// PRR-SSRB, §3) when losses took pipe below ssthresh.
#pragma once

#include <cstdint>

namespace vigil::tcp {

class ProportionalRateReduction {
 public:
  // §3 "at the beginning of recovery": RecoverFS = FlightSize then.
  void start(uint32_t recover_fs) {
    recover_fs_ = recover_fs;
    delivered_ = 0;
    out_ = 0;
  }
  // §3 "on every ACK during recovery": `delivered` is the ACK's
  // DeliveredData (change in SND.UNA plus change in SACKed bytes), `pipe`
  // RFC 6675's estimate after it. Returns sndcnt, the bytes this ACK allows.
  // `ssrb`: whether PRR-SSRB's extra MSS applies (false: PRR-CRB, §3's
  // conservative bound MAX(prr_delivered - prr_out, DeliveredData)).
  uint32_t on_ack(uint32_t delivered, uint32_t pipe, uint32_t ssthresh, uint32_t mss,
                  bool ssrb = true);
  // §3 "on any data transmission or retransmission".
  void on_sent(uint32_t bytes) { out_ += bytes; }

  uint64_t prr_delivered() const { return delivered_; }
  uint64_t prr_out() const { return out_; }
  uint32_t recover_fs() const { return recover_fs_; }

 private:
  uint32_t recover_fs_ = 0;
  uint64_t delivered_ = 0;
  uint64_t out_ = 0;
};

}  // namespace vigil::tcp
