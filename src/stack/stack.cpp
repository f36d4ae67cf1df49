#include "stack/stack.hpp"

#include <algorithm>

#include "tcp/reset.hpp"
#include "util/siphash.hpp"
#include "wire/bytes.hpp"
#include "wire/packet.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::stack {

using tcp::Connection;
using tcp::FourTuple;

size_t Stack::TupleHash::operator()(const FourTuple& t) const {
  uint64_t h = (uint64_t{t.local.addr.value} << 32) | t.remote.addr.value;
  h ^= (uint64_t{t.local.port} << 16 | t.remote.port) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  return static_cast<size_t>(h * 0xbf58476d1ce4e5b9ULL);
}

Stack::Stack(const StackConfig& config, util::Rng rng, tcp::EventSink* sink, Instant start)
    : cfg_(config),
      default_tcp_(std::make_shared<const tcp::TcpConfig>(config.tcp)),
      rng_(rng),
      sink_(sink),
      wheel_(start),
      reset_bufs_(kMaxPendingResets),
      reset_lens_(kMaxPendingResets),
      reset_is_rst_(kMaxPendingResets) {
  for (size_t i = 0; i < secret_.size(); i += 8) {
    const uint64_t r = rng_.next_u64();
    for (size_t k = 0; k < 8; ++k) secret_[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
  cookies_ = SynCookies(secret_);
}

Stack::~Stack() {
  for (auto& [id, slot] : slots_) wheel_.cancel(slot.timer);
}

namespace {
std::array<uint8_t, 13> tuple_bytes(const FourTuple& t, uint8_t domain) {
  std::array<uint8_t, 13> b{};
  wire::store_be32(&b[0], t.local.addr.value);
  wire::store_be16(&b[4], t.local.port);
  wire::store_be32(&b[6], t.remote.addr.value);
  wire::store_be16(&b[10], t.remote.port);
  b[12] = domain;
  return b;
}
}  // namespace

uint32_t Stack::isn_for(const FourTuple& t, Instant now) const {
  // RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secret),
  // M a timer ticking every 4 microseconds, F a keyed hash (SipHash-2-4).
  const auto b = tuple_bytes(t, 0);
  const auto f = static_cast<uint32_t>(util::siphash24(secret_, b));
  const auto m = static_cast<uint32_t>(now.ns() / 4000);
  return m + f;
}

uint32_t Stack::ts_offset_for(const FourTuple& t) const {
  // RFC 7323 §5.4 / Appendix: a per-connection random timestamp offset.
  const auto b = tuple_bytes(t, 1);
  return static_cast<uint32_t>(util::siphash24(secret_, b));
}

std::shared_ptr<const tcp::TcpConfig> Stack::shared_config(const tcp::TcpConfig& c) {
  if (c == *default_tcp_) return default_tcp_;
  if (!last_tcp_ || !(c == *last_tcp_)) last_tcp_ = std::make_shared<const tcp::TcpConfig>(c);
  return last_tcp_;
}

ConnId Stack::create(Instant now, std::shared_ptr<const tcp::TcpConfig> config,
                     const FourTuple& tuple, std::optional<uint32_t> iss) {
  const ConnId id = next_id_++;
  auto [it, inserted] = slots_.try_emplace(id);
  Slot& slot = it->second;
  slot.conn.emplace(std::move(config), tuple, iss ? *iss : isn_for(tuple, now),
                    ts_offset_for(tuple), id, sink_);
  if (cfg_.tso_limit) slot.conn->set_tso_limit(cfg_.tso_limit);
  slot.conn->set_partial_checksum(partial_csum_);
  slot.timer.owner = id;
  demux_[tuple] = id;
  ++stats_.connections_opened;
  return id;
}

std::optional<ConnId> Stack::connect(Instant now, tcp::Endpoint remote, OpenError* err,
                                     const tcp::TcpConfig* config, uint16_t local_port) {
  if (at_cap()) {
    if (err) {
      err->message = "connection cap reached: " + std::to_string(slots_.size()) +
                     " connections allocated (max_connections " +
                     std::to_string(cfg_.max_connections) + ")";
    }
    return std::nullopt;
  }
  FourTuple t;
  t.local.addr = cfg_.address;
  t.remote = remote;
  if (local_port != 0) {
    t.local.port = local_port;
    if (demux_.count(t)) {
      if (err)
        err->message = "address in use: " + t.local.to_string() + " -> " + remote.to_string();
      return std::nullopt;
    }
  } else {
    if (cfg_.ephemeral_low == 0 || cfg_.ephemeral_low > cfg_.ephemeral_high) {
      if (err) {
        err->message = "bad ephemeral port range " + std::to_string(cfg_.ephemeral_low) + "-" +
                       std::to_string(cfg_.ephemeral_high);
      }
      return std::nullopt;
    }
    // RFC 6056 §3.3.1-style: a random starting point, then the next free port.
    const uint32_t range = uint32_t{cfg_.ephemeral_high} - cfg_.ephemeral_low + 1;
    const uint32_t start = static_cast<uint32_t>(rng_.uniform(range));
    bool found = false;
    for (uint32_t i = 0; i < range && !found; ++i) {
      t.local.port = static_cast<uint16_t>(cfg_.ephemeral_low + (start + i) % range);
      found = demux_.count(t) == 0 && listeners_.count(t.local.port) == 0;
    }
    if (!found) {
      if (err) err->message = "no free ephemeral port towards " + remote.to_string();
      return std::nullopt;
    }
  }
  const ConnId id = create(now, config ? shared_config(*config) : default_tcp_, t);
  slots_.at(id).conn->open_active(now);
  touch(id);
  return id;
}

bool Stack::listen(uint16_t port, size_t backlog, OpenError* err, const tcp::TcpConfig* config) {
  if (port == 0 || listeners_.count(port)) {
    if (err) {
      err->message = port == 0
                         ? "cannot listen on port 0"
                         : "address in use: already listening on port " + std::to_string(port);
    }
    return false;
  }
  Listener& l = listeners_[port];
  tcp::TcpConfig c = config ? *config : cfg_.tcp;
  // A passive connection's only handshake state is SYN-RECEIVED: its SYN
  // retry limit is the SYN-ACK limit (StackConfig::synack_retries).
  c.retries_syn = cfg_.synack_retries;
  c.retries_syn_time = Duration::zero();
  l.config = std::make_shared<const tcp::TcpConfig>(std::move(c));
  l.backlog = std::max<size_t>(backlog, 1);
  return true;
}

bool Stack::set_listen_config(uint16_t port, const tcp::TcpConfig& config) {
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return false;
  // As listen() sets it: the SYN-ACK retry limit stays the stack's.
  tcp::TcpConfig c = config;
  c.retries_syn = it->second.config->retries_syn;
  c.retries_syn_time = Duration::zero();
  it->second.config = std::make_shared<const tcp::TcpConfig>(std::move(c));
  return true;
}

bool Stack::unlisten(Instant now, uint16_t port) {
  if (listeners_.erase(port) == 0) return false;
  std::vector<ConnId> children;
  for (const auto& [id, slot] : slots_) {
    if (slot.listener_port == port) children.push_back(id);
  }
  // The slots stay until settle() has sent their RSTs; with no listener
  // left they are reaped as never accepted.
  for (const ConnId id : children) {
    slots_.at(id).conn->abort(now);
    touch(id);
  }
  return true;
}

void Stack::set_socket_options(Instant now, ConnId id, const tcp::TcpConfig& c, bool push) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.conn->set_socket_options(now, c, push);
  touch(id);
}

std::optional<ConnId> Stack::accept(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end() || it->second.ready.empty()) return std::nullopt;
  const ConnId id = it->second.ready.front();
  it->second.ready.pop_front();
  slots_.at(id).listener_port.reset();
  return id;
}

size_t Stack::send(Instant now, ConnId id, std::span<const uint8_t> data, bool more) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return 0;
  const size_t n = it->second.conn->send(now, data, more);
  touch(id);
  return n;
}

size_t Stack::recv(Instant now, ConnId id, std::span<uint8_t> out) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return 0;
  const size_t n = it->second.conn->recv(now, out);
  if (n) touch(id);
  return n;
}

void Stack::close(Instant now, ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.conn->close(now);
  touch(id);
}

void Stack::close_orphan(Instant now, ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.conn->orphan(now);
  touch(id);
}

void Stack::abort(Instant now, ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.conn->abort(now);
  touch(id);
}

void Stack::close_and_stop_reading(Instant now, ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.conn->close_and_stop_reading(now);
  touch(id);
}

void Stack::release(ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  it->second.released = true;
  touch(id);
}

const Connection* Stack::connection(ConnId id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : &*it->second.conn;
}

size_t Stack::accept_queue_length(uint16_t port) const {
  auto it = listeners_.find(port);
  return it == listeners_.end() ? 0 : it->second.ready.size();
}

size_t Stack::syn_queue_length(uint16_t port) const {
  auto it = listeners_.find(port);
  return it == listeners_.end() ? 0 : it->second.embryonic;
}

size_t Stack::held_bytes() const {
  size_t n = 0;
  for (const auto& [id, slot] : slots_) n += sizeof(Connection) + slot.conn->buffer_bytes();
  return n;
}

std::vector<ConnId> Stack::connection_ids() const {
  std::vector<ConnId> ids;
  ids.reserve(slots_.size());
  for (const auto& [id, slot] : slots_) ids.push_back(id);
  return ids;
}

void Stack::touch(ConnId id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  Slot& slot = it->second;
  if (!slot.dirty) {
    slot.dirty = true;
    dirty_.push_back(id);
  }
  wheel_.arm(slot.timer, slot.conn->next_deadline());
  queue_if_accepted(id, slot);
}

void Stack::queue_if_accepted(ConnId id, Slot& slot) {
  // A passive connection joins its listener's accept queue the moment it is
  // established, so the application can accept it in the same instant.
  const Connection& c = *slot.conn;
  if (slot.listener_port) {
    auto l = listeners_.find(*slot.listener_port);
    if (l != listeners_.end() && c.established_once() &&
        std::find(l->second.ready.begin(), l->second.ready.end(), id) == l->second.ready.end()) {
      if (slot.half_open) {
        slot.half_open = false;
        --l->second.embryonic;
      }
      l->second.ready.push_back(id);
    }
  }
}

void Stack::settle(ConnId id, Slot& slot) {
  // Lifecycle bookkeeping once the connection has sent all it owed.
  queue_if_accepted(id, slot);
  const Connection& c = *slot.conn;
  if (c.state() != tcp::State::kClosed) return;
  if (slot.in_demux) {
    demux_.erase(c.tuple());
    slot.in_demux = false;
  }
  // A passive connection that died before accept() was never the app's.
  const bool unaccepted = slot.listener_port.has_value();
  if (unaccepted) {
    auto l = listeners_.find(*slot.listener_port);
    if (l != listeners_.end()) {
      auto& q = l->second.ready;
      const auto pos = std::find(q.begin(), q.end(), id);
      if (pos != q.end()) {
        q.erase(pos);
      } else if (slot.half_open) {
        slot.half_open = false;
        --l->second.embryonic;
      }
    }
  }
  if (slot.released || unaccepted) {
    wheel_.cancel(slot.timer);
    slots_.erase(id);
    ++stats_.connections_reaped;
  }
}

void Stack::receive(Instant now, std::span<const uint8_t> datagram, bool verify_checksums) {
  ++stats_.datagrams_in;
  wire::PacketView pkt;
  const wire::Drop d = wire::parse_packet(datagram, &pkt, verify_checksums);
  drops_.count(d);
  if (d != wire::Drop::kNone) return;
  if (pkt.ip.dst() != cfg_.address) {
    ++stats_.not_for_us;
    return;
  }
  // RFC 1122 §3.2.1.3: silently discard datagrams whose source is
  // "this network" (0/8), loopback (127/8, unless we are loopback
  // ourselves), multicast or reserved/broadcast (224/3 and up); answering
  // would reach a whole group or nobody.
  const uint32_t top = pkt.ip.src().value >> 24;
  const bool we_are_loopback = (cfg_.address.value >> 24) == 127;
  if (top == 0 || (top == 127 && !we_are_loopback) || top >= 224) {
    ++stats_.martian_source;
    return;
  }
  if (pkt.kind == wire::PacketView::Kind::kIcmpUnreachable) {
    FourTuple t;
    t.local = {pkt.icmp.quoted_src(), pkt.icmp.quoted_src_port()};
    t.remote = {pkt.icmp.quoted_dst(), pkt.icmp.quoted_dst_port()};
    auto it = demux_.find(t);
    if (it == demux_.end()) {
      ++stats_.icmp_no_connection;
      return;
    }
    slots_.at(it->second).conn->on_icmp(now, pkt.icmp);
    touch(it->second);
    return;
  }
  const wire::TcpView& seg = pkt.tcp;
  FourTuple t;
  t.local = {pkt.ip.dst(), seg.dst_port()};
  t.remote = {pkt.ip.src(), seg.src_port()};
  namespace flags = wire::tcp_flags;
  auto l = listeners_.find(seg.dst_port());
  std::optional<uint32_t> reuse_iss;
  if (auto it = demux_.find(t); it != demux_.end()) {
    const ConnId old = it->second;
    Slot& os = slots_.at(old);
    if (l == listeners_.end() || !os.conn->time_wait_accepts_syn(seg)) {
      os.conn->on_segment(now, seg);
      touch(old);
      return;
    }
    // RFC 6191 / Linux tcp_timewait_state_process: a newer SYN ends
    // TIME-WAIT (quietly) and opens a new incarnation through the listener,
    // with an ISS above the old SND.NXT so old duplicates cannot be taken
    // for new data (RFC 9293 §3.4.1, RFC 6191 §2). Linux's choice of
    // SND.NXT + 65535 + 2 clears any window the old peer may still use.
    reuse_iss = os.conn->snd_nxt() + 65535 + 2;
    os.conn->abort(now);
    demux_.erase(it);
    os.in_demux = false;
    touch(old);
    ++stats_.time_wait_reuses;
  }
  const bool syn = seg.has(flags::kSyn) && !seg.has(flags::kAck) && !seg.has(flags::kRst);
  if (syn) {
    // SYNs no connection may come from (issue 12 hole 4): counted, no reply.
    if (seg.has(flags::kFin)) {
      ++stats_.syn_fin_drops;  // Linux tcp_rcv_state_process (LISTEN): SYN+FIN discarded
      return;
    }
    if (seg.src_port() == 0 || seg.dst_port() == 0) {
      ++stats_.syn_port_zero_drops;  // port 0 is reserved, never a real endpoint
      return;
    }
    if (pkt.ip.src() == pkt.ip.dst() && seg.src_port() == seg.dst_port()) {
      ++stats_.land_drops;  // LAND: a SYN "from" the socket it is sent to
      return;
    }
  }
  if (l != listeners_.end() && syn) {
    listener_syn(now, pkt, seg.dst_port(), l->second, t, reuse_iss);
    return;
  }
  if (l != listeners_.end() && seg.has(flags::kAck) && !seg.has(flags::kSyn) &&
      !seg.has(flags::kRst) && cookie_ack(now, pkt, seg.dst_port(), l->second, t)) {
    return;
  }
  if (l != listeners_.end() && !seg.has(flags::kSyn) && !seg.has(flags::kAck) &&
      !seg.has(flags::kRst)) {
    ++stats_.listen_no_syn;  // RFC 9293 §3.10.7.2: LISTEN drops these silently
    return;
  }
  ++stats_.no_connection;
  reply_reset(pkt);
}

void Stack::reply_reset(const wire::PacketView& pkt) {
  std::array<uint8_t, 64> reply{};
  const size_t n = tcp::build_reset_reply(reply, pkt.ip, pkt.tcp);
  if (n) queue_reset(std::span<const uint8_t>(reply.data(), n));
}

void Stack::listener_syn(Instant now, const wire::PacketView& pkt, uint16_t port, Listener& lst,
                         const FourTuple& t, std::optional<uint32_t> iss) {
  if (lst.ready.size() >= lst.backlog) {
    // Accept queue full: drop, as Linux (tcp_conn_request); the client retries.
    ++stats_.syn_backlog_drops;
    return;
  }
  if (at_cap()) {
    ++stats_.connections_refused_cap;  // a clean refusal: RST/ACK, the client gives up at once
    reply_reset(pkt);
    return;
  }
  if (lst.embryonic >= cfg_.syn_backlog) {
    if (cfg_.syn_cookies) {
      send_cookie(now, pkt, lst, t);
    } else {
      ++stats_.syn_queue_drops;
    }
    return;
  }
  const ConnId id = create(now, lst.config, t, iss);
  Slot& slot = slots_.at(id);
  slot.listener_port = port;
  slot.half_open = true;
  ++lst.embryonic;
  slot.conn->open_passive(now);
  slot.conn->on_segment(now, pkt.tcp);
  touch(id);
}

void Stack::send_cookie(Instant now, const wire::PacketView& pkt, Listener& lst,
                        const FourTuple& t) {
  const wire::TcpView& seg = pkt.tcp;
  const tcp::TcpConfig& c = *lst.config;
  const auto& o = seg.options();
  const uint8_t idx = SynCookies::mss_index(o.has_mss ? o.mss : 536);
  auto [ip, f] = tcp::header_fields(t);
  f.seq = cookies_.make(t, seg.seq(), now, idx);
  f.ack = seg.seq() + 1;
  f.flags = wire::tcp_flags::kSyn | wire::tcp_flags::kAck;
  f.window = static_cast<uint16_t>(std::min<uint32_t>(c.recv_buffer, 65535));  // never scaled
  wire::TcpOptions opt;
  opt.has_mss = true;
  opt.mss = c.mss;
  // Window scale and SACK ride in the TSval, so without timestamps they are
  // not offered (Linux: tcp_conn_request clears the options then).
  const bool ts = c.timestamps && o.has_timestamps;
  const bool ws = ts && c.window_scaling && o.has_window_scale;
  const bool sack = ts && c.sack && o.sack_permitted;
  if (ws) {
    opt.has_window_scale = true;
    opt.window_scale =
        tcp::window_shift_for(c.window_scale_buffer != 0 ? c.window_scale_buffer : c.recv_buffer);
  }
  opt.sack_permitted = sack;
  if (ts) {
    opt.has_timestamps = true;
    // The connection's own TS clock (tcp::Connection::ts_now), so TSval
    // runs on without a jump once the connection exists.
    const uint32_t ts_now = ts_offset_for(t) + static_cast<uint32_t>(now.ns() / 1'000'000);
    opt.ts_val = SynCookies::encode_ts(ts_now, ws, std::min<uint8_t>(o.window_scale, 14), sack);
    opt.ts_ecr = o.ts_val;
  }
  std::array<uint8_t, 64> reply{};
  const size_t n = wire::build_ipv4_tcp(reply, ip, f, opt);
  if (n == 0) return;
  lst.last_cookie = now;
  ++stats_.syn_cookies_sent;
  queue_reset(std::span<const uint8_t>(reply.data(), n), false);
}

bool Stack::cookie_ack(Instant now, const wire::PacketView& pkt, uint16_t port, Listener& lst,
                       const FourTuple& t) {
  // Only while cookies may be out (Linux tcp_synq_no_recent_overflow): an
  // ACK to a listener that sent none is answered with a RST as before.
  if (!cfg_.syn_cookies || lst.last_cookie.is_never() ||
      now - lst.last_cookie >= SynCookies::kPeriod * 2) {
    return false;
  }
  const wire::TcpView& seg = pkt.tcp;
  const auto& o = seg.options();
  const uint32_t irs = seg.seq() - 1;
  const auto idx = cookies_.check(t, irs, seg.ack() - 1, now);
  std::optional<SynCookies::TsOptions> tso;
  bool ok = idx.has_value();
  if (ok && o.has_timestamps) {
    // The TSecr must echo a TSval we could have sent: not ahead of our clock.
    const uint32_t ts_now = ts_offset_for(t) + static_cast<uint32_t>(now.ns() / 1'000'000);
    tso = SynCookies::decode_ts(o.ts_ecr);
    ok = tso.has_value() && static_cast<int32_t>(o.ts_ecr - ts_now) <= 0;
  }
  if (!ok) {
    ++stats_.syn_cookies_invalid;
    return false;  // answered with a RST, as any stray ACK to a listener
  }
  if (lst.ready.size() >= lst.backlog) {
    ++stats_.syn_backlog_drops;  // as Linux: dropped; the client's next segment retries
    return true;
  }
  if (at_cap()) {
    ++stats_.connections_refused_cap;
    reply_reset(pkt);
    return true;
  }
  tcp::CookieOpen co;
  co.irs = irs;
  co.mss = SynCookies::kMssTable[*idx];
  co.timestamps = lst.config->timestamps && o.has_timestamps;
  if (co.timestamps) {
    co.wscale_ok = tso->wscale;
    co.snd_wscale = tso->shift;
    co.sack = tso->sack;
  }
  co.window_sent = static_cast<uint16_t>(std::min<uint32_t>(lst.config->recv_buffer, 65535));
  const ConnId id = create(now, lst.config, t, seg.ack() - 1);
  Slot& slot = slots_.at(id);
  slot.listener_port = port;
  slot.conn->open_from_cookie(now, co, seg);
  if (!seg.payload().empty() || seg.has(wire::tcp_flags::kFin)) slot.conn->on_segment(now, seg);
  ++stats_.syn_cookies_valid;
  touch(id);
  return true;
}

void Stack::queue_reset(std::span<const uint8_t> reply, bool rst) {
  if (reset_count_ == kMaxPendingResets) {
    ++stats_.resets_queue_full;
    return;
  }
  const size_t slot = (reset_head_ + reset_count_) % kMaxPendingResets;
  std::copy(reply.begin(), reply.end(), reset_bufs_[slot].begin());
  reset_lens_[slot] = static_cast<uint8_t>(reply.size());
  reset_is_rst_[slot] = rst ? 1 : 0;
  ++reset_count_;
}

void Stack::on_timers(Instant now) {
  expired_.clear();
  wheel_.expire(now, expired_);
  for (uint64_t id : expired_) {
    auto it = slots_.find(id);
    if (it == slots_.end()) continue;
    it->second.conn->on_timer(now);
    touch(id);
  }
}

void Stack::set_partial_checksum(bool on) {
  partial_csum_ = on;
  for (auto& [id, slot] : slots_) slot.conn->set_partial_checksum(on);
}

size_t Stack::poll_transmit(Instant now, std::span<uint8_t> buf) {
  return poll_transmit(now, buf, nullptr);
}

size_t Stack::poll_transmit(Instant now, std::span<uint8_t> buf, uint32_t* send_mss,
                            bool* partial_csum) {
  if (send_mss) *send_mss = 0;
  if (partial_csum) *partial_csum = false;
  if (reset_count_ > 0) {
    const size_t n = reset_lens_[reset_head_];
    const bool rst = reset_is_rst_[reset_head_] != 0;
    std::copy_n(reset_bufs_[reset_head_].begin(), n, buf.begin());
    reset_head_ = (reset_head_ + 1) % kMaxPendingResets;
    --reset_count_;
    if (rst) ++stats_.resets_sent;
    ++stats_.datagrams_out;
    return n;
  }
  // Drain connections in the order they became dirty (deterministic).
  while (dirty_head_ < dirty_.size()) {
    const ConnId id = dirty_[dirty_head_];
    auto it = slots_.find(id);
    if (it == slots_.end()) {
      ++dirty_head_;
      continue;
    }
    Slot& slot = it->second;
    slot.conn->set_link_congested(link_congested_);
    const size_t n = slot.conn->poll_transmit(now, buf);
    if (n) {
      if (send_mss) *send_mss = slot.conn->send_mss();
      if (partial_csum) *partial_csum = slot.conn->partial_checksum();
      wheel_.arm(slot.timer, slot.conn->next_deadline());
      ++stats_.datagrams_out;
      // A driver that never drains the queue to 0 still frees its front,
      // at most once per as many datagrams: O(1) each, amortized.
      if (dirty_head_ >= 1024 && dirty_head_ * 2 >= dirty_.size()) {
        dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(dirty_head_));
        dirty_head_ = 0;
      }
      return n;  // it stays at the head: it may owe more
    }
    slot.dirty = false;
    wheel_.arm(slot.timer, slot.conn->next_deadline());
    settle(id, slot);
    ++dirty_head_;
  }
  dirty_.clear();
  dirty_head_ = 0;
  return 0;
}

}  // namespace vigil::stack
