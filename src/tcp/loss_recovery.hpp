// Loss detection and recovery behind a narrow interface fed by ACK and
// timeout events, one file per algorithm: RFC 6582 NewReno
// (newreno_recovery.cpp) and RFC 6675 SACK recovery (sack_recovery.cpp).
// The connection reports what arrives and asks what may be sent; the
// algorithm keeps every recovery variable (recover, DupAcks, the
// scoreboard, HighRxt) and reshapes cwnd during recovery through
// CongestionControl::set_cwnd(). How far the window is cut at the start is
// the congestion control's (on_congestion_event).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "tcp/congestion.hpp"
#include "tcp/sack_scoreboard.hpp"
#include "vigil/time.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::tcp {

// The sender's sequence space when an event happens (RFC 6675 §2 names:
// HighACK + 1 = snd_una, HighData + 1 = snd_max).
struct SendSpace {
  uint32_t snd_una = 0;
  uint32_t snd_nxt = 0;
  uint32_t snd_max = 0;
  uint32_t mss = 0;
  Duration srtt;  // RFC 6298 SRTT (RACK's reordering window is capped by it)
  // Bytes RFC 3042 limited transmit sent beyond cwnd: RFC 5681 §3.2 step 2
  // leaves them out of the FlightSize that sets ssthresh.
  uint32_t limited_transmit = 0;
  uint32_t flight() const { return snd_max - snd_una; }  // RFC 5681 FlightSize
};

// What recovery lets the sender do next, asked before new data goes out.
struct RecoverySend {
  enum class Kind : uint8_t {
    kAsUsual,      // not limited by recovery: cwnd and the window decide
    kNothing,      // pipe leaves less than one SMSS below cwnd
    kRetransmit,   // resend [seq, seq + len) (RFC 6675 NextSeg rule 1)
    kNewDataOnly,  // only new data, at most `room` bytes (NextSeg rule 2)
  };
  Kind kind = Kind::kAsUsual;
  uint32_t seq = 0, len = 0;
  uint32_t room = 0;
};

// The recovery variables by name, for Connection::state_digest().
struct RecoveryState {
  bool in_recovery = false;
  uint32_t recover = 0;
  uint32_t dup_acks = 0;
  uint32_t sack_high = 0;
  bool fast_retransmit_pending = false;
  uint32_t scoreboard_ranges = 0;
  uint32_t high_rxt = 0;
  // With RACK, Linux's TCP_INFO counts (tcp_get_info): segments marked lost
  // and not yet delivered, resent or not (lost_out), and the reordering
  // degree in segments (tp->reordering, 3 until a late SACK shows more).
  uint32_t lost_out = 0;
  uint32_t reordering = 3;
};

class LossRecovery {
 public:
  explicit LossRecovery(uint32_t recover) : recover_(recover) {}
  virtual ~LossRecovery() = default;
  virtual std::string_view name() const = 0;

  // --- Events, in the order process_ack() meets them ---
  // Every acceptable ACK, before SND.UNA moves (`s` is before it moves):
  // RFC 6675 §5 updates the scoreboard from its SACK blocks first.
  virtual void on_ack_received(Instant now, uint32_t ack, const SendSpace& s,
                               const wire::TcpOptions& o) = 0;
  // SND.UNA advanced by `acked` bytes (`s` is after). Returns true if the
  // ACK belonged to recovery; false if the congestion control should grow
  // the window with it.
  virtual bool on_new_ack(Instant now, uint32_t ack, const SendSpace& s, uint32_t acked,
                          CongestionControl& cc) = 0;
  // A duplicate ACK (RFC 5681 §2, RFC 6675 §2). Returns true if it started
  // recovery: the segment at SND.UNA is owed (take_fast_retransmit()).
  virtual bool on_dup_ack(Instant now, const SendSpace& s, CongestionControl& cc) = 0;
  // An ACK that neither advances SND.UNA nor counts as a duplicate (its
  // SACK blocks, if any, lie below the highest SACKed): RFC 6937 §3 still
  // runs PRR on it, as on "every ACK during recovery".
  virtual void on_other_ack(const SendSpace&, CongestionControl&) {}
  // The retransmission timer expired; the congestion control has already
  // taken its loss window. RFC 6582 §4 / RFC 6675 §5.1: recovery ends.
  virtual void on_retransmit_timeout(const SendSpace& s) = 0;
  // The reduction was shown spurious and undone (undo.hpp): recovery ends
  // now, as Linux's tcp_try_undo_* return to CA_Open; RecoveryPoint stays.
  virtual void on_undo() {
    in_recovery_ = false;
    dup_acks_ = 0;
  }
  // Bytes [seq, end) were resent by a fast or SACK retransmission.
  virtual void on_retransmitted(uint32_t seq, uint32_t end) = 0;
  // Any other segment with `bytes` of sequence space went out (new data,
  // or the go-back after a timeout).
  virtual void on_data_sent(uint32_t) {}
  // Every transmission of [seq, end), new or resent, at `now` (RACK keeps
  // per-segment transmit times, RFC 8985 §6.1); `fin`: it ends with the FIN.
  virtual void on_sent(uint32_t, uint32_t, Instant, bool) {}
  // RFC 8985 §6.3: after an ACK, how long until a segment's reordering
  // window runs out (zero: none); the connection arms its reordering timer.
  virtual Duration reorder_timeout() const { return Duration::zero(); }
  // The reordering timer fired: detect losses again. Returns true if that
  // started recovery.
  virtual bool on_reorder_timeout(Instant, const SendSpace&, CongestionControl&) { return false; }

  // --- What may be sent ---
  // Consumes the owed fast (or partial-ACK) retransmission of SND.UNA.
  bool take_fast_retransmit() {
    const bool owed = fast_retransmit_pending_;
    fast_retransmit_pending_ = false;
    return owed;
  }
  // Asked before new data goes out while SND.NXT = SND.MAX.
  virtual RecoverySend next_send(const SendSpace& s, uint32_t cwnd) const = 0;

  // --- Observation ---
  bool in_recovery() const { return in_recovery_; }
  // RFC 6582 "recover" / RFC 6675 RecoveryPoint: recovery (fast, or after a
  // timeout) lasts until SND.UNA reaches it.
  uint32_t recovery_point() const { return recover_; }
  // The SACK scoreboard this algorithm keeps (the go-back after a timeout
  // skips what it holds), or nullptr if it keeps none.
  virtual const SackScoreboard* scoreboard() const { return nullptr; }
  // RFC 6675 SetPipe(), or FlightSize without a scoreboard.
  virtual uint32_t pipe(const SendSpace& s) const { return s.flight(); }
  virtual RecoveryState state() const;

  // RFC 6675 §2 DupAck (c) with SACK negotiated: does this ACK's SACK
  // information report data above the highest SACKed so far? Shared by
  // every algorithm: it decides what counts as a duplicate ACK.
  bool sack_reports_new_data(const SendSpace& s, const wire::TcpOptions& o);

 protected:
  bool in_recovery_ = false;
  uint32_t recover_;  // RFC 6582 "recover" / RFC 6675 RecoveryPoint
  uint32_t dup_acks_ = 0;
  uint32_t sack_high_ = 0;  // highest SACKed sequence seen (RFC 6675 §2 DupAck)
  bool fast_retransmit_pending_ = false;
};

// RFC 6582 NewReno: window inflation by one SMSS per duplicate ACK, one
// hole resent per partial ACK, deflation at the full ACK.
// `no_window_deflation` emulates RFC 2525 §2.8 (bug.no_window_deflation).
std::unique_ptr<LossRecovery> make_newreno_recovery(uint32_t recover, bool no_window_deflation);
// RFC 6675 conservative SACK-based recovery (NextSeg rules 1 and 2). With
// `prr`, RFC 6937 PRR-SSRB sets cwnd on every ACK during recovery (prr.hpp).
// With `rack_segments` > 0, RFC 8985 RACK (rack.hpp, at most that many
// segment records) decides what is lost instead of RFC 6675's IsLost.
// `prr_linux_bound`: the prr.bound=linux knob (prr.hpp); `rack_linux_rtt`:
// rack.rtt=linux (RackDetector::set_linux_rtt).
std::unique_ptr<LossRecovery> make_sack_recovery(uint32_t recover, bool prr = false,
                                                 size_t rack_segments = 0,
                                                 bool prr_linux_bound = false,
                                                 bool rack_linux_rtt = false);

}  // namespace vigil::tcp
