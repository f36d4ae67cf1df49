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
      rng_(rng),
      sink_(sink),
      wheel_(start),
      reset_bufs_(kMaxPendingResets),
      reset_lens_(kMaxPendingResets) {
  for (size_t i = 0; i < secret_.size(); i += 8) {
    const uint64_t r = rng_.next_u64();
    for (size_t k = 0; k < 8; ++k) secret_[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
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

ConnId Stack::create(Instant now, const tcp::TcpConfig& config, const FourTuple& tuple) {
  const ConnId id = next_id_++;
  auto [it, inserted] = slots_.try_emplace(id);
  Slot& slot = it->second;
  slot.conn = std::make_unique<Connection>(config, tuple, isn_for(tuple, now), ts_offset_for(tuple),
                                           id, sink_);
  if (cfg_.tso_limit) slot.conn->set_tso_limit(cfg_.tso_limit);
  slot.timer.owner = id;
  demux_[tuple] = id;
  ++stats_.connections_opened;
  return id;
}

std::optional<ConnId> Stack::connect(Instant now, tcp::Endpoint remote, OpenError* err,
                                     const tcp::TcpConfig* config, uint16_t local_port) {
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
  const ConnId id = create(now, config ? *config : cfg_.tcp, t);
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
  l.config = config ? *config : cfg_.tcp;
  l.backlog = std::max<size_t>(backlog, 1);
  return true;
}

std::optional<ConnId> Stack::accept(uint16_t port) {
  auto it = listeners_.find(port);
  if (it == listeners_.end() || it->second.ready.empty()) return std::nullopt;
  const ConnId id = it->second.ready.front();
  it->second.ready.pop_front();
  slots_.at(id).listener_port.reset();
  return id;
}

size_t Stack::send(Instant now, ConnId id, std::span<const uint8_t> data) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return 0;
  const size_t n = it->second.conn->send(now, data);
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
  return it == slots_.end() ? nullptr : it->second.conn.get();
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
      if (l->second.embryonic) --l->second.embryonic;
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
      } else if (l->second.embryonic) {
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
  if (auto it = demux_.find(t); it != demux_.end()) {
    slots_.at(it->second).conn->on_segment(now, seg);
    touch(it->second);
    return;
  }
  namespace flags = wire::tcp_flags;
  auto l = listeners_.find(seg.dst_port());
  if (l != listeners_.end() && seg.has(flags::kSyn) && !seg.has(flags::kAck) &&
      !seg.has(flags::kRst)) {
    Listener& lst = l->second;
    if (lst.ready.size() + lst.embryonic >= lst.backlog) {
      ++stats_.syn_backlog_drops;  // as Linux: drop, the client retries
      return;
    }
    const ConnId id = create(now, lst.config, t);
    Slot& slot = slots_.at(id);
    slot.listener_port = seg.dst_port();
    ++lst.embryonic;
    slot.conn->open_passive(now);
    slot.conn->on_segment(now, seg);
    touch(id);
    return;
  }
  if (l != listeners_.end() && !seg.has(flags::kSyn) && !seg.has(flags::kAck) &&
      !seg.has(flags::kRst)) {
    ++stats_.listen_no_syn;  // RFC 9293 §3.10.7.2: LISTEN drops these silently
    return;
  }
  ++stats_.no_connection;
  std::array<uint8_t, 64> reply{};
  const size_t n = tcp::build_reset_reply(reply, pkt.ip, seg);
  if (n) queue_reset(std::span<const uint8_t>(reply.data(), n));
}

void Stack::queue_reset(std::span<const uint8_t> reply) {
  if (reset_count_ == kMaxPendingResets) {
    ++stats_.resets_queue_full;
    return;
  }
  const size_t slot = (reset_head_ + reset_count_) % kMaxPendingResets;
  std::copy(reply.begin(), reply.end(), reset_bufs_[slot].begin());
  reset_lens_[slot] = static_cast<uint8_t>(reply.size());
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

size_t Stack::poll_transmit(Instant now, std::span<uint8_t> buf) {
  return poll_transmit(now, buf, nullptr);
}

size_t Stack::poll_transmit(Instant now, std::span<uint8_t> buf, uint32_t* send_mss,
                            bool* partial_csum) {
  if (send_mss) *send_mss = 0;
  if (partial_csum) *partial_csum = false;
  if (reset_count_ > 0) {
    const size_t n = reset_lens_[reset_head_];
    std::copy_n(reset_bufs_[reset_head_].begin(), n, buf.begin());
    reset_head_ = (reset_head_ + 1) % kMaxPendingResets;
    --reset_count_;
    ++stats_.resets_sent;
    ++stats_.datagrams_out;
    return n;
  }
  // Drain connections in the order they became dirty (deterministic).
  size_t i = 0;
  while (i < dirty_.size()) {
    const ConnId id = dirty_[i];
    auto it = slots_.find(id);
    if (it == slots_.end()) {
      ++i;
      continue;
    }
    Slot& slot = it->second;
    size_t n = 0;
    {
      const wire::PartialChecksumScope scope(partial_csum_);
      n = slot.conn->poll_transmit(now, buf);
    }
    if (n) {
      if (send_mss) *send_mss = slot.conn->send_mss();
      if (partial_csum) *partial_csum = partial_csum_;
      wheel_.arm(slot.timer, slot.conn->next_deadline());
      ++stats_.datagrams_out;
      dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(i));
      return n;
    }
    slot.dirty = false;
    wheel_.arm(slot.timer, slot.conn->next_deadline());
    settle(id, slot);
    ++i;
  }
  dirty_.clear();
  return 0;
}

}  // namespace vigil::stack
