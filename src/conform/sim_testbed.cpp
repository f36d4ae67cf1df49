#include "conform/sim_testbed.hpp"

#include <algorithm>
#include <array>

#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "stack/stack.hpp"
#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "wire/icmp.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::conform {
namespace {

using VDuration = vigil::Duration;  // the simulator's clock type; conform::Duration is std::chrono

constexpr size_t kPeer = 0;
constexpr size_t kTarget = 1;
constexpr uint16_t kPeerPort = 80;      // the peer listens here when the target connects
constexpr uint16_t kTargetPort = 9000;  // the target listens here when the peer connects
const wire::Ipv4Addr kPeerAddr = wire::Ipv4Addr::of(10, 0, 0, 1);
const wire::Ipv4Addr kTargetAddr = wire::Ipv4Addr::of(10, 0, 0, 2);
// One millisecond each way: close to the real targets' TUN path (well
// under a millisecond), far enough from zero that RTT samples are real.
constexpr VDuration kOneWay = VDuration::millis(1);

VDuration to_vigil(conform::Duration d) { return VDuration::nanos(d.count()); }
conform::Duration to_chrono(VDuration d) { return conform::Duration(d.ns()); }

// One end's application: accepts (when listening), writes what it was
// asked to, reads while reading, and notices the end of its connection.
class EndApp : public sim::App {
 public:
  explicit EndApp(stack::Stack& s) : stack_(s) {}

  void poll(Instant now) override {
    if (now >= wake_) wake_ = Instant::never();
    if (!id_ && listen_port_) id_ = stack_.accept(*listen_port_);
    if (!id_) return;
    const tcp::Connection* c = stack_.connection(*id_);
    if (!c) return;
    static const std::array<uint8_t, 65536> zeros{};
    while (to_write_ > 0) {
      const size_t n = stack_.send(
          now, *id_, std::span<const uint8_t>(zeros.data(), std::min(to_write_, zeros.size())));
      if (n == 0) break;
      to_write_ -= n;
    }
    static std::array<uint8_t, 65536> sink;
    if (reading_) {
      while (stack_.recv(now, *id_, sink) > 0) {
      }
    } else if (read_once_ > 0) {
      const size_t n = stack_.recv(now, *id_, std::span<uint8_t>(sink.data(), read_once_));
      read_once_ -= std::min(n, read_once_);
      if (n == 0) read_once_ = 0;  // nothing there: a read of what is, not a wait
    }
    if (ended_) return;
    const auto& err = c->error();
    if (err.err != 0) {
      ended_ = true;
      error_ = err.err;
      ended_at_ = err.time;
    } else if (c->state() == tcp::State::kClosed || c->state() == tcp::State::kTimeWait ||
               (reading_ && c->peer_closed() && c->recv_available() == 0)) {
      ended_ = true;  // a clean end: EOF read, or closed both ways
      error_ = 0;
      ended_at_ = now;
    }
  }
  Instant next_wake() const override { return wake_; }
  bool done() const override { return false; }

  void wake(Instant at) { wake_ = std::min(wake_, at); }
  stack::Stack& stack_;
  std::optional<stack::ConnId> id_;
  std::optional<uint16_t> listen_port_;
  bool reading_ = true;
  size_t to_write_ = 0;
  size_t read_once_ = 0;
  bool ended_ = false;
  int error_ = 0;
  Instant ended_at_;

 private:
  Instant wake_ = Instant::never();
};

class SimTestbed : public Testbed {
 public:
  SimTestbed(std::string name, tcp::TcpConfig target_cfg, uint64_t seed)
      : name_(std::move(name)), target_base_(std::move(target_cfg)), world_(seed) {
    stack::StackConfig pc;
    pc.address = kPeerAddr;
    pc.tcp = tcp::TcpConfig::rfc();
    stack::StackConfig tc;
    tc.address = kTargetAddr;
    tc.tcp = target_base_;
    world_.add_host("peer", pc);
    world_.add_host("target", tc);
    sim::LinkConfig l;
    l.delay = kOneWay;
    world_.set_link(l, l);
    auto peer = std::make_unique<EndApp>(world_.host(kPeer).stack());
    auto target = std::make_unique<EndApp>(world_.host(kTarget).stack());
    peer_ = peer.get();
    target_ = target.get();
    world_.add_app(kPeer, std::move(peer));
    world_.add_app(kTarget, std::move(target));
    // The capture point is the peer's interface: its own sends, and the
    // target's datagrams on arrival.
    world_.set_capture(nullptr, kPeer);
    world_.set_packet_observer(
        [this](Instant at, size_t from, std::span<const uint8_t> p) { record(at, from, p); });
    // Peer -> target: dropped on arrival when the path says so (the peer
    // already captured them when it sent them).
    world_.set_filter(kPeer, [this](Instant, std::vector<uint8_t>&) {
      return path_ == PathState::open || path_ == PathState::drop_from_target;
    });
    // Target -> peer: a dropped datagram never reaches the peer's
    // interface, but the capture keeps what each end sent (testbed.hpp).
    world_.set_filter(kTarget, [this](Instant at, std::vector<uint8_t>& p) {
      if (reject_syn_ && is_syn(p)) {
        record(at, kTarget, p);
        reject_with_icmp(at, p);
        return false;
      }
      if (path_ == PathState::open || path_ == PathState::drop_to_target) return true;
      record(at, kTarget, p);
      return false;
    });
  }

  std::string name() const override { return name_; }
  bool virtual_time() const override { return true; }
  const std::string& why() const override { return why_; }

  std::error_code configure(const SystemSettings& system, const PeerSettings& peer) override {
    if (system.retries2) {
      if (*system.retries2 < 1 || *system.retries2 > 255) return fail("retries2 out of 1..255");
      target_base_.retries_data = static_cast<uint32_t>(*system.retries2);
    }
    if (system.syn_retries) {
      if (*system.syn_retries < 1 || *system.syn_retries > 127) {
        return fail("syn_retries out of 1..127");
      }
      target_base_.retries_syn = static_cast<uint32_t>(*system.syn_retries);
    }
    reject_syn_ = peer.icmp_reject_syn;
    peer_cfg_ = tcp::TcpConfig::rfc();
    peer_cfg_.mss = static_cast<uint16_t>(std::clamp<uint32_t>(peer.mss, 88, 65495));
    peer_cfg_.recv_buffer = std::max<uint32_t>(peer.receive_buffer, 1);
    peer_cfg_.sack = peer.sack;
    peer_cfg_.timestamps = peer.timestamps;
    peer_cfg_.window_scaling = peer.window_scale;
    // The peer never gives up on its own within a case.
    peer_cfg_.liveness_deadline = false;
    peer_cfg_.retries_data = 1000;
    if (peer.keep_idle) {
      peer_cfg_.keepalive = true;
      peer_cfg_.keepalive_idle = VDuration::seconds(peer.keep_idle->count());
      peer_cfg_.keepalive_interval =
          VDuration::seconds(peer.keep_interval ? peer.keep_interval->count() : 75);
      peer_cfg_.keepalive_count = 1000;
    }
    return {};
  }

  std::error_code target_connect(const SocketOptions& options) override {
    if (started_) return fail("one connection per testbed");
    started_ = true;
    stack::OpenError err;
    if (!peer_->stack_.listen(kPeerPort, 8, &err, &peer_cfg_)) return fail(err.message);
    peer_->listen_port_ = kPeerPort;
    const tcp::TcpConfig cfg = target_config(options);
    auto id =
        target_->stack_.connect(world_.now(), tcp::Endpoint{kPeerAddr, kPeerPort}, &err, &cfg);
    if (!id) return fail(err.message);
    target_->id_ = id;
    return await_established();
  }

  std::error_code target_accept(const SocketOptions& options) override {
    if (started_) return fail("one connection per testbed");
    started_ = true;
    stack::OpenError err;
    const tcp::TcpConfig cfg = target_config(options);
    if (!target_->stack_.listen(kTargetPort, 8, &err, &cfg)) return fail(err.message);
    target_->listen_port_ = kTargetPort;
    auto id = peer_->stack_.connect(world_.now(), tcp::Endpoint{kTargetAddr, kTargetPort}, &err,
                                    &peer_cfg_);
    if (!id) return fail(err.message);
    peer_->id_ = id;
    return await_established();
  }

  void target_write(size_t bytes) override {
    target_->to_write_ += bytes;
    target_->wake(world_.now());
  }
  void target_set_reading(bool reading) override {
    target_->reading_ = reading;
    target_->wake(world_.now());
  }
  bool target_read(size_t bytes) override {
    target_->read_once_ = bytes;
    target_->wake(world_.now());
    return true;
  }
  void target_close() override {
    if (target_->id_) target_->stack_.close(world_.now(), *target_->id_);
    target_->wake(world_.now());
  }
  void peer_write(size_t bytes) override {
    peer_->to_write_ += bytes;
    peer_->wake(world_.now());
  }
  void peer_set_reading(bool reading) override {
    peer_->reading_ = reading;
    peer_->wake(world_.now());
  }
  void peer_abort() override {
    if (peer_->id_) peer_->stack_.abort(world_.now(), *peer_->id_);
    peer_->wake(world_.now());
  }
  void peer_reboot() override {
    // A host that loses its memory sends nothing: the abort's RST is
    // drained from the peer's stack unsent; the next segment of the
    // target's finds no connection and gets the closed-port RST.
    if (!peer_->id_) return;
    peer_->stack_.abort(world_.now(), *peer_->id_);
    std::vector<uint8_t> buf(65536);
    while (peer_->stack_.poll_transmit(world_.now(), buf) > 0) {
    }
    peer_->stack_.release(*peer_->id_);
    peer_->id_.reset();
    peer_->listen_port_.reset();
  }
  void peer_inject(Injection what) override;

  void set_path(PathState state) override { path_ = state; }
  bool set_path_shape(const PathShape& shape) override {
    sim::LinkConfig l;
    l.delay = to_vigil(shape.one_way_delay);
    l.rate_bps = shape.rate_bps;
    l.queue_limit_bytes = shape.queue_bytes;
    world_.link(kPeer).set_config(l);
    world_.link(kTarget).set_config(l);
    // The capture keeps what the target sent (testbed.hpp), so a datagram
    // the bottleneck's queue refuses is recorded when it was sent, as the
    // real testbed records it.
    world_.link(kTarget).set_queue_drop_observer(
        [this](Instant at, std::span<const uint8_t> p) { record(at, kTarget, p); });
    return true;
  }

  void run_for(conform::Duration d) override { run_to(world_.now() + to_vigil(d)); }
  bool run_until_target_ended(conform::Duration limit) override {
    const Instant end = world_.now() + to_vigil(limit);
    // Slices, so the run stops soon after the end (World::run goes to its
    // limit); the end's own time comes from the connection, exactly.
    while (!target_->ended_ && world_.now() < end) {
      run_to(std::min(end, world_.now() + VDuration::millis(100)));
    }
    return target_->ended_;
  }
  conform::Duration now() const override { return to_chrono(world_.now() - Instant::zero()); }

  const std::vector<WireDatagram>& capture() const override { return capture_; }
  TargetOutcome target_outcome() const override {
    TargetOutcome o;
    o.ended = target_->ended_;
    if (o.ended) {
      o.error = target_->error_;
      o.ended_at = to_chrono(target_->ended_at_ - Instant::zero());
    }
    return o;
  }

 private:
  std::error_code fail(std::string why) {
    why_ = std::move(why);
    return std::make_error_code(std::errc::invalid_argument);
  }

  tcp::TcpConfig target_config(const SocketOptions& o) const {
    tcp::TcpConfig c = target_base_;
    // false: not set by the application, so the target's default holds.
    c.keepalive = o.keepalive || c.keepalive;
    if (o.keep_idle) c.keepalive_idle = VDuration::seconds(o.keep_idle->count());
    if (o.keep_interval) c.keepalive_interval = VDuration::seconds(o.keep_interval->count());
    if (o.keep_count) c.keepalive_count = static_cast<uint32_t>(*o.keep_count);
    if (o.user_timeout) c.user_timeout = VDuration::millis(o.user_timeout->count());
    // Set by the application: fixed, as SO_RCVBUF / SO_SNDBUF lock Linux's
    // autotuning, and the window scale covers the buffer it has.
    if (o.receive_buffer) {
      c.recv_buffer = static_cast<uint32_t>(*o.receive_buffer);
      c.recv_buffer_max = 0;
      c.window_scale_buffer = 0;
    }
    if (o.send_buffer) {
      c.send_buffer = static_cast<uint32_t>(*o.send_buffer);
      c.send_buffer_max = 0;
    }
    c.nodelay = o.no_delay || c.nodelay;
    return c;
  }

  std::error_code await_established() {
    // Up to an hour: long enough for any SYN retry schedule.
    const Instant end = world_.now() + VDuration::seconds(3600);
    while (world_.now() < end) {
      run_to(std::min(end, world_.now() + VDuration::millis(1)));
      if (!target_->id_) continue;
      const tcp::Connection* c = target_->stack_.connection(*target_->id_);
      if (!c) continue;
      if (c->error().err != 0) {
        why_ = "the target's connection failed: " + std::string(util::errno_name(c->error().err));
        return std::error_code(c->error().err, std::generic_category());
      }
      // Both ends established: the handshake's last ACK has arrived too,
      // so a path change from here on cannot catch the handshake.
      if (c->established_once() && peer_->id_ && peer_connected()) return {};
    }
    return fail("the connection was not established within an hour");
  }
  bool peer_connected() const {
    const tcp::Connection* c = peer_->stack_.connection(*peer_->id_);
    return c && c->established_once();
  }

  void run_to(Instant t) {
    target_->wake(t);  // so the world's clock lands on t exactly
    world_.run(t);
  }

  // A TCP SYN without ACK (the target's connect), read with bounds checks.
  static bool is_syn(const std::vector<uint8_t>& p) {
    if (p.size() < 20 || (p[0] >> 4) != 4 || p[9] != 6) return false;
    const size_t ihl = size_t{p[0] & 0x0fu} * 4;
    if (p.size() < ihl + 14) return false;
    const uint8_t flags = p[ihl + 13];
    return (flags & wire::tcp_flags::kSyn) && !(flags & wire::tcp_flags::kAck);
  }
  // The peer's host answers the SYN with ICMP destination unreachable
  // (RFC 792: its header and 8 bytes quoted), from its own address.
  void reject_with_icmp(Instant at, const std::vector<uint8_t>& syn) {
    std::array<uint8_t, 256> out{};
    const size_t n = wire::build_icmp_unreachable(out, kPeerAddr, *reject_syn_, 0,
                                                  std::span<const uint8_t>(syn));
    if (n == 0) return;
    const std::span<const uint8_t> pkt(out.data(), n);
    record(at, kPeer, pkt);
    world_.inject(kTarget, pkt);
  }

  void record(Instant at, size_t from, std::span<const uint8_t> p) {
    capture_.push_back(WireDatagram{
        to_chrono(at - Instant::zero()), from == kTarget,
        std::vector<std::byte>(reinterpret_cast<const std::byte*>(p.data()),
                               reinterpret_cast<const std::byte*>(p.data()) + p.size())});
  }

  std::string name_;
  tcp::TcpConfig target_base_;
  tcp::TcpConfig peer_cfg_ = tcp::TcpConfig::rfc();
  sim::World world_;
  EndApp* peer_ = nullptr;
  EndApp* target_ = nullptr;
  PathState path_ = PathState::open;
  std::optional<uint8_t> reject_syn_;
  bool started_ = false;
  std::string why_;
  std::vector<WireDatagram> capture_;
};

void SimTestbed::peer_inject(Injection what) {
  if (!target_->id_) return;
  const tcp::Connection* victim = target_->stack_.connection(*target_->id_);
  if (!victim) return;
  // As the peer (an on-path attacker that knows the connection's numbers):
  // addressed from the peer's endpoint to the target's.
  auto [ip, f] = tcp::header_fields(tcp::FourTuple{victim->tuple().remote, victim->tuple().local});
  wire::TcpOptions opt;
  if (victim->timestamps_enabled() && what != Injection::rst_in_window) {
    opt.has_timestamps = true;
    opt.ts_val = victim->ts_recent();
  }
  std::array<uint8_t, 256> out{};
  size_t n = 0;
  f.window = 65535;
  switch (what) {
    case Injection::rst_in_window:
      // RFC 5961 §3.2: inside the window but not RCV.NXT (that one is
      // accepted as the peer's own reset).
      f.flags = wire::tcp_flags::kRst;
      f.seq = victim->rcv_nxt() + std::max<uint32_t>(victim->rcv_wnd() / 2, 1);
      f.window = 0;
      n = wire::build_ipv4_tcp(out, ip, f, opt);
      break;
    case Injection::syn_in_window:
      f.flags = wire::tcp_flags::kSyn;
      f.seq = victim->rcv_nxt() + std::max<uint32_t>(victim->rcv_wnd() / 2, 1);
      opt.has_mss = true;
      opt.mss = 1460;
      opt.ts_ecr = 0;
      n = wire::build_ipv4_tcp(out, ip, f, opt);
      break;
    case Injection::ack_out_of_window:
      // RFC 5961 §5.2: an ACK above SND.NXT acknowledges data never sent.
      f.flags = wire::tcp_flags::kAck;
      f.seq = victim->rcv_nxt();
      f.ack = victim->snd_nxt() + 0x10000;
      n = wire::build_ipv4_tcp(out, ip, f, opt);
      break;
    case Injection::icmp_port_unreachable:
    case Injection::icmp_frag_needed: {
      // Quote the target's last datagram, as a router on the path would.
      const WireDatagram* last = nullptr;
      for (auto it = capture_.rbegin(); it != capture_.rend(); ++it) {
        if (it->from_target) {
          last = &*it;
          break;
        }
      }
      if (!last) return;
      const auto* q = reinterpret_cast<const uint8_t*>(last->ip.data());
      const bool frag = what == Injection::icmp_frag_needed;
      n = wire::build_icmp_unreachable(
          out, wire::Ipv4Addr::of(10, 0, 0, 254),
          frag ? wire::icmp_code::kFragmentationNeeded : wire::icmp_code::kPortUnreachable,
          frag ? 1280 : 0, std::span<const uint8_t>(q, last->ip.size()));
      break;
    }
  }
  if (n == 0) return;
  const std::span<const uint8_t> pkt(out.data(), n);
  record(world_.now(), kPeer, pkt);
  world_.inject(kTarget, pkt);
}

}  // namespace

std::unique_ptr<Testbed> make_sim_testbed(const SimTargetOptions& options, std::string& why) {
  tcp::TcpConfig cfg;
  if (!tcp::TcpConfig::from_profile(options.profile, &cfg)) {
    why = "unknown profile '" + options.profile + "' (rfc or linux)";
    return nullptr;
  }
  std::string name = "vigil " + options.profile;
  for (const auto& b : options.bugs) {
    std::string err = sim::apply_scenario_bug(b, &cfg);
    if (!err.empty()) {
      why = err;
      return nullptr;
    }
    name += " +" + b;
  }
  for (const auto& [k, v] : options.knobs) {
    std::string err = cfg.set(k, v);
    if (!err.empty()) {
      why = err;
      return nullptr;
    }
    name += " " + k + "=" + v;
  }
  return std::make_unique<SimTestbed>(name, cfg, options.seed);
}

}  // namespace vigil::conform
