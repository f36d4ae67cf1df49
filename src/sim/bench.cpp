#include "sim/bench.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "stack/stack.hpp"
#include "stack/timer_wheel.hpp"
#include "tcp/connection.hpp"
#include "tcp/recv_buffer.hpp"
#include "tcp/send_buffer.hpp"
#include "util/rng.hpp"

namespace vigil::sim::bench {

HeapCounters& heap_counters() {
  static HeapCounters counters;
  return counters;
}

double Result::figure(const std::string& key) const {
  for (const auto& [k, v] : figures)
    if (k == key) return v;
  return 0;
}

namespace {

// The thread's CPU time: what "vigil on one core" costs, whatever else the
// machine is running; the wall clock is reported beside it.
uint64_t cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}
uint64_t wall_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

struct Clocks {
  uint64_t cpu0 = cpu_ns(), wall0 = wall_ns();
  double cpu_s() const { return double(cpu_ns() - cpu0) / 1e9; }
  double wall_s() const { return double(wall_ns() - wall0) / 1e9; }
};

uint64_t allocations() { return heap_counters().allocations.load(std::memory_order_relaxed); }
int64_t live_bytes() { return heap_counters().live_bytes.load(std::memory_order_relaxed); }

// Peak and current resident set, from /proc/self/status (kB).
uint64_t proc_status_kb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(f, line)) {
    if (line.compare(0, n, field) == 0) return std::strtoull(line.c_str() + n + 1, nullptr, 10);
  }
  return 0;
}

// Two stacks joined back to back: whatever one sends the other receives at
// once (no delay model, no loss). Counts datagrams each way.
struct Pair {
  stack::Stack a, b;
  Instant now = Instant::zero();
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
  bool verify = true;
  uint64_t a_to_b = 0, b_to_a = 0, timer_runs = 0;

  Pair(const stack::StackConfig& ca, const stack::StackConfig& cb)
      : a(ca, util::Rng(1), nullptr, Instant::zero()),
        b(cb, util::Rng(2), nullptr, Instant::zero()) {}

  // Moves datagrams both ways until neither stack owes one. Returns how
  // many moved.
  uint64_t pump() {
    uint64_t moved = 0;
    for (;;) {
      uint64_t round = 0;
      while (size_t n = a.poll_transmit(now, buf)) {
        b.receive(now, std::span<const uint8_t>(buf.data(), n), verify);
        ++a_to_b;
        ++round;
      }
      while (size_t n = b.poll_transmit(now, buf)) {
        a.receive(now, std::span<const uint8_t>(buf.data(), n), verify);
        ++b_to_a;
        ++round;
      }
      if (round == 0) return moved;
      moved += round;
    }
  }
  // Runs every timer due by `t`.
  void advance(Instant t) {
    now = t;
    if (a.next_deadline() <= now) {
      a.on_timers(now);
      ++timer_runs;
    }
    if (b.next_deadline() <= now) {
      b.on_timers(now);
      ++timer_runs;
    }
  }
};

stack::StackConfig host(uint8_t last) {
  stack::StackConfig c;
  c.address = wire::Ipv4Addr::of(10, 0, 0, last);
  return c;
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

double memcpy_gbit_per_s(size_t bytes, double seconds) {
  std::vector<uint8_t> src(bytes, 0x5a), dst(bytes);
  uint64_t copied = 0;
  const Clocks c;
  do {
    for (int i = 0; i < 4; ++i) {
      std::memcpy(dst.data(), src.data(), bytes);
      // The copy's result is read, so that it cannot be left out.
      asm volatile("" : : "r"(dst.data()) : "memory");
      copied += bytes;
    }
  } while (c.cpu_s() < seconds);
  return double(copied) * 8 / c.cpu_s() / 1e9;
}

Result run_bulk(const BulkParams& p, const Progress& progress) {
  Result r;
  r.name = "bulk";
  // MSS = MTU - 40: IPv4 and TCP headers without options (RFC 9293 §3.7.1).
  stack::StackConfig ca = host(1), cb = host(2);
  for (auto* c : {&ca, &cb}) {
    c->tcp.mss = static_cast<uint16_t>(p.mtu - 40);
    c->tcp.send_buffer = p.buffer;
    c->tcp.recv_buffer = p.buffer;
    c->tcp.send_buffer_max = 0;  // the size asked for, as SO_SNDBUF / SO_RCVBUF fix it
    c->tcp.recv_buffer_max = 0;
  }
  Pair w(ca, cb);
  w.verify = p.checksums;
  w.a.set_partial_checksum(!p.checksums);
  w.b.set_partial_checksum(!p.checksums);

  // The pattern: made before the clock starts. 1 MiB + 64 KiB so that any
  // write or read of up to 64 KiB at offset % 1 MiB is one contiguous span.
  constexpr size_t kPattern = 1 << 20;
  std::vector<uint8_t> pattern(kPattern + 65536);
  util::Rng rng(7);
  for (auto& x : pattern) x = static_cast<uint8_t>(rng.next_u64());
  std::copy(pattern.begin(), pattern.begin() + 65536, pattern.begin() + kPattern);
  std::vector<uint8_t> rbuf(65536);

  if (!w.b.listen(5001, 16)) {
    r.error = "listen failed";
    return r;
  }
  const auto client = w.a.connect(w.now, tcp::Endpoint{cb.address, 5001});
  if (!client) {
    r.error = "connect failed";
    return r;
  }
  w.pump();
  const auto server = w.b.accept(5001);
  if (!server) {
    r.error = "the handshake did not complete";
    return r;
  }

  uint64_t sent = 0, received = 0, mismatches = 0, verify_cpu = 0;
  const uint64_t alloc0 = allocations();
  const uint64_t segs0 = w.a_to_b, acks0 = w.b_to_a;
  const Clocks clocks;
  uint64_t next_report = 64u << 20;
  uint64_t idle_rounds = 0;
  while (received < p.bytes) {
    while (sent < p.bytes) {
      const size_t off = sent % kPattern;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(65536, p.bytes - sent));
      const size_t n = w.a.send(w.now, *client, std::span<const uint8_t>(&pattern[off], want));
      if (n == 0) break;
      sent += n;
    }
    const uint64_t moved = w.pump();
    bool read_any = false;
    while (size_t n = w.b.recv(w.now, *server, rbuf)) {
      // Verification, on its own clock and left out of the figures.
      const uint64_t v0 = cpu_ns();
      const size_t off = received % kPattern;
      if (std::memcmp(rbuf.data(), &pattern[off], n) != 0) ++mismatches;
      received += n;
      verify_cpu += cpu_ns() - v0;
      read_any = true;
    }
    // Virtual time moves 1 µs a round, so that RTT samples and the delayed
    // ACK timer see time pass; when nothing moved, straight to the next timer.
    if (moved == 0 && !read_any) {
      if (++idle_rounds > 1000) {
        r.error = "the transfer stalled at " + std::to_string(received) + " bytes";
        return r;
      }
      const Instant t = std::min(w.a.next_deadline(), w.b.next_deadline());
      w.advance(t == Instant::never() ? w.now + Duration::millis(1) : t);
    } else {
      idle_rounds = 0;
      w.advance(w.now + Duration::micros(1));
    }
    if (progress && received >= next_report) {
      progress("bulk mtu " + std::to_string(p.mtu) + ": " + mib(received) + " of " + mib(p.bytes));
      next_report += 64u << 20;
    }
  }
  const double cpu = clocks.cpu_s() - double(verify_cpu) / 1e9;
  const double wall = clocks.wall_s() - double(verify_cpu) / 1e9;
  const uint64_t segs = w.a_to_b - segs0, acks = w.b_to_a - acks0;
  const uint64_t allocs = allocations() - alloc0;
  if (mismatches) r.error = std::to_string(mismatches) + " reads differed from what was sent";

  r.figures = {
      {"bytes", double(p.bytes)},
      {"mtu", double(p.mtu)},
      {"gbit_per_s", double(p.bytes) * 8 / cpu / 1e9},
      {"gbit_per_s_wall", double(p.bytes) * 8 / wall / 1e9},
      {"ns_per_segment", cpu * 1e9 / double(segs)},
      {"segments", double(segs)},
      {"acks", double(acks)},
      {"allocations", double(allocs)},
      {"allocations_per_segment", double(allocs) / double(segs)},
      {"cpu_s", cpu},
      {"wall_s", wall},
      {"verify_cpu_s", double(verify_cpu) / 1e9},
  };
  if (p.ceiling) {
    const double ceiling = memcpy_gbit_per_s();
    r.figures.emplace_back("memcpy_gbit_per_s", ceiling);
    r.figures.emplace_back("fraction_of_memcpy", r.figure("gbit_per_s") / ceiling);
  }
  r.notes.emplace_back("checksums", p.checksums ? "full, verified" : "partial, unverified");
  r.notes.emplace_back("allocations_counted", heap_counters().counting ? "yes" : "no");
  return r;
}

Result run_handshake(const HandshakeParams& p, const Progress& progress) {
  Result r;
  r.name = "handshake";
  stack::StackConfig ca = host(1), cb = host(2);
  // TIME-WAIT of 60 s, Linux's TCP_TIMEWAIT_LEN, rather than RFC 9293's
  // 2 x 120 s, so that the comparison with Linux holds the same number of
  // TIME-WAIT connections.
  ca.tcp.msl = cb.tcp.msl = Duration::seconds(30);
  Pair w(ca, cb);
  if (!w.b.listen(5002, 128)) {
    r.error = "listen failed";
    return r;
  }
  uint8_t byte = 'x', in = 0;
  uint64_t done = 0, failed = 0;
  const uint64_t alloc0 = allocations();
  const uint64_t dg0 = w.a_to_b + w.b_to_a;
  const Clocks clocks;
  for (uint64_t i = 0; i < p.count; ++i) {
    // 10 ms of virtual time per cycle: TIME-WAIT (2 MSL, 60 s) then holds
    // about 6000 client connections at a time, as a loopback loop on Linux
    // keeps its TIME-WAIT sockets.
    w.advance(w.now + Duration::millis(10));
    const auto c = w.a.connect(w.now, tcp::Endpoint{cb.address, 5002});
    if (!c) {
      ++failed;
      continue;
    }
    w.pump();
    const auto s = w.b.accept(5002);
    if (!s) {
      ++failed;
      w.a.abort(w.now, *c);
      w.a.release(*c);
      w.pump();
      continue;
    }
    w.a.send(w.now, *c, std::span<const uint8_t>(&byte, 1));
    w.b.send(w.now, *s, std::span<const uint8_t>(&byte, 1));
    w.pump();
    const bool ok = w.b.recv(w.now, *s, std::span<uint8_t>(&in, 1)) == 1 &&
                    w.a.recv(w.now, *c, std::span<uint8_t>(&in, 1)) == 1;
    // The client closes first (its side goes to TIME-WAIT, as with close()
    // on Linux); the server closes on the EOF.
    w.a.close(w.now, *c);
    w.pump();
    w.b.close(w.now, *s);
    w.pump();
    w.a.release(*c);
    w.b.release(*s);
    if (ok)
      ++done;
    else
      ++failed;
    if (progress && (i + 1) % 50'000 == 0)
      progress("handshake: " + std::to_string(i + 1) + " of " + std::to_string(p.count));
  }
  const double cpu = clocks.cpu_s(), wall = clocks.wall_s();
  const uint64_t allocs = allocations() - alloc0;
  if (failed)
    r.error = std::to_string(failed) + " of " + std::to_string(p.count) + " cycles failed";
  r.figures = {
      {"handshakes", double(done)},
      {"handshakes_per_s", double(done) / cpu},
      {"handshakes_per_s_wall", double(done) / wall},
      {"ns_per_handshake", cpu * 1e9 / double(std::max<uint64_t>(done, 1))},
      {"datagrams_per_handshake",
       double(w.a_to_b + w.b_to_a - dg0) / double(std::max<uint64_t>(done, 1))},
      {"allocations_per_handshake", double(allocs) / double(std::max<uint64_t>(done, 1))},
      {"cpu_s", cpu},
      {"wall_s", wall},
  };
  r.notes.emplace_back("allocations_counted", heap_counters().counting ? "yes" : "no");
  return r;
}

Result run_idle(const IdleParams& p, const Progress& progress) {
  Result r;
  r.name = "idle";
  stack::StackConfig ca = host(1), cb = host(2);
  // No connection cap at either end (StackConfig::max_connections), and
  // connections made in batches of 200 stay within the default SYN queue.
  ca.max_connections = cb.max_connections = 0;
  Pair w(ca, cb);
  tcp::TcpConfig client_tcp = ca.tcp;
  client_tcp.keepalive = true;  // 7200 s, 75 s, 9: the RFC 1122 §4.2.3.6 defaults
  client_tcp.keepalive_idle = Duration::seconds(7200);
  client_tcp.keepalive_interval = Duration::seconds(75);
  client_tcp.keepalive_count = 9;
  // 4-tuples: 50,000 client ports towards each of enough server ports.
  constexpr uint64_t kPortsPerServerPort = 50'000;
  const uint64_t server_ports = (p.connections + kPortsPerServerPort - 1) / kPortsPerServerPort;
  for (uint64_t i = 0; i < server_ports; ++i) {
    if (!w.b.listen(static_cast<uint16_t>(6000 + i), 1024)) {
      r.error = "listen failed";
      return r;
    }
  }
  const int64_t heap0 = live_bytes();
  const uint64_t setup_alloc0 = allocations();
  const uint64_t rss0 = proc_status_kb("VmRSS:");
  const Clocks setup;
  constexpr uint64_t kBatch = 200;
  constexpr uint64_t kProbe = 10'000;  // connections measured before projecting
  std::vector<stack::ConnId> accepted;
  uint64_t established = 0;
  for (uint64_t i = 0; i < p.connections;) {
    const uint64_t end = std::min(p.connections, i + kBatch);
    for (; i < end; ++i) {
      const auto port = static_cast<uint16_t>(6000 + i / kPortsPerServerPort);
      const auto local = static_cast<uint16_t>(10000 + i % kPortsPerServerPort);
      if (!w.a.connect(w.now, tcp::Endpoint{cb.address, port}, nullptr, &client_tcp, local)) {
        r.error = "connect " + std::to_string(i) + " failed";
        return r;
      }
    }
    w.pump();
    for (uint64_t port = 0; port < server_ports; ++port)
      while (w.b.accept(static_cast<uint16_t>(6000 + port))) ++established;
    if (i == std::min(kProbe, p.connections) && heap_counters().counting) {
      const double per = double(live_bytes() - heap0) / double(i);
      if (per * double(p.connections) > double(p.memory_limit)) {
        r.error = "not run: " + std::to_string(p.connections) + " connections would need " +
                  std::to_string(uint64_t(per * double(p.connections)) >> 20) + " MiB of heap (" +
                  std::to_string(uint64_t(per)) + " bytes per pair measured on the first " +
                  std::to_string(i) + ")";
        r.figures = {{"connections", double(p.connections)}, {"bytes_per_connection", per / 2}};
        return r;
      }
    }
    if (progress && i % 100'000 == 0)
      progress("idle: " + std::to_string(i) + " of " + std::to_string(p.connections) +
               " connected");
  }
  const double setup_wall = setup.wall_s();
  if (established != p.connections) {
    r.error = std::to_string(established) + " of " + std::to_string(p.connections) +
              " connections established";
    return r;
  }
  const int64_t heap_established = live_bytes() - heap0;
  const uint64_t setup_allocations = allocations() - setup_alloc0;
  const uint64_t rss_established = proc_status_kb("VmRSS:");
  const size_t held_a = w.a.held_bytes(), held_b = w.b.held_bytes();

  // 3 hours of virtual time: from timer to timer, every datagram answered
  // at once. Events: each datagram delivered and each connection timer run.
  const uint64_t dg0 = w.a_to_b + w.b_to_a;
  const uint64_t alloc0 = allocations();
  const Instant end = w.now + p.run_for;
  const Clocks run;
  uint64_t wakeups = 0;
  for (;;) {
    const Instant t = std::min(w.a.next_deadline(), w.b.next_deadline());
    if (t > end) break;
    w.advance(t);
    w.pump();
    ++wakeups;
  }
  w.now = end;
  const double run_wall = run.wall_s(), run_cpu = run.cpu_s();
  const uint64_t datagrams = w.a_to_b + w.b_to_a - dg0;
  uint64_t alive = 0, probes = 0;
  for (const auto id : w.a.connection_ids()) {
    const tcp::Connection* c = w.a.connection(id);
    if (c && c->state() == tcp::State::kEstablished) ++alive;
  }
  probes = datagrams / 2;
  const uint64_t rss_peak = proc_status_kb("VmHWM:");
  const double n = double(p.connections);
  r.figures = {
      {"connections", n},
      {"alive_after", double(alive)},
      {"bytes_per_connection", double(heap_established) / (2 * n)},
      {"stack_held_bytes_per_connection", double(held_a + held_b) / (2 * n)},
      {"setup_allocations_per_connection", double(setup_allocations) / (2 * n)},
      {"rss_bytes", double(rss_established) * 1024},
      {"rss_growth_bytes", double(rss_established - std::min(rss_established, rss0)) * 1024},
      {"rss_peak_bytes", double(rss_peak) * 1024},
      {"setup_wall_s", setup_wall},
      {"wall_s", run_wall},
      {"cpu_s", run_cpu},
      {"virtual_s", p.run_for.secs()},
      {"datagrams", double(datagrams)},
      {"keepalive_probes", double(probes)},
      {"wakeups", double(wakeups)},
      {"events", double(datagrams + probes)},
      {"events_per_s", double(datagrams + probes) / run_cpu},
      {"events_per_s_wall", double(datagrams + probes) / run_wall},
      {"allocations_while_idle", double(allocations() - alloc0)},
  };
  r.notes.emplace_back("events", "datagrams delivered + keepalive timers run");
  r.notes.emplace_back("allocations_counted", heap_counters().counting ? "yes" : "no");
  if (alive != p.connections)
    r.error = std::to_string(p.connections - alive) + " connections did not survive";
  return r;
}

std::vector<std::pair<std::string, uint64_t>> connection_sizes() {
  return {
      {"sizeof_tcp_connection", sizeof(tcp::Connection)},
      {"sizeof_tcp_config", sizeof(tcp::TcpConfig)},  // shared: one per distinct config
      {"sizeof_send_buffer", sizeof(tcp::SendBuffer)},
      {"sizeof_recv_buffer", sizeof(tcp::RecvBuffer)},
      {"sizeof_timer_entry", sizeof(stack::TimerEntry)},  // in the stack's slot
      {"sizeof_four_tuple", sizeof(tcp::FourTuple)},      // the demux key
  };
}

}  // namespace vigil::sim::bench
