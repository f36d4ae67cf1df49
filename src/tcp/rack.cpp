// RFC 8985 §6.2's steps, in the order an ACK meets them.
#include "tcp/rack.hpp"

#include <algorithm>

#include "tcp/seq.hpp"

namespace vigil::tcp {

bool RackDetector::sent_after(Instant t1, uint32_t seq1, Instant t2, uint32_t seq2) {
  return t1 > t2 || (t1 == t2 && seq_gt(seq1, seq2));
}

void RackDetector::on_sent(uint32_t seq, uint32_t end, Instant now, bool fin) {
  if (fin) fin_at_end_ = true;
  // Records grow with the flight (doubling, up to one per segment the send
  // buffer holds): an idle or trickling connection holds a few, and a
  // steady flight allocates nothing.
  if (segs_.capacity() == 0)
    segs_.reserve(std::min<size_t>(std::max<size_t>(max_segments_, 4), 16));
  // A resend: every record it overlaps counts as sent now (§6.1
  // Segment.xmit_ts is the latest transmission) and is no longer lost.
  for (size_t i = head_; i < segs_.size(); ++i) {
    Segment& s = segs_[i];
    if (seq_ge(s.seq, end)) break;
    if (seq_gt(s.end, seq) && !s.sacked) {
      s.xmit_ts = now;
      s.retransmitted = true;
      s.lost = false;
    }
  }
  // New sequence space above the last record: a new record.
  if (head_ < segs_.size()) {
    const uint32_t top = segs_.back().end;
    if (!seq_gt(end, top)) return;
    if (seq_lt(seq, top)) seq = top;
  }
  if (segs_.size() == segs_.capacity() && head_ > 0) {
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  if (segs_.size() == segs_.capacity() && segs_.capacity() < std::max<size_t>(max_segments_, 4)) {
    segs_.reserve(std::min(std::max<size_t>(max_segments_, 4), 2 * segs_.capacity()));
  }
  if (segs_.size() == segs_.capacity() && head_ < segs_.size()) {
    Segment& last = segs_.back();  // full: merge (only ever delays a verdict)
    last.end = end;
    last.xmit_ts = now;
    return;
  }
  segs_.push_back(Segment{seq, end, now, false, false, false});
}

bool RackDetector::deliver(Segment& s, Instant now) {
  const Duration rtt = now - s.xmit_ts;
  // Step 2: a retransmitted segment ACKed sooner than min_RTT after its
  // resend was most likely delivered by its original: no sample.
  if (s.retransmitted && have_min_rtt_ && rtt < min_rtt_) return false;
  if (!s.retransmitted && (!have_min_rtt_ || rtt < min_rtt_)) {
    min_rtt_ = rtt;  // step 1
    have_min_rtt_ = true;
  }
  if (!have_rack_ || sent_after(s.xmit_ts, s.end, rack_xmit_ts_, rack_end_seq_)) {
    rtt_ = rtt;
    rack_xmit_ts_ = s.xmit_ts;
    rack_end_seq_ = s.end;
    have_rack_ = true;
  }
  // Step 3: delivered below the highest delivered, and not because it was
  // resent: the network reordered it.
  if (!have_fack_ || seq_gt(s.end, fack_)) {
    fack_ = s.end;
    have_fack_ = true;
  } else if (seq_lt(s.end, fack_) && !s.retransmitted) {
    reord_ = true;
    if (!have_reord_low_ || seq_lt(s.seq, reord_low_)) reord_low_ = s.seq;
    have_reord_low_ = true;
  }
  return true;
}

void RackDetector::on_ack(Instant now, uint32_t snd_una, uint32_t ack, const wire::TcpOptions& o,
                          uint32_t snd_nxt) {
  // RFC 2883 §4: a first block below the cumulative ACK, or inside the
  // second block, reports a duplicate.
  const bool dsack =
      o.sack_count > 0 && (seq_le(o.sack[0].right, seq_max(ack, snd_una)) ||
                           (o.sack_count > 1 && seq_ge(o.sack[0].left, o.sack[1].left) &&
                            seq_le(o.sack[0].right, o.sack[1].right)));
  // Step 3 takes the newly delivered segments "in ascending order of
  // Segment.end_seq": the cumulatively acknowledged ones first, then the
  // SACKed ones above them, so data ACKed with the blocks that report a
  // hole above it is not taken for reordering (Linux compares with
  // prior_fack, the highest SACKed before this ACK).
  // rack.rtt=linux: Linux's tcp_rack_advance sets rack.rtt_us from every
  // valid sample, whether or not it advances RACK.xmit_ts, and sees the
  // newly SACKed segments first (tcp_sacktag_write_queue, by sequence)
  // and then the cumulatively acknowledged ones (tcp_clean_rtx_queue, by
  // sequence): the last of these sets RACK.rtt. RFC 8985 §6.2 step 2 takes
  // them in transmit order, so the latest sent sets it.
  bool cum_sample = false, sack_sample = false;
  Duration cum_rtt, sack_rtt;
  uint32_t sack_seq = 0;
  if (seq_gt(ack, snd_una)) {
    while (head_ < segs_.size() && seq_le(segs_[head_].end, ack)) {
      Segment& s = segs_[head_];
      if (!s.sacked && deliver(s, now)) {
        cum_sample = true;
        cum_rtt = now - s.xmit_ts;
      }
      ++head_;
    }
    if (head_ < segs_.size() && seq_lt(segs_[head_].seq, ack)) segs_[head_].seq = ack;
    if (head_ == segs_.size()) {
      segs_.clear();  // keeps the capacity: no allocation per segment
      head_ = 0;
    }
  }
  for (uint8_t b = dsack ? 1 : 0; b < o.sack_count; ++b) {
    for (size_t i = head_; i < segs_.size(); ++i) {
      Segment& s = segs_[i];
      if (seq_ge(s.seq, o.sack[b].right)) break;
      // SACK blocks cover data only: the last record may end with our FIN.
      const uint32_t data_end = i + 1 == segs_.size() && fin_at_end_ ? s.end - 1 : s.end;
      if (!s.sacked && data_end != s.seq && seq_ge(s.seq, o.sack[b].left) &&
          seq_le(data_end, o.sack[b].right)) {
        s.sacked = true;
        s.lost = false;
        s.marked = false;
        if (deliver(s, now) && (!sack_sample || seq_gt(s.seq, sack_seq))) {
          sack_sample = true;
          sack_rtt = now - s.xmit_ts;
          sack_seq = s.seq;
        }
      }
    }
  }
  if (linux_rtt_ && (cum_sample || sack_sample)) rtt_ = cum_sample ? cum_rtt : sack_rtt;
  // Linux's reordering degree (tcp_check_sack_reordering): the distance
  // from the lowest segment delivered late to the highest delivered.
  if (have_reord_low_ && mss_ > 0) {
    const uint32_t metric = fack_ - reord_low_;
    if (metric > reordering_ * mss_) reordering_ = std::min((metric + mss_ - 1) / mss_, 300u);
  }
  have_reord_low_ = false;
  // Step 4: one D-SACK round at a time widens reo_wnd by min_RTT/4 for
  // the next 16 recoveries.
  const uint32_t una = seq_max(ack, snd_una);
  if (dsack_round_active_ && seq_ge(una, dsack_round_)) dsack_round_active_ = false;
  if (!dsack_round_active_ && dsack) {
    dsack_round_active_ = true;
    dsack_round_ = snd_nxt;
    ++reo_wnd_mult_;
    reo_wnd_persist_ = kReoWndPersist;
  }
}

void RackDetector::on_recovery_end() {
  if (--reo_wnd_persist_ <= 0) {
    reo_wnd_mult_ = 1;
    reo_wnd_persist_ = 0;
  }
}

Duration RackDetector::reo_wnd(Duration srtt, bool in_recovery) const {
  if (!reord_) {
    // No reordering seen: a loss is a loss once recovery runs, or once
    // DupThresh segments were SACKed above it (RFC 6675's rule).
    if (in_recovery) return Duration::zero();
    uint32_t sacked = 0;
    for (size_t i = head_; i < segs_.size(); ++i) sacked += segs_[i].sacked ? 1 : 0;
    if (sacked >= kDupThresh) return Duration::zero();
  }
  const Duration w = min_rtt_ * reo_wnd_mult_ / 4;
  return std::min(w, srtt);
}

Duration RackDetector::detect_loss(Instant now, Duration srtt, bool in_recovery) {
  if (!have_rack_) return Duration::zero();
  const Duration reo = reo_wnd(srtt, in_recovery);
  Duration timeout = Duration::zero();
  for (size_t i = head_; i < segs_.size(); ++i) {
    Segment& s = segs_[i];
    if (s.sacked || s.lost) continue;
    if (!sent_after(rack_xmit_ts_, rack_end_seq_, s.xmit_ts, s.end)) continue;
    const Duration remaining = (s.xmit_ts + rtt_ + reo) - now;
    if (remaining <= Duration::zero()) {
      s.lost = true;
      s.marked = true;
    } else {
      timeout = std::max(timeout, remaining);
    }
  }
  return timeout;
}

bool RackDetector::next_lost(uint32_t from, uint32_t* seq, uint32_t* len) const {
  for (size_t i = head_; i < segs_.size(); ++i) {
    const Segment& s = segs_[i];
    if (s.lost && seq_gt(s.end, from)) {
      *seq = seq_max(s.seq, from);
      *len = s.end - *seq;
      return true;
    }
  }
  return false;
}

bool RackDetector::whole_segments(uint32_t left, uint32_t right, uint32_t* l, uint32_t* r) const {
  bool found = false;
  for (size_t i = head_; i < segs_.size(); ++i) {
    const Segment& s = segs_[i];
    if (seq_ge(s.seq, right)) break;
    const uint32_t data_end = i + 1 == segs_.size() && fin_at_end_ ? s.end - 1 : s.end;
    if (data_end == s.seq || seq_lt(s.seq, left) || seq_gt(data_end, right)) continue;
    if (!found) *l = s.seq;
    *r = data_end;
    found = true;
  }
  return found;
}

bool RackDetector::any_lost() const { return lost_segments() > 0; }

uint32_t RackDetector::lost_segments() const {
  uint32_t n = 0;
  for (size_t i = head_; i < segs_.size(); ++i) n += segs_[i].lost ? 1 : 0;
  return n;
}

uint32_t RackDetector::lost_out() const {
  uint32_t n = 0;
  for (size_t i = head_; i < segs_.size(); ++i) n += segs_[i].marked ? 1 : 0;
  return n;
}

uint32_t RackDetector::pipe() const {
  uint32_t p = 0;
  for (size_t i = head_; i < segs_.size(); ++i) {
    const Segment& s = segs_[i];
    if (!s.sacked && !s.lost) p += s.end - s.seq;
  }
  return p;
}

}  // namespace vigil::tcp
