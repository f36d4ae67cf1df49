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
#include <utility>

#include "tcp/seq.hpp"
#include "wire/packet.hpp"

namespace vigil::analyze {

using tcp::seq_ge;
using tcp::seq_gt;
using tcp::seq_le;
using tcp::seq_lt;
using tcp::seq_max;
namespace fl = wire::tcp_flags;

namespace {

enum class Probe : uint8_t { kNone, kKeepalive, kZeroWindow };

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
};

struct FlowState {
  DirState d[2];
  bool established = false;
  bool ended = false;
  bool irtt_known = false;
  Duration irtt;  // SYN to the ACK of the SYN-ACK: one round trip wherever the capture is
  uint64_t last_frame = 0;
};

uint64_t endpoint_key(wire::Ipv4Addr a, uint16_t p) { return (uint64_t{a.value} << 16) | p; }

}  // namespace

struct FlowAnalyzer::Impl {
  std::map<std::pair<uint64_t, uint64_t>, size_t> by_tuple;  // current flow per 4-tuple
  std::vector<FlowState> state;                              // parallel to flows_
};

FlowAnalyzer::FlowAnalyzer(std::function<void(const PacketLabels&)> on_packet)
    : on_packet_(std::move(on_packet)), impl_(std::make_shared<Impl>()) {}

void FlowAnalyzer::add(uint64_t frame, Instant time, std::span<const uint8_t> ipv4) {
  wire::PacketView view;
  if (wire::parse_packet(ipv4, &view, /*verify_checksums=*/false) != wire::Drop::kNone) {
    ++malformed_;
    return;
  }
  if (view.kind != wire::PacketView::Kind::kTcp) return;  // ICMP: not a segment
  const wire::TcpView& t = view.tcp;
  const wire::Ipv4Addr src = view.ip.src(), dst = view.ip.dst();
  const uint64_t ks = endpoint_key(src, t.src_port()), kd = endpoint_key(dst, t.dst_port());
  const auto key = ks < kd ? std::make_pair(ks, kd) : std::make_pair(kd, ks);
  const bool syn = t.has(fl::kSyn), ackf = t.has(fl::kAck), rst = t.has(fl::kRst),
             fin = t.has(fl::kFin);

  // Find the flow; a fresh SYN on a tuple whose connection ended (or a SYN
  // with another ISN) starts a new one (port reuse).
  size_t fi = 0;
  auto it = impl_->by_tuple.find(key);
  bool fresh = it == impl_->by_tuple.end();
  if (!fresh && syn && !ackf) {
    const Flow& f = flows_[it->second];
    const int d = (f.addr[0] == src && f.port[0] == t.src_port()) ? 0 : 1;
    const DirState& s = impl_->state[it->second].d[d];
    if (impl_->state[it->second].ended || (s.syn_seen && s.syn_seq != t.seq())) fresh = true;
  }
  if (fresh) {
    Flow f;
    // dir 0 is the SYN sender: the source of a SYN, the destination of a
    // SYN-ACK, else whoever was seen first.
    const bool reversed = syn && ackf;
    f.addr[0] = reversed ? dst : src;
    f.port[0] = reversed ? t.dst_port() : t.src_port();
    f.addr[1] = reversed ? src : dst;
    f.port[1] = reversed ? t.src_port() : t.dst_port();
    f.first = time;
    flows_.push_back(f);
    impl_->state.emplace_back();
    fi = flows_.size() - 1;
    impl_->by_tuple[key] = fi;
  } else {
    fi = it->second;
  }
  Flow& flow = flows_[fi];
  FlowState& fs = impl_->state[fi];
  const int dir = (flow.addr[0] == src && flow.port[0] == t.src_port()) ? 0 : 1;
  DirState& S = fs.d[dir];
  DirState& P = fs.d[1 - dir];

  flow.last = time;
  ++flow.packets;
  fs.last_frame = frame;

  const uint32_t seq = t.seq(), ack = t.ack();
  const uint32_t len = static_cast<uint32_t>(t.payload().size());
  const uint32_t seglen = t.seg_len();
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
  if (syn) {
    S.base = seq;
    S.base_known = true;
  } else if (!S.base_known) {
    S.base = seq;
    S.base_known = true;
  }
  if (ackf && !P.base_known) {
    P.base = ack;
    P.base_known = true;
  }
  pl.rel_seq = seq - S.base;
  pl.rel_ack = ackf ? ack - P.base : 0;
  for (uint8_t i = 0; i < t.options().sack_count && i < 4; ++i) {
    pl.rel_sack[i][0] = t.options().sack[i].left - P.base;
    pl.rel_sack[i][1] = t.options().sack[i].right - P.base;
    pl.sack_count = static_cast<uint8_t>(i + 1);
  }

  if (syn) {
    add_label(ackf ? Label::kSynAck : Label::kSyn);
    // The same ISN again from the same side: the earlier SYN went unanswered
    // (RFC 9293 §3.8.1 retransmits it unchanged).
    if (S.syn_seen && S.syn_seq == seq) add_label(Label::kSynRetransmission);
    S.syn_seen = true;
    S.syn_seq = seq;
    S.syn_time = time;
    S.syn_has_ws = t.options().has_window_scale;
    S.ws = std::min<uint8_t>(t.options().window_scale, 14);  // RFC 7323 §2.3
    flow.saw_syn = true;
    if (ackf && P.syn_seen) {
      // RFC 7323 §1.3: scaling is on only when both SYNs carry the option.
      const bool both = S.syn_has_ws && P.syn_has_ws;
      S.shift = both ? S.ws : 0;
      P.shift = both ? P.ws : 0;
      flow.scale_known = true;
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
      if (seq == una - 1 && len == 0 && peer_zero) {
        probe = Probe::kZeroWindow;  // Linux form: nothing to elicit but the window
      } else if (seq == una - 1 && len <= 1 && !outstanding) {
        probe = Probe::kKeepalive;  // idle sender, 0 or 1 garbage byte below SND.NXT
      } else if (seq == una && len == 1 && peer_zero) {
        probe = Probe::kZeroWindow;  // BSD / RFC 9293 §3.8.6.1 form: 1 byte at SND.UNA
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
          // Fast retransmission (RFC 5681 §3.2): the segment at the peer's
          // ACK point after >= 3 duplicate ACKs for it, the first time since
          // that ACK; or, in NewReno recovery (RFC 6582 §3.2 step 5), the
          // segment at a partial ACK right after it.
          if (P.ack_valid && seq == P.last_ack) {
            const bool by_dupacks = P.dup_count >= 3 && !(S.fast_done && S.fast_seq == seq);
            const bool by_partial = S.in_recovery && S.partial_ack;
            if (by_dupacks || by_partial) {
              add_label(Label::kFastRetransmission);
              S.fast_done = true;
              S.fast_seq = seq;
              S.partial_ack = false;
              if (!S.in_recovery) {
                S.in_recovery = true;
                S.recover = S.max_end;
              }
            } else {
              S.in_recovery = false;  // a timeout resend: recovery is over
            }
          }
        }
      } else if (seq_gt(seq, S.max_end)) {
        // Data above the next expected byte: the bytes in between were not
        // captured (lost before the capture point, or dropped by it).
        add_label(Label::kLostSegment);
        if (S.holes.size() >= kMaxHoles) S.holes.erase(S.holes.begin());
        S.holes.push_back(Hole{S.max_end, seq, time});
      }
      S.max_end = seq_max(S.max_end, end);
    } else if (syn) {
      S.max_end = S.end_valid ? seq_max(S.max_end, seq + seglen) : seq + seglen;
      S.end_valid = true;
    }

    // Window full: data reaching exactly the right edge of the peer's
    // advertised window (ack + window). Needs the scale: skipped without it.
    if (len > 0 && probe == Probe::kNone && P.ack_valid && P.win_valid && P.last_win > 0 &&
        flow.scale_known && seq + len == P.last_ack + P.last_win)
      add_label(Label::kWindowFull);

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
        // Acknowledging bytes the capture never saw the peer send.
        if (P.end_valid && seq_gt(ack, P.max_end)) P.max_end = ack;
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

  pl.labels = L;
  packets_.push_back(pl);
  if (on_packet_) on_packet_(packets_.back());
}

void FlowAnalyzer::finish() {
  for (size_t i = 0; i < flows_.size(); ++i) {
    if (flows_[i].end.how.empty()) flows_[i].end = FlowEnd{"open", impl_->state[i].last_frame};
  }
}

}  // namespace vigil::analyze
