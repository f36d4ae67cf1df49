// vigil's public C++ API (docs/library.md): a sans-IO TCP/IPv4 stack with
// RAII sockets, std::error_code errors with errno values, readiness
// callbacks, and each connection's outcome (errno, mechanism, evidence) in
// the words `vigil sim` uses.
//
// Sans-IO: the Stack never reads a clock and never touches a device. The
// program feeds it datagrams (receive) and the time (receive, advance),
// takes datagrams out (transmit) and sleeps until next_deadline(). Socket
// calls use the time of the latest receive()/advance(). vigil/tun.hpp runs
// a Stack on a Linux TUN device for you.
//
// Only standard types appear here; the layers' own headers (vigil/stack/,
// vigil/tcp/ ...) are installed too but are not a stable API.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace vigil {

// The time line the Stack runs on. Any origin will do (a virtual clock
// starting at TimePoint{} or steady_clock::now()); it must not go back.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, std::chrono::nanoseconds>;
using Nanos = std::chrono::nanoseconds;

struct Ipv4 {
  std::array<uint8_t, 4> bytes{};
  static constexpr Ipv4 of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {{a, b, c, d}}; }
  static std::optional<Ipv4> parse(std::string_view dotted);  // "10.0.0.1"
  std::string to_string() const;
  auto operator<=>(const Ipv4&) const = default;
};

struct Endpoint {
  Ipv4 addr{};
  uint16_t port = 0;
  std::string to_string() const;  // "10.0.0.1:7"
  auto operator<=>(const Endpoint&) const = default;
};

// --- Options ---------------------------------------------------------------
// Every per-connection knob of docs/knobs.md. Each setter checks its range
// and returns std::errc::invalid_argument (or no_protocol_option for an
// unknown name) with the reason in why(); on error nothing changes. Give
// them to connect() or listen() (a listener's options go to every
// connection it accepts). On an open connection Socket::set and
// Socket::set_options change the live ones (nodelay, keepalive.*,
// user_timeout, as Linux's setsockopt does); the rest are fixed once the
// connection exists (see Socket::set).
class SocketOptions {
 public:
  SocketOptions();  // the "rfc" profile
  SocketOptions(const SocketOptions&);
  SocketOptions& operator=(const SocketOptions&);
  ~SocketOptions();

  // "rfc" (RFC defaults) or "linux" (Linux 6.x defaults): replaces every knob.
  std::error_code profile(std::string_view name);
  // Any knob by its name in docs/knobs.md: set("rto.min", "200ms").
  std::error_code set(std::string_view knob, std::string_view value);
  static const std::vector<std::string>& knob_names();
  // Why the last failed call failed ("" after a success).
  const std::string& why() const { return why_; }

  // Typed setters for the usual socket options.
  std::error_code keepalive(bool on);           // SO_KEEPALIVE
  std::error_code keepalive_idle(Nanos d);      // TCP_KEEPIDLE
  std::error_code keepalive_interval(Nanos d);  // TCP_KEEPINTVL
  std::error_code keepalive_count(uint32_t n);  // TCP_KEEPCNT
  std::error_code user_timeout(Nanos d);        // TCP_USER_TIMEOUT (0: off)
  std::error_code nodelay(bool on);             // TCP_NODELAY
  std::error_code mss(uint32_t bytes);          // TCP_MAXSEG
  std::error_code send_buffer(uint32_t bytes);  // SO_SNDBUF
  std::error_code recv_buffer(uint32_t bytes);  // SO_RCVBUF
  std::error_code rto_min(Nanos d);
  std::error_code rto_max(Nanos d);
  std::error_code rto_initial(Nanos d);
  std::error_code retries(uint32_t timeouts);      // net.ipv4.tcp_retries2 (R2)
  std::error_code syn_retries(uint32_t timeouts);  // TCP_SYNCNT
  std::error_code delayed_ack(Nanos d);
  std::error_code fin_wait2_timeout(Nanos d);         // TCP_LINGER2 (0: off)
  std::error_code msl(Nanos d);                       // TIME-WAIT lasts 2 * msl
  std::error_code timestamps(bool on);                // RFC 7323
  std::error_code sack(bool on);                      // RFC 2018
  std::error_code window_scaling(bool on);            // RFC 7323 §2
  std::error_code congestion(std::string_view name);  // "newreno" or "cubic"

 private:
  friend class Stack;
  friend class Socket;
  struct Impl;
  std::error_code fail(std::error_code ec, std::string why);
  std::unique_ptr<Impl> impl_;
  std::string why_;
};

struct StackOptions {
  Ipv4 address{};
  uint64_t seed = 0;         // ISN secret and port choices; 0: from std::random_device
  SocketOptions defaults{};  // for connect()/listen() calls given none
  // Listener defences (docs/knobs.md "stack.*"): SYN queue per listener,
  // SYN-ACK retries, SYN cookies, connections allocated at once (0: no cap).
  size_t syn_backlog = 256;
  uint32_t synack_retries = 5;
  bool syn_cookies = true;
  size_t max_connections = 16384;
  // Datagrams built with only the pseudo-header checksum, for a device that
  // completes it (a TUN device with IFF_VNET_HDR); vigil/tun.hpp sets it.
  bool partial_checksum = false;
  // TSO-style sends of up to this many bytes per datagram, for a device
  // that segments them (0: one MSS per datagram, as on a wire).
  uint32_t tso_limit = 0;
};

// --- Outcomes and events ---------------------------------------------------

// How a connection ended, as `vigil sim` prints it.
struct Outcome {
  Endpoint local, remote;
  TimePoint at;
  std::string from_state;  // the state it ended from: "ESTABLISHED"
  std::error_code error;   // generic_category errno; empty: a clean close
  std::string errno_name;  // "ETIMEDOUT"; "" when error is empty
  std::string mechanism;   // "user_timeout", "reset", "keepalive" ...; "" if none
  std::string evidence;    // "15 retransmissions over 663.0 s" ...
  // "ETIMEDOUT (user_timeout): <evidence>", "closed", "closed: <evidence>"
  std::string summary;
  // "10.0.0.1:49152 <-> 10.0.0.2:7 ended at 10.000000 s in ESTABLISHED:
  // <summary>": seconds since the Stack's start (EndLog's line).
  std::string line;
};

// One decision of one connection (tcp/events.hpp, docs/events.md): the
// type's name and whichever fields it uses. Strings are valid during the
// callback only.
struct Event {
  TimePoint time;
  uint64_t connection = 0;    // Socket::id()
  std::string_view type;      // "state", "retransmit", "rst_sent" ... (tcp::event_name)
  std::string_view from, to;  // states, for "state"
  std::string_view timer;     // why a retransmission: "rto", "fast" ...
  uint32_t seq = 0, len = 0, count = 0, limit = 0;
  Nanos rto{}, since{};
  int err = 0;              // errno, for "abort"
  std::string_view reason;  // mechanism, for "abort"
  std::string_view detail;
};

// Readiness, for poll() and the callbacks. Like POLLIN/POLLOUT/POLLHUP/POLLERR.
struct Readiness {
  bool readable = false;  // recv() would not say EAGAIN: data, EOF or an error
  bool writable = false;  // send() would take at least one byte
  bool eof = false;       // the peer's FIN and every byte before it are read
  bool closed = false;    // the connection has ended (see Socket::outcome)
  std::error_code error;  // the connection's failure, if any
};

class Stack;
namespace api_detail {
struct Core;
}

// --- Sockets ---------------------------------------------------------------
// A connection's handle. Move-only. Destroying it (or close()) is close(2):
// the application reads nothing more, a FIN follows queued data (a RST if
// received data is unread, RFC 2525 §2.17), and the connection finishes on
// its own. Every call is non-blocking; errors are errno values in
// std::generic_category(): EAGAIN (would block), EPIPE (written after
// shutdown or the end), ENOTCONN, EBADF (empty or closed handle), or the
// connection's own failure (ECONNRESET, ETIMEDOUT ...) once.
class Socket {
 public:
  Socket() = default;
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();
  explicit operator bool() const { return id_ != 0; }

  size_t send(std::span<const uint8_t> data, std::error_code& ec);
  size_t send(std::string_view text, std::error_code& ec);
  // 0 with ec empty: end of stream (the peer's FIN).
  size_t recv(std::span<uint8_t> out, std::error_code& ec);
  std::error_code shutdown();  // no more sends: FIN after queued data (SHUT_WR)
  void close();                // as the destructor; the handle becomes empty
  void abort();                // RST now (SO_LINGER 0 then close)

  Readiness poll() const;
  size_t send_space() const;  // bytes send() would take now
  size_t readable_bytes() const;
  std::string_view state() const;          // "ESTABLISHED" ...; "" for an empty handle
  std::optional<Outcome> outcome() const;  // set once the connection has ended
  Endpoint local() const;
  Endpoint remote() const;
  uint64_t id() const { return id_; }  // Event::connection

  // setsockopt(2) on the open connection: one knob by its docs/knobs.md
  // name. Live (from the next segment or timer on): nodelay (TCP_NODELAY;
  // turning it on sends what Nagle held back), keepalive.enabled,
  // keepalive.idle, keepalive.interval, keepalive.count (SO_KEEPALIVE,
  // TCP_KEEPIDLE ...: the timer re-arms as Linux's does) and user_timeout
  // (TCP_USER_TIMEOUT). Every other knob is fixed once the connection
  // exists: mss, window_scaling, sack and timestamps are negotiated in the
  // SYN (RFC 9293 §3.7.1, RFC 7323, RFC 2018), the buffers are sized when it
  // opens, the rest are the connection's profile. Setting one of those to
  // another value is EISCONN; to the value it has already, a no-op.
  // Errors: ENOPROTOOPT (unknown knob), EINVAL (bad value), EISCONN, EBADF
  // (empty handle); why() says more, and on error nothing changes.
  std::error_code set(std::string_view knob, std::string_view value);
  // Every live knob of `options` at once. EISCONN, changing nothing, if
  // `options` differs from the connection's own in a fixed knob (start
  // from the options the connection was opened with).
  std::error_code set_options(const SocketOptions& options);
  // Why the last set()/set_options() on this handle failed ("" after a success).
  std::string why() const;

  // Edge-triggered callbacks, run from Stack::receive/advance after the
  // input is processed: readable when bytes arrive, the FIN, or an error;
  // writable when the connection opens or send space returns after
  // running out; closed once, with the outcome. A callback may call any
  // Socket function and may destroy this handle.
  void on_readable(std::function<void(Socket&)> fn);
  void on_writable(std::function<void(Socket&)> fn);
  void on_closed(std::function<void(Socket&, const Outcome&)> fn);

 private:
  friend class Stack;
  friend class Listener;
  Socket(std::weak_ptr<api_detail::Core> core, uint64_t id) : core_(std::move(core)), id_(id) {}
  std::weak_ptr<api_detail::Core> core_;
  uint64_t id_ = 0;
};

// A listening port. Destroying it stops listening: connections not yet
// accepted are reset, as Linux does when a listener closes.
class Listener {
 public:
  Listener() = default;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();
  explicit operator bool() const { return port_ != 0; }

  // An established connection, or nullopt with EAGAIN when none waits.
  std::optional<Socket> accept(std::error_code& ec);
  bool pending() const;  // accept() would return a socket
  uint16_t port() const { return port_; }
  void close();
  // Runs from Stack::receive/advance while connections wait to be accepted.
  void on_acceptable(std::function<void(Listener&)> fn);

 private:
  friend class Stack;
  Listener(std::weak_ptr<api_detail::Core> core, uint16_t port)
      : core_(std::move(core)), port_(port) {}
  std::weak_ptr<api_detail::Core> core_;
  uint16_t port_ = 0;
};

// --- The stack -------------------------------------------------------------
class Stack {
 public:
  // Fails (std::system_error with EINVAL) only on contradictory options.
  Stack(const StackOptions& options, TimePoint start);
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();

  // --- Driving (sans-IO) ---
  // One IPv4 datagram from the network.
  void receive(TimePoint now, std::span<const uint8_t> datagram);
  // Runs the timers due at `now` (call at next_deadline(), or any time).
  void advance(TimePoint now);
  // The next datagram to send, built into `buf` (65535 bytes always
  // suffice; 2048 for MSS 1460); 0 when nothing is owed. Call until 0 after
  // every receive(), advance() and socket call.
  size_t transmit(std::span<uint8_t> buf);
  // When advance() must run next; nullopt: no timer is armed.
  std::optional<TimePoint> next_deadline() const;
  TimePoint now() const;  // the latest time given

  // --- Opening ---
  // Active open from an ephemeral port (SYN at once). Errors: EADDRNOTAVAIL
  // (no free port), ENOBUFS (max_connections), EINVAL; why() says more.
  Socket connect(Endpoint remote, std::error_code& ec, const SocketOptions* options = nullptr);
  // Errors: EADDRINUSE, EINVAL (port 0).
  Listener listen(uint16_t port, size_t backlog, std::error_code& ec,
                  const SocketOptions* options = nullptr);
  const std::string& why() const;  // the last failed open, in words

  // --- Observation ---
  // Every event of every connection (the structured log `vigil sim --json`
  // writes). One handler; an empty function removes it.
  void on_event(std::function<void(const Event&)> fn);
  // Every connection's end, accepted or not, handle or not (what `vigil
  // tun` prints). One handler; an empty function removes it.
  void on_connection_end(std::function<void(const Outcome&)> fn);
  size_t connections() const;  // allocated, including ones ending on their own

 private:
  friend class TunDriver;
  std::shared_ptr<api_detail::Core> core_;
};

// "ETIMEDOUT" for ETIMEDOUT ("E<number>" when unknown).
std::string errno_name(int err);

}  // namespace vigil
