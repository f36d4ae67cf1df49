#include "sim/attack_scenarios.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "sim/attacker.hpp"
#include "wire/packet.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::sim {

namespace {

using tcp::State;

// Polled after anything happens in the world (every iteration): meters.
class Probe : public App {
 public:
  explicit Probe(std::function<void(Instant)> f) : f_(std::move(f)) {}
  void poll(Instant now) override { f_(now); }
  bool done() const override { return true; }

 private:
  std::function<void(Instant)> f_;
};

// A connection of `host` the application layer knows, if it still exists.
const tcp::Connection* live(Host& host, const StreamPeer& peer) {
  if (!peer.id()) return nullptr;
  return host.stack().connection(*peer.id());
}

// The oracle of an attacker that guessed the window right (the strongest
// off-path attacker): the victim connection's own values while it is
// synchronized, nothing (blind) before and after.
GuessFn oracle(Host& host, StreamPeer& peer) {
  return [&host, &peer](Instant) -> std::optional<WindowGuess> {
    const tcp::Connection* c = live(host, peer);
    if (!c || !c->established_once() || c->state() == State::kClosed ||
        c->state() == State::kTimeWait)
      return std::nullopt;
    return guess_from(*c);
  };
}

// An attacker that learns its 4-tuple when the victim connection is
// established (an ephemeral port is chosen at connect()) and starts then,
// or at cfg.start if later.
class TupleAttacker : public App {
 public:
  TupleAttacker(World& w, Host& victim, StreamPeer& peer, AttackerConfig cfg, bool in_window,
                util::Rng rng)
      : world_(w),
        victim_(victim),
        peer_(peer),
        cfg_(std::move(cfg)),
        in_window_(in_window),
        rng_(rng) {}
  void poll(Instant now) override {
    last_ = now;
    if (!a_) {
      const tcp::Connection* c = live(victim_, peer_);
      if (now < cfg_.start || !c || !c->established_once()) return;
      cfg_.tuple = c->tuple();
      cfg_.victim_host = victim_.index();
      cfg_.start = now;
      if (in_window_) cfg_.guess = oracle(victim_, peer_);
      a_ = std::make_unique<Attacker>(world_, cfg_, rng_);
    }
    a_->poll(now);
  }
  Instant next_wake() const override {
    if (a_) return a_->next_wake();
    // Once the start has passed, the handshake's arrivals poll us; a wake
    // in the past would stop virtual time.
    return last_ >= cfg_.start ? Instant::never() : cfg_.start;
  }
  bool done() const override { return a_ && a_->done(); }
  const Attacker* attacker() const { return a_.get(); }

 private:
  World& world_;
  Host& victim_;
  StreamPeer& peer_;
  AttackerConfig cfg_;
  bool in_window_;
  util::Rng rng_;
  std::unique_ptr<Attacker> a_;
  Instant last_ = Instant::zero();
};

// Legitimate clients: `count` connections, one every `every` from `start`;
// each writes `bytes`, and closes `hold` after it connected (or as soon as
// it has written, hold = 0). Records when each handshake completed.
class ClientWave : public App {
 public:
  struct Outcome {
    Instant opened;
    std::optional<stack::ConnId> id;
    bool established = false;
    Duration handshake = Duration::zero();
    Duration lifetime = Duration::zero();  // connect() to CLOSED (or TIME-WAIT)
    bool closing = false;
    int err = 0;
    tcp::CloseReason reason = tcp::CloseReason::kNone;
    bool finished = false;
  };
  ClientWave(Host& host, tcp::Endpoint server, Instant start, Duration every, size_t count,
             size_t bytes, Duration hold)
      : host_(host),
        server_(server),
        start_(start),
        every_(every),
        count_(count),
        hold_(hold),
        payload_(bytes, 0x5a) {}

  void poll(Instant now) override {
    stack::Stack& s = host_.stack();
    while (out_.size() < count_ && next_open() <= now) {
      Outcome o;
      o.opened = now;
      o.id = s.connect(now, server_);
      if (!o.id) o.finished = true;  // refused locally: counted as not established
      out_.push_back(o);
      if (o.id) active_.push_back(out_.size() - 1);
    }
    for (size_t k = 0; k < active_.size();) {
      Outcome& o = out_[active_[k]];
      const tcp::Connection* c = s.connection(*o.id);
      if (c && !o.established && c->established_once()) {
        o.established = true;
        o.handshake = now - o.opened;
        s.send(now, *o.id, payload_);
      }
      if (c && o.established && !o.closing && now >= o.opened + o.handshake + hold_) {
        o.closing = true;
        s.close(now, *o.id);
      }
      if (!c || c->state() == State::kClosed || c->state() == State::kTimeWait) {
        if (c) {
          o.err = c->error().err;
          o.reason = c->error().reason;
        }
        o.finished = true;
        o.lifetime = now - o.opened;
        s.release(*o.id);
        active_[k] = active_.back();
        active_.pop_back();
        continue;
      }
      ++k;
    }
  }
  Instant next_wake() const override {
    Instant next = out_.size() < count_ ? next_open() : Instant::never();
    for (size_t i : active_) {
      const Outcome& o = out_[i];
      if (o.established && !o.closing) next = std::min(next, o.opened + o.handshake + hold_);
    }
    return next;
  }
  bool done() const override { return out_.size() == count_ && active_.empty(); }
  const std::vector<Outcome>& outcomes() const { return out_; }
  size_t established() const {
    return static_cast<size_t>(
        std::count_if(out_.begin(), out_.end(), [](const Outcome& o) { return o.established; }));
  }
  size_t refused() const {
    return static_cast<size_t>(std::count_if(out_.begin(), out_.end(), [](const Outcome& o) {
      return o.reason == tcp::CloseReason::kRefused;
    }));
  }
  Duration max_handshake() const {
    Duration m = Duration::zero();
    for (const auto& o : out_) m = std::max(m, o.handshake);
    return m;
  }

 private:
  Instant next_open() const { return start_ + every_ * static_cast<int64_t>(out_.size()); }

  Host& host_;
  tcp::Endpoint server_;
  Instant start_;
  Duration every_;
  size_t count_;
  Duration hold_;
  std::vector<uint8_t> payload_;
  std::vector<Outcome> out_;
  std::vector<size_t> active_;  // indices into out_ still open
};

// A server that accepts everything on `port`, reads and discards it, and
// closes when the client does.
class AcceptAll : public App {
 public:
  AcceptAll(Host& host, uint16_t port, size_t backlog)
      : host_(host), port_(port), backlog_(backlog), buf_(64 * 1024) {}
  void poll(Instant now) override {
    stack::Stack& s = host_.stack();
    if (!listening_) listening_ = s.listen(port_, backlog_);
    while (auto id = s.accept(port_)) {
      active_.push_back(*id);
      ++accepted_;
    }
    for (size_t k = 0; k < active_.size();) {
      const stack::ConnId id = active_[k];
      while (s.recv(now, id, buf_) > 0) {
      }
      const tcp::Connection* c = s.connection(id);
      if (c && c->state() == State::kCloseWait) s.close(now, id);
      if (!c || c->state() == State::kClosed || c->state() == State::kTimeWait) {
        s.release(id);
        active_[k] = active_.back();
        active_.pop_back();
        continue;
      }
      ++k;
    }
  }
  Instant next_wake() const override { return listening_ ? Instant::never() : Instant::zero(); }
  bool done() const override { return true; }
  uint64_t accepted() const { return accepted_; }

 private:
  Host& host_;
  uint16_t port_;
  size_t backlog_;
  bool listening_ = false;
  std::vector<stack::ConnId> active_;
  std::vector<uint8_t> buf_;
  uint64_t accepted_ = 0;
};

uint64_t connections_lost(const ScenarioResult& r) {
  uint64_t lost = 0;
  for (const auto& e : r.connections) {
    if (!e.established || e.err != 0 || e.reason != tcp::CloseReason::kNone ||
        !e.open_error.empty())
      ++lost;
  }
  return lost;
}

const EndpointResult* endpoint(const ScenarioResult& r, const char* role) {
  for (const auto& e : r.connections) {
    if (e.role == role) return &e;
  }
  return nullptr;
}

// 0 when the server received exactly what the client sent (same length
// and SHA-256); otherwise every received byte is counted as suspect.
uint64_t bytes_corrupted(const ScenarioResult& r) {
  const EndpointResult* c = endpoint(r, "client");
  const EndpointResult* s = endpoint(r, "server");
  if (!c || !s) return 0;
  if (c->bytes_sent == s->bytes_received && c->sha256_sent == s->sha256_received) return 0;
  return s->bytes_received;
}

uint64_t sum_stat(const ScenarioResult& r, uint64_t tcp::ConnectionStats::*f) {
  uint64_t n = 0;
  for (const auto& e : r.connections) n += e.stats.*f;
  return n;
}

uint64_t ms(Duration d) { return static_cast<uint64_t>(d.ms()); }

}  // namespace

// --- blind-injection --------------------------------------------------------
// 10,000 each of six kinds during a 10 MB upload (docs/attacks.md). RST,
// SYN, data and bad-ACK: 2,500 each at each end into its window (exact on
// arrival) and 2,500 each at each end blind (through the link); 10,000 ICMP
// unreachable (codes 0-15 but 4) at the client (the sender) quoting its
// flight; 10,000 frag-needed with small MTUs at the client, blind. Four
// attackers, 1,667 or 3,333 packets/s each, from 0.5 s to 6.5 s, inside
// the ~8.5 s transfer.
AttackFinish setup_blind_injection(const AttackHooks& h) {
  World& w = h.world;
  const Instant start = Instant::zero() + Duration::millis(500);
  auto add = [&](Host& victim, StreamPeer& peer, std::vector<AttackKind> kinds, uint64_t count,
                 Duration every, bool in_window) {
    AttackerConfig c;
    c.kinds = std::move(kinds);
    c.count = count;
    c.start = start;
    c.every = every;
    c.direct = in_window;  // exact on arrival: see AttackerConfig::direct
    auto a = std::make_unique<TupleAttacker>(w, victim, peer, c, in_window, w.rng().fork());
    TupleAttacker* p = a.get();
    w.add_app(victim.index(), std::move(a));
    return p;
  };
  using K = AttackKind;
  const std::vector<K> tcp_kinds = {K::kRst, K::kSyn, K::kData, K::kBadAckTsval};
  const std::vector<K> client_in = {K::kRst,
                                    K::kSyn,
                                    K::kData,
                                    K::kBadAckTsval,
                                    K::kIcmpUnreachable,
                                    K::kIcmpUnreachable,
                                    K::kIcmpUnreachable,
                                    K::kIcmpUnreachable};
  const std::vector<K> client_blind = {K::kRst,
                                       K::kSyn,
                                       K::kData,
                                       K::kBadAckTsval,
                                       K::kIcmpFragNeeded,
                                       K::kIcmpFragNeeded,
                                       K::kIcmpFragNeeded,
                                       K::kIcmpFragNeeded};
  std::vector<TupleAttacker*> attackers = {
      add(h.server, h.server_app->peer(), tcp_kinds, 10000, Duration::micros(600), true),
      add(h.server, h.server_app->peer(), tcp_kinds, 10000, Duration::micros(600), false),
      add(h.client, h.client_app->peer(), client_in, 20000, Duration::micros(300), true),
      add(h.client, h.client_app->peer(), client_blind, 20000, Duration::micros(300), false),
  };

  // The client's send MSS once established, and its least value after.
  struct Mss {
    uint32_t initial = 0, min = 0, final = 0;
    Instant delivered = Instant::never();
  };
  auto mss = std::make_shared<Mss>();
  Host* client = &h.client;
  StreamPeer* cp = &h.client_app->peer();
  StreamPeer* sp = &h.server_app->peer();
  w.add_app(0, std::make_unique<Probe>([mss, client, cp, sp](Instant now) {
              const tcp::Connection* c = live(*client, *cp);
              if (!c || !c->established_once()) return;
              const uint32_t m = c->send_mss();
              if (mss->initial == 0) mss->initial = mss->min = m;
              mss->min = std::min(mss->min, m);
              mss->final = m;
              if (mss->delivered.is_never() &&
                  sp->tally().bytes_received == cp->behaviour().bytes_to_send)
                mss->delivered = now;
            }));
  return [attackers, mss](ScenarioResult& r) {
    uint64_t by_kind[kAttackKinds] = {};
    uint64_t total = 0, guessed = 0;
    for (const TupleAttacker* t : attackers) {
      const Attacker* a = t->attacker();
      if (!a) continue;
      for (size_t k = 0; k < kAttackKinds; ++k) by_kind[k] += a->sent(static_cast<AttackKind>(k));
      total += a->sent();
      guessed += a->guessed();
    }
    auto& f = r.figures;
    f.emplace_back("injections_tried", total);
    for (size_t k = 0; k < kAttackKinds; ++k)
      f.emplace_back(std::string("injected_") + attack_kind_name(static_cast<AttackKind>(k)),
                     by_kind[k]);
    f.emplace_back("injections_in_window", guessed);
    f.emplace_back("connections_lost", connections_lost(r));
    const EndpointResult* s = endpoint(r, "server");
    f.emplace_back("bytes_delivered", s ? s->bytes_received : 0);
    f.emplace_back("bytes_corrupted", bytes_corrupted(r));
    f.emplace_back("transfer_ms",
                   mss->delivered.is_never() ? 0 : ms(mss->delivered - Instant::zero()));
    f.emplace_back("mss_initial", mss->initial);
    f.emplace_back("mss_min", mss->min);
    f.emplace_back("mss_final", mss->final);
    f.emplace_back("challenge_acks_sent", sum_stat(r, &tcp::ConnectionStats::challenge_acks_sent));
    f.emplace_back("challenge_acks_suppressed",
                   sum_stat(r, &tcp::ConnectionStats::challenge_acks_suppressed));
    f.emplace_back("segments_dropped", sum_stat(r, &tcp::ConnectionStats::segments_dropped));
    f.emplace_back("invalid_acks_suppressed",
                   sum_stat(r, &tcp::ConnectionStats::invalid_acks_suppressed));
    f.emplace_back("icmp_out_of_window", sum_stat(r, &tcp::ConnectionStats::icmp_out_of_window));
    f.emplace_back("icmp_ignored", sum_stat(r, &tcp::ConnectionStats::icmp_ignored));
  };
}

// --- syn-flood --------------------------------------------------------------
// 100,000 SYN/s from spoofed sources for 10 s at the server's listener
// while a legitimate client opens a connection every 100 ms (100 in all),
// writes 1,000 bytes and closes.
AttackFinish setup_syn_flood(const AttackHooks& h) {
  World& w = h.world;
  w.add_app(1, std::make_unique<AcceptAll>(h.server, h.port, 128));
  auto wave = std::make_unique<ClientWave>(h.client, tcp::Endpoint{h.server.address(), h.port},
                                           Instant::zero() + Duration::millis(50),
                                           Duration::millis(100), 100, 1000, Duration::zero());
  ClientWave* wv = wave.get();
  w.add_app(0, std::move(wave));
  AttackerConfig c;
  c.victim_host = h.server.index();
  c.tuple.local = tcp::Endpoint{h.server.address(), h.port};
  c.kinds = {AttackKind::kSyn};
  c.count = 1'000'000;
  c.every = Duration::micros(10);
  c.spoof_source = true;
  auto flood = std::make_unique<Attacker>(w, c, w.rng().fork());
  Attacker* fl = flood.get();
  w.add_app(1, std::move(flood));
  struct Peak {
    uint64_t allocated = 0, syn_queue = 0, held = 0;
    Instant next_held = Instant::zero();
  };
  auto peak = std::make_shared<Peak>();
  Host* server = &h.server;
  const uint16_t port = h.port;
  w.add_app(1, std::make_unique<Probe>([peak, server, port](Instant now) {
              const stack::Stack& s = server->stack();
              peak->allocated = std::max<uint64_t>(peak->allocated, s.allocated_connections());
              peak->syn_queue = std::max<uint64_t>(peak->syn_queue, s.syn_queue_length(port));
              if (now >= peak->next_held) {  // held_bytes walks every connection: every 10 ms
                peak->held = std::max<uint64_t>(peak->held, s.held_bytes());
                peak->next_held = now + Duration::millis(10);
              }
            }));
  return [wv, fl, peak](ScenarioResult& r) {
    auto& f = r.figures;
    f.emplace_back("injections_tried", fl->sent());
    f.emplace_back("handshakes_tried", wv->outcomes().size());
    f.emplace_back("handshakes_completed", wv->established());
    f.emplace_back("handshake_max_ms", ms(wv->max_handshake()));
    f.emplace_back("max_allocated_connections", peak->allocated);
    f.emplace_back("max_syn_queue", peak->syn_queue);
    f.emplace_back("max_held_bytes", peak->held);
    const auto& st = r.hosts.at(1).stats;
    f.emplace_back("syn_cookies_sent", st.syn_cookies_sent);
    f.emplace_back("syn_cookies_valid", st.syn_cookies_valid);
    f.emplace_back("connections_lost", connections_lost(r));
  };
}

// --- sack-abuse -------------------------------------------------------------
// CVE-2019-11477/11478's peer: the client advertises MSS 48, and every ACK
// it sends has its SACK blocks replaced by three that each cover one
// segment, every other segment, walking up the flight, so the sender's
// scoreboard is cut into as many ranges as it will hold. 1 % of the data is
// lost, so holes the lies cover must still be repaired. The server sends.
AttackFinish setup_sack_abuse(const AttackHooks& h) {
  World& w = h.world;
  struct State {
    uint32_t high = 0;  // highest data sequence number seen (just past it)
    bool have_high = false;
    uint32_t cursor = 0;  // next segment index to SACK, counted from the ACK
    uint64_t acks = 0, rewritten = 0;
    uint64_t last_ops = 0, max_ops = 0, total_ops = 0;
    uint64_t max_ranges = 0;
    uint32_t mss = 0;
  };
  auto st = std::make_shared<State>();
  Host* server = &h.server;
  StreamPeer* sp = &h.server_app->peer();
  // Data direction (server -> client): remember how far the flight goes.
  w.set_filter(1, [st](Instant, std::vector<uint8_t>& pkt) {
    wire::PacketView v;
    if (wire::parse_packet(pkt, &v) != wire::Drop::kNone || v.kind != wire::PacketView::Kind::kTcp)
      return true;
    const uint32_t end = v.tcp.seq() + static_cast<uint32_t>(v.tcp.payload().size());
    if (!v.tcp.payload().empty() && (!st->have_high || static_cast<int32_t>(end - st->high) > 0)) {
      st->high = end;
      st->have_high = true;
      st->mss = std::max<uint32_t>(st->mss, static_cast<uint32_t>(v.tcp.payload().size()));
    }
    return true;
  });
  // ACK direction (client -> server): rewrite the SACK blocks; and meter
  // the sender's scoreboard work between consecutive ACK arrivals.
  w.set_filter(0, [st, server, sp](Instant, std::vector<uint8_t>& pkt) {
    if (const tcp::Connection* c = live(*server, *sp)) {
      const auto& sb = c->sack_scoreboard();
      const uint64_t d = sb.ops() - st->last_ops;
      st->last_ops = sb.ops();
      st->max_ops = std::max(st->max_ops, d);
      st->total_ops += d;
      st->max_ranges = std::max<uint64_t>(st->max_ranges, sb.size());
    }
    wire::PacketView v;
    if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
        v.kind != wire::PacketView::Kind::kTcp || !v.tcp.has(wire::tcp_flags::kAck) ||
        v.tcp.has(wire::tcp_flags::kSyn) || !v.tcp.payload().empty())
      return true;
    ++st->acks;
    if (!st->have_high || st->mss == 0) return true;
    const uint32_t ack = v.tcp.ack();
    const uint32_t flight = st->high - ack;
    if (static_cast<int32_t>(flight) <= 0) return true;
    const uint32_t segs = flight / st->mss;
    if (segs < 2) return true;
    wire::TcpOptions opt = v.tcp.options();
    opt.sack_count = 0;
    const size_t room = opt.has_timestamps ? 3 : 4;  // 40 option bytes (RFC 2018 §3)
    for (size_t b = 0; b < room; ++b) {
      // Odd segments only: [ack + (2k+1)·mss, ack + (2k+2)·mss).
      if (2 * st->cursor + 2 > segs) st->cursor = 0;
      const uint32_t left = ack + (2 * st->cursor + 1) * st->mss;
      opt.sack[opt.sack_count++] = wire::SackBlock{left, left + st->mss};
      ++st->cursor;
    }
    wire::Ipv4Fields ip;
    ip.src = v.ip.src();
    ip.dst = v.ip.dst();
    ip.id = v.ip.id();
    wire::TcpFields f;
    f.src_port = v.tcp.src_port();
    f.dst_port = v.tcp.dst_port();
    f.seq = v.tcp.seq();
    f.ack = ack;
    f.flags = v.tcp.flags();
    f.window = v.tcp.window();
    std::vector<uint8_t> out(128);
    const size_t n = wire::build_ipv4_tcp(out, ip, f, opt);
    if (n == 0) return true;
    out.resize(n);
    pkt.swap(out);
    ++st->rewritten;
    return true;
  });
  return [st](ScenarioResult& r) {
    auto& f = r.figures;
    const EndpointResult* s = endpoint(r, "server");
    const EndpointResult* c = endpoint(r, "client");
    f.emplace_back("acks_seen", st->acks);
    f.emplace_back("acks_rewritten", st->rewritten);
    f.emplace_back("send_mss", st->mss);
    f.emplace_back("scoreboard_max_ranges", st->max_ranges);
    f.emplace_back("scoreboard_ops_total", st->total_ops);
    f.emplace_back("scoreboard_ops_max_per_ack", st->max_ops);
    f.emplace_back("bytes_delivered", c ? c->bytes_received : 0);
    const bool intact =
        s && c && s->bytes_sent == c->bytes_received && s->sha256_sent == c->sha256_received;
    f.emplace_back("bytes_corrupted", intact ? 0 : (c ? c->bytes_received : 0));
    f.emplace_back("connections_lost", connections_lost(r));
  };
}

// --- ooo-flood --------------------------------------------------------------
// During a 4 MB upload an attacker who knows the client's windows (it
// receives nothing) sends it 10,000 data segments of 64 bytes, one every
// 300 us from 0.5 s, each at a random place in its receive window but
// never at RCV.NXT, with an acceptable ACK: every one passes the checks and
// wants a reassembly range of its own (tcp::RecvBuffer::kMaxRanges = 16).
AttackFinish setup_ooo_flood(const AttackHooks& h) {
  World& w = h.world;
  AttackerConfig c;
  c.kinds = {AttackKind::kOutOfOrderData};
  c.count = 10000;
  c.start = Instant::zero() + Duration::millis(500);
  c.every = Duration::micros(300);
  c.direct = true;
  auto a =
      std::make_unique<TupleAttacker>(w, h.client, h.client_app->peer(), c, true, w.rng().fork());
  TupleAttacker* at = a.get();
  w.add_app(0, std::move(a));
  struct Peak {
    uint64_t ranges = 0, held = 0;
  };
  auto peak = std::make_shared<Peak>();
  Host* client = &h.client;
  StreamPeer* cp = &h.client_app->peer();
  w.add_app(0, std::make_unique<Probe>([peak, client, cp](Instant) {
              const tcp::Connection* conn = live(*client, *cp);
              if (!conn) return;
              peak->ranges = std::max<uint64_t>(peak->ranges, conn->out_of_order_ranges());
              peak->held = std::max<uint64_t>(peak->held, conn->buffer_bytes());
            }));
  return [at, peak](ScenarioResult& r) {
    auto& f = r.figures;
    const EndpointResult* e = endpoint(r, "client");
    f.emplace_back("injections_tried", at->attacker() ? at->attacker()->sent() : 0);
    f.emplace_back("out_of_order_segments", e ? e->stats.out_of_order_segments : 0);
    f.emplace_back("out_of_order_dropped", e ? e->stats.out_of_order_dropped : 0);
    f.emplace_back("reassembly_max_ranges", peak->ranges);
    f.emplace_back("client_max_buffer_bytes", peak->held);
    f.emplace_back("forged_bytes_read", e ? e->bytes_received : 0);
    f.emplace_back("bytes_corrupted", bytes_corrupted(r));
    f.emplace_back("connections_lost", connections_lost(r));
  };
}

// --- connection-cap ---------------------------------------------------------
// The server allows 16 connections (scenario.cpp). 24 clients connect 10 ms
// apart from 0.5 s and hold their connections until 3 s; 8 more connect
// from 5 s, once the first ones are gone.
AttackFinish setup_connection_cap(const AttackHooks& h) {
  World& w = h.world;
  w.add_app(1, std::make_unique<AcceptAll>(h.server, h.port, 128));
  const tcp::Endpoint to{h.server.address(), h.port};
  auto first = std::make_unique<ClientWave>(h.client, to, Instant::zero() + Duration::millis(500),
                                            Duration::millis(10), 24, 100, Duration::millis(2500));
  auto second = std::make_unique<ClientWave>(h.client, to, Instant::zero() + Duration::seconds(5),
                                             Duration::millis(10), 8, 100, Duration::zero());
  ClientWave* w1 = first.get();
  ClientWave* w2 = second.get();
  w.add_app(0, std::move(first));
  w.add_app(0, std::move(second));
  auto peak = std::make_shared<uint64_t>(0);
  Host* server = &h.server;
  w.add_app(1, std::make_unique<Probe>([peak, server](Instant) {
              *peak = std::max<uint64_t>(*peak, server->stack().allocated_connections());
            }));
  return [w1, w2, peak](ScenarioResult& r) {
    auto& f = r.figures;
    f.emplace_back("handshakes_tried", w1->outcomes().size());
    f.emplace_back("handshakes_completed", w1->established());
    f.emplace_back("refused", w1->refused());
    f.emplace_back("refused_cap", r.hosts.at(1).stats.connections_refused_cap);
    f.emplace_back("refusal_max_ms", [&] {
      Duration m = Duration::zero();
      for (const auto& o : w1->outcomes())
        if (o.reason == tcp::CloseReason::kRefused) m = std::max(m, o.lifetime);
      return ms(m);
    }());
    f.emplace_back("max_allocated_connections", *peak);
    f.emplace_back("later_handshakes_tried", w2->outcomes().size());
    f.emplace_back("later_handshakes_completed", w2->established());
  };
}

}  // namespace vigil::sim
