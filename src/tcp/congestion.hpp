// Congestion control behind an interface (one file per algorithm), so loss
// recovery in the connection does not depend on which algorithm runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "vigil/time.hpp"

namespace vigil::tcp {

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual std::string_view name() const = 0;
  virtual uint32_t cwnd() const = 0;
  virtual uint32_t ssthresh() const = 0;
  // The sender's MSS changed (after the handshake).
  virtual void set_mss(uint32_t mss) = 0;

  // New data acknowledged outside loss recovery.
  virtual void on_ack(uint32_t acked_bytes, Instant now) = 0;
  // Fast retransmit: entering fast recovery with `flight` bytes outstanding.
  virtual void on_enter_recovery(uint32_t flight) = 0;
  // RFC 6675 §5 step 4.2: SACK-based recovery starts with `flight` bytes
  // outstanding: cwnd = ssthresh = max(FlightSize / 2, 2 * SMSS), no
  // inflation (the pipe estimate replaces it).
  virtual void on_enter_sack_recovery(uint32_t flight) = 0;
  // A further duplicate ACK during recovery (a segment left the network).
  virtual void on_recovery_dup_ack() = 0;
  // A partial ACK during recovery acknowledged `acked_bytes`.
  virtual void on_partial_ack(uint32_t acked_bytes) = 0;
  // A full ACK ended recovery; `flight` is what is still outstanding.
  virtual void on_exit_recovery(uint32_t flight) = 0;
  // The retransmission timer expired with `flight` bytes outstanding.
  virtual void on_retransmit_timeout(uint32_t flight) = 0;
};

// RFC 2525 problems the congestion control can be told to have, so the
// simulator can produce the faulty traces (knobs bug.* in TcpConfig).
struct CongestionBugs {
  bool extra_additive_constant = false;  // §2.6: CA adds MSS*MSS/cwnd + MSS/8 per ACK
  bool no_window_deflation = false;      // §2.8: cwnd stays inflated after recovery
};

// RFC 5681 Reno with RFC 6582 NewReno recovery and RFC 3465 byte counting.
std::unique_ptr<CongestionControl> make_newreno(uint32_t mss, uint32_t initial_window_segments,
                                                CongestionBugs bugs = {});

}  // namespace vigil::tcp
