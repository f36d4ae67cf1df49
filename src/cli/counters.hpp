// Every counter of tcp::ConnectionStats and stack::StackStats by name, for
// the reports of `vigil sim` (docs/sim-json.md) and `vigil tun --stats`.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "stack/stack.hpp"
#include "tcp/connection.hpp"

namespace vigil::cli {

// The size checks fail the build when a
// counter is added to either struct and not here, so none goes unreported.
using Counters = std::vector<std::pair<const char*, uint64_t>>;

inline Counters connection_counters(const tcp::ConnectionStats& s) {
  static_assert(sizeof(tcp::ConnectionStats) == 22 * sizeof(uint64_t),
                "a ConnectionStats counter is missing from connection_counters()");
  return {{"segments_sent", s.segments_sent},
          {"segments_received", s.segments_received},
          {"retransmitted_segments", s.retransmitted_segments},
          {"fast_retransmits", s.fast_retransmits},
          {"timeouts", s.timeouts},
          {"dup_acks_received", s.dup_acks_received},
          {"challenge_acks_sent", s.challenge_acks_sent},
          {"challenge_acks_suppressed", s.challenge_acks_suppressed},
          {"out_of_order_segments", s.out_of_order_segments},
          {"bytes_acked", s.bytes_acked},
          {"bytes_delivered", s.bytes_delivered},
          {"segments_dropped", s.segments_dropped},
          {"invalid_acks_suppressed", s.invalid_acks_suppressed},
          {"icmp_out_of_window", s.icmp_out_of_window},
          {"icmp_ignored", s.icmp_ignored},
          {"out_of_order_dropped", s.out_of_order_dropped},
          {"tlp_probes", s.tlp_probes},
          {"rack_retransmits", s.rack_retransmits},
          {"max_burst_segments", s.max_burst_segments},
          {"cwnd_max_bytes", s.cwnd_max_bytes},
          {"spurious_retransmits", s.spurious_retransmits},
          {"undos", s.undos}};
}

inline Counters stack_counters(const stack::StackStats& s) {
  static_assert(sizeof(stack::StackStats) == 21 * sizeof(uint64_t),
                "a StackStats counter is missing from stack_counters()");
  return {{"datagrams_in", s.datagrams_in},
          {"datagrams_out", s.datagrams_out},
          {"not_for_us", s.not_for_us},
          {"martian_source", s.martian_source},
          {"listen_no_syn", s.listen_no_syn},
          {"no_connection", s.no_connection},
          {"resets_sent", s.resets_sent},
          {"resets_queue_full", s.resets_queue_full},
          {"syn_backlog_drops", s.syn_backlog_drops},
          {"syn_queue_drops", s.syn_queue_drops},
          {"syn_cookies_sent", s.syn_cookies_sent},
          {"syn_cookies_valid", s.syn_cookies_valid},
          {"syn_cookies_invalid", s.syn_cookies_invalid},
          {"syn_fin_drops", s.syn_fin_drops},
          {"syn_port_zero_drops", s.syn_port_zero_drops},
          {"land_drops", s.land_drops},
          {"connections_refused_cap", s.connections_refused_cap},
          {"time_wait_reuses", s.time_wait_reuses},
          {"icmp_no_connection", s.icmp_no_connection},
          {"connections_opened", s.connections_opened},
          {"connections_reaped", s.connections_reaped}};
}

}  // namespace vigil::cli
