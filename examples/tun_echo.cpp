// An echo server on a Linux TUN device, run by vigil's event loop, that
// prints why each connection ended. Needs root; runs in a network
// namespace of your own so the host's links are untouched:
//   ip netns add demo
//   tun_echo demo vt0 10.99.0.2 10.99.0.1 7 &     # NETNS DEV VIGIL-IP KERNEL-IP PORT
//   ip netns exec demo nc 10.99.0.2 7
// Each connection's end is one line, e.g.
//   10.99.0.2:7 <-> 10.99.0.1:40312 ended at 3.201554 s in LAST-ACK: closed
// SIGINT or SIGTERM closes the connections and exits.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>
#include <vigil/link/event_loop.hpp>
#include <vigil/link/netns.hpp>
#include <vigil/link/tun_device.hpp>
#include <vigil/stack/end_log.hpp>
#include <vigil/stack/stack.hpp>
#include <vigil/util/rng.hpp>

using namespace vigil;

namespace {

bool finished(const tcp::Connection* c) {
  return !c || c->state() == tcp::State::kClosed || c->state() == tcp::State::kTimeWait;
}

// poll() runs after every batch of datagrams and every timer.
class Echo : public link::LoopApp {
 public:
  explicit Echo(uint16_t port) : port_(port), buf_(64 * 1024) {}
  std::string error;

  void poll(stack::Stack& s, Instant now) override {
    if (!listening_) {
      stack::OpenError err;
      if (!(listening_ = s.listen(port_, 128, &err))) error = err.message;
    }
    while (auto id = s.accept(port_)) open_.insert(*id);
    for (auto it = open_.begin(); it != open_.end();) {
      const stack::ConnId id = *it;
      const tcp::Connection* c = s.connection(id);
      if (finished(c)) {
        s.release(id);  // EndLog has printed its line
        it = open_.erase(it);
        continue;
      }
      // Read only what can be sent back: the peer sees back-pressure.
      size_t n = 0;
      while ((n = s.recv(now, id, std::span(buf_).first(std::min(buf_.size(), c->send_space())))))
        s.send(now, id, std::span<const uint8_t>(buf_.data(), n));
      if (c->peer_closed() && c->recv_available() == 0 && !closing_.contains(id)) {
        closing_.insert(id);  // EOF: close our side too
        s.close(now, id);
      }
      ++it;
    }
  }
  bool done(const stack::Stack&) const override { return !error.empty(); }
  void stop(stack::Stack& s, Instant now) override {
    for (stack::ConnId id : open_) s.close(now, id);
  }
  bool quiesced(const stack::Stack& s) const override {
    for (stack::ConnId id : open_)
      if (!finished(s.connection(id))) return false;
    return true;
  }

 private:
  uint16_t port_;
  bool listening_ = false;
  std::set<stack::ConnId> open_, closing_;
  std::vector<uint8_t> buf_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: tun_echo NETNS DEV VIGIL-IP KERNEL-IP PORT\n");
    return 2;
  }
  const auto vigil_ip = wire::Ipv4Addr::parse(argv[3]);
  const auto kernel_ip = wire::Ipv4Addr::parse(argv[4]);
  const int port = std::atoi(argv[5]);
  if (!vigil_ip || !kernel_ip || port <= 0 || port > 65535) {
    std::fprintf(stderr, "tun_echo: bad address or port\n");
    return 2;
  }
  // The namespace before the device: everything made afterwards lives there.
  if (const link::NetnsResult r = link::enter_netns(argv[1]); !r.error.empty()) {
    std::fprintf(stderr, "tun_echo: %s\n", r.error.c_str());
    return r.no_such ? 2 : 1;
  }
  link::TunConfig tc;
  tc.name = argv[2];
  tc.vigil_addr = *vigil_ip;
  tc.kernel_addr = *kernel_ip;
  link::TunDevice tun;
  if (const std::string err = tun.open(tc); !err.empty()) {
    std::fprintf(stderr, "tun_echo: %s\n", err.c_str());
    return 1;
  }

  const Instant start = link::EventLoop::now();
  stack::EndLog ends(
      [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      },
      start);
  stack::StackConfig sc;
  sc.address = *vigil_ip;
  // Keepalive (60 s idle, 3 probes 10 s apart), so a peer that vanishes
  // while idle is noticed, and the line says so: ETIMEDOUT (keepalive).
  sc.tcp.keepalive = true;
  sc.tcp.keepalive_idle = Duration::seconds(60);
  sc.tcp.keepalive_interval = Duration::seconds(10);
  sc.tcp.keepalive_count = 3;
  stack::Stack st(sc, util::Rng(std::random_device{}()), &ends, start);
  ends.attach(&st);

  link::EventLoop loop(tun, st);
  if (const std::string err = loop.init(); !err.empty()) {
    std::fprintf(stderr, "tun_echo: %s\n", err.c_str());
    return 1;
  }
  std::printf("echo on %s:%d (device %s)\n", argv[3], port, tun.name().c_str());
  std::fflush(stdout);
  Echo app(static_cast<uint16_t>(port));
  const link::LoopExit how = loop.run(app);
  if (!app.error.empty() || how == link::LoopExit::kError) {
    std::fprintf(stderr, "tun_echo: %s\n",
                 app.error.empty() ? loop.error().c_str() : app.error.c_str());
    return 1;
  }
  return 0;
}
