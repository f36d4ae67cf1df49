// libvigil_packetdrill.so driven the way packetdrill drives it, by a harness
// of our own (no packetdrill code): dlopen, packetdrill_interface_init, a
// passive handshake through netdev_send/netdev_receive with hand-built
// segments, data both ways, a blocking read on a second thread woken by an
// arriving segment, the virtual clock, close, and the descriptor rules.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Our declaration of packetdrill's interface (issue 10 §4), member order.
struct Ifc {
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
using InitFn = void (*)(const char*, void*);  // the adapter takes the struct as void*

constexpr uint32_t kLocal = 0xc0a80001;   // 192.168.0.1, the stack
constexpr uint32_t kRemote = 0xc0000201;  // 192.0.2.1, the script's peer
constexpr uint16_t kPeerPort = 5000;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return static_cast<uint32_t>(get16(p)) << 16 | get16(p + 2); }

// An IPv4 datagram from the peer to the stack, by hand: 20-byte IP header,
// TCP header with an MSS option on a SYN, payload.
std::vector<uint8_t> segment(uint8_t flags, uint32_t seq, uint32_t ack,
                             const std::string& data = "") {
  const size_t opt = (flags & kSyn) ? 4 : 0;
  const size_t tcp_len = 20 + opt + data.size();
  std::vector<uint8_t> d(20 + tcp_len, 0);
  uint8_t* ip = d.data();
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(d.size()));
  ip[8] = 64;
  ip[9] = 6;
  put32(ip + 12, kRemote);
  put32(ip + 16, kLocal);
  put16(ip + 10, checksum(ip, 20));
  uint8_t* t = ip + 20;
  put16(t, kPeerPort);
  put16(t + 2, 8080);
  put32(t + 4, seq);
  put32(t + 8, ack);
  t[12] = static_cast<uint8_t>((20 + opt) / 4 << 4);
  t[13] = flags;
  put16(t + 14, 65535);
  if (opt) {
    t[20] = 2;
    t[21] = 4;
    put16(t + 22, 1460);
  }
  std::memcpy(t + 20 + opt, data.data(), data.size());
  uint32_t pseudo = (kRemote >> 16) + (kRemote & 0xffff) + (kLocal >> 16) + (kLocal & 0xffff) + 6 +
                    static_cast<uint32_t>(tcp_len);
  put16(t + 16, checksum(t, tcp_len, pseudo));
  return d;
}

struct Seg {
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t sport = 0, dport = 0;
  std::string data;
  long long usecs = 0;
};

class AdapterTest : public ::testing::Test {
 protected:
  std::string flags_ = "local=192.168.0.1 remote=192.0.2.1 profile=rfc";
  void SetUp() override {
    handle_ = dlopen(VIGIL_PACKETDRILL_SO, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto init = reinterpret_cast<InitFn>(dlsym(handle_, "packetdrill_interface_init"));
    ASSERT_NE(init, nullptr);
    std::memset(&ifc_, 0, sizeof ifc_);
    // rfc profile: no sysctls read, so the schedule below is this
    // machine's-settings-free (delayed ACK 200 ms).
    init(flags_.c_str(), &ifc_);
    // Every member filled: packetdrill checks none for NULL.
    const auto* p = reinterpret_cast<void* const*>(&ifc_.free);
    for (size_t i = 0; i < sizeof ifc_ / sizeof(void*) - 1; ++i) ASSERT_NE(p[i], nullptr) << i;
  }
  void TearDown() override {
    if (ifc_.free) ifc_.free(ifc_.userdata);
    if (handle_) dlclose(handle_);
  }
  void in(const std::vector<uint8_t>& d) {
    ASSERT_EQ(ifc_.netdev_send(ifc_.userdata, d.data(), d.size()), 0);
  }
  Seg out() {
    uint8_t buf[2048];
    size_t n = sizeof buf;
    Seg s;
    EXPECT_EQ(ifc_.netdev_receive(ifc_.userdata, buf, &n, &s.usecs), 0);
    EXPECT_GE(n, 40u);
    if (n < 40) return s;
    const uint8_t* t = buf + (buf[0] & 0xf) * 4;
    s.sport = get16(t);
    s.dport = get16(t + 2);
    s.seq = get32(t + 4);
    s.ack = get32(t + 8);
    s.flags = t[13];
    const size_t hl = (t[12] >> 4) * 4u;
    const size_t total = get16(buf + 2);
    s.data.assign(reinterpret_cast<const char*>(t + hl), total - (t - buf) - hl);
    return s;
  }
  long long now_us() {
    timeval tv{};
    ifc_.gettimeofday(ifc_.userdata, &tv, nullptr);
    return tv.tv_sec * 1000000LL + tv.tv_usec;
  }
  // A listener on 8080 and the accepted connection; returns {listener, conn}
  // and the stack's ISS.
  std::pair<int, int> handshake(uint32_t* iss) {
    void* u = ifc_.userdata;
    const int l = ifc_.socket(u, AF_INET, SOCK_STREAM, IPPROTO_TCP);
    EXPECT_GE(l, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(8080);
    a.sin_addr.s_addr = htonl(kLocal);
    EXPECT_EQ(ifc_.bind(u, l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(ifc_.listen(u, l, 1), 0);
    in(segment(kSyn, 100, 0));
    const Seg synack = out();
    EXPECT_EQ(synack.flags, kSyn | kAck);
    EXPECT_EQ(synack.ack, 101u);
    EXPECT_EQ(synack.sport, 8080);
    EXPECT_EQ(synack.dport, kPeerPort);
    *iss = synack.seq;
    in(segment(kAck, 101, synack.seq + 1));
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int c = ifc_.accept(u, l, reinterpret_cast<sockaddr*>(&peer), &len);
    EXPECT_GE(c, 0);
    // packetdrill asserts on the peer's address.
    EXPECT_EQ(len, sizeof peer);
    EXPECT_EQ(ntohl(peer.sin_addr.s_addr), kRemote);
    EXPECT_EQ(ntohs(peer.sin_port), kPeerPort);
    return {l, c};
  }

  void* handle_ = nullptr;
  Ifc ifc_{};
};

// The thread's scheduler state from /proc, as packetdrill reads it to know a
// blocking call is asleep.
char thread_state(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '?' : s[p + 2];
}

TEST_F(AdapterTest, HandshakeDataBlockingReadAndClose) {
  void* u = ifc_.userdata;
  uint32_t iss = 0;
  auto [l, c] = handshake(&iss);

  // Data in; the stack's ACK is delayed, so netdev_receive moves the
  // virtual clock to the delayed-ACK deadline: 200 ms (rfc profile,
  // RFC 1122 §4.2.3.2) after the segment arrived.
  const long long t0 = now_us();
  in(segment(kAck | kPsh, 101, iss + 1, "hello"));
  const Seg ack = out();
  EXPECT_EQ(ack.flags, kAck);
  EXPECT_EQ(ack.ack, 106u);
  EXPECT_NEAR(static_cast<double>(ack.usecs - t0), 200000.0, 2.0);
  char buf[32];
  EXPECT_EQ(ifc_.read(u, c, buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");

  // Data out, at once.
  EXPECT_EQ(ifc_.write(u, c, "world", 5), 5);
  const Seg data = out();
  EXPECT_EQ(data.seq, iss + 1);
  EXPECT_EQ(data.data, "world");
  in(segment(kAck, 106, iss + 6));

  // A blocking read on a second thread sleeps (state S, as packetdrill
  // checks) until a segment arrives through netdev_send.
  std::atomic<pid_t> tid{0};
  std::atomic<ssize_t> got{-2};
  std::thread reader([&, fd = c] {  // clang 14 cannot capture a structured binding
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    got = ifc_.read(u, fd, buf, sizeof buf);
  });
  while (tid == 0) std::this_thread::yield();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (thread_state(tid) != 'S' && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(thread_state(tid), 'S');
  EXPECT_EQ(got, -2);
  in(segment(kAck | kPsh, 106, iss + 6, "again"));
  reader.join();
  EXPECT_EQ(got, 5);

  // close(): a FIN, and the real descriptor behind it is closed too.
  ASSERT_EQ(::fcntl(c, F_GETFD), FD_CLOEXEC);  // a real eventfd until now
  EXPECT_EQ(ifc_.close(u, c), 0);
  Seg fin = out();
  if (!(fin.flags & kFin)) fin = out();  // the ACK of "again" may come first
  EXPECT_EQ(fin.flags & (kFin | kAck), kFin | kAck);
  EXPECT_EQ(fin.seq, iss + 6);
  errno = 0;
  EXPECT_EQ(::fcntl(c, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(ifc_.close(u, c), -1);
  EXPECT_EQ(errno, EBADF);

  // The listener is left open, as a script may leave it: after free(),
  // packetdrill's own close() on its number must succeed.
  ifc_.free(u);
  ifc_.free = nullptr;
  EXPECT_EQ(::close(l), 0);
}

// packetdrill blocking/blocking-read: "+.1...0.200 read(4, ..., 2000)"
// then "+.1 < P. 2001:4001(2000)": the read must end when the data
// arrives, though packetdrill's main thread sleeps on (usleep jumps the
// virtual clock 100 ms) before the woken reader thread has run. usleep
// first lets it return and take its end time (Sockets::settle), as the
// syscall thread does with gettimeofday after the call. Seen without it:
// the read ended at the end of the sleep (0.600 s where Linux 0.500 s).
// link=IFNAME names a tun device the adapter asks before each batch of
// output whether its queue takes packets (packetdrill's user-timeout-probe
// drops them with a qdisc). A name the namespace does not know: one clear
// line on stderr, no device created (TUNSETIFF would make one), and the
// adapter runs as without the word.
class AdapterLinkTest : public AdapterTest {
 protected:
  void SetUp() override {
    flags_ += " link=vigilnosuch0";
    ::testing::internal::CaptureStderr();
    AdapterTest::SetUp();
    err_ = ::testing::internal::GetCapturedStderr();
  }
  std::string err_;
};

TEST_F(AdapterLinkTest, AnUnknownLinkIsReportedAndLeftAlone) {
  EXPECT_EQ(err_, "vigil_packetdrill: link=vigilnosuch0: no such device\n");
  EXPECT_EQ(::if_nametoindex("vigilnosuch0"), 0u);
  uint32_t iss = 0;
  auto [l, c] = handshake(&iss);
  (void)l;
  EXPECT_EQ(ifc_.write(ifc_.userdata, c, "world", 5), 5);
  const Seg data = out();
  EXPECT_EQ(data.seq, iss + 1);
  EXPECT_EQ(data.data, "world");
}

TEST_F(AdapterTest, BlockingReadEndsWhenItsDataArrives) {
  void* u = ifc_.userdata;
  uint32_t iss = 0;
  auto [l, c] = handshake(&iss);
  std::atomic<pid_t> tid{0};
  std::atomic<ssize_t> got{-2};
  std::atomic<long long> end_us{0};
  char buf[32];
  std::thread reader([&, fd = c] {  // clang 14 cannot capture a structured binding
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    got = ifc_.read(u, fd, buf, sizeof buf);
    end_us = now_us();
  });
  while (tid == 0) std::this_thread::yield();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (thread_state(tid) != 'S' && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(thread_state(tid), 'S');
  const long long t0 = now_us();
  in(segment(kAck | kPsh, 101, iss + 1, "data"));
  EXPECT_EQ(ifc_.usleep(u, 100000), 0);
  reader.join();
  EXPECT_EQ(got, 4);
  EXPECT_LT(end_us - t0, 1000) << "the read ended " << end_us - t0 << " us after the data";
  EXPECT_EQ(ifc_.close(u, c), 0);
  EXPECT_EQ(ifc_.close(u, l), 0);
}

TEST_F(AdapterTest, VirtualClock) {
  void* u = ifc_.userdata;
  // gettimeofday advances the clock 1 µs per call, so a spin on it ends.
  const long long a = now_us();
  const long long b = now_us();
  EXPECT_EQ(b - a, 1);
  // usleep advances it exactly, however loaded the machine is.
  EXPECT_EQ(ifc_.usleep(u, 2500000), 0);
  EXPECT_EQ(now_us() - b, 2500000 + 1);
  // A timer due inside a usleep runs at its own deadline: a SYN to a
  // silent peer is retransmitted 1 s later (RFC 6298 §2.1 initial RTO),
  // and netdev_receive reports that time, not the end of the sleep.
  const int s = ifc_.socket(u, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(8080);
  to.sin_addr.s_addr = htonl(kRemote);
  EXPECT_EQ(ifc_.connect(u, s, reinterpret_cast<sockaddr*>(&to), sizeof to), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  const long long t0 = now_us();
  EXPECT_EQ(ifc_.usleep(u, 3000000), 0);
  const Seg syn = out();
  const Seg again = out();
  EXPECT_EQ(syn.flags, kSyn);
  EXPECT_EQ(again.flags, kSyn);
  EXPECT_EQ(again.seq, syn.seq);
  EXPECT_NEAR(static_cast<double>(again.usecs - t0), 1000000.0, 2.0);
}

TEST_F(AdapterTest, UnsupportedMembersSetErrno) {
  void* u = ifc_.userdata;
  int fds[2];
  errno = 0;
  EXPECT_EQ(ifc_.pipe(u, fds), -1);
  EXPECT_EQ(errno, ENOSYS);
  errno = 0;
  EXPECT_EQ(ifc_.splice(u, 0, nullptr, 1, nullptr, 1, 0), -1);
  EXPECT_EQ(errno, ENOSYS);
  const int s = ifc_.socket(u, AF_INET, SOCK_STREAM, 0);
  errno = 0;
  EXPECT_EQ(ifc_.ioctl(u, s, 0x12345678UL, nullptr), -1);
  EXPECT_EQ(errno, ENOTTY);
  // fcntl with two arguments, as packetdrill calls F_GETFL.
  EXPECT_EQ(ifc_.fcntl(u, s, F_GETFL), O_RDWR);
  EXPECT_EQ(ifc_.fcntl(u, s, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(ifc_.fcntl(u, s, F_GETFL), O_RDWR | O_NONBLOCK);
  // A datagram too short for IPv4 is dropped, not a crash.
  const uint8_t junk[3] = {0x45, 0, 0};
  EXPECT_EQ(ifc_.netdev_send(u, junk, sizeof junk), 0);
  EXPECT_EQ(ifc_.netdev_send(u, nullptr, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

}  // namespace
