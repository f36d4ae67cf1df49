// vigil's BSD-socket layer (docs/library.md, "BSD layer"): Linux's socket
// calls, with their names, errno values and option semantics, on integer
// descriptors over one vigil stack. For a program written against
// <sys/socket.h>: socket, bind, listen, accept, connect, read, write, send,
// recv, readv, writev, close, shutdown, setsockopt/getsockopt (SO_KEEPALIVE,
// TCP_KEEPIDLE, TCP_USER_TIMEOUT, TCP_NODELAY, TCP_INFO ...), fcntl
// (O_NONBLOCK), poll and epoll. Calls return -1 and set errno, as libc's do.
// The descriptors are the layer's own numbers (from 3 up, lowest free
// first, as the kernel gives them), not the process's: pass them to these
// calls, never to libc's.
//
// Sans-IO, as vigil/vigil.hpp's Stack: the layer reads no clock and touches
// no device. A driver feeds it datagrams and the time (input, advance) and
// takes out the datagrams it sends (take_datagram). Blocking calls (a
// descriptor without O_NONBLOCK) wait on a condition variable until the
// driver's input or time wakes them, so they need the driver on another
// thread; every call is thread-safe. Timeouts (poll, epoll_wait, SO_LINGER)
// run on the driver's clock.
//
// Only standard and Linux types appear here; vigil/posix/ holds the
// layer's own headers, which are not a stable API.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

struct pollfd;

namespace vigil {

namespace posix {
class Sockets;
}

// The time line the layer runs on (the same as vigil/vigil.hpp's): any
// origin, never going back.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, std::chrono::nanoseconds>;

struct PosixOptions {
  std::array<uint8_t, 4> address{};  // the stack's IPv4 address: {10, 0, 0, 1}
  uint64_t seed = 0;                 // ISN secret and port choices; 0: from std::random_device
  // Every new socket's defaults: "linux" (Linux 6.x, what the calls'
  // semantics follow) or "rfc", then each knob of docs/knobs.md in order:
  // {{"rto.min", "200ms"}, {"keepalive.idle", "60s"}}. setsockopt changes
  // them per socket.
  std::string profile = "linux";
  std::vector<std::pair<std::string, std::string>> knobs{};
  // Linux's sysctl limits: net.core.wmem_max and rmem_max (SO_SNDBUF and
  // SO_RCVBUF's ceilings before doubling), net.core.somaxconn (listen()'s
  // backlog ceiling), and descriptors open at once (EMFILE beyond).
  int wmem_max = 212992;
  int rmem_max = 212992;
  int somaxconn = 4096;
  size_t max_descriptors = 1024;
};

class PosixStack {
 public:
  // Throws std::system_error (EINVAL) naming a bad profile or knob.
  PosixStack(const PosixOptions& options, TimePoint start);
  PosixStack(const PosixStack&) = delete;
  PosixStack& operator=(const PosixStack&) = delete;
  ~PosixStack();

  // --- Driver side ---
  // One IPv4 datagram from the network at `now` (not before now()).
  void input(TimePoint now, std::span<const uint8_t> datagram);
  // Time moves to `now`; each timer due on the way runs at its own deadline.
  void advance(TimePoint now);
  // The oldest datagram sent and not yet taken, and when it was sent; 0
  // when there is none. 65535 bytes always suffice.
  size_t take_datagram(std::span<uint8_t> buf, TimePoint* when = nullptr);
  // Waits up to `real_timeout` of real time for a datagram to take.
  bool wait_datagram(std::chrono::milliseconds real_timeout);
  // For a virtual clock with blocking calls on other threads: waits (up to
  // `real_timeout`) until the calls the last input or timer woke have run,
  // before the driver moves time on.
  void settle(std::chrono::milliseconds real_timeout);
  TimePoint now() const;
  // When advance() must run next; nullopt: no timer is armed.
  std::optional<TimePoint> next_deadline() const;

  // --- The calls: -1 and errno on failure, as libc's ---
  int socket(int domain, int type, int protocol);  // AF_INET, SOCK_STREAM only
  int bind(int fd, const sockaddr* addr, socklen_t len);
  int listen(int fd, int backlog);
  int accept(int fd, sockaddr* addr, socklen_t* len);
  int accept4(int fd, sockaddr* addr, socklen_t* len, int flags);
  int connect(int fd, const sockaddr* addr, socklen_t len);
  ssize_t read(int fd, void* buf, size_t n);
  ssize_t write(int fd, const void* buf, size_t n);
  ssize_t recv(int fd, void* buf, size_t n, int flags);
  ssize_t send(int fd, const void* buf, size_t n, int flags);
  ssize_t readv(int fd, const iovec* iov, int iovcnt);
  ssize_t writev(int fd, const iovec* iov, int iovcnt);
  ssize_t sendmsg(int fd, const msghdr* msg, int flags);
  int close(int fd);
  int shutdown(int fd, int how);
  int setsockopt(int fd, int level, int name, const void* val, socklen_t len);
  int getsockopt(int fd, int level, int name, void* val, socklen_t* len);
  int getsockname(int fd, sockaddr* addr, socklen_t* len);
  int getpeername(int fd, sockaddr* addr, socklen_t* len);
  int fcntl(int fd, int cmd, long arg = 0);            // F_GETFL, F_SETFL (O_NONBLOCK)
  int ioctl(int fd, unsigned long request, int* arg);  // FIONBIO, FIONREAD, SIOCOUTQ
  int poll(pollfd* fds, size_t nfds, int timeout_ms);
  int epoll_create1(int flags);
  int epoll_ctl(int epfd, int op, int fd, epoll_event* ev);
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms);

 private:
  std::unique_ptr<posix::Sockets> impl_;
};

}  // namespace vigil
