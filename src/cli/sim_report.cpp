// Renders a scenario result as a readable timeline or as the JSON result
// object documented in docs/sim-json.md.
#include "cli/sim_report.hpp"

#include <cerrno>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "cli/counters.hpp"
#include "util/json.hpp"

namespace vigil::cli {

using sim::EndpointResult;
using sim::RecordedEvent;
using sim::ScenarioResult;

namespace {

std::string conn_label(const ScenarioResult& r, size_t host, uint64_t conn) {
  const std::string& name = host < r.hosts.size() ? r.hosts[host].name : "host";
  return name + ":" + std::to_string(conn);
}

const EndpointResult* endpoint_for(const ScenarioResult& r, size_t host, uint64_t conn) {
  for (const auto& e : r.connections) {
    if (host < r.hosts.size() && e.host == r.hosts[host].name && e.conn == conn) return &e;
  }
  return nullptr;
}

uint32_t relative_seq(const ScenarioResult& r, const RecordedEvent& ev) {
  const EndpointResult* e = endpoint_for(r, ev.host, ev.conn);
  return e ? ev.event.seq - e->iss : ev.event.seq;
}

std::string describe(const ScenarioResult& r, const RecordedEvent& ev) {
  const tcp::Event& e = ev.event;
  char buf[256];
  switch (e.type) {
    case tcp::EventType::kStateChange:
      return std::string(tcp::state_name(e.from)) + " -> " + std::string(tcp::state_name(e.to));
    case tcp::EventType::kRetransmit:
      std::snprintf(buf, sizeof buf, "retransmit (%s) seq %u len %u",
                    std::string(tcp::timer_name(e.timer)).c_str(), relative_seq(r, ev), e.len);
      return buf;
    case tcp::EventType::kSynRetransmit:
      std::snprintf(buf, sizeof buf, "SYN retransmission %u (RTO %s)", e.count,
                    format_duration(e.rto).c_str());
      return buf;
    case tcp::EventType::kRtoBackoff:
      std::snprintf(buf, sizeof buf, "retransmission timeout %u, RTO backed off to %s", e.count,
                    format_duration(e.rto).c_str());
      return buf;
    case tcp::EventType::kRstSent:
      return "RST sent";
    case tcp::EventType::kRstReceived:
      return "RST received";
    case tcp::EventType::kChallengeAck:
      return "challenge ACK (RFC 5961): " + ev.detail;
    case tcp::EventType::kZeroWindowProbe:
      std::snprintf(buf, sizeof buf, "zero-window probe %u, seq %u len %u", e.count,
                    relative_seq(r, ev), e.len);
      return buf;
    case tcp::EventType::kIcmpReceived:
      return "ICMP destination unreachable, code " + std::to_string(e.count);
    case tcp::EventType::kAbort:
      return "ABORT " + tcp::errno_name(e.err) + ": " + ev.detail;
    case tcp::EventType::kDropped:
      return "segment dropped: " + ev.detail;
    case tcp::EventType::kKeepaliveProbe:
      std::snprintf(buf, sizeof buf, "keepalive probe %u%s (idle %s)", e.count,
                    e.limit ? ("/" + std::to_string(e.limit)).c_str() : "",
                    format_duration(e.since).c_str());
      return buf;
    case tcp::EventType::kKeepaliveAck:
      return "keepalive answered (after " + std::to_string(e.count) + " probe" +
             (e.count == 1 ? "" : "s") + ")";
    case tcp::EventType::kZeroWindowProbeAck:
      return "zero-window probe answered, window " + std::to_string(e.len);
    case tcp::EventType::kStallGuardAck:
      return "stall guard ACK";
    case tcp::EventType::kCwnd:
      return "cwnd " + std::to_string(e.cwnd) + " B, ssthresh " + std::to_string(e.ssthresh) + " B";
    case tcp::EventType::kRtt:
      return "SRTT " + format_duration(e.srtt) + ", RTO " + format_duration(e.rto);
    case tcp::EventType::kUndo:
      std::snprintf(buf, sizeof buf,
                    "undo (%s): spurious reduction from seq %u, cwnd %u B, "
                    "ssthresh %u B restored",
                    ev.detail.c_str(), relative_seq(r, ev), e.cwnd, e.ssthresh);
      return buf;
  }
  return std::string(tcp::event_name(e.type));
}

bool is_window(const RecordedEvent& ev) {
  return ev.event.type == tcp::EventType::kCwnd || ev.event.type == tcp::EventType::kRtt;
}

bool is_routine(const RecordedEvent& ev) {
  return ev.event.type == tcp::EventType::kRetransmit ||
         ev.event.type == tcp::EventType::kRtoBackoff;
}

std::string link_text(const sim::LinkStats& s) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf,
      "%llu offered, %llu delivered, lost %llu, queue drops %llu, blackholed %llu, "
      "duplicated %llu, reordered %llu, corrupted %llu",
      static_cast<unsigned long long>(s.offered), static_cast<unsigned long long>(s.delivered),
      static_cast<unsigned long long>(s.dropped_loss),
      static_cast<unsigned long long>(s.dropped_queue),
      static_cast<unsigned long long>(s.dropped_blackhole),
      static_cast<unsigned long long>(s.duplicated), static_cast<unsigned long long>(s.reordered),
      static_cast<unsigned long long>(s.corrupted));
  return buf;
}

std::string nonzero_text(const Counters& cs) {
  std::string out;
  for (const auto& [name, n] : cs) {
    if (n) out += " " + std::string(name) + "=" + std::to_string(n);
  }
  return out;
}

}  // namespace

std::string render_timeline(const ScenarioResult& r, bool verbose) {
  std::string out;
  out += "vigil sim " + r.name + "  (seed " + std::to_string(r.seed) + ", profile " + r.profile +
         ")\n";
  out += "  " + r.summary + "\n";
  for (const auto& h : r.hosts) out += "  " + h.name + " " + h.address + "\n";
  out += "\nTimeline (virtual seconds)\n";

  size_t routine = 0;
  for (const auto& ev : r.events) routine += is_routine(ev) ? 1 : 0;
  // Many retransmissions (a lossy bulk transfer) would bury the story; they
  // are summarised unless asked for.
  const bool show_routine = verbose || routine <= 30;
  std::map<std::string, size_t> retransmits_by_timer;
  size_t window_events = 0;
  for (const auto& ev : r.events) {
    if (ev.event.type == tcp::EventType::kRetransmit) {
      ++retransmits_by_timer[std::string(tcp::timer_name(ev.event.timer))];
    }
    if (!show_routine && is_routine(ev)) continue;
    // cwnd and RTT movements are the plot's, not the story's: --verbose.
    if (is_window(ev) && !verbose) {
      ++window_events;
      continue;
    }
    out += "  " + format_seconds(ev.event.time) + "  " + conn_label(r, ev.host, ev.conn) + "  " +
           describe(r, ev) + "\n";
  }
  if (!show_routine) {
    out += "  (" + std::to_string(routine) +
           " retransmission and back-off events not shown; retransmissions by cause:";
    for (const auto& [timer, n] : retransmits_by_timer)
      out += " " + timer + " " + std::to_string(n);
    out += "; --verbose lists them)\n";
  }
  if (window_events > 0) {
    out += "  (" + std::to_string(window_events) +
           " cwnd and RTT events not shown; --verbose or --json lists them)\n";
  }

  out += "\nConnections\n";
  for (const auto& e : r.connections) {
    out += "  " + e.host + ":" + std::to_string(e.conn) + " (" + e.role + " " + e.local + " -> " +
           e.remote + ")\n";
    if (!e.open_error.empty()) out += "    could not open: " + e.open_error + "\n";
    out += "    sent " + std::to_string(e.bytes_sent) + " B, received " +
           std::to_string(e.bytes_received) + " B\n";
    out += "    final state " + std::string(tcp::state_name(e.state)) + " at " +
           format_seconds(e.time) + " s";
    if (e.err) out += ", " + tcp::outcome_text(e.err, e.reason, e.detail);
    out += "\n";
    if (e.goodput_bps > 0) out += "    goodput " + std::to_string(e.goodput_bps) + " bit/s\n";
    out += "    segments sent " + std::to_string(e.stats.segments_sent) + ", received " +
           std::to_string(e.stats.segments_received) + ", retransmitted " +
           std::to_string(e.stats.retransmitted_segments) + " (fast " +
           std::to_string(e.stats.fast_retransmits) + ", timeouts " +
           std::to_string(e.stats.timeouts) + ")\n";
    // The rest of the counters, zeros left out (--json has them all).
    Counters rest = connection_counters(e.stats);
    rest.erase(rest.begin(), rest.begin() + 5);  // the five above
    if (const std::string t = nonzero_text(rest); !t.empty()) out += "    counters:" + t + "\n";
  }
  // Does each stream arrive intact? Compare what one side wrote with what
  // the other read.
  if (r.connections.size() == 2) {
    const auto& c = r.connections[0];
    const auto& s = r.connections[1];
    auto verdict = [](const EndpointResult& from, const EndpointResult& to) {
      if (from.bytes_sent == 0) return std::string("nothing sent");
      if (from.bytes_sent == to.bytes_received && from.sha256_sent == to.sha256_received) {
        return "intact: " + std::to_string(to.bytes_received) + " B, sha256 " +
               to.sha256_received.substr(0, 16) + "...";
      }
      return "INCOMPLETE: " + std::to_string(to.bytes_received) + " of " +
             std::to_string(from.bytes_sent) + " B";
    };
    out += "  stream client -> server: " + verdict(c, s) + "\n";
    out += "  stream server -> client: " + verdict(s, c) + "\n";
  }
  out += "\nLinks\n";
  for (size_t h = 0; h < r.hosts.size() && h < 2; ++h) {
    out += "  " + r.hosts[h].name + " -> " + r.hosts[1 - h].name + ": " +
           link_text(r.link_stats[h]) + "\n";
  }
  for (const auto& h : r.hosts) {
    if (h.drops.total_dropped() == 0) continue;
    out += "  " + h.name + " dropped malformed input:";
    for (size_t d = 1; d < static_cast<size_t>(wire::Drop::kCount); ++d) {
      const auto n = h.drops.get(static_cast<wire::Drop>(d));
      if (n)
        out += " " + std::string(wire::drop_name(static_cast<wire::Drop>(d))) + "=" +
               std::to_string(n);
    }
    out += "\n";
  }
  out += "\nStacks (counters, zeros left out)\n";
  for (const auto& h : r.hosts)
    out += "  " + h.name + ":" + nonzero_text(stack_counters(h.stats)) + "\n";
  if (!r.figures.empty()) {
    out += "\nFigures (docs/attacks.md)\n";
    for (const auto& [name, n] : r.figures) out += "  " + name + " " + std::to_string(n) + "\n";
  }
  out += "\nVirtual time " + format_seconds(r.end) + " s\n";
  if (!r.pcap_path.empty()) {
    out += "pcap written to " + r.pcap_path + " (" + std::to_string(r.packets_captured) +
           " packets, captured at the client's interface unless --set capture=server)\n";
  }
  return out;
}

std::string render_json(const ScenarioResult& r) {
  util::JsonWriter j(true);
  j.begin_object();
  j.key("scenario").value(r.name);
  j.key("summary").value(r.summary);
  j.key("seed").value(r.seed);
  j.key("profile").value(r.profile);
  j.key("end_time_s").raw_number(format_seconds(r.end));
  j.key("pcap");
  if (r.pcap_path.empty()) {
    j.null();
  } else {
    j.value(r.pcap_path);
  }
  j.key("packets_captured").value(r.packets_captured);

  j.key("connections").begin_array();
  for (const auto& e : r.connections) {
    j.begin_object();
    j.key("id").value(e.host + ":" + std::to_string(e.conn));
    j.key("host").value(e.host);
    j.key("role").value(e.role);
    j.key("local").value(e.local);
    j.key("remote").value(e.remote);
    j.key("bytes_sent").value(e.bytes_sent);
    j.key("bytes_received").value(e.bytes_received);
    j.key("sha256_sent").value(e.sha256_sent);
    j.key("sha256_received").value(e.sha256_received);
    j.key("outcome").begin_object();
    j.key("state").value(tcp::state_name(e.state));
    j.key("established").value(e.established);
    j.key("error");
    if (e.err) {
      j.value(tcp::errno_name(e.err));
    } else {
      j.null();
    }
    j.key("reason");
    if (e.reason != tcp::CloseReason::kNone) {
      j.value(tcp::reason_name(e.reason));
    } else {
      j.null();
    }
    j.key("detail");
    if (e.detail.empty()) {
      j.null();
    } else {
      j.value(e.detail);
    }
    j.key("time_s").raw_number(format_seconds(e.time));
    j.end_object();
    j.key("stats").begin_object();
    for (const auto& [name, n] : connection_counters(e.stats)) j.key(name).value(n);
    j.key("final_rto_s").raw_number(format_seconds(Instant::zero() + e.final_rto));
    j.key("goodput_bps").value(e.goodput_bps);
    j.key("send_buffer_bytes").value(e.send_buffer_bytes);
    j.key("recv_buffer_bytes").value(e.recv_buffer_bytes);
    j.end_object();
    j.end_object();
  }
  j.end_array();

  j.key("events").begin_array();
  for (const auto& ev : r.events) {
    const tcp::Event& e = ev.event;
    j.begin_object();
    j.key("time_s").raw_number(format_seconds(e.time));
    j.key("conn").value(conn_label(r, ev.host, ev.conn));
    j.key("type").value(tcp::event_name(e.type));
    switch (e.type) {
      case tcp::EventType::kStateChange:
        j.key("from").value(tcp::state_name(e.from));
        j.key("to").value(tcp::state_name(e.to));
        break;
      case tcp::EventType::kRetransmit:
        j.key("timer").value(tcp::timer_name(e.timer));
        j.key("seq").value(e.seq);
        j.key("len").value(e.len);
        break;
      case tcp::EventType::kSynRetransmit:
      case tcp::EventType::kRtoBackoff:
        j.key("count").value(e.count);
        j.key("rto_s").raw_number(format_seconds(Instant::zero() + e.rto));
        break;
      case tcp::EventType::kZeroWindowProbe:
        j.key("seq").value(e.seq);
        j.key("len").value(e.len);
        j.key("count").value(e.count);
        break;
      case tcp::EventType::kZeroWindowProbeAck:
        j.key("window").value(e.len);
        break;
      case tcp::EventType::kKeepaliveProbe:
        j.key("count").value(e.count);
        j.key("limit").value(e.limit);
        j.key("idle_s").raw_number(format_seconds(Instant::zero() + e.since));
        j.key("seq").value(e.seq);
        j.key("len").value(e.len);
        break;
      case tcp::EventType::kKeepaliveAck:
        j.key("count").value(e.count);
        break;
      case tcp::EventType::kIcmpReceived:
        j.key("code").value(e.count);
        break;
      case tcp::EventType::kAbort:
        j.key("error").value(tcp::errno_name(e.err));
        j.key("reason").value(tcp::reason_name(e.reason));
        j.key("detail").value(ev.detail);
        break;
      case tcp::EventType::kChallengeAck:
      case tcp::EventType::kDropped:
        j.key("detail").value(ev.detail);
        break;
      case tcp::EventType::kCwnd:
        j.key("cwnd").value(e.cwnd);
        j.key("ssthresh").value(e.ssthresh);
        break;
      case tcp::EventType::kRtt:
        j.key("srtt_s").raw_number(format_seconds(Instant::zero() + e.srtt));
        j.key("rto_s").raw_number(format_seconds(Instant::zero() + e.rto));
        break;
      case tcp::EventType::kUndo:
        j.key("cause").value(ev.detail);
        j.key("seq").value(relative_seq(r, ev));
        j.key("cwnd").value(e.cwnd);
        j.key("ssthresh").value(e.ssthresh);
        break;
      default:
        break;
    }
    j.end_object();
  }
  j.end_array();

  j.key("hosts").begin_array();
  for (size_t h = 0; h < r.hosts.size(); ++h) {
    const auto& hr = r.hosts[h];
    j.begin_object();
    j.key("name").value(hr.name);
    j.key("address").value(hr.address);
    j.key("drops").begin_object();
    for (size_t d = 1; d < static_cast<size_t>(wire::Drop::kCount); ++d) {
      j.key(wire::drop_name(static_cast<wire::Drop>(d)))
          .value(hr.drops.get(static_cast<wire::Drop>(d)));
    }
    j.end_object();
    j.key("resets_sent").value(hr.stats.resets_sent);
    j.key("no_connection").value(hr.stats.no_connection);
    j.key("stack").begin_object();
    for (const auto& [name, n] : stack_counters(hr.stats)) j.key(name).value(n);
    j.end_object();
    j.key("link_out").begin_object();
    const auto& s = r.link_stats[h];
    j.key("offered").value(s.offered);
    j.key("delivered").value(s.delivered);
    j.key("dropped_loss").value(s.dropped_loss);
    j.key("dropped_queue").value(s.dropped_queue);
    j.key("dropped_blackhole").value(s.dropped_blackhole);
    j.key("duplicated").value(s.duplicated);
    j.key("reordered").value(s.reordered);
    j.key("corrupted").value(s.corrupted);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  // Attack scenarios' numbers (docs/attacks.md); empty for the others.
  j.key("figures").begin_object();
  for (const auto& [name, n] : r.figures) j.key(name).value(n);
  j.end_object();
  j.end_object();
  return j.str() + "\n";
}

}  // namespace vigil::cli
