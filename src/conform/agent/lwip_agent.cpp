// vigil-conform-lwip-agent: lwIP 2.1 (Debian's liblwip-dev: its unix port,
// NO_SYS 0, the tcpip thread, the BSD-style socket API) as a `vigil
// conform` target (issue 14). RealTestbed passes a TUN device of the test's
// namespace as fd 3; this program is lwIP's network interface on it (raw
// IPv4 datagrams both ways, no Ethernet, no ARP) and speaks the same line
// protocol as linux_agent.cpp (docs/conform.md, "Real targets") through
// lwIP's sockets.
//
// usage: vigil-conform-lwip-agent --tun-fd 3 --addr 10.77.1.2 --gw 10.77.1.1
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

// lwIP's headers, as the library was built with them: posix/sockets.h
// brings the system's socket constants (Debian's lwipopts.h:
// LWIP_SOCKET_EXTERNAL_HEADERS), so SOL_SOCKET, TCP_KEEPIDLE ... below are
// the values the library compares against. Debian's lwipopts.h declares
// the core-lock functions without C linkage of their own: hence the block.
extern "C" {
#include <lwip/init.h>
#include <lwip/ip4_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/sockets.h>
#include <lwip/tcpip.h>
}
// After lwIP's: agent_common.hpp includes nothing socket-related.
#include "conform/agent/agent_common.hpp"

namespace {

using vigil::conform::agent::errno_text;
using vigil::conform::agent::monotonic_ns;
using vigil::conform::agent::Options;
using vigil::conform::agent::say;

int tun_fd = 3;
netif tun_netif;

// ---- the network interface: lwIP <-> the TUN device ----------------------------

err_t tun_output(netif*, pbuf* p, const ip4_addr_t*) {
  // A point-to-point device: no next hop to resolve, the datagram goes out.
  static thread_local std::vector<uint8_t> buf(65536);
  const u16_t n = pbuf_copy_partial(p, buf.data(), static_cast<u16_t>(p->tot_len), 0);
  if (std::getenv("VIGIL_CONFORM_AGENT_TRACE"))
    std::fprintf(stderr, "lwip agent: out %u bytes\n", n);
  if (::write(tun_fd, buf.data(), n) != n) {
    if (std::getenv("VIGIL_CONFORM_AGENT_TRACE")) std::perror("lwip agent: write");
    return ERR_IF;
  }
  return ERR_OK;
}

err_t tun_netif_init(netif* n) {
  n->name[0] = 't';
  n->name[1] = 'n';
  n->mtu = 1500;
  n->output = tun_output;
  n->flags = 0;  // no NETIF_FLAG_ETHARP: IP datagrams, no link layer
  return ERR_OK;
}

void* tun_reader(void*) {
  std::vector<uint8_t> buf(65536);
  for (;;) {
    // The descriptor is non-blocking (shared with the testbed's open()).
    pollfd pfd{tun_fd, POLLIN, 0};
    if (::poll(&pfd, 1, -1) < 0) continue;
    for (;;) {
      const ssize_t n = ::read(tun_fd, buf.data(), buf.size());
      if (n <= 0) break;
      if ((buf[0] >> 4) != 4) continue;  // IPv6 from the kernel: not ours
      // One contiguous PBUF_RAM buffer: Debian's library overruns its
      // PBUF_POOL chains in pbuf_take (valgrind: writes past a 616-byte
      // pool block for a 1040-byte datagram).
      pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(n), PBUF_RAM);
      if (!p) continue;
      pbuf_take(p, buf.data(), static_cast<u16_t>(n));
      // tcpip_input queues it for the tcpip thread.
      if (tun_netif.input(p, &tun_netif) != ERR_OK) pbuf_free(p);
    }
  }
  return nullptr;
}

// ---- the application: the protocol over lwIP's sockets ----------------------------

int listen_fd = -1;
int conn_fd = -1;
bool reading = true;
bool ended = false;
uint64_t write_pending = 0;
Options opts;

void end_with(int err) {
  if (ended) return;
  ended = true;
  say("ended errno=" + errno_text(err) + " err=" + std::to_string(err) +
      " at=" + std::to_string(monotonic_ns()));
}

std::string apply(int fd, const Options& o) {
  auto set = [fd](int level, int name, long value, const char* what) -> std::string {
    const int v = static_cast<int>(value);
    if (lwip_setsockopt(fd, level, name, &v, sizeof v) != 0)
      return std::string(what) + " " + errno_text(errno);
    return "";
  };
  struct Item {
    long value;
    int level, name;
    const char* what;
  };
  // TCP_USER_TIMEOUT and SO_SNDBUF have no lwIP counterpart: lwIP says so
  // (ENOPROTOOPT), and so does the reply.
  const Item items[] = {
      {o.keepalive, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"},
      {o.keep_idle, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE"},
      {o.keep_intvl, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"},
      {o.keep_cnt, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"},
      {o.user_timeout_ms, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"},
      {o.rcvbuf, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"},
      {o.sndbuf, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"},
      {o.nodelay, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"},
  };
  for (const Item& i : items) {
    if (i.value < 0) continue;
    if (std::string e = set(i.level, i.name, i.value, i.what); !e.empty()) return e;
  }
  return "";
}

bool parse_addr(const std::string& ip, int port, sockaddr_in* sa) {
  std::memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = lwip_htons(static_cast<u16_t>(port));
  return port > 0 && port < 65536 && lwip_inet_pton(AF_INET, ip.c_str(), &sa->sin_addr) == 1;
}

std::string endpoint(const sockaddr_in& sa) {
  char buf[INET_ADDRSTRLEN] = {};
  lwip_inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(lwip_ntohs(sa.sin_port));
}

void set_nonblocking(int fd) {
  int on = 1;
  lwip_ioctl(fd, FIONBIO, &on);
}

void do_connect(const std::string& ip, int port) {
  sockaddr_in sa;
  if (conn_fd >= 0 || listen_fd >= 0) return say("error connect busy");
  if (!parse_addr(ip, port, &sa)) return say("error connect bad address");
  const int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return say("error connect socket " + errno_text(errno));
  if (std::string e = apply(fd, opts); !e.empty()) {
    lwip_close(fd);
    return say("error setsockopt " + e);
  }
  if (lwip_connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    lwip_close(fd);
    return say("error connect " + errno_text(e) + " err=" + std::to_string(e) +
               " at=" + std::to_string(monotonic_ns()));
  }
  set_nonblocking(fd);
  conn_fd = fd;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  lwip_getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  say("connected " + endpoint(local));
}

void do_listen(const std::string& ip, int port) {
  sockaddr_in sa;
  if (conn_fd >= 0 || listen_fd >= 0) return say("error listen busy");
  if (!parse_addr(ip, port, &sa)) return say("error listen bad address");
  const int fd = lwip_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return say("error listen socket " + errno_text(errno));
  // lwIP copies a listener's keepalive settings to accepted pcbs
  // (tcp_listen_input: keep_idle/intvl/cnt, so_options); the options are
  // set again on the accepted socket below, in case a version does not.
  if (std::string e = apply(fd, opts); !e.empty()) {
    lwip_close(fd);
    return say("error setsockopt " + e);
  }
  if (lwip_bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || lwip_listen(fd, 4) != 0) {
    const int e = errno;
    lwip_close(fd);
    return say("error listen " + errno_text(e));
  }
  set_nonblocking(fd);
  listen_fd = fd;
  say("listening " + std::to_string(port));
}

void do_getopt(const std::string& name) {
  struct Known {
    const char* name;
    int level, opt;
  };
  static const Known known[] = {
      {"keepalive", SOL_SOCKET, SO_KEEPALIVE},   {"keepidle", IPPROTO_TCP, TCP_KEEPIDLE},
      {"keepintvl", IPPROTO_TCP, TCP_KEEPINTVL}, {"keepcnt", IPPROTO_TCP, TCP_KEEPCNT},
      {"rcvbuf", SOL_SOCKET, SO_RCVBUF},         {"nodelay", IPPROTO_TCP, TCP_NODELAY},
  };
  for (const Known& k : known) {
    if (name != k.name) continue;
    // lwIP answers TCP options only on a socket with a pcb: a fresh one
    // gets one at socket() time (netconn_new), so defaults are readable.
    const int fd = conn_fd >= 0 ? conn_fd : lwip_socket(AF_INET, SOCK_STREAM, 0);
    int value = 0;
    socklen_t len = sizeof value;
    const int rc = lwip_getsockopt(fd, k.level, k.opt, &value, &len);
    const int e = errno;
    if (fd != conn_fd) lwip_close(fd);
    if (rc != 0) return say("error getopt " + name + " " + errno_text(e));
    return say("opt " + name + " " + std::to_string(value));
  }
  say("error getopt unsupported " + name);
}

void on_command(const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "opt") {
    std::string name;
    long value = -1;
    in >> name >> value;
    if (!opts.set(name, value)) return say("error opt " + name);
    return say("ok opt " + name);
  }
  if (cmd == "connect" || cmd == "listen") {
    std::string ip;
    int port = 0;
    in >> ip >> port;
    return cmd == "connect" ? do_connect(ip, port) : do_listen(ip, port);
  }
  if (cmd == "write") {
    uint64_t n = 0;
    in >> n;
    write_pending += n;
    return say("ok write " + std::to_string(n));
  }
  if (cmd == "read") {
    std::string on;
    in >> on;
    reading = on == "on";
    return say(std::string("ok read ") + (reading ? "on" : "off"));
  }
  if (cmd == "readn") {
    // One read of at most N bytes while reading is off (RFC 2525 §2.12:
    // too little for the window to reopen by much).
    size_t want = 0;
    in >> want;
    static char buf[65536];
    const size_t n = want < sizeof buf ? want : sizeof buf;
    const ssize_t got = conn_fd >= 0 && n > 0 ? lwip_recv(conn_fd, buf, n, 0) : 0;
    return say("ok readn " + std::to_string(got < 0 ? 0 : got));
  }
  if (cmd == "close") {
    if (conn_fd >= 0) lwip_close(conn_fd);
    if (listen_fd >= 0) lwip_close(listen_fd);
    conn_fd = listen_fd = -1;
    return say("ok close");
  }
  if (cmd == "getopt") {
    std::string name;
    in >> name;
    return do_getopt(name);
  }
  if (cmd == "hello") return say("hello lwIP " LWIP_VERSION_STRING);
  if (cmd == "quit") ::_exit(0);
  say("error unknown command " + cmd);
}

void on_socket(short revents) {
  static char sink[65536];
  static char pattern[65536];
  if (revents & (POLLIN | POLLERR | POLLHUP)) {
    if (!reading && (revents & (POLLERR | POLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      lwip_getsockopt(conn_fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return end_with(err);
    }
    if (reading || (revents & (POLLERR | POLLHUP))) {
      for (;;) {
        const ssize_t n = lwip_recv(conn_fd, sink, sizeof sink, 0);
        if (n > 0) continue;
        if (n == 0) return end_with(0);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return end_with(errno);
      }
    }
  }
  if ((revents & POLLOUT) && write_pending > 0) {
    while (write_pending > 0) {
      const size_t chunk = write_pending < sizeof pattern ? write_pending : sizeof pattern;
      const ssize_t n = lwip_send(conn_fd, pattern, chunk, 0);
      if (n > 0) {
        write_pending -= static_cast<uint64_t>(n);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return end_with(errno);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "10.77.1.2", gw = "10.77.1.1";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--tun-fd") tun_fd = std::atoi(argv[i + 1]);
    if (a == "--addr") addr = argv[i + 1];
    if (a == "--gw") gw = argv[i + 1];
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  std::atomic<bool> up{false};
  tcpip_init([](void* flag) { static_cast<std::atomic<bool>*>(flag)->store(true); }, &up);
  while (!up.load()) ::usleep(1000);
  ip4_addr_t ip, mask, gateway;
  ip4addr_aton(addr.c_str(), &ip);
  ip4addr_aton("255.255.255.0", &mask);
  ip4addr_aton(gw.c_str(), &gateway);
  LOCK_TCPIP_CORE();
  netif_add(&tun_netif, &ip, &mask, &gateway, nullptr, tun_netif_init, tcpip_input);
  netif_set_default(&tun_netif);
  netif_set_link_up(&tun_netif);
  netif_set_up(&tun_netif);
  UNLOCK_TCPIP_CORE();
  pthread_t reader;
  pthread_create(&reader, nullptr, tun_reader, nullptr);

  std::string buffer;
  for (;;) {
    // lwIP's poll covers lwIP's sockets only; the commands on stdin are
    // looked at between its rounds, every 5 ms at most.
    if (listen_fd >= 0) {
      pollfd lp{listen_fd, POLLIN, 0};
      if (lwip_poll(&lp, 1, 0) > 0 && (lp.revents & POLLIN)) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const int fd = lwip_accept(listen_fd, reinterpret_cast<sockaddr*>(&from), &len);
        if (fd >= 0) {
          apply(fd, opts);
          set_nonblocking(fd);
          conn_fd = fd;
          lwip_close(listen_fd);
          listen_fd = -1;
          say("accepted " + endpoint(from));
        }
      }
    }
    if (conn_fd >= 0 && !ended) {
      short want = 0;
      if (reading) want |= POLLIN;
      if (write_pending > 0) want |= POLLOUT;
      pollfd cp{conn_fd, want, 0};
      if (lwip_poll(&cp, 1, 5) > 0 && cp.revents) on_socket(cp.revents);
    } else if (listen_fd >= 0) {
      pollfd lp{listen_fd, POLLIN, 0};
      lwip_poll(&lp, 1, 5);
    }
    // ::poll is lwIP's lwip_poll here only if LWIP_COMPAT_SOCKETS; it is 0.
    pollfd in{0, POLLIN, 0};
    const int timeout = (conn_fd >= 0 && !ended) || listen_fd >= 0 ? 0 : 5;
    if (::poll(&in, 1, timeout) > 0) {
      char text[4096];
      const ssize_t n = ::read(0, text, sizeof text);
      if (n <= 0) ::_exit(0);  // the testbed went away (no exit(): lwIP's threads still run)
      buffer.append(text, static_cast<size_t>(n));
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        const std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        on_command(line);
      }
    }
  }
}
