// The BSD-socket layer (sockets.hpp). Each call's errno cases follow Linux
// (net/socket.c, net/ipv4/af_inet.c, net/ipv4/tcp.c, net/core/sock.c); the
// function comments name the Linux function whose rule they copy.
#include "posix/sockets.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "posix/tcp_info.hpp"

namespace vigil::posix {

using tcp::State;

namespace {

constexpr int kIovMax = 1024;  // UIO_MAXIOV
// Linux include/net/tcp.h limits on the keepalive options.
constexpr int kMaxKeepIdle = 32767;
constexpr int kMaxKeepIntvl = 32767;
constexpr int kMaxKeepCnt = 127;
constexpr int kMinMss = 88;        // TCP_MIN_MSS
constexpr int kMaxWindow = 32767;  // MAX_TCP_WINDOW: TCP_MAXSEG's ceiling
// SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF: 2 * and 1 * (2048 + sizeof(sk_buff)
// rounded), include/net/sock.h.
constexpr int kMinSndbuf = 4608;
constexpr int kMinRcvbuf = 2304;

int fail(int err) {
  errno = err;
  return -1;
}

bool sending_state(State s) { return s == State::kEstablished || s == State::kCloseWait; }
bool handshaking(State s) { return s == State::kSynSent || s == State::kSynReceived; }

}  // namespace

struct Sockets::Sock {
  enum class Phase : uint8_t { kFresh, kListening, kConnected };
  Phase phase = Phase::kFresh;
  bool nonblock = false;
  bool cloexec = false;
  uint16_t port = 0;  // bound local port, 0 if unbound
  std::optional<stack::ConnId> conn;
  tcp::TcpConfig cfg;  // options set so far; the connection's config
  bool reuseaddr = false;
  bool cork = false;
  int maxseg = 0;  // TCP_MAXSEG as set (0: the default)
  int sndbuf = 0;  // SO_SNDBUF as getsockopt reports it (doubled)
  int rcvbuf = 0;
  linger ling{0, 0};
  uint8_t tos = 0;                      // IP_TOS as set
  uint8_t pmtudisc = IP_PMTUDISC_WANT;  // IP_MTU_DISCOVER as set
  bool err_consumed = false;            // the connection's errno was reported once
  bool connect_reported = false;        // a later connect() says EISCONN
  bool shut_rd = false;
  bool shut_wr = false;
};

struct Sockets::Epoll {
  struct Interest {
    uint32_t events;
    epoll_data_t data;
    bool disabled = false;  // EPOLLONESHOT reported
  };
  std::map<int, Interest> interest;
};

struct Sockets::Entry {
  int fd = -1;
  bool closed = false;
  std::unique_ptr<Sock> sock;    // a socket, or
  std::unique_ptr<Epoll> epoll;  // an epoll instance
};

Sockets::Sockets(const stack::StackConfig& config, uint64_t seed, Instant start,
                 tcp::EventSink* sink, Limits limits)
    : stack_(config, util::Rng(seed), sink, start),
      limits_(limits),
      defaults_(config.tcp),
      now_(start),
      buf_(65536),
      next_ephemeral_(config.ephemeral_low) {}

Sockets::~Sockets() = default;

void Sockets::set_descriptor_source(std::function<int()> open, std::function<void(int)> close) {
  Lock lk(mu_);
  open_fd_ = std::move(open);
  close_fd_ = std::move(close);
}

void Sockets::set_socket_defaults(const tcp::TcpConfig& tcp, const Limits& limits) {
  Lock lk(mu_);
  defaults_ = tcp;
  limits_ = limits;
}

// --- Driver side -------------------------------------------------------------

void Sockets::set_link_admits(std::function<bool()> admits) {
  Lock lk(mu_);
  link_admits_ = std::move(admits);
}

void Sockets::drain() {
  const bool congested = link_admits_ && !link_admits_();
  stack_.set_link_congested(congested);
  while (const size_t n = stack_.poll_transmit(now_, buf_)) {
    if (congested) continue;  // refused by the device, like Linux's local drop
    out_.push_back({now_, std::vector<uint8_t>(buf_.begin(), buf_.begin() + n)});
  }
  wake();
}

void Sockets::wake() {
  unsettled_ = blocked_;  // each must look again before time moves on
  cv_.notify_all();
}

void Sockets::block(Lock& lk) {
  if (returning_ && returning_tid_ == std::this_thread::get_id()) returning_ = false;
  ++blocked_;
  settle_cv_.notify_all();
  cv_.wait(lk);
  --blocked_;
  if (unsettled_ > 0) --unsettled_;
  // It may return now; its caller reads the clock next (packetdrill's
  // syscall thread takes the call's end time).
  returning_ = true;
  returning_tid_ = std::this_thread::get_id();
  settle_cv_.notify_all();
}

Sockets::CallGuard::CallGuard(Sockets& sockets) : s(sockets) { ++s.active_; }

Sockets::CallGuard::~CallGuard() {
  std::lock_guard<std::mutex> g(s.mu_);
  --s.active_;
  if (std::this_thread::get_id() != s.driver_tid_) {
    s.returning_ = true;
    s.returning_tid_ = std::this_thread::get_id();
  }
  s.settle_cv_.notify_all();
}

void Sockets::settle(std::chrono::milliseconds real_timeout) {
  Lock lk(mu_);
  driver_tid_ = std::this_thread::get_id();
  // Settled: every call in progress sleeps in cv_ having seen the last
  // wake, and none has returned without reading the clock.
  const bool settled = settle_cv_.wait_for(lk, real_timeout, [&] {
    return unsettled_ == 0 && !returning_ && active_.load() <= blocked_;
  });
  if (!settled) returning_ = false;  // a caller that never reads the clock
}

Instant Sockets::clock_read() {
  Lock lk(mu_);
  if (returning_ && returning_tid_ == std::this_thread::get_id()) {
    returning_ = false;
    settle_cv_.notify_all();
  }
  return now_;
}

void Sockets::drive_to(Instant t) {
  // Each timer runs at its own deadline, so what it sends carries that time.
  while (stack_.next_deadline() <= t) {
    now_ = std::max(now_, stack_.next_deadline());
    stack_.on_timers(now_);
    drain();
  }
  now_ = std::max(now_, t);
}

void Sockets::input(Instant now, std::span<const uint8_t> datagram) {
  Lock lk(mu_);
  driver_tid_ = std::this_thread::get_id();
  drive_to(now);
  stack_.receive(now_, datagram);
  drain();
}

void Sockets::advance(Instant now) {
  Lock lk(mu_);
  drive_to(now);
  wake();  // timeouts on the layer's clock
}

size_t Sockets::take_datagram(std::span<uint8_t> buf, Instant* when) {
  Lock lk(mu_);
  if (out_.empty()) return 0;
  Outbound& o = out_.front();
  const size_t n = std::min(buf.size(), o.bytes.size());
  std::memcpy(buf.data(), o.bytes.data(), n);
  if (when) *when = o.when;
  out_.pop_front();
  return n;
}

bool Sockets::wait_datagram(std::chrono::milliseconds real_timeout) {
  Lock lk(mu_);
  return cv_.wait_for(lk, real_timeout, [&] { return !out_.empty(); });
}

Instant Sockets::now() const {
  Lock lk(mu_);
  return now_;
}

Instant Sockets::next_deadline() const {
  Lock lk(mu_);
  return stack_.next_deadline();
}

bool Sockets::owns(int fd) const {
  Lock lk(mu_);
  return table_.count(fd) != 0;
}

std::optional<stack::ConnId> Sockets::connection_of(int fd) const {
  Lock lk(mu_);
  auto e = find(fd);
  if (!e || !e->sock) return std::nullopt;
  return e->sock->conn;
}

void Sockets::inspect(const std::function<void(const stack::Stack&)>& f) const {
  Lock lk(mu_);
  f(stack_);
}

// --- Helpers -----------------------------------------------------------------

std::shared_ptr<Sockets::Entry> Sockets::find(int fd) const {
  auto it = table_.find(fd);
  return it == table_.end() ? nullptr : it->second;
}

Sockets::Sock* Sockets::sock_or_errno(int fd, std::shared_ptr<Entry>* keep) {
  *keep = find(fd);
  if (!*keep) {
    errno = EBADF;
    return nullptr;
  }
  if (!(*keep)->sock) {
    errno = ENOTSOCK;
    return nullptr;
  }
  return (*keep)->sock.get();
}

int Sockets::alloc_fd() {
  if (table_.size() >= limits_.max_descriptors) return -1;
  if (open_fd_) {
    const int fd = open_fd_();
    return fd >= 0 && table_.count(fd) == 0 ? fd : -1;
  }
  int fd = 3;
  while (table_.count(fd)) ++fd;
  return fd;
}

template <class Pred>
bool Sockets::wait(Lock& lk, Pred ready, Instant deadline) {
  while (!ready()) {
    if (now_ >= deadline) return false;
    block(lk);
  }
  return true;
}

// sock_error(): the connection's errno, reported once (read, write, SO_ERROR).
int Sockets::pending_error(Sock& s, bool consume) {
  if (!s.conn || s.err_consumed) return 0;
  const tcp::Connection* c = stack_.connection(*s.conn);
  if (!c || c->state() != State::kClosed || c->error().err == 0) return 0;
  if (consume) s.err_consumed = true;
  return c->error().err;
}

bool Sockets::port_in_use(uint16_t port, const Sock* except, bool reuse) const {
  // inet_csk_bind_conflict: two sockets may share a port only if both set
  // SO_REUSEADDR and neither listens.
  for (const auto& [fd, e] : table_) {
    const Sock* o = e->sock.get();
    if (!o || o == except || o->port != port) continue;
    if (!(reuse && o->reuseaddr) || o->phase == Sock::Phase::kListening) return true;
  }
  return false;
}

uint16_t Sockets::ephemeral_port() {
  const auto& c = stack_.config();
  const uint32_t span = static_cast<uint32_t>(c.ephemeral_high - c.ephemeral_low) + 1;
  for (uint32_t i = 0; i < span; ++i) {
    const uint16_t p = next_ephemeral_;
    next_ephemeral_ = p >= c.ephemeral_high ? c.ephemeral_low : static_cast<uint16_t>(p + 1);
    if (!port_in_use(p, nullptr, false)) return p;
  }
  return 0;
}

void Sockets::apply_options(Sock& s, bool push) {
  s.cfg.cork = s.cork;
  if (s.conn) {
    stack_.set_socket_options(now_, *s.conn, s.cfg, push);
    drain();
  }
}

uint32_t Sockets::readiness(const Entry& e) const {
  if (!e.sock) return 0;
  const Sock& s = *e.sock;
  if (s.phase == Sock::Phase::kListening) {
    // inet_csk_listen_poll: readable when the accept queue is not empty.
    return stack_.accept_queue_length(s.port) > 0 ? POLLIN | POLLRDNORM : 0;
  }
  if (s.phase != Sock::Phase::kConnected || !s.conn) return POLLOUT | POLLHUP;  // tcp_poll, CLOSE
  const tcp::Connection* c = stack_.connection(*s.conn);
  if (!c) return POLLHUP;
  uint32_t m = 0;
  const State st = c->state();
  if (handshaking(st)) return 0;
  if (c->recv_available() > 0 || c->peer_closed() || s.shut_rd) m |= POLLIN | POLLRDNORM;
  if (c->peer_closed() || s.shut_rd) m |= POLLRDHUP;
  if (sending_state(st) && !s.shut_wr && c->send_space() > 0) m |= POLLOUT | POLLWRNORM;
  if (st == State::kClosed) {
    m |= POLLIN | POLLRDNORM | POLLHUP;
    if (c->error().err != 0 && !s.err_consumed) m |= POLLERR;
  }
  if (s.shut_wr && (c->peer_closed() || s.shut_rd)) m |= POLLHUP;
  return m;
}

// --- Calls -------------------------------------------------------------------

// __sys_socket / inet_create.
int Sockets::socket(int domain, int type, int protocol) {
  Lock lk(mu_);
  if (domain != AF_INET) return fail(EAFNOSUPPORT);
  const int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
  type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type != SOCK_STREAM)
    return fail(type >= SOCK_STREAM && type <= SOCK_PACKET ? EPROTONOSUPPORT : EINVAL);
  if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
  const int fd = alloc_fd();
  if (fd < 0) return fail(EMFILE);
  auto e = std::make_shared<Entry>();
  e->fd = fd;
  e->sock = std::make_unique<Sock>();
  e->sock->cfg = defaults_;
  e->sock->nonblock = (flags & SOCK_NONBLOCK) != 0;
  e->sock->cloexec = (flags & SOCK_CLOEXEC) != 0;
  e->sock->sndbuf = static_cast<int>(e->sock->cfg.send_buffer);
  e->sock->rcvbuf = static_cast<int>(e->sock->cfg.recv_buffer);
  table_[fd] = std::move(e);
  return fd;
}

// inet_bind / __inet_bind.
int Sockets::bind(int fd, const sockaddr* addr, socklen_t len) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (addr == nullptr) return fail(EFAULT);
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return fail(EINVAL);
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof in);
  if (in.sin_family != AF_INET) return fail(EAFNOSUPPORT);
  if (s->port != 0 || s->phase != Sock::Phase::kFresh) return fail(EINVAL);
  const uint32_t a = ntohl(in.sin_addr.s_addr);
  if (a != INADDR_ANY && a != stack_.config().address.value) return fail(EADDRNOTAVAIL);
  uint16_t port = ntohs(in.sin_port);
  if (port == 0) {
    port = ephemeral_port();
    if (port == 0) return fail(EADDRINUSE);
  } else if (port_in_use(port, s, s->reuseaddr)) {
    return fail(EADDRINUSE);
  }
  s->port = port;
  return 0;
}

// inet_listen: an unbound socket gets an ephemeral port; listen() again
// only changes the backlog.
int Sockets::listen(int fd, int backlog) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (s->phase == Sock::Phase::kConnected) return fail(EINVAL);
  if (s->phase == Sock::Phase::kListening) return 0;
  if (s->port == 0) {
    s->port = ephemeral_port();
    if (s->port == 0) return fail(EADDRINUSE);
  }
  if (port_in_use(s->port, s, s->reuseaddr)) return fail(EADDRINUSE);
  // __sys_listen: (unsigned)backlog > somaxconn is clamped, so a negative
  // backlog means somaxconn. Linux's queue holds backlog + 1
  // (sk_acceptq_is_full is "greater than").
  const unsigned b =
      std::min<unsigned>(static_cast<unsigned>(backlog), static_cast<unsigned>(limits_.somaxconn));
  tcp::TcpConfig cfg = s->cfg;
  if (s->maxseg > 0) cfg.mss = static_cast<uint16_t>(s->maxseg);  // the SYN-ACK's MSS
  stack::OpenError err;
  if (!stack_.listen(s->port, static_cast<size_t>(b) + 1, &err, &cfg)) return fail(EADDRINUSE);
  s->phase = Sock::Phase::kListening;
  wake();
  return 0;
}

int Sockets::accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

// inet_accept / inet_csk_accept.
int Sockets::accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return fail(EINVAL);
  if (addr != nullptr && len == nullptr) return fail(EFAULT);
  if (len != nullptr && static_cast<int>(*len) < 0) return fail(EINVAL);
  if (s->phase != Sock::Phase::kListening) return fail(EINVAL);
  std::optional<stack::ConnId> id;
  auto ready = [&] {
    if (keep->closed || s->phase != Sock::Phase::kListening) return true;
    id = stack_.accept(s->port);
    return id.has_value();
  };
  if (s->nonblock) {
    if (!ready()) return fail(EAGAIN);
  } else {
    wait(lk, ready);
  }
  if (!id) return fail(keep->closed ? EBADF : EINVAL);
  const int nfd = alloc_fd();
  if (nfd < 0) {
    stack_.abort(now_, *id);
    stack_.release(*id);
    drain();
    return fail(EMFILE);
  }
  auto e = std::make_shared<Entry>();
  e->fd = nfd;
  e->sock = std::make_unique<Sock>(*s);  // options inherit (inet_csk_clone_lock)
  Sock& n = *e->sock;
  n.phase = Sock::Phase::kConnected;
  n.conn = id;
  n.nonblock = (flags & SOCK_NONBLOCK) != 0;
  n.cloexec = (flags & SOCK_CLOEXEC) != 0;
  n.connect_reported = true;
  table_[nfd] = std::move(e);
  // Options set on the listener after listen() reach the child too.
  apply_options(n);
  if (addr != nullptr) {
    const tcp::Endpoint peer = stack_.connection(*id)->tuple().remote;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(peer.port);
    in.sin_addr.s_addr = htonl(peer.addr.value);
    std::memcpy(addr, &in, std::min<size_t>(*len, sizeof in));
    *len = sizeof in;
  }
  return nfd;
}

// __inet_stream_connect.
int Sockets::connect(int fd, const sockaddr* addr, socklen_t len) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (addr == nullptr) return fail(EFAULT);
  if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return fail(EINVAL);
  if (addr->sa_family != AF_INET) return fail(EAFNOSUPPORT);
  if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return fail(EINVAL);
  sockaddr_in in;
  std::memcpy(&in, addr, sizeof in);
  if (s->phase == Sock::Phase::kListening) return fail(EINVAL);
  if (s->phase == Sock::Phase::kConnected) {
    const tcp::Connection* c = stack_.connection(*s->conn);
    if (c && handshaking(c->state())) {
      if (s->nonblock) return fail(EALREADY);
    } else if (s->connect_reported) {
      return fail(EISCONN);
    }
  } else {
    const tcp::Endpoint remote{wire::Ipv4Addr{ntohl(in.sin_addr.s_addr)}, ntohs(in.sin_port)};
    if (remote.port == 0) return fail(ECONNREFUSED);
    tcp::TcpConfig cfg = s->cfg;
    if (s->maxseg > 0) cfg.mss = static_cast<uint16_t>(s->maxseg);
    stack::OpenError err;
    const auto id = stack_.connect(now_, remote, &err, &cfg, s->port);
    if (!id) return fail(s->port != 0 ? EADDRINUSE : EADDRNOTAVAIL);
    s->conn = id;
    s->phase = Sock::Phase::kConnected;
    s->port = stack_.connection(*id)->tuple().local.port;
    drain();
    if (s->nonblock) return fail(EINPROGRESS);
  }
  auto done = [&] {
    const tcp::Connection* c = stack_.connection(*s->conn);
    return keep->closed || !c || !handshaking(c->state());
  };
  if (!s->nonblock) wait(lk, done);
  if (keep->closed) return fail(EBADF);
  const tcp::Connection* c = stack_.connection(*s->conn);
  if (!c) return fail(ECONNABORTED);
  if (handshaking(c->state())) return fail(EALREADY);
  if (c->state() == State::kClosed && !c->established_once()) {
    const int err = pending_error(*s, true);
    s->connect_reported = true;
    return fail(err ? err : ECONNABORTED);
  }
  s->connect_reported = true;
  return 0;
}

ssize_t Sockets::recv_locked(Lock& lk, int fd, std::span<uint8_t> out, int flags) {
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if ((flags & (MSG_PEEK | MSG_OOB | MSG_ERRQUEUE)) != 0) return fail(EOPNOTSUPP);
  if (s->phase != Sock::Phase::kConnected) return fail(ENOTCONN);
  if (out.empty()) return 0;
  const bool nonblock = s->nonblock || (flags & MSG_DONTWAIT);
  size_t got = 0;
  for (;;) {
    if (keep->closed) return got ? static_cast<ssize_t>(got) : fail(EBADF);
    const tcp::Connection* c = stack_.connection(*s->conn);
    if (!c) return static_cast<ssize_t>(got);
    // Data queued after shutdown(SHUT_RD) is still read, as Linux's
    // tcp_recvmsg takes the receive queue before it checks RCV_SHUTDOWN
    // (packetdrill shutdown-rd-wr-close).
    if (c->recv_available() > 0) {
      got += stack_.recv(now_, *s->conn, out.subspan(got));
      drain();  // a window update may be owed
      if (got == out.size() || !(flags & MSG_WAITALL)) return static_cast<ssize_t>(got);
      continue;
    }
    if (got > 0 && !(flags & MSG_WAITALL)) return static_cast<ssize_t>(got);
    // tcp_recvmsg's order: pending error, then EOF, then would-block.
    if (const int err = pending_error(*s, true)) {
      return got ? static_cast<ssize_t>(got) : fail(err);
    }
    if (c->peer_closed() || s->shut_rd || c->state() == State::kClosed ||
        c->state() == State::kTimeWait) {
      return static_cast<ssize_t>(got);
    }
    if (nonblock) return got ? static_cast<ssize_t>(got) : fail(EAGAIN);
    block(lk);
  }
}

ssize_t Sockets::send_locked(Lock& lk, int fd, std::span<const uint8_t> data, int flags) {
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if ((flags & MSG_OOB) != 0) return fail(EOPNOTSUPP);
  if (s->phase != Sock::Phase::kConnected) return fail(ENOTCONN);
  // tcp_sendmsg: MSG_MORE corks this write's tail (TCP_NAGLE_CORK in
  // tcp_push) and marks no PSH; the core holds it until the next ACK.
  const bool more = (flags & MSG_MORE) != 0;
  const bool nonblock = s->nonblock || (flags & MSG_DONTWAIT);
  size_t put = 0;
  for (;;) {
    if (keep->closed) return put ? static_cast<ssize_t>(put) : fail(EBADF);
    const tcp::Connection* c = stack_.connection(*s->conn);
    if (!c) return put ? static_cast<ssize_t>(put) : fail(EPIPE);
    // tcp_sendmsg_locked: error first, then a shut-down or closed socket (EPIPE).
    if (const int err = pending_error(*s, true)) return put ? static_cast<ssize_t>(put) : fail(err);
    if (s->shut_wr || !(sending_state(c->state()) || handshaking(c->state()))) {
      return put ? static_cast<ssize_t>(put) : fail(EPIPE);
    }
    if (sending_state(c->state()) && c->send_space() > 0) {
      put += stack_.send(now_, *s->conn, data.subspan(put), more);
      drain();
      if (put == data.size()) return static_cast<ssize_t>(put);
      continue;
    }
    if (nonblock) return put ? static_cast<ssize_t>(put) : fail(EAGAIN);
    block(lk);
  }
}

ssize_t Sockets::read(int fd, void* buf, size_t n) { return recv(fd, buf, n, 0); }
ssize_t Sockets::write(int fd, const void* buf, size_t n) { return send(fd, buf, n, 0); }

ssize_t Sockets::recv(int fd, void* buf, size_t n, int flags) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  if (n > 0 && buf == nullptr) return fail(EFAULT);
  n = std::min<size_t>(n, INT_MAX);  // MAX_RW_COUNT-like bound
  return recv_locked(lk, fd, std::span<uint8_t>(static_cast<uint8_t*>(buf), n), flags);
}

ssize_t Sockets::send(int fd, const void* buf, size_t n, int flags) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  if (n > 0 && buf == nullptr) return fail(EFAULT);
  n = std::min<size_t>(n, INT_MAX);
  return send_locked(lk, fd, std::span<const uint8_t>(static_cast<const uint8_t*>(buf), n), flags);
}

namespace {
// import_iovec: count in [0, UIO_MAXIOV], total below SSIZE_MAX.
bool iov_total(const iovec* iov, int iovcnt, size_t* total) {
  if (iovcnt < 0 || iovcnt > kIovMax || (iovcnt > 0 && iov == nullptr)) return false;
  size_t t = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len > static_cast<size_t>(SSIZE_MAX) - t) return false;
    if (iov[i].iov_len > 0 && iov[i].iov_base == nullptr) return false;
    t += iov[i].iov_len;
  }
  *total = t;
  return true;
}
}  // namespace

ssize_t Sockets::readv(int fd, const iovec* iov, int iovcnt) {
  size_t total = 0;
  if (!iov_total(iov, iovcnt, &total)) return fail(EINVAL);
  std::vector<uint8_t> tmp(total);
  const CallGuard guard(*this);
  Lock lk(mu_);
  const ssize_t n = recv_locked(lk, fd, tmp, 0);
  if (n <= 0) return n;
  size_t off = 0;
  for (int i = 0; i < iovcnt && off < static_cast<size_t>(n); ++i) {
    const size_t k = std::min(iov[i].iov_len, static_cast<size_t>(n) - off);
    std::memcpy(iov[i].iov_base, tmp.data() + off, k);
    off += k;
  }
  return n;
}

ssize_t Sockets::writev(int fd, const iovec* iov, int iovcnt) {
  return gather_send(fd, iov, iovcnt, 0);
}

ssize_t Sockets::sendmsg(int fd, const msghdr* msg, int flags) {
  if (msg == nullptr) return fail(EFAULT);
  if (msg->msg_iovlen > static_cast<size_t>(kIovMax)) return fail(EMSGSIZE);  // ___sys_sendmsg
  return gather_send(fd, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
}

ssize_t Sockets::gather_send(int fd, const iovec* iov, int iovcnt, int flags) {
  size_t total = 0;
  if (!iov_total(iov, iovcnt, &total)) return fail(EINVAL);
  std::vector<uint8_t> tmp;
  tmp.reserve(total);
  for (int i = 0; i < iovcnt; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    tmp.insert(tmp.end(), p, p + iov[i].iov_len);
  }
  const CallGuard guard(*this);
  Lock lk(mu_);
  return send_locked(lk, fd, tmp, flags);
}

// sock_close -> inet_release -> tcp_close.
int Sockets::close(int fd) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  auto e = find(fd);
  if (!e) return fail(EBADF);
  table_.erase(fd);
  e->closed = true;
  for (auto& [ofd, other] : table_) {
    if (other->epoll) other->epoll->interest.erase(fd);  // eventpoll_release
  }
  if (Sock* s = e->sock.get()) {
    if (s->phase == Sock::Phase::kListening) {
      stack_.unlisten(now_, s->port);
    } else if (s->conn) {
      const stack::ConnId id = *s->conn;
      if (s->ling.l_onoff && s->ling.l_linger == 0) {
        stack_.abort(now_, id);  // SO_LINGER 0: RST (tcp_close, tcp_disconnect)
      } else {
        stack_.close_and_stop_reading(now_, id);  // unread data: RST (RFC 2525 §2.17)
        stack_.close_orphan(now_, id);
        if (s->ling.l_onoff && !s->nonblock) {
          // SO_LINGER > 0 on a blocking socket: close() waits until the FIN
          // is acknowledged or the linger time passes (sk_stream_wait_close).
          const Instant until = now_ + Duration::seconds(s->ling.l_linger);
          drain();
          wait(
              lk,
              [&] {
                const tcp::Connection* c = stack_.connection(id);
                return !c || c->state() == State::kClosed || c->state() == State::kFinWait2 ||
                       c->state() == State::kTimeWait;
              },
              until);
        }
      }
      stack_.release(id);
    }
  }
  drain();
  if (close_fd_) close_fd_(fd);
  return 0;
}

// inet_shutdown.
int Sockets::shutdown(int fd, int how) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (how < SHUT_RD || how > SHUT_RDWR) return fail(EINVAL);
  if (s->phase == Sock::Phase::kListening) {
    // Linux: shutdown of a listener stops it (tcp_disconnect) and wakes accept.
    stack_.unlisten(now_, s->port);
    s->phase = Sock::Phase::kFresh;
    drain();
    return 0;
  }
  if (s->phase != Sock::Phase::kConnected) return fail(ENOTCONN);
  const tcp::Connection* c = stack_.connection(*s->conn);
  if (c && c->state() == State::kSynSent) {
    // tcp_disconnect in SYN-SENT: the connection just goes.
    stack_.abort(now_, *s->conn);
  }
  if (how == SHUT_RD || how == SHUT_RDWR) s->shut_rd = true;
  if ((how == SHUT_WR || how == SHUT_RDWR) && !s->shut_wr) {
    s->shut_wr = true;
    stack_.close(now_, *s->conn);  // FIN after the queued data
  }
  drain();
  return 0;
}

namespace {
int int_value(const void* val, socklen_t len, int* out) {
  if (val == nullptr) return EFAULT;
  if (len < static_cast<socklen_t>(sizeof(int))) return EINVAL;
  std::memcpy(out, val, sizeof(int));
  return 0;
}
}  // namespace

// sk_setsockopt / do_tcp_setsockopt.
int Sockets::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (static_cast<int>(len) < 0) return fail(EINVAL);
  int v = 0;
  if (level == IPPROTO_IP) {
    // do_ip_setsockopt: IP_TOS takes an int, or one byte. Recorded and
    // reported; vigil's datagrams keep TOS 0.
    // IP_MTU_DISCOVER likewise (IP_PMTUDISC_DONT..OMIT, 0..5): recorded;
    // vigil always sets DF and follows RFC 1191 (connection_icmp.cpp).
    if (name != IP_TOS && name != IP_MTU_DISCOVER) return fail(ENOPROTOOPT);
    if (val == nullptr) return fail(EFAULT);
    if (len < 1) return fail(EINVAL);
    if (len >= static_cast<socklen_t>(sizeof(int))) {
      std::memcpy(&v, val, sizeof v);
    } else {
      v = *static_cast<const uint8_t*>(val);
    }
    if (name == IP_MTU_DISCOVER) {
      if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT) return fail(EINVAL);
      s->pmtudisc = static_cast<uint8_t>(v);
      return 0;
    }
    s->tos = static_cast<uint8_t>(v & 0xfc);  // the ECN bits are the stack's (INET_ECN_MASK)
    return 0;
  }
  if (level == SOL_SOCKET) {
    if (name == SO_LINGER) {
      if (val == nullptr) return fail(EFAULT);
      if (len < static_cast<socklen_t>(sizeof(linger))) return fail(EINVAL);
      std::memcpy(&s->ling, val, sizeof(linger));
      s->ling.l_linger = std::max(s->ling.l_linger, 0);  // negative: as unsigned, "for ever"
      if (static_cast<unsigned>(s->ling.l_linger) > 24u * 3600u) s->ling.l_linger = 24 * 3600;
      return 0;
    }
    if (const int err = int_value(val, len, &v)) return fail(err);
    switch (name) {
      case SO_KEEPALIVE:
        s->cfg.keepalive = v != 0;
        apply_options(*s);
        return 0;
      case SO_REUSEADDR:
        s->reuseaddr = v != 0;
        return 0;
      case SO_SNDBUF: {
        // sk_setsockopt: min(val as u32, wmem_max), then doubled, at least
        // SOCK_MIN_SNDBUF; getsockopt returns the doubled value.
        const uint32_t u = std::min<uint32_t>(static_cast<uint32_t>(v), limits_.wmem_max);
        s->sndbuf = std::max<int>(static_cast<int>(u) * 2, kMinSndbuf);
        s->cfg.send_buffer = static_cast<uint32_t>(s->sndbuf);
        s->cfg.send_buffer_max = 0;  // SOCK_SNDBUF_LOCK: no autotuning from now on
        apply_options(*s);           // a connected socket's buffer changes at once
        return 0;
      }
      case SO_RCVBUF: {
        const uint32_t u = std::min<uint32_t>(static_cast<uint32_t>(v), limits_.rmem_max);
        s->rcvbuf = std::max<int>(static_cast<int>(u) * 2, kMinRcvbuf);
        s->cfg.recv_buffer = static_cast<uint32_t>(s->rcvbuf);
        // SOCK_RCVBUF_LOCK: no autotuning, and tcp_connect_init clamps the
        // window (so the scale) to this buffer.
        s->cfg.recv_buffer_max = 0;
        s->cfg.window_scale_buffer = 0;
        return 0;
      }
      case SO_ERROR:
      case SO_TYPE:
      case SO_DOMAIN:
      case SO_ACCEPTCONN:
        return fail(ENOPROTOOPT);
      default:
        return fail(ENOPROTOOPT);
    }
  }
  if (level != IPPROTO_TCP) return fail(ENOPROTOOPT);
  if (const int err = int_value(val, len, &v)) return fail(err);
  switch (name) {
    case TCP_NODELAY:
      // tcp_sock_set_nodelay: on, it pushes what is held (TCP_NAGLE_PUSH),
      // corked or not.
      s->cfg.nodelay = v != 0;
      apply_options(*s, v != 0);
      return 0;
    case TCP_CORK:
      // __tcp_sock_set_cork: short segments wait while corked; uncorking
      // pushes them.
      s->cork = v != 0;
      apply_options(*s, v == 0);
      return 0;
    case TCP_KEEPIDLE:
      if (v < 1 || v > kMaxKeepIdle) return fail(EINVAL);
      s->cfg.keepalive_idle = Duration::seconds(v);
      apply_options(*s);
      return 0;
    case TCP_KEEPINTVL:
      if (v < 1 || v > kMaxKeepIntvl) return fail(EINVAL);
      s->cfg.keepalive_interval = Duration::seconds(v);
      apply_options(*s);
      return 0;
    case TCP_KEEPCNT:
      if (v < 1 || v > kMaxKeepCnt) return fail(EINVAL);
      s->cfg.keepalive_count = static_cast<uint32_t>(v);
      apply_options(*s);
      return 0;
    case TCP_USER_TIMEOUT:
      if (v < 0) return fail(EINVAL);
      s->cfg.user_timeout = Duration::millis(v);
      apply_options(*s);
      return 0;
    case TCP_MAXSEG:
      // do_tcp_setsockopt: 0 means the default, else [TCP_MIN_MSS, MAX_TCP_WINDOW].
      if (v != 0 && (v < kMinMss || v > kMaxWindow)) return fail(EINVAL);
      s->maxseg = v;
      if (s->phase == Sock::Phase::kListening) {
        // On a listener it reaches the SYN-ACKs of connections to come.
        tcp::TcpConfig cfg = s->cfg;
        cfg.mss = static_cast<uint16_t>(v != 0 ? v : defaults_.mss);
        stack_.set_listen_config(s->port, cfg);
      }
      return 0;
    case TCP_INFO:
      return fail(ENOPROTOOPT);
    default:
      return fail(ENOPROTOOPT);
  }
}

// sk_getsockopt / do_tcp_getsockopt: an int option copies
// min(*len, sizeof(int)) bytes and sets *len to that.
int Sockets::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (len == nullptr) return fail(EFAULT);
  if (static_cast<int>(*len) < 0) return fail(EINVAL);
  if (val == nullptr && *len > 0) return fail(EFAULT);
  const tcp::Connection* c = s->conn ? stack_.connection(*s->conn) : nullptr;
  auto put_int = [&](int v) {
    const size_t n = std::min<size_t>(*len, sizeof(int));
    std::memcpy(val, &v, n);
    *len = static_cast<socklen_t>(n);
    return 0;
  };
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_KEEPALIVE:
        return put_int(s->cfg.keepalive ? 1 : 0);
      case SO_REUSEADDR:
        return put_int(s->reuseaddr ? 1 : 0);
      case SO_SNDBUF:  // sk_sndbuf: grown by autotuning once connected
        return put_int(c ? static_cast<int>(std::min<size_t>(c->send_buffer_size(), INT_MAX))
                         : s->sndbuf);
      case SO_RCVBUF:
        return put_int(s->rcvbuf);
      case SO_ERROR:
        return put_int(pending_error(*s, true));
      case SO_TYPE:
        return put_int(SOCK_STREAM);
      case SO_DOMAIN:
        return put_int(AF_INET);
      case SO_PROTOCOL:
        return put_int(IPPROTO_TCP);
      case SO_ACCEPTCONN:
        return put_int(s->phase == Sock::Phase::kListening ? 1 : 0);
      case SO_MEMINFO: {
        // sk_get_meminfo: SK_MEMINFO_VARS (9) u32s; vigil fills the ones
        // it knows: bytes readable, SO_RCVBUF, SO_SNDBUF, bytes queued.
        uint32_t mi[9] = {};
        mi[0] = c ? static_cast<uint32_t>(c->recv_available()) : 0;            // RMEM_ALLOC
        mi[1] = static_cast<uint32_t>(s->rcvbuf);                              // RCVBUF
        mi[3] = static_cast<uint32_t>(c ? c->send_buffer_size() : s->sndbuf);  // SNDBUF
        mi[5] = c ? static_cast<uint32_t>(c->send_queued()) : 0;               // WMEM_QUEUED
        const size_t n = std::min<size_t>(*len, sizeof mi);
        std::memcpy(val, mi, n);
        *len = static_cast<socklen_t>(n);
        return 0;
      }
      case SO_LINGER: {
        const size_t n = std::min<size_t>(*len, sizeof(linger));
        std::memcpy(val, &s->ling, n);
        *len = static_cast<socklen_t>(n);
        return 0;
      }
      default:
        return fail(ENOPROTOOPT);
    }
  }
  if (level == IPPROTO_IP && name == IP_TOS) return put_int(s->tos);
  if (level == IPPROTO_IP && name == IP_MTU_DISCOVER) return put_int(s->pmtudisc);
  if (level != IPPROTO_TCP) return fail(ENOPROTOOPT);
  switch (name) {
    case TCP_NODELAY:
      return put_int(s->cfg.nodelay ? 1 : 0);
    case TCP_CORK:
      return put_int(s->cork ? 1 : 0);
    case TCP_KEEPIDLE:
      return put_int(static_cast<int>(s->cfg.keepalive_idle.ns() / 1'000'000'000));
    case TCP_KEEPINTVL:
      return put_int(static_cast<int>(s->cfg.keepalive_interval.ns() / 1'000'000'000));
    case TCP_KEEPCNT:
      return put_int(static_cast<int>(s->cfg.keepalive_count));
    case TCP_USER_TIMEOUT:
      return put_int(static_cast<int>(s->cfg.user_timeout.ms()));
    case TCP_MAXSEG:
      // tcp_getsockopt: the connection's MSS once it has one, else user_mss
      // or the default 536 (TCP_MSS_DEFAULT).
      if (c && c->send_mss() > 0 && !handshaking(c->state()) && c->state() != State::kClosed) {
        return put_int(static_cast<int>(c->send_mss()));
      }
      return put_int(s->maxseg > 0 ? s->maxseg : 536);
    case TCP_INFO: {
      const size_t n = fill_tcp_info(c, now_, val, *len);
      *len = static_cast<socklen_t>(n);
      return 0;
    }
    case TCP_CC_INFO:
      // tcp_getsockopt: a congestion control without get_info (Reno, CUBIC)
      // reports nothing: success with length 0.
      *len = 0;
      return 0;
    default:
      return fail(ENOPROTOOPT);
  }
}

namespace {
int put_addr(const tcp::Endpoint& ep, sockaddr* addr, socklen_t* len) {
  if (addr == nullptr || len == nullptr) return fail(EFAULT);
  if (static_cast<int>(*len) < 0) return fail(EINVAL);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(ep.port);
  in.sin_addr.s_addr = htonl(ep.addr.value);
  std::memcpy(addr, &in, std::min<size_t>(*len, sizeof in));
  *len = sizeof in;
  return 0;
}
}  // namespace

int Sockets::getsockname(int fd, sockaddr* addr, socklen_t* len) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  tcp::Endpoint ep{wire::Ipv4Addr{0}, s->port};
  if (const tcp::Connection* c = s->conn ? stack_.connection(*s->conn) : nullptr) {
    ep = c->tuple().local;
  }
  return put_addr(ep, addr, len);
}

int Sockets::getpeername(int fd, sockaddr* addr, socklen_t* len) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  const tcp::Connection* c = s->conn ? stack_.connection(*s->conn) : nullptr;
  if (!c || handshaking(c->state()) || c->state() == State::kClosed) return fail(ENOTCONN);
  return put_addr(c->tuple().remote, addr, len);
}

// do_fcntl: the flags this layer knows; other commands are EINVAL.
int Sockets::fcntl(int fd, int cmd, long arg) {
  Lock lk(mu_);
  auto e = find(fd);
  if (!e) return fail(EBADF);
  Sock* s = e->sock.get();
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | (s && s->nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
      if (s) s->nonblock = (arg & O_NONBLOCK) != 0;
      return 0;
    case F_GETFD:
      return s && s->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
      if (s) s->cloexec = (arg & FD_CLOEXEC) != 0;
      return 0;
    default:
      return fail(EINVAL);
  }
}

// FIONBIO; SIOCINQ (FIONREAD) and SIOCOUTQ as tcp_ioctl answers them.
int Sockets::ioctl(int fd, unsigned long req, int* arg) {
  Lock lk(mu_);
  std::shared_ptr<Entry> keep;
  Sock* s = sock_or_errno(fd, &keep);
  if (!s) return -1;
  if (req != FIONBIO && req != SIOCINQ && req != SIOCOUTQ) return fail(ENOTTY);
  if (arg == nullptr) return fail(EFAULT);
  if (req == FIONBIO) {
    s->nonblock = *arg != 0;
    return 0;
  }
  if (s->phase == Sock::Phase::kListening) return fail(EINVAL);
  const tcp::Connection* c = s->conn ? stack_.connection(*s->conn) : nullptr;
  if (req == SIOCINQ) {
    *arg = c ? static_cast<int>(std::min<size_t>(c->recv_available(), INT_MAX)) : 0;
  } else {
    // Bytes written and not yet acknowledged: the send buffer's fill.
    *arg = c && c->state() != State::kClosed
               ? static_cast<int>(std::min<size_t>(c->send_queued(), INT_MAX))
               : 0;
  }
  return 0;
}

int Sockets::poll(pollfd* fds, size_t nfds, int timeout_ms) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  if (nfds > limits_.max_descriptors) return fail(EINVAL);  // RLIMIT_NOFILE
  if (nfds > 0 && fds == nullptr) return fail(EFAULT);
  auto scan = [&] {
    int ready = 0;
    for (size_t i = 0; i < nfds; ++i) {
      fds[i].revents = 0;
      if (fds[i].fd < 0) continue;
      auto e = find(fds[i].fd);
      if (!e) {
        fds[i].revents = POLLNVAL;
      } else {
        const uint32_t m = readiness(*e);
        // POLLERR and POLLHUP are reported whether asked for or not.
        fds[i].revents =
            static_cast<short>(m & (static_cast<uint16_t>(fds[i].events) | POLLERR | POLLHUP));
      }
      if (fds[i].revents) ++ready;
    }
    return ready;
  };
  const Instant until = timeout_ms < 0 ? Instant::never() : now_ + Duration::millis(timeout_ms);
  int ready = 0;
  wait(
      lk, [&] { return (ready = scan()) > 0; }, until);
  return ready;
}

int Sockets::epoll_create(int size) {
  if (size <= 0) return fail(EINVAL);
  return epoll_create1(0);
}

int Sockets::epoll_create1(int flags) {
  Lock lk(mu_);
  if ((flags & ~EPOLL_CLOEXEC) != 0) return fail(EINVAL);
  const int fd = alloc_fd();
  if (fd < 0) return fail(EMFILE);
  auto e = std::make_shared<Entry>();
  e->fd = fd;
  e->epoll = std::make_unique<Epoll>();
  table_[fd] = std::move(e);
  return fd;
}

// do_epoll_ctl.
int Sockets::epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  Lock lk(mu_);
  auto ep = find(epfd);
  auto target = find(fd);
  if (!ep || !target) return fail(EBADF);
  if (!ep->epoll || epfd == fd) return fail(EINVAL);
  if (target->epoll) return fail(EPERM);  // nested epoll: not supported here
  if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && ev == nullptr) return fail(EFAULT);
  auto& in = ep->epoll->interest;
  switch (op) {
    case EPOLL_CTL_ADD:
      if (in.count(fd)) return fail(EEXIST);
      in[fd] = {ev->events, ev->data, false};
      break;
    case EPOLL_CTL_MOD:
      if (!in.count(fd)) return fail(ENOENT);
      in[fd] = {ev->events, ev->data, false};
      break;
    case EPOLL_CTL_DEL:
      if (in.erase(fd) == 0) return fail(ENOENT);
      break;
    default:
      return fail(EINVAL);
  }
  wake();
  return 0;
}

int Sockets::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  const CallGuard guard(*this);
  Lock lk(mu_);
  auto ep = find(epfd);
  if (!ep) return fail(EBADF);
  if (!ep->epoll) return fail(EINVAL);
  if (maxevents <= 0 || maxevents > INT_MAX / static_cast<int>(sizeof(epoll_event))) {
    return fail(EINVAL);
  }
  if (events == nullptr) return fail(EFAULT);
  auto scan = [&] {
    int n = 0;
    for (auto& [fd, it] : ep->epoll->interest) {
      if (n == maxevents) break;
      if (it.disabled) continue;
      auto e = find(fd);
      if (!e) continue;
      const uint32_t m =
          readiness(*e) & (it.events | EPOLLERR | EPOLLHUP) &
          (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLRDNORM | EPOLLWRNORM);
      if (m == 0) continue;
      events[n].events = m;
      events[n].data = it.data;
      if (it.events & EPOLLONESHOT) it.disabled = true;
      ++n;
    }
    return n;
  };
  const Instant until = timeout_ms < 0 ? Instant::never() : now_ + Duration::millis(timeout_ms);
  int n = 0;
  wait(
      lk, [&] { return ep->closed || (n = scan()) > 0; }, until);
  return n;
}

}  // namespace vigil::posix
