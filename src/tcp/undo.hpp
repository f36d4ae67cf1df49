// Undoing a congestion response that turns out to have been spurious (one
// file, beside the congestion controls and recovery algorithms). An
// episode starts when fast recovery or a timeout cuts the window; it keeps
// the windows before the cut and counts the segments resent in it. The
// response is undone, cwnd and ssthresh restored, when
// - D-SACKs (RFC 2883) report every one of those retransmissions as a
//   duplicate: the original arrived too (RFC 3708 §3; Linux
//   tcp_try_undo_dsack, undo_retrans reaching zero);
// - an ACK of retransmitted data echoes a timestamp older than the first
//   retransmission, so the original caused it (Eifel, RFC 3522 §3; Linux
//   tcp_packet_delayed in tcp_try_undo_recovery/_partial/_loss);
// - after a timeout, F-RTO (RFC 5682 §3, the SACK-enhanced version Linux
//   runs in tcp_process_loss) sees data acknowledged that was never resent.
#pragma once

#include <cstdint>

namespace vigil::tcp {

class SpuriousUndo {
 public:
  enum class Cause : uint8_t { kNone, kDsack, kTimestamp, kFrto };

  // Linux tcp_init_undo: a new episode from SND.UNA (undo_marker) with the
  // windows in force before its cut. Ends any earlier episode.
  void begin(uint32_t snd_una, uint32_t prior_cwnd, uint32_t prior_ssthresh);
  // The episode can no longer be undone (a reduction that keeps no
  // marker, such as a repaired tail-loss probe: Linux tcp_process_tlp_ack).
  void clear() { active_ = false; }
  bool active() const { return active_; }

  // A retransmission of [seq, end) in the episode, `segments` long, sent
  // with timestamp `tsval` (ts_enabled: whether timestamps are in use).
  // Linux __tcp_retransmit_skb: undo_retrans += pcount, retrans_stamp set
  // at the first.
  void on_retransmit(uint32_t seq, uint32_t end, uint32_t segments, bool ts_enabled,
                     uint32_t tsval);

  // A D-SACK block [left, right) reported by an ACK (RFC 2883 §4). Each
  // segment it covers inside the episode's retransmitted range shows one
  // retransmission unneeded (Linux tcp_check_dsack's "dumb counting"
  // below SND.UNA, tcp_sacktag_one above it). Returns true when none is
  // left: every retransmission was spurious.
  bool on_dsack(uint32_t left, uint32_t right, uint32_t mss);

  // RFC 3522 §3 (Linux tcp_packet_delayed): an acceptable ACK echoing
  // `tsecr` was caused by an original transmission if it is older than
  // the first retransmission's timestamp.
  bool packet_delayed(bool has_ts, uint32_t tsecr) const;

  // All retransmissions shown spurious (Linux tcp_may_undo's
  // !undo_retrans).
  bool all_spurious() const { return active_ && retransmitted_ && undo_retrans_ == 0; }

  uint32_t prior_cwnd() const { return prior_cwnd_; }
  uint32_t prior_ssthresh() const { return prior_ssthresh_; }
  uint32_t undo_retrans() const { return undo_retrans_; }
  uint32_t marker() const { return marker_; }
  // Past the highest byte resent in the episode (SND.UNA when it began if
  // none was): F-RTO's data "never retransmitted" lies above it.
  uint32_t retransmitted_high() const { return high_; }

 private:
  bool active_ = false;
  bool retransmitted_ = false;
  uint32_t marker_ = 0;         // Linux undo_marker: SND.UNA when the episode began
  uint32_t high_ = 0;           // past the highest byte retransmitted in the episode
  uint32_t undo_retrans_ = 0;   // retransmitted segments not yet shown spurious
  bool has_stamp_ = false;      // timestamps were on at the first retransmission
  uint32_t retrans_stamp_ = 0;  // its TSval (Linux retrans_stamp)
  uint32_t prior_cwnd_ = 0, prior_ssthresh_ = 0;
};

// "dsack", "timestamp", "frto" (the detail of an undo event).
const char* undo_cause_name(SpuriousUndo::Cause c);

}  // namespace vigil::tcp
