// libvigil_packetdrill.so: vigil under packetdrill (--so_filename). Our own
// declaration of packetdrill's shared-object interface, written from its
// documentation and the facts measured in issue 10 §4 (packetdrill is GPL;
// none of its code is here). The object drives a posix::Sockets on a
// virtual clock:
//   - usleep advances the clock and runs the timers due on the way;
//   - gettimeofday returns base + clock and advances it 1 µs per call, so
//     packetdrill's spin-wait on it ends;
//   - netdev_send feeds one raw IPv4 datagram in at the current time;
//   - netdev_receive returns the next datagram the stack sent, stamped with
//     its virtual emit time; with none queued it advances the clock to the
//     stack's next deadline, and with no deadline waits (a blocking call on
//     packetdrill's second thread may produce one) up to 3 s of real time
//     before answering "nothing" (count 0), which fails the script.
// Every socket descriptor is a real eventfd, because packetdrill calls the
// real close() on those a script leaves open.
//
// --so_flags: space-separated KEY=VALUE: local=A.B.C.D (the stack's address,
// default 192.168.0.1), remote=A.B.C.D (the peer, default 192.0.2.1),
// link=IFNAME (an existing tun device whose queue may refuse packets: Link
// below), profile=linux|rfc (default linux), seed=N, and
// set:KNOB=VALUE for any tcp::TcpConfig knob (docs/knobs.md). The linux
// profile then follows the namespace's sysctls (tcp_rmem, tcp_wmem,
// tcp_sack, tcp_timestamps, tcp_window_scaling, tcp_syn_retries,
// tcp_retries2, tcp_keepalive_*, tcp_fin_timeout, tcp_congestion_control,
// net.core.{r,w}mem_max, somaxconn), which packetdrill's init script sets.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "posix/sockets.hpp"

namespace {

using vigil::Duration;
using vigil::Instant;
using vigil::posix::Sockets;

// packetdrill's struct packetdrill_interface, member for member (issue 10
// §4 lists the order). Every member is filled: packetdrill checks none.
struct Interface {
  void* userdata;
  void (*free)(void*);
  int (*socket)(void*, int, int, int);
  int (*bind)(void*, int, const sockaddr*, socklen_t);
  int (*listen)(void*, int, int);
  int (*accept)(void*, int, sockaddr*, socklen_t*);
  int (*connect)(void*, int, const sockaddr*, socklen_t);
  ssize_t (*read)(void*, int, void*, size_t);
  ssize_t (*readv)(void*, int, const iovec*, int);
  ssize_t (*recv)(void*, int, void*, size_t, int);
  ssize_t (*recvfrom)(void*, int, void*, size_t, int, sockaddr*, socklen_t*);
  ssize_t (*recvmsg)(void*, int, msghdr*, int);
  ssize_t (*write)(void*, int, const void*, size_t);
  ssize_t (*writev)(void*, int, const iovec*, int);
  ssize_t (*send)(void*, int, const void*, size_t, int);
  ssize_t (*sendto)(void*, int, const void*, size_t, int, const sockaddr*, socklen_t);
  ssize_t (*sendmsg)(void*, int, const msghdr*, int);
  int (*fcntl)(void*, int, int, ...);
  int (*ioctl)(void*, int, unsigned long, ...);
  int (*close)(void*, int);
  int (*shutdown)(void*, int, int);
  int (*getsockopt)(void*, int, int, int, void*, socklen_t*);
  int (*setsockopt)(void*, int, int, int, const void*, socklen_t);
  int (*poll)(void*, pollfd*, nfds_t, int);
  int (*netdev_send)(void*, const void*, size_t);
  int (*netdev_receive)(void*, void*, size_t*, long long*);
  int (*usleep)(void*, useconds_t);
  int (*gettimeofday)(void*, timeval*, void*);
  int (*epoll_create)(void*, int);
  int (*epoll_ctl)(void*, int, int, int, epoll_event*);
  int (*epoll_wait)(void*, int, epoll_event*, int, int);
  int (*pipe)(void*, int*);
  int (*splice)(void*, int, loff_t*, int, loff_t*, size_t, unsigned int);
};

// link=IFNAME: the namespace's tun device (scripts/packetdrill.sh makes
// tun0), whose egress queue stands for the device vigil's packets leave by.
// Scripts change that queue with tc (user-timeout-probe installs `pfifo
// limit 0`, and Linux's packets then fail to leave: a local drop). Before
// each batch of output the adapter offers the queue a 20-byte datagram
// through a packet socket (AF_PACKET passes the qdisc, as dev_queue_xmit
// does for TCP's packets); ENOBUFS (NET_XMIT_DROP) means it refuses
// packets now. The adapter holds the device open (TUNSETIFF attaches to
// the existing one, which brings its carrier up so the qdisc runs) and
// discards what reaches it. Never creates a device.
struct Link {
  int tun = -1;
  int pkt = -1;
  sockaddr_ll to{};
  uint8_t probe[20] = {};
  ~Link() {
    if (tun >= 0) ::close(tun);
    if (pkt >= 0) ::close(pkt);
  }
  bool admits() {
    const bool ok = ::sendto(pkt, probe, sizeof probe, 0, reinterpret_cast<const sockaddr*>(&to),
                             sizeof to) >= 0 ||
                    errno != ENOBUFS;
    uint8_t buf[2048];
    while (::read(tun, buf, sizeof buf) > 0) {
    }
    return ok;
  }
};

// Opens `name` as a Link, or says why not.
std::unique_ptr<Link> open_link(const std::string& name, uint32_t local, uint32_t remote) {
  auto l = std::make_unique<Link>();
  // It must exist in this namespace (if_nametoindex asks the namespace;
  // sysfs may show another's): TUNSETIFF on an unknown name would create
  // one, and on a device that is not a tun it fails (EINVAL).
  const unsigned idx = name.empty() || name.size() >= IFNAMSIZ ? 0 : ::if_nametoindex(name.c_str());
  if (idx == 0) {
    std::fprintf(stderr, "vigil_packetdrill: link=%s: no such device\n", name.c_str());
    return nullptr;
  }
  l->tun = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  l->pkt = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
  if (l->tun < 0 || ::ioctl(l->tun, TUNSETIFF, &ifr) != 0 || l->pkt < 0) {
    std::fprintf(stderr, "vigil_packetdrill: link=%s: %s\n", name.c_str(), std::strerror(errno));
    return nullptr;
  }
  l->to.sll_family = AF_PACKET;
  l->to.sll_protocol = htons(ETH_P_IP);
  l->to.sll_ifindex = static_cast<int>(idx);
  // IPv4 header only: protocol 253 (RFC 3692, experimentation), TTL 1.
  uint8_t* h = l->probe;
  h[0] = 0x45;
  h[3] = 20;
  h[8] = 1;
  h[9] = 253;
  for (int i = 0; i < 4; ++i) {
    h[12 + i] = static_cast<uint8_t>(local >> (24 - 8 * i));
    h[16 + i] = static_cast<uint8_t>(remote >> (24 - 8 * i));
  }
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  h[10] = static_cast<uint8_t>(~sum >> 8);
  h[11] = static_cast<uint8_t>(~sum);
  return l;
}

struct Adapter {
  std::unique_ptr<Link> link;  // declared first: destroyed after sk, whose hook uses it
  std::unique_ptr<Sockets> sk;
  vigil::stack::StackConfig config;  // profile and --so_flags knobs
  std::vector<std::pair<std::string, std::string>> knobs;
  bool follow = false;  // linux profile: read the sysctls at each socket()
  int64_t base_us = 0;  // gettimeofday() at virtual time zero
};

// The instance the exported getsockopt() answers for (LD_PRELOAD route).
std::atomic<Adapter*> g_active{nullptr};

Sockets& S(void* u) { return *static_cast<Adapter*>(u)->sk; }

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::getline(f, *out, '\0');
  return true;
}

bool read_ints(const std::string& path, std::vector<long long>* out) {
  std::string s;
  if (!read_file(path, &s)) return false;
  std::istringstream in(s);
  long long v = 0;
  out->clear();
  while (in >> v) out->push_back(v);
  return !out->empty();
}

// The namespace's sysctls, as Linux would apply them to a new socket.
void follow_sysctls(vigil::stack::StackConfig* sc, vigil::posix::Limits* lim) {
  auto& t = sc->tcp;
  std::vector<long long> v;
  const std::string p = "/proc/sys/net/ipv4/";
  if (read_ints(p + "tcp_rmem", &v) && v.size() == 3 && v[1] > 0) {
    t.recv_buffer = static_cast<uint32_t>(std::min<long long>(v[1], 1 << 30));
    t.recv_buffer_max =
        static_cast<uint32_t>(std::min<long long>(v[2], 1 << 30));  // autotuning cap
  }
  long long scale_space = v.size() == 3 ? v[2] : 0;
  if (read_ints(p + "tcp_wmem", &v) && v.size() == 3 && v[1] > 0) {
    t.send_buffer = static_cast<uint32_t>(std::min<long long>(v[1], 1 << 30));
    t.send_buffer_max = static_cast<uint32_t>(std::min<long long>(v[2], 1 << 30));
  }
  if (read_ints(p + "tcp_sack", &v)) t.sack = v[0] != 0;
  if (read_ints(p + "tcp_timestamps", &v)) t.timestamps = v[0] != 0;
  if (read_ints(p + "tcp_window_scaling", &v)) t.window_scaling = v[0] != 0;
  if (read_ints(p + "tcp_syn_retries", &v) && v[0] >= 1 && v[0] <= 127) {
    t.retries_syn = static_cast<uint32_t>(v[0]);
  }
  if (read_ints(p + "tcp_synack_retries", &v) && v[0] >= 1 && v[0] <= 255) {
    sc->synack_retries = static_cast<uint32_t>(v[0]);
  }
  if (read_ints(p + "tcp_retries2", &v) && v[0] >= 1 && v[0] <= 255) {
    t.retries_data = static_cast<uint32_t>(v[0]);
  }
  if (read_ints(p + "tcp_keepalive_time", &v) && v[0] >= 1 && v[0] <= 32767) {
    t.keepalive_idle = Duration::seconds(v[0]);
  }
  if (read_ints(p + "tcp_keepalive_intvl", &v) && v[0] >= 1 && v[0] <= 32767) {
    t.keepalive_interval = Duration::seconds(v[0]);
  }
  if (read_ints(p + "tcp_keepalive_probes", &v) && v[0] >= 1 && v[0] <= 127) {
    t.keepalive_count = static_cast<uint32_t>(v[0]);
  }
  if (read_ints(p + "tcp_fin_timeout", &v) && v[0] >= 1 && v[0] <= 3600) {
    t.fin_wait2_timeout = Duration::seconds(v[0]);
  }
  if (read_ints(p + "tcp_syncookies", &v)) sc->syn_cookies = v[0] != 0;
  // tcp_cwnd_restart runs only with tcp_slow_start_after_idle (defaults.sh
  // sets 0); 1 keeps the profile's restart.
  if (read_ints(p + "tcp_slow_start_after_idle", &v) && v[0] == 0) {
    t.idle_restart = vigil::tcp::TcpConfig::IdleRestart::kOff;
  }
  // The TSO packet floor behind PushRule::kLinux's PSH marks (tcp_tso_autosize).
  if (read_ints(p + "tcp_min_tso_segs", &v) && v[0] >= 1 && v[0] <= 255) {
    t.min_tso_segs = static_cast<uint32_t>(v[0]);
  }
  std::string cc;
  if (read_file(p + "tcp_congestion_control", &cc)) {
    cc.erase(cc.find_last_not_of(" \n") + 1);
    if (cc == "reno") cc = "newreno";
    (void)t.set("congestion", cc);  // an unknown one keeps the profile's
  }
  const std::string core = "/proc/sys/net/core/";
  if (read_ints(core + "wmem_max", &v) && v[0] > 0) lim->wmem_max = static_cast<int>(v[0]);
  if (read_ints(core + "rmem_max", &v) && v[0] > 0) {
    lim->rmem_max = static_cast<int>(v[0]);
    scale_space = std::max(scale_space, v[0]);
  }
  // tcp_select_initial_window: the scale covers max(tcp_rmem[2], rmem_max).
  if (scale_space > 0) {
    t.window_scale_buffer = static_cast<uint32_t>(std::min<long long>(scale_space, 1 << 30));
  }
  if (read_ints(core + "somaxconn", &v) && v[0] > 0) lim->somaxconn = static_cast<int>(v[0]);
}

// --- the interface's members -------------------------------------------------

void a_free(void* u) {
  auto* a = static_cast<Adapter*>(u);
  Adapter* expected = a;
  g_active.compare_exchange_strong(expected, nullptr);
  // The eventfds stay open: packetdrill closes the ones its script left.
  delete a;
}
// packetdrill runs the script's init commands (defaults.sh: tcp_rmem,
// tcp_wmem ...) after loading this object, so the sysctls are read again at
// every socket(), as Linux applies them to each new socket.
void refresh_defaults(Adapter* a) {
  if (!a->follow) return;
  vigil::stack::StackConfig sc = a->config;
  vigil::posix::Limits lim;
  follow_sysctls(&sc, &lim);
  for (const auto& [k, v] : a->knobs) (void)sc.tcp.set(k, v);
  a->sk->set_socket_defaults(sc.tcp, lim);
}

int a_socket(void* u, int d, int t, int p) {
  refresh_defaults(static_cast<Adapter*>(u));
  return S(u).socket(d, t, p);
}
int a_bind(void* u, int fd, const sockaddr* a, socklen_t l) { return S(u).bind(fd, a, l); }
int a_listen(void* u, int fd, int b) { return S(u).listen(fd, b); }
int a_accept(void* u, int fd, sockaddr* a, socklen_t* l) { return S(u).accept(fd, a, l); }
int a_connect(void* u, int fd, const sockaddr* a, socklen_t l) { return S(u).connect(fd, a, l); }
ssize_t a_read(void* u, int fd, void* b, size_t n) { return S(u).read(fd, b, n); }
ssize_t a_readv(void* u, int fd, const iovec* v, int n) { return S(u).readv(fd, v, n); }
ssize_t a_recv(void* u, int fd, void* b, size_t n, int f) { return S(u).recv(fd, b, n, f); }
ssize_t a_recvfrom(void* u, int fd, void* b, size_t n, int f, sockaddr*, socklen_t* l) {
  const ssize_t r = S(u).recv(fd, b, n, f);
  if (r >= 0 && l != nullptr) *l = 0;  // a connected TCP socket names no source
  return r;
}
ssize_t a_recvmsg(void* u, int fd, msghdr* m, int f) {
  if (m == nullptr) {
    errno = EFAULT;
    return -1;
  }
  if (f != 0) {
    errno = EOPNOTSUPP;
    return -1;
  }
  const ssize_t r = S(u).readv(fd, m->msg_iov, static_cast<int>(m->msg_iovlen));
  if (r >= 0) {
    m->msg_namelen = 0;
    m->msg_controllen = 0;
    m->msg_flags = 0;
  }
  return r;
}
ssize_t a_write(void* u, int fd, const void* b, size_t n) { return S(u).write(fd, b, n); }
ssize_t a_writev(void* u, int fd, const iovec* v, int n) { return S(u).writev(fd, v, n); }
ssize_t a_send(void* u, int fd, const void* b, size_t n, int f) { return S(u).send(fd, b, n, f); }
ssize_t a_sendto(void* u, int fd, const void* b, size_t n, int f, const sockaddr*, socklen_t) {
  return S(u).send(fd, b, n, f);  // tcp_sendmsg ignores the address
}
ssize_t a_sendmsg(void* u, int fd, const msghdr* m, int f) {
  if (m == nullptr) {
    errno = EFAULT;
    return -1;
  }
  return S(u).sendmsg(fd, m, f);
}
int a_fcntl(void* u, int fd, int cmd, ...) {
  long arg = 0;
  if (cmd == F_SETFL || cmd == F_SETFD) {  // only these take a third argument here
    va_list ap;
    va_start(ap, cmd);
    arg = va_arg(ap, long);
    va_end(ap);
  }
  return S(u).fcntl(fd, cmd, arg);
}
int a_ioctl(void* u, int fd, unsigned long req, ...) {
  // packetdrill passes an int* third argument.
  va_list ap;
  va_start(ap, req);
  int* p = va_arg(ap, int*);
  va_end(ap);
  return S(u).ioctl(fd, req, p);
}
int a_close(void* u, int fd) { return S(u).close(fd); }
int a_shutdown(void* u, int fd, int how) { return S(u).shutdown(fd, how); }
int a_getsockopt(void* u, int fd, int l, int n, void* v, socklen_t* len) {
  return S(u).getsockopt(fd, l, n, v, len);
}
int a_setsockopt(void* u, int fd, int l, int n, const void* v, socklen_t len) {
  return S(u).setsockopt(fd, l, n, v, len);
}
int a_poll(void* u, pollfd* f, nfds_t n, int t) { return S(u).poll(f, n, t); }

int a_netdev_send(void* u, const void* buf, size_t n) {
  if (buf == nullptr || n == 0 || n > 65535) {
    errno = EINVAL;
    return -1;
  }
  Sockets& s = S(u);
  s.input(s.now(), std::span<const uint8_t>(static_cast<const uint8_t*>(buf), n));
  return 0;
}

// How long (real time) the clock waits for a woken blocking call to return
// and read the time (Sockets::settle); only a call that never reads it
// costs this.
constexpr std::chrono::milliseconds kSettle{200};

int a_netdev_receive(void* u, void* buf, size_t* count, long long* time_usecs) {
  auto* a = static_cast<Adapter*>(u);
  Sockets& s = *a->sk;
  if (buf == nullptr || count == nullptr || time_usecs == nullptr) {
    errno = EFAULT;
    return -1;
  }
  for (;;) {
    Instant when;
    const size_t n = s.take_datagram(std::span<uint8_t>(static_cast<uint8_t*>(buf), *count), &when);
    if (n > 0) {
      *count = n;
      *time_usecs = a->base_us + when.ns() / 1000;
      return 0;
    }
    const Instant dl = s.next_deadline();
    if (!dl.is_never()) {
      s.settle(kSettle);
      s.advance(dl);
      continue;
    }
    if (!s.wait_datagram(std::chrono::milliseconds(3000))) {
      *count = 0;  // nothing will come: packetdrill reports the missing packet
      *time_usecs = a->base_us + s.now().ns() / 1000;
      return 0;
    }
  }
}

int a_usleep(void* u, useconds_t us) {
  Sockets& s = S(u);
  // A blocking call that the last datagram completed returns, and its
  // thread takes the end time, before the clock jumps (blocking-read).
  s.settle(kSettle);
  s.advance(s.now() + Duration::micros(us));
  return 0;
}

int a_gettimeofday(void* u, timeval* tv, void*) {
  auto* a = static_cast<Adapter*>(u);
  Sockets& s = *a->sk;
  const Instant t = s.clock_read() + Duration::micros(1);
  s.advance(t);
  if (tv != nullptr) {
    const int64_t us = a->base_us + t.ns() / 1000;
    tv->tv_sec = us / 1'000'000;
    tv->tv_usec = us % 1'000'000;
  }
  return 0;
}

int a_epoll_create(void* u, int size) { return S(u).epoll_create(size); }
int a_epoll_ctl(void* u, int ep, int op, int fd, epoll_event* ev) {
  return S(u).epoll_ctl(ep, op, fd, ev);
}
int a_epoll_wait(void* u, int ep, epoll_event* ev, int max, int t) {
  return S(u).epoll_wait(ep, ev, max, t);
}
int a_pipe(void*, int*) {
  errno = ENOSYS;
  return -1;
}
int a_splice(void*, int, loff_t*, int, loff_t*, size_t, unsigned int) {
  errno = ENOSYS;
  return -1;
}

}  // namespace

// The struct is taken as void*, the same C ABI, so a caller with its own
// declaration of the struct calls it through a matching function type
// (UBSan's -fsanitize=function compares them).
extern "C" __attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                                  void* ifc_raw) {
  auto* ifc = static_cast<Interface*>(ifc_raw);
  vigil::stack::StackConfig sc;
  sc.address = vigil::wire::Ipv4Addr::of(192, 168, 0, 1);
  std::string profile = "linux";
  uint64_t seed = 1;
  std::string link;
  uint32_t remote = 0xc0000201;  // 192.0.2.1
  // Exact timers unless --so_flags says otherwise (set:timer.hz=250): the
  // scripts' times fit a kernel whose timers fire on time (HZ 1000 and
  // TCP_TIMEOUT_MIN: sack-shift-sacked's reordering timer at +27 ms, where
  // 250 Hz jiffies give +31.7 ms), and the result must not follow the
  // profile's own timer.hz default.
  std::vector<std::pair<std::string, std::string>> knobs{{"timer.hz", "0"}};
  std::istringstream in(flags != nullptr ? flags : "");
  std::string word;
  while (in >> word) {
    const auto eq = word.find('=');
    const std::string key = word.substr(0, eq);
    const std::string val = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (key == "local") {
      unsigned a = 0, b = 0, c = 0, d = 0;
      if (std::sscanf(val.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a < 256 && b < 256 &&
          c < 256 && d < 256) {
        sc.address = vigil::wire::Ipv4Addr::of(static_cast<uint8_t>(a), static_cast<uint8_t>(b),
                                               static_cast<uint8_t>(c), static_cast<uint8_t>(d));
      } else {
        std::fprintf(stderr, "vigil_packetdrill: bad local=%s\n", val.c_str());
      }
    } else if (key == "profile") {
      profile = val;
    } else if (key == "seed") {
      seed = std::strtoull(val.c_str(), nullptr, 10);
    } else if (key.rfind("set:", 0) == 0) {
      knobs.emplace_back(key.substr(4), val);
    } else if (key == "link") {
      link = val;
    } else if (key == "remote") {
      unsigned a = 0, b = 0, c = 0, d = 0;
      if (std::sscanf(val.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a < 256 && b < 256 &&
          c < 256 && d < 256) {
        remote = a << 24 | b << 16 | c << 8 | d;
      }
    } else {
      std::fprintf(stderr, "vigil_packetdrill: unknown flag %s\n", word.c_str());
    }
  }
  if (!vigil::tcp::TcpConfig::from_profile(profile, &sc.tcp)) {
    std::fprintf(stderr, "vigil_packetdrill: unknown profile %s, using linux\n", profile.c_str());
    sc.tcp = vigil::tcp::TcpConfig::linux_profile();
    profile = "linux";
  }
  vigil::posix::Limits lim;
  for (const auto& [k, v] : knobs) {
    vigil::tcp::TcpConfig probe = sc.tcp;
    const std::string err = probe.set(k, v);
    if (!err.empty()) std::fprintf(stderr, "vigil_packetdrill: %s: %s\n", k.c_str(), err.c_str());
  }

  auto* a = new Adapter;
  a->config = sc;
  a->knobs = knobs;
  a->follow = profile == "linux";
  if (a->follow) {
    // Stack-wide settings (SYN cookies, SYN-ACK retries) are fixed now.
    follow_sysctls(&sc, &lim);
    for (const auto& [k, v] : knobs) (void)sc.tcp.set(k, v);
  }
  a->sk = std::make_unique<Sockets>(sc, seed, Instant::zero(), nullptr, lim);
  a->sk->set_descriptor_source([] { return ::eventfd(0, EFD_CLOEXEC); },
                               [](int fd) { ::close(fd); });
  if (!link.empty()) {
    a->link = open_link(link, sc.address.value, remote);
    if (Link* l = a->link.get()) a->sk->set_link_admits([l] { return l->admits(); });
  }
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  a->base_us = static_cast<int64_t>(tv.tv_sec) * 1'000'000 + tv.tv_usec;
  g_active.store(a);

  ifc->userdata = a;
  ifc->free = a_free;
  ifc->socket = a_socket;
  ifc->bind = a_bind;
  ifc->listen = a_listen;
  ifc->accept = a_accept;
  ifc->connect = a_connect;
  ifc->read = a_read;
  ifc->readv = a_readv;
  ifc->recv = a_recv;
  ifc->recvfrom = a_recvfrom;
  ifc->recvmsg = a_recvmsg;
  ifc->write = a_write;
  ifc->writev = a_writev;
  ifc->send = a_send;
  ifc->sendto = a_sendto;
  ifc->sendmsg = a_sendmsg;
  ifc->fcntl = a_fcntl;
  ifc->ioctl = a_ioctl;
  ifc->close = a_close;
  ifc->shutdown = a_shutdown;
  ifc->getsockopt = a_getsockopt;
  ifc->setsockopt = a_setsockopt;
  ifc->poll = a_poll;
  ifc->netdev_send = a_netdev_send;
  ifc->netdev_receive = a_netdev_receive;
  ifc->usleep = a_usleep;
  ifc->gettimeofday = a_gettimeofday;
  ifc->epoll_create = a_epoll_create;
  ifc->epoll_ctl = a_epoll_ctl;
  ifc->epoll_wait = a_epoll_wait;
  ifc->pipe = a_pipe;
  ifc->splice = a_splice;
}

// The LD_PRELOAD route for TCP_INFO: packetdrill calls the real getsockopt
// for TCP_INFO, TCP_CC_INFO and SO_MEMINFO. Preloading this same object puts
// this function first; it answers for descriptors of the live instance (the
// dlopen of the same path returns the preloaded object, so it is the same
// instance) and passes every other call to libc.
extern "C" __attribute__((visibility("default"))) int getsockopt(int fd, int level, int name,
                                                                 void* val, socklen_t* len) {
  using Fn = int (*)(int, int, int, void*, socklen_t*);
  static const Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "getsockopt"));
  Adapter* a = g_active.load();
  if (a != nullptr && a->sk->owns(fd)) return a->sk->getsockopt(fd, level, name, val, len);
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(fd, level, name, val, len);
}
