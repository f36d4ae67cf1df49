// Per-flow summary (see summary.hpp).
#include "analyze/summary.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace vigil::analyze {

namespace {

constexpr LabelSet kAnyRetx = bit(Label::kRetransmission) | bit(Label::kFastRetransmission) |
                              bit(Label::kTailLossProbe) | bit(Label::kSpuriousRetransmission) |
                              bit(Label::kSynRetransmission);

struct Space {  // one sequence space: the bytes sent by one direction
  bool init = false;
  int64_t last = 0;  // unwrapping (relative numbers are 32-bit)
  bool any_data = false;
  int64_t lo = 0, hi = 0;  // payload seen: [lo, hi)
  bool any_ack = false;
  int64_t ack_hi = 0;  // highest ACK from the peer
  // Segments sent once and not yet covered by an ACK: (end, time), ends
  // increasing (new data only).
  std::vector<std::pair<int64_t, int64_t>> in_flight;
  bool zw = false;  // this direction's receiver window is closed
  Instant zw_start;
  // RTT samples of this direction's segments.
  uint64_t rtt_n = 0;
  Duration rtt_min, rtt_max, rtt_sum;

  int64_t unwrap(uint32_t v) {
    if (!init) {
      init = true;
      last = static_cast<int32_t>(v);
      return last;
    }
    last += static_cast<int32_t>(v - static_cast<uint32_t>(last));
    return last;
  }
};

struct State {
  Space space[2];
  FlowSummary s;
  int fin_dir = -1;
  int rst_dir = -1;
};

std::string fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string seconds(Duration d) { return format_seconds(Instant::zero() + d); }

const char* end_by(const FlowSummary& s) {
  return s.end_dir == 0 ? "client" : s.end_dir == 1 ? "server" : "";
}

std::string end_text(const FlowSummary& s) {
  return s.end_dir < 0 ? s.end : s.end + " (" + end_by(s) + ")";
}

}  // namespace

double FlowSummary::goodput_bps(int d) const {
  if (duration <= Duration::zero()) return -1;
  return static_cast<double>(acked[d]) * 8.0 * 1e9 / static_cast<double>(duration.ns());
}

double FlowSummary::retransmission_pct() const {
  if (data_segments == 0) return -1;
  return static_cast<double>(retransmitted) * 100.0 / static_cast<double>(data_segments);
}

Duration FlowSummary::rtt_avg() const {
  if (rtt_samples == 0) return Duration::zero();
  return Duration::nanos(rtt_sum.ns() / static_cast<int64_t>(rtt_samples));
}

struct SummaryBuilder::Impl {
  std::deque<State> flows;  // a deque: growing never copies or doubles
};

SummaryBuilder::SummaryBuilder() : impl_(std::make_unique<Impl>()) {}
SummaryBuilder::~SummaryBuilder() = default;

void SummaryBuilder::add(const Flow& flow, const PacketLabels& p) {
  // The same datagram captured twice is not a second segment.
  if (has(p.labels, Label::kCaptureDuplicate)) return;
  if (p.flow >= impl_->flows.size()) impl_->flows.resize(p.flow + 1);
  State& st = impl_->flows[p.flow];
  FlowSummary& s = st.s;
  const int d = p.dir == 0 ? 0 : 1;
  const int o = 1 - d;
  const LabelSet L = p.labels;
  ++s.packets;
  s.bytes[d] += p.len;
  if (has(L, Label::kFin) && st.fin_dir < 0) st.fin_dir = d;
  if (has(L, Label::kRst) && p.frame == flow.end.frame) st.rst_dir = d;

  const bool probe = has(L, Label::kKeepalive) || has(L, Label::kZeroWindowProbe);
  const bool retx = (L & kAnyRetx) != 0;
  if (p.len > 0 && !probe) {
    ++s.data_segments;
    if (retx) ++s.retransmitted;
  }

  Space& own = st.space[d];
  const int64_t seq = own.unwrap(p.rel_seq);
  if (p.len > 0) {
    if (!own.any_data) {
      own.any_data = true;
      own.lo = seq;
      own.hi = seq + p.len;
    }
    own.lo = std::min(own.lo, seq);
    own.hi = std::max(own.hi, seq + static_cast<int64_t>(p.len));
  }
  // RTT: only segments sent once (Karn's rule, RFC 6298 §3); a resend
  // makes every sample still open in this direction ambiguous.
  const bool syn = has(L, Label::kSyn);
  const int64_t end = seq + p.len + (syn ? 1 : 0) + (has(L, Label::kFin) ? 1 : 0);
  if (retx) {
    own.in_flight.clear();
  } else if (!probe && end > seq && !has(L, Label::kRst) &&
             (own.in_flight.empty() || end > own.in_flight.back().first) &&
             own.in_flight.size() < kSummaryMaxInFlight) {
    own.in_flight.emplace_back(end, p.time.ns());
  }

  if (p.ack_flag) {
    Space& peer = st.space[o];
    const int64_t ack = peer.unwrap(p.rel_ack);
    if (!peer.any_ack || ack > peer.ack_hi) {
      peer.any_ack = true;
      peer.ack_hi = ack;
    }
    // The newest covered segment gives the sample (the ACK it caused).
    size_t covered = 0;
    while (covered < peer.in_flight.size() && peer.in_flight[covered].first <= ack) ++covered;
    if (covered > 0) {
      const Duration rtt = Duration::nanos(p.time.ns() - peer.in_flight[covered - 1].second);
      if (peer.rtt_n == 0 || rtt < peer.rtt_min) peer.rtt_min = rtt;
      if (peer.rtt_n == 0 || rtt > peer.rtt_max) peer.rtt_max = rtt;
      peer.rtt_sum = peer.rtt_sum + rtt;
      ++peer.rtt_n;
      peer.in_flight.erase(peer.in_flight.begin(),
                           peer.in_flight.begin() + static_cast<std::ptrdiff_t>(covered));
    }
  }

  // Zero window: this direction's receiver closed its window; it reopens
  // with its next segment that advertises room (a RST's window means nothing).
  if (has(L, Label::kZeroWindow)) {
    if (!own.zw) {
      own.zw = true;
      own.zw_start = p.time;
    }
  } else if (own.zw && p.window > 0 && !has(L, Label::kRst)) {
    s.zero_window = s.zero_window + (p.time - own.zw_start);
    own.zw = false;
  }
}

std::vector<FlowSummary> SummaryBuilder::finish(const std::vector<Flow>& flows) {
  std::vector<FlowSummary> out(flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    const Flow& f = flows[i];
    FlowSummary& s = out[i];
    if (i < impl_->flows.size()) {
      State& st = impl_->flows[i];
      for (int d = 0; d < 2; ++d) {
        Space& sp = st.space[d];
        if (sp.zw) st.s.zero_window = st.s.zero_window + (f.last - sp.zw_start);
        if (sp.any_data && sp.any_ack) {
          st.s.acked[d] = static_cast<uint64_t>(std::clamp(sp.ack_hi, sp.lo, sp.hi) - sp.lo);
        }
      }
      // The RTT of the direction that sent more payload (the client's on a
      // tie): near one end the other direction's samples measure only that
      // end's stack (a capture on the client sees it ACK the server's FIN
      // at once).
      const int rd = st.s.bytes[1] > st.s.bytes[0] ? 1 : 0;
      const Space& r = st.space[rd];
      st.s.rtt_dir = rd;
      st.s.rtt_samples = r.rtt_n;
      st.s.rtt_min = r.rtt_min;
      st.s.rtt_max = r.rtt_max;
      st.s.rtt_sum = r.rtt_sum;
      s = std::move(st.s);
      s.end_dir = f.end.how == "rst" ? st.rst_dir : f.end.how == "fin" ? st.fin_dir : -1;
      st = State{};
    }
    s.duration = f.last - f.first;
    s.end = f.end.how;
  }
  impl_->flows.clear();
  impl_->flows.shrink_to_fit();  // deque: frees the blocks
  return out;
}

std::string format_rate(double bps) {
  if (bps < 0) return "-";
  if (bps >= 1e9) return fixed(bps / 1e9, 2) + " Gbit/s";
  if (bps >= 1e6) return fixed(bps / 1e6, 2) + " Mbit/s";
  if (bps >= 1e3) return fixed(bps / 1e3, 2) + " kbit/s";
  return fixed(bps, 0) + " bit/s";
}

namespace {

std::vector<std::string> table_header() {
  return {"flow",      "client",   "server",      "packets",     "bytes c>s",
          "bytes s>c", "duration", "goodput c>s", "goodput s>c", "rtt min/avg/max",
          "retx",      "zero win", "end"};
}

std::vector<std::string> table_row(size_t i, const Flow& f, const FlowSummary& x) {
  const double pct = x.retransmission_pct();
  return {std::to_string(i),
          f.endpoint(0),
          f.endpoint(1),
          std::to_string(x.packets),
          std::to_string(x.bytes[0]),
          std::to_string(x.bytes[1]),
          format_duration(x.duration),
          format_rate(x.goodput_bps(0)),
          format_rate(x.goodput_bps(1)),
          x.rtt_samples == 0 ? "-"
                             : format_duration(x.rtt_min) + "/" + format_duration(x.rtt_avg()) +
                                   "/" + format_duration(x.rtt_max),
          pct < 0 ? "-" : fixed(pct, 1) + "%",
          x.zero_window == Duration::zero() ? "-" : format_duration(x.zero_window),
          end_text(x)};
}

}  // namespace

void summary_table(const std::vector<Flow>& flows,
                   const std::function<const FlowSummary*(size_t)>& summary_of,
                   const std::function<void(std::string_view)>& write) {
  // Two passes over the rows, the first for the column widths, so that
  // 200,000 rows are never all formatted at once (issue 13 point 10).
  auto for_rows = [&](const auto& f) {
    f(table_header());
    for (size_t i = 0; i < flows.size(); ++i) {
      if (const FlowSummary* x = summary_of(i)) f(table_row(i, flows[i], *x));
    }
  };
  std::vector<size_t> width(table_header().size(), 0);
  for_rows([&](const std::vector<std::string>& r) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  });
  std::string out;
  for_rows([&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      // Names left-aligned, numbers right-aligned; the last column unpadded.
      const bool left = c == 1 || c == 2 || c + 1 == r.size();
      const std::string pad(width[c] - r[c].size(), ' ');
      if (c > 0) line += "  ";
      line += left ? (c + 1 == r.size() ? r[c] : r[c] + pad) : pad + r[c];
    }
    out += line + "\n";
    if (out.size() >= (size_t{1} << 16)) {
      write(out);
      out.clear();
    }
  });
  write(out);
}

std::string summary_table(const std::vector<Flow>& flows, const std::vector<FlowSummary>& s,
                          const std::vector<char>* only) {
  std::string out;
  summary_table(
      flows,
      [&](size_t i) -> const FlowSummary* {
        if (i >= s.size() || (only != nullptr && (i >= only->size() || (*only)[i] == 0))) {
          return nullptr;
        }
        return &s[i];
      },
      [&out](std::string_view t) { out += t; });
  return out;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string summary_csv_header() {
  return "flow,client,server,packets,bytes_c2s,bytes_s2c,acked_c2s,acked_s2c,duration_s,"
         "goodput_c2s_bps,goodput_s2c_bps,rtt_samples,rtt_min_s,rtt_avg_s,rtt_max_s,"
         "data_segments,retransmitted,retransmission_pct,zero_window_s,end,end_by\r\n";
}

std::string summary_csv_row(const Flow& flow, size_t i, const FlowSummary& x) {
  const auto opt = [](bool known, const std::string& v) { return known ? v : std::string(); };
  const double pct = x.retransmission_pct();
  const std::string f[] = {std::to_string(i),
                           flow.endpoint(0),
                           flow.endpoint(1),
                           std::to_string(x.packets),
                           std::to_string(x.bytes[0]),
                           std::to_string(x.bytes[1]),
                           std::to_string(x.acked[0]),
                           std::to_string(x.acked[1]),
                           seconds(x.duration),
                           opt(x.goodput_bps(0) >= 0, fixed(x.goodput_bps(0), 0)),
                           opt(x.goodput_bps(1) >= 0, fixed(x.goodput_bps(1), 0)),
                           std::to_string(x.rtt_samples),
                           opt(x.rtt_samples > 0, seconds(x.rtt_min)),
                           opt(x.rtt_samples > 0, seconds(x.rtt_avg())),
                           opt(x.rtt_samples > 0, seconds(x.rtt_max)),
                           std::to_string(x.data_segments),
                           std::to_string(x.retransmitted),
                           opt(pct >= 0, fixed(pct, 2)),
                           seconds(x.zero_window),
                           x.end,
                           end_by(x)};
  std::string out;
  for (size_t c = 0; c < std::size(f); ++c) out += (c ? "," : "") + csv_field(f[c]);
  return out + "\r\n";
}

std::string summary_csv(const std::vector<Flow>& flows, const std::vector<FlowSummary>& s,
                        const std::vector<char>* only) {
  std::string out = summary_csv_header();
  for (size_t i = 0; i < flows.size() && i < s.size(); ++i) {
    if (only != nullptr && (i >= only->size() || (*only)[i] == 0)) continue;
    out += summary_csv_row(flows[i], i, s[i]);
  }
  return out;
}

void summary_json(util::JsonWriter& j, const FlowSummary& s) {
  const auto secs_or_null = [&](const char* key, bool known, Duration d) {
    j.key(key);
    if (known) {
      j.raw_number(seconds(d));
    } else {
      j.null();
    }
  };
  j.begin_object();
  j.key("packets").value(s.packets);
  j.key("bytes").begin_array().value(s.bytes[0]).value(s.bytes[1]).end_array();
  j.key("acked").begin_array().value(s.acked[0]).value(s.acked[1]).end_array();
  j.key("duration_s").raw_number(seconds(s.duration));
  j.key("goodput_bps").begin_array();
  for (int d = 0; d < 2; ++d) {
    if (s.goodput_bps(d) < 0) {
      j.null();
    } else {
      j.raw_number(fixed(s.goodput_bps(d), 0));
    }
  }
  j.end_array();
  j.key("rtt_samples").value(s.rtt_samples);
  secs_or_null("rtt_min_s", s.rtt_samples > 0, s.rtt_min);
  secs_or_null("rtt_avg_s", s.rtt_samples > 0, s.rtt_avg());
  secs_or_null("rtt_max_s", s.rtt_samples > 0, s.rtt_max);
  j.key("data_segments").value(s.data_segments);
  j.key("retransmitted").value(s.retransmitted);
  j.key("retransmission_pct");
  if (s.retransmission_pct() < 0) {
    j.null();
  } else {
    j.raw_number(fixed(s.retransmission_pct(), 2));
  }
  j.key("zero_window_s").raw_number(seconds(s.zero_window));
  j.key("end").value(s.end);
  j.key("end_by");
  if (s.end_dir < 0) {
    j.null();
  } else {
    j.value(end_by(s));
  }
  j.end_object();
}

}  // namespace vigil::analyze

namespace vigil::analyze {

void append_collapsed(std::string& out, const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size();) {
    size_t j = i + 1;
    while (j < lines.size() && lines[j] == lines[i]) ++j;
    out += lines[i];
    if (j - i > 1) out += " (" + std::to_string(j - i) + " times in a row)";
    out += "\n";
    i = j;
  }
}

}  // namespace vigil::analyze
