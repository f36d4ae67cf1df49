// Why a connection died: every timer that can end it, and the one place each
// is armed and judged. docs/liveness.md states the rules in words.
//
//   timer               armed by                      verdict
//   retransmit (+SYN)   restart_retransmit_timer()    on_retransmit_timeout(),
//                                                     retry_limit_reached()
//   loss probe          maybe_schedule_loss_probe()   on_loss_probe_timeout() (never kills)
//   RACK reordering     maybe_arm_reorder_timer()     on_reorder_timeout() (never kills)
//   persist             start_persist(), arm_persist() on_persist_timeout()
//   keepalive           arm_keepalive()               on_keepalive_timeout()
//   user timeout        start_user_timeout()          on_user_timeout()
//   liveness deadline   arm_liveness_deadline()       on_liveness_deadline()
//   stall guard         arm_stall_guard()             on_stall_guard() (never kills)
//   TIME-WAIT           arm_time_wait()               on_time_wait_timeout()
//   FIN-WAIT-2          arm_fin_wait2()               on_fin_wait2_timeout()
//
// Deaths no timer decides: die_reset() (a RST, or a refused SYN) and a hard
// ICMP error (on_icmp). fail() records the error; only these call it.
// on_timer() runs the due timers, verdicts first.
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

namespace flags = wire::tcp_flags;

namespace {
std::string secs(Duration d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", d.secs());
  return b;
}

// Linux's tcp_model_timeout(): how long `boundary` timeouts take when the
// RTO starts at `base` and doubles up to `cap`.
Duration linux_model_timeout(uint32_t boundary, Duration base, Duration cap) {
  Duration total = Duration::zero();
  Duration rto = base;
  for (uint32_t i = 0; i <= boundary; ++i) {
    total += rto;
    rto = std::min(rto * 2, cap);
  }
  return total;
}

std::string_view cause_words(UserTimeoutCause c) {
  switch (c) {
    case UserTimeoutCause::kData:
      return "data unacknowledged";
    case UserTimeoutCause::kZeroWindow:
      return "zero-window probes unanswered";
    case UserTimeoutCause::kZeroWindowEpisode:
      return "the peer's window closed (zero-window probing since the first probe)";
    case UserTimeoutCause::kLocalCongestion:
      return "the local device's queue refusing the data since the first probe";
  }
  return "?";
}
}  // namespace

// ---------------------------------------------------------------------------
// Dispatch and the record of death.

void Connection::on_timer(Instant now) {
  burst_ = 0;  // what goes out next answers a timer, not an ACK
  push_run_ = 0;
  burst_from_segment_ = false;
  auto due = [&](TimerKind k) { return timer_deadline(k) <= now; };
  if (due(TimerKind::kTimeWait)) {
    disarm(TimerKind::kTimeWait);
    on_time_wait_timeout(now);
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
  if (state_ != State::kClosed && due(TimerKind::kReorder)) {
    disarm(TimerKind::kReorder);
    on_reorder_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kLossProbe)) {
    disarm(TimerKind::kLossProbe);
    on_loss_probe_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kPersist)) {
    disarm(TimerKind::kPersist);
    on_persist_timeout(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kStallGuard)) {
    disarm(TimerKind::kStallGuard);
    on_stall_guard(now);
  }
  if (state_ != State::kClosed && due(TimerKind::kFinWait2)) {
    disarm(TimerKind::kFinWait2);
    on_fin_wait2_timeout(now);
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

void Connection::die_reset(Instant now, int err, CloseReason reason, std::string detail) {
  fail(now, err, reason, std::move(detail));
}

int Connection::timeout_errno() const {
  // RFC 1122 §4.2.3.9: a remembered soft ICMP error explains the timeout
  // (EHOSTUNREACH rather than ETIMEDOUT, as Linux reports it).
  return soft_error_ ? soft_error_ : ETIMEDOUT;
}

void Connection::queue_abort_rst() {
  // RFC 1122 leaves it open; Linux resets, so do we, in its shape:
  // tcp_send_active_reset() sends RST|ACK with SEQ = SND.NXT and
  // ACK = RCV.NXT (measured: docs/linux-measurements.md, scenario 1).
  rst_pending_ = true;
  rst_seq_ = snd_max_;
  rst_ack_ = rcv_nxt_;
  rst_with_ack_ = true;
}

std::string Connection::soft_error_note() const {
  if (!soft_error_) return "";
  return " (last ICMP: " + errno_name(soft_error_) + ")";
}

// ---------------------------------------------------------------------------
// Hearing from the peer.

void Connection::note_segment_arrived(Instant now) {
  live_.last_any_rx = now;  // the stall guard restarts on any arriving segment
  if (armed(TimerKind::kStallGuard)) arm_stall_guard(now);
}

void Connection::heard_from_peer(Instant now, uint32_t window) {
  // The keepalive idle clock restarts on every segment that passed the
  // sequence check and carried an acceptable ACK (so new data too). A
  // keepalive probe from the peer is out of window and does not count,
  // as on Linux (tcp_ack updates rcv_tstamp only for acceptable ACKs).
  // The bug.keepalive_while_persisting emulation: a zero-window ACK while
  // persisting is not heard (its keepalive looks only at ACKs that open
  // the window or acknowledge data).
  const bool persisting = armed(TimerKind::kPersist) || persist_.unanswered > 0;
  if (cfg_->bug_keepalive_while_persisting && window == 0 && persisting) {
    if (persist_.unanswered > 0) persist_.unanswered = 0;  // persist itself still hears it
    return;
  }
  live_.last_heard = now;
  if (ka_.probes_out > 0) {
    Event e;
    e.time = now;
    e.type = EventType::kKeepaliveAck;
    e.count = ka_.probes_out;
    emit(e);
    ka_.probes_out = 0;
  }
  arm_liveness_timers(now);
  // Any outstanding zero-window probe has been answered.
  if (persist_.unanswered > 0) {
    Event e;
    e.time = now;
    e.type = EventType::kZeroWindowProbeAck;
    e.len = window;
    e.count = persist_.unanswered;
    emit(e);
    persist_.unanswered = 0;
    // rfc: the user timeout bounds unanswered probes, so an answer stops it.
    // linux (kZeroWindowEpisode) keeps timing the zero window.
    if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kZeroWindow) stop_user_timeout();
  }
}

void Connection::note_ack_progress(Instant now) {
  // New data acknowledged: the retry count and R2's clock start over.
  rtx_.count = 0;
  rtx_.head_tx = now;
  // The user timeout's clock for unacknowledged data starts over too (rfc:
  // now, if data is still out; linux: at the next timeout).
  if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kData) {
    stop_user_timeout();
    if (!cfg_->user_timeout_from_first_rto && flight_size() > 0) {
      start_user_timeout(now, UserTimeoutCause::kData);
    }
  }
}

void Connection::note_send_from_idle(Instant now) {
  // The oldest unacknowledged segment goes out now (R2's clock); rfc starts
  // the user timeout with it. A lone FIN counts too: the user timeout
  // replaces R2 for it as for data, so its clock must run.
  rtx_.head_tx = now;
  if (!cfg_->user_timeout_from_first_rto) start_user_timeout(now, UserTimeoutCause::kData);
}

void Connection::arm_liveness_timers(Instant now) {
  arm_keepalive(now, KeepaliveArm::kFromLastHeard);
  arm_liveness_deadline();
  if (cfg_->stall_guard_period > Duration::zero() && state_ == State::kEstablished) {
    if (!armed(TimerKind::kStallGuard)) arm_stall_guard(live_.last_any_rx);
  } else {
    disarm(TimerKind::kStallGuard);
  }
}

// ---------------------------------------------------------------------------
// Retransmission, including the SYN (RFC 6298, RFC 1122 §4.2.3.5).

void Connection::restart_retransmit_timer(Instant now) {
  arm(TimerKind::kRetransmit, now, now + rtt_.rto());
}

bool Connection::retry_limit_reached(Instant now, bool handshake) const {
  // `rtx_.count` counts this expiry too; `rtx_.head_tx` is when the oldest
  // unacknowledged segment was first sent.
  const Duration elapsed = now - rtx_.head_tx;
  if (handshake) {
    if (cfg_->retries_syn_time > Duration::zero()) return elapsed >= cfg_->retries_syn_time;
    // The count rule: tcp_syn_retries (plus the linear ones in SYN-SENT)
    // retransmissions, then give up at the next expiry.
    const uint32_t linear = state_ == State::kSynSent ? cfg_->syn_linear_timeouts : 0;
    if (rtx_.count > cfg_->retries_syn + linear) return true;
    // linux: Linux's tcp_write_timeout() also applies the time rule,
    // retransmits_timed_out(syn_retries) with the 1 s initial RTO as the
    // base, counted from the first SYN (retrans_stamp is set by
    // tcp_connect). It ignores the linear timeouts, so with TCP_SYNCNT=2
    // it cuts in at 1+2+4 = 7 s, after 5 retransmissions (measured 7.141 s,
    // docs/linux-measurements.md 6b).
    return cfg_->linux_retry_model &&
           elapsed >= linux_model_timeout(cfg_->retries_syn, cfg_->rto_initial, cfg_->rto_max);
  }
  // A user timeout replaces R2 for data, in both profiles: Linux's
  // tcp_write_timeout() passes icsk_user_timeout to retransmits_timed_out()
  // as the time limit instead of tcp_retries2's, and RFC 5482 §3 makes the
  // user timeout the time after which the connection gives up. Its own
  // timer (on_user_timeout) decides, at exactly the timeout.
  if (user_timeout_ > Duration::zero()) return false;
  if (cfg_->retries_data_time > Duration::zero()) return elapsed >= cfg_->retries_data_time;
  if (cfg_->linux_retry_model) {
    // Linux's clock (retransmits_timed_out) starts at retrans_stamp: the
    // first RTO retransmission, set by tcp_retransmit_skb; the tail-loss
    // probe resends through __tcp_retransmit_skb and leaves it unset, which
    // is why TCP_USER_TIMEOUT measurably counts from the first RTO (5a/5b).
    // vigil's starts at the original send (or the last progress). The
    // verdict is taken only at RTO expiries, and both clocks pick the same
    // one: with the probe at R and the RTOs at 2R, 4R, ... 128R after the
    // send, 128R >= model(6) = 25.4 s > 64R for R from 198.4 ms up, while
    // Linux's 126R >= 25.4 s > 62R holds for its R = 204 ms (51 jiffies).
    // Counting vigil's R = 200.1 ms from its first RTO would give
    // 126R = 25.2 s and one more doubling; counting Linux's from the send
    // changes nothing. So both die at the 7th RTO expiry (measured 4a:
    // 26.773 s; vigil 25.61 s, the difference being Linux's later timers).
    return elapsed >= linux_model_timeout(cfg_->retries_data, cfg_->rto_min, cfg_->rto_max);
  }
  return rtx_.count > cfg_->retries_data;
}

void Connection::on_retransmit_timeout(Instant now) {
  ++stats_.timeouts;
  ++rtx_.count;
  if (rtx_.count == 1) rtx_.first_timeout = now;
  const bool handshake = state_ == State::kSynSent || state_ == State::kSynReceived;
  if (retry_limit_reached(now, handshake)) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "retransmission: %u %sretransmissions over %.1f s",
                  rtx_.count - 1, handshake ? "SYN " : "", (now - rtx_.head_tx).secs());
    fail(now, timeout_errno(), CloseReason::kRetransmission, detail + soft_error_note());
    return;
  }
  // RFC 6298 §5.5 doubling; Linux keeps the first tcp_syn_linear_timeouts
  // SYN retransmissions at the initial RTO.
  const bool linear = state_ == State::kSynSent && rtx_.count <= cfg_->syn_linear_timeouts;
  if (!cfg_->bug_no_rto_backoff && !linear) rtt_.back_off();
  rtt_timing_ = false;  // Karn: no sample across a retransmission
  Event e;
  e.time = now;
  e.type = EventType::kRtoBackoff;
  e.rto = rtt_.rto();
  e.count = rtx_.count;
  emit(e);
  if (handshake) {
    rtx_.syn_timed_out = true;
    syn_pending_ = true;
    return;
  }
  // Linux starts TCP_USER_TIMEOUT's clock at the first timeout retransmission.
  // Measured on Linux 6.18 (docs/linux-measurements.md): the abort comes
  // exactly user_timeout after the first RTO retransmission.
  // rfc starts it when data leaves with nothing outstanding; data that left
  // otherwise (a zero-window probe byte whose clock an answer stopped) has
  // none yet, and as the user timeout replaces R2 it would be resent for
  // ever (vigil sim fuzz seed 19366): its first timeout starts it.
  // (A no-op when the clock runs.)
  start_user_timeout(now, UserTimeoutCause::kData);
  // RFC 5681 §3.1: the loss window; RFC 6582 §4 and RFC 6675 §5.1:
  // recovery ends, and dup ACKs caused by the go-back must not trigger
  // another fast retransmit.
  frto_on_timeout(recovery_->in_recovery());  // before the cut: undo.hpp's episode
  cc_->on_retransmit_timeout(flight_size(), now);
  lt_bytes_ = 0;
  recovery_->on_retransmit_timeout(seq_space());
  // RTO recovery replaces the tail-loss episode (RFC 8985 §7.2: no probe
  // during recovery); its window cut already answers any loss.
  tlp_.on_retransmit_timeout();
  tlp_pending_ = false;
  snd_nxt_ = snd_una_;  // go back: resend from the first unacknowledged byte
  rtx_.kind = RetransmitTimer::kRto;
}

// ---------------------------------------------------------------------------
// Tail-loss probe (RFC 8985 §7; tlp.hpp). It never kills: it shares the
// retransmission slot with the RTO, and its expiry re-arms the RTO.

void Connection::maybe_schedule_loss_probe(Instant now) {
  // §7.2: only with SACK, nothing SACKed, outside loss recovery (fast or
  // RTO: SND.UNA below the recovery point, or timeouts without progress),
  // and one probe per tail episode. Linux's tcp_schedule_loss_probe adds
  // the same conditions (tcp_is_sack, TCP_CA_Open).
  const bool data_state = state_ == State::kEstablished || state_ == State::kCloseWait ||
                          state_ == State::kFinWait1 || state_ == State::kClosing ||
                          state_ == State::kLastAck;
  const SackScoreboard* sb = recovery_->scoreboard();
  if (!cfg_->tlp || !sack_enabled_ || !data_state || flight_size() == 0 || snd_wnd_ == 0 ||
      tlp_.probe_outstanding() || tlp_pending_ || recovery_->in_recovery() || rtx_.count > 0 ||
      snd_nxt_ != snd_max_ || seq_lt(snd_una_, recovery_->recovery_point()) ||
      (sb && sb->size() > 0)) {
    return;
  }
  // §7.2: "If Now() + PTO > TCP_RTO_expiration(): PTO = TCP_RTO_expiration()
  // - Now()". The RTO runs from the last ACK of new data or the send from
  // idle (rtx_.head_tx); while a probe is armed in its place, that is where
  // it would fire (Linux: tcp_rto_delta_us).
  const Instant rto_at = armed(TimerKind::kRetransmit) ? timer_deadline(TimerKind::kRetransmit)
                                                       : rtx_.head_tx + rtt_.rto();
  const Duration pto =
      TailLossProbe::pto(rtt_.has_sample(), rtt_.srtt(), flight_size() <= snd_mss_, rto_at - now);
  arm(TimerKind::kLossProbe, now, now + pto);  // replaces the RTO (one slot)
}

void Connection::on_loss_probe_timeout(Instant now) {
  // §7.3: "After attempting to send a loss probe, regardless of whether a
  // loss probe was sent, the sender MUST re-arm the RTO timer": from now,
  // as Linux's tcp_send_loss_probe (tcp_rearm_rto with icsk_pending 0).
  // So the first RTO comes one RTO after the probe.
  if (flight_size() == 0) return;
  restart_retransmit_timer(now);
  tlp_pending_ = true;
}

void Connection::maybe_arm_reorder_timer(Instant now) {
  // RFC 8985 §6.3: segments sent before the last one delivered whose
  // reordering window has not yet run out: look again when it does. It
  // takes the RTO's slot when it comes sooner (Linux ICSK_TIME_REO_TIMEOUT);
  // its expiry puts the RTO back where it was. It takes a loss probe's
  // slot too: Linux arms ICSK_TIME_REO_TIMEOUT over ICSK_TIME_LOSS_PROBE,
  // and a SACK has left the Open state that allows probes (packetdrill
  // sack-shift-sacked-7-3-4-8-9-fack: 1:1001 resent 27 ms after the SACK).
  const Duration t = recovery_->reorder_timeout();
  const bool rto = armed(TimerKind::kRetransmit);
  const bool reo = armed(TimerKind::kReorder);
  const bool probe = armed(TimerKind::kLossProbe);
  if (flight_size() == 0 || (!rto && !reo && !probe)) return;
  const Instant rto_at =
      rto ? timer_deadline(TimerKind::kRetransmit) : std::max(now, rtx_.head_tx + rtt_.rto());
  if (t > Duration::zero() && now + t < rto_at) {
    arm(TimerKind::kReorder, now, now + t);
  } else if (reo) {
    arm(TimerKind::kRetransmit, now, rto_at);
  }
}

void Connection::on_reorder_timeout(Instant now) {
  if (flight_size() == 0) return;
  arm(TimerKind::kRetransmit, now, std::max(now, rtx_.head_tx + rtt_.rto()));
  const uint32_t cwnd = cc_->cwnd(), ssthresh = cc_->ssthresh();
  if (recovery_->on_reorder_timeout(now, seq_space(), *cc_)) {
    ++stats_.fast_retransmits;
    if (cfg_->undo) undo_.begin(snd_una_, cwnd, ssthresh);  // a new episode (undo.hpp)
  }
  maybe_arm_reorder_timer(now);
}

// ---------------------------------------------------------------------------
// Persist (RFC 1122 §4.2.2.17, RFC 9293 §3.8.6.1).

Duration Connection::persist_interval() const {
  // RFC 1122 §4.2.2.17: probe intervals back off exponentially, capped.
  Duration next = rtt_.rto();
  for (uint32_t i = 0; i < persist_.backoff && next < cfg_->rto_max; ++i) next = next * 2;
  return persist_.backoff > 0 ? std::min(next, cfg_->rto_max) : next;
}

void Connection::arm_persist(Instant now) {
  arm(TimerKind::kPersist, now, now + persist_interval());
}

bool Connection::orphan_probe_limit_reached() const {
  // Linux's tcp_probe_timer() for an orphan (the application has closed,
  // SOCK_DEAD) with data behind a zero window. The socket is "alive" while
  // RTO << backoff is below TCP_RTO_MAX; tcp_orphan_retries() reads a
  // sysctl of 0 as 8 while alive and 0 once not. So: 8 unanswered probes in
  // a row end it while the interval is short, and once the backed-off
  // interval reaches rto.max it ends at that expiry even though every probe
  // was answered (answers do not reset the back-off, rule 8 of
  // docs/linux-measurements.md). RFC 9293 has no orphans: rfc leaves it off.
  if (cfg_->orphan_retries < 0 || !orphaned_) return false;
  Duration when = rtt_.rto();
  for (uint32_t i = 0; i < persist_.backoff && when < cfg_->rto_max; ++i) when = when * 2;
  const bool alive = when < cfg_->rto_max;
  uint32_t max_probes = static_cast<uint32_t>(cfg_->orphan_retries);
  if (soft_error_ && !alive) max_probes = 0;
  if (max_probes == 0 && alive) max_probes = 8;
  if (!alive && persist_.backoff >= max_probes) return true;
  return persist_.unanswered >= max_probes;
}

void Connection::start_persist(Instant now) {
  persist_.backoff = 0;
  arm_persist(now);
}

void Connection::maybe_arm_persist(Instant now) {
  // The window is closed, data waits, nothing is in flight to elicit an
  // ACK: only a probe can learn that the window reopened.
  const bool data_waiting = seq_diff(send_buffer_end(), snd_nxt_) > 0;
  if (snd_wnd_ == 0 && data_waiting && flight_size() == 0 && !armed(TimerKind::kPersist) &&
      !xmit_armed()) {
    start_persist(now);
  }
}

void Connection::note_window_opened() {
  disarm(TimerKind::kPersist);
  persist_.backoff = 0;
  // The zero-window episode is over (Linux's tcp_ack_probe clears
  // icsk_probes_tstamp when the window opens).
  if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kZeroWindowEpisode) stop_user_timeout();
}

// ---------------------------------------------------------------------------
// Local congestion (set_link_congested): the device refused what TCP tried
// to send. Linux: tcp_write_xmit stops at the refused segment, which stays
// unsent; with nothing in flight tcp_check_probe_timer arms the probe timer
// at tcp_probe0_base, max(RTO, TCP_RTO_MIN); each expiry (tcp_probe_timer)
// tries again through tcp_send_probe0, and a refused try counts a probe
// (icsk_probes_out) and retries after TCP_RESOURCE_PROBE_INTERVAL, 500 ms,
// without back-off. The user timeout runs from the first expiry
// (icsk_probes_tstamp); tcp_retries2 probes also end it.

void Connection::refuse_locally(Instant now) {
  const bool owed = seq_diff(send_buffer_end(), snd_nxt_) > 0 || (fin_queued_ && !fin_sent_);
  if (!owed || snd_wnd_ == 0) return;  // nothing tried, or zero-window persist's business
  if (local_.due) {
    local_.due = false;
    if (local_.probes < 255) ++local_.probes;
    Instant when = now + Duration::millis(500);  // TCP_RESOURCE_PROBE_INTERVAL
    if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kLocalCongestion) {
      // tcp_clamp_probe0_to_user_timeout: no later than the user timeout's
      // end, and at least TCP_TIMEOUT_MIN (2 jiffies at HZ 1000) away.
      const Instant end = ut_clock_->start + user_timeout_;
      when = std::min(when, std::max(end, now + Duration::millis(2)));
    }
    arm(TimerKind::kPersist, now, when);
    return;
  }
  if (flight_size() == 0 && !armed(TimerKind::kPersist) && !xmit_armed()) {
    local_.active = true;
    arm(TimerKind::kPersist, now, now + std::max(rtt_.rto(), Duration::millis(200)));
  }
}

// true if this expiry was the local-congestion probe timer's.
bool Connection::on_local_probe_timeout(Instant now) {
  if (!local_.active) return false;
  const bool owed = seq_diff(send_buffer_end(), snd_nxt_) > 0 || (fin_queued_ && !fin_sent_);
  if (flight_size() > 0 || !owed) {  // tcp_probe_timer: packets out, or no send head
    local_ = {};
    if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kLocalCongestion) stop_user_timeout();
    return true;
  }
  // tcp_probe_timer: the first expiry starts the user timeout
  // (icsk_probes_tstamp), a later one at or past its end ends the
  // connection (as its own timer does at that instant).
  start_user_timeout(now, UserTimeoutCause::kLocalCongestion);
  if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kLocalCongestion &&
      now - ut_clock_->start >= user_timeout_) {
    on_user_timeout(now);
    return true;
  }
  if (local_.probes >= cfg_->retries_data) {
    fail(now, timeout_errno(), CloseReason::kPersist,
         std::to_string(local_.probes) + " sends refused by the local device queue" +
             soft_error_note());
    return true;
  }
  // The next send attempt is the probe: it leaves if the device takes it
  // now (transmit_data clears local_), else refuse_locally counts it.
  local_.due = true;
  return true;
}

void Connection::on_persist_timeout(Instant now) {
  if (on_local_probe_timeout(now)) return;
  if (seq_diff(send_buffer_end(), snd_nxt_) <= 0) return;
  if (snd_wnd_ != 0) {
    // The SWS override (RFC 1122 §4.2.3.4): a window too small to fill by
    // the sender's rules has stayed that way for an RTO; send what fits.
    probe_pending_ = true;
    return;
  }
  // Unanswered probes count toward R2 (RFC 1122 §4.2.2.17 lets the
  // connection live only as long as the peer answers); any ACK resets it.
  const bool limit =
      cfg_->retries_data_time > Duration::zero()
          ? persist_.unanswered > 0 && now - persist_.first_unanswered >= cfg_->retries_data_time
          : persist_.unanswered >= cfg_->retries_data;
  if (limit) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "persist: %u zero-window probes unanswered over %.1f s",
                  persist_.unanswered, (now - persist_.first_unanswered).secs());
    fail(now, timeout_errno(), CloseReason::kPersist, detail + soft_error_note());
    return;
  }
  if (orphan_probe_limit_reached()) {
    char detail[200];
    std::snprintf(detail, sizeof detail,
                  "orphan: closed by the application with data behind a zero window; %u "
                  "probes sent, %u unanswered, interval at %.1f s",
                  persist_.backoff, persist_.unanswered, persist_interval().secs());
    fail(now, timeout_errno(), CloseReason::kOrphan, detail + soft_error_note());
    return;
  }
  if (persist_.unanswered == 0) persist_.first_unanswered = now;
  ++persist_.unanswered;
  // rfc: the user timeout bounds probes that go unanswered (RFC 5482 speaks
  // of unacknowledged data); an answer stops it. linux (5.11 and later,
  // icsk_probes_tstamp in tcp_probe_timer): it bounds the zero window
  // itself, from the first probe of the episode until the window opens,
  // answered or not; the probe timer is clamped to it, so death comes at
  // exactly first probe + user timeout.
  start_user_timeout(now, cfg_->user_timeout_zero_window_episode
                              ? UserTimeoutCause::kZeroWindowEpisode
                              : UserTimeoutCause::kZeroWindow);
  probe_pending_ = true;
  ++persist_.backoff;
  arm_persist(now);
}

// ---------------------------------------------------------------------------
// Keepalive (RFC 1122 §4.2.3.6).

void Connection::arm_keepalive(Instant now, KeepaliveArm how) {
  if (!cfg_->keepalive || !keepalive_state()) {
    disarm(TimerKind::kKeepalive);
    return;
  }
  Instant when;
  switch (how) {
    case KeepaliveArm::kFromLastHeard:
      // Probe k goes out at last_heard + idle + (k-1) * interval; the abort
      // comes one interval after the last probe.
      when = ka_.probes_out == 0 ? live_.last_heard + cfg_->keepalive_idle
                                 : ka_.first_probe + cfg_->keepalive_interval * ka_.probes_out;
      break;
    case KeepaliveArm::kBusy:
      // Retransmission or persist is already asking; Linux reschedules a
      // full idle period later (an interval while probing).
      when = now + (ka_.probes_out == 0 ? cfg_->keepalive_idle : cfg_->keepalive_interval);
      break;
    case KeepaliveArm::kAfterProbe:
      when = now + cfg_->keepalive_interval;
      break;
  }
  arm(TimerKind::kKeepalive, now, when);
}

void Connection::set_socket_options(Instant now, const TcpConfig& c, bool push) {
  const bool ka_was_on = cfg_->keepalive;
  if (push) {
    push_once_ = true;
    more_hold_ = false;
  }
  if (cfg_->user_timeout != c.user_timeout) user_timeout_ = c.user_timeout;
  // The config is shared with other connections: change a copy of it.
  TcpConfig next = *cfg_;
  next.nodelay = c.nodelay;
  next.cork = c.cork;
  next.keepalive = c.keepalive;
  next.keepalive_idle = c.keepalive_idle;
  next.keepalive_interval = c.keepalive_interval;
  next.keepalive_count = c.keepalive_count;
  next.user_timeout = c.user_timeout;
  next.send_buffer_max = c.send_buffer_max;  // SO_SNDBUF locks it (0)
  if (c.send_buffer != cfg_->send_buffer) {
    // SO_SNDBUF (Linux sk_setsockopt sets sk_sndbuf of the live socket):
    // the bound on queued data changes now.
    next.send_buffer = c.send_buffer;
    snd_buf_.set_capacity(c.send_buffer);
    sent_segs_.set_send_buffer(c.send_buffer);
  }
  if (!(next == *cfg_)) cfg_ = std::make_shared<const TcpConfig>(std::move(next));
  // Linux: SO_KEEPALIVE turning on arms the timer a full idle period from
  // now (sock_set_keepalive); a new TCP_KEEPIDLE counts from the last
  // segment heard (tcp_sock_set_keepidle_locked: idle - elapsed).
  arm_keepalive(now, ka_was_on ? KeepaliveArm::kFromLastHeard : KeepaliveArm::kBusy);
}

void Connection::on_keepalive_timeout(Instant now) {
  if (!cfg_->keepalive || !keepalive_state()) return;
  // Linux tcp_keepalive_timer: with a user timeout, the count is ignored and
  // the connection dies once nothing was heard for that long with at least
  // one probe out; without one, after `count` unanswered probes.
  const Duration silent = now - live_.last_heard;
  const bool ut_expired =
      user_timeout_ > Duration::zero() && silent >= user_timeout_ && ka_.probes_out > 0;
  const bool count_reached =
      user_timeout_ == Duration::zero() && ka_.probes_out >= cfg_->keepalive_count;
  if (ut_expired || count_reached) {
    queue_abort_rst();
    if (ut_expired) {
      fail(now, timeout_errno(), CloseReason::kUserTimeout,
           "user timeout " + secs(user_timeout_) + " elapsed with " +
               std::to_string(ka_.probes_out) + " keepalive probes unanswered" + soft_error_note());
    } else {
      fail(now, timeout_errno(), CloseReason::kKeepalive,
           "keepalive: " + std::to_string(ka_.probes_out) + " probes unanswered over " +
               secs(now - ka_.first_probe) + soft_error_note());
    }
    return;
  }
  // Probes only while nothing is outstanding and nothing waits to be sent:
  // a FIN waits only until it is sent (then flight_size() counts it until
  // acknowledged), so FIN-WAIT-2 probes as RFC 1122 §4.2.3.6 asks.
  // (bug.keepalive_while_persisting: data held back by a zero window does
  // not count as busy.)
  const bool held_by_zero_window = cfg_->bug_keepalive_while_persisting && snd_wnd_ == 0;
  if (flight_size() > 0 || (seq_diff(send_buffer_end(), snd_nxt_) > 0 && !held_by_zero_window) ||
      (fin_queued_ && !fin_sent_)) {
    arm_keepalive(now, KeepaliveArm::kBusy);
    return;
  }
  if (ka_.probes_out == 0) ka_.first_probe = now;
  ++ka_.probes_out;
  ka_.probe_pending = true;
  arm_keepalive(now, KeepaliveArm::kAfterProbe);
}

size_t Connection::transmit_keepalive(Instant now, std::span<uint8_t> buf) {
  ka_.probe_pending = false;
  // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT - 1, with no data or one garbage
  // octet, so the peer must answer with an ACK (or a RST if it lost us).
  static constexpr uint8_t kGarbage[1] = {0};
  std::span<const uint8_t> payload;
  if (cfg_->keepalive_probe_bytes > 0) payload = kGarbage;
  Event e;
  e.time = now;
  e.type = EventType::kKeepaliveProbe;
  e.seq = snd_nxt_ - 1;
  e.len = static_cast<uint32_t>(payload.size());
  e.count = ka_.probes_out;
  e.limit = user_timeout_ > Duration::zero() ? 0 : cfg_->keepalive_count;
  e.since = now - live_.last_heard;
  emit(e);
  return build(buf, flags::kAck, snd_nxt_ - 1, payload, {}, now, false);
}

// ---------------------------------------------------------------------------
// vigil's liveness deadline.

void Connection::arm_liveness_deadline() {
  const bool synchronized = state_ != State::kClosed && state_ != State::kListen &&
                            state_ != State::kSynSent && state_ != State::kSynReceived &&
                            state_ != State::kTimeWait;
  if (cfg_->keepalive && cfg_->liveness_deadline && synchronized) {
    arm_exact(TimerKind::kLiveness, live_.last_heard + cfg_->keepalive_idle +
                                        cfg_->keepalive_interval * cfg_->keepalive_count);
  } else {
    disarm(TimerKind::kLiveness);
  }
}

void Connection::on_liveness_deadline(Instant now) {
  if (!cfg_->keepalive || !cfg_->liveness_deadline) return;
  // Whichever mechanism is probing now is the one that failed to hear back.
  CloseReason reason = CloseReason::kKeepalive;
  std::string what = "keepalive probing";
  bool asking = ka_.probes_out > 0;
  if (armed(TimerKind::kPersist) || persist_.unanswered > 0) {
    reason = CloseReason::kPersist;
    what = "zero-window probing";
    asking = persist_.unanswered > 0;
  } else if (flight_size() > 0) {
    reason = CloseReason::kRetransmission;
    what = "retransmitting (" + std::to_string(rtx_.count) + " timeouts)";
    asking = true;
  }
  if (!asking) {
    // The peer is quiet but nothing of ours awaits an answer: every probe
    // so far was answered, the next is simply further off than the
    // deadline (persist backs off to rto.max whatever the answers). RFC
    // 1122 §4.2.2.17: a sender must stay open while its probes are
    // answered. Look again one keepalive interval after the next probe
    // goes out; an answer before then re-arms the deadline as usual.
    Instant next = Instant::never();
    for (auto k : {TimerKind::kPersist, TimerKind::kKeepalive, TimerKind::kRetransmit,
                   TimerKind::kLossProbe, TimerKind::kReorder}) {
      next = std::min(next, timer_deadline(k));
    }
    if (!next.is_never()) arm_exact(TimerKind::kLiveness, next + cfg_->keepalive_interval);
    return;
  }
  queue_abort_rst();
  fail(now, timeout_errno(), reason,
       "liveness deadline: nothing heard for " + secs(now - live_.last_heard) + " (keepalive " +
           secs(cfg_->keepalive_idle) + " + " + std::to_string(cfg_->keepalive_count) + " x " +
           secs(cfg_->keepalive_interval) + ") while " + what + soft_error_note());
}

// ---------------------------------------------------------------------------
// Stall guard (the iPXE patch): never kills.

void Connection::arm_stall_guard(Instant from) {
  arm_exact(TimerKind::kStallGuard, from + cfg_->stall_guard_period);
}

void Connection::on_stall_guard(Instant now) {
  if (state_ != State::kEstablished || cfg_->stall_guard_period <= Duration::zero()) return;
  live_.stall_ack_pending = true;
  Event e;
  e.time = now;
  e.type = EventType::kStallGuardAck;
  emit(e);
  arm_stall_guard(now);
}

// ---------------------------------------------------------------------------
// User timeout (RFC 5482, Linux TCP_USER_TIMEOUT).

void Connection::start_user_timeout(Instant now, UserTimeoutCause cause) {
  if (user_timeout_ <= Duration::zero() || ut_clock_) return;
  ut_clock_ = UserTimeoutClock{now, cause};
  // Linux has no timer of its own for this: it clamps the RTO or probe
  // timer to what is left (tcp_clamp_rto_to_user_timeout), a short timer
  // at most a jiffy or two late, so the deadline stays exact here.
  arm_exact(TimerKind::kUserTimeout, now + user_timeout_);
}

void Connection::stop_user_timeout() {
  ut_clock_.reset();
  disarm(TimerKind::kUserTimeout);
}

void Connection::on_user_timeout(Instant now) {
  if (!ut_clock_) return;
  fail(now, timeout_errno(), CloseReason::kUserTimeout,
       "user timeout " + secs(user_timeout_) + " elapsed with " +
           std::string(cause_words(ut_clock_->cause)) + soft_error_note());
}

// ---------------------------------------------------------------------------
// TIME-WAIT (RFC 9293 §3.4.2): 2*MSL, then CLOSED.

void Connection::arm_time_wait(Instant now) { arm(TimerKind::kTimeWait, now, now + cfg_->msl * 2); }

void Connection::enter_time_wait(Instant now) {
  set_state(now, State::kTimeWait);
  for (auto k :
       {TimerKind::kRetransmit, TimerKind::kLossProbe, TimerKind::kReorder, TimerKind::kPersist,
        TimerKind::kDelayedAck, TimerKind::kUserTimeout, TimerKind::kKeepalive,
        TimerKind::kLiveness, TimerKind::kStallGuard, TimerKind::kFinWait2}) {
    disarm(k);
  }
  arm_time_wait(now);
}

void Connection::on_time_wait_timeout(Instant now) { set_state(now, State::kClosed); }

// ---------------------------------------------------------------------------
// FIN-WAIT-2 (Linux tcp_fin_timeout): RFC 9293 lets FIN-WAIT-2 last for
// ever; Linux ends an orphan's after tcp_fin_timeout (60 s), silently.

void Connection::arm_fin_wait2(Instant now) {
  // Linux arms it only for an orphan (tcp_close, or the ACK of an orphan's
  // FIN in tcp_rcv_state_process); a half-closed socket waits for ever.
  if (state_ == State::kFinWait2 && orphaned_ && cfg_->fin_wait2_timeout > Duration::zero()) {
    arm(TimerKind::kFinWait2, now, now + cfg_->fin_wait2_timeout);
  } else {
    disarm(TimerKind::kFinWait2);
  }
}

void Connection::orphan(Instant now) {
  if (orphaned_) return;
  close(now);
  orphaned_ = true;
  if (state_ == State::kFinWait2) arm_fin_wait2(now);  // tcp_close in FIN-WAIT-2
}

void Connection::on_fin_wait2_timeout(Instant now) {
  if (state_ != State::kFinWait2) return;
  // No RST (Linux frees the FIN-WAIT-2 time-wait socket when
  // tcp_fin_timeout runs out). Linux's application has closed and sees no
  // error; a vigil application may still be reading, so it gets ETIMEDOUT
  // rather than an EOF the peer never sent.
  fail(now, ETIMEDOUT, CloseReason::kFinWait2Timeout,
       "FIN-WAIT-2 timeout: no FIN from the peer for " + secs(cfg_->fin_wait2_timeout) +
           " after ours was acknowledged");
}

}  // namespace vigil::tcp
