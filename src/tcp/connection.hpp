// One TCP connection as a pure state machine (DESIGN.md principle 1). It
// never reads a clock, sleeps or does I/O. Inputs: a segment arrives, an
// application call, a deadline passes, each with `now`. Outputs: datagrams
// built into caller buffers by poll_transmit(), events to an EventSink, and
// next_deadline().
//
// Sequence variables follow RFC 9293 §3.3.1; `snd_max_` is the highest
// SND.NXT ever sent (BSD's snd_max), since a timeout rewinds SND.NXT.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcp/config.hpp"
#include "tcp/congestion.hpp"
#include "tcp/events.hpp"
#include "tcp/kernel_timer.hpp"
#include "tcp/loss_recovery.hpp"
#include "tcp/recv_buffer.hpp"
#include "tcp/rtt_estimator.hpp"
#include "tcp/send_buffer.hpp"
#include "tcp/sent_segments.hpp"
#include "tcp/tlp.hpp"
#include "tcp/undo.hpp"
#include "vigil/time.hpp"
#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::tcp {

struct Endpoint {
  wire::Ipv4Addr addr;
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
  std::string to_string() const { return addr.to_string() + ":" + std::to_string(port); }
};

struct FourTuple {
  Endpoint local, remote;
  auto operator<=>(const FourTuple&) const = default;
};

// The IP and TCP header fields that address a segment from `t.local` to
// `t.remote`: a connection's own segments and the stack's SYN cookies.
std::pair<wire::Ipv4Fields, wire::TcpFields> header_fields(const FourTuple& t);

// RFC 7323 §2.3: the smallest window shift that lets the 16-bit window field
// cover the whole receive buffer, at most 14.
uint8_t window_shift_for(uint32_t buffer);

// The named timers (DESIGN.md principle 4). Each has one function that arms
// it and one that decides its verdict, all in connection_liveness.cpp; the
// connection exposes the earliest through next_deadline().
enum class TimerKind : uint8_t {
  kRetransmit,   // RFC 6298, including SYN and FIN retransmission
  kPersist,      // RFC 1122 §4.2.2.17 zero-window probing
  kDelayedAck,   // RFC 1122 §4.2.3.2
  kTimeWait,     // 2*MSL, RFC 9293 §3.4.2
  kKeepalive,    // RFC 1122 §4.2.3.6: next probe, or the abort after the last
  kUserTimeout,  // RFC 5482: data, zero-window probing or keepalive unanswered too long
  kLiveness,     // vigil: nothing heard for idle + interval * count
  kStallGuard,   // iPXE-style pure ACK on a quiet established connection
  kFinWait2,     // Linux tcp_fin_timeout: FIN-WAIT-2 ends after this long
  kLossProbe,    // RFC 8985 §7 tail-loss probe; shares one slot with kRetransmit
  kReorder,      // RFC 8985 §6.3 RACK reordering timer; the same slot
  kCount,
};
std::string_view timer_kind_name(TimerKind k);

// How a connection failed: errno, the mechanism, and the evidence in words
// (DESIGN.md principle 7).
struct ConnectionError {
  int err = 0;  // 0: no error
  CloseReason reason = CloseReason::kNone;
  Instant time;
  std::string detail;
};

// What the user timeout (RFC 5482) is timing.
enum class UserTimeoutCause : uint8_t {
  kData,               // sent data unacknowledged
  kZeroWindow,         // zero-window probes unanswered (rfc)
  kZeroWindowEpisode,  // linux: the window has stayed zero since the first probe
  kLocalCongestion,    // the device has refused the data since the first probe
};

struct ConnectionStats {
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;
  uint64_t retransmitted_segments = 0;
  uint64_t fast_retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t dup_acks_received = 0;
  uint64_t challenge_acks_sent = 0;
  uint64_t challenge_acks_suppressed = 0;
  uint64_t out_of_order_segments = 0;
  uint64_t bytes_acked = 0;       // our data the peer acknowledged
  uint64_t bytes_delivered = 0;   // peer data made readable
  uint64_t segments_dropped = 0;  // unacceptable or refused inbound segments
  // Replies to out-of-window segments not sent (Linux tcp_invalid_ratelimit).
  uint64_t invalid_acks_suppressed = 0;
  // ICMP (connection_icmp.cpp). Quoting no sequence number in flight: the
  // RFC 5927 §4.1 check, Linux's OutOfWindowIcmps.
  uint64_t icmp_out_of_window = 0;
  // In the window but not acted on: an unknown code, or a frag-needed that
  // quotes no segment start we sent larger than the MTU it reports, or that
  // would not lower the path MTU.
  uint64_t icmp_ignored = 0;
  // Out-of-order data dropped because the reassembly table already holds
  // RecvBuffer::kMaxRanges ranges (it comes again by retransmission).
  uint64_t out_of_order_dropped = 0;
  // RFC 8985 §7: tail-loss probes sent (Linux TCPLossProbes).
  uint64_t tlp_probes = 0;
  // RFC 8985 §6: retransmissions of segments RACK deemed lost.
  uint64_t rack_retransmits = 0;
  // The most data segments sent back to back in answer to one arriving
  // segment (an ACK): RFC 2525 §2.8's burst shows here.
  uint64_t max_burst_segments = 0;
  // The largest congestion window the connection had, in bytes.
  uint64_t cwnd_max_bytes = 0;
  // Retransmissions D-SACKs showed unneeded (RFC 3708), and window
  // reductions undone as spurious (undo.hpp; Linux TCPFullUndo and friends).
  uint64_t spurious_retransmits = 0;
  uint64_t undos = 0;
};

// Every sequence, timestamp, window and timer variable of a connection, by
// name: the rule "a rejected segment changes no connection state" (RFC 5961,
// RFC 7323 §4.3) compares two of these. Counters, the reply owed and its
// rate-limit clock, and the stall guard (restarted by any arriving segment
// by design) are left out.
struct StateDigest {
  std::vector<std::pair<std::string_view, int64_t>> fields;
  bool operator==(const StateDigest&) const = default;
  // The fields that differ, "name: before -> after", one per line.
  std::string diff(const StateDigest& after) const;
  int64_t value(std::string_view name) const;  // -1 if there is no such field
};

// What a validated SYN cookie (RFC 4987 §3.6) recovered of the peer's SYN:
// the stack decodes it from the returning ACK, the connection opens from it.
struct CookieOpen {
  uint32_t irs = 0;          // the peer's ISN: SEG.SEQ - 1 of the ACK
  uint16_t mss = 536;        // from the cookie's MSS table index
  bool wscale_ok = false;    // the SYN carried window scale (needs timestamps)
  uint8_t snd_wscale = 0;    // its shift
  bool sack = false;         // the SYN carried SACK-permitted (needs timestamps)
  bool timestamps = false;   // the SYN carried timestamps (the ACK's TSecr echoes ours)
  uint16_t window_sent = 0;  // the window our cookie SYN-ACK offered
};

class Connection {
 public:
  // `iss` comes from the stack's RFC 6528 generator; `ts_offset` is the
  // per-connection timestamp offset (RFC 7323 §5.4). `id` labels events.
  Connection(const TcpConfig& config, const FourTuple& tuple, uint32_t iss, uint32_t ts_offset,
             uint64_t id, EventSink* sink);
  // The same with a config shared among connections (the stack's, issue
  // 15): never modified through it; set_socket_options() copies it first.
  Connection(std::shared_ptr<const TcpConfig> config, const FourTuple& tuple, uint32_t iss,
             uint32_t ts_offset, uint64_t id, EventSink* sink);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // RFC 9293 §3.10.1 OPEN. Active: SYN-SENT with a SYN to send. Passive:
  // LISTEN, waiting for a SYN (the stack creates one per incoming SYN).
  void open_active(Instant now);
  void open_passive(Instant now);

  // --- Inputs ---
  // A segment for this connection's 4-tuple (already validated by the wire
  // layer). RFC 9293 §3.10.7 with RFC 5961 and RFC 7323 checks.
  void on_segment(Instant now, const wire::TcpView& seg);
  // ICMP destination unreachable quoting one of our segments (RFC 1122 §4.2.3.9).
  void on_icmp(Instant now, const wire::IcmpUnreachableView& icmp);
  // Run every timer that is due at `now`.
  void on_timer(Instant now);

  // --- Application calls ---
  // Queues bytes to send; returns how many fit (0 when closed or full).
  // `more` (Linux MSG_MORE): more data follows at once, so this write's
  // short tail waits as if corked until the next write without it, an
  // arriving ACK or a push (tcp_push with TCP_NAGLE_CORK), and its bytes
  // carry no PSH (tcp_push marks none, tcp_mark_push).
  size_t send(Instant now, std::span<const uint8_t> data, bool more = false);
  // Reads in-order bytes; returns how many were read.
  size_t recv(Instant now, std::span<uint8_t> out);
  // RFC 9293 CLOSE: no more data from us; a FIN follows the queued data.
  void close(Instant now);
  // RFC 9293 ABORT (also close() with SO_LINGER 0): RST|ACK where the state
  // calls for one, as Linux's tcp_disconnect, then CLOSED.
  void abort(Instant now);
  // The application closes and will read nothing more (close(2) on a
  // socket; RFC 1122 §4.2.2.13's half-duplex close). With received data
  // unread: RST|ACK at once and CLOSED (RFC 2525 §2.17); otherwise close().
  void close_and_stop_reading(Instant now);
  // The application has closed and let go of the connection: it will read
  // nothing more (Linux's close(), an orphan, SOCK_DEAD; close() alone is a
  // half-close). The linux profile's orphan rules then apply:
  // fin_wait2_timeout and orphan_retries (connection_liveness.cpp).
  void orphan(Instant now);
  bool orphaned() const { return orphaned_; }

  // Opt-in TSO-style sends (off by default, so the simulator is unchanged):
  // new data may go in one segment of up to `bytes` (whole multiples of the
  // send MSS) for a driver whose device segments it at send_mss(), e.g. a
  // TUN device with IFF_VNET_HDR. Retransmissions stay one MSS. 0: off.
  void set_tso_limit(uint32_t bytes) { tso_limit_ = bytes; }
  // Opt-in partial checksums (off by default, so the simulator is
  // unchanged): every datagram this connection builds carries only the
  // pseudo-header sum in its TCP checksum field (wire::TcpChecksum::kPartial)
  // for a device that completes it, e.g. a TUN device with IFF_VNET_HDR.
  void set_partial_checksum(bool on) { partial_csum_ = on; }
  bool partial_checksum() const { return partial_csum_; }
  // The device's queue refuses packets now (a driver that can tell, e.g.
  // a qdisc dropping: Linux's tcp_transmit_skb returning NET_XMIT_DROP).
  // While set, no data segment leaves and nothing advances, as in Linux
  // where a refused segment was never sent; with nothing in flight the
  // probe timer retries (on_persist_timeout, local_). Set by the stack
  // before each poll_transmit.
  void set_link_congested(bool congested) { link_congested_ = congested; }
  // Linux's icsk_probes_out (tcp_info's tcpi_probes): probes sent without
  // an answer, zero-window or keepalive, and retries of data the device
  // refused.
  uint32_t probes_out() const { return local_.probes + persist_.unanswered + ka_.probes_out; }

  // setsockopt on a live connection (src/posix): takes `c`'s nodelay,
  // keepalive (on/off, idle, interval, count), user timeout and send
  // buffer (SO_SNDBUF: what may be queued from now on), and re-arms
  // the keepalive timer as Linux's tcp_sock_set_keepidle / sock_set_keepalive
  // do. Other fields are fixed once the connection exists.
  // `push`: send what Nagle or cork holds back once, as Linux does when
  // TCP_NODELAY is set or TCP_CORK cleared (TCP_NAGLE_PUSH).
  void set_socket_options(Instant now, const TcpConfig& c, bool push = false);

  // --- Outputs ---
  // Builds the next datagram owed into `buf` and returns its length, or 0 if
  // nothing is owed now. Call until it returns 0 after every input.
  size_t poll_transmit(Instant now, std::span<uint8_t> buf);
  Instant next_deadline() const;
  Instant timer_deadline(TimerKind k) const {
    if (is_xmit_timer(k)) return xmit_timer_.kind == k ? xmit_timer_.when : Instant::never();
    return timers_[static_cast<size_t>(k)];
  }

  // --- Observation ---
  State state() const { return state_; }
  const FourTuple& tuple() const { return tuple_; }
  uint64_t id() const { return id_; }
  const ConnectionError& error() const { return error_; }
  const ConnectionStats& stats() const { return stats_; }
  const TcpConfig& config() const { return *cfg_; }
  size_t send_space() const;                              // bytes send() would accept now
  size_t send_queued() const { return snd_buf_.size(); }  // written, not yet acknowledged
  // The send buffer's bound now: send_buffer, or more once autotuning grew
  // it (TcpConfig::send_buffer_max), as Linux's sk_sndbuf.
  size_t send_buffer_size() const { return snd_buf_.capacity(); }
  // The receive window's ceiling now: recv_buffer, or more once autotuning
  // grew it (TcpConfig::recv_buffer_max), as Linux's sk_rcvbuf.
  size_t recv_buffer_size() const { return rcv_buf_.capacity(); }
  size_t recv_available() const { return rcv_buf_.readable(); }
  size_t out_of_order_ranges() const { return rcv_buf_.out_of_order().size(); }
  bool peer_closed() const { return fin_received_; }  // FIN received: EOF after readable bytes
  bool established_once() const { return established_once_; }
  Instant state_since() const { return state_since_; }
  const RttEstimator& rtt() const { return rtt_; }
  // Our data's goodput: bytes the peer acknowledged, in bits per second,
  // from the first data segment sent to the last ACK that moved SND.UNA
  // over data (0 before any).
  uint64_t goodput_bps() const;
  uint32_t cwnd() const { return cc_->cwnd(); }
  uint32_t ssthresh() const { return cc_->ssthresh(); }
  uint32_t send_mss() const { return snd_mss_; }
  uint32_t snd_wnd() const { return snd_wnd_; }
  Duration user_timeout() const { return user_timeout_; }  // in force (RFC 5482 may adopt)
  uint32_t iss() const { return iss_; }
  uint32_t irs() const { return irs_; }
  uint32_t snd_una() const { return snd_una_; }
  uint32_t snd_nxt() const { return snd_nxt_; }
  uint32_t rcv_nxt() const { return rcv_nxt_; }
  uint32_t rcv_wnd() const;                          // window we would advertise now, in bytes
  uint32_t ts_recent() const { return ts_recent_; }  // RFC 7323 TS.Recent
  bool timestamps_enabled() const { return ts_enabled_; }
  bool sack_enabled() const { return sack_enabled_; }
  uint8_t snd_wscale() const { return snd_wscale_; }
  uint8_t rcv_wscale() const { return rcv_wscale_; }
  bool in_recovery() const { return recovery_->in_recovery(); }
  // RFC 6675 recovery runs: SACK negotiated and loss_recovery=sack. The
  // RFC 2525 §2.8 emulation needs Reno's window inflation, so it keeps NewReno.
  bool sack_recovery() const {
    return sack_enabled_ && cfg_->loss_recovery == TcpConfig::LossRecovery::kSack &&
           !cfg_->bug_no_window_deflation;
  }
  // The RFC 6675 scoreboard (empty unless sack_recovery()).
  const SackScoreboard& sack_scoreboard() const;
  // RFC 6675 SetPipe() now (FlightSize without SACK recovery).
  uint32_t pipe() const { return recovery_->pipe(seq_space()); }
  StateDigest state_digest() const;  // connection_input.cpp, next to the rule it checks

  // --- Listener support: SYN cookies, TIME-WAIT reuse, memory (connection_open.cpp) ---
  // Opens ESTABLISHED from the ACK that returned a valid SYN cookie; this
  // connection's ISS must be the cookie. The stack then feeds the ACK's text
  // and FIN, if any, through on_segment().
  void open_from_cookie(Instant now, const CookieOpen& c, const wire::TcpView& ack);
  // RFC 6191 / Linux tcp_timewait_state_process: in TIME-WAIT, a SYN whose
  // sequence number or (timestamps in use) TSval is newer than the old
  // connection's may start a new incarnation of the 4-tuple.
  bool time_wait_accepts_syn(const wire::TcpView& syn) const;
  // Heap bytes the buffers hold now (0 before the first byte and once closed).
  size_t buffer_bytes() const {
    return snd_buf_.allocated_bytes() + rcv_buf_.allocated_bytes() + sent_segs_.allocated_bytes();
  }

 private:
  // --- input steps (connection_input.cpp) ---
  void input_listen(Instant now, const wire::TcpView& seg);
  void input_syn_sent(Instant now, const wire::TcpView& seg);
  void input_synchronized(Instant now, const wire::TcpView& seg);
  bool segment_acceptable(const wire::TcpView& seg) const;
  bool process_ack(Instant now, const wire::TcpView& seg);
  // `delivered`: the part of `acked` that grows cwnd (newly_delivered()).
  void process_new_ack(Instant now, const wire::TcpView& seg, uint32_t acked, uint32_t delivered);
  // Bytes up to `ack` that no earlier ACK reported delivered (cwnd_count).
  uint32_t newly_delivered(uint32_t ack) const;
  // After new data went out: track how far the flight used cwnd.
  void note_cwnd_usage();
  // May cwnd grow on this ACK (TcpConfig::app_limited_growth)?
  bool cwnd_may_grow() const;
  void process_dup_ack(Instant now, const wire::TcpView& seg);
  void process_loss_probe_ack(Instant now, uint32_t ack, const wire::TcpOptions& o);
  // --- Spurious-response undo and F-RTO (connection_undo.cpp, undo.hpp) ---
  struct BeforeAck {  // what an ACK found, for the undo decisions after it
    uint32_t una = 0, cwnd = 0, ssthresh = 0;
    bool in_recovery = false;
    bool episode_open = false;  // fast recovery, or a timeout's, still running
    bool frto_orig_acked = false;
  };
  BeforeAck before_ack(uint32_t ack) const;
  void after_ack_undo(Instant now, const wire::TcpView& seg, const BeforeAck& pre);
  void note_retransmission(Instant now, uint32_t seq, uint32_t end);
  void undo_reduction(Instant now, SpuriousUndo::Cause cause);
  void frto_on_timeout(bool in_fast_recovery);
  void frto_step(Instant now, const wire::TcpView& seg, const BeforeAck& pre);
  // RFC 2883 §4 (receiver): a refused segment's data below RCV.NXT is
  // reported in the next ACK's D-SACK.
  void note_duplicate_data(const wire::TcpView& seg);
  // RFC 2883 §4 (receiver): the part of out-of-order data at stream offset
  // [pos, pos + len) that is already held is reported in the next ACK's
  // D-SACK, the held block containing it second.
  void note_duplicate_out_of_order(uint64_t pos, size_t len);
  void process_text(Instant now, const wire::TcpView& seg);
  void process_fin(Instant now);
  void update_send_window(const wire::TcpView& seg);
  void adopt_peer_syn_options(const wire::TcpView& seg);
  void update_timestamps(const wire::TcpView& seg);
  void send_challenge_ack(Instant now, std::string_view why);
  // data_exempt: a segment with data or FIN is answered at once, unthrottled.
  void reply_to_invalid(Instant now, const wire::TcpView& seg, bool data_exempt = true);
  void emit_rst_received(Instant now, uint32_t seq);

  // --- output (connection_output.cpp) ---
  size_t build(std::span<uint8_t> buf, uint8_t flags, uint32_t seq, std::span<const uint8_t> a,
               std::span<const uint8_t> b, Instant now, bool syn_options);
  size_t build_rst(std::span<uint8_t> buf, uint32_t seq, uint32_t ack, bool with_ack, Instant now);
  // This connection's addresses and ports, for the IP and TCP headers.
  std::pair<wire::Ipv4Fields, wire::TcpFields> header_fields() const {
    return tcp::header_fields(tuple_);
  }
  size_t transmit_data(Instant now, std::span<uint8_t> buf);
  size_t transmit_probe(Instant now, std::span<uint8_t> buf);
  size_t retransmit_range(Instant now, std::span<uint8_t> buf, uint32_t seq, uint32_t len,
                          RetransmitTimer kind);
  uint16_t window_field();
  void after_ack_sent();

  // --- helpers (connection.cpp) ---
  void set_state(Instant now, State s);
  void queue_active_reset();  // abortive close's RST|ACK (Linux tcp_send_active_reset)
  // New data after close_and_stop_reading(): RST and CLOSED; true if so.
  bool reset_data_after_close(Instant now, const wire::TcpView& seg);
  // The RTO and the loss probe share one slot (xmit_timer_), as in RFC
  // 8985 §7.2 (arming a PTO cancels the RTO and the probe re-arms the RTO)
  // and Linux's icsk_pending: arming one replaces the other.
  static bool is_xmit_timer(TimerKind k) {
    return k == TimerKind::kRetransmit || k == TimerKind::kLossProbe || k == TimerKind::kReorder;
  }
  // Arms a timer that Linux also runs as a kernel timer: with `timer.hz`
  // it fires when the kernel's would (kernel_timer.hpp), else at `when`.
  void arm(TimerKind k, Instant now, Instant when) {
    arm_exact(k, kernel_timer_expiry(now, when, cfg_->timer_hz));
  }
  // vigil's own timers (liveness deadline, stall guard) keep their exact time.
  void arm_exact(TimerKind k, Instant when) {
    if (is_xmit_timer(k)) {
      xmit_timer_ = {when, k};
    } else {
      timers_[static_cast<size_t>(k)] = when;
    }
  }
  void disarm(TimerKind k) {
    if (!is_xmit_timer(k)) {
      timers_[static_cast<size_t>(k)] = Instant::never();
    } else if (xmit_timer_.kind == k) {
      xmit_timer_.when = Instant::never();
    }
  }
  bool armed(TimerKind k) const { return !timer_deadline(k).is_never(); }
  // The RTO or the loss probe in its place is running (RFC 6298 §5.1's
  // "the timer is running").
  bool xmit_armed() const { return !xmit_timer_.when.is_never(); }
  void disarm_xmit() { xmit_timer_.when = Instant::never(); }
  void emit(Event e);
  void schedule_ack(Instant now, bool immediately);
  uint32_t flight_size() const { return snd_max_ - snd_una_; }
  uint32_t send_buffer_end() const {  // sequence number just past queued data
    return snd_buf_seq_ + static_cast<uint32_t>(snd_buf_.size());
  }
  uint32_t ts_now(Instant now) const {
    return ts_offset_ + static_cast<uint32_t>(now.ns() / 1'000'000);  // 1 ms TS clock
  }
  void update_mss();
  // Send-buffer autotuning (TcpConfig::send_buffer_max; Linux tcp_sndbuf_expand).
  void expand_send_buffer();
  // Receive-buffer autotuning (TcpConfig::recv_buffer_max; Linux
  // tcp_rcv_space_adjust), after the application read.
  void adjust_recv_space(Instant now);
  // NewReno or RFC 6675 recovery, once SACK negotiation is known.
  void select_loss_recovery();
  SendSpace seq_space() const {
    return {snd_una_, snd_nxt_, snd_max_, snd_mss_, rtt_.srtt(), lt_bytes_};
  }
  // RFC 5681 §4.1 / Linux tcp_cwnd_restart (cfg_.idle_restart).
  void restart_after_idle(Instant now);
  // kCwnd and kRtt events when the windows or the estimate moved enough,
  // and cwnd_max_bytes; called as output begins, after every input.
  void report_windows(Instant now);

  // --- timers and verdicts (connection_liveness.cpp; its head has an index) ---
  void fail(Instant now, int err, CloseReason reason, std::string detail);
  void die_reset(Instant now, int err, CloseReason reason, std::string detail);
  int timeout_errno() const;
  void queue_abort_rst();
  // Frees buffer storage nothing can use any more (CLOSED, TIME-WAIT).
  void release_buffers();
  std::string soft_error_note() const;
  // What the input and output paths report.
  void note_segment_arrived(Instant now);
  void heard_from_peer(Instant now, uint32_t window);
  void note_ack_progress(Instant now);
  void note_send_from_idle(Instant now);
  void note_window_opened();
  void arm_liveness_timers(Instant now);
  // Retransmission, SYN included.
  void restart_retransmit_timer(Instant now);
  void on_retransmit_timeout(Instant now);
  bool retry_limit_reached(Instant now, bool handshake) const;
  // Tail-loss probe (RFC 8985 §7, tlp.hpp): armed after new data or an ACK
  // of new data in place of the RTO; its expiry owes a probe.
  void maybe_schedule_loss_probe(Instant now);
  void on_loss_probe_timeout(Instant now);
  // RACK's reordering timer (RFC 8985 §6.3), in the same slot.
  void maybe_arm_reorder_timer(Instant now);
  void on_reorder_timeout(Instant now);
  size_t transmit_loss_probe(Instant now, std::span<uint8_t> buf);
  // Persist.
  void start_persist(Instant now);
  void arm_persist(Instant now);
  Duration persist_interval() const;
  bool orphan_probe_limit_reached() const;
  void maybe_arm_persist(Instant now);
  void on_persist_timeout(Instant now);
  void refuse_locally(Instant now);
  bool on_local_probe_timeout(Instant now);
  // Keepalive.
  enum class KeepaliveArm : uint8_t { kFromLastHeard, kBusy, kAfterProbe };
  void arm_keepalive(Instant now, KeepaliveArm how);
  void on_keepalive_timeout(Instant now);
  size_t transmit_keepalive(Instant now, std::span<uint8_t> buf);
  bool keepalive_state() const {
    return state_ == State::kEstablished || state_ == State::kCloseWait ||
           state_ == State::kFinWait2;
  }
  // User timeout, liveness deadline, stall guard, TIME-WAIT.
  void start_user_timeout(Instant now, UserTimeoutCause cause);
  void stop_user_timeout();
  void on_user_timeout(Instant now);
  void arm_liveness_deadline();
  void on_liveness_deadline(Instant now);
  void arm_stall_guard(Instant from);
  void on_stall_guard(Instant now);
  void arm_time_wait(Instant now);
  void enter_time_wait(Instant now);
  void on_time_wait_timeout(Instant now);
  void arm_fin_wait2(Instant now);
  void on_fin_wait2_timeout(Instant now);

  // Immutable and shared (a copy in every connection was 296 of its bytes);
  // set_socket_options() swaps in a changed copy.
  std::shared_ptr<const TcpConfig> cfg_;
  FourTuple tuple_;
  uint64_t id_;
  EventSink* sink_;
  State state_ = State::kClosed;
  Instant state_since_;
  bool passive_ = false;
  bool established_once_ = false;
  ConnectionError error_;
  ConnectionStats stats_;

  // Every timer but the two in xmit_timer_ (whose entries here stay never).
  std::array<Instant, static_cast<size_t>(TimerKind::kCount)> timers_;
  // The retransmission slot: one deadline and what it is for, so the RTO
  // and the loss probe can never both be armed.
  struct XmitTimer {
    Instant when = Instant::never();
    TimerKind kind = TimerKind::kRetransmit;
  } xmit_timer_;

  // Send sequence space (RFC 9293 §3.3.1).
  uint32_t iss_;
  uint32_t snd_una_;
  uint32_t snd_nxt_;
  uint32_t snd_max_;
  uint32_t snd_buf_seq_;  // sequence number of the send buffer's first byte
  uint32_t snd_wnd_ = 0;  // bytes, already scaled
  uint32_t max_snd_wnd_ = 0;
  uint32_t snd_wl1_ = 0, snd_wl2_ = 0;
  // Linux's rcvq_space (adjust_recv_space): what the application read in
  // the last measured round trip; 32 bits each, in padding (IdleFootprint).
  uint32_t rcv_space_bytes_ = 0;
  SendBuffer snd_buf_;
  // Where the large segments sent begin, for checking frag-needed
  // (connection_icmp.cpp).
  SentSegments sent_segs_;
  bool fin_queued_ = false;  // application called close()
  bool orphaned_ = false;    // ...and let go of the connection (orphan())
  bool fin_sent_ = false;
  bool fin_alone_ = false;  // the FIN first went in a segment of its own
  uint32_t fin_seq_ = 0;

  // Receive sequence space.
  uint32_t irs_ = 0;
  uint32_t rcv_nxt_ = 0;
  uint32_t rcv_adv_ = 0;  // right edge of the window last advertised
  // bug.probe_window_negative (RFC 2525 §2.12) tripped: every segment is refused.
  bool wnd_negative_ = false;
  uint32_t last_ack_sent_ = 0;
  uint32_t rcv_space_from_ = 0;  // low 32 bits of the read offset it counts from
  RecvBuffer rcv_buf_;
  bool fin_received_ = false;
  bool have_ooo_fin_ = false;
  uint32_t ooo_fin_seq_ = 0;
  uint32_t rcv_mss_ = 536;      // largest segment seen from the peer
  uint32_t unacked_bytes_ = 0;  // received since our last ACK

  // Negotiated options.
  uint16_t peer_mss_ = 536;  // RFC 9293 §3.7.1 default when no MSS option
  uint32_t snd_mss_ = 536;   // payload per segment after options
  bool push_once_ = false;   // set_socket_options(push): send a held short segment
  // send(more): the tail is held until an ACK, a push or a plain write
  // (more_hold_); while more_tail_, PSH belongs to the segment holding
  // push_seq_, the end of the last write without `more`.
  bool more_hold_ = false;
  bool more_tail_ = false;
  // A write found the send buffer full (Linux's SOCK_NOSPACE): the next ACK
  // that frees room may grow it (expand_send_buffer).
  bool send_blocked_ = false;
  uint32_t push_seq_ = 0;
  uint32_t tso_limit_ = 0;     // set_tso_limit(): largest new-data segment, 0 = snd_mss_
  bool partial_csum_ = false;  // set_partial_checksum()
  uint8_t snd_wscale_ = 0, rcv_wscale_ = 0;
  bool wscale_ok_ = false;  // both SYNs carried the window scale option
  bool ts_enabled_ = false, sack_enabled_ = false;
  uint32_t ts_offset_;
  uint32_t ts_recent_ = 0;
  bool ts_recent_valid_ = false;

  // What poll_transmit owes.
  bool syn_pending_ = false;
  bool ack_pending_ = false;
  bool rst_pending_ = false;
  uint32_t rst_seq_ = 0, rst_ack_ = 0;
  bool rst_with_ack_ = false;
  bool probe_pending_ = false;
  // Local congestion (set_link_congested): Linux's probe timer after
  // tcp_write_xmit could not send (tcp_check_probe_timer, tcp_probe_timer,
  // tcp_send_probe0 with a positive error).
  bool link_congested_ = false;
  // The user timeout counts from the first expiry (icsk_probes_tstamp):
  // ut_clock_ with UserTimeoutCause::kLocalCongestion.
  struct LocalProbe {
    bool active = false;  // the persist slot is the probe0 timer for this
    bool due = false;     // the timer fired: the next send attempt is a probe
    uint8_t probes = 0;   // attempts the device refused (icsk_probes_out, a u8)
  } local_;

  // --- Sender: RTT and congestion control ---
  RttEstimator rtt_;
  std::unique_ptr<CongestionControl> cc_;
  // RFC 3042: bytes limited transmit sent beyond cwnd since the last new ACK.
  uint32_t lt_bytes_ = 0;
  // TcpConfig::app_limited_growth = false, Linux's tcp_cwnd_validate:
  // whether the flight reached cwnd, and the most segments in flight, in
  // the window of data that ends at cwnd_usage_seq_.
  bool cwnd_limited_ = false;
  uint32_t max_segs_out_ = 0;
  uint32_t cwnd_usage_seq_ = 0;
  // When a data segment last went out (RFC 5681 §4.1's idle; Linux lsndtime).
  Instant last_data_tx_ = Instant::never();
  // goodput_bps(): the first data segment, the last ACK of data.
  Instant first_data_tx_ = Instant::never();
  Instant last_data_acked_ = Instant::never();
  // max_burst_segments: data segments sent since the last input, and
  // whether that input was an arriving segment.
  uint64_t burst_ = 0;
  bool burst_from_segment_ = false;
  Instant burst_segment_at_ = Instant::never();
  // PushRule::kLinux: new-data segments sent since the last input (an
  // arriving segment, a write or a timer): every second one carries PSH.
  uint32_t push_run_ = 0;
  // Quick-ACK mode (TcpConfig::quickack_segments): ACKs still owed at once,
  // and when in-order data last arrived (Linux icsk_ack.quick, lrcvtime).
  uint32_t quick_acks_ = 0;
  Instant last_data_rx_ = Instant::never();
  // What the last kCwnd / kRtt events reported (report_windows()).
  uint32_t ev_cwnd_ = 0, ev_ssthresh_ = 0;
  Duration ev_srtt_, ev_rto_;
  bool ev_rtt_reported_ = false;
  // Karn's algorithm without timestamps: time one segment at a time.
  bool rtt_timing_ = false;
  uint32_t rtt_seq_ = 0;
  Instant rtt_start_;
  Instant last_challenge_ack_ = Instant::never();
  int soft_error_ = 0;  // remembered ICMP soft error (RFC 1122 §4.2.3.9)

  // --- Timers: retransmission (RFC 6298) and its retry limit (RFC 1122 §4.2.3.5) ---
  // When that round trip began, in ms of the timestamp clock (ts_now).
  uint32_t rcv_space_since_ms_ = 0;
  struct Retransmission {
    uint32_t count = 0;     // consecutive timeouts of the current head
    Instant first_timeout;  // when the first of them fired
    Instant head_tx;        // when the oldest unacknowledged segment was first sent
    RetransmitTimer kind = RetransmitTimer::kNone;  // why snd_nxt_ < snd_max_
    bool syn_timed_out = false;
  } rtx_;

  // --- Loss recovery: RFC 6582 NewReno or RFC 6675 SACK (loss_recovery.hpp) ---
  std::unique_ptr<LossRecovery> recovery_;
  // RFC 8985 §7 tail-loss probe state; a probe is owed once its timer fired.
  TailLossProbe tlp_;
  bool tlp_pending_ = false;
  // Spurious-response undo (RFC 3708, RFC 3522) and RFC 5682 F-RTO.
  SpuriousUndo undo_;
  struct Frto {
    bool on = false;        // after a timeout, deciding whether it was spurious
    uint32_t high = 0;      // Linux high_seq: SND.MAX at the timeout (step 2b: then)
    uint32_t budget = 0;    // step 2b: new segments owed beyond cwnd (up to two)
    bool new_sent = false;  // step 2b done: new data went out
  } frto_;
  // RFC 2883 §4: the duplicate the next ACK reports in its first SACK block.
  std::optional<wire::SackBlock> dsack_out_;

  // --- Liveness ---
  struct Heard {
    Instant last_heard;   // last acceptable ACK or new data: keepalive's idle clock
    Instant last_any_rx;  // last segment of any kind: the stall guard's clock
    bool stall_ack_pending = false;
  } live_;
  struct Keepalive {
    uint32_t probes_out = 0;
    Instant first_probe;
    bool probe_pending = false;
  } ka_;
  struct Persist {
    uint32_t backoff = 0;     // doublings of the probe interval
    uint32_t unanswered = 0;  // zero-window probes since the last ACK
    Instant first_unanswered;
  } persist_;
  // The user-timeout clock: absent when stopped, so a cause without a start
  // (or a start without a cause) cannot be represented.
  struct UserTimeoutClock {
    Instant start;
    UserTimeoutCause cause;
  };
  std::optional<UserTimeoutClock> ut_clock_;
  Duration user_timeout_;  // in force: configured, or adopted (RFC 5482)

  // Abortive close (RFC 2525 §2.17): close_and_stop_reading() was called, so
  // new data that arrives can never be read.
  bool reads_stopped_ = false;
  // Path MTU discovery (RFC 1191, connection_icmp.cpp).
  void on_frag_needed(Instant now, uint16_t next_hop_mtu, uint32_t quoted_seq);
  void expire_path_mtu(Instant now);  // RFC 1191 §6.3: checked when sending
  // RFC 1191 §3 leaves the floor to the host; Linux's net.ipv4.route.min_pmtu
  // is 552 (512 + 20 + 20): a smaller report is taken as 552, so a forged
  // frag-needed cannot shrink segments below 512 bytes of header room.
  static constexpr uint32_t kMinPathMtu = 552;
  uint32_t pmtu_ = 0;   // learned from frag-needed; 0: none, the MSS rules
  Instant pmtu_since_;  // last frag-needed that set or confirmed pmtu_
};

}  // namespace vigil::tcp
