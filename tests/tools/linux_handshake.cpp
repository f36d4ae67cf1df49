// The Linux reference for `vigil bench handshake` (scripts/bench.sh): over
// 127.0.0.1, repeated connect, accept, 1 byte each way, close (the client
// first, so its side takes TIME-WAIT; the server closes on the EOF).
// Server in a second thread. Prints one JSON line:
//   {"handshakes": N, "seconds": S, "handshakes_per_s": R, "cpu_s": C}
// Usage: vigil_linux_handshake [seconds (default 3)]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

std::atomic<bool> g_stop{false};

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void serve(int lfd) {
  for (;;) {
    const int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) {
      if (g_stop) return;
      die("accept");
    }
    char c = 0;
    if (read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1) {
      while (read(fd, &c, 1) > 0) {
      }
    }
    close(fd);
  }
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (listen(lfd, 128) < 0) die("listen");
  std::thread server(serve, lfd);

  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  long done = 0, failed = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 100; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) die("socket");
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char c = 'x';
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1)
        ++done;
      else
        ++failed;
      close(fd);
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double cpu = cpu_seconds() - cpu0;
  g_stop = true;
  shutdown(lfd, SHUT_RDWR);
  close(lfd);
  server.join();
  std::printf(
      "{\"handshakes\": %ld, \"failed\": %ld, \"seconds\": %.3f, \"handshakes_per_s\": %.1f, "
      "\"cpu_s\": %.3f}\n",
      done, failed, elapsed, double(done) / elapsed, cpu);
  return failed ? 1 : 0;
}
