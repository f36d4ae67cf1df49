// Segment classification from what a capture point sees. Sequence numbers
// compare modulo 2^32 (RFC 9293 §3.4); every label states its evidence.
//
// Notation for a segment sent in direction d ("S", the sender) towards the
// peer ("P"): una = the peer's highest ACK seen (the sender's SND.UNA as far
// as the capture knows), max_end = the highest SEG.SEQ + SEG.LEN the sender
// has been seen to use (its SND.MAX), peer window = the window the peer last
// advertised.
#include "analyze/flow_analyzer.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <string>
#include <utility>

#include "wire/bytes.hpp"
#include "wire/ipv6.hpp"
#include "wire/packet.hpp"
#include "wire/seq.hpp"

namespace vigil::analyze {

using wire::seq_ge;
using wire::seq_gt;
using wire::seq_le;
using wire::seq_lt;
using wire::seq_max;
namespace fl = wire::tcp_flags;

namespace {

enum class Probe : uint8_t { kNone, kKeepalive, kZeroWindow };

using Key = std::array<uint8_t, 19>;

// A range of sequence space skipped by the sender as the capture saw it
// (data above it arrived first). Bounded: the oldest are forgotten.
struct Hole {
  uint32_t lo = 0, hi = 0;
  Instant created;
};
constexpr size_t kMaxHoles = 16;

struct DirState {
  bool base_known = false;
  uint32_t base = 0;  // relative sequence origin: the ISN, else the first seq seen
  bool syn_seen = false;
  uint32_t syn_seq = 0;
  Instant syn_time;
  bool syn_has_ws = false;
  bool syn_ws_unknown = false;  // the snaplen cut the SYN's options before any window scale
  uint8_t ws = 0;
  uint8_t shift = 0;  // applied to this direction's (non-SYN) windows
  bool end_valid = false;
  uint32_t max_end = 0;
  bool ack_valid = false;
  uint32_t last_ack = 0;
  bool win_valid = false;
  uint32_t last_win = 0;   // scaled when the scale is known
  uint32_t dup_count = 0;  // dup ACKs this direction sent since its last new ACK
  bool fin_seen = false;
  Probe probe = Probe::kNone;  // an unanswered probe this direction sent
  uint32_t probe_seq = 0;
  std::vector<Hole> holes;
  // NewReno recovery (RFC 6582) as seen from the wire.
  bool in_recovery = false;
  uint32_t recover = 0;
  bool partial_ack = false;  // the peer sent a partial ACK since the last fast retransmission
  bool fast_done = false;    // a fast retransmission at fast_seq happened since the last new ACK
  uint32_t fast_seq = 0;
  Instant fast_time;  // when
  // Resending after a timeout (RFC 6298 §5.4, go-back-N) until the peer
  // acknowledges rto_recover, the highest byte sent when it began.
  bool rto_recovery = false;
  uint32_t rto_recover = 0;
  // As the acknowledger: this direction's latest ACK carried SACK blocks
  // (RFC 2018), i.e. it holds data above its ACK point.
  bool sacking = false;
  // As the sender: the time of its last segment of any kind, and of its last
  // data/FIN transmission and whether that one was new (advanced max_end).
  bool any_sent = false;
  Instant last_time;
  bool tx_valid = false;
  bool last_tx_new = false;
  Instant last_tx;
  // The last few segments this direction sent, by header hash (0: unused):
  // a capture duplicate is one of them again (see kDupWindow).
  struct Recent {
    uint64_t sig = 0;
    Instant time;
  };
  std::array<Recent, 4> recent{};
  uint8_t recent_next = 0;
};

// A capture duplicate: the same datagram seen twice by the capture (a
// capture on several interfaces, "any", a bridge and its ports, a mirror
// port fed twice). Its IP and TCP headers are identical to an earlier
// segment's, byte for byte: for IPv4 the same Identification and header
// checksum (RFC 791; a resend gets a new ID from Linux and Windows, and
// a new TSval when timestamps are on, RFC 7323 §5.4), and the same TCP
// checksum. A genuine resend cannot come sooner than one round trip after
// the original: the loss signal (duplicate ACKs, SACK) or the timer (RTO,
// PTO, RACK's reordering window, all at least a round trip) must reach
// the sender first. So an identical copy within half an irtt of the first
// (half: the round trip may shrink after the handshake) is the capture's
// doing. Capped at kDupWindow (the same without a handshake): a capture's
// own copies are microseconds apart, and a genuine resend within 1 ms of
// its original would need a sub-millisecond round trip.
constexpr Duration kDupWindow = Duration::millis(1);

uint64_t header_hash(std::span<const uint8_t> b) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64
  for (uint8_t c : b) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= b.size();
  return h * 0x100000001b3ull;
}

// The smallest retransmission timeout a common stack uses (Linux's
// TCP_RTO_MIN; RFC 6298 §2.4 asks for 1 s): an RTO cannot fire sooner than
// one round trip plus this after the last transmission.
constexpr Duration kMinRto = Duration::millis(200);

struct FlowState {
  Key key0{};  // dir 0's endpoint
  DirState d[2];
  bool established = false;
  bool ended = false;
  bool irtt_known = false;
  Duration irtt;  // SYN to the ACK of the SYN-ACK: one round trip wherever the capture is
  uint64_t last_frame = 0;
};

// An endpoint: IP version, address (IPv4 in its RFC 4291 §2.5.5.2 mapped
// form), port.
Key key_of(bool v6, const wire::Ipv6Addr& a, uint16_t port) {
  Key k{};
  k[0] = v6 ? 6 : 4;
  for (size_t i = 0; i < 16; ++i) k[1 + i] = a.bytes[i];
  k[17] = static_cast<uint8_t>(port >> 8);
  k[18] = static_cast<uint8_t>(port);
  return k;
}

wire::Ipv6Addr Ipv4Mapped(wire::Ipv4Addr a) {
  wire::Ipv6Addr m;
  m.bytes[10] = m.bytes[11] = 0xff;
  m.bytes[12] = static_cast<uint8_t>(a.value >> 24);
  m.bytes[13] = static_cast<uint8_t>(a.value >> 16);
  m.bytes[14] = static_cast<uint8_t>(a.value >> 8);
  m.bytes[15] = static_cast<uint8_t>(a.value);
  return m;
}

}  // namespace

// RFC 2883 hold-back: a retransmission stays open until the peer's reply
// can tell whether it was a duplicate (a D-SACK), so that `spurious_retransmission`
// can still be added. Streaming output stays in frame order, so every packet
// after an open retransmission is held too; both are bounded.
constexpr size_t kMaxHeld = 256;                     // packets held at most
constexpr Duration kMaxHold = Duration::seconds(1);  // capture time an entry stays open

// A retransmission waiting for the peer's verdict.
struct Pending {
  size_t flow = 0;
  int dir = 0;
  uint32_t lo = 0, hi = 0;  // its payload bytes [lo, hi), absolute
  Instant time;
  uint64_t ref = 0;  // index into packets_ (retaining) or position in held (streaming)
};

struct Held {
  Flow flow;  // as it was at the packet
  PacketLabels pl;
};

struct FlowAnalyzer::Impl {
  std::map<std::pair<Key, Key>, size_t> by_tuple;  // current flow per 4-tuple
  std::deque<FlowState> state;  // parallel to flows_; a deque never copies or doubles as it grows
  std::deque<Pending> open;     // by ref, ascending
  std::deque<Held> held;        // streaming only
  uint64_t held_base = 0;       // position of held.front() since the start
};

FlowAnalyzer::FlowAnalyzer(PacketCallback on_packet)
    : on_packet_(std::move(on_packet)), impl_(std::make_shared<Impl>()) {}

FlowAnalyzer::FlowAnalyzer() : retain_(true), impl_(std::make_shared<Impl>()) {}

namespace {

// A TCP options area cut by the snaplen after `captured` of its bytes:
// keeps the options captured whole and blanks the rest to End of Option
// List (RFC 9293 §3.2: kind 0 ends the list), so a half-captured option is
// never read with zeros for its missing bytes. Returns the kind of the
// option the cut fell in, or -1 when the cut fell between options.
int keep_whole_options(std::span<uint8_t> area, size_t captured) {
  size_t i = 0;
  while (i < captured) {
    const uint8_t kind = area[i];
    if (kind == wire::tcp_option::kEol) return -1;  // the list ended before the cut
    if (kind == wire::tcp_option::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= captured) break;  // the length byte was cut
    const size_t len = area[i + 1];
    if (len < 2) return -1;  // malformed whatever was cut: left for the parser to refuse
    if (i + len > captured) break;
    i += len;
  }
  const int kind = i < captured ? area[i] : -1;
  std::fill(area.begin() + static_cast<std::ptrdiff_t>(i), area.end(), uint8_t{0});
  return kind;
}

}  // namespace

// The TCP header of a segment whose payload the capture does not hold whole
// (cut by the snaplen), copied behind its IP header(s) (`ip_header` bytes
// of `ip`) into scratch_ as a datagram with no payload; the payload's
// length comes from the IP length fields instead. Needs the fixed 20-byte
// TCP header; options are read as far as they were captured.
bool FlowAnalyzer::headers_only(std::span<const uint8_t> ip, size_t ip_header, Cut* cut) {
  const size_t have = ip.size() - ip_header;  // TCP bytes captured
  if (have < wire::kTcpMinHeader) {
    ++stats_.cut_headers;
    return false;
  }
  const size_t doff = size_t{ip[ip_header + 12]} / 16 * 4;
  if (doff < wire::kTcpMinHeader) {
    ++stats_.malformed_tcp;  // RFC 9293 §3.1: data offset of at least 5 words
    return false;
  }
  scratch_.assign(ip.begin(),
                  ip.begin() + static_cast<std::ptrdiff_t>(ip_header + std::min(doff, have)));
  scratch_.resize(ip_header + doff, 0);
  if (have < doff) {
    cut->options = true;
    cut->option_kind =
        keep_whole_options(std::span<uint8_t>(scratch_).subspan(ip_header + wire::kTcpMinHeader),
                           have - wire::kTcpMinHeader);
    ++stats_.options_cut;
  }
  cut->tcp_header = doff;
  return true;
}

void FlowAnalyzer::add(uint64_t frame, Instant time, std::span<const uint8_t> ipv4,
                       size_t wire_length, std::string_view via) {
  via_ = via;
  if (!ipv4.empty() && (ipv4[0] >> 4) == 6) {
    add_ipv6(frame, time, ipv4, wire_length);
    return;
  }
  // Cut by the snaplen (RFC 791 total length above what was captured): with
  // the whole IP header and the fixed TCP header the segment is analysed
  // anyway, its payload length taken from the total length (labels use the
  // payload's length, never its bytes).
  std::span<const uint8_t> bytes = ipv4;
  Cut cut;
  size_t payload = 0;
  if (ipv4.size() >= 20 && (ipv4[0] >> 4) == 4) {
    const size_t ihl = size_t{ipv4[0]} % 16 * 4;
    size_t total = size_t{ipv4[2]} << 8 | ipv4[3];
    // Total length 0: a TSO/GSO frame (up to 64 KiB) or a BIG TCP one
    // (above it) as the sending host's capture sees it, before the NIC
    // cuts it into segments; the IP header cannot say its length.
    const bool no_length = total == 0;
    if (no_length) total = std::max(ipv4.size(), wire_length);
    if (ihl >= 20 && ipv4.size() >= ihl && (total > ipv4.size() || no_length)) {
      if (((ipv4[6] << 8 | ipv4[7]) & 0x3fff) != 0) {
        ++stats_.fragments;
        return;
      }
      if (ipv4[9] != wire::kProtoTcp) {
        ++stats_.non_tcp;
        return;
      }
      if (!headers_only(ipv4, ihl, &cut)) return;
      if (total < ihl + cut.tcp_header) {
        ++stats_.malformed_ip;  // the total length ends inside the headers
        return;
      }
      payload = total - ihl - cut.tcp_header;
      wire::store_be16(&scratch_[2], static_cast<uint16_t>(scratch_.size()));
      bytes = scratch_;
      cut.cut = true;
      cut.payload_cut = total > ipv4.size();
      if (cut.payload_cut) ++stats_.snaplen_cut;
      if (no_length) ++stats_.length_from_capture;
    }
  }
  wire::PacketView view;
  switch (wire::parse_packet(bytes, &view, /*verify_checksums=*/false)) {
    case wire::Drop::kNone:
      break;
    case wire::Drop::kIpTruncated:
      ++stats_.cut_headers;
      return;
    case wire::Drop::kIpFragment:
      ++stats_.fragments;  // RFC 791 reassembly is not attempted
      return;
    case wire::Drop::kIpNotTcp:
    case wire::Drop::kIcmpTruncated:
    case wire::Drop::kIcmpBadChecksum:
    case wire::Drop::kIcmpUnsupported:
      ++stats_.non_tcp;
      return;
    case wire::Drop::kTcpTruncated:
    case wire::Drop::kTcpBadDataOffset:
    case wire::Drop::kTcpBadOptionLength:
    case wire::Drop::kTcpBadChecksum:
      ++stats_.malformed_tcp;
      return;
    default:
      ++stats_.malformed_ip;
      return;
  }
  if (view.kind != wire::PacketView::Kind::kTcp) {  // ICMP: not a segment
    ++stats_.non_tcp;
    return;
  }
  Endpoints e;
  {
    // The headers as captured (IP and TCP, options included).
    const size_t ihl = view.ip.header().size();
    const size_t hdr = ihl + (ipv4.size() > ihl + 12 ? size_t{ipv4[ihl + 12]} / 16 * 4 : 0);
    e.sig = header_hash(ipv4.first(std::min(ipv4.size(), hdr)));
  }
  e.v6 = false;
  e.src4 = view.ip.src();
  e.dst4 = view.ip.dst();
  e.src = Ipv4Mapped(e.src4);
  e.dst = Ipv4Mapped(e.dst4);
  e.cut = cut;
  const size_t len = cut.cut ? payload : view.tcp.payload().size();
  segment(frame, time, e, view.tcp, static_cast<uint32_t>(len));
}

void FlowAnalyzer::add_ipv6(uint64_t frame, Instant time, std::span<const uint8_t> ip,
                            size_t wire_length) {
  // Cut by the snaplen (RFC 8200 §3 Payload Length above what was
  // captured): like IPv4 above, analysed when every IPv6 header and the
  // fixed TCP header were captured.
  std::span<const uint8_t> bytes = ip;
  Cut cut;
  size_t payload = 0;
  if (ip.size() >= wire::kIpv6Header && (ip[0] >> 4) == 6) {
    size_t total = wire::kIpv6Header + (size_t{ip[4]} << 8 | ip[5]);
    // Payload Length 0: a jumbogram (RFC 2675), its length in the Jumbo
    // Payload option, or a BIG TCP frame as the sending host's capture sees
    // it (Linux leaves the option out): the capture's length.
    const bool no_length = total == wire::kIpv6Header;
    if (no_length) total = std::max(ip.size(), wire_length);
    if (total > ip.size() || no_length) {
      // Walk the extension headers in what was captured (RFC 8200 §4).
      uint8_t next = ip[6];
      size_t off = wire::kIpv6Header;
      for (int hops = 0; hops < 16; ++hops) {
        if (next == wire::kIpv6Fragment) {
          ++stats_.fragments;
          return;
        }
        if (next != wire::kIpv6HopByHop && next != wire::kIpv6Routing &&
            next != wire::kIpv6DestOptions)
          break;
        if (ip.size() < off + 8 || ip.size() < off + (size_t{ip[off + 1]} + 1) * 8) {
          ++stats_.cut_headers;
          return;
        }
        if (no_length && next == wire::kIpv6HopByHop) {
          // RFC 2675 §2: option 0xC2, 4 bytes: the length after the fixed
          // header, above 65535.
          const size_t end = off + (size_t{ip[off + 1]} + 1) * 8;
          for (size_t o = off + 2; o + 1 < end;) {
            if (ip[o] == 0) {  // Pad1
              ++o;
              continue;
            }
            if (ip[o] == 0xc2 && ip[o + 1] == 4 && o + 6 <= end) {
              const size_t jumbo = wire::load_be32(&ip[o + 2]);
              if (jumbo <= 65535) {
                ++stats_.malformed_ip;
                return;
              }
              total = wire::kIpv6Header + jumbo;
            }
            o += 2 + size_t{ip[o + 1]};
          }
        }
        next = ip[off];
        off += (size_t{ip[off + 1]} + 1) * 8;
      }
      if (next != wire::kProtoTcp) {
        ++stats_.non_tcp;
        return;
      }
      if (!headers_only(ip, off, &cut)) return;
      if (total < off + cut.tcp_header) {
        ++stats_.malformed_ip;
        return;
      }
      payload = total - off - cut.tcp_header;
      wire::store_be16(&scratch_[4], static_cast<uint16_t>(scratch_.size() - wire::kIpv6Header));
      bytes = scratch_;
      cut.cut = true;
      cut.payload_cut = total > ip.size();
      if (no_length) ++stats_.length_from_capture;
    }
  }
  wire::Ipv6View v6;
  switch (wire::Ipv6View::parse(bytes, &v6)) {
    case wire::Drop::kNone:
      break;
    case wire::Drop::kIpTruncated:
      ++stats_.cut_headers;
      return;
    case wire::Drop::kIpFragment:
      ++stats_.fragments;  // RFC 8200 §4.5 reassembly is not attempted
      return;
    default:
      ++stats_.malformed_ip;
      return;
  }
  if (v6.next_header() != wire::kProtoTcp) {
    ++stats_.non_tcp;
    return;
  }
  wire::TcpView tcp;
  // TCP's checksum covers the IPv6 pseudo-header (RFC 8200 §8.1); captures
  // often carry offloaded checksums, so it is not verified (nor for IPv4).
  switch (wire::TcpView::parse(v6.payload(), wire::Ipv4Addr{}, wire::Ipv4Addr{}, &tcp, false)) {
    case wire::Drop::kNone:
      break;
    default:
      ++stats_.malformed_tcp;
      return;
  }
  if (cut.payload_cut) ++stats_.snaplen_cut;
  ++stats_.ipv6;
  Endpoints e;
  {
    const size_t off = v6.header_length();
    const size_t hdr = off + (ip.size() > off + 12 ? size_t{ip[off + 12]} / 16 * 4 : 0);
    e.sig = header_hash(ip.first(std::min(ip.size(), hdr)));
  }
  e.v6 = true;
  e.src = v6.src();
  e.dst = v6.dst();
  e.cut = cut;
  const size_t len = cut.cut ? payload : tcp.payload().size();
  segment(frame, time, e, tcp, static_cast<uint32_t>(len));
}

void FlowAnalyzer::segment(uint64_t frame, Instant time, const Endpoints& e, const wire::TcpView& t,
                           uint32_t len) {
  const Key ks = key_of(e.v6, e.src, t.src_port()), kd = key_of(e.v6, e.dst, t.dst_port());
  const auto key = ks < kd ? std::make_pair(ks, kd) : std::make_pair(kd, ks);
  const bool syn = t.has(fl::kSyn), ackf = t.has(fl::kAck), rst = t.has(fl::kRst),
             fin = t.has(fl::kFin);

  // Find the flow. A SYN on a known tuple starts a new connection (port
  // reuse) only when the sequence space says so: another ISN than the
  // tuple's SYN (RFC 9293 §3.4.1: each connection picks its own), or,
  // without a SYN seen, a connection that ended. The same ISN again is the
  // same connection's SYN retransmitted, also after a RST refused it
  // (Windows retries a refused connect with the same SYN).
  size_t fi = 0;
  auto it = impl_->by_tuple.find(key);
  bool fresh = it == impl_->by_tuple.end();
  bool reuse = false;
  if (!fresh && syn && !ackf) {
    const int d = impl_->state[it->second].key0 == ks ? 0 : 1;
    const DirState& s = impl_->state[it->second].d[d];
    reuse = s.syn_seen ? s.syn_seq != t.seq() : impl_->state[it->second].ended;
    fresh = reuse;
  }
  if (fresh) {
    Flow f;
    // dir 0 is the SYN sender: the source of a SYN, the destination of a
    // SYN-ACK, else whoever was seen first.
    const bool reversed = syn && ackf;
    f.ipv6 = e.v6;
    if (e.v6) {
      f.addr6[0] = reversed ? e.dst : e.src;
      f.addr6[1] = reversed ? e.src : e.dst;
    } else {
      f.addr[0] = reversed ? e.dst4 : e.src4;
      f.addr[1] = reversed ? e.src4 : e.dst4;
    }
    f.port[0] = reversed ? t.dst_port() : t.src_port();
    f.port[1] = reversed ? t.src_port() : t.dst_port();
    f.first = time;
    f.via = std::string(via_);
    flows_.push_back(f);
    impl_->state.emplace_back();
    impl_->state.back().key0 = reversed ? kd : ks;
    fi = flows_.size() - 1;
    impl_->by_tuple[key] = fi;
  } else {
    fi = it->second;
  }
  Flow& flow = flows_[fi];
  FlowState& fs = impl_->state[fi];
  const int dir = fs.key0 == ks ? 0 : 1;
  DirState& S = fs.d[dir];
  DirState& P = fs.d[1 - dir];

  flow.last = time;
  ++flow.packets;
  fs.last_frame = frame;

  // A capture duplicate (see kDupWindow) is labelled and otherwise left
  // out: no state moves, so no label or detector sees it twice.
  const Duration dup_window = fs.irtt_known ? std::min(fs.irtt / 2, kDupWindow) : kDupWindow;
  for (const auto& r : S.recent) {
    const Duration gap = time - r.time;
    if (r.sig == 0 || r.sig != e.sig || gap < Duration::zero() || gap >= dup_window) continue;
    PacketLabels dup;
    dup.frame = frame;
    dup.time = time;
    dup.flow = fi;
    dup.dir = dir;
    dup.labels = bit(Label::kCaptureDuplicate);
    dup.rel_seq = t.seq() - S.base;
    dup.ack_flag = t.has(fl::kAck);
    dup.rel_ack = dup.ack_flag ? t.ack() - P.base : 0;
    dup.len = len;
    dup.window = t.has(fl::kSyn) ? t.window() : (uint32_t{t.window()} << S.shift);
    ++stats_.capture_duplicates;
    ++stats_.tcp;
    if (retain_) {
      packets_.push_back(dup);
    } else if (on_packet_) {
      if (impl_->held.empty()) {
        on_packet_(flow, dup);
      } else {
        impl_->held.push_back(Held{flow, dup});
      }
    }
    return;
  }
  S.recent[S.recent_next] = DirState::Recent{e.sig, time};
  S.recent_next = static_cast<uint8_t>((S.recent_next + 1) % S.recent.size());

  const uint32_t seq = t.seq(), ack = t.ack();
  // SEG.LEN (RFC 9293 §3.4): the payload plus one each for SYN and FIN.
  const uint32_t seglen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
  // RFC 7323 §2.2: the window in a SYN is never scaled.
  const uint32_t window = syn ? t.window() : (uint32_t{t.window()} << S.shift);

  PacketLabels pl;
  pl.frame = frame;
  pl.time = time;
  pl.flow = fi;
  pl.dir = dir;
  pl.len = len;
  pl.window = window;
  LabelSet L = 0;
  auto add_label = [&L](Label l) { L |= bit(l); };

  // Relative numbers: from the ISN; without a SYN, from the first seq seen
  // (and for the other direction from the first ACK that names its bytes).
  if (syn || !S.base_known) {
    S.base = seq;
    S.base_known = true;
  }
  if (ackf && !P.base_known) {
    P.base = ack;
    P.base_known = true;
  }
  pl.rel_seq = seq - S.base;
  pl.rel_ack = ackf ? ack - P.base : 0;
  pl.ack_flag = ackf;
  for (uint8_t i = 0; i < t.options().sack_count && i < 4; ++i) {
    pl.rel_sack[i][0] = t.options().sack[i].left - P.base;
    pl.rel_sack[i][1] = t.options().sack[i].right - P.base;
    pl.sack_count = static_cast<uint8_t>(i + 1);
  }

  if (syn) {
    add_label(ackf ? Label::kSynAck : Label::kSyn);
    if (reuse) add_label(Label::kPortReuse);  // tshark: "TCP Port numbers reused"
    // The same ISN again from the same side: the earlier SYN went unanswered
    // (RFC 9293 §3.8.1 retransmits it unchanged).
    if (S.syn_seen && S.syn_seq == seq) add_label(Label::kSynRetransmission);
    S.syn_seen = true;
    S.syn_seq = seq;
    S.syn_time = time;
    S.syn_has_ws = t.options().has_window_scale;
    S.syn_ws_unknown = e.cut.options && !S.syn_has_ws;
    S.ws = std::min<uint8_t>(t.options().window_scale, 14);  // RFC 7323 §2.3
    flow.saw_syn = true;
    if (ackf && P.syn_seen) {
      // RFC 7323 §1.3: scaling is on only when both SYNs carry the option.
      const bool both = S.syn_has_ws && P.syn_has_ws;
      S.shift = both ? S.ws : 0;
      P.shift = both ? P.ws : 0;
      // A SYN whose options the snaplen cut may have carried it unseen.
      flow.scale_known = !S.syn_ws_unknown && !P.syn_ws_unknown;
    }
  }
  if (fin) add_label(Label::kFin);
  if (len > 0) add_label(Label::kData);
  if (ackf && len == 0 && !syn && !fin && !rst) add_label(Label::kPureAck);
  if (t.window() == 0 && !rst) add_label(Label::kZeroWindow);

  if (rst) {
    add_label(Label::kRst);
    // Refused: an RST/ACK acknowledging exactly the peer's SYN from a side that
    // never sent a SYN-ACK, on a connection that never got established
    // (RFC 9293 §3.5.2 case 1: no such connection).
    if (ackf && P.syn_seen && !S.syn_seen && !fs.established && ack == P.syn_seq + 1)
      add_label(Label::kRstRefused);
    if (!fs.ended) {
      flow.end = FlowEnd{"rst", frame};
      fs.ended = true;
    }
  } else {
    // A reply to the peer's probe: the next segment from this side after it.
    if (P.probe == Probe::kKeepalive && ackf && ack == P.probe_seq + 1)
      add_label(Label::kKeepaliveAck);
    if (P.probe == Probe::kZeroWindow && ackf) add_label(Label::kZeroWindowProbeAck);
    P.probe = Probe::kNone;

    // Probes. Both a keepalive (RFC 1122 §4.2.3.6) and Linux's zero-window
    // probe (tcp_xmit_probe_skb) use SEG.SEQ = SND.UNA - 1 so that the
    // receiver must answer with an ACK; they differ in why they are sent:
    // the zero-window probe only while the peer's window is closed (with data
    // waiting), the keepalive only while the sender is idle.
    Probe probe = Probe::kNone;
    if (!syn && !fin && ackf && P.ack_valid) {
      const uint32_t una = P.last_ack;
      const bool peer_zero = P.win_valid && P.last_win == 0;
      const bool outstanding = S.end_valid && seq_gt(S.max_end, una);
      // Linux form: SND.UNA - 1 with nothing to elicit but the window; BSD /
      // RFC 9293 §3.8.6.1 form: 1 byte at SND.UNA.
      const bool linux_zwp = seq == una - 1 && len == 0 && peer_zero;
      const bool bsd_zwp = seq == una && len == 1 && peer_zero;
      if (linux_zwp || bsd_zwp) {
        probe = Probe::kZeroWindow;
      } else if (seq == una - 1 && len <= 1 && !outstanding) {
        probe = Probe::kKeepalive;  // idle sender, 0 or 1 garbage byte below SND.NXT
      }
    }
    if (probe == Probe::kKeepalive) add_label(Label::kKeepalive);
    if (probe == Probe::kZeroWindow) add_label(Label::kZeroWindowProbe);
    if (probe != Probe::kNone) {
      S.probe = probe;
      S.probe_seq = seq;
    }

    // Sequence analysis of data and FIN (SYNs are handled above).
    if (seglen > 0 && !syn && probe != Probe::kKeepalive) {
      const uint32_t end = seq + seglen;
      const bool advances = !S.end_valid || seq_gt(end, S.max_end);
      const bool was_valid = S.end_valid;
      if (!S.end_valid) {
        S.max_end = end;
        S.end_valid = true;
      } else if (seq_lt(seq, S.max_end)) {
        // Below the highest byte sent. If it lands in a hole the capture saw
        // skipped, it was never seen before: reordering when it comes within
        // one round trip of the gap (a retransmission needs at least a round
        // trip: the loss signal to the sender and the resend back), else a
        // retransmission of a segment lost before the capture point.
        auto h = std::find_if(S.holes.begin(), S.holes.end(), [&](const Hole& x) {
          return seq_ge(seq, x.lo) && seq_lt(seq, x.hi);
        });
        bool retrans = true;
        if (h != S.holes.end()) {
          retrans = fs.irtt_known && time - h->created >= fs.irtt;
          if (!retrans) add_label(Label::kOutOfOrder);
          // Shrink the hole by what this segment covers.
          const Hole old = *h;
          S.holes.erase(h);
          if (seq_gt(seq, old.lo)) S.holes.push_back(Hole{old.lo, seq, old.created});
          if (seq_lt(end, old.hi)) S.holes.push_back(Hole{end, old.hi, old.created});
        }
        if (retrans && probe != Probe::kZeroWindow) {
          add_label(Label::kRetransmission);
          // Spurious: every byte (and the FIN) was already acknowledged by an
          // ACK the capture saw, so the data had arrived.
          if (P.ack_valid && seq_le(end, P.last_ack)) add_label(Label::kSpuriousRetransmission);
          // Fast retransmission (RFC 5681 §3.2): the segment at the peer's
          // ACK point after >= 3 duplicate ACKs for it, the first time since
          // that ACK; or, in NewReno recovery (RFC 6582 §3.2 step 5), the
          // segment at a partial ACK right after it; or SACK-driven loss
          // detection (RFC 6675 §5, RFC 8985 §6): the peer's latest ACK
          // reports data above the ACK point and the resend follows it
          // within a round trip (a timeout resend follows a silent peer).
          // Not while resending after a timeout (go-back-N up to rto_recover).
          const Duration react =
              (fs.irtt_known ? fs.irtt + fs.irtt / 2 : Duration::zero()) + Duration::millis(5);
          if (S.rto_recovery && P.ack_valid && seq_ge(P.last_ack, S.rto_recover))
            S.rto_recovery = false;
          if (P.ack_valid && seq == P.last_ack) {
            const bool first = !(S.fast_done && S.fast_seq == seq);
            // The peer's latest segment came within a reaction time before
            // this resend (and, for a second resend of the same sequence
            // number, after the previous one): the resend answers it.
            const bool clocked =
                P.any_sent && time - P.last_time <= react && (first || P.last_time > S.fast_time);
            const bool by_dupacks = P.dup_count >= 3 && first;
            const bool by_partial = S.in_recovery && S.partial_ack;
            // SACK blocks above the ACK point after a resend of it mean
            // the resend was lost too (RFC 6675 §4 NextSeg rule 1, RFC 8985
            // §6.2: RACK marks a lost retransmission lost again): a second
            // fast retransmission of the same sequence number.
            const bool by_sack = P.sacking && clocked && !S.rto_recovery;
            if (by_dupacks || by_partial || by_sack) {
              add_label(Label::kFastRetransmission);
              S.fast_done = true;
              S.fast_seq = seq;
              S.fast_time = time;
              S.partial_ack = false;
              if (!S.in_recovery) {
                S.in_recovery = true;
                S.recover = S.max_end;
              }
            } else if (!(clocked && (P.sacking || P.dup_count > 0))) {
              // Nothing from the peer explains it: a timeout resend.
              S.in_recovery = false;  // recovery is over
              S.rto_recovery = true;  // each timeout moves the recovery point
              S.rto_recover = S.max_end;
            }
          }
          // Tail loss probe (RFC 8985 §7.3): the highest-sequenced segment
          // sent again as the sender's first move after sending new data,
          // with no sign of loss from the peer (no duplicate ACK, no SACK
          // block, no recovery), sooner than any RTO could fire (one round
          // trip plus kMinRto after the last transmission). A resend of the
          // only outstanding segment waits about as long as the RTO on
          // Linux (PTO adds the delayed-ACK allowance), so it counts as a
          // timeout retransmission.
          const Duration rto_floor = (fs.irtt_known ? fs.irtt : Duration::zero()) + kMinRto;
          if (!has(L, Label::kFastRetransmission) && S.end_valid && end == S.max_end &&
              S.tx_valid && S.last_tx_new && time - S.last_tx < rto_floor && P.ack_valid &&
              P.dup_count == 0 && !P.sacking && !S.in_recovery && !S.rto_recovery)
            add_label(Label::kTailLossProbe);
        }
      } else if (seq_gt(seq, S.max_end)) {
        // Data above the next expected byte: the bytes in between were not
        // captured (lost before the capture point, or dropped by it).
        add_label(Label::kLostSegment);
        if (S.holes.size() >= kMaxHoles) {
          S.holes.erase(S.holes.begin());
          ++stats_.holes_forgotten;
        }
        S.holes.push_back(Hole{S.max_end, seq, time});
      }
      // At or above max_end yet below P's ACK: the capture missed these
      // bytes, but P acknowledged them, so S had sent them before.
      if (was_valid && !seq_lt(seq, S.max_end) && P.ack_valid && seq_lt(seq, P.last_ack) &&
          probe != Probe::kZeroWindow) {
        add_label(Label::kRetransmission);
        if (seq_le(end, P.last_ack)) add_label(Label::kSpuriousRetransmission);
      }
      S.max_end = seq_max(S.max_end, end);
      S.tx_valid = true;
      S.last_tx = time;
      S.last_tx_new = advances && probe == Probe::kNone;
    } else if (syn) {
      S.max_end = S.end_valid ? seq_max(S.max_end, seq + seglen) : seq + seglen;
      S.end_valid = true;
    }

    // Window full: data reaching exactly the right edge of the peer's
    // advertised window (ack + window). Needs the scale: skipped without it.
    if (len > 0 && probe == Probe::kNone && P.ack_valid && P.win_valid && P.last_win > 0 &&
        flow.scale_known && seq + len == P.last_ack + P.last_win)
      add_label(Label::kWindowFull);

    // An ACK for bytes the capture never saw the peer send (tshark: "ACKed
    // segment that wasn't captured"): the capture missed them.
    if (ackf && !syn && P.end_valid && seq_gt(ack, P.max_end)) add_label(Label::kAckedUnseen);

    // ACK bookkeeping for this side as the acknowledger.
    if (ackf) {
      const bool pure = has(L, Label::kPureAck) && probe == Probe::kNone;
      const bool answer = has(L, Label::kKeepaliveAck) || has(L, Label::kZeroWindowProbeAck);
      bool stale = false;
      if (!S.ack_valid) {
        S.ack_valid = true;
        S.last_ack = ack;
        S.dup_count = 0;
      } else if (seq_gt(ack, S.last_ack)) {
        S.last_ack = ack;
        S.dup_count = 0;
        P.fast_done = false;
        if (P.in_recovery) {
          if (seq_ge(ack, P.recover)) {
            P.in_recovery = false;
          } else {
            P.partial_ack = true;  // RFC 6582: acknowledges some, not all, of the flight
          }
        }
        // An ACK above P's max_end acknowledges bytes the capture never saw
        // P send. max_end stays at what was seen: P's next segment above it
        // follows a gap in the capture (lost_segment), acknowledged or not.
      } else if (ack == S.last_ack) {
        // Duplicate ACK (RFC 5681 §2): no data, no SYN/FIN, same ACK, same
        // window, while the peer has data outstanding.
        if (pure && !answer && S.win_valid && window == S.last_win && P.end_valid &&
            seq_gt(P.max_end, ack)) {
          add_label(Label::kDupAck);
          ++S.dup_count;
        }
        // Window update: same ACK, the window opened further.
        if (pure && S.win_valid && window > S.last_win) add_label(Label::kWindowUpdate);
      } else {
        stale = true;  // an older ACK arriving late (reordered): changes nothing
      }
      if (!stale) {
        S.last_win = window;
        S.win_valid = true;
        // A SACK option the snaplen cut still says there were SACK blocks.
        S.sacking = t.options().sack_count > 0 ||
                    (e.cut.options && e.cut.option_kind == wire::tcp_option::kSack);
      }
    }

    // Established once the initiator acknowledges the SYN-ACK; the time
    // from the SYN gives one round trip.
    if (!fs.established && dir == 0 && ackf && !syn && P.syn_seen && ack == P.syn_seq + 1) {
      fs.established = true;
      if (S.syn_seen) {
        fs.irtt = time - S.syn_time;
        fs.irtt_known = true;
      }
    }
    if (!flow.saw_syn && len > 0) fs.established = true;  // mid-connection capture

    if (fin) {
      S.fin_seen = true;
      if (P.fin_seen && !fs.ended) {
        flow.end = FlowEnd{"fin", frame};
        fs.ended = true;
      }
    }
  }
  S.any_sent = true;
  S.last_time = time;

  pl.labels = L;
  ++stats_.tcp;

  // This segment's verdict on the open retransmissions of the other side
  // (it is their receiver's ACK).
  if (ackf && !rst && !impl_->open.empty()) {
    // RFC 2883 §4: the first SACK block reports a duplicate when it lies
    // below the cumulative ACK, or inside the second block.
    const auto& o = t.options();
    bool dsack = false;
    uint32_t dl = 0, dr = 0;
    if (o.sack_count > 0) {
      dl = o.sack[0].left;
      dr = o.sack[0].right;
      dsack = seq_le(dr, ack) ||
              (o.sack_count > 1 && seq_ge(dl, o.sack[1].left) && seq_le(dr, o.sack[1].right));
    }
    const Duration settle = fs.irtt_known ? fs.irtt : Duration::zero();
    for (auto op = impl_->open.begin(); op != impl_->open.end();) {
      if (op->flow != fi || op->dir != 1 - dir) {
        ++op;
        continue;
      }
      if (dsack && seq_ge(op->lo, dl) && seq_le(op->hi, dr)) {
        // Every byte of op reached the peer twice: spurious.
        if (retain_) {
          packets_[op->ref].labels |= bit(Label::kSpuriousRetransmission);
        } else {
          impl_->held[op->ref - impl_->held_base].pl.labels |= bit(Label::kSpuriousRetransmission);
        }
        ++stats_.dsack_spurious;
        op = impl_->open.erase(op);
      } else if (seq_ge(ack, op->hi) && time - op->time >= settle) {
        // Acknowledged, by an ACK sent after the retransmission could have
        // arrived (one round trip: an ACK already in flight when op was sent
        // may come first, its D-SACK behind op), without a D-SACK for op.
        op = impl_->open.erase(op);
      } else {
        ++op;
      }
    }
  }
  const bool open =
      has(L, Label::kRetransmission) && !has(L, Label::kSpuriousRetransmission) && len > 0;
  if (retain_) {
    packets_.push_back(pl);
    if (open) impl_->open.push_back(Pending{fi, dir, seq, seq + len, time, packets_.size() - 1});
  } else if (on_packet_) {
    if (open || !impl_->held.empty()) {
      impl_->held.push_back(Held{flow, pl});
      if (open) {
        impl_->open.push_back(
            Pending{fi, dir, seq, seq + len, time, impl_->held_base + impl_->held.size() - 1});
      }
      stats_.max_held = std::max<uint64_t>(stats_.max_held, impl_->held.size());
    } else {
      on_packet_(flow, pl);
    }
  }
  // The bounds: an entry open for longer than kMaxHold, or holding more than
  // kMaxHeld packets, is closed as it is.
  while (!impl_->open.empty() && (time - impl_->open.front().time > kMaxHold ||
                                  (retain_ ? impl_->open.size() : impl_->held.size()) > kMaxHeld)) {
    impl_->open.pop_front();
    ++stats_.holdback_expired;
  }
  release();
}

std::string Flow::endpoint(int side) const {
  if (ipv6) return "[" + addr6[side].to_string() + "]:" + std::to_string(port[side]);
  return addr[side].to_string() + ":" + std::to_string(port[side]);
}

void FlowAnalyzer::release() {
  auto& held = impl_->held;
  while (!held.empty() && (impl_->open.empty() || impl_->open.front().ref > impl_->held_base)) {
    on_packet_(held.front().flow, held.front().pl);
    held.pop_front();
    ++impl_->held_base;
  }
}

void FlowAnalyzer::finish() {
  impl_->open.clear();
  release();
  for (size_t i = 0; i < flows_.size(); ++i) {
    if (flows_[i].end.how.empty()) flows_[i].end = FlowEnd{"open", impl_->state[i].last_frame};
  }
}

}  // namespace vigil::analyze
