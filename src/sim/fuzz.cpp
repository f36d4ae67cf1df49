// `vigil sim fuzz` (docs/sim-fuzz.md): one seed = one drawn world, run on
// virtual time, checked against the invariants named in fuzz.hpp.
#include "sim/fuzz.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "link/pcap_writer.hpp"
#include "sim/attacker.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"
#include "tcp/seq.hpp"
#include "wire/icmp.hpp"
#include "wire/packet.hpp"

namespace vigil::sim {

namespace {

constexpr uint8_t kForgedTtl = 37;  // marks the attacker's packets in a capture
constexpr wire::Ipv4Addr kAddr[2] = {wire::Ipv4Addr::of(10, 0, 0, 1),
                                     wire::Ipv4Addr::of(10, 0, 0, 2)};
constexpr size_t kStackCap = 128;  // StackConfig::max_connections in every drawn world

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string secs(Duration d) {
  if (d == Duration::max()) return "never";
  return fmt("%.3f s", d.secs());
}

// The byte stream an application writes: 8 bytes per Rng word, little-endian,
// so the receiver regenerates it to check every byte it reads.
class Pattern {
 public:
  explicit Pattern(uint64_t seed) : rng_(seed) {}
  void fill(std::span<uint8_t> out) {
    for (auto& b : out) {
      if (pos_ == 8) {
        word_ = rng_.next_u64();
        pos_ = 0;
      }
      b = static_cast<uint8_t>(word_ >> (8 * pos_++));
    }
  }

 private:
  util::Rng rng_;
  uint64_t word_ = 0;
  int pos_ = 8;
};

enum class CloseMode : uint8_t { kNever, kAfterSend, kOnEof, kOrphan, kAbort, kStopReading };
const char* close_name(CloseMode m) {
  switch (m) {
    case CloseMode::kNever:
      return "never closes";
    case CloseMode::kAfterSend:
      return "half-closes after sending";
    case CloseMode::kOnEof:
      return "closes on EOF";
    case CloseMode::kOrphan:
      return "close() as an orphan after sending";
    case CloseMode::kAbort:
      return "aborts (SO_LINGER 0)";
    case CloseMode::kStopReading:
      return "close(2) with whatever is unread";
  }
  return "?";
}

struct SideDraw {
  uint64_t bytes = 0;
  Duration send_from = Duration::zero();  // after the connection's start
  CloseMode close = CloseMode::kAfterSend;
  Duration abort_after = Duration::max();  // kAbort / kStopReading, after the start
  Duration pause_from = Duration::max();   // reading stops...
  Duration pause_until = Duration::max();  // ...until (max: never resumes)
  tcp::TcpConfig tcp;
};

struct ConnDraw {
  size_t client_host = 0;
  bool simultaneous = false;
  uint16_t port = 0;         // the server's port
  uint16_t client_port = 0;  // simultaneous open only
  Duration start = Duration::zero();
  SideDraw side[2];  // [0] the client, [1] the server
};

struct PartitionDraw {
  enum Kind : uint8_t { kNone, kHeals, kForever };
  Kind kind = kNone;
  Duration from = Duration::max(), until = Duration::max();
};

enum Forgery : uint8_t {
  kBlindRst,     // RST far outside the window
  kRstInWindow,  // RST in the window, not at RCV.NXT (RFC 5961 §3.2)
  kSyn,          // SYN in a synchronized state (RFC 5961 §4.2)
  kDataBadAck,   // data in the window, ACK not acceptable (RFC 5961 §5.2), TSval far ahead
  kPoisonedTs,   // pure ACK at RCV.NXT, bad ACK, TSval far ahead (issue 12 hole 1)
  kPawsOld,      // data in the window, good ACK, TSval older than TS.Recent (RFC 7323 §5)
  kNoAck,        // data in the window without ACK (RFC 9293 §3.10.7.4 step 5)
  kBlindData,    // random sequence and acknowledgement numbers
  kIcmp,         // unreachable of every code and frag-needed, quoting data in flight
  kOffPath,      // sim::Attacker's forgeries (src/sim/attacker.hpp), guessed window or blind
  kForgeries,
};
constexpr const char* kForgeryNames[kForgeries] = {
    "blind-rst", "rst-in-window", "syn",        "data-bad-ack", "poisoned-ts",
    "paws-old",  "no-ack",        "blind-data", "icmp",         "attacker"};

struct AttackDraw {
  bool on = false;
  uint32_t budget = 0;
  double per_packet = 0;
  Duration from = Duration::max(), until = Duration::max();
  uint32_t kinds = 0;  // bit per Forgery
  uint32_t syn_flood = 0;
  Duration flood_at = Duration::max();
};

struct Draw {
  std::string profile;
  LinkConfig link[2];  // [h]: from host h
  PartitionDraw partition;
  std::vector<ConnDraw> conns;
  AttackDraw attack;
  size_t syn_backlog = 256;
  bool syn_cookies = true;
  Duration limit;
};

// --- What one connection may live, from its configuration -----------------

// An upper bound on how long a connection with something to say lives once
// its peer is gone for good (docs/liveness.md): the longest of every
// mechanism that can end it, each taken at its slowest (every RTO at
// rto.max), plus two RTOs for where each clock starts.
Duration liveness_bound(const tcp::TcpConfig& c, uint32_t synack_retries) {
  const Duration rto = c.rto_max;
  Duration data;
  if (c.user_timeout > Duration::zero()) {
    data = c.user_timeout;  // replaces R2 for data (RFC 5482 §3)
  } else if (c.retries_data_time > Duration::zero()) {
    data = c.retries_data_time;
  } else {
    data = rto * (static_cast<int64_t>(c.retries_data) + 1);
  }
  Duration b = data;
  b = std::max(b, rto * (static_cast<int64_t>(c.retries_syn + c.syn_linear_timeouts) + 1));
  b = std::max(b, c.retries_syn_time);
  b = std::max(b, rto * (static_cast<int64_t>(synack_retries) + 1));
  if (c.keepalive) {
    Duration ka = c.keepalive_idle + c.keepalive_interval * c.keepalive_count;
    if (c.user_timeout > Duration::zero())
      ka = std::max(ka, c.keepalive_idle + c.user_timeout + c.keepalive_interval);
    b = std::max(b, ka);
  }
  b = std::max(b, c.msl * 2);
  b = std::max(b, c.fin_wait2_timeout);
  return b + rto * 2;
}

// Settings under which no connection should die while its peer answers
// over a link losing at most kAnsweringLoss: every limit allows at least
// 6 losses of the same segment or probe in a row (0.06^6 ~ 5e-8).
bool robust(const tcp::TcpConfig& c) {
  if (c.user_timeout > Duration::zero() && c.user_timeout < Duration::seconds(120)) return false;
  // With a user timeout keepalive ignores its count (Linux): one lost probe
  // kills once the peer has been silent for the user timeout, so the user
  // timeout must leave room for 6 probes after the idle time.
  if (c.keepalive && c.user_timeout > Duration::zero() &&
      c.user_timeout < c.keepalive_idle + c.keepalive_interval * 6)
    return false;
  if (c.keepalive &&
      (c.keepalive_count < 6 ||
       c.keepalive_idle + c.keepalive_interval * c.keepalive_count < Duration::seconds(120)))
    return false;
  return c.retries_data >= 8 && c.retries_data_time == Duration::zero();
}
// Per direction, loss plus corruption (a flipped bit fails the checksum):
// a segment and its ACK both get through with probability >= 0.94.
constexpr double kAnsweringLoss = 0.03;
// A healed partition shorter than this leaves every robust limit (>= 120 s)
// at least 5 more tries after it heals.
constexpr Duration kAnsweringOutage = Duration::millis(1800);

// --- Drawing ----------------------------------------------------------------

Duration uniform_ms(util::Rng& r, int64_t lo, int64_t hi) {
  return Duration::millis(lo + static_cast<int64_t>(r.uniform(static_cast<uint64_t>(hi - lo + 1))));
}

// Log-uniform-ish: a value from a short table of magnitudes.
template <typename T, size_t N>
T pick(util::Rng& r, const T (&table)[N]) {
  return table[r.uniform(N)];
}

LinkConfig draw_link(util::Rng& r) {
  LinkConfig l;
  static constexpr int64_t kDelays[] = {1, 2, 5, 10, 20, 50, 100, 200};
  // One draw per statement: the order of operands (and of arguments) is
  // unspecified in C++, and g++ and clang differ, so two draws in one
  // expression would give a seed different worlds under each.
  l.delay = Duration::millis(pick(r, kDelays));
  l.delay += uniform_ms(r, 0, 5);
  static constexpr uint64_t kRates[] = {0, 0, 256'000, 1'000'000, 10'000'000, 100'000'000};
  l.rate_bps = pick(r, kRates);
  static constexpr size_t kQueues[] = {0, 16 * 1024, 64 * 1024, 256 * 1024};
  l.queue_limit_bytes = pick(r, kQueues);
  l.loss = r.chance(0.4) ? 0.0 : r.next_double() * 0.30;
  l.reorder = r.chance(0.5) ? 0.0 : r.next_double() * 0.10;
  l.reorder_extra = uniform_ms(r, 1, 50);
  l.duplicate = r.chance(0.6) ? 0.0 : r.next_double() * 0.05;
  l.corrupt = r.chance(0.7) ? 0.0 : r.next_double() * 0.02;
  return l;
}

tcp::TcpConfig draw_tcp(util::Rng& r, const std::string& profile) {
  tcp::TcpConfig c;
  tcp::TcpConfig::from_profile(profile, &c);
  static constexpr uint16_t kMss[] = {536, 1000, 1200, 1460};
  c.mss = pick(r, kMss);
  static constexpr uint32_t kBufs[] = {4096, 16384, 65536, 262144};
  c.send_buffer = pick(r, kBufs);
  c.recv_buffer = pick(r, kBufs);
  // Autotuning (the linux profile's) up to 4 times the start, so that it
  // runs and the memory bound stays tight; no draw of its own, so every
  // seed keeps the rest of its scenario.
  if (c.send_buffer_max != 0) c.send_buffer_max = 4 * c.send_buffer;
  if (c.recv_buffer_max != 0) c.recv_buffer_max = 4 * c.recv_buffer;
  c.timestamps = r.chance(0.85);
  c.sack = r.chance(0.85);
  c.window_scaling = r.chance(0.85);
  c.nodelay = r.chance(0.3);
  if (r.chance(0.3)) {
    c.keepalive = true;
    c.keepalive_idle = Duration::seconds(10 + static_cast<int64_t>(r.uniform(890)));
    c.keepalive_interval = Duration::seconds(1 + static_cast<int64_t>(r.uniform(75)));
    c.keepalive_count = 1 + static_cast<uint32_t>(r.uniform(9));
  }
  if (r.chance(0.25)) c.user_timeout = Duration::seconds(5 + static_cast<int64_t>(r.uniform(1195)));
  if (profile == "rfc" && r.chance(0.2)) c.liveness_deadline = false;
  return c;
}

SideDraw draw_side(util::Rng& r, const std::string& profile) {
  SideDraw s;
  static constexpr uint64_t kBytes[] = {0, 0, 1, 1000, 20'000, 100'000, 150'000};
  s.bytes = pick(r, kBytes);
  if (s.bytes > 1000) s.bytes += r.uniform(1000);
  s.send_from = r.chance(0.7) ? Duration::zero() : uniform_ms(r, 0, 5000);
  static constexpr CloseMode kModes[] = {
      CloseMode::kAfterSend, CloseMode::kAfterSend, CloseMode::kOnEof,      CloseMode::kOrphan,
      CloseMode::kNever,     CloseMode::kAbort,     CloseMode::kStopReading};
  s.close = pick(r, kModes);
  if (s.close == CloseMode::kAbort || s.close == CloseMode::kStopReading)
    s.abort_after = uniform_ms(r, 0, 20'000);
  if (r.chance(0.3)) {  // a slow reader: zero windows
    s.pause_from = uniform_ms(r, 0, 3000);
    s.pause_until = r.chance(0.2) ? Duration::max() : s.pause_from + uniform_ms(r, 100, 120'000);
  }
  s.tcp = draw_tcp(r, profile);
  return s;
}

Draw draw_world(uint64_t seed) {
  util::Rng r(seed);
  Draw d;
  d.profile = r.chance(0.5) ? "rfc" : "linux";
  d.link[0] = draw_link(r);
  d.link[1] = r.chance(0.5) ? d.link[0] : draw_link(r);
  const uint64_t p = r.uniform(4);
  if (p == 1) {
    d.partition.kind = PartitionDraw::kHeals;
    d.partition.from = uniform_ms(r, 0, 20'000);
    d.partition.until = d.partition.from +
                        (r.chance(0.5) ? uniform_ms(r, 100, 1800) : uniform_ms(r, 1800, 120'000));
  } else if (p == 2) {
    d.partition.kind = PartitionDraw::kForever;
    d.partition.from = uniform_ms(r, 0, 20'000);
  }
  const size_t n = 1 + r.uniform(3);
  for (size_t i = 0; i < n; ++i) {
    ConnDraw c;
    c.client_host = r.uniform(2);
    c.simultaneous = r.chance(0.1);
    c.port = static_cast<uint16_t>(47001 + i);
    c.client_port = static_cast<uint16_t>(47101 + i);
    c.start = uniform_ms(r, 0, 2000);
    c.side[0] = draw_side(r, d.profile);
    c.side[1] = draw_side(r, d.profile);
    for (int s = 0; s < 2; ++s) {
      // An orphan reads nothing more: only for a side expecting no data.
      if (c.side[s].close == CloseMode::kOrphan && c.side[1 - s].bytes > 0)
        c.side[s].close = CloseMode::kAfterSend;
    }
    d.conns.push_back(c);
  }
  if (r.chance(0.5)) {
    AttackDraw& a = d.attack;
    a.on = true;
    a.budget = 10 + static_cast<uint32_t>(r.uniform(300));
    a.per_packet = 0.05 + r.next_double() * 0.5;
    a.from = uniform_ms(r, 0, 3000);
    a.until = a.from + uniform_ms(r, 1000, 600'000);
    while (a.kinds == 0) a.kinds = static_cast<uint32_t>(r.uniform(1u << kForgeries));
    if (r.chance(0.3)) {
      a.syn_flood = 1 + static_cast<uint32_t>(r.uniform(100));  // below the cap
      a.flood_at = uniform_ms(r, 0, 3000);
    }
  }
  static constexpr size_t kBacklogs[] = {4, 16, 256};
  d.syn_backlog = pick(r, kBacklogs);
  d.syn_cookies = r.chance(0.8);
  Duration bound = Duration::zero();
  for (const auto& c : d.conns)
    for (const auto& s : c.side) bound = std::max(bound, liveness_bound(s.tcp, 5));
  const Duration last_start = d.partition.kind == PartitionDraw::kNone
                                  ? Duration::seconds(30)
                                  : std::max(Duration::seconds(30), d.partition.from);
  d.limit = last_start + bound + Duration::seconds(300);
  return d;
}

// --- The applications -------------------------------------------------------

class Peer : public App {
 public:
  Peer(World& w, size_t host, const ConnDraw& c, int role, uint64_t send_seed, uint64_t expect_seed)
      : w_(w),
        host_(host),
        c_(c),
        role_(role),
        s_(c.side[role]),
        out_(send_seed),
        expect_(expect_seed),
        chunk_(4096),
        buf_(16384),
        want_(16384) {
    chunk_pos_ = chunk_.size();
  }

  void poll(Instant now) override;
  Instant next_wake() const override;
  bool done() const override { return closed_; }

  stack::Stack& stack() { return w_.host(host_).stack(); }
  const tcp::Connection* conn() { return id_ ? stack().connection(*id_) : nullptr; }

  World& w_;
  size_t host_;
  const ConnDraw& c_;
  int role_;
  const SideDraw& s_;
  Pattern out_, expect_;
  std::vector<uint8_t> chunk_;
  size_t chunk_pos_ = 0;
  std::vector<uint8_t> buf_, want_;
  std::optional<stack::ConnId> id_;
  bool started_ = false;
  std::string open_error;
  uint64_t sent = 0, received = 0;
  int64_t mismatch_at = -1;  // first byte read that is not the peer's pattern
  bool eof = false;
  bool closed_ = false;
  bool abortive = false;  // abort() or close(2) with the read side shut
  bool graceful = false;  // close() or an orphan close
  Instant last_action = Instant::zero();
  FuzzFault fault = FuzzFault::kNone;
  bool faulted = false;

 private:
  Instant at(Duration d) const { return Instant::zero() + c_.start + d; }
  Instant last_now_;
};

void Peer::poll(Instant now) {
  last_now_ = now;
  stack::Stack& st = stack();
  const bool connects = role_ == 0 || c_.simultaneous;
  if (!started_ && now >= Instant::zero() + c_.start) {
    started_ = true;
    if (connects) {
      stack::OpenError err;
      const tcp::Endpoint remote{kAddr[1 - host_], role_ == 0 ? c_.port : c_.client_port};
      const uint16_t local = c_.simultaneous ? (role_ == 0 ? c_.client_port : c_.port) : 0;
      id_ = st.connect(now, remote, &err, &s_.tcp, local);
      if (!id_) open_error = err.message;
      last_action = now;
    }
  }
  if (!started_) return;
  if (!id_ && !connects) id_ = st.accept(c_.port);
  if (!id_) return;
  const tcp::Connection* c = st.connection(*id_);
  if (!c) return;

  while (now >= at(s_.send_from) && sent < s_.bytes && !closed_) {
    if (chunk_pos_ == chunk_.size()) {
      out_.fill(chunk_);
      chunk_pos_ = 0;
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(s_.bytes - sent, chunk_.size() - chunk_pos_));
    const size_t n = st.send(now, *id_, std::span<const uint8_t>(&chunk_[chunk_pos_], want));
    if (n == 0) break;
    chunk_pos_ += n;
    sent += n;
    last_action = now;
  }

  const bool paused = now >= at(s_.pause_from) && now < at(s_.pause_until);
  if (!paused && !(closed_ && abortive)) {
    for (;;) {
      const size_t n = st.recv(now, *id_, buf_);
      if (n == 0) break;
      if (fault == FuzzFault::kFlipReadByte && !faulted) {
        buf_[0] ^= 1;
        faulted = true;
      }
      expect_.fill(std::span<uint8_t>(want_.data(), n));
      if (mismatch_at < 0 && std::memcmp(want_.data(), buf_.data(), n) != 0) {
        size_t k = 0;
        while (want_[k] == buf_[k]) ++k;
        mismatch_at = static_cast<int64_t>(received + k);
      }
      received += n;
    }
    if (c->peer_closed() && c->recv_available() == 0 && !eof) {
      eof = true;
      if (fault == FuzzFault::kLoseTail && !faulted && received > 0) {
        --received;
        faulted = true;
      }
    }
  }

  const tcp::State state = c->state();
  const bool over = state == tcp::State::kClosed || state == tcp::State::kTimeWait;
  if (!closed_ && !over && (s_.close == CloseMode::kAbort || s_.close == CloseMode::kStopReading) &&
      now >= at(s_.abort_after)) {
    closed_ = true;
    abortive = true;
    last_action = now;
    if (s_.close == CloseMode::kAbort) {
      st.abort(now, *id_);
    } else {
      st.close_and_stop_reading(now, *id_);
    }
    return;
  }
  if (closed_ || over || !c->established_once()) return;
  const bool all_sent = sent >= s_.bytes;
  bool close = false;
  switch (s_.close) {
    case CloseMode::kAfterSend:
    case CloseMode::kOrphan:
      close = all_sent;
      break;
    case CloseMode::kOnEof:
      close = all_sent && eof;
      break;
    default:
      break;
  }
  if (close) {
    closed_ = true;
    graceful = true;
    last_action = now;
    if (s_.close == CloseMode::kOrphan) {
      st.close_orphan(now, *id_);
    } else {
      st.close(now, *id_);
    }
  }
}

Instant Peer::next_wake() const {
  Instant next = Instant::never();
  auto consider = [&](Instant t) {
    if (t > last_now_) next = std::min(next, t);
  };
  if (!started_) return Instant::zero() + c_.start;
  if (sent < s_.bytes) consider(at(s_.send_from));
  if (s_.pause_from != Duration::max()) consider(at(s_.pause_from));
  if (s_.pause_until != Duration::max()) consider(at(s_.pause_until));
  if (!closed_ && s_.abort_after != Duration::max()) consider(at(s_.abort_after));
  return next;
}

// --- The run and its checks -------------------------------------------------

class Runner {
 public:
  Runner(uint64_t seed, const FuzzOptions& opt)
      : seed_(seed),
        opt_(opt),
        d_(draw_world(seed)),
        world_(seed ^ 0x5eedf00dULL),
        arng_(seed ^ 0xa77ac4ULL) {}
  FuzzSeedResult run();

 private:
  void fail(const char* invariant, std::string detail);
  Peer* find_peer(size_t host, const wire::TcpView& t, wire::Ipv4Addr src);
  void on_delivery(Instant now, size_t to, std::span<const uint8_t> pkt, bool after);
  bool attack(Instant now, size_t from, std::vector<uint8_t>& pkt);
  void forge(Instant now, size_t victim_host, Peer& victim);
  void forge_off_path(Instant now, size_t victim_host, Peer& victim);
  void deliver_forged_tcp(Instant now, size_t v, Peer& victim, std::span<const uint8_t> pkt,
                          const char* what);
  void deliver_forged_icmp(Instant now, size_t v, Peer& victim, std::span<const uint8_t> pkt,
                           uint8_t code, uint16_t mtu, uint32_t quoted_seq);
  void flood(Instant now);
  void check_memory(size_t host);
  void final_checks(FuzzSeedResult& r);
  std::string describe() const;
  tcp::TcpConfig stack_config(tcp::TcpConfig c) const;

  uint64_t seed_;
  FuzzOptions opt_;
  Draw d_;
  World world_;
  util::Rng arng_;  // the attacker's choices
  std::vector<Peer*> peers_;
  std::map<const Peer*, std::unique_ptr<Attacker>> attackers_;  // one per victim, made on demand
  std::vector<FuzzFailure> failures_;
  uint32_t attack_left_ = 0;
  uint64_t injected_ = 0, packets_ = 0;
  bool forged_accept_done_ = false;
  bool flooded_ = false;
  size_t per_conn_bytes_ = 0;
  // The connection a delivered segment is for, as it was before.
  struct Before {
    Peer* peer = nullptr;
    stack::ConnId id = 0;
    tcp::StateDigest digest;
    uint64_t dropped = 0;
    tcp::State state = tcp::State::kClosed;
    bool fin = false;
  } before_;
};

void Runner::fail(const char* invariant, std::string detail) {
  // The first failure of each invariant is enough to replay the seed.
  for (const auto& f : failures_)
    if (f.invariant == invariant) return;
  failures_.push_back({seed_, invariant, std::move(detail)});
}

tcp::TcpConfig Runner::stack_config(tcp::TcpConfig c) const {
  for (const auto& b : opt_.bugs) apply_scenario_bug(b, &c);
  if (opt_.fault == FuzzFault::kImmortal) {
    c.retries_data = 1'000'000;
    c.user_timeout = Duration::zero();
    c.keepalive = false;
    c.liveness_deadline = false;
    c.msl = Duration::seconds(1'000'000);
  }
  if (opt_.fault == FuzzFault::kFragile) c.user_timeout = Duration::millis(1);
  return c;
}

Peer* Runner::find_peer(size_t host, const wire::TcpView& t, wire::Ipv4Addr src) {
  for (Peer* p : peers_) {
    if (p->host_ != host || !p->id_) continue;
    const tcp::Connection* c = p->conn();
    if (c && c->state() != tcp::State::kClosed && c->tuple().local.port == t.dst_port() &&
        c->tuple().remote.port == t.src_port() && c->tuple().remote.addr == src)
      return p;
  }
  return nullptr;
}

std::string conn_name(const Peer& p) {
  return fmt("conn %zu %s (host %zu)", static_cast<size_t>(p.c_.port - 47001),
             p.role_ == 0 ? "client" : "server", p.host_);
}

void Runner::check_memory(size_t host) {
  const stack::Stack& s = world_.host(host).stack();
  const size_t n = s.allocated_connections();
  if (n > kStackCap)
    fail(kInvMemory,
         fmt("host %zu holds %zu connections, above the cap of %zu", host, n, kStackCap));
  size_t bound = n * per_conn_bytes_;
  if (opt_.fault == FuzzFault::kMemoryCap) bound /= 1000;
  if (s.held_bytes() > bound)
    fail(kInvMemory, fmt("host %zu holds %zu bytes for %zu connections (bound %zu: each "
                         "connection plus its send and receive buffers)",
                         host, s.held_bytes(), n, bound));
}

void Runner::on_delivery(Instant now, size_t to, std::span<const uint8_t> pkt, bool after) {
  if (!after) {
    ++packets_;
    if (opt_.fault == FuzzFault::kCheckAbort && packets_ == 1) {
      std::fprintf(stderr, "vigil sim fuzz: deliberate internal check failure (--fault)\n");
      std::abort();
    }
    before_.peer = nullptr;
    wire::PacketView v;
    if (wire::parse_packet(pkt, &v) != wire::Drop::kNone ||
        v.kind != wire::PacketView::Kind::kTcp || v.ip.dst() != kAddr[to])
      return;
    Peer* p = find_peer(to, v.tcp, v.ip.src());
    if (!p) return;
    const tcp::Connection* c = p->conn();
    before_.peer = p;
    before_.id = *p->id_;
    before_.digest = c->state_digest();
    before_.dropped = c->stats().segments_dropped;
    before_.state = c->state();
    before_.fin = v.tcp.has(wire::tcp_flags::kFin);
    return;
  }
  check_memory(to);
  if (!before_.peer) return;
  const tcp::Connection* c = world_.host(to).stack().connection(before_.id);
  before_.peer = nullptr;
  if (!c) return;
  // RFC 9293 §3.10.7.4 lets a FIN retransmitted into TIME-WAIT restart 2 MSL.
  const bool exempt = before_.state == tcp::State::kTimeWait && before_.fin;
  if (c->stats().segments_dropped != before_.dropped && !exempt) {
    tcp::StateDigest b = before_.digest;
    if (opt_.fault == FuzzFault::kRejectedChanges && !b.fields.empty()) b.fields[0].second ^= 1;
    const tcp::StateDigest a = c->state_digest();
    if (!(a == b))
      fail(kInvRejectedSegment,
           fmt("at %.6f s a segment host %zu rejected changed its connection:\n", now.secs(), to) +
               b.diff(a));
  }
  // The sequence variables' order (RFC 9293 §3.3.1), whatever arrived.
  if (c->state() != tcp::State::kClosed && c->state() != tcp::State::kListen) {
    if (!tcp::seq_le(c->snd_una(), c->snd_nxt()) || !tcp::seq_le(c->iss(), c->snd_una()))
      fail(kInvInternal, fmt("at %.6f s host %zu: SND.UNA %u, SND.NXT %u, ISS %u out of order",
                             now.secs(), to, c->snd_una(), c->snd_nxt(), c->iss()));
    // The buffer now (autotuning may have grown it), within its cap.
    const size_t rcv_cap = c->recv_buffer_size();
    if (c->recv_available() > rcv_cap ||
        rcv_cap > std::max(c->config().recv_buffer, c->config().recv_buffer_max))
      fail(kInvInternal, fmt("at %.6f s host %zu: %zu bytes readable, above the %zu-byte buffer",
                             now.secs(), to, c->recv_available(), rcv_cap));
  }
}

bool synchronized_for_attack(tcp::State s) {
  // SYN-RECEIVED answers bad ACKs with a RST and TIME-WAIT may take a SYN
  // as a new incarnation (RFC 6191): both are left out.
  return s == tcp::State::kEstablished || s == tcp::State::kFinWait1 ||
         s == tcp::State::kFinWait2 || s == tcp::State::kCloseWait || s == tcp::State::kClosing ||
         s == tcp::State::kLastAck;
}

void Runner::forge(Instant now, size_t v, Peer& victim) {
  const tcp::Connection& c = *victim.conn();
  const tcp::StateDigest dg = c.state_digest();
  const uint32_t rcv_nxt = c.rcv_nxt(), wnd = c.rcv_wnd();
  const uint32_t snd_una = c.snd_una();
  const auto snd_max = static_cast<uint32_t>(dg.value("snd_max"));
  const auto max_snd_wnd = static_cast<uint32_t>(dg.value("max_snd_wnd"));
  const auto ts_recent = static_cast<uint32_t>(dg.value("ts_recent"));
  const bool ts = c.timestamps_enabled() && dg.value("ts_recent_valid") == 1;

  std::vector<Forgery> kinds;
  for (uint8_t k = 0; k < kForgeries; ++k)
    if (d_.attack.kinds & (1u << k)) kinds.push_back(static_cast<Forgery>(k));
  Forgery kind = kinds[arng_.uniform(kinds.size())];
  if (c.state() == tcp::State::kTimeWait && kind == kSyn) kind = kBlindRst;
  if ((kind == kPawsOld || kind == kPoisonedTs) && !ts) kind = kDataBadAck;
  const bool accept_fault =
      opt_.fault == FuzzFault::kAcceptForged && !forged_accept_done_ && wnd > 0 && kind != kIcmp;

  wire::Ipv4Fields ip;
  ip.src = c.tuple().remote.addr;
  ip.dst = c.tuple().local.addr;
  ip.ttl = kForgedTtl;
  wire::TcpFields f;
  f.src_port = c.tuple().remote.port;
  f.dst_port = c.tuple().local.port;
  f.window = static_cast<uint16_t>(arng_.uniform(65536));
  wire::TcpOptions o;
  uint8_t payload[100];
  size_t len = 0;
  const uint32_t far = 1 + static_cast<uint32_t>(arng_.uniform(1u << 30));
  auto bad_ack = [&] {
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
    return arng_.chance(0.5) ? snd_max + far : snd_una - max_snd_wnd - far;
  };
  auto in_window = [&](size_t n) {
    if (wnd == 0) return rcv_nxt;
    return rcv_nxt + static_cast<uint32_t>(arng_.uniform(
                         std::max<uint64_t>(1, wnd - std::min<uint32_t>(wnd, n) + 1)));
  };
  if (kind == kOffPath && !accept_fault) {
    forge_off_path(now, v, victim);
    return;
  }
  const char* what = kForgeryNames[kind];
  if (accept_fault) {
    // An acceptable segment: data at RCV.NXT with a good ACK and timestamp.
    what = "acceptable-data (fault)";
    len = std::min<size_t>(wnd, 20);
    f.seq = rcv_nxt;
    f.ack = snd_una;
    f.flags = wire::tcp_flags::kAck;
    if (ts) {
      o.has_timestamps = true;
      o.ts_val = ts_recent + 1;
    }
    forged_accept_done_ = true;
  } else {
    switch (kind) {
      case kBlindRst:
        f.seq = rcv_nxt + wnd + far;
        f.flags = wire::tcp_flags::kRst;
        break;
      case kRstInWindow:
        if (wnd < 2) {
          f.seq = rcv_nxt + wnd + far;
        } else {
          f.seq = rcv_nxt + 1 + static_cast<uint32_t>(arng_.uniform(wnd - 1));
        }
        f.flags = wire::tcp_flags::kRst;
        if (arng_.chance(0.5)) {
          f.flags |= wire::tcp_flags::kAck;
          f.ack = snd_una;
        }
        break;
      case kSyn:
        f.seq = arng_.chance(0.5) ? in_window(1) : arng_.next_u32();
        f.flags = wire::tcp_flags::kSyn;
        break;
      case kDataBadAck:
      case kPoisonedTs:
        len = kind == kDataBadAck && wnd > 0 ? 1 + arng_.uniform(std::min<uint32_t>(wnd, 100)) : 0;
        f.seq = kind == kPoisonedTs ? rcv_nxt : in_window(len);
        f.ack = bad_ack();
        f.flags = wire::tcp_flags::kAck;
        if (ts || kind == kPoisonedTs) {
          o.has_timestamps = true;
          o.ts_val = ts_recent + (1u << 30);  // far ahead: would wedge PAWS if taken
        }
        break;
      case kPawsOld:
        len = wnd > 0 ? 1 + arng_.uniform(std::min<uint32_t>(wnd, 100)) : 0;
        f.seq = in_window(len);
        f.ack = snd_una;
        f.flags = wire::tcp_flags::kAck;
        o.has_timestamps = true;
        o.ts_val = ts_recent - far;
        break;
      case kNoAck:
        len = wnd > 0 ? 1 + arng_.uniform(std::min<uint32_t>(wnd, 100)) : 1;
        f.seq = in_window(len);
        f.flags = wire::tcp_flags::kPsh;
        break;
      case kBlindData: {
        len = 1 + arng_.uniform(100);
        f.seq = arng_.next_u32();
        f.ack = arng_.next_u32();
        f.flags = wire::tcp_flags::kAck;
        // A blind guess that lands in the window with an acceptable ACK is
        // RFC-acceptable data (odds ~2^-40 per try): not an invariant's business.
        const bool seq_near = tcp::seq_in(f.seq, rcv_nxt - 200, rcv_nxt + wnd + 200);
        const bool ack_near = tcp::seq_in(f.ack, snd_una - max_snd_wnd - 1, snd_max + 1);
        if (seq_near && ack_near) return;
        break;
      }
      case kIcmp: {
        // Quote a segment of ours, in flight when there is one.
        wire::Ipv4Fields qip;
        qip.src = c.tuple().local.addr;
        qip.dst = c.tuple().remote.addr;
        wire::TcpFields q;
        q.src_port = c.tuple().local.port;
        q.dst_port = c.tuple().remote.port;
        q.seq = snd_max != snd_una
                    ? snd_una + static_cast<uint32_t>(arng_.uniform(snd_max - snd_una))
                    : arng_.next_u32();
        q.ack = rcv_nxt;
        q.flags = wire::tcp_flags::kAck;
        uint8_t quoted[64];
        const size_t qn = wire::build_ipv4_tcp(quoted, qip, q, wire::TcpOptions{});
        static constexpr uint8_t kCodes[] = {0, 1, 2, 3, 4, 4, 4, 9, 10, 13};
        const uint8_t code = pick(arng_, kCodes);
        const auto mtu = static_cast<uint16_t>(68 + arng_.uniform(1500 - 68));
        uint8_t icmp[128];
        const size_t n = wire::build_icmp_unreachable(icmp, wire::Ipv4Addr::of(10, 9, 9, 9), code,
                                                      mtu, std::span<const uint8_t>(quoted, qn));
        if (n == 0) return;
        deliver_forged_icmp(now, v, victim, std::span<const uint8_t>(icmp, n), code, mtu, q.seq);
        return;
      }
      default:
        return;
    }
  }
  for (size_t i = 0; i < len; ++i) payload[i] = 0xEE;  // never the pattern's run
  uint8_t out[256];
  const size_t n = wire::build_ipv4_tcp(out, ip, f, o, std::span<const uint8_t>(payload, len));
  if (n == 0) return;
  deliver_forged_tcp(now, v, victim, std::span<const uint8_t>(out, n), what);
}

void Runner::deliver_forged_icmp(Instant now, size_t v, Peer& victim, std::span<const uint8_t> pkt,
                                 uint8_t code, uint16_t mtu, uint32_t quoted_seq) {
  const stack::ConnId id = *victim.id_;
  const uint32_t mss = victim.conn()->config().mss;
  ++injected_;
  world_.deliver(v, pkt);
  const tcp::Connection* after = world_.host(v).stack().connection(id);
  if (after && (after->state() == tcp::State::kClosed || after->error().err != 0))
    fail(kInvDiesAnswering,
         fmt("at %.6f s a forged ICMP unreachable code %u quoting seq %u ended %s: %s", now.secs(),
             code, quoted_seq, conn_name(victim).c_str(), after->error().detail.c_str()));
  // Linux's min_pmtu (552) floors what frag-needed may do (issue 12 hole 3).
  if (after && after->send_mss() < 552 - 40 - 40 && after->send_mss() < mss)
    fail(kInvRejectedSegment,
         fmt("at %.6f s a forged frag-needed (MTU %u) took %s's MSS to %u, below the "
             "552-byte path MTU floor",
             now.secs(), mtu, conn_name(victim).c_str(), after->send_mss()));
}

void Runner::deliver_forged_tcp(Instant now, size_t v, Peer& victim, std::span<const uint8_t> pkt,
                                const char* what) {
  const tcp::Connection& c = *victim.conn();
  const tcp::StateDigest dg = c.state_digest();
  wire::PacketView pv;
  if (wire::parse_packet(pkt, &pv) != wire::Drop::kNone) return;
  const wire::TcpView& t = pv.tcp;
  const stack::ConnId id = *victim.id_;
  const uint64_t dropped = c.stats().segments_dropped;
  const uint32_t rcv_nxt = c.rcv_nxt(), wnd = c.rcv_wnd(), snd_una = c.snd_una();
  ++injected_;
  world_.deliver(v, pkt);
  const tcp::Connection* after = world_.host(v).stack().connection(id);
  if (!after || after->stats().segments_dropped == dropped)
    fail(kInvRejectedSegment,
         fmt("at %.6f s %s took a forged %s segment (seq %u, ack %u, flags 0x%02x, %zu bytes, "
             "TSval %u) that RFC 9293/5961/7323 say to reject: RCV.NXT %u, RCV.WND %u, "
             "SND.UNA %u, SND.MAX %u, TS.Recent %u",
             now.secs(), conn_name(victim).c_str(), what, t.seq(), t.ack(), t.flags(),
             t.payload().size(), t.options().ts_val, rcv_nxt, wnd, snd_una,
             static_cast<uint32_t>(dg.value("snd_max")),
             static_cast<uint32_t>(dg.value("ts_recent"))));
}

// Would RFC 9293/5961/7323 accept this segment (it would then legitimately
// change state)? Conservative: anything near acceptable counts.
bool rfc_acceptable(const tcp::Connection& c, const wire::TcpView& t) {
  const tcp::StateDigest dg = c.state_digest();
  const uint32_t rcv_nxt = c.rcv_nxt(), wnd = c.rcv_wnd();
  if (t.has(wire::tcp_flags::kRst)) return t.seq() == rcv_nxt;  // RFC 5961 §3.2
  if (t.has(wire::tcp_flags::kSyn)) return false;  // RFC 5961 §4.2: always a challenge
  if (!t.has(wire::tcp_flags::kAck)) return false;
  const auto snd_max = static_cast<uint32_t>(dg.value("snd_max"));
  const auto max_snd_wnd = static_cast<uint32_t>(dg.value("max_snd_wnd"));
  const bool ack_ok =
      tcp::seq_ge(t.ack(), c.snd_una() - max_snd_wnd) && tcp::seq_le(t.ack(), snd_max);
  const bool paws_fail =
      c.timestamps_enabled() && dg.value("ts_recent_valid") == 1 && t.options().has_timestamps &&
      tcp::seq_lt(t.options().ts_val, static_cast<uint32_t>(dg.value("ts_recent")));
  const uint32_t len = std::max<uint32_t>(t.seg_len(), 1);
  const bool seq_ok = tcp::seq_in(t.seq(), rcv_nxt, rcv_nxt + wnd + 1) ||
                      tcp::seq_in(t.seq() + len - 1, rcv_nxt, rcv_nxt + wnd + 1);
  return ack_ok && !paws_fail && seq_ok;
}

void Runner::forge_off_path(Instant now, size_t v, Peer& victim) {
  const tcp::Connection& c = *victim.conn();
  std::unique_ptr<Attacker>& a = attackers_[&victim];
  if (!a) {
    AttackerConfig cfg;
    cfg.victim_host = v;
    cfg.tuple = c.tuple();
    cfg.timestamps = c.timestamps_enabled();
    a = std::make_unique<Attacker>(world_, cfg, arng_.fork());
  }
  const auto k = static_cast<AttackKind>(arng_.uniform(kAttackKinds));
  std::optional<WindowGuess> g;
  if (arng_.chance(0.8)) g = guess_from(c);  // the rest blind
  uint8_t out[256];
  const size_t n = a->forge(k, g, out);
  wire::PacketView pv;
  if (n == 0 || wire::parse_packet(std::span<const uint8_t>(out, n), &pv) != wire::Drop::kNone)
    return;
  const std::span<const uint8_t> pkt(out, n);
  if (pv.kind == wire::PacketView::Kind::kIcmpUnreachable) {
    deliver_forged_icmp(now, v, victim, pkt, pv.icmp.code(), pv.icmp.next_hop_mtu(),
                        pv.icmp.quoted_seq());
    return;
  }
  // A blind guess that lands as an acceptable segment is not the RFCs' to
  // stop (odds ~2^-40 for data): left out.
  if (rfc_acceptable(c, pv.tcp)) return;
  deliver_forged_tcp(now, v, victim, pkt, attack_kind_name(k));
}

bool Runner::attack(Instant now, size_t from, std::vector<uint8_t>& pkt) {
  const AttackDraw& a = d_.attack;
  if (attack_left_ == 0 || now < Instant::zero() + a.from || now >= Instant::zero() + a.until ||
      !arng_.chance(a.per_packet))
    return true;
  // The attacker sits on the receiver's wire, sees this segment's 4-tuple
  // and (the worst case for the RFC 5961 checks) the receiver's window.
  const size_t v = 1 - from;
  wire::PacketView pv;
  if (wire::parse_packet(pkt, &pv) != wire::Drop::kNone || pv.kind != wire::PacketView::Kind::kTcp)
    return true;
  Peer* victim = find_peer(v, pv.tcp, pv.ip.src());
  if (!victim || !synchronized_for_attack(victim->conn()->state())) return true;
  --attack_left_;
  forge(now, v, *victim);
  return true;
}

void Runner::flood(Instant now) {
  // Spoofed SYNs from unroutable sources at each listener (RFC 4987).
  flooded_ = true;
  for (uint32_t i = 0; i < d_.attack.syn_flood; ++i) {
    const ConnDraw& c = d_.conns[arng_.uniform(d_.conns.size())];
    if (c.simultaneous) continue;
    const size_t server = 1 - c.client_host;
    wire::Ipv4Fields ip;
    const auto b3 = static_cast<uint8_t>(arng_.uniform(256));  // one draw per statement
    const auto b4 = static_cast<uint8_t>(1 + arng_.uniform(254));
    ip.src = wire::Ipv4Addr::of(198, 18, b3, b4);
    ip.dst = kAddr[server];
    ip.ttl = kForgedTtl;
    wire::TcpFields f;
    f.src_port = static_cast<uint16_t>(1024 + arng_.uniform(60000));
    f.dst_port = c.port;
    f.seq = arng_.next_u32();
    f.flags = wire::tcp_flags::kSyn;
    f.window = 65535;
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    uint8_t out[128];
    const size_t n = wire::build_ipv4_tcp(out, ip, f, o);
    ++injected_;
    world_.deliver(server, std::span<const uint8_t>(out, n));
  }
  (void)now;
}

// An app that only wakes the flood at its time.
class FloodApp : public App {
 public:
  FloodApp(Instant at, std::function<void(Instant)> go) : at_(at), go_(std::move(go)) {}
  void poll(Instant now) override {
    if (!done_ && now >= at_) {
      done_ = true;
      go_(now);
    }
  }
  Instant next_wake() const override { return done_ ? Instant::never() : at_; }
  bool done() const override { return done_; }

 private:
  Instant at_;
  std::function<void(Instant)> go_;
  bool done_ = false;
};

std::string Runner::describe() const {
  std::string s;
  s += fmt("profile %s; run limit %s\n", d_.profile.c_str(), secs(d_.limit).c_str());
  for (int h = 0; h < 2; ++h) {
    const LinkConfig& l = d_.link[h];
    s +=
        fmt("link %d->%d: delay %s, rate %s, queue %zu B, loss %.3f, reorder %.3f (+%s), "
            "duplicate %.3f, corrupt %.4f\n",
            h, 1 - h, secs(l.delay).c_str(),
            l.rate_bps ? fmt("%llu bit/s", static_cast<unsigned long long>(l.rate_bps)).c_str()
                       : "unlimited",
            l.queue_limit_bytes, l.loss, l.reorder, secs(l.reorder_extra).c_str(), l.duplicate,
            l.corrupt);
  }
  static constexpr const char* kPart[] = {"none", "heals", "forever"};
  s += fmt("partition: %s", kPart[d_.partition.kind]);
  if (d_.partition.kind != PartitionDraw::kNone)
    s +=
        fmt(" from %s until %s", secs(d_.partition.from).c_str(), secs(d_.partition.until).c_str());
  s += fmt("\nlisteners: syn_backlog %zu, syn cookies %s, cap %zu\n", d_.syn_backlog,
           d_.syn_cookies ? "on" : "off", kStackCap);
  for (size_t i = 0; i < d_.conns.size(); ++i) {
    const ConnDraw& c = d_.conns[i];
    s += fmt("conn %zu: %s, client host %zu, server port %u, start %s\n", i,
             c.simultaneous ? "simultaneous open" : "connect/accept", c.client_host, c.port,
             secs(c.start).c_str());
    for (int r = 0; r < 2; ++r) {
      const SideDraw& x = c.side[r];
      const tcp::TcpConfig& t = x.tcp;
      s += fmt("  %s: sends %llu bytes from +%s, %s", r == 0 ? "client" : "server",
               static_cast<unsigned long long>(x.bytes), secs(x.send_from).c_str(),
               close_name(x.close));
      if (x.abort_after != Duration::max()) s += fmt(" at +%s", secs(x.abort_after).c_str());
      if (x.pause_from != Duration::max())
        s += fmt(", stops reading +%s..+%s", secs(x.pause_from).c_str(),
                 secs(x.pause_until).c_str());
      s +=
          fmt("\n    mss %u, sndbuf %u (max %u), rcvbuf %u, ts %d, sack %d, wscale %d, nodelay %d, "
              "user_timeout %s, liveness_deadline %d",
              t.mss, t.send_buffer, t.send_buffer_max, t.recv_buffer, t.timestamps, t.sack,
              t.window_scaling, t.nodelay, secs(t.user_timeout).c_str(), t.liveness_deadline);
      if (t.keepalive)
        s += fmt(", keepalive %s/%s/%u", secs(t.keepalive_idle).c_str(),
                 secs(t.keepalive_interval).c_str(), t.keepalive_count);
      s += fmt("; liveness bound %s\n", secs(liveness_bound(t, 5)).c_str());
    }
  }
  const AttackDraw& a = d_.attack;
  if (a.on) {
    s += fmt("attacker: %u packets, %.2f per segment seen, %s..%s, kinds:", a.budget, a.per_packet,
             secs(a.from).c_str(), secs(a.until).c_str());
    for (uint8_t k = 0; k < kForgeries; ++k)
      if (a.kinds & (1u << k)) s += std::string(" ") + kForgeryNames[k];
    if (a.syn_flood) s += fmt("; SYN flood of %u at %s", a.syn_flood, secs(a.flood_at).c_str());
    s += "\n";
  } else {
    s += "attacker: none\n";
  }
  return s;
}

void Runner::final_checks(FuzzSeedResult& r) {
  const Instant end = world_.now();
  // Is every peer reachable and answering (the threshold in robust())?
  bool answering = d_.partition.kind == PartitionDraw::kNone ||
                   (d_.partition.kind == PartitionDraw::kHeals &&
                    d_.partition.until - d_.partition.from <= kAnsweringOutage);
  for (const auto& l : d_.link)
    if (l.loss + l.corrupt > kAnsweringLoss) answering = false;

  for (size_t i = 0; i < d_.conns.size(); ++i) {
    const ConnDraw& cd = d_.conns[i];
    Peer* side[2] = {peers_[2 * i], peers_[2 * i + 1]};
    const tcp::Connection* conn[2] = {side[0]->conn(), side[1]->conn()};
    const bool abortive = side[0]->abortive || side[1]->abortive;
    for (int s = 0; s < 2; ++s) {
      Peer& me = *side[s];
      Peer& peer = *side[1 - s];
      const tcp::Connection* c = conn[s];
      r.summary += fmt("conn %zu %s: ", i, s == 0 ? "client" : "server");
      if (c) {
        r.summary += fmt("%s, sent %llu, received %llu%s", tcp::state_name(c->state()).data(),
                         static_cast<unsigned long long>(me.sent),
                         static_cast<unsigned long long>(me.received), me.eof ? " + EOF" : "");
        if (c->error().err)
          r.summary += fmt(", %s (%s) at %.3f s", std::strerror(c->error().err),
                           tcp::reason_name(c->error().reason).data(), c->error().time.secs());
        for (size_t k = 0; k < static_cast<size_t>(tcp::TimerKind::kCount); ++k) {
          const Instant t = c->timer_deadline(static_cast<tcp::TimerKind>(k));
          if (!t.is_never())
            r.summary += fmt(", %s timer %.3f s",
                             tcp::timer_kind_name(static_cast<tcp::TimerKind>(k)).data(), t.secs());
        }
      } else {
        r.summary += me.open_error.empty() ? "no connection" : "connect failed: " + me.open_error;
      }
      r.summary += "\n";

      // Each delivered stream is a prefix of what was sent.
      if (me.mismatch_at >= 0)
        fail(kInvStreamPrefix, fmt("conn %zu: byte %lld the %s read is not what the %s sent", i,
                                   static_cast<long long>(me.mismatch_at),
                                   s == 0 ? "client" : "server", s == 0 ? "server" : "client"));
      if (me.received > peer.sent)
        fail(kInvStreamPrefix,
             fmt("conn %zu: the %s read %llu bytes, the %s wrote only %llu", i,
                 s == 0 ? "client" : "server", static_cast<unsigned long long>(me.received),
                 s == 0 ? "server" : "client", static_cast<unsigned long long>(peer.sent)));
      // A transfer both ends report successful is complete: the sender
      // closed and its connection ended cleanly, the receiver read EOF.
      const tcp::Connection* pc = conn[1 - s];
      const bool sender_ok =
          pc && peer.graceful && !peer.abortive && pc->error().err == 0 &&
          (pc->state() == tcp::State::kTimeWait || pc->state() == tcp::State::kClosed);
      const bool receiver_ok = c && me.eof && c->error().err == 0;
      if (sender_ok && receiver_ok && me.received != peer.sent)
        fail(kInvTransferComplete,
             fmt("conn %zu: both ends report success but the %s read %llu of the %llu bytes the "
                 "%s wrote",
                 i, s == 0 ? "client" : "server", static_cast<unsigned long long>(me.received),
                 static_cast<unsigned long long>(peer.sent), s == 0 ? "server" : "client"));
      if (!c) continue;

      // No connection outlives its liveness bound once its peer is gone.
      if (d_.partition.kind == PartitionDraw::kForever && c->state() != tcp::State::kClosed) {
        const tcp::StateDigest dg = c->state_digest();
        const tcp::State st = c->state();
        const tcp::TcpConfig& cfg = cd.side[s].tcp;
        const bool outstanding = st == tcp::State::kSynSent || st == tcp::State::kSynReceived ||
                                 st == tcp::State::kFinWait1 || st == tcp::State::kClosing ||
                                 st == tcp::State::kLastAck || st == tcp::State::kTimeWait ||
                                 dg.value("snd_una") != dg.value("snd_max") ||
                                 dg.value("snd_buf_size") > 0;
        const bool probing =
            cfg.keepalive && (st == tcp::State::kEstablished || st == tcp::State::kCloseWait ||
                              st == tcp::State::kFinWait2);
        const bool orphan_timer = c->orphaned() && st == tcp::State::kFinWait2 &&
                                  cfg.fin_wait2_timeout > Duration::zero();
        if (outstanding || probing || orphan_timer) {
          const Instant t0 =
              std::max({Instant::zero() + d_.partition.from, me.last_action, peer.last_action});
          const Duration bound = liveness_bound(cfg, 5);
          if (end - t0 > bound)
            fail(kInvLivenessBound,
                 fmt("conn %zu %s still %s at %.3f s: the peer has been unreachable since %.3f s "
                     "(last application call %.3f s), and its configuration bounds its life to %s",
                     i, s == 0 ? "client" : "server", tcp::state_name(st).data(), end.secs(),
                     d_.partition.from.secs(), t0.secs(), secs(bound).c_str()) +
                     fmt(" (SND.UNA %u, SND.NXT %u, SND.MAX %u, %lld bytes queued, SND.WND %u, "
                         "next timer %s)",
                         c->snd_una(), c->snd_nxt(), static_cast<uint32_t>(dg.value("snd_max")),
                         static_cast<long long>(dg.value("snd_buf_size")), c->snd_wnd(),
                         c->next_deadline().is_never()
                             ? "never"
                             : fmt("%.3f s", c->next_deadline().secs()).c_str()));
        }
      }
      // None dies while its peer is reachable and answering.
      if (answering && robust(cd.side[0].tcp) && robust(cd.side[1].tcp) && c->error().err != 0) {
        // A death the configuration asks for; then the peer's RST (its
        // stack answers for a connection it no longer has) follows from it.
        auto chosen = [&](int k) {
          const tcp::Connection* x = conn[k];
          if (!x || x->error().err == 0) return false;
          const tcp::CloseReason w = x->error().reason;
          return side[k]->abortive || w == tcp::CloseReason::kOrphan ||
                 w == tcp::CloseReason::kFinWait2Timeout ||
                 (w == tcp::CloseReason::kUserTimeout &&
                  cd.side[k].tcp.user_timeout_zero_window_episode &&
                  cd.side[1 - k].pause_from != Duration::max());
        };
        const tcp::CloseReason why = c->error().reason;
        // Under a SYN flood the listener's defences may cost a handshake:
        // with cookies, a data segment that overtakes the cookie-carrying ACK
        // fails validation and gets a RST (as on Linux, whose cookie covers
        // SEG.SEQ - 1); without them, SYNs are dropped while the queue is full.
        const stack::StackStats& server_stats = world_.host(1 - cd.client_host).stack().stats();
        const bool flood_cost =
            (why == tcp::CloseReason::kReset && server_stats.syn_cookies_invalid > 0) ||
            (why == tcp::CloseReason::kRetransmission && !c->established_once() &&
             server_stats.syn_queue_drops > 0);
        const bool allowed =
            chosen(s) || flood_cost ||
            ((why == tcp::CloseReason::kReset || why == tcp::CloseReason::kRefused) &&
             (abortive || chosen(1 - s)));
        if (!allowed)
          fail(kInvDiesAnswering,
               fmt("conn %zu %s died at %.3f s while its peer was reachable (loss+corruption <= "
                   "%.0f %%, no partition over %s): %s",
                   i, s == 0 ? "client" : "server", c->error().time.secs(), kAnsweringLoss * 100,
                   secs(kAnsweringOutage).c_str(), c->error().detail.c_str()));
      }
      // What a closed connection held is freed (issue 12, memory).
      if (c->state() == tcp::State::kClosed && c->recv_available() == 0 && c->buffer_bytes() != 0)
        fail(kInvMemory, fmt("conn %zu %s is CLOSED but still holds %zu buffer bytes", i,
                             s == 0 ? "client" : "server", c->buffer_bytes()));
    }
  }
}

FuzzSeedResult Runner::run() {
  FuzzSeedResult r;
  r.seed = seed_;
  r.params = describe();

  std::unique_ptr<link::PcapWriter> pcap;
  if (!opt_.pcap_path.empty()) {
    pcap = std::make_unique<link::PcapWriter>(opt_.pcap_path);
    if (!pcap->ok()) {
      r.error = pcap->error();
      return r;
    }
  }
  uint32_t max_buf = 0;
  for (const auto& c : d_.conns)
    for (const auto& s : c.side)
      max_buf = std::max(max_buf, std::max(s.tcp.send_buffer, s.tcp.send_buffer_max) +
                                      std::max(s.tcp.recv_buffer, s.tcp.recv_buffer_max));
  // A connection holds itself and at most its two buffers (in whole pages).
  per_conn_bytes_ = sizeof(tcp::Connection) + max_buf + 8192;

  for (size_t h = 0; h < 2; ++h) {
    stack::StackConfig sc;
    sc.address = kAddr[h];
    tcp::TcpConfig::from_profile(d_.profile, &sc.tcp);
    sc.tcp = stack_config(sc.tcp);
    sc.syn_backlog = d_.syn_backlog;
    sc.syn_cookies = d_.syn_cookies;
    sc.max_connections = kStackCap;
    world_.add_host(h == 0 ? "a" : "b", sc);
  }
  world_.set_link(d_.link[0], d_.link[1]);
  if (d_.partition.kind != PartitionDraw::kNone) {
    const Instant from = Instant::zero() + d_.partition.from;
    const Instant until = d_.partition.kind == PartitionDraw::kForever
                              ? Instant::never()
                              : Instant::zero() + d_.partition.until;
    world_.link(0).add_blackhole(from, until);
    world_.link(1).add_blackhole(from, until);
  }
  if (pcap) world_.set_capture(pcap.get(), 0);

  // Configs live in d_ (stable), but the stacks get the faulted/bugged copy.
  for (auto& c : d_.conns)
    for (auto& s : c.side) s.tcp = stack_config(s.tcp);
  // ...while the checker reads the drawn ones.
  const Draw drawn = draw_world(seed_);
  for (size_t i = 0; i < d_.conns.size(); ++i) {
    ConnDraw& c = d_.conns[i];
    const size_t server = 1 - c.client_host;
    if (!c.simultaneous) world_.host(server).stack().listen(c.port, 16, nullptr, &c.side[1].tcp);
    const uint64_t base = seed_ * 64 + i * 2;
    auto client = std::make_unique<Peer>(world_, c.client_host, c, 0, base + 1, base + 2);
    auto srv = std::make_unique<Peer>(world_, server, c, 1, base + 2, base + 1);
    client->fault = opt_.fault;
    srv->fault = opt_.fault;
    peers_.push_back(client.get());
    peers_.push_back(srv.get());
    world_.add_app(c.client_host, std::move(client));
    world_.add_app(server, std::move(srv));
  }
  if (d_.attack.on) {
    attack_left_ = d_.attack.budget;
    for (size_t h = 0; h < 2; ++h)
      world_.set_filter(
          h, [this, h](Instant now, std::vector<uint8_t>& pkt) { return attack(now, h, pkt); });
    if (d_.attack.syn_flood)
      world_.add_app(0, std::make_unique<FloodApp>(Instant::zero() + d_.attack.flood_at,
                                                   [this](Instant now) { flood(now); }));
  }
  world_.set_delivery_hook([this](Instant now, size_t to, std::span<const uint8_t> p, bool after) {
    on_delivery(now, to, p, after);
  });

  world_.run(Instant::zero() + d_.limit);

  // The checks read the configuration as drawn, not as faulted.
  for (size_t i = 0; i < d_.conns.size(); ++i)
    for (int s = 0; s < 2; ++s) d_.conns[i].side[s].tcp = drawn.conns[i].side[s].tcp;
  final_checks(r);
  r.end = world_.now();
  for (const RecordedEvent& e : world_.events()) {
    r.events += fmt("%12.6f host %zu conn %llu %s", e.event.time.secs(), e.host,
                    static_cast<unsigned long long>(e.conn), tcp::event_name(e.event.type).data());
    if (e.event.type == tcp::EventType::kStateChange)
      r.events += fmt(" %s -> %s", tcp::state_name(e.event.from).data(),
                      tcp::state_name(e.event.to).data());
    if (!e.detail.empty()) r.events += ": " + e.detail;
    r.events += "\n";
  }
  r.failures = failures_;
  r.injected = injected_;
  r.packets = packets_;
  if (pcap && !pcap->close()) r.error = pcap->error();
  return r;
}

}  // namespace

const char* fuzz_fault_name(FuzzFault f) {
  switch (f) {
    case FuzzFault::kNone:
      return "";
    case FuzzFault::kFlipReadByte:
      return "flip-read-byte";
    case FuzzFault::kLoseTail:
      return "lose-tail";
    case FuzzFault::kImmortal:
      return "immortal";
    case FuzzFault::kAcceptForged:
      return "accept-forged";
    case FuzzFault::kCheckAbort:
      return "check-abort";
    case FuzzFault::kMemoryCap:
      return "memory-bound";
    case FuzzFault::kRejectedChanges:
      return "rejected-changes";
    case FuzzFault::kFragile:
      return "fragile";
  }
  return "";
}

std::vector<std::string> fuzz_fault_names() {
  std::vector<std::string> v;
  for (int f = 1; f <= static_cast<int>(FuzzFault::kFragile); ++f)
    v.emplace_back(fuzz_fault_name(static_cast<FuzzFault>(f)));
  return v;
}

bool parse_fuzz_fault(const std::string& name, FuzzFault* out) {
  for (int f = 1; f <= static_cast<int>(FuzzFault::kFragile); ++f) {
    if (name == fuzz_fault_name(static_cast<FuzzFault>(f))) {
      *out = static_cast<FuzzFault>(f);
      return true;
    }
  }
  return false;
}

FuzzSeedResult run_fuzz_seed(uint64_t seed, const FuzzOptions& options) {
  Runner r(seed, options);
  return r.run();
}

}  // namespace vigil::sim
