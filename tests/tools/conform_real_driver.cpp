// conform_real_driver: runs one situation against a real target through
// RealTestbed (src/conform/real_testbed.hpp) and prints what the wire and
// the target's application showed, as one JSON object, for
// tests/tools/conform_real_linux.sh to check against
// tests/data/linux-schedules.json. Not vigil conform's cases (those are
// the conform branch's); the testbed's own check.
//
// usage: conform_real_driver linux|lwip|cmd CASE   (cmd: the command in $CONFORM_CMD)
//   defaults      getopt of keepidle/keepintvl/keepcnt on a fresh socket
//   keepalive     target connects with keepalive 2/1/3, then the peer dies
//   rto           tcp_retries2 = 2; target writes 100 bytes into a blackhole
//   user_timeout  TCP_USER_TIMEOUT 3000 ms; target writes into a blackhole
//   challenge     RFC 5961: a RST inside the window, then data both ways
//   shape         50 ms each way (set_path_shape): SYN to SYN-ACK in 100 ms
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "conform/real_testbed.hpp"
#include "wire/ipv4.hpp"
#include "wire/tcp_header.hpp"

using namespace vigil::conform;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct Seg {
  double t;
  bool from_target;
  uint8_t flags;
  uint32_t seq, ack;
  size_t len;
};

std::vector<Seg> segments(const std::vector<WireDatagram>& cap) {
  std::vector<Seg> out;
  for (const WireDatagram& d : cap) {
    std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(d.ip.data()), d.ip.size());
    vigil::wire::Ipv4View ip;
    if (vigil::wire::Ipv4View::parse(b, &ip, false) != vigil::wire::Drop::kNone) continue;
    if (ip.protocol() != vigil::wire::kProtoTcp) continue;
    vigil::wire::TcpView tcp;
    if (vigil::wire::TcpView::parse(ip.payload(), ip.src(), ip.dst(), &tcp, false) !=
        vigil::wire::Drop::kNone)
      continue;
    out.push_back({std::chrono::duration<double>(d.at).count(), d.from_target, tcp.flags(),
                   tcp.seq(), tcp.ack(), tcp.payload().size()});
  }
  return out;
}

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

std::string outcome_json(const TargetOutcome& o, double reference) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "{\"ended\": %s, \"errno\": %d, \"t\": %.3f}",
                o.ended ? "true" : "false", o.error.value_or(-1),
                std::chrono::duration<double>(o.ended_at).count() - reference);
  return buf;
}

int fail(const std::string& what, const Testbed& tb) {
  std::fprintf(stderr, "conform_real_driver: %s: %s\n", what.c_str(), tb.why().c_str());
  // The wire so far, to see why.
  for (const Seg& s : segments(tb.capture())) {
    std::fprintf(stderr, "  %8.3f %s flags=%s seq=%u ack=%u len=%zu\n", s.t,
                 s.from_target ? "target>peer" : "peer>target",
                 vigil::wire::flags_to_string(s.flags).c_str(), s.seq, s.ack, s.len);
  }
  return 1;
}

// The target's data segments (payload > 0): the first is the original.
std::vector<double> data_times(const std::vector<Seg>& segs) {
  std::vector<double> t;
  for (const Seg& s : segs)
    if (s.from_target && s.len > 0) t.push_back(s.t);
  return t;
}

int run_retransmission(RealTestbed& tb, const SocketOptions& opts) {
  if (auto e = tb.target_accept(opts)) return fail("accept", tb);
  tb.run_for(milliseconds(100));
  tb.set_path(PathState::blackhole);
  tb.target_write(100);
  tb.run_until_target_ended(seconds(12));
  std::vector<double> t = data_times(segments(tb.capture()));
  if (t.empty()) return fail("no data segment on the wire", tb);
  const double ref = t[0];
  std::vector<double> retx;
  for (size_t i = 1; i < t.size(); ++i) retx.push_back(t[i] - ref);
  std::printf("{\"target\": \"%s\", \"retransmission_times\": %s, \"app_error\": %s}\n",
              tb.name().c_str(), list(retx).c_str(),
              outcome_json(tb.target_outcome(), ref).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: conform_real_driver linux|lwip|cmd CASE\n");
    return 2;
  }
  RealTarget target;
  const std::string kind = argv[1];
  target.kind = kind == "lwip" ? RealKind::lwip : RealKind::linux_kernel;
  const bool command = kind == "cmd";
  if (command) {
    target.kind = RealKind::command;
    target.command = std::getenv("CONFORM_CMD") ? std::getenv("CONFORM_CMD") : "";
  }
  const std::string which = argv[2];
  std::string why;
  auto tb = RealTestbed::create(target, why);
  if (!tb) {
    std::fprintf(stderr, "conform_real_driver: %s\n", why.c_str());
    return 77;
  }
  SystemSettings sys;
  PeerSettings peer;

  if (which == "defaults") {
    const auto idle = tb->target_getopt("keepidle");
    const auto intvl = tb->target_getopt("keepintvl");
    const auto cnt = tb->target_getopt("keepcnt");
    const auto ka = tb->target_getopt("keepalive");
    std::printf(
        "{\"target\": \"%s\", \"keepalive\": %ld, \"keepidle\": %ld, \"keepintvl\": %ld, "
        "\"keepcnt\": %ld}\n",
        tb->name().c_str(), ka.value_or(-1), idle.value_or(-1), intvl.value_or(-1),
        cnt.value_or(-1));
    return 0;
  }

  if (which == "keepalive") {
    if (tb->configure(sys, peer)) return fail("configure", *tb);
    SocketOptions o;
    o.keepalive = true;
    o.keep_idle = seconds(2);
    o.keep_interval = seconds(1);
    o.keep_count = 3;
    // A command is a server that sets its own options; the agents connect.
    if (command ? tb->target_accept(o) : tb->target_connect(o)) return fail("open", *tb);
    tb->set_path(PathState::blackhole);
    tb->run_until_target_ended(seconds(10));
    const auto segs = segments(tb->capture());
    // Reference: the last segment the target received (the SYN-ACK, or
    // the handshake's ACK when the target accepted).
    double ref = -1;
    uint32_t isn = 0;
    for (const Seg& s : segs) {
      if (s.from_target && (s.flags & vigil::wire::tcp_flags::kSyn)) isn = s.seq;
      if (!s.from_target) ref = s.t;
    }
    std::vector<double> probes, rst;
    std::vector<double> probe_seq;  // SEG.SEQ - SND.NXT; SND.NXT = ISN + 1 here
    for (const Seg& s : segs) {
      if (!s.from_target || (s.flags & vigil::wire::tcp_flags::kSyn) || s.t <= ref) continue;
      if (s.flags & vigil::wire::tcp_flags::kRst) {
        rst.push_back(s.t - ref);
      } else if (s.len <= 1 && s.t - ref > 0.5) {
        // Not the handshake's ACK (sent at once): a keepalive probe.
        probes.push_back(s.t - ref);
        probe_seq.push_back(static_cast<double>(static_cast<int32_t>(s.seq - (isn + 1))));
      }
    }
    std::printf(
        "{\"target\": \"%s\", \"probe_times\": %s, \"probe_seq_minus_snd_nxt\": %s, \"rst_times\": "
        "%s, "
        "\"app_error\": %s}\n",
        tb->name().c_str(), list(probes).c_str(), list(probe_seq).c_str(), list(rst).c_str(),
        outcome_json(tb->target_outcome(), ref).c_str());
    return 0;
  }

  if (which == "rto") {
    sys.retries2 = 2;
    if (tb->configure(sys, peer)) return fail("configure", *tb);
    return run_retransmission(*tb, SocketOptions{});
  }

  if (which == "user_timeout") {
    if (tb->configure(sys, peer)) return fail("configure", *tb);
    SocketOptions o;
    o.user_timeout = milliseconds(3000);
    return run_retransmission(*tb, o);
  }

  if (which == "challenge") {
    if (tb->configure(sys, peer)) return fail("configure", *tb);
    if (tb->target_accept(SocketOptions{})) return fail("accept", *tb);
    tb->run_for(milliseconds(100));
    const size_t before = tb->capture().size();
    tb->peer_inject(Injection::rst_in_window);
    tb->run_for(milliseconds(300));
    // What the target sent after the forged RST.
    int acks = 0, rsts = 0;
    const auto segs = segments(tb->capture());
    for (size_t i = 0; i < segs.size(); ++i) {
      if (i < before || !segs[i].from_target) continue;
      if (segs[i].flags & vigil::wire::tcp_flags::kRst)
        ++rsts;
      else if (segs[i].flags & vigil::wire::tcp_flags::kAck)
        ++acks;
    }
    // Still alive: data both ways.
    tb->target_write(1000);
    tb->peer_write(1000);
    tb->run_for(milliseconds(300));
    size_t target_bytes = 0;
    for (const Seg& s : segments(tb->capture()))
      if (s.from_target) target_bytes += s.len;
    std::printf(
        "{\"target\": \"%s\", \"challenge_acks\": %d, \"rsts\": %d, \"ended\": %s, "
        "\"target_bytes_after\": %zu}\n",
        tb->name().c_str(), acks, rsts, tb->target_outcome().ended ? "true" : "false",
        target_bytes);
    return 0;
  }

  if (which == "shape") {
    // 50 ms each way: the peer's SYN and the target's SYN-ACK are 100 ms
    // apart at the peer's end of the path (the kernel answers a SYN at
    // once; a data segment's ACK may wait for the delayed-ACK timer).
    if (tb->configure(sys, peer)) return fail("configure", *tb);
    PathShape shape;
    shape.one_way_delay = milliseconds(50);
    if (!tb->set_path_shape(shape)) return fail("set_path_shape", *tb);
    if (tb->target_accept(SocketOptions{})) return fail("accept", *tb);
    double syn = -1, synack = -1;
    for (const Seg& s : segments(tb->capture())) {
      const bool is_syn = (s.flags & vigil::wire::tcp_flags::kSyn) != 0;
      if (!s.from_target && is_syn && syn < 0) syn = s.t;
      if (s.from_target && is_syn && synack < 0) synack = s.t;
    }
    if (std::getenv("CONFORM_DUMP")) fail("dump", *tb);
    std::printf("{\"target\": \"%s\", \"syn_to_synack\": %.3f}\n", tb->name().c_str(),
                synack - syn);
    return 0;
  }

  std::fprintf(stderr, "conform_real_driver: unknown case %s\n", which.c_str());
  return 2;
}
