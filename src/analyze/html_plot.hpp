// Internals of the HTML report (html_report.hpp): the points kept per flow
// and the SVG time-sequence graph drawn from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyze/flow_analyzer.hpp"
#include "analyze/labels.hpp"

namespace vigil::analyze::html {

// One kept segment. Sequence numbers are unwrapped to 64 bits per sequence
// space (space d = the bytes sent by dir d) so that a capture starting
// mid-connection, a resend below the first byte seen, or a transfer past
// 4 GiB still plots on one continuous axis.
struct PlotPoint {
  uint64_t frame = 0;
  int64_t t_ns = 0;    // capture timestamp
  int64_t seq = 0;     // in space `dir`
  int64_t ack = 0;     // in space 1 - dir; meaningful when has_ack
  uint64_t index = 0;  // position within its thinning class
  LabelSet labels = 0;
  uint32_t len = 0;
  uint32_t window = 0;
  uint32_t rel_sack[4][2] = {};  // as captured; unwrapped against `ack` when drawn
  uint8_t sack_count = 0;
  uint8_t dir = 0;
  bool has_ack = false;
  bool special = false;
};

// Labels that are never thinned away while there is room: they are what the
// graph is for.
LabelSet special_labels();

// Extents of one sequence space over every segment added, thinned or not.
struct SpaceExtent {
  bool any = false;
  int64_t lo = 0, data_hi = 0, ack_hi = 0, win_hi = 0;
  void take(int64_t v, int64_t* hi) {
    if (!any) {
      any = true;
      lo = v;
      data_hi = ack_hi = win_hi = v;
    }
    if (v < lo) lo = v;
    if (v > *hi) *hi = v;
  }
};

// The points kept for one flow's graphs (at most a fixed number: past it
// plain data/ACK segments are thinned by a doubling stride while the
// labelled ones stay), with the extents of both sequence spaces.
struct FlowPlot {
  std::vector<PlotPoint> pts;
  bool any = false;
  int64_t first_ns = 0, last_ns = 0;
  // Thinning, per class (0: plain data/ACK, 1: special): segments seen, the
  // stride (keep index % stride == 0), whether the class is dropped entirely
  // (only when special segments alone fill the bound), and how many are kept.
  // Plain segments are numbered per direction: one count across both would
  // alias with a power-of-two stride (data, ACK, data, ACK ... kept only the
  // data).
  uint64_t seen[2] = {0, 0};
  uint64_t seen_plain_dir[2] = {0, 0};
  uint64_t stride[2] = {1, 1};
  bool drop_all[2] = {false, false};
  uint64_t kept[2] = {0, 0};
  // Unwrapping state per sequence space (space d: bytes sent by dir d).
  bool space_init[2] = {false, false};
  int64_t space_last[2] = {0, 0};
  html::SpaceExtent extent[2];
  uint64_t bytes[2] = {0, 0};  // payload, probes excluded
  uint64_t sent[2] = {0, 0};   // segments

  int64_t unwrap(int space, uint32_t v) {
    if (!space_init[space]) {
      space_init[space] = true;
      space_last[space] = static_cast<int32_t>(v);
      return space_last[space];
    }
    const int64_t r =
        space_last[space] + static_cast<int32_t>(v - static_cast<uint32_t>(space_last[space]));
    space_last[space] = r;
    return r;
  }

  bool keeps(int cls, uint64_t index) const { return !drop_all[cls] && index % stride[cls] == 0; }

  // Bring the kept points back under `max`: thin plain points first (double
  // their stride), and special ones only once no plain point is left.
  void enforce(size_t max);
  // One segment (FlowAnalyzer's labels, in capture order); keeps at most
  // `max_points` points. Capture duplicates are left out.
  void add(const PacketLabels& p, size_t max_points);
};

struct PlotRequest {
  const std::vector<PlotPoint>* points = nullptr;
  int space = 0;      // plot the bytes sent by this direction
  int64_t t0_ns = 0;  // the flow's first packet: x = 0
  int64_t t1_ns = 0;  // the flow's last packet
  // A detail view: only points in [zoom_lo_ns, zoom_hi_ns], axes fitted to
  // them (x labels stay seconds since t0_ns).
  bool zoom = false;
  int64_t zoom_lo_ns = 0, zoom_hi_ns = 0;
  SpaceExtent extent;
  bool scale_known = true;
  std::string heading;  // already escaped
  std::string id;       // unique in the page (element ids)
};

// Counts of what a plot drew, for the caption and the tests.
struct PlotStats {
  uint64_t marks = 0;
  uint64_t retransmissions = 0;
};

// One line or dot series of a plot against time (x: seconds since the
// flow's first packet).
struct Series {
  std::string cls;     // CSS class of its path ("rttdots", "tput", "inflight", "rwnd")
  std::string legend;  // already escaped
  bool dots = false;   // dots, else a step line (the value holds until the next point)
  std::vector<std::pair<double, double>> pts;  // (x, y), x ascending
};

struct SeriesRequest {
  std::string id, heading, y_title;  // heading and y_title already escaped
  const char* unit = "";             // y tick labels: "bytes" gets k/M/G
  double x0 = 0, x1 = 1;             // the flow's time span (s)
  std::vector<Series> series;
};

// Appends one <svg class="tsg xg"> element (zoomable like the time-sequence
// graph); returns the number of points drawn.
size_t render_series(std::string& out, const SeriesRequest& req);

std::string escape(std::string_view s);
// Appends one <svg class="tsg"> element.
PlotStats render_plot(std::string& out, const PlotRequest& req);

}  // namespace vigil::analyze::html
