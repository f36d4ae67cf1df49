// RFC 8985 §6 RACK: time-based loss detection. A segment is deemed lost
// once a segment sent after it has been delivered (cumulatively ACKed or
// SACKed) and more than RACK.rtt + reo_wnd has passed since it was sent,
// instead of counting three duplicate ACKs (RFC 6675's IsLost). So a lost
// retransmission, or a tail of fewer than three segments, is still found
// without the RTO, and reordering within reo_wnd is not taken for loss.
//
// It keeps one record per segment sent (its transmit time, RFC 8985 §6.1
// "per-segment variables"), in a vector reserved on the first send and
// never grown after: when it is full, a new send extends the last record
// (the merged range then counts as sent at the later time, which can only
// delay a loss verdict, never make one early).
#pragma once

#include <cstdint>
#include <vector>

#include "vigil/time.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::tcp {

class RackDetector {
 public:
  static constexpr uint32_t kDupThresh = 3;  // RFC 8985 §6.2 step 4 (RFC 6675's)
  static constexpr int kReoWndPersist = 16;  // §6.2 step 4: rounds reo_wnd_mult is kept

  explicit RackDetector(size_t max_segments) : max_segments_(max_segments) {}

  // [seq, end) went out at `now` (a retransmission if it was sent before);
  // `fin`: it ends with the FIN.
  void on_sent(uint32_t seq, uint32_t end, Instant now, bool fin = false);

  // §6.2 steps 1-4 on an acceptable ACK, before SND.UNA moves to `ack`:
  // the segments it newly delivers update RACK.xmit_ts/end_seq/rtt,
  // RACK.min_RTT, RACK.fack and RACK.reord; a D-SACK (RFC 2883) widens the
  // reordering window. `snd_nxt` is SND.NXT now; `in_recovery`, whether
  // fast or RTO recovery runs (it pins reo_wnd to 0 without reordering).
  void on_ack(Instant now, uint32_t snd_una, uint32_t ack, const wire::TcpOptions& o,
              uint32_t snd_nxt);
  // Recovery ended (§6.2 step 4: reo_wnd_persist counts these).
  void on_recovery_end();

  // §6.2 step 5 RACK_detect_loss(): marks lost every segment sent before
  // the most recently delivered one whose time is up; returns how long
  // until the next one's is (zero: none pending), for the reordering timer.
  Duration detect_loss(Instant now, Duration srtt, bool in_recovery);

  // The lowest segment at or above `from` marked lost and not resent
  // since (RFC 6675 NextSeg rule 1 with RACK's IsLost).
  bool next_lost(uint32_t from, uint32_t* seq, uint32_t* len) const;
  bool any_lost() const;
  // The part of SACK block [left, right) made of whole segments as sent:
  // [*l, *r); false if it covers none. Linux tags SACKed data per skb and
  // ignores a block that covers only part of a one-segment skb
  // (tcp_sacktag_walk, tcp_match_skb_to_sack).
  bool whole_segments(uint32_t left, uint32_t right, uint32_t* l, uint32_t* r) const;
  // SACKed segments (RFC 8985's RACK.segs_sacked) and RFC 6675 pipe with
  // RACK's marks: sent, not SACKed, and not lost unless resent since.
  uint32_t pipe() const;
  // The reordering window §6.2 step 4 would use now.
  Duration reo_wnd(Duration srtt, bool in_recovery) const;

  // Observation (state digest, tests).
  Duration rtt() const { return rtt_; }
  Duration min_rtt() const { return min_rtt_; }
  bool reordering_seen() const { return reord_; }
  uint32_t reo_wnd_mult() const { return reo_wnd_mult_; }
  size_t segments() const { return segs_.size() - head_; }
  uint32_t lost_segments() const;
  // Linux's lost_out: marked lost and not delivered since, resent or not.
  uint32_t lost_out() const;
  // Linux's tp->reordering (tcp_check_sack_reordering): kDupThresh until a
  // segment never resent is delivered below the highest delivered; then
  // the distance from it to the highest, in segments of `mss`, if larger.
  uint32_t reordering() const { return reordering_; }
  void set_mss(uint32_t mss) { mss_ = mss; }
  // rack.rtt=linux: RACK.rtt is the sample of the segment Linux's
  // tcp_rack_advance sees last on an ACK, not of the latest sent (below).
  void set_linux_rtt(bool on) { linux_rtt_ = on; }

 private:
  struct Segment {
    uint32_t seq, end;
    Instant xmit_ts;
    bool retransmitted;  // sent more than once
    bool sacked;
    bool lost;            // marked lost and not resent since
    bool marked = false;  // marked lost, resent or not (Linux TCPCB_LOST)
  };
  // RACK_sent_after(t1, seq1, t2, seq2) (§6.2 step 2): by time, then sequence.
  static bool sent_after(Instant t1, uint32_t seq1, Instant t2, uint32_t seq2);
  // false: no RTT sample (a resend ACKed sooner than min_RTT).
  bool deliver(Segment& s, Instant now);

  size_t max_segments_;
  std::vector<Segment> segs_;  // by sequence; [head_, size) still outstanding
  size_t head_ = 0;

  bool have_rack_ = false;  // a segment has been delivered
  Instant rack_xmit_ts_;    // RACK.xmit_ts
  uint32_t rack_end_seq_ = 0;
  Duration rtt_;      // RACK.rtt
  Duration min_rtt_;  // RACK.min_RTT (over the connection's life)
  bool have_min_rtt_ = false;
  uint32_t fack_ = 0;  // RACK.fack: highest sequence delivered
  bool have_fack_ = false;
  bool reord_ = false;               // RACK.reord
  uint32_t reo_wnd_mult_ = 1;        // RACK.reo_wnd_mult
  int reo_wnd_persist_ = 0;          // RACK.reo_wnd_persist
  bool dsack_round_active_ = false;  // RACK.dsack_round is not None
  uint32_t dsack_round_ = 0;
  bool fin_at_end_ = false;  // the last record's last sequence number is the FIN
  uint32_t mss_ = 0;
  bool linux_rtt_ = false;
  uint32_t reordering_ = kDupThresh;
  bool have_reord_low_ = false;  // this ACK delivered a segment below RACK.fack
  uint32_t reord_low_ = 0;
};

}  // namespace vigil::tcp
