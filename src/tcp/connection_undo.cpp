// Undoing spurious window reductions (undo.hpp) and RFC 5682 F-RTO, as the
// connection drives them: an episode begins where fast recovery or a
// timeout cuts the window, every retransmission of it is counted, and each
// acceptable ACK may show the cut spurious (D-SACK, timestamps, F-RTO).
#include <algorithm>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {
namespace {

// RFC 2883 §4: the first SACK block reports a duplicate if it lies below
// the cumulative ACK, or within the second block.
std::optional<wire::SackBlock> dsack_block(uint32_t ack, const wire::TcpOptions& o) {
  if (o.sack_count == 0) return std::nullopt;
  const wire::SackBlock& b = o.sack[0];
  if (!seq_lt(b.left, b.right)) return std::nullopt;
  if (seq_le(b.right, ack) ||
      (o.sack_count > 1 && seq_ge(b.left, o.sack[1].left) && seq_le(b.right, o.sack[1].right))) {
    return b;
  }
  return std::nullopt;
}

}  // namespace

Connection::BeforeAck Connection::before_ack(uint32_t ack) const {
  BeforeAck b;
  b.una = snd_una_;
  b.cwnd = cc_->cwnd();
  b.ssthresh = cc_->ssthresh();
  b.in_recovery = recovery_->in_recovery();
  b.episode_open = b.in_recovery || seq_lt(snd_una_, recovery_->recovery_point());
  if (frto_.on && undo_.active() && seq_gt(ack, snd_una_)) {
    // RFC 5682 §3.1 step 3b as Linux tests it (FLAG_ORIG_SACK_ACKED in
    // tcp_clean_rtx_queue): the ACK covers data sent before the timeout,
    // never resent, and not SACKed before this ACK.
    const uint32_t from = seq_max(undo_.retransmitted_high(), snd_una_);
    const uint32_t to = seq_lt(ack, frto_.high) ? ack : frto_.high;
    if (seq_lt(from, to)) {
      const SackScoreboard* sb = recovery_->scoreboard();
      const uint32_t sacked = sb ? static_cast<uint32_t>(sb->sacked_bytes(from, to)) : 0;
      b.frto_orig_acked = to - from > sacked;
    }
  }
  return b;
}

void Connection::after_ack_undo(Instant now, const wire::TcpView& seg, const BeforeAck& pre) {
  frto_.budget = 0;  // step 2b's new segments are owed only right after its ACK
  // This ACK started fast recovery (RFC 6675 §5 step 4, or RACK): a new
  // episode with the windows from before it (Linux tcp_enter_recovery's
  // tcp_init_undo).
  if (cfg_->undo && !pre.in_recovery && recovery_->in_recovery()) {
    undo_.begin(snd_una_, pre.cwnd, pre.ssthresh);
  }
  if (!undo_.active()) {
    frto_ = Frto{};
    return;
  }
  const uint32_t ack = seg.ack();
  const auto& o = seg.options();
  if (cfg_->undo) {
    // RFC 3708 §3: every retransmission of the episode D-SACKed.
    if (const auto d = dsack_block(ack, o)) {
      const uint32_t left = undo_.undo_retrans();
      const bool all = undo_.on_dsack(d->left, d->right, snd_mss_);
      stats_.spurious_retransmits += left - undo_.undo_retrans();
      if (all) {
        undo_reduction(now, SpuriousUndo::Cause::kDsack);
        return;
      }
    }
    // RFC 3522 §3 (Linux tcp_try_undo_recovery, _partial, _loss): an ACK of
    // new data while the episode runs, echoing a timestamp older than the
    // first retransmission, was caused by an original.
    if (seq_gt(ack, pre.una) && pre.episode_open &&
        undo_.packet_delayed(o.has_timestamps, o.ts_ecr)) {
      undo_reduction(now, SpuriousUndo::Cause::kTimestamp);
      return;
    }
  }
  if (frto_.on) frto_step(now, seg, pre);
}

void Connection::note_retransmission(Instant now, uint32_t seq, uint32_t end) {
  const uint32_t segs = (end - seq + snd_mss_ - 1) / snd_mss_;
  undo_.on_retransmit(seq, end, segs, ts_enabled_, ts_now(now));
}

void Connection::undo_reduction(Instant now, SpuriousUndo::Cause cause) {
  cc_->undo(undo_.prior_cwnd(), undo_.prior_ssthresh());
  recovery_->on_undo();
  // After a timeout (Linux tcp_undo_cwnd_reduction with unmark_loss): what
  // the go-back had yet to resend is not lost; new data follows instead.
  if (rtx_.kind == RetransmitTimer::kRto && seq_lt(snd_nxt_, snd_max_)) snd_nxt_ = snd_max_;
  frto_ = Frto{};
  ++stats_.undos;
  Event e;
  e.time = now;
  e.type = EventType::kUndo;
  e.seq = undo_.marker();
  e.cwnd = cc_->cwnd();
  e.ssthresh = cc_->ssthresh();
  e.detail = undo_cause_name(cause);
  emit(e);
  undo_.clear();
}

void Connection::frto_on_timeout(bool in_fast_recovery) {
  // Linux tcp_enter_loss: a new episode unless one is running (fast
  // recovery, or an earlier timeout of this same head), with the windows
  // from before this timeout cut them.
  if ((cfg_->undo || cfg_->frto) && !in_fast_recovery && rtx_.count == 1) {
    undo_.begin(snd_una_, cc_->cwnd(), cc_->ssthresh());
  }
  // RFC 5682 §3.1 step 1 (Linux: tcp_frto && (new_recovery ||
  // icsk_retransmits)): not when the timeout ends fast recovery, but again
  // on a repeated timeout of the same segment.
  frto_ = Frto{};
  frto_.on = cfg_->frto && undo_.active() && (!in_fast_recovery || rtx_.count > 1);
  frto_.high = snd_max_;
}

void Connection::frto_step(Instant now, const wire::TcpView& seg, const BeforeAck& pre) {
  // Linux tcp_process_loss, after tcp_try_undo_loss found no D-SACK or
  // timestamp evidence.
  if (pre.frto_orig_acked) {
    // Step 3b (and step 2 when the first ACK already covers originals):
    // data never resent was acknowledged, so it was not lost.
    undo_reduction(now, SpuriousUndo::Cause::kFrto);
    return;
  }
  const uint32_t ack = seg.ack();
  if (frto_.new_sent) {
    // Step 3a: after the new data, a duplicate ACK, or SACK of data above
    // what was outstanding at the timeout: the loss was real. Back to the
    // conventional go-back (RFC 5681 §3.1 slow start from SND.UNA).
    bool sacked_above = false;
    for (uint8_t i = 0; i < seg.options().sack_count; ++i) {
      sacked_above = sacked_above || seq_gt(seg.options().sack[i].right, frto_.high);
    }
    if (!seq_gt(ack, pre.una) || sacked_above) {
      frto_ = Frto{};
      snd_nxt_ = snd_una_;
      return;
    }
  } else if (seq_gt(ack, pre.una) && seq_lt(snd_una_, frto_.high)) {
    // Step 2b: the retransmission was acknowledged, not everything: send
    // up to two new segments instead of resending more, if there is new
    // data the window takes; otherwise conventional recovery.
    const uint32_t data_end = send_buffer_end();
    if (seq_lt(snd_max_, data_end) && seq_lt(snd_max_, snd_una_ + snd_wnd_)) {
      frto_.high = snd_max_;
      frto_.budget = 2;
      frto_.new_sent = true;
      snd_nxt_ = snd_max_;
      return;
    }
    frto_ = Frto{};
    return;
  }
  // Step 2a: everything outstanding acknowledged: nothing more to learn.
  if (seq_ge(snd_una_, frto_.high)) frto_ = Frto{};
}

void Connection::note_duplicate_data(const wire::TcpView& seg) {
  // Linux tcp_send_dupack: data starting below RCV.NXT, cut at RCV.NXT,
  // and (vigil) from within one receive buffer back only, so a forged
  // segment far behind draws no block.
  if (!cfg_->dsack || !sack_enabled_ || seg.payload().empty() || !seq_lt(seg.seq(), rcv_nxt_))
    return;
  if (seq_diff(rcv_nxt_, seg.seq()) >
      static_cast<int32_t>(std::min<uint32_t>(cfg_->recv_buffer, 1u << 30))) {
    return;
  }
  const uint32_t end = seg.seq() + static_cast<uint32_t>(seg.payload().size());
  dsack_out_ = wire::SackBlock{seg.seq(), seq_lt(end, rcv_nxt_) ? end : rcv_nxt_};
}

void Connection::note_duplicate_out_of_order(uint64_t pos, size_t len) {
  // Linux tcp_data_queue_ofo: a segment wholly inside a queued one is
  // D-SACKed whole, one overlapping a queued one's end from that point
  // (tcp_dsack_set). Only the first held range it meets is reported: one
  // block must name bytes that all arrived twice, and two held ranges
  // have a gap between them that did not.
  if (!cfg_->dsack || !sack_enabled_ || len == 0) return;
  const uint64_t end = pos + len;
  for (const auto& r : rcv_buf_.out_of_order()) {  // sorted by begin
    const uint64_t lo = std::max(r.begin, pos);
    const uint64_t hi = std::min(r.end, end);
    if (lo >= hi) continue;
    // Stream offsets past RCV.NXT map onto sequence numbers from it.
    const uint32_t base = rcv_nxt_ - static_cast<uint32_t>(rcv_buf_.next_pos());
    dsack_out_ =
        wire::SackBlock{base + static_cast<uint32_t>(lo), base + static_cast<uint32_t>(hi)};
    return;
  }
}

}  // namespace vigil::tcp
