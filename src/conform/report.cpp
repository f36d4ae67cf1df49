#include "conform/report.hpp"

#include <cstdio>
#include <map>

#include "analyze/flow_analyzer.hpp"
#include "analyze/html_report.hpp"
#include "analyze/story.hpp"
#include "link/pcap_writer.hpp"
#include "util/json.hpp"

namespace vigil::conform {
namespace {

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::span<const uint8_t> bytes(const WireDatagram& d) {
  return {reinterpret_cast<const uint8_t*>(d.ip.data()), d.ip.size()};
}

// The analyzer's own page for one case's capture (vigil analyze --html):
// the time-sequence graph and the connection's story.
std::string plot_page(const std::string& title, const std::vector<WireDatagram>& cap) {
  analyze::HtmlReport report(5000);
  analyze::FlowAnalyzer streaming(
      [&](const analyze::Flow& f, const analyze::PacketLabels& p) { report.add(f, p); });
  analyze::FlowAnalyzer kept;
  uint64_t frame = 0;
  for (const auto& d : cap) {
    const Instant t = Instant::from_ns(d.at.count());
    streaming.add(++frame, t, bytes(d));
    kept.add(frame, t, bytes(d));
  }
  streaming.finish();
  kept.finish();
  return report.render(title, streaming.flows(), analyze::build_stories(kept));
}

std::string file_name(const std::string& target, const std::string& c) {
  std::string s = target + "-" + c;
  for (char& ch : s) {
    if (ch == ' ' || ch == '/' || ch == '=' || ch == '+') ch = '_';
  }
  return s;
}

}  // namespace

std::string text_report(const TargetRun& run) {
  size_t wc = 4, wm = 8;
  for (const auto& [c, r] : run.results) {
    wc = std::max(wc, c->info.name.size());
    wm = std::max(wm, std::min<size_t>(r.measured.size(), 60));
  }
  std::string o = "target: " + run.target + "\n\n";
  o += pad("case", wc) + "  " + pad("verdict", 7) + "  " + pad("measured", wm) + "  expected\n";
  size_t counts[4] = {};
  for (const auto& [c, r] : run.results) {
    ++counts[static_cast<int>(r.verdict)];
    o += pad(c->info.name, wc) + "  " + pad(verdict_name(r.verdict), 7) + "  " +
         pad(r.measured, wm) + "  " + r.expected + "\n";
  }
  o += "\n" + std::to_string(counts[0]) + " pass, " + std::to_string(counts[1]) + " fail, " +
       std::to_string(counts[2]) + " info, " + std::to_string(counts[3]) + " skipped\n";
  return o;
}

std::string json_report(const std::vector<TargetRun>& runs) {
  util::JsonWriter w;
  w.begin_object().key("targets").begin_array();
  for (const auto& run : runs) {
    w.begin_object().key("target").value(run.target).key("cases").begin_array();
    for (const auto& [c, r] : run.results) {
      w.begin_object();
      w.key("name").value(c->info.name);
      w.key("category").value(c->info.category);
      w.key("rule").value(c->info.rule);
      w.key("measures").value(c->info.measures);
      w.key("tolerance").value(c->info.tolerance);
      w.key("verdict").value(verdict_name(r.verdict));
      w.key("measured").value(r.measured);
      w.key("expected").value(r.expected);
      w.key("datagrams").value(static_cast<uint64_t>(r.capture.size()));
      w.key("testbed_seconds").value(r.seconds);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return w.str() + "\n";
}

std::string markdown_matrix(const std::vector<TargetRun>& runs) {
  std::vector<std::string> names;
  std::map<std::string, std::map<size_t, const CaseResult*>> cells;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const auto& [c, r] : runs[i].results) {
      if (!cells.count(c->info.name)) names.push_back(c->info.name);
      cells[c->info.name][i] = &r;
    }
  }
  std::string o = "| case |";
  for (const auto& run : runs) o += " " + run.target + " |";
  o += "\n|---|";
  for (size_t i = 0; i < runs.size(); ++i) o += "---|";
  o += "\n";
  for (const auto& n : names) {
    o += "| `" + n + "` |";
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = cells[n].find(i);
      if (it == cells[n].end()) {
        o += " |";
        continue;
      }
      std::string m = it->second->measured;
      for (char& ch : m) {
        if (ch == '|') ch = '/';
      }
      o += " **" + std::string(verdict_name(it->second->verdict)) + "**: " + m + " |";
    }
    o += "\n";
  }
  return o;
}

std::string html_report(const std::vector<TargetRun>& runs) {
  std::string o =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vigil conform</title>\n"
      "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;font-size:90%}"
      ".pass{background:#d4f7d4}.fail{background:#f7d4d4}.info{background:#e4ecf7}"
      ".skipped{background:#eee}iframe{width:100%;height:700px;border:1px solid #ccc}"
      "</style></head><body>\n<h1>vigil conform</h1>\n<h2>Matrix</h2>\n<table><tr><th>case</th>";
  for (const auto& run : runs) o += "<th>" + html_escape(run.target) + "</th>";
  o += "<th>expected</th></tr>\n";
  std::vector<std::string> names;
  std::map<std::string, std::map<size_t, const CaseResult*>> cells;
  std::map<std::string, const Case*> cases;
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const auto& [c, r] : runs[i].results) {
      if (!cells.count(c->info.name)) names.push_back(c->info.name);
      cells[c->info.name][i] = &r;
      cases[c->info.name] = c;
    }
  }
  for (const auto& n : names) {
    o += "<tr><td><a href=\"#" + html_escape(n) + "\">" + html_escape(n) + "</a></td>";
    std::string expected;
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = cells[n].find(i);
      if (it == cells[n].end()) {
        o += "<td></td>";
        continue;
      }
      const char* v = verdict_name(it->second->verdict);
      o += std::string("<td class=\"") + v + "\"><b>" + v + "</b> " +
           html_escape(it->second->measured) + "</td>";
      expected = it->second->expected;
    }
    o += "<td>" + html_escape(expected) + "</td></tr>\n";
  }
  o += "</table>\n";
  for (const auto& n : names) {
    const Case* c = cases[n];
    o += "<h2 id=\"" + html_escape(n) + "\">" + html_escape(n) +
         "</h2>\n<p>Rule: " + html_escape(c->info.rule) +
         "<br>Measures: " + html_escape(c->info.measures) +
         "<br>Tolerance: " + html_escape(c->info.tolerance) + "</p>\n";
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = cells[n].find(i);
      if (it == cells[n].end() || it->second->capture.empty()) continue;
      o += "<h3>" + html_escape(runs[i].target) + ": " + verdict_name(it->second->verdict) +
           "</h3>\n<iframe srcdoc=\"" +
           html_escape(plot_page(runs[i].target + " " + n, it->second->capture)) + "\"></iframe>\n";
    }
  }
  o += "</body></html>\n";
  return o;
}

std::string write_pcaps(const TargetRun& run, const std::string& dir) {
  for (const auto& [c, r] : run.results) {
    if (r.capture.empty()) continue;
    const std::string path = dir + "/" + file_name(run.target, c->info.name) + ".pcap";
    link::PcapWriter w(path);
    if (!w.ok()) return path + ": " + w.error();
    for (const auto& d : r.capture) w.write(Instant::from_ns(d.at.count()), bytes(d));
    if (!w.close()) return path + ": " + w.error();
  }
  return "";
}

bool any_failed(const std::vector<TargetRun>& runs) {
  for (const auto& run : runs) {
    for (const auto& [c, r] : run.results) {
      if (r.verdict == Verdict::fail) return true;
    }
  }
  return false;
}

}  // namespace vigil::conform
