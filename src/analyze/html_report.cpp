// HTML/SVG report (see html_report.hpp). The page is one self-contained
// file: inline CSS, inline SVG, no script, no external URL. Points are kept
// per flow up to a bound; past it plain data/ACK segments are thinned by a
// doubling stride while the labelled ones (retransmissions, probes, SYN/FIN/
// RST, zero windows ...) stay, so memory is bounded on any capture.
#include "analyze/html_report.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyze/html_plot.hpp"

namespace vigil::analyze {

namespace {

using html::escape;
using html::FlowPlot;
using html::PlotPoint;

constexpr size_t kMaxListed = 24;  // frames / gaps listed before "... (N in all)"

std::string endpoint(const Flow& f, int side) {
  return f.endpoint(side);  // "[v6]:port" for IPv6 flows
}

std::string secs(Instant t) { return format_seconds(t); }

// "1, 2, 3, ... (N in all)": `total` counts what the story's caps left out.
std::string frames_text(const std::vector<uint64_t>& frames, uint64_t total = 0) {
  total = std::max<uint64_t>(total, frames.size());
  std::string s;
  for (size_t i = 0; i < frames.size() && i < kMaxListed; ++i) {
    s += (i ? ", " : "") + std::to_string(frames[i]);
  }
  if (total > std::min(frames.size(), kMaxListed)) {
    s += ", ... (" + std::to_string(total) + " in all)";
  }
  return s;
}

std::string gaps_text(const std::vector<Duration>& gaps, uint64_t total = 0) {
  total = std::max<uint64_t>(total, gaps.size());
  std::string s;
  for (size_t i = 0; i < gaps.size() && i < kMaxListed; ++i) {
    s += (i ? ", " : "") + format_duration(gaps[i]);
  }
  if (total > std::min(gaps.size(), kMaxListed)) {
    s += ", ... (" + std::to_string(total) + " in all)";
  }
  return s;
}

// "2nd", "4th", "32nd", "8192nd": thinning strides are powers of two.
std::string ordinal(uint64_t n) {
  const uint64_t h = n % 100, t = n % 10;
  const char* suf = (h >= 11 && h <= 13) ? "th"
                    : t == 1             ? "st"
                    : t == 2             ? "nd"
                    : t == 3             ? "rd"
                                         : "th";
  return std::to_string(n) + suf;
}

const char* side(int dir) { return dir == 0 ? "client" : "server"; }

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1160px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 6px;border-bottom:1px solid #ccc;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 4px}
section.flow{margin:28px 0;padding:12px 16px;border:1px solid #ddd;border-radius:6px}
.meta{color:#555;margin:2px 0}
.warn{color:#8a4b00}
.empty{font-size:16px;color:#555}
table{border-collapse:collapse;margin:4px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
ul{margin:4px 0;padding-left:22px}
figure{margin:10px 0}
figcaption{color:#555;font-size:13px}
.thinned{color:#8a4b00;font-size:13px}
svg.tsg{display:block;max-width:100%;height:auto;background:#fff}
.tsg text{font:12px sans-serif;fill:#222}
.tsg text.heading{font-weight:bold;font-size:14px}
.tsg text.xt,.tsg text.xl{text-anchor:middle}
.tsg text.yt{text-anchor:end}
.tsg text.yl{text-anchor:middle}
.tsg text.mt{font-size:11px;fill:#333}
.tsg .plotarea{fill:#fff;stroke:#555}
.tsg .grid{stroke:#e8e8e8;fill:none}
.tsg .seg{stroke:#1b1b1b;stroke-width:1;fill:none}
.tsg .retx{stroke-width:2;fill:none}
.tsg .rto{stroke:#e31a1c}
.tsg .frtx{stroke:#ff7f00}
.tsg .tlp{stroke:#6a3d9a}
.tsg .spur{stroke:#b15928}
.tsg .ackline{stroke:#1a9850;stroke-width:1.5;fill:none}
.tsg .winline{stroke:#d4a800;stroke-width:1.5;fill:none}
.tsg .sack{stroke:#d62ab8;stroke-width:2.5;fill:none}
.tsg .zw{stroke:#8c2d04;stroke-width:2;fill:none}
.tsg .zwp{fill:#1f78b4;stroke:#0b3c61;stroke-width:1}
.tsg .ka{stroke:#0fa3b1;stroke-width:2;fill:none}
.tsg .syn{fill:#33a02c;stroke:#145214;stroke-width:1}
.tsg .fin{fill:#fff;stroke:#000;stroke-width:1.5}
.tsg .rst{stroke:#7a0000;stroke-width:2.5;fill:none}
.tsg .lg.rto,.tsg .lg.frtx,.tsg .lg.tlp,.tsg .lg.spur{stroke-width:2;fill:none}
.tsg .retx{stroke-width:2.5}
.tsg g.view *{vector-effect:non-scaling-stroke}
svg.tsg{cursor:grab;touch-action:none}
.tsg .rttdots{fill:#1f78b4;stroke:none}
.tsg .lg.rttdots{stroke:#1f78b4;stroke-width:5}
.tsg .tput{stroke:#1a9850;stroke-width:1.5;fill:none}
.tsg .inflight{stroke:#e31a1c;stroke-width:1.5;fill:none}
.tsg .rwnd{stroke:#d4a800;stroke-width:1.5;fill:none}
p.hint{color:#555;font-size:13px}
)";

// Zoom and pan for every plot (svg[data-x0]): the wheel zooms about the
// pointer, a drag pans, a double-click resets; the tick labels follow. The
// marks sit in g.view, whose transform this changes; the visible data range
// is kept in data-view-x0/x1/y0/y1 (the headless-browser test reads them).
// Inline, no network access.
constexpr const char* kZoomScript = R"(
(function () {
  function nice(range, target) {
    if (!(range > 0)) return 1;
    var raw = range / target, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }
  function dec(step) { return step >= 1 ? 0 : Math.min(9, Math.ceil(-Math.log10(step) - 1e-9)); }
  function ylab(v, step, top, unit) {
    if (v === 0) return '0';
    if (unit !== 'bytes') return v.toFixed(dec(step));
    var a = Math.max(Math.abs(top), Math.abs(v)), div = 1, u = '';
    if (a >= 1e9) { div = 1e9; u = 'G'; } else if (a >= 1e6) { div = 1e6; u = 'M'; }
    else if (a >= 1e4) { div = 1e3; u = 'k'; }
    return (v / div).toFixed(dec(step / div)) + u;
  }
  document.querySelectorAll('svg[data-x0]').forEach(function (svg) {
    var d = svg.dataset, L = +d.l, T = +d.t, W = +d.w, H = +d.h;
    var X0 = +d.x0, X1 = +d.x1, Y0 = +d.y0, Y1 = +d.y1;
    var view = svg.querySelector('g.view'), axes = svg.querySelector('g.axes');
    if (!view || !axes) return;
    var k = 1, tx = 0, ty = 0;  // shown = (tx, ty) + k * drawn, in SVG units
    function draw() {
      view.setAttribute('transform', 'translate(' + tx + ',' + ty + ') scale(' + k + ')');
      var a = (L - tx) / k, b = (L + W - tx) / k, c = (T - ty) / k, e = (T + H - ty) / k;
      var x0 = X0 + (a - L) / W * (X1 - X0), x1 = X0 + (b - L) / W * (X1 - X0);
      var y1 = Y1 - (c - T) / H * (Y1 - Y0), y0 = Y1 - (e - T) / H * (Y1 - Y0);
      d.viewX0 = x0; d.viewX1 = x1; d.viewY0 = y0; d.viewY1 = y1;
      var g = '', t = '', xs = nice(x1 - x0, 10), ys = nice(y1 - y0, 8), i, v, p;
      for (i = Math.ceil(x0 / xs - 1e-9); i * xs <= x1 + 1e-9 * (x1 - x0); i++) {
        p = L + (i * xs - x0) / (x1 - x0) * W;
        g += 'M' + p.toFixed(1) + ',' + T + 'v' + H;
        t += '<text class="xt" x="' + p.toFixed(1) + '" y="' + (T + H + 18) + '">' +
             (i === 0 ? 0 : i * xs).toFixed(dec(xs)) + '</text>';
      }
      for (i = Math.ceil(y0 / ys - 1e-9); i * ys <= y1; i++) {
        v = i === 0 ? 0 : i * ys;
        p = T + H - (v - y0) / (y1 - y0) * H;
        g += 'M' + L + ',' + p.toFixed(1) + 'h' + W;
        t += '<text class="yt" x="' + (L - 6) + '" y="' + (p + 4).toFixed(1) + '">' +
             ylab(v, ys, y1, d.unit) + '</text>';
      }
      axes.innerHTML = '<path class="grid" d="' + g + '"></path>' + t;
    }
    function at(ev) {
      var m = svg.getScreenCTM(), q = svg.createSVGPoint();
      q.x = ev.clientX; q.y = ev.clientY;
      return m ? q.matrixTransform(m.inverse()) : q;
    }
    d.viewX0 = X0; d.viewX1 = X1; d.viewY0 = Y0; d.viewY1 = Y1;
    svg.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      var q = at(ev), nk = Math.min(1e5, Math.max(1, k * Math.exp(-ev.deltaY / 400)));
      tx = q.x - (q.x - tx) * nk / k;  // the point under the pointer stays
      ty = q.y - (q.y - ty) * nk / k;
      k = nk;
      if (k === 1) { tx = 0; ty = 0; }
      draw();
    }, {passive: false});
    var drag = null;
    svg.addEventListener('mousedown', function (ev) {
      if (ev.button !== 0) return;
      drag = {q: at(ev), tx: tx, ty: ty};
      ev.preventDefault();
    });
    window.addEventListener('mousemove', function (ev) {
      if (!drag) return;
      var q = at(ev);
      tx = drag.tx + q.x - drag.q.x;
      ty = drag.ty + q.y - drag.q.y;
      draw();
    });
    window.addEventListener('mouseup', function () { drag = null; });
    svg.addEventListener('dblclick', function () { k = 1; tx = 0; ty = 0; draw(); });
  });
})();
)";

// A detail view around the first retransmission of the direction: the whole
// connection on one axis hides single segments, and the first loss is where
// an engineer looks first (the dup ACKs, the SACK blocks, the resend).
void render_zoom(std::string& out, const Flow& f, const std::string& id, const FlowPlot* fp,
                 html::PlotRequest req) {
  constexpr LabelSet kRetx = bit(Label::kRetransmission) | bit(Label::kFastRetransmission) |
                             bit(Label::kTailLossProbe) | bit(Label::kSpuriousRetransmission);
  std::vector<size_t> own;
  size_t first = SIZE_MAX, first_probe = SIZE_MAX;
  for (size_t k = 0; k < fp->pts.size(); ++k) {
    const PlotPoint& p = fp->pts[k];
    if (p.dir != req.space) continue;
    if (first == SIZE_MAX && (p.labels & kRetx) && p.len > 0) first = own.size();
    if (first_probe == SIZE_MAX && has(p.labels, Label::kZeroWindowProbe)) {
      first_probe = own.size();
    }
    own.push_back(k);
  }
  // Without a resend, the window closing and the first zero-window probes.
  const bool probe = first == SIZE_MAX;
  if (probe) first = first_probe;
  if (first == SIZE_MAX || own.size() < 40) return;
  // 40 of the direction's segments before and 80 after: about a window's
  // worth on each side in a bulk transfer; 4 probes after a closed window.
  const size_t a = first >= 40 ? first - 40 : 0;
  const size_t b = std::min(own.size() - 1, first + (probe ? 4 : 80));
  const PlotPoint& rx = fp->pts[own[first]];
  const char* what = probe ? "first zero-window probe" : "first retransmission";
  req.zoom = true;
  req.zoom_lo_ns = fp->pts[own[a]].t_ns;
  req.zoom_hi_ns = std::max(fp->pts[own[b]].t_ns, req.zoom_lo_ns + 1'000'000);
  req.id += "z";
  req.heading = "Flow " + id + ", " + std::string(side(req.space)) + " \xe2\x86\x92 " +
                side(1 - req.space) + ": detail around the " + what + " (frame " +
                std::to_string(rx.frame) + ")";
  out += "<figure id=\"plot-" + req.id + "\">\n";
  html::render_plot(out, req);
  out += "<figcaption>Detail: " + secs(Instant::from_ns(req.zoom_lo_ns - req.t0_ns)) +
         "\xe2\x80\x93" + secs(Instant::from_ns(req.zoom_hi_ns - req.t0_ns)) +
         " s of the flow, the " + std::to_string(b - a + 1) + " segments from the " +
         side(req.space) + " around frame " + std::to_string(rx.frame) + " (" +
         escape(endpoint(f, req.space)) + ").</figcaption>\n</figure>\n";
}

// Wireshark's other TCP stream graphs, for the bytes sent by `d`, from the
// kept points (thinning leaves fewer RTT samples and coarser steps, never
// wrong values): round-trip time, throughput, bytes in flight against the
// receive window (issue 13 point 11).
void render_extra(std::string& out, const std::string& id, const FlowPlot* fp, int d) {
  constexpr LabelSet kRetx = bit(Label::kRetransmission) | bit(Label::kFastRetransmission) |
                             bit(Label::kTailLossProbe) | bit(Label::kSpuriousRetransmission);
  const double t0 = static_cast<double>(fp->first_ns) / 1e9;
  const double span = static_cast<double>(fp->last_ns - fp->first_ns) / 1e9;
  auto sec = [&](int64_t t_ns) { return static_cast<double>(t_ns) / 1e9 - t0; };
  html::Series rtt{"rttdots", "segment sent once \xe2\x86\x92 the ACK covering it", true, {}};
  html::Series tput{"tput", "bytes acknowledged per interval (goodput)", false, {}};
  html::Series flight{"inflight", "bytes in flight (sent, not yet acknowledged)", false, {}};
  html::Series rwnd{"rwnd", "receive window advertised by the peer", false, {}};
  // RTT (Karn's rule, RFC 6298 §3: a resend makes the open samples ambiguous).
  std::vector<std::pair<int64_t, int64_t>> open;  // (end, time) of segments sent once
  bool have_ack = false, have_sent = false;
  int64_t ack_max = 0, snd_max = 0;
  uint32_t win = 0;
  // Throughput: the ACK line's rise over 100 equal intervals of the flow.
  constexpr int kBins = 100;
  const double bin = std::max(span / kBins, 1e-6);
  std::vector<int64_t> bin_ack(kBins + 1, INT64_MIN);
  int64_t first_ack = 0;
  for (const PlotPoint& p : fp->pts) {
    const bool probe = has(p.labels, Label::kKeepalive) || has(p.labels, Label::kZeroWindowProbe);
    if (p.dir == d) {
      const int64_t end = p.seq + p.len + (has(p.labels, Label::kSyn) ? 1 : 0) +
                          (has(p.labels, Label::kFin) ? 1 : 0);
      if (p.labels & kRetx) {
        open.clear();
      } else if (!probe && end > p.seq && (open.empty() || end > open.back().first) &&
                 open.size() < 4096) {
        open.emplace_back(end, p.t_ns);
      }
      if (end > p.seq && (!have_sent || end > snd_max)) {
        have_sent = true;
        snd_max = end;
      }
    } else if (p.has_ack) {
      size_t covered = 0;
      while (covered < open.size() && open[covered].first <= p.ack) ++covered;
      if (covered > 0) {
        rtt.pts.emplace_back(sec(p.t_ns),
                             static_cast<double>(p.t_ns - open[covered - 1].second) / 1e6);
        open.erase(open.begin(), open.begin() + static_cast<std::ptrdiff_t>(covered));
      }
      if (!have_ack) first_ack = p.ack;
      if (!have_ack || p.ack >= ack_max) {
        ack_max = p.ack;
        win = p.window;
      }
      have_ack = true;
      const auto b = std::clamp(static_cast<int>(sec(p.t_ns) / bin), 0, kBins);
      bin_ack[static_cast<size_t>(b)] = std::max(bin_ack[static_cast<size_t>(b)], ack_max);
    }
    if (have_ack && have_sent) {
      flight.pts.emplace_back(sec(p.t_ns),
                              static_cast<double>(std::max<int64_t>(0, snd_max - ack_max)));
      rwnd.pts.emplace_back(sec(p.t_ns), static_cast<double>(win));
    }
  }
  if (have_ack) {
    int64_t prev = first_ack;
    for (int b = 0; b < kBins; ++b) {
      const int64_t now = std::max(prev, bin_ack[static_cast<size_t>(b)]);
      tput.pts.emplace_back(b * bin, static_cast<double>(now - prev) * 8 / bin / 1e6);
      prev = now;
    }
  }
  const std::string who = std::string(side(d)) + " \xe2\x86\x92 " + side(1 - d);
  auto one = [&](const char* key, const std::string& what, const char* y_title, const char* unit,
                 std::vector<html::Series> series) {
    html::SeriesRequest req;
    req.id = "g-f" + id + "d" + std::to_string(d) + key;
    req.heading = "Flow " + id + ", " + who + ": " + what;
    req.y_title = y_title;
    req.unit = unit;
    req.x0 = 0;
    req.x1 = std::max(span, 1e-6);
    req.series = std::move(series);
    out += "<figure class=\"graph\">\n";
    html::render_series(out, req);
    out += "</figure>\n";
  };
  one("rtt", "round-trip time (" + std::to_string(rtt.pts.size()) + " samples)", "RTT (ms)", "ms",
      {rtt});
  one("tput", "throughput", "Mbit/s", "Mbit/s", {tput});
  one("flight", "bytes in flight and the receive window", "bytes", "bytes", {rwnd, flight});
}

// The time-sequence graph(s) of one flow and the thinning note.
void render_plots(std::string& out, const Flow& f, const std::string& id, const FlowPlot* fp,
                  size_t max_points) {
  out += "<h3>Time-sequence graph</h3>\n";
  if (fp == nullptr || !fp->any) {
    out += "<p class=\"meta\">No segments recorded for this flow.</p>\n";
    return;
  }
  // Every direction that carries data, most bytes first; with no data at
  // all, the busier direction, so its control segments and probes show.
  std::vector<int> dirs;
  for (int d = 0; d < 2; ++d) {
    if (fp->bytes[d] > 0) dirs.push_back(d);
  }
  if (dirs.size() == 2 && fp->bytes[1] > fp->bytes[0]) std::swap(dirs[0], dirs[1]);
  const bool no_data = dirs.empty();
  if (no_data) dirs.push_back(fp->sent[1] > fp->sent[0] ? 1 : 0);
  for (int d : dirs) {
    html::PlotRequest req;
    req.points = &fp->pts;
    req.space = d;
    req.t0_ns = fp->first_ns;
    req.t1_ns = fp->last_ns;
    req.extent = fp->extent[d];
    req.scale_known = f.scale_known;
    req.id = "f" + id + "d" + std::to_string(d);
    req.heading = "Flow " + id + ", " + std::string(side(d)) + " \xe2\x86\x92 " + side(1 - d) +
                  ": " +
                  (no_data ? "no payload either way (control segments and probes)"
                           : std::to_string(fp->bytes[d]) + " payload bytes sent");
    out += "<figure id=\"plot-" + req.id + "\">\n";
    const html::PlotStats ps = html::render_plot(out, req);
    out += "<figcaption>Bytes sent by the " + std::string(side(d)) + " (" + escape(endpoint(f, d)) +
           ") against time; ACK and window lines from the " + side(1 - d) + ". " +
           std::to_string(ps.marks) + " marks, " + std::to_string(ps.retransmissions) +
           " retransmissions." +
           (f.scale_known ? "" : " Window line unscaled (window scale unknown).") +
           "</figcaption>\n</figure>\n";
    render_zoom(out, f, id, fp, req);
    if (!no_data) {
      out +=
          "<details class=\"graphs\" open><summary>Round-trip time, throughput, bytes in "
          "flight</summary>\n";
      render_extra(out, id, fp, d);
      out += "</details>\n";
    }
  }
  const uint64_t total = fp->seen[0] + fp->seen[1];
  if (fp->pts.size() < total) {
    std::string s = "Plot thinned to stay within " + std::to_string(max_points) +
                    " points per flow: " + std::to_string(fp->pts.size()) + " of " +
                    std::to_string(total) + " segments drawn. Plain data/ACK segments: ";
    if (fp->drop_all[0]) {
      s += "none of " + std::to_string(fp->seen[0]) + " kept";
    } else {
      s += "every " + ordinal(fp->stride[0]) + " of " + std::to_string(fp->seen[0]) + " kept (" +
           std::to_string(fp->kept[0]) + ")";
    }
    s += "; labelled segments (retransmissions, probes, keepalives, SYN/FIN/RST, zero "
         "window): ";
    if (fp->stride[1] == 1) {
      s += "all " + std::to_string(fp->seen[1]) + " kept.";
    } else {
      s += "every " + ordinal(fp->stride[1]) + " of " + std::to_string(fp->seen[1]) + " kept (" +
           std::to_string(fp->kept[1]) + ").";
    }
    out += "<p class=\"thinned\" data-drawn=\"" + std::to_string(fp->pts.size()) +
           "\" data-total=\"" + std::to_string(total) + "\">" + s + "</p>\n";
  }
}

// Long lists fold into <details> (open/close works without script).
constexpr size_t kFoldAfter = 6;

void render_story(std::string& out, const Story& st) {
  out += "<h3>Story</h3>\n<ul class=\"story\">\n";
  out += "<li>Ending: " + escape(st.ending) + "</li>\n";
  if (st.established_frame) {
    out += "<li>Established at frame " + std::to_string(*st.established_frame) + " (" +
           secs(st.established_time) + " s).</li>\n";
  }
  for (const auto& k : st.keepalive) {
    out += "<li>Keepalive from the " + std::string(side(k.dir)) + ": idle " +
           format_duration(k.idle) + " before the first probe, " +
           (k.interval == Duration::zero() ? std::string("interval not seen (every probe answered)")
                                           : "interval " + format_duration(k.interval)) +
           ", " + std::to_string(k.probes) + " probe" + (k.probes == 1 ? "" : "s") +
           (k.answered ? ", answered" : ", unanswered") + " (frames " +
           frames_text(k.frames, k.probes) + ").</li>\n";
  }
  for (const auto& p : st.persist) {
    out += "<li>Zero-window probing by the " + std::string(side(p.dir)) + " from " + secs(p.start) +
           " s to " + secs(p.end) + " s, " + std::to_string(p.probes) + " probes: gaps " +
           gaps_text(p.gaps, p.probes) + " (frames " + frames_text(p.frames, p.probes) +
           ").</li>\n";
  }
  if (st.initial_rto_estimate != Duration::zero() || st.min_rto_estimate != Duration::zero() ||
      st.max_rto_estimate != Duration::zero()) {
    std::string s;
    auto item = [&s](const char* name, Duration d) {
      if (d == Duration::zero()) return;
      s += std::string(s.empty() ? "" : ", ") + name + " " + format_duration(d);
    };
    item("initial", st.initial_rto_estimate);
    item("minimum", st.min_rto_estimate);
    item("maximum", st.max_rto_estimate);
    out += "<li>Inferred RTO (from the timeout retransmissions): " + s + ".</li>\n";
  }
  if (!st.rto.empty()) {
    std::string items;
    uint64_t resends = 0;
    for (const auto& b : st.rto) {
      const uint64_t n = std::max<uint64_t>(b.retransmissions, b.frames.size());
      resends += n;
      items += "<li>" + std::string(b.syn ? "SYN" : "Seq " + std::to_string(b.rel_seq)) +
               " from the " + side(b.dir) + ": " + std::to_string(n) + " timeout retransmission" +
               (n == 1 ? "" : "s") + ", gaps " + gaps_text(b.gaps, n) + " (frames " +
               frames_text(b.frames, n) + ").</li>\n";
    }
    const std::string head =
        "RTO back-off (RFC 6298 \xc2\xa7"
        "5.5): " +
        std::to_string(st.rto.size()) + " segment" + (st.rto.size() == 1 ? "" : "s") +
        " resent on timeout, " + std::to_string(resends) + " retransmission" +
        (resends == 1 ? "" : "s") + " in all";
    if (st.rto.size() <= kFoldAfter) {
      out += "<li>" + head + ":<ul>\n" + items + "</ul></li>\n";
    } else {
      out += "<li><details><summary>" + head + " (list)</summary><ul>\n" + items +
             "</ul></details></li>\n";
    }
  }
  if (st.series_omitted > 0) {
    out += "<li>" + std::to_string(st.series_omitted) +
           " more keepalive/persist/RTO series not kept (story limits).</li>\n";
  }
  if (!st.idle_periods.empty()) {
    std::string s;
    for (size_t k = 0; k < st.idle_periods.size(); ++k) {
      const auto& [a, b] = st.idle_periods[k];
      s += "<li>" + secs(a) + "\xe2\x80\x93" + secs(b) + " s (" + format_duration(b - a) +
           ")</li>\n";
    }
    const uint64_t total = st.idle_periods.size() + st.idle_periods_omitted;
    const std::string head =
        "Idle (no packet either way for 1 s or more): " + std::to_string(total) + " period" +
        (total == 1 ? "" : "s") +
        (st.idle_periods_omitted
             ? " (the first " + std::to_string(st.idle_periods.size()) + " listed)"
             : "");
    if (st.idle_periods.size() <= kFoldAfter) {
      out += "<li>" + head + ":<ul>\n" + s + "</ul></li>\n";
    } else {
      out += "<li><details><summary>" + head + "</summary><ul>\n" + s + "</ul></details></li>\n";
    }
  }
  out += "</ul>\n";
}

// A flow's summary columns in the table of flows (each followed by <td>).
std::string summary_cells(const FlowSummary& x) {
  const double pct = x.retransmission_pct();
  char pct_text[32] = "-";
  if (pct >= 0) std::snprintf(pct_text, sizeof pct_text, "%.1f%%", pct);
  return std::to_string(x.bytes[0]) + "<td>" + std::to_string(x.bytes[1]) + "<td>" +
         format_duration(x.duration) + "<td>" + format_rate(x.goodput_bps(0)) + "<td>" +
         format_rate(x.goodput_bps(1)) + "<td>" +
         (x.rtt_samples == 0 ? std::string("-")
                             : format_duration(x.rtt_min) + " / " + format_duration(x.rtt_avg()) +
                                   " / " + format_duration(x.rtt_max)) +
         "<td>" + pct_text + "<td>" +
         (x.zero_window == Duration::zero() ? std::string("-") : format_duration(x.zero_window)) +
         "<td>" + escape(x.end) +
         (x.end_dir < 0    ? ""
          : x.end_dir == 0 ? " (client)"
                           : " (server)") +
         "<td>";
}

void render_findings(std::string& out, const Story& st) {
  out += "<h3>Findings</h3>\n";
  if (st.findings.empty()) {
    out += "<p class=\"meta\">No RFC 2525 problem found.</p>\n";
    return;
  }
  out +=
      "<table class=\"findings\">\n<tr><th>section</th><th>problem</th>"
      "<th>confidence</th><th>detail</th><th>evidence frames</th></tr>\n";
  for (const auto& fd : st.findings) {
    char conf[16];
    std::snprintf(conf, sizeof conf, "%.0f%%", fd.confidence * 100);
    out += "<tr><td>" + escape(fd.rfc_section) + "</td><td>" + escape(fd.problem) + "</td><td>" +
           conf + "</td><td>" + escape(fd.detail) + "</td><td>" + frames_text(fd.frames) +
           "</td></tr>\n";
  }
  out += "</table>\n";
  if (st.findings_omitted > 0) {
    out += "<p class=\"meta\">" + std::to_string(st.findings_omitted) +
           " more findings not kept (story limits).</p>\n";
  }
}

}  // namespace

namespace html {

void FlowPlot::enforce(size_t max) {
  while (pts.size() > max) {
    int cls = 1;
    if (kept[0] > 0) {
      cls = 0;
      // Index 0 of each direction survives any stride: once the stride
      // passes every index seen, only dropping the class makes room.
      if (stride[0] <= std::max(seen_plain_dir[0], seen_plain_dir[1])) {
        stride[0] *= 2;
      } else {
        drop_all[0] = true;
      }
    } else {
      stride[1] *= 2;
    }
    std::erase_if(pts, [&](const PlotPoint& p) {
      const int c = p.special ? 1 : 0;
      return c == cls && !keeps(c, p.index);
    });
    kept[0] = kept[1] = 0;
    for (const auto& p : pts) ++kept[p.special ? 1 : 0];
  }
}

void FlowPlot::add(const PacketLabels& p, size_t max_points) {
  // A capture duplicate would plot a resend that never happened and count
  // its bytes twice.
  if (has(p.labels, Label::kCaptureDuplicate)) return;
  FlowPlot& f = *this;
  const int dir = p.dir == 0 ? 0 : 1;
  const int64_t t = p.time.ns();
  if (!f.any) {
    f.any = true;
    f.first_ns = f.last_ns = t;
  }
  f.first_ns = std::min(f.first_ns, t);
  f.last_ns = std::max(f.last_ns, t);
  ++f.sent[dir];
  const bool probe = has(p.labels, Label::kKeepalive) || has(p.labels, Label::kZeroWindowProbe);
  if (!probe) f.bytes[dir] += p.len;

  PlotPoint q;
  q.frame = p.frame;
  q.t_ns = t;
  q.dir = static_cast<uint8_t>(dir);
  q.labels = p.labels;
  q.len = p.len;
  q.window = p.window;
  q.seq = f.unwrap(dir, p.rel_seq);
  // A bare SYN carries no ACK; neither does a RST without the ACK bit, which
  // the labels do not record: take a RST's zero ACK as absent.
  q.has_ack = !has(p.labels, Label::kSyn) && !(has(p.labels, Label::kRst) && p.rel_ack == 0);
  if (q.has_ack) q.ack = f.unwrap(1 - dir, p.rel_ack);
  q.sack_count = std::min<uint8_t>(p.sack_count, 4);
  for (uint8_t i = 0; i < q.sack_count; ++i) {
    q.rel_sack[i][0] = p.rel_sack[i][0];
    q.rel_sack[i][1] = p.rel_sack[i][1];
  }

  // Extents over everything, thinned or not, so the axes never shrink.
  html::SpaceExtent& own = f.extent[dir];
  own.take(q.seq, &own.data_hi);
  own.take(q.seq + p.len + (has(p.labels, Label::kFin) ? 1 : 0), &own.data_hi);
  if (q.has_ack) {
    html::SpaceExtent& peer = f.extent[1 - dir];
    peer.take(q.ack, &peer.ack_hi);
    peer.take(q.ack + p.window, &peer.win_hi);
    for (uint8_t i = 0; i < q.sack_count; ++i) {
      peer.take(q.ack + static_cast<int32_t>(q.rel_sack[i][1] - static_cast<uint32_t>(q.ack)),
                &peer.ack_hi);
    }
  }

  q.special = (p.labels & html::special_labels()) != 0;
  const int cls = q.special ? 1 : 0;
  ++f.seen[cls];
  q.index = q.special ? f.seen[1] - 1 : f.seen_plain_dir[dir]++;
  if (!f.keeps(cls, q.index)) return;
  f.pts.push_back(q);
  ++f.kept[cls];
  f.enforce(max_points);
}

}  // namespace html

struct HtmlReport::Impl {
  size_t max_points = 0;
  std::deque<FlowPlot> flows;  // add()'s points; a deque: growing never copies or doubles
  // One table row per flow added: what the table shows and how the flow
  // ranks (docs/analyze-html.md, "Size budget").
  struct Row {
    std::string cells;    // the summary columns, as the table shows them
    uint32_t ending = 0;  // into endings: a few distinct texts for 200,000 flows
    uint64_t packets = 0;
    bool problem = false;
    bool added = false;
  };
  // One allocation a row, made as the flow's own analysis state is freed
  // (FlowPipeline::take): small enough to reuse its memory.
  std::vector<std::unique_ptr<Row>> rows;
  std::vector<std::string> endings;
  std::unordered_map<std::string, uint32_t> ending_ids;
  bool summaries = true;  // every flow added had a summary
  // The story and points of the flows that would get a section so far:
  // at most kMaxSections, ranked as render() orders them.
  struct Key {
    bool problem;
    uint64_t packets;
    size_t flow;
  };
  struct MoreImportant {
    bool operator()(const Key& a, const Key& b) const {
      if (a.problem != b.problem) return a.problem;
      if (a.packets != b.packets) return a.packets > b.packets;
      return a.flow < b.flow;
    }
  };
  struct Detail {
    bool has_story = false;
    Story story;
    std::unique_ptr<FlowPlot> plot;
  };
  std::set<Key, MoreImportant> ranked;
  std::map<size_t, Detail> detail;

  Row& row(size_t i) {
    if (i >= rows.size()) rows.resize(i + 1);
    if (!rows[i]) rows[i] = std::make_unique<Row>();
    return *rows[i];
  }
  uint32_t intern(const std::string& e) {
    const auto [it, inserted] = ending_ids.try_emplace(e, static_cast<uint32_t>(endings.size()));
    if (inserted) endings.push_back(e);
    return it->second;
  }
};

HtmlReport::HtmlReport(size_t max_points_per_flow) : impl_(std::make_unique<Impl>()) {
  impl_->max_points = std::max<size_t>(max_points_per_flow, 1);
}
HtmlReport::~HtmlReport() = default;

void HtmlReport::add(const Flow& /*flow*/, const PacketLabels& p) {
  if (p.flow >= impl_->flows.size()) impl_->flows.resize(p.flow + 1);
  impl_->flows[p.flow].add(p, impl_->max_points);
}

void HtmlReport::add_flow(size_t i, const Flow& flow, Story&& story, const FlowSummary& summary,
                          std::unique_ptr<FlowPlot> plot) {
  add_flow_impl(i, flow, &story, &story, &summary, std::move(plot));
}

void HtmlReport::add_flow(size_t i, const Flow& flow, const Story* story,
                          const FlowSummary* summary, std::unique_ptr<FlowPlot> plot) {
  add_flow_impl(i, flow, story, nullptr, summary, std::move(plot));
}

void HtmlReport::add_flow_impl(size_t i, const Flow& flow, const Story* story, Story* movable,
                               const FlowSummary* summary, std::unique_ptr<FlowPlot> plot) {
  Impl& m = *impl_;
  Impl::Row& r = m.row(i);
  if (r.added) return;
  r.added = true;
  r.packets = flow.packets;
  r.ending = m.intern(story != nullptr ? story->ending : flow.end.how);
  if (summary != nullptr) {
    r.cells = summary_cells(*summary);
  } else {
    m.summaries = false;
  }
  // A problem: a finding, a retransmission, a zero window, a RST.
  r.problem = (story != nullptr &&
               (!story->findings.empty() || !story->rto.empty() || !story->persist.empty())) ||
              (summary != nullptr &&
               (summary->retransmitted > 0 || summary->zero_window > Duration::zero())) ||
              flow.end.how == "rst";
  if (!plot && i < m.flows.size()) {
    plot = std::make_unique<FlowPlot>(std::move(m.flows[i]));
    m.flows[i] = FlowPlot{};
  }
  // Keep the detail only while the flow is among the kMaxSections most
  // important so far; the least important one makes room.
  const Impl::Key k{r.problem, r.packets, i};
  if (m.ranked.size() >= kMaxSections) {
    const auto last = std::prev(m.ranked.end());
    if (!Impl::MoreImportant{}(k, *last)) return;
    m.detail.erase(last->flow);
    m.ranked.erase(last);
  }
  m.ranked.insert(k);
  Impl::Detail& d = m.detail[i];
  d.has_story = story != nullptr;
  if (story != nullptr) d.story = movable != nullptr ? std::move(*movable) : *story;
  d.plot = std::move(plot);
}

size_t HtmlReport::detailed() const { return impl_->detail.size(); }

void HtmlReport::render_section(std::string& out, size_t i, const Flow& f, const Story* story,
                                const FlowPlot* fp) const {
  {
    const std::string id = std::to_string(i);
    out += "<section class=\"flow\" id=\"flow-" + id + "\">\n";
    out += "<h2>Flow " + id + ": " + escape(endpoint(f, 0)) + " \xe2\x86\x92 " +
           escape(endpoint(f, 1)) + "</h2>\n";
    out += "<p class=\"meta\">client " + escape(endpoint(f, 0)) + " (" +
           (f.saw_syn ? "sent the SYN" : "sent first") + "), server " + escape(endpoint(f, 1)) +
           "; " + std::to_string(f.packets) + " packets; first " + secs(f.first) + " s, last " +
           secs(f.last) + " s (" + format_duration(f.last - f.first) +
           "); ended: " + escape(f.end.how) +
           (f.end.frame ? " at frame " + std::to_string(f.end.frame) : "") + "</p>\n";
    // The tunnels the flow came through (issue 13 point 4), as text and
    // --json give them.
    if (!f.via.empty()) out += "<p class=\"meta via\">via " + escape(f.via) + "</p>\n";
    if (!f.saw_syn) {
      out +=
          "<p class=\"meta warn\">Handshake not captured: the capture starts "
          "mid-connection; sequence numbers are relative to the first ones seen.</p>\n";
    }
    if (!f.scale_known) {
      out += "<p class=\"meta warn\">Window scale unknown: windows are shown unscaled.</p>\n";
    }

    render_plots(out, f, id, fp, impl_->max_points);
    if (story != nullptr) {
      render_story(out, *story);
      render_findings(out, *story);
    }
    out += "</section>\n";
  }
}

std::string HtmlReport::render(const std::string& title, const std::vector<Flow>& flows,
                               const std::vector<Story>& stories,
                               const std::vector<FlowSummary>* summaries,
                               const std::vector<char>* only) {
  const bool sum = summaries != nullptr && summaries->size() == flows.size();
  for (size_t i = 0; i < flows.size(); ++i) {
    if (only != nullptr && (i >= only->size() || (*only)[i] == 0)) continue;
    add_flow(i, flows[i], i < stories.size() ? &stories[i] : nullptr,
             sum ? &(*summaries)[i] : nullptr);
  }
  std::string page;
  render(title, flows, only, [&page](std::string_view s) { page += s; });
  return page;
}

void HtmlReport::render(const std::string& title, const std::vector<Flow>& flows,
                        const std::vector<char>* only,
                        const std::function<void(std::string_view)>& write) {
  const Impl& m = *impl_;
  std::string out;
  out.reserve(size_t{1} << 17);
  // The page goes out in pieces of about 64 KB: 200,000 table rows are
  // 30 MB (issue 13 point 10).
  auto flush = [&](bool force) {
    if (force || out.size() >= (size_t{1} << 16)) {
      write(out);
      out.clear();
    }
  };
  const std::string t = escape(title);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"generator\" content=\"vigil analyze --html\">\n";
  out += "<title>vigil analyze: " + t + "</title>\n<style>" + std::string(kStyle) +
         "</style>\n</head>\n<body>\n";
  out += "<h1>vigil analyze: " + t + "</h1>\n";
  auto selected = [&](size_t i) {
    return only == nullptr || (i < only->size() && (*only)[i] != 0);
  };
  size_t n = 0;  // the flows on the page
  bool any_added = false;
  for (size_t i = 0; i < flows.size(); ++i) {
    if (!selected(i)) continue;
    ++n;
    any_added = any_added || (i < m.rows.size() && m.rows[i] && m.rows[i]->added);
  }
  if (n == 0) {
    out += flows.empty()
               ? "<p class=\"empty\" id=\"no-flows\">No TCP connections in this capture.</p>\n"
               : "<p class=\"empty\" id=\"no-flows\">No flow matches --flow.</p>\n";
    out += "</body>\n</html>\n";
    flush(true);
    return;
  }
  out +=
      "<p class=\"meta\">" + std::to_string(n) + " TCP connection" + (n == 1 ? "" : "s") +
      (n == flows.size() ? "" : " (--flow; the capture has " + std::to_string(flows.size()) + ")") +
      ". Hover over a mark in a graph for its frame number, time and labels.</p>\n"
      "<p class=\"hint\">In every graph: the mouse wheel zooms about the pointer, a drag "
      "pans, a double-click shows the whole flow again.</p>\n";
  const bool sum = m.summaries && any_added;
  auto row = [&](size_t i) -> const Impl::Row* {
    return i < m.rows.size() && m.rows[i] && m.rows[i]->added ? m.rows[i].get() : nullptr;
  };
  // Size budget (issue 13 point 10): every flow has a row in the table, but
  // only the flows that matter get a section with graphs: those with a
  // problem (a finding, a retransmission, a zero window, a RST), most
  // packets first, then the largest others, at most kMaxSections of them
  // and while the sections stay within kSectionBytes. add_flow() kept the
  // detail of just those (m.ranked, in this order).
  auto problem = [&](size_t i) {
    const Impl::Row* r = row(i);
    return r != nullptr ? r->problem : flows[i].end.how == "rst";
  };
  std::map<size_t, std::string> sections;
  size_t section_bytes = 0, shown_count = 0, shown_problems = 0;
  for (const Impl::Key& k : m.ranked) {
    const size_t i = k.flow;
    if (i >= flows.size() || !selected(i)) continue;
    const auto d = m.detail.find(i);
    std::string sec;
    render_section(sec, i, flows[i], d->second.has_story ? &d->second.story : nullptr,
                   d->second.plot.get());
    if (section_bytes + sec.size() > kSectionBytes && shown_count > 0) break;
    section_bytes += sec.size();
    sections[i] = std::move(sec);
    ++shown_count;
    shown_problems += k.problem ? 1 : 0;
  }
  if (shown_count < n) {
    uint64_t problems = 0;
    for (size_t i = 0; i < flows.size(); ++i) problems += selected(i) && problem(i) ? 1 : 0;
    out += "<p class=\"meta warn\" id=\"left-out\" data-shown=\"" + std::to_string(shown_count) +
           "\" data-flows=\"" + std::to_string(n) + "\">Graphs and stories for " +
           std::to_string(shown_count) + " of " + std::to_string(n) +
           " flows (the report's size budget: at most " + std::to_string(kMaxSections) +
           " sections, " + std::to_string(kSectionBytes >> 20) +
           " MB): " + std::to_string(shown_problems) + " of the " + std::to_string(problems) +
           " flows with a problem (a finding, a retransmission, a zero window or a RST), most "
           "packets first, then the largest others. The other " +
           std::to_string(n - shown_count) +
           " flows are only in the table below; `vigil analyze --json` has every flow's "
           "story.</p>\n";
  }
  out += "<section id=\"summary\">\n<h2>Summary</h2>\n";
  if (sum) {
    out +=
        "<p class=\"meta\">Columns as defined in docs/analyze-json.md: goodput is the distinct "
        "payload bytes the peer acknowledged over the flow's duration; RTT from a segment sent "
        "once to the ACK covering it, seen from the capture point.</p>\n";
  }
  out += "<table class=\"toc\">\n<tr><th>flow</th><th>client</th><th>server</th><th>packets</th>";
  if (sum) {
    out +=
        "<th>bytes c\xe2\x86\x92s</th><th>bytes s\xe2\x86\x92"
        "c</th><th>duration</th>"
        "<th>goodput c\xe2\x86\x92s</th><th>goodput s\xe2\x86\x92"
        "c</th>"
        "<th>RTT min/avg/max</th><th>retransmitted</th><th>zero window</th><th>end</th>";
  }
  out += "<th>ending</th></tr>\n";
  for (size_t i = 0; i < flows.size(); ++i) {
    if (!selected(i)) continue;
    const Flow& f = flows[i];
    // End tags of td and tr are optional (HTML living standard §13.1.2.4):
    // left out, 200,000 rows are 10 MB smaller.
    const bool shown = sections.count(i) != 0;
    out += shown ? "<tr><td><a href=\"#flow-" + std::to_string(i) + "\">" + std::to_string(i) +
                       "</a><td>"
                 : "<tr><td>" + std::to_string(i) + "<td>";
    out += escape(endpoint(f, 0)) + "<td>" + escape(endpoint(f, 1)) + "<td>" +
           std::to_string(f.packets) + "<td>";
    const Impl::Row* rw = row(i);
    if (sum) {
      if (rw != nullptr) {
        out += rw->cells;
      } else {
        out += summary_cells(FlowSummary{});
      }
    }
    out += escape(rw != nullptr ? m.endings[rw->ending] : f.end.how) + "\n";
    flush(false);
  }
  out += "</table>\n</section>\n";

  for (const auto& [i, sec] : sections) {
    out += sec;
    flush(false);
  }
  out += "<script>" + std::string(kZoomScript) + "</script>\n</body>\n</html>\n";
  flush(true);
}

}  // namespace vigil::analyze
