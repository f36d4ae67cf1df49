// Connection lifecycle: opening and application calls. ICMP is in
// connection_icmp.cpp, segment input in connection_input.cpp, output in
// connection_output.cpp, timers and the verdicts that end a connection in
// connection_liveness.cpp.
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
    case TimerKind::kFinWait2:
      return "fin_wait2";
    case TimerKind::kLossProbe:
      return "loss_probe";
    case TimerKind::kReorder:
      return "reorder";
    case TimerKind::kCount:
      break;
  }
  return "?";
}

uint8_t window_shift_for(uint32_t buffer) {
  uint8_t shift = 0;
  while (shift < 14 && (buffer >> shift) > 65535) ++shift;
  return shift;
}

Connection::Connection(const TcpConfig& config, const FourTuple& tuple, uint32_t iss,
                       uint32_t ts_offset, uint64_t id, EventSink* sink)
    : Connection(std::make_shared<const TcpConfig>(config), tuple, iss, ts_offset, id, sink) {}

Connection::Connection(std::shared_ptr<const TcpConfig> config, const FourTuple& tuple,
                       uint32_t iss, uint32_t ts_offset, uint64_t id, EventSink* sink)
    : cfg_(std::move(config)),
      tuple_(tuple),
      id_(id),
      sink_(sink),
      iss_(iss),
      snd_una_(iss),
      snd_nxt_(iss),
      snd_max_(iss),
      snd_buf_seq_(iss + 1),
      snd_buf_(cfg_->send_buffer),
      sent_segs_(cfg_->send_buffer, kMinPathMtu),
      rcv_buf_(cfg_->recv_buffer),
      ts_offset_(ts_offset),
      rtt_(cfg_->rto_initial, cfg_->rto_min, cfg_->rto_max, cfg_->clock_granularity,
           cfg_->linux_rto_formula, cfg_->timer_hz),
      // The RFC 2525 §2.6 and §2.8 emulations are of Reno senders (Reno's
      // avoidance; Reno's inflated window), so they keep NewReno.
      cc_(cfg_->congestion == TcpConfig::Congestion::kCubic && !cfg_->bug_extra_additive_constant &&
                  !cfg_->bug_no_window_deflation
              ? make_cubic(536, cfg_->initial_window_segments)
              : make_newreno(536, cfg_->initial_window_segments,
                             cfg_->bug_extra_additive_constant)),
      // RFC 6582 §3.2: "recover" starts at the ISS.
      recovery_(make_newreno_recovery(iss, cfg_->bug_no_window_deflation)) {
  timers_.fill(Instant::never());
  cc_->set_abc_limit(cfg_->abc_limit_segments);
  user_timeout_ = cfg_->user_timeout;
  rcv_wscale_ = cfg_->window_scaling
                    ? window_shift_for(cfg_->window_scale_buffer != 0 ? cfg_->window_scale_buffer
                                                                      : cfg_->recv_buffer)
                    : 0;
}

void Connection::select_loss_recovery() {
  // Chosen once the SYNs have said whether SACK is in use, before any data
  // moved, so nothing of the first object's state is lost.
  const bool rack = cfg_->loss_detection == TcpConfig::LossDetection::kRack;
  const std::string_view want = sack_recovery() ? (rack ? "rack" : "sack") : "newreno";
  if (recovery_->name() == want) return;
  // RACK's records: one per segment the send buffer can hold, as large as
  // autotuning may grow it, plus the FIN (they grow with the flight).
  const size_t rack_segments =
      cfg_->loss_detection == TcpConfig::LossDetection::kRack
          ? std::max(cfg_->send_buffer, cfg_->send_buffer_max) / std::max<uint32_t>(snd_mss_, 1) + 2
          : 0;
  recovery_ = sack_recovery() ? make_sack_recovery(iss_, cfg_->prr, rack_segments,
                                                   cfg_->prr_linux_bound, cfg_->rack_linux_rtt)
                              : make_newreno_recovery(iss_, cfg_->bug_no_window_deflation);
}

const SackScoreboard& Connection::sack_scoreboard() const {
  static const SackScoreboard kNone;
  const SackScoreboard* sb = recovery_->scoreboard();
  return sb ? *sb : kNone;
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
    live_.last_heard = now;
    live_.last_any_rx = now;
    // RFC 6298 §5.7: data starts at 3 s if the SYN timed out and no RTT
    // sample was taken during the handshake.
    if (rtx_.syn_timed_out) rtt_.reset_to(cfg_->rto_syn_fallback);
    expand_send_buffer();  // Linux tcp_init_buffer_space
    // tcp_init_buffer_space: the first measure expects an initial window.
    rcv_space_from_ = static_cast<uint32_t>(rcv_buf_.read_pos());
    rcv_space_bytes_ =
        static_cast<uint32_t>(std::min<uint64_t>(rcv_buf_.capacity(), 10ull * rcv_mss_));
    rcv_space_since_ms_ = ts_now(now);
    if (fin_queued_) set_state(now, State::kFinWait1);  // close() during SYN-RECEIVED
  }
  // Issue 12 "Memory": a closed connection keeps no buffer it cannot use.
  if (s == State::kClosed || s == State::kTimeWait) release_buffers();
  if (s == State::kClosed) {
    timers_.fill(Instant::never());
    xmit_timer_.when = Instant::never();
  } else {
    arm_liveness_timers(now);
    arm_fin_wait2(now);
  }
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

// Linux tcp_sndbuf_expand: room for two congestion windows (Fast Recovery
// sends up to cwnd beyond what is in flight), at least TCP_INIT_CWND
// segments, each counted as the memory Linux charges one full-sized
// segment. Linux 6.18 here gives SO_SNDBUF 69120 once connected with MSS
// 1448 and with 948 alike (2 x 10 x 3456), 138240 with initcwnd 20
// (measured in namespaces with python's getsockopt); the older formula
// (roundup_pow_of_two(MSS + 640) + 256) would give 87040. vigil's buffer
// counts payload where Linux counts memory, as send_buffer itself does.
// Up to send_buffer_max (tcp_wmem[2]); never shrinks.
void Connection::expand_send_buffer() {
  const uint64_t cap = cfg_->send_buffer_max;
  if (cap <= snd_buf_.capacity()) return;
  constexpr uint64_t kInitCwnd = 10;  // TCP_INIT_CWND
  constexpr uint64_t kPerMss = 3456;  // measured, above (jumbo MSS not modelled)
  const uint64_t segs = std::max<uint64_t>(kInitCwnd, cwnd() / std::max<uint32_t>(snd_mss_, 1));
  const uint64_t want = std::min(cap, 2 * segs * kPerMss);
  if (want <= snd_buf_.capacity()) return;
  snd_buf_.set_capacity(want);
  sent_segs_.set_send_buffer(want);
}

// Linux tcp_rcv_space_adjust: at most once per round trip (vigil's SRTT;
// Linux estimates it at the receiver, tcp_rcv_rtt_measure_ts), compare what
// the application read in it with the last measure; if more, the sender may
// be window-limited: offer twice that plus 16 segments, and twice the
// growth again if it is speeding up, up to recv_buffer_max. Linux converts
// the window to memory (tcp_space_from_win) and back; vigil's buffer counts
// payload.
void Connection::adjust_recv_space(Instant now) {
  const uint64_t cap = cfg_->recv_buffer_max;
  if (cap <= rcv_buf_.capacity() || !established_once_) return;
  const int64_t rtt_ms = rtt_.srtt().ns() / 1'000'000;
  if (rtt_ms <= 0 || ts_now(now) - rcv_space_since_ms_ < static_cast<uint32_t>(rtt_ms)) return;
  // 32-bit offsets: a round trip reads far less than 4 GiB.
  const uint64_t copied = static_cast<uint32_t>(rcv_buf_.read_pos()) - rcv_space_from_;
  const uint64_t last = rcv_space_bytes_;
  if (copied > last && last > 0) {
    uint64_t win = 2 * copied + 16ull * rcv_mss_;
    win += 2 * (win * (copied - last) / last);
    rcv_buf_.raise_capacity(static_cast<size_t>(std::min(cap, win)));
    rcv_space_bytes_ = static_cast<uint32_t>(copied);
  }
  rcv_space_from_ = static_cast<uint32_t>(rcv_buf_.read_pos());
  rcv_space_since_ms_ = ts_now(now);
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

size_t Connection::send(Instant now, std::span<const uint8_t> data, bool more) {
  if (send_space() < data.size()) send_blocked_ = true;
  if (send_space() == 0) return 0;
  if (more && !more_tail_) push_seq_ = send_buffer_end();
  more_tail_ = more;
  more_hold_ = more;
  push_run_ = 0;  // what this write releases is a new output pass (PushRule::kLinux)
  if (flight_size() == 0 && now != burst_segment_at_) {
    burst_ = 0;  // data from idle answers the application, not an ACK
    burst_from_segment_ = false;
  }
  return snd_buf_.write(data);
}

size_t Connection::recv(Instant now, std::span<uint8_t> out) {
  const uint32_t adv_before = seq_diff(rcv_adv_, rcv_nxt_) > 0 ? rcv_adv_ - rcv_nxt_ : 0;
  const size_t n = rcv_buf_.read(out);
  if (n == 0) return 0;
  adjust_recv_space(now);
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
      // RFC 9293 §3.10.5; the states are Linux's tcp_need_reset().
      queue_active_reset();
      break;
    default:
      break;  // RFC 9293 §3.10.5: SYN-SENT, CLOSING, LAST-ACK, TIME-WAIT go quietly
  }
  set_state(now, State::kClosed);
}

void Connection::close_and_stop_reading(Instant now) {
  const size_t unread = rcv_buf_.readable();
  if (unread == 0 || state_ == State::kClosed || state_ == State::kListen ||
      state_ == State::kSynSent) {
    reads_stopped_ = true;
    close(now);
    return;
  }
  // RFC 1122 §4.2.2.13 / RFC 2525 §2.17: received data the application will
  // never read is lost; say so with a RST at once rather than a FIN (Linux
  // tcp_close: "data was lost", TCPAbortOnClose). The closer gets no errno:
  // its descriptor is gone; only the peer learns of it, as ECONNRESET.
  error_.detail = "closed with " + std::to_string(unread) +
                  " bytes unread: RST instead of FIN (RFC 2525 §2.17)";
  error_.time = now;
  queue_active_reset();
  set_state(now, State::kClosed);
}

bool Connection::reset_data_after_close(Instant now, const wire::TcpView& seg) {
  const uint32_t end = seg.seq() + static_cast<uint32_t>(seg.payload().size());
  // No data, or only old bytes: the usual processing (a duplicate is ACKed).
  if (seg.payload().empty() || !seq_gt(end, rcv_nxt_)) return false;
  // RFC 1122 §4.2.2.13 / RFC 2525 §2.17: data the application can never
  // read; Linux (tcp_rcv_state_process, TCPAbortOnData) resets as for a
  // segment without a connection, <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1).
  error_.detail = "data arrived after close: RST (RFC 2525 §2.17)";
  error_.time = now;
  rst_pending_ = true;
  rst_seq_ = seg.ack();
  rst_ack_ = 0;
  rst_with_ack_ = false;
  set_state(now, State::kClosed);
  return true;
}

void Connection::queue_active_reset() {
  // Linux tcp_send_active_reset: RST|ACK, SEG.ACK = RCV.NXT (RFC 9293 §3.1:
  // ACK is set on every segment once synchronized). SEG.SEQ = SND.NXT, the
  // highest sent (snd_max_; a timeout rewinds snd_nxt_), unless that lies past
  // the peer's window, e.g. a zero-window probe byte it refused: then the
  // window's right edge, which a closed window's RFC 5961 §3.2 exact-match
  // check accepts (Linux tcp_acceptable_seq).
  const uint32_t wnd_end = snd_una_ + snd_wnd_;
  rst_pending_ = true;
  rst_seq_ = seq_diff(snd_max_, wnd_end) > 0 ? wnd_end : snd_max_;
  rst_ack_ = rcv_nxt_;
  rst_with_ack_ = true;
}

uint32_t Connection::rcv_wnd() const {
  return static_cast<uint32_t>(std::min<size_t>(rcv_buf_.free_space(), 0x3fffffff));
}

Instant Connection::next_deadline() const {
  Instant t = Instant::never();
  for (const auto& d : timers_) t = std::min(t, d);
  return std::min(t, xmit_timer_.when);
}

void Connection::schedule_ack(Instant now, bool immediately) {
  if (immediately) {
    ack_pending_ = true;
    return;
  }
  if (!armed(TimerKind::kDelayedAck)) arm(TimerKind::kDelayedAck, now, now + cfg_->delayed_ack);
}

}  // namespace vigil::tcp
