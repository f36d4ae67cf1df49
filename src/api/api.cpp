// vigil::Stack, Socket, Listener and SocketOptions (include/vigil/vigil.hpp)
// over stack::Stack.
#include <algorithm>
#include <cerrno>
#include <random>
#include <utility>

#include "api/core.hpp"
#include "stack/end_log.hpp"
#include "tcp/config.hpp"
#include "util/rng.hpp"

namespace vigil {

using api_detail::Core;
using api_detail::to_instant;
using api_detail::to_time_point;

namespace {

std::error_code errc(std::errc e) { return std::make_error_code(e); }

// A refused socket call: the errno, and the reason Socket::why() gives.
std::error_code refuse(api_detail::SocketRecord& rec, std::errc e, std::string why) {
  rec.why = std::move(why);
  return errc(e);
}

// Socket::set and set_options once `next` is accepted: nothing to do for
// an unchanged value (Linux re-arms nothing either); else the stack takes
// it, and TCP_NODELAY turned on sends what Nagle holds back (Linux
// TCP_NAGLE_PUSH).
std::error_code apply_live(api_detail::Core& core, stack::ConnId id, api_detail::SocketRecord& rec,
                           const tcp::TcpConfig& cur, const tcp::TcpConfig& next) {
  rec.why.clear();
  if (next == cur) return {};
  core.st.set_socket_options(core.now, id, next, next.nodelay && !cur.nodelay);
  return {};
}
std::error_code from_errno(int e) { return {e, std::generic_category()}; }

wire::Ipv4Addr to_wire(Ipv4 a) {
  return wire::Ipv4Addr::of(a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
}
Ipv4 from_wire(wire::Ipv4Addr a) {
  return Ipv4::of(static_cast<uint8_t>(a.value >> 24), static_cast<uint8_t>(a.value >> 16),
                  static_cast<uint8_t>(a.value >> 8), static_cast<uint8_t>(a.value));
}
Endpoint from_tcp(const tcp::Endpoint& e) { return {from_wire(e.addr), e.port}; }

// A Duration in the form TcpConfig::set parses, exactly.
std::string nanos_text(Nanos d) { return std::to_string(d.count()) + "ns"; }
std::string bool_text(bool b) { return b ? "true" : "false"; }

// Connections the application can send on (POLLOUT): open and not yet closing.
bool open_for_data(tcp::State s) {
  return s == tcp::State::kEstablished || s == tcp::State::kCloseWait;
}
bool is_end(tcp::State s) { return s == tcp::State::kClosed || s == tcp::State::kTimeWait; }

// The knobs an open connection takes (tcp::Connection::set_socket_options,
// as Linux's setsockopt does: TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE,
// TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT).
constexpr std::string_view kLiveKnobs[] = {"nodelay",         "keepalive.enabled",
                                           "keepalive.idle",  "keepalive.interval",
                                           "keepalive.count", "user_timeout"};
bool is_live(std::string_view knob) {
  for (std::string_view k : kLiveKnobs)
    if (k == knob) return true;
  return false;
}
// `cur` with the live knobs of `next`.
tcp::TcpConfig with_live(tcp::TcpConfig cur, const tcp::TcpConfig& next) {
  cur.nodelay = next.nodelay;
  cur.keepalive = next.keepalive;
  cur.keepalive_idle = next.keepalive_idle;
  cur.keepalive_interval = next.keepalive_interval;
  cur.keepalive_count = next.keepalive_count;
  cur.user_timeout = next.user_timeout;
  return cur;
}
std::string live_list() {
  std::string out;
  for (std::string_view k : kLiveKnobs) out += (out.empty() ? "" : ", ") + std::string(k);
  return "on an open connection only " + out + " change";
}
std::string why_fixed(std::string_view knob) {
  std::string why = std::string(knob);
  if (knob == "mss" || knob == "window_scaling" || knob == "sack" || knob == "timestamps") {
    why += " is negotiated in the SYN";
  } else if (knob == "send_buffer" || knob == "recv_buffer") {
    why += " sizes the buffers when the connection opens";
  } else {
    why += " is fixed once the connection exists";
  }
  return why + " (" + live_list() + ")";
}

}  // namespace

// --- Addresses ---

std::optional<Ipv4> Ipv4::parse(std::string_view dotted) {
  const auto a = wire::Ipv4Addr::parse(dotted);
  if (!a) return std::nullopt;
  return from_wire(*a);
}
std::string Ipv4::to_string() const { return to_wire(*this).to_string(); }
std::string Endpoint::to_string() const { return addr.to_string() + ":" + std::to_string(port); }
std::string errno_name(int err) { return tcp::errno_name(err); }

// --- SocketOptions ---

struct SocketOptions::Impl {
  tcp::TcpConfig cfg;
};

SocketOptions::SocketOptions() : impl_(std::make_unique<Impl>()) {}
SocketOptions::SocketOptions(const SocketOptions& o)
    : impl_(std::make_unique<Impl>(*o.impl_)), why_(o.why_) {}
SocketOptions& SocketOptions::operator=(const SocketOptions& o) {
  if (this != &o) {
    *impl_ = *o.impl_;
    why_ = o.why_;
  }
  return *this;
}
SocketOptions::~SocketOptions() = default;

std::error_code SocketOptions::fail(std::error_code ec, std::string why) {
  why_ = std::move(why);
  return ec;
}

std::error_code SocketOptions::profile(std::string_view name) {
  if (!tcp::TcpConfig::from_profile(name, &impl_->cfg)) {
    return fail(errc(std::errc::invalid_argument),
                "unknown profile '" + std::string(name) + "' (expected rfc or linux)");
  }
  why_.clear();
  return {};
}

std::error_code SocketOptions::set(std::string_view knob, std::string_view value) {
  const auto& names = tcp::TcpConfig::knob_names();
  bool known = false;
  for (const auto& n : names) known = known || n == knob;
  if (!known) {
    return fail(errc(std::errc::no_protocol_option),
                "unknown option '" + std::string(knob) + "' (docs/knobs.md lists them)");
  }
  if (std::string err = impl_->cfg.set(knob, value); !err.empty()) {
    return fail(errc(std::errc::invalid_argument), std::string(knob) + ": " + err);
  }
  why_.clear();
  return {};
}

const std::vector<std::string>& SocketOptions::knob_names() { return tcp::TcpConfig::knob_names(); }

std::error_code SocketOptions::keepalive(bool on) {
  return set("keepalive.enabled", bool_text(on));
}
std::error_code SocketOptions::keepalive_idle(Nanos d) {
  return set("keepalive.idle", nanos_text(d));
}
std::error_code SocketOptions::keepalive_interval(Nanos d) {
  return set("keepalive.interval", nanos_text(d));
}
std::error_code SocketOptions::keepalive_count(uint32_t n) {
  return set("keepalive.count", std::to_string(n));
}
std::error_code SocketOptions::user_timeout(Nanos d) { return set("user_timeout", nanos_text(d)); }
std::error_code SocketOptions::nodelay(bool on) { return set("nodelay", bool_text(on)); }
std::error_code SocketOptions::mss(uint32_t bytes) { return set("mss", std::to_string(bytes)); }
std::error_code SocketOptions::send_buffer(uint32_t bytes) {
  return set("send_buffer", std::to_string(bytes));
}
std::error_code SocketOptions::recv_buffer(uint32_t bytes) {
  return set("recv_buffer", std::to_string(bytes));
}
std::error_code SocketOptions::rto_min(Nanos d) { return set("rto.min", nanos_text(d)); }
std::error_code SocketOptions::rto_max(Nanos d) { return set("rto.max", nanos_text(d)); }
std::error_code SocketOptions::rto_initial(Nanos d) { return set("rto.initial", nanos_text(d)); }
std::error_code SocketOptions::retries(uint32_t n) {
  return set("retries.data", std::to_string(n));
}
std::error_code SocketOptions::syn_retries(uint32_t n) {
  return set("retries.syn", std::to_string(n));
}
std::error_code SocketOptions::delayed_ack(Nanos d) { return set("delayed_ack", nanos_text(d)); }
std::error_code SocketOptions::fin_wait2_timeout(Nanos d) {
  return set("fin_wait2_timeout", nanos_text(d));
}
std::error_code SocketOptions::msl(Nanos d) { return set("msl", nanos_text(d)); }
std::error_code SocketOptions::timestamps(bool on) { return set("timestamps", bool_text(on)); }
std::error_code SocketOptions::sack(bool on) { return set("sack", bool_text(on)); }
std::error_code SocketOptions::window_scaling(bool on) {
  return set("window_scaling", bool_text(on));
}
std::error_code SocketOptions::congestion(std::string_view name) { return set("congestion", name); }

// --- Core ---

namespace api_detail {

Core::Core(const stack::StackConfig& cfg, uint64_t seed, Instant t0)
    : start(t0), now(t0), st(cfg, util::Rng(seed), this, t0) {}

Outcome Core::outcome_of(const tcp::Connection& c, tcp::State from, Instant at) const {
  const tcp::ConnectionError& err = c.error();
  Outcome o;
  o.local = from_tcp(c.tuple().local);
  o.remote = from_tcp(c.tuple().remote);
  o.at = to_time_point(at);
  o.from_state = std::string(tcp::state_name(from));
  if (err.err != 0) {
    o.error = from_errno(err.err);
    o.errno_name = tcp::errno_name(err.err);
  }
  o.mechanism = std::string(tcp::reason_name(err.reason));
  o.evidence = err.detail;
  const std::string line = stack::end_line(c.tuple(), from, err, at - start);
  // end_line is "<tuple> ended at <t> s in <STATE>: <summary>".
  const std::string head = "in " + o.from_state + ": ";
  const size_t pos = line.find(head);
  o.summary = pos == std::string::npos ? line : line.substr(pos + head.size());
  o.line = line;
  return o;
}

void Core::on_event(const tcp::Event& e) {
  if (event_fn) {
    Event pub;
    pub.time = to_time_point(e.time);
    pub.connection = e.conn;
    pub.type = tcp::event_name(e.type);
    if (e.type == tcp::EventType::kStateChange) {
      pub.from = tcp::state_name(e.from);
      pub.to = tcp::state_name(e.to);
    }
    if (e.timer != tcp::RetransmitTimer::kNone) pub.timer = tcp::timer_name(e.timer);
    pub.seq = e.seq;
    pub.len = e.len;
    pub.count = e.count;
    pub.limit = e.limit;
    pub.rto = Nanos(e.rto.ns());
    pub.since = Nanos(e.since.ns());
    pub.err = e.err;
    pub.reason = tcp::reason_name(e.reason);
    pub.detail = e.detail;
    event_fn(pub);
  }
  // A connection's end: CLOSED or TIME-WAIT, once (stack::EndLog's rule).
  if (e.type != tcp::EventType::kStateChange || e.from == tcp::State::kTimeWait) return;
  if (!is_end(e.to)) return;
  const tcp::Connection* c = st.connection(e.conn);
  if (!c) return;
  Outcome o = outcome_of(*c, e.from, e.time);
  if (auto it = sockets.find(e.conn); it != sockets.end()) it->second.outcome = o;
  ended.push_back(std::move(o));
}

Readiness Core::readiness(stack::ConnId id) const {
  Readiness r;
  const tcp::Connection* c = st.connection(id);
  auto rec = sockets.find(id);
  if (!c) {
    r.closed = true;
    return r;
  }
  const size_t avail = c->recv_available();
  r.error = c->error().err ? from_errno(c->error().err) : std::error_code();
  r.eof = avail == 0 && c->peer_closed();
  r.closed = is_end(c->state());
  const bool write_shut = rec != sockets.end() && rec->second.write_shut;
  r.writable = open_for_data(c->state()) && !write_shut && c->send_space() > 0;
  // Readable: recv() returns without EAGAIN (bytes, EOF, the error, or a
  // connection that ended and can give nothing more).
  r.readable = avail > 0 || c->peer_closed() || static_cast<bool>(r.error) || r.closed;
  return r;
}

void Core::dispatch() {
  if (dispatching) return;  // a callback's own calls do not recurse
  dispatching = true;
  if (!ended.empty()) {
    std::vector<Outcome> batch;
    batch.swap(ended);
    if (end_fn)
      for (const Outcome& o : batch) end_fn(o);
  }
  // Listeners first, so a connection accepted now gets its callbacks in
  // this same round.
  std::vector<uint16_t> ports;
  for (const auto& [port, rec] : listeners) ports.push_back(port);
  for (uint16_t port : ports) {
    auto it = listeners.find(port);
    if (it == listeners.end() || !it->second.acceptable || !it->second.handle) continue;
    if (st.accept_queue_length(port) == 0) continue;
    auto fn = it->second.acceptable;  // the callback may replace or destroy it
    fn(*it->second.handle);
  }
  std::vector<stack::ConnId> ids;
  for (const auto& [id, rec] : sockets) ids.push_back(id);
  for (stack::ConnId id : ids) {
    // Re-found before each callback: an earlier one may have closed it.
    auto rec = [&]() -> SocketRecord* {
      auto it = sockets.find(id);
      return it == sockets.end() || !it->second.handle ? nullptr : &it->second;
    };
    SocketRecord* r = rec();
    if (!r) continue;
    const tcp::Connection* c = st.connection(id);
    const size_t avail = c ? c->recv_available() : 0;
    const bool eof = c && c->peer_closed();
    const bool err = c && c->error().err != 0;
    const bool more = avail > r->seen_bytes || (eof && !r->seen_eof) || (err && !r->seen_error);
    r->seen_bytes = avail;
    r->seen_eof = eof;
    r->seen_error = err;
    if (more && r->readable) {
      auto fn = r->readable;
      fn(*r->handle);
      if (!(r = rec())) continue;
      c = st.connection(id);
      r->seen_bytes = c ? c->recv_available() : 0;
    }
    const bool writable = readiness(id).writable;
    if (writable && !r->seen_writable && r->writable) {
      r->seen_writable = true;
      auto fn = r->writable;
      fn(*r->handle);
      if (!(r = rec())) continue;
    }
    r->seen_writable = readiness(id).writable;
    if (r->outcome && !r->closed_fired) {
      r->closed_fired = true;
      if (r->closed) {
        auto fn = r->closed;
        const Outcome o = *r->outcome;
        fn(*r->handle, o);
      }
    }
  }
  dispatching = false;
}

}  // namespace api_detail

// --- Stack ---

Stack::Stack(const StackOptions& o, TimePoint start) {
  stack::StackConfig cfg;
  cfg.address = to_wire(o.address);
  cfg.tcp = o.defaults.impl_->cfg;
  cfg.tso_limit = o.tso_limit;
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"stack.syn_backlog", std::to_string(o.syn_backlog)},
        {"stack.synack_retries", std::to_string(o.synack_retries)},
        {"stack.syn_cookies", bool_text(o.syn_cookies)},
        {"stack.max_connections", std::to_string(o.max_connections)}}) {
    if (std::string err = cfg.set_one(key, value); !err.empty()) {
      throw std::system_error(errc(std::errc::invalid_argument),
                              "vigil::Stack: " + key + ": " + err);
    }
  }
  const uint64_t seed =
      o.seed ? o.seed : (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  core_ = std::make_shared<Core>(cfg, seed, to_instant(start));
  core_->st.set_partial_checksum(o.partial_checksum);
}

Stack::~Stack() {
  // Handles that outlive the stack become empty (their weak_ptr expires).
  for (auto& [id, rec] : core_->sockets) {
    if (rec.handle) rec.handle->core_.reset();
  }
  for (auto& [port, rec] : core_->listeners) {
    if (rec.handle) rec.handle->core_.reset();
  }
}

void Stack::receive(TimePoint now, std::span<const uint8_t> datagram) {
  core_->now = std::max(core_->now, to_instant(now));
  core_->st.receive(core_->now, datagram);
  core_->dispatch();
}

void Stack::advance(TimePoint now) {
  core_->now = std::max(core_->now, to_instant(now));
  core_->st.on_timers(core_->now);
  core_->dispatch();
}

size_t Stack::transmit(std::span<uint8_t> buf) { return core_->st.poll_transmit(core_->now, buf); }

std::optional<TimePoint> Stack::next_deadline() const {
  const Instant d = core_->st.next_deadline();
  if (d.is_never()) return std::nullopt;
  return to_time_point(d);
}

TimePoint Stack::now() const { return to_time_point(core_->now); }
const std::string& Stack::why() const { return core_->why; }
size_t Stack::connections() const { return core_->st.allocated_connections(); }

void Stack::on_event(std::function<void(const Event&)> fn) { core_->event_fn = std::move(fn); }
void Stack::on_connection_end(std::function<void(const Outcome&)> fn) {
  core_->end_fn = std::move(fn);
}

Socket Stack::connect(Endpoint remote, std::error_code& ec, const SocketOptions* options) {
  stack::OpenError err;
  const tcp::TcpConfig* cfg = options ? &options->impl_->cfg : nullptr;
  const auto id = core_->st.connect(core_->now, {to_wire(remote.addr), remote.port}, &err, cfg);
  if (!id) {
    core_->why = err.message;
    // Stack::connect's refusals: the connection cap, no free port, a bad range.
    if (err.message.starts_with("connection cap")) {
      ec = errc(std::errc::no_buffer_space);
    } else if (err.message.starts_with("bad ephemeral")) {
      ec = errc(std::errc::invalid_argument);
    } else {
      ec = errc(std::errc::address_not_available);
    }
    return {};
  }
  ec.clear();
  core_->why.clear();
  Socket s(core_, *id);
  core_->sockets[*id].handle = &s;
  return s;  // the move constructor re-points the record at the caller's handle
}

Listener Stack::listen(uint16_t port, size_t backlog, std::error_code& ec,
                       const SocketOptions* options) {
  stack::OpenError err;
  const tcp::TcpConfig* cfg = options ? &options->impl_->cfg : nullptr;
  if (!core_->st.listen(port, backlog, &err, cfg)) {
    core_->why = err.message;
    ec = errc(port == 0 ? std::errc::invalid_argument : std::errc::address_in_use);
    return {};
  }
  ec.clear();
  core_->why.clear();
  Listener l(core_, port);
  core_->listeners[port].handle = &l;
  return l;
}

// --- Socket ---

Socket::Socket(Socket&& o) noexcept : core_(std::move(o.core_)), id_(std::exchange(o.id_, 0)) {
  if (auto core = core_.lock()) {
    if (auto it = core->sockets.find(id_); it != core->sockets.end()) it->second.handle = this;
  }
}

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    core_ = std::move(o.core_);
    id_ = std::exchange(o.id_, 0);
    if (auto core = core_.lock()) {
      if (auto it = core->sockets.find(id_); it != core->sockets.end()) it->second.handle = this;
    }
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() {
  const uint64_t id = std::exchange(id_, 0);
  auto core = core_.lock();
  core_.reset();
  if (!core || id == 0) return;
  core->sockets.erase(id);
  // close(2): read nothing more (a RST if bytes are unread), FIN after the
  // queued data, then the connection finishes on its own as an orphan.
  core->st.close_and_stop_reading(core->now, id);
  core->st.close_orphan(core->now, id);
  core->st.release(id);
}

void Socket::abort() {
  auto core = core_.lock();
  if (!core || id_ == 0) return;
  core->st.abort(core->now, id_);
}

std::error_code Socket::shutdown() {
  auto core = core_.lock();
  if (!core || id_ == 0) return errc(std::errc::bad_file_descriptor);
  const tcp::Connection* c = core->st.connection(id_);
  if (!c || is_end(c->state())) return errc(std::errc::not_connected);
  core->sockets[id_].write_shut = true;
  core->st.close(core->now, id_);
  return {};
}

size_t Socket::send(std::span<const uint8_t> data, std::error_code& ec) {
  auto core = core_.lock();
  if (!core || id_ == 0) {
    ec = errc(std::errc::bad_file_descriptor);
    return 0;
  }
  api_detail::SocketRecord& rec = core->sockets[id_];
  const tcp::Connection* c = core->st.connection(id_);
  if (c && c->error().err != 0 && !rec.error_reported) {
    rec.error_reported = true;  // SO_ERROR: reported once
    ec = from_errno(c->error().err);
    return 0;
  }
  if (!c || rec.write_shut || is_end(c->state()) || c->send_space() == 0) {
    // Linux: EPIPE once the sending side is shut; EAGAIN while it is full
    // (or still connecting with a full buffer).
    const bool open = c && !rec.write_shut && !is_end(c->state()) &&
                      (open_for_data(c->state()) || c->state() == tcp::State::kSynSent ||
                       c->state() == tcp::State::kSynReceived);
    ec = errc(open ? std::errc::resource_unavailable_try_again : std::errc::broken_pipe);
    return 0;
  }
  ec.clear();
  return core->st.send(core->now, id_, data);
}

size_t Socket::send(std::string_view text, std::error_code& ec) {
  return send(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), ec);
}

size_t Socket::recv(std::span<uint8_t> out, std::error_code& ec) {
  auto core = core_.lock();
  if (!core || id_ == 0) {
    ec = errc(std::errc::bad_file_descriptor);
    return 0;
  }
  ec.clear();
  const tcp::Connection* c = core->st.connection(id_);
  if (!c) return 0;
  if (c->recv_available() > 0) return core->st.recv(core->now, id_, out);
  api_detail::SocketRecord& rec = core->sockets[id_];
  if (c->error().err != 0 && !rec.error_reported) {
    rec.error_reported = true;
    ec = from_errno(c->error().err);
    return 0;
  }
  if (c->peer_closed() || is_end(c->state())) return 0;  // EOF
  ec = errc(std::errc::resource_unavailable_try_again);
  return 0;
}

Readiness Socket::poll() const {
  auto core = core_.lock();
  if (!core || id_ == 0) {
    Readiness r;
    r.closed = true;
    r.error = errc(std::errc::bad_file_descriptor);
    return r;
  }
  return core->readiness(id_);
}

size_t Socket::send_space() const {
  const Readiness r = poll();
  if (!r.writable) return 0;
  auto core = core_.lock();
  return core->st.connection(id_)->send_space();
}

size_t Socket::readable_bytes() const {
  auto core = core_.lock();
  const tcp::Connection* c = core && id_ ? core->st.connection(id_) : nullptr;
  return c ? c->recv_available() : 0;
}

std::string_view Socket::state() const {
  auto core = core_.lock();
  const tcp::Connection* c = core && id_ ? core->st.connection(id_) : nullptr;
  return c ? tcp::state_name(c->state()) : std::string_view();
}

std::optional<Outcome> Socket::outcome() const {
  auto core = core_.lock();
  if (!core || id_ == 0) return std::nullopt;
  auto it = core->sockets.find(id_);
  return it == core->sockets.end() ? std::nullopt : it->second.outcome;
}

Endpoint Socket::local() const {
  auto core = core_.lock();
  const tcp::Connection* c = core && id_ ? core->st.connection(id_) : nullptr;
  return c ? from_tcp(c->tuple().local) : Endpoint{};
}

Endpoint Socket::remote() const {
  auto core = core_.lock();
  const tcp::Connection* c = core && id_ ? core->st.connection(id_) : nullptr;
  return c ? from_tcp(c->tuple().remote) : Endpoint{};
}

std::error_code Socket::set(std::string_view knob, std::string_view value) {
  auto core = core_.lock();
  if (!core || id_ == 0) return errc(std::errc::bad_file_descriptor);
  api_detail::SocketRecord& rec = core->sockets[id_];
  const tcp::Connection* c = core->st.connection(id_);
  if (!c) return refuse(rec, std::errc::not_connected, "the connection is gone");
  if (!is_live(knob)) {
    const auto& names = tcp::TcpConfig::knob_names();
    if (std::find(names.begin(), names.end(), knob) == names.end()) {
      return refuse(rec, std::errc::no_protocol_option,
                    "unknown option '" + std::string(knob) + "' (docs/knobs.md lists them)");
    }
  }
  const tcp::TcpConfig& cur = c->config();
  tcp::TcpConfig next = cur;
  if (std::string err = next.set(knob, value); !err.empty()) {
    return refuse(rec, std::errc::invalid_argument, std::string(knob) + ": " + err);
  }
  if (!is_live(knob) && !(next == cur)) {
    return refuse(rec, std::errc::already_connected, why_fixed(knob));
  }
  return apply_live(*core, id_, rec, cur, next);
}

std::error_code Socket::set_options(const SocketOptions& options) {
  auto core = core_.lock();
  if (!core || id_ == 0) return errc(std::errc::bad_file_descriptor);
  api_detail::SocketRecord& rec = core->sockets[id_];
  const tcp::Connection* c = core->st.connection(id_);
  if (!c) return refuse(rec, std::errc::not_connected, "the connection is gone");
  const tcp::TcpConfig& want = options.impl_->cfg;
  const tcp::TcpConfig& cur = c->config();
  const tcp::TcpConfig next = with_live(cur, want);
  if (!(next == want)) {
    return refuse(rec, std::errc::already_connected,
                  "the options differ from the connection's in a knob fixed once it exists (" +
                      live_list() + ")");
  }
  return apply_live(*core, id_, rec, cur, next);
}

std::string Socket::why() const {
  auto core = core_.lock();
  if (!core || id_ == 0) return {};
  auto it = core->sockets.find(id_);
  return it == core->sockets.end() ? std::string() : it->second.why;
}

void Socket::on_readable(std::function<void(Socket&)> fn) {
  if (auto core = core_.lock(); core && id_) core->sockets[id_].readable = std::move(fn);
}
void Socket::on_writable(std::function<void(Socket&)> fn) {
  if (auto core = core_.lock(); core && id_) core->sockets[id_].writable = std::move(fn);
}
void Socket::on_closed(std::function<void(Socket&, const Outcome&)> fn) {
  if (auto core = core_.lock(); core && id_) core->sockets[id_].closed = std::move(fn);
}

// --- Listener ---

Listener::Listener(Listener&& o) noexcept
    : core_(std::move(o.core_)), port_(std::exchange(o.port_, 0)) {
  if (auto core = core_.lock()) {
    if (auto it = core->listeners.find(port_); it != core->listeners.end())
      it->second.handle = this;
  }
}

Listener& Listener::operator=(Listener&& o) noexcept {
  if (this != &o) {
    close();
    core_ = std::move(o.core_);
    port_ = std::exchange(o.port_, 0);
    if (auto core = core_.lock()) {
      if (auto it = core->listeners.find(port_); it != core->listeners.end())
        it->second.handle = this;
    }
  }
  return *this;
}

Listener::~Listener() { close(); }

void Listener::close() {
  const uint16_t port = std::exchange(port_, 0);
  auto core = core_.lock();
  core_.reset();
  if (!core || port == 0) return;
  core->listeners.erase(port);
  core->st.unlisten(core->now, port);
}

std::optional<Socket> Listener::accept(std::error_code& ec) {
  auto core = core_.lock();
  if (!core || port_ == 0) {
    ec = errc(std::errc::bad_file_descriptor);
    return std::nullopt;
  }
  const auto id = core->st.accept(port_);
  if (!id) {
    ec = errc(std::errc::resource_unavailable_try_again);
    return std::nullopt;
  }
  ec.clear();
  std::optional<Socket> s(Socket(core, *id));
  core->sockets[*id].handle = &*s;
  return s;
}

bool Listener::pending() const {
  auto core = core_.lock();
  return core && port_ && core->st.accept_queue_length(port_) > 0;
}

void Listener::on_acceptable(std::function<void(Listener&)> fn) {
  if (auto core = core_.lock(); core && port_) core->listeners[port_].acceptable = std::move(fn);
}

}  // namespace vigil
