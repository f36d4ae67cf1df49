// `vigil analyze`: label every TCP segment of a capture and tell each
// connection's story. Streams: packets go through the analyzer, the story
// builder, the congestion detectors and the graph points (FlowPipeline) as
// they are read, and packet lines are written as they come, so memory
// grows with flows, not packets; each flow's result is used as it is taken
// (issue 13 point 10).
#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/congestion_detectors.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/flow_pipeline.hpp"
#include "analyze/html_report.hpp"
#include "analyze/story.hpp"
#include "analyze/summary.hpp"
#include "cli/commands.hpp"
#include "util/json.hpp"

namespace vigil::cli {

namespace {

void analyze_usage(FILE* f) {
  std::fprintf(f,
               "usage: vigil analyze FILE|- [--json] [--packets] [--html OUT.html] [-t r|ad|e]\n"
               "                     [-f FILTER] [--flow N|ADDR:PORT[,ADDR:PORT]]\n"
               "       vigil analyze -i IFACE [options]\n"
               "\n"
               "Reads a pcap or pcapng capture (Ethernet, raw IP, Linux cooked SLL/SLL2,\n"
               "loopback, PPP, NFLOG, 802.11; pcapng interfaces of different link types),\n"
               "opens tunnels (VLAN, MPLS, PPPoE, GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP in\n"
               "IP), labels every TCP segment (keepalive, zero_window_probe, retransmission\n"
               "...) and summarises each connection. The file is streamed: memory grows\n"
               "with connections, not packets. FILE - reads standard input.\n"
               "\n"
               "  --json       print packets[] (as they are read), then flows[], findings[]\n"
               "               and the reader's counters as JSON (docs/analyze-json.md)\n"
               "  --csv        print only the per-flow summary table as CSV (RFC 4180;\n"
               "               columns in docs/analyze-json.md, \"summary\")\n"
               "  --packets    list every segment with its labels, in frame order as read,\n"
               "               before the per-connection summary\n"
               "  --html FILE  also write a self-contained HTML report with a time-sequence\n"
               "               graph per connection\n"
               "  -t FORMAT    times in text output: r seconds since the first packet (the\n"
               "               default), ad date and time (UTC), e epoch seconds; --json\n"
               "               always gives epoch seconds\n"
               "  -f FILTER    analyse only the frames a BPF filter matches (pcap-filter(7),\n"
               "               compiled by libpcap: -f 'host 10.0.0.1 and port 443')\n"
               "  --flow SEL   show only flow number N, or the flows with the endpoint\n"
               "               ADDR:PORT, or with both endpoints ADDR:PORT,ADDR:PORT\n"
               "               ([v6addr]:port for IPv6)\n"
               "  -i IFACE     capture live on IFACE (needs CAP_NET_RAW); each connection's\n"
               "               story is printed as it ends, Ctrl-C prints the open ones\n"
               "\n"
               "Exit codes: 0 done; 1 the capture or FILE could not be opened or written\n"
               "(standard output too: a full disk, a closed pipe when SIGPIPE is ignored),\n"
               "or reading stopped at a damaged record (everything before it is reported,\n"
               "and a warning names the frame); 2 the command line was wrong (a filter\n"
               "libpcap cannot compile, too). With --json a capture that cannot be opened\n"
               "still prints {\"file\", \"error\"} on stdout.\n");
}

constexpr const char* kValidOptions =
    "--json --csv --packets --html FILE -t r|ad|e -f FILTER --flow SEL -i IFACE --help";

// stdout through one large buffer; packet lines are formatted by hand into
// it (no per-packet allocation).
class Out {
 public:
  Out() : buf_(new char[kSize]) {}
  ~Out() { flush(); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  void put(std::string_view s) {
    if (s.size() > kSize - len_) {
      flush();
      if (s.size() > kSize) {
        write(s.data(), s.size());
        return;
      }
    }
    std::memcpy(buf_.get() + len_, s.data(), s.size());
    len_ += s.size();
  }
  // Room for one formatted line of at most kLine bytes.
  char* reserve() {
    if (kSize - len_ < kLine) flush();
    return buf_.get() + len_;
  }
  void commit(char* end) { len_ = static_cast<size_t>(end - buf_.get()); }
  void flush() {
    if (len_ > 0) write(buf_.get(), len_);
    len_ = 0;
  }
  // errno of the first write that failed (0: none), kept because later
  // calls overwrite errno.
  int error() const { return error_; }
  static constexpr size_t kLine = 1024;

 private:
  static constexpr size_t kSize = 1 << 20;
  void write(const char* p, size_t n) {
    if (std::fwrite(p, 1, n, stdout) != n && error_ == 0) error_ = errno;
  }
  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  int error_ = 0;
};

// The text output's per-flow stories: they come after the table of every
// flow, so they wait; past kKeep bytes in a temporary file (as sort(1)
// spills), not in memory (issue 13 point 10: 200,000 flows are 40 MB of
// stories). Without a usable temporary file they stay in memory.
class TextSpill {
 public:
  TextSpill() = default;
  ~TextSpill() {
    if (file_ != nullptr) std::fclose(file_);
  }
  TextSpill(const TextSpill&) = delete;
  TextSpill& operator=(const TextSpill&) = delete;
  void add(const std::string& s) {
    buf_ += s;
    if (buf_.size() < kKeep || failed_) return;
    if (file_ == nullptr) file_ = std::tmpfile();
    if (file_ == nullptr || std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      // What the file holds up to here is whole; the rest stays here.
      failed_ = true;
      return;
    }
    spilled_ += buf_.size();
    buf_.clear();
  }
  // Everything added, in order; false when the temporary file could not be
  // read back whole.
  bool copy_to(Out& out) {
    uint64_t left = spilled_;
    if (file_ != nullptr && spilled_ > 0 && std::fflush(file_) == 0 &&
        std::fseek(file_, 0, SEEK_SET) == 0) {
      std::string chunk(size_t{1} << 20, '\0');
      while (left > 0) {
        const size_t n = std::fread(chunk.data(), 1, std::min<uint64_t>(left, chunk.size()), file_);
        if (n == 0) break;
        out.put(std::string_view(chunk.data(), n));
        left -= n;
      }
    }
    out.put(buf_);
    buf_.clear();
    return left == 0;
  }

 private:
  static constexpr size_t kKeep = size_t{256} << 10;
  std::string buf_;
  std::FILE* file_ = nullptr;
  uint64_t spilled_ = 0;
  bool failed_ = false;
};

char* put_str(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* put_u64(char* p, uint64_t v) { return std::to_chars(p, p + 24, v).ptr; }

// As format_seconds(): seconds with six digits of fraction, truncated.
char* put_seconds(char* p, Instant t) {
  const int64_t ns = t.ns();
  uint64_t m = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  if (ns < 0) *p++ = '-';
  p = put_u64(p, m / 1'000'000'000);
  *p++ = '.';
  uint64_t us = (m % 1'000'000'000) / 1000;
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + us % 10);
    us /= 10;
  }
  return p + 6;
}

constexpr size_t kLabels = static_cast<size_t>(analyze::Label::kCount);

// How text output shows a packet's time (tshark's -t): seconds since the
// first packet (r, the default), date and time in UTC (ad), or the
// capture's raw epoch seconds (e). JSON always has epoch seconds.
enum class TimeFormat { kRelative, kAbsolute, kEpoch };

struct TextTime {
  TimeFormat format = TimeFormat::kRelative;
  bool origin_known = false;
  Instant origin;  // the first packet's time
  // Into p (at most 32 bytes).
  char* put(char* p, Instant t) const {
    if (format == TimeFormat::kEpoch) return put_seconds(p, t);
    if (format == TimeFormat::kRelative) {
      return put_seconds(p, Instant::zero() + (t - (origin_known ? origin : t)));
    }
    const int64_t ns = t.ns();
    const int64_t secs = ns >= 0 ? ns / 1'000'000'000 : (ns + 1) / 1'000'000'000 - 1;
    const auto frac = static_cast<int64_t>(ns - secs * 1'000'000'000) / 1000;
    const time_t tt = static_cast<time_t>(secs);
    std::tm tm{};
    if (gmtime_r(&tt, &tm) == nullptr) return put_seconds(p, t);
    char buf[48];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, static_cast<long long>(frac));
    return put_str(p, std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
  }
  std::string str(Instant t) const {
    char buf[64];
    return std::string(buf, put(buf, t));
  }
};

// A progress bar on stderr for long files, only when a person is watching.
class Progress {
 public:
  // VIGIL_ANALYZE_PROGRESS=1 forces it on (tests/tools/analyze_text_readable.sh).
  explicit Progress(uint64_t total)
      : total_(total), enabled_(forced() || (isatty(2) && total > (64u << 20))) {}
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
  // Wipes the bar; called before any output, so that no line is written
  // over it on a terminal (issue 13 point 15).
  void clear() {
    if (enabled_ && last_ >= 0) std::fprintf(stderr, "\r%60s\r", "");
    last_ = -1;
  }
  ~Progress() { clear(); }

 private:
  static bool forced() {
    const char* v = std::getenv("VIGIL_ANALYZE_PROGRESS");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }
  uint64_t total_;
  bool enabled_;
  int last_ = -1;
};

std::string endpoint(const analyze::Flow& f, int side) { return f.endpoint(side); }

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
  j.key("omitted").begin_object();
  j.key("idle_periods").value(s.idle_periods_omitted);
  j.key("series").value(s.series_omitted);
  j.key("findings").value(s.findings_omitted);
  j.end_object();
  j.key("keepalive").begin_array();
  for (const auto& k : s.keepalive) {
    j.begin_object();
    j.key("dir").value(k.dir);
    j.key("idle_s").raw_number(format_seconds(Instant::zero() + k.idle));
    // Zero: no gap after an unanswered probe was seen (every probe answered).
    if (k.interval == Duration::zero()) {
      j.key("interval_s").null();
    } else {
      j.key("interval_s").raw_number(format_seconds(Instant::zero() + k.interval));
    }
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
    j.key("probes").value(p.probes);
    j.key("answered").value(p.answered);
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
    j.key("retransmissions").value(b.retransmissions);
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
  j.key("reset");
  if (s.reset) {
    const analyze::Story::Reset& r = *s.reset;
    j.begin_object();
    j.key("frame").value(r.frame);
    j.key("dir").value(r.dir);
    j.key("role").value(r.prober ? "prober" : "answering");
    j.key("probes").value(r.probes);
    j.key("answered").value(r.answered);
    j.key("last_probe_frame").value(r.last_probe_frame);
    j.key("last_answer_frame");
    if (r.last_answer_frame != 0) {
      j.value(r.last_answer_frame);
    } else {
      j.null();
    }
    j.key("since_last_probe_s").raw_number(format_seconds(Instant::zero() + r.since_last_probe));
    j.key("next_probe_after_s");
    if (r.next_probe_after > Duration::zero()) {
      j.raw_number(format_seconds(Instant::zero() + r.next_probe_after));
    } else {
      j.null();
    }
    j.key("answers_frame");
    if (r.answers_frame != 0) {
      j.value(r.answers_frame);
    } else {
      j.null();
    }
    j.key("timing");
    if (r.timing.empty()) {
      j.null();
    } else {
      j.value(r.timing);
    }
    j.end_object();
  } else {
    j.null();
  }
  rto("initial_rto_s", s.initial_rto_estimate);
  rto("min_rto_s", s.min_rto_estimate);
  rto("max_rto_s", s.max_rto_estimate);
  j.end_object();
}

// Label names once, quoted for JSON and bare for text.
struct LabelText {
  std::array<std::string, kLabels> json, text;
  LabelText() {
    for (size_t l = 0; l < kLabels; ++l) {
      const std::string n(analyze::label_name(static_cast<analyze::Label>(l)));
      json[l] = "\"" + n + "\"";
      text[l] = n;
    }
  }
};

// One packets[] element, compact, on its own line.
void json_packet(Out& out, const LabelText& names, const analyze::PacketLabels& p, bool first) {
  char* q = out.reserve();
  q = put_str(q, first ? "\n    {\"frame\": " : ",\n    {\"frame\": ");
  q = put_u64(q, p.frame);
  q = put_str(q, ", \"time_s\": ");
  q = put_seconds(q, p.time);
  q = put_str(q, ", \"flow\": ");
  q = put_u64(q, p.flow);
  q = put_str(q, p.dir == 0 ? ", \"dir\": 0, \"labels\": [" : ", \"dir\": 1, \"labels\": [");
  bool any = false;
  for (analyze::LabelSet rest = p.labels; rest != 0; rest &= rest - 1) {
    const auto l = static_cast<size_t>(std::countr_zero(rest));
    if (l >= kLabels) break;
    if (any) q = put_str(q, ", ");
    q = put_str(q, names.json[l]);
    any = true;
  }
  q = put_str(q, "]}");
  out.commit(q);
}

// One --packets text line.
void text_packet(Out& out, const LabelText& names, const TextTime& tt,
                 const analyze::PacketLabels& p) {
  char* q = out.reserve();
  q = put_str(q, "  ");
  q = put_u64(q, p.frame);
  q = put_str(q, "  ");
  q = tt.put(q, p.time);
  q = put_str(q, "  flow ");
  q = put_u64(q, p.flow);
  q = put_str(q, p.dir == 0 ? "  ->  seq " : "  <-  seq ");
  q = put_u64(q, p.rel_seq);
  q = put_str(q, " ack ");
  q = put_u64(q, p.rel_ack);
  q = put_str(q, " len ");
  q = put_u64(q, p.len);
  q = put_str(q, " win ");
  q = put_u64(q, p.window);
  q = put_str(q, "  ");
  bool any = false;
  for (analyze::LabelSet rest = p.labels; rest != 0; rest &= rest - 1) {
    const auto l = static_cast<size_t>(std::countr_zero(rest));
    if (l >= kLabels) break;
    if (any) *q++ = ',';
    q = put_str(q, names.text[l]);
    any = true;
  }
  *q++ = '\n';
  out.commit(q);
}

// A pretty JsonWriter's text as an element two levels deep (4 spaces).
void put_indented(Out& out, std::string_view s) {
  for (size_t nl; (nl = s.find('\n')) != std::string_view::npos; s.remove_prefix(nl + 1)) {
    out.put(s.substr(0, nl + 1));
    out.put("    ");
  }
  out.put(s);
}

struct Skipped {
  const char* key;
  const char* text;
  uint64_t n;
};

std::vector<Skipped> skipped(const analyze::ReaderStats& r, const analyze::AnalyzerStats& a) {
  return {{"non_ipv4", "neither IPv4 nor IPv6", r.non_ipv4},
          {"bad_link_header", "bad link header", r.bad_link_header},
          {"non_tcp", "non-TCP", a.non_tcp},
          {"fragments", "IP fragments", a.fragments},
          {"malformed_ip", "malformed IP", a.malformed_ip},
          {"malformed_tcp", "malformed TCP", a.malformed_tcp},
          {"cut_headers", "cut inside the headers by the snaplen", a.cut_headers},
          {"bad_blocks", "malformed pcapng blocks", r.bad_blocks}};
}

// --flow: a flow number, one endpoint, or both (either order).
struct FlowSelection {
  bool active = false;
  bool by_index = false;
  size_t index = 0;
  std::vector<std::string> endpoints;  // as Flow::endpoint() writes them
  bool matches(const analyze::Flow& f, size_t i) const {
    if (!active) return true;
    if (by_index) return i == index;
    const std::string a = f.endpoint(0), b = f.endpoint(1);
    if (endpoints.size() == 1) return endpoints[0] == a || endpoints[0] == b;
    return (endpoints[0] == a && endpoints[1] == b) || (endpoints[0] == b && endpoints[1] == a);
  }
};

// "10.0.0.1:80" or "[2001:db8::1]:80" in Flow::endpoint()'s spelling
// (RFC 5952 for IPv6); "" when it is not an address and port.
std::string canonical_endpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return "";
  std::string addr = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  unsigned p = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535) return "";
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') {
    addr = addr.substr(1, addr.size() - 2);
    wire::Ipv6Addr a6;
    if (inet_pton(AF_INET6, addr.c_str(), a6.bytes.data()) != 1) return "";
    return "[" + a6.to_string() + "]:" + std::to_string(p);
  }
  const auto a4 = wire::Ipv4Addr::parse(addr);
  if (!a4) return "";
  return a4->to_string() + ":" + std::to_string(p);
}

bool parse_flow_selection(const std::string& text, FlowSelection* sel) {
  sel->active = true;
  size_t n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty()) {
    sel->by_index = true;
    sel->index = n;
    return true;
  }
  const size_t comma = text.find(',');
  for (const std::string& part :
       comma == std::string::npos
           ? std::vector<std::string>{text}
           : std::vector<std::string>{text.substr(0, comma), text.substr(comma + 1)}) {
    const std::string e = canonical_endpoint(part);
    if (e.empty()) return false;
    sel->endpoints.push_back(e);
  }
  return true;
}

struct Options {
  std::string path, html_path, filter, iface;
  bool json = false, list_packets = false, html = false, csv = false;
  TextTime text_time;
  FlowSelection flow;
};

// The command line, through CLI11 (options in any order, --opt=value too).
// -1: go on; else the exit code (0 for --help, 2 for a wrong command line),
// the message printed.
int parse_options(const std::vector<std::string>& args, Options* o) {
  CLI::App app("vigil analyze", "vigil analyze");
  app.set_help_flag();  // our own usage text, below
  app.allow_extras();   // unknown options: our message, naming the valid ones
  bool help = false;
  std::string time_format, flow;
  std::vector<std::string> files;
  app.add_flag("-h,--help", help);
  app.add_flag("--json", o->json);
  app.add_flag("--packets", o->list_packets);
  app.add_flag("--csv", o->csv);  // issue 13 point 14: the summary table only
  CLI::Option* html = app.add_option("--html", o->html_path);
  CLI::Option* t = app.add_option("-t", time_format);
  app.add_option("-f,--filter", o->filter);
  CLI::Option* live = app.add_option("-i,--interface", o->iface);
  CLI::Option* flow_opt = app.add_option("--flow", flow);
  app.add_option("FILE", files);
  // A value-taking option last on the line: our messages, as before.
  if (!args.empty() && args.back() == "--html") {
    std::fprintf(stderr, "vigil analyze: --html needs a FILE to write the report to\n");
    analyze_usage(stderr);
    return 2;
  }
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 wants them reversed
  } catch (const CLI::ParseError& e) {
    if (std::find(args.begin(), args.end(), "-h") != args.end() ||
        std::find(args.begin(), args.end(), "--help") != args.end()) {
      analyze_usage(stdout);
      return 0;
    }
    std::fprintf(stderr, "vigil analyze: %s; valid options: %s\n", e.what(), kValidOptions);
    return 2;
  }
  if (help) {
    analyze_usage(stdout);
    return 0;
  }
  for (const std::string& a : app.remaining()) {
    if (!a.empty() && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "vigil analyze: unknown option '%s'; valid options: %s\n", a.c_str(),
                   kValidOptions);
      return 2;
    }
    files.push_back(a);
  }
  if (t->count() != 0) {
    if (time_format == "r") {
      o->text_time.format = TimeFormat::kRelative;
    } else if (time_format == "ad") {
      o->text_time.format = TimeFormat::kAbsolute;
    } else if (time_format == "e") {
      o->text_time.format = TimeFormat::kEpoch;
    } else {
      std::fprintf(stderr,
                   "vigil analyze: -t expects r (relative, the default), ad (UTC date and "
                   "time) or e (epoch seconds); got '%s'\n",
                   time_format.c_str());
      return 2;
    }
  }
  if (html->count() != 0) {
    if (o->html_path.empty()) {
      std::fprintf(stderr, "vigil analyze: --html needs a FILE to write the report to\n");
      analyze_usage(stderr);
      return 2;
    }
    o->html = true;
  }
  if (flow_opt->count() != 0 && !parse_flow_selection(flow, &o->flow)) {
    std::fprintf(stderr,
                 "vigil analyze: --flow expects a flow number, ADDR:PORT or "
                 "ADDR:PORT,ADDR:PORT ([2001:db8::1]:443 for IPv6); got '%s'\n",
                 flow.c_str());
    return 2;
  }
  if (o->csv && o->json) {
    std::fprintf(stderr, "vigil analyze: --csv and --json are exclusive (one stdout)\n");
    return 2;
  }
  if (files.size() > 1) {
    std::fprintf(stderr, "vigil analyze: one capture at a time (got '%s' and '%s')\n",
                 files[0].c_str(), files[1].c_str());
    return 2;
  }
  if (live->count() != 0) {
    if (!files.empty()) {
      std::fprintf(stderr, "vigil analyze: -i captures live; a FILE ('%s') cannot go with it\n",
                   files[0].c_str());
      return 2;
    }
    if (o->iface.empty()) {
      std::fprintf(stderr, "vigil analyze: -i needs an interface name\n");
      return 2;
    }
    return -1;
  }
  if (files.empty()) {
    analyze_usage(stderr);
    return 2;
  }
  o->path = files[0];
  return -1;
}

void on_interrupt(int) { analyze::CaptureReader::interrupt(); }

}  // namespace

int run_analyze(const std::vector<std::string>& args) {
  Options opt;
  if (const int rc = parse_options(args, &opt); rc >= 0) return rc;
  const bool live = !opt.iface.empty();
  const std::string path = live ? opt.iface : opt.path;
  const std::string& html_path = opt.html_path;
  const bool json = opt.json, list_packets = opt.list_packets, html = opt.html;
  TextTime& text_time = opt.text_time;
  const FlowSelection& selection = opt.flow;
  const bool csv = opt.csv;
  std::string err;
  auto reader = live ? analyze::CaptureReader::open_live(opt.iface, &err)
                     : analyze::CaptureReader::open(path, &err);
  if (!reader) {
    std::fprintf(stderr, "vigil analyze: %s\n", err.c_str());
    if (json) {
      // A program reading the JSON gets a JSON answer too: the file and
      // why it could not be read (docs/analyze-json.md).
      util::JsonWriter j(true);
      j.begin_object();
      j.key("file").value(path);
      j.key("error").value(err);
      j.end_object();
      std::fputs(j.str().c_str(), stdout);
      std::fputs("\n", stdout);
    }
    return 1;
  }
  if (!opt.filter.empty() && !reader->set_filter(opt.filter, &err)) {
    std::fprintf(stderr, "vigil analyze: bad filter '%s': %s\n", opt.filter.c_str(), err.c_str());
    return 2;
  }
  // Fail before the work if the report cannot be written.
  std::unique_ptr<FILE, int (*)(FILE*)> html_file(nullptr, &std::fclose);
  if (html) {
    html_file.reset(std::fopen(html_path.c_str(), "w"));
    if (!html_file) {
      std::fprintf(stderr, "vigil analyze: cannot write %s: %s\n", html_path.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }

  const LabelText names;
  Out out;
  // Stories, congestion findings and summaries, per flow (compact; finished
  // flows are summarised and freed, issue 13 point 10).
  // With --html the pipeline also collects each flow's graph points, and
  // the report keeps them only for the flows it will show (issue 13 point
  // 10: not for 200,000 flows).
  analyze::FlowPipeline pipeline(html ? analyze::HtmlReport::kMaxPointsPerFlow : 0);
  std::unique_ptr<analyze::HtmlReport> report;
  if (html) {
    report = std::make_unique<analyze::HtmlReport>(analyze::HtmlReport::kMaxPointsPerFlow);
    pipeline.on_finish([&report](size_t i, const analyze::Flow& f, analyze::FlowResult& r) {
      report->add_flow(i, f, &r.story, &r.summary, std::move(r.plot));
    });
  }
  bool first_packet = true;

  if (json) {
    util::JsonWriter name(false);
    name.value(path);
    out.put("{\n  \"file\": ");
    out.put(name.str());
    out.put(",\n  \"packets\": [");
  } else if (list_packets && !csv) {
    out.put(path + ": segments in frame order (frame, time, flow, direction, labels)\n");
  }
  // One flow's text block (the summary and its story).
  auto flow_text = [&](size_t i, const analyze::Flow& f, const analyze::Story* story,
                       const std::array<uint64_t, kLabels>& c) {
    std::string o;
    o += "\nflow " + std::to_string(i) + ": " + endpoint(f, 0) + " -> " + endpoint(f, 1) + ", " +
         std::to_string(f.packets) + " packets, " + text_time.str(f.first) + " .. " +
         text_time.str(f.last) + (text_time.format == TimeFormat::kAbsolute ? "" : " s") +
         (f.scale_known ? "" : " (window scale unknown)") + "\n";
    if (!f.via.empty()) o += "  via: " + f.via + "\n";
    o += "  ended: " + f.end.how + (f.end.frame ? " at frame " + std::to_string(f.end.frame) : "") +
         "\n  labels:";
    for (size_t l = 0; l < kLabels; ++l) {
      if (c[l]) o += " " + names.text[l] + "=" + std::to_string(c[l]);
    }
    o += "\n";
    if (story != nullptr) {
      const auto& st = *story;
      o += "  story: " + st.ending + "\n";
      std::vector<std::string> series;  // identical lines collapse (point 15)
      for (const auto& k : st.keepalive) {
        series.push_back("  keepalive from the " + std::string(k.dir == 0 ? "client" : "server") +
                         ": idle " + format_duration(k.idle) + ", interval " +
                         (k.interval == Duration::zero() ? std::string("not seen")
                                                         : format_duration(k.interval)) +
                         ", " + std::to_string(k.probes) + " probe" + (k.probes == 1 ? "" : "s") +
                         (k.answered ? ", answered" : ", unanswered"));
      }
      for (const auto& p : st.persist) {
        series.push_back("  zero-window probing by the " +
                         std::string(p.dir == 0 ? "client" : "server") + " from " +
                         text_time.str(p.start) +
                         (text_time.format == TimeFormat::kAbsolute ? "" : " s") + ": " +
                         std::to_string(p.probes) + " probes, gaps " + gaps_text(p.gaps));
      }
      for (const auto& b : st.rto) {
        series.push_back("  " + std::string(b.syn ? "SYN " : "") + "RTO back-off (" +
                         (b.dir == 0 ? "client" : "server") + "): gaps " + gaps_text(b.gaps));
      }
      analyze::append_collapsed(o, series);
      if (st.series_omitted + st.idle_periods_omitted + st.findings_omitted != 0) {
        o += "  (not listed: " + std::to_string(st.series_omitted) + " series, " +
             std::to_string(st.idle_periods_omitted) + " idle periods, " +
             std::to_string(st.findings_omitted) + " findings)\n";
      }
      for (const auto& fd : st.findings) {
        char conf[16];
        std::snprintf(conf, sizeof conf, "%.0f%%", fd.confidence * 100);
        o += "  FINDING " + fd.rfc_section + " " + fd.problem + " (confidence " + conf +
             "): " + fd.detail + "\n";
      }
    }
    return o;
  };
  // Live text output: each flow's story is printed when the segment that
  // ends the connection (its FIN handshake or RST) comes.
  const bool live_text = live && !json;
  std::vector<size_t> ended;  // flows whose ending segment just passed
  std::vector<bool> printed;  // flows already printed (live)
  std::map<size_t, analyze::FlowSummary> printed_summaries;  // their summary rows
  analyze::FlowAnalyzer analyzer([&](const analyze::Flow& f, const analyze::PacketLabels& p) {
    if (!selection.matches(f, p.flow)) return;
    if (live_text && !f.end.how.empty() && p.frame == f.end.frame) ended.push_back(p.flow);
    pipeline.add(f, p);
    if (json) {
      json_packet(out, names, p, first_packet);
      first_packet = false;
    } else if (list_packets && !csv) {
      text_packet(out, names, text_time, p);
    }
  });
  auto print_live = [&](size_t i) {
    const analyze::Flow& f = analyzer.flows()[i];
    if (i < printed.size() && printed[i]) return;
    analyze::FlowResult r = pipeline.take(i, f);
    printed_summaries[i] = r.summary;
    if (printed.size() <= i) printed.resize(i + 1);
    printed[i] = true;
    out.put(flow_text(i, f, &r.story, r.labels));
    if (report) report->add_flow(i, f, std::move(r.story), r.summary, std::move(r.plot));
    out.flush();
    std::fflush(stdout);
  };
  if (live) {
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    std::fprintf(stderr, "vigil analyze: capturing on %s; Ctrl-C ends the capture\n", path.c_str());
  }
  Progress progress(reader->file_size());
  analyze::CapturedPacket pkt;
  uint64_t n = 0;
  while (reader->next(&pkt)) {
    if (!text_time.origin_known) {
      text_time.origin = pkt.time;
      text_time.origin_known = true;
    }
    analyzer.add(pkt.frame, pkt.time, pkt.ip, pkt.ip_wire_length, pkt.via);
    pipeline.sweep(pkt.time, analyzer.flows());
    if ((++n & 0xfff) == 0) progress.update(reader->bytes_read());
    for (size_t i : ended) print_live(i);
    ended.clear();
  }
  analyzer.finish();
  progress.update(reader->bytes_read());
  progress.clear();
  const auto& flows = analyzer.flows();
  auto is_printed = [&](size_t i) { return i < printed.size() && printed[i]; };
  // Each flow's result is taken once, in flow order, and goes where it is
  // needed at once (issue 13 point 10: 200,000 stories never all in
  // memory): --json writes it, --csv writes its row, the text keeps the
  // summary row for the table and spills the story's text, the HTML report
  // keeps a row and the detail of the flows it will show.
  // --flow restricts every output: the table, --csv and the HTML report too.
  std::vector<char> only;
  if (selection.active) {
    only.resize(flows.size());
    for (size_t i = 0; i < flows.size(); ++i) only[i] = selection.matches(flows[i], i) ? 1 : 0;
  }
  const std::vector<char>* only_ptr = selection.active ? &only : nullptr;
  // The text's table: one allocation a row, made as the flow's analysis
  // state is freed (small enough to reuse its memory).
  std::vector<std::unique_ptr<analyze::FlowSummary>> summaries;
  TextSpill texts;  // the text's flow stories, in order
  bool texts_ok = true;
  if (!json && !csv) summaries.resize(flows.size());
  if (!json) {
    if (csv) out.put(analyze::summary_csv_header());
    for (size_t i = 0; i < flows.size(); ++i) {
      analyze::FlowResult r;
      if (is_printed(i)) {
        r.summary = printed_summaries[i];
      } else if (selection.matches(flows[i], i)) {
        r = pipeline.take(i, flows[i]);
      } else {
        continue;
      }
      if (csv) {
        out.put(analyze::summary_csv_row(flows[i], i, r.summary));
      } else {
        summaries[i] = std::make_unique<analyze::FlowSummary>(r.summary);
        if (!is_printed(i)) texts.add(flow_text(i, flows[i], &r.story, r.labels));
      }
      if (report) report->add_flow(i, flows[i], std::move(r.story), r.summary, std::move(r.plot));
    }
  }
  const analyze::ReaderStats& rs = reader->stats();
  const analyze::AnalyzerStats& as = analyzer.stats();
  const std::string& read_error = reader->error();

  if (json) {
    out.put(first_packet ? "],\n" : "\n  ],\n");
    util::JsonWriter h(true);
    h.begin_object();
    h.key("frames").value(rs.frames);
    h.key("ipv4_packets").value(rs.ipv4);
    h.key("ipv6_packets").value(rs.ipv6);
    h.key("tcp_segments").value(as.tcp);
    h.key("skipped").begin_object();
    for (const auto& sk : skipped(rs, as)) h.key(sk.key).value(sk.n);
    h.end_object();
    h.key("snaplen_cut").value(as.snaplen_cut);
    h.key("options_cut").value(as.options_cut);
    h.key("length_from_capture").value(as.length_from_capture);
    h.key("capture_duplicates").value(as.capture_duplicates);
    h.key("gaps_forgotten").value(as.holes_forgotten);
    h.key("holdback_expired").value(as.holdback_expired);
    h.key("flows_finished_early").value(static_cast<uint64_t>(pipeline.stats().retired));
    h.key("segments_after_finish").value(pipeline.stats().late);
    h.key("tunnelled").value(rs.tunnelled);
    h.key("tunnel_malformed").value(rs.bad_tunnel);
    h.key("pcapng_interfaces").value(rs.interfaces);
    h.key("filtered_out").value(rs.filtered_out);
    h.key("read_error");
    if (read_error.empty()) {
      h.null();
    } else {
      h.value(read_error);
    }
    h.end_object();
    // The counters without the writer's "{\n" and "\n}"; then flows[] and
    // findings[] one element at a time, so the text never has to fit in
    // memory at once (issue 13 point 10: 200,000 flows).
    out.put(std::string_view(h.str()).substr(2, h.str().size() - 4));
    out.put(",\n  \"flows\": [");
    bool any_flow = false;  // --flow may leave out flow 0
    std::vector<std::pair<size_t, analyze::Finding>> all_findings;
    for (size_t i = 0; i < flows.size(); ++i) {
      const auto& f = flows[i];
      if (!selection.matches(f, i)) continue;
      analyze::FlowResult r = pipeline.take(i, f);
      util::JsonWriter j(true);
      {
        j.begin_object();
        j.key("flow").value(static_cast<uint64_t>(i));
        j.key("client").value(endpoint(f, 0));
        j.key("server").value(endpoint(f, 1));
        j.key("via").value(f.via);
        j.key("handshake_seen").value(f.saw_syn);
        j.key("window_scale_known").value(f.scale_known);
        j.key("first_s").raw_number(format_seconds(f.first));
        j.key("last_s").raw_number(format_seconds(f.last));
        j.key("packets").value(f.packets);
        j.key("end").begin_object();
        j.key("how").value(f.end.how);
        j.key("frame").value(f.end.frame);
        j.end_object();
        j.key("summary");
        analyze::summary_json(j, r.summary);
        j.key("story");
        json_story(j, r.story);
        j.key("findings").begin_array();
        for (const auto& fd : r.story.findings) {
          json_finding(j, fd, i);
          all_findings.emplace_back(i, fd);
        }
        j.end_array();
        j.end_object();
      }
      out.put(any_flow ? ",\n    " : "\n    ");
      any_flow = true;
      put_indented(out, j.str());
      if (report) report->add_flow(i, f, std::move(r.story), r.summary, std::move(r.plot));
    }
    out.put(!any_flow ? "],\n  \"findings\": [" : "\n  ],\n  \"findings\": [");
    bool any_finding = false;
    for (const auto& [i, fd] : all_findings) {
      util::JsonWriter fj(true);
      json_finding(fj, fd, i);
      out.put(any_finding ? ",\n    " : "\n    ");
      put_indented(out, fj.str());
      any_finding = true;
    }
    out.put(any_finding ? "\n  ]\n}\n" : "]\n}\n");
  } else if (!csv) {
    std::string o;
    if (list_packets) o += "\n";
    o += path + ": " + std::to_string(rs.frames) + " frames, " + std::to_string(flows.size()) +
         " TCP connection" + (flows.size() == 1 ? "" : "s") + "\n";
    std::string sk_text;
    for (const auto& sk : skipped(rs, as)) {
      if (sk.n != 0)
        sk_text += (sk_text.empty() ? "" : ", ") + std::to_string(sk.n) + " " + sk.text;
    }
    if (!sk_text.empty()) o += "skipped: " + sk_text + "\n";
    if (as.snaplen_cut != 0) {
      o += std::to_string(as.snaplen_cut) +
           " segments cut by the snaplen were analysed from their headers";
      if (as.options_cut != 0) {
        o += " (" + std::to_string(as.options_cut) +
             " of them inside the TCP options: read as far as captured)";
      }
      o += "\n";
    }
    if (as.length_from_capture != 0) {
      o += std::to_string(as.length_from_capture) +
           " segments had IP length 0 (TSO/BIG TCP frames, jumbograms): length taken from the "
           "capture\n";
    }
    if (as.capture_duplicates != 0) {
      o += std::to_string(as.capture_duplicates) +
           " segments were captured twice (capture_duplicate): left out of the analysis\n";
    }
    if (pipeline.stats().late != 0) {
      o += std::to_string(pipeline.stats().late) +
           " segments came for flows already finished (2 MSL of silence after their end): "
           "listed, not in their story or summary\n";
    }
    if (rs.tunnelled != 0) {
      o += std::to_string(rs.tunnelled) + " packets were taken out of tunnels (GRE, VXLAN ...)\n";
    }
    if (rs.bad_tunnel != 0) {
      o += std::to_string(rs.bad_tunnel) +
           " tunnel headers were cut or malformed: the outer packet was analysed as it is\n";
    }
    if (rs.interfaces > 1) {
      o += "pcapng: " + std::to_string(rs.interfaces) + " interfaces, all read\n";
    }
    if (!opt.filter.empty()) {
      o += "filter '" + opt.filter + "': " + std::to_string(rs.filtered_out) +
           " frames did not match\n";
    }
    if (!read_error.empty())
      o += "read error: " + read_error + " (the rest of the file is unread)\n";
    if (!flows.empty()) o += "\nsummary (docs/analyze-json.md):\n";
    out.put(o);
    if (!flows.empty()) {
      analyze::summary_table(
          flows, [&summaries](size_t i) { return summaries[i].get(); },
          [&out](std::string_view t) { out.put(t); });
    }
    texts_ok = texts.copy_to(out);
  }
  out.flush();
  int rc = 0;
  if (!texts_ok) {
    std::fprintf(stderr,
                 "vigil analyze: cannot read back the temporary file of flow stories; the "
                 "output is cut short\n");
    rc = 1;
  }
  if (std::fflush(stdout) != 0 || out.error() != 0) {
    std::fprintf(stderr, "vigil analyze: cannot write standard output: %s\n",
                 std::strerror(out.error() != 0 ? out.error() : errno));
    rc = 1;
  }

  if (html_file) {
    bool wrote = true;
    int write_errno = 0;
    report->render(path, flows, only_ptr, [&](std::string_view page) {
      if (wrote && std::fwrite(page.data(), 1, page.size(), html_file.get()) != page.size()) {
        wrote = false;
        write_errno = errno;
      }
    });
    const bool closed = std::fclose(html_file.release()) == 0;
    if (!wrote || !closed) {
      std::fprintf(stderr, "vigil analyze: cannot write %s: %s\n", html_path.c_str(),
                   std::strerror(wrote ? errno : write_errno));
      rc = 1;
    }
  }
  if (!read_error.empty()) {
    std::fprintf(stderr,
                 "vigil analyze: warning: %s: cannot read %s; analysed the %llu frames before "
                 "it\n",
                 path.c_str(), read_error.c_str(), static_cast<unsigned long long>(rs.frames));
    rc = 1;
  }
  return rc;
}

}  // namespace vigil::cli
