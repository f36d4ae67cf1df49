// vigil-conform-linux-agent: the Linux kernel's TCP as a `vigil conform`
// target (issue 14). RealTestbed starts it inside the test's network
// namespace and drives it with the line protocol of docs/conform.md ("Real
// targets"): one command per line on stdin, one reply per command on
// stdout, and asynchronous `accepted`/`ended` lines when the socket says
// so. Plain BSD sockets and poll(2); nothing here knows about vigil.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conform/agent/agent_common.hpp"

namespace {

using vigil::conform::agent::errno_text;
using vigil::conform::agent::monotonic_ns;
using vigil::conform::agent::Options;
using vigil::conform::agent::say;

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

// setsockopt for every option the testbed gave; the first failure is the
// reply (an unsupported option is the target's answer, not ours to hide).
std::string apply(int fd, const Options& o) {
  auto set = [fd](int level, int name, int value, const char* what) -> std::string {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
      return std::string(what) + " " + errno_text(errno);
    return "";
  };
  std::string e;
  if (o.keepalive >= 0 && (e = set(SOL_SOCKET, SO_KEEPALIVE, o.keepalive, "SO_KEEPALIVE")) != "")
    return e;
  if (o.keep_idle >= 0 && (e = set(IPPROTO_TCP, TCP_KEEPIDLE, o.keep_idle, "TCP_KEEPIDLE")) != "")
    return e;
  if (o.keep_intvl >= 0 &&
      (e = set(IPPROTO_TCP, TCP_KEEPINTVL, o.keep_intvl, "TCP_KEEPINTVL")) != "")
    return e;
  if (o.keep_cnt >= 0 && (e = set(IPPROTO_TCP, TCP_KEEPCNT, o.keep_cnt, "TCP_KEEPCNT")) != "")
    return e;
  if (o.user_timeout_ms >= 0 &&
      (e = set(IPPROTO_TCP, TCP_USER_TIMEOUT, o.user_timeout_ms, "TCP_USER_TIMEOUT")) != "")
    return e;
  if (o.rcvbuf >= 0 && (e = set(SOL_SOCKET, SO_RCVBUF, o.rcvbuf, "SO_RCVBUF")) != "") return e;
  if (o.sndbuf >= 0 && (e = set(SOL_SOCKET, SO_SNDBUF, o.sndbuf, "SO_SNDBUF")) != "") return e;
  if (o.nodelay >= 0 && (e = set(IPPROTO_TCP, TCP_NODELAY, o.nodelay, "TCP_NODELAY")) != "")
    return e;
  return "";
}

bool parse_addr(const std::string& ip, int port, sockaddr_in* sa) {
  std::memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port));
  return port > 0 && port < 65536 && ::inet_pton(AF_INET, ip.c_str(), &sa->sin_addr) == 1;
}

std::string endpoint(const sockaddr_in& sa) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &sa.sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(sa.sin_port));
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void do_connect(const std::string& ip, int port) {
  sockaddr_in sa;
  if (conn_fd >= 0 || listen_fd >= 0) return say("error connect busy");
  if (!parse_addr(ip, port, &sa)) return say("error connect bad address");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return say("error connect socket " + errno_text(errno));
  if (std::string e = apply(fd, opts); !e.empty()) {
    ::close(fd);
    return say("error setsockopt " + e);
  }
  // Blocking connect: the peer answers from the same machine, and a
  // connect that fails (SYN retries) is itself a measurement.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd);
    return say("error connect " + errno_text(e) + " err=" + std::to_string(e) +
               " at=" + std::to_string(monotonic_ns()));
  }
  set_nonblocking(fd);
  conn_fd = fd;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  say("connected " + endpoint(local));
}

void do_listen(const std::string& ip, int port) {
  sockaddr_in sa;
  if (conn_fd >= 0 || listen_fd >= 0) return say("error listen busy");
  if (!parse_addr(ip, port, &sa)) return say("error listen bad address");
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return say("error listen socket " + errno_text(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Options on the listener are inherited by the accepted socket (Linux
  // inet_csk_clone_lock copies keepalive, buffers, user timeout).
  if (std::string e = apply(fd, opts); !e.empty()) {
    ::close(fd);
    return say("error setsockopt " + e);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 4) != 0) {
    const int e = errno;
    ::close(fd);
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
      {"keepalive", SOL_SOCKET, SO_KEEPALIVE},
      {"keepidle", IPPROTO_TCP, TCP_KEEPIDLE},
      {"keepintvl", IPPROTO_TCP, TCP_KEEPINTVL},
      {"keepcnt", IPPROTO_TCP, TCP_KEEPCNT},
      {"user_timeout", IPPROTO_TCP, TCP_USER_TIMEOUT},
      {"rcvbuf", SOL_SOCKET, SO_RCVBUF},
      {"sndbuf", SOL_SOCKET, SO_SNDBUF},
      {"nodelay", IPPROTO_TCP, TCP_NODELAY},
      {"syncnt", IPPROTO_TCP, TCP_SYNCNT},
  };
  for (const Known& k : known) {
    if (name != k.name) continue;
    // The connection's value, or a fresh socket's (the system default).
    int fd = conn_fd >= 0 ? conn_fd : ::socket(AF_INET, SOCK_STREAM, 0);
    int value = 0;
    socklen_t len = sizeof value;
    const int rc = ::getsockopt(fd, k.level, k.opt, &value, &len);
    const int e = errno;
    if (fd != conn_fd) ::close(fd);
    if (rc != 0) return say("error getopt " + name + " " + errno_text(e));
    return say("opt " + name + " " + std::to_string(value));
  }
  // The namespace's sysctls (this agent runs in it, and /proc/sys/net
  // resolves to the reader's namespace): the default-value cases read R2
  // and the RTO cap instead of waiting ~15 min for them.
  if (name == "tcp_retries2" || name == "tcp_rto_max_ms") {
    std::ifstream f("/proc/sys/net/ipv4/" + name);
    long value = 0;
    if (f >> value) return say("opt " + name + " " + std::to_string(value));
    return say("error getopt " + name + " unreadable");
  }
  say("error getopt unknown " + name);
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
    const ssize_t got = conn_fd >= 0 && n > 0 ? ::read(conn_fd, buf, n) : 0;
    return say("ok readn " + std::to_string(got < 0 ? 0 : got));
  }
  if (cmd == "close") {
    if (conn_fd >= 0) ::close(conn_fd);
    if (listen_fd >= 0) ::close(listen_fd);
    conn_fd = listen_fd = -1;
    return say("ok close");
  }
  if (cmd == "getopt") {
    std::string name;
    in >> name;
    return do_getopt(name);
  }
  if (cmd == "hello") {
    utsname u{};
    ::uname(&u);
    return say(std::string("hello Linux ") + u.release);
  }
  if (cmd == "quit") std::exit(0);
  say("error unknown command " + cmd);
}

void on_socket(short revents) {
  static char sink[65536];
  static char pattern[65536];
  if (revents & (POLLIN | POLLERR | POLLHUP)) {
    if (reading || (revents & (POLLERR | POLLHUP))) {
      // POLLERR without reading: the pending error is SO_ERROR (the
      // kernel's sk_err, e.g. ETIMEDOUT from tcp_write_err).
      if (!reading) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(conn_fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return end_with(err);
      }
      for (;;) {
        const ssize_t n = ::read(conn_fd, sink, sizeof sink);
        if (n > 0) continue;
        if (n == 0) return end_with(0);  // the peer's FIN, every byte read
        if (errno == EAGAIN || errno == EINTR) break;
        return end_with(errno);
      }
    }
  }
  if ((revents & POLLOUT) && write_pending > 0) {
    while (write_pending > 0) {
      const size_t chunk = write_pending < sizeof pattern ? write_pending : sizeof pattern;
      const ssize_t n = ::send(conn_fd, pattern, chunk, MSG_NOSIGNAL);
      if (n > 0) {
        write_pending -= static_cast<uint64_t>(n);
        continue;
      }
      if (errno == EAGAIN || errno == EINTR) break;
      return end_with(errno);
    }
  }
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string buffer;
  bool stdin_open = true;
  while (stdin_open || conn_fd >= 0) {
    std::vector<pollfd> fds;
    fds.push_back({stdin_open ? 0 : -1, POLLIN, 0});
    fds.push_back({listen_fd, POLLIN, 0});
    short want = 0;
    if (!ended) {
      if (reading) want |= POLLIN;
      if (write_pending > 0) want |= POLLOUT;
    }
    fds.push_back({ended ? -1 : conn_fd, want, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return 1;
    if (fds[0].revents) {
      char buf[4096];
      const ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) return 0;  // the testbed went away: so do we
      buffer.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        on_command(line);
      }
    }
    if (listen_fd >= 0 && (fds[1].revents & POLLIN)) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const int fd = ::accept(listen_fd, reinterpret_cast<sockaddr*>(&from), &len);
      if (fd >= 0) {
        set_nonblocking(fd);
        conn_fd = fd;
        ::close(listen_fd);
        listen_fd = -1;
        say("accepted " + endpoint(from));
      }
    }
    if (conn_fd >= 0 && !ended && fds[2].revents) on_socket(fds[2].revents);
  }
  return 0;
}
