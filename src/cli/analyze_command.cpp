// `vigil analyze`: label every TCP segment of a capture and summarise each
// connection. First cut: labels, flows and how they ended; the stories,
// RFC 2525 detectors and plots are still to come (issue: vigil analyze).
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "cli/commands.hpp"
#include "util/json.hpp"

namespace vigil::cli {

namespace {

void analyze_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil analyze FILE [--json] [--packets]\n"
               "\n"
               "Reads a pcap or pcapng capture (Ethernet, raw IP, Linux cooked SLL/SLL2,\n"
               "loopback), labels every TCP segment (keepalive, zero_window_probe,\n"
               "retransmission ...) and summarises each connection.\n"
               "\n"
               "  --json      print flows[] and packets[] as JSON (docs/analyze-json.md)\n"
               "  --packets   list every segment with its labels in the text output\n");
}

// A progress bar on stderr for long files, only when a person is watching.
class Progress {
 public:
  explicit Progress(uint64_t total) : total_(total), enabled_(isatty(2) && total > (64u << 20)) {}
  void update(uint64_t done) {
    if (!enabled_ || total_ == 0) return;
    const int pct = static_cast<int>(done * 100 / total_);
    if (pct == last_) return;
    last_ = pct;
    const int width = 40;
    const int filled = pct * width / 100;
    std::fprintf(stderr, "\r[%s%s] %3d%%", std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), ' ').c_str(), pct);
  }
  ~Progress() {
    if (enabled_ && last_ >= 0) std::fprintf(stderr, "\r%60s\r", "");
  }

 private:
  uint64_t total_;
  bool enabled_;
  int last_ = -1;
};

std::string endpoint(const analyze::Flow& f, int side) {
  return f.addr[side].to_string() + ":" + std::to_string(f.port[side]);
}

std::string gaps_text(const std::vector<Duration>& gaps) {
  std::string s;
  for (size_t i = 0; i < gaps.size(); ++i) {
    if (i == 8 && gaps.size() > 10) {
      s += ", ... (" + std::to_string(gaps.size()) + " in all)";
      break;
    }
    s += (i ? ", " : "") + format_duration(gaps[i]);
  }
  return s;
}

void json_frames(util::JsonWriter& j, const std::vector<uint64_t>& frames) {
  j.begin_array();
  for (uint64_t f : frames) j.value(f);
  j.end_array();
}

void json_gaps(util::JsonWriter& j, const std::vector<Duration>& gaps) {
  j.begin_array();
  for (const auto& g : gaps) j.raw_number(format_seconds(Instant::zero() + g));
  j.end_array();
}

void json_finding(util::JsonWriter& j, const analyze::Finding& f, size_t flow) {
  j.begin_object();
  j.key("flow").value(static_cast<uint64_t>(flow));
  j.key("problem").value(f.problem);
  j.key("rfc").value(f.rfc_section);
  j.key("confidence").value(f.confidence);
  j.key("detail").value(f.detail);
  j.key("frames");
  json_frames(j, f.frames);
  j.end_object();
}

void json_story(util::JsonWriter& j, const analyze::Story& s) {
  j.begin_object();
  j.key("established_frame");
  if (s.established_frame) {
    j.value(*s.established_frame);
  } else {
    j.null();
  }
  j.key("ending").value(s.ending);
  j.key("idle_periods").begin_array();
  for (const auto& [a, b] : s.idle_periods) {
    j.begin_array().raw_number(format_seconds(a)).raw_number(format_seconds(b)).end_array();
  }
  j.end_array();
  j.key("keepalive").begin_array();
  for (const auto& k : s.keepalive) {
    j.begin_object();
    j.key("dir").value(k.dir);
    j.key("idle_s").raw_number(format_seconds(Instant::zero() + k.idle));
    j.key("interval_s").raw_number(format_seconds(Instant::zero() + k.interval));
    j.key("probes").value(k.probes);
    j.key("answered").value(k.answered);
    j.key("frames");
    json_frames(j, k.frames);
    j.end_object();
  }
  j.end_array();
  j.key("persist").begin_array();
  for (const auto& p : s.persist) {
    j.begin_object();
    j.key("dir").value(p.dir);
    j.key("start_s").raw_number(format_seconds(p.start));
    j.key("end_s").raw_number(format_seconds(p.end));
    j.key("gaps_s");
    json_gaps(j, p.gaps);
    j.key("frames");
    json_frames(j, p.frames);
    j.end_object();
  }
  j.end_array();
  j.key("rto_backoff").begin_array();
  for (const auto& b : s.rto) {
    j.begin_object();
    j.key("dir").value(b.dir);
    j.key("syn").value(b.syn);
    j.key("rel_seq").value(b.rel_seq);
    j.key("gaps_s");
    json_gaps(j, b.gaps);
    j.key("frames");
    json_frames(j, b.frames);
    j.end_object();
  }
  j.end_array();
  auto rto = [&](const char* key, Duration d) {
    j.key(key);
    if (d == Duration::zero()) {
      j.null();
    } else {
      j.raw_number(format_seconds(Instant::zero() + d));
    }
  };
  rto("initial_rto_s", s.initial_rto_estimate);
  rto("min_rto_s", s.min_rto_estimate);
  rto("max_rto_s", s.max_rto_estimate);
  j.end_object();
}

}  // namespace

int run_analyze(const std::vector<std::string>& args) {
  std::string path;
  bool json = false, list_packets = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      analyze_usage(stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--packets") {
      list_packets = true;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr,
                   "vigil analyze: unknown option '%s'; valid options: --json --packets --help\n",
                   a.c_str());
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "vigil analyze: one capture at a time (got '%s' and '%s')\n",
                   path.c_str(), a.c_str());
      return 2;
    }
  }
  if (path.empty()) {
    analyze_usage(stderr);
    return 2;
  }
  std::string err;
  auto reader = analyze::CaptureReader::open(path, &err);
  if (!reader) {
    std::fprintf(stderr, "vigil analyze: %s\n", err.c_str());
    return 1;
  }
  analyze::FlowAnalyzer analyzer;
  Progress progress(reader->file_size());
  analyze::CapturedPacket pkt;
  uint64_t n = 0;
  while (reader->next(&pkt)) {
    analyzer.add(pkt.frame, pkt.time, pkt.ipv4);
    if ((++n & 0xfff) == 0) progress.update(reader->bytes_read());
  }
  analyzer.finish();
  const std::vector<analyze::Story> stories = analyze::build_stories(analyzer);

  const auto& flows = analyzer.flows();
  const auto& packets = analyzer.packets();
  std::string out;
  if (json) {
    util::JsonWriter j(true);
    j.begin_object();
    j.key("file").value(path);
    j.key("frames").value(reader->stats().frames);
    j.key("ipv4_packets").value(reader->stats().ipv4);
    j.key("flows").begin_array();
    for (size_t i = 0; i < flows.size(); ++i) {
      const auto& f = flows[i];
      j.begin_object();
      j.key("flow").value(static_cast<uint64_t>(i));
      j.key("client").value(endpoint(f, 0));
      j.key("server").value(endpoint(f, 1));
      j.key("handshake_seen").value(f.saw_syn);
      j.key("window_scale_known").value(f.scale_known);
      j.key("first_s").raw_number(format_seconds(f.first));
      j.key("last_s").raw_number(format_seconds(f.last));
      j.key("packets").value(f.packets);
      j.key("end").begin_object();
      j.key("how").value(f.end.how);
      j.key("frame").value(f.end.frame);
      j.end_object();
      if (i < stories.size()) {
        j.key("story");
        json_story(j, stories[i]);
        j.key("findings").begin_array();
        for (const auto& fd : stories[i].findings) json_finding(j, fd, i);
        j.end_array();
      }
      j.end_object();
    }
    j.end_array();
    j.key("packets").begin_array();
    for (const auto& p : packets) {
      j.begin_object();
      j.key("frame").value(p.frame);
      j.key("time_s").raw_number(format_seconds(p.time));
      j.key("flow").value(static_cast<uint64_t>(p.flow));
      j.key("dir").value(p.dir);
      j.key("labels").begin_array();
      for (unsigned l = 0; l < static_cast<unsigned>(analyze::Label::kCount); ++l) {
        if (analyze::has(p.labels, static_cast<analyze::Label>(l))) {
          j.value(analyze::label_name(static_cast<analyze::Label>(l)));
        }
      }
      j.end_array();
      j.end_object();
    }
    j.end_array();
    j.key("findings").begin_array();
    for (size_t i = 0; i < stories.size(); ++i) {
      for (const auto& fd : stories[i].findings) json_finding(j, fd, i);
    }
    j.end_array();
    j.end_object();
    out = j.str() + "\n";
  } else {
    out += path + ": " + std::to_string(reader->stats().frames) + " frames, " +
           std::to_string(flows.size()) + " TCP connection" + (flows.size() == 1 ? "" : "s") + "\n";
    for (size_t i = 0; i < flows.size(); ++i) {
      const auto& f = flows[i];
      // Count labels per flow for a one-line summary.
      std::vector<uint64_t> counts(static_cast<size_t>(analyze::Label::kCount));
      for (const auto& p : packets) {
        if (p.flow != i) continue;
        for (unsigned l = 0; l < counts.size(); ++l) {
          if (analyze::has(p.labels, static_cast<analyze::Label>(l))) ++counts[l];
        }
      }
      out += "\nflow " + std::to_string(i) + ": " + endpoint(f, 0) + " -> " + endpoint(f, 1) +
             ", " + std::to_string(f.packets) + " packets, " + format_seconds(f.first) + " .. " +
             format_seconds(f.last) + " s" + (f.scale_known ? "" : " (window scale unknown)") +
             "\n";
      out += "  ended: " + f.end.how +
             (f.end.frame ? " at frame " + std::to_string(f.end.frame) : "") + "\n  labels:";
      for (unsigned l = 0; l < counts.size(); ++l) {
        if (counts[l]) {
          out += " " + std::string(analyze::label_name(static_cast<analyze::Label>(l))) + "=" +
                 std::to_string(counts[l]);
        }
      }
      out += "\n";
      if (i < stories.size()) {
        const auto& st = stories[i];
        out += "  story: " + st.ending + "\n";
        for (const auto& k : st.keepalive) {
          out += "  keepalive from the " + std::string(k.dir == 0 ? "client" : "server") +
                 ": idle " + format_duration(k.idle) + ", interval " + format_duration(k.interval) +
                 ", " + std::to_string(k.probes) + " probe" + (k.probes == 1 ? "" : "s") +
                 (k.answered ? ", answered" : ", unanswered") + "\n";
        }
        for (const auto& p : st.persist) {
          out += "  zero-window probing by the " + std::string(p.dir == 0 ? "client" : "server") +
                 " from " + format_seconds(p.start) + " s: gaps " + gaps_text(p.gaps) + "\n";
        }
        for (const auto& b : st.rto) {
          out += "  " + std::string(b.syn ? "SYN " : "") + "RTO back-off (" +
                 (b.dir == 0 ? "client" : "server") + "): gaps " + gaps_text(b.gaps) + "\n";
        }
        for (const auto& fd : st.findings) {
          char conf[16];
          std::snprintf(conf, sizeof conf, "%.0f%%", fd.confidence * 100);
          out += "  FINDING " + fd.rfc_section + " " + fd.problem + " (confidence " + conf +
                 "): " + fd.detail + "\n";
        }
      }
      if (list_packets) {
        for (const auto& p : packets) {
          if (p.flow != i) continue;
          out += "  " + std::to_string(p.frame) + "  " + format_seconds(p.time) + "  " +
                 (p.dir == 0 ? "->" : "<-") + "  seq " + std::to_string(p.rel_seq) + " ack " +
                 std::to_string(p.rel_ack) + " len " + std::to_string(p.len) + " win " +
                 std::to_string(p.window) + "  " + analyze::labels_to_string(p.labels) + "\n";
        }
      }
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace vigil::cli
