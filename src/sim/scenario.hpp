// Named, reproducible situations (`vigil sim NAME`). A scenario builds a
// World from a spec that profiles and --set keys can change, runs it, and
// returns what each endpoint's application saw plus every stack event.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/link.hpp"
#include "sim/world.hpp"
#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "wire/drop.hpp"

namespace vigil::sim {

struct ScenarioInfo {
  std::string name;
  std::string summary;
};
const std::vector<ScenarioInfo>& scenario_list();

struct ScenarioParams {
  uint64_t seed = 1;
  std::string profile = "rfc";
  std::vector<std::pair<std::string, std::string>> sets;  // --set key=value, in order
  std::string pcap_path;                                  // empty: no capture
  std::vector<std::string> bugs;                          // RFC 2525 problems to switch on (--bug)
};

struct EndpointResult {
  std::string host;
  std::string role;  // "client" or "server"
  stack::ConnId conn = 0;
  std::string local, remote;
  uint32_t iss = 0, irs = 0;  // to show sequence numbers relative, as Wireshark does
  uint64_t bytes_sent = 0, bytes_received = 0;
  std::string sha256_sent, sha256_received;
  tcp::State state = tcp::State::kClosed;
  bool established = false;
  int err = 0;
  tcp::CloseReason reason = tcp::CloseReason::kNone;
  std::string detail;
  Instant time;  // when the final state (or the error) was reached
  tcp::ConnectionStats stats;
  Duration final_rto;
  uint64_t goodput_bps = 0;  // tcp::Connection::goodput_bps()
  // The buffers' bounds at the end: where autotuning left them
  // (send_buffer.max, recv_buffer.max), else the configured sizes.
  uint64_t send_buffer_bytes = 0, recv_buffer_bytes = 0;
  std::string open_error;  // connect() refused locally
};

struct HostResult {
  std::string name;
  std::string address;
  wire::DropCounters drops;
  stack::StackStats stats;
};

struct ScenarioResult {
  // run_scenario failed on its arguments (a bad name, key or value: the
  // CLI's exit 2), not on I/O.
  bool usage_error = false;
  std::string name;
  std::string summary;
  uint64_t seed = 0;
  std::string profile;
  std::vector<EndpointResult> connections;
  std::vector<RecordedEvent> events;
  std::vector<HostResult> hosts;
  LinkStats link_stats[2];
  Instant end;
  uint64_t packets_captured = 0;
  std::string pcap_path;
  // Attack scenarios' numbers (src/sim/attack_scenarios.cpp), by name, in
  // the order they are printed: injections tried, connections lost, ...
  std::vector<std::pair<std::string, uint64_t>> figures;
};

// Runs `name`. Returns "" on success; otherwise a message naming the valid
// choices (unknown scenario, key or value) or the I/O failure.
std::string run_scenario(const std::string& name, const ScenarioParams& params,
                         ScenarioResult* out);

// Every key --set accepts: TCP knobs, link.* and scenario keys.
std::vector<std::string> settable_keys();
// The RFC 2525 problems --bug can switch on: name and description.
std::vector<std::pair<std::string, std::string>> bug_list();
// Switches on bug `name` (one of bug_list()) in `cfg`; "" or the error.
std::string apply_scenario_bug(const std::string& name, tcp::TcpConfig* cfg);

}  // namespace vigil::sim
