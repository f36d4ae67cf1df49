// Per-connection stories and RFC 2525 detectors (see story.hpp), built one
// packet at a time from per-flow state.
#include "analyze/story.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>

namespace vigil::analyze {

namespace {

constexpr Duration kIdleGap = Duration::seconds(1);
// RFC 6298 §2.1: initial RTO 1 s; Linux's 1 s SYN timer must not count.
constexpr Duration kLowInitialRto = Duration::millis(900);
// RFC 6298 §2.5: a maximum RTO of at least 60 s; back-off is judged below it.
constexpr Duration kRtoCap = Duration::seconds(60);
// RFC 1122 §4.2.3.6: keepalive interval default no less than two hours
// (10 s of slack for the timer granularity of the sender).
constexpr Duration kKeepaliveDefault = Duration::seconds(7200 - 10);
// RFC 2525 §2.9: probing a silent peer for less than a minute before the
// reset is "excessively short" (BSD and Linux defaults probe for 10 minutes).
constexpr Duration kShortKeepaliveTimeout = Duration::seconds(60);
// A RST "on a probe expiry" lands within this share of the expected gap of
// the prober's next zero-window probe (at least kExpirySlackMin): timer
// granularity (Linux jiffies) and the capture's own jitter.
constexpr int kExpirySlackPercent = 10;
constexpr Duration kExpirySlackMin = Duration::millis(10);
// A timeout retransmission waits at least the RTO, and RTO >= SRTT + the
// stack's minimum (RFC 6298 §2.4 asks for 1 s; Linux's TCP_RTO_MIN is
// 200 ms, the lowest default of common stacks: Windows 300 ms, FreeBSD
// 30 ms plus a 200 ms slop). A resend sooner than one round trip plus this
// after its timer started is something else (ACK-clocked recovery, a tail
// loss probe, RACK's reordering timer), never an RTO. 1 ms of slack for the
// capture's own timestamps.
constexpr Duration kRtoMin = Duration::millis(200);
constexpr Duration kCaptureJitter = Duration::millis(1);
// Gaps beyond a day are not judged (the timing is "unknown").
constexpr Duration kTimingMax = Duration::seconds(86400);
// RFC 6298 §2.5's 60 s: above it a persist interval may already be capped.
constexpr Duration kPersistCapMin = Duration::seconds(60);

std::string secs1(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", d.secs());
  return buf;
}

Duration median(std::vector<Duration> v) {
  if (v.empty()) return Duration::zero();
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

const char* side(int dir) { return dir == 0 ? "client" : "server"; }

template <typename T>
void push_capped(std::vector<T>* v, const T& x, size_t cap) {
  if (v->size() < cap) v->push_back(x);
}

// First transmissions of one side's data not yet acknowledged, by relative
// sequence number: where a retransmission timer started (RFC 6298 §5.3).
// A sorted vector with a moving head (ACKs remove from the front); capped,
// the lowest forgotten first.
class SendLog {
 public:
  struct Entry {
    uint32_t seq;
    Instant time;
    uint64_t frame;
  };
  void add(uint32_t seq, Instant time, uint64_t frame) {
    if (live() == 0 || seq > buf_.back().seq) {
      buf_.push_back({seq, time, frame});
    } else {
      auto it = lower(seq);
      if (it != buf_.end() && it->seq == seq) return;  // the first send is what counts
      buf_.insert(it, {seq, time, frame});
    }
    if (live() > kStoryMaxSendLog) pop();
  }
  // Forgets everything below `seq`.
  void ack(uint32_t seq) {
    while (live() > 0 && buf_[head_].seq < seq) pop();
  }
  const Entry* find(uint32_t seq) const {
    auto it = std::lower_bound(buf_.begin() + static_cast<std::ptrdiff_t>(head_), buf_.end(), seq,
                               [](const Entry& e, uint32_t s) { return e.seq < s; });
    return it != buf_.end() && it->seq == seq ? &*it : nullptr;
  }
  size_t live() const { return buf_.size() - head_; }
  // The lowest unacknowledged first send (live() > 0).
  const Entry& front() const { return buf_[head_]; }

 private:
  std::vector<Entry>::iterator lower(uint32_t seq) {
    return std::lower_bound(buf_.begin() + static_cast<std::ptrdiff_t>(head_), buf_.end(), seq,
                            [](const Entry& e, uint32_t s) { return e.seq < s; });
  }
  void pop() {
    ++head_;
    // Compact once the dead prefix outweighs the live part: amortised O(1).
    if (head_ * 2 >= buf_.size()) {
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  std::vector<Entry> buf_;
  size_t head_ = 0;
};

// One side's keepalive probing between two other packets. RFC 1122
// §4.2.3.6: after an answered probe the sender waits the idle time again;
// after an unanswered one, the (shorter) interval. So a gap that follows an
// answered probe measures the idle, one that follows an unanswered probe the
// interval. The probes since the last answer are held apart (`tail`): if no
// answer comes, they are a series of their own (the peer died after
// answering), else they join the answered run.
struct Ka {
  Story::Keepalive run;         // probes up to the last answered one (run.probes 0: none yet)
  std::vector<Duration> idles;  // samples for run.idle, capped
  std::vector<Duration> intervals;
  Story::Keepalive tail;  // unanswered probes since the last answer
  std::vector<Duration> tail_intervals;
  Instant tail_last;  // the tail's last probe
};

void merge_tail(Ka* ka) {
  Story::Keepalive& r = ka->run;
  const Story::Keepalive& t = ka->tail;
  if (r.probes == 0) r.dir = t.dir;
  r.probes += t.probes;
  for (uint64_t f : t.frames) push_capped(&r.frames, f, kStoryMaxFrames);
  r.last_frame = t.last_frame;
  r.answered = true;
  push_capped(&ka->idles, t.idle, kStoryMaxFrames);
  for (Duration g : ka->tail_intervals) push_capped(&ka->intervals, g, kStoryMaxFrames);
  ka->tail = Story::Keepalive{};
  ka->tail_intervals.clear();
}

struct Rto {
  Story::Backoff b;
  Instant last;  // last retransmission
  Duration prev_gap;
  Duration min_gap, max_gap;
  int pairs = 0, flat = 0;  // RFC 2525 §2.10 evidence over all gaps
};

void add_gap(Rto* r, Duration gap, uint64_t frame, Instant now) {
  // RFC 6298 §5.5: each timeout should double the RTO. Judge pairs of
  // successive gaps while below the cap; "not growing" is less than 1.5 x
  // the previous gap.
  if (r->b.retransmissions > 0 && r->prev_gap < kRtoCap) {
    ++r->pairs;
    if (gap.ns() * 2 < r->prev_gap.ns() * 3) ++r->flat;
  }
  if (r->b.retransmissions == 0 || gap < r->min_gap) r->min_gap = gap;
  if (r->b.retransmissions == 0 || gap > r->max_gap) r->max_gap = gap;
  r->prev_gap = gap;
  ++r->b.retransmissions;
  r->b.total += gap;
  push_capped(&r->b.gaps, gap, kStoryMaxFrames);
  push_capped(&r->b.frames, frame, kStoryMaxFrames);
  r->b.last_frame = frame;
  r->last = now;
}

}  // namespace

// Everything one flow's story needs between packets.
struct FlowStory {
  Story s;
  bool any = false;
  Instant prev_time;
  bool synack = false;
  std::optional<Ka> ka[2];
  std::optional<Story::Persist> zw[2];
  std::optional<Rto> rto[2];
  Instant last_from[2];
  uint64_t last_from_frame[2] = {0, 0};
  uint32_t high_ack[2] = {0, 0};  // highest ACK heard for direction d's data
  Instant ack_time[2];
  bool acked_any[2] = {false, false};
  SendLog first_send[2];
  // The handshake round trip (SYN to the ACK of the SYN-ACK), for the
  // smallest plausible RTO.
  Instant syn_time;
  bool syn_time_known = false;
  Duration irtt;
  uint64_t first_syn_frame[2] = {0, 0};
  uint64_t last_frame = 0;
  bool ka_interval_reported = false;       // §2.11 once per flow
  std::optional<Finding> low_initial_rto;  // §2.7, first one
  bool rto_estimated = false;
  // The series each side finished last, and the evidence for the ending.
  std::optional<Story::Keepalive> last_ka[2];
  std::optional<Story::Backoff> last_rto[2];
  bool rst_seen = false;
  int rst_dir = 0;
  uint64_t rst_frame = 0;
  LabelSet rst_labels = 0;
  uint64_t rst_prev = 0;  // the RST sender's packet before it (0: none)
  std::optional<Story::Keepalive> rst_ka;
  std::optional<Story::Backoff> rst_rto;
  // Zero-window probing and the abortive RST (seed 003, RFC 2525 §2.17),
  // per side d: d's probe series' back-off and answers, d's advertised
  // windows, d's largest segment. Scalars only.
  Duration zw_last_gap[2];                 // d's last probe gap (the first: from the zero window)
  uint64_t zw_answered_probe[2] = {0, 0};  // d's probe the peer answered last
  uint64_t zw_answer_frame[2] = {0, 0};
  Instant zero_since[2];  // d has advertised window 0 since
  bool wnd_seen[2] = {false, false};
  uint32_t wnd_max[2] = {0, 0}, wnd_last[2] = {0, 0};
  uint64_t wnd_last_frame[2] = {0, 0};
  uint32_t max_seg[2] = {0, 0};
  uint64_t last_data_frame[2] = {0, 0};
  std::optional<Finding> unread_rst;  // RFC 2525 §2.17, judged at the RST
  // The packet before the current one: its direction, ACK bit and ACK, so a
  // RST can be recognised as the reply of a host that no longer has the
  // connection (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>).
  int prev_dir = -1;
  bool prev_ack_flag = false;
  uint32_t prev_rel_ack = 0;
  uint64_t prev_frame = 0;

  void judge_reset(const PacketLabels& p);
  std::string reset_ending() const;

  // d's latest retransmission of any kind: it restarts d's timer.
  bool resend_valid[2] = {false, false};
  uint32_t resend_seq[2] = {0, 0};
  Instant resend_time[2];
  bool refused_since_syn[2] = {false, false};  // the peer sent a RST since d's last SYN
  uint32_t refused_retries[2] = {0, 0};        // d's SYNs sent again after a RST
  uint64_t last_refused_frame = 0;

  uint64_t fin_frames[2] = {0, 0};  // first FIN of each side, in capture order
  int fin_count = 0;
  bool fin_seen[2] = {false, false};

  void add_finding(Finding f) {
    if (s.findings.size() < kStoryMaxFindings) {
      s.findings.push_back(std::move(f));
    } else {
      ++s.findings_omitted;
    }
  }

  template <typename T>
  void add_series(std::vector<T>* v, const T& x) {
    if (v->size() < kStoryMaxSeries) {
      v->push_back(x);
    } else {
      ++s.series_omitted;
    }
  }

  void finish_keepalive(int d) {
    Ka& k = *ka[d];
    if (k.run.probes > 0) {
      k.run.idle = median(k.idles);
      k.run.interval = median(k.intervals);  // zero when every probe was answered
      emit_keepalive(d, k.run);
    }
    if (k.tail.probes > 0) {
      k.tail.interval = median(k.tail_intervals);
      emit_keepalive(d, k.tail);
    }
    ka[d].reset();
  }

  void emit_keepalive(int d, const Story::Keepalive& k) {
    add_series(&s.keepalive, k);
    last_ka[d] = k;
    // RFC 2525 §2.11 (RFC 1122 §4.2.3.6): idle before probing under 2 h.
    if (k.idle < kKeepaliveDefault && !ka_interval_reported) {
      ka_interval_reported = true;
      Finding f;
      f.problem = "insufficient interval between keepalives";
      f.rfc_section = "RFC 2525 §2.11";
      if (last_heard_frame[d] != 0) f.frames.push_back(last_heard_frame[d]);
      f.frames.push_back(k.frames.front());
      if (k.frames.size() > 1) f.frames.push_back(k.frames[1]);
      f.confidence = 0.5;  // applications may legitimately ask for less
      f.detail = std::string("the ") + side(k.dir) + " sent its first keepalive after " +
                 secs1(k.idle) + " idle; RFC 1122 §4.2.3.6 defaults to at least 7200 s";
      add_finding(std::move(f));
    }
  }

  void finish_rto(int d) {
    Rto& r = *rto[d];
    if (r.b.retransmissions > 0) {
      add_series(&s.rto, r.b);
      last_rto[d] = r.b;
      if (rst_seen && rst_dir == d && r.b.last_frame == rst_prev) rst_rto = r.b;
      // RTO estimates over every series (RFC 6298 §5.5 back-off shows them).
      if (!rto_estimated) {
        rto_estimated = true;
        s.initial_rto_estimate = r.b.gaps.front();
        s.min_rto_estimate = r.min_gap;
        s.max_rto_estimate = r.max_gap;
      } else {
        s.min_rto_estimate = std::min(s.min_rto_estimate, r.min_gap);
        s.max_rto_estimate = std::max(s.max_rto_estimate, r.max_gap);
      }
      // RFC 2525 §2.7: the first SYN retransmission under 1 s (RFC 6298 §2.1).
      if (r.b.syn && !low_initial_rto && r.b.gaps.front() < kLowInitialRto) {
        Finding f;
        f.problem = "initial RTO too low";
        f.rfc_section = "RFC 2525 §2.7";
        if (first_syn_frame[d] != 0) f.frames.push_back(first_syn_frame[d]);
        f.frames.push_back(r.b.frames.front());
        f.confidence = r.b.gaps.front() < Duration::millis(500) ? 0.9 : 0.7;
        f.detail = std::string("the ") + side(d) + " retransmitted its SYN after " +
                   format_duration(r.b.gaps.front()) +
                   "; RFC 6298 §2.1 sets the initial RTO to 1 s";
        low_initial_rto = std::move(f);
      }
      // RFC 2525 §2.10: timeouts that do not back off.
      if (!r.b.syn && r.b.retransmissions >= 3 && r.flat >= 2 && r.flat * 2 >= r.pairs) {
        Finding f;
        f.problem = "failure to back off";
        f.rfc_section = "RFC 2525 §2.10";
        f.frames = r.b.frames;
        f.confidence = r.flat == r.pairs ? 0.9 : 0.6;
        f.detail = std::to_string(r.b.retransmissions) + " timeout retransmissions of seq " +
                   std::to_string(r.b.rel_seq) + " by the " + side(d) + ", " +
                   std::to_string(r.flat) + " of " + std::to_string(r.pairs) +
                   " gaps not growing (median gap " + secs1(median(r.b.gaps)) + ")";
        add_finding(std::move(f));
      }
    }
    rto[d].reset();
  }

  uint64_t last_heard_frame[2] = {0, 0};  // per keepalive sender: the peer's last packet

  void add(const Flow& flow, const PacketLabels& p);
  void finish(const Flow& flow);
};

void FlowStory::add(const Flow& flow, const PacketLabels& p) {
  const int d = p.dir, o = 1 - p.dir;
  const LabelSet L = p.labels;
  // The same datagram captured twice: not something an endpoint did.
  if (has(L, Label::kCaptureDuplicate)) return;
  const bool first = !any;
  if (first) {
    any = true;
    last_from[0] = last_from[1] = flow.first;
    ack_time[0] = ack_time[1] = flow.first;
  }

  // Handshake and idle periods.
  if (has(L, Label::kSynAck)) synack = true;
  if (has(L, Label::kSyn) && d == 0 && !syn_time_known) {
    syn_time = p.time;
    syn_time_known = true;
  }
  if (synack && !s.established_frame && d == 0 && !has(L, Label::kSyn) && !has(L, Label::kRst)) {
    s.established_frame = p.frame;
    s.established_time = p.time;
    if (syn_time_known) irtt = p.time - syn_time;
  }
  if (!first && p.time - prev_time >= kIdleGap) {
    if (s.idle_periods.size() < kStoryMaxIdle) {
      s.idle_periods.emplace_back(prev_time, p.time);
    } else {
      ++s.idle_periods_omitted;
    }
  }
  prev_time = p.time;
  last_frame = p.frame;

  // Keepalive series (RFC 1122 §4.2.3.6).
  if (has(L, Label::kKeepalive)) {
    if (!ka[d]) {
      ka[d].emplace();
      last_heard_frame[d] = last_from_frame[o];
    }
    Ka& k = *ka[d];
    if (k.tail.probes == 0) {
      // The first probe since the peer was last heard: the idle, measured
      // from the peer's last packet (its answer to the previous probe).
      k.tail.dir = d;
      k.tail.idle = p.time - last_from[o];
    } else {
      push_capped(&k.tail_intervals, p.time - k.tail_last, kStoryMaxFrames);
    }
    k.tail_last = p.time;
    push_capped(&k.tail.frames, p.frame, kStoryMaxFrames);
    ++k.tail.probes;
    k.tail.last_frame = p.frame;
  } else if (has(L, Label::kKeepaliveAck)) {
    if (ka[o] && ka[o]->tail.probes > 0) merge_tail(&*ka[o]);
  } else {
    for (int side_i : {d, o}) {
      if (ka[side_i]) finish_keepalive(side_i);
    }
  }

  // Zero-window probe series (RFC 9293 §3.8.6.1).
  if (has(L, Label::kZeroWindowProbe)) {
    if (!zw[d]) {
      zw[d].emplace();
      zw[d]->dir = d;
      zw[d]->start = p.time;
      // The persist timer started when the window closed (RFC 1122
      // §4.2.2.17): the first gap of the back-off.
      zw_last_gap[d] = wnd_seen[o] && wnd_last[o] == 0 ? p.time - zero_since[o] : Duration::zero();
    } else {
      zw_last_gap[d] = p.time - zw[d]->end;
      push_capped(&zw[d]->gaps, p.time - zw[d]->end, kStoryMaxFrames);
    }
    zw[d]->end = p.time;
    push_capped(&zw[d]->frames, p.frame, kStoryMaxFrames);
    ++zw[d]->probes;
    zw[d]->last_frame = p.frame;
  } else if (p.len > 0 && zw[d]) {
    add_series(&s.persist, *zw[d]);
    zw[d].reset();
  }
  if (has(L, Label::kZeroWindowProbeAck) && zw[o]) {
    ++zw[o]->answered;
    zw_answered_probe[o] = zw[o]->last_frame;
    zw_answer_frame[o] = p.frame;
  }

  // ACK progress for the other direction's data restarts its timer
  // (RFC 6298 §5.3) and ends its retransmission series.
  if (!has(L, Label::kSyn) && !has(L, Label::kRst) &&
      (!acked_any[o] || static_cast<int32_t>(p.rel_ack - high_ack[o]) > 0)) {
    acked_any[o] = true;
    high_ack[o] = p.rel_ack;
    ack_time[o] = p.time;
    first_send[o].ack(p.rel_ack);
    if (rto[o] && static_cast<int32_t>(p.rel_ack - rto[o]->b.rel_seq) > 0) finish_rto(o);
  }

  // SYN retransmissions: gaps from the previous SYN. A SYN sent again after
  // the peer refused the previous one with a RST is a new attempt (Windows
  // retries a refused connect twice, 0.5 s apart), not a timeout: no timer
  // ran out, so it starts a series of its own instead of adding a gap.
  if (has(L, Label::kRst)) {
    refused_since_syn[o] = true;
    if (has(L, Label::kRstRefused)) last_refused_frame = p.frame;
  }
  if (has(L, Label::kSyn)) {
    if (first_syn_frame[d] == 0) first_syn_frame[d] = p.frame;
    const bool retry = has(L, Label::kSynRetransmission) && refused_since_syn[d];
    refused_since_syn[d] = false;
    if (retry) {
      ++refused_retries[d];
      if (rto[d]) finish_rto(d);
      rto[d].emplace();
      rto[d]->b.dir = d;
      rto[d]->b.syn = true;
      rto[d]->last = p.time;
    } else if (has(L, Label::kSynRetransmission) && rto[d] && rto[d]->b.syn) {
      add_gap(&*rto[d], p.time - rto[d]->last, p.frame, p.time);
    } else if (!has(L, Label::kSynRetransmission)) {
      if (rto[d]) finish_rto(d);
      rto[d].emplace();
      rto[d]->b.dir = d;
      rto[d]->b.syn = true;
      rto[d]->last = p.time;
    }
  } else if (rto[d] && rto[d]->b.syn) {
    finish_rto(d);
  }

  // Data timeout retransmissions (RFC 6298 §5.4): a retransmission of the
  // oldest unacknowledged byte (without any ACK from the peer, the lowest
  // byte seen sent) that no ACK explains: not a fast retransmission or a
  // tail loss probe, at least one round trip plus the minimum RTO after
  // its timer started, and with the peer silent for the latter half of
  // the wait (a duplicate ACK or SACK just before clocks it out instead).
  const bool data_like = p.len > 0 || has(L, Label::kFin);
  const bool oldest = acked_any[d]
                          ? p.rel_seq == high_ack[d]
                          : first_send[d].live() > 0 && first_send[d].front().seq == p.rel_seq;
  if (data_like && !has(L, Label::kSyn)) {
    if (has(L, Label::kRetransmission) && !has(L, Label::kFastRetransmission) &&
        !has(L, Label::kTailLossProbe) && oldest) {
      const bool same = rto[d] && !rto[d]->b.syn && rto[d]->b.rel_seq == p.rel_seq;
      Instant base = ack_time[d];
      if (same) {
        base = rto[d]->last;
      } else if (const SendLog::Entry* e = first_send[d].find(p.rel_seq)) {
        base = std::max(base, e->time);
      }
      // Any earlier resend of this byte restarted the timer (RFC 6298 §5.6),
      // whether or not it was a timeout itself.
      if (resend_valid[d] && resend_seq[d] == p.rel_seq) base = std::max(base, resend_time[d]);
      const Duration wait = p.time - base;
      const bool timeout =
          wait >= irtt + kRtoMin - kCaptureJitter && (p.time - last_from[o]) * 2 >= wait;
      if (timeout) {
        if (!same) {
          if (rto[d]) finish_rto(d);
          rto[d].emplace();
          rto[d]->b.dir = d;
          rto[d]->b.rel_seq = p.rel_seq;
        }
        add_gap(&*rto[d], wait, p.frame, p.time);
      }
    } else if (!has(L, Label::kRetransmission)) {
      first_send[d].add(p.rel_seq, p.time, p.frame);
    }
    if (has(L, Label::kRetransmission)) {
      resend_valid[d] = true;
      resend_seq[d] = p.rel_seq;
      resend_time[d] = p.time;
    }
  }

  if (has(L, Label::kFin) && !fin_seen[d]) {
    fin_seen[d] = true;
    fin_frames[fin_count++] = p.frame;
  }

  // The RST that ended the flow: what its sender did just before.
  if (has(L, Label::kRst) && flow.end.how == "rst" && flow.end.frame == p.frame && !rst_seen) {
    rst_seen = true;
    rst_dir = d;
    rst_frame = p.frame;
    rst_labels = L;
    rst_prev = last_from_frame[d];
    if (last_ka[d] && rst_prev != 0 && last_ka[d]->last_frame == rst_prev) rst_ka = last_ka[d];
    if (last_rto[d] && rst_prev != 0 && last_rto[d]->last_frame == rst_prev) rst_rto = last_rto[d];
    judge_reset(p);
  }

  // What each side advertised and sent, for judge_reset() (after it: the
  // RST's own fields say nothing about the buffer).
  if (!has(L, Label::kSyn) && !has(L, Label::kRst)) {
    if (p.window == 0 && (!wnd_seen[d] || wnd_last[d] != 0)) zero_since[d] = p.time;
    wnd_seen[d] = true;
    wnd_last[d] = p.window;
    wnd_last_frame[d] = p.frame;
    wnd_max[d] = std::max(wnd_max[d], p.window);
  }
  if (p.len > 0) {
    max_seg[d] = std::max(max_seg[d], p.len);
    last_data_frame[d] = p.frame;
  }

  last_from[d] = p.time;
  last_from_frame[d] = p.frame;
  prev_dir = d;
  prev_ack_flag = p.ack_flag;
  prev_rel_ack = p.rel_ack;
  prev_frame = p.frame;
}

// The RST from side d that ended the flow (p), judged at once from the
// per-side scalars: the zero-window context, and the unread data.
void FlowStory::judge_reset(const PacketLabels& p) {
  const int d = p.dir, o = 1 - p.dir;
  // An application's abortive close sends RST|ACK at SND.NXT (Linux
  // tcp_send_active_reset, BSD tcp_drop); a bare RST at exactly the ACK of
  // the peer's segment just before it is a host answering for a connection
  // it no longer has (RFC 9293 §3.10.7.1): its own timer or an earlier
  // abort ended it, not this RST.
  const uint64_t answers =
      !p.ack_flag && prev_dir == o && prev_ack_flag && p.rel_seq == prev_rel_ack ? prev_frame : 0;
  if (zw[d] || zw[o]) {
    const Story::Persist& z = zw[d] ? *zw[d] : *zw[o];
    Story::Reset r;
    r.dir = d;
    r.frame = p.frame;
    r.prober = zw[d].has_value();
    r.probes = z.probes;
    r.answered = z.answered;
    r.last_probe_frame = z.last_frame;
    const int prober = r.prober ? d : o;
    if (zw_answered_probe[prober] == z.last_frame) r.last_answer_frame = zw_answer_frame[prober];
    r.since_last_probe = p.time - z.end;
    r.answers_frame = answers;
    if (r.prober) {
      // RFC 1122 §4.2.2.17 / Linux tcp_probe_timer: each interval doubles
      // (above 60 s it may be at the cap, so the same gap again counts too).
      // Bounded, so the arithmetic below cannot overflow on odd timestamps.
      const Duration gap = zw_last_gap[d];
      const bool gap_ok = gap > Duration::zero() && gap <= kTimingMax;
      if (gap_ok) r.next_probe_after = gap * 2;
      if (!gap_ok || r.since_last_probe < Duration::zero() || r.since_last_probe > kTimingMax) {
        r.timing = "unknown";
      } else {
        auto near = [&](Duration expected) {
          const Duration slack = std::max(kExpirySlackMin, expected / 100 * kExpirySlackPercent);
          const Duration off = r.since_last_probe - expected;
          return off <= slack && Duration::zero() - off <= slack;
        };
        const bool capped = gap >= kPersistCapMin;
        if (near(gap * 2) || (capped && near(gap))) {
          r.timing = "probe_expiry";
        } else if (r.since_last_probe < (capped ? gap : gap * 2)) {
          r.timing = "between_probes";
        } else {
          r.timing = "unknown";  // later than the next probe, which never came
        }
      }
    }
    s.reset = r;
  }
  // RFC 2525 §2.17 / RFC 1122 §4.2.2.13: the RST sender acknowledged the
  // peer's data and its window never reopened by it, so (a reader that
  // drains its buffer reopens the window once it can grow by min(MSS, half
  // the buffer), RFC 1122 §4.2.3.3) the data still sat unread; and it sent
  // no FIN: an abortive close that discarded it.
  const uint32_t delivered = acked_any[o] && high_ack[o] > 1 ? high_ack[o] - 1 : 0;
  if (!fin_seen[d] && delivered > 0 && wnd_seen[d] && wnd_max[d] > wnd_last[d]) {
    const uint32_t held = std::min(wnd_max[d] - wnd_last[d], delivered);
    const uint32_t mss = std::max<uint32_t>(max_seg[o], 536);
    if (wnd_last[d] == 0 || held >= std::min(wnd_max[d] / 2, mss)) {
      Finding f;
      f.problem = "reset with received data unread";
      f.rfc_section = "RFC 2525 §2.17";
      if (last_data_frame[o] != 0) f.frames.push_back(last_data_frame[o]);
      if (wnd_last_frame[d] != 0 && wnd_last_frame[d] != last_data_frame[o]) {
        f.frames.push_back(wnd_last_frame[d]);
      }
      f.frames.push_back(p.frame);
      f.confidence = answers != 0 ? 0.5 : wnd_last[d] == 0 ? 0.9 : 0.7;
      f.detail = std::string("the ") + side(d) + " acknowledged " + std::to_string(delivered) +
                 " bytes of the " + side(o) + "'s data and its window stayed below its largest (" +
                 std::to_string(wnd_last[d]) + " of " + std::to_string(wnd_max[d]) +
                 (wnd_last[d] == 0 ? ", closed" : "") + "): at least " + std::to_string(held) +
                 " bytes unread; ";
      if (answers != 0) {
        f.detail += "its bare RST answered frame " + std::to_string(answers) +
                    " at that segment's ACK, as a host with no such connection does (RFC 9293 "
                    "§3.10.7.1): the connection had already ended there with the data unread "
                    "(its own timeout, or an earlier abortive close)";
      } else {
        f.detail +=
            "it sent RST, no FIN: an abortive close that discarded them "
            "(close with data unread, RFC 1122 §4.2.2.13)";
      }
      unread_rst = std::move(f);
    }
  }
}

std::string FlowStory::reset_ending() const {
  const Story::Reset& r = *s.reset;
  const std::string me = side(r.dir), peer = side(1 - r.dir);
  const std::string n = std::to_string(r.probes) + (r.probes == 1 ? " probe" : " probes");
  const std::string at = "RST at frame " + std::to_string(r.frame);
  if (r.answers_frame != 0) {
    return at + " from the " + me + " in reply to the " + peer + "'s segment at frame " +
           std::to_string(r.answers_frame) +
           " (no ACK bit, SEQ = that segment's ACK: RFC 9293 §3.10.7.1's answer from a host "
           "with no such connection) during zero-window probing (" +
           n + "): the connection had already ended on the " + me +
           "'s side, by its own timeout or an earlier abortive close; this RST only reports it";
  }
  if (!r.prober) {
    return at + " from the " + me + " while it answered the " + peer + "'s zero-window probes (" +
           n + ", its window closed): not a TCP timer; the " + me +
           " application closed with data unread (RFC 2525 §2.17) or aborted (SO_LINGER 0)";
  }
  std::string ev = n + ", last at frame " + std::to_string(r.last_probe_frame);
  if (r.last_answer_frame != 0) {
    ev += ", answered at frame " + std::to_string(r.last_answer_frame);
  } else {
    ev += ", unanswered";
  }
  char when[160];
  std::snprintf(when, sizeof when, "%.3f s after the last probe; the next was due %.3f s after it",
                r.since_last_probe.secs(), r.next_probe_after.secs());
  const std::string who =
      "the " + me + " application aborted (close with unread data or SO_LINGER 0)";
  const std::string lead = at + " from the " + me + " while the " + peer +
                           " was answering its zero-window probes (" + ev + "): ";
  if (r.timing == "between_probes") {
    return lead + "not a TCP timer, it fell between probes (" + when + "): " + who;
  }
  if (r.timing == "probe_expiry") {
    return lead + "it fell on a probe expiry (" + when +
           "): timer-driven, the kernel dropped an orphan (Linux tcp_probe_timer: too many "
           "orphans or out of memory), or " +
           who + " at that moment";
  }
  return lead + "not a TCP timer: " + who + ", or the kernel dropped an orphan";
}

void FlowStory::finish(const Flow& flow) {
  // Series still running at the end: remember what the last packets were.
  std::optional<Story::Keepalive> open_ka[2];
  std::optional<Story::Backoff> open_rto[2];
  for (int d = 0; d < 2; ++d) {
    if (ka[d]) {
      finish_keepalive(d);
      open_ka[d] = last_ka[d];
    }
    if (zw[d]) {
      add_series(&s.persist, *zw[d]);
      zw[d].reset();
    }
    if (rto[d] && rto[d]->b.retransmissions > 0) {
      finish_rto(d);
      open_rto[d] = last_rto[d];
    }
  }
  if (low_initial_rto) add_finding(std::move(*low_initial_rto));

  // The ending.
  auto over = [](const Story::Backoff& b) {
    return std::to_string(b.retransmissions) + " retransmissions over " + secs1(b.total);
  };
  if (flow.end.how == "rst" && rst_seen) {
    const int d = rst_dir;
    const std::string at = "RST at frame " + std::to_string(rst_frame);
    if (has(rst_labels, Label::kRstRefused)) {
      s.ending = "refused: RST/ACK in reply to SYN (frame " + std::to_string(rst_frame) + ")";
      if (const uint32_t n = refused_retries[1 - d]; n > 0) {
        s.ending += "; the same SYN was sent again " + std::to_string(n) +
                    (n == 1 ? " time" : " times") + " and refused again (last RST frame " +
                    std::to_string(last_refused_frame) + ")";
      }
    } else if (rst_ka && !rst_ka->answered) {
      const Story::Keepalive& k = *rst_ka;
      s.ending =
          "keepalive timeout: " +
          (k.probes == 1 ? std::string("1 probe")
                         : std::to_string(k.probes) + " probes " + secs1(k.interval) + " apart") +
          " unanswered, " + at;
      // RFC 2525 §2.9: gave up on a silent peer within a minute of probing.
      const Duration probing = k.interval * k.probes;  // count x interval
      if (probing < kShortKeepaliveTimeout) {
        Finding f;
        f.problem = "excessively short keepalive connection timeout";
        f.rfc_section = "RFC 2525 §2.9";
        f.frames = k.frames;
        f.frames.push_back(rst_frame);
        f.confidence = 0.8;
        f.detail = std::string("the ") + side(d) + " reset after " + std::to_string(k.probes) +
                   " unanswered keepalives in " + secs1(probing) +
                   "; a peer should be probed for minutes before the connection is dropped";
        add_finding(std::move(f));
      }
    } else if (rst_rto) {
      s.ending = std::string(rst_rto->syn ? "SYN " : "") +
                 "retransmission timeout: " + over(*rst_rto) + ", " + at;
    } else {
      // An answered zero-window series (or the answering side) explains the
      // RST; an unanswered one is the persist timeout's business.
      if (s.reset && (!s.reset->prober || s.reset->last_answer_frame != 0)) {
        s.ending = reset_ending();
      } else {
        s.ending = std::string("reset by the ") + side(d) + " (" + at + ")";
      }
      if (unread_rst) add_finding(std::move(*unread_rst));
    }
  } else if (flow.end.how == "fin") {
    std::string frames;
    for (int i = 0; i < fin_count; ++i) {
      frames += (i ? ", " : "") + std::to_string(fin_frames[i]);
    }
    s.ending = "closed with FIN (frame" + std::string(fin_count == 2 ? "s " : " ") + frames + ")";
  } else {
    s.ending = "still open at the end of the capture";
    for (int d = 0; d < 2; ++d) {
      if (open_rto[d] && open_rto[d]->last_frame == last_frame) {
        s.ending = std::string(open_rto[d]->syn ? "SYN " : "") +
                   "retransmission timeout: " + over(*open_rto[d]) + ", no RST";
        if (last_from_frame[1 - d] == 0) {
          s.ending += std::string(", nothing from the ") + side(1 - d) + " in the capture";
        }
      } else if (open_ka[d] && !open_ka[d]->answered && open_ka[d]->last_frame == last_frame) {
        const Story::Keepalive& k = *open_ka[d];
        s.ending =
            "keepalive probes unanswered: " +
            (k.probes == 1 ? std::string("1 probe")
                           : std::to_string(k.probes) + " probes " + secs1(k.interval) + " apart") +
            ", no RST";
      }
    }
  }
}

struct StoryBuilder::Impl {
  std::deque<FlowStory> flows;  // a deque: growing never copies or doubles (200,000 flows)
};

StoryBuilder::StoryBuilder() : impl_(std::make_unique<Impl>()) {}
StoryBuilder::~StoryBuilder() = default;

void StoryBuilder::add(const Flow& flow, const PacketLabels& p) {
  if (p.flow >= impl_->flows.size()) impl_->flows.resize(p.flow + 1);
  impl_->flows[p.flow].add(flow, p);
}

std::vector<Story> StoryBuilder::finish(const std::vector<Flow>& flows) {
  if (impl_->flows.size() < flows.size()) impl_->flows.resize(flows.size());
  std::vector<Story> out;
  out.reserve(flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    FlowStory& fs = impl_->flows.front();
    fs.finish(flows[i]);
    fs.s.flow = i;
    out.push_back(std::move(fs.s));
    impl_->flows.pop_front();  // frees the per-flow state as the stories are made
  }
  impl_->flows.clear();
  return out;
}

size_t StoryBuilder::retained_items() const {
  size_t n = 0;
  for (const FlowStory& f : impl_->flows) {
    const Story& s = f.s;
    n += s.idle_periods.size() + s.findings.size();
    for (const auto& k : s.keepalive) n += 1 + k.frames.size();
    for (const auto& p : s.persist) n += 1 + p.gaps.size() + p.frames.size();
    for (const auto& b : s.rto) n += 1 + b.gaps.size() + b.frames.size();
    for (const auto& fd : s.findings) n += fd.frames.size();
    for (int d = 0; d < 2; ++d) {
      n += f.first_send[d].live();
      if (f.ka[d]) {
        const Ka& k = *f.ka[d];
        n += k.run.frames.size() + k.idles.size() + k.intervals.size() + k.tail.frames.size() +
             k.tail_intervals.size();
      }
      if (f.zw[d]) n += f.zw[d]->gaps.size() + f.zw[d]->frames.size();
      if (f.rto[d]) n += f.rto[d]->b.gaps.size() + f.rto[d]->b.frames.size();
    }
  }
  return n;
}

std::vector<Story> build_stories(const FlowAnalyzer& a) {
  StoryBuilder b;
  for (const auto& p : a.packets()) {
    if (p.flow < a.flows().size()) b.add(a.flows()[p.flow], p);
  }
  return b.finish(a.flows());
}

}  // namespace vigil::analyze
