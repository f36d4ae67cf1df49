// Counts heap allocations while a simulated 10 MB bulk transfer runs, to
// hold the line on "no heap allocation per segment on the steady-state
// path" (foundation issue). Its own executable: it replaces the global
// operator new to count calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "sim/apps.hpp"
#include "sim/world.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace vigil::sim {
namespace {

struct BulkRun {
  uint64_t allocations = 0;
  uint64_t segments = 0;
  uint64_t delivered = 0;
};

BulkRun bulk(uint64_t bytes) {
  World world(1);
  stack::StackConfig a;
  a.address = wire::Ipv4Addr::of(10, 0, 0, 1);
  stack::StackConfig b = a;
  b.address = wire::Ipv4Addr::of(10, 0, 0, 2);
  Host& client = world.add_host("client", a);
  Host& server = world.add_host("server", b);
  LinkConfig link;
  link.delay = Duration::millis(20);
  link.rate_bps = 10'000'000;
  world.set_link(link, link);
  PeerBehaviour cb;
  cb.bytes_to_send = bytes;
  PeerBehaviour sb;
  sb.close_after_send = false;
  auto* server_app = new ServerApp(server, 5000, sb);
  auto* client_app = new ClientApp(client, tcp::Endpoint{b.address, 5000}, Instant::zero(), cb);
  world.add_app(1, std::unique_ptr<App>(server_app));
  world.add_app(0, std::unique_ptr<App>(client_app));
  const uint64_t before = g_allocations.load();
  world.run(Instant::zero() + Duration::seconds(3600));
  BulkRun r;
  r.allocations = g_allocations.load() - before;
  r.segments = client.stack().stats().datagrams_out + server.stack().stats().datagrams_out;
  r.delivered = server_app->peer().tally().bytes_received;
  return r;
}

TEST(SteadyState, AllocationsDoNotGrowWithTheNumberOfSegments) {
  const BulkRun small = bulk(10'000'000);
  const BulkRun large = bulk(20'000'000);
  EXPECT_EQ(small.delivered, 10'000'000u);
  EXPECT_EQ(large.delivered, 20'000'000u);
  EXPECT_GT(large.segments, small.segments + 10'000);
  // Set-up (connections and their buffers, the listener, a few recorded
  // state changes, the link's packet pool warming up to the largest flight)
  // is bounded; twice the segments must not cost more allocations.
  EXPECT_LT(small.allocations, 400u);
  EXPECT_LE(large.allocations, small.allocations + 10)
      << small.allocations << " allocations for " << small.segments << " segments, "
      << large.allocations << " for " << large.segments;
}

}  // namespace
}  // namespace vigil::sim
