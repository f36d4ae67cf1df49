// The seam between `vigil conform`'s cases and the implementation under
// test (issue 14). A case is written once against Testbed; each target
// implements it: vigil's own stack in the simulator (virtual time), or a
// real implementation (the Linux kernel, lwIP, a black-box command) in a
// network namespace, reached over a TUN device on which vigil plays the
// peer (real time, knobs shortened).
//
// Grading reads the wire (capture(): every datagram at the peer's
// interface), so the same case grades any target; what only the target's
// application can see (the errno it got) comes from target_outcome() when
// the target reports it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace vigil::conform {

using Duration = std::chrono::nanoseconds;

// Options the target's application sets on its socket, in Linux's terms
// (setsockopt names). Unset: the target's own default, which some cases
// measure.
struct SocketOptions {
  bool keepalive = false;                                 // SO_KEEPALIVE
  std::optional<std::chrono::seconds> keep_idle;          // TCP_KEEPIDLE
  std::optional<std::chrono::seconds> keep_interval;      // TCP_KEEPINTVL
  std::optional<int> keep_count;                          // TCP_KEEPCNT
  std::optional<std::chrono::milliseconds> user_timeout;  // TCP_USER_TIMEOUT
  std::optional<int> receive_buffer;                      // SO_RCVBUF
  std::optional<int> send_buffer;                         // SO_SNDBUF
  bool no_delay = false;                                  // TCP_NODELAY
};

// Settings of the system under test that are not socket options (Linux:
// the namespace's net.ipv4.tcp_* sysctls; vigil: profile knobs). Unset:
// the target's default.
struct SystemSettings {
  std::optional<int> retries2;     // tcp_retries2
  std::optional<int> syn_retries;  // tcp_syn_retries
};

// How vigil, playing the peer, behaves.
struct PeerSettings {
  uint32_t mss = 1460;
  uint32_t receive_buffer = 65535;  // bytes; small values make zero windows easy
  bool sack = true;
  bool timestamps = true;
  bool window_scale = true;
  // Added for keepalive.idle-restart (seed 001's symmetric case): the
  // peer's own keepalive (SO_KEEPALIVE with this idle and interval, probes
  // SEQ = SND.NXT - 1, no count limit that matters within a case). Unset:
  // the peer sends no keepalives.
  std::optional<std::chrono::seconds> keep_idle;
  std::optional<std::chrono::seconds> keep_interval;
  // Added for icmp.syn-sent-port-unreachable (RFC 1122 §4.2.3.9): the
  // peer's host rejects each SYN of the target's with an ICMP destination
  // unreachable of this code (3: port unreachable, as a firewall's REJECT
  // sends), quoting it, and the SYN goes no further. Unset: no rejection.
  std::optional<uint8_t> icmp_reject_syn;
};

// Added for the congestion cases: the shape of the path the peer controls
// (a bottleneck), both directions alike. A testbed that cannot shape its
// path returns false from set_path_shape and those cases are skipped.
struct PathShape {
  Duration one_way_delay{};     // propagation delay each way
  uint64_t rate_bps = 0;        // bottleneck rate; 0: unlimited
  std::size_t queue_bytes = 0;  // drop-tail queue at the bottleneck; 0: unlimited
};

// What the path between peer and target does to datagrams.
enum class PathState {
  open,
  blackhole,         // drop both ways: the peer is unreachable (a dead host)
  drop_from_target,  // the target's datagrams are lost; the peer's arrive
  drop_to_target,    // the peer's datagrams are lost; the target's arrive
};

// Segments the peer forges into the connection (RFC 5961, RFC 5927).
enum class Injection {
  rst_in_window,          // RST, SEQ inside the target's receive window, not RCV.NXT
  syn_in_window,          // SYN on the established connection
  ack_out_of_window,      // ACK of data the target never sent
  icmp_port_unreachable,  // quoting the target's last segment (a soft error)
  icmp_frag_needed,       // MTU 1280, quoting the target's last segment
};

// The capture holds what each end sent, including datagrams the path
// then drops (PathState), so a probe into a blackhole is still graded;
// `at` is when it passed the peer's end of the path. Forged datagrams
// (peer_inject) are in it too, from_target false.
struct WireDatagram {
  Duration at;                // since the testbed started
  bool from_target;           // direction: target -> peer, or peer -> target
  std::vector<std::byte> ip;  // the whole IPv4 datagram, as on the wire
};

struct TargetOutcome {
  bool ended = false;        // the target's application saw the connection end
  std::optional<int> error;  // errno it got (0: clean close); unset: not reported
  Duration ended_at{};       // when, since the testbed started
};

class Testbed {
 public:
  Testbed() = default;
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;
  virtual ~Testbed() = default;

  // "vigil rfc", "vigil linux", "Linux 6.18", "lwIP 2.1.3", the command.
  virtual std::string name() const = 0;
  // True when time is simulated: cases may then run hours of virtual time.
  virtual bool virtual_time() const = 0;
  // Why the last call failed, for the user.
  virtual const std::string& why() const = 0;

  // ---- before the connection
  virtual std::error_code configure(const SystemSettings& system, const PeerSettings& peer) = 0;
  // The target's application connects to the peer, or listens and accepts
  // the peer's connection. Returns once established (or the error).
  virtual std::error_code target_connect(const SocketOptions& options) = 0;
  virtual std::error_code target_accept(const SocketOptions& options) = 0;

  // ---- the target's application
  virtual void target_write(std::size_t bytes) = 0;
  virtual void target_set_reading(bool reading) = 0;  // false: stop reading (its window closes)
  virtual void target_close() = 0;
  // Added for persist.probe-byte-deadlock (RFC 2525 §2.12): while not
  // reading, read up to `bytes` once (too few for a window update). The
  // default says the testbed cannot, and the case is skipped.
  virtual bool target_read(std::size_t bytes) {
    (void)bytes;
    return false;
  }
  // Added for the default-value cases on real-time targets (keepalive
  // idle 2 h, R2 15 min): the target's own value of a setting, read
  // instead of waited for. `option` is a name of the agents' `getopt`
  // (docs/conform.md): a socket option of the connection ("keepalive",
  // "keepidle", "keepintvl", "keepcnt"; a fresh socket's before one
  // exists) or a sysctl of the target's namespace ("tcp_retries2",
  // "tcp_rto_max_ms"). Unset: the target does not say.
  virtual std::optional<long> target_getopt(const std::string& option) {
    (void)option;
    return std::nullopt;
  }
  // Real targets in CI (VIGIL_CONFORM_QUICK=1): the cases that run more
  // than a minute of real time shorten it and say so in their result.
  virtual bool time_compressed() const { return false; }

  // ---- the peer (vigil)
  virtual void peer_write(std::size_t bytes) = 0;
  virtual void peer_set_reading(bool reading) = 0;
  virtual void peer_abort() = 0;   // RST, as close with SO_LINGER 0
  virtual void peer_reboot() = 0;  // forgets the connection: answers what follows with RST
  virtual void peer_inject(Injection what) = 0;

  // ---- the path
  virtual void set_path(PathState state) = 0;
  // Added for the congestion cases (see PathShape); the default says the
  // testbed cannot, so a testbed needs no change until it can.
  virtual bool set_path_shape(const PathShape& shape) {
    (void)shape;
    return false;
  }

  // ---- time: processes everything that happens meanwhile
  virtual void run_for(Duration duration) = 0;
  // Runs until the target's application sees the connection end, or
  // `limit` passes. True if it ended.
  virtual bool run_until_target_ended(Duration limit) = 0;
  virtual Duration now() const = 0;

  // ---- evidence
  virtual const std::vector<WireDatagram>& capture() const = 0;
  virtual TargetOutcome target_outcome() const = 0;
};

}  // namespace vigil::conform
