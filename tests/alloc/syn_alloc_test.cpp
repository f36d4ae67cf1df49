// Counts the heap bytes a half-open connection costs (issue 12 hole 4: each
// zero-filled 512 KB of buffers before its handshake completed), and that a
// SYN answered with a cookie costs none. Its own executable: it replaces the
// global operator new to count bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "stack/stack.hpp"
#include "wire/packet.hpp"

namespace {
std::atomic<uint64_t> g_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
  g_bytes += n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_bytes += n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace vigil::stack {
namespace {

constexpr wire::Ipv4Addr kA = wire::Ipv4Addr::of(10, 0, 0, 1);

std::vector<uint8_t> syn_from(uint32_t i) {
  std::vector<uint8_t> buf(128);
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(192, 0, static_cast<uint8_t>(2 + i / 250),
                              static_cast<uint8_t>(1 + i % 250));
  ip.dst = kA;
  wire::TcpFields t;
  t.src_port = static_cast<uint16_t>(1024 + i);
  t.dst_port = 80;
  t.seq = 1000 * i;
  t.flags = wire::tcp_flags::kSyn;
  t.window = 65535;
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.has_window_scale = true;
  o.window_scale = 7;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = i;
  buf.resize(wire::build_ipv4_tcp(buf, ip, t, o));
  return buf;
}

struct FloodCost {
  uint64_t bytes_per_half_open = 0;
  uint64_t bytes_per_cookie = 0;
};

FloodCost flood(size_t n) {
  StackConfig cfg;
  cfg.address = kA;
  cfg.tcp = tcp::TcpConfig::rfc();  // 256 KB send and receive buffers
  cfg.syn_backlog = n;
  Instant now = Instant::zero() + Duration::seconds(10);
  Stack s(cfg, util::Rng(1), nullptr, now);
  EXPECT_TRUE(s.listen(80, 128));
  std::vector<uint8_t> out(2048);
  std::vector<std::vector<uint8_t>> syns;
  for (uint32_t i = 0; i < 2 * n + 1; ++i) syns.push_back(syn_from(i));
  // Warm up: the first connection sizes the tables and the dirty list.
  s.receive(now, syns[0]);
  while (s.poll_transmit(now, out) != 0) {
  }
  FloodCost r;
  uint64_t before = g_bytes.load();
  for (size_t i = 1; i < n; ++i) {  // fills the SYN queue
    s.receive(now, syns[i]);
    while (s.poll_transmit(now, out) != 0) {
    }
  }
  r.bytes_per_half_open = (g_bytes.load() - before) / (n - 1);
  EXPECT_EQ(s.syn_queue_length(80), n);
  before = g_bytes.load();
  for (size_t i = n; i < 2 * n; ++i) {  // the queue is full: cookies
    s.receive(now, syns[i]);
    while (s.poll_transmit(now, out) != 0) {
    }
  }
  r.bytes_per_cookie = (g_bytes.load() - before) / n;
  EXPECT_EQ(s.stats().syn_cookies_sent, n);
  return r;
}

TEST(SynAlloc, HalfOpenConnectionCostsWellUnderFourKilobytes) {
  const FloodCost r = flood(1000);
  // Before: 512 KB per half-open connection (two zero-filled 256 KB rings).
  EXPECT_LT(r.bytes_per_half_open, 4096u) << r.bytes_per_half_open << " bytes per half-open";
  EXPECT_GE(r.bytes_per_half_open, sizeof(tcp::Connection));
  EXPECT_EQ(r.bytes_per_cookie, 0u) << "a cookie SYN-ACK allocates nothing";
  RecordProperty("bytes_per_half_open", static_cast<int>(r.bytes_per_half_open));
}

}  // namespace
}  // namespace vigil::stack
