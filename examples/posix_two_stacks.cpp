// Two vigil stacks in memory, as in two_stacks.cpp, but written the way a
// <sys/socket.h> program is: vigil's BSD layer (vigil/posix.hpp) gives
// socket, bind, listen, accept, connect, read, write, setsockopt and poll
// on integer descriptors, with Linux's errno values. Non-blocking sockets,
// so one thread drives both stacks on a virtual clock. The client says
// hello, the server echoes it, then the server's host vanishes while the
// client has data in flight: TCP_USER_TIMEOUT ends the connection and
// read() says ETIMEDOUT.
//
// Build against an installed vigil (docs/library.md):
//   cmake -S examples -B ex -DCMAKE_PREFIX_PATH=PREFIX && cmake --build ex
//   c++ -std=c++20 posix_two_stacks.cpp $(pkg-config --cflags --libs vigil)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>
#include <vigil/posix.hpp>
#include <vigil/version.hpp>

int main() {
  vigil::TimePoint now{};  // virtual time, from 0
  // The linux profile's defaults, with exact timers (no 4 ms jiffies), so
  // the times printed are whole.
  vigil::PosixStack client({.address = {10, 0, 0, 1}, .seed = 1, .knobs = {{"timer.hz", "0"}}},
                           now);
  vigil::PosixStack server({.address = {10, 0, 0, 2}, .seed = 2, .knobs = {{"timer.hz", "0"}}},
                           now);
  bool link_up = true;
  std::vector<uint8_t> buf(65535);
  auto pump = [&] {  // every datagram each side owes goes to the other
    for (bool moved = true; moved;) {
      moved = false;
      while (const size_t n = client.take_datagram(buf)) {
        moved = true;
        if (link_up) server.input(now, std::span(buf.data(), n));
      }
      while (const size_t n = server.take_datagram(buf)) {
        moved = true;
        if (link_up) client.input(now, std::span(buf.data(), n));
      }
    }
  };
  auto fail = [](const char* call) {
    std::fprintf(stderr, "%s: %s\n", call, std::strerror(errno));
    return 1;
  };

  std::printf("vigil %s: two stacks in memory, BSD sockets\n", VIGIL_VERSION);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(7);
  inet_pton(AF_INET, "10.0.0.2", &addr.sin_addr);
  const auto* sa = reinterpret_cast<const sockaddr*>(&addr);

  const int lfd = server.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0 || server.bind(lfd, sa, sizeof addr) != 0 || server.listen(lfd, 16) != 0)
    return fail("server socket/bind/listen");
  const int fd = client.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  // TCP_USER_TIMEOUT (RFC 5482): give up on 10 s of unacknowledged data.
  const unsigned timeout_ms = 10000;
  if (client.setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms) != 0)
    return fail("setsockopt");
  if (client.connect(fd, sa, sizeof addr) == 0 || errno != EINPROGRESS) return fail("connect");
  pump();  // the three-way handshake

  sockaddr_in peer{};
  socklen_t peer_len = sizeof peer;
  const int afd = server.accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK);
  if (afd < 0) return fail("accept");
  char ip[INET_ADDRSTRLEN];
  std::printf("server accepted %s\n", inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip));

  client.write(fd, "hello, vigil", 12);
  pump();
  char got[64];
  ssize_t n = server.read(afd, got, sizeof got);
  std::printf("server read %zd bytes: %.*s\n", n, static_cast<int>(n), got);
  server.write(afd, got, static_cast<size_t>(n));  // echo
  pump();
  n = client.read(fd, got, sizeof got);
  std::printf("client read %zd bytes back\n", n);

  // The server's host vanishes; the client writes again and retransmits
  // until its user timeout ends the connection (POLLERR): Linux counts it
  // from the first RTO retransmission (0.4 s here, after a tail loss probe
  // at 0.2 s), so at 10.4 s.
  link_up = false;
  client.write(fd, "anyone there?", 13);
  pump();
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (client.poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) break;
    now = *client.next_deadline();  // virtual time: jump to the next timer
    client.advance(now);
    pump();
  }
  const double at = std::chrono::duration<double>(now.time_since_epoch()).count();
  n = client.read(fd, got, sizeof got);
  const int err = errno;
  std::printf("client read: %zd, errno %s (%s) at %.6f s\n", n,
              err == ETIMEDOUT ? "ETIMEDOUT" : "?", std::strerror(err), at);
  client.close(fd);
  server.close(afd);
  server.close(lfd);
  return n == -1 && err == ETIMEDOUT ? 0 : 1;
}
