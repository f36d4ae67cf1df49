// RFC 2525 §2.6, §2.8 and §2.12 detectors (see congestion_detectors.hpp and
// docs/detectors.md). Each works from what a capture point sees, per
// direction of a flow: the sender's flight (the highest byte it sent minus
// the highest ACK its peer sent) stands in for its congestion window. That
// is only true near the sender and while it is neither application- nor
// receiver-window-limited, so every heuristic below says how it guards
// against those cases. All state is a fixed size per flow.
#include "analyze/congestion_detectors.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

#include "wire/seq.hpp"

namespace vigil::analyze {

using wire::seq_diff;
using wire::seq_ge;
using wire::seq_gt;
using wire::seq_le;

namespace {

// §2.6: rounds in a row whose growth must look super-linear.
constexpr int kCaMinRounds = 5;
// §2.8: flights below this many segments before the loss are not judged
// (with fewer dup ACKs, inflation and deflation differ by too little).
constexpr uint32_t kRecoveryMinSegments = 6;
// §2.8: unreduced recoveries needed before the detector fires, and the
// share of judged recoveries they must be (see finish()).
constexpr int kRecoveryMinUnreduced = 4;
// §2.12: retransmissions of acknowledged data needed.
constexpr int kStaleMin = 3;
constexpr size_t kMaxFrames = 12;  // evidence frames kept per finding

const char* side(int dir) { return dir == 0 ? "client" : "server"; }

std::string segs(uint32_t bytes, uint32_t mss) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", mss ? double(bytes) / mss : 0.0);
  return buf;
}

void push_frame(std::vector<uint64_t>* v, uint64_t f) {
  if (v->size() < kMaxFrames && (v->empty() || v->back() != f)) v->push_back(f);
}

// One direction's sending as seen by the capture, and the three detectors'
// state for it. Relative sequence numbers (PacketLabels) compare modulo 2^32.
struct Dir {
  uint32_t mss = 0;  // largest payload seen: the sender's MSS as far as we know
  bool end_valid = false;
  uint32_t max_end = 0;  // SND.MAX as seen
  bool una_valid = false;
  uint32_t una = 0;  // the peer's highest ACK: SND.UNA as seen
  uint64_t una_frame = 0;
  bool wnd_valid = false;
  uint32_t peer_wnd = 0;  // the window the peer last advertised

  uint32_t flight() const {
    if (!end_valid || !una_valid || !seq_gt(max_end, una)) return 0;
    return static_cast<uint32_t>(seq_diff(max_end, una));
  }

  // --- §2.6: per-round flight in congestion avoidance ---
  bool loss_seen = false;   // a retransmission happened: ssthresh is set
  bool recovering = false;  // inside a loss episode (until `recover` is acknowledged)
  uint32_t recover = 0;
  uint32_t ssthresh_est = 0;  // half the flight at the loss (RFC 5681 eq. 4)
  bool round_active = false;
  uint32_t round_marker = 0;  // the round ends when this is acknowledged
  uint32_t round_max = 0;     // largest flight in the round
  uint64_t round_max_frame = 0;
  bool round_clean = true;     // no retransmission in the round
  bool round_limited = false;  // the flight touched the peer's window (since the last round)
  bool prev_valid = false;
  uint32_t prev_max = 0;  // the previous round's largest flight
  // The current streak of super-linear rounds.
  int streak = 0;
  uint32_t streak_start_flight = 0;
  uint32_t streak_min_growth = 0, streak_max_growth = 0;
  uint64_t streak_loss_frame = 0;
  std::vector<uint64_t> streak_frames;
  uint64_t last_loss_frame = 0;
  // The best streak reported (the first to reach kCaMinRounds, extended).
  bool ca_found = false;
  int ca_rounds = 0;
  int ca_epochs = 0;  // separate congestion-avoidance periods that showed it
  uint32_t ca_from = 0, ca_to = 0, ca_min_growth = 0, ca_max_growth = 0;
  uint64_t ca_loss_frame = 0;
  std::vector<uint64_t> ca_frames;

  // --- §2.8: the flight right after fast recovery ---
  bool rec_active = false;
  uint32_t rec_recover = 0;
  uint32_t rec_before = 0;  // reference flight before the loss (see on_sender)
  uint32_t epoch_max = 0;   // largest flight since the last recovery was judged
  uint64_t rec_fr_frame = 0;
  bool rec_measuring = false;
  uint32_t rec_marker = 0;  // highest byte sent when the full ACK arrived
  uint32_t rec_after = 0;   // largest flight since the full ACK
  uint32_t rec_wnd = 0;     // largest window the peer advertised meanwhile
  uint64_t rec_full_ack_frame = 0, rec_burst_first = 0, rec_burst_max_frame = 0;
  int rec_judged = 0, rec_bursts = 0, rec_unreduced = 0;
  bool rec_found = false;
  uint32_t found_before = 0, found_after = 0;
  std::vector<uint64_t> rec_frames;

  // --- §2.12: this side as the receiver that took a probe byte ---
  bool probe_pending = false;  // the peer's last segment was a 1-byte zero-window probe
  uint32_t probe_end = 0;
  uint64_t probe_frame = 0;
  bool probe_taken = false;  // this side acknowledged the probe byte with window 0
  uint64_t probe_taken_frame = 0, probe_ack_frame = 0;
  int stale = 0;  // data retransmitted though the peer had acknowledged it
  uint64_t stale_ack_frame = 0;
  uint32_t stale_ack = 0;
  std::vector<uint64_t> stale_frames;
};

struct FlowDet {
  Dir d[2];
};

}  // namespace

struct CongestionDetectors::Impl {
  std::deque<FlowDet> flows;  // a deque: growing never copies or doubles (200,000 flows)

  void on_sender(Dir& s, const PacketLabels& p);
  void on_ack(Dir& s, const PacketLabels& p);
  void end_round(Dir& s);
  void end_recovery_measure(Dir& s);
};

CongestionDetectors::CongestionDetectors() : impl_(std::make_unique<Impl>()) {}
CongestionDetectors::~CongestionDetectors() = default;

void CongestionDetectors::add(const Flow& /*flow*/, const PacketLabels& p) {
  // The same datagram captured twice: no endpoint sent it again.
  if (has(p.labels, Label::kCaptureDuplicate)) return;
  if (p.flow >= impl_->flows.size()) impl_->flows.resize(p.flow + 1);
  FlowDet& f = impl_->flows[p.flow];
  Dir& self = f.d[p.dir & 1];  // this segment's sender
  Dir& other = f.d[1 - (p.dir & 1)];
  const bool syn = has(p.labels, Label::kSyn) || has(p.labels, Label::kSynAck);
  if (has(p.labels, Label::kRst)) return;
  if (syn) {
    self.max_end = p.rel_seq + 1;
    self.end_valid = true;
  }

  // §2.12 (RFC 2525): a 1-byte zero-window probe towards `other`, and
  // whether `other` took the byte: its ACK moves exactly past the probe
  // while it still advertises a zero window.
  if (p.len == 1 && has(p.labels, Label::kZeroWindowProbe)) {
    other.probe_pending = true;
    other.probe_end = p.rel_seq + 1;
    other.probe_frame = p.frame;
  } else if (self.probe_pending && !syn) {
    if (p.rel_ack == self.probe_end && p.window == 0) {
      self.probe_taken = true;
      self.probe_pending = false;
      self.probe_taken_frame = self.probe_frame;
      self.probe_ack_frame = p.frame;
    } else if (seq_gt(p.rel_ack, self.probe_end)) {
      self.probe_pending = false;
    }
  }
  // A window update from `self` ends the §2.12 state (RFC 2525: "the
  // situation will be rectified").
  if (self.probe_taken && p.window > 0 && !syn) self.probe_taken = false;

  // This segment acknowledges the other direction's data (a SYN without
  // ACK acknowledges nothing)...
  if (!has(p.labels, Label::kSyn)) impl_->on_ack(other, p);
  // ...and may carry this direction's.
  impl_->on_sender(self, p);
}

// A segment from the direction `s` describes (data, FIN, probes).
void CongestionDetectors::Impl::on_sender(Dir& s, const PacketLabels& p) {
  const bool fin = has(p.labels, Label::kFin);
  if (has(p.labels, Label::kKeepalive) || has(p.labels, Label::kSyn) ||
      has(p.labels, Label::kSynAck))
    return;
  if (p.len == 0 && !fin) return;
  const bool probe = has(p.labels, Label::kZeroWindowProbe);
  const bool retrans =
      has(p.labels, Label::kRetransmission) || has(p.labels, Label::kFastRetransmission);
  const bool fast = has(p.labels, Label::kFastRetransmission);
  if (p.len > s.mss && !probe) s.mss = p.len;
  const uint32_t end = p.rel_seq + p.len + (fin ? 1 : 0);
  const uint32_t flight_before = s.flight();

  // §2.12: data the peer has already acknowledged, sent again while this
  // side advertises a zero window after taking a probe byte. A sender that
  // processes ACKs never does that more than once per ACK in flight; the
  // §2.12 receiver does it on every timeout because it discards the ACKs.
  if (s.probe_taken && p.len > 0 && s.una_valid && seq_le(end, s.una) && p.window == 0) {
    ++s.stale;
    s.stale_ack = s.una;
    s.stale_ack_frame = s.una_frame;
    push_frame(&s.stale_frames, p.frame);
  }

  if (retrans && !probe) {
    // A loss episode (RFC 5681 §3.1 sets ssthresh): congestion avoidance
    // is judged only after it ends; the series of rounds starts over.
    if (!s.recovering) {
      s.ssthresh_est = std::max(flight_before / 2, 2 * s.mss);
      s.recovering = true;
      s.last_loss_frame = p.frame;
    }
    s.recover = s.end_valid ? s.max_end : end;
    s.loss_seen = true;
    s.round_clean = false;
    s.prev_valid = false;
    if (s.streak >= kCaMinRounds) ++s.ca_epochs;
    s.streak = 0;
    // §2.8: a fast retransmission opens fast recovery (RFC 5681 §3.2).
    // Any other retransmission (a timeout, which collapses cwnd, or a SACK
    // resend away from the ACK point) leaves nothing we can judge.
    if (fast && !s.rec_active && !s.rec_measuring) {
      // The reference is the largest flight since the previous recovery,
      // not only the flight at this loss: a sender that was not
      // cwnd-limited just before the loss (a Linux sender on a fast path,
      // paced by scheduling rather than ACKs) has shown what its window
      // allows earlier in the epoch.
      s.rec_active = true;
      s.rec_recover = s.end_valid ? s.max_end : end;
      s.rec_before = std::max(flight_before, s.epoch_max);
      s.rec_fr_frame = p.frame;
    } else if (!fast) {
      s.rec_active = false;
      s.rec_measuring = false;
      s.epoch_max = 0;  // a timeout: cwnd starts over
    } else if (s.rec_measuring) {
      s.rec_measuring = false;  // a new loss right away: not judged
    }
  }

  if (!s.end_valid || seq_gt(end, s.max_end)) {
    s.max_end = end;
    s.end_valid = true;
  }
  const uint32_t flight = s.flight();
  if (!s.rec_active && !s.rec_measuring) s.epoch_max = std::max(s.epoch_max, flight);
  if (s.round_active && flight > s.round_max) {
    s.round_max = flight;
    s.round_max_frame = p.frame;
  }
  if (s.wnd_valid && flight + s.mss > s.peer_wnd) s.round_limited = true;
  if (s.rec_measuring && p.len > 0 && !retrans) {
    if (s.rec_burst_first == 0) s.rec_burst_first = p.frame;
    if (flight > s.rec_after) {
      s.rec_after = flight;
      s.rec_burst_max_frame = p.frame;
    }
  }
}

// A segment from the peer of direction `s`: its ACK and window.
void CongestionDetectors::Impl::on_ack(Dir& s, const PacketLabels& p) {
  const bool new_ack = !s.una_valid || seq_gt(p.rel_ack, s.una);
  if (new_ack) {
    s.una = p.rel_ack;
    s.una_valid = true;
    s.una_frame = p.frame;
  }
  s.peer_wnd = p.window;
  s.wnd_valid = true;
  if (s.rec_measuring) s.rec_wnd = std::max(s.rec_wnd, p.window);
  if (!new_ack) return;

  if (s.recovering && seq_ge(s.una, s.recover)) s.recovering = false;
  // §2.6 rounds: one round trip ends when the data outstanding at its
  // start is acknowledged.
  if (s.round_active && seq_ge(s.una, s.round_marker)) end_round(s);
  if (!s.round_active && s.end_valid && seq_gt(s.max_end, s.una)) {
    s.round_active = true;
    s.round_marker = s.max_end;
    s.round_max = s.flight();
    s.round_max_frame = p.frame;
    s.round_clean = !s.recovering;
  }
  // Receiver-window limited: the flight within one segment of the window.
  if (s.flight() + s.mss > s.peer_wnd) s.round_limited = true;

  // §2.8: the ACK that covers the recovery point ends fast recovery
  // (RFC 6582 §3.2 step 3); the sender's flight is watched from here until
  // data sent after this ACK is acknowledged (about one round trip).
  if (s.rec_measuring && s.end_valid && seq_gt(s.una, s.rec_marker)) end_recovery_measure(s);
  if (s.rec_active && seq_ge(s.una, s.rec_recover)) {
    s.rec_active = false;
    s.rec_measuring = true;
    s.rec_marker = s.max_end;
    s.rec_after = s.flight();
    s.rec_wnd = s.peer_wnd;
    s.rec_full_ack_frame = p.frame;
    s.rec_burst_first = 0;
    s.rec_burst_max_frame = p.frame;
  }
}

void CongestionDetectors::Impl::end_round(Dir& s) {
  s.round_active = false;
  const uint32_t cur = s.round_max;
  const bool judged = s.loss_seen && s.round_clean && !s.recovering && s.mss > 0;
  if (judged && s.prev_valid && cur > s.prev_max && !s.round_limited) {
    // RFC 5681 §3.1: congestion avoidance adds about one SMSS per round
    // trip (half that with delayed ACKs and per-ACK counting). RFC 2525
    // §2.6's extra MSS/8 per ACK adds about cwnd/16 more per round trip
    // (cwnd/8 without delayed ACKs), growing with the window. A round is
    // super-linear when the flight grew by at least 1.5 SMSS and at least
    // 1/24 of the previous flight, above the slow-start threshold estimate,
    // and by less than a quarter of it (slow start after a timeout doubles).
    const uint32_t g = cur - s.prev_max;
    const bool super = 2 * g >= 3 * s.mss && 24ull * g >= s.prev_max && 4ull * g <= s.prev_max &&
                       s.prev_max >= s.ssthresh_est;
    if (super) {
      if (s.streak == 0) {
        s.streak_start_flight = s.prev_max;
        s.streak_min_growth = g;
        s.streak_max_growth = g;
        s.streak_loss_frame = s.last_loss_frame;
        s.streak_frames.clear();
      }
      ++s.streak;
      s.streak_min_growth = std::min(s.streak_min_growth, g);
      s.streak_max_growth = std::max(s.streak_max_growth, g);
      push_frame(&s.streak_frames, s.round_max_frame);
      if (s.streak >= kCaMinRounds && s.streak > s.ca_rounds) {
        // Keep the longest streak as the evidence.
        s.ca_found = true;
        s.ca_rounds = s.streak;
        s.ca_from = s.streak_start_flight;
        s.ca_to = cur;
        s.ca_min_growth = s.streak_min_growth;
        s.ca_max_growth = s.streak_max_growth;
        s.ca_loss_frame = s.streak_loss_frame;
        s.ca_frames = s.streak_frames;
      }
    } else {
      if (s.streak >= kCaMinRounds) ++s.ca_epochs;
      s.streak = 0;
    }
  } else if (s.round_limited || !judged) {
    if (s.streak >= kCaMinRounds) ++s.ca_epochs;
    s.streak = 0;
  }
  s.prev_valid = judged && !s.round_limited;
  s.prev_max = cur;
  s.round_limited = false;
}

void CongestionDetectors::Impl::end_recovery_measure(Dir& s) {
  s.rec_measuring = false;
  s.epoch_max = 0;
  if (s.mss == 0 || s.rec_before < kRecoveryMinSegments * s.mss) return;
  // RFC 6582 §3.2 step 3 (and RFC 5681 §3.2 step 6): after recovery cwnd is
  // about ssthresh = flight/2; Linux's PRR and CUBIC leave 0.7 x cwnd. The
  // flight in the round trip after recovery therefore stays below the
  // flight before the loss. RFC 2525 §2.8's sender keeps the inflated
  // window (ssthresh + 3 + one per further duplicate ACK, about 1.5 x the
  // flight) and bursts past it. Flag at least the pre-loss flight plus
  // max(2 SMSS, 1/8 of it).
  // A recovery whose flight already filled the peer's window cannot show a
  // burst beyond it: not judged.
  const uint32_t margin = std::max(2 * s.mss, s.rec_before / 8);
  if (s.rec_before + margin > s.rec_wnd) return;
  ++s.rec_judged;
  // Not reduced at all (the RFC's "if at all"): supporting evidence only.
  if (s.rec_after + s.mss >= s.rec_before) ++s.rec_unreduced;
  if (s.rec_after < s.rec_before + margin) return;
  ++s.rec_bursts;
  if (!s.rec_found) {
    s.rec_found = true;
    s.found_before = s.rec_before;
    s.found_after = s.rec_after;
    s.rec_frames.clear();
    push_frame(&s.rec_frames, s.rec_fr_frame);
    push_frame(&s.rec_frames, s.rec_full_ack_frame);
    if (s.rec_burst_first) push_frame(&s.rec_frames, s.rec_burst_first);
    push_frame(&s.rec_frames, s.rec_burst_max_frame);
  }
}

std::vector<Finding> CongestionDetectors::finish(size_t index, const Flow& /*flow*/) {
  std::vector<Finding> out;
  if (index >= impl_->flows.size()) return out;
  FlowDet& f = impl_->flows[index];
  for (int dir = 0; dir < 2; ++dir) {
    Dir& s = f.d[dir];
    if (s.rec_measuring) impl_->end_recovery_measure(s);
    if (s.streak >= kCaMinRounds) ++s.ca_epochs;
    s.streak = 0;

    if (s.ca_found) {
      Finding x;
      x.problem = "extra additive constant in congestion avoidance";
      x.rfc_section = "RFC 2525 §2.6";
      if (s.ca_loss_frame) x.frames.push_back(s.ca_loss_frame);
      for (uint64_t fr : s.ca_frames) push_frame(&x.frames, fr);
      // More rounds and more separate periods make chance less likely.
      x.confidence = std::min(0.95, 0.5 + 0.05 * s.ca_rounds + (s.ca_epochs > 1 ? 0.15 : 0.0));
      x.detail = std::string("in congestion avoidance after the loss at frame ") +
                 std::to_string(s.ca_loss_frame) + ", the " + side(dir) + "'s flight grew from " +
                 segs(s.ca_from, s.mss) + " to " + segs(s.ca_to, s.mss) + " segments over " +
                 std::to_string(s.ca_rounds) + " round trips, " + segs(s.ca_min_growth, s.mss) +
                 " to " + segs(s.ca_max_growth, s.mss) + " segments per round trip (" +
                 std::to_string(s.ca_epochs) +
                 " such period(s)); linear increase is at most 1 (RFC 5681 §3.1)";
      out.push_back(std::move(x));
    }
    // A burst is the evidence, but one burst is not enough on its own: a
    // sender that is not cwnd-limited (a Linux sender on a sub-millisecond
    // path, paced by scheduling and stretch ACKs) bursts now and then too.
    // RFC 2525 §2.8's sender does not reduce the window "if at all", after
    // every recovery, so at least four judged recoveries and three quarters
    // of them must leave the flight unreduced (within one segment of the
    // reference; bursts included). Correct senders leave about 1/2 (Reno)
    // or 0.7 (CUBIC) of it; Linux on veth left 0 to 1/3 of them unreduced
    // in 2 MB runs, the faulty sender 93 of 99 (docs/detectors.md).
    const bool rec_fires = s.rec_found && s.rec_unreduced >= kRecoveryMinUnreduced &&
                           4 * s.rec_unreduced >= 3 * s.rec_judged;
    if (rec_fires) {
      Finding x;
      x.problem = "failure of window deflation after loss recovery";
      x.rfc_section = "RFC 2525 §2.8";
      x.frames = s.rec_frames;
      x.confidence = 0.6 + 0.3 * double(std::min(s.rec_unreduced, s.rec_judged)) /
                               double(std::max(s.rec_judged, 1));
      x.detail = std::string("after the fast retransmission at frame ") +
                 std::to_string(s.rec_frames.front()) + " with " + segs(s.found_before, s.mss) +
                 " segments in flight, recovery ended at frame " +
                 std::to_string(s.rec_frames.size() > 1 ? s.rec_frames[1] : 0) + " and the " +
                 side(dir) + " burst to " + segs(s.found_after, s.mss) +
                 " segments in flight; a deflated window allows about " +
                 segs(s.found_before / 2, s.mss) + " (RFC 6582 §3.2); " +
                 std::to_string(s.rec_bursts) + " of " + std::to_string(s.rec_judged) +
                 " recoveries burst, " + std::to_string(s.rec_unreduced) +
                 " did not reduce the flight";
      out.push_back(std::move(x));
    }
    if (s.stale >= kStaleMin) {
      Finding x;
      x.problem = "window probe deadlock";
      x.rfc_section = "RFC 2525 §2.12";
      push_frame(&x.frames, s.probe_taken_frame);
      push_frame(&x.frames, s.probe_ack_frame);
      push_frame(&x.frames, s.stale_ack_frame);
      for (uint64_t fr : s.stale_frames) push_frame(&x.frames, fr);
      x.confidence = s.stale >= 2 * kStaleMin ? 0.9 : 0.75;
      x.detail = std::string("the ") + side(dir) + " took a 1-byte zero-window probe (frame " +
                 std::to_string(s.probe_taken_frame) + ", acknowledged with window 0 at frame " +
                 std::to_string(s.probe_ack_frame) + "), then retransmitted data the " +
                 side(1 - dir) + " had already acknowledged (ack " + std::to_string(s.stale_ack) +
                 " at frame " + std::to_string(s.stale_ack_frame) + ") " + std::to_string(s.stale) +
                 " times while advertising a zero window: it discards the " + side(1 - dir) +
                 "'s ACKs";
      out.push_back(std::move(x));
    }
  }
  return out;
}

}  // namespace vigil::analyze
