// The SVG time-sequence graph (tcptrace / Stevens style) of one direction of
// one flow: x = seconds since the flow's first packet, y = relative
// sequence number. Data segments are vertical bars from SEG.SEQ to
// SEG.SEQ+LEN; the reverse direction's cumulative ACK is a step line and
// ACK + window (the right edge of what the receiver allows, RFC 9293 §3.8.6)
// a second step line above it, so a sender pressed against the window and a
// closed window are visible at a glance.
#include "analyze/html_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "util/json.hpp"
#include "vigil/time.hpp"

namespace vigil::analyze::html {

namespace {

constexpr double kWidth = 1100, kLeft = 96, kRight = 24, kTop = 40, kPlotH = 440;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kAxisH = 52;  // tick labels + axis title under the plot
constexpr int kLegendPerRow = 4;
constexpr double kLegendRowH = 22;

constexpr LabelSet kRetxFamily = bit(Label::kRetransmission) | bit(Label::kFastRetransmission) |
                                 bit(Label::kTailLossProbe) | bit(Label::kSpuriousRetransmission);

// Mark kinds: CSS class, legend text. The order is the legend's.
enum Kind : unsigned {
  kSeg,
  kRto,
  kFast,
  kTlp,
  kSpur,
  kAckLine,
  kWinLine,
  kSack,
  kZw,
  kZwp,
  kKa,
  kSyn,
  kFin,
  kRst,
  kKinds
};
struct KindInfo {
  const char* cls;
  const char* legend;
};
constexpr KindInfo kKindInfo[kKinds] = {
    {"seg", "data segment (SEQ to SEQ+LEN)"},
    {"retx rto", "retransmission"},
    {"retx frtx", "fast retransmission"},
    {"retx tlp", "tail-loss probe"},
    {"retx spur", "spurious retransmission"},
    {"ackline", "ACK from the receiver"},
    {"winline", "ACK + advertised window"},
    {"sack", "SACK block"},
    {"zw", "zero window advertised"},
    {"zwp", "zero-window probe"},
    {"ka", "keepalive probe"},
    {"syn", "SYN / SYN-ACK"},
    {"fin", "FIN"},
    {"rst", "RST"},
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target`
// ticks over `range`.
double nice_step(double range, int target) {
  if (!(range > 0)) return 1;
  const double raw = range / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

int decimals_for(double step) {
  if (step >= 1) return 0;
  return std::min(9, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

std::string time_label(double s, double step) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals_for(step), s);
  return buf;
}

// Sequence tick labels: bytes, with k/M/G once the numbers get long.
std::string seq_label(double v, double step, double top) {
  const double a = std::max(std::fabs(top), std::fabs(v));
  double div = 1;
  const char* unit = "";
  if (v == 0) return "0";
  if (a >= 1e9) {
    div = 1e9;
    unit = "G";
  } else if (a >= 1e6) {
    div = 1e6;
    unit = "M";
  } else if (a >= 1e4) {
    div = 1e3;
    unit = "k";
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals_for(step / div), v / div, unit);
  return buf;
}

std::string dir_name(int d) { return d == 0 ? "client" : "server"; }

// What the page's script needs to zoom, pan and relabel a plot (kZoomScript):
// the plot area in SVG units and the data range it shows.
std::string zoom_attrs(double x0, double x1, double y0, double y1, const char* unit) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                " data-l=\"%g\" data-t=\"%g\" data-w=\"%g\" data-h=\"%g\" data-x0=\"%.9g\" "
                "data-x1=\"%.9g\" data-y0=\"%.9g\" data-y1=\"%.9g\" data-unit=\"%s\"",
                kLeft, kTop, kPlotW, kPlotH, x0, x1, y0, y1, unit);
  return buf;
}

std::string tooltip(const PlotPoint& p, int64_t t0_ns) {
  std::string s = "frame " + std::to_string(p.frame) + "\n";
  s += format_seconds(Instant::from_ns(p.t_ns)) + " s (+" +
       format_seconds(Instant::from_ns(p.t_ns - t0_ns)) + " s in the flow)\n";
  s += dir_name(p.dir) + (p.dir == 0 ? " \xe2\x86\x92 server" : " \xe2\x86\x92 client");
  s += ": seq " + std::to_string(p.seq);
  if (p.len > 0) s += ":" + std::to_string(p.seq + p.len) + " (" + std::to_string(p.len) + " B)";
  if (p.has_ack) s += ", ack " + std::to_string(p.ack);
  s += ", win " + std::to_string(p.window);
  for (uint8_t i = 0; i < p.sack_count; ++i) {
    const int64_t l = p.ack + static_cast<int32_t>(p.rel_sack[i][0] - static_cast<uint32_t>(p.ack));
    const int64_t r = p.ack + static_cast<int32_t>(p.rel_sack[i][1] - static_cast<uint32_t>(p.ack));
    s += (i == 0 ? ", SACK " : " ") + std::to_string(l) + "-" + std::to_string(r);
  }
  const std::string labels = labels_to_string(p.labels);
  if (!labels.empty()) s += "\n" + labels;
  return escape(s);
}

class Plot {
 public:
  explicit Plot(const PlotRequest& r) : r_(r) {
    SpaceExtent e = r.extent;
    a_ns_ = r.t0_ns;
    int64_t b_ns = r.t1_ns;
    if (r.zoom) {
      // Fit the axes to what is inside the window.
      a_ns_ = r.zoom_lo_ns;
      b_ns = r.zoom_hi_ns;
      e = SpaceExtent{};
      for (const PlotPoint& p : *r.points) {
        if (!in(p.t_ns)) continue;
        if (p.dir == r.space) {
          e.take(p.seq, &e.data_hi);
          e.take(p.seq + p.len, &e.data_hi);
        } else if (p.has_ack) {
          e.take(p.ack, &e.ack_hi);
          e.take(p.ack + p.window, &e.win_hi);
        }
      }
    }
    lo_ = e.any ? static_cast<double>(e.lo) : 0;
    double hi = e.any ? static_cast<double>(std::max(e.data_hi, e.ack_hi)) : 1;
    if (hi - lo_ < 10) hi = lo_ + 10;
    // The window edge can sit far above everything sent (a 4 MB window on
    // a 10 kB transfer); show a quarter of the plot's height of it and clip
    // the rest rather than squash the data into the bottom.
    if (e.any && static_cast<double>(e.win_hi) > hi) {
      hi = std::min(static_cast<double>(e.win_hi), hi + std::max(0.25 * (hi - lo_), 10.0));
    }
    hi_ = hi + 0.03 * (hi - lo_);
    if (r.zoom) lo_ -= 0.03 * (hi - lo_);
    span_s_ = std::max(static_cast<double>(b_ns - a_ns_) / 1e9, 1e-6);
  }
  bool in(int64_t t_ns) const {
    return !r_.zoom || (t_ns >= r_.zoom_lo_ns && t_ns <= r_.zoom_hi_ns);
  }
  double x(int64_t t_ns) const {
    return kLeft + static_cast<double>(t_ns - a_ns_) / 1e9 / span_s_ * kPlotW;
  }
  // Seconds since the flow's first packet at the left edge.
  double left_s() const { return static_cast<double>(a_ns_ - r_.t0_ns) / 1e9; }
  double y(double v) const { return kTop + kPlotH - (v - lo_) / (hi_ - lo_) * kPlotH; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  double span_s() const { return span_s_; }

 private:
  const PlotRequest& r_;
  double lo_ = 0, hi_ = 1, span_s_ = 1;
  int64_t a_ns_ = 0;
};

}  // namespace

LabelSet special_labels() {
  return kRetxFamily | bit(Label::kSyn) | bit(Label::kSynAck) | bit(Label::kSynRetransmission) |
         bit(Label::kFin) | bit(Label::kRst) | bit(Label::kRstRefused) | bit(Label::kKeepalive) |
         bit(Label::kKeepaliveAck) | bit(Label::kZeroWindow) | bit(Label::kZeroWindowProbe) |
         bit(Label::kZeroWindowProbeAck) | bit(Label::kLostSegment) | bit(Label::kOutOfOrder);
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // The page says charset=utf-8: a byte that starts no valid sequence
      // (a Latin-1 file name) shows as U+FFFD, as in the JSON.
      const size_t n = util::utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xef\xbf\xbd";
      } else {
        out.append(s.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\0':
        out += "\xef\xbf\xbd";  // U+FFFD: NUL is not allowed in HTML text
        break;
      default:
        out += c;
    }
  }
  return out;
}

PlotStats render_plot(std::string& out, const PlotRequest& req) {
  const Plot P(req);
  const int s = req.space;
  const std::vector<PlotPoint>& pts = *req.points;
  const std::string clip_id = "clip-" + req.id;
  PlotStats st;
  bool used[kKinds] = {};
  // Layers, drawn in this order so the rare marks end up on top.
  std::string lines, sacks, bars, retx, zw, markers, marker_text;

  auto mark = [&](std::string& layer, Kind k, const std::string& d, const PlotPoint& p) {
    used[k] = true;
    ++st.marks;
    layer += "<path class=\"";
    layer += kKindInfo[k].cls;
    layer += "\" d=\"" + d + "\"><title>" + tooltip(p, req.t0_ns) + "</title></path>\n";
  };
  // Text beside SYN/FIN/RST marks; a repeat of the same word close to the
  // last one (a resent SYN a second later) is left out so they do not overprint.
  double last_tx = -1e9, last_ty = -1e9;
  std::string last_word;
  auto label = [&](double x, double y, const char* word) {
    if (word == last_word && std::fabs(x - last_tx) < 40 && std::fabs(y - last_ty) < 12) return;
    last_tx = x;
    last_ty = y;
    last_word = word;
    // Inside the plot area (issue 13 point 11: "RST" was clipped at the
    // right edge): a mark near the right edge gets its word on its left
    // (7 px of text per character at 11 px is generous), near the top below.
    const double room = static_cast<double>(std::char_traits<char>::length(word)) * 7 + 14;
    const bool left = x + room > kLeft + kPlotW;
    if (y < kTop + 12) y += 24;
    marker_text += "<text class=\"mt\" x=\"" + num(left ? x - 14 : x) + "\" y=\"" + num(y) + "\"" +
                   (left ? " text-anchor=\"end\"" : "") + ">" + word + "</text>\n";
  };
  auto bar_d = [&](double x, double y1, double y2) {
    // An I-beam: tcptrace's segment mark, serifs at both ends.
    return "M" + num(x - 2) + "," + num(y1) + "h4M" + num(x) + "," + num(y1) + "V" + num(y2) + "M" +
           num(x - 2) + "," + num(y2) + "h4";
  };
  // A retransmission stays visible however small its segment is on the
  // axis (issue 13 point 11: they were 2-pixel dots): at least 10 px tall,
  // with 8 px serifs.
  auto retx_d = [&](double x, double y1, double y2) {
    const double mid = (y1 + y2) / 2;
    const double half = std::max(std::fabs(y1 - y2) / 2, 5.0);
    return "M" + num(x - 4) + "," + num(mid - half) + "h8M" + num(x) + "," + num(mid - half) + "V" +
           num(mid + half) + "M" + num(x - 4) + "," + num(mid + half) + "h8";
  };

  // The reverse direction's ACKs: step lines for the cumulative ACK and the
  // window's right edge. Late (reordered) ACKs below the running maximum move
  // neither line.
  std::string ack_d, win_d;
  bool have_ack = false;
  int64_t ack_max = 0;
  if (req.zoom) {
    // Start the lines with the ACK in force when the window opens.
    uint32_t win = 0;
    for (const PlotPoint& p : pts) {
      if (p.t_ns >= req.zoom_lo_ns) break;
      if (p.dir == s || !p.has_ack || (have_ack && p.ack < ack_max)) continue;
      have_ack = true;
      ack_max = p.ack;
      win = p.window;
    }
    if (have_ack) {
      const double x = P.x(req.zoom_lo_ns);
      ack_d = "M" + num(x) + "," + num(P.y(static_cast<double>(ack_max)));
      win_d = "M" + num(x) + "," + num(P.y(static_cast<double>(ack_max) + win));
    }
  }
  for (const PlotPoint& p : pts) {
    if (p.dir == s || !p.has_ack || !P.in(p.t_ns)) continue;
    const double x = P.x(p.t_ns);
    if (!have_ack || p.ack >= ack_max) {
      const double ya = P.y(static_cast<double>(p.ack));
      const double yw = P.y(static_cast<double>(p.ack) + p.window);
      if (!have_ack) {
        ack_d = "M" + num(x) + "," + num(ya);
        win_d = "M" + num(x) + "," + num(yw);
      } else {
        ack_d += "H" + num(x) + "V" + num(ya);
        win_d += "H" + num(x) + "V" + num(yw);
      }
      have_ack = true;
      ack_max = p.ack;
    }
    for (uint8_t i = 0; i < p.sack_count; ++i) {
      const int64_t l =
          p.ack + static_cast<int32_t>(p.rel_sack[i][0] - static_cast<uint32_t>(p.ack));
      const int64_t r =
          p.ack + static_cast<int32_t>(p.rel_sack[i][1] - static_cast<uint32_t>(p.ack));
      const double xs = x + 3;  // beside the ACK, as tcptrace draws them
      mark(sacks, kSack,
           "M" + num(xs) + "," + num(P.y(static_cast<double>(l))) + "V" +
               num(P.y(static_cast<double>(r))),
           p);
    }
    if (has(p.labels, Label::kZeroWindow)) {
      const double ya = P.y(static_cast<double>(p.ack));
      mark(zw, kZw, "M" + num(x - 4) + "," + num(ya - 4) + "h8v8h-8z", p);
    }
    if (has(p.labels, Label::kRst)) {
      const double ya = P.y(static_cast<double>(p.ack));
      mark(markers, kRst,
           "M" + num(x - 5) + "," + num(ya - 5) + "l10,10M" + num(x + 5) + "," + num(ya - 5) +
               "l-10,10",
           p);
      label(x + 7, ya + 16, "RST");
    }
  }
  if (have_ack) {
    used[kAckLine] = used[kWinLine] = true;
    // Extend both lines to the end of the flow: the last ACK stays in force.
    const std::string end = "H" + num(P.x(req.zoom ? req.zoom_hi_ns : req.t1_ns));
    lines += "<path class=\"winline\" d=\"" + win_d + end + "\"></path>\n";
    lines += "<path class=\"ackline\" d=\"" + ack_d + end + "\"></path>\n";
  }

  // This direction's segments.
  for (const PlotPoint& p : pts) {
    if (p.dir != s || !P.in(p.t_ns)) continue;
    const double x = P.x(p.t_ns);
    const double y0 = P.y(static_cast<double>(p.seq));
    const bool probe = has(p.labels, Label::kKeepalive) || has(p.labels, Label::kZeroWindowProbe);
    const bool fin = has(p.labels, Label::kFin);
    const bool syn = has(p.labels, Label::kSyn) || has(p.labels, Label::kSynAck);
    if ((p.labels & kRetxFamily) && !probe) {
      Kind k = kRto;
      if (has(p.labels, Label::kSpuriousRetransmission)) {
        k = kSpur;
      } else if (has(p.labels, Label::kTailLossProbe)) {
        k = kTlp;
      } else if (has(p.labels, Label::kFastRetransmission)) {
        k = kFast;
      }
      // A resent bare FIN still takes one sequence number.
      const uint32_t n = p.len > 0 ? p.len : 1;
      mark(retx, k, retx_d(x, y0, P.y(static_cast<double>(p.seq) + n)), p);
      ++st.retransmissions;
    } else if (p.len > 0 && !probe) {
      mark(bars, kSeg, bar_d(x, y0, P.y(static_cast<double>(p.seq) + p.len)), p);
    }
    if (has(p.labels, Label::kZeroWindowProbe)) {
      std::string d = "M" + num(x) + "," + num(y0 - 7) + "l6,10h-12z";
      if (p.len > 0) d += "M" + num(x) + "," + num(y0) + "V" + num(P.y(double(p.seq) + p.len));
      mark(markers, kZwp, d, p);
    } else if (has(p.labels, Label::kKeepalive)) {
      mark(markers, kKa, "M" + num(x - 5) + "," + num(y0) + "a5,5 0 1,0 10,0a5,5 0 1,0 -10,0", p);
    }
    if (syn) {
      mark(markers, kSyn, "M" + num(x) + "," + num(y0 - 6) + "l6,6l-6,6l-6,-6z", p);
      label(x + 8, y0 - 6, has(p.labels, Label::kSynAck) ? "SYN-ACK" : "SYN");
    }
    if (fin) {
      const double yf = P.y(static_cast<double>(p.seq) + p.len);
      mark(markers, kFin, "M" + num(x - 4) + "," + num(yf - 4) + "h8v8h-8z", p);
      label(x + 7, yf - 6, "FIN");
    }
    if (has(p.labels, Label::kRst)) {
      mark(markers, kRst,
           "M" + num(x - 5) + "," + num(y0 - 5) + "l10,10M" + num(x + 5) + "," + num(y0 - 5) +
               "l-10,10",
           p);
      label(x + 7, y0 - 6, "RST");
    }
  }

  // Frame, grid, ticks.
  const int rows = [&] {
    int n = 0;
    for (bool u : used) n += u ? 1 : 0;
    return (n + kLegendPerRow - 1) / kLegendPerRow;
  }();
  const double height = kTop + kPlotH + kAxisH + rows * kLegendRowH + 10;
  out += "<svg class=\"tsg" + std::string(req.zoom ? " zoom" : "") +
         "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) + " " +
         num(height) + "\" width=\"" + num(kWidth) + "\" height=\"" + num(height) +
         "\" role=\"img\" data-dir=\"" + std::to_string(s) + "\"" +
         zoom_attrs(P.left_s(), P.left_s() + P.span_s(), P.lo(), P.hi(), "bytes") + ">\n";
  out += "<defs><clipPath id=\"" + clip_id + "\"><rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) +
         "\" width=\"" + num(kPlotW) + "\" height=\"" + num(kPlotH) +
         "\"></rect></clipPath></defs>\n";
  out += "<text class=\"heading\" x=\"" + num(kLeft) + "\" y=\"24\">" + req.heading + "</text>\n";
  out += "<rect class=\"plotarea\" x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
         num(kPlotW) + "\" height=\"" + num(kPlotH) + "\"></rect>\n";

  std::string grid, ticks;
  const double ts = nice_step(P.span_s(), 10);
  // Integer tick indices (no floating-point loop counter drifting by ts).
  const auto first_x = static_cast<int64_t>(std::ceil(P.left_s() / ts - 1e-9));
  const double x_end = P.left_s() + P.span_s() * (1 + 1e-9);
  for (int64_t k = first_x; static_cast<double>(k) * ts <= x_end; ++k) {
    const double t = k == 0 ? 0.0 : static_cast<double>(k) * ts;  // no "-0"
    const double x = kLeft + (t - P.left_s()) / P.span_s() * kPlotW;
    grid += "M" + num(x) + "," + num(kTop) + "v" + num(kPlotH);
    ticks += "<text class=\"xt\" x=\"" + num(x) + "\" y=\"" + num(kTop + kPlotH + 18) + "\">" +
             time_label(t, ts) + "</text>\n";
  }
  const double ys = nice_step(P.hi() - P.lo(), 8);
  for (auto k = static_cast<int64_t>(std::ceil(P.lo() / ys)); static_cast<double>(k) * ys <= P.hi();
       ++k) {
    const double v = static_cast<double>(k) * ys;
    const double y = P.y(v);
    grid += "M" + num(kLeft) + "," + num(y) + "h" + num(kPlotW);
    ticks += "<text class=\"yt\" x=\"" + num(kLeft - 6) + "\" y=\"" + num(y + 4) + "\">" +
             seq_label(v, ys, P.hi()) + "</text>\n";
  }
  out += "<g class=\"axes\"><path class=\"grid\" d=\"" + grid + "\"></path>\n" + ticks + "</g>\n";
  out += "<text class=\"xl\" x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" + num(kTop + kPlotH + 40) +
         "\">time since the flow's first packet (s)</text>\n";
  out += "<text class=\"yl\" transform=\"translate(18," + num(kTop + kPlotH / 2) +
         ") rotate(-90)\">relative sequence number (bytes)</text>\n";

  // The marks, clipped to the plot area (the window line too, see Plot()),
  // in the group the page's script zooms and pans (g.view).
  out += "<g clip-path=\"url(#" + clip_id + ")\"><g class=\"view\"><g class=\"marks\">\n" + lines +
         sacks + bars + retx + zw + markers + marker_text + "</g></g></g>\n";

  // Legend: only what this plot uses.
  double lx = kLeft, ly = kTop + kPlotH + kAxisH + 8;
  int col = 0;
  out += "<g class=\"legend\">\n";
  for (unsigned k = 0; k < kKinds; ++k) {
    if (!used[k]) continue;
    const double cx = lx + 8, cy = ly;
    std::string d;
    switch (k) {
      case kSeg:
      case kRto:
      case kFast:
      case kTlp:
      case kSpur:
        d = bar_d(cx, cy + 7, cy - 7);
        break;
      case kAckLine:
      case kWinLine:
        d = "M" + num(cx - 10) + "," + num(cy + 4) + "h8v-8h12";
        break;
      case kSack:
        d = "M" + num(cx) + "," + num(cy + 7) + "v-14";
        break;
      case kZw:
      case kFin:
        d = "M" + num(cx - 4) + "," + num(cy - 4) + "h8v8h-8z";
        break;
      case kZwp:
        d = "M" + num(cx) + "," + num(cy - 7) + "l6,10h-12z";
        break;
      case kKa:
        d = "M" + num(cx - 5) + "," + num(cy) + "a5,5 0 1,0 10,0a5,5 0 1,0 -10,0";
        break;
      case kSyn:
        d = "M" + num(cx) + "," + num(cy - 6) + "l6,6l-6,6l-6,-6z";
        break;
      case kRst:
        d = "M" + num(cx - 5) + "," + num(cy - 5) + "l10,10M" + num(cx + 5) + "," + num(cy - 5) +
            "l-10,10";
        break;
      default:
        break;
    }
    // Legend swatches carry the kind's class with an "lg" prefix so they are
    // never counted as marks.
    std::string cls = kKindInfo[k].cls;
    if (size_t sp = cls.find(' '); sp != std::string::npos) cls = cls.substr(sp + 1);
    out += "<path class=\"lg " + cls + "\" d=\"" + d + "\"></path><text x=\"" + num(cx + 16) +
           "\" y=\"" + num(cy + 4) + "\">" + kKindInfo[k].legend + "</text>\n";
    if (++col == kLegendPerRow) {
      col = 0;
      lx = kLeft;
      ly += kLegendRowH;
    } else {
      lx += kPlotW / kLegendPerRow;
    }
  }
  out += "</g>\n</svg>\n";
  return st;
}

size_t render_series(std::string& out, const SeriesRequest& req) {
  double y_hi = 0;
  size_t n = 0;
  for (const Series& se : req.series) {
    for (const auto& [x, y] : se.pts) y_hi = std::max(y_hi, y);
    n += se.pts.size();
  }
  if (!(y_hi > 0)) y_hi = 1;
  y_hi *= 1.05;
  const double x0 = req.x0, x1 = std::max(req.x1, req.x0 + 1e-6);
  auto X = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * kPlotW; };
  auto Y = [&](double y) { return kTop + kPlotH - y / y_hi * kPlotH; };
  const double height = kTop + kPlotH + kAxisH + kLegendRowH + 10;
  const std::string clip_id = "clip-" + req.id;
  out += "<svg class=\"tsg xg\" id=\"" + req.id +
         "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) + " " +
         num(height) + "\" width=\"" + num(kWidth) + "\" height=\"" + num(height) +
         "\" role=\"img\"" + zoom_attrs(x0, x1, 0, y_hi, req.unit) + ">\n";
  out += "<defs><clipPath id=\"" + clip_id + "\"><rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) +
         "\" width=\"" + num(kPlotW) + "\" height=\"" + num(kPlotH) +
         "\"></rect></clipPath></defs>\n";
  out += "<text class=\"heading\" x=\"" + num(kLeft) + "\" y=\"24\">" + req.heading + "</text>\n";
  out += "<rect class=\"plotarea\" x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
         num(kPlotW) + "\" height=\"" + num(kPlotH) + "\"></rect>\n";
  std::string grid, ticks;
  const double ts = nice_step(x1 - x0, 10);
  for (auto k = static_cast<int64_t>(std::ceil(x0 / ts - 1e-9));
       static_cast<double>(k) * ts <= x1 * (1 + 1e-9); ++k) {
    const double t = k == 0 ? 0.0 : static_cast<double>(k) * ts;
    grid += "M" + num(X(t)) + "," + num(kTop) + "v" + num(kPlotH);
    ticks += "<text class=\"xt\" x=\"" + num(X(t)) + "\" y=\"" + num(kTop + kPlotH + 18) + "\">" +
             time_label(t, ts) + "</text>\n";
  }
  const double ys = nice_step(y_hi, 8);
  for (int64_t k = 0; static_cast<double>(k) * ys <= y_hi; ++k) {
    const double v = static_cast<double>(k) * ys;
    grid += "M" + num(kLeft) + "," + num(Y(v)) + "h" + num(kPlotW);
    ticks += "<text class=\"yt\" x=\"" + num(kLeft - 6) + "\" y=\"" + num(Y(v) + 4) + "\">" +
             (std::string(req.unit) == "bytes" ? seq_label(v, ys, y_hi) : time_label(v, ys)) +
             "</text>\n";
  }
  out += "<g class=\"axes\"><path class=\"grid\" d=\"" + grid + "\"></path>\n" + ticks + "</g>\n";
  out += "<text class=\"xl\" x=\"" + num(kLeft + kPlotW / 2) + "\" y=\"" + num(kTop + kPlotH + 40) +
         "\">time since the flow's first packet (s)</text>\n";
  out += "<text class=\"yl\" transform=\"translate(18," + num(kTop + kPlotH / 2) +
         ") rotate(-90)\">" + req.y_title + "</text>\n";
  out += "<g clip-path=\"url(#" + clip_id + ")\"><g class=\"view\"><g class=\"marks\">\n";
  for (const Series& se : req.series) {
    if (se.pts.empty()) continue;
    std::string d;
    for (size_t i = 0; i < se.pts.size(); ++i) {
      const double x = X(se.pts[i].first), y = Y(se.pts[i].second);
      if (se.dots) {
        d += "M" + num(x - 2.5) + "," + num(y) + "a2.5,2.5 0 1,0 5,0a2.5,2.5 0 1,0 -5,0";
      } else if (i == 0) {
        d += "M" + num(x) + "," + num(y);
      } else {
        d += "H" + num(x) + "V" + num(y);
      }
    }
    if (!se.dots) d += "H" + num(X(x1));
    out += "<path class=\"" + se.cls + "\" d=\"" + d + "\"></path>\n";
  }
  out += "</g></g></g>\n<g class=\"legend\">\n";
  double lx = kLeft;
  const double ly = kTop + kPlotH + kAxisH + 8;
  for (const Series& se : req.series) {
    out += "<path class=\"lg " + se.cls + "\" d=\"M" + num(lx) + "," + num(ly) +
           "h20\"></path><text x=\"" + num(lx + 26) + "\" y=\"" + num(ly + 4) + "\">" + se.legend +
           "</text>\n";
    lx += kPlotW / kLegendPerRow;
  }
  out += "</g>\n</svg>\n";
  return n;
}

}  // namespace vigil::analyze::html
