#include "sim/attacker.hpp"

#include <algorithm>

#include "wire/icmp.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::sim {

namespace {

// Destination-unreachable codes other than 4 (RFC 792 0-5, RFC 1122
// §3.2.2.1 6-12, RFC 1812 §5.2.7.1 13-15).
constexpr uint8_t kUnreachableCodes[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
// Next-hop MTUs for forged frag-needed: 0 (a pre-RFC 1191 router), the
// IPv4 minimum 68 (RFC 791), values under Linux's 552 floor, and RFC 1191
// §7's plateaus below Ethernet's 1500.
constexpr uint16_t kFragMtus[] = {0, 68, 108, 296, 508, 551, 552, 576, 1006, 1280, 1492};
constexpr size_t kDataBytes = 64;
constexpr uint32_t kHalfSpace = 0x80000000u;  // 2^31: as far from a value as sequence space allows
constexpr uint32_t kFarFutureTs =
    0x40000000u;  // 2^30 ahead: "newer" under RFC 7323's mod 2^32 compare

}  // namespace

const char* attack_kind_name(AttackKind k) {
  switch (k) {
    case AttackKind::kRst:
      return "rst";
    case AttackKind::kSyn:
      return "syn";
    case AttackKind::kData:
      return "data";
    case AttackKind::kBadAckTsval:
      return "bad_ack_tsval";
    case AttackKind::kIcmpUnreachable:
      return "icmp_unreachable";
    case AttackKind::kIcmpFragNeeded:
      return "icmp_frag_needed";
    case AttackKind::kOutOfOrderData:
      return "out_of_order_data";
  }
  return "?";
}

WindowGuess guess_from(const tcp::Connection& victim) {
  WindowGuess g;
  g.rcv_nxt = victim.rcv_nxt();
  g.rcv_wnd = victim.rcv_wnd();
  g.snd_una = victim.snd_una();
  g.snd_nxt = victim.snd_nxt();
  g.ts_recent = victim.ts_recent();
  return g;
}

Attacker::Attacker(World& world, AttackerConfig cfg, util::Rng rng)
    : world_(world), cfg_(std::move(cfg)), rng_(rng), buf_(256) {}

Instant Attacker::next_wake() const {
  if (done() || cfg_.kinds.empty()) return Instant::never();
  // From the start, not from the last injection, so the rate has no drift.
  return cfg_.start + cfg_.every * static_cast<int64_t>(sent_);
}

void Attacker::poll(Instant now) {
  while (!done() && !cfg_.kinds.empty() && next_wake() <= now) {
    const AttackKind k = cfg_.kinds[sent_ % cfg_.kinds.size()];
    std::optional<WindowGuess> g;
    if (cfg_.guess) g = cfg_.guess(now);
    if (g) ++guessed_;
    const size_t n = forge(k, g, buf_);
    if (n && cfg_.direct) {
      world_.host(cfg_.victim_host).stack().receive(now, std::span<const uint8_t>(buf_.data(), n));
    } else if (n) {
      world_.inject(cfg_.victim_host, std::span<const uint8_t>(buf_.data(), n));
    }
    ++sent_;
    ++by_kind_[static_cast<size_t>(k)];
  }
}

size_t Attacker::forge(AttackKind k, const std::optional<WindowGuess>& g, std::span<uint8_t> out) {
  if (k == AttackKind::kIcmpUnreachable || k == AttackKind::kIcmpFragNeeded) {
    return forge_icmp(k, g, out);
  }
  return forge_tcp(k, g, out);
}

uint32_t Attacker::in_window_seq(const std::optional<WindowGuess>& g) {
  if (!g) return rng_.next_u32();
  // (RCV.NXT, RCV.NXT + RCV.WND): in the window, never the one value that
  // an exact-match RST check (RFC 5961 §3.2) must accept.
  const uint32_t span = std::max<uint32_t>(g->rcv_wnd, 2) - 1;
  return g->rcv_nxt + 1 + static_cast<uint32_t>(rng_.uniform(span));
}

tcp::FourTuple Attacker::spoofed_tuple() {
  tcp::FourTuple t = cfg_.tuple;
  if (!cfg_.spoof_source) return t;
  // A unicast source no martian filter refuses: first octet 1..223 but 127
  // (RFC 1122 §3.2.1.3), any port from 1024.
  uint8_t a = 0;
  do {
    a = static_cast<uint8_t>(1 + rng_.uniform(223));
  } while (a == 127 || a == 10);  // 10/8 holds the simulated hosts
  const uint32_t rest = rng_.next_u32() & 0x00ffffffu;
  t.remote.addr = wire::Ipv4Addr{(uint32_t{a} << 24) | rest};
  t.remote.port = static_cast<uint16_t>(1024 + rng_.uniform(65536 - 1024));
  return t;
}

size_t Attacker::forge_tcp(AttackKind k, const std::optional<WindowGuess>& g,
                           std::span<uint8_t> out) {
  const uint64_t nth = cycle_[static_cast<size_t>(k)]++;
  const tcp::FourTuple t = spoofed_tuple();
  // From the peer to the victim: header_fields addresses local -> remote.
  auto [ip, f] = tcp::header_fields(tcp::FourTuple{t.remote, t.local});
  ip.id = static_cast<uint16_t>(rng_.next_u32());
  f.seq = in_window_seq(g);
  f.window = 65535;
  wire::TcpOptions opt;
  if (cfg_.timestamps && k != AttackKind::kRst) {
    opt.has_timestamps = true;
    opt.ts_val = g ? g->ts_recent : rng_.next_u32();
    opt.ts_ecr = rng_.next_u32();
  }
  static const uint8_t kPayload[kDataBytes] = {};  // content does not matter: the digest does
  std::span<const uint8_t> payload;
  switch (k) {
    case AttackKind::kRst:
      f.flags = wire::tcp_flags::kRst;
      f.window = 0;
      break;
    case AttackKind::kSyn:
      f.flags = wire::tcp_flags::kSyn;
      opt.has_mss = true;
      opt.mss = 1460;
      opt.sack_permitted = true;
      opt.has_window_scale = true;
      opt.window_scale = 7;
      if (opt.has_timestamps) opt.ts_ecr = 0;
      break;
    case AttackKind::kData:
      f.flags = wire::tcp_flags::kAck | wire::tcp_flags::kPsh;
      f.ack = rng_.next_u32();  // blind: the attacker cannot see SND.UNA
      payload = std::span<const uint8_t>(kPayload, kDataBytes);
      break;
    case AttackKind::kOutOfOrderData:
      f.flags = wire::tcp_flags::kAck | wire::tcp_flags::kPsh;
      if (g) {
        const uint32_t room = std::max<uint32_t>(g->rcv_wnd, kDataBytes + 2) - kDataBytes - 1;
        f.seq = g->rcv_nxt + 1 + static_cast<uint32_t>(rng_.uniform(room));
      }
      f.ack = g ? g->snd_una : rng_.next_u32();
      payload = std::span<const uint8_t>(kPayload, kDataBytes);
      break;
    case AttackKind::kBadAckTsval:
      if (opt.has_timestamps) opt.ts_val = g ? g->ts_recent + kFarFutureTs : rng_.next_u32();
      if (nth % 2 == 0) {
        f.flags = wire::tcp_flags::kAck;
        f.ack = g ? g->snd_una + kHalfSpace : rng_.next_u32();
      } else {
        f.flags = 0;  // no ACK at all: RFC 9293 §3.10.7.4 fifth check drops it
      }
      break;
    default:
      return 0;
  }
  return wire::build_ipv4_tcp(out, ip, f, opt, payload);
}

size_t Attacker::forge_icmp(AttackKind k, const std::optional<WindowGuess>& g,
                            std::span<uint8_t> out) {
  const uint64_t nth = cycle_[static_cast<size_t>(k)]++;
  const tcp::FourTuple t = spoofed_tuple();
  // The segment the ICMP error pretends to quote: one the victim sent to
  // its peer, whose SEQ is in the guessed flight.
  auto [ip, f] = tcp::header_fields(t);
  f.flags = wire::tcp_flags::kAck;
  f.ack = rng_.next_u32();
  f.window = 65535;
  if (g) {
    const uint32_t flight = g->snd_nxt - g->snd_una;
    f.seq = g->snd_una + static_cast<uint32_t>(rng_.uniform(flight));
  } else {
    f.seq = rng_.next_u32();
  }
  uint8_t quoted[64];
  const size_t qn = wire::build_ipv4_tcp(quoted, ip, f, wire::TcpOptions{});
  if (qn == 0) return 0;
  uint8_t code = wire::icmp_code::kFragmentationNeeded;
  uint16_t mtu = 0;
  if (k == AttackKind::kIcmpUnreachable) {
    code = kUnreachableCodes[nth % std::size(kUnreachableCodes)];
  } else {
    mtu = kFragMtus[nth % std::size(kFragMtus)];
  }
  return wire::build_icmp_unreachable(out, cfg_.icmp_source, code, mtu,
                                      std::span<const uint8_t>(quoted, qn));
}

}  // namespace vigil::sim
