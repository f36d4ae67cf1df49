// `vigil tun`: run vigil's stack on a real Linux TUN device, as a server
// (echo, discard, http) or as a client (upload or download one stream).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "app/server.hpp"
#include "app/stream_peer.hpp"
#include "cli/cli11.hpp"
#include "cli/commands.hpp"
#include "cli/counters.hpp"
#include "link/event_loop.hpp"
#include "link/netns.hpp"
#include "link/tun_device.hpp"
#include "stack/end_log.hpp"
#include "stack/stack.hpp"
#include "tcp/events.hpp"
#include "util/json.hpp"
#include "util/sha256.hpp"

namespace vigil::cli {

namespace {

void tun_usage(FILE* f) {
  std::fprintf(
      f,
      "usage: vigil tun --dev NAME --local IP --peer IP [options] MODE\n"
      "\n"
      "Creates TUN device NAME, gives the kernel side address --peer with --local as\n"
      "its point-to-point peer, and answers as --local with vigil's TCP stack.\n"
      "Needs root (CAP_NET_ADMIN). SIGINT/SIGTERM close connections and exit.\n"
      "Each connection's end goes to stderr: when, in which state, and why (errno,\n"
      "mechanism and evidence, as `vigil sim` prints them).\n"
      "\n"
      "modes:\n"
      "  serve echo --port P        send back every byte received\n"
      "  serve discard --port P     read and drop every byte\n"
      "  serve http --port P        HTTP/1.1; GET /bytes/N returns N bytes, byte i = i*7 mod 251\n"
      "  connect IP:PORT --send N   send N bytes (same pattern), close, print bytes and sha256\n"
      "  connect IP:PORT --recv     read until EOF, print bytes received and sha256\n"
      "  connect ... --local-port P connect from port P (e.g. for a simultaneous open)\n"
      "  discard and echo print, per finished connection, the bytes read and their sha256\n"
      "\n"
      "options:\n"
      "  --netns NAME               create the device inside network namespace NAME\n"
      "                             (`ip netns add NAME`), not the current one\n"
      "  --mtu N                    device MTU (default 1500); MSS is MTU - 40\n"
      "  --pcap FILE                record every datagram vigil reads and writes (raw IPv4,\n"
      "                             wall-clock ns timestamps; with --offload a super-segment\n"
      "                             is one record, as tcpdump on the device shows it)\n"
      "  --profile rfc|linux        default knob values (default rfc)\n"
      "  --keepalive IDLE,INTVL,CNT turn keepalive on (seconds, or durations like 90s);\n"
      "                             IDLE and INTVL 1s..32767s, CNT 1..127, as Linux\n"
      "  --user-timeout MS          RFC 5482 / TCP_USER_TIMEOUT in milliseconds, 0 (off)\n"
      "                             to 2147483647\n"
      "  --set key=value            change any knob (`vigil sim --keys` lists them; ranges\n"
      "                             in docs/knobs.md); out of range: exit 2\n"
      "  --read-pause-after N       serve discard|echo: stop reading each connection after N\n"
      "                             bytes (its receive window closes) ...\n"
      "  --read-pause D             ... for D (default 10s; bare numbers are seconds), then read "
      "on\n"
      "  --offload on|off           IFF_VNET_HDR: 64 KB TCP super-segments and partial\n"
      "                             checksums both ways (default off; docs/tun-throughput.md)\n"
      "  --no-hash                  serve discard|echo: skip the sha256 of received bytes\n"
      "  --stats FILE               serve: at exit, write every stack counter and, per\n"
      "                             connection, its state, error, MSS and counters (JSON)\n");
}

bool done_state(tcp::State st) { return st == tcp::State::kClosed || st == tcp::State::kTimeWait; }

// A progress line on stderr, only when stderr is a terminal.
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  bool due(Instant now) {
    if (!tty_ || now < next_) return false;
    next_ = now + Duration::millis(500);
    return true;
  }
  Instant next() const { return tty_ ? next_ : Instant::never(); }
  void print(const std::string& line) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    shown_ = true;
  }
  void end() {
    if (shown_) std::fprintf(stderr, "\n");
    shown_ = false;
  }

 private:
  bool tty_;
  bool shown_ = false;
  Instant next_;
};

// `serve`: app::Server on the event loop, with what the driver adds: the
// progress line, one line per finished discard or echo connection, --stats.
class ServerApp : public link::LoopApp {
 public:
  ServerApp(app::ServeKind kind, uint16_t port, const tcp::TcpConfig& cfg, app::ReadPausePlan pause)
      : server_(kind, port, cfg, pause) {
    server_.on_end(
        [this](const tcp::Connection& c, uint64_t in, util::Sha256* hash) { report(c, in, hash); });
  }

  void poll(stack::Stack& s, Instant now) override {
    last_now_ = now;
    server_.poll(s, now);
    if (!server_.error().empty()) return;
    if (progress_.due(now)) {
      progress_.print(std::to_string(server_.open()) + " open, " +
                      std::to_string(server_.accepted()) + " accepted, " +
                      std::to_string(server_.bytes_in()) + " bytes in, " +
                      std::to_string(server_.bytes_out()) + " bytes out");
    }
  }
  Instant next_wake() const override {
    return std::min(progress_.next(), server_.next_wake(last_now_));
  }
  bool done(const stack::Stack&) const override { return !server_.error().empty(); }
  void set_hash_in(bool on) { server_.set_hash_in(on); }
  void stop(stack::Stack& s, Instant now) override { server_.stop(s, now); }
  bool quiesced(const stack::Stack&) const override { return server_.quiesced(); }
  const std::string& error() const { return server_.error(); }
  // --stats FILE: the stack's counters and one record per connection
  // (finished ones, then those still open), so an attack test can read
  // what each connection went through. Returns "" or the write error.
  std::string write_stats(const stack::Stack& s, const std::string& path) {
    server_.for_each_open(s, [this](const tcp::Connection& c, uint64_t in) { record(c, in); });
    util::JsonWriter j;
    j.begin_object().key("stack").begin_object();
    for (const auto& [name, n] : stack_counters(s.stats())) j.key(name).value(n);
    j.end_object();
    j.key("connections_accepted").value(server_.accepted());
    j.key("connections_not_listed").value(not_listed_);
    j.key("connections").begin_array();
    for (const Record& r : records_) {
      j.begin_object();
      j.key("remote").value(r.remote);
      j.key("state").value(r.state);
      j.key("errno").value(r.err);
      j.key("reason").value(r.reason);
      j.key("send_mss").value(r.send_mss);
      j.key("bytes_in").value(r.bytes_in);
      for (const auto& [name, n] : r.counters) j.key(name).value(n);
      j.end_object();
    }
    j.end_array().end_object();
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return "cannot write " + path + ": " + std::strerror(errno);
    const std::string text = j.str() + "\n";
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) return "cannot write " + path + ": " + std::strerror(errno);
    return "";
  }
  void finish() {
    progress_.end();
    std::printf("served %llu connections, %llu bytes in, %llu bytes out\n",
                static_cast<unsigned long long>(server_.accepted()),
                static_cast<unsigned long long>(server_.bytes_in()),
                static_cast<unsigned long long>(server_.bytes_out()));
  }

 private:
  struct Record {
    std::string remote, state, err, reason;
    uint64_t send_mss = 0, bytes_in = 0;
    Counters counters;
  };
  // At most this many records (a flood must not grow the list without
  // bound); the rest are only counted.
  static constexpr size_t kMaxRecords = 4096;
  void record(const tcp::Connection& c, uint64_t in) {
    if (records_.size() >= kMaxRecords) {
      ++not_listed_;
      return;
    }
    const tcp::ConnectionError& err = c.error();
    records_.push_back(Record{c.tuple().remote.to_string(), std::string(tcp::state_name(c.state())),
                              err.err ? tcp::errno_name(err.err) : "",
                              std::string(tcp::reason_name(err.reason)), c.send_mss(), in,
                              connection_counters(c.stats())});
  }

  // discard and echo: one line per finished connection, so a test can check
  // the stream that arrived (stdout is flushed: it is usually a file).
  void report(const tcp::Connection& c, uint64_t in, util::Sha256* hash) {
    record(c, in);
    if (server_.kind() == app::ServeKind::kHttp) return;
    const tcp::ConnectionError& err = c.error();
    std::printf("connection from %s: %llu bytes in, sha256 %s%s%s\n",
                c.tuple().remote.to_string().c_str(), static_cast<unsigned long long>(in),
                hash ? util::Sha256::hex(hash->finish()).c_str() : "not computed",
                err.err ? ", failed: " : "", err.err ? tcp::errno_name(err.err).c_str() : "");
    std::fflush(stdout);
  }

  app::Server server_;
  Progress progress_;
  Instant last_now_;
  std::vector<Record> records_;
  uint64_t not_listed_ = 0;
};

// `connect`: one app::StreamPeer that sends N bytes of the mod-251 pattern
// and closes, or reads until EOF and closes; the driver adds the progress
// line and the outcome.
class ClientApp : public link::LoopApp {
 public:
  ClientApp(tcp::Endpoint remote, std::optional<uint64_t> send_bytes, const tcp::TcpConfig& cfg,
            uint16_t local_port = 0)
      : remote_(remote),
        send_bytes_(send_bytes),
        cfg_(cfg),
        peer_(behaviour(send_bytes, local_port)) {}

  void poll(stack::Stack& s, Instant now) override {
    if (!peer_.id() && open_error_.empty()) {
      stack::OpenError err;
      const auto id = s.connect(now, remote_, &err, &cfg_, peer_.behaviour().local_port);
      if (!id) {
        open_error_ = err.message;
        return;
      }
      peer_.attach(*id);
    }
    if (!peer_.id()) return;
    const tcp::Connection* c = s.connection(*peer_.id());
    if (!c) return;
    if (c->state() == tcp::State::kClosed) {
      if (!final_) final_ = c->error();
      return;
    }
    peer_.poll(s, now);
    if (c->state() == tcp::State::kClosed && !final_) final_ = c->error();
    if (progress_.due(now)) {
      progress_.print(send_bytes_
                          ? std::to_string(peer_.tally().bytes_sent) + " bytes sent"
                          : std::to_string(peer_.tally().bytes_received) + " bytes received");
    }
  }
  Instant next_wake() const override { return progress_.next(); }
  bool done(const stack::Stack& s) const override {
    if (!open_error_.empty()) return true;
    if (!peer_.id()) return false;
    const tcp::Connection* c = s.connection(*peer_.id());
    return !c || done_state(c->state());
  }
  void stop(stack::Stack& s, Instant now) override {
    interrupted_ = true;
    peer_.close(s, now);
  }
  bool quiesced(const stack::Stack& s) const override { return done(s); }

  // Prints the outcome; returns the exit code.
  int finish(const stack::Stack& s) {
    progress_.end();
    if (!open_error_.empty()) {
      std::fprintf(stderr, "vigil tun: cannot connect to %s: %s\n", remote_.to_string().c_str(),
                   open_error_.c_str());
      return 1;
    }
    const uint64_t sent = peer_.tally().bytes_sent, received = peer_.tally().bytes_received;
    tcp::ConnectionError err;
    if (final_) {
      err = *final_;
    } else if (peer_.id()) {
      if (const tcp::Connection* c = s.connection(*peer_.id())) err = c->error();
    }
    if (err.err != 0) {
      const std::string reason(tcp::reason_name(err.reason));
      std::fprintf(stderr, "vigil tun: connection to %s failed: %s (%s): %s\n",
                   remote_.to_string().c_str(), tcp::errno_name(err.err).c_str(), reason.c_str(),
                   err.detail.c_str());
      std::fprintf(stderr, "vigil tun: %llu bytes sent, %llu bytes received before the failure\n",
                   static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(received));
      return 1;
    }
    app::StreamTally& t = peer_.tally();
    t.finish();
    if (send_bytes_) {
      std::printf("sent %llu bytes sha256 %s\n", static_cast<unsigned long long>(sent),
                  t.sha256_sent.c_str());
    } else {
      std::printf("received %llu bytes sha256 %s\n", static_cast<unsigned long long>(received),
                  t.sha256_received.c_str());
    }
    if (interrupted_) {
      std::fprintf(stderr, "vigil tun: interrupted before the transfer finished\n");
      return 1;
    }
    return 0;
  }

 private:
  static app::PeerBehaviour behaviour(std::optional<uint64_t> send_bytes, uint16_t local_port) {
    app::PeerBehaviour b;
    b.pattern = app::Pattern::Kind::kMod251;
    b.bytes_to_send = send_bytes.value_or(0);
    b.close_after_send = send_bytes.has_value();  // --send N: close once written
    b.close_on_eof = true;                        // --recv: close at the peer's FIN
    b.local_port = local_port;                    // 0: ephemeral
    return b;
  }

  tcp::Endpoint remote_;
  std::optional<uint64_t> send_bytes_;
  tcp::TcpConfig cfg_;
  app::StreamPeer peer_;
  std::string open_error_;
  std::optional<tcp::ConnectionError> final_;
  bool interrupted_ = false;
  Progress progress_;
};

// "75" is seconds for --keepalive (like TCP_KEEPIDLE); "500ms" is a duration.
std::string with_unit(const std::string& v, const char* unit) {
  const bool digits =
      !v.empty() && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  return digits ? v + unit : v;
}

}  // namespace

int run_tun(const std::vector<std::string>& args) {
  std::string dev, local_text, peer_text, profile = "rfc";
  std::string keepalive, user_timeout;
  std::vector<std::pair<std::string, std::string>> sets;
  uint64_t mtu = 1500;
  std::vector<std::string> words;
  std::optional<uint64_t> port, send_bytes, local_port;
  bool recv_mode = false;
  app::ReadPausePlan read_pause;
  std::optional<std::string> read_pause_text;
  bool offload = false;
  bool no_hash = false;
  std::string pcap_path, stats_path;
  std::optional<std::string> netns;
  bool help = false;
  std::vector<std::string> set_texts;
  std::string offload_text;
  // "--flag expects <what>, got 'v'" for a whole number outside [lo, hi].
  auto number = [](uint64_t lo, uint64_t hi, std::string what, std::optional<uint64_t>* out) {
    return check([=](const std::string& v) -> std::string {
      uint64_t n = 0;
      if (!parse_u64(v, lo, hi, &n)) return "expects " + what + ", got '" + v + "'";
      *out = n;
      return "";
    });
  };
  std::optional<uint64_t> mtu_opt, read_pause_after;
  CLI::App cli("vigil tun");
  init_app(cli);
  cli.add_flag("-h,--help", help);
  cli.add_option("--dev", dev);
  cli.add_option("--local", local_text);
  cli.add_option("--peer", peer_text);
  std::string netns_text;
  CLI::Option* netns_opt = cli.add_option("--netns", netns_text);
  cli.add_option("--mtu")->check(number(576, 65535, "576..65535", &mtu_opt));
  cli.add_option("--profile", profile);
  cli.add_option("--keepalive", keepalive);
  cli.add_option("--user-timeout", user_timeout);
  cli.add_option("--set", set_texts)
      ->allow_extra_args(false)
      ->check(check([](const std::string& v) {
        const size_t eq = v.find('=');
        return eq == std::string::npos || eq == 0 ? "expects key=value, got '" + v + "'"
                                                  : std::string();
      }));
  cli.add_option("--port")->check(number(1, 65535, "1..65535", &port));
  cli.add_option("--local-port")->check(number(1, 65535, "1..65535", &local_port));
  cli.add_option("--send")->check(number(0, uint64_t{1} << 50, "a byte count", &send_bytes));
  cli.add_option("--read-pause-after")
      ->check(number(0, uint64_t{1} << 50, "a byte count", &read_pause_after));
  cli.add_option("--read-pause")->check(check([&](const std::string& v) -> std::string {
    if (!parse_duration(with_unit(v, "s"), &read_pause.length) ||
        read_pause.length <= Duration::nanos(0))
      return "expects a duration like 5s or 500ms, got '" + v + "'";
    read_pause_text = v;
    return "";
  }));
  cli.add_flag("--recv", recv_mode);
  cli.add_flag("--no-hash", no_hash);
  cli.add_option("--pcap", pcap_path);
  cli.add_option("--stats", stats_path);
  cli.add_option("--offload", offload_text)->check(check([](const std::string& v) {
    return v == "on" || v == "off" ? std::string() : "expects on or off, got '" + v + "'";
  }));
  cli.add_option("words", words);
  if (auto rc = parse(cli, args, "tun",
                      "unknown option '%s'; valid options: --dev --local --peer --netns --mtu "
                      "--profile --keepalive --user-timeout --set --port --local-port --send "
                      "--recv --read-pause-after --read-pause --offload --no-hash --pcap --stats "
                      "--help"))
    return *rc;
  if (help) {
    tun_usage(stdout);
    return 0;
  }
  if (netns_opt->count()) netns = netns_text;
  if (mtu_opt) mtu = *mtu_opt;
  if (read_pause_after) read_pause.after = *read_pause_after;
  offload = offload_text == "on";
  for (const std::string& v : set_texts) {
    const size_t eq = v.find('=');
    sets.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }

  if (dev.empty() || local_text.empty() || peer_text.empty() || words.empty()) {
    tun_usage(stderr);
    return 2;
  }
  const auto local = wire::Ipv4Addr::parse(local_text);
  const auto peer = wire::Ipv4Addr::parse(peer_text);
  if (!local || !peer) {
    std::fprintf(stderr, "vigil tun: bad address: --%s expects dotted IPv4, got '%s'\n",
                 !local ? "local" : "peer", (!local ? local_text : peer_text).c_str());
    return 2;
  }

  // The mode.
  std::optional<app::ServeKind> serve;
  std::optional<tcp::Endpoint> remote;
  if (words[0] == "serve") {
    if (words.size() != 2) {
      std::fprintf(stderr, "vigil tun: serve expects one of echo, discard, http\n");
      return 2;
    }
    if (words[1] == "echo") {
      serve = app::ServeKind::kEcho;
    } else if (words[1] == "discard") {
      serve = app::ServeKind::kDiscard;
    } else if (words[1] == "http") {
      serve = app::ServeKind::kHttp;
    } else {
      std::fprintf(stderr, "vigil tun: unknown service '%s'; valid: echo, discard, http\n",
                   words[1].c_str());
      return 2;
    }
    if (!port) {
      std::fprintf(stderr, "vigil tun: serve %s needs --port P\n", words[1].c_str());
      return 2;
    }
    if (send_bytes || recv_mode || local_port) {
      std::fprintf(stderr, "vigil tun: --send, --recv and --local-port belong to connect mode\n");
      return 2;
    }
    if ((read_pause.after || read_pause_text) && serve == app::ServeKind::kHttp) {
      std::fprintf(stderr, "vigil tun: --read-pause-after belongs to serve discard and echo\n");
      return 2;
    }
    if (read_pause_text && !read_pause.after) {
      std::fprintf(stderr, "vigil tun: --read-pause needs --read-pause-after N\n");
      return 2;
    }
  } else if (words[0] == "connect") {
    const std::string target = words.size() == 2 ? words[1] : "";
    const size_t colon = target.rfind(':');
    uint64_t p = 0;
    const auto addr = colon == std::string::npos
                          ? std::nullopt
                          : wire::Ipv4Addr::parse(std::string_view(target).substr(0, colon));
    if (!addr || !parse_u64(target.substr(colon + 1), 1, 65535, &p)) {
      std::fprintf(stderr, "vigil tun: connect expects IP:PORT, got '%s'\n", target.c_str());
      return 2;
    }
    remote = tcp::Endpoint{*addr, static_cast<uint16_t>(p)};
    if (send_bytes.has_value() == recv_mode) {
      std::fprintf(stderr, "vigil tun: connect needs exactly one of --send N and --recv\n");
      return 2;
    }
    if (port || read_pause.after || read_pause_text || !stats_path.empty()) {
      std::fprintf(stderr, "vigil tun: --port, --read-pause* and --stats belong to serve mode\n");
      return 2;
    }
  } else {
    std::fprintf(stderr, "vigil tun: unknown mode '%s'; valid modes: serve, connect\n",
                 words[0].c_str());
    return 2;
  }

  // Connection settings.
  tcp::TcpConfig cfg;
  if (!tcp::TcpConfig::from_profile(profile, &cfg)) {
    std::fprintf(stderr, "vigil tun: unknown profile '%s'; valid profiles: rfc, linux\n",
                 profile.c_str());
    return 2;
  }
  cfg.mss = static_cast<uint16_t>(mtu - 40);
  if (!keepalive.empty()) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
      const size_t comma = keepalive.find(',', start);
      parts.push_back(keepalive.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (parts.size() != 3) {
      std::fprintf(stderr, "vigil tun: --keepalive expects IDLE,INTVL,CNT, got '%s'\n",
                   keepalive.c_str());
      return 2;
    }
    sets.insert(sets.begin(), {{"keepalive.enabled", "true"},
                               {"keepalive.idle", with_unit(parts[0], "s")},
                               {"keepalive.interval", with_unit(parts[1], "s")},
                               {"keepalive.count", parts[2]}});
  }
  if (!user_timeout.empty())
    sets.insert(sets.begin(), {"user_timeout", with_unit(user_timeout, "ms")});
  // Each value is checked against its range (docs/knobs.md), then the rules
  // between knobs once all are set, so the order of the flags does not matter.
  stack::StackConfig sc;
  for (const auto& [key, val] : sets) {
    const std::string err =
        key.starts_with("stack.") ? sc.set_one(key, val) : cfg.set_one(key, val);
    if (!err.empty()) {
      std::fprintf(stderr, "vigil tun: %s\n", err.c_str());
      return 2;
    }
  }
  if (const std::string err = cfg.validate(); !err.empty()) {
    std::fprintf(stderr, "vigil tun: %s\n", err.c_str());
    return 2;
  }

  // The namespace first: the device, its addresses and every socket made
  // from here on live in it.
  if (netns) {
    if (const link::NetnsResult r = link::enter_netns(*netns); !r.error.empty()) {
      std::fprintf(stderr, "vigil tun: %s\n", r.error.c_str());
      return r.no_such ? 2 : 1;
    }
  }

  // libcrypto loads its provider and fetches SHA-256 on first use (about
  // 2 MB of RSS, once); do it now, not in the first connection's path.
  { const util::Sha256 warm_up; }

  // The device, the loop, the stack.
  link::TunDevice tun;
  link::TunConfig tc;
  tc.name = dev;
  tc.kernel_addr = *peer;
  tc.vigil_addr = *local;
  tc.mtu = static_cast<uint32_t>(mtu);
  tc.offload = offload;
  if (const std::string err = tun.open(tc); !err.empty()) {
    std::fprintf(stderr, "vigil tun: %s\n", err.c_str());
    return 1;
  }
  sc.address = *local;
  sc.tcp = cfg;
  if (offload) sc.tso_limit = 65535;  // the device segments at each connection's MSS
  std::random_device rd;
  const Instant start = link::EventLoop::now();
  const uint64_t seed = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(start.ns());
  // Every connection's end on stderr, times from the start. On a terminal
  // the line first clears the progress line it would run into.
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  stack::EndLog end_log(
      [tty](const std::string& line) {
        std::fprintf(stderr, "%svigil tun: %s\n", tty ? "\r\033[K" : "", line.c_str());
      },
      start);
  stack::Stack st(sc, util::Rng(seed), &end_log, start);
  end_log.attach(&st);
  link::EventLoop loop(tun, st);
  if (const std::string err = loop.init(); !err.empty()) {
    std::fprintf(stderr, "vigil tun: %s\n", err.c_str());
    return 1;
  }
  std::optional<link::PcapWriter> pcap;
  if (!pcap_path.empty()) {
    pcap.emplace(pcap_path);
    if (!pcap->ok()) {
      std::fprintf(stderr, "vigil tun: %s\n", pcap->error().c_str());
      return 1;
    }
    loop.set_capture(&*pcap);
  }
  // A capture that could not be written completely (a full disk shows at
  // the last flush) fails the run: exit 1 with the file and the reason.
  auto close_pcap = [&pcap](int rc) {
    if (pcap && !pcap->close()) {
      std::fprintf(stderr, "vigil tun: %s\n", pcap->error().c_str());
      return rc == 0 ? 1 : rc;
    }
    return rc;
  };
  std::fprintf(stderr, "vigil tun: %s up: kernel %s, vigil %s, mtu %llu\n", tun.name().c_str(),
               peer->to_string().c_str(), local->to_string().c_str(),
               static_cast<unsigned long long>(mtu));

  if (serve) {
    ServerApp server_app(*serve, static_cast<uint16_t>(*port), cfg, read_pause);
    server_app.set_hash_in(!no_hash);
    const link::LoopExit how = loop.run(server_app);
    if (!server_app.error().empty()) {
      std::fprintf(stderr, "vigil tun: %s\n", server_app.error().c_str());
      return 1;
    }
    if (how == link::LoopExit::kError) {
      std::fprintf(stderr, "vigil tun: %s\n", loop.error().c_str());
      return 1;
    }
    server_app.finish();
    if (!stats_path.empty()) {
      if (const std::string err = server_app.write_stats(st, stats_path); !err.empty()) {
        std::fprintf(stderr, "vigil tun: %s\n", err.c_str());
        return close_pcap(1);
      }
    }
    return close_pcap(0);
  }
  ClientApp client_app(*remote, send_bytes, cfg, static_cast<uint16_t>(local_port.value_or(0)));
  const link::LoopExit how = loop.run(client_app);
  if (how == link::LoopExit::kError) {
    std::fprintf(stderr, "vigil tun: %s\n", loop.error().c_str());
    return 1;
  }
  return close_pcap(client_app.finish(st));
}

}  // namespace vigil::cli
