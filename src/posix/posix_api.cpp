// vigil::PosixStack (include/vigil/posix.hpp): the installed face of
// posix::Sockets, with standard types at the edges.
#include <random>
#include <system_error>

#include "posix/sockets.hpp"
#include "tcp/config.hpp"
#include "vigil/posix.hpp"

namespace vigil {

namespace {

Instant to_instant(TimePoint t) { return Instant::from_ns(t.time_since_epoch().count()); }
TimePoint to_time_point(Instant t) { return TimePoint(std::chrono::nanoseconds(t.ns())); }

[[noreturn]] void invalid(const std::string& why) {
  throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                          "vigil::PosixStack: " + why);
}

}  // namespace

PosixStack::PosixStack(const PosixOptions& o, TimePoint start) {
  stack::StackConfig cfg;
  const auto& a = o.address;
  cfg.address = wire::Ipv4Addr::of(a[0], a[1], a[2], a[3]);
  if (!tcp::TcpConfig::from_profile(o.profile, &cfg.tcp)) {
    invalid("unknown profile '" + o.profile + "' (expected linux or rfc)");
  }
  for (const auto& [knob, value] : o.knobs) {
    if (std::string err = cfg.tcp.set(knob, value); !err.empty()) invalid(err);
  }
  if (o.wmem_max <= 0 || o.rmem_max <= 0 || o.somaxconn <= 0 || o.max_descriptors == 0) {
    invalid("wmem_max, rmem_max, somaxconn and max_descriptors must be positive");
  }
  posix::Limits limits;
  limits.wmem_max = o.wmem_max;
  limits.rmem_max = o.rmem_max;
  limits.somaxconn = o.somaxconn;
  limits.max_descriptors = o.max_descriptors;
  const uint64_t seed =
      o.seed ? o.seed : (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  impl_ = std::make_unique<posix::Sockets>(cfg, seed, to_instant(start), nullptr, limits);
}

PosixStack::~PosixStack() = default;

void PosixStack::input(TimePoint now, std::span<const uint8_t> datagram) {
  impl_->input(to_instant(now), datagram);
}
void PosixStack::advance(TimePoint now) { impl_->advance(to_instant(now)); }
size_t PosixStack::take_datagram(std::span<uint8_t> buf, TimePoint* when) {
  Instant t;
  const size_t n = impl_->take_datagram(buf, &t);
  if (n && when) *when = to_time_point(t);
  return n;
}
bool PosixStack::wait_datagram(std::chrono::milliseconds real_timeout) {
  return impl_->wait_datagram(real_timeout);
}
void PosixStack::settle(std::chrono::milliseconds real_timeout) { impl_->settle(real_timeout); }
TimePoint PosixStack::now() const { return to_time_point(impl_->now()); }
std::optional<TimePoint> PosixStack::next_deadline() const {
  const Instant d = impl_->next_deadline();
  if (d.is_never()) return std::nullopt;
  return to_time_point(d);
}

int PosixStack::socket(int domain, int type, int protocol) {
  return impl_->socket(domain, type, protocol);
}
int PosixStack::bind(int fd, const sockaddr* addr, socklen_t len) {
  return impl_->bind(fd, addr, len);
}
int PosixStack::listen(int fd, int backlog) { return impl_->listen(fd, backlog); }
int PosixStack::accept(int fd, sockaddr* addr, socklen_t* len) {
  return impl_->accept(fd, addr, len);
}
int PosixStack::accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return impl_->accept4(fd, addr, len, flags);
}
int PosixStack::connect(int fd, const sockaddr* addr, socklen_t len) {
  return impl_->connect(fd, addr, len);
}
ssize_t PosixStack::read(int fd, void* buf, size_t n) { return impl_->read(fd, buf, n); }
ssize_t PosixStack::write(int fd, const void* buf, size_t n) { return impl_->write(fd, buf, n); }
ssize_t PosixStack::recv(int fd, void* buf, size_t n, int flags) {
  return impl_->recv(fd, buf, n, flags);
}
ssize_t PosixStack::send(int fd, const void* buf, size_t n, int flags) {
  return impl_->send(fd, buf, n, flags);
}
ssize_t PosixStack::readv(int fd, const iovec* iov, int iovcnt) {
  return impl_->readv(fd, iov, iovcnt);
}
ssize_t PosixStack::writev(int fd, const iovec* iov, int iovcnt) {
  return impl_->writev(fd, iov, iovcnt);
}
ssize_t PosixStack::sendmsg(int fd, const msghdr* msg, int flags) {
  return impl_->sendmsg(fd, msg, flags);
}
int PosixStack::close(int fd) { return impl_->close(fd); }
int PosixStack::shutdown(int fd, int how) { return impl_->shutdown(fd, how); }
int PosixStack::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  return impl_->setsockopt(fd, level, name, val, len);
}
int PosixStack::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  return impl_->getsockopt(fd, level, name, val, len);
}
int PosixStack::getsockname(int fd, sockaddr* addr, socklen_t* len) {
  return impl_->getsockname(fd, addr, len);
}
int PosixStack::getpeername(int fd, sockaddr* addr, socklen_t* len) {
  return impl_->getpeername(fd, addr, len);
}
int PosixStack::fcntl(int fd, int cmd, long arg) { return impl_->fcntl(fd, cmd, arg); }
int PosixStack::ioctl(int fd, unsigned long request, int* arg) {
  return impl_->ioctl(fd, request, arg);
}
int PosixStack::poll(pollfd* fds, size_t nfds, int timeout_ms) {
  return impl_->poll(fds, nfds, timeout_ms);
}
int PosixStack::epoll_create1(int flags) { return impl_->epoll_create1(flags); }
int PosixStack::epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  return impl_->epoll_ctl(epfd, op, fd, ev);
}
int PosixStack::epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout_ms) {
  return impl_->epoll_wait(epfd, events, maxevents, timeout_ms);
}

}  // namespace vigil
