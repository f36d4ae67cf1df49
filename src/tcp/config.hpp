// Per-connection configuration. Every knob that changes behaviour lives here
// with the RFC section or Linux setting it mirrors (DESIGN.md principle 8);
// profiles fill in the defaults.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/time.hpp"

namespace vigil::tcp {

struct TcpConfig {
  std::string profile = "rfc";

  // --- Segment sizes and buffers ---
  uint16_t mss = 1460;                // MSS we advertise: MTU 1500 - 40 (RFC 9293 §3.7.1)
  uint32_t send_buffer = 256 * 1024;  // bytes the application may queue (SO_SNDBUF)
  uint32_t recv_buffer = 256 * 1024;  // receive window ceiling (SO_RCVBUF)
  // Send-buffer autotuning (Linux tcp_sndbuf_expand): the send buffer
  // starts at send_buffer and grows to room for two congestion windows,
  // up to this cap (tcp_wmem[2]). 0, or a cap not above send_buffer: fixed,
  // as Linux's SO_SNDBUF locks it (SOCK_SNDBUF_LOCK). linux: 4 MiB.
  uint32_t send_buffer_max = 0;
  // Receive-buffer autotuning (Linux tcp_rcv_space_adjust, "dynamic
  // right-sizing"): once per round trip, when the application read more
  // than in the last one, the window's ceiling grows to 2 x that + 16 MSS
  // (more if it is speeding up), up to this cap (tcp_rmem[2]). 0, or a cap
  // not above recv_buffer: fixed, as Linux's SO_RCVBUF locks it. The
  // window scale must cover the cap (window_scale_buffer). linux: 6 MiB.
  uint32_t recv_buffer_max = 0;
  bool window_scaling = true;  // RFC 7323 §2
  // The buffer the window scale is chosen to cover (RFC 7323 §2.3); 0:
  // recv_buffer. Linux sizes it for the largest buffer autotuning may grow
  // to, max(tcp_rmem[2], rmem_max) (tcp_select_initial_window), so its
  // shift is 7 or 8 while the buffer itself starts at tcp_rmem[1].
  uint32_t window_scale_buffer = 0;
  bool timestamps = true;  // RFC 7323 §3 (RTTM and PAWS)
  bool sack = true;        // RFC 2018: offer SACK-permitted, send SACK blocks
  uint32_t initial_window_segments =
      3;  // RFC 5681 §3.1 / RFC 3390: 3 for MSS 1095..2190; linux: 10 (RFC 6928)
  // Sender loss recovery when SACK was negotiated: kSack, the RFC 6675
  // scoreboard (every hole resent within a round trip, SACKed data never
  // resent after a timeout); kNewReno, RFC 6582 (one hole per round trip,
  // go-back-N after a timeout). Without SACK negotiated NewReno always runs.
  enum class LossRecovery : uint8_t { kSack, kNewReno };
  LossRecovery loss_recovery = LossRecovery::kSack;
  // RFC 6937 Proportional Rate Reduction (PRR-SSRB) bounds what RFC 6675
  // recovery sends: cwnd = pipe + sndcnt on every ACK, ssthresh at the end
  // (Linux tcp_cwnd_reduction). Off: RFC 6675's cwnd = ssthresh throughout.
  bool prr = false;
  // prr.bound=linux: PRR-SSRB's extra SMSS only on an ACK that advances
  // SND.UNA and marks nothing newly lost, PRR-CRB otherwise, and at least
  // one segment before recovery's first send (Linux tcp_cwnd_reduction).
  // Off (ssrb): RFC 6937 §3's PRR-SSRB on every ACK.
  bool prr_linux_bound = false;
  // rack.rtt=linux: RACK.rtt from the segment Linux's tcp_rack_advance
  // sees last on an ACK (the highest cumulatively acknowledged, else the
  // highest newly SACKed), not RFC 8985's latest sent (rack.hpp).
  bool rack_linux_rtt = false;
  // Congestion control: RFC 5681 NewReno, or RFC 9438 CUBIC (Linux's
  // default). The RFC 2525 §2.6 emulation is NewReno's.
  enum class Congestion : uint8_t { kNewReno, kCubic };
  Congestion congestion = Congestion::kNewReno;
  // RFC 8985 §7 Tail Loss Probe: with SACK, a probe 2·SRTT after the last
  // send (+200 ms for a lone segment), before the RTO (tlp.hpp). linux: on
  // (tcp_early_retrans 3, the default).
  bool tlp = false;
  // RFC 8985 §6 RACK: with RFC 6675 recovery, a segment is lost once one
  // sent after it was delivered and RACK.rtt + reo_wnd have passed (kRack),
  // not after three duplicate ACKs (kDupAck). linux: RACK (tcp_recovery 1).
  enum class LossDetection : uint8_t { kDupAck, kRack };
  LossDetection loss_detection = LossDetection::kDupAck;
  // RFC 3042 limited transmit (RFC 5681 §3.2 step 1, a SHOULD): on the
  // first and second duplicate ACK one segment of new data each, beyond
  // cwnd by at most 2 SMSS; left out of the ssthresh that follows.
  bool limited_transmit = true;
  // RFC 2883 §4 (receiver): an ACK answering a duplicate segment reports it
  // in its first SACK block (D-SACK). Linux: tcp_dsack = 1; rfc() sets off.
  bool dsack = true;
  // Undo a window reduction shown spurious (undo.hpp): every retransmission
  // of the episode D-SACKed (RFC 3708) or an ACK echoing a timestamp older
  // than the first retransmission (Eifel, RFC 3522). Linux always does
  // (tcp_try_undo_*); rfc: off, both RFCs are Experimental.
  bool undo = false;
  // RFC 5682 F-RTO after a timeout (the SACK-enhanced variant, Linux
  // tcp_frto = 2): new data instead of the go-back on the first ACK of
  // progress; an ACK of data never resent then shows the timeout spurious
  // and undoes it. rfc: off (an optional, MAY-level algorithm).
  bool frto = false;
  // RFC 3465 §2.2 slow start: cwnd grows per ACK by at most L = this many
  // SMSS of the bytes it acknowledges. 0: no limit, every acknowledged byte
  // counts (linux: tcp_slow_start adds all the packets an ACK delivers).
  uint32_t abc_limit_segments = 2;
  // What an ACK of new data grows cwnd by (slow start and avoidance).
  // kAcked: every byte the cumulative ACK newly covers (RFC 3465 §2.1,
  // RFC 5681 §3.1). kDelivered: only bytes no earlier ACK reported
  // delivered, as Linux counts them (tcp_clean_rtx_queue skips SACKed
  // segments, tcp_remove_reno_sacks those duplicate ACKs stood for, at
  // least one segment; tcp_cong_control grows by this "acked_sacked").
  enum class CwndCount : uint8_t { kAcked, kDelivered };
  CwndCount cwnd_count = CwndCount::kAcked;
  // Whether cwnd grows while the application, not cwnd, limits the
  // flight. true: every ACK of new data grows it (RFC 5681). false, as
  // Linux (tcp_is_cwnd_limited, kept by tcp_cwnd_validate): only while the
  // last window was cwnd-limited, or in slow start while cwnd < 2 x the
  // most segments in flight in that window (packetdrill slow-start-ack-
  // per-2pkt-send-5pkt: 5 in flight keep IW 10; -send-6pkt: 12).
  bool app_limited_growth = true;
  // Restart after idle, when nothing was sent for longer than the RTO and
  // nothing is in flight: kRfc5681, RFC 5681 §4.1 (a SHOULD), cwnd =
  // min(IW, cwnd); kLinux, tcp_cwnd_restart (net.ipv4.
  // tcp_slow_start_after_idle = 1): ssthresh = max(ssthresh, 3/4 cwnd),
  // cwnd halved for every further RTO of idle, not below min(IW, cwnd).
  enum class IdleRestart : uint8_t { kOff, kRfc5681, kLinux };
  IdleRestart idle_restart = IdleRestart::kRfc5681;

  // --- Retransmission timer, RFC 6298 ---
  Duration rto_initial = Duration::seconds(1);       // §2.1
  Duration rto_syn_fallback = Duration::seconds(3);  // §5.7: RTO after a SYN timed out
  Duration rto_min = Duration::seconds(1);           // §2.4; linux: 200 ms (TCP_RTO_MIN)
  Duration rto_max = Duration::seconds(60);          // §2.5; linux: 120 s (TCP_RTO_MAX)
  Duration clock_granularity = Duration::millis(1);  // G in §2.2
  // linux: RTO = SRTT + max(rto.min, 4*RTTVAR) (tcp_set_rto: the floor is on
  // the variance term), instead of RFC 6298's max(rto.min, SRTT + 4*RTTVAR).
  bool linux_rto_formula = false;
  // Linux's timers run on jiffies: each RTO is a whole number of them
  // (usecs_to_jiffies), and every timer fires on its timer wheel's tick,
  // up to a wheel level's granularity late (kernel_timer.hpp). 0: exact
  // timers; linux: 250, the CONFIG_HZ of the kernel the schedules in
  // tests/data/linux-schedules.json were measured on.
  uint32_t timer_hz = 0;
  // RFC 2525 §2.10 emulation: never back off the RTO (a bug, for traces).
  bool bug_no_rto_backoff = false;
  // RFC 2525 §2.6 emulation: congestion avoidance adds MSS*MSS/cwnd + MSS/8
  // per ACK of new data (a bug, for traces).
  bool bug_extra_additive_constant = false;
  // RFC 2525 §2.8 emulation: cwnd stays inflated when fast recovery ends.
  bool bug_no_window_deflation = false;
  // RFC 2525 §2.12 emulation: once a probe byte is taken past the advertised
  // edge, the window is computed negative and every segment is discarded
  // until a window update goes out.
  bool bug_probe_window_negative = false;
  // Seed 003's feared failure (RFC 9293 §3.8.6.1, RFC 1122 §4.2.3.6): a
  // keepalive timer blind to persist. It probes while the peer's window is
  // closed, and the peer's zero-window ACKs do not count as hearing from
  // it, so a peer that answers every probe is declared dead.
  bool bug_keepalive_while_persisting = false;

  // --- Retry limits, RFC 1122 §4.2.3.5 (R2) ---
  // Data: a count of timeouts, or (retries_data_time > 0) the time since the
  // oldest unacknowledged segment was first sent. R2 MUST be >= 100 s: 15
  // timeouts of a 1 s RTO doubling to 60 s take 663 s.
  uint32_t retries_data = 15;  // linux: net.ipv4.tcp_retries2
  Duration retries_data_time = Duration::zero();
  // linux: R2 is the time tcp_retries2 timeouts would take from TCP_RTO_MIN
  // doubling to TCP_RTO_MAX (Linux's tcp_model_timeout): 924.6 s for 15.
  bool linux_retry_model = false;
  // SYN: R2 MUST be >= 3 minutes; 7 timeouts at 1,2,4,...,60 s fail at 183 s.
  uint32_t retries_syn = 7;  // linux: net.ipv4.tcp_syn_retries = 6
  Duration retries_syn_time = Duration::zero();
  // linux: net.ipv4.tcp_syn_linear_timeouts: this many SYN retransmissions
  // at a fixed RTO before back-off starts, on top of tcp_syn_retries.
  uint32_t syn_linear_timeouts = 0;

  // --- Keepalive, RFC 1122 §4.2.3.6 (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT) ---
  bool keepalive = false;                             // MUST default to off
  Duration keepalive_idle = Duration::seconds(7200);  // MUST be >= 2 hours by default
  Duration keepalive_interval = Duration::seconds(75);
  uint32_t keepalive_count = 9;
  uint32_t keepalive_probe_bytes = 0;  // 0, or 1 garbage byte for peers that need it
  // While keepalive is on, declare the peer dead once nothing has been heard
  // for idle + interval * count, whichever mechanism is probing then
  // (vigil's answer to "retransmission silently overrides keepalive").
  bool liveness_deadline = true;  // linux: off (Linux has no such rule)
  // The iPXE patch: a pure ACK every period on an established connection,
  // restarted by any arriving segment. Never kills. Zero: off.
  Duration stall_guard_period = Duration::zero();

  // --- User timeout, RFC 5482 / Linux TCP_USER_TIMEOUT. Zero: off. ---
  Duration user_timeout = Duration::zero();
  // Where its clock starts for unacknowledged data: rfc, when the data is
  // first sent without progress; linux, at the first timeout retransmission.
  bool user_timeout_from_first_rto = false;
  // RFC 5482 User Timeout Option (kind 28), off by default: advertise our
  // user_timeout on the SYN / SYN-ACK, and adopt the peer's as
  // min(U_LIMIT, max(ADV_UTO, REMOTE_UTO, L_LIMIT)) (RFC 5482 §3.1).
  bool user_timeout_option = false;
  Duration user_timeout_lower = Duration::seconds(100);   // L_LIMIT (RFC 5482 §3.1: R2-like floor)
  Duration user_timeout_upper = Duration::seconds(3600);  // U_LIMIT

  // What the user timeout bounds in a zero window: rfc, probes that go
  // unanswered (an answer stops the clock; RFC 5482 speaks of
  // unacknowledged data); linux (5.11 and later, icsk_probes_tstamp), the
  // zero window itself, from its first probe until it opens, answered or not.
  bool user_timeout_zero_window_episode = false;

  // --- Persist, RFC 1122 §4.2.2.17 / RFC 9293 §3.8.6.1 ---
  // kData: one byte of new data at SND.NXT (BSD, the RFC's probe).
  // kSeqMinusOne: SEG.SEQ = SND.UNA - 1 with no data, as Linux sends it.
  enum class PersistProbe : uint8_t { kData, kSeqMinusOne };
  PersistProbe persist_probe = PersistProbe::kData;

  // --- Acknowledgements and sending, RFC 1122 §4.2.3.2-4 ---
  Duration delayed_ack = Duration::millis(200);  // <= 500 ms per RFC 1122; linux max 200 ms
  // Linux's quick-ACK mode (tcp_event_data_recv -> tcp_incr_quickack): on
  // the first data of a connection, and again after more than an RTO
  // without data, ACK the next min(this, max(2, rcv_wnd / (2 * rcv_mss)))
  // in-order data segments at once, each ACK owed counting one
  // (tcp_dec_quickack_mode). 0: off, every second segment or the delayed
  // ACK timer (RFC 1122 §4.2.3.2). linux: 16 (TCP_MAX_QUICKACKS).
  uint32_t quickack_segments = 0;
  bool nodelay = false;  // TCP_NODELAY: turn Nagle off (RFC 1122 §4.2.3.4)
  // Linux TCP_CORK (and MSG_MORE): hold every segment shorter than the MSS,
  // even with nothing in flight and Nagle off, until uncorked (tcp_nagle_check
  // with TCP_NAGLE_CORK). Set through the BSD layer (src/posix).
  bool cork = false;
  // Which data segments carry PSH. kLastByte: the one that empties the send
  // buffer (RFC 9293 §3.9.1: the push at the end of the caller's data).
  // kLinux, measured from Linux 6.18 under packetdrill (docs/conformance.md):
  // besides that one, the last segment of each TSO packet of two or more
  // segments in one output pass (a pass answers one write, ACK or timer;
  // packets of min_tso_segs, below): every second segment with Linux's
  // default tcp_min_tso_segs = 2; a lone segment (limited transmit, one PRR send,
  // a new-data loss probe) goes without; a retransmission carries PSH when
  // it ends where the queued data ends, as Linux resends the skb with the
  // flags of its first transmission.
  enum class PushRule : uint8_t { kLastByte, kLinux };
  PushRule push = PushRule::kLastByte;
  // Linux net.ipv4.tcp_min_tso_segs: the segments of one TSO packet under
  // PushRule::kLinux (tcp_tso_autosize's floor; its pacing-rate term is not
  // modelled), at most half of cwnd (tcp_cwnd_test). Each packet of two or
  // more segments ends in PSH. Unused with kLastByte.
  uint32_t min_tso_segs = 2;

  // --- Connection teardown ---
  // Maximum segment lifetime: TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2,
  // MSL = 2 minutes). linux: 30 s, giving Linux's fixed 60 s TIME_WAIT.
  Duration msl = Duration::seconds(120);
  // Linux tcp_fin_timeout: FIN-WAIT-2 ends (silently, no RST) this long
  // after it began. RFC 9293 has no such timer: zero (off) in rfc; linux 60 s.
  Duration fin_wait2_timeout = Duration::zero();
  // Linux tcp_orphan_retries for a connection the application has closed
  // while data waits behind a zero window (tcp_probe_timer): 0 means 8
  // while the probe interval is below rto.max, and the end once it is not.
  // -1: off (rfc: RFC 9293 has no orphans). linux: 0, the sysctl default.
  int32_t orphan_retries = -1;

  // An ACK of data not yet sent (SEG.ACK > SND.NXT): true answers it with
  // an ACK (RFC 9293 §3.10.7.4, rate-limited as RFC 5961 §5.2's); false
  // drops it silently, as Linux's tcp_ack does
  // (SKB_DROP_REASON_TCP_ACK_UNSENT_DATA; packetdrill ts_recent/invalid_ack).
  bool ack_unsent_reply = true;

  // --- RFC 5961 ---
  Duration challenge_ack_interval =
      Duration::millis(500);  // at most one challenge ACK per interval
                              // (linux: tcp_invalid_ratelimit)

  // --- ICMP destination unreachable, RFC 1122 §4.2.3.9 / RFC 5927 ---
  // In SYN-SENT and SYN-RECEIVED: false aborts only on RFC 1122's hard codes
  // 2 and 3 (protocol, port); true aborts on every code but frag-needed, as
  // Linux's tcp_v4_err does (linux profile). Synchronized states never abort.
  bool icmp_handshake_abort_any = false;
  // icmp.handshake_abort=none: no code aborts the handshake either, all are
  // soft errors (a stack that ignores ICMP for TCP, as lwIP 2.1 does); so
  // `vigil conform`'s icmp.syn-sent-port-unreachable can be seen to fail.
  bool icmp_handshake_ignore = false;

  static TcpConfig rfc();
  static TcpConfig linux_profile();
  // Every knob equal: the stack shares one immutable copy among the
  // connections of equal configs (Stack::shared_config, issue 15).
  bool operator==(const TcpConfig&) const = default;
  // A profile by name ("rfc", "linux"); false if unknown.
  static bool from_profile(std::string_view name, TcpConfig* out);

  // Sets a knob by its contract name ("rto.min", "mss" ...). Returns an
  // empty string on success, otherwise a message that names the knob's
  // range (docs/knobs.md) or the cross-field rule it breaks; on error the
  // config is unchanged.
  std::string set(std::string_view key, std::string_view value);
  // The range check of set() alone, for a caller that sets several knobs
  // and then calls validate() once, so their order does not matter.
  std::string set_one(std::string_view key, std::string_view value);
  // The rules between knobs: rto.min <= rto.max, rto.initial <= rto.max,
  // user_timeout.lower <= user_timeout.upper. Empty when they hold.
  std::string validate() const;
  static const std::vector<std::string>& knob_names();
};

}  // namespace vigil::tcp
