// The real targets of `vigil conform` (issue 14): the Linux kernel, lwIP,
// or a black-box command, each inside a network namespace this testbed
// creates (`ip netns add conf-<pid>-<n>`) and deletes, with vigil's stack
// playing the peer over a TUN device in that namespace, in real time.
//
//   namespace conf-<pid>-<n>
//     kernel 10.77.0.1 --- TUN "cv0" --- [path hook, capture] --- vigil peer 10.77.0.2
//     (lwIP only: kernel 10.77.1.1 --- TUN "cl0" --- lwIP agent 10.77.1.2,
//      the namespace's kernel forwarding between the two devices)
//
// The target's application is an agent process (src/conform/agent/) started
// inside the namespace and driven over a pipe with the line protocol of
// docs/conform.md ("Real targets"). Nothing is configured outside the
// namespace: no interface, route, firewall rule or sysctl of the caller's
// own namespace changes, and every datagram stays on the namespace's TUN
// devices.
#pragma once

#include <csignal>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conform/targets.hpp"
#include "conform/testbed.hpp"
#include "link/tun_device.hpp"
#include "vigil/vigil.hpp"

namespace vigil::conform {

class RealTestbed : public Testbed {
 public:
  // Creates the namespace, the devices and the peer stack, and starts the
  // agent (for a command target: at target_connect/target_accept). Null
  // with `why` set when anything fails; nothing is left behind then.
  static std::unique_ptr<RealTestbed> create(const RealTarget& target, std::string& why);
  ~RealTestbed() override;

  std::string name() const override { return name_; }
  bool virtual_time() const override { return false; }
  const std::string& why() const override { return why_; }

  std::error_code configure(const SystemSettings& system, const PeerSettings& peer) override;
  std::error_code target_connect(const SocketOptions& options) override;
  std::error_code target_accept(const SocketOptions& options) override;

  void target_write(std::size_t bytes) override;
  void target_set_reading(bool reading) override;
  void target_close() override;
  bool target_read(std::size_t bytes) override;

  void peer_write(std::size_t bytes) override;
  void peer_set_reading(bool reading) override;
  void peer_abort() override;
  void peer_reboot() override;
  void peer_inject(Injection what) override;

  void set_path(PathState state) override { path_ = state; }
  // A bottleneck both ways, between the device and the peer stack: a
  // drop-tail queue of `queue_bytes` drained at `rate_bps`, then
  // `one_way_delay`. The namespace's own path adds microseconds.
  bool set_path_shape(const PathShape& shape) override;

  void run_for(Duration duration) override;
  bool run_until_target_ended(Duration limit) override;
  Duration now() const override;

  const std::vector<WireDatagram>& capture() const override { return capture_; }
  TargetOutcome target_outcome() const override { return outcome_; }

  // The agent's value of a socket option on the connection (or a fresh
  // socket's default before one exists): `getopt NAME` of the protocol
  // ("keepidle", "keepintvl", "keepcnt", "user_timeout", ...). Unset when
  // the target does not say (a command target, or an unsupported option).
  std::optional<long> target_getopt(const std::string& option) override;
  // VIGIL_CONFORM_QUICK=1 in the environment when the testbed was made.
  bool time_compressed() const override { return quick_; }
  const std::string& namespace_name() const { return ns_name_; }

 private:
  RealTestbed() = default;
  std::string setup(const RealTarget& target);
  void teardown();

  // The agent.
  std::string start_agent(const std::vector<std::string>& argv, int extra_fd, bool command);
  // Sends one command and runs the loop until its reply (not an
  // asynchronous `accepted`/`ended` line) or `limit`. Unset on timeout.
  std::optional<std::string> request(const std::string& line, Duration limit);
  void on_agent_line(const std::string& line);
  std::error_code send_options(const SocketOptions& options);
  std::error_code command_open();

  // The loop: drives the peer stack, the device and the agent's pipe until
  // `until` or `stop` says so. Returns true if stopped by `stop`.
  bool loop(TimePoint until, const std::function<bool()>& stop);
  void pump();   // the peer's application: accept, read, write
  void flush();  // the peer stack's datagrams through the path to the device
  void from_device(std::span<const uint8_t> dgram, TimePoint at);
  void to_device(std::span<const uint8_t> dgram, TimePoint at);
  // The shaped path: a datagram enters at `at` and leaves at its release.
  struct Pipe {
    struct Item {
      TimePoint start, release;  // transmission starts; reaches the far end
      std::vector<uint8_t> dgram;
    };
    std::deque<Item> items;
    TimePoint busy_until{};
  };
  bool enter(Pipe& pipe, std::span<const uint8_t> dgram, TimePoint at);
  void deliver_due(TimePoint now);
  std::optional<TimePoint> next_release() const;
  void peer_receive(std::span<const uint8_t> dgram, TimePoint at);
  void record(std::span<const uint8_t> dgram, TimePoint at, bool from_target);
  // PeerSettings::icmp_reject_syn: true if `dgram` was the target's SYN,
  // answered with the ICMP error and dropped.
  bool reject_syn(std::span<const uint8_t> dgram, TimePoint at);
  void track(std::span<const uint8_t> dgram, bool from_target);
  void new_peer_stack();
  void check_interrupt();

  RealTarget target_;
  bool quick_ = false;
  std::string name_, why_, ns_name_;
  int ns_fd_ = -1;
  std::string agent_path_;
  pid_t agent_pid_ = -1;
  int agent_in_ = -1, agent_out_ = -1;
  std::string agent_buf_;
  std::deque<std::string> replies_;
  bool accepted_ = false;

  link::TunDevice tun_;       // vigil's side: cv0
  link::TunDevice tun_lwip_;  // lwIP's side: cl0 (its fd goes to the agent)
  Ipv4 target_addr_{}, peer_addr_{};
  uint16_t target_port_ = 5001, peer_port_ = 6001;

  TimePoint start_{};
  PeerSettings peer_settings_{};
  std::unique_ptr<Stack> peer_;
  Socket sock_;
  Listener listener_;
  bool peer_reading_ = true;
  uint64_t peer_write_pending_ = 0;
  PathState path_ = PathState::open;
  PathShape shape_{};
  bool shaped_ = false;
  Pipe to_target_, from_target_;

  std::vector<WireDatagram> capture_;
  TargetOutcome outcome_;

  // What the wire says about the connection, for forged segments.
  struct WireState {
    bool known = false;
    uint16_t target_port = 0, peer_port = 0;
    uint32_t target_snd_nxt = 0;  // highest seq + len the target sent
    uint32_t target_rcv_nxt = 0;  // the target's latest ACK number
    uint32_t target_window = 0;   // the target's latest window, scaled
    uint8_t target_wscale = 0;
    uint32_t target_tsval = 0;
    bool timestamps = false;
    uint32_t peer_tsval = 0;
    std::vector<uint8_t> last_target_dgram;  // quoted by forged ICMP
  } wire_;
};

}  // namespace vigil::conform
