// An echo server on a Linux TUN device that prints why each connection
// ended, on vigil's public API (vigil/vigil.hpp, vigil/tun.hpp). Needs
// root; runs in a network namespace of your own so the host's links are
// untouched:
//   ip netns add demo
//   tun_echo demo vt0 10.99.0.2 10.99.0.1 7 &     # NETNS DEV VIGIL-IP KERNEL-IP PORT
//   ip netns exec demo nc 10.99.0.2 7
// Each connection's end is one line, e.g.
//   10.99.0.2:7 <-> 10.99.0.1:40312 ended at 3.201554 s in LAST-ACK: closed
// SIGINT or SIGTERM closes the connections and exits.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vigil/tun.hpp>
#include <vigil/vigil.hpp>

// Echo what can be sent back now (the peer sees back-pressure); at EOF, close our side.
void echo(vigil::Socket& s) {
  uint8_t buf[16384];
  std::error_code ec;
  while (size_t n = s.recv(std::span(buf, std::min(sizeof buf, s.send_space())), ec))
    s.send(std::span(buf, n), ec);
  if (s.poll().eof) s.shutdown();
}

int main(int argc, char** argv) {
  const auto local = argc == 6 ? vigil::Ipv4::parse(argv[3]) : std::nullopt;
  const auto peer = argc == 6 ? vigil::Ipv4::parse(argv[4]) : std::nullopt;
  const int port = argc == 6 ? std::atoi(argv[5]) : 0;
  if (!local || !peer || port <= 0 || port > 65535) {
    std::fprintf(stderr, "usage: tun_echo NETNS DEV VIGIL-IP KERNEL-IP PORT\n");
    return 2;
  }
  vigil::TunDriver driver;
  if (driver.open({.netns = argv[1], .device = argv[2], .local = *local, .peer = *peer})) {
    std::fprintf(stderr, "tun_echo: %s\n", driver.why().c_str());
    return 1;
  }

  vigil::StackOptions opts{.address = *local};
  // Keepalive (60 s idle, 3 probes 10 s apart): a peer that vanishes while
  // idle is noticed, and its line says so: ETIMEDOUT (keepalive).
  opts.defaults.keepalive(true);
  opts.defaults.keepalive_idle(std::chrono::seconds(60));
  opts.defaults.keepalive_interval(std::chrono::seconds(10));
  opts.defaults.keepalive_count(3);
  vigil::Stack stack(opts, vigil::TunDriver::now());
  stack.on_connection_end([](const vigil::Outcome& o) {
    std::printf("%s\n", o.line.c_str());
    std::fflush(stdout);
  });

  std::error_code ec;
  vigil::Listener listener = stack.listen(static_cast<uint16_t>(port), 128, ec);
  if (ec) {
    std::fprintf(stderr, "tun_echo: %s\n", stack.why().c_str());
    return 1;
  }
  std::map<uint64_t, vigil::Socket> open;
  listener.on_acceptable([&](vigil::Listener& l) {
    while (auto s = l.accept(ec)) {
      s->on_readable(echo);
      s->on_writable(echo);
      s->on_closed([&](vigil::Socket& done, const vigil::Outcome&) { open.erase(done.id()); });
      open.emplace(s->id(), std::move(*s));
    }
  });
  std::printf("echo on %s:%d (device %s)\n", argv[3], port, driver.device().c_str());
  std::fflush(stdout);
  if (driver.run(stack)) {
    std::fprintf(stderr, "tun_echo: %s\n", driver.why().c_str());
    return 1;
  }
  return 0;
}
