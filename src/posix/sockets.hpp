// A BSD-socket layer over one stack::Stack: integer descriptors, calls that
// return -1 and set errno as Linux's do, Linux's option names and
// semantics, poll and epoll. Blocking calls wait on a condition variable and
// are woken whenever the stack is driven (a datagram in, time advanced) or
// another call changes it; nothing spins.
//
// The layer still reads no clock and does no I/O: a driver feeds datagrams
// and time in (input, advance) and takes datagrams out (take_datagram).
// Every timeout (poll, epoll_wait, SO_LINGER) runs on that clock, so with a
// virtual clock a poll(…, 100) returns once the driver has advanced 100 ms.
// Thread-safe: one mutex guards the stack and the descriptor table.
//
// What differs from Linux is in docs/library.md ("BSD layer"): IPv4 TCP
// only; no signals (SIGPIPE is never raised, EPIPE is returned); MSG_PEEK
// and MSG_OOB are EOPNOTSUPP; epoll is level-triggered (EPOLLET is accepted
// and reported level-triggered); SO_RCVBUF sizes the buffers of
// connections opened afterwards only (SO_SNDBUF also a connected one's).
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "stack/stack.hpp"
#include "vigil/time.hpp"

struct pollfd;

namespace vigil::posix {

// System-wide limits Linux reads from sysctls; a driver may fill them from
// /proc/sys (the packetdrill adapter does).
struct Limits {
  int wmem_max = 212992;          // net.core.wmem_max: SO_SNDBUF's ceiling before doubling
  int rmem_max = 212992;          // net.core.rmem_max
  int somaxconn = 4096;           // net.core.somaxconn: listen()'s backlog ceiling
  size_t max_descriptors = 1024;  // EMFILE beyond (RLIMIT_NOFILE's usual soft limit)
};

class Sockets {
 public:
  Sockets(const stack::StackConfig& config, uint64_t seed, Instant start,
          tcp::EventSink* sink = nullptr, Limits limits = {});
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  ~Sockets();

  // Descriptor numbers: by default the lowest free number from 3 up, as the
  // kernel gives them. A driver that needs real descriptors (packetdrill
  // calls the real close() on them) installs its own pair; `open` returns
  // a number not in use, or -1 (the call then fails with EMFILE).
  void set_descriptor_source(std::function<int()> open, std::function<void(int)> close);

  // The options and limits a new socket() starts from (by default the
  // stack's StackConfig::tcp and the constructor's limits). A driver that
  // follows sysctls changed after it started calls this (packetdrill's init
  // script runs after the adapter is loaded).
  void set_socket_defaults(const tcp::TcpConfig& tcp, const Limits& limits);
  // The device's queue, asked before each batch of output: false means it
  // refuses packets now (a qdisc dropping them). The stack then sends no
  // data (stack::Stack::set_link_congested) and what it still emits, ACKs
  // and resets, is dropped here as the device would. Unset: always admits.
  void set_link_admits(std::function<bool()> admits);

  // --- Driver side ---
  // A datagram arrives at `now` (not before the current time).
  void input(Instant now, std::span<const uint8_t> datagram);
  // Time moves to `now`; every timer due on the way runs at its own
  // deadline, and what it sends is stamped with that deadline.
  void advance(Instant now);
  // The oldest datagram the stack has sent and not yet taken, and when.
  // 0 when there is none.
  size_t take_datagram(std::span<uint8_t> buf, Instant* when);
  // Blocks the driver until a datagram waits or `real_timeout` of real time
  // passes; true if one waits.
  bool wait_datagram(std::chrono::milliseconds real_timeout);
  Instant now() const;
  Instant next_deadline() const;
  // A virtual-clock driver calls settle() before it moves time on: it
  // waits, up to `real_timeout` of real time, until every blocked call
  // that the last input or timer woke has looked again, and the one that
  // then returned has read the clock (clock_read()), so a call that data
  // completes at T is seen to return at T, not after the next jump.
  void settle(std::chrono::milliseconds real_timeout);
  // now(), for the driver's clock reads: it also tells settle() that a
  // returning call's thread has taken its time (in one step, so time
  // cannot jump between the two).
  Instant clock_read();

  // --- BSD calls: -1 and errno on failure, as libc ---
  int socket(int domain, int type, int protocol);
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
  // The message's iovec with send()'s flags (MSG_MORE, MSG_DONTWAIT,
  // MSG_NOSIGNAL); the address and control data of a TCP socket are ignored.
  ssize_t sendmsg(int fd, const msghdr* msg, int flags);
  int close(int fd);
  int shutdown(int fd, int how);
  int setsockopt(int fd, int level, int name, const void* val, socklen_t len);
  int getsockopt(int fd, int level, int name, void* val, socklen_t* len);
  int getsockname(int fd, sockaddr* addr, socklen_t* len);
  int getpeername(int fd, sockaddr* addr, socklen_t* len);
  int fcntl(int fd, int cmd, long arg = 0);
  // FIONBIO, SIOCINQ (FIONREAD), SIOCOUTQ; anything else is ENOTTY.
  int ioctl(int fd, unsigned long request, int* arg);
  int poll(pollfd* fds, size_t nfds, int timeout_ms);
  int epoll_create(int size);
  int epoll_create1(int flags);
  int epoll_ctl(int epfd, int op, int fd, epoll_event* ev);
  int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms);

  // True if `fd` is one of this layer's descriptors.
  bool owns(int fd) const;
  // The connection behind a connected descriptor, for tests and drivers.
  std::optional<stack::ConnId> connection_of(int fd) const;
  // Runs `f` on the stack under the layer's lock.
  void inspect(const std::function<void(const stack::Stack&)>& f) const;

 private:
  struct Sock;
  struct Epoll;
  struct Entry;
  using Lock = std::unique_lock<std::mutex>;

  std::shared_ptr<Entry> find(int fd) const;
  Sock* sock_or_errno(int fd, std::shared_ptr<Entry>* keep);
  int alloc_fd();
  void drain();          // stack output into the queue; wakes every waiter
  void wake();           // cv_.notify_all(), counted for settle()
  void block(Lock& lk);  // cv_.wait(), counted for settle()
  void drive_to(Instant t);
  int pending_error(Sock& s, bool consume);
  uint32_t readiness(const Entry& e) const;  // POLLIN/POLLOUT/... of a socket
  // Waits until `ready()` or (deadline set) the layer's clock reaches it.
  // false: the deadline passed. `e` is rechecked for close() meanwhile.
  template <class Pred>
  bool wait(Lock& lk, Pred ready, Instant deadline = Instant::never());
  ssize_t recv_locked(Lock& lk, int fd, std::span<uint8_t> out, int flags);
  ssize_t gather_send(int fd, const iovec* iov, int iovcnt, int flags);
  ssize_t send_locked(Lock& lk, int fd, std::span<const uint8_t> data, int flags);
  bool port_in_use(uint16_t port, const Sock* except, bool reuse) const;
  uint16_t ephemeral_port();
  void apply_options(Sock& s, bool push = false);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // settle(): calls blocked in cv_, those of them a wake() has not yet
  // seen look again, and the thread of a woken call that may be returning.
  std::condition_variable settle_cv_;
  uint32_t blocked_ = 0;
  uint32_t unsettled_ = 0;
  bool returning_ = false;
  std::thread::id returning_tid_;
  // BSD calls that may block, in progress: counted before they take mu_,
  // so a caller asleep on the mutex counts as running, not blocked. A
  // call returning on a thread other than the driver's (input, advance,
  // settle) is `returning_` until that thread reads the clock.
  struct CallGuard {
    explicit CallGuard(Sockets& s);
    ~CallGuard();
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;
    Sockets& s;
  };
  std::atomic<uint32_t> active_{0};
  std::thread::id driver_tid_;
  stack::Stack stack_;
  Limits limits_;
  tcp::TcpConfig defaults_;
  Instant now_;
  std::map<int, std::shared_ptr<Entry>> table_;
  std::function<int()> open_fd_;
  std::function<void(int)> close_fd_;
  std::function<bool()> link_admits_;
  struct Outbound {
    Instant when;
    std::vector<uint8_t> bytes;
  };
  std::deque<Outbound> out_;
  std::vector<uint8_t> buf_;
  uint16_t next_ephemeral_ = 0;
};

}  // namespace vigil::posix
