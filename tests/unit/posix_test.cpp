// The BSD-socket layer (src/posix): two layers in memory, a client at
// 10.0.0.1 and a server at 10.0.0.2, on a virtual clock the test moves. Each
// call's errno cases are Linux's (the function named in sockets.cpp).
#include "vigil/posix.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "posix/sockets.hpp"

namespace vigil::posix {
namespace {

sockaddr_in addr(uint32_t a, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(a);
  return in;
}
const sockaddr* sa(const sockaddr_in& in) { return reinterpret_cast<const sockaddr*>(&in); }

constexpr uint32_t kClient = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kServer = 0x0a000002;  // 10.0.0.2

stack::StackConfig config(uint32_t a) {
  stack::StackConfig c;
  c.address = wire::Ipv4Addr{a};
  c.tcp = tcp::TcpConfig::linux_profile();
  c.tcp.timer_hz = 0;  // exact timers: the tests' times do not follow the profile's default
  return c;
}

// errno after a call that must fail with -1.
#define EXPECT_ERRNO(call, err)       \
  do {                                \
    errno = 0;                        \
    EXPECT_EQ((call), -1);            \
    EXPECT_EQ(errno, (err)) << #call; \
  } while (0)

class PosixTest : public ::testing::Test {
 protected:
  Sockets client{config(kClient), 1, Instant::zero()};
  Sockets server{config(kServer), 2, Instant::zero()};
  Instant now = Instant::zero();
  bool link_up = true;

  // Moves every queued datagram across until both sides are quiet.
  void pump() {
    std::vector<uint8_t> buf(65536);
    for (bool moved = true; moved;) {
      moved = false;
      Instant when;
      while (size_t n = client.take_datagram(buf, &when)) {
        moved = true;
        if (link_up) server.input(now, std::span<const uint8_t>(buf.data(), n));
      }
      while (size_t n = server.take_datagram(buf, &when)) {
        moved = true;
        if (link_up) client.input(now, std::span<const uint8_t>(buf.data(), n));
      }
    }
  }
  void advance(Duration d) {
    now = now + d;
    client.advance(now);
    server.advance(now);
    pump();
  }
  int listener(uint16_t port = 80) {
    const int l = server.socket(AF_INET, SOCK_STREAM, 0);
    const auto a = addr(INADDR_ANY, port);
    EXPECT_EQ(server.bind(l, sa(a), sizeof a), 0);
    EXPECT_EQ(server.listen(l, 8), 0);
    return l;
  }
  // A connected pair: {client fd, server fd}.
  std::pair<int, int> connected(int nonblock_flags = SOCK_NONBLOCK) {
    const int l = listener();
    const int c = client.socket(AF_INET, SOCK_STREAM | nonblock_flags, 0);
    const auto to = addr(kServer, 80);
    EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EINPROGRESS);
    pump();
    const int s = server.accept(l, nullptr, nullptr);
    EXPECT_GE(s, 0);
    return {c, s};
  }
};

TEST_F(PosixTest, SocketErrors) {
  EXPECT_ERRNO(client.socket(AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
  EXPECT_ERRNO(client.socket(AF_INET, SOCK_DGRAM, 0), EPROTONOSUPPORT);
  EXPECT_ERRNO(client.socket(AF_INET, 77, 0), EINVAL);
  EXPECT_ERRNO(client.socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
  // Descriptors from 3 up, lowest free first, as the kernel gives them.
  EXPECT_EQ(client.socket(AF_INET, SOCK_STREAM, 0), 3);
  EXPECT_EQ(client.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), 4);
  EXPECT_EQ(client.close(3), 0);
  EXPECT_EQ(client.socket(AF_INET, SOCK_STREAM, 0), 3);
}

TEST_F(PosixTest, DescriptorLimitIsEmfile) {
  Limits lim;
  lim.max_descriptors = 2;
  Sockets s(config(kClient), 1, Instant::zero(), nullptr, lim);
  EXPECT_GE(s.socket(AF_INET, SOCK_STREAM, 0), 0);
  EXPECT_GE(s.epoll_create(1), 0);
  EXPECT_ERRNO(s.socket(AF_INET, SOCK_STREAM, 0), EMFILE);
}

TEST_F(PosixTest, BindErrors) {
  const int a = server.socket(AF_INET, SOCK_STREAM, 0);
  const auto any80 = addr(INADDR_ANY, 80);
  EXPECT_ERRNO(server.bind(99, sa(any80), sizeof any80), EBADF);
  const int ep = server.epoll_create(1);
  EXPECT_ERRNO(server.bind(ep, sa(any80), sizeof any80), ENOTSOCK);
  EXPECT_ERRNO(server.bind(a, nullptr, sizeof any80), EFAULT);
  EXPECT_ERRNO(server.bind(a, sa(any80), sizeof any80 - 1), EINVAL);
  auto v6 = any80;
  v6.sin_family = AF_INET6;
  EXPECT_ERRNO(server.bind(a, sa(v6), sizeof v6), EAFNOSUPPORT);
  const auto other = addr(0x0a000009, 80);
  EXPECT_ERRNO(server.bind(a, sa(other), sizeof other), EADDRNOTAVAIL);
  EXPECT_EQ(server.bind(a, sa(any80), sizeof any80), 0);
  EXPECT_ERRNO(server.bind(a, sa(any80), sizeof any80), EINVAL);  // already bound
  const int b = server.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(server.bind(b, sa(any80), sizeof any80), EADDRINUSE);
  // SO_REUSEADDR on both, neither listening: the port may be shared.
  const int one = 1;
  EXPECT_EQ(server.setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  EXPECT_EQ(server.setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  EXPECT_EQ(server.bind(b, sa(any80), sizeof any80), 0);
  // ... but not once one of them listens.
  EXPECT_EQ(server.listen(a, 1), 0);
  const int c = server.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(server.setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  EXPECT_ERRNO(server.bind(c, sa(any80), sizeof any80), EADDRINUSE);
}

TEST_F(PosixTest, ListenAndAcceptErrors) {
  EXPECT_ERRNO(server.listen(42, 1), EBADF);
  const int l = listener();
  EXPECT_EQ(server.listen(l, 100), 0);  // again: only the backlog changes
  EXPECT_ERRNO(server.accept(42, nullptr, nullptr), EBADF);
  const int fresh = server.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(server.accept(fresh, nullptr, nullptr), EINVAL);  // not listening
  sockaddr_in peer{};
  EXPECT_ERRNO(server.accept(l, reinterpret_cast<sockaddr*>(&peer), nullptr), EFAULT);
  socklen_t bad = static_cast<socklen_t>(-1);
  EXPECT_ERRNO(server.accept(l, reinterpret_cast<sockaddr*>(&peer), &bad), EINVAL);
  EXPECT_ERRNO(server.accept4(l, nullptr, nullptr, 0x4000000), EINVAL);
  EXPECT_EQ(server.fcntl(l, F_SETFL, O_NONBLOCK), 0);
  EXPECT_ERRNO(server.accept(l, nullptr, nullptr), EAGAIN);
}

TEST_F(PosixTest, AcceptFillsThePeerAddress) {
  const int l = listener();
  const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto bind_to = addr(INADDR_ANY, 40000);
  ASSERT_EQ(client.bind(c, sa(bind_to), sizeof bind_to), 0);
  const auto to = addr(kServer, 80);
  EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EINPROGRESS);
  EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EALREADY);
  pump();
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  const int s = server.accept(l, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(s, 0);
  EXPECT_EQ(len, sizeof peer);
  EXPECT_EQ(peer.sin_family, AF_INET);
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), kClient);
  EXPECT_EQ(ntohs(peer.sin_port), 40000);
  // __inet_stream_connect: the first connect() after completion says 0,
  // later ones EISCONN.
  EXPECT_EQ(client.connect(c, sa(to), sizeof to), 0);
  EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EISCONN);
  EXPECT_ERRNO(server.connect(l, sa(to), sizeof to), EINVAL);  // a listener
}

TEST_F(PosixTest, ConnectErrors) {
  const int c = client.socket(AF_INET, SOCK_STREAM, 0);
  const auto to = addr(kServer, 80);
  EXPECT_ERRNO(client.connect(77, sa(to), sizeof to), EBADF);
  EXPECT_ERRNO(client.connect(c, nullptr, sizeof to), EFAULT);
  EXPECT_ERRNO(client.connect(c, sa(to), 1), EINVAL);
  auto v6 = to;
  v6.sin_family = AF_INET6;
  EXPECT_ERRNO(client.connect(c, sa(v6), sizeof v6), EAFNOSUPPORT);
  // Nothing listens on port 81: a blocking connect returns ECONNREFUSED
  // once the RST arrives (pumped from a second thread).
  const auto closed = addr(kServer, 81);
  std::thread t([&] {
    while (!client.connection_of(c)) std::this_thread::yield();
    pump();
  });
  EXPECT_ERRNO(client.connect(c, sa(closed), sizeof closed), ECONNREFUSED);
  t.join();
  EXPECT_ERRNO(client.send(c, "x", 1, 0), EPIPE);  // the error was reported once
}

TEST_F(PosixTest, ReadWriteAndTheirErrors) {
  auto [c, s] = connected();
  char buf[64];
  EXPECT_ERRNO(server.read(99, buf, sizeof buf), EBADF);
  const int ep = server.epoll_create(1);
  EXPECT_ERRNO(server.read(ep, buf, sizeof buf), ENOTSOCK);
  const int fresh = server.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(server.read(fresh, buf, sizeof buf), ENOTCONN);
  EXPECT_ERRNO(server.write(fresh, "x", 1), ENOTCONN);
  EXPECT_ERRNO(server.recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  EXPECT_ERRNO(server.recv(s, buf, sizeof buf, MSG_PEEK), EOPNOTSUPP);
  EXPECT_ERRNO(server.recv(s, nullptr, 4, 0), EFAULT);
  EXPECT_EQ(server.recv(s, buf, 0, 0), 0);
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), EAGAIN);  // O_NONBLOCK from socket()
  EXPECT_EQ(client.write(c, "hello", 5), 5);
  pump();
  EXPECT_EQ(server.read(s, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  // readv / writev: scatter and gather, and import_iovec's checks.
  const char a[] = "ab", b[] = "cde";
  iovec out[2] = {{const_cast<char*>(a), 2}, {const_cast<char*>(b), 3}};
  EXPECT_EQ(server.writev(s, out, 2), 5);
  pump();
  char x[3], y[8];
  iovec in[2] = {{x, 3}, {y, 8}};
  EXPECT_EQ(client.readv(c, in, 2), 5);
  EXPECT_EQ(std::string(x, 3), "abc");
  EXPECT_EQ(std::string(y, 2), "de");
  EXPECT_ERRNO(client.readv(c, in, -1), EINVAL);
  EXPECT_ERRNO(client.writev(c, out, 1025), EINVAL);  // UIO_MAXIOV
  iovec huge[2] = {{buf, SIZE_MAX / 2 + 1}, {buf, SIZE_MAX / 2 + 1}};
  EXPECT_ERRNO(client.writev(c, huge, 2), EINVAL);  // total above SSIZE_MAX
}

TEST_F(PosixTest, EofThenEpipeAfterShutdown) {
  auto [c, s] = connected();
  char buf[8];
  EXPECT_ERRNO(client.shutdown(c, 7), EINVAL);
  EXPECT_ERRNO(client.shutdown(99, SHUT_WR), EBADF);
  const int fresh = client.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_ERRNO(client.shutdown(fresh, SHUT_WR), ENOTCONN);
  EXPECT_EQ(client.shutdown(c, SHUT_WR), 0);  // FIN
  EXPECT_ERRNO(client.write(c, "x", 1), EPIPE);
  pump();
  EXPECT_EQ(server.read(s, buf, sizeof buf), 0);  // EOF
  EXPECT_EQ(server.write(s, "late", 4), 4);       // half-close: the other way still works
  pump();
  EXPECT_EQ(client.read(c, buf, sizeof buf), 4);
  EXPECT_EQ(client.shutdown(c, SHUT_RD), 0);
  EXPECT_EQ(client.read(c, buf, sizeof buf), 0);
  // Linux still queues data that arrives after SHUT_RD, and read() returns
  // it (tcp_recvmsg reads the queue before RCV_SHUTDOWN; packetdrill
  // shutdown-rd-wr-close); then EOF again.
  EXPECT_EQ(server.write(s, "more", 4), 4);
  pump();
  EXPECT_EQ(client.read(c, buf, sizeof buf), 4);
  EXPECT_EQ(client.read(c, buf, sizeof buf), 0);
}

TEST_F(PosixTest, ResetIsReportedOnceThenEof) {
  auto [c, s] = connected();
  const linger lg{1, 0};
  EXPECT_EQ(server.setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  EXPECT_EQ(server.close(s), 0);  // SO_LINGER 0: RST
  EXPECT_ERRNO(server.close(s), EBADF);
  pump();
  pollfd p{c, POLLIN, 0};
  EXPECT_EQ(client.poll(&p, 1, 0), 1);
  EXPECT_EQ(p.revents, POLLIN | POLLERR | POLLHUP);
  char buf[4];
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), ECONNRESET);
  EXPECT_EQ(client.read(c, buf, sizeof buf), 0);  // sock_error cleared it
  int err = -1;
  socklen_t len = sizeof err;
  EXPECT_EQ(client.getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
}

TEST_F(PosixTest, SoErrorAfterRefusedNonblockingConnect) {
  const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto to = addr(kServer, 81);
  EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EINPROGRESS);
  pump();
  int err = 0;
  socklen_t len = sizeof err;
  EXPECT_EQ(client.getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_EQ(client.getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);  // read once
}

TEST_F(PosixTest, OptionsLinuxRangesAndDoubling) {
  const int fd = client.socket(AF_INET, SOCK_STREAM, 0);
  auto set = [&](int level, int name, int v) {
    return client.setsockopt(fd, level, name, &v, sizeof v);
  };
  auto get = [&](int level, int name) {
    int v = -12345;
    socklen_t len = sizeof v;
    EXPECT_EQ(client.getsockopt(fd, level, name, &v, &len), 0);
    EXPECT_EQ(len, sizeof v);
    return v;
  };
  // SO_SNDBUF/SO_RCVBUF: Linux doubles, clamps to wmem_max/rmem_max (212992)
  // first, and floors at SOCK_MIN_SNDBUF 4608 / SOCK_MIN_RCVBUF 2304.
  EXPECT_EQ(set(SOL_SOCKET, SO_SNDBUF, 10000), 0);
  EXPECT_EQ(get(SOL_SOCKET, SO_SNDBUF), 20000);
  EXPECT_EQ(set(SOL_SOCKET, SO_SNDBUF, 1), 0);
  EXPECT_EQ(get(SOL_SOCKET, SO_SNDBUF), 4608);
  EXPECT_EQ(set(SOL_SOCKET, SO_RCVBUF, -1), 0);  // as u32: clamped to rmem_max
  EXPECT_EQ(get(SOL_SOCKET, SO_RCVBUF), 2 * 212992);
  EXPECT_EQ(set(SOL_SOCKET, SO_RCVBUF, 0), 0);
  EXPECT_EQ(get(SOL_SOCKET, SO_RCVBUF), 2304);
  // The linux profile's defaults: tcp_wmem/tcp_rmem's middle values.
  const int fd2 = client.socket(AF_INET, SOCK_STREAM, 0);
  int v = 0;
  socklen_t len = sizeof v;
  EXPECT_EQ(client.getsockopt(fd2, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
  EXPECT_EQ(v, 16384);
  // Keepalive and user timeout: include/net/tcp.h's limits.
  EXPECT_EQ(set(SOL_SOCKET, SO_KEEPALIVE, 5), 0);
  EXPECT_EQ(get(SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_KEEPIDLE, 32767), 0);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_KEEPIDLE, 32768), EINVAL);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_KEEPIDLE, 0), EINVAL);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_KEEPIDLE), 32767);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_KEEPINTVL, -5), EINVAL);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_KEEPINTVL, 10), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_KEEPINTVL), 10);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_KEEPCNT, 128), EINVAL);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_KEEPCNT, 127), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_KEEPCNT), 127);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_USER_TIMEOUT, -1), EINVAL);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_USER_TIMEOUT, INT_MAX), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_USER_TIMEOUT), INT_MAX);
  // TCP_MAXSEG: 0 or [TCP_MIN_MSS 88, MAX_TCP_WINDOW 32767]; unconnected
  // it reads back as set, or 536 (TCP_MSS_DEFAULT).
  EXPECT_EQ(get(IPPROTO_TCP, TCP_MAXSEG), 536);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_MAXSEG, 87), EINVAL);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_MAXSEG, 32768), EINVAL);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_MAXSEG, 1100), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_MAXSEG), 1100);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_NODELAY, 1), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(set(IPPROTO_TCP, TCP_CORK, 1), 0);
  EXPECT_EQ(get(IPPROTO_TCP, TCP_CORK), 1);
  // Bad arguments.
  EXPECT_ERRNO(client.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, nullptr, 4), EFAULT);
  const short small = 1;
  EXPECT_ERRNO(client.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &small, sizeof small), EINVAL);
  EXPECT_ERRNO(set(IPPROTO_IP, IP_TTL, 1), ENOPROTOOPT);
  EXPECT_ERRNO(set(IPPROTO_TCP, 9999, 1), ENOPROTOOPT);
  EXPECT_ERRNO(set(IPPROTO_TCP, TCP_INFO, 1), ENOPROTOOPT);
  EXPECT_ERRNO(set(SOL_SOCKET, SO_ERROR, 1), ENOPROTOOPT);
  const linger lg{1, 5};
  EXPECT_ERRNO(client.setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg - 1), EINVAL);
  EXPECT_EQ(client.setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  linger back{};
  len = sizeof back;
  EXPECT_EQ(client.getsockopt(fd, SOL_SOCKET, SO_LINGER, &back, &len), 0);
  EXPECT_EQ(back.l_onoff, 1);
  EXPECT_EQ(back.l_linger, 5);
  EXPECT_ERRNO(client.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, nullptr), EFAULT);
  socklen_t neg = static_cast<socklen_t>(-1);
  EXPECT_ERRNO(client.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &neg), EINVAL);
  // A short buffer gets a short copy (sk_getsockopt: min(len, sizeof(int))).
  unsigned char one_byte = 0xff;
  len = 1;
  EXPECT_EQ(client.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_byte, &len), 0);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(one_byte, 1);
}

TEST_F(PosixTest, TcpInfoFromTheConnection) {
  auto [c, s] = connected();
  // struct tcp_info from <linux/tcp.h>'s first fields, read by offset so
  // the test needs no second definition: state, ca_state, ..., options.
  unsigned char info[512] = {};
  socklen_t len = sizeof info;
  ASSERT_EQ(client.getsockopt(c, IPPROTO_TCP, TCP_INFO, info, &len), 0);
  EXPECT_GE(len, 104u);           // Linux 4.x's size, the oldest packetdrill reads
  EXPECT_EQ(info[0], 1);          // TCP_ESTABLISHED
  EXPECT_EQ(info[5], 1 | 2 | 4);  // TCPI_OPT_TIMESTAMPS | SACK | WSCALE
  uint32_t snd_mss = 0, snd_cwnd = 0;
  std::memcpy(&snd_mss, info + 16, 4);   // tcpi_snd_mss
  std::memcpy(&snd_cwnd, info + 80, 4);  // tcpi_snd_cwnd
  EXPECT_EQ(snd_mss, 1448u);             // 1460 - 12 (timestamps)
  EXPECT_EQ(snd_cwnd, 10u);              // the linux profile's IW10 (RFC 6928)
  const int fresh = client.socket(AF_INET, SOCK_STREAM, 0);
  len = sizeof info;
  ASSERT_EQ(client.getsockopt(fresh, IPPROTO_TCP, TCP_INFO, info, &len), 0);
  EXPECT_EQ(info[0], 7);  // TCP_CLOSE
}

TEST_F(PosixTest, FcntlNonblock) {
  const int fd = client.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(client.fcntl(fd, F_GETFL), O_RDWR);
  EXPECT_EQ(client.fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(client.fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(client.fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(client.fcntl(fd, F_GETFD), FD_CLOEXEC);
  EXPECT_ERRNO(client.fcntl(fd, F_DUPFD, 0), EINVAL);
  EXPECT_ERRNO(client.fcntl(123, F_GETFL), EBADF);
}

TEST_F(PosixTest, PollAndTimeoutOnTheLayersClock) {
  const int l = listener();
  pollfd p[3] = {{l, POLLIN, 0}, {-1, POLLIN, 0}, {555, POLLIN, 0}};
  EXPECT_EQ(server.poll(p, 3, 0), 1);  // only 555: POLLNVAL
  EXPECT_EQ(p[0].revents, 0);
  EXPECT_EQ(p[2].revents, POLLNVAL);
  EXPECT_ERRNO(server.poll(nullptr, 1, 0), EFAULT);
  EXPECT_ERRNO(server.poll(p, 100000, 0), EINVAL);
  // A 100 ms poll ends when the driver's clock has moved 100 ms, not
  // before. The driver runs on a second thread; it keeps advancing past
  // 100 ms until the poll returns, so a late start cannot hang the test.
  pollfd q{l, POLLIN, 0};
  std::atomic<bool> returned{false};
  bool early = false;
  std::thread driver([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    server.advance(Instant::zero() + Duration::millis(99));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    early = returned.load();
    for (int ms = 100; !returned && ms < 5000; ++ms) {
      server.advance(Instant::zero() + Duration::millis(ms));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const int got = server.poll(&q, 1, 100);
  returned = true;
  driver.join();
  EXPECT_FALSE(early);  // still waiting at 99 ms
  EXPECT_EQ(got, 0);
  // A pending connection makes the listener readable.
  const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto to = addr(kServer, 80);
  client.connect(c, sa(to), sizeof to);
  pump();
  pollfd r[2] = {{l, POLLIN, 0}, {c, POLLOUT, 0}};
  EXPECT_EQ(server.poll(r, 1, 0), 1);
  EXPECT_EQ(r[0].revents, POLLIN);
  EXPECT_EQ(client.poll(r + 1, 1, 0), 1);
  EXPECT_EQ(r[1].revents, POLLOUT);
}

TEST_F(PosixTest, EpollErrorsAndReadiness) {
  EXPECT_ERRNO(server.epoll_create(0), EINVAL);
  EXPECT_ERRNO(server.epoll_create1(12345), EINVAL);
  const int ep = server.epoll_create(1);
  const int l = listener();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 77;
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
  EXPECT_ERRNO(server.epoll_ctl(l, EPOLL_CTL_ADD, ep, &ev), EINVAL);  // l is no epoll
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_ADD, l, nullptr), EFAULT);
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_MOD, l, &ev), ENOENT);
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_DEL, l, &ev), ENOENT);
  EXPECT_ERRNO(server.epoll_ctl(ep, 99, l, &ev), EINVAL);
  EXPECT_EQ(server.epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), EEXIST);
  epoll_event out[4];
  EXPECT_ERRNO(server.epoll_wait(ep, out, 0, 0), EINVAL);
  EXPECT_ERRNO(server.epoll_wait(ep, nullptr, 4, 0), EFAULT);
  EXPECT_ERRNO(server.epoll_wait(l, out, 4, 0), EINVAL);
  EXPECT_EQ(server.epoll_wait(ep, out, 4, 0), 0);
  const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto to = addr(kServer, 80);
  client.connect(c, sa(to), sizeof to);
  pump();
  ASSERT_EQ(server.epoll_wait(ep, out, 4, 0), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  const uint64_t data = out[0].data.u64;  // epoll_event is packed: no reference to its member
  EXPECT_EQ(data, 77u);
  // EPOLLONESHOT: reported once, then disabled until EPOLL_CTL_MOD.
  ev.events = EPOLLIN | EPOLLONESHOT;
  EXPECT_EQ(server.epoll_ctl(ep, EPOLL_CTL_MOD, l, &ev), 0);
  EXPECT_EQ(server.epoll_wait(ep, out, 4, 0), 1);
  EXPECT_EQ(server.epoll_wait(ep, out, 4, 0), 0);
  // Closing a descriptor takes it out of every interest list.
  EXPECT_EQ(server.close(l), 0);
  EXPECT_ERRNO(server.epoll_ctl(ep, EPOLL_CTL_DEL, l, &ev), EBADF);
}

TEST_F(PosixTest, BlockingReadIsWokenByTheDriver) {
  auto [c, s] = connected();
  char buf[16];
  ssize_t got = -2;
  std::thread t([&, fd = s] { got = server.read(fd, buf, sizeof buf); });  // blocking socket
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(got, -2);
  EXPECT_EQ(client.write(c, "wake", 4), 4);
  pump();  // the datagram in wakes the reader
  t.join();
  EXPECT_EQ(got, 4);
}

TEST_F(PosixTest, CloseWithUnreadDataResets) {
  auto [c, s] = connected();
  EXPECT_EQ(client.write(c, "unread", 6), 6);
  pump();
  EXPECT_EQ(server.close(s), 0);  // RFC 2525 §2.17: RST, not FIN
  pump();
  char buf[8];
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), ECONNRESET);
}

TEST_F(PosixTest, ClosingAListenerResetsItsQueue) {
  const int l = listener();
  const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const auto to = addr(kServer, 80);
  client.connect(c, sa(to), sizeof to);
  pump();  // established, waiting in the accept queue
  EXPECT_EQ(server.close(l), 0);
  pump();
  char buf[4];
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), ECONNRESET);
  // The port is free again, and a new SYN there is refused.
  const int c2 = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  client.connect(c2, sa(to), sizeof to);
  pump();
  int err = 0;
  socklen_t len = sizeof err;
  EXPECT_EQ(client.getsockopt(c2, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, ECONNREFUSED);
}

TEST_F(PosixTest, KeepaliveOnALiveConnectionProbesAfterIdle) {
  auto [c, s] = connected();
  const int one = 1, idle = 10, intvl = 2, cnt = 3;
  ASSERT_EQ(client.setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle), 0);
  ASSERT_EQ(client.setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl), 0);
  ASSERT_EQ(client.setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt), 0);
  ASSERT_EQ(client.setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one), 0);
  // The server's host vanishes. Probes at 10, 12 and 14 s go unanswered;
  // the connection dies one interval after the third, at 16 s
  // (RFC 1122 §4.2.3.6; Linux tcp_keepalive_timer).
  link_up = false;
  advance(Duration::seconds(15));
  char buf[4];
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), EAGAIN);
  advance(Duration::seconds(1));
  EXPECT_ERRNO(client.read(c, buf, sizeof buf), ETIMEDOUT);
}

// The installed face (include/vigil/posix.hpp): the same calls through
// vigil::PosixStack with std::chrono times, and a bad option refused with
// EINVAL naming it.
TEST(PosixStack, PublicFaceDrivesTheLayer) {
  TimePoint now{};
  vigil::PosixStack a({.address = {10, 0, 0, 1}, .seed = 1}, now);
  vigil::PosixStack b({.address = {10, 0, 0, 2}, .seed = 2}, now);
  std::vector<uint8_t> buf(65535);
  auto pump = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      TimePoint when;
      while (size_t n = a.take_datagram(buf, &when)) {
        moved = true;
        EXPECT_EQ(when, now);
        b.input(now, std::span<const uint8_t>(buf.data(), n));
      }
      while (size_t n = b.take_datagram(buf)) {
        moved = true;
        a.input(now, std::span<const uint8_t>(buf.data(), n));
      }
    }
  };
  const sockaddr_in to = addr(kServer, 7);
  const int l = b.socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(l, 3);  // the lowest free descriptor from 3, as the kernel's
  ASSERT_EQ(b.bind(l, sa(to), sizeof to), 0);
  ASSERT_EQ(b.listen(l, 4), 0);
  const int c = a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_ERRNO(a.connect(c, sa(to), sizeof to), EINPROGRESS);
  pump();
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  const int s = b.accept4(l, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK);
  ASSERT_GE(s, 0);
  EXPECT_EQ(ntohl(peer.sin_addr.s_addr), kClient);
  EXPECT_EQ(a.write(c, "hi", 2), 2);
  pump();
  char got[4];
  EXPECT_EQ(b.read(s, got, sizeof got), 2);
  EXPECT_ERRNO(b.read(s, got, sizeof got), EAGAIN);
  // "hi" is acknowledged at once (Linux's quick ACKs at the start): with
  // nothing in flight and keepalive off, the client arms no timer.
  EXPECT_FALSE(a.next_deadline().has_value());
  EXPECT_EQ(a.close(c), 0);
  EXPECT_ERRNO(a.close(c), EBADF);

  EXPECT_THROW(vigil::PosixStack({.profile = "bsd"}, now), std::system_error);
  try {
    vigil::PosixStack({.knobs = {{"rto.min", "soon"}}}, now);
    ADD_FAILURE() << "a bad knob was accepted";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("rto.min"), std::string::npos) << e.what();
  }
}

// SO_SNDBUF on a connected socket (packetdrill blocking-write sets it after
// accept()): Linux's sk_setsockopt sets sk_sndbuf of the live socket, so
// what write() may queue follows at once: 21000, doubled, 42000 bytes;
// shrinking later takes nothing more until enough is acknowledged.
TEST_F(PosixTest, SndbufOnAConnectedSocketBoundsItsQueueAtOnce) {
  auto [c, s] = connected();
  link_up = false;  // nothing is acknowledged: the queue only fills
  const int v = 21000;
  ASSERT_EQ(client.setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
  int got = 0;
  socklen_t len = sizeof got;
  ASSERT_EQ(client.getsockopt(c, SOL_SOCKET, SO_SNDBUF, &got, &len), 0);
  EXPECT_EQ(got, 42000);
  std::vector<char> data(61000);
  EXPECT_EQ(client.write(c, data.data(), data.size()), 42000);  // the linux profile's 16384 before
  EXPECT_ERRNO(client.write(c, data.data(), 1), EAGAIN);
  const int small = 10000;  // 20000: below the 42000 queued
  ASSERT_EQ(client.setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  EXPECT_ERRNO(client.write(c, data.data(), 1), EAGAIN);
  (void)s;
}

// Send-buffer autotuning (Linux tcp_sndbuf_expand), against Linux 6.18
// here (python's getsockopt in two namespaces over veth, MSS 1448):
// SO_SNDBUF 16384 before connect, 69120 once connected (2 x TCP_INIT_CWND
// x 3456), 138240 with initcwnd 20 (so it follows cwnd), 4194304
// (tcp_wmem[2]) after a 40 MB upload. A socket whose SO_SNDBUF was set
// keeps it (SOCK_SNDBUF_LOCK).
int sndbuf_of(Sockets& layer, int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  EXPECT_EQ(layer.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
  return v;
}

TEST_F(PosixTest, SendBufferStartsAtLinuxsSizeAndGrowsWithCwnd) {
  const int pre = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  EXPECT_EQ(sndbuf_of(client, pre), 16384);  // tcp_wmem[1]
  auto [c, s] = connected();
  EXPECT_EQ(sndbuf_of(client, c), 69120);
  std::vector<char> data(1 << 20), sink(1 << 20);
  int last = 69120;
  for (int round = 0; round < 50; ++round) {
    (void)client.write(c, data.data(), data.size());
    advance(Duration::millis(1));
    while (server.recv(s, sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
    }
    advance(Duration::millis(1));
    const int b = sndbuf_of(client, c);
    EXPECT_GE(b, last) << round;  // never shrinks
    EXPECT_EQ(b % 6912, 0) << b;  // 2 x segments x 3456
    last = b;
  }
  EXPECT_GT(last, 69120);
}

TEST(PosixAutotune, TheCapHoldsAndSoSndbufLocksTheSize) {
  for (const bool lock : {false, true}) {
    SCOPED_TRACE(lock ? "SO_SNDBUF 30000" : "send_buffer.max 100000");
    stack::StackConfig cc = config(kClient);
    cc.tcp.send_buffer_max = 100000;
    Sockets client{cc, 1, Instant::zero()};
    Sockets server{config(kServer), 2, Instant::zero()};
    Instant now = Instant::zero();
    std::vector<uint8_t> buf(65536);
    Instant when;
    auto pump = [&] {
      for (bool moved = true; moved;) {
        moved = false;
        while (size_t n = client.take_datagram(buf, &when)) {
          moved = true;
          server.input(now, std::span<const uint8_t>(buf.data(), n));
        }
        while (size_t n = server.take_datagram(buf, &when)) {
          moved = true;
          client.input(now, std::span<const uint8_t>(buf.data(), n));
        }
      }
    };
    const int l = server.socket(AF_INET, SOCK_STREAM, 0);
    const auto any = addr(INADDR_ANY, 80);
    ASSERT_EQ(server.bind(l, sa(any), sizeof any), 0);
    ASSERT_EQ(server.listen(l, 8), 0);
    const int c = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lock) {
      const int v = 30000;
      ASSERT_EQ(client.setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
    }
    const auto to = addr(kServer, 80);
    EXPECT_ERRNO(client.connect(c, sa(to), sizeof to), EINPROGRESS);
    pump();
    const int s = server.accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    ASSERT_GE(s, 0);
    EXPECT_EQ(sndbuf_of(client, c), lock ? 60000 : 69120);
    std::vector<char> data(1 << 20), sink(1 << 20);
    for (int round = 0; round < 50; ++round) {
      (void)client.write(c, data.data(), data.size());
      for (int step = 0; step < 2; ++step) {
        now = now + Duration::millis(1);
        client.advance(now);
        server.advance(now);
        pump();
        while (server.read(s, sink.data(), sink.size()) > 0) {
        }
      }
    }
    EXPECT_EQ(sndbuf_of(client, c), lock ? 60000 : 100000);
  }
}

// tcp_info's tcpi_probes (offset 3), tcpi_backoff (4) and tcpi_rto (8, µs).
struct ProbeInfo {
  uint8_t probes = 0, backoff = 0;
  uint32_t rto_us = 0;
};
ProbeInfo probe_info(Sockets& layer, int fd) {
  unsigned char info[512] = {};
  socklen_t len = sizeof info;
  EXPECT_EQ(layer.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len), 0);
  ProbeInfo p;
  p.probes = info[3];
  p.backoff = info[4];
  std::memcpy(&p.rto_us, info + 8, 4);
  return p;
}

// packetdrill's user-timeout-probe: the device's queue drops every packet
// (`tc qdisc ... pfifo limit 0`). Linux does not count the refused segment
// as sent: tcp_check_probe_timer arms the probe timer at max(RTO,
// TCP_RTO_MIN), and each refused retry (tcp_send_probe0 with a positive
// error) counts a probe and comes back TCP_RESOURCE_PROBE_INTERVAL (500 ms)
// later, without back-off; TCP_USER_TIMEOUT counts from the first expiry
// (icsk_probes_tstamp, tcp_probe_timer).
TEST_F(PosixTest, DataTheDeviceRefusesIsProbedEvery500msUntilTheUserTimeout) {
  auto [c, s] = connected();
  bool queue_full = false;
  client.set_link_admits([&] { return !queue_full; });
  const int ut = 3000;
  ASSERT_EQ(client.setsockopt(c, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut), 0);
  // The in-memory RTT is 0: RTO = TCP_RTO_MIN, 200 ms.
  ASSERT_EQ(probe_info(client, c).rto_us, 200000u);
  queue_full = true;
  const Instant t0 = now;
  char data[24] = {};
  ASSERT_EQ(client.write(c, data, sizeof data), 24);
  // First expiry at t0 + 200 ms, then every 500 ms: 0.2, 0.7, 1.2, 1.7, 2.2,
  // 2.7 s, six refused probes; the expiry at 3.2 s is first + 3 s: dead.
  advance(Duration::millis(199));
  EXPECT_EQ(probe_info(client, c).probes, 0);
  advance(Duration::millis(1));
  EXPECT_EQ(probe_info(client, c).probes, 1);
  advance(Duration::millis(2950));  // t0 + 3.15 s
  EXPECT_EQ(now - t0, Duration::millis(3150));
  ASSERT_EQ(client.write(c, data, sizeof data), 24);  // still alive
  EXPECT_EQ(probe_info(client, c).probes, 6);
  advance(Duration::millis(49));
  ASSERT_EQ(client.write(c, data, sizeof data), 24);
  advance(Duration::millis(1));  // t0 + 3.2 s
  EXPECT_ERRNO(client.write(c, data, sizeof data), ETIMEDOUT);
  const ProbeInfo end = probe_info(client, c);
  EXPECT_EQ(end.probes, 6);
  EXPECT_EQ(end.backoff, 0);
  char buf[64];
  EXPECT_ERRNO(server.recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);  // nothing left the device
}

TEST_F(PosixTest, DataTheDeviceRefusedLeavesOnTheProbeOnceItAdmits) {
  auto [c, s] = connected();
  bool queue_full = true;
  client.set_link_admits([&] { return !queue_full; });
  char data[24] = {};
  ASSERT_EQ(client.write(c, data, sizeof data), 24);
  advance(Duration::millis(200));  // the first probe, refused
  EXPECT_EQ(probe_info(client, c).probes, 1);
  queue_full = false;
  char buf[64];
  advance(Duration::millis(499));  // nothing wakes TCP before its timer
  EXPECT_ERRNO(server.recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  advance(Duration::millis(1));  // the second probe at 0.7 s carries the data
  EXPECT_EQ(server.recv(s, buf, sizeof buf, MSG_DONTWAIT), 24);
  EXPECT_EQ(probe_info(client, c).probes, 0);  // sent: tcp_send_probe0 clears them
}

}  // namespace
}  // namespace vigil::posix
