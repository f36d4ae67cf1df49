// Internals of the HTML report (html_report.hpp): the points kept per flow
// and the SVG time-sequence graph drawn from them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
