// Tests for the HTML report (`vigil analyze --html`). Traces come from the
// simulator or are built by hand; the counts asserted come from the
// analyzer's labels (what the page must show) or from the hand-made input,
// never from the page itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/html_report.hpp"
#include "analyze/story.hpp"
#include "sim/scenario.hpp"

namespace vigil::analyze {
namespace {

constexpr LabelSet kRetx = bit(Label::kRetransmission) | bit(Label::kFastRetransmission) |
                           bit(Label::kTailLossProbe) | bit(Label::kSpuriousRetransmission);

struct Analyzed {
  std::vector<Flow> flows;
  std::vector<PacketLabels> packets;
  std::vector<Story> stories;
  std::string page;
};

Analyzed analyze_scenario(const std::string& scenario, const std::string& profile, uint64_t seed,
                          size_t max_points = 1 << 20,
                          std::vector<std::pair<std::string, std::string>> sets = {}) {
  static int counter = 0;
  sim::ScenarioParams params;
  params.seed = seed;
  params.profile = profile;
  params.sets = std::move(sets);
  params.pcap_path = ::testing::TempDir() + "vigil_html_" + std::to_string(::getpid()) + "_" +
                     std::to_string(counter++) + ".pcap";
  sim::ScenarioResult result;
  EXPECT_EQ(sim::run_scenario(scenario, params, &result), "");
  std::string err;
  auto reader = CaptureReader::open(params.pcap_path, &err);
  EXPECT_NE(reader, nullptr) << err;
  // A retaining analyzer; its packets, in capture order, are what the CLI
  // streams into the report.
  FlowAnalyzer a;
  if (reader) {
    CapturedPacket pkt;
    while (reader->next(&pkt)) a.add(pkt.frame, pkt.time, pkt.ipv4);
  }
  a.finish();
  std::remove(params.pcap_path.c_str());
  HtmlReport report(max_points);
  for (const auto& p : a.packets()) report.add(a.flows()[p.flow], p);
  Analyzed out;
  out.flows = a.flows();
  out.packets = a.packets();
  out.stories = build_stories(a);
  out.page = report.render(scenario + ".pcap", out.flows, out.stories);
  return out;
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Marks whose class list starts with `cls` ("retx", "zwp" ...); legend
// swatches are class "lg ..." and never match.
size_t marks(const std::string& page, const std::string& cls) {
  return count(page, "<path class=\"" + cls + "\"") + count(page, "<path class=\"" + cls + " ");
}

// The whole-connection graphs (not the detail views, class "tsg zoom").
std::string main_svgs(const std::string& page) {
  std::string out;
  const std::string key = "<svg class=\"tsg\"";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    out += page.substr(at, page.find("</svg>", at) + 6 - at);
  }
  return out;
}

std::vector<std::string> zoom_svgs(const std::string& page) {
  std::vector<std::string> out;
  const std::string key = "<svg class=\"tsg zoom\"";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    out.push_back(page.substr(at, page.find("</svg>", at) + 6 - at));
  }
  return out;
}

// Every element we emit is either void (meta) or closed explicitly; text and
// attribute values carry no raw '<'. Returns "" when balanced, else where not.
std::string check_balanced(const std::string& page) {
  static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> stack;
  size_t i = 0;
  while ((i = page.find('<', i)) != std::string::npos) {
    if (page.compare(i, 9, "<!DOCTYPE") == 0) {
      i = page.find('>', i);
      continue;
    }
    // Script text is not markup (its "<" are comparisons).
    if (page.compare(i, 8, "<script>") == 0) {
      i = page.find("</script>", i);
      if (i == std::string::npos) return "unterminated <script>";
      i += 9;
      continue;
    }
    const size_t end = page.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = page.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag at " + std::to_string(i);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \n/"));
    if (name.empty()) return "empty tag at " + std::to_string(i);
    // Optional end tags (HTML living standard §13.1.2.4): a td/th ends at
    // the next td/th/tr or the end of its row or table, a tr at the next tr
    // or the end of its table.
    auto implied = [&](std::initializer_list<const char*> names) {
      while (!stack.empty()) {
        bool any = false;
        for (const char* n : names) any = any || stack.back() == n;
        if (!any) break;
        stack.pop_back();
      }
    };
    if (!closing && (name == "td" || name == "th")) implied({"td", "th"});
    if (!closing && name == "tr") implied({"td", "th", "tr"});
    if (closing && name == "tr") implied({"td", "th"});
    if (closing && name == "table") implied({"td", "th", "tr"});
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> closes <" + (stack.empty() ? "" : stack.back()) + "> at " +
               std::to_string(i);
      }
      stack.pop_back();
    } else if (!self && !kVoid.count(name)) {
      stack.push_back(name);
    }
    i = end + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  return "";
}

std::set<uint64_t> tooltip_frames(const std::string& page) {
  std::set<uint64_t> frames;
  const std::string key = "<title>frame ";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    frames.insert(std::strtoull(page.c_str() + at + key.size(), nullptr, 10));
  }
  return frames;
}

// Directions that carry payload (probes aside), per flow.
std::map<std::pair<size_t, int>, uint64_t> data_dirs(const std::vector<PacketLabels>& pk) {
  std::map<std::pair<size_t, int>, uint64_t> bytes;
  for (const auto& p : pk) {
    if (p.len > 0 && !has(p.labels, Label::kKeepalive) && !has(p.labels, Label::kZeroWindowProbe))
      bytes[{p.flow, p.dir}] += p.len;
  }
  return bytes;
}

TEST(AnalyzeHtml, BulkLossyRetransmissionsAllMarkedWithFrames) {
  const Analyzed r = analyze_scenario("bulk-lossy", "rfc", 7);
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_EQ(check_balanced(r.page), "");
  const auto dirs = data_dirs(r.packets);
  // Only the client sends data in bulk-lossy: one graph.
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs.begin()->first.second, 0);
  EXPECT_EQ(count(r.page, "<svg class=\"tsg\""), dirs.size());
  EXPECT_EQ(count(main_svgs(r.page), "</svg>"), dirs.size());

  size_t retx = 0, fast = 0, data = 0;
  std::set<uint64_t> retx_frames;
  for (const auto& p : r.packets) {
    if (p.dir != 0) continue;
    if (p.labels & kRetx) {
      ++retx;
      retx_frames.insert(p.frame);
      if (has(p.labels, Label::kFastRetransmission)) ++fast;
    } else if (p.len > 0) {
      ++data;
    }
  }
  // 5 % loss each way over ~7000 data segments: hundreds of resends, many
  // of them fast (RFC 5681 §3.2).
  EXPECT_GT(retx, 100u);
  EXPECT_GT(fast, 50u);
  const std::string whole = main_svgs(r.page);
  EXPECT_EQ(marks(whole, "retx"), retx);
  EXPECT_EQ(marks(whole, "retx frtx"), fast);
  EXPECT_EQ(marks(whole, "seg"), data);
  // Each retransmission's tooltip names its frame.
  const auto frames = tooltip_frames(r.page);
  for (uint64_t f : retx_frames) EXPECT_TRUE(frames.count(f)) << "frame " << f;
  // The ACK and window lines, SYN and FIN marks, the legend naming colours.
  EXPECT_EQ(count(whole, "<path class=\"ackline\""), 1u);
  EXPECT_EQ(count(whole, "<path class=\"winline\""), 1u);
  EXPECT_GE(marks(whole, "syn"), 1u);
  EXPECT_GE(marks(whole, "fin"), 1u);
  // The detail view around the first retransmission of data: its frame is
  // in the view, every mark inside the plot area (x 96..1076, y 40..480).
  uint64_t first_retx = 0;
  for (const auto& p : r.packets) {
    if (p.dir == 0 && (p.labels & kRetx) && p.len > 0) {
      first_retx = p.frame;
      break;
    }
  }
  const auto zooms = zoom_svgs(r.page);
  ASSERT_EQ(zooms.size(), 1u);
  EXPECT_NE(zooms[0].find("first retransmission (frame " + std::to_string(first_retx) + ")"),
            std::string::npos);
  EXPECT_NE(zooms[0].find("<title>frame " + std::to_string(first_retx) + "\n"), std::string::npos);
  EXPECT_GE(marks(zooms[0], "retx"), 1u);
  EXPECT_GE(marks(zooms[0], "seg"), 40u);
  const std::regex move("M(-?[0-9.]+),(-?[0-9.]+)");
  const std::string zmarks =
      zooms[0].substr(zooms[0].find("<g class=\"marks\">"),
                      zooms[0].find("<g class=\"legend\">") - zooms[0].find("<g class=\"marks\">"));
  size_t moves = 0;
  for (std::sregex_iterator it(zmarks.begin(), zmarks.end(), move), end; it != end; ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    // Lines may start below the window (clipped); marks may not.
    if (y > 480 + 10 || y < 40 - 10) continue;
    EXPECT_GE(x, 96.0 - 6);
    EXPECT_LE(x, 1076.0 + 6);
    ++moves;
  }
  EXPECT_GT(moves, 100u);
  EXPECT_NE(r.page.find(">fast retransmission</text>"), std::string::npos);
  EXPECT_NE(r.page.find(">retransmission</text>"), std::string::npos);
  EXPECT_EQ(r.page.find("Plot thinned"), std::string::npos);
  // Self-contained: no external resources, one inline script (zoom and pan).
  EXPECT_EQ(count(r.page, "<script"), 1u);
  EXPECT_NE(r.page.find("<script>"), std::string::npos);
  EXPECT_EQ(r.page.find("src="), std::string::npos);
  EXPECT_EQ(r.page.find("href=\"http"), std::string::npos);
}

TEST(AnalyzeHtml, ZeroWindowProbesAndZeroWindowsMarked) {
  const Analyzed r = analyze_scenario("zero-window-persist", "linux", 1);
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_EQ(check_balanced(r.page), "");
  size_t zwp = 0, zw = 0;
  for (const auto& p : r.packets) {
    if (p.dir == 0 && has(p.labels, Label::kZeroWindowProbe)) ++zwp;
    if (p.dir == 1 && has(p.labels, Label::kZeroWindow)) ++zw;
  }
  // The receiver stops reading for an hour: the persist timer backs off to
  // its 60 s cap (docs/liveness.md), so dozens of probes.
  EXPECT_GT(zwp, 30u);
  EXPECT_GE(zw, zwp);
  EXPECT_EQ(count(r.page, "<svg class=\"tsg\""), data_dirs(r.packets).size());
  EXPECT_EQ(marks(main_svgs(r.page), "zwp"), zwp);
  EXPECT_EQ(marks(main_svgs(r.page), "zw"), zw);
  EXPECT_NE(r.page.find("Zero-window probing by the client"), std::string::npos);
}

TEST(AnalyzeHtml, NoDataStillPlotsKeepalives) {
  // The server vanishes after the handshake: 9 keepalive probes (rfc
  // profile, RFC 1122 §4.2.3.6 with the scenario's count), no payload.
  const Analyzed r = analyze_scenario("keepalive-dead-peer", "rfc", 1);
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_TRUE(data_dirs(r.packets).empty());
  EXPECT_EQ(check_balanced(r.page), "");
  EXPECT_EQ(count(r.page, "<svg class=\"tsg\""), 1u);
  EXPECT_EQ(marks(r.page, "ka"), 9u);
  EXPECT_GE(marks(r.page, "rst"), 1u);
  EXPECT_NE(r.page.find("no payload either way"), std::string::npos);
}

TEST(AnalyzeHtml, EscapesTitleAndHasNoFlowsMessage) {
  HtmlReport report;
  const std::string page = report.render("a<script>alert(\"x&y\")</script>'.pcap", {}, {});
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_NE(page.find("a&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;.pcap"),
            std::string::npos);
  EXPECT_NE(page.find("No TCP connections in this capture."), std::string::npos);
  EXPECT_EQ(page.find("<svg"), std::string::npos);
  EXPECT_EQ(check_balanced(page), "");
}

TEST(AnalyzeHtml, EscapesStoryAndFindingText) {
  Flow f;
  f.first = Instant::from_ns(0);
  f.last = Instant::from_ns(1'000'000);
  f.end.how = "<b>";
  Story st;
  st.ending = "ended <img src=x onerror=alert(1)>";
  Finding fd;
  fd.problem = "p & q";
  fd.rfc_section = "RFC 2525 §2.10";
  fd.detail = "\"quoted\" <detail>";
  fd.frames = {3, 4};
  fd.confidence = 0.5;
  st.findings.push_back(fd);
  HtmlReport report;
  PacketLabels p;
  p.frame = 1;
  p.len = 100;
  p.labels = bit(Label::kData);
  report.add(f, p);
  const std::string page = report.render("t", {f}, {st});
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("ended &lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(page.find("&quot;quoted&quot; &lt;detail&gt;"), std::string::npos);
  EXPECT_NE(page.find("p &amp; q"), std::string::npos);
  EXPECT_NE(page.find("50%"), std::string::npos);
  EXPECT_EQ(check_balanced(page), "");
}

// A hand-made one-direction flow captured mid-connection: `n` data segments
// of 1000 bytes from the client, every `retx_every`-th of them followed by a
// retransmission of the segment before it, and an ACK from the server after
// each data segment.
struct Synthetic {
  Flow flow;
  std::vector<PacketLabels> packets;
  std::set<uint64_t> special_frames;
};

Synthetic synthetic(size_t n, size_t retx_every, uint32_t start_seq = 0) {
  Synthetic s;
  s.flow.packets = 0;
  uint64_t frame = 0;
  int64_t t = 5'000'000'000;  // 5 s into the capture
  s.flow.first = Instant::from_ns(t);
  auto push = [&](PacketLabels p) {
    p.frame = ++frame;
    p.time = Instant::from_ns(t);
    t += 1'000'000;
    s.packets.push_back(p);
    ++s.flow.packets;
  };
  for (size_t i = 0; i < n; ++i) {
    PacketLabels d;
    d.dir = 0;
    d.rel_seq = start_seq + static_cast<uint32_t>(i * 1000);
    d.rel_ack = 0;
    d.len = 1000;
    d.window = 65535;
    d.labels = bit(Label::kData);
    push(d);
    if (retx_every && i > 0 && i % retx_every == 0) {
      PacketLabels rx = d;
      rx.rel_seq = start_seq + static_cast<uint32_t>((i - 1) * 1000);
      rx.labels = bit(Label::kData) | bit(Label::kRetransmission);
      push(rx);
      s.special_frames.insert(frame);
    }
    PacketLabels a;
    a.dir = 1;
    a.rel_seq = 0;
    a.rel_ack = start_seq + static_cast<uint32_t>((i + 1) * 1000);
    a.window = 65535;
    a.labels = bit(Label::kPureAck);
    push(a);
  }
  s.flow.last = Instant::from_ns(t - 1'000'000);
  s.flow.end.how = "open";
  return s;
}

std::string render_synthetic(const Synthetic& s, size_t max_points) {
  HtmlReport report(max_points);
  for (const auto& p : s.packets) report.add(s.flow, p);
  return report.render("synthetic", {s.flow}, {});
}

TEST(AnalyzeHtml, ThinningKeepsEverySpecialPointWithinTheBound) {
  // 10000 data segments, 99 retransmissions, 10000 ACKs: 20099 segments.
  const Synthetic s = synthetic(10000, 100);
  ASSERT_EQ(s.special_frames.size(), 99u);
  ASSERT_EQ(s.packets.size(), 20099u);
  const size_t kMax = 500;
  const std::string page = render_synthetic(s, kMax);
  EXPECT_EQ(check_balanced(page), "");
  const auto frames = tooltip_frames(page);
  // Only the client's segments are marks (ACKs make the ACK line), so the
  // frames in tooltips are at most the kept points.
  EXPECT_LE(frames.size(), kMax);
  EXPECT_GT(frames.size(), kMax / 8);  // thinned, not emptied
  for (uint64_t f : s.special_frames) EXPECT_TRUE(frames.count(f)) << "frame " << f;
  EXPECT_EQ(marks(main_svgs(page), "retx"), 99u);
  // The page says it was thinned, and by how much.
  const std::regex re("data-drawn=\"([0-9]+)\" data-total=\"([0-9]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page, m, re));
  EXPECT_LE(std::stoul(m[1]), kMax);
  // Stride 64 keeps indices 0, 64 ... 9984 of each direction's 10000 plain
  // segments: 157 + 157, plus the 99 retransmissions.
  EXPECT_EQ(std::stoul(m[1]), 413u);
  EXPECT_EQ(std::stoul(m[2]), 20099u);
  EXPECT_NE(page.find("labelled segments (retransmissions, probes, keepalives, SYN/FIN/RST, zero "
                      "window): all 99 kept."),
            std::string::npos);
  // 20000 plain segments into at most 401 places: a stride of 64 (the
  // smallest power of two with ceil(20000 / k) <= 401).
  EXPECT_NE(page.find("every 64th of 20000 kept"), std::string::npos);

  // Without the bound: nothing thinned, every segment a mark.
  const std::string full = render_synthetic(s, 1 << 20);
  EXPECT_EQ(full.find("Plot thinned"), std::string::npos);
  EXPECT_EQ(tooltip_frames(full).size(), 10099u);
}

TEST(AnalyzeHtml, SpecialPointsBeyondTheBoundAreThinnedToo) {
  const Synthetic s = synthetic(1000, 2);  // 499 retransmissions
  const size_t kMax = 100;
  const std::string page = render_synthetic(s, kMax);
  EXPECT_EQ(check_balanced(page), "");
  EXPECT_LE(tooltip_frames(page).size(), kMax);
  EXPECT_LE(marks(main_svgs(page), "retx"), kMax);
  EXPECT_GE(marks(main_svgs(page), "retx"), kMax / 2);
  EXPECT_NE(page.find("Plain data/ACK segments: none of 2000 kept"), std::string::npos);
  EXPECT_NE(page.find("every 8th of 499 kept"), std::string::npos);
}

// The y coordinates (second numbers) of a path's "M x,y" moves.
std::vector<double> path_ys(const std::string& d) {
  std::vector<double> ys;
  const std::regex re("M(-?[0-9.]+),(-?[0-9.]+)");
  for (std::sregex_iterator it(d.begin(), d.end(), re), end; it != end; ++it) {
    ys.push_back(std::stod((*it)[2]));
  }
  return ys;
}

std::vector<std::string> mark_paths(const std::string& page, const std::string& cls) {
  std::vector<std::string> out;
  const std::string key = "<path class=\"" + cls + "\" d=\"";
  for (size_t at = page.find(key); at != std::string::npos; at = page.find(key, at + 1)) {
    const size_t b = at + key.size();
    out.push_back(page.substr(b, page.find('"', b) - b));
  }
  return out;
}

TEST(AnalyzeHtml, MidConnectionResendBelowTheFirstByteStaysOnTheAxis) {
  // Captured mid-connection: the first segment seen defines seq 0, and a
  // resend of the 1000 bytes before it is relative seq 2^32 - 1000. Unwrapped
  // it is -1000, just under the first bar, inside the plot area (y 40..480).
  Synthetic s = synthetic(20, 0);
  PacketLabels rx = s.packets[0];
  rx.frame = 1000;
  rx.time = s.packets.back().time;
  rx.rel_seq = static_cast<uint32_t>(-1000);
  rx.labels = bit(Label::kData) | bit(Label::kRetransmission);
  s.packets.push_back(rx);
  const std::string page = render_synthetic(s, 1000);
  EXPECT_EQ(check_balanced(page), "");
  EXPECT_NE(page.find("Handshake not captured"), std::string::npos);
  EXPECT_NE(page.find("Window scale unknown"), std::string::npos);
  const auto rpaths = mark_paths(page, "retx rto");
  ASSERT_EQ(rpaths.size(), 1u);
  for (double y : path_ys(rpaths[0])) {
    EXPECT_GE(y, 40.0);
    EXPECT_LE(y, 480.0);
  }
  EXPECT_NE(page.find("seq -1000:0 (1000 B)"), std::string::npos);
}

// Issue 13 point 11: one 1000-byte resend in 1 MB is 0.44 px tall on the
// 440 px axis; it must still be drawn at least 10 px tall. And a RST at the
// flow's last instant sits on the plot's right edge (x 1076): its word must
// end left of the mark, inside the plot, not run past the edge and be
// clipped.
TEST(AnalyzeHtml, RetransmissionVisibleAndRstWordInsideThePlot) {
  Synthetic s = synthetic(1000, 500);
  PacketLabels rst = s.packets.back();
  rst.frame = s.packets.back().frame + 1;
  rst.time = s.flow.last;
  rst.labels = bit(Label::kRst);
  s.packets.push_back(rst);
  const std::string page = render_synthetic(s, 100000);
  const auto rpaths = mark_paths(page, "retx rto");
  ASSERT_EQ(rpaths.size(), 2u);  // the whole flow, then the detail view around it
  const auto ys = path_ys(rpaths[0]);
  ASSERT_FALSE(ys.empty());
  EXPECT_GE(*std::max_element(ys.begin(), ys.end()) - *std::min_element(ys.begin(), ys.end()),
            10.0 - 1e-9);
  const std::regex word("<text class=\"mt\" x=\"([0-9.]+)\"[^>]*?( text-anchor=\"end\")?>RST<");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(page, m, word));
  EXPECT_LE(std::stod(m[1]), 1076.0);
  EXPECT_TRUE(m[2].matched);
}

TEST(AnalyzeHtml, SequenceWrapPlotsMonotonically) {
  // 12 segments 400 MB apart cross 2^32 once: each bar must sit higher
  // (smaller SVG y) than the one before.
  Synthetic s = synthetic(12, 0);
  for (auto& p : s.packets) {
    if (p.dir == 0) p.rel_seq = static_cast<uint32_t>(uint64_t{p.rel_seq} / 1000 * 400'000'000);
    if (p.dir == 1) p.rel_ack = static_cast<uint32_t>(uint64_t{p.rel_ack} / 1000 * 400'000'000);
  }
  const std::string page = render_synthetic(s, 1000);
  const auto paths = mark_paths(page, "seg");
  ASSERT_EQ(paths.size(), 12u);
  double prev = 1e9;
  for (const auto& d : paths) {
    const double y = path_ys(d)[0];
    EXPECT_LT(y, prev);
    prev = y;
  }
  EXPECT_NE(page.find("seq 4400000000:4400001000"), std::string::npos);
}

}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

// The numbers of one series path's points: (x, y) of each "Mx,y", and the
// y of each "Vy".
std::vector<double> path_numbers(const std::string& page, const std::string& svg_id,
                                 const std::string& cls, const char* re_text) {
  const size_t at = page.find("id=\"" + svg_id + "\"");
  if (at == std::string::npos) return {};
  const size_t end = page.find("</svg>", at);
  const std::string svg = page.substr(at, end - at);
  const std::regex path("<path class=\"" + cls + "\" d=\"([^\"]*)\"");
  std::smatch m;
  if (!std::regex_search(svg, m, path)) return {};
  const std::string d = m[1];
  std::vector<double> out;
  const std::regex num(re_text);
  for (auto it = std::sregex_iterator(d.begin(), d.end(), num); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1]));
  return out;
}

// Issue 13 point 11: Wireshark's other stream graphs. synthetic(50, 0):
// 50 segments of 1000 bytes, each acknowledged by the peer 1 ms after it
// was sent (and the next sent 1 ms after that ACK), window 65535. So 50 RTT
// samples of exactly 1 ms (all dots at one height), bytes in flight
// alternating 1000 (after a segment) and 0 (after its ACK), and the window
// line flat and inside the plot (it once ran off the top).
TEST(AnalyzeHtml, RttThroughputAndInFlightGraphs) {
  const Synthetic s = synthetic(50, 0);
  const std::string page = render_synthetic(s, 1 << 20);
  EXPECT_EQ(check_balanced(page), "");
  EXPECT_NE(page.find("round-trip time (50 samples)"), std::string::npos);
  for (const char* id : {"g-f0d0rtt", "g-f0d0tput", "g-f0d0flight"}) {
    EXPECT_NE(page.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  // A dot is "Mx,y" then two arcs: its y is the sample.
  const auto rtt_y = path_numbers(page, "g-f0d0rtt", "rttdots", "M[0-9.]+,([0-9.]+)");
  ASSERT_EQ(rtt_y.size(), 50u);
  EXPECT_EQ(*std::min_element(rtt_y.begin(), rtt_y.end()),
            *std::max_element(rtt_y.begin(), rtt_y.end()));
  // In flight: the first point and every vertical step take two heights only.
  auto flight_y = path_numbers(page, "g-f0d0flight", "inflight", "[MV](?:[0-9.]+,)?([0-9.]+)");
  std::set<double> heights(flight_y.begin(), flight_y.end());
  EXPECT_EQ(heights.size(), 2u);
  // The window: flat, below the top of the plot area.
  const auto win_y = path_numbers(page, "g-f0d0flight", "rwnd", "[MV](?:[0-9.]+,)?([0-9.]+)");
  ASSERT_FALSE(win_y.empty());
  const std::set<double> win_heights(win_y.begin(), win_y.end());
  EXPECT_EQ(win_heights.size(), 1u);
  const size_t svg_at = page.find("id=\"g-f0d0flight\"");
  std::smatch m;
  const std::string rest = page.substr(svg_at);
  ASSERT_TRUE(
      std::regex_search(rest, m, std::regex("class=\"plotarea\" x=\"[0-9.]+\" y=\"([0-9.]+)\"")));
  EXPECT_GT(win_y[0], std::stod(m[1]));
  // The window line sits above the in-flight line's highest point.
  EXPECT_LT(win_y[0], *heights.begin());
}

// Issue 13 point 11: "the window line runs off the top". synthetic(50, 0)
// sends 50,000 bytes under a 65,535-byte window, so the window edge reaches
// 115,535: far above the data. The y axis shows a quarter of the data's
// range above it (50,000 + 12,500, plus 3 % margin) and the window line is
// drawn inside the plot's clip path, so what is above is cut at the plot's
// top edge instead of running over the heading; the ACK line (at most
// 50,000) stays inside.
TEST(AnalyzeHtml, WindowLineIsClippedToThePlot) {
  const Synthetic s = synthetic(50, 0);
  const std::string svg = main_svgs(render_synthetic(s, 1 << 20));
  const size_t clip = svg.find("<g clip-path=\"url(#clip-");
  const size_t win = svg.find("<path class=\"winline\" d=\"");
  const size_t ack = svg.find("<path class=\"ackline\" d=\"");
  const size_t legend = svg.find("<g class=\"legend\">");
  ASSERT_NE(clip, std::string::npos);
  ASSERT_NE(win, std::string::npos);
  EXPECT_LT(clip, win);
  EXPECT_LT(win, legend);
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(svg, m, std::regex("class=\"plotarea\" x=\"[0-9.]+\" y=\"([0-9.]+)\"")));
  const double top = std::stod(m[1]);
  auto ys = [&](size_t at) {
    const std::string d = svg.substr(at, svg.find('"', svg.find("d=\"", at) + 3) - at);
    std::vector<double> out;
    const std::regex v("[MV](?:-?[0-9.]+,)?(-?[0-9.]+)");
    for (auto it = std::sregex_iterator(d.begin(), d.end(), v); it != std::sregex_iterator(); ++it)
      out.push_back(std::stod((*it)[1]));
    return out;
  };
  const auto wy = ys(win), ay = ys(ack);
  ASSERT_FALSE(wy.empty());
  ASSERT_FALSE(ay.empty());
  EXPECT_LT(*std::min_element(wy.begin(), wy.end()), top);  // above the top: clipped
  EXPECT_GE(*std::min_element(ay.begin(), ay.end()), top);  // the ACK line: inside
}
}  // namespace
}  // namespace vigil::analyze

namespace vigil::analyze {
namespace {

// 1,000 flows, flow i with 1 + i % 7 packets, every 10th ended by a RST (a
// problem). Each has one plotted segment of its own.
std::vector<Flow> ranking_flows() {
  std::vector<Flow> flows(1000);
  for (size_t i = 0; i < flows.size(); ++i) {
    flows[i].port[0] = static_cast<uint16_t>(1024 + i);
    flows[i].port[1] = 80;
    flows[i].packets = 1 + i % 7;
    flows[i].first = flows[i].last = Instant::from_ns(static_cast<int64_t>(i) * 1000);
    flows[i].end.how = i % 10 == 0 ? "rst" : "open";
  }
  return flows;
}

std::unique_ptr<html::FlowPlot> one_point(size_t i) {
  auto plot = std::make_unique<html::FlowPlot>();
  PacketLabels p;
  p.frame = i + 1;
  p.flow = i;
  p.time = Instant::from_ns(static_cast<int64_t>(i) * 1000);
  p.labels = bit(Label::kSyn);
  plot->add(p, 100);
  return plot;
}

TEST(AnalyzeHtml, SectionsChosenAsFlowsFinishInAnyOrder) {
  // The report keeps the story and points of at most kMaxSections flows
  // while flows are added (issue 13 point 10), and the page is the same
  // whatever order they finish in. The 200 sections: the 100 RST flows
  // (problems), then the 100 others with the most packets, 7 (i % 7 == 6:
  // 143 flows, of which 14 end with a RST), lowest numbers first.
  const std::vector<Flow> flows = ranking_flows();
  std::vector<size_t> order(flows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::string pages[2];
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) std::reverse(order.begin(), order.end());
    HtmlReport report;
    for (size_t i : order) {
      Story st;
      st.ending = "ending " + std::to_string(i % 3);
      FlowSummary sum;
      sum.packets = flows[i].packets;
      report.add_flow(i, flows[i], std::move(st), sum, one_point(i));
      EXPECT_LE(report.detailed(), HtmlReport::kMaxSections);
    }
    EXPECT_EQ(report.detailed(), HtmlReport::kMaxSections);
    report.render("r", flows, nullptr, [&](std::string_view s) { pages[pass] += s; });
  }
  EXPECT_EQ(pages[0], pages[1]);
  const std::string& page = pages[0];
  EXPECT_EQ(check_balanced(page), "");
  EXPECT_NE(page.find("Graphs and stories for 200 of 1000 flows"), std::string::npos);
  EXPECT_NE(page.find("100 of the 100 flows with a problem"), std::string::npos);
  std::set<size_t> want;
  for (size_t i = 0; i < flows.size(); i += 10) want.insert(i);
  for (size_t i = 6; want.size() < 200; i += 7) want.insert(i);  // 7 packets, not yet in
  std::set<size_t> got;
  const std::regex section("<section class=\"flow\" id=\"flow-([0-9]+)\">");
  for (std::sregex_iterator it(page.begin(), page.end(), section), end; it != end; ++it) {
    got.insert(std::stoul((*it)[1]));
  }
  EXPECT_EQ(got, want);
  // Every section has its own plot, and every flow its row.
  EXPECT_EQ(count(page, "No segments recorded"), 0u);
  EXPECT_EQ(count(page, "<tr><td>"), 1000u);
  EXPECT_EQ(count(page, "ending 2\n"), 333u);
}

}  // namespace
}  // namespace vigil::analyze
