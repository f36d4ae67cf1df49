// SEGMENT ARRIVES: RFC 9293 §3.10.7, with the RFC 5961 RST/SYN/ACK checks,
// RFC 7323 PAWS and timestamps, RFC 5681/6582 duplicate-ACK handling.
#include <algorithm>
#include <cerrno>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

using wire::TcpView;
namespace flags = wire::tcp_flags;

void Connection::on_segment(Instant now, const TcpView& seg) {
  ++stats_.segments_received;
  // What goes out next answers this segment; the initial window released
  // by the handshake's last segment is no ACK-clocked burst.
  burst_ = 0;
  push_run_ = 0;            // a new output pass (PushRule::kLinux)
  burst_segment_at_ = now;  // an application write at this instant answers it too
  burst_from_segment_ =
      state_ != State::kListen && state_ != State::kSynSent && state_ != State::kSynReceived;
  note_segment_arrived(now);
  switch (state_) {
    case State::kClosed:
      return;  // the stack answers segments for closed connections
    case State::kListen:
      input_listen(now, seg);
      return;
    case State::kSynSent:
      input_syn_sent(now, seg);
      return;
    default:
      input_synchronized(now, seg);
      return;
  }
}

void Connection::emit_rst_received(Instant now, uint32_t seq) {
  Event e;
  e.time = now;
  e.type = EventType::kRstReceived;
  e.seq = seq;
  emit(e);
}

void Connection::update_mss() {
  // RFC 9293 §3.7.1 / RFC 6691: the MSS option excludes TCP options, so
  // timestamps take their 12 bytes out of every segment.
  snd_mss_ = std::min<uint32_t>(peer_mss_, cfg_->mss) - (ts_enabled_ ? 12u : 0u);
  rcv_mss_ = std::min<uint32_t>(rcv_mss_, cfg_->mss);
  cc_->set_mss(snd_mss_);
}

void Connection::adopt_peer_syn_options(const TcpView& seg) {
  const auto& o = seg.options();
  peer_mss_ = o.has_mss ? std::max<uint16_t>(o.mss, 64) : 536;
  // RFC 7323 §2.2: scaling only if both SYNs carry the option; shifts above
  // 14 are treated as 14 (§2.3).
  wscale_ok_ = cfg_->window_scaling && o.has_window_scale;
  if (wscale_ok_) {
    snd_wscale_ = std::min<uint8_t>(o.window_scale, 14);
  } else {
    snd_wscale_ = 0;
    rcv_wscale_ = 0;
  }
  ts_enabled_ = cfg_->timestamps && o.has_timestamps;
  if (ts_enabled_) {
    ts_recent_ = o.ts_val;
    ts_recent_valid_ = true;
  }
  sack_enabled_ = cfg_->sack && o.sack_permitted;
  if (cfg_->user_timeout_option && o.has_user_timeout) {
    // RFC 5482 §3.1: USER_TIMEOUT = min(U_LIMIT, max(ADV_UTO, REMOTE_UTO, L_LIMIT)).
    const int64_t value = o.user_timeout & 0x7fff;
    const Duration remote =
        (o.user_timeout & 0x8000) ? Duration::seconds(value * 60) : Duration::seconds(value);
    user_timeout_ = std::min(cfg_->user_timeout_upper,
                             std::max({cfg_->user_timeout, remote, cfg_->user_timeout_lower}));
  }
  update_mss();
  select_loss_recovery();
}

void Connection::input_listen(Instant now, const TcpView& seg) {
  if (seg.has(flags::kRst)) return;  // §3.10.7.2: ignore
  if (seg.has(flags::kAck)) {
    // <SEQ=SEG.ACK><CTL=RST>
    rst_pending_ = true;
    rst_seq_ = seg.ack();
    rst_with_ack_ = false;
    return;
  }
  if (!seg.has(flags::kSyn)) return;
  irs_ = seg.seq();
  rcv_nxt_ = irs_ + 1;
  last_ack_sent_ = rcv_nxt_;
  adopt_peer_syn_options(seg);
  snd_wnd_ = seg.window();  // RFC 7323 §2.2: never scaled in a SYN
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seg.seq();
  snd_wl2_ = iss_;
  syn_pending_ = true;
  set_state(now, State::kSynReceived);
}

void Connection::input_syn_sent(Instant now, const TcpView& seg) {
  bool ack_ok = false;
  if (seg.has(flags::kAck)) {
    // §3.10.7.3: an ACK outside (ISS, SND.NXT] gets a reset.
    if (seq_le(seg.ack(), iss_) || seq_gt(seg.ack(), snd_max_)) {
      if (!seg.has(flags::kRst)) {
        rst_pending_ = true;
        rst_seq_ = seg.ack();
        rst_with_ack_ = false;
      }
      ++stats_.segments_dropped;
      return;
    }
    ack_ok = true;
  }
  if (seg.has(flags::kRst)) {
    // RFC 5961 §3.2: in SYN-SENT a RST is valid only if it acknowledges the SYN.
    if (!ack_ok) {
      ++stats_.segments_dropped;
      return;
    }
    emit_rst_received(now, seg.seq());
    die_reset(now, ECONNREFUSED, CloseReason::kRefused, "refused: RST/ACK in reply to SYN");
    return;
  }
  if (!seg.has(flags::kSyn)) {
    ++stats_.segments_dropped;
    return;
  }
  irs_ = seg.seq();
  rcv_nxt_ = irs_ + 1;
  last_ack_sent_ = rcv_nxt_;
  // The window our SYN offered, now that it can be anchored at RCV.NXT.
  rcv_adv_ = rcv_nxt_ + std::min<uint32_t>(rcv_wnd(), 65535);
  adopt_peer_syn_options(seg);
  snd_wnd_ = seg.window();
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seg.seq();
  snd_wl2_ = seg.has(flags::kAck) ? seg.ack() : iss_;
  if (ack_ok) {
    // Our SYN is acknowledged: ESTABLISHED (the SYN-ACK is the handshake's
    // RTT sample unless the SYN was retransmitted: Karn, RFC 6298 §3).
    if (rtt_timing_) {
      rtt_.sample(now - rtt_start_);
      rtt_timing_ = false;
    }
    snd_una_ = seg.ack();
    rtx_.count = 0;
    disarm(TimerKind::kRetransmit);
    ack_pending_ = true;
    set_state(now, State::kEstablished);
    return;
  }
  // Simultaneous open (§3.10.7.3): SYN-RECEIVED, send SYN,ACK.
  syn_pending_ = true;
  set_state(now, State::kSynReceived);
}

bool Connection::segment_acceptable(const TcpView& seg) const {
  // §3.10.7.4 table; RCV.WND is the room we really have, which is at least
  // what we advertised, so a probe byte is taken when it fits.
  const uint32_t wnd = rcv_wnd();
  const uint32_t len = seg.seg_len();
  const uint32_t seq = seg.seq();
  // RFC 2525 §2.12 emulation: a window computed as RCV.ADV - RCV.NXT < 0
  // fails RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND for every segment, ACKs too.
  if (wnd_negative_) return false;
  if (len == 0) {
    return wnd == 0 ? seq == rcv_nxt_ : seq_in(seq, rcv_nxt_, rcv_nxt_ + wnd);
  }
  if (wnd == 0) return false;
  return seq_in(seq, rcv_nxt_, rcv_nxt_ + wnd) || seq_in(seq + len - 1, rcv_nxt_, rcv_nxt_ + wnd);
}

void Connection::send_challenge_ack(Instant now, std::string_view why) {
  // RFC 5961 §3.2, §4.2, §5.2, rate-limited per connection (§7).
  if (!last_challenge_ack_.is_never() && now - last_challenge_ack_ < cfg_->challenge_ack_interval) {
    ++stats_.challenge_acks_suppressed;
    return;
  }
  last_challenge_ack_ = now;
  ++stats_.challenge_acks_sent;
  ack_pending_ = true;
  Event e;
  e.time = now;
  e.type = EventType::kChallengeAck;
  e.detail = why;
  emit(e);
}

void Connection::reply_to_invalid(Instant now, const TcpView& seg, bool data_exempt) {
  // RFC 9293 §3.10.7.4 answers an unacceptable segment with an ACK; like
  // Linux (tcp_oow_rate_limited, tcp_invalid_ratelimit) at most one per
  // challenge_ack_interval per connection, on the clock challenge ACKs use.
  // Segments that occupy sequence space without SYN (data, FIN) are no part
  // of an ACK loop and are always answered: their sender may be
  // retransmitting because our ACK was lost.
  if (data_exempt && seg.seg_len() > 0 && !seg.has(flags::kSyn)) {
    ack_pending_ = true;
    return;
  }
  if (!last_challenge_ack_.is_never() && now - last_challenge_ack_ < cfg_->challenge_ack_interval) {
    ++stats_.invalid_acks_suppressed;
    return;
  }
  last_challenge_ack_ = now;
  ack_pending_ = true;
}

void Connection::input_synchronized(Instant now, const TcpView& seg) {
  // A repeated SYN in SYN-RECEIVED means our SYN,ACK was lost: resend it.
  if (state_ == State::kSynReceived && seg.has(flags::kSyn) && !seg.has(flags::kAck) &&
      !seg.has(flags::kRst) && seg.seq() == irs_) {
    syn_pending_ = true;
    return;
  }
  // Simultaneous open (RFC 9293 figure 8, line 6): after our SYN,ACK the
  // peer's SYN,ACK repeats the SYN we hold (SEG.SEQ = IRS = RCV.NXT - 1) and
  // acknowledges ours. Step 1 processes "only the new parts": without the old
  // SYN it is an ACK at RCV.NXT, and an acceptable ACK moves SYN-RECEIVED to
  // ESTABLISHED. (Linux's tcp_validate_incoming lets exactly this SYN,ACK
  // pass.) Its text, if any, is left for the peer to send again.
  const bool simultaneous_syn_ack = state_ == State::kSynReceived && !passive_ &&
                                    seg.has(flags::kSyn) && seg.has(flags::kAck) &&
                                    !seg.has(flags::kRst) && seg.seq() == irs_;

  // RFC 7323 §5.3 PAWS: an old timestamp marks an old duplicate.
  const auto& opt = seg.options();
  if (ts_enabled_ && opt.has_timestamps && ts_recent_valid_ && !seg.has(flags::kRst) &&
      seq_lt(opt.ts_val, ts_recent_)) {
    ++stats_.segments_dropped;
    if (seg.has(flags::kSyn)) {
      send_challenge_ack(now, "SYN failing PAWS");  // RFC 5961 §4 (Linux: syn_challenge)
    } else {
      // An old duplicate (a late original after its resend moved
      // TS.Recent): Linux tcp_send_dupack D-SACKs it too.
      note_duplicate_data(seg);
      reply_to_invalid(now, seg);
    }
    return;
  }

  // RFC 2525 §2.12: a window update (the right edge moved past RCV.NXT)
  // rectifies the negative window.
  if (wnd_negative_ && seq_gt(rcv_adv_, rcv_nxt_)) wnd_negative_ = false;

  // Step 1: sequence number check.
  bool text_ok = !simultaneous_syn_ack;
  if (!simultaneous_syn_ack && !segment_acceptable(seg)) {
    // §3.10.7.4: with a zero window, valid ACKs and RSTs are still processed
    // from a segment at RCV.NXT, but its text is not.
    if (!wnd_negative_ && rcv_wnd() == 0 && seg.seq() == rcv_nxt_) {
      text_ok = false;
    } else {
      ++stats_.segments_dropped;
      if (seg.has(flags::kRst)) return;
      if (seg.has(flags::kSyn)) {
        // RFC 5961 §4.2: any SYN in a synchronized state gets a challenge
        // ACK, in the window or not (Linux: syn_challenge).
        send_challenge_ack(now, "SYN outside the window");
        return;
      }
      if (state_ == State::kTimeWait && seg.has(flags::kFin)) {
        arm_time_wait(now);  // a retransmitted FIN restarts 2MSL
      }
      note_duplicate_data(seg);    // RFC 2883 §4: the reply D-SACKs it
      reply_to_invalid(now, seg);  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
      return;
    }
  }
  // TS.Recent is not touched until the ACK has been checked (step 5): RFC
  // 7323 §4.3 takes it only from a segment that is acceptable and whose ACK
  // is acceptable, so a RST, SYN or bad-ACK segment cannot poison it.

  // Step 2: RST (RFC 5961 §3.2): only an exact match resets.
  if (seg.has(flags::kRst)) {
    if (seg.seq() != rcv_nxt_) {
      ++stats_.segments_dropped;
      send_challenge_ack(now, "RST in window but not at RCV.NXT");
      return;
    }
    emit_rst_received(now, seg.seq());
    switch (state_) {
      case State::kSynReceived:
        if (passive_) {
          set_state(now, State::kClosed);  // the listener carries on (§3.10.7.4)
        } else {
          die_reset(now, ECONNREFUSED, CloseReason::kRefused, "refused: RST in SYN-RECEIVED");
        }
        break;
      case State::kEstablished:
      case State::kFinWait1:
      case State::kFinWait2:
      case State::kCloseWait:
        die_reset(now, ECONNRESET, CloseReason::kReset,
                  "reset: RST from peer in " + std::string(state_name(state_)));
        break;
      default:  // CLOSING, LAST-ACK, TIME-WAIT
        set_state(now, State::kClosed);
        break;
    }
    return;
  }

  // Step 4: a SYN in a synchronized state (RFC 5961 §4.2).
  if (seg.has(flags::kSyn) && !simultaneous_syn_ack) {
    ++stats_.segments_dropped;
    send_challenge_ack(now, "SYN in synchronized state");
    return;
  }

  // Step 5: ACK.
  if (!seg.has(flags::kAck)) {
    ++stats_.segments_dropped;
    return;
  }
  if (!process_ack(now, seg)) return;
  // Acceptable sequence number and acceptable ACK: now TS.Recent may move
  // (RFC 7323 §4.3). A zero-window probe's timestamp is not taken.
  if (text_ok || simultaneous_syn_ack) update_timestamps(seg);
  if (simultaneous_syn_ack) return;

  // Step 7: segment text.
  if (reads_stopped_ && text_ok && reset_data_after_close(now, seg)) return;
  if (text_ok && !seg.payload().empty() &&
      (state_ == State::kEstablished || state_ == State::kFinWait1 || state_ == State::kFinWait2)) {
    process_text(now, seg);
  } else if (!text_ok) {
    ack_pending_ = true;  // a probe against our zero window: answer it
  }

  // Step 8: FIN, once every byte before it has arrived.
  if (text_ok && seg.has(flags::kFin) && !fin_received_) {
    const uint32_t fin_seq = seg.seq() + static_cast<uint32_t>(seg.payload().size());
    if (fin_seq == rcv_nxt_) {
      process_fin(now);
    } else if (seq_gt(fin_seq, rcv_nxt_)) {
      have_ooo_fin_ = true;
      ooo_fin_seq_ = fin_seq;
      ack_pending_ = true;
    }
  }
}

void Connection::update_timestamps(const TcpView& seg) {
  // RFC 7323 §4.3: remember the peer's TSval from segments that cover the
  // last ACK we sent, so TSecr echoes the right one.
  const auto& o = seg.options();
  if (ts_enabled_ && o.has_timestamps && seq_le(seg.seq(), last_ack_sent_) &&
      (!ts_recent_valid_ || seq_ge(o.ts_val, ts_recent_))) {
    ts_recent_ = o.ts_val;
    ts_recent_valid_ = true;
  }
}

bool Connection::process_ack(Instant now, const TcpView& seg) {
  const uint32_t ack = seg.ack();
  if (state_ == State::kSynReceived) {
    if (!seq_lt(snd_una_, ack) || !seq_le(ack, snd_max_)) {
      rst_pending_ = true;  // §3.10.7.4 step 5: <SEQ=SEG.ACK><CTL=RST>
      rst_seq_ = ack;
      rst_with_ack_ = false;
      ++stats_.segments_dropped;
      return false;
    }
    snd_wnd_ = static_cast<uint32_t>(seg.window()) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seg.seq();
    snd_wl2_ = ack;
    set_state(now, State::kEstablished);
  }
  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT];
  // the rest are discarded and answered with an ACK (rate-limited).
  if (seq_gt(ack, snd_max_)) {
    ++stats_.segments_dropped;
    // RFC 9293 §3.10.7.4: it acks something not yet sent. Throttled even
    // with data: no retransmission of the real peer acks beyond SND.NXT,
    // but a forged in-window segment with a blind ACK does half the time,
    // and each answer is a duplicate ACK to the real peer that can start a
    // spurious fast retransmit (blind-injection scenario). Linux's tcp_ack
    // drops it without a reply (SKB_DROP_REASON_TCP_ACK_UNSENT_DATA).
    if (cfg_->ack_unsent_reply) reply_to_invalid(now, seg, /*data_exempt=*/false);
    return false;
  }
  if (seq_lt(ack, snd_una_ - max_snd_wnd_)) {
    ++stats_.segments_dropped;
    send_challenge_ack(now, "ACK below SND.UNA - MAX.SND.WND");
    return false;
  }

  // An acceptable ACK: the peer is alive (keepalive idle clock, RFC 1122
  // §4.2.3.6), and any outstanding zero-window probe has been answered.
  heard_from_peer(now, static_cast<uint32_t>(seg.window()) << snd_wscale_);
  // A write's MSG_MORE cork lasts only for that write's push: an ACK pushes
  // with the socket's own Nagle setting (tcp_data_snd_check).
  more_hold_ = false;
  const uint32_t wnd_before = snd_wnd_;
  // Measured before the scoreboard forgets what this ACK covers.
  const uint32_t delivered = seq_gt(ack, snd_una_) ? newly_delivered(ack) : 0;
  const BeforeAck pre = before_ack(ack);  // for the undo decisions (connection_undo.cpp)
  recovery_->on_ack_received(now, ack, seq_space(), seg.options());
  if (tlp_.probe_outstanding()) process_loss_probe_ack(now, ack, seg.options());
  if (seq_gt(ack, snd_una_)) {
    process_new_ack(now, seg, ack - snd_una_, delivered);
  } else if (ack == snd_una_) {
    // Without SACK, RFC 5681 §2's duplicate ACK (same window). With SACK
    // recovery, RFC 6675 §2's: an ACK whose SACK blocks report new data,
    // whatever its window (receivers such as Linux grow the window while
    // holding out-of-order data), and only such an ACK: a plain repeat of
    // the last ACK reports no loss. It is what a receiver sends for any
    // out-of-window data, so a blind attacker spraying data at it would
    // otherwise drive us into spurious fast retransmits (Linux with SACK
    // counts only SACKed segments, tcp_time_to_recover). Answers to
    // zero-window probes (window zero, nothing to resend) do not count.
    const bool same_window = (static_cast<uint32_t>(seg.window()) << snd_wscale_) == snd_wnd_;
    // RFC 6675 §2: with SACK recovery only an ACK that reports new SACKed
    // data is a duplicate; plain repeats (answers to blind out-of-window
    // data) are not (Linux likewise counts SACKed segments).
    const bool sack_news =
        sack_enabled_ && recovery_->sack_reports_new_data(seq_space(), seg.options());
    const bool reports = sack_recovery() ? sack_news : same_window || sack_news;
    const bool is_dup = seg.payload().empty() && !seg.has(flags::kFin) && flight_size() > 0 &&
                        snd_wnd_ > 0 && reports;
    if (is_dup) {
      process_dup_ack(now, seg);
    } else {
      recovery_->on_other_ack(seq_space(), *cc_);
    }
  }
  maybe_arm_reorder_timer(now);
  update_send_window(seg);
  after_ack_undo(now, seg, pre);
  if (snd_wnd_ > 0 && wnd_before == 0) {
    note_window_opened();
    // Probe bytes the peer did not take are simply sent again as data.
    if (seq_gt(snd_nxt_, snd_una_) && snd_nxt_ == snd_max_ && !xmit_armed()) {
      snd_nxt_ = snd_max_ = snd_una_;
    }
  }
  if (snd_wnd_ == 0 && seq_diff(send_buffer_end(), snd_una_) > 0) {
    // The window closed: nothing beyond SND.UNA can be accepted, so probing
    // replaces retransmission until it reopens (RFC 1122 §4.2.2.17).
    snd_nxt_ = snd_una_;
    disarm_xmit();  // the RTO, or a loss probe in its place
    // ...and the user timeout's data clock stops with it: from here it
    // bounds unanswered probes (rfc) or the zero window (linux), never
    // probes the peer answers (docs/liveness.md; vigil sim fuzz seed 25235).
    if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kData) stop_user_timeout();
    maybe_arm_persist(now);
  }

  const bool fin_acked = fin_sent_ && seq_gt(snd_una_, fin_seq_);
  switch (state_) {
    case State::kFinWait1:
      if (fin_acked) set_state(now, State::kFinWait2);
      break;
    case State::kClosing:
      if (fin_acked) enter_time_wait(now);
      break;
    case State::kLastAck:
      if (fin_acked) {
        set_state(now, State::kClosed);
        return false;
      }
      break;
    default:
      break;
  }
  return true;
}

uint32_t Connection::newly_delivered(uint32_t ack) const {
  const uint32_t acked = ack - snd_una_;
  if (cfg_->cwnd_count == TcpConfig::CwndCount::kAcked) return acked;
  // Linux grows cwnd by what an ACK newly delivers (tcp_cong_control's
  // acked_sacked). Bytes SACKed earlier were delivered by those ACKs
  // (tcp_clean_rtx_queue counts only segments not TCPCB_SACKED_ACKED)...
  if (const SackScoreboard* sb = recovery_->scoreboard()) {
    return acked - sb->sacked_bytes(snd_una_, ack);
  }
  // ...and without a scoreboard each duplicate ACK stood for one segment
  // delivered (tcp_add_reno_sack, at most all but one in flight,
  // tcp_limit_reno_sacked); the cumulative ACK delivers the rest, at least
  // one segment (tcp_remove_reno_sacks).
  const uint32_t flight = flight_size();
  const uint32_t dup =
      std::min(recovery_->state().dup_acks * snd_mss_, flight > snd_mss_ ? flight - snd_mss_ : 0);
  return std::max(acked > dup ? acked - dup : 0, std::min(acked, snd_mss_));
}

void Connection::process_new_ack(Instant now, const TcpView& seg, uint32_t acked,
                                 uint32_t delivered) {
  // RTT sample (RFC 6298 §3 Karn; RFC 7323 §4 when timestamps echo).
  const auto& o = seg.options();
  if (ts_enabled_ && o.has_timestamps && o.ts_ecr != 0) {
    const int32_t ms = seq_diff(ts_now(now), o.ts_ecr);
    if (ms >= 0) rtt_.sample(Duration::millis(ms));
  } else if (rtt_timing_ && seq_gt(seg.ack(), rtt_seq_)) {
    rtt_.sample(now - rtt_start_);
    rtt_timing_ = false;
  }

  // Release acknowledged data from the send buffer.
  const int32_t data_acked = seq_diff(seg.ack(), snd_buf_seq_);
  if (data_acked > 0) {
    const size_t n = std::min<size_t>(static_cast<size_t>(data_acked), snd_buf_.size());
    snd_buf_.consume(n);
    snd_buf_seq_ += static_cast<uint32_t>(n);
    stats_.bytes_acked += n;
    if (n > 0) last_data_acked_ = now;
  }
  snd_una_ = seg.ack();
  lt_bytes_ = 0;  // RFC 3042's extra segments are acknowledged or in recovery now
  if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;
  note_ack_progress(now);
  if (seq_ge(snd_nxt_, snd_max_)) rtx_.kind = RetransmitTimer::kNone;
  if (!recovery_->on_new_ack(now, seg.ack(), seq_space(), acked, *cc_)) {
    cc_->on_rtt_sample(rtt_.srtt());
    if (cwnd_may_grow()) cc_->on_ack(delivered, now);
  }
  // Linux tcp_check_space -> tcp_new_space: a writer that found the buffer
  // full is woken by an ACK that frees room, and the buffer grows when it,
  // not cwnd, limited the flight (tcp_should_expand_sndbuf; Linux asks
  // after sending what the buffer holds, so here: it holds less than cwnd).
  if (send_blocked_ && data_acked > 0) {
    send_blocked_ = false;
    if (snd_buf_.size() < cwnd()) expand_send_buffer();
  }

  // RFC 6298 §5.2-5.3.
  if (flight_size() == 0) {
    disarm_xmit();
  } else {
    restart_retransmit_timer(now);
    // RFC 8985 §7.2: an ACK of new data reschedules the loss probe.
    maybe_schedule_loss_probe(now);
  }
}

void Connection::process_loss_probe_ack(Instant now, uint32_t ack, const wire::TcpOptions& o) {
  // RFC 2883 §4: a first SACK block below the cumulative ACK, or inside
  // the second block, reports a duplicate (D-SACK).
  std::optional<uint32_t> dsack;
  if (o.sack_count > 0 && (seq_le(o.sack[0].right, ack) ||
                           (o.sack_count > 1 && seq_ge(o.sack[0].left, o.sack[1].left) &&
                            seq_le(o.sack[0].right, o.sack[1].right)))) {
    dsack = o.sack[0].right;
  }
  // RFC 8985 §7.4.2: a retransmitted probe that repaired a loss gets the
  // response fast recovery would have given (Linux tcp_process_tlp_ack:
  // a CWR episode that ends at once, cwnd = ssthresh). The flight is the
  // one before this ACK, when the loss was detected (RFC 5681 §3.2).
  // If fast recovery (RACK on the probe's SACK) repaired the tail, its
  // reduction is the response: none more.
  if (tlp_.on_ack(ack, dsack) == TailLossProbe::AckVerdict::kRepaired &&
      !recovery_->in_recovery()) {
    cc_->on_congestion_event(flight_size(), now);
    undo_.clear();  // Linux tcp_process_tlp_ack keeps no undo state
  }
}

void Connection::process_dup_ack(Instant now, const TcpView&) {
  ++stats_.dup_acks_received;
  if (recovery_->on_dup_ack(now, seq_space(), *cc_)) ++stats_.fast_retransmits;
}

void Connection::update_send_window(const TcpView& seg) {
  // §3.10.7.4 step 5: only segments newer than the last update may move it.
  if (seq_lt(snd_wl1_, seg.seq()) || (snd_wl1_ == seg.seq() && seq_le(snd_wl2_, seg.ack()))) {
    snd_wnd_ = static_cast<uint32_t>(seg.window()) << snd_wscale_;
    snd_wl1_ = seg.seq();
    snd_wl2_ = seg.ack();
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
  }
}

void Connection::process_text(Instant now, const TcpView& seg) {
  auto payload = seg.payload();
  const int32_t offset = seq_diff(seg.seq(), rcv_nxt_);
  uint64_t pos = rcv_buf_.next_pos();
  if (offset < 0) {
    const auto skip = static_cast<size_t>(-static_cast<int64_t>(offset));
    // RFC 2883 §4: the next ACK reports the duplicated part first (D-SACK).
    if (cfg_->dsack && sack_enabled_ && !payload.empty()) {
      const uint32_t dup = static_cast<uint32_t>(std::min(skip, payload.size()));
      dsack_out_ = wire::SackBlock{seg.seq(), seg.seq() + dup};
    }
    if (skip >= payload.size()) {
      ack_pending_ = true;  // a pure duplicate: ACK at once (RFC 5681 §4.2)
      return;
    }
    payload = payload.subspan(skip);
  } else {
    pos += static_cast<uint64_t>(offset);
    // Before the insert merges it into what is held.
    if (offset > 0) note_duplicate_out_of_order(pos, payload.size());
  }
  rcv_mss_ = std::max<uint32_t>(
      rcv_mss_, std::min<uint32_t>(static_cast<uint32_t>(payload.size()), cfg_->mss));
  const bool wnd_closed = seq_ge(rcv_nxt_, rcv_adv_);    // we advertised a zero window
  const int32_t adv_wnd = seq_diff(rcv_adv_, rcv_nxt_);  // Linux tp->rcv_wnd, as advertised
  const auto r = rcv_buf_.insert(pos, payload);
  rcv_nxt_ += static_cast<uint32_t>(r.advanced);
  stats_.bytes_delivered += r.advanced;

  if (offset > 0) {
    // Out of order: ACK at once so the sender sees the gap (RFC 5681 §4.2),
    // with SACK blocks when negotiated.
    ++stats_.out_of_order_segments;
    if (r.no_room) ++stats_.out_of_order_dropped;
    ack_pending_ = true;
  } else if (r.filled_hole || r.stored < payload.size() ||
             seq_gt(seg.seq() + static_cast<uint32_t>(seg.payload().size()), rcv_adv_)) {
    // Filled a gap, the window is full, or the data went past the edge we
    // advertised (a window probe): the sender is waiting for this ACK.
    ack_pending_ = true;
  } else {
    // RFC 1122 §4.2.3.2 / RFC 5681 §4.2: an ACK for at least every second
    // full-sized segment, otherwise within the delayed-ACK time.
    unacked_bytes_ += static_cast<uint32_t>(r.advanced);
    if (cfg_->quickack_segments > 0 && r.advanced > 0) {
      // Linux tcp_event_data_recv: the first data, or data after a gap of
      // more than an RTO, restarts quick-ACK mode (tcp_incr_quickack).
      if (last_data_rx_.is_never() || now - last_data_rx_ > rtt_.rto()) {
        const uint32_t by_window =
            adv_wnd > 0 ? static_cast<uint32_t>(adv_wnd) / (2 * rcv_mss_) : 0;
        quick_acks_ = std::max(quick_acks_,
                               std::min(cfg_->quickack_segments, std::max<uint32_t>(2, by_window)));
      }
      last_data_rx_ = now;
    }
    schedule_ack(now, unacked_bytes_ >= 2 * rcv_mss_ || quick_acks_ > 0);
  }
  if (cfg_->bug_probe_window_negative && wnd_closed && r.advanced > 0) {
    // RFC 2525 §2.12 emulation: a probe byte taken into a zero window leaves
    // RCV.NXT past the advertised edge; the faulty receiver's window is now
    // negative (advertised as 0: the edge stays at RCV.NXT until a window
    // update) and it discards everything until then.
    wnd_negative_ = true;
    rcv_adv_ = rcv_nxt_;
  }
  if (have_ooo_fin_ && ooo_fin_seq_ == rcv_nxt_) process_fin(now);
}

void Connection::process_fin(Instant now) {
  rcv_nxt_ += 1;
  fin_received_ = true;
  have_ooo_fin_ = false;
  ack_pending_ = true;
  switch (state_) {
    case State::kSynReceived:
    case State::kEstablished:
      set_state(now, State::kCloseWait);
      break;
    case State::kFinWait1:
      if (fin_sent_ && seq_gt(snd_una_, fin_seq_)) {
        enter_time_wait(now);
      } else {
        set_state(now, State::kClosing);  // simultaneous close
      }
      break;
    case State::kFinWait2:
      enter_time_wait(now);
      break;
    default:
      break;
  }
}

StateDigest Connection::state_digest() const {
  StateDigest d;
  auto put = [&d](std::string_view name, int64_t v) { d.fields.emplace_back(name, v); };
  auto t = [](Instant i) { return i.ns(); };  // never() is the largest
  put("state", static_cast<int64_t>(state_));
  put("state_since", t(state_since_));
  put("passive", passive_);
  put("established_once", established_once_);
  put("error.err", error_.err);
  put("error.reason", static_cast<int64_t>(error_.reason));
  for (size_t k = 0; k < timers_.size(); ++k) {
    if (static_cast<TimerKind>(k) == TimerKind::kStallGuard) continue;  // any arrival restarts it
    put(timer_kind_name(static_cast<TimerKind>(k)), t(timer_deadline(static_cast<TimerKind>(k))));
  }
  put("iss", iss_);
  put("snd_una", snd_una_);
  put("snd_nxt", snd_nxt_);
  put("snd_max", snd_max_);
  put("snd_buf_seq", snd_buf_seq_);
  put("snd_buf_size", static_cast<int64_t>(snd_buf_.size()));
  put("snd_wnd", snd_wnd_);
  put("max_snd_wnd", max_snd_wnd_);
  put("snd_wl1", snd_wl1_);
  put("snd_wl2", snd_wl2_);
  put("fin_queued", fin_queued_);
  put("fin_sent", fin_sent_);
  put("fin_seq", fin_seq_);
  put("irs", irs_);
  put("rcv_nxt", rcv_nxt_);
  put("rcv_adv", rcv_adv_);
  put("wnd_negative", wnd_negative_);
  put("rcv_buf_next_pos", static_cast<int64_t>(rcv_buf_.next_pos()));
  put("rcv_buf_read_pos", static_cast<int64_t>(rcv_buf_.read_pos()));
  put("rcv_buf_ooo_ranges", static_cast<int64_t>(rcv_buf_.out_of_order().size()));
  put("fin_received", fin_received_);
  put("have_ooo_fin", have_ooo_fin_);
  put("ooo_fin_seq", ooo_fin_seq_);
  put("rcv_mss", rcv_mss_);
  put("peer_mss", peer_mss_);
  put("snd_mss", snd_mss_);
  put("snd_wscale", snd_wscale_);
  put("rcv_wscale", rcv_wscale_);
  put("wscale_ok", wscale_ok_);
  put("ts_enabled", ts_enabled_);
  put("sack_enabled", sack_enabled_);
  put("ts_recent", ts_recent_);
  put("ts_recent_valid", ts_recent_valid_);
  put("syn_pending", syn_pending_);
  put("probe_pending", probe_pending_);
  put("srtt", rtt_.srtt().ns());
  put("rttvar", rtt_.rttvar().ns());
  put("rto", rtt_.rto().ns());
  put("rtt_backoffs", rtt_.backoffs());
  put("cwnd", cc_->cwnd());
  put("ssthresh", cc_->ssthresh());
  put("retransmit_count", rtx_.count);
  put("first_timeout_time", t(rtx_.first_timeout));
  put("head_tx_time", t(rtx_.head_tx));
  put("retransmit_timer_kind", static_cast<int64_t>(rtx_.kind));
  const RecoveryState rec = recovery_->state();
  put("in_recovery", rec.in_recovery);
  put("recover", rec.recover);
  put("dup_acks", rec.dup_acks);
  put("sack_high", rec.sack_high);
  put("fast_retransmit_pending", rec.fast_retransmit_pending);
  put("sack_scoreboard_ranges", rec.scoreboard_ranges);
  put("high_rxt", rec.high_rxt);
  put("lost_out", rec.lost_out);
  put("reordering", rec.reordering);
  put("tlp_end_seq", tlp_.end_seq());
  put("tlp_is_retrans", tlp_.is_retrans());
  put("tlp_pending", tlp_pending_);
  put("syn_timed_out", rtx_.syn_timed_out);
  put("rtt_timing", rtt_timing_);
  put("rtt_seq", rtt_seq_);
  put("rtt_start", t(rtt_start_));
  put("persist_backoff", persist_.backoff);
  put("soft_error", soft_error_);
  put("last_heard", t(live_.last_heard));
  put("keepalive_probes_out", ka_.probes_out);
  put("first_keepalive_probe", t(ka_.first_probe));
  put("keepalive_probe_pending", ka_.probe_pending);
  put("persist_unanswered", persist_.unanswered);
  put("persist_first_unanswered", t(persist_.first_unanswered));
  put("user_timeout_start", ut_clock_ ? t(ut_clock_->start) : -1);
  put("user_timeout_cause", ut_clock_ ? static_cast<int64_t>(ut_clock_->cause) : -1);
  put("user_timeout", user_timeout_.ns());
  put("pmtu", pmtu_);
  put("pmtu_since", t(pmtu_since_));
  return d;
}

std::string StateDigest::diff(const StateDigest& after) const {
  std::string out;
  for (size_t i = 0; i < fields.size() && i < after.fields.size(); ++i) {
    if (fields[i] != after.fields[i]) {
      out += std::string(fields[i].first) + ": " + std::to_string(fields[i].second) + " -> " +
             std::to_string(after.fields[i].second) + "\n";
    }
  }
  return out;
}

int64_t StateDigest::value(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return -1;
}

}  // namespace vigil::tcp
