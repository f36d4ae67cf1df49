// Two vigil stacks talking in memory, sans-IO: the program owns the clock
// (virtual time here) and moves each datagram one stack sends into the
// other. The client says hello, the server echoes it, then the server's
// host vanishes while the client still has data to send: the client's
// EndLog says when, in which state and why the connection died.
//
// Build against an installed vigil (README "Build and install"):
//   cmake -S examples -B ex -DCMAKE_PREFIX_PATH=PREFIX && cmake --build ex
//   c++ -std=c++20 two_stacks.cpp $(pkg-config --cflags --libs vigil)
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>
#include <vigil/stack/end_log.hpp>
#include <vigil/stack/stack.hpp>
#include <vigil/util/rng.hpp>
#include <vigil/version.hpp>

using namespace vigil;

int main() {
  const auto client_addr = wire::Ipv4Addr::of(10, 0, 0, 1);
  const auto server_addr = wire::Ipv4Addr::of(10, 0, 0, 2);
  Instant now = Instant::zero();

  // One line per connection end; times are seconds since `now`.
  auto printer = [](const char* who) {
    return [who](const std::string& line) { std::printf("%s: %s\n", who, line.c_str()); };
  };
  stack::EndLog client_log(printer("client"), now), server_log(printer("server"), now);

  stack::StackConfig cc;
  cc.address = client_addr;
  cc.tcp.user_timeout = Duration::seconds(10);  // TCP_USER_TIMEOUT: give up on 10 s of silence
  stack::StackConfig sc;
  sc.address = server_addr;
  stack::Stack client(cc, util::Rng(1), &client_log, now);
  stack::Stack server(sc, util::Rng(2), &server_log, now);
  client_log.attach(&client);
  server_log.attach(&server);

  // The "wire": every datagram each side owes goes to the other, unless the
  // link is down.
  bool link_up = true;
  std::vector<uint8_t> buf(65535);
  auto pump = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      while (const size_t n = client.poll_transmit(now, buf)) {
        moved = true;
        if (link_up) server.receive(now, std::span<const uint8_t>(buf.data(), n));
      }
      while (const size_t n = server.poll_transmit(now, buf)) {
        moved = true;
        if (link_up) client.receive(now, std::span<const uint8_t>(buf.data(), n));
      }
    }
  };
  auto text = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };

  std::printf("vigil %s: two stacks in memory\n", VIGIL_VERSION);
  stack::OpenError err;
  if (!server.listen(7, 16, &err)) {
    std::fprintf(stderr, "listen: %s\n", err.message.c_str());
    return 1;
  }
  const auto conn = client.connect(now, {server_addr, 7}, &err);
  if (!conn) {
    std::fprintf(stderr, "connect: %s\n", err.message.c_str());
    return 1;
  }
  pump();  // the three-way handshake
  const auto accepted = server.accept(7);
  if (!accepted) return 1;

  client.send(now, *conn, text("hello, vigil"));
  pump();
  std::vector<uint8_t> got(64);
  size_t n = server.recv(now, *accepted, got);
  std::printf("server read %zu bytes: %.*s\n", n, static_cast<int>(n),
              reinterpret_cast<const char*>(got.data()));
  server.send(now, *accepted, std::span<const uint8_t>(got.data(), n));  // echo
  pump();
  n = client.recv(now, *conn, got);
  std::printf("client read %zu bytes back\n", n);

  // The server's host vanishes; the client writes again. Nothing answers,
  // so the client retransmits until its user timeout ends the connection.
  link_up = false;
  client.send(now, *conn, text("anyone there?"));
  pump();
  while (client.connection(*conn)->state() != tcp::State::kClosed) {
    now = client.next_deadline();  // virtual time: jump to the next timer
    client.on_timers(now);
    pump();
  }
  std::printf("server's connection is still %s: without keepalive it never hears of it\n",
              std::string(tcp::state_name(server.connection(*accepted)->state())).c_str());
  return 0;
}
