#include "tcp/config.hpp"

#include "util/knobs.hpp"

namespace vigil::tcp {

TcpConfig TcpConfig::rfc() {
  TcpConfig c;
  // RFC 2883 is an optional extension with no MUST or SHOULD to send it:
  // the rfc profile's ACKs stay RFC 2018's (the linux profile sends them).
  c.dsack = false;
  return c;
}

TcpConfig TcpConfig::linux_profile() {
  TcpConfig c;
  c.profile = "linux";
  c.initial_window_segments = 10;        // RFC 6928, Linux TCP_INIT_CWND
  c.rto_min = Duration::millis(200);     // TCP_RTO_MIN
  c.rto_max = Duration::seconds(120);    // TCP_RTO_MAX
  c.delayed_ack = Duration::millis(40);  // TCP_DELACK_MIN: Linux's quick ACK timer
  c.recv_buffer = 128 * 1024;            // tcp_rmem default 131072
  c.send_buffer = 16 * 1024;             // tcp_wmem default 16384
  c.send_buffer_max = 4 * 1024 * 1024;   // tcp_wmem[2] 4194304: tcp_sndbuf_expand's cap
  c.recv_buffer_max = 6 * 1024 * 1024;   // tcp_rmem[2] 6291456: tcp_rcv_space_adjust's cap
  // tcp_select_initial_window scales for max(tcp_rmem[2], rmem_max): 7.
  c.window_scale_buffer = 6 * 1024 * 1024;
  c.msl = Duration::seconds(30);  // TCP_TIMEWAIT_LEN is 60 s = 2 * 30 s
  c.linux_retry_model = true;
  c.linux_rto_formula = true;  // tcp_retries2 as time (tcp_model_timeout)
  c.retries_syn = 6;           // tcp_syn_retries
  c.syn_linear_timeouts = 4;   // tcp_syn_linear_timeouts (Linux 6.x)
  c.liveness_deadline = false;
  c.user_timeout_from_first_rto = true;
  c.persist_probe = PersistProbe::kSeqMinusOne;
  c.icmp_handshake_abort_any = true;  // tcp_v4_err: SYN_SENT/SYN_RECV done on any unreachable
  c.user_timeout_zero_window_episode = true;    // icsk_probes_tstamp (Linux 5.11+)
  c.fin_wait2_timeout = Duration::seconds(60);  // tcp_fin_timeout
  c.orphan_retries = 0;                         // tcp_orphan_retries
  c.prr = true;                                 // tcp_cwnd_reduction: PRR since Linux 3.2
  c.prr_linux_bound = true;                     // tcp_cwnd_reduction's SSRB/CRB choice
  c.rack_linux_rtt = true;                      // tcp_rack_advance's rack.rtt_us
  c.tlp = true;                                 // tcp_early_retrans 3: TLP
  c.loss_detection = LossDetection::kRack;      // tcp_recovery 1: RACK
  c.undo = true;                                // tcp_try_undo_dsack, tcp_packet_delayed
  c.frto = true;                                // tcp_frto = 2 (default)
  c.congestion = Congestion::kCubic;            // tcp_congestion_control default since 2.6.19
  c.idle_restart = IdleRestart::kLinux;         // tcp_slow_start_after_idle = 1
  c.push = PushRule::kLinux;                    // PSH per two-segment skb (tcp_mark_push)
  c.quickack_segments = 16;                     // TCP_MAX_QUICKACKS
  c.abc_limit_segments = 0;                     // tcp_slow_start: no per-ACK limit
  c.cwnd_count = CwndCount::kDelivered;         // tcp_cong_control's acked_sacked
  c.app_limited_growth = false;                 // tcp_is_cwnd_limited
  // ack_unsent_reply stays true: Linux 6.18's tcp_ack answers an ACK of
  // unsent data with a (rate-limited) challenge ACK, measured here with
  // `vigil conform --target linux --case rfc5961.ack-unsent-data`; older
  // kernels dropped it silently, as packetdrill's ts_recent/invalid_ack
  // still expects.
  return c;
}

bool TcpConfig::from_profile(std::string_view name, TcpConfig* out) {
  if (name == "rfc") {
    *out = rfc();
    return true;
  }
  if (name == "linux") {
    *out = linux_profile();
    return true;
  }
  return false;
}

namespace {

using util::parse_bool;
using util::parse_u64;
using Knob = util::Knob<TcpConfig>;

template <typename T>
Knob uint_knob(const char* name, T TcpConfig::*field, uint64_t lo, uint64_t hi) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            uint64_t x = 0;
            if (!parse_u64(v, hi, &x) || x < lo) {
              return "expects a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi);
            }
            c.*field = static_cast<T>(x);
            return {};
          }};
}

// A duration knob accepts [lo, hi], and also 0 when zero_is_off (the knob
// is switched off by 0, as TCP_USER_TIMEOUT is). `why` names the source of
// the range for the error message. The bounds keep every timer finite and
// positive: a zero period re-arms at the same instant for ever (1 ns ran
// out of memory; issue 9 point 5); docs/knobs.md justifies each one.
struct DurationRange {
  Duration lo;
  Duration hi;
  bool zero_is_off = false;
  const char* why = nullptr;
};

std::string describe(const DurationRange& r) {
  std::string s = r.zero_is_off ? "0 (off) or a duration from " : "a duration from ";
  s += format_duration(r.lo) + " to " + format_duration(r.hi);
  if (r.why != nullptr) s += std::string(" (") + r.why + ")";
  return s;
}

bool in_range(Duration d, const DurationRange& r) {
  return (r.zero_is_off && d == Duration::zero()) || (d >= r.lo && d <= r.hi);
}

Knob duration_knob(const char* name, Duration TcpConfig::*field, DurationRange range) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            Duration d;
            if (!parse_duration(std::string(v), &d) || !in_range(d, range)) {
              return "expects " + describe(range) + ", with a unit such as 200ms or 75s";
            }
            c.*field = d;
            return {};
          }};
}

// A retry limit as a count ("15") or as a time ("100s"); setting one
// clears the other. A count keeps the profile's reading of it (linux: the
// time that many timeouts take); a time is used as given.
Knob retries_knob(const char* name, uint32_t TcpConfig::*count, Duration TcpConfig::*time,
                  uint64_t max_count, DurationRange range) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            uint64_t x = 0;
            if (parse_u64(v, max_count, &x) && x >= 1) {
              c.*count = static_cast<uint32_t>(x);
              c.*time = Duration::zero();
              return {};
            }
            Duration d;
            if (parse_duration(std::string(v), &d) && in_range(d, range)) {
              c.*time = d;
              return {};
            }
            return "expects a count from 1 to " + std::to_string(max_count) + " or " +
                   describe(range);
          }};
}

Knob bool_knob(const char* name, bool TcpConfig::*field) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            if (!parse_bool(v, &(c.*field))) return "expects true or false";
            return {};
          }};
}

// The ranges (docs/knobs.md has the table and the reasons).
constexpr int64_t kIntMaxMs = 2147483647;  // INT_MAX: TCP_USER_TIMEOUT is an int of ms
// RTO bounds: 1 ms is the clock granularity G (RFC 6298 §2.2) and the
// smallest rto_min Linux's per-route RTAX_RTO_MIN takes; 120 s is Linux's
// TCP_RTO_MAX, the ceiling of every RTO there.
const DurationRange kRtoRange{Duration::millis(1), Duration::seconds(120), false, nullptr};
// rto.max: RFC 6298 §2.5 allows a ceiling; Linux's tcp_rto_max_ms takes
// 1 s to 120 s.
const DurationRange kRtoMaxRange{Duration::seconds(1), Duration::seconds(120), false,
                                 "Linux tcp_rto_max_ms"};
// Linux MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL: 32767 s, at least 1 s.
const DurationRange kKeepIdleRange{Duration::seconds(1), Duration::seconds(32767), false,
                                   "Linux TCP_KEEPIDLE"};
const DurationRange kKeepIntvlRange{Duration::seconds(1), Duration::seconds(32767), false,
                                    "Linux TCP_KEEPINTVL"};
// The stall guard is a keepalive-like period: same bounds, 0 for off.
const DurationRange kStallGuardRange{Duration::seconds(1), Duration::seconds(32767), true, nullptr};
// Linux TCP_USER_TIMEOUT: 0 (off) to INT_MAX ms; a retry time uses the same ceiling.
const DurationRange kUserTimeoutOffRange{Duration::millis(1), Duration::millis(kIntMaxMs), true,
                                         "Linux TCP_USER_TIMEOUT"};
const DurationRange kUserTimeoutRange{Duration::millis(1), Duration::millis(kIntMaxMs), false,
                                      nullptr};
// RFC 5482 §3: the option carries at most 32767 minutes.
const DurationRange kUtoLimitRange{Duration::seconds(1), Duration::seconds(32767 * 60), false,
                                   "RFC 5482 §3: at most 32767 minutes"};
// RFC 5681 §4.2: an ACK MUST be generated within 500 ms.
const DurationRange kDelayedAckRange{Duration::millis(1), Duration::millis(500), false,
                                     "RFC 5681 §4.2"};
// RFC 9293 §3.4.2 takes MSL = 2 minutes, Linux 30 s; an hour bounds
// TIME-WAIT to 2 hours.
const DurationRange kMslRange{Duration::seconds(1), Duration::seconds(3600), false, nullptr};
// RFC 5961 §7 / Linux tcp_invalid_ratelimit; 0 sends every challenge ACK.
const DurationRange kChallengeAckRange{Duration::millis(1), Duration::seconds(60), true, nullptr};
// Linux caps TCP_LINGER2 at TCP_FIN_TIMEOUT_MAX (120 s); 0 here is off
// (RFC 9293 has no FIN-WAIT-2 timer).
const DurationRange kFinWait2Range{Duration::seconds(1), Duration::seconds(120), true,
                                   "Linux TCP_FIN_TIMEOUT_MAX"};

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> k = {
      uint_knob("mss", &TcpConfig::mss, 88, 65495),
      uint_knob("send_buffer", &TcpConfig::send_buffer, 1, 1u << 30),
      uint_knob("send_buffer.max", &TcpConfig::send_buffer_max, 0, 1u << 30),
      uint_knob("recv_buffer", &TcpConfig::recv_buffer, 1, 1u << 30),
      uint_knob("recv_buffer.max", &TcpConfig::recv_buffer_max, 0, 1u << 30),
      // 0: the scale covers recv_buffer alone.
      uint_knob("window_scale_buffer", &TcpConfig::window_scale_buffer, 0, 1u << 30),
      bool_knob("window_scaling", &TcpConfig::window_scaling),
      bool_knob("timestamps", &TcpConfig::timestamps),
      bool_knob("sack", &TcpConfig::sack),
      uint_knob("initial_window", &TcpConfig::initial_window_segments, 1, 100),
      duration_knob("rto.initial", &TcpConfig::rto_initial, kRtoRange),
      duration_knob("rto.min", &TcpConfig::rto_min, kRtoRange),
      duration_knob("rto.max", &TcpConfig::rto_max, kRtoMaxRange),
      // CONFIG_HZ takes 100, 250, 300 or 1000; 0 is exact timers.
      uint_knob("timer.hz", &TcpConfig::timer_hz, 0, 1000),
      retries_knob("retries.data", &TcpConfig::retries_data, &TcpConfig::retries_data_time, 255,
                   kUserTimeoutRange),
      retries_knob("retries.syn", &TcpConfig::retries_syn, &TcpConfig::retries_syn_time, 127,
                   kUserTimeoutRange),
      uint_knob("retries.syn_linear", &TcpConfig::syn_linear_timeouts, 0, 127),
      bool_knob("keepalive.enabled", &TcpConfig::keepalive),
      duration_knob("keepalive.idle", &TcpConfig::keepalive_idle, kKeepIdleRange),
      duration_knob("keepalive.interval", &TcpConfig::keepalive_interval, kKeepIntvlRange),
      uint_knob("keepalive.count", &TcpConfig::keepalive_count, 1, 127),
      uint_knob("keepalive.probe_bytes", &TcpConfig::keepalive_probe_bytes, 0, 1),
      bool_knob("liveness_deadline", &TcpConfig::liveness_deadline),
      duration_knob("stall_guard.period", &TcpConfig::stall_guard_period, kStallGuardRange),
      duration_knob("user_timeout", &TcpConfig::user_timeout, kUserTimeoutOffRange),
      bool_knob("user_timeout.from_first_rto", &TcpConfig::user_timeout_from_first_rto),
      bool_knob("user_timeout.option", &TcpConfig::user_timeout_option),
      duration_knob("user_timeout.lower", &TcpConfig::user_timeout_lower, kUtoLimitRange),
      duration_knob("user_timeout.upper", &TcpConfig::user_timeout_upper, kUtoLimitRange),
      {"loss_recovery",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "sack") {
           c.loss_recovery = TcpConfig::LossRecovery::kSack;
         } else if (v == "newreno") {
           c.loss_recovery = TcpConfig::LossRecovery::kNewReno;
         } else {
           return "expects sack or newreno";
         }
         return {};
       }},
      bool_knob("prr", &TcpConfig::prr),
      {"prr.bound",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "ssrb") {
           c.prr_linux_bound = false;
         } else if (v == "linux") {
           c.prr_linux_bound = true;
         } else {
           return "expects ssrb or linux";
         }
         return {};
       }},
      {"rack.rtt",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "rfc") {
           c.rack_linux_rtt = false;
         } else if (v == "linux") {
           c.rack_linux_rtt = true;
         } else {
           return "expects rfc or linux";
         }
         return {};
       }},
      bool_knob("tlp", &TcpConfig::tlp),
      {"loss_detection",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "dupack") {
           c.loss_detection = TcpConfig::LossDetection::kDupAck;
         } else if (v == "rack") {
           c.loss_detection = TcpConfig::LossDetection::kRack;
         } else {
           return "expects dupack or rack";
         }
         return {};
       }},
      {"congestion",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "newreno") {
           c.congestion = TcpConfig::Congestion::kNewReno;
         } else if (v == "cubic") {
           c.congestion = TcpConfig::Congestion::kCubic;
         } else {
           return "expects newreno or cubic";
         }
         return {};
       }},
      bool_knob("limited_transmit", &TcpConfig::limited_transmit),
      bool_knob("dsack", &TcpConfig::dsack),
      bool_knob("undo", &TcpConfig::undo),
      bool_knob("frto", &TcpConfig::frto),
      uint_knob("abc_limit", &TcpConfig::abc_limit_segments, 0, 100),
      bool_knob("app_limited_growth", &TcpConfig::app_limited_growth),
      {"cwnd_count",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "acked") {
           c.cwnd_count = TcpConfig::CwndCount::kAcked;
         } else if (v == "delivered") {
           c.cwnd_count = TcpConfig::CwndCount::kDelivered;
         } else {
           return "expects acked or delivered";
         }
         return {};
       }},
      {"idle_restart",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "off") {
           c.idle_restart = TcpConfig::IdleRestart::kOff;
         } else if (v == "rfc5681") {
           c.idle_restart = TcpConfig::IdleRestart::kRfc5681;
         } else if (v == "linux") {
           c.idle_restart = TcpConfig::IdleRestart::kLinux;
         } else {
           return "expects off, rfc5681 or linux";
         }
         return {};
       }},
      {"push",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "last_byte") {
           c.push = TcpConfig::PushRule::kLastByte;
         } else if (v == "linux") {
           c.push = TcpConfig::PushRule::kLinux;
         } else {
           return "expects last_byte or linux";
         }
         return {};
       }},
      uint_knob("min_tso_segs", &TcpConfig::min_tso_segs, 1, 255),
      {"persist.probe",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "data") {
           c.persist_probe = TcpConfig::PersistProbe::kData;
         } else if (v == "seq_minus_one") {
           c.persist_probe = TcpConfig::PersistProbe::kSeqMinusOne;
         } else {
           return "expects data or seq_minus_one";
         }
         return {};
       }},
      bool_knob("bug.no_rto_backoff", &TcpConfig::bug_no_rto_backoff),
      bool_knob("bug.extra_additive_constant", &TcpConfig::bug_extra_additive_constant),
      bool_knob("bug.no_window_deflation", &TcpConfig::bug_no_window_deflation),
      bool_knob("bug.probe_window_negative", &TcpConfig::bug_probe_window_negative),
      bool_knob("bug.keepalive_while_persisting", &TcpConfig::bug_keepalive_while_persisting),
      duration_knob("delayed_ack", &TcpConfig::delayed_ack, kDelayedAckRange),
      uint_knob("quickack", &TcpConfig::quickack_segments, 0, 16),
      bool_knob("nodelay", &TcpConfig::nodelay),
      bool_knob("ack_unsent_reply", &TcpConfig::ack_unsent_reply),
      duration_knob("msl", &TcpConfig::msl, kMslRange),
      duration_knob("challenge_ack_interval", &TcpConfig::challenge_ack_interval,
                    kChallengeAckRange),
      {"icmp.handshake_abort",
       [](TcpConfig& c, std::string_view v) -> std::string {
         c.icmp_handshake_ignore = false;
         if (v == "hard") {
           c.icmp_handshake_abort_any = false;
         } else if (v == "any") {
           c.icmp_handshake_abort_any = true;
         } else if (v == "none") {
           c.icmp_handshake_abort_any = false;
           c.icmp_handshake_ignore = true;
         } else {
           return "expects hard, any or none";
         }
         return {};
       }},
      bool_knob("user_timeout.zero_window_episode", &TcpConfig::user_timeout_zero_window_episode),
      duration_knob("fin_wait2_timeout", &TcpConfig::fin_wait2_timeout, kFinWait2Range),
      {"orphan_retries",
       [](TcpConfig& c, std::string_view v) -> std::string {
         uint64_t x = 0;
         if (v == "off") {
           c.orphan_retries = -1;
         } else if (parse_u64(v, 255, &x)) {
           c.orphan_retries = static_cast<int32_t>(x);
         } else {
           return "expects off or a count from 0 to 255 (0: Linux's 8 while alive)";
         }
         return {};
       }},
  };
  return k;
}

}  // namespace

std::string TcpConfig::set_one(std::string_view key, std::string_view value) {
  return util::set_knob(knobs(), *this, key, value, "knobs");
}

std::string TcpConfig::validate() const {
  if (rto_min > rto_max) {
    return "rto.min (" + format_duration(rto_min) + ") must not exceed rto.max (" +
           format_duration(rto_max) + ")";
  }
  // An initial RTO above the ceiling would shrink at its first back-off.
  if (rto_initial > rto_max) {
    return "rto.initial (" + format_duration(rto_initial) + ") must not exceed rto.max (" +
           format_duration(rto_max) + ")";
  }
  // RFC 5482 §3.1: min(U_LIMIT, max(..., L_LIMIT)) needs L_LIMIT <= U_LIMIT.
  if (user_timeout_lower > user_timeout_upper) {
    return "user_timeout.lower (" + format_duration(user_timeout_lower) +
           ") must not exceed user_timeout.upper (" + format_duration(user_timeout_upper) + ")";
  }
  return {};
}

std::string TcpConfig::set(std::string_view key, std::string_view value) {
  TcpConfig next = *this;
  std::string err = next.set_one(key, value);
  if (err.empty()) err = next.validate();
  if (err.empty()) *this = std::move(next);
  return err;
}

const std::vector<std::string>& TcpConfig::knob_names() {
  static const std::vector<std::string> names = util::knob_names(knobs());
  return names;
}

}  // namespace vigil::tcp
