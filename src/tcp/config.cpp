#include "tcp/config.hpp"

#include <charconv>
#include <functional>

namespace vigil::tcp {

TcpConfig TcpConfig::rfc() { return TcpConfig{}; }

TcpConfig TcpConfig::linux_profile() {
  TcpConfig c;
  c.profile = "linux";
  c.initial_window_segments = 10;        // RFC 6928, Linux TCP_INIT_CWND
  c.rto_min = Duration::millis(200);     // TCP_RTO_MIN
  c.rto_max = Duration::seconds(120);    // TCP_RTO_MAX
  c.delayed_ack = Duration::millis(40);  // TCP_DELACK_MIN: Linux's quick ACK timer
  c.recv_buffer = 128 * 1024;            // tcp_rmem default 131072
  c.send_buffer = 16 * 1024;             // tcp_wmem default 16384
  c.msl = Duration::seconds(30);         // TCP_TIMEWAIT_LEN is 60 s = 2 * 30 s
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

bool parse_u64(std::string_view v, uint64_t max, uint64_t* out) {
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x > max) return false;
  *out = x;
  return true;
}

bool parse_bool(std::string_view v, bool* out) {
  if (v == "1" || v == "true" || v == "on" || v == "yes") {
    *out = true;
    return true;
  }
  if (v == "0" || v == "false" || v == "off" || v == "no") {
    *out = false;
    return true;
  }
  return false;
}

struct Knob {
  const char* name;
  std::function<std::string(TcpConfig&, std::string_view)> set;
};

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

Knob duration_knob(const char* name, Duration TcpConfig::*field) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            Duration d;
            if (!parse_duration(std::string(v), &d)) {
              return "expects a duration with a unit, such as 200ms, 75s or 15us";
            }
            c.*field = d;
            return {};
          }};
}

// A retry limit as a count ("15") or as a time ("100s"); setting one
// clears the other. A count keeps the profile's reading of it (linux: the
// time that many timeouts take); a time is used as given.
Knob retries_knob(const char* name, uint32_t TcpConfig::*count, Duration TcpConfig::*time) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            uint64_t x = 0;
            if (parse_u64(v, 255, &x) && x >= 1) {
              c.*count = static_cast<uint32_t>(x);
              c.*time = Duration::zero();
              return {};
            }
            Duration d;
            if (parse_duration(std::string(v), &d) && d > Duration::zero()) {
              c.*time = d;
              return {};
            }
            return "expects a count from 1 to 255 or a duration such as 100s";
          }};
}

Knob bool_knob(const char* name, bool TcpConfig::*field) {
  return {name, [=](TcpConfig& c, std::string_view v) -> std::string {
            if (!parse_bool(v, &(c.*field))) return "expects true or false";
            return {};
          }};
}

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> k = {
      uint_knob("mss", &TcpConfig::mss, 88, 65495),
      uint_knob("send_buffer", &TcpConfig::send_buffer, 1, 1u << 30),
      uint_knob("recv_buffer", &TcpConfig::recv_buffer, 1, 1u << 30),
      bool_knob("window_scaling", &TcpConfig::window_scaling),
      bool_knob("timestamps", &TcpConfig::timestamps),
      bool_knob("sack", &TcpConfig::sack),
      uint_knob("initial_window", &TcpConfig::initial_window_segments, 1, 100),
      duration_knob("rto.initial", &TcpConfig::rto_initial),
      duration_knob("rto.min", &TcpConfig::rto_min),
      duration_knob("rto.max", &TcpConfig::rto_max),
      retries_knob("retries.data", &TcpConfig::retries_data, &TcpConfig::retries_data_time),
      retries_knob("retries.syn", &TcpConfig::retries_syn, &TcpConfig::retries_syn_time),
      uint_knob("retries.syn_linear", &TcpConfig::syn_linear_timeouts, 0, 255),
      bool_knob("keepalive.enabled", &TcpConfig::keepalive),
      duration_knob("keepalive.idle", &TcpConfig::keepalive_idle),
      duration_knob("keepalive.interval", &TcpConfig::keepalive_interval),
      uint_knob("keepalive.count", &TcpConfig::keepalive_count, 1, 1000),
      uint_knob("keepalive.probe_bytes", &TcpConfig::keepalive_probe_bytes, 0, 1),
      bool_knob("liveness_deadline", &TcpConfig::liveness_deadline),
      duration_knob("stall_guard.period", &TcpConfig::stall_guard_period),
      duration_knob("user_timeout", &TcpConfig::user_timeout),
      bool_knob("user_timeout.from_first_rto", &TcpConfig::user_timeout_from_first_rto),
      bool_knob("user_timeout.option", &TcpConfig::user_timeout_option),
      duration_knob("user_timeout.lower", &TcpConfig::user_timeout_lower),
      duration_knob("user_timeout.upper", &TcpConfig::user_timeout_upper),
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
      duration_knob("delayed_ack", &TcpConfig::delayed_ack),
      bool_knob("nodelay", &TcpConfig::nodelay),
      duration_knob("msl", &TcpConfig::msl),
      duration_knob("challenge_ack_interval", &TcpConfig::challenge_ack_interval),
      {"icmp.handshake_abort",
       [](TcpConfig& c, std::string_view v) -> std::string {
         if (v == "hard") {
           c.icmp_handshake_abort_any = false;
         } else if (v == "any") {
           c.icmp_handshake_abort_any = true;
         } else {
           return "expects hard or any";
         }
         return {};
       }},
      bool_knob("user_timeout.zero_window_episode", &TcpConfig::user_timeout_zero_window_episode),
      duration_knob("fin_wait2_timeout", &TcpConfig::fin_wait2_timeout),
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

std::string TcpConfig::set(std::string_view key, std::string_view value) {
  for (const auto& k : knobs()) {
    if (key == k.name) {
      std::string err = k.set(*this, value);
      if (!err.empty()) return std::string(key) + " " + err + ", got '" + std::string(value) + "'";
      if (rto_min > rto_max) return "rto.min must not exceed rto.max";
      return {};
    }
  }
  std::string msg = "unknown knob '" + std::string(key) + "'; valid knobs:";
  for (const auto& k : knobs()) msg += std::string(" ") + k.name;
  return msg;
}

const std::vector<std::string>& TcpConfig::knob_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& k : knobs()) n.emplace_back(k.name);
    return n;
  }();
  return names;
}

}  // namespace vigil::tcp
