#include "sim/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "link/pcap_writer.hpp"
#include "sim/apps.hpp"
#include "sim/attack_scenarios.hpp"
#include "sim/flow_scenarios.hpp"
#include "tcp/seq.hpp"
#include "util/knobs.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace vigil::sim {

namespace {

// Everything a scenario can vary; profiles and --set edit it before the run.
struct Spec {
  tcp::TcpConfig tcp;
  stack::StackConfig stack;  // both hosts' listener defences (--set stack.*)
  LinkConfig link;
  uint64_t client_bytes = 0;  // client -> server
  uint64_t server_bytes = 0;  // server -> client
  Duration client_start = Duration::zero();
  Duration client_write_at = Duration::zero();  // when the client starts writing
  bool client_closes = true;                    // close() once everything is written
  Duration limit = Duration::seconds(3600);
  size_t capture_host = 0;  // 0: the client's interface, 1: the server's
  bool server_listens = true;
  // The server vanishes (both directions blackholed) from this time on.
  Duration server_vanish_at = Duration::max();
  Duration server_return_at = Duration::max();  // ...until this time (max: for good)
  Duration server_read_pause_from = Duration::max();
  Duration server_read_pause_until = Duration::max();
  Duration server_write_at = Duration::zero();
  bool server_closes = false;                    // close() once everything is written
  Duration server_trickle_at = Duration::max();  // while paused, read once...
  size_t server_trickle_bytes = 0;               // ...this many bytes
  // A NAT in front of the client, created by outbound packets, that loses
  // its state at this time; inbound packets without state are dropped.
  Duration nat_reset_at = Duration::max();
  // From this time a router answers client->server packets with ICMP
  // destination unreachable of this code (-1: no router).
  Duration icmp_from = Duration::max();
  int icmp_code = -1;
  // app.abort_after / app.abort_mode: the client application gives up this
  // long after it connects and closes abortively (see PeerBehaviour).
  Duration client_abort_after = Duration::max();
  PeerBehaviour::AbortMode client_abort_mode = PeerBehaviour::AbortMode::kLinger0;
  // From this time an off-path attacker who sees the client's segments
  // reach the server forges `icmp_forge_count` ICMP errors quoting them,
  // one every `icmp_forge_every`: port, protocol, host unreachable and
  // frag-needed (next-hop MTU 68) in turn. The segments still go through.
  Duration icmp_forge_from = Duration::max();
  Duration icmp_forge_every = Duration::millis(100);
  int icmp_forge_count = 0;
  // Per-side changes applied after --set (e.g. different keepalive idles).
  std::function<void(tcp::TcpConfig&)> client_tweak, server_tweak;
  // Simultaneous open (RFC 9293 figure 8): no listener; at client_start both
  // hosts connect() from a fixed port to the other's fixed port.
  bool simultaneous_open = false;
  // Attack scenarios (attack_scenarios.hpp): attackers, extra apps and
  // meters added before the run, figures after it.
  AttackSetup attack;
  size_t server_max_connections = 0;  // the server's stack.max_connections (0: as --set)
  // drop.tail: the first transmission of each of the client's last N data
  // segments is lost on the way to the server (0: none).
  uint32_t drop_tail_segments = 0;
  // drop.burst: the first transmission of N consecutive data segments from
  // the client's 30th on is lost (0: none).
  uint32_t drop_burst_segments = 0;
  // The client's n-th data segment (from 1, resends counted too) is lost on
  // its way to the server; 0: none.
  uint64_t drop_client_data_segment = 0;
  // hold.segment / hold.delay: the client's n-th data segment (from 1,
  // resends counted too) reaches the server this much later than the link
  // would deliver it: deterministic reordering (0: none).
  uint64_t hold_client_data_segment = 0;
  Duration hold_delay = Duration::millis(30);
  // false: link.reorder holds back the client's packets only, so the
  // server's ACKs keep their order (the scenario reordering).
  bool reorder_both_ways = true;
  // stall.at / stall.for: a delay spike. The client's packets that would
  // reach the server in [at, at + for) are all delivered, in order, at its
  // end (a link-layer stall, RFC 4015 §1); none is lost. (for 0: none.)
  Duration stall_at = Duration::max();
  Duration stall_for = Duration::zero();
};

// Hands held packets to a host at their time (hold.segment): the World
// polls it like any app; it never keeps a run going on its own.
class HeldDelivery final : public App {
 public:
  HeldDelivery(World& w, size_t to) : world_(w), to_(to) {}
  void hold(Instant at, const std::vector<uint8_t>& pkt) { held_.push_back({at, pkt}); }
  void poll(Instant now) override {
    for (size_t i = 0; i < held_.size();) {
      if (held_[i].first <= now) {
        world_.deliver(to_, held_[i].second);
        held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  Instant next_wake() const override {
    Instant t = Instant::never();
    for (const auto& h : held_) t = std::min(t, h.first);
    return t;
  }
  bool done() const override { return held_.empty(); }

 private:
  World& world_;
  size_t to_;
  std::vector<std::pair<Instant, std::vector<uint8_t>>> held_;
};

// A quiet 10 ms link and a client that stays open; the profile's TCP
// settings (in `in`) are kept.
Spec liveness_base(const Spec& in) {
  Spec s;
  s.tcp = in.tcp;
  s.link.delay = Duration::millis(10);
  s.client_closes = false;
  return s;
}

// A scenario that sizes its buffers keeps them, as an application's
// SO_SNDBUF / SO_RCVBUF stop Linux's autotuning (SOCK_*BUF_LOCK), and its
// window scale covers the buffer it has, as Linux's tcp_connect_init
// clamps the window to a locked buffer.
void lock_buffers(Spec& s) {
  s.tcp.send_buffer_max = 0;
  s.tcp.recv_buffer_max = 0;
  s.tcp.window_scale_buffer = 0;
}

// RFC 2525 §2.12's setting: 1 MB each way; the server reads nothing until
// `read_again`, except 100 bytes at `trickle` (too few for a window update),
// and writes its own 1 MB at `write`.
Spec probe_deadlock_base(const Spec& in, Duration trickle, Duration write, Duration read_again) {
  Spec s = liveness_base(in);
  s.client_bytes = 1'000'000;
  s.client_closes = true;
  s.server_bytes = 1'000'000;
  s.server_closes = true;
  s.server_write_at = write;
  s.server_read_pause_from = Duration::zero();
  s.server_read_pause_until = read_again;
  s.server_trickle_at = trickle;
  s.server_trickle_bytes = 100;
  // §2.12's receiver has a fixed window counted in bytes: with the linux
  // profile's scale 7 the 100-byte read would open a 128-byte unit and no
  // deadlock could form.
  lock_buffers(s);
  return s;
}

struct ScenarioDef {
  ScenarioInfo info;
  std::function<void(Spec&)> configure;
};

const std::vector<ScenarioDef>& definitions() {
  static const std::vector<ScenarioDef> defs = {
      {{"handshake-close",
        "three-way handshake, then the client closes and the server closes on EOF; 10 ms links"},
       [](Spec& s) { s.link.delay = Duration::millis(10); }},
      {{"bulk", "10 MB from client to server over a 10 Mbit/s link with 20 ms delay"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.client_bytes = 10'000'000;
       }},
      {{"bulk-lossy",
        "bulk, with 5% random loss both ways, 2% reordering (+5 ms) and 1% duplication"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.link.loss = 0.05;
         s.link.reorder = 0.02;
         s.link.reorder_extra = Duration::millis(5);
         s.link.duplicate = 0.01;
         s.client_bytes = 10'000'000;
       }},
      {{"keepalive-idle",
        "idle connection, client keepalive (rfc: 7200 s, 75 s, 9); the peer answers, so probes go "
        "on"},
       [](Spec& s) {
         s = liveness_base(s);
         s.tcp.keepalive = true;
         s.server_tweak = [](tcp::TcpConfig& c) { c.keepalive = false; };
         s.limit = Duration::seconds(6 * 3600 + 60);
       }},
      {{"keepalive-dead-peer",
        "client keepalive, the server vanishes after the handshake: probes, then RST and "
        "ETIMEDOUT"},
       [](Spec& s) {
         s = liveness_base(s);
         s.tcp.keepalive = true;
         s.server_tweak = [](tcp::TcpConfig& c) { c.keepalive = false; };
         s.server_vanish_at = Duration::seconds(1);
         s.limit = Duration::seconds(10000);
       }},
      {{"keepalive-symmetric",
        "both ends keepalive, client idle 240 s, server idle 300 s: neither probe resets the "
        "other"},
       [](Spec& s) {
         s = liveness_base(s);
         s.tcp.keepalive = true;
         s.client_tweak = [](tcp::TcpConfig& c) { c.keepalive_idle = Duration::seconds(240); };
         s.server_tweak = [](tcp::TcpConfig& c) { c.keepalive_idle = Duration::seconds(300); };
         s.limit = Duration::seconds(1300);
       }},
      {{"keepalive-then-write",
        "keepalive 60 s/10 s/5; the server vanishes at 30 s, the client writes at 40 s: "
        "the liveness deadline (rfc) kills at 110 s, without it retransmission runs to R2"},
       [](Spec& s) {
         s = liveness_base(s);
         s.tcp.keepalive = true;
         s.tcp.keepalive_idle = Duration::seconds(60);
         s.tcp.keepalive_interval = Duration::seconds(10);
         s.tcp.keepalive_count = 5;
         s.server_tweak = [](tcp::TcpConfig& c) { c.keepalive = false; };
         s.server_vanish_at = Duration::seconds(30);
         s.client_bytes = 1000;
         s.client_write_at = Duration::seconds(40);
         s.limit = Duration::seconds(3600);
       }},
      {{"rto-blackhole",
        "the server vanishes 1 s into a 4 MB upload: RTO back-off until R2, ETIMEDOUT"},
       [](Spec& s) {
         s = liveness_base(s);
         // Still sending at 1 s: 10 Mbit/s moves 1.25 MB a second.
         s.client_bytes = 4'000'000;
         s.link.rate_bps = 10'000'000;
         s.server_vanish_at = Duration::seconds(1);
         s.limit = Duration::seconds(3600);
       }},
      {{"rto-blackhole-user-timeout", "rto-blackhole with a 30 s user timeout"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 4'000'000;
         s.link.rate_bps = 10'000'000;
         s.server_vanish_at = Duration::seconds(1);
         s.tcp.user_timeout = Duration::seconds(30);
         s.limit = Duration::seconds(3600);
       }},
      {{"write-blackhole",
        "the server vanishes 0.4 s after the handshake on a veth-like link (50 us); at 0.5 s the "
        "client writes 100 bytes: tail-loss probe (linux), RTO back-off, R2 (Linux 4a)"},
       [](Spec& s) {
         s = liveness_base(s);
         s.link.delay = Duration::micros(50);
         s.client_bytes = 100;
         s.client_write_at = Duration::millis(500);
         s.server_vanish_at = Duration::millis(400);
         s.limit = Duration::seconds(3600);
       }},
      {{"tail-loss",
        "a 100 kB upload on a 10 ms, 10 Mbit/s link whose last segment (drop.tail=N: last N) "
        "is lost once: the tail-loss probe and RACK repair it without an RTO (linux)"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.link.rate_bps = 10'000'000;
         s.client_bytes = 100'000;
         s.drop_tail_segments = 1;
         s.limit = Duration::seconds(60);
       }},
      {{"recovery-multi-loss",
        "a 200 kB upload on a 10 ms, 10 Mbit/s link; N consecutive segments of one window "
        "(drop.burst=N, from the 30th) are lost once: SACK recovery repairs them"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.link.rate_bps = 10'000'000;
         s.client_bytes = 200'000;
         s.drop_burst_segments = 4;
         s.limit = Duration::seconds(60);
       }},
      {{"outage-user-timeout-heals",
        "seed 001: a 12 h user timeout and an outage from 0.3 s to 11 h into a 1 MB upload: "
        "retransmissions continue past R2, the link heals and the upload completes intact"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1'000'000;
         s.client_closes = true;
         s.link.rate_bps = 10'000'000;
         s.server_vanish_at = Duration::millis(300);
         s.server_return_at = Duration::seconds(11 * 3600);
         s.tcp.user_timeout = Duration::seconds(12 * 3600);
         s.limit = Duration::seconds(13 * 3600);
       }},
      {{"outage-user-timeout-expires",
        "outage-user-timeout-heals, but the outage never ends: the 12 h user timeout, not R2, "
        "ends the upload"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1'000'000;
         s.link.rate_bps = 10'000'000;
         s.server_vanish_at = Duration::millis(300);
         s.tcp.user_timeout = Duration::seconds(12 * 3600);
         s.limit = Duration::seconds(13 * 3600);
       }},
      {{"zero-window-persist",
        "the server stops reading for an hour, then resumes: probes back off to the cap, "
        "nothing aborts, 1 MB arrives intact"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1'000'000;
         s.client_closes = true;
         s.server_read_pause_from = Duration::zero();
         s.server_read_pause_until = Duration::seconds(3600);
         s.limit = Duration::seconds(7200);
       }},
      {{"zero-window-keepalive-10h",
        "the server stops reading for 10 hours while the client runs keepalive 30 s/5 s/3 "
        "with the liveness deadline on: every zero-window probe is answered, so nothing "
        "may abort; 1 MB arrives intact"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1'000'000;
         s.client_closes = true;
         s.server_read_pause_from = Duration::zero();
         s.server_read_pause_until = Duration::seconds(10 * 3600);
         s.tcp.keepalive = true;
         s.tcp.keepalive_idle = Duration::seconds(30);
         s.tcp.keepalive_interval = Duration::seconds(5);
         s.tcp.keepalive_count = 3;
         s.tcp.liveness_deadline = true;
         s.limit = Duration::seconds(11 * 3600);
       }},
      {{"zero-window-dead-receiver",
        "the server stops reading, then vanishes at 60 s: zero-window probes go unanswered "
        "until R2, abort with reason persist"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1'000'000;
         s.server_read_pause_from = Duration::zero();
         s.server_vanish_at = Duration::seconds(60);
         s.limit = Duration::seconds(7200);
       }},
      {{"closed-port-rst", "the client connects to a port nobody listens on: RST, ECONNREFUSED"},
       [](Spec& s) {
         s = liveness_base(s);
         s.server_listens = false;
       }},
      {{"stall-guard-nat",
        "a receive-only client behind a NAT that loses its state at 50 s while all is quiet; "
        "the server sends 1 MB at 100 s: it stalls; with --set stall_guard.period=15s the "
        "client's ACKs restore the mapping and the download completes"},
       [](Spec& s) {
         s = liveness_base(s);
         s.link.rate_bps = 1'000'000;
         s.server_bytes = 1'000'000;
         s.server_closes = true;
         s.server_write_at = Duration::seconds(100);
         s.nat_reset_at = Duration::seconds(50);
         s.limit = Duration::seconds(1200);
       }},
      {{"icmp-unreachable",
        "from 1 s (icmp.from) a router answers the client with ICMP unreachable (icmp.code: host, "
        "net, port, protocol); the client writes at 2 s. Established, every code is a soft error "
        "(RFC 5927 §4.2): remembered, it is the errno when R2 gives up. With icmp.from=0 the SYN "
        "is answered: port and protocol abort the open (linux: every code)"},
       [](Spec& s) {
         s = liveness_base(s);
         s.client_bytes = 1000;
         s.client_write_at = Duration::seconds(2);
         s.icmp_from = Duration::seconds(1);
         s.icmp_code = wire::icmp_code::kHostUnreachable;
         s.limit = Duration::seconds(3600);
       }},
      {{"icmp-forged",
        "3 MB from client to server (10 Mbit/s, 20 ms); from 0.5 s an attacker who sees the "
        "segments forges 16 ICMP errors quoting them, every 100 ms: port, protocol, host "
        "unreachable, frag-needed MTU 68. None aborts (RFC 5927 §4.2); the MSS stops at the "
        "552-byte path MTU floor"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         // Still sending when the last forgery is due (2 s) in both profiles.
         s.client_bytes = 3'000'000;
         s.icmp_forge_from = Duration::millis(500);
         s.icmp_forge_count = 16;
       }},
      {{"window-probe-deadlock",
        "RFC 2525 §2.12: the server's window fills, it takes a probe byte, reads 100 bytes "
        "(no window update), then sends 1 MB itself: both streams must complete"},
       [](Spec& s) {
         s = probe_deadlock_base(s, Duration::seconds(20), Duration::seconds(25),
                                 Duration::seconds(60));
         s.limit = Duration::seconds(600);
       }},
      {{"window-probe-deadlock-blocked",
        "RFC 2525 §2.12 in the RFC's order, with a server application that reads again only at "
        "1200 s (blocked in its own send): it reads 100 bytes at 10 s, takes the 16.5 s probe "
        "byte, writes 1 MB at 20 s; both streams complete after 1200 s, unless --bug "
        "window-probe-deadlock makes it discard every ACK: then it times out first"},
       [](Spec& s) {
         s = probe_deadlock_base(s, Duration::seconds(10), Duration::seconds(20),
                                 Duration::seconds(1200));
         s.limit = Duration::seconds(1800);
       }},
      {{"zero-window-app-abort",
        "seed 003: a 1 ms LAN; the server sends a 4000-byte greeting, then stops reading while "
        "the client uploads 1 MB: zero-window probes back off from the RTO, all answered; at 9 s "
        "the client application gives up and closes with the greeting unread "
        "(app.abort_mode=unread; linger0: SO_LINGER 0): RST, the server gets ECONNRESET"},
       [](Spec& s) {
         s = liveness_base(s);
         s.link.delay = Duration::millis(1);
         s.client_bytes = 1'000'000;
         s.server_bytes = 4000;
         s.server_read_pause_from = Duration::zero();
         s.client_abort_after = Duration::seconds(9);
         s.client_abort_mode = PeerBehaviour::AbortMode::kUnread;
         s.limit = Duration::seconds(60);
       }},
      {{"simultaneous-open",
        "RFC 9293 figure 8: both hosts connect() to each other's fixed port at the same time, "
        "then send 1000 bytes each way and close"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.simultaneous_open = true;
         s.client_bytes = 1000;
         s.server_bytes = 1000;
         s.server_closes = true;
       }},
      {{"syn-blackhole", "the server is unreachable from the start: SYN back-off, then ETIMEDOUT"},
       [](Spec& s) {
         s = liveness_base(s);
         s.server_vanish_at = Duration::zero();
         s.limit = Duration::seconds(3600);
       }},
      {{"blind-injection",
        "a 10 MB upload while an off-path attacker injects 10,000 each of RST, SYN, data, "
        "bad-ACK with a far-future TSval, ICMP unreachable (every code) and frag-needed"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.client_bytes = 10'000'000;
         s.attack = setup_blind_injection;
       }},
      {{"syn-flood",
        "100,000 spoofed SYN/s for 10 s at the listener while a client connects every 100 ms"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.client_bytes = 1000;
         s.server_listens = false;  // attack_scenarios.cpp's server accepts every connection
         s.limit = Duration::seconds(30);
         s.attack = setup_syn_flood;
       }},
      {{"sack-abuse",
        "CVE-2019-11477/11478's peer: MSS 48, every ACK's SACK blocks fragment the "
        "sender's scoreboard; 1% loss; 300 kB from the server"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.link.rate_bps = 10'000'000;
         s.link.loss = 0.01;
         s.server_bytes = 300'000;
         s.server_closes = true;
         s.client_tweak = [](tcp::TcpConfig& c) { c.mss = 48; };
         s.attack = setup_sack_abuse;
       }},
      {{"ooo-flood",
        "a 4 MB upload while an attacker who sees the client's windows sends it 10,000 "
        "out-of-order data segments: reassembly stays within its 16 ranges"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.client_bytes = 4'000'000;
         s.attack = setup_ooo_flood;
       }},
      {{"connection-cap",
        "the server allows 16 connections: 24 clients connect, 8 are refused with RST; 8 more "
        "connect once the first have closed"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.client_bytes = 0;
         s.client_start = Duration::seconds(7);
         s.server_listens = false;
         s.server_max_connections = 16;
         s.limit = Duration::seconds(30);
         s.attack = setup_connection_cap;
       }},
      // Congestion control (issue 11; tests/scenario/cc_scenario_test.cpp).
      {{"two-flows-bottleneck",
        "two bulk flows from client to server share a 4 Mbit/s, 20 ms link with a 30 kB "
        "drop-tail queue for 60 s; figures: each flow's goodput and Jain's fairness index"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 4'000'000;
         s.link.queue_limit_bytes = 30'000;
         s.tcp.send_buffer = 1 << 20;
         s.tcp.recv_buffer = 1 << 20;
         lock_buffers(s);
         s.client_bytes = 1'000'000'000;  // more than 60 s can carry
         s.limit = Duration::seconds(60);
         s.attack = setup_second_flow;
       }},
      {{"rfc2525-congestion-avoidance",
        "RFC 2525 §2.6's setting: 40 MB over a 10 Mbit/s, 20 ms link with a 64 kB drop-tail "
        "queue, MSS 4312, large windows, the receiver ACKing every second segment; "
        "--bug extra-additive-constant for the faulty sender"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.link.queue_limit_bytes = 64'000;
         s.tcp.mss = 4312;
         s.tcp.send_buffer = 1 << 20;
         s.tcp.recv_buffer = 1 << 20;
         lock_buffers(s);
         s.client_bytes = 40'000'000;
       }},
      {{"rfc2525-window-deflation",
        "RFC 2525 §2.8's setting: NewReno without SACK, a 7-segment receive window that the "
        "window fills, the 30th data segment lost, so fast recovery sees 5 duplicate ACKs; "
        "--bug no-window-deflation for the faulty sender"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.tcp.sack = false;
         s.tcp.initial_window_segments = 7;
         s.tcp.recv_buffer = 7 * 1448;  // 7 segments of 1460 - 12 (timestamps)
         lock_buffers(s);
         // §2.8's receiver delays its ACKs (one per two segments): the linux
         // profile's quick-ACK mode would ACK each of the first segments.
         s.tcp.quickack_segments = 0;
         s.client_bytes = 100'000;
         s.drop_client_data_segment = 30;
       }},
      {{"reorder-undo",
        "a 100 kB upload on a 10 ms link (no rate limit) whose 3rd data segment arrives 30 ms "
        "late (hold.segment, hold.delay): RACK resends it spuriously, the receiver D-SACKs "
        "the late original and the sender undoes the window cut (knob undo; linux)"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.client_bytes = 100'000;
         s.hold_client_data_segment = 3;
         s.hold_delay = Duration::millis(30);
         s.limit = Duration::seconds(60);
       }},
      {{"reordering",
        "a 2 MB upload (128 kB buffers) over a 10 Mbit/s, 20 ms link that holds back 3% of "
        "the client's segments by 8 ms (a fifth of the RTT; ACKs keep their order) and loses "
        "none: linux (RACK, D-SACK, Eifel) undoes every window cut; rfc's three duplicate ACKs "
        "resend spuriously and keep the cut"},
       [](Spec& s) {
         s.link.delay = Duration::millis(20);
         s.link.rate_bps = 10'000'000;
         s.link.reorder = 0.03;
         s.link.reorder_extra = Duration::millis(8);
         s.reorder_both_ways = false;
         // Both profiles' buffers 128 kB (Linux's tcp_rmem default; its
         // tcp_wmem autotuning grows as far): the window, not a 16 kB send
         // buffer, limits the flight, so a window cut costs goodput.
         s.tcp.send_buffer = 128 * 1024;
         s.tcp.recv_buffer = 128 * 1024;
         lock_buffers(s);
         s.client_bytes = 2'000'000;
         s.limit = Duration::seconds(60);
       }},
      {{"delay-spike",
        "a 1 MB upload (128 kB buffers) on a 10 ms, 10 Mbit/s link that stalls from 0.3 s for "
        "1.5 s (stall.at, stall.for): the client's packets all arrive at its end, none lost, "
        "after the RTO fired; linux finds the timeout spurious (Eifel; F-RTO with "
        "timestamps=off) and undoes its cut, rfc keeps it and slow-starts from one segment"},
       [](Spec& s) {
         s.link.delay = Duration::millis(10);
         s.link.rate_bps = 10'000'000;
         s.tcp.send_buffer = 128 * 1024;  // as in reordering
         s.tcp.recv_buffer = 128 * 1024;
         lock_buffers(s);
         s.client_bytes = 1'000'000;
         s.stall_at = Duration::millis(300);
         s.stall_for = Duration::millis(1500);
         s.limit = Duration::seconds(60);
       }},
  };
  return defs;
}

// "10M", "10Mbit", "1.5G", "64k", "1000": bits per second.
bool parse_rate(std::string v, uint64_t* out) {
  for (const char* suffix : {"bit/s", "bps", "bit"}) {
    const std::string s(suffix);
    if (v.size() > s.size() && v.compare(v.size() - s.size(), s.size(), s) == 0) {
      v.resize(v.size() - s.size());
      break;
    }
  }
  double mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'k':
      case 'K':
        mult = 1e3;
        break;
      case 'M':
        mult = 1e6;
        break;
      case 'G':
        mult = 1e9;
        break;
      default:
        break;
    }
    if (mult != 1) v.pop_back();
  }
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  // Past 1e18 llround() has no defined result; no rate is that fast.
  if (ec != std::errc() || p != v.data() + v.size() || x < 0 || !std::isfinite(x) ||
      x * mult > 1e18)
    return false;
  *out = static_cast<uint64_t>(std::llround(x * mult));
  return true;
}

// "0.05" or "5%": a probability.
bool parse_probability(std::string v, double* out) {
  double scale = 1;
  if (!v.empty() && v.back() == '%') {
    v.pop_back();
    scale = 0.01;
  }
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size()) return false;
  x *= scale;
  if (!(x >= 0 && x <= 1)) return false;
  *out = x;
  return true;
}

// "10MB", "64k", "1000": bytes (decimal multiples, as "10 MB" in the issue).
bool parse_bytes(std::string v, uint64_t* out) {
  if (v.size() > 1 && (v.back() == 'B' || v.back() == 'b')) v.pop_back();
  uint64_t mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'k':
      case 'K':
        mult = 1000;
        break;
      case 'M':
        mult = 1000 * 1000;
        break;
      case 'G':
        mult = 1000 * 1000 * 1000;
        break;
      default:
        break;
    }
    if (mult != 1) v.pop_back();
  }
  uint64_t x = 0;
  if (!util::parse_u64(v, UINT64_MAX, &x) || x > UINT64_MAX / mult) return false;
  *out = x * mult;
  return true;
}

using Setter = std::function<std::string(Spec&, const std::string&)>;

// Ranges of the scenario keys (docs/knobs.md): wide enough for any network
// a scenario models, bounded so that a run stays finite in time and memory.
struct SpecDurationRange {
  Duration lo;
  Duration hi;
};
std::string describe(const SpecDurationRange& r) {
  return "a duration from " + format_duration(r.lo) + " to " + format_duration(r.hi);
}
// One-way delay and reorder delay: RFC 6298 §2.5's 60 s RTO ceiling; a
// longer delay makes every segment a timeout.
constexpr SpecDurationRange kLinkDelayRange{Duration::zero(), Duration::seconds(60)};
// Virtual time: 30 days holds the longest liveness question (hours of
// keepalive or user timeout); at least 1 ms so a run does something.
constexpr SpecDurationRange kLimitRange{Duration::millis(1), Duration::seconds(30 * 24 * 3600)};
constexpr SpecDurationRange kStartRange{Duration::zero(), Duration::seconds(30 * 24 * 3600)};
constexpr SpecDurationRange kHoldRange{Duration::zero(), Duration::seconds(60)};
constexpr uint64_t kMaxStreamBytes = 10'000'000'000;  // 10 GB: 80 s at 1 Gbit/s
constexpr uint64_t kMinRate = 1000;                   // 1 kbit/s: 12 s per 1500-byte packet
constexpr uint64_t kMaxRate = 100'000'000'000;        // 100 Gbit/s
constexpr uint64_t kMinQueue = 1500;                  // one full-sized packet
constexpr uint64_t kMaxQueue = 1'000'000'000;         // 1 GB

const std::map<std::string, Setter>& spec_setters() {
  auto duration = [](Duration Spec::*f, SpecDurationRange r) -> Setter {
    return [f, r](Spec& s, const std::string& v) -> std::string {
      Duration d;
      if (!parse_duration(v, &d) || d < r.lo || d > r.hi)
        return "expects " + describe(r) + ", with a unit such as 20ms or 1s";
      s.*f = d;
      return {};
    };
  };
  auto link_duration = [](Duration LinkConfig::*f) -> Setter {
    return [f](Spec& s, const std::string& v) -> std::string {
      Duration d;
      if (!parse_duration(v, &d) || d > kLinkDelayRange.hi)
        return "expects " + describe(kLinkDelayRange) + ", with a unit such as 20ms or 1s";
      s.link.*f = d;
      return {};
    };
  };
  auto link_probability = [](double LinkConfig::*f) -> Setter {
    return [f](Spec& s, const std::string& v) -> std::string {
      if (!parse_probability(v, &(s.link.*f))) return "expects a probability such as 0.05 or 5%";
      return {};
    };
  };
  auto byte_count = [](uint64_t Spec::*f) -> Setter {
    return [f](Spec& s, const std::string& v) -> std::string {
      uint64_t b = 0;
      if (!parse_bytes(v, &b) || b > kMaxStreamBytes)
        return "expects a byte count from 0 to 10G, such as 1000, 64k or 10MB";
      s.*f = b;
      return {};
    };
  };
  static const std::map<std::string, Setter> m = {
      {"link.delay", link_duration(&LinkConfig::delay)},
      {"link.rate",
       [](Spec& s, const std::string& v) -> std::string {
         uint64_t r = 0;
         if (!parse_rate(v, &r) || (r != 0 && (r < kMinRate || r > kMaxRate)))
           return "expects 0 (unlimited) or bits per second from 1k to 100G, such as 10M";
         s.link.rate_bps = r;
         return {};
       }},
      {"link.queue",
       [](Spec& s, const std::string& v) -> std::string {
         uint64_t b = 0;
         if (!parse_bytes(v, &b) || (b != 0 && (b < kMinQueue || b > kMaxQueue)))
           return "expects 0 (unlimited) or a byte count from 1500 to 1G, such as 64k";
         s.link.queue_limit_bytes = static_cast<size_t>(b);
         return {};
       }},
      {"link.loss", link_probability(&LinkConfig::loss)},
      {"link.reorder", link_probability(&LinkConfig::reorder)},
      {"link.reorder_delay", link_duration(&LinkConfig::reorder_extra)},
      {"link.duplicate", link_probability(&LinkConfig::duplicate)},
      {"link.corrupt", link_probability(&LinkConfig::corrupt)},
      {"bytes", byte_count(&Spec::client_bytes)},
      {"reply_bytes", byte_count(&Spec::server_bytes)},
      {"drop.burst",
       [](Spec& s, const std::string& v) -> std::string {
         uint64_t n = 0;
         if (!util::parse_u64(v, 20, &n)) return "expects a segment count from 0 to 20";
         s.drop_burst_segments = static_cast<uint32_t>(n);
         return {};
       }},
      {"drop.tail",
       [](Spec& s, const std::string& v) -> std::string {
         uint64_t n = 0;
         if (!util::parse_u64(v, 10, &n)) return "expects a segment count from 0 to 10";
         s.drop_tail_segments = static_cast<uint32_t>(n);
         return {};
       }},
      {"hold.segment",
       [](Spec& s, const std::string& v) -> std::string {
         uint64_t n = 0;
         if (!util::parse_u64(v, 1'000'000, &n))
           return "expects a segment number from 0 to 1000000";
         s.hold_client_data_segment = n;
         return {};
       }},
      {"hold.delay", duration(&Spec::hold_delay, kHoldRange)},
      {"stall.at", duration(&Spec::stall_at, kStartRange)},
      {"stall.for", duration(&Spec::stall_for, kHoldRange)},
      {"client_start", duration(&Spec::client_start, kStartRange)},
      {"limit", duration(&Spec::limit, kLimitRange)},
      {"app.abort_after", duration(&Spec::client_abort_after, kStartRange)},
      {"app.abort_mode",
       [](Spec& s, const std::string& v) -> std::string {
         if (v == "linger0") {
           s.client_abort_mode = PeerBehaviour::AbortMode::kLinger0;
         } else if (v == "unread") {
           s.client_abort_mode = PeerBehaviour::AbortMode::kUnread;
         } else {
           return "expects linger0 or unread";
         }
         return {};
       }},
      {"icmp.from", duration(&Spec::icmp_from, kStartRange)},
      {"icmp.code",
       [](Spec& s, const std::string& v) -> std::string {
         if (v == "net") {
           s.icmp_code = wire::icmp_code::kNetUnreachable;
         } else if (v == "host") {
           s.icmp_code = wire::icmp_code::kHostUnreachable;
         } else if (v == "protocol") {
           s.icmp_code = wire::icmp_code::kProtocolUnreachable;
         } else if (v == "port") {
           s.icmp_code = wire::icmp_code::kPortUnreachable;
         } else {
           return "expects net, host, protocol or port";
         }
         return {};
       }},
      {"capture",
       [](Spec& s, const std::string& v) -> std::string {
         if (v == "client") {
           s.capture_host = 0;
         } else if (v == "server") {
           s.capture_host = 1;
         } else {
           return "expects client or server";
         }
         return {};
       }},
  };
  return m;
}

// RFC 2525 problems that --bug switches on, each as the knob values that
// reproduce the faulty behaviour.
struct BugDef {
  const char* name;
  const char* what;
  std::function<void(tcp::TcpConfig&)> apply;
};

const std::vector<BugDef>& bug_defs() {
  static const std::vector<BugDef> bugs = {
      {"short-keepalive-timeout",
       "RFC 2525 §2.9: the connection is dropped after 5 probes 1 s apart",
       [](tcp::TcpConfig& c) {
         c.keepalive_interval = Duration::seconds(1);
         c.keepalive_count = 5;
       }},
      {"short-keepalive-interval",
       "RFC 2525 §2.11: keepalives after 60 s of idle instead of at least 2 hours",
       [](tcp::TcpConfig& c) {
         c.keepalive_idle = Duration::seconds(60);
         c.keepalive_interval = Duration::seconds(60);
       }},
      {"no-rto-backoff", "RFC 2525 §2.10: the retransmission timer is never backed off",
       [](tcp::TcpConfig& c) { c.bug_no_rto_backoff = true; }},
      {"initial-rto-too-low", "RFC 2525 §2.7: an initial RTO (and floor) of 100 ms",
       [](tcp::TcpConfig& c) {
         c.rto_initial = Duration::millis(100);
         c.rto_min = Duration::millis(100);
       }},
      {"extra-additive-constant",
       "RFC 2525 §2.6: congestion avoidance adds MSS*MSS/cwnd + MSS/8 per ACK of new data",
       [](tcp::TcpConfig& c) { c.bug_extra_additive_constant = true; }},
      {"no-window-deflation",
       "RFC 2525 §2.8: cwnd keeps its inflated value when fast recovery ends",
       [](tcp::TcpConfig& c) { c.bug_no_window_deflation = true; }},
      {"window-probe-deadlock",
       "RFC 2525 §2.12: a probe byte taken into a zero window makes the window negative; "
       "every segment, ACKs included, is discarded until a window update",
       [](tcp::TcpConfig& c) { c.bug_probe_window_negative = true; }},
      {"keepalive-while-persisting",
       "RFC 9293 §3.8.6.1: keepalive probes while the peer's window is closed, and its "
       "zero-window ACKs not counted as answers, so a peer answering every probe is declared dead",
       [](tcp::TcpConfig& c) { c.bug_keepalive_while_persisting = true; }},
  };
  return bugs;
}

std::string apply_bug(const std::string& name, tcp::TcpConfig* cfg) {
  std::string names;
  for (const auto& b : bug_defs()) {
    if (name == b.name) {
      b.apply(*cfg);
      return {};
    }
    names += (names.empty() ? "" : ", ") + std::string(b.name);
  }
  return "unknown bug '" + name + "'; valid bugs: " + names;
}

const ScenarioDef* find(const std::string& name) {
  for (const auto& d : definitions()) {
    if (d.info.name == name) return &d;
  }
  return nullptr;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const std::vector<ScenarioInfo>& scenario_list() {
  static const std::vector<ScenarioInfo> list = [] {
    std::vector<ScenarioInfo> l;
    for (const auto& d : definitions()) l.push_back(d.info);
    return l;
  }();
  return list;
}

std::vector<std::pair<std::string, std::string>> bug_list() {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& b : bug_defs()) v.emplace_back(b.name, b.what);
  return v;
}

std::string apply_scenario_bug(const std::string& name, tcp::TcpConfig* cfg) {
  return apply_bug(name, cfg);
}

std::vector<std::string> settable_keys() {
  std::vector<std::string> keys = tcp::TcpConfig::knob_names();
  for (const auto& [k, setter] : spec_setters()) keys.push_back(k);
  for (const auto& k : stack::StackConfig::knob_names()) keys.push_back(k);
  return keys;
}

std::string run_scenario(const std::string& name, const ScenarioParams& params,
                         ScenarioResult* out) {
  // Everything up to the pcap is the caller's arguments: exit 2 in the CLI.
  auto usage = [out](std::string err) {
    out->usage_error = true;
    return err;
  };
  const ScenarioDef* def = find(name);
  if (!def) {
    std::vector<std::string> names;
    for (const auto& i : scenario_list()) names.push_back(i.name);
    return usage("unknown scenario '" + name + "'; valid scenarios: " + join_names(names));
  }
  Spec spec;
  if (!tcp::TcpConfig::from_profile(params.profile, &spec.tcp)) {
    return usage("unknown profile '" + params.profile + "'; valid profiles: rfc, linux");
  }
  def->configure(spec);
  for (const auto& bug : params.bugs) {
    std::string err = apply_bug(bug, &spec.tcp);
    if (!err.empty()) return usage(err);
  }
  for (const auto& [key, value] : params.sets) {
    auto it = spec_setters().find(key);
    std::string err;
    if (it != spec_setters().end()) {
      err = it->second(spec, value);
      if (!err.empty()) err = key + " " + err + ", got '" + value + "'";
    } else if (std::find(stack::StackConfig::knob_names().begin(),
                         stack::StackConfig::knob_names().end(),
                         key) != stack::StackConfig::knob_names().end()) {
      err = spec.stack.set_one(key, value);
    } else {
      const auto& knobs = tcp::TcpConfig::knob_names();
      if (std::find(knobs.begin(), knobs.end(), key) == knobs.end()) {
        return usage("unknown key '" + key + "'; valid keys: " + join_names(settable_keys()));
      }
      err = spec.tcp.set_one(key, value);
    }
    if (!err.empty()) return usage(err);
  }
  // Rules between knobs once all are set, so --set order does not matter.
  if (!params.sets.empty()) {
    if (std::string err = spec.tcp.validate(); !err.empty()) return usage(err);
  }

  std::unique_ptr<link::PcapWriter> pcap;
  if (!params.pcap_path.empty()) {
    pcap = std::make_unique<link::PcapWriter>(params.pcap_path);
    if (!pcap->ok()) return pcap->error();
  }

  World world(params.seed);
  stack::StackConfig client_cfg = spec.stack;
  client_cfg.address = wire::Ipv4Addr::of(10, 0, 0, 1);
  client_cfg.tcp = spec.tcp;
  if (spec.client_tweak) spec.client_tweak(client_cfg.tcp);
  stack::StackConfig server_cfg = client_cfg;
  server_cfg.tcp = spec.tcp;
  if (spec.server_tweak) spec.server_tweak(server_cfg.tcp);
  server_cfg.address = wire::Ipv4Addr::of(10, 0, 0, 2);
  if (spec.server_max_connections) server_cfg.max_connections = spec.server_max_connections;
  Host& client = world.add_host("client", client_cfg);
  Host& server = world.add_host("server", server_cfg);
  LinkConfig back = spec.link;  // server -> client
  if (!spec.reorder_both_ways) back.reorder = 0;
  world.set_link(spec.link, back);
  if (spec.nat_reset_at != Duration::max()) {
    // The NAT's mapping exists from the client's first packet until the
    // reset, and again from the client's next packet after it.
    auto mapped = std::make_shared<bool>(false);
    auto reset_done = std::make_shared<bool>(false);
    const Instant reset_at = Instant::zero() + spec.nat_reset_at;
    world.set_filter(0, [mapped, reset_done, reset_at](Instant now, std::vector<uint8_t>&) {
      if (now >= reset_at && !*reset_done) *reset_done = true;
      *mapped = true;
      return true;
    });
    world.set_filter(1, [mapped, reset_done, reset_at](Instant now, std::vector<uint8_t>&) {
      if (now >= reset_at && !*reset_done) {
        *reset_done = true;
        *mapped = false;  // the box rebooted: every mapping is gone
      }
      return *mapped;
    });
  }
  if (spec.icmp_code >= 0) {
    const Instant from = Instant::zero() + spec.icmp_from;
    const auto code = static_cast<uint8_t>(spec.icmp_code);
    World* w = &world;
    world.set_filter(0, [w, from, code](Instant now, std::vector<uint8_t>& pkt) {
      if (now < from) return true;
      // The router on the path answers instead of forwarding.
      std::vector<uint8_t> icmp(pkt.size() + 64);
      const size_t n =
          wire::build_icmp_unreachable(icmp, wire::Ipv4Addr::of(10, 0, 0, 254), code, 576, pkt);
      if (n) w->inject(0, std::span<const uint8_t>(icmp.data(), n));
      return false;
    });
  }
  if (spec.icmp_forge_count > 0) {
    struct Forger {
      Instant next;
      int sent = 0;
    };
    auto f = std::make_shared<Forger>();
    f->next = Instant::zero() + spec.icmp_forge_from;
    const Duration every = spec.icmp_forge_every;
    const int count = spec.icmp_forge_count;
    World* w = &world;
    world.set_filter(0, [w, f, every, count](Instant now, std::vector<uint8_t>& pkt) {
      if (f->sent == count || now < f->next) return true;
      wire::PacketView v;
      if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
          v.kind != wire::PacketView::Kind::kTcp || v.tcp.payload().empty())
        return true;  // quote data segments only: their sequence numbers are in flight
      static constexpr uint8_t kCodes[4] = {
          wire::icmp_code::kPortUnreachable, wire::icmp_code::kProtocolUnreachable,
          wire::icmp_code::kHostUnreachable, wire::icmp_code::kFragmentationNeeded};
      std::vector<uint8_t> icmp(pkt.size() + 64);
      const size_t n = wire::build_icmp_unreachable(icmp, wire::Ipv4Addr::of(10, 0, 0, 254),
                                                    kCodes[f->sent % 4], 68, pkt);
      if (n) w->inject(0, std::span<const uint8_t>(icmp.data(), n));
      ++f->sent;
      f->next = f->next + every;
      return true;
    });
  }
  if (spec.drop_burst_segments > 0) {
    // Data segments are counted in order of first transmission; the 30th
    // to the (29 + N)th are dropped that once.
    struct BurstDrop {
      uint32_t next_seq = 0;
      bool started = false;
      uint32_t count = 0;
    };
    auto st = std::make_shared<BurstDrop>();
    const uint32_t n = spec.drop_burst_segments;
    world.set_filter(0, [st, n](Instant, std::vector<uint8_t>& pkt) {
      wire::PacketView v;
      if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
          v.kind != wire::PacketView::Kind::kTcp || v.tcp.payload().empty())
        return true;
      const uint32_t end = v.tcp.seq() + static_cast<uint32_t>(v.tcp.payload().size());
      if (st->started && !tcp::seq_gt(end, st->next_seq)) return true;  // a resend
      st->started = true;
      st->next_seq = end;
      ++st->count;
      return st->count < 30 || st->count >= 30 + n;
    });
  }
  if (spec.drop_tail_segments > 0 && spec.client_bytes > 0) {
    // The client's ISS from its SYN, its MSS from the largest segment; a
    // data segment reaching into the last N segments of the stream (cut at
    // the MSS from the first byte) is dropped the first time it is seen.
    struct TailDrop {
      bool have_iss = false;
      uint32_t iss = 0;
      uint64_t mss = 0;
      std::vector<uint32_t> dropped;
    };
    auto st = std::make_shared<TailDrop>();
    const uint64_t total = spec.client_bytes;
    const uint64_t n = spec.drop_tail_segments;
    world.set_filter(0, [st, total, n](Instant, std::vector<uint8_t>& pkt) {
      wire::PacketView v;
      if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
          v.kind != wire::PacketView::Kind::kTcp)
        return true;
      if (v.tcp.has(wire::tcp_flags::kSyn)) {
        st->iss = v.tcp.seq();
        st->have_iss = true;
        return true;
      }
      const uint64_t len = v.tcp.payload().size();
      if (!st->have_iss || len == 0) return true;
      st->mss = std::max(st->mss, len);
      const uint64_t last = (total - 1) % st->mss + 1;  // the short last segment
      const uint64_t tail = total > last + (n - 1) * st->mss ? total - last - (n - 1) * st->mss : 0;
      const uint64_t off = static_cast<uint32_t>(v.tcp.seq() - st->iss - 1);
      if (off + len <= tail) return true;
      for (uint32_t d : st->dropped) {
        if (d == v.tcp.seq()) return true;  // a retransmission: it gets through
      }
      st->dropped.push_back(v.tcp.seq());
      return false;
    });
  }
  if (spec.drop_client_data_segment > 0) {
    auto seen = std::make_shared<uint64_t>(0);
    const uint64_t n = spec.drop_client_data_segment;
    world.set_filter(0, [seen, n](Instant, std::vector<uint8_t>& pkt) {
      wire::PacketView v;
      if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
          v.kind != wire::PacketView::Kind::kTcp || v.tcp.payload().empty())
        return true;
      return ++*seen != n;
    });
  }
  if (spec.hold_client_data_segment > 0) {
    auto app = std::make_unique<HeldDelivery>(world, 1);
    HeldDelivery* held = app.get();
    world.add_app(1, std::move(app));
    auto seen = std::make_shared<uint64_t>(0);
    const uint64_t n = spec.hold_client_data_segment;
    const Duration delay = spec.hold_delay;
    world.set_filter(0, [seen, n, delay, held](Instant now, std::vector<uint8_t>& pkt) {
      wire::PacketView v;
      if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
          v.kind != wire::PacketView::Kind::kTcp || v.tcp.payload().empty())
        return true;
      if (++*seen != n) return true;
      held->hold(now + delay, pkt);
      return false;
    });
  }
  if (spec.stall_at != Duration::max() && spec.stall_for > Duration::zero()) {
    auto app = std::make_unique<HeldDelivery>(world, 1);
    HeldDelivery* held = app.get();
    world.add_app(1, std::move(app));
    const Instant from = Instant::zero() + spec.stall_at;
    const Instant until = from + spec.stall_for;
    world.set_filter(0, [from, until, held](Instant now, std::vector<uint8_t>& pkt) {
      if (now < from || now >= until) return true;
      held->hold(until, pkt);
      return false;
    });
  }
  if (spec.server_vanish_at != Duration::max()) {
    const Instant from = Instant::zero() + spec.server_vanish_at;
    const Instant until = spec.server_return_at == Duration::max()
                              ? Instant::never()
                              : Instant::zero() + spec.server_return_at;
    world.link(0).add_blackhole(from, until);
    world.link(1).add_blackhole(from, until);
  }
  if (pcap) world.set_capture(pcap.get(), spec.capture_host);

  constexpr uint16_t kPort = 47001;  // no Wireshark dissector claims it
  PeerBehaviour cb;
  cb.bytes_to_send = spec.client_bytes;
  cb.pattern_seed = params.seed * 2 + 1;
  cb.close_after_send = spec.client_closes;
  cb.send_from = Instant::zero() + spec.client_write_at;
  if (spec.client_abort_after != Duration::max()) {
    cb.abort_at = Instant::zero() + spec.client_start + spec.client_abort_after;
    cb.abort_mode = spec.client_abort_mode;
    // unread: the application is blocked in its write and reads nothing,
    // so whatever the server sent is still unread when it closes.
    if (cb.abort_mode == PeerBehaviour::AbortMode::kUnread) cb.read_pause.from = Instant::zero();
  }
  // A side that expects nothing from its peer closes as an application
  // does with close(): it lets the connection go (an orphan, as on Linux).
  cb.orphan_on_close = spec.server_bytes == 0;
  PeerBehaviour sb;
  sb.bytes_to_send = spec.server_bytes;
  sb.pattern_seed = params.seed * 2 + 2;
  sb.close_after_send = spec.server_closes;  // otherwise when the client has
  sb.send_from = Instant::zero() + spec.server_write_at;
  sb.orphan_on_close = spec.client_bytes == 0;
  if (spec.server_trickle_at != Duration::max()) {
    sb.read_pause.trickle_at = Instant::zero() + spec.server_trickle_at;
    sb.read_pause.trickle_bytes = spec.server_trickle_bytes;
  }
  if (spec.server_read_pause_from != Duration::max()) {
    sb.read_pause.from = Instant::zero() + spec.server_read_pause_from;
    sb.read_pause.until = spec.server_read_pause_until == Duration::max()
                              ? Instant::never()
                              : Instant::zero() + spec.server_read_pause_until;
  }
  ServerApp* sa = nullptr;
  ClientApp* sca = nullptr;  // the server's side of a simultaneous open
  if (spec.simultaneous_open) {
    constexpr uint16_t kClientPort = 47002;
    cb.local_port = kClientPort;
    sb.local_port = kPort;
    auto app = std::make_unique<ClientApp>(server, tcp::Endpoint{client.address(), kClientPort},
                                           Instant::zero() + spec.client_start, sb);
    sca = app.get();
    world.add_app(1, std::move(app));
  } else {
    auto server_app = std::make_unique<ServerApp>(server, spec.server_listens ? kPort : 0, sb);
    sa = server_app.get();
    world.add_app(1, std::move(server_app));
  }
  auto client_app = std::make_unique<ClientApp>(client, tcp::Endpoint{server.address(), kPort},
                                                Instant::zero() + spec.client_start, cb);
  ClientApp* ca = client_app.get();
  world.add_app(0, std::move(client_app));

  AttackFinish attack_finish;
  if (spec.attack) {
    attack_finish = spec.attack(AttackHooks{world, client, server, kPort, ca, sa, params.seed});
  }

  const Instant end = world.run(Instant::zero() + spec.limit);

  ScenarioResult& r = *out;
  r = ScenarioResult{};
  r.name = name;
  r.summary = def->info.summary;
  r.seed = params.seed;
  r.profile = params.profile;
  r.end = end;
  r.events = world.events();
  for (size_t h = 0; h < world.host_count(); ++h) {
    HostResult hr;
    hr.name = world.host(h).name();
    hr.address = world.host(h).address().to_string();
    hr.drops = world.host(h).stack().drops();
    hr.stats = world.host(h).stack().stats();
    r.hosts.push_back(hr);
    r.link_stats[h] = world.link(h).stats();
  }
  auto add_endpoint = [&](const char* role, Host& host, StreamPeer& peer,
                          const std::string& open_err) {
    // A host that never had a connection (nothing listening, nothing
    // arrived) has no endpoint to report.
    if (!peer.id() && open_err.empty() && std::string(role) == "server") return;
    EndpointResult e;
    e.host = host.name();
    e.role = role;
    e.open_error = open_err;
    peer.tally().finish();
    e.bytes_sent = peer.tally().bytes_sent;
    e.bytes_received = peer.tally().bytes_received;
    e.sha256_sent = peer.tally().sha256_sent;
    e.sha256_received = peer.tally().sha256_received;
    if (peer.id()) {
      if (const tcp::Connection* c = host.stack().connection(*peer.id())) {
        e.conn = c->id();
        e.local = c->tuple().local.to_string();
        e.remote = c->tuple().remote.to_string();
        e.iss = c->iss();
        e.irs = c->irs();
        e.state = c->state();
        e.established = c->established_once();
        e.err = c->error().err;
        e.reason = c->error().reason;
        e.detail = c->error().detail;
        e.time = c->error().err ? c->error().time : c->state_since();
        e.stats = c->stats();
        e.final_rto = c->rtt().rto();
        e.goodput_bps = c->goodput_bps();
        e.send_buffer_bytes = c->send_buffer_size();
        e.recv_buffer_bytes = c->recv_buffer_size();
      }
    }
    r.connections.push_back(std::move(e));
  };
  add_endpoint("client", client, ca->peer(), ca->open_error());
  if (sca) {
    add_endpoint("server", server, sca->peer(), sca->open_error());
  } else {
    add_endpoint("server", server, sa->peer(), "");
  }
  if (pcap) {
    // A full disk shows at the last flush: report it (exit 1), not a
    // truncated capture as a success.
    if (!pcap->close()) return pcap->error();
    r.packets_captured = pcap->packets_written();
    r.pcap_path = params.pcap_path;
  }
  if (attack_finish) attack_finish(r);
  return {};
}

}  // namespace vigil::sim
