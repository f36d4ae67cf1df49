// A TCP/IPv4 stack instance: many connections, 4-tuple demultiplexing,
// listeners with an accept queue and a separate SYN queue (SYN cookies when
// it is full, RFC 4987), a connection cap, ephemeral ports, RFC 6528 ISNs,
// and a timer wheel holding one deadline per connection. Still sans-IO: the
// driver feeds datagrams and time in and takes datagrams out.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/syn_cookie.hpp"
#include "stack/timer_wheel.hpp"
#include "tcp/config.hpp"
#include "tcp/connection.hpp"
#include "tcp/events.hpp"
#include "util/rng.hpp"
#include "wire/drop.hpp"
#include "wire/packet.hpp"

namespace vigil::stack {

using ConnId = uint64_t;

struct StackConfig {
  wire::Ipv4Addr address;
  tcp::TcpConfig tcp;  // default for new connections
  // Linux's default net.ipv4.ip_local_port_range.
  uint16_t ephemeral_low = 32768;
  uint16_t ephemeral_high = 60999;
  // Opt-in TSO-style sends for drivers whose device segments (a TUN device
  // with IFF_VNET_HDR): tcp::Connection::set_tso_limit for every
  // connection. 0 (default): one MSS per segment, as on a real wire.
  uint32_t tso_limit = 0;

  // --- Listener defences (RFC 4987; issue 12 hole 4) ---
  // Half-open (SYN-RECEIVED) connections per listener, counted apart from
  // the accept queue listen() sizes, as Linux keeps its SYN queue apart
  // from the accept queue (tcp_max_syn_backlog vs somaxconn).
  size_t syn_backlog = 256;
  // SYN-ACK retransmissions before a half-open connection is dropped (Linux
  // tcp_synack_retries): with a 1 s initial RTO doubling, SYN-ACKs at 0, 1,
  // 3, 7, 15, 31 s and the end at 63 s (RFC 4987 §3.2 "reducing SYN-RECEIVED
  // timer"); RFC 1122's 3-minute SYN floor still holds for our own SYNs.
  uint32_t synack_retries = 5;
  // RFC 4987 §3.6: answer SYNs with a stateless cookie SYN-ACK while the
  // SYN queue is full (Linux tcp_syncookies=1); off: such SYNs are dropped.
  bool syn_cookies = true;
  // Connections allocated at once, half-open and closed-not-released
  // included. Beyond it a SYN gets a RST and connect() fails. 0: no cap.
  size_t max_connections = 16384;

  // `--set stack.KEY=VALUE` (vigil sim and vigil tun): the four listener
  // defences above, each checked against its range (docs/knobs.md). Returns
  // "" or the error naming the range; an unknown key lists the valid ones.
  std::string set_one(std::string_view key, std::string_view value);
  static const std::vector<std::string>& knob_names();  // "stack.syn_backlog", ...
};

struct StackStats {
  uint64_t datagrams_in = 0;
  uint64_t datagrams_out = 0;
  uint64_t not_for_us = 0;               // destination is not our address
  uint64_t martian_source = 0;           // 0/8, 127/8, 224/3+ source (RFC 1122 §3.2.1.3)
  uint64_t listen_no_syn = 0;            // segment without SYN/ACK/RST to a listener: dropped
  uint64_t no_connection = 0;            // TCP segment for no connection or listener
  uint64_t resets_sent = 0;              // RSTs for closed ports (RFC 9293 §3.10.7.1)
  uint64_t resets_queue_full = 0;        // RST replies dropped: reply queue full
  uint64_t syn_backlog_drops = 0;        // SYNs (and cookie ACKs) dropped: accept queue full
  uint64_t syn_queue_drops = 0;          // SYNs dropped: SYN queue full and cookies off
  uint64_t syn_cookies_sent = 0;         // cookie SYN-ACKs (SYN queue full)
  uint64_t syn_cookies_valid = 0;        // ACKs whose cookie validated: connection created
  uint64_t syn_cookies_invalid = 0;      // ACKs to a listener whose cookie failed: RST
  uint64_t syn_fin_drops = 0;            // SYN+FIN for no connection: dropped, no reply
  uint64_t syn_port_zero_drops = 0;      // SYN from or to port 0: dropped, no reply
  uint64_t land_drops = 0;               // SYN from our own address and port (LAND): dropped
  uint64_t connections_refused_cap = 0;  // SYNs refused with RST: max_connections reached
  uint64_t time_wait_reuses = 0;         // TIME-WAIT ended by a newer SYN (RFC 6191)
  uint64_t icmp_no_connection = 0;       // ICMP quoting no connection of ours
  uint64_t connections_opened = 0;
  uint64_t connections_reaped = 0;
};

// Why connect() or listen() refused, in words (DESIGN.md principle 7).
struct OpenError {
  std::string message;
};

class Stack {
 public:
  // `rng` provides the ISN secret and ephemeral-port choices; `sink`
  // receives every connection's events (may be null).
  Stack(const StackConfig& config, util::Rng rng, tcp::EventSink* sink, Instant start);
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  ~Stack();

  // --- Inputs ---
  // verify_checksums=false: the driver vouches for them (a TUN device's
  // partial checksums from the local kernel, never seen on a wire).
  void receive(Instant now, std::span<const uint8_t> datagram, bool verify_checksums = true);
  void on_timers(Instant now);  // runs every connection timer due at `now`

  // --- Outputs ---
  // Next datagram to send, built into `buf` (at least 65535 bytes is always
  // enough; 2048 is enough for MSS 1460). 0 when nothing is owed.
  size_t poll_transmit(Instant now, std::span<uint8_t> buf);
  // The same, also giving the sending connection's MSS (payload bytes per
  // wire segment; 0 for the stack's own RSTs), for a driver that segments
  // TSO-sized datagrams.
  // `partial_csum` (may be null) tells whether the datagram's TCP checksum
  // field holds only the pseudo-header sum (see set_partial_checksum).
  size_t poll_transmit(Instant now, std::span<uint8_t> buf, uint32_t* send_mss,
                       bool* partial_csum = nullptr);
  // Opt-in for a driver whose device completes TCP checksums (TUN with
  // IFF_VNET_HDR): every connection, existing and to come, builds its
  // datagrams with a partial checksum (tcp::Connection::set_partial_checksum,
  // a per-connection setting as the TSO limit is). Off by default; the
  // stack's own RSTs for unknown segments always carry a full one.
  void set_partial_checksum(bool on);
  // The driver's device queue refuses packets now (tcp::Connection::
  // set_link_congested): connections send no data and retry on their
  // probe timer, as Linux does on a local drop.
  void set_link_congested(bool congested) { link_congested_ = congested; }
  Instant next_deadline() const { return wheel_.next_deadline(); }

  // --- Socket calls ---
  // Active open from an ephemeral (or given) local port.
  std::optional<ConnId> connect(Instant now, tcp::Endpoint remote, OpenError* err = nullptr,
                                const tcp::TcpConfig* config = nullptr, uint16_t local_port = 0);
  bool listen(uint16_t port, size_t backlog, OpenError* err = nullptr,
              const tcp::TcpConfig* config = nullptr);
  // close(2) on a listening socket (Linux inet_csk_listen_stop): the port
  // stops listening; connections not yet accepted are aborted (RST|ACK for
  // the established ones). False if nothing listened there.
  bool unlisten(Instant now, uint16_t port);
  // setsockopt on a listening socket: the config of connections to come.
  bool set_listen_config(uint16_t port, const tcp::TcpConfig& config);
  // setsockopt on a live connection: tcp::Connection::set_socket_options.
  void set_socket_options(Instant now, ConnId id, const tcp::TcpConfig& c, bool push = false);
  // An established connection from the port's accept queue, if any.
  std::optional<ConnId> accept(uint16_t port);
  // `more`: Linux MSG_MORE (tcp::Connection::send).
  size_t send(Instant now, ConnId id, std::span<const uint8_t> data, bool more = false);
  size_t recv(Instant now, ConnId id, std::span<uint8_t> out);
  void close(Instant now, ConnId id);
  // close() and let go: the application reads nothing more (Linux's close();
  // the connection becomes an orphan, tcp::Connection::orphan).
  void close_orphan(Instant now, ConnId id);
  void abort(Instant now, ConnId id);
  // close(2): the application reads no more; unread data means RST (RFC 2525 §2.17).
  void close_and_stop_reading(Instant now, ConnId id);
  // The application is done with `id`: it is freed once CLOSED.
  void release(ConnId id);

  const tcp::Connection* connection(ConnId id) const;
  // Every connection ever opened and not reaped, in opening order.
  std::vector<ConnId> connection_ids() const;
  const wire::DropCounters& drops() const { return drops_; }
  const StackStats& stats() const { return stats_; }
  const StackConfig& config() const { return cfg_; }
  size_t live_connections() const { return demux_.size(); }
  // Connections allocated (not reaped), half-open and closed included.
  size_t allocated_connections() const { return slots_.size(); }
  // Established connections waiting in `port`'s accept queue (0 without a listener).
  size_t accept_queue_length(uint16_t port) const;
  // Half-open connections in `port`'s SYN queue (0 without a listener).
  size_t syn_queue_length(uint16_t port) const;
  // Heap bytes the connections hold: each Connection plus its buffers.
  size_t held_bytes() const;
  const SynCookies& syn_cookies() const { return cookies_; }

 private:
  struct Slot {
    // In the map's node itself: one allocation per connection, not two
    // (issue 15). The node never moves, so neither does the connection.
    std::optional<tcp::Connection> conn;
    TimerEntry timer;
    bool released = false;
    bool dirty = false;
    bool in_demux = true;
    std::optional<uint16_t> listener_port;  // passive, not yet accepted
    bool half_open = false;                 // counted in its listener's SYN queue
  };
  struct Listener {
    std::shared_ptr<const tcp::TcpConfig> config;  // shared by its connections
    size_t backlog = 0;
    std::deque<ConnId> ready;                // established, waiting for accept()
    size_t embryonic = 0;                    // in SYN-RECEIVED: the SYN queue
    Instant last_cookie = Instant::never();  // last cookie SYN-ACK sent
  };
  struct TupleHash {
    size_t operator()(const tcp::FourTuple& t) const;
  };

  ConnId create(Instant now, std::shared_ptr<const tcp::TcpConfig> config,
                const tcp::FourTuple& tuple, std::optional<uint32_t> iss = std::nullopt);
  // One immutable copy per distinct config, shared by the connections that
  // use it (issue 15: a copy in each connection was 296 of its bytes): the
  // stack's default, or the last one connect() was given if equal.
  std::shared_ptr<const tcp::TcpConfig> shared_config(const tcp::TcpConfig& c);
  bool at_cap() const { return cfg_.max_connections && slots_.size() >= cfg_.max_connections; }
  void listener_syn(Instant now, const wire::PacketView& pkt, uint16_t port, Listener& lst,
                    const tcp::FourTuple& t, std::optional<uint32_t> iss);
  void send_cookie(Instant now, const wire::PacketView& pkt, Listener& lst,
                   const tcp::FourTuple& t);
  bool cookie_ack(Instant now, const wire::PacketView& pkt, uint16_t port, Listener& lst,
                  const tcp::FourTuple& t);
  void reply_reset(const wire::PacketView& pkt);
  void touch(ConnId id);  // re-arm its timer, queue it for output, settle lifecycle
  void settle(ConnId id, Slot& slot);
  void queue_if_accepted(ConnId id, Slot& slot);
  uint32_t isn_for(const tcp::FourTuple& t, Instant now) const;
  uint32_t ts_offset_for(const tcp::FourTuple& t) const;
  // Stateless replies: RSTs, and cookie SYN-ACKs (rst = false).
  void queue_reset(std::span<const uint8_t> reply, bool rst = true);
  void on_tcp(Instant now, std::span<const uint8_t> datagram);

  StackConfig cfg_;
  std::shared_ptr<const tcp::TcpConfig> default_tcp_;  // cfg_.tcp, shared
  std::shared_ptr<const tcp::TcpConfig> last_tcp_;     // the last other config connect() got
  util::Rng rng_;
  tcp::EventSink* sink_;
  std::array<uint8_t, 16> secret_{};  // RFC 6528 secret key
  SynCookies cookies_;
  TimerWheel wheel_;
  ConnId next_id_ = 1;
  std::map<ConnId, Slot> slots_;  // ordered: deterministic iteration
  std::unordered_map<tcp::FourTuple, ConnId, TupleHash> demux_;
  std::map<uint16_t, Listener> listeners_;
  // Connections owing output, in the order they became dirty; those
  // before dirty_head_ are done. A head index, not erasing the front: after
  // a million keepalive timers fire at once, erasing made each datagram
  // cost a copy of the whole queue (issue 15's idle run was quadratic).
  std::vector<ConnId> dirty_;
  size_t dirty_head_ = 0;
  std::vector<uint64_t> expired_;
  // RST replies for segments that matched nothing: bounded, preallocated.
  static constexpr size_t kMaxPendingResets = 64;
  std::vector<std::array<uint8_t, 64>> reset_bufs_;
  std::vector<uint8_t> reset_lens_;
  std::vector<uint8_t> reset_is_rst_;
  size_t reset_head_ = 0, reset_count_ = 0;
  wire::DropCounters drops_;
  StackStats stats_;
  bool partial_csum_ = false;
  bool link_congested_ = false;
};

}  // namespace vigil::stack
