// libFuzzer target for stack input: a Stack (10.0.0.2, the simulator's
// server) with a listener on port 47001 and one ESTABLISHED connection from
// 10.0.0.1:57409 that has 3000 unacknowledged bytes in flight, built by
// driving a second Stack through the handshake in memory. The input is a
// sequence of records, each fed to Stack::receive:
//   ctl (1 byte), length (2 bytes, big-endian), datagram (length bytes)
// ctl bits: 0 skip checksum verification; 1 rewrite the addresses and ports
// to the live connection's; 2 (with 1) rewrite SEQ/ACK relative to its RCV.NXT and
// SND.UNA (low 16 bits as a signed offset); 3 run timers at the next
// deadline; 4 the application reads, accepts, sends and releases; 5-7 time
// advance before the datagram (0-7 squared x 10 ms).
// After each record the stack's output is drained and checked, and its
// counters must be monotone, datagrams_in must count every datagram, and
// the connections stay within the cap. scripts/fuzz.sh stack runs it.
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "connection_invariants.hpp"
#include "fuzz_check.hpp"
#include "stack/stack.hpp"
#include "tcp/config.hpp"
#include "util/rng.hpp"
#include "wire/bytes.hpp"

namespace {

using namespace vigil;

constexpr wire::Ipv4Addr kUs = wire::Ipv4Addr::of(10, 0, 0, 2);
constexpr wire::Ipv4Addr kPeer = wire::Ipv4Addr::of(10, 0, 0, 1);
constexpr uint16_t kPort = 47001;
constexpr uint16_t kPeerPort = 57409;
constexpr size_t kCap = 16;
constexpr Instant kT0 = Instant::zero() + Duration::seconds(100);

struct NullSink : tcp::EventSink {
  void on_event(const tcp::Event&) override {}
};

stack::StackConfig config_for(wire::Ipv4Addr a) {
  stack::StackConfig c;
  c.address = a;
  c.tcp = tcp::TcpConfig::rfc();  // timestamps, SACK, window scaling on
  c.tcp.recv_buffer = 16384;
  c.tcp.send_buffer = 16384;
  c.max_connections = kCap;
  c.syn_backlog = 4;
  return c;
}

constexpr size_t kStatFields = sizeof(stack::StackStats) / sizeof(uint64_t);
static_assert(sizeof(stack::StackStats) == kStatFields * sizeof(uint64_t));

struct Snapshot {
  uint64_t stats[kStatFields];
  uint64_t drops[static_cast<size_t>(wire::Drop::kCount)];
};

Snapshot snapshot(const stack::Stack& s) {
  Snapshot x;
  std::memcpy(x.stats, &s.stats(), sizeof x.stats);
  for (size_t k = 0; k < static_cast<size_t>(wire::Drop::kCount); ++k)
    x.drops[k] = s.drops().get(static_cast<wire::Drop>(k));
  return x;
}

// The connection that sent a segment. A CLOSED connection the application
// has not released yet keeps its 4-tuple but has left the demultiplexer, so
// a new SYN on the same tuple makes a second connection (or gets a stateless
// SYN cookie): a closed connection sends nothing, so it is never the sender.
const tcp::Connection* find(const stack::Stack& s, const wire::TcpView& t, wire::Ipv4Addr dst) {
  for (const stack::ConnId id : s.connection_ids()) {
    const tcp::Connection* c = s.connection(id);
    if (c != nullptr && c->tuple().local.port == t.src_port() &&
        c->tuple().remote.port == t.dst_port() && c->tuple().remote.addr == dst &&
        c->state() != tcp::State::kClosed)
      return c;
  }
  return nullptr;
}

class World {
 public:
  World() : us_(config_for(kUs), util::Rng(1), &sink_, kT0) {
    stack::Stack peer(config_for(kPeer), util::Rng(2), &sink_, kT0);
    VIGIL_FUZZ_CHECK(us_.listen(kPort, 4));
    const auto cp = peer.connect(now_, {kUs, kPort}, nullptr, nullptr, kPeerPort);
    VIGIL_FUZZ_CHECK(cp.has_value());
    std::vector<uint8_t> buf(70000);
    for (int round = 0; round < 4; ++round) {  // SYN, SYN-ACK, ACK
      while (size_t n = peer.poll_transmit(now_, buf)) us_.receive(now_, {buf.data(), n});
      while (size_t n = us_.poll_transmit(now_, buf)) peer.receive(now_, {buf.data(), n});
    }
    const auto id = us_.accept(kPort);
    VIGIL_FUZZ_CHECK(id.has_value());
    live_ = *id;
    VIGIL_FUZZ_CHECK(us_.connection(live_)->state() == tcp::State::kEstablished);
    // Data in flight that the (now gone) peer never acknowledges.
    std::vector<uint8_t> data(3000, 0x5a);
    us_.send(now_, live_, data);
    drain();
  }

  void step(uint8_t ctl, std::span<const uint8_t> datagram) {
    now_ = now_ + Duration::millis(10) * ((ctl >> 5) * (ctl >> 5));
    std::vector<uint8_t> d(datagram.begin(), datagram.end());
    const tcp::Connection* live = us_.connection(live_);
    if ((ctl & 2) && d.size() >= 20) {
      wire::store_be32(&d[12], kPeer.value);
      wire::store_be32(&d[16], kUs.value);
      const size_t ihl = (d[0] & 0x0f) * 4u;
      if (ihl >= 20 && d.size() >= ihl + 4) {
        wire::store_be16(&d[ihl], kPeerPort);
        wire::store_be16(&d[ihl + 2], kPort);
      }
      if ((ctl & 4) && live != nullptr && ihl >= 20 && d.size() >= ihl + 12) {
        const auto so = static_cast<int16_t>(wire::load_be16(&d[ihl + 6]));
        const auto ao = static_cast<int16_t>(wire::load_be16(&d[ihl + 10]));
        wire::store_be32(&d[ihl + 4], live->rcv_nxt() + static_cast<uint32_t>(so));
        wire::store_be32(&d[ihl + 8], live->snd_una() + static_cast<uint32_t>(ao));
      }
    }
    const Snapshot before = snapshot(us_);
    us_.receive(now_, d, (ctl & 1) == 0);
    const Snapshot after = snapshot(us_);
    for (size_t k = 0; k < kStatFields; ++k) VIGIL_FUZZ_CHECK(after.stats[k] >= before.stats[k]);
    for (size_t k = 0; k < std::size(after.drops); ++k)
      VIGIL_FUZZ_CHECK(after.drops[k] >= before.drops[k]);
    VIGIL_FUZZ_CHECK(us_.stats().datagrams_in == before.stats[0] + 1);
    drain();
    if (ctl & 8) {
      const Instant t = us_.next_deadline();
      if (!t.is_never() && t - now_ < Duration::seconds(3600)) {
        // A deadline already passed (time advanced without timers) runs
        // late, as under a busy event loop; time never goes back.
        if (t > now_) now_ = t;
        us_.on_timers(now_);
        drain();
        // Nothing is still due: a driver looping on next_deadline() would spin.
        VIGIL_FUZZ_CHECK(us_.next_deadline() > now_);
      }
    }
    if (ctl & 16) application();
    VIGIL_FUZZ_CHECK(us_.live_connections() <= kCap);
    VIGIL_FUZZ_CHECK(us_.allocated_connections() <= kCap);
    for (const stack::ConnId id : us_.connection_ids()) {
      const tcp::Connection* c = us_.connection(id);
      VIGIL_FUZZ_CHECK(c != nullptr);
      fuzz::check_connection(*c);
    }
  }

 private:
  // Everything the stack owes goes out now; each datagram must parse.
  void drain() {
    for (int guard = 0;; ++guard) {
      VIGIL_FUZZ_CHECK(guard < 10000);  // output always runs dry
      const size_t n = us_.poll_transmit(now_, buf_);
      if (n == 0) return;
      const std::span<const uint8_t> out(buf_.data(), n);
      wire::PacketView p;
      VIGIL_FUZZ_CHECK(wire::parse_packet(out, &p) == wire::Drop::kNone);
      VIGIL_FUZZ_CHECK(p.ip.src() == kUs);
      if (p.kind == wire::PacketView::Kind::kTcp)
        fuzz::check_output(find(us_, p.tcp, p.ip.dst()), out);
    }
  }

  // A well-behaved application: accept, read everything, write a little,
  // close what the peer closed, release what is closed.
  void application() {
    while (auto id = us_.accept(kPort)) (void)id;
    uint8_t in[4096];
    const uint8_t out[700] = {};
    for (const stack::ConnId id : us_.connection_ids()) {
      const tcp::Connection* c = us_.connection(id);
      if (c == nullptr) continue;
      while (us_.recv(now_, id, in) > 0) {
      }
      us_.send(now_, id, out);
      if (c->state() == tcp::State::kCloseWait) us_.close(now_, id);
      if (c->state() == tcp::State::kClosed) us_.release(id);
    }
    drain();
  }

  NullSink sink_;
  Instant now_ = kT0;
  stack::Stack us_;
  stack::ConnId live_ = 0;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(70000);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World w;
  fuzz::Reader r(data, size);
  for (int records = 0; !r.empty() && records < 256; ++records) {
    const uint8_t ctl = r.u8();
    const uint16_t len = r.u16();
    w.step(ctl, r.take(len));
  }
  return 0;
}
