// Per-connection stories and RFC 2525 detectors (see story.hpp).
#include "analyze/story.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

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

struct Ka {
  Story::Keepalive k;
  std::vector<Instant> times;
  Instant last_heard;
  uint64_t last_heard_frame = 0;
};

struct Rto {
  Story::Backoff b;
  Instant last;  // last retransmission
  Instant base;  // when the timer started
  uint64_t original_frame = 0;
};

void finish_keepalive(Ka* ka, Story* s) {
  std::vector<Duration> gaps;
  for (size_t i = 1; i < ka->times.size(); ++i) gaps.push_back(ka->times[i] - ka->times[i - 1]);
  ka->k.interval = median(gaps);
  ka->k.probes = static_cast<uint32_t>(ka->times.size());
  s->keepalive.push_back(ka->k);
  // RFC 2525 §2.11 (RFC 1122 §4.2.3.6): idle before probing under 2 h.
  if (ka->k.idle < kKeepaliveDefault) {
    const bool dup = std::any_of(s->findings.begin(), s->findings.end(), [&](const Finding& f) {
      return f.rfc_section == "RFC 2525 §2.11";
    });
    if (!dup) {
      Finding f;
      f.problem = "insufficient interval between keepalives";
      f.rfc_section = "RFC 2525 §2.11";
      if (ka->last_heard_frame != 0) f.frames.push_back(ka->last_heard_frame);
      f.frames.push_back(ka->k.frames.front());
      if (ka->k.frames.size() > 1) f.frames.push_back(ka->k.frames[1]);
      f.confidence = 0.5;  // applications may legitimately ask for less
      f.detail = std::string("the ") + side(ka->k.dir) + " sent its first keepalive after " +
                 secs1(ka->k.idle) + " idle; RFC 1122 §4.2.3.6 defaults to at least 7200 s";
      s->findings.push_back(std::move(f));
    }
  }
}

void finish_rto(Rto* r, Story* s) {
  if (r->b.gaps.empty()) return;
  s->rto.push_back(r->b);
  const auto& g = r->b.gaps;
  // RFC 2525 §2.10 / RFC 6298 §5.5: each timeout should double the RTO.
  // Judge pairs of successive gaps while below the cap; "not growing" is
  // less than 1.5 x the previous gap.
  if (r->b.syn || g.size() < 3) return;
  int pairs = 0, flat = 0;
  for (size_t i = 1; i < g.size(); ++i) {
    if (g[i - 1] >= kRtoCap) continue;
    ++pairs;
    if (g[i].ns() * 2 < g[i - 1].ns() * 3) ++flat;
  }
  if (flat >= 2 && flat * 2 >= pairs) {
    Finding f;
    f.problem = "failure to back off";
    f.rfc_section = "RFC 2525 §2.10";
    f.frames = r->b.frames;
    f.confidence = flat == pairs ? 0.9 : 0.6;
    f.detail = std::to_string(g.size()) + " timeout retransmissions of seq " +
               std::to_string(r->b.rel_seq) + " by the " + side(r->b.dir) + ", " +
               std::to_string(flat) + " of " + std::to_string(pairs) +
               " gaps not growing (median gap " + secs1(median(g)) + ")";
    s->findings.push_back(std::move(f));
  }
}

Story build_one(size_t flow_index, const Flow& flow, const std::vector<const PacketLabels*>& pk) {
  Story s;
  s.flow = flow_index;

  // Handshake and idle periods.
  bool synack = false;
  for (size_t i = 0; i < pk.size(); ++i) {
    const auto& p = *pk[i];
    if (has(p.labels, Label::kSynAck)) synack = true;
    if (synack && !s.established_frame && p.dir == 0 && !has(p.labels, Label::kSyn) &&
        !has(p.labels, Label::kRst)) {
      s.established_frame = p.frame;
      s.established_time = p.time;
    }
    if (i > 0 && p.time - pk[i - 1]->time >= kIdleGap) {
      s.idle_periods.emplace_back(pk[i - 1]->time, p.time);
    }
  }

  // Keepalive, persist and retransmission series, one pass.
  std::optional<Ka> ka[2];
  std::optional<Story::Persist> zw[2];
  std::optional<Rto> rto[2];
  Instant last_from[2] = {flow.first, flow.first};
  uint64_t last_from_frame[2] = {0, 0};
  uint32_t high_ack[2] = {0, 0};  // highest ACK heard for direction d's data
  Instant ack_time[2] = {flow.first, flow.first};
  std::map<uint32_t, std::pair<Instant, uint64_t>> first_send[2];
  bool acked_any[2] = {false, false};

  for (const auto* pp : pk) {
    const auto& p = *pp;
    const int d = p.dir, o = 1 - p.dir;
    const bool is_ka = has(p.labels, Label::kKeepalive);
    const bool is_ka_ack = has(p.labels, Label::kKeepaliveAck);

    // Keepalive series (RFC 1122 §4.2.3.6).
    if (is_ka) {
      if (!ka[d]) {
        ka[d].emplace();
        ka[d]->k.dir = d;
        ka[d]->k.idle = p.time - last_from[o];
        ka[d]->last_heard_frame = last_from_frame[o];
      }
      ka[d]->times.push_back(p.time);
      ka[d]->k.frames.push_back(p.frame);
    } else if (is_ka_ack) {
      if (ka[o]) ka[o]->k.answered = true;
    } else {
      for (int side_i : {d, o}) {
        if (ka[side_i]) {
          finish_keepalive(&*ka[side_i], &s);
          ka[side_i].reset();
        }
      }
    }

    // Zero-window probe series (RFC 9293 §3.8.6.1).
    if (has(p.labels, Label::kZeroWindowProbe)) {
      if (!zw[d]) {
        zw[d].emplace();
        zw[d]->dir = d;
        zw[d]->start = p.time;
      } else {
        zw[d]->gaps.push_back(p.time - zw[d]->end);
      }
      zw[d]->end = p.time;
      zw[d]->frames.push_back(p.frame);
    } else if (p.len > 0 && zw[d]) {
      s.persist.push_back(*zw[d]);
      zw[d].reset();
    }

    // ACK progress for the other direction's data restarts its timer
    // (RFC 6298 §5.3) and ends its retransmission series.
    if (!has(p.labels, Label::kSyn) && !has(p.labels, Label::kRst) &&
        (!acked_any[o] || static_cast<int32_t>(p.rel_ack - high_ack[o]) > 0)) {
      acked_any[o] = true;
      high_ack[o] = p.rel_ack;
      ack_time[o] = p.time;
      auto& m = first_send[o];
      m.erase(m.begin(), m.lower_bound(p.rel_ack));
      if (rto[o] && static_cast<int32_t>(p.rel_ack - rto[o]->b.rel_seq) > 0) {
        finish_rto(&*rto[o], &s);
        rto[o].reset();
      }
    }

    // SYN retransmissions: gaps from the previous SYN.
    if (has(p.labels, Label::kSyn)) {
      if (has(p.labels, Label::kSynRetransmission) && rto[d] && rto[d]->b.syn) {
        rto[d]->b.gaps.push_back(p.time - rto[d]->last);
        rto[d]->b.frames.push_back(p.frame);
        rto[d]->last = p.time;
      } else if (!has(p.labels, Label::kSynRetransmission)) {
        if (rto[d]) finish_rto(&*rto[d], &s);
        rto[d].emplace();
        rto[d]->b.dir = d;
        rto[d]->b.syn = true;
        rto[d]->base = rto[d]->last = p.time;
        rto[d]->original_frame = p.frame;
      }
    } else if (rto[d] && rto[d]->b.syn) {
      finish_rto(&*rto[d], &s);
      rto[d].reset();
    }

    // Data timeout retransmissions: a retransmission of the oldest
    // unacknowledged byte with the peer silent for the latter half of the
    // wait (fast retransmits and tail loss probes are excluded).
    const bool data_like = p.len > 0 || has(p.labels, Label::kFin);
    if (data_like && !has(p.labels, Label::kSyn)) {
      if (has(p.labels, Label::kRetransmission) && !has(p.labels, Label::kFastRetransmission) &&
          !has(p.labels, Label::kTailLossProbe) && acked_any[d] && p.rel_seq == high_ack[d]) {
        const bool same = rto[d] && !rto[d]->b.syn && rto[d]->b.rel_seq == p.rel_seq;
        Instant base = ack_time[d];
        uint64_t orig = 0;
        if (same) {
          base = rto[d]->last;
        } else if (auto it = first_send[d].find(p.rel_seq); it != first_send[d].end()) {
          base = std::max(base, it->second.first);
          orig = it->second.second;
        }
        const Duration wait = p.time - base;
        const bool timeout = wait > Duration::zero() && (p.time - last_from[o]) * 2 >= wait;
        if (timeout) {
          if (!same) {
            if (rto[d]) finish_rto(&*rto[d], &s);
            rto[d].emplace();
            rto[d]->b.dir = d;
            rto[d]->b.rel_seq = p.rel_seq;
            rto[d]->base = base;
            rto[d]->original_frame = orig;
          }
          rto[d]->b.gaps.push_back(wait);
          rto[d]->b.frames.push_back(p.frame);
          rto[d]->last = p.time;
        }
      } else if (!has(p.labels, Label::kRetransmission)) {
        first_send[d].emplace(p.rel_seq, std::make_pair(p.time, p.frame));
      }
    }

    last_from[d] = p.time;
    last_from_frame[d] = p.frame;
  }

  // Series still running at the end: remember what the last packets were.
  std::optional<Story::Keepalive> open_ka[2];
  std::optional<Story::Backoff> open_rto[2];
  for (int d = 0; d < 2; ++d) {
    if (ka[d]) {
      finish_keepalive(&*ka[d], &s);
      open_ka[d] = s.keepalive.back();
    }
    if (zw[d]) s.persist.push_back(*zw[d]);
    if (rto[d] && !rto[d]->b.gaps.empty()) {
      finish_rto(&*rto[d], &s);
      open_rto[d] = s.rto.back();
    }
  }

  // RTO estimates.
  for (const auto& b : s.rto) {
    for (const auto g : b.gaps) {
      if (s.min_rto_estimate == Duration::zero() || g < s.min_rto_estimate) s.min_rto_estimate = g;
      s.max_rto_estimate = std::max(s.max_rto_estimate, g);
    }
  }
  if (!s.rto.empty()) s.initial_rto_estimate = s.rto.front().gaps.front();

  // RFC 2525 §2.7: the first SYN retransmission under 1 s (RFC 6298 §2.1).
  for (const auto& b : s.rto) {
    if (!b.syn || b.gaps.front() >= kLowInitialRto) continue;
    Finding f;
    f.problem = "initial RTO too low";
    f.rfc_section = "RFC 2525 §2.7";
    for (const auto* p : pk) {
      if (p->dir == b.dir && has(p->labels, Label::kSyn)) {
        f.frames.push_back(p->frame);  // the original SYN
        break;
      }
    }
    f.frames.push_back(b.frames.front());
    f.confidence = b.gaps.front() < Duration::millis(500) ? 0.9 : 0.7;
    f.detail = std::string("the ") + side(b.dir) + " retransmitted its SYN after " +
               format_duration(b.gaps.front()) + "; RFC 6298 §2.1 sets the initial RTO to 1 s";
    s.findings.push_back(std::move(f));
    break;
  }

  // The ending.
  const PacketLabels* rst = nullptr;
  for (const auto* p : pk) {
    if (p->frame == flow.end.frame && has(p->labels, Label::kRst)) rst = p;
  }
  auto over = [](const Story::Backoff& b) {
    Duration t;
    for (const auto g : b.gaps) t += g;
    return std::to_string(b.gaps.size()) + " retransmissions over " + secs1(t);
  };
  if (flow.end.how == "rst" && rst != nullptr) {
    const int d = rst->dir;
    const std::string at = "RST at frame " + std::to_string(rst->frame);
    const PacketLabels* prev = nullptr;  // the sender's packet before the RST
    for (const auto* p : pk) {
      if (p == rst) break;
      if (p->dir == d) prev = p;
    }
    const Story::Keepalive* k = nullptr;
    for (const auto& kk : s.keepalive) {
      if (kk.dir == d && prev && kk.frames.back() == prev->frame) k = &kk;
    }
    const Story::Backoff* b = nullptr;
    for (const auto& bb : s.rto) {
      if (bb.dir == d && prev && bb.frames.back() == prev->frame) b = &bb;
    }
    if (has(rst->labels, Label::kRstRefused)) {
      s.ending = "refused: RST/ACK in reply to SYN (frame " + std::to_string(rst->frame) + ")";
    } else if (k != nullptr && !k->answered) {
      s.ending = "keepalive timeout: " + std::to_string(k->probes) + " probes " +
                 secs1(k->interval) + " apart unanswered, " + at;
      // RFC 2525 §2.9: gave up on a silent peer within a minute of probing.
      const Duration probing = k->interval * k->probes;  // count x interval
      if (probing < kShortKeepaliveTimeout) {
        Finding f;
        f.problem = "excessively short keepalive connection timeout";
        f.rfc_section = "RFC 2525 §2.9";
        f.frames = k->frames;
        f.frames.push_back(rst->frame);
        f.confidence = 0.8;
        f.detail = std::string("the ") + side(d) + " reset after " + std::to_string(k->probes) +
                   " unanswered keepalives in " + secs1(probing) +
                   "; a peer should be probed for minutes before the connection is dropped";
        s.findings.push_back(std::move(f));
      }
    } else if (b != nullptr) {
      s.ending =
          std::string(b->syn ? "SYN " : "") + "retransmission timeout: " + over(*b) + ", " + at;
    } else {
      s.ending = std::string("reset by the ") + side(d) + " (" + at + ")";
    }
  } else if (flow.end.how == "fin") {
    std::string frames;
    bool fin_seen[2] = {false, false};
    for (const auto* p : pk) {
      if (has(p->labels, Label::kFin) && !fin_seen[p->dir]) {
        fin_seen[p->dir] = true;
        frames += (frames.empty() ? "" : ", ") + std::to_string(p->frame);
      }
    }
    s.ending = "closed with FIN (frame" + std::string(fin_seen[0] && fin_seen[1] ? "s " : " ") +
               frames + ")";
  } else {
    const uint64_t last = pk.empty() ? 0 : pk.back()->frame;
    s.ending = "still open at the end of the capture";
    for (int d = 0; d < 2; ++d) {
      if (open_rto[d] && open_rto[d]->frames.back() == last) {
        s.ending = std::string(open_rto[d]->syn ? "SYN " : "") +
                   "retransmission timeout: " + over(*open_rto[d]) + ", no RST";
      } else if (open_ka[d] && !open_ka[d]->answered && open_ka[d]->frames.back() == last) {
        s.ending = "keepalive probes unanswered: " + std::to_string(open_ka[d]->probes) +
                   " probes " + secs1(open_ka[d]->interval) + " apart, no RST";
      }
    }
  }
  return s;
}

}  // namespace

std::vector<Story> build_stories(const FlowAnalyzer& a) {
  std::vector<std::vector<const PacketLabels*>> per_flow(a.flows().size());
  for (const auto& p : a.packets()) {
    if (p.flow < per_flow.size()) per_flow[p.flow].push_back(&p);
  }
  std::vector<Story> out;
  out.reserve(per_flow.size());
  for (size_t i = 0; i < per_flow.size(); ++i) {
    out.push_back(build_one(i, a.flows()[i], per_flow[i]));
  }
  return out;
}

}  // namespace vigil::analyze
