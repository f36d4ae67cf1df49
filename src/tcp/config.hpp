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
  bool window_scaling = true;         // RFC 7323 §2
  bool timestamps = true;             // RFC 7323 §3 (RTTM and PAWS)
  bool sack = true;                   // RFC 2018: offer SACK-permitted, send SACK blocks
  uint32_t initial_window_segments =
      3;  // RFC 5681 §3.1 / RFC 3390: 3 for MSS 1095..2190; linux: 10 (RFC 6928)

  // --- Retransmission timer, RFC 6298 ---
  Duration rto_initial = Duration::seconds(1);       // §2.1
  Duration rto_syn_fallback = Duration::seconds(3);  // §5.7: RTO after a SYN timed out
  Duration rto_min = Duration::seconds(1);           // §2.4; linux: 200 ms (TCP_RTO_MIN)
  Duration rto_max = Duration::seconds(60);          // §2.5; linux: 120 s (TCP_RTO_MAX)
  Duration clock_granularity = Duration::millis(1);  // G in §2.2
  // Retry limits (RFC 1122 §4.2.3.5 R2). Refined by the liveness work.
  uint32_t retries_data = 15;  // linux: net.ipv4.tcp_retries2
  uint32_t retries_syn = 6;    // linux: net.ipv4.tcp_syn_retries

  // --- Acknowledgements and sending, RFC 1122 §4.2.3.2-4 ---
  Duration delayed_ack = Duration::millis(200);  // <= 500 ms per RFC 1122; linux max 200 ms
  bool nodelay = false;                          // TCP_NODELAY: turn Nagle off (RFC 1122 §4.2.3.4)

  // --- Connection teardown ---
  // Maximum segment lifetime: TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2,
  // MSL = 2 minutes). linux: 30 s, giving Linux's fixed 60 s TIME_WAIT.
  Duration msl = Duration::seconds(120);

  // --- RFC 5961 ---
  Duration challenge_ack_interval =
      Duration::millis(500);  // at most one challenge ACK per interval
                              // (linux: tcp_invalid_ratelimit)

  static TcpConfig rfc();
  static TcpConfig linux_profile();
  // A profile by name ("rfc", "linux"); false if unknown.
  static bool from_profile(std::string_view name, TcpConfig* out);

  // Sets a knob by its contract name ("rto.min", "mss" ...). Returns an
  // empty string on success, otherwise a message that says what was wrong.
  std::string set(std::string_view key, std::string_view value);
  static const std::vector<std::string>& knob_names();
};

}  // namespace vigil::tcp
