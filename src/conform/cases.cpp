#include "conform/cases.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "conform/wire_view.hpp"
#include "util/errno_name.hpp"

namespace vigil::conform {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double to_s(conform::Duration d) { return std::chrono::duration<double>(d).count(); }

std::string fmt(double v, int digits = 3) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
std::string fmt_list(const std::vector<double>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += fmt(v[i]);
  }
  return s.empty() ? "none" : s;
}
// The tolerance of the timing cases: Linux's timers fire late by up to a
// few jiffies (4 ms at HZ 250) plus its timer wheel's slack (measured: a
// probe 1 s apart comes 1.024 s apart, docs/linux-measurements.md), and a
// real target adds scheduling noise; 150 ms + 5 % covers both.
bool near(double measured, double expected) {
  return std::fabs(measured - expected) <= 0.15 + 0.05 * expected;
}
std::string outcome_text(const TargetOutcome& o, double origin) {
  if (!o.ended) return "still open";
  std::string s = o.error ? (*o.error ? util::errno_name(*o.error) : std::string("clean close"))
                          : std::string("ended (errno not reported)");
  return s + " at " + fmt(to_s(o.ended_at) - origin) + " s";
}
bool errno_ok(const TargetOutcome& o, int want) { return !o.error || *o.error == want; }

// The last time the peer was heard by the target before `t` (a segment
// from the peer, whatever it was), or `fallback`.
double last_peer_before(const std::vector<Seg>& segs, double t, double fallback) {
  double last = fallback;
  for (const auto& s : segs) {
    if (s.t > t) break;
    if (s.tcp && !s.from_target) last = s.t;
  }
  return last;
}
bool target_rst(const std::vector<Seg>& segs, double after) {
  for (const auto& s : segs) {
    if (s.t >= after && s.from_target && s.tcp && s.rst()) return true;
  }
  return false;
}
std::vector<const Seg*> keepalive_probes(const std::vector<Seg>& segs, double after) {
  std::vector<const Seg*> v;
  for (const auto& s : segs) {
    if (s.t >= after && s.keepalive_form()) v.push_back(&s);
  }
  return v;
}
// Data retransmissions: target segments with payload whose start is below
// SND.MAX (a resend), after `after`.
std::vector<const Seg*> data_resends(const std::vector<Seg>& segs, double after) {
  std::vector<const Seg*> v;
  for (const auto& s : segs) {
    if (s.t >= after && s.from_target && s.tcp && s.len > 1 && !s.syn() &&
        s.seq != s.snd_max_before && static_cast<int32_t>(s.seq - s.snd_max_before) < 0) {
      v.push_back(&s);
    }
  }
  return v;
}
double first_data_time(const std::vector<Seg>& segs) {
  for (const auto& s : segs) {
    if (s.from_target && s.tcp && s.len > 1 && !s.syn()) return s.t;
  }
  return -1;
}

CaseInfo info(std::string name, std::string cat, std::string rule, std::string measures,
              std::string tol, bool virtual_only = false) {
  return CaseInfo{std::move(name),     std::move(cat), std::move(rule),
                  std::move(measures), std::move(tol), virtual_only};
}

bool connect_or_skip(Testbed& tb, CaseResult& r, const SocketOptions& o,
                     const SystemSettings& sys = {}, const PeerSettings& peer = {}) {
  if (auto ec = tb.configure(sys, peer)) {
    r.verdict = Verdict::skipped;
    r.measured = "configure failed: " + tb.why();
    return false;
  }
  if (auto ec = tb.target_connect(o)) {
    r.verdict = Verdict::skipped;
    r.measured = "no connection: " + tb.why();
    return false;
  }
  return true;
}

SocketOptions short_keepalive() {
  SocketOptions o;
  o.keepalive = true;
  o.keep_idle = seconds(2);
  o.keep_interval = seconds(1);
  o.keep_count = 3;
  return o;
}

// A real-time target cannot wait out its defaults (2 h of keepalive idle,
// ~15 min of R2): the default-value cases read the target's own setting
// instead (getsockopt on the connection, or the namespace's sysctl), grade
// that value, and say in the result that it was read, not waited for.
// Unset, with the result skipped and the reason, when the target does not
// report it.
std::optional<long> read_setting(Testbed& tb, CaseResult& r, const std::string& option,
                                 const std::string& waits) {
  const auto v = tb.target_getopt(option);
  if (!v) {
    r.verdict = Verdict::skipped;
    r.measured = "needs " + waits + " of real time, and the target does not report " + option;
  }
  return v;
}
const char* const kRead = " (read with getsockopt, not waited for)";

// ---------------------------------------------------------------- keepalive

void keepalive_off_by_default(Testbed& tb, CaseResult& r) {
  r.expected = "no probe in 3 h of idle (RFC 1122 §4.2.3.6: keep-alives MUST default to off)";
  if (!connect_or_skip(tb, r, SocketOptions{})) return;
  const double t0 = to_s(tb.now());
  if (!tb.virtual_time()) {
    // SO_KEEPALIVE off means no keepalive timer at all (Linux
    // tcp_keepalive_timer returns unless SOCK_KEEPOPEN; lwIP tcp_slowtmr
    // checks SOF_KEEPALIVE), so the socket's flag decides; 10 s of the
    // wire are watched as well.
    const auto on = read_setting(tb, r, "keepalive", "3 h");
    if (!on) return;
    tb.run_for(seconds(10));
    const auto probes = keepalive_probes(parse_capture(tb.capture()), t0);
    r.measured = "SO_KEEPALIVE " + std::to_string(*on) + " on the connection" + kRead + ", " +
                 std::to_string(probes.size()) + " probes in 10 s";
    r.verdict = *on == 0 && probes.empty() ? Verdict::pass : Verdict::fail;
    return;
  }
  tb.run_for(seconds(3 * 3600));
  const auto probes = keepalive_probes(parse_capture(tb.capture()), t0);
  r.measured = std::to_string(probes.size()) + " probes in 10800 s";
  r.verdict = probes.empty() ? Verdict::pass : Verdict::fail;
}

void keepalive_default_idle(Testbed& tb, CaseResult& r) {
  r.expected =
      ">= 7200 s idle before the first probe (RFC 1122 §4.2.3.6; RFC 2525 §2.11; Linux "
      "tcp_keepalive_time 7200)";
  SocketOptions o;
  o.keepalive = true;
  if (!connect_or_skip(tb, r, o)) return;
  const double t0 = to_s(tb.now());
  if (!tb.virtual_time()) {
    // TCP_KEEPIDLE on the connection is the idle its timer uses (Linux
    // keepalive_time_when: the socket's own or tcp_keepalive_time; lwIP
    // pcb->keep_idle, TCP_KEEPIDLE_DEFAULT).
    const auto idle = read_setting(tb, r, "keepidle", "2 h");
    if (!idle) return;
    r.measured = "TCP_KEEPIDLE " + std::to_string(*idle) + " s on the connection" + kRead;
    r.verdict = *idle >= 7200 ? Verdict::pass : Verdict::fail;
    return;
  }
  tb.run_for(seconds(9000));
  const auto segs = parse_capture(tb.capture());
  const auto probes = keepalive_probes(segs, t0);
  if (probes.empty()) {
    r.measured = "no probe in 9000 s";
    r.verdict = Verdict::pass;
    return;
  }
  const double idle = probes[0]->t - last_peer_before(segs, probes[0]->t - 1e-9, t0);
  r.measured = "first probe after " + fmt(idle) + " s idle";
  r.verdict = idle >= 7200 - 0.001 ? Verdict::pass : Verdict::fail;
}

// Keepalive 2 s / 1 s / 3 against a peer that vanishes right after the
// handshake (Linux: keepalive_dead_peer in tests/data/linux-schedules.json).
struct DeadPeerRun {
  double heard = 0;  // the peer's last segment
  std::vector<const Seg*> probes;
  std::vector<Seg> segs;
  TargetOutcome outcome;
  bool ok = false;
};
DeadPeerRun keepalive_dead_peer_run(Testbed& tb, CaseResult& r) {
  DeadPeerRun d;
  if (!connect_or_skip(tb, r, short_keepalive())) return d;
  tb.set_path(PathState::blackhole);
  tb.run_until_target_ended(seconds(60));
  d.segs = parse_capture(tb.capture());
  d.heard = last_peer_before(d.segs, 1e18, 0);
  d.probes = keepalive_probes(d.segs, d.heard);
  d.outcome = tb.target_outcome();
  d.ok = true;
  return d;
}

void keepalive_configured(Testbed& tb, CaseResult& r) {
  // Probe k at last heard + idle + (k - 1) * interval (RFC 1122 §4.2.3.6,
  // Linux tcp_keepalive_timer): 2, 3, 4 s; Linux measured 2.016, 3.040,
  // 4.064 (keepalive_dead_peer).
  r.expected =
      "3 probes at 2.000, 3.000, 4.000 s after the peer was last heard (Linux 2.016, "
      "3.040, 4.064)";
  DeadPeerRun d = keepalive_dead_peer_run(tb, r);
  if (!d.ok) return;
  std::vector<double> at;
  for (const Seg* p : d.probes) at.push_back(p->t - d.heard);
  r.measured = std::to_string(at.size()) + " probes at " + fmt_list(at) + " s";
  const double want[] = {2, 3, 4};
  bool ok = at.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) ok = near(at[i], want[i]);
  r.verdict = ok ? Verdict::pass : Verdict::fail;
}

void keepalive_probe_form(Testbed& tb, CaseResult& r) {
  r.expected = "SEQ = SND.NXT - 1 with 0 or 1 byte (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4)";
  SocketOptions o = short_keepalive();
  if (!connect_or_skip(tb, r, o)) return;
  const double t0 = to_s(tb.now());
  tb.run_for(seconds(7));  // answered probes at 2, 4, 6 s
  const auto segs = parse_capture(tb.capture());
  // Any segment the target sends after the handshake while idle is a probe
  // of some form: grade them all.
  size_t probes = 0, good = 0;
  std::string bad;
  for (const auto& s : segs) {
    if (s.t <= t0 || !s.from_target || !s.tcp || s.rst()) continue;
    ++probes;
    if (s.keepalive_form()) {
      ++good;
    } else if (bad.empty()) {
      bad = "; one has SEQ = SND.NXT" + std::string(s.seq == s.snd_max_before ? "" : " + ?") +
            " and " + std::to_string(s.len) + " bytes";
    }
  }
  r.measured = std::to_string(good) + " of " + std::to_string(probes) +
               " probes with SEQ = SND.NXT - 1, <= 1 byte" + bad;
  r.verdict = probes > 0 && good == probes ? Verdict::pass : Verdict::fail;
}

void keepalive_dead_peer(Testbed& tb, CaseResult& r) {
  // Dead after count unanswered probes: idle + count * interval = 5 s;
  // Linux: RST at 5.088 s, ETIMEDOUT (keepalive_dead_peer).
  r.expected =
      "ETIMEDOUT at 5.000 s after the peer was last heard (Linux: RST, ETIMEDOUT at 5.088)";
  DeadPeerRun d = keepalive_dead_peer_run(tb, r);
  if (!d.ok) return;
  if (!d.outcome.ended) {
    r.measured = "still open 60 s after the peer vanished";
    r.verdict = Verdict::fail;
    return;
  }
  const double at = to_s(d.outcome.ended_at) - d.heard;
  r.measured = outcome_text(d.outcome, d.heard) +
               (target_rst(d.segs, d.heard) ? ", RST sent" : ", silently");
  r.verdict = near(at, 5) && errno_ok(d.outcome, ETIMEDOUT) ? Verdict::pass : Verdict::fail;
}

void keepalive_default_give_up(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.3.6: one unanswered probe MUST NOT be taken for a dead
  // peer; RFC 2525 §2.9 flags a stack that gives up after 5 probes 1 s
  // apart. No RFC gives a number: the bar here is R2's (RFC 1122
  // §4.2.3.5, 100 s). Linux's defaults: 9 probes 75 s apart, death 675 s
  // after the first probe (tcp_keepalive_intvl 75, tcp_keepalive_probes 9).
  r.expected =
      ">= 2 probes, death >= 100 s after the first (RFC 2525 §2.9; Linux: 9 probes, 675 "
      "s)";
  SocketOptions o;
  o.keepalive = true;
  o.keep_idle = seconds(60);  // only the idle is set: interval and count are the defaults
  if (!connect_or_skip(tb, r, o)) return;
  if (!tb.virtual_time()) {
    // Probes every TCP_KEEPINTVL; the end when TCP_KEEPCNT have gone
    // unanswered, count * interval after the first (Linux
    // tcp_keepalive_timer; lwIP tcp_slowtmr: keep_cnt_sent >= keep_cnt).
    const auto intvl = read_setting(tb, r, "keepintvl", "12 min");
    if (!intvl) return;
    const auto cnt = read_setting(tb, r, "keepcnt", "12 min");
    if (!cnt) return;
    const long after = *intvl * *cnt;
    r.measured = std::to_string(*cnt) + " probes " + std::to_string(*intvl) + " s apart, the end " +
                 std::to_string(after) + " s after the first" + kRead;
    r.verdict = *cnt >= 2 && after >= 100 ? Verdict::pass : Verdict::fail;
    return;
  }
  tb.set_path(PathState::blackhole);
  tb.run_until_target_ended(seconds(7200));
  const auto segs = parse_capture(tb.capture());
  const auto probes = keepalive_probes(segs, 0);
  const TargetOutcome out = tb.target_outcome();
  if (probes.empty() || !out.ended) {
    r.measured = std::to_string(probes.size()) + " probes, " + outcome_text(out, 0);
    r.verdict = probes.empty() ? Verdict::fail : Verdict::pass;
    return;
  }
  const double after = to_s(out.ended_at) - probes[0]->t;
  r.measured =
      std::to_string(probes.size()) + " probes, the end " + fmt(after, 1) + " s after the first";
  r.verdict = probes.size() >= 2 && after >= 100 ? Verdict::pass : Verdict::fail;
}

void keepalive_not_while_outstanding(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.3.6: a keep-alive is sent when no data has been
  // received "for an interval" on an otherwise idle connection; with data
  // outstanding, retransmission probes the peer (Linux tcp_keepalive_timer
  // skips while packets_out or the write queue is not empty).
  r.expected = "no keepalive-form segment while 100 bytes stay unacknowledged";
  SystemSettings sys;
  sys.retries2 = 6;
  if (!connect_or_skip(tb, r, short_keepalive(), sys)) return;
  const double t0 = to_s(tb.now());
  tb.set_path(PathState::drop_to_target);  // the peer's ACKs are lost
  tb.target_write(100);
  tb.run_until_target_ended(seconds(12));
  const auto probes = keepalive_probes(parse_capture(tb.capture()), t0);
  r.measured = std::to_string(probes.size()) + " keepalive-form segments in " +
               fmt(to_s(tb.now()) - t0, 1) + " s of unacknowledged data";
  r.verdict = probes.empty() ? Verdict::pass : Verdict::fail;
}

void keepalive_idle_restart(Testbed& tb, CaseResult& r) {
  // Seed 001: the peer probes every 1 s (its own keepalive); the target's
  // idle is 3 s. Data from the peer at 1.5 s restarts the target's idle
  // clock (RFC 1122 §4.2.3.6); the peer's keepalives do not (Linux:
  // keepalive_both_ends, each end probes on its own clock, 3.008 s apart).
  r.expected =
      "first probe 3.000 s after the peer's data (Linux: the peer's keepalives do not "
      "restart the idle clock)";
  SocketOptions o;
  o.keepalive = true;
  o.keep_idle = seconds(3);
  o.keep_interval = seconds(1);
  o.keep_count = 3;
  PeerSettings peer;
  peer.keep_idle = seconds(1);
  peer.keep_interval = seconds(1);
  if (!connect_or_skip(tb, r, o, {}, peer)) return;
  const double t0 = to_s(tb.now());
  tb.run_for(milliseconds(1500));
  tb.peer_write(10);
  tb.run_for(seconds(10));
  const auto segs = parse_capture(tb.capture());
  double data_at = -1;
  for (const auto& s : segs) {
    if (!s.from_target && s.tcp && s.len > 1 && s.t > t0) {
      data_at = s.t;
      break;
    }
  }
  if (data_at < 0) {
    r.measured = "the peer's data never went out";
    r.verdict = Verdict::skipped;
    return;
  }
  const auto before = keepalive_probes(segs, t0);
  const auto probes = keepalive_probes(segs, data_at);
  if (!before.empty() && before[0]->t < data_at) {
    r.measured = "a probe " + fmt(before[0]->t - t0) + " s after the handshake, before the data";
    r.verdict = Verdict::fail;  // nothing was due before 3 s
    return;
  }
  if (probes.empty()) {
    r.measured = "no probe in 10 s: the peer's keepalives restart its idle clock";
    r.verdict = Verdict::info;
    return;
  }
  const double idle = probes[0]->t - data_at;
  r.measured = "first probe " + fmt(idle) + " s after the peer's data";
  if (near(idle, 3)) {
    r.verdict = Verdict::pass;
  } else if (idle > 3) {
    r.measured += ": the peer's keepalives restart its idle clock";
    r.verdict = Verdict::info;
  } else {
    r.verdict = Verdict::fail;
  }
}

void keepalive_peer_rebooted(Testbed& tb, CaseResult& r) {
  // A rebooted peer answers the first probe with RST (RFC 9293 §3.10.7.1);
  // the target ends with ECONNRESET at the first probe, idle = 2 s after
  // the peer was last heard (RFC 1122 §4.2.3.6).
  r.expected = "ECONNRESET at 2.000 s (the first probe, answered by RST)";
  if (!connect_or_skip(tb, r, short_keepalive())) return;
  tb.run_for(milliseconds(500));
  // The reboot's time, not 0.5 s: on a loaded machine a real target's
  // connection may be made a second or more after its testbed started.
  const double reboot_at = to_s(tb.now());
  tb.peer_reboot();
  tb.run_until_target_ended(seconds(30));
  const auto segs = parse_capture(tb.capture());
  const double heard = last_peer_before(segs, reboot_at, 0);
  const TargetOutcome o = tb.target_outcome();
  r.measured = outcome_text(o, heard);
  r.verdict = o.ended && near(to_s(o.ended_at) - heard, 2) && errno_ok(o, ECONNRESET)
                  ? Verdict::pass
                  : Verdict::fail;
}

// ----------------------------------------------------------- retransmission

void rto_initial_syn(Testbed& tb, CaseResult& r) {
  // RFC 6298 §2.1: the initial RTO is 1 s (RFC 2525 §2.7: much shorter
  // floods a long path); Linux: SYN retransmissions 1.029, 2.053, ... s
  // (syn_blackhole_syncnt_2; tcp_syn_linear_timeouts keeps them 1 s apart).
  r.expected =
      "first SYN retransmission 1.000 s after the SYN (RFC 6298 §2.1; Linux 1.029; 3 s "
      "from RFC 1122 also passes)";
  SystemSettings sys;
  sys.syn_retries = 2;
  if (tb.configure(sys, {})) {
    r.verdict = Verdict::skipped;
    r.measured = "configure failed: " + tb.why();
    return;
  }
  tb.set_path(PathState::blackhole);
  (void)tb.target_connect(SocketOptions{});
  const auto segs = parse_capture(tb.capture());
  std::vector<double> syns;
  for (const auto& s : segs) {
    if (s.from_target && s.tcp && s.syn() && !s.has_ack()) syns.push_back(s.t);
  }
  if (syns.size() < 2) {
    r.measured = std::to_string(syns.size()) + " SYNs";
    r.verdict = Verdict::fail;
    return;
  }
  const double gap = syns[1] - syns[0];
  r.measured = "first SYN retransmission after " + fmt(gap) + " s (" + std::to_string(syns.size()) +
               " SYNs)";
  r.verdict = gap >= 0.95 && gap <= 3.2 ? Verdict::pass : Verdict::fail;
}

// 100 bytes into a path that turned silent, tcp_retries2 = 6 (Linux:
// rto_blackhole_retries2_6).
struct BlackholeRun {
  double write_at = 0;
  std::vector<double> resends;  // since the write
  TargetOutcome outcome;
  bool rst = false;
  bool ok = false;
};
BlackholeRun blackhole_run(Testbed& tb, CaseResult& r, std::optional<int> retries2,
                           const SocketOptions& o, conform::Duration limit) {
  BlackholeRun b;
  SystemSettings sys;
  sys.retries2 = retries2;
  if (!connect_or_skip(tb, r, o, sys)) return b;
  tb.run_for(milliseconds(500));
  tb.set_path(PathState::blackhole);
  tb.target_write(100);
  tb.run_until_target_ended(limit);
  const auto segs = parse_capture(tb.capture());
  b.write_at = first_data_time(segs);
  for (const Seg* s : data_resends(segs, b.write_at)) b.resends.push_back(s->t - b.write_at);
  b.outcome = tb.target_outcome();
  b.rst = target_rst(segs, b.write_at);
  b.ok = b.write_at >= 0;
  if (!b.ok) {
    r.verdict = Verdict::skipped;
    r.measured = "the target sent no data";
  }
  return b;
}

void rto_first_data(Testbed& tb, CaseResult& r) {
  // RFC 6298 §2.4: RTO at least 1 s (a SHOULD); RFC 2525 §2.7 flags
  // retransmissions far below the path's real RTT. Linux: 200 ms floor,
  // tail-loss probe at 0.209 s (rto_blackhole_retries2_6).
  r.expected = ">= 1 s pass (RFC 6298 §2.4); 0.2-1 s info (Linux: 0.209); < 0.19 s fail";
  BlackholeRun b = blackhole_run(tb, r, 6, SocketOptions{}, seconds(5));
  if (!b.ok) return;
  if (b.resends.empty()) {
    r.measured = "no retransmission in 5 s";
    r.verdict = Verdict::fail;
    return;
  }
  const double first = b.resends[0];
  r.measured = "first retransmission " + fmt(first) + " s after the send";
  r.verdict = first >= 0.999 ? Verdict::pass : first >= 0.19 ? Verdict::info : Verdict::fail;
}

void rto_backoff(Testbed& tb, CaseResult& r) {
  // RFC 6298 §5.5 (RFC 2525 §2.10): each timeout doubles the RTO. The
  // first gap may be a tail-loss probe's (RFC 8985 §7; Linux 0.209 then
  // 0.212, 0.436, 0.832, 1.664, 3.452, 6.656), so it is left out.
  r.expected =
      "from the 2nd gap on, each gap 1.7-2.3x the one before (Linux: 0.212, 0.436, "
      "0.832, 1.664, 3.452, 6.656 s)";
  BlackholeRun b = blackhole_run(tb, r, 6, SocketOptions{}, seconds(120));
  if (!b.ok) return;
  std::vector<double> gaps;
  double prev = 0;
  for (double t : b.resends) {
    gaps.push_back(t - prev);
    prev = t;
  }
  r.measured = "gaps " + fmt_list(gaps) + " s";
  bool ok = gaps.size() >= 4;
  for (size_t i = 2; ok && i < gaps.size(); ++i) {
    const double k = gaps[i] / gaps[i - 1];
    ok = (k >= 1.7 && k <= 2.3) || gaps[i] >= 60;  // doubling, or at a cap >= 60 s
  }
  r.verdict = ok ? Verdict::pass : Verdict::fail;
}

void r2_configured(Testbed& tb, CaseResult& r) {
  // How a retry count reads is the implementation's (RFC 1122 §4.2.3.5
  // leaves R2's unit open): Linux reads tcp_retries2 = 6 as a time,
  // ETIMEDOUT 26.773 s after the write, 7 retransmissions (1 tail-loss
  // probe), no RST (rto_blackhole_retries2_6).
  r.expected = "ETIMEDOUT, no RST (Linux tcp_retries2=6: 7 retransmissions, ETIMEDOUT at 26.773 s)";
  BlackholeRun b = blackhole_run(tb, r, 6, SocketOptions{}, seconds(300));
  if (!b.ok) return;
  r.measured = std::to_string(b.resends.size()) + " retransmissions, " +
               outcome_text(b.outcome, b.write_at) + (b.rst ? ", RST sent" : ", no RST");
  r.verdict = b.outcome.ended && errno_ok(b.outcome, ETIMEDOUT) ? Verdict::info : Verdict::fail;
}

void r2_default(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.3.5: R2 for data MUST correspond to at least 100 s; RFC
  // 6298 §2.5: a cap on the RTO, if any, at least 60 s. Linux: 15
  // retries modelled from 200 ms doubling to 120 s, 924.6 s.
  r.expected =
      "give up >= 100 s after the send (RFC 1122 §4.2.3.5), RTO cap >= 60 s (RFC 6298 "
      "§2.5); Linux ~924.6 s, cap 120 s";
  if (!tb.virtual_time()) {
    // Linux reads tcp_retries2 as a time (tcp_model_timeout): 200 ms
    // (TCP_RTO_MIN) doubling up to the cap, then the cap; 15 and 120 s
    // give (2^10 - 1) * 0.2 + (15 - 9) * 120 = 924.6 s (ip-sysctl.rst).
    // Read from the namespace rather than waited for (15 min); lwIP's
    // count (TCP_MAXRTX) is a compile-time constant it does not report.
    if (!connect_or_skip(tb, r, SocketOptions{})) return;
    const auto retries = read_setting(tb, r, "tcp_retries2", "minutes");
    if (!retries) return;
    const long cap_ms = tb.target_getopt("tcp_rto_max_ms").value_or(120000);
    const double base = 0.2, cap = static_cast<double>(cap_ms) / 1000;
    const int linear = static_cast<int>(std::floor(std::log2(cap / base)));
    const double at = *retries <= linear ? (std::ldexp(2.0, static_cast<int>(*retries)) - 1) * base
                                         : (std::ldexp(2.0, linear) - 1) * base +
                                               static_cast<double>(*retries - linear) * cap;
    r.measured = "tcp_retries2 " + std::to_string(*retries) + ", RTO cap " + fmt(cap, 1) +
                 " s: ETIMEDOUT " + fmt(at, 1) +
                 " s after the first RTO by tcp_model_timeout (sysctls read in the namespace, not "
                 "waited for)";
    r.verdict = at >= 100 && cap >= 60 ? Verdict::pass : Verdict::fail;
    return;
  }
  BlackholeRun b = blackhole_run(tb, r, std::nullopt, SocketOptions{}, seconds(7200));
  if (!b.ok) return;
  double biggest = 0, prev = 0;
  for (double t : b.resends) {
    biggest = std::max(biggest, t - prev);
    prev = t;
  }
  if (!b.outcome.ended) {
    r.measured = "still open after 7200 s";
    r.verdict = Verdict::info;
    return;
  }
  const double at = to_s(b.outcome.ended_at) - b.write_at;
  r.measured = std::to_string(b.resends.size()) + " retransmissions, " +
               outcome_text(b.outcome, b.write_at) + ", largest gap " + fmt(biggest, 1) + " s";
  r.verdict = at >= 100 && biggest >= 60 - 0.001 && errno_ok(b.outcome, ETIMEDOUT) ? Verdict::pass
                                                                                   : Verdict::fail;
}

void keepalive_vs_r2(Testbed& tb, CaseResult& r) {
  // Seed 001: keepalive 2/1/3 configured, the peer dies while data is
  // outstanding. RFC 1122 says nothing; Linux notices only at R2
  // (tcp_keepalive_timer skips while data is out): with tcp_retries2 = 6,
  // 26.8 s. vigil rfc's liveness deadline: idle + count * interval = 5 s.
  r.expected = "a choice: at the keepalive bound (5 s) or at R2 (Linux: 26.8 s with retries2=6)";
  BlackholeRun b = blackhole_run(tb, r, 6, short_keepalive(), seconds(300));
  if (!b.ok) return;
  if (!b.outcome.ended) {
    r.measured = "still open after 300 s";
    r.verdict = Verdict::fail;
    return;
  }
  const double at = to_s(b.outcome.ended_at) - b.write_at;
  r.measured = outcome_text(b.outcome, b.write_at) +
               (at <= 5.5 ? " (the keepalive bound)" : " (R2, keepalive ignored)");
  r.verdict = Verdict::info;
}

// ------------------------------------------------------------- user timeout

void uto_abort(Testbed& tb, CaseResult& r) {
  // RFC 5482 §3 / RFC 793's user timeout: 3 s after the data went
  // unacknowledged; Linux starts the clock at the first RTO
  // retransmission: ETIMEDOUT at 3.428 s after the write
  // (user_timeout_3000ms), no RST.
  r.expected = "ETIMEDOUT 3.0-3.6 s after the write (RFC 5482: 3.0; Linux: 3.428)";
  SocketOptions o;
  o.user_timeout = milliseconds(3000);
  BlackholeRun b = blackhole_run(tb, r, std::nullopt, o, seconds(60));
  if (!b.ok) return;
  r.measured = outcome_text(b.outcome, b.write_at) + (b.rst ? ", RST sent" : ", no RST");
  const double at = to_s(b.outcome.ended_at) - b.write_at;
  r.verdict = b.outcome.ended && at >= 2.95 && at <= 3.6 && errno_ok(b.outcome, ETIMEDOUT)
                  ? Verdict::pass
                  : Verdict::fail;
}

void uto_outlives_r2(Testbed& tb, CaseResult& r) {
  // A set user timeout replaces R2 (Linux tcp_write_timeout passes it to
  // retransmits_timed_out instead of tcp_retries2's bound; RFC 5482 §3):
  // tcp_retries2 = 3 alone gives up after ~3 s, a 20 s user timeout keeps
  // going to 20 s (+ up to the first RTO, where Linux starts its clock).
  r.expected = "ETIMEDOUT 20.0-21.5 s after the write, not at R2 (~3 s for retries2=3)";
  SocketOptions o;
  o.user_timeout = milliseconds(20000);
  BlackholeRun b = blackhole_run(tb, r, 3, o, seconds(120));
  if (!b.ok) return;
  r.measured = outcome_text(b.outcome, b.write_at);
  const double at = to_s(b.outcome.ended_at) - b.write_at;
  r.verdict = b.outcome.ended && at >= 19.95 && at <= 21.5 && errno_ok(b.outcome, ETIMEDOUT)
                  ? Verdict::pass
                  : Verdict::fail;
}

// ----------------------------------------------------------------- persist

// The target writes 100 kB to a peer with a 4 kB buffer that does not
// read (Linux: zero_window_answered): its window closes and the target
// persists.
struct PersistRun {
  double zero_at = -1;  // the peer's first zero-window ACK
  std::vector<const Seg*> probes;
  std::vector<Seg> segs;
  TargetOutcome outcome;
  bool ok = false;
};
void find_probes(PersistRun& p) {
  for (const auto& s : p.segs) {
    if (!s.from_target && s.tcp && s.has_ack() && s.win == 0 && p.zero_at < 0) p.zero_at = s.t;
  }
  if (p.zero_at < 0) return;
  for (const auto& s : p.segs) {
    if (s.t <= p.zero_at || !s.from_target || !s.tcp || s.rst() || s.syn() || s.fin()) continue;
    // SND.UNA - 1 with no data (Linux), or one byte (RFC 9293 §3.8.6.1).
    if (s.len <= 1 && !(s.len == 0 && s.seq == s.snd_max_before)) p.probes.push_back(&s);
  }
}
PersistRun persist_run(Testbed& tb, CaseResult& r, std::optional<int> retries2,
                       const SocketOptions& o, conform::Duration run,
                       bool blackhole_at_zero_window) {
  PersistRun p;
  SystemSettings sys;
  sys.retries2 = retries2;
  PeerSettings peer;
  peer.receive_buffer = 4096;
  peer.window_scale = false;
  if (!connect_or_skip(tb, r, o, sys, peer)) return p;
  tb.peer_set_reading(false);
  tb.target_write(100000);
  if (blackhole_at_zero_window) {
    // Silence as soon as the peer has advertised a zero window (Linux's
    // measurement: blackhole 56 ms after it, before the first probe).
    for (int i = 0; i < 100; ++i) {
      tb.run_for(milliseconds(20));
      bool zero = false;
      for (const auto& s : parse_capture(tb.capture())) {
        zero = zero || (!s.from_target && s.tcp && s.has_ack() && s.win == 0);
      }
      if (zero) break;
    }
    tb.set_path(PathState::blackhole);
  }
  tb.run_until_target_ended(run);
  p.segs = parse_capture(tb.capture());
  find_probes(p);
  p.outcome = tb.target_outcome();
  p.ok = true;
  if (p.zero_at < 0) {
    r.verdict = Verdict::skipped;
    r.measured = "the peer's window never closed";
    p.ok = false;
  }
  return p;
}

void persist_backoff(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.2.17 / RFC 9293 §3.8.6.1: probes at RTO intervals,
  // exponentially backed off. Linux (zero_window_answered): 0.22, 0.672,
  // 1.572, 3.328, 6.852, 14.016, 28.096 s: each gap about twice the last.
  r.expected =
      ">= 4 probes in 40 s, from the 2nd gap on each 1.7-2.3x the one before (Linux: "
      "0.22, 0.672, 1.572, 3.328, 6.852, 14.016, 28.096)";
  PersistRun p = persist_run(tb, r, std::nullopt, SocketOptions{}, seconds(40), false);
  if (!p.ok) return;
  std::vector<double> at;
  for (const Seg* s : p.probes) at.push_back(s->t - p.zero_at);
  r.measured = "probes at " + fmt_list(at) + " s after the zero window";
  bool ok = at.size() >= 4;
  for (size_t i = 2; ok && i < at.size(); ++i) {
    const double g = at[i] - at[i - 1], prev = at[i - 1] - at[i - 2];
    ok = (g / prev >= 1.7 && g / prev <= 2.3) || g >= 60;
  }
  r.verdict = ok ? Verdict::pass : Verdict::fail;
}

void persist_probe_form(Testbed& tb, CaseResult& r) {
  r.expected =
      "a choice: 1 byte of new data (RFC 9293 §3.8.6.1) or SND.UNA - 1 with no data "
      "(Linux)";
  PersistRun p = persist_run(tb, r, std::nullopt, SocketOptions{}, seconds(10), false);
  if (!p.ok) return;
  if (p.probes.empty()) {
    r.measured = "no probe in 10 s";
    r.verdict = Verdict::fail;
    return;
  }
  const Seg& s = *p.probes[0];
  r.measured = s.len == 0
                   ? "SND.UNA - 1, no data"
                   : "1 byte at SEQ " + std::string(s.seq == s.snd_max_before ? "SND.NXT (new data)"
                                                                              : "below SND.NXT");
  r.verdict = Verdict::info;
}

void persist_answered(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.2.17: the sender MUST NOT close while the receiver keeps
  // answering its probes. An hour in virtual time; a real target gets 90 s
  // with tcp_retries2 = 3, which would kill it after 3 unanswered probes.
  const bool virt = tb.virtual_time();
  // Compressed (CI): 30 s, still ten times what 3 unanswered probes take.
  const int run_s = virt ? 3600 : tb.time_compressed() ? 30 : 90;
  r.expected =
      "still open after " + std::to_string(run_s) + " s of answered probes (RFC 1122 §4.2.2.17)";
  PersistRun p = persist_run(tb, r, virt ? std::nullopt : std::optional<int>(3), SocketOptions{},
                             seconds(run_s), false);
  if (!p.ok) return;
  r.measured = (p.outcome.ended ? outcome_text(p.outcome, p.zero_at) : std::string("still open")) +
               ", " + std::to_string(p.probes.size()) + " probes";
  r.verdict = !p.outcome.ended && p.probes.size() >= 3 ? Verdict::pass : Verdict::fail;
}

void persist_unanswered(Testbed& tb, CaseResult& r) {
  // RFC 9293 §3.8.6.1 lets a sender give up on unanswered probes (R2);
  // Linux with tcp_retries2 = 6: 6 unanswered probes, ETIMEDOUT at
  // 28.252 s after the zero window (zero_window_blackholed_retries2_6).
  r.expected = "ETIMEDOUT after unanswered probes (Linux retries2=6: 6 probes, 28.252 s)";
  PersistRun p = persist_run(tb, r, 6, SocketOptions{}, seconds(300), true);
  if (!p.ok) return;
  r.measured =
      outcome_text(p.outcome, p.zero_at) + ", " + std::to_string(p.probes.size()) + " probes";
  r.verdict = p.outcome.ended && errno_ok(p.outcome, ETIMEDOUT) ? Verdict::pass : Verdict::fail;
}

void uto_zero_window(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.2.17 keeps a connection whose probes are answered;
  // Linux 5.11 and later (icsk_probes_tstamp) bounds the zero window
  // itself by TCP_USER_TIMEOUT: ETIMEDOUT 3.033 s after the first probe
  // (zero_window_user_timeout_3000ms). Both are defensible.
  r.expected =
      "a choice: open while probes are answered (RFC 1122), or ETIMEDOUT ~3 s after the "
      "first probe (Linux >= 5.11: 3.033)";
  SocketOptions o;
  o.user_timeout = milliseconds(3000);
  PersistRun p = persist_run(tb, r, std::nullopt, o, seconds(40), false);
  if (!p.ok) return;
  if (p.probes.empty()) {
    r.measured = "no probe";
    r.verdict = Verdict::fail;
    return;
  }
  r.measured = p.outcome.ended ? outcome_text(p.outcome, p.probes[0]->t) + " after the first probe"
                               : "still open after 40 s of answered probes";
  r.verdict = Verdict::info;
}

void keepalive_while_persisting(Testbed& tb, CaseResult& r) {
  // Seed 003: a sender behind a zero window probes, and Wireshark labels
  // the probes keep-alives (Linux's have SEQ = SND.UNA - 1, a keepalive's
  // form). RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: they are persist
  // probes, backed off from the RTO, and the connection lives while the
  // peer answers them; keepalives are for idle connections (RFC 1122
  // §4.2.3.6; Linux tcp_keepalive_timer reschedules while the write queue
  // holds data). With keepalive 2 s / 1 s / 3, a keepalive that ran here
  // would probe every 2 s (answers restart its idle) or, blind to the zero
  // window's answers, kill the connection 5 s after the window closed.
  constexpr int kRun = 40;
  r.expected =
      "open after " + std::to_string(kRun) +
      " s of answered probes behind a zero window, keepalive 2 s/1 s/3; the probes back off "
      "(last gap > 4 s: persist, not keepalive's 2 s idle)";
  PersistRun p = persist_run(tb, r, std::nullopt, short_keepalive(), seconds(kRun), false);
  if (!p.ok) return;
  std::vector<double> at;
  for (const Seg* s : p.probes) at.push_back(s->t - p.zero_at);
  const double last_gap = at.size() >= 2 ? at.back() - at[at.size() - 2] : 0;
  r.measured = (p.outcome.ended ? outcome_text(p.outcome, p.zero_at) : std::string("still open")) +
               ", " + std::to_string(at.size()) + " probes at " + fmt_list(at) + " s";
  r.verdict = !p.outcome.ended && at.size() >= 3 && last_gap > 4 ? Verdict::pass : Verdict::fail;
}

void persist_probe_byte_deadlock(Testbed& tb, CaseResult& r) {
  // RFC 2525 §2.12: a receiver whose advertised window is zero takes a
  // probe byte into the room a small read made (too small for a window
  // update, RFC 1122 §4.2.3.3); the faulty one then computes a negative
  // window and discards everything, ACKs included, until it sends a
  // window update. vigil sim window-probe-deadlock-blocked's order: the
  // target reads 100 bytes at 10 s, the peer's 1-byte probe comes, the
  // target writes 100 kB at 20 s while still not reading: a correct target
  // takes the peer's ACKs and sends all of it by 60 s.
  r.expected =
      "all 100000 bytes sent and acknowledged within 40 s while the target's window is "
      "closed";
  SocketOptions o;
  o.receive_buffer = 16384;
  if (tb.configure({}, {})) {
    r.verdict = Verdict::skipped;
    r.measured = "configure failed: " + tb.why();
    return;
  }
  if (tb.target_connect(o)) {
    r.verdict = Verdict::skipped;
    r.measured = "no connection: " + tb.why();
    return;
  }
  tb.target_set_reading(false);
  tb.peer_write(1000000);
  tb.run_for(seconds(10));
  if (!tb.target_read(100)) {
    r.verdict = Verdict::skipped;
    r.measured = "the testbed cannot make the target read a few bytes";
    return;
  }
  tb.run_for(seconds(10));
  const double write_at = to_s(tb.now());
  tb.target_write(100000);
  tb.run_for(seconds(40));
  const auto segs = parse_capture(tb.capture());
  // The target's bytes the peer acknowledged after the write.
  uint32_t start = 0, peer_ack = 0;
  bool have_start = false;
  for (const auto& s : segs) {
    if (s.t < write_at) continue;
    if (s.from_target && s.tcp && !have_start && s.len > 0) {
      start = s.seq;
      peer_ack = s.seq;
      have_start = true;
    }
    if (have_start && !s.from_target && s.tcp && s.has_ack() &&
        static_cast<int32_t>(s.ack - peer_ack) > 0) {
      peer_ack = s.ack;
    }
  }
  const uint32_t acked = have_start ? peer_ack - start : 0;
  const size_t resends = data_resends(segs, write_at).size();
  r.measured = std::to_string(acked) + " of 100000 bytes acknowledged in 40 s, " +
               std::to_string(resends) + " retransmissions";
  r.verdict = acked >= 100000 ? Verdict::pass : Verdict::fail;
}

// -------------------------------------------------------------- congestion

void initial_window(Testbed& tb, CaseResult& r) {
  // RFC 5681 §3.1 (RFC 3390): IW <= 3 segments of 1460 bytes; RFC 6928
  // (experimental, Linux's default): 10 segments.
  r.expected = "<= 3 segments pass (RFC 3390); <= 10 info (RFC 6928, Linux); more fail";
  PeerSettings peer;
  peer.receive_buffer = 1 << 20;
  SocketOptions o;
  o.no_delay = true;
  if (!connect_or_skip(tb, r, o, {}, peer)) return;
  tb.target_write(200000);
  tb.run_for(seconds(2));
  const auto segs = parse_capture(tb.capture());
  // Data segments before the first ACK of data from the peer.
  size_t n = 0;
  bool data = false;
  for (const auto& s : segs) {
    if (!s.tcp) continue;
    if (s.from_target && s.len > 0) {
      data = true;
      ++n;
    } else if (!s.from_target && data && s.has_ack()) {
      break;
    }
  }
  r.measured = std::to_string(n) + " segments before the first ACK";
  r.verdict = n == 0    ? Verdict::fail
              : n <= 3  ? Verdict::pass
              : n <= 10 ? Verdict::info
                        : Verdict::fail;
}

// The congestion cases' path (RFC 2525 §2.6 and §2.8): a bottleneck the
// peer controls, 10 Mbit/s with 25 ms each way (RTT 50 ms; a bandwidth-
// delay product of 62,500 bytes, 43 segments of 1448) and a drop-tail
// queue of 8,000 bytes (5 segments) each way. A sender in congestion
// avoidance fills it once its window passes 48 segments and loses a
// segment; after recovery its window is 24 (Reno, RFC 5681 §3.2) to 34
// (CUBIC's 0.7, RFC 8312 §4.5), below the product: the flight then shows
// in full at the peer until it reaches the product again.
constexpr double kBottleneckDelay = 0.025;  // s, each way
constexpr uint64_t kBottleneckRate = 10'000'000;
constexpr size_t kBottleneckQueue = 8000;
constexpr double kBdpBytes = kBottleneckRate / 8.0 * 2 * kBottleneckDelay;
// One round trip as the peer sees it: twice the delay, plus a full-size
// datagram's serialisation (1.2 ms at 10 Mbit/s).
constexpr double kRoundTrip = 2 * kBottleneckDelay + 1500.0 * 8 / kBottleneckRate;

// The target's flight as the peer's ACK clock bounds it. A data segment
// ending at E reaches the peer at t; the target sent it at t - d - ser or
// earlier, and then knew of no ACK the peer sent after t - 2d - ser (the
// peer's ACK takes d to reach it). So SND.MAX - SND.UNA at that send was
// at least E - A(t - kRoundTrip), A(x) the peer's highest ACK sent by x:
// exact while the bottleneck has no queue, low by the queue's bytes when
// it has one. Losses are the target's retransmissions, grouped into
// episodes that end when the peer acknowledges what was outstanding at the
// first (RFC 6582's "recover").
struct FlightView {
  struct Point {
    double t;
    double flight;  // bytes
    bool resend;
  };
  struct Episode {
    double start = 0;          // the first retransmission reached the peer
    double end = -1;           // the peer's ACK of everything outstanding then; -1 never
    bool ack_clocked = false;  // target data reached the peer within a round trip before
  };
  std::vector<Point> points;
  std::vector<Episode> episodes;
  uint32_t mss = 0;  // the largest payload seen

  // The largest flight among data arrivals in (from, to], or -1 if none.
  double max_flight(double from, double to) const {
    double m = -1;
    for (const auto& p : points) {
      if (p.t > from && p.t <= to && !p.resend) m = std::max(m, p.flight);
    }
    return m;
  }
};

FlightView flight_view(const std::vector<Seg>& segs) {
  FlightView v;
  std::vector<std::pair<double, uint32_t>> acks;  // the peer's highest ACK so far, by time
  bool have_end = false;
  uint32_t end = 0;
  double last_data = -1;
  bool in_episode = false;
  uint32_t recover = 0;
  for (const auto& s : segs) {
    if (!s.tcp) continue;
    if (!s.from_target) {
      if (s.has_ack() && !s.rst() &&
          (acks.empty() || static_cast<int32_t>(s.ack - acks.back().second) > 0)) {
        acks.emplace_back(s.t, s.ack);
        if (in_episode && static_cast<int32_t>(s.ack - recover) >= 0) {
          v.episodes.back().end = s.t;
          in_episode = false;
        }
      }
      continue;
    }
    if (s.len == 0 || s.syn() || s.rst()) continue;
    v.mss = std::max(v.mss, s.len);
    const uint32_t e = s.seq + s.len;
    const bool resend =
        s.seq != s.snd_max_before && static_cast<int32_t>(s.seq - s.snd_max_before) < 0;
    if (resend && !in_episode) {
      FlightView::Episode ep;
      ep.start = s.t;
      ep.ack_clocked = last_data >= 0 && s.t - last_data < kRoundTrip;
      v.episodes.push_back(ep);
      in_episode = true;
      recover = s.snd_max_before;
    }
    last_data = s.t;
    if (!have_end || static_cast<int32_t>(e - end) > 0) end = e;
    have_end = true;
    // A(t - kRoundTrip): the last ACK sent by then.
    const double by = s.t - kRoundTrip;
    auto it = std::upper_bound(
        acks.begin(), acks.end(), by,
        [](double x, const std::pair<double, uint32_t>& a) { return x < a.first; });
    if (it == acks.begin()) continue;
    const int32_t f = static_cast<int32_t>(end - std::prev(it)->second);
    v.points.push_back({s.t, f > 0 ? double(f) : 0.0, resend});
  }
  return v;
}

// A bulk transfer from the target over the bottleneck: `seconds` of it.
bool bulk_over_bottleneck(Testbed& tb, CaseResult& r, double seconds_to_run) {
  PeerSettings peer;
  peer.receive_buffer = 1 << 20;  // the receive window never limits the flight
  SocketOptions o;
  o.no_delay = true;
  o.send_buffer = 1 << 20;
  if (!connect_or_skip(tb, r, o, {}, peer)) return false;
  PathShape shape;
  shape.one_way_delay = std::chrono::duration_cast<conform::Duration>(
      std::chrono::duration<double>(kBottleneckDelay));
  shape.rate_bps = kBottleneckRate;
  shape.queue_bytes = kBottleneckQueue;
  if (!tb.set_path_shape(shape)) {
    r.verdict = Verdict::skipped;
    r.measured = "the testbed cannot shape its path";
    return false;
  }
  tb.target_write(static_cast<size_t>(kBottleneckRate / 8 * (seconds_to_run + 1)));
  tb.run_for(
      std::chrono::duration_cast<conform::Duration>(std::chrono::duration<double>(seconds_to_run)));
  return true;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void congestion_avoidance_increase(Testbed& tb, CaseResult& r) {
  // RFC 5681 §3.1 (RFC 1122 §4.2.2.15): congestion avoidance grows cwnd by
  // about one SMSS per round trip, at most; RFC 2525 §2.6's extra MSS/8
  // per ACK adds cwnd/16 more per round trip with a delayed-ACK receiver
  // (2 to 3 segments here). CUBIC (RFC 8312) grows slower than that
  // after a loss. Per period between losses, the slope of the largest
  // flight per round trip while it is below 90 % of the path's product
  // (no queue: the flight shows in full), from the second round trip after
  // recovery; at least 4 round trips.
  r.expected =
      "<= 1.5 segments per round trip in congestion avoidance (RFC 5681 §3.1: 1; RFC 2525 "
      "§2.6's MSS/8 per ACK: 2-3 here)";
  if (!bulk_over_bottleneck(tb, r, 8)) return;
  const FlightView v = flight_view(parse_capture(tb.capture()));
  if (v.mss == 0) {
    r.verdict = Verdict::fail;
    r.measured = "no data";
    return;
  }
  std::vector<double> slopes;
  for (size_t i = 0; i < v.episodes.size(); ++i) {
    const auto& ep = v.episodes[i];
    if (ep.end < 0) continue;
    const double stop =
        i + 1 < v.episodes.size() ? v.episodes[i + 1].start - kRoundTrip : to_s(tb.now());
    std::vector<double> ys;
    for (double t = ep.end + kRoundTrip; t + kRoundTrip <= stop; t += kRoundTrip) {
      const double m = v.max_flight(t, t + kRoundTrip);
      if (m < 0 || m >= 0.9 * kBdpBytes) break;
      ys.push_back(m / v.mss);
    }
    if (ys.size() < 4) continue;
    // Least squares over round trips 0..n-1.
    const double n = static_cast<double>(ys.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t k = 0; k < ys.size(); ++k) {
      sx += double(k);
      sy += ys[k];
      sxx += double(k) * double(k);
      sxy += double(k) * ys[k];
    }
    slopes.push_back((n * sxy - sx * sy) / (n * sxx - sx * sx));
  }
  if (slopes.empty()) {
    r.verdict = Verdict::info;  // nothing to judge: not evidence of §2.6
    r.measured = std::to_string(v.episodes.size()) +
                 " loss episodes, no congestion-avoidance period of 4 round trips below the path's "
                 "product";
    return;
  }
  const double m = median(slopes);
  if (slopes.size() < 3) {
    // One or two periods are not enough to tell a rule from noise.
    r.verdict = Verdict::info;
    r.measured = std::to_string(slopes.size()) + " congestion-avoidance period(s) to judge (" +
                 fmt_list(slopes) + " segments per round trip): too few";
    return;
  }
  r.measured = "median " + fmt(m, 2) + " segments per round trip over " +
               std::to_string(slopes.size()) + " periods (" + fmt_list(slopes) + ")";
  r.verdict = m <= 1.5 ? Verdict::pass : Verdict::fail;
}

void congestion_window_deflation(Testbed& tb, CaseResult& r) {
  // RFC 5681 §3.2 step 6 / RFC 6582 §3.2 step 3: when fast recovery ends
  // cwnd is deflated to ssthresh, half the flight at the loss (0.7 for
  // CUBIC, RFC 8312 §4.5), below the path's product here: the next loss
  // comes only once congestion avoidance has grown it back past product +
  // queue, many round trips later (1.5 s here). RFC 2525 §2.8's sender
  // keeps the inflated window (ssthresh plus one segment per duplicate
  // ACK, about 1.5 times the flight at the loss) and, once recovery ends,
  // bursts a window's worth into the queue at once: "likely to cause
  // further loss", at the bottleneck within the next round trip. A fast
  // recovery (its first retransmission on the ACK clock) is judged when
  // the run goes on 2 round trips after it; as vigil analyze's §2.8
  // detector (docs/detectors.md), fail when at least 4 were judged and
  // 3/4 of them were followed by a loss within 2 round trips.
  r.expected =
      "after fast recovery, no loss for > 2 round trips (a deflated window, RFC 6582 §3.2); "
      "fail: >= 4 judged, >= 3/4 of them followed by a loss within 2 (RFC 2525 §2.8's burst)";
  if (!bulk_over_bottleneck(tb, r, 8)) return;
  const FlightView v = flight_view(parse_capture(tb.capture()));
  const double run_end = to_s(tb.now());
  int judged = 0, bursts = 0;
  std::vector<double> gaps;  // round trips from the end of recovery to the next loss
  for (size_t i = 0; i < v.episodes.size(); ++i) {
    const auto& ep = v.episodes[i];
    if (ep.end < 0 || !ep.ack_clocked) continue;
    const double next = i + 1 < v.episodes.size() ? v.episodes[i + 1].start : -1;
    if (next < 0 && run_end - ep.end <= 2 * kRoundTrip) continue;  // not seen long enough
    ++judged;
    if (next >= 0) gaps.push_back((next - ep.end) / kRoundTrip);
    if (next >= 0 && next - ep.end <= 2 * kRoundTrip) ++bursts;
  }
  r.measured =
      std::to_string(judged) + " fast recoveries, " + std::to_string(bursts) +
      " followed by a loss within 2 round trips; round trips to the next loss: " + fmt_list(gaps);
  if (judged < 4) {
    r.verdict = Verdict::info;
    r.measured = std::to_string(v.episodes.size()) + " loss episodes, " + r.measured +
                 ": too few fast recoveries to judge";
    return;
  }
  r.verdict = 4 * bursts >= 3 * judged ? Verdict::fail : Verdict::pass;
}

// -------------------------------------------------------------- robustness

// RFC 5961: a forged segment gets a challenge ACK and the connection lives.
void challenge(Testbed& tb, CaseResult& r, Injection what, const std::string& rule) {
  r.expected = "an ACK within 0.5 s, connection alive (" + rule + ")";
  if (!connect_or_skip(tb, r, SocketOptions{})) return;
  tb.run_for(seconds(1));
  const double at = to_s(tb.now());
  tb.peer_inject(what);
  tb.run_for(seconds(2));
  const auto segs = parse_capture(tb.capture());
  double ack_at = -1;
  for (const auto& s : segs) {
    if (s.t > at && s.from_target && s.tcp && s.has_ack() && !s.rst() && s.len == 0) {
      ack_at = s.t - at;
      break;
    }
  }
  const TargetOutcome o = tb.target_outcome();
  r.measured = (ack_at >= 0 ? "ACK after " + fmt(ack_at) + " s" : std::string("no ACK")) + ", " +
               (o.ended ? outcome_text(o, at) : std::string("alive"));
  if (o.ended) {
    r.verdict = Verdict::fail;
  } else {
    r.verdict = ack_at >= 0 && ack_at <= 0.5           ? Verdict::pass
                : what == Injection::ack_out_of_window ? Verdict::info
                                                       : Verdict::fail;
  }
}

void icmp_soft(Testbed& tb, CaseResult& r) {
  // RFC 5927 §4.2 / RFC 1122 §4.2.3.9: in a synchronized state a port
  // unreachable is a soft error: the connection lives (Linux tcp_v4_err
  // sets only sk_err_soft).
  r.expected = "alive, the data delivered (RFC 5927 §4.2, RFC 1122 §4.2.3.9)";
  if (!connect_or_skip(tb, r, SocketOptions{})) return;
  tb.set_path(PathState::drop_from_target);
  tb.target_write(1000);
  tb.run_for(milliseconds(50));
  tb.peer_inject(Injection::icmp_port_unreachable);
  tb.run_for(milliseconds(500));
  tb.set_path(PathState::open);
  tb.run_for(seconds(5));
  const TargetOutcome o = tb.target_outcome();
  const auto segs = parse_capture(tb.capture());
  // Delivered: the peer's highest ACK covers everything the target sent.
  uint32_t snd_max = 0, peer_ack = 0;
  for (const auto& s : segs) {
    if (s.from_target && s.tcp && !s.rst()) {
      snd_max = s.snd_max_before;
      if (static_cast<int32_t>(s.seq + s.len - snd_max) > 0) snd_max = s.seq + s.len;
    }
    if (!s.from_target && s.tcp && s.has_ack() && !s.rst()) peer_ack = s.ack;
  }
  const bool delivered = peer_ack == snd_max && snd_max != 0;
  r.measured = std::string(o.ended ? outcome_text(o, 0) : "alive") +
               (delivered ? ", data acknowledged" : ", data not acknowledged");
  r.verdict = !o.ended && delivered ? Verdict::pass : Verdict::fail;
}

void icmp_syn_sent(Testbed& tb, CaseResult& r) {
  // RFC 1122 §4.2.3.9: port unreachable is a hard error and SHOULD abort
  // the connection; RFC 5461 §4 (and Linux's tcp_v4_err, which aborts a
  // SYN-SENT socket on any unreachable) does so during the handshake:
  // connect() fails with ECONNREFUSED at the first ICMP, not after the SYN
  // retries (here tcp_syn_retries 2: 1 + 2 + 4 = 7 s).
  r.expected =
      "connect fails with ECONNREFUSED within 0.5 s of the first ICMP, no SYN after it (RFC 1122 "
      "§4.2.3.9, RFC 5461 §4; Linux tcp_v4_err)";
  SystemSettings sys;
  sys.syn_retries = 2;
  PeerSettings peer;
  peer.icmp_reject_syn = 3;  // port unreachable
  // A target whose SYN retries cannot be set (lwIP: compile-time) keeps
  // its own: they only matter if it ignores the ICMP.
  if (tb.configure(sys, peer) && tb.configure({}, peer)) {
    r.verdict = Verdict::skipped;
    r.measured = "configure failed: " + tb.why();
    return;
  }
  const std::error_code ec = tb.target_connect(SocketOptions{});
  const auto segs = parse_capture(tb.capture());
  double icmp_at = -1;
  size_t syns_after = 0, syns = 0;
  for (const auto& s : segs) {
    if (!s.from_target && s.icmp && icmp_at < 0) icmp_at = s.t;
    if (s.from_target && s.tcp && s.syn() && !s.has_ack()) {
      ++syns;
      if (icmp_at >= 0) ++syns_after;
    }
  }
  if (!ec) {
    r.measured = "connected: the peer's host did not reject the SYN";
    r.verdict = Verdict::skipped;
    return;
  }
  if (icmp_at < 0) {
    r.measured = "no ICMP sent (" + std::to_string(syns) + " SYNs)";
    r.verdict = Verdict::skipped;
    return;
  }
  const TargetOutcome o = tb.target_outcome();
  const int err = o.error ? *o.error : ec.value();
  const double end = o.ended ? to_s(o.ended_at) - icmp_at : to_s(tb.now()) - icmp_at;
  r.measured = std::string(util::errno_name(err)) + " " + fmt(end) + " s after the first ICMP, " +
               std::to_string(syns) + " SYN" + (syns == 1 ? "" : "s");
  r.verdict = err == ECONNREFUSED && end <= 0.5 && syns_after == 0 ? Verdict::pass : Verdict::fail;
}

void icmp_frag_needed(Testbed& tb, CaseResult& r) {
  // RFC 1191 §4 (RFC 5927 §7.2): a frag-needed quoting a segment in flight
  // lowers the path MTU: what is resent fits in 1280 bytes (Linux
  // tcp_v4_mtu_reduced, tcp_simple_retransmit).
  r.expected = "every data datagram after the ICMP <= 1280 bytes (RFC 1191 §4)";
  SocketOptions o;
  o.no_delay = true;
  if (!connect_or_skip(tb, r, o)) return;
  tb.set_path(PathState::drop_from_target);
  tb.target_write(20000);
  tb.run_for(milliseconds(20));
  const double at = to_s(tb.now());
  tb.peer_inject(Injection::icmp_frag_needed);
  tb.run_for(milliseconds(20));
  tb.set_path(PathState::open);
  tb.run_for(seconds(5));
  const auto segs = parse_capture(tb.capture());
  size_t after = 0, big = 0;
  uint16_t largest = 0;
  for (const auto& s : segs) {
    if (s.t <= at || !s.from_target || !s.tcp || s.len == 0) continue;
    ++after;
    largest = std::max(largest, s.ip_len);
    if (s.ip_len > 1280) ++big;
  }
  r.measured = std::to_string(after) + " data datagrams after the ICMP, largest " +
               std::to_string(largest) + " bytes";
  r.verdict = after > 0 && big == 0 ? Verdict::pass : Verdict::fail;
}

void ipxe_stall_heals(Testbed& tb, CaseResult& r) {
  // Seed 000 (the iPXE thread): the target has nothing outstanding when
  // the path stalls; the peer's data goes into the void for 90 s; then the
  // path heals. RFC 9293 §3.10.7.4: the peer's next retransmission (at
  // most its 60 s RTO cap later, RFC 6298 §2.5) is in the window and must
  // be acknowledged; a quiet target sends nothing meanwhile (no keepalive
  // configured), which is the seed's point: only the peer can notice.
  // Compressed (CI, real targets): a 20 s stall. The peer (vigil's linux
  // profile) retransmits 0.2 s doubling from the write, at 12.6 and 25.4 s
  // (RFC 6298 §5.5), so its next retransmission comes about 5.4 s after
  // the heal; 30 s is the bound then.
  const bool quick = tb.time_compressed();
  const int stall_s = quick ? 20 : 90, after_s = quick ? 35 : 130, bound_s = quick ? 30 : 65;
  r.expected = "the peer's first retransmission after the heal acknowledged within " +
               std::to_string(bound_s) + " s of the heal";
  if (!connect_or_skip(tb, r, SocketOptions{})) return;
  tb.target_write(1000);
  tb.run_for(seconds(1));
  const double stall_at = to_s(tb.now());
  tb.set_path(PathState::blackhole);
  tb.peer_write(5000);
  tb.run_for(seconds(stall_s));
  const double heal_at = to_s(tb.now());
  tb.set_path(PathState::open);
  tb.run_for(seconds(after_s));
  const auto segs = parse_capture(tb.capture());
  uint32_t peer_end = 0;
  bool have_peer = false;
  size_t quiet = 0;
  for (const auto& s : segs) {
    if (!s.tcp) continue;
    if (!s.from_target && s.len > 0) {
      const uint32_t end = s.seq + s.len;
      if (!have_peer || static_cast<int32_t>(end - peer_end) > 0) peer_end = end;
      have_peer = true;
    }
    if (s.from_target && s.t > stall_at && s.t < heal_at) ++quiet;
  }
  // Graded: the target's ACK of the peer's first retransmission after the
  // heal (the target's side of seed 000). When the rest follows is the
  // peer's recovery (one segment per RTO when its retransmissions trickle),
  // reported, not graded.
  double retx_at = -1;
  uint32_t retx_end = 0;
  for (const auto& s : segs) {
    if (s.tcp && !s.from_target && s.len > 0 && s.t >= heal_at) {
      retx_at = s.t;
      retx_end = s.seq + s.len;
      break;
    }
  }
  double first_acked = -1, acked_at = -1;
  for (const auto& s : segs) {
    if (!s.from_target || !s.tcp || !s.has_ack() || s.t < heal_at) continue;
    if (first_acked < 0 && retx_at >= 0 && s.t >= retx_at &&
        static_cast<int32_t>(s.ack - retx_end) >= 0)
      first_acked = s.t - heal_at;
    if (have_peer && static_cast<int32_t>(s.ack - peer_end) >= 0) {
      acked_at = s.t - heal_at;
      break;
    }
  }
  r.measured =
      std::to_string(quiet) + " target segments during the " + std::to_string(stall_s) +
      " s stall; " +
      (first_acked >= 0
           ? "the peer's first retransmission acknowledged " + fmt(first_acked) +
                 " s after the heal, " +
                 (acked_at >= 0 ? "all its data " + fmt(acked_at) + " s after"
                                : "not all its data within " + std::to_string(after_s) + " s")
           : std::string("the peer's data never acknowledged"));
  r.verdict = first_acked >= 0 && first_acked <= bound_s ? Verdict::pass : Verdict::fail;
}

std::vector<Case> make_cases() {
  std::vector<Case> v;
  auto add = [&](CaseInfo i, std::function<void(Testbed&, CaseResult&)> f) {
    v.push_back(Case{std::move(i), std::move(f)});
  };
  const std::string ka_tol = "150 ms + 5 %";
  add(info("keepalive.off-by-default", "keepalive",
           "RFC 1122 §4.2.3.6: keep-alives MUST default to off",
           "keepalive-form segments over 3 h of idle (real time: SO_KEEPALIVE read, 10 s watched)",
           "none allowed"),
      keepalive_off_by_default);
  add(info("keepalive.default-idle", "keepalive",
           "RFC 1122 §4.2.3.6: default idle MUST be >= 2 h; RFC 2525 §2.11",
           "idle before the first probe with SO_KEEPALIVE and no idle set (real time: "
           "TCP_KEEPIDLE read)",
           "none below 7200 s"),
      keepalive_default_idle);
  add(info("keepalive.configured", "keepalive",
           "RFC 1122 §4.2.3.6 idle and interval; Linux TCP_KEEPIDLE/INTVL/CNT (2 s, 1 s, 3)",
           "probe times after the peer was last heard, peer silent", ka_tol),
      keepalive_configured);
  add(info("keepalive.probe-form", "keepalive", "RFC 1122 §4.2.3.6, RFC 9293 §3.8.4",
           "SEQ and length of every idle segment (probes answered)", "exact"),
      keepalive_probe_form);
  add(info("keepalive.dead-peer", "keepalive",
           "RFC 1122 §4.2.3.6; Linux: RST then ETIMEDOUT after TCP_KEEPCNT probes",
           "when and how the connection ends, the errno", ka_tol),
      keepalive_dead_peer);
  add(info("keepalive.default-give-up", "keepalive",
           "RFC 1122 §4.2.3.6; RFC 2525 §2.9 (too short a keepalive timeout)",
           "probes and time to the end with the default interval and count, peer silent (real "
           "time: TCP_KEEPINTVL and TCP_KEEPCNT read)",
           ">= 100 s"),
      keepalive_default_give_up);
  add(info("keepalive.not-while-outstanding", "keepalive",
           "RFC 1122 §4.2.3.6; Linux tcp_keepalive_timer skips while data is out",
           "keepalive-form segments while data stays unacknowledged", "none allowed"),
      keepalive_not_while_outstanding);
  add(info("keepalive.idle-restart", "keepalive",
           "RFC 1122 §4.2.3.6 (idle restarts on data); seed 001: Linux ignores the peer's probes",
           "first probe after the peer's data, peer probing every 1 s", ka_tol),
      keepalive_idle_restart);
  add(info("keepalive.peer-rebooted", "keepalive", "RFC 9293 §3.10.7.1, RFC 1122 §4.2.3.6",
           "end and errno when the first probe meets a rebooted peer's RST", ka_tol),
      keepalive_peer_rebooted);
  add(info("rto.initial-syn", "retransmission", "RFC 6298 §2.1; RFC 2525 §2.7",
           "gap between the SYN and its first retransmission", "0.95-3.2 s"),
      rto_initial_syn);
  add(info("rto.first-data", "retransmission", "RFC 6298 §2.4; RFC 2525 §2.7",
           "time from a send into a silent path to its first retransmission", "see expected"),
      rto_first_data);
  add(info("rto.backoff", "retransmission", "RFC 6298 §5.5; RFC 2525 §2.10",
           "gaps between retransmissions into a silent path", "ratio 1.7-2.3"),
      rto_backoff);
  add(info("r2.configured", "retransmission", "RFC 1122 §4.2.3.5 (R2); Linux tcp_retries2=6",
           "retransmissions and the end into a silent path", "graded: errno only"),
      r2_configured);
  add(info("r2.default", "retransmission", "RFC 1122 §4.2.3.5: R2 >= 100 s; RFC 6298 §2.5",
           "give-up time and largest gap with default settings (real time: tcp_retries2 and "
           "tcp_rto_max_ms read)",
           ">= 100 s, >= 60 s"),
      r2_default);
  add(info("keepalive.vs-r2", "retransmission",
           "seed 001: keepalive configured, the peer dies with data outstanding",
           "when the target notices: the keepalive bound or R2", "info"),
      keepalive_vs_r2);
  add(info("user-timeout.abort", "user-timeout", "RFC 5482 §3; Linux TCP_USER_TIMEOUT",
           "end and errno after a send into a silent path, user timeout 3 s", "3.0-3.6 s"),
      uto_abort);
  add(info("user-timeout.outlives-r2", "user-timeout",
           "RFC 5482 §3; Linux tcp_write_timeout: the user timeout replaces tcp_retries2",
           "end with user timeout 20 s and tcp_retries2 = 3", "20.0-21.5 s"),
      uto_outlives_r2);
  add(info("user-timeout.zero-window", "user-timeout",
           "RFC 1122 §4.2.2.17 vs Linux >= 5.11 (icsk_probes_tstamp)",
           "end of a zero-window episode with answered probes, user timeout 3 s", "info"),
      uto_zero_window);
  add(info("persist.backoff", "persist", "RFC 1122 §4.2.2.17, RFC 9293 §3.8.6.1",
           "zero-window probe times", "ratio 1.7-2.3"),
      persist_backoff);
  add(info("persist.answered", "persist",
           "RFC 1122 §4.2.2.17: never abort while probes are answered",
           "state after 1 h (virtual) or 90 s with tcp_retries2 = 3 (real)", "must be open"),
      persist_answered);
  add(info("persist.unanswered", "persist", "RFC 9293 §3.8.6.1; Linux tcp_probe_timer",
           "end when the peer vanishes behind a zero window, tcp_retries2 = 6", "within 300 s"),
      persist_unanswered);
  add(info("persist.probe-form", "persist", "RFC 9293 §3.8.6.1 vs Linux tcp_write_wakeup",
           "SEQ and length of the first probe", "info"),
      persist_probe_form);
  add(info("persist.probe-byte-deadlock", "persist", "RFC 2525 §2.12",
           "the target's own data flow after it took a probe byte into a closed window",
           "all bytes within 40 s"),
      persist_probe_byte_deadlock);
  add(info("keepalive.while-persisting", "persist",
           "RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17 and §4.2.3.6; seed 003",
           "state and probe times behind a zero window, probes answered, keepalive 2 s/1 s/3",
           "open; last gap > 4 s"),
      keepalive_while_persisting);
  add(info("congestion.initial-window", "congestion", "RFC 5681 §3.1, RFC 3390, RFC 6928",
           "data segments before the peer's first ACK", "exact"),
      initial_window);
  add(info("congestion.avoidance-increase", "congestion",
           "RFC 5681 §3.1; RFC 2525 §2.6 (extra additive constant)",
           "growth of the flight per round trip between losses, 10 Mbit/s bottleneck",
           "<= 1.5 segments per round trip"),
      congestion_avoidance_increase);
  add(info("congestion.window-deflation", "congestion",
           "RFC 6582 §3.2, RFC 5681 §3.2; RFC 2525 §2.8 (failure of window deflation)",
           "the flight in the round trips after each fast recovery vs before its loss",
           "one segment; >= 4 recoveries"),
      congestion_window_deflation);
  add(info("rfc5961.rst-in-window", "robustness", "RFC 5961 §3.2",
           "the target's answer to a RST inside the window, not at RCV.NXT", "0.5 s"),
      [](Testbed& tb, CaseResult& r) {
        challenge(tb, r, Injection::rst_in_window, "RFC 5961 §3.2 challenge ACK");
      });
  add(info("rfc5961.syn-in-window", "robustness", "RFC 5961 §4.2",
           "the target's answer to a SYN on the established connection", "0.5 s"),
      [](Testbed& tb, CaseResult& r) {
        challenge(tb, r, Injection::syn_in_window, "RFC 5961 §4.2 challenge ACK");
      });
  add(info("rfc5961.ack-unsent-data", "robustness", "RFC 5961 §5.2; RFC 9293 §3.10.7.4",
           "the target's answer to an ACK of data it never sent", "alive; ACK: info"),
      [](Testbed& tb, CaseResult& r) {
        challenge(tb, r, Injection::ack_out_of_window, "RFC 5961 §5.2: discard, send an ACK");
      });
  add(info("icmp.port-unreachable-soft", "robustness", "RFC 5927 §4.2, RFC 1122 §4.2.3.9",
           "state after a port unreachable quoting data in flight", "must be alive"),
      icmp_soft);
  add(info("icmp.syn-sent-port-unreachable", "robustness",
           "RFC 1122 §4.2.3.9, RFC 5461 §4; Linux tcp_v4_err aborts SYN-SENT",
           "connect's errno and when it failed, each SYN answered by port unreachable", "0.5 s"),
      icmp_syn_sent);
  add(info("icmp.frag-needed", "robustness", "RFC 1191 §4, RFC 5927 §7.2",
           "sizes of the datagrams after a frag-needed (MTU 1280) quoting a segment in flight",
           "<= 1280 bytes"),
      icmp_frag_needed);
  add(info("ipxe.stall-heals", "robustness", "seed 000; RFC 9293 §3.10.7.4, RFC 6298 §2.5",
           "the target's segments during a 90 s stall and its ACK of the peer's data after",
           "65 s"),
      ipxe_stall_heals);
  return v;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::info:
      return "info";
    case Verdict::skipped:
      return "skipped";
  }
  return "?";
}

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = make_cases();
  return cases;
}

const Case* find_case(const std::string& name) {
  for (const auto& c : all_cases()) {
    if (c.info.name == name) return &c;
  }
  return nullptr;
}

CaseResult run_case(const Case& c, const TestbedFactory& make) {
  CaseResult r;
  std::string why;
  std::unique_ptr<Testbed> tb = make(why);
  if (!tb) {
    r.verdict = Verdict::skipped;
    r.measured = why;
    return r;
  }
  if (c.info.virtual_only && !tb->virtual_time()) {
    r.verdict = Verdict::skipped;
    r.measured = "needs hours of idle: virtual time only";
    return r;
  }
  c.run(*tb, r);
  r.capture = tb->capture();
  r.seconds = to_s(tb->now());
  return r;
}

}  // namespace vigil::conform
