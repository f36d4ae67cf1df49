// Telling a dead peer from a quiet one: keepalive (RFC 1122 §4.2.3.6), the
// user timeout (RFC 5482), retry limits (RFC 1122 §4.2.3.5), vigil's
// liveness deadline and the stall guard. See docs/liveness.md for the rules
// in words; each function below cites the rule it implements.
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
}  // namespace

void Connection::heard_from_peer(Instant now) {
  // The keepalive idle clock restarts on every segment that passed the
  // sequence check and carried an acceptable ACK (so new data too). A
  // keepalive probe from the peer is out of window and does not count,
  // as on Linux (tcp_ack updates rcv_tstamp only for acceptable ACKs).
  last_heard_ = now;
  if (keepalive_probes_out_ > 0) {
    Event e;
    e.time = now;
    e.type = EventType::kKeepaliveAck;
    e.count = keepalive_probes_out_;
    emit(e);
    keepalive_probes_out_ = 0;
    if (ut_what_ == std::string_view("keepalive")) stop_user_timeout();
  }
  arm_liveness_timers(now);
}

void Connection::arm_liveness_timers(Instant now) {
  (void)now;
  if (cfg_.keepalive && keepalive_state()) {
    // Probe k goes out at last_heard + idle + (k-1) * interval; the abort
    // comes one interval after the last probe.
    const Instant next =
        keepalive_probes_out_ == 0
            ? last_heard_ + cfg_.keepalive_idle
            : first_keepalive_probe_ + cfg_.keepalive_interval * keepalive_probes_out_;
    arm(TimerKind::kKeepalive, next);
  } else {
    disarm(TimerKind::kKeepalive);
  }
  const bool synchronized = state_ != State::kClosed && state_ != State::kListen &&
                            state_ != State::kSynSent && state_ != State::kSynReceived &&
                            state_ != State::kTimeWait;
  if (cfg_.keepalive && cfg_.liveness_deadline && synchronized) {
    arm(TimerKind::kLiveness,
        last_heard_ + cfg_.keepalive_idle + cfg_.keepalive_interval * cfg_.keepalive_count);
  } else {
    disarm(TimerKind::kLiveness);
  }
  if (cfg_.stall_guard_period > Duration::zero() && state_ == State::kEstablished) {
    if (!armed(TimerKind::kStallGuard))
      arm(TimerKind::kStallGuard, last_any_rx_ + cfg_.stall_guard_period);
  } else {
    disarm(TimerKind::kStallGuard);
  }
}

std::string Connection::soft_error_note() const {
  if (!soft_error_) return "";
  return " (last ICMP: " + errno_name(soft_error_) + ")";
}

void Connection::on_keepalive_timeout(Instant now) {
  if (!cfg_.keepalive || !keepalive_state()) return;
  // Linux tcp_keepalive_timer: with a user timeout, the count is ignored and
  // the connection dies once nothing was heard for that long with at least
  // one probe out; without one, after `count` unanswered probes.
  const Duration silent = now - last_heard_;
  const bool ut_expired =
      user_timeout_ > Duration::zero() && silent >= user_timeout_ && keepalive_probes_out_ > 0;
  const bool count_reached =
      user_timeout_ == Duration::zero() && keepalive_probes_out_ >= cfg_.keepalive_count;
  if (ut_expired || count_reached) {
    rst_pending_ = true;  // RFC 1122 leaves it open; Linux resets, so do we
    rst_seq_ = snd_max_;
    rst_with_ack_ = false;
    if (ut_expired) {
      fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, CloseReason::kUserTimeout,
           "user timeout " + secs(user_timeout_) + " elapsed with " +
               std::to_string(keepalive_probes_out_) + " keepalive probes unanswered" +
               soft_error_note());
    } else {
      fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, CloseReason::kKeepalive,
           "keepalive: " + std::to_string(keepalive_probes_out_) + " probes unanswered over " +
               secs(now - first_keepalive_probe_) + soft_error_note());
    }
    return;
  }
  // Probes only while nothing is outstanding and nothing waits to be sent;
  // otherwise retransmission or persist is already asking (Linux
  // reschedules a full idle period later).
  if (flight_size() > 0 || seq_diff(send_buffer_end(), snd_nxt_) > 0 || fin_queued_) {
    if (keepalive_probes_out_ == 0) {
      arm(TimerKind::kKeepalive, now + cfg_.keepalive_idle);
    } else {
      arm(TimerKind::kKeepalive, now + cfg_.keepalive_interval);
    }
    return;
  }
  if (keepalive_probes_out_ == 0) first_keepalive_probe_ = now;
  ++keepalive_probes_out_;
  keepalive_probe_pending_ = true;
  arm(TimerKind::kKeepalive, now + cfg_.keepalive_interval);
}

size_t Connection::transmit_keepalive(Instant now, std::span<uint8_t> buf) {
  keepalive_probe_pending_ = false;
  // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT - 1, with no data or one garbage
  // octet, so the peer must answer with an ACK (or a RST if it lost us).
  static constexpr uint8_t kGarbage[1] = {0};
  std::span<const uint8_t> payload;
  if (cfg_.keepalive_probe_bytes > 0) payload = kGarbage;
  Event e;
  e.time = now;
  e.type = EventType::kKeepaliveProbe;
  e.seq = snd_nxt_ - 1;
  e.len = static_cast<uint32_t>(payload.size());
  e.count = keepalive_probes_out_;
  e.limit = user_timeout_ > Duration::zero() ? 0 : cfg_.keepalive_count;
  e.since = now - last_heard_;
  emit(e);
  return build(buf, flags::kAck, snd_nxt_ - 1, payload, {}, now, false);
}

void Connection::on_liveness_deadline(Instant now) {
  if (!cfg_.keepalive || !cfg_.liveness_deadline) return;
  // Whichever mechanism is probing now is the one that failed to hear back.
  CloseReason reason = CloseReason::kKeepalive;
  std::string what = "keepalive probing";
  if (armed(TimerKind::kPersist) || persist_unanswered_ > 0) {
    reason = CloseReason::kPersist;
    what = "zero-window probing";
  } else if (flight_size() > 0) {
    reason = CloseReason::kRetransmission;
    what = "retransmitting (" + std::to_string(retransmit_count_) + " timeouts)";
  }
  rst_pending_ = true;
  rst_seq_ = snd_max_;
  rst_with_ack_ = false;
  fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, reason,
       "liveness deadline: nothing heard for " + secs(now - last_heard_) + " (keepalive " +
           secs(cfg_.keepalive_idle) + " + " + std::to_string(cfg_.keepalive_count) + " x " +
           secs(cfg_.keepalive_interval) + ") while " + what + soft_error_note());
}

void Connection::on_stall_guard(Instant now) {
  if (state_ != State::kEstablished || cfg_.stall_guard_period <= Duration::zero()) return;
  stall_ack_pending_ = true;
  Event e;
  e.time = now;
  e.type = EventType::kStallGuardAck;
  emit(e);
  arm(TimerKind::kStallGuard, now + cfg_.stall_guard_period);
}

void Connection::start_user_timeout(Instant now, const char* what) {
  if (user_timeout_ <= Duration::zero() || !ut_start_.is_never()) return;
  ut_start_ = now;
  ut_what_ = what;
  arm(TimerKind::kUserTimeout, now + user_timeout_);
}

void Connection::stop_user_timeout() {
  ut_start_ = Instant::never();
  ut_what_ = "";
  disarm(TimerKind::kUserTimeout);
}

void Connection::on_user_timeout(Instant now) {
  if (ut_start_.is_never()) return;
  fail(now, soft_error_ ? soft_error_ : ETIMEDOUT, CloseReason::kUserTimeout,
       "user timeout " + secs(user_timeout_) + " elapsed with " + ut_what_ + soft_error_note());
}

bool Connection::retry_limit_reached(Instant now, bool handshake) const {
  // `retransmit_count_` counts this expiry too; `head_tx_time_` is when the
  // oldest unacknowledged segment was first sent.
  const Duration elapsed = now - head_tx_time_;
  if (handshake) {
    if (cfg_.retries_syn_time > Duration::zero()) return elapsed >= cfg_.retries_syn_time;
    const uint32_t linear = state_ == State::kSynSent ? cfg_.syn_linear_timeouts : 0;
    return retransmit_count_ > cfg_.retries_syn + linear;
  }
  if (cfg_.retries_data_time > Duration::zero()) return elapsed >= cfg_.retries_data_time;
  if (cfg_.linux_retry_model) {
    return elapsed >= linux_model_timeout(cfg_.retries_data, cfg_.rto_min, cfg_.rto_max);
  }
  return retransmit_count_ > cfg_.retries_data;
}

}  // namespace vigil::tcp
