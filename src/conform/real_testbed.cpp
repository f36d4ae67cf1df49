// RealTestbed (real_testbed.hpp): a namespace, TUN devices, an agent, and
// vigil's stack as the peer, driven in real time.
#include "conform/real_testbed.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "wire/icmp.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp_header.hpp"

extern char** environ;

namespace vigil::conform {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Addresses inside the namespace only (real_testbed.hpp's picture).
constexpr Ipv4 kKernelAddr = Ipv4::of(10, 77, 0, 1);
constexpr Ipv4 kPeerAddr = Ipv4::of(10, 77, 0, 2);
constexpr Ipv4 kLwipKernelAddr = Ipv4::of(10, 77, 1, 1);
constexpr Ipv4 kLwipAddr = Ipv4::of(10, 77, 1, 2);

wire::Ipv4Addr to_wire(Ipv4 a) {
  return wire::Ipv4Addr::of(a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]);
}

TimePoint clock_now() {
  return TimePoint(
      std::chrono::duration_cast<Nanos>(std::chrono::steady_clock::now().time_since_epoch()));
}

// Runs a program (no shell) and waits for it; its exit status, or -1.
int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) ::dup2(devnull, 1);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Enters the namespace on this thread for its lifetime and returns to the
// one it came from (setns(2) is per thread; vigil conform is one thread).
class InNamespace {
 public:
  explicit InNamespace(int ns_fd) {
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ok_ = home_ >= 0 && ::setns(ns_fd, CLONE_NEWNET) == 0;
    error_ = ok_ ? 0 : errno;
  }
  ~InNamespace() {
    if (home_ >= 0) {
      if (ok_ && ::setns(home_, CLONE_NEWNET) != 0) {
        // Staying in the test namespace would send later traffic there,
        // never to the host's; still, say so loudly.
        std::fprintf(stderr, "vigil conform: cannot return to the original namespace: %s\n",
                     std::strerror(errno));
      }
      ::close(home_);
    }
  }
  InNamespace(const InNamespace&) = delete;
  InNamespace& operator=(const InNamespace&) = delete;
  bool ok() const { return ok_; }
  int error() const { return error_; }

 private:
  int home_ = -1;
  bool ok_ = false;
  int error_ = 0;
};

// Writes a sysctl of the namespace: /proc/sys/net resolves to the network
// namespace of the thread that opens the file, so the caller's own values
// never change.
std::string write_sysctl(int ns_fd, const std::string& key, long value) {
  InNamespace in(ns_fd);
  if (!in.ok()) return "cannot enter the namespace: " + std::string(std::strerror(in.error()));
  const std::string path = "/proc/sys/net/ipv4/" + key;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  const std::string text = std::to_string(value) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int e = errno;
  ::close(fd);
  if (!ok)
    return "cannot write " + text.substr(0, text.size() - 1) + " to " + path + ": " +
           std::strerror(e);
  return "";
}

// The directory of the running program: the agents are built next to it.
std::string program_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string find_agent(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("VIGIL_CONFORM_AGENT_DIR")) dirs.push_back(d);
  dirs.push_back(program_dir());
  dirs.push_back(program_dir() + "/..");
  for (const std::string& d : dirs) {
    const std::string p = d + "/" + file;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Ctrl-C and friends: the namespace and the agent go first, then the
// signal does what it would have done. Every live testbed is listed here.
volatile sig_atomic_t g_signal = 0;
std::vector<RealTestbed*> g_live;
struct sigaction g_old[4];
constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

void on_signal(int sig) { g_signal = sig; }

void install_handlers() {
  for (int i = 0; i < 4; ++i) {
    struct sigaction sa {};
    // No SA_RESTART: ppoll returns EINTR and the loop sees the flag.
    sa.sa_handler = kSignals[i] == SIGPIPE ? SIG_IGN : on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(kSignals[i], &sa, &g_old[i]);
  }
}

void restore_handlers() {
  for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &g_old[i], nullptr);
}

uint8_t pattern_byte(size_t i) { return static_cast<uint8_t>((i * 7) % 251); }

}  // namespace

// ---- lifetime ----------------------------------------------------------------

std::unique_ptr<RealTestbed> RealTestbed::create(const RealTarget& target, std::string& why) {
  if (::geteuid() != 0) {
    why = "real targets need root (network namespaces and TUN devices)";
    return nullptr;
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    why = "real targets need /dev/net/tun";
    return nullptr;
  }
  std::unique_ptr<RealTestbed> tb(new RealTestbed());
  // CI's compressed run (tests/tools/conform_real_suite.sh): cases longer
  // than a minute of real time shorten themselves, and say so.
  const char* quick = std::getenv("VIGIL_CONFORM_QUICK");
  tb->quick_ = quick && std::string_view(quick) == "1";
  if (g_live.empty()) install_handlers();
  g_live.push_back(tb.get());
  if (std::string err = tb->setup(target); !err.empty()) {
    why = err;
    return nullptr;  // the destructor removed whatever was made
  }
  return tb;
}

RealTestbed::~RealTestbed() {
  teardown();
  g_live.erase(std::remove(g_live.begin(), g_live.end(), this), g_live.end());
  if (g_live.empty()) restore_handlers();
}

std::string RealTestbed::setup(const RealTarget& target) {
  target_ = target;
  static int counter = 0;
  const std::string ns = "conf-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string agent_file;
  if (target.kind == RealKind::linux_kernel) agent_file = "vigil-conform-linux-agent";
  if (target.kind == RealKind::lwip) agent_file = "vigil-conform-lwip-agent";
  if (!agent_file.empty()) {
    agent_path_ = find_agent(agent_file);
    if (agent_path_.empty()) {
      return agent_file + " not found next to vigil (" + program_dir() +
             ") or in $VIGIL_CONFORM_AGENT_DIR" +
             (target.kind == RealKind::lwip
                  ? "; it is built only when liblwip-dev is installed (scripts/setup.sh)"
                  : "");
    }
  }
  if (target.kind == RealKind::command && target.command.empty())
    return "--target-cmd needs a command";

  if (run_program({"ip", "netns", "add", ns}) != 0)
    return "`ip netns add " + ns + "` failed (needs root and iproute2)";
  ns_name_ = ns;
  ns_fd_ = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd_ < 0) return "cannot open /run/netns/" + ns + ": " + std::strerror(errno);
  run_program({"ip", "-n", ns, "link", "set", "lo", "up"});

  target_addr_ = target.kind == RealKind::lwip ? kLwipAddr : kKernelAddr;
  peer_addr_ = kPeerAddr;
  {
    // The devices are made inside the namespace: they, their addresses and
    // their routes exist only there.
    InNamespace in(ns_fd_);
    if (!in.ok()) return "cannot enter namespace " + ns + ": " + std::strerror(in.error());
    link::TunConfig tc;
    tc.name = "cv0";
    tc.kernel_addr = to_wire(kKernelAddr);
    tc.vigil_addr = to_wire(kPeerAddr);
    if (std::string err = tun_.open(tc); !err.empty()) return err;
    if (target.kind == RealKind::lwip) {
      link::TunConfig lc;
      lc.name = "cl0";
      lc.kernel_addr = to_wire(kLwipKernelAddr);
      lc.vigil_addr = to_wire(kLwipAddr);
      if (std::string err = tun_lwip_.open(lc); !err.empty()) return err;
    }
  }
  if (target.kind == RealKind::lwip) {
    // The namespace's kernel routes between vigil's device and lwIP's.
    if (std::string err = write_sysctl(ns_fd_, "ip_forward", 1); !err.empty()) return err;
  }
  start_ = clock_now();
  new_peer_stack();

  switch (target.kind) {
    case RealKind::linux_kernel:
    case RealKind::lwip: {
      const int extra = target.kind == RealKind::lwip ? tun_lwip_.fd() : -1;
      std::vector<std::string> argv{agent_path_};
      if (target.kind == RealKind::lwip) {
        argv.insert(argv.end(), {"--tun-fd", "3", "--addr", kLwipAddr.to_string(), "--gw",
                                 kLwipKernelAddr.to_string()});
      }
      if (std::string err = start_agent(argv, extra, false); !err.empty()) return err;
      const auto hello = request("hello", seconds(5));
      if (!hello || !hello->starts_with("hello ")) {
        return "the agent " + agent_path_ + " did not answer `hello`" +
               (hello ? ": " + *hello : std::string(" within 5 s"));
      }
      name_ = hello->substr(6);
      break;
    }
    case RealKind::command:
      name_ = target.command;
      break;
  }
  return "";
}

void RealTestbed::teardown() {
  if (agent_in_ >= 0) ::close(agent_in_);  // the agent reads EOF and exits
  agent_in_ = -1;
  if (agent_pid_ > 0) {
    // The agent (or the command's process group, which it leads) is ours:
    // SIGTERM, a moment, then SIGKILL; reaped either way.
    const pid_t target = target_.kind == RealKind::command ? -agent_pid_ : agent_pid_;
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 20 && !gone; ++i) {
      if (i == 2) ::kill(target, SIGTERM);
      gone = ::waitpid(agent_pid_, &status, WNOHANG) == agent_pid_;
      if (!gone) std::this_thread::sleep_for(milliseconds(25));
    }
    if (!gone) {
      ::kill(target, SIGKILL);
      ::waitpid(agent_pid_, &status, 0);
    }
    if (target_.kind == RealKind::command) ::kill(-agent_pid_, SIGKILL);  // stragglers
    agent_pid_ = -1;
  }
  if (agent_out_ >= 0) ::close(agent_out_);
  agent_out_ = -1;
  sock_ = Socket();
  listener_ = Listener();
  peer_.reset();
  tun_.close();
  tun_lwip_.close();
  if (ns_fd_ >= 0) ::close(ns_fd_);
  ns_fd_ = -1;
  if (!ns_name_.empty()) {
    if (run_program({"ip", "netns", "del", ns_name_}) != 0) {
      std::fprintf(stderr, "vigil conform: `ip netns del %s` failed; remove it by hand\n",
                   ns_name_.c_str());
    }
    ns_name_.clear();
  }
}

void RealTestbed::check_interrupt() {
  if (g_signal == 0) return;
  const int sig = g_signal;
  for (RealTestbed* tb : g_live) tb->teardown();
  restore_handlers();
  g_live.clear();
  ::raise(sig);  // default action: the process ends with the signal's status
  why_ = "interrupted";
}

// ---- the agent -------------------------------------------------------------

std::string RealTestbed::start_agent(const std::vector<std::string>& argv, int extra_fd,
                                     bool command) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return std::string("pipe: ") + std::strerror(errno);
  }
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("VIGIL_CONFORM_ADDR=" + target_addr_.to_string());
  env_strings.push_back("VIGIL_CONFORM_PEER=" + peer_addr_.to_string());
  env_strings.push_back("VIGIL_CONFORM_PORT=" + std::to_string(target_port_));
  env_strings.push_back("VIGIL_CONFORM_PEER_PORT=" + std::to_string(peer_port_));
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  const int ns_fd = ns_fd_;

  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive vigil
    if (command) ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (::setns(ns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(in[0], 0);
    if (command) {
      ::dup2(2, 1);  // a command's output is its own business: stderr
    } else {
      ::dup2(out[1], 1);
    }
    if (extra_fd >= 0) ::dup2(extra_fd, 3);
    ::close_range(extra_fd >= 0 ? 4 : 3, ~0U, 0);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  agent_pid_ = pid;
  agent_in_ = in[1];
  agent_out_ = out[0];
  ::fcntl(agent_out_, F_SETFL, ::fcntl(agent_out_, F_GETFL) | O_NONBLOCK);
  if (command) {
    ::close(agent_out_);
    agent_out_ = -1;
  }
  return "";
}

std::optional<std::string> RealTestbed::request(const std::string& line, Duration limit) {
  if (agent_in_ < 0) return std::nullopt;
  replies_.clear();
  const std::string text = line + "\n";
  if (::write(agent_in_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    why_ = "the agent is gone (writing `" + line + "`: " + std::strerror(errno) + ")";
    return std::nullopt;
  }
  loop(clock_now() + limit, [this] { return !replies_.empty() || agent_out_ < 0; });
  if (replies_.empty()) {
    why_ = "the agent did not answer `" + line + "`";
    return std::nullopt;
  }
  std::string r = replies_.front();
  replies_.pop_front();
  return r;
}

void RealTestbed::on_agent_line(const std::string& line) {
  if (line.starts_with("ended ")) {
    // "ended errno=NAME err=N at=MONOTONIC_NS"
    outcome_.ended = true;
    const size_t e = line.find(" err=");
    const size_t a = line.find(" at=");
    if (e != std::string::npos) outcome_.error = std::atoi(line.c_str() + e + 5);
    if (a != std::string::npos) {
      const TimePoint at(Nanos(std::atoll(line.c_str() + a + 4)));
      outcome_.ended_at = at - start_;
    } else {
      outcome_.ended_at = now();
    }
    return;
  }
  if (line.starts_with("accepted ")) {
    accepted_ = true;
    return;
  }
  replies_.push_back(line);
}

std::error_code RealTestbed::send_options(const SocketOptions& o) {
  std::vector<std::pair<std::string, long>> opts;
  if (o.keepalive) opts.emplace_back("keepalive", 1);
  if (o.keep_idle) opts.emplace_back("keepidle", static_cast<long>(o.keep_idle->count()));
  if (o.keep_interval) opts.emplace_back("keepintvl", static_cast<long>(o.keep_interval->count()));
  if (o.keep_count) opts.emplace_back("keepcnt", *o.keep_count);
  if (o.user_timeout) opts.emplace_back("user_timeout", static_cast<long>(o.user_timeout->count()));
  if (o.receive_buffer) opts.emplace_back("rcvbuf", *o.receive_buffer);
  if (o.send_buffer) opts.emplace_back("sndbuf", *o.send_buffer);
  if (o.no_delay) opts.emplace_back("nodelay", 1);
  for (const auto& [key, value] : opts) {
    const auto r = request("opt " + key + " " + std::to_string(value), seconds(5));
    if (!r || !r->starts_with("ok")) {
      if (r) why_ = "the target refused option " + key + ": " + *r;
      return std::make_error_code(std::errc::no_protocol_option);
    }
  }
  return {};
}

std::optional<long> RealTestbed::target_getopt(const std::string& option) {
  const auto r = request("getopt " + option, seconds(5));
  const std::string prefix = "opt " + option + " ";
  if (!r || !r->starts_with(prefix)) return std::nullopt;
  return std::atol(r->c_str() + prefix.size());
}

// ---- before the connection ----------------------------------------------------

void RealTestbed::new_peer_stack() {
  StackOptions so;
  so.address = peer_addr_;
  so.defaults.profile("linux");
  peer_ = std::make_unique<Stack>(so, clock_now());
}

std::error_code RealTestbed::configure(const SystemSettings& system, const PeerSettings& peer) {
  peer_settings_ = peer;
  if (system.retries2 || system.syn_retries) {
    if (target_.kind == RealKind::lwip) {
      // lwIP 2.1's limits are compile-time constants (opt.h: TCP_MAXRTX 12,
      // TCP_SYNMAXRTX 6); Debian's library is built with the defaults.
      why_ = "lwIP's retransmission limits are compile-time constants (TCP_MAXRTX, TCP_SYNMAXRTX)";
      return std::make_error_code(std::errc::not_supported);
    }
    // The kernel's TCP (Linux, and a command using kernel sockets): the
    // namespace's own sysctls.
    if (system.retries2) {
      if (std::string e = write_sysctl(ns_fd_, "tcp_retries2", *system.retries2); !e.empty()) {
        why_ = e;
        return std::make_error_code(std::errc::io_error);
      }
    }
    if (system.syn_retries) {
      if (std::string e = write_sysctl(ns_fd_, "tcp_syn_retries", *system.syn_retries);
          !e.empty()) {
        why_ = e;
        return std::make_error_code(std::errc::io_error);
      }
    }
  }
  return {};
}

namespace {
vigil::SocketOptions peer_options(const PeerSettings& p) {
  vigil::SocketOptions o;
  o.profile("linux");
  o.mss(p.mss);
  o.recv_buffer(p.receive_buffer);
  o.sack(p.sack);
  o.timestamps(p.timestamps);
  o.window_scaling(p.window_scale);
  if (p.keep_idle) {
    // The peer's own keepalive (seed 001's symmetric case).
    o.keepalive(true);
    o.keepalive_idle(*p.keep_idle);
    if (p.keep_interval) o.keepalive_interval(*p.keep_interval);
  }
  return o;
}
}  // namespace

std::error_code RealTestbed::target_connect(const SocketOptions& options) {
  const vigil::SocketOptions po = peer_options(peer_settings_);
  std::error_code ec;
  listener_ = peer_->listen(peer_port_, 4, ec, &po);
  if (ec) {
    why_ = "the peer cannot listen: " + peer_->why();
    return ec;
  }
  if (target_.kind == RealKind::command) return command_open();
  if (std::error_code e = send_options(options)) return e;
  // The connect may itself be the measurement (SYN retries): wait long.
  const auto r =
      request("connect " + peer_addr_.to_string() + " " + std::to_string(peer_port_), seconds(300));
  if (!r) return std::make_error_code(std::errc::timed_out);
  if (r->starts_with("error connect ")) {
    why_ = "the target's connect failed: " + r->substr(14);
    const size_t e = r->find(" err=");
    const size_t a = r->find(" at=");
    const int err = e == std::string::npos ? EIO : std::atoi(r->c_str() + e + 5);
    outcome_.ended = true;
    outcome_.error = err;
    outcome_.ended_at =
        a == std::string::npos ? now() : TimePoint(Nanos(std::atoll(r->c_str() + a + 4))) - start_;
    return {err, std::generic_category()};
  }
  if (!r->starts_with("connected")) {
    why_ = "the target's connect: " + *r;
    return std::make_error_code(std::errc::io_error);
  }
  // The peer's accept follows the handshake's last ACK.
  loop(clock_now() + seconds(2), [this] { return static_cast<bool>(sock_); });
  if (!sock_) {
    why_ = "the target connected but the peer has no connection";
    return std::make_error_code(std::errc::protocol_error);
  }
  return {};
}

// A black box listens or connects, as it pleases: the peer listens on its
// port and, every 200 ms, tries the target's; whichever connection is
// established first is the case's.
std::error_code RealTestbed::command_open() {
  const vigil::SocketOptions po = peer_options(peer_settings_);
  std::error_code ec;
  if (!listener_) listener_ = peer_->listen(peer_port_, 4, ec, &po);
  if (ec) {
    why_ = "the peer cannot listen: " + peer_->why();
    return ec;
  }
  if (agent_pid_ < 0) {
    if (std::string err = start_agent({"/bin/sh", "-c", target_.command}, -1, true); !err.empty()) {
      why_ = err;
      return std::make_error_code(std::errc::io_error);
    }
  }
  const TimePoint give_up = clock_now() + seconds(10);
  Socket attempt;
  while (clock_now() < give_up && !sock_) {
    if (!attempt || attempt.state() != "SYN-SENT") {
      attempt = peer_->connect({target_addr_, target_port_}, ec, &po);
      if (ec) attempt = Socket();
    }
    loop(std::min(give_up, clock_now() + milliseconds(200)), [this, &attempt] {
      return static_cast<bool>(sock_) || (attempt && attempt.state() == "ESTABLISHED");
    });
    if (attempt && attempt.state() == "ESTABLISHED") sock_ = std::move(attempt);
  }
  // The refused attempts' RSTs were not the connection's end.
  outcome_ = TargetOutcome{};
  if (!sock_) {
    why_ = "the command neither accepted on " + target_addr_.to_string() + ":" +
           std::to_string(target_port_) + " nor connected to " + peer_addr_.to_string() + ":" +
           std::to_string(peer_port_) + " within 10 s";
    return std::make_error_code(std::errc::timed_out);
  }
  return {};
}

std::error_code RealTestbed::target_accept(const SocketOptions& options) {
  if (target_.kind == RealKind::command) return command_open();
  const vigil::SocketOptions po = peer_options(peer_settings_);
  if (std::error_code e = send_options(options)) return e;
  const auto r = request("listen " + target_addr_.to_string() + " " + std::to_string(target_port_),
                         seconds(5));
  if (!r || !r->starts_with("listening")) {
    if (r) why_ = "the target cannot listen: " + *r;
    return std::make_error_code(std::errc::io_error);
  }
  // The agent listens before it answers; a refused attempt is retried all
  // the same, for 10 s.
  const TimePoint give_up = clock_now() + seconds(10);
  while (clock_now() < give_up) {
    std::error_code ec;
    sock_ = peer_->connect({target_addr_, target_port_}, ec, &po);
    if (ec) {
      why_ = "the peer cannot connect: " + peer_->why();
      return ec;
    }
    loop(give_up, [this] { return sock_.state() != "SYN-SENT"; });
    if (sock_.state() == "ESTABLISHED") break;
    sock_ = Socket();
    loop(clock_now() + milliseconds(200), nullptr);
  }
  if (!sock_) {
    why_ = "the target did not accept a connection on " + target_addr_.to_string() + ":" +
           std::to_string(target_port_) + " within 10 s";
    return std::make_error_code(std::errc::timed_out);
  }
  loop(clock_now() + seconds(2), [this] { return accepted_; });
  if (!accepted_) {
    why_ = "the target's application did not accept the connection";
    return std::make_error_code(std::errc::protocol_error);
  }
  return {};
}

// ---- the target's application -------------------------------------------------

void RealTestbed::target_write(std::size_t bytes) {
  if (target_.kind == RealKind::command) {
    why_ = "a command target is a black box: its writes are its own";
    return;
  }
  request("write " + std::to_string(bytes), seconds(5));
}

void RealTestbed::target_set_reading(bool reading) {
  if (target_.kind == RealKind::command) {
    why_ = "a command target is a black box: its reads are its own";
    return;
  }
  request(std::string("read ") + (reading ? "on" : "off"), seconds(5));
}

bool RealTestbed::target_read(std::size_t bytes) {
  if (target_.kind == RealKind::command) {
    why_ = "a command target is a black box: its reads are its own";
    return false;
  }
  const auto r = request("readn " + std::to_string(bytes), seconds(5));
  return r && r->starts_with("ok readn");
}

void RealTestbed::target_close() {
  if (target_.kind == RealKind::command) {
    why_ = "a command target is a black box: it closes when it wants";
    return;
  }
  request("close", seconds(5));
}

// ---- the peer ------------------------------------------------------------------

void RealTestbed::peer_write(std::size_t bytes) {
  peer_write_pending_ += bytes;
  pump();
  flush();
}

void RealTestbed::peer_set_reading(bool reading) {
  peer_reading_ = reading;
  pump();
  flush();
}

void RealTestbed::peer_abort() {
  if (sock_) sock_.abort();
  flush();
}

void RealTestbed::peer_reboot() {
  // The old stack goes without a word (nothing it owes is flushed); the new
  // one has no connection, so whatever the target sends next gets a RST
  // (RFC 9293 §3.10.7.1).
  peer_.reset();
  sock_ = Socket();
  listener_ = Listener();
  peer_write_pending_ = 0;
  new_peer_stack();
}

void RealTestbed::peer_inject(Injection what) {
  if (!wire_.known) {
    why_ = "no connection on the wire to inject into";
    return;
  }
  std::vector<uint8_t> out(1600);
  size_t n = 0;
  if (what == Injection::icmp_port_unreachable || what == Injection::icmp_frag_needed) {
    if (wire_.last_target_dgram.empty()) return;
    const bool frag = what == Injection::icmp_frag_needed;
    // RFC 792: the quote is the offending datagram's header and 8 bytes.
    n = wire::build_icmp_unreachable(
        out, to_wire(peer_addr_),
        frag ? wire::icmp_code::kFragmentationNeeded : wire::icmp_code::kPortUnreachable,
        frag ? 1280 : 0, wire_.last_target_dgram);
  } else {
    wire::Ipv4Fields ip;
    ip.src = to_wire(peer_addr_);
    ip.dst = to_wire(target_addr_);
    wire::TcpFields t;
    t.src_port = wire_.peer_port;
    t.dst_port = wire_.target_port;
    t.window = 65535;
    wire::TcpOptions o;
    if (wire_.timestamps) {
      o.has_timestamps = true;
      o.ts_val = wire_.peer_tsval;
      o.ts_ecr = wire_.target_tsval;
    }
    switch (what) {
      case Injection::rst_in_window: {
        // Inside the window but not RCV.NXT: RFC 5961 §3.2 asks for a
        // challenge ACK, not a reset.
        const uint32_t off =
            std::max<uint32_t>(1, std::min<uint32_t>(wire_.target_window / 2, 1000));
        t.seq = wire_.target_rcv_nxt + off;
        t.flags = wire::tcp_flags::kRst;
        o.has_timestamps = false;
        break;
      }
      case Injection::syn_in_window:
        // RFC 5961 §4.2: a SYN in a synchronized state, whatever its
        // sequence number, gets a challenge ACK.
        t.seq = wire_.target_rcv_nxt + 1;
        t.flags = wire::tcp_flags::kSyn;
        break;
      case Injection::ack_out_of_window:
        // RFC 5961 §5.2: SEG.ACK beyond SND.NXT, data never sent.
        t.seq = wire_.target_rcv_nxt;
        t.ack = wire_.target_snd_nxt + 100000;
        t.flags = wire::tcp_flags::kAck;
        break;
      default:
        break;
    }
    n = wire::build_ipv4_tcp(out, ip, t, o);
  }
  if (n == 0) {
    why_ = "could not build the injected datagram";
    return;
  }
  to_device(std::span<const uint8_t>(out.data(), n), clock_now());
}

// ---- time ----------------------------------------------------------------------

Duration RealTestbed::now() const { return clock_now() - start_; }

void RealTestbed::run_for(Duration duration) { loop(clock_now() + duration, nullptr); }

bool RealTestbed::run_until_target_ended(Duration limit) {
  return loop(clock_now() + limit, [this] { return outcome_.ended; });
}

bool RealTestbed::loop(TimePoint until, const std::function<bool()>& stop) {
  std::vector<uint8_t> buf(65536);
  for (;;) {
    check_interrupt();
    if (!peer_) return false;  // torn down
    TimePoint t = clock_now();
    deliver_due(t);
    peer_->advance(t);
    pump();
    flush();
    if (stop && stop()) return true;
    if (t >= until) return false;
    TimePoint wake = until;
    if (auto d = peer_->next_deadline(); d && *d < wake) wake = std::max(*d, t);
    if (auto r = next_release(); r && *r < wake) wake = std::max(*r, t);
    const Nanos wait = wake - t;
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    pollfd fds[2] = {{tun_.fd(), POLLIN, 0}, {agent_out_, POLLIN, 0}};
    if (::ppoll(fds, 2, &ts, nullptr) < 0 && errno != EINTR) {
      why_ = std::string("poll: ") + std::strerror(errno);
      return false;
    }
    if (fds[0].revents & POLLIN) {
      for (;;) {
        const long n = tun_.read(buf);
        if (n <= 0) break;
        from_device(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), clock_now());
      }
    }
    if (agent_out_ >= 0 && fds[1].revents) {
      char text[4096];
      const ssize_t n = ::read(agent_out_, text, sizeof text);
      if (n > 0) {
        agent_buf_.append(text, static_cast<size_t>(n));
        for (size_t nl; (nl = agent_buf_.find('\n')) != std::string::npos;) {
          const std::string line = agent_buf_.substr(0, nl);
          agent_buf_.erase(0, nl + 1);
          on_agent_line(line);
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        ::close(agent_out_);
        agent_out_ = -1;
        why_ = "the agent exited";
      }
    }
  }
}

// ---- the peer's application and the path -------------------------------------------

void RealTestbed::pump() {
  if (!peer_) return;
  if (listener_ && !sock_) {
    std::error_code ec;
    if (auto s = listener_.accept(ec)) sock_ = std::move(*s);
  }
  if (!sock_) return;
  std::error_code ec;
  if (peer_reading_) {
    uint8_t sink[16384];
    while (sock_.recv(sink, ec) > 0) {
    }
  }
  static const std::vector<uint8_t> pattern = [] {
    std::vector<uint8_t> p(251 * 64);
    for (size_t i = 0; i < p.size(); ++i) p[i] = pattern_byte(i);
    return p;
  }();
  while (peer_write_pending_ > 0) {
    const size_t chunk = std::min<uint64_t>(peer_write_pending_, pattern.size());
    const size_t n = sock_.send(std::span<const uint8_t>(pattern.data(), chunk), ec);
    if (n == 0) break;
    peer_write_pending_ -= n;
  }
}

void RealTestbed::flush() {
  if (!peer_) return;
  std::vector<uint8_t> buf(65536);
  for (;;) {
    const size_t n = peer_->transmit(buf);
    if (n == 0) break;
    to_device(std::span<const uint8_t>(buf.data(), n), clock_now());
  }
}

void RealTestbed::record(std::span<const uint8_t> dgram, TimePoint at, bool from_target) {
  WireDatagram d;
  d.at = at - start_;
  d.from_target = from_target;
  d.ip.resize(dgram.size());
  std::memcpy(d.ip.data(), dgram.data(), dgram.size());
  capture_.push_back(std::move(d));
}

// The capture holds what each end sent, also what the path then drops
// (testbed.hpp), stamped when it passed the peer's end of the path: the
// device, where the target's datagrams arrive and the peer's leave.
void RealTestbed::to_device(std::span<const uint8_t> dgram, TimePoint at) {
  track(dgram, false);
  record(dgram, at, false);
  if (path_ == PathState::blackhole || path_ == PathState::drop_to_target) return;
  if (shaped_) {
    enter(to_target_, dgram, at);
    return;
  }
  tun_.write(dgram);
}

bool RealTestbed::set_path_shape(const PathShape& shape) {
  shape_ = shape;
  shaped_ = shape.one_way_delay > Duration::zero() || shape.rate_bps > 0 || shape.queue_bytes > 0;
  return true;
}

bool RealTestbed::enter(Pipe& pipe, std::span<const uint8_t> dgram, TimePoint at) {
  // Drop-tail: the bytes still waiting for the link (transmission not yet
  // started) plus this datagram must fit the queue.
  if (shape_.queue_bytes > 0) {
    size_t waiting = 0;
    for (const Pipe::Item& i : pipe.items)
      if (i.start > at) waiting += i.dgram.size();
    if (waiting + dgram.size() > shape_.queue_bytes) return false;
  }
  const TimePoint start = std::max(at, pipe.busy_until);
  Nanos serialize{0};
  if (shape_.rate_bps > 0)
    serialize = Nanos(static_cast<int64_t>(dgram.size() * 8 * 1000000000ull / shape_.rate_bps));
  pipe.busy_until = start + serialize;
  pipe.items.push_back({start, pipe.busy_until + shape_.one_way_delay,
                        std::vector<uint8_t>(dgram.begin(), dgram.end())});
  return true;
}

std::optional<TimePoint> RealTestbed::next_release() const {
  std::optional<TimePoint> t;
  for (const Pipe* p : {&to_target_, &from_target_})
    if (!p->items.empty() && (!t || p->items.front().release < *t)) t = p->items.front().release;
  return t;
}

void RealTestbed::deliver_due(TimePoint now) {
  // Releases are in order within a pipe: one queue, one rate, one delay.
  while (!to_target_.items.empty() && to_target_.items.front().release <= now) {
    tun_.write(to_target_.items.front().dgram);
    to_target_.items.pop_front();
  }
  while (!from_target_.items.empty() && from_target_.items.front().release <= now) {
    const Pipe::Item item = std::move(from_target_.items.front());
    from_target_.items.pop_front();
    record(item.dgram, item.release, true);
    peer_receive(item.dgram, now);
  }
}

bool RealTestbed::reject_syn(std::span<const uint8_t> dgram, TimePoint at) {
  wire::Ipv4View ip;
  if (wire::Ipv4View::parse(dgram, &ip, false) != wire::Drop::kNone ||
      ip.protocol() != wire::kProtoTcp)
    return false;
  wire::TcpView tcp;
  if (wire::TcpView::parse(ip.payload(), ip.src(), ip.dst(), &tcp, false) != wire::Drop::kNone ||
      !tcp.has(wire::tcp_flags::kSyn) || tcp.has(wire::tcp_flags::kAck))
    return false;
  // PeerSettings::icmp_reject_syn: the peer's host rejects the SYN, as a
  // firewall's REJECT does, quoting its header and 8 bytes (RFC 792).
  record(dgram, at, true);
  std::vector<uint8_t> out(1600);
  const size_t n = wire::build_icmp_unreachable(out, to_wire(peer_addr_),
                                                *peer_settings_.icmp_reject_syn, 0, dgram);
  if (n == 0) return true;
  const std::span<const uint8_t> icmp(out.data(), n);
  record(icmp, at, false);
  tun_.write(icmp);
  return true;
}

void RealTestbed::peer_receive(std::span<const uint8_t> dgram, TimePoint at) {
  if (peer_) peer_->receive(at, dgram);
}

void RealTestbed::from_device(std::span<const uint8_t> dgram, TimePoint at) {
  wire::Ipv4View ip;
  if (wire::Ipv4View::parse(dgram, &ip, false) != wire::Drop::kNone) return;  // IPv6 and noise
  if (ip.dst() != to_wire(peer_addr_) || ip.src() != to_wire(target_addr_)) return;
  track(dgram, true);
  if (peer_settings_.icmp_reject_syn && reject_syn(dgram, at)) return;
  if (target_.kind == RealKind::command && !outcome_.ended) {
    // A black box reports nothing; its RST is the end it shows the wire.
    wire::TcpView tcp;
    if (ip.protocol() == wire::kProtoTcp &&
        wire::TcpView::parse(ip.payload(), ip.src(), ip.dst(), &tcp, false) == wire::Drop::kNone &&
        tcp.has(wire::tcp_flags::kRst)) {
      outcome_.ended = true;
      outcome_.ended_at = at - start_;
    }
  }
  // Recorded when it reaches the peer's end of the path; one the path
  // drops, when it was sent.
  if (path_ == PathState::blackhole || path_ == PathState::drop_from_target) {
    record(dgram, at, true);
    return;
  }
  if (shaped_) {
    if (!enter(from_target_, dgram, at)) record(dgram, at, true);
    return;
  }
  record(dgram, at, true);
  peer_receive(dgram, at);
}

void RealTestbed::track(std::span<const uint8_t> dgram, bool from_target) {
  wire::Ipv4View ip;
  if (wire::Ipv4View::parse(dgram, &ip, false) != wire::Drop::kNone) return;
  if (ip.protocol() != wire::kProtoTcp) return;
  wire::TcpView tcp;
  if (wire::TcpView::parse(ip.payload(), ip.src(), ip.dst(), &tcp, false) != wire::Drop::kNone)
    return;
  const auto& o = tcp.options();
  if (!from_target) {
    if (o.has_timestamps) {
      wire_.timestamps = true;
      wire_.peer_tsval = o.ts_val;
    }
    return;
  }
  if (tcp.has(wire::tcp_flags::kSyn)) {
    wire_.known = false;  // a new connection: its sequence space starts here
    wire_.target_wscale = o.has_window_scale && peer_settings_.window_scale ? o.window_scale : 0;
  }
  const uint32_t end = tcp.seq() + tcp.seg_len();
  if (!wire_.known || static_cast<int32_t>(end - wire_.target_snd_nxt) > 0)
    wire_.target_snd_nxt = end;
  wire_.known = true;
  wire_.target_port = tcp.src_port();
  wire_.peer_port = tcp.dst_port();
  if (tcp.has(wire::tcp_flags::kAck)) wire_.target_rcv_nxt = tcp.ack();
  wire_.target_window = tcp.has(wire::tcp_flags::kSyn)
                            ? tcp.window()
                            : static_cast<uint32_t>(tcp.window()) << wire_.target_wscale;
  if (o.has_timestamps) wire_.target_tsval = o.ts_val;
  wire_.last_target_dgram.assign(dgram.begin(), dgram.end());
}

// ---- the factory (targets.hpp) ---------------------------------------------------

std::unique_ptr<Testbed> make_real_testbed(const RealTarget& target, std::string& why) {
  return RealTestbed::create(target, why);
}

bool real_testbed_built() { return true; }

}  // namespace vigil::conform
