// Spurious-response detection and undo (undo.hpp).
#include "tcp/undo.hpp"

#include <algorithm>

#include "tcp/seq.hpp"

namespace vigil::tcp {

void SpuriousUndo::begin(uint32_t snd_una, uint32_t prior_cwnd, uint32_t prior_ssthresh) {
  active_ = true;
  retransmitted_ = false;
  marker_ = snd_una;
  high_ = snd_una;
  undo_retrans_ = 0;
  has_stamp_ = false;
  retrans_stamp_ = 0;
  prior_cwnd_ = prior_cwnd;
  prior_ssthresh_ = prior_ssthresh;
}

void SpuriousUndo::on_retransmit(uint32_t seq, uint32_t end, uint32_t segments, bool ts_enabled,
                                 uint32_t tsval) {
  if (!active_ || !seq_ge(seq, marker_)) return;
  if (!retransmitted_) {
    has_stamp_ = ts_enabled;
    retrans_stamp_ = tsval;
  }
  retransmitted_ = true;
  high_ = seq_max(high_, end);
  undo_retrans_ += std::max<uint32_t>(segments, 1);
}

bool SpuriousUndo::on_dsack(uint32_t left, uint32_t right, uint32_t mss) {
  if (!active_ || !retransmitted_ || undo_retrans_ == 0 || mss == 0) return false;
  // Only the part inside what the episode resent: a duplicate of anything
  // else (a D-SACK for a network duplicate of an older segment, or a
  // forged block) says nothing about these retransmissions.
  const uint32_t l = seq_max(left, marker_);
  const uint32_t r = seq_lt(right, high_) ? right : high_;
  if (!seq_lt(l, r)) return false;
  const uint32_t segs = (r - l + mss - 1) / mss;
  undo_retrans_ -= std::min(undo_retrans_, segs);
  return undo_retrans_ == 0;
}

bool SpuriousUndo::packet_delayed(bool has_ts, uint32_t tsecr) const {
  // RFC 3522 §3: compare with the timestamp of the first retransmission;
  // a zero TSecr carries no echo (RFC 7323 §3.2).
  return active_ && retransmitted_ && has_stamp_ && has_ts && tsecr != 0 &&
         seq_lt(tsecr, retrans_stamp_);
}

const char* undo_cause_name(SpuriousUndo::Cause c) {
  switch (c) {
    case SpuriousUndo::Cause::kDsack:
      return "dsack";
    case SpuriousUndo::Cause::kTimestamp:
      return "timestamp";
    case SpuriousUndo::Cause::kFrto:
      return "frto";
    case SpuriousUndo::Cause::kNone:
      break;
  }
  return "";
}

}  // namespace vigil::tcp
