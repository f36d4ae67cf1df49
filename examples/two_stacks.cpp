// Two vigil stacks talking in memory, on the public API (vigil/vigil.hpp):
// sans-IO, so the program owns the clock (virtual time here) and moves each
// datagram one stack sends into the other. The client says hello, the
// server echoes it, then the server's host vanishes while the client still
// has data to send: the client's outcome says when, in which state and why
// the connection died.
//
// Build against an installed vigil (docs/library.md):
//   cmake -S examples -B ex -DCMAKE_PREFIX_PATH=PREFIX && cmake --build ex
//   c++ -std=c++20 two_stacks.cpp $(pkg-config --cflags --libs vigil)
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include <vigil/version.hpp>
#include <vigil/vigil.hpp>

int main() {
  vigil::TimePoint now{};  // virtual time, from 0
  vigil::StackOptions client_opts{.address = vigil::Ipv4::of(10, 0, 0, 1), .seed = 1};
  // TCP_USER_TIMEOUT: give up on 10 s of unacknowledged data.
  client_opts.defaults.user_timeout(std::chrono::seconds(10));
  vigil::Stack client(client_opts, now);
  vigil::Stack server({.address = vigil::Ipv4::of(10, 0, 0, 2), .seed = 2}, now);
  // One line per connection end; times are seconds since the start.
  client.on_connection_end(
      [](const vigil::Outcome& o) { std::printf("client: %s\n", o.line.c_str()); });
  server.on_connection_end(
      [](const vigil::Outcome& o) { std::printf("server: %s\n", o.line.c_str()); });

  // The "wire": every datagram each side owes goes to the other, unless
  // the link is down.
  bool link_up = true;
  std::vector<uint8_t> buf(65535);
  auto pump = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      while (const size_t n = client.transmit(buf)) {
        moved = true;
        if (link_up) server.receive(now, std::span(buf.data(), n));
      }
      while (const size_t n = server.transmit(buf)) {
        moved = true;
        if (link_up) client.receive(now, std::span(buf.data(), n));
      }
    }
  };

  std::printf("vigil %s: two stacks in memory\n", VIGIL_VERSION);
  std::error_code ec;
  vigil::Listener listener = server.listen(7, 16, ec);
  if (ec) return std::fprintf(stderr, "listen: %s\n", server.why().c_str()), 1;
  vigil::Socket conn = client.connect({vigil::Ipv4::of(10, 0, 0, 2), 7}, ec);
  if (ec) return std::fprintf(stderr, "connect: %s\n", client.why().c_str()), 1;
  pump();  // the three-way handshake
  std::optional<vigil::Socket> accepted = listener.accept(ec);
  if (!accepted) return std::fprintf(stderr, "accept: %s\n", ec.message().c_str()), 1;

  conn.send("hello, vigil", ec);
  pump();
  uint8_t got[64];
  size_t n = accepted->recv(got, ec);
  std::printf("server read %zu bytes: %.*s\n", n, static_cast<int>(n),
              reinterpret_cast<const char*>(got));
  accepted->send(std::span(got, n), ec);  // echo
  pump();
  n = conn.recv(got, ec);
  std::printf("client read %zu bytes back\n", n);

  // The server's host vanishes; the client writes again. Nothing answers,
  // so the client retransmits until its user timeout ends the connection.
  link_up = false;
  conn.send("anyone there?", ec);
  pump();
  while (!conn.poll().closed) {
    now = *client.next_deadline();  // virtual time: jump to the next timer
    client.advance(now);
    pump();
  }
  n = conn.recv(got, ec);  // the failure, as recv() reports it
  std::printf("client recv: %s (%s)\n", vigil::errno_name(ec.value()).c_str(),
              conn.outcome()->mechanism.c_str());
  std::printf("server's connection is still %s: without keepalive it never hears of it\n",
              std::string(accepted->state()).c_str());
  return 0;
}
