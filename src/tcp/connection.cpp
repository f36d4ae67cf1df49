// Connection lifecycle: opening, application calls, timers and ICMP.
// Segment input is in connection_input.cpp, output in connection_output.cpp.
#include "tcp/connection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "tcp/seq.hpp"

namespace vigil::tcp {

std::string_view timer_kind_name(TimerKind k) {
  switch (k) {
    case TimerKind::kRetransmit:
      return "retransmit";
    case TimerKind::kPersist:
      return "persist";
    case TimerKind::kDelayedAck:
      return "delayed_ack";
    case TimerKind::kTimeWait:
      return "time_wait";
    case TimerKind::kKeepalive:
      return "keepalive";
    case TimerKind::kUserTimeout:
      return "user_timeout";
    case TimerKind::kLiveness:
      return "liveness";
    case TimerKind::kStallGuard:
      return "stall_guard";
    case TimerKind::kCount:
      break;
  }
  return "?";
}

namespace {
// RFC 7323 §2.3: the smallest shift that lets the window field cover the
// whole receive buffer, at most 14.
uint8_t window_shift_for(uint32_t buffer) {
  uint8_t shift = 0;
  while (shift < 14 && (buffer >> shift) > 65535) ++shift;
  return shift;
}
}  // namespace

Connection::Connection(const TcpConfig& config, const FourTuple& tuple, uint32_t iss,
                       uint32_t ts_offset, uint64_t id, EventSink* sink)
    : cfg_(config),
      tuple_(tuple),
      id_(id),
      sink_(sink),
      iss_(iss),
      snd_una_(iss),
      snd_nxt_(iss),
      snd_max_(iss),
      snd_buf_seq_(iss + 1),
      snd_buf_(config.send_buffer),
      rcv_buf_(config.recv_buffer),
      ts_offset_(ts_offset),
      rtt_(config.rto_initial, config.rto_min, config.rto_max, config.clock_granularity,
           config.linux_rto_formula),
      cc_(make_newreno(536, config.initial_window_segments,
                       {config.bug_extra_additive_constant, config.bug_no_window_deflation})) {
  timers_.fill(Instant::never());
  recover_ = iss;  // RFC 6582 §3.2: "recover" starts at the ISS
  user_timeout_ = cfg_.user_timeout;
  rcv_wscale_ = cfg_.window_scaling ? window_shift_for(cfg_.recv_buffer) : 0;
}

void Connection::emit(Event e) {
  if (!sink_) return;
  e.conn = id_;
  sink_->on_event(e);
}

void Connection::set_state(Instant now, State s) {
  if (s == state_) return;
  Event e;
  e.time = now;
  e.type = EventType::kStateChange;
  e.from = state_;
  e.to = s;
  state_ = s;
  state_since_ = now;
  emit(e);
  if (s == State::kEstablished) {
    established_once_ = true;
    last_heard_ = now;
    last_any_rx_ = now;
    // RFC 6298 §5.7: data starts at 3 s if the SYN timed out and no RTT
    // sample was taken during the handshake.
    if (syn_timed_out_) rtt_.reset_to(cfg_.rto_syn_fallback);
    if (fin_queued_) set_state(now, State::kFinWait1);  // close() during SYN-RECEIVED
  }
  // Issue 12 "Memory": a closed connection keeps no buffer it cannot use.
  if (s == State::kClosed || s == State::kTimeWait) release_buffers();
  if (s == State::kClosed) {
    timers_.fill(Instant::never());
  } else {
    arm_liveness_timers(now);
  }
}

void Connection::fail(Instant now, int err, CloseReason reason, std::string detail) {
  error_.err = err;
  error_.reason = reason;
  error_.time = now;
  error_.detail = std::move(detail);
  Event e;
  e.time = now;
  e.type = EventType::kAbort;
  e.err = err;
  e.reason = reason;
  e.detail = error_.detail;
  emit(e);
  set_state(now, State::kClosed);
}

void Connection::open_active(Instant now) {
  passive_ = false;
  syn_pending_ = true;
  set_state(now, State::kSynSent);
}

void Connection::open_passive(Instant now) {
  // The stack makes one of these per arriving SYN, for a port that has been
  // listening all along; announcing CLOSED -> LISTEN here would put a false
  // event in the story, so the connection simply starts in LISTEN.
  passive_ = true;
  state_ = State::kListen;
  state_since_ = now;
}

size_t Connection::send_space() const {
  switch (state_) {
    case State::kSynSent:
    case State::kSynReceived:
    case State::kEstablished:
    case State::kCloseWait:
      return fin_queued_ ? 0 : snd_buf_.space();
    default:
      return 0;
  }
}

size_t Connection::send(Instant, std::span<const uint8_t> data) {
  if (send_space() == 0) return 0;
  return snd_buf_.write(data);
}

size_t Connection::recv(Instant now, std::span<uint8_t> out) {
  const uint32_t adv_before = seq_diff(rcv_adv_, rcv_nxt_) > 0 ? rcv_adv_ - rcv_nxt_ : 0;
  const size_t n = rcv_buf_.read(out);
  if (n == 0) return 0;
  if (state_ == State::kClosed || state_ == State::kTimeWait)
    rcv_buf_.release();  // last bytes read
  // Tell the peer when reading opened the window enough to matter: always
  // when it was smaller than a segment (the zero-window case), otherwise
  // every two segments' worth, as BSD does. RFC 1122 §4.2.3.3 SWS rules
  // still decide the size in window_field().
  const uint32_t now_wnd = rcv_wnd();
  const uint32_t threshold = std::min<uint32_t>(rcv_buf_.capacity() / 2, rcv_mss_);
  if (state_ == State::kEstablished || state_ == State::kFinWait1 || state_ == State::kFinWait2) {
    if ((adv_before < rcv_mss_ && now_wnd >= threshold && now_wnd > adv_before) ||
        now_wnd >= adv_before + 2 * rcv_mss_) {
      schedule_ack(now, true);
    }
  }
  return n;
}

void Connection::close(Instant now) {
  switch (state_) {
    case State::kListen:
    case State::kSynSent:
      set_state(now, State::kClosed);
      break;
    case State::kSynReceived:
      fin_queued_ = true;  // sent once ESTABLISHED (RFC 9293 §3.10.4)
      break;
    case State::kEstablished:
      fin_queued_ = true;
      set_state(now, State::kFinWait1);
      break;
    case State::kCloseWait:
      fin_queued_ = true;
      set_state(now, State::kLastAck);
      break;
    default:
      break;  // already closing
  }
}

void Connection::abort(Instant now) {
  switch (state_) {
    case State::kSynReceived:
    case State::kEstablished:
    case State::kFinWait1:
    case State::kFinWait2:
    case State::kCloseWait:
      // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
      rst_pending_ = true;
      rst_seq_ = snd_max_;
      rst_with_ack_ = false;
      break;
    default:
      break;
  }
  set_state(now, State::kClosed);
}

uint32_t Connection::rcv_wnd() const {
  return static_cast<uint32_t>(std::min<size_t>(rcv_buf_.free_space(), 0x3fffffff));
}

Instant Connection::next_deadline() const {
  Instant t = Instant::never();
  for (const auto& d : timers_) t = std::min(t, d);
  return t;
}

void Connection::on_timer(Instant now) {
  auto due = [&](TimerKind k) { return timer_deadline(k) <= now; };
  if (due(TimerKind::kTimeWait)) {
    disarm(TimerKind::kTimeWait);
    set_state(now, State::kClosed);
    return;
  }
  if (due(TimerKind::kDelayedAck)) {
    disarm(TimerKind::kDelayedAck);
    ack_pending_ = true;
  }
  // Verdicts first: a connection that is dead at `now` sends nothing more.
  if (state_ != State::kClosed && due(TimerKind::kUserTimeout)) {
    disarm(TimerKind::kUserTimeout);
    on_user_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kKeepalive)) {
    disarm(TimerKind::kKeepalive);
    on_keepalive_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kLiveness)) {
    disarm(TimerKind::kLiveness);
    on_liveness_deadline(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kRetransmit)) {
    disarm(TimerKind::kRetransmit);
    on_retransmit_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kPersist)) {
    disarm(TimerKind::kPersist);
    on_persist_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kStallGuard)) {
    disarm(TimerKind::kStallGuard);
    on_stall_guard(now);
  }
}

void Connection::on_retransmit_timeout(Instant now) {
  ++stats_.timeouts;
  ++retransmit_count_;
  if (retransmit_count_ == 1) first_timeout_time_ = now;
  const bool handshake = state_ == State::kSynSent || state_ == State::kSynReceived;
  if (retry_limit_reached(now, handshake)) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "retransmission: %u %sretransmissions over %.1f s",
                  retransmit_count_ - 1, handshake ? "SYN " : "", (now - head_tx_time_).secs());
    // RFC 1122 §4.2.3.9: a remembered soft ICMP error explains the timeout
    // (EHOSTUNREACH rather than ETIMEDOUT, as Linux reports it).
    fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, CloseReason::kRetransmission,
         detail + soft_error_note());
    return;
  }
  // RFC 6298 §5.5 doubling; Linux keeps the first tcp_syn_linear_timeouts
  // SYN retransmissions at the initial RTO.
  const bool linear = state_ == State::kSynSent && retransmit_count_ <= cfg_.syn_linear_timeouts;
  if (!cfg_.bug_no_rto_backoff && !linear) rtt_.back_off();
  rtt_timing_ = false;  // Karn: no sample across a retransmission
  Event e;
  e.time = now;
  e.type = EventType::kRtoBackoff;
  e.rto = rtt_.rto();
  e.count = retransmit_count_;
  emit(e);
  if (handshake) {
    syn_timed_out_ = true;
    syn_pending_ = true;
    return;
  }
  // Linux starts TCP_USER_TIMEOUT's clock at the first timeout retransmission.
  // Measured on Linux 6.18 (docs/linux-measurements.md): the abort comes
  // exactly user_timeout after the first RTO retransmission.
  if (cfg_.user_timeout_from_first_rto) start_user_timeout(now, "data unacknowledged");
  // RFC 5681 §3.1 and RFC 6582 §4: loss window, and dup ACKs caused by the
  // retransmissions must not trigger another fast retransmit.
  cc_->on_retransmit_timeout(flight_size());
  in_recovery_ = false;
  dup_acks_ = 0;
  recover_ = snd_max_;
  if (sack_recovery()) {
    // RFC 6675 §5.1: RecoveryPoint = HighData and recovery ends; every
    // unSACKed byte counts as lost and the go-back below skips SACKed
    // ranges. If SND.UNA itself is marked SACKed the peer reneged (RFC 2018
    // §8): forget the scoreboard and resend everything.
    if (sb_.is_sacked(snd_una_)) sb_.clear();
    high_rxt_ = snd_una_;
  }
  snd_nxt_ = snd_una_;  // go back: resend from the first unacknowledged byte
  retransmit_timer_kind_ = RetransmitTimer::kRto;
}

void Connection::on_persist_timeout(Instant now) {
  if (seq_diff(send_buffer_end(), snd_nxt_) <= 0) return;
  if (snd_wnd_ != 0) {
    // The SWS override (RFC 1122 §4.2.3.4): a window too small to fill by
    // the sender's rules has stayed that way for an RTO; send what fits.
    probe_pending_ = true;
    return;
  }
  // Unanswered probes count toward R2 (RFC 1122 §4.2.2.17 lets the
  // connection live only as long as the peer answers); any ACK resets it.
  const bool limit = cfg_.retries_data_time > Duration::zero()
                         ? persist_unanswered_ > 0 && now - head_tx_time_ >= cfg_.retries_data_time
                         : persist_unanswered_ >= cfg_.retries_data;
  if (limit) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "persist: %u zero-window probes unanswered over %.1f s",
                  persist_unanswered_, (now - head_tx_time_).secs());
    fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, CloseReason::kPersist,
         detail + soft_error_note());
    return;
  }
  if (persist_unanswered_ == 0) head_tx_time_ = now;
  ++persist_unanswered_;
  start_user_timeout(now, "zero-window probes unanswered");
  probe_pending_ = true;
  ++persist_backoff_;
  // RFC 1122 §4.2.2.17: probe intervals back off exponentially, capped.
  Duration next = rtt_.rto();
  for (uint32_t i = 0; i < persist_backoff_ && next < cfg_.rto_max; ++i) next = next * 2;
  arm(TimerKind::kPersist, now + std::min(next, cfg_.rto_max));
}

void Connection::maybe_arm_persist(Instant now) {
  // The window is closed, data waits, nothing is in flight to elicit an
  // ACK: only a probe can learn that the window reopened.
  const bool data_waiting = seq_diff(send_buffer_end(), snd_nxt_) > 0;
  if (snd_wnd_ == 0 && data_waiting && flight_size() == 0 && !armed(TimerKind::kPersist) &&
      !armed(TimerKind::kRetransmit)) {
    persist_backoff_ = 0;
    arm(TimerKind::kPersist, now + rtt_.rto());
  }
}

void Connection::restart_retransmit_timer(Instant now) {
  arm(TimerKind::kRetransmit, now + rtt_.rto());
}

void Connection::schedule_ack(Instant now, bool immediately) {
  if (immediately) {
    ack_pending_ = true;
    return;
  }
  if (!armed(TimerKind::kDelayedAck)) arm(TimerKind::kDelayedAck, now + cfg_.delayed_ack);
}

void Connection::enter_time_wait(Instant now) {
  set_state(now, State::kTimeWait);
  for (auto k : {TimerKind::kRetransmit, TimerKind::kPersist, TimerKind::kDelayedAck,
                 TimerKind::kUserTimeout, TimerKind::kKeepalive, TimerKind::kLiveness,
                 TimerKind::kStallGuard}) {
    disarm(k);
  }
  arm(TimerKind::kTimeWait, now + cfg_.msl * 2);
}

void Connection::on_icmp(Instant now, const wire::IcmpUnreachableView& icmp) {
  // RFC 5927 §4.1: act only on ICMP quoting a sequence number we have
  // outstanding; anything else may be forged.
  if (!seq_in(icmp.quoted_seq(), snd_una_, snd_max_) || state_ == State::kClosed ||
      state_ == State::kListen) {
    ++stats_.segments_dropped;
    return;
  }
  Event e;
  e.time = now;
  e.type = EventType::kIcmpReceived;
  e.count = icmp.code();
  emit(e);
  switch (icmp.code()) {
    case wire::icmp_code::kProtocolUnreachable:
    case wire::icmp_code::kPortUnreachable:
      // RFC 1122 §4.2.3.9: hard errors; Linux reports ECONNREFUSED.
      fail(now, ECONNREFUSED, CloseReason::kIcmp,
           icmp.code() == wire::icmp_code::kPortUnreachable ? "icmp: port unreachable"
                                                            : "icmp: protocol unreachable");
      break;
    case wire::icmp_code::kFragmentationNeeded:
      // RFC 1191: shrink the segment size and resend what was lost.
      if (icmp.next_hop_mtu() >= 68 + 40) {
        const uint32_t mss = icmp.next_hop_mtu() - 40u - (ts_enabled_ ? 12u : 0u);
        if (mss < snd_mss_) {
          snd_mss_ = mss;
          cc_->set_mss(mss);
          snd_nxt_ = snd_una_;
        }
      }
      break;
    case wire::icmp_code::kNetUnreachable:
      soft_error_ = ENETUNREACH;  // soft: remembered, never fatal by itself
      break;
    case wire::icmp_code::kSourceRouteFailed:
      soft_error_ = EOPNOTSUPP;
      break;
    default:
      soft_error_ = EHOSTUNREACH;
      break;
  }
}

}  // namespace vigil::tcp
