// What the connection sends: SYN, SYN-ACK, data with Nagle and sender SWS
// avoidance, retransmissions, window probes, FIN, ACKs and RSTs.
#include <algorithm>
#include <utility>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

namespace flags = wire::tcp_flags;

namespace {
wire::TcpChecksum checksum_mode(bool partial) {
  return partial ? wire::TcpChecksum::kPartial : wire::TcpChecksum::kFull;
}
}  // namespace

uint16_t Connection::window_field() {
  // Receiver SWS avoidance (RFC 1122 §4.2.3.3): move the right edge only
  // when the window can grow by min(half the buffer, one MSS).
  const uint32_t free = rcv_wnd();
  const int32_t cur = seq_diff(rcv_adv_, rcv_nxt_);
  const uint32_t cur_wnd = cur > 0 ? static_cast<uint32_t>(cur) : 0;
  const uint32_t step =
      std::min<uint32_t>(static_cast<uint32_t>(rcv_buf_.capacity() / 2), rcv_mss_);
  if (free > cur_wnd && (free - cur_wnd >= step || cur < 0)) rcv_adv_ = rcv_nxt_ + free;
  const int32_t w = seq_diff(rcv_adv_, rcv_nxt_);
  const uint32_t wnd = w > 0 ? static_cast<uint32_t>(w) : 0;
  // RFC 7323 §2.3: round up to the scale unit when the buffer has the room,
  // so scaling never shrinks the edge we promised.
  uint32_t field = wnd >> rcv_wscale_;
  if ((field << rcv_wscale_) < wnd && ((field + 1) << rcv_wscale_) <= free) ++field;
  return static_cast<uint16_t>(std::min<uint32_t>(field, 65535));
}

std::pair<wire::Ipv4Fields, wire::TcpFields> header_fields(const FourTuple& tuple) {
  wire::Ipv4Fields ip;
  ip.src = tuple.local.addr;
  ip.dst = tuple.remote.addr;
  wire::TcpFields t;
  t.src_port = tuple.local.port;
  t.dst_port = tuple.remote.port;
  return {ip, t};
}

void Connection::after_ack_sent() {
  // Linux tcp_dec_quickack_mode: an ACK that was owed uses one quick ACK.
  if (quick_acks_ > 0 && (ack_pending_ || armed(TimerKind::kDelayedAck))) --quick_acks_;
  ack_pending_ = false;
  disarm(TimerKind::kDelayedAck);
  unacked_bytes_ = 0;
  last_ack_sent_ = rcv_nxt_;
}

size_t Connection::build(std::span<uint8_t> buf, uint8_t fl, uint32_t seq,
                         std::span<const uint8_t> a, std::span<const uint8_t> b, Instant now,
                         bool syn_options) {
  wire::TcpOptions opt;
  uint16_t window = 0;
  if (syn_options) {
    // Our SYN offers everything configured; a SYN-ACK answers only what the
    // peer's SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2).
    const bool answer = state_ == State::kSynReceived;
    opt.has_mss = true;
    opt.mss = cfg_->mss;
    opt.has_window_scale = answer ? wscale_ok_ : cfg_->window_scaling;
    opt.window_scale = rcv_wscale_;
    opt.sack_permitted = answer ? sack_enabled_ : cfg_->sack;
    opt.has_timestamps = answer ? ts_enabled_ : cfg_->timestamps;
    if (cfg_->user_timeout_option && cfg_->user_timeout > Duration::zero()) {
      // RFC 5482 §4.1: granularity bit set = minutes; seconds while they fit.
      const int64_t secs = cfg_->user_timeout.ns() / 1'000'000'000;
      opt.has_user_timeout = true;
      opt.user_timeout = secs <= 0x7fff
                             ? static_cast<uint16_t>(secs)
                             : static_cast<uint16_t>(0x8000 | std::min<int64_t>(secs / 60, 0x7fff));
    }
    opt.ts_val = ts_now(now);
    opt.ts_ecr = answer ? ts_recent_ : 0;
    // RFC 7323 §2.2: the window in a SYN is never scaled.
    const uint32_t w = std::min<uint32_t>(rcv_wnd(), 65535);
    rcv_adv_ = rcv_nxt_ + w;
    window = static_cast<uint16_t>(w);
  } else {
    if (ts_enabled_) {
      opt.has_timestamps = true;
      opt.ts_val = ts_now(now);
      opt.ts_ecr = ts_recent_;
    }
    // RFC 2883 §4: a D-SACK goes first, once, in the next ACK.
    const size_t first = dsack_out_ && (fl & flags::kAck) ? 1 : 0;
    if (first) {
      opt.sack[0] = *dsack_out_;
      opt.sack_count = 1;
      dsack_out_.reset();
    }
    if (sack_enabled_ && !rcv_buf_.out_of_order().empty()) {
      // RFC 2018 §4: the most recently changed block first.
      RecvBuffer::Range ranges[4];
      const size_t n = rcv_buf_.recent_ranges(ranges, 4 - first);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t left =
            rcv_nxt_ + static_cast<uint32_t>(ranges[i].begin - rcv_buf_.next_pos());
        const uint32_t right =
            rcv_nxt_ + static_cast<uint32_t>(ranges[i].end - rcv_buf_.next_pos());
        opt.sack[first + i] = wire::SackBlock{left, right};
      }
      opt.sack_count = static_cast<uint8_t>(first + n);
    }
    window = window_field();
  }
  auto [ip, t] = header_fields();
  t.seq = seq;
  t.flags = fl;
  t.ack = (fl & flags::kAck) ? rcv_nxt_ : 0;
  t.window = window;
  const size_t n = wire::build_ipv4_tcp(buf, ip, t, opt, a, b, checksum_mode(partial_csum_));
  if (n == 0) return 0;
  ++stats_.segments_sent;
  // Opt-in TSO datagrams reach the wire cut at snd_mss_ (poll_transmit).
  if (const size_t len = a.size() + b.size(); len > 0 && !syn_options)
    sent_segs_.record(seq, static_cast<uint32_t>(len), snd_mss_, static_cast<uint32_t>(n - len),
                      snd_una_);
  if (!a.empty() || !b.empty() || (fl & flags::kFin)) {
    last_data_tx_ = now;
    if (first_data_tx_.is_never()) first_data_tx_ = now;
    if (burst_from_segment_) {
      stats_.max_burst_segments = std::max(stats_.max_burst_segments, ++burst_);
    }
  }
  if (fl & flags::kAck) after_ack_sent();
  return n;
}

size_t Connection::build_rst(std::span<uint8_t> buf, uint32_t seq, uint32_t ack, bool with_ack,
                             Instant now) {
  auto [ip, t] = header_fields();
  t.seq = seq;
  t.ack = with_ack ? ack : 0;
  t.flags = static_cast<uint8_t>(flags::kRst | (with_ack ? flags::kAck : 0));
  // RFC 7323 §3.2: once negotiated, TSopt SHOULD be sent in an RST too.
  // Our own resets of a synchronized connection (RST|ACK: abort, close
  // with unread data, a liveness verdict) carry it, as Linux's
  // tcp_send_active_reset does (packetdrill ts_recent/reset_tsval); an RST
  // answering an unacceptable segment is tcp_v4_send_reset's, without.
  wire::TcpOptions opt;
  if (with_ack && ts_enabled_) {
    opt.has_timestamps = true;
    opt.ts_val = ts_now(now);
    opt.ts_ecr = ts_recent_;
  }
  const size_t n = wire::build_ipv4_tcp(buf, ip, t, opt, {}, {}, checksum_mode(partial_csum_));
  if (n) ++stats_.segments_sent;
  return n;
}

size_t Connection::poll_transmit(Instant now, std::span<uint8_t> buf) {
  expire_path_mtu(now);  // RFC 1191 §6.3, connection_icmp.cpp
  report_windows(now);
  if (rst_pending_) {
    rst_pending_ = false;
    Event e;
    e.time = now;
    e.type = EventType::kRstSent;
    e.seq = rst_seq_;
    emit(e);
    return build_rst(buf, rst_seq_, rst_ack_, rst_with_ack_, now);
  }
  switch (state_) {
    case State::kClosed:
    case State::kListen:
      return 0;
    case State::kSynSent:
    case State::kSynReceived: {
      if (!syn_pending_) {
        // RFC 9293 §3.10.7.4: an unacceptable segment in SYN-RECEIVED gets
        // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, not our SYN,ACK again: a
        // resent SYN,ACK would spoil the handshake's RTT sample (Karn), and
        // two ends answering SYN,ACK with SYN,ACK never stop.
        if (state_ == State::kSynReceived && ack_pending_ && snd_max_ != iss_) {
          return build(buf, flags::kAck, snd_nxt_, {}, {}, now, false);
        }
        return 0;
      }
      syn_pending_ = false;
      const bool retransmission = snd_max_ != iss_;
      if (retransmission && rtx_.count > 0) {
        ++stats_.retransmitted_segments;
        Event e;
        e.time = now;
        e.type = EventType::kSynRetransmit;
        e.seq = iss_;
        e.count = rtx_.count;
        e.rto = rtt_.rto();
        emit(e);
      }
      if (!retransmission) {
        rtx_.head_tx = now;
        rtt_timing_ = true;  // time the handshake (Karn: only if not resent)
        rtt_seq_ = iss_;
        rtt_start_ = now;
      } else {
        rtt_timing_ = false;
      }
      snd_nxt_ = iss_ + 1;
      snd_max_ = iss_ + 1;
      if (!armed(TimerKind::kRetransmit)) restart_retransmit_timer(now);
      const uint8_t fl = state_ == State::kSynSent ? flags::kSyn : flags::kSyn | flags::kAck;
      return build(buf, fl, iss_, {}, {}, now, true);
    }
    default:
      break;
  }
  if (const size_t n = transmit_data(now, buf)) return n;
  // A pending ACK goes before a keepalive probe: the probe is out of the
  // peer's window, so it acknowledges nothing the peer will accept.
  if (ack_pending_ || live_.stall_ack_pending) {
    live_.stall_ack_pending = false;
    // A pure ACK carries the next unsent sequence number, SND.MAX, not an
    // SND.NXT that a timeout rewound (BSD tcp_output; Linux never rewinds
    // snd_nxt): below what the peer has acknowledged it would fall outside
    // the peer's window and draw an ACK of its own, an ACK war (RFC 2525
    // §2.12's faulty receiver discarding everything). While persisting, as
    // in BSD, SND.NXT: the peer has not taken the probe bytes beyond it.
    const uint32_t seq = armed(TimerKind::kPersist) ? snd_nxt_ : snd_max_;
    return build(buf, flags::kAck, seq, {}, {}, now, false);
  }
  if (ka_.probe_pending && keepalive_state()) return transmit_keepalive(now, buf);
  ka_.probe_pending = false;
  return 0;
}

size_t Connection::transmit_probe(Instant now, std::span<uint8_t> buf) {
  probe_pending_ = false;
  const uint32_t queued = static_cast<uint32_t>(seq_diff(send_buffer_end(), snd_una_));
  if (queued == 0) return 0;
  Event e;
  e.time = now;
  e.type = EventType::kZeroWindowProbe;
  e.count = persist_.unanswered;
  if (cfg_->persist_probe == TcpConfig::PersistProbe::kSeqMinusOne && snd_wnd_ == 0) {
    // Linux's form (tcp_xmit_probe_skb): SEG.SEQ = SND.UNA - 1, no data. The
    // peer answers with an ACK showing its window, like a keepalive.
    e.seq = snd_una_ - 1;
    e.len = 0;
    emit(e);
    return build(buf, flags::kAck, snd_una_ - 1, {}, {}, now, false);
  }
  // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: one byte of new data at
  // SND.NXT (= SND.UNA while the window is closed); with a small non-zero
  // window (the SWS override), as much as it allows.
  const uint32_t len = snd_wnd_ == 0 ? 1 : std::min({snd_wnd_, queued, snd_mss_});
  const auto [a, b] = snd_buf_.view(static_cast<size_t>(snd_una_ - snd_buf_seq_), len);
  e.seq = snd_una_;
  e.len = len;
  if (snd_wnd_ == 0) emit(e);  // the SWS override is a plain send, not a probe
  const bool sws_override = snd_wnd_ != 0;
  if (sws_override && flight_size() == 0) note_send_from_idle(now);
  snd_nxt_ = seq_max(snd_nxt_, snd_una_ + len);
  snd_max_ = seq_max(snd_max_, snd_nxt_);
  recovery_->on_sent(snd_una_, snd_una_ + len, now, false);
  // ...so, as for any data, RFC 6298 §5.1: start the retransmission timer
  // (persist has stopped: the window is open).
  if (sws_override && !xmit_armed()) restart_retransmit_timer(now);
  return build(buf, flags::kAck | flags::kPsh, snd_una_, a, b, now, false);
}

size_t Connection::retransmit_range(Instant now, std::span<uint8_t> buf, uint32_t seq, uint32_t len,
                                    RetransmitTimer kind) {
  // Up to `len` bytes of sequence space from `seq`, with the FIN if it
  // falls inside (RFC 6675 NextSeg() ranges end at HighData, FIN included).
  // A fast retransmission of SND.UNA sends one segment: up to an MSS of
  // data, and the FIN with it if that reaches the FIN, as the segment
  // first sent carried it (a FIN takes no payload room).
  // Never more than one MSS of data: a range of several lost segments
  // (RACK marks runs) goes one segment at a time; `len` may be one more
  // than the MSS only to carry a FIN.
  const int32_t avail = seq_diff(send_buffer_end(), seq);
  const uint32_t dlen = std::min({len, avail > 0 ? static_cast<uint32_t>(avail) : 0u, snd_mss_});
  const bool fin_fits = kind == RetransmitTimer::kFast && seq == snd_una_
                            ? static_cast<int32_t>(dlen) == avail
                            : len > dlen;
  const bool fin = fin_sent_ && seq + dlen == fin_seq_ && fin_fits;
  if (dlen == 0 && !fin) return 0;
  const uint32_t end = seq + dlen + (fin ? 1 : 0);
  recovery_->on_retransmitted(seq, end);
  recovery_->on_sent(seq, end, now, fin);
  note_retransmission(now, seq, end);  // undo.hpp: counted for D-SACK undo
  if (recovery_->name() == "rack" &&
      (kind == RetransmitTimer::kFast || kind == RetransmitTimer::kSack)) {
    ++stats_.rack_retransmits;
  }
  // Karn (RFC 6298 §3): an ACK covering resent bytes gives no RTT sample.
  if (rtt_timing_ && seq_in(rtt_seq_, seq, end)) rtt_timing_ = false;
  ++stats_.retransmitted_segments;
  Event e;
  e.time = now;
  e.type = EventType::kRetransmit;
  e.timer = kind;
  e.seq = seq;
  e.len = dlen;
  emit(e);
  if (!xmit_armed()) restart_retransmit_timer(now);  // RFC 6298 §5.1
  const auto [a, b] = snd_buf_.view(static_cast<size_t>(seq - snd_buf_seq_), dlen);
  uint8_t fl = flags::kAck;
  if (fin) fl |= flags::kFin;
  // Linux resends an skb with its first transmission's flags: the segment
  // that ended the queued data had PSH (tcp_push's tcp_mark_push on the
  // write queue's tail).
  if (cfg_->push == TcpConfig::PushRule::kLinux && dlen > 0 && seq + dlen == send_buffer_end()) {
    fl |= flags::kPsh;
  }
  return build(buf, fl, seq, a, b, now, false);
}

size_t Connection::transmit_loss_probe(Instant now, std::span<uint8_t> buf) {
  // RFC 8985 §7.3: "retransmit the highest-sequence segment sent so far",
  // with the FIN if it was sent (Linux resends the last skb of the
  // retransmission queue, cut to one MSS). Segments were cut at the MSS
  // from SND.UNA, so the last one holds the remainder: resending the same
  // bytes lets the receiver's SACK block name that segment.
  const uint32_t data_top = fin_sent_ ? fin_seq_ : snd_max_;
  const uint32_t outstanding = data_top - snd_una_;
  // A FIN that went alone was the highest segment: it goes alone again
  // (Linux: tcp_send_fin queued it as an skb of its own).
  const uint32_t dlen =
      outstanding == 0 || (fin_sent_ && fin_alone_) ? 0 : (outstanding - 1) % snd_mss_ + 1;
  const uint32_t seq = data_top - dlen;
  const size_t n = retransmit_range(now, buf, seq, snd_max_ - seq, RetransmitTimer::kTlp);
  if (n) {
    ++stats_.tlp_probes;
    tlp_.on_probe_sent(snd_max_, true);  // TLP.end_seq = SND.NXT
  }
  return n;
}

size_t Connection::transmit_data(Instant now, std::span<uint8_t> buf) {
  const bool can_send = state_ == State::kEstablished || state_ == State::kCloseWait ||
                        state_ == State::kFinWait1 || state_ == State::kClosing ||
                        state_ == State::kLastAck;
  if (!can_send) return 0;
  if (link_congested_) {
    refuse_locally(now);
    return 0;
  }

  const uint32_t data_end = send_buffer_end();
  // Fast retransmit, and the partial-ACK retransmission: the segment at
  // SND.UNA, whatever cwnd or pipe says (RFC 5681 §3.2 step 2, RFC 6582
  // §3.2 step 5, RFC 6675 §5 step 4.3).
  if (recovery_->take_fast_retransmit()) {
    restart_retransmit_timer(now);
    if (const size_t n = retransmit_range(now, buf, snd_una_, snd_mss_, RetransmitTimer::kFast)) {
      return n;
    }
  }
  if (probe_pending_) {
    if (const size_t n = transmit_probe(now, buf)) return n;
  }
  // RFC 8985 §7.3: the loss probe its timer owes (never during recovery):
  // a new segment if the receive window takes one, sent whatever cwnd or
  // Nagle say (Linux: tcp_write_xmit with push_one 2, TCP_NAGLE_OFF), else
  // the last segment again.
  const bool loss_probe = std::exchange(tlp_pending_, false) && flight_size() > 0 &&
                          !recovery_->in_recovery() && snd_nxt_ == snd_max_;
  if (loss_probe) {
    const bool fin_unsent = fin_queued_ && !fin_sent_;
    const bool new_data =
        (seq_lt(snd_nxt_, data_end) && seq_lt(snd_nxt_, snd_una_ + snd_wnd_)) || fin_unsent;
    if (!new_data) return transmit_loss_probe(now, buf);
  }

  // Restart after idle: nothing in flight, new data to send, and no data
  // sent for longer than the RTO (RFC 5681 §4.1; Linux checks the same
  // before tcp_cwnd_restart, from lsndtime).
  // Linux restarts only as new data leaves (tcp_event_data_sent's
  // lsndtime check): a zero-window probe (tcp_xmit_probe_skb) sends none,
  // so a closed window leaves cwnd alone (packetdrill
  // slow-start-after-win-update: cwnd 36 through three probes).
  const bool data_owed = seq_lt(snd_nxt_, data_end) || (fin_queued_ && !fin_sent_);
  const bool window_open = cfg_->idle_restart != TcpConfig::IdleRestart::kLinux || snd_wnd_ > 0;
  if (cfg_->idle_restart != TcpConfig::IdleRestart::kOff && flight_size() == 0 &&
      snd_nxt_ == snd_max_ && data_owed && window_open && !last_data_tx_.is_never() &&
      now - last_data_tx_ > rtt_.rto()) {
    restart_after_idle(now);
  }

  // During recovery the algorithm may bound or choose what goes next
  // (RFC 6675 §5 step (C): NextSeg() while cwnd - pipe >= SMSS).
  bool pipe_limited = false;
  uint32_t pipe_room = 0;
  const RecoverySend next = recovery_->next_send(seq_space(), cc_->cwnd());
  switch (next.kind) {
    case RecoverySend::Kind::kAsUsual:
      break;
    case RecoverySend::Kind::kNothing:
      return 0;
    case RecoverySend::Kind::kRetransmit:
      return retransmit_range(
          now, buf, next.seq, next.len,
          next.seq == snd_una_ ? RetransmitTimer::kFast : RetransmitTimer::kSack);
    case RecoverySend::Kind::kNewDataOnly: {
      const bool fin_unsent = fin_queued_ && !fin_sent_;
      const bool new_data =
          (seq_lt(snd_nxt_, data_end) || fin_unsent) && seq_lt(snd_nxt_, snd_una_ + snd_wnd_);
      if (!new_data) return 0;
      pipe_limited = true;
      pipe_room = next.room;
      break;
    }
  }
  // After a timeout with SACK (RFC 6675 §5.1): the go-back resends only
  // holes, skipping what the peer SACKed.
  const SackScoreboard* sb = recovery_->scoreboard();
  const bool skip_sacked = sb && sb->size() > 0 && seq_lt(snd_nxt_, snd_max_);
  if (skip_sacked) snd_nxt_ = sb->sacked_run_end(snd_nxt_);

  const int32_t unsent_signed = seq_diff(data_end, snd_nxt_);
  const uint32_t unsent = unsent_signed > 0 ? static_cast<uint32_t>(unsent_signed) : 0;
  uint32_t cwnd = cc_->cwnd();
  // RFC 3042 limited transmit (RFC 5681 §3.2 step 1): on the first and
  // second duplicate ACK one more segment of new data, so FlightSize stays
  // within cwnd + 2 SMSS; cwnd itself does not change.
  bool limited = false;
  if (cfg_->limited_transmit && next.kind == RecoverySend::Kind::kAsUsual &&
      !recovery_->in_recovery() && snd_nxt_ == snd_max_) {
    const uint32_t dups = recovery_->state().dup_acks;
    if (dups == 1 || dups == 2) {
      cwnd += dups * snd_mss_;
      limited = true;
    }
  }
  // RFC 5682 §2.1 step 2b: F-RTO's new segments go whatever cwnd says.
  const bool frto_new = frto_.budget > 0 && snd_nxt_ == snd_max_;
  const uint32_t wnd = loss_probe || frto_new ? snd_wnd_ : std::min(snd_wnd_, cwnd);
  uint32_t inflight = snd_nxt_ - snd_una_;
  // SACKed bytes have left the network (RFC 6675 §4 pipe).
  if (skip_sacked) inflight -= sb->sacked_bytes(snd_una_, snd_nxt_);
  uint32_t usable = wnd > inflight ? wnd - inflight : 0;
  if (pipe_limited) {
    const uint32_t span = snd_nxt_ - snd_una_;
    usable = std::min(pipe_room, snd_wnd_ > span ? snd_wnd_ - span : 0);
  }
  uint32_t len = std::min({unsent, usable, snd_mss_});
  const bool retransmission = seq_lt(snd_nxt_, snd_max_);
  if (skip_sacked && retransmission) {
    len = std::min(len, sb->next_sacked_start(snd_nxt_, snd_max_) - snd_nxt_);
  }
  // The FIN goes with the last data byte, or alone once data is all sent;
  // again after a timeout rewound SND.NXT.
  const bool fin_owed = fin_queued_ && (!fin_sent_ || seq_le(snd_nxt_, fin_seq_));
  // Opt-in TSO: several full segments in one, to be cut at snd_mss_ by the
  // device. Only whole segments, so Nagle still holds back a short tail; it
  // rides along where a lone short segment would go now. The datagram
  // stays within 65535 bytes (IP header + the largest TCP header: 80).
  const uint32_t max_seg = std::min<uint32_t>(tso_limit_, 65535 - 80);
  if (max_seg > snd_mss_ && !retransmission && !loss_probe && len == snd_mss_) {
    len = std::min({unsent, usable, max_seg});
    if (!(len == unsent && (cfg_->nodelay || fin_owed))) len -= len % snd_mss_;
  }
  const bool fin_now = fin_owed && len == unsent;

  bool send_now = false;
  if (len > 0) {
    // Nagle (RFC 1122 §4.2.3.4, RFC 896) and sender SWS avoidance: send a
    // full segment, or everything when nothing is outstanding (or Nagle is
    // off), or at least half the largest window the peer has offered.
    // TCP_CORK holds a short segment even then, until a push (Linux
    // tcp_nagle_test: TCP_NAGLE_PUSH first, then TCP_NAGLE_CORK).
    // A write with MSG_MORE pushes corked whatever else holds (tcp_push:
    // nonagle = TCP_NAGLE_CORK), a pending TCP_NAGLE_PUSH included.
    const bool corked = cfg_->cork || more_hold_;
    const bool push = push_once_ && !more_hold_;
    send_now = retransmission || loss_probe || len >= snd_mss_ || fin_now ||
               (len == unsent && (push || (!corked && (cfg_->nodelay || inflight == 0)))) ||
               (!corked && max_snd_wnd_ > 0 && len >= max_snd_wnd_ / 2);
    if (send_now) push_once_ = false;
  } else if (fin_now) {
    send_now = true;
  }
  if (!send_now) {
    // Held back with nothing in flight: only the persist timer (which also
    // serves as the SWS override timer) will move things.
    if (unsent > 0 && inflight == 0 && !armed(TimerKind::kPersist) && !xmit_armed()) {
      start_persist(now);
    }
    return 0;
  }

  const auto [a, b] = snd_buf_.view(static_cast<size_t>(snd_nxt_ - snd_buf_seq_), len);
  uint8_t fl = flags::kAck;
  // PSH ends the caller's data (RFC 9293 §3.9.1); after writes with `more`
  // only the segment holding the end of the last write without it.
  const bool pushed_end =
      more_tail_ ? seq_lt(snd_nxt_, push_seq_) && seq_le(push_seq_, snd_nxt_ + len) : len == unsent;
  if (len > 0 && pushed_end) fl |= flags::kPsh;
  if (cfg_->push == TcpConfig::PushRule::kLinux && len > 0 && !retransmission) {
    // Linux sends an output pass as TSO packets of tcp_tso_autosize's size
    // (its tcp_min_tso_segs floor), each at most half of cwnd
    // (tcp_cwnd_test's halfcwnd, at least one); a packet of two or more
    // segments leaves with PSH on its last one, a one-segment piece cut
    // from an skb (tso_fragment clears PSH on the first part) without.
    // Counted per output pass; a packet also ends where the pass runs out
    // of room for another full segment, or of data.
    const uint32_t packet =
        std::max<uint32_t>(1, std::min(cfg_->min_tso_segs, cc_->cwnd() / snd_mss_ / 2));
    push_run_ += (len + snd_mss_ - 1) / snd_mss_;
    const uint32_t left = unsent - len;
    const uint32_t room = std::min(left, usable - len);
    const bool pass_ends = room == 0 || (room < snd_mss_ && room < left);
    if (push_run_ >= packet || pass_ends) {
      if (push_run_ >= 2) fl |= flags::kPsh;
      push_run_ = 0;
    }
  }
  if (fin_now) fl |= flags::kFin;
  if (retransmission) {
    ++stats_.retransmitted_segments;
    Event e;
    e.time = now;
    e.type = EventType::kRetransmit;
    e.timer = rtx_.kind == RetransmitTimer::kNone ? RetransmitTimer::kRto : rtx_.kind;
    e.seq = snd_nxt_;
    e.len = len;
    e.count = rtx_.count;
    e.rto = rtt_.rto();
    emit(e);
  } else {
    if (frto_new) --frto_.budget;
    if (inflight == 0) note_send_from_idle(now);
    if (!rtt_timing_ && !ts_enabled_ && len > 0) {
      rtt_timing_ = true;
      rtt_seq_ = snd_nxt_;
      rtt_start_ = now;
    }
  }
  const uint32_t seq = snd_nxt_;
  snd_nxt_ += len;
  if (fin_now) {
    if (!fin_sent_) fin_alone_ = len == 0;
    fin_sent_ = true;
    fin_seq_ = data_end;
    snd_nxt_ += 1;
  }
  snd_max_ = seq_max(snd_max_, snd_nxt_);
  if (retransmission) note_retransmission(now, seq, snd_nxt_);  // the go-back (undo.hpp)
  if (limited && flight_size() > cc_->cwnd()) {
    lt_bytes_ = std::max(lt_bytes_, flight_size() - cc_->cwnd());
  }
  recovery_->on_data_sent(snd_nxt_ - seq);
  recovery_->on_sent(seq, snd_nxt_, now, fin_now);
  if (!retransmission) note_cwnd_usage();
  if (!seq_lt(snd_nxt_, snd_max_)) rtx_.kind = RetransmitTimer::kNone;
  disarm(TimerKind::kPersist);
  if (local_.active) {
    // Sent: tcp_send_probe0 sees packets out and clears its probes and
    // their start (icsk_probes_tstamp).
    local_ = {};
    if (ut_clock_ && ut_clock_->cause == UserTimeoutCause::kLocalCongestion) stop_user_timeout();
  }
  if (!xmit_armed()) restart_retransmit_timer(now);  // RFC 6298 §5.1
  if (loss_probe) {
    ++stats_.tlp_probes;
    tlp_.on_probe_sent(snd_nxt_, false);
  } else if (!retransmission) {
    maybe_schedule_loss_probe(now);  // RFC 8985 §7.2: new data (not a probe) schedules it
  }
  return build(buf, fl, seq, a, b, now, false);
}

void Connection::note_cwnd_usage() {
  // Linux tcp_cwnd_validate after tcp_write_xmit: a new window of data
  // (SND.UNA past cwnd_usage_seq) starts afresh; within one, a cwnd-limited
  // send is remembered, otherwise the largest flight in segments
  // (packets_out, here rounded up from bytes).
  // Limited when no further full segment fits: Linux counts cwnd in whole
  // packets (tcp_write_xmit's cwnd_quota of 0); here cwnd is in bytes and
  // grows by fractions of an SMSS in congestion avoidance, so `pipe >=
  // cwnd` would almost never hold and cwnd would stop growing.
  const bool limited = pipe() + snd_mss_ > cc_->cwnd();
  const uint32_t segs = (flight_size() + snd_mss_ - 1) / snd_mss_;
  if (seq_ge(snd_una_, cwnd_usage_seq_) || limited || (!cwnd_limited_ && segs > max_segs_out_)) {
    cwnd_limited_ = limited;
    max_segs_out_ = segs;
    cwnd_usage_seq_ = snd_nxt_;
  }
}

bool Connection::cwnd_may_grow() const {
  if (cfg_->app_limited_growth || cwnd_limited_) return true;
  // tcp_is_cwnd_limited: in slow start, until cwnd is twice the flight.
  return cc_->cwnd() < cc_->ssthresh() && cc_->cwnd() < 2 * max_segs_out_ * snd_mss_;
}

void Connection::restart_after_idle(Instant now) {
  const Duration idle = now - last_data_tx_;
  const uint32_t cwnd = cc_->cwnd();
  // RW = min(IW, cwnd), IW in whole segments of the current MSS (§3.1).
  const uint32_t rw = std::min(cfg_->initial_window_segments * snd_mss_, cwnd);
  if (cfg_->idle_restart == TcpConfig::IdleRestart::kRfc5681) {
    // RFC 5681 §4.1: cwnd = RW; ssthresh is left alone.
    cc_->restart_after_idle(rw, cc_->ssthresh());
    return;
  }
  // Linux tcp_cwnd_restart: ssthresh keeps 3/4 of the window it had
  // (tcp_current_ssthresh), and cwnd halves once for each RTO of idle
  // after the first, down to RW (in bytes here, packets there).
  const uint32_t ssthresh = std::max(cc_->ssthresh(), cwnd / 2 + cwnd / 4);
  uint32_t c = cwnd;
  Duration left = idle - rtt_.rto();
  while (left > Duration::zero() && c > rw) {
    c /= 2;
    left = left - rtt_.rto();
  }
  cc_->restart_after_idle(std::max(c, rw), ssthresh);
}

void Connection::report_windows(Instant now) {
  if (first_data_tx_.is_never()) return;  // no data yet: cwnd is the IW
  const uint32_t cwnd = cc_->cwnd();
  const uint32_t ssthresh = cc_->ssthresh();
  stats_.cwnd_max_bytes = std::max<uint64_t>(stats_.cwnd_max_bytes, cwnd);
  // One event per change worth seeing: ssthresh changed, or cwnd moved by
  // a whole SMSS and 1/8 of the last reported value (CUBIC moves it by
  // fractions on every ACK; slow start reports about 6 times per doubling).
  const uint32_t moved = cwnd > ev_cwnd_ ? cwnd - ev_cwnd_ : ev_cwnd_ - cwnd;
  if (ssthresh != ev_ssthresh_ || moved >= std::max(snd_mss_, ev_cwnd_ / 8)) {
    ev_cwnd_ = cwnd;
    ev_ssthresh_ = ssthresh;
    Event e;
    e.time = now;
    e.type = EventType::kCwnd;
    e.cwnd = cwnd;
    e.ssthresh = ssthresh;
    emit(e);
  }
  if (!rtt_.has_sample()) return;
  // SRTT or RTO moved by 1/8 (RFC 6298's gain) of what was last reported,
  // at least 1 ms; every back-off is reported by kRtoBackoff already, so
  // only a backed-off RTO's return shows here.
  const auto far = [](Duration now_v, Duration last) {
    const Duration d = now_v > last ? now_v - last : last - now_v;
    const Duration step = std::max(Duration::millis(1), Duration::nanos(last.ns() / 8));
    return d >= step;
  };
  if (!ev_rtt_reported_ || far(rtt_.srtt(), ev_srtt_) || far(rtt_.rto(), ev_rto_)) {
    ev_rtt_reported_ = true;
    ev_srtt_ = rtt_.srtt();
    ev_rto_ = rtt_.rto();
    Event e;
    e.time = now;
    e.type = EventType::kRtt;
    e.srtt = rtt_.srtt();
    e.rto = rtt_.rto();
    emit(e);
  }
}

uint64_t Connection::goodput_bps() const {
  if (first_data_tx_.is_never() || last_data_acked_.is_never()) return 0;
  const int64_t ns = (last_data_acked_ - first_data_tx_).ns();
  if (ns <= 0) return 0;
  return static_cast<uint64_t>(static_cast<long double>(stats_.bytes_acked) * 8e9L /
                               static_cast<long double>(ns));
}

}  // namespace vigil::tcp
