// libFuzzer target for connection input: one tcp::Connection, walked by a
// scripted peer to the state the first input byte chooses (byte % 9:
// SYN-SENT, SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT,
// LAST-ACK, CLOSING, TIME-WAIT, as RFC 9293 Figure 5 reaches them; byte / 9
// % 3 picks the options: none, SACK, or SACK + timestamps + window scale).
// The rest of the input is a sequence of records:
//   ctl (1), seq (4), ack (4), flags (1), window (2),
//   options length (1, mod 41), options, payload length (2, mod 1501), payload
// Each record becomes a segment from the peer, built with the wire builder
// (valid checksums, so it gets past parsing), or with ctl bit 4 an ICMP
// unreachable quoting SEQ (code = flags % 6, MTU = window). ctl bits: 0 SEQ
// is an offset (low 16 bits, signed) from RCV.NXT; 1 ACK likewise from
// SND.UNA; 2 run timers at the next deadline; 3 the application acts
// (reads, writes, closes, by the SEQ's top bits); 5-7 time advance first
// (0-7 squared x 10 ms). After every step the connection's invariants
// (connection_invariants.hpp) and its output are checked, and SND.UNA and
// RCV.NXT never move backwards while the connection stays synchronized.
// scripts/fuzz.sh connection runs it.
#include <cstdint>
#include <vector>

#include "../unit/tcp_test_config.hpp"
#include "connection_invariants.hpp"
#include "fuzz_check.hpp"
#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace {

using namespace vigil;
using tcp::State;
namespace fl = wire::tcp_flags;

using testing::kIrs;
using testing::kIss;
constexpr Instant kT0 = Instant::zero() + Duration::seconds(100);

struct NullSink : tcp::EventSink {
  void on_event(const tcp::Event&) override {}
};

tcp::FourTuple tuple() { return testing::test_tuple(); }

// The unit tests' plain config with the options the variant picks.
tcp::TcpConfig config_for(int variant) {
  tcp::TcpConfig c = testing::plain_config();
  c.timestamps = variant == 2;
  c.sack = variant >= 1;
  c.window_scaling = variant == 2;
  c.send_buffer = 16000;  // a smaller ring than the tests': full sooner
  return c;
}

class Peer {
 public:
  explicit Peer(int variant)
      : variant_(variant), conn_(config_for(variant), tuple(), kIss, 0, 1, &sink_) {}

  tcp::Connection& conn() { return conn_; }

  void segment(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
               const wire::TcpOptions& opt, std::span<const uint8_t> payload) {
    wire::Ipv4Fields ip;
    ip.src = tuple().remote.addr;
    ip.dst = tuple().local.addr;
    wire::TcpFields t;
    t.src_port = tuple().remote.port;
    t.dst_port = tuple().local.port;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = window;
    const size_t n = wire::build_ipv4_tcp(buf_, ip, t, opt, payload);
    VIGIL_FUZZ_CHECK(n > 0);
    wire::PacketView p;
    VIGIL_FUZZ_CHECK(wire::parse_packet({buf_.data(), n}, &p) == wire::Drop::kNone);
    conn_.on_segment(now_, p.tcp);
  }

  void icmp(uint32_t seq, uint8_t code, uint16_t mtu) {
    const std::vector<uint8_t> msg = testing::icmp_quoting_bytes(seq, code, mtu);
    VIGIL_FUZZ_CHECK(!msg.empty());
    wire::PacketView p;
    VIGIL_FUZZ_CHECK(wire::parse_packet(msg, &p) == wire::Drop::kNone);
    conn_.on_icmp(now_, p.icmp);
  }

  // What the connection owes goes out; each datagram is checked.
  size_t drain() {
    size_t count = 0;
    for (int guard = 0;; ++guard) {
      VIGIL_FUZZ_CHECK(guard < 10000);
      const size_t n = conn_.poll_transmit(now_, buf_);
      if (n == 0) return count;
      fuzz::check_output(&conn_, {buf_.data(), n});
      ++count;
    }
  }

  // The peer's options on its segments during the walk.
  wire::TcpOptions opts(bool syn) {
    wire::TcpOptions o;
    if (syn) {
      o.has_mss = true;
      o.mss = 1000;
      o.sack_permitted = variant_ >= 1;
      o.has_window_scale = variant_ == 2;
      o.window_scale = 2;
    }
    if (variant_ == 2) {
      o.has_timestamps = true;
      o.ts_val = ++ts_;
      o.ts_ecr = 0;
    }
    return o;
  }
  void send(uint32_t seq, uint32_t ack, uint8_t flags) {
    segment(seq, ack, flags, 65535, opts((flags & fl::kSyn) != 0), {});
    drain();
  }

  // Walks to the chosen state; false if the walk did not arrive (then the
  // input is uninteresting, not a finding: the unit tests cover the walk).
  bool walk(int target) {
    if (target == 1) {  // SYN-RECEIVED: a passive open takes the peer's SYN
      conn_.open_passive(now_);
      send(kIrs, 0, fl::kSyn);
      return conn_.state() == State::kSynReceived;
    }
    conn_.open_active(now_);
    drain();
    if (target == 0) return conn_.state() == State::kSynSent;
    send(kIrs, kIss + 1, fl::kSyn | fl::kAck);
    if (conn_.state() != State::kEstablished) return false;
    const uint32_t r = kIrs + 1;
    switch (target) {
      case 2:  // ESTABLISHED
        break;
      case 3:  // FIN-WAIT-1: we close
        conn_.close(now_);
        drain();
        break;
      case 4:  // FIN-WAIT-2: they ACK our FIN
        conn_.close(now_);
        drain();
        send(r, kIss + 2, fl::kAck);
        break;
      case 5:  // CLOSE-WAIT: their FIN
        send(r, kIss + 1, fl::kFin | fl::kAck);
        break;
      case 6:  // LAST-ACK: their FIN, then we close
        send(r, kIss + 1, fl::kFin | fl::kAck);
        conn_.close(now_);
        drain();
        break;
      case 7:  // CLOSING: FINs cross
        conn_.close(now_);
        drain();
        send(r, kIss + 1, fl::kFin | fl::kAck);
        break;
      default:  // TIME-WAIT: our FIN ACKed, then theirs
        conn_.close(now_);
        drain();
        send(r, kIss + 2, fl::kAck);
        send(r, kIss + 2, fl::kFin | fl::kAck);
        break;
    }
    static constexpr State kWant[] = {State::kSynSent,  State::kSynReceived, State::kEstablished,
                                      State::kFinWait1, State::kFinWait2,    State::kCloseWait,
                                      State::kLastAck,  State::kClosing,     State::kTimeWait};
    return conn_.state() == kWant[target];
  }

  void step(fuzz::Reader& r) {
    const uint8_t ctl = r.u8();
    uint32_t seq = r.u32();
    uint32_t ack = r.u32();
    const uint8_t flags = r.u8();
    const uint16_t window = r.u16();
    const std::span<const uint8_t> opt_area = r.take(r.u8() % 41);
    const std::span<const uint8_t> payload = r.take(r.u16() % 1501);
    now_ = now_ + Duration::millis(10) * ((ctl >> 5) * (ctl >> 5));

    const State s0 = conn_.state();
    const uint32_t una0 = conn_.snd_una(), rcv0 = conn_.rcv_nxt();
    if (ctl & 1) seq = conn_.rcv_nxt() + static_cast<uint32_t>(static_cast<int16_t>(seq));
    if (ctl & 2) ack = conn_.snd_una() + static_cast<uint32_t>(static_cast<int16_t>(ack));
    if (ctl & 16) {
      icmp(seq, flags % 6, window);
    } else {
      wire::TcpOptions opt;
      if (wire::TcpOptions::parse(opt_area, &opt) != wire::Drop::kNone) opt = {};
      segment(seq, ack, flags, window, opt, payload);
    }
    drain();
    if (ctl & 4) {
      const Instant t = conn_.next_deadline();
      if (!t.is_never() && t - now_ < Duration::seconds(3600)) {
        // A deadline already passed (time advanced without timers) runs
        // late, as under a busy event loop; time never goes back.
        if (t > now_) now_ = t;
        conn_.on_timer(now_);
        drain();
        // Nothing is still due: a driver looping on next_deadline() would spin.
        VIGIL_FUZZ_CHECK(conn_.next_deadline() > now_);
      }
    }
    if (ctl & 8) application(seq >> 30);
    fuzz::check_connection(conn_);
    const State s1 = conn_.state();
    if (fuzz::synchronized(s0) && fuzz::synchronized(s1)) {
      VIGIL_FUZZ_CHECK(tcp::seq_ge(conn_.snd_una(), una0));
      VIGIL_FUZZ_CHECK(tcp::seq_ge(conn_.rcv_nxt(), rcv0));
    }
  }

 private:
  void application(uint32_t what) {
    uint8_t in[4096];
    while (conn_.recv(now_, in) > 0) {
    }
    static const std::vector<uint8_t> out(1200, 0x5a);
    switch (what) {
      case 0:
      case 1:
        conn_.send(now_, out);
        break;
      case 2:
        conn_.close(now_);
        break;
      default:
        conn_.abort(now_);
        break;
    }
    drain();
  }

  int variant_;
  NullSink sink_;
  Instant now_ = kT0;
  uint16_t ts_ = 0;
  tcp::Connection conn_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(70000);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  const uint8_t choice = r.u8();
  Peer p(choice / 9 % 3);
  if (!p.walk(choice % 9)) return 0;
  fuzz::check_connection(p.conn());
  for (int records = 0; !r.empty() && records < 256; ++records) p.step(r);
  return 0;
}
