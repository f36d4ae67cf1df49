// RFC 6675 conservative SACK-based loss recovery: the scoreboard is fed by
// every ACK, recovery starts on DupThresh duplicates or IsLost(HighACK + 1),
// cwnd stays at ssthresh (no inflation: pipe replaces it) and every lost
// hole is resent as pipe allows, choosing what by NextSeg(). With PRR (RFC
// 6937) cwnd is instead set to pipe + sndcnt on every ACK of recovery.
#include <algorithm>
#include <memory>
#include <optional>

#include "tcp/loss_recovery.hpp"
#include "tcp/prr.hpp"
#include "tcp/rack.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {
namespace {

class SackRecovery final : public LossRecovery {
 public:
  SackRecovery(uint32_t recover, bool prr, size_t rack_segments, bool prr_linux_bound,
               bool rack_linux_rtt)
      : LossRecovery(recover), use_prr_(prr), prr_linux_bound_(prr_linux_bound) {
    if (rack_segments > 0) {
      rack_ = std::make_unique<RackDetector>(rack_segments);
      rack_->set_linux_rtt(rack_linux_rtt);
    }
  }

  std::string_view name() const override { return rack_ ? "rack" : "sack"; }

  void on_ack_received(Instant now, uint32_t ack, const SendSpace& s,
                       const wire::TcpOptions& o) override {
    if (use_prr_) {
      // For RFC 6937 DeliveredData: where SND.UNA and SACKd stood before.
      una_before_ = s.snd_una;
      sacked_before_ = sb_.sacked_bytes(s.snd_una, s.snd_max);
    }
    // RFC 6675 §5: every ACK's SACK blocks update the scoreboard first.
    // With RACK, as Linux's per-skb tagging, only whole segments count:
    // a block of part of a segment (the last byte of it, packetdrill
    // fr-4pkt-fack-last-byte) leaves the segment to be resent whole.
    // Invalid blocks go through as they are, for the scoreboard to count.
    const uint32_t una = seq_gt(ack, s.snd_una) ? ack : s.snd_una;
    wire::SackBlock blocks[sizeof(o.sack) / sizeof(o.sack[0])];
    uint8_t n = 0;
    for (uint8_t b = 0; b < o.sack_count; ++b) {
      const wire::SackBlock& in = o.sack[b];
      blocks[n] = in;
      const bool valid =
          seq_lt(in.left, in.right) && seq_ge(in.left, una) && seq_le(in.right, s.snd_max);
      if (!rack_ || !valid ||
          rack_->whole_segments(in.left, in.right, &blocks[n].left, &blocks[n].right)) {
        ++n;
      }
    }
    sb_.update(una, s.snd_max, blocks, n);
    if (rack_) {
      // RFC 8985 §6.2: every ACK updates RACK, then detects losses; in
      // recovery (fast, or RTO: SND.UNA below RecoveryPoint) reo_wnd is 0
      // until reordering has been seen.
      rack_->set_mss(s.mss);
      rack_->on_ack(now, s.snd_una, ack, o, s.snd_nxt);
      const uint32_t lost_before = rack_->lost_segments();
      reorder_timeout_ = rack_->detect_loss(now, s.srtt, in_recovery_ || seq_lt(una, recover_));
      newly_lost_ = rack_->lost_segments() > lost_before;
    }
  }

  bool on_new_ack(Instant now, uint32_t ack, const SendSpace& s, uint32_t,
                  CongestionControl& cc) override {
    dup_acks_ = 0;
    if (!in_recovery_) {
      // RFC 8985: a cumulative ACK whose SACK blocks let RACK mark a
      // segment lost starts recovery too (no duplicate ACK needed).
      if (rack_ && rack_->any_lost() && seq_gt(s.snd_una, recover_)) {
        start_recovery(now, s, cc);
        return true;
      }
      return false;
    }
    // RFC 6675 §5: recovery ends when HighACK reaches RecoveryPoint; cwnd
    // was never inflated, so it stays at ssthresh (no deflation needed,
    // RFC 2525 §2.8). A partial ACK only updates the scoreboard: the
    // holes are resent by NextSeg() as pipe allows, not one per ACK.
    if (seq_ge(ack, recover_)) {
      in_recovery_ = false;
      if (rack_) rack_->on_recovery_end();
      // RFC 6937 §3: recovery ends with cwnd at ssthresh, the target.
      if (use_prr_) cc.set_cwnd(cc.ssthresh());
      return true;
    }
    if (use_prr_) prr_ack(s, cc, true);
    if (!rack_ && sb_.size() == 0 && seq_ge(s.snd_una, high_rxt_)) {
      // A partial ACK with nothing SACKed above it: every byte from SND.UNA
      // to RecoveryPoint was sent before recovery began and the peer holds
      // none of it, so NextSeg() (which needs SACKed data above a hole)
      // would leave it to the RTO. Resend the segment at SND.UNA, as RFC
      // 6582 §3.2 step 5 does (also covers peers that stop sending blocks).
      fast_retransmit_pending_ = true;
    }
    return true;
  }

  bool on_dup_ack(Instant now, const SendSpace& s, CongestionControl& cc) override {
    if (in_recovery_) {
      if (use_prr_) prr_ack(s, cc, false);
      return false;  // RFC 6675 counts pipe instead of inflating
    }
    // RFC 6675 §5 step 4: DupThresh duplicates or IsLost(HighACK + 1),
    // and (§5.1, RFC 6582) only past the last RecoveryPoint.
    ++dup_acks_;
    // With RACK (RFC 8985), a segment is lost when RACK says so: time, not
    // the count of duplicates, decides.
    const bool lost =
        rack_ ? rack_->any_lost()
              : dup_acks_ >= SackScoreboard::kDupThresh || sb_.is_lost(s.snd_una, s.mss);
    if (lost && seq_gt(s.snd_una, recover_)) {
      start_recovery(now, s, cc);
      return true;
    }
    return false;
  }

  void on_other_ack(const SendSpace& s, CongestionControl& cc) override {
    // RFC 6937 §3 runs on every ACK of recovery; one whose SACK blocks lie
    // below the highest SACKed is no RFC 6675 duplicate but still delivers
    // data (Linux: tcp_cong_control -> tcp_cwnd_reduction on any ACK with
    // newly SACKed data; packetdrill sack-shift-sacked-7-3-4-8-9-fack).
    if (!use_prr_ || !in_recovery_) return;
    if (sb_.sacked_bytes(s.snd_una, s.snd_max) <= sacked_before_) return;
    prr_ack(s, cc, false);
  }

  Duration reorder_timeout() const override { return reorder_timeout_; }

  bool on_reorder_timeout(Instant now, const SendSpace& s, CongestionControl& cc) override {
    if (!rack_) return false;
    // RFC 8985 §6.3: RACK_detect_loss_and_arm_timer() again.
    reorder_timeout_ = rack_->detect_loss(now, s.srtt, in_recovery_ || seq_lt(s.snd_una, recover_));
    if (!in_recovery_ && rack_->any_lost() && seq_gt(s.snd_una, recover_)) {
      start_recovery(now, s, cc);
      return true;
    }
    return false;
  }

  void on_sent(uint32_t seq, uint32_t end, Instant now, bool fin) override {
    if (rack_) rack_->on_sent(seq, end, now, fin);
  }

  void on_retransmit_timeout(const SendSpace& s) override {
    // RFC 6675 §5.1: RecoveryPoint = HighData and recovery ends; every
    // unSACKed byte counts as lost and the go-back skips SACKed ranges. If
    // SND.UNA itself is marked SACKed the peer reneged (RFC 2018 §8):
    // forget the scoreboard and resend everything.
    in_recovery_ = false;
    dup_acks_ = 0;
    recover_ = s.snd_max;
    if (sb_.is_sacked(s.snd_una)) sb_.clear();
    high_rxt_ = s.snd_una;
  }

  void on_undo() override {
    if (in_recovery_ && rack_) rack_->on_recovery_end();
    LossRecovery::on_undo();
  }

  void on_retransmitted(uint32_t seq, uint32_t end) override {
    high_rxt_ = seq_max(high_rxt_, end);
    if (use_prr_ && in_recovery_) prr_.on_sent(end - seq);  // RFC 6937 §3 prr_out
  }
  void on_data_sent(uint32_t bytes) override {
    if (use_prr_ && in_recovery_) prr_.on_sent(bytes);
  }

  // RFC 6675 §5 step 4 (with RACK's or the scoreboard's verdict).
  void start_recovery(Instant now, const SendSpace& s, CongestionControl& cc) {
    in_recovery_ = true;
    recover_ = s.snd_max;  // RecoveryPoint = HighData (step 4.1)
    // Step 4.2: cwnd = ssthresh = the congestion control's reduction;
    // RFC 5681 §3.2 step 2 leaves limited transmit's bytes out of FlightSize.
    cc.on_congestion_event(s.flight() - s.limited_transmit, now);
    high_rxt_ = s.snd_una;
    // Step 4.3: HighACK + 1 first (with RACK, if RACK deems it lost;
    // otherwise NextSeg() sends the lost segment above it).
    uint32_t seq = 0, len = 0;
    fast_retransmit_pending_ =
        !rack_ || (rack_->next_lost(s.snd_una, &seq, &len) && seq == s.snd_una);
    if (use_prr_) {
      // RFC 6937 §3: RecoverFS = snd.nxt - snd.una (SND.MAX here: the
      // highest sent), and this ACK is the first of recovery.
      prr_.start(s.flight());
      prr_ack(s, cc, false);
    }
  }

  RecoverySend next_send(const SendSpace& s, uint32_t cwnd) const override {
    // RFC 6675 §5 step (C): during recovery send while cwnd - pipe is at
    // least one SMSS, choosing what by NextSeg().
    RecoverySend r;
    if (!in_recovery_ || s.snd_nxt != s.snd_max) return r;
    const uint32_t pipe = this->pipe(s);
    if (pipe >= cwnd || cwnd - pipe < s.mss) {
      r.kind = RecoverySend::Kind::kNothing;
      return r;
    }
    // Rule 1: a lost hole above HighRxt (with RACK: a segment RACK marked
    // lost and not resent since, RFC 8985 §6.2).
    if (rack_ ? rack_->next_lost(s.snd_una, &r.seq, &r.len)
              : sb_.next_lost(s.snd_una, s.snd_max, high_rxt_, s.mss, &r.seq, &r.len)) {
      r.len = std::min(r.len, s.mss + 1);  // one segment (and a FIN)
      r.kind = RecoverySend::Kind::kRetransmit;
      return r;
    }
    // Rule 2: new data, if there is any the receiver's window takes (the
    // sender's to judge). Rule 3 (resend unSACKed data not yet deemed
    // lost, a SHOULD) and the rescue retransmission (rule 4, a MAY) are
    // left out, as Linux does: they resend data that is usually still in
    // flight; the ACKs it brings or the RTO move recovery on.
    r.kind = RecoverySend::Kind::kNewDataOnly;
    r.room = cwnd - pipe;
    return r;
  }

  const SackScoreboard* scoreboard() const override { return &sb_; }
  uint32_t pipe(const SendSpace& s) const override {
    if (rack_) return rack_->pipe();  // RACK's marks in place of IsLost
    return sb_.pipe(s.snd_una, s.snd_max, high_rxt_, s.mss);
  }
  RecoveryState state() const override {
    RecoveryState r = LossRecovery::state();
    r.scoreboard_ranges = static_cast<uint32_t>(sb_.size());
    r.high_rxt = high_rxt_;
    if (rack_) {
      r.lost_out = rack_->lost_out();
      r.reordering = rack_->reordering();
    }
    return r;
  }

 private:
  // RFC 6937 §3 on an ACK during recovery: DeliveredData = change in
  // SND.UNA + change in SACKed bytes; cwnd = pipe + sndcnt, so NextSeg()
  // sends sndcnt more (whole segments; a remainder waits for later ACKs).
  // `una_advanced`: this ACK moved SND.UNA. With prr.bound=linux the
  // slow-start bound's extra MSS needs that and no newly lost segment,
  // and recovery's first ACK allows at least one segment (Linux
  // tcp_cwnd_reduction: "sndcnt++" only on FLAG_SND_UNA_ADVANCED without
  // newly_lost; "force a fast retransmit upon entering fast recovery").
  void prr_ack(const SendSpace& s, CongestionControl& cc, bool una_advanced) {
    const int64_t delivered = static_cast<int64_t>(s.snd_una - una_before_) +
                              sb_.sacked_bytes(s.snd_una, s.snd_max) - sacked_before_;
    const uint32_t pipe = this->pipe(s);
    const bool ssrb = !prr_linux_bound_ || (una_advanced && !newly_lost_);
    uint32_t sndcnt = prr_.on_ack(static_cast<uint32_t>(std::max<int64_t>(delivered, 0)), pipe,
                                  cc.ssthresh(), s.mss, ssrb);
    if (prr_linux_bound_ && prr_.prr_out() == 0) sndcnt = std::max(sndcnt, s.mss);
    cc.set_cwnd(pipe + sndcnt);
  }

  bool use_prr_;
  bool prr_linux_bound_;     // prr.bound=linux (prr_ack)
  bool newly_lost_ = false;  // the last ACK's RACK pass marked a segment lost
  ProportionalRateReduction prr_;
  uint32_t una_before_ = 0;
  int64_t sacked_before_ = 0;
  // RFC 8985 §6, when loss_detection=rack; on the heap, so that without it
  // (rfc) its 100-odd bytes are not part of every connection (issue 15).
  std::unique_ptr<RackDetector> rack_;
  Duration reorder_timeout_;
  SackScoreboard sb_;      // RFC 6675 §3, fed by every ACK
  uint32_t high_rxt_ = 0;  // RFC 6675 HighRxt + 1: past the highest byte resent in recovery
};

}  // namespace

std::unique_ptr<LossRecovery> make_sack_recovery(uint32_t recover, bool prr, size_t rack_segments,
                                                 bool prr_linux_bound, bool rack_linux_rtt) {
  return std::make_unique<SackRecovery>(recover, prr, rack_segments, prr_linux_bound,
                                        rack_linux_rtt);
}

}  // namespace vigil::tcp
