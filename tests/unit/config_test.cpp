// Knob ranges (issue 9 point 5) and huge timer values (issue 9 point 4).
//
// The range table below is written from the sources the ranges follow, not
// from config.cpp: Linux include/net/tcp.h MAX_TCP_KEEPIDLE = 32767,
// MAX_TCP_KEEPINTVL = 32767, MAX_TCP_KEEPCNT = 127, MAX_TCP_SYNCNT = 127,
// TCP_RTO_MAX = 120 s; TCP_USER_TIMEOUT takes an int of milliseconds
// (0 .. INT_MAX = 2147483647); net.ipv4.tcp_rto_max_ms takes 1000 .. 120000;
// RFC 5681 §4.2 (ACK within 500 ms); RFC 5482 §3 (at most 32767 minutes =
// 1966020 s). docs/knobs.md gives the same table to users.
#include "tcp/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

struct Range {
  const char* key;
  std::vector<const char*> accepted;  // the bounds themselves, and 0 where it means off
  std::vector<const char*> refused;   // one step past each bound
  const char* message;                // what the refusal must say
};

const std::vector<Range>& ranges() {
  static const std::vector<Range> r = {
      {"mss", {"88", "65495"}, {"87", "65496"}, "from 88 to 65495"},
      {"send_buffer", {"1", "1073741824"}, {"0", "1073741825"}, "from 1 to 1073741824"},
      {"send_buffer.max", {"0", "1073741824"}, {"-1", "1073741825"}, "from 0 to 1073741824"},
      {"recv_buffer", {"1", "1073741824"}, {"0", "1073741825"}, "from 1 to 1073741824"},
      {"recv_buffer.max", {"0", "1073741824"}, {"-1", "1073741825"}, "from 0 to 1073741824"},
      {"window_scale_buffer", {"0", "1073741824"}, {"-1", "1073741825"}, "from 0 to 1073741824"},
      {"initial_window", {"1", "100"}, {"0", "101"}, "from 1 to 100"},
      {"rto.initial", {"1ms", "120s"}, {"999us", "120001ms", "0s"}, "from 1ms to 120s"},
      {"rto.min", {"1ms", "120s"}, {"999us", "120001ms", "0s"}, "from 1ms to 120s"},
      {"rto.max", {"1s", "120s"}, {"999ms", "120001ms"}, "from 1s to 120s"},
      {"timer.hz", {"0", "1000"}, {"1001", "-1"}, "from 0 to 1000"},
      {"retries.data",
       {"1", "255", "1ms", "2147483647ms"},
       {"0", "256", "0s", "2147483648ms"},
       "a count from 1 to 255 or a duration from 1ms to 2147483.647s"},
      {"retries.syn",
       {"1", "127", "1ms", "2147483647ms"},
       {"0", "128", "0s", "2147483648ms"},
       "a count from 1 to 127 or a duration from 1ms to 2147483.647s"},
      {"retries.syn_linear", {"0", "127"}, {"128"}, "from 0 to 127"},
      {"keepalive.idle", {"1s", "32767s"}, {"0", "0s", "999ms", "32768s"}, "from 1s to 32767s"},
      {"keepalive.interval", {"1s", "32767s"}, {"0", "0s", "999ms", "32768s"}, "from 1s to 32767s"},
      {"keepalive.count", {"1", "127"}, {"0", "128"}, "from 1 to 127"},
      {"keepalive.probe_bytes", {"0", "1"}, {"2"}, "from 0 to 1"},
      {"stall_guard.period",
       {"0s", "1s", "32767s"},
       {"1ns", "999ms", "32768s"},
       "0 (off) or a duration from 1s to 32767s"},
      {"user_timeout",
       {"0s", "1ms", "2147483647ms"},
       {"999us", "2147483648ms"},
       "0 (off) or a duration from 1ms to 2147483.647s"},
      {"user_timeout.lower", {"1s", "1966020s"}, {"999ms", "1966021s"}, "from 1s to 1966020s"},
      {"user_timeout.upper", {"1s", "1966020s"}, {"999ms", "1966021s"}, "from 1s to 1966020s"},
      {"delayed_ack", {"1ms", "500ms"}, {"0s", "999us", "501ms"}, "from 1ms to 500ms"},
      {"msl", {"1s", "3600s"}, {"0s", "999ms", "3601s"}, "from 1s to 3600s"},
      {"challenge_ack_interval",
       {"0s", "1ms", "60s"},
       {"999us", "60001ms"},
       "0 (off) or a duration from 1ms to 60s"},
      {"fin_wait2_timeout",
       {"0s", "1s", "120s"},
       {"999ms", "120001ms"},
       "0 (off) or a duration from 1s to 120s"},
      {"orphan_retries", {"0", "255"}, {"256", "-1"}, "from 0 to 255"},
      {"quickack", {"0", "16"}, {"17", "-1"}, "from 0 to 16"},
      {"abc_limit", {"0", "100"}, {"101", "-1"}, "from 0 to 100"},
      {"min_tso_segs", {"1", "255"}, {"0", "256"}, "from 1 to 255"},
  };
  return r;
}

// Knobs that take a word, not a number: nothing to bound.
const std::set<std::string> kWordKnobs = {"window_scaling",
                                          "timestamps",
                                          "sack",
                                          "keepalive.enabled",
                                          "liveness_deadline",
                                          "user_timeout.from_first_rto",
                                          "user_timeout.option",
                                          "loss_recovery",
                                          "prr",
                                          "tlp",
                                          "loss_detection",
                                          "prr.bound",
                                          "rack.rtt",
                                          "congestion",
                                          "limited_transmit",
                                          "cwnd_count",
                                          "app_limited_growth",
                                          "dsack",
                                          "undo",
                                          "frto",
                                          "idle_restart",
                                          "push",
                                          "ack_unsent_reply",
                                          "persist.probe",
                                          "bug.no_rto_backoff",
                                          "bug.extra_additive_constant",
                                          "bug.no_window_deflation",
                                          "bug.probe_window_negative",
                                          "bug.keepalive_while_persisting",
                                          "nodelay",
                                          "icmp.handshake_abort",
                                          "user_timeout.zero_window_episode"};

// A config in which every bound of every knob can be set on its own: the
// cross-field rules (rto.* <= rto.max, lower <= upper) are kept out of the
// way so the table tests the ranges alone.
tcp::TcpConfig wide() {
  tcp::TcpConfig c = tcp::TcpConfig::linux_profile();  // rto.max 120 s
  c.rto_min = Duration::millis(1);
  c.rto_initial = Duration::millis(1);
  c.user_timeout_lower = Duration::seconds(1);
  c.user_timeout_upper = Duration::seconds(32767 * 60);
  return c;
}

TEST(KnobRanges, EveryNumericKnobHasARangeInThisTable) {
  std::set<std::string> covered(kWordKnobs);
  for (const auto& r : ranges()) covered.insert(r.key);
  for (const auto& name : tcp::TcpConfig::knob_names()) {
    EXPECT_TRUE(covered.count(name)) << name << " has no row in the range table";
  }
}

TEST(KnobRanges, BoundsAcceptedOneStepPastRefusedWithTheRange) {
  for (const auto& r : ranges()) {
    for (const char* v : r.accepted) {
      tcp::TcpConfig c = wide();
      EXPECT_EQ(c.set(r.key, v), "") << r.key << "=" << v;
    }
    for (const char* v : r.refused) {
      tcp::TcpConfig c = wide();
      const std::string err = c.set(r.key, v);
      EXPECT_NE(err.find(std::string(r.key) + " expects"), std::string::npos)
          << r.key << "=" << v << ": " << err;
      EXPECT_NE(err.find(r.message), std::string::npos) << r.key << "=" << v << ": " << err;
      EXPECT_NE(err.find(std::string("got '") + v + "'"), std::string::npos) << err;
    }
  }
}

TEST(KnobRanges, BoundsLandInTheField) {
  tcp::TcpConfig c = wide();
  ASSERT_EQ(c.set("keepalive.idle", "32767s"), "");
  EXPECT_EQ(c.keepalive_idle, Duration::seconds(32767));
  ASSERT_EQ(c.set("keepalive.count", "127"), "");
  EXPECT_EQ(c.keepalive_count, 127u);
  ASSERT_EQ(c.set("user_timeout", "2147483647ms"), "");
  EXPECT_EQ(c.user_timeout, Duration::millis(2147483647));
  ASSERT_EQ(c.set("stall_guard.period", "0s"), "");
  EXPECT_EQ(c.stall_guard_period, Duration::zero());
  ASSERT_EQ(c.set("retries.syn", "127"), "");
  EXPECT_EQ(c.retries_syn, 127u);
  ASSERT_EQ(c.set("retries.syn", "100s"), "");
  EXPECT_EQ(c.retries_syn_time, Duration::seconds(100));
}

// The examples of issue 9 point 5, each refused and naming its range.
TEST(KnobRanges, IssueExamplesAreRefused) {
  tcp::TcpConfig c = tcp::TcpConfig::rfc();
  EXPECT_EQ(c.set("keepalive.idle", "0"),
            "keepalive.idle expects a duration from 1s to 32767s (Linux TCP_KEEPIDLE), with a "
            "unit such as 200ms or 75s, got '0'");
  EXPECT_EQ(c.set("keepalive.interval", "0s"),
            "keepalive.interval expects a duration from 1s to 32767s (Linux TCP_KEEPINTVL), "
            "with a unit such as 200ms or 75s, got '0s'");
  EXPECT_NE(c.set("rto.initial", "0s").find("rto.initial expects a duration from 1ms to 120s"),
            std::string::npos);
  EXPECT_NE(c.set("rto.min", "0s").find("rto.min expects a duration from 1ms to 120s"),
            std::string::npos);
  EXPECT_NE(c.set("stall_guard.period", "1ns")
                .find("stall_guard.period expects 0 (off) or a duration from 1s to 32767s"),
            std::string::npos);
  // issue 9 point 4's values are past the ranges too.
  EXPECT_NE(c.set("keepalive.interval", "300000h").find("from 1s to 32767s"), std::string::npos);
  EXPECT_NE(c.set("msl", "2000000h").find("from 1s to 3600s"), std::string::npos);
  // Nothing changed.
  EXPECT_EQ(c.keepalive_idle, tcp::TcpConfig::rfc().keepalive_idle);
  EXPECT_EQ(c.keepalive_interval, tcp::TcpConfig::rfc().keepalive_interval);
  EXPECT_EQ(c.rto_initial, tcp::TcpConfig::rfc().rto_initial);
  EXPECT_EQ(c.rto_min, tcp::TcpConfig::rfc().rto_min);
  EXPECT_EQ(c.stall_guard_period, Duration::zero());
  EXPECT_EQ(c.msl, tcp::TcpConfig::rfc().msl);
}

TEST(KnobCrossRules, RefusedWithBothValuesAndTheConfigUnchanged) {
  tcp::TcpConfig c = tcp::TcpConfig::rfc();  // rto.min 1 s, rto.max 60 s
  EXPECT_EQ(c.set("rto.min", "90s"), "rto.min (90s) must not exceed rto.max (60s)");
  EXPECT_EQ(c.rto_min, Duration::seconds(1));
  EXPECT_EQ(c.set("rto.max", "1s"), "");  // == rto.min and == rto.initial: allowed
  EXPECT_EQ(c.set("rto.initial", "2s"), "rto.initial (2s) must not exceed rto.max (1s)");
  EXPECT_EQ(c.rto_initial, Duration::seconds(1));
  EXPECT_EQ(c.set("user_timeout.lower", "3601s"),
            "user_timeout.lower (3601s) must not exceed user_timeout.upper (3600s)");
  EXPECT_EQ(c.set("user_timeout.upper", "99s"),
            "user_timeout.lower (100s) must not exceed user_timeout.upper (99s)");
  EXPECT_EQ(c.user_timeout_upper, Duration::seconds(3600));
}

// set_one() + validate(): the rules are checked once, after every knob is
// set, so the order of --set flags does not matter.
TEST(KnobCrossRules, SetOneThenValidateIsOrderFree) {
  tcp::TcpConfig c = tcp::TcpConfig::rfc();
  EXPECT_EQ(c.set_one("rto.min", "90s"), "");
  EXPECT_EQ(c.validate(), "rto.min (90s) must not exceed rto.max (60s)");
  EXPECT_EQ(c.set_one("rto.max", "100s"), "");
  EXPECT_EQ(c.validate(), "");
}

// The same ranges through the simulator (vigil sim --set) and its own keys.
TEST(KnobRanges, SimulatorKeys) {
  struct Row {
    const char* key;
    const char* value;
    const char* message;  // empty: accepted
  };
  const std::vector<Row> rows = {
      {"keepalive.idle", "0", "keepalive.idle expects a duration from 1s to 32767s"},
      {"keepalive.interval", "0", "keepalive.interval expects a duration from 1s to 32767s"},
      {"stall_guard.period", "1ns", "from 1s to 32767s"},
      {"link.delay", "60s", ""},
      {"link.delay", "60001ms", "link.delay expects a duration from 0s to 60s"},
      {"link.reorder_delay", "61s", "link.reorder_delay expects a duration from 0s to 60s"},
      {"link.rate", "0", ""},
      {"link.rate", "1k", ""},
      {"link.rate", "999", "link.rate expects 0 (unlimited) or bits per second from 1k to 100G"},
      {"link.rate", "100G", ""},
      {"link.rate", "101G", "from 1k to 100G"},
      {"link.rate", "1e300G", "from 1k to 100G"},
      {"link.queue", "0", ""},
      {"link.queue", "1500", ""},
      {"link.queue", "1499", "link.queue expects 0 (unlimited) or a byte count from 1500 to 1G"},
      {"link.queue", "1000000001", "from 1500 to 1G"},
      {"bytes", "10G", ""},
      {"bytes", "10000000001", "bytes expects a byte count from 0 to 10G"},
      {"bytes", "18446744073709551615G", "bytes expects a byte count from 0 to 10G"},
      {"reply_bytes", "11G", "reply_bytes expects a byte count from 0 to 10G"},
      {"limit", "0s", "limit expects a duration from 1ms to 2592000s"},
      {"limit", "2592001s", "limit expects a duration from 1ms to 2592000s"},
      {"client_start", "2592001s", "client_start expects a duration from 0s to 2592000s"},
  };
  for (const auto& row : rows) {
    sim::ScenarioParams p;
    p.sets = {{row.key, row.value}, {"limit", "1ms"}};
    if (std::string(row.key) == "limit") p.sets = {{row.key, row.value}};
    sim::ScenarioResult r;
    const std::string err = sim::run_scenario("handshake-close", p, &r);
    if (row.message[0] == '\0') {
      EXPECT_EQ(err, "") << row.key << "=" << row.value;
    } else {
      EXPECT_NE(err.find(row.message), std::string::npos)
          << row.key << "=" << row.value << ": " << err;
    }
  }
}

TEST(KnobCrossRules, SimulatorChecksAfterEverySet) {
  sim::ScenarioParams p;
  p.sets = {{"rto.min", "90s"}, {"rto.max", "100s"}, {"limit", "1ms"}};
  sim::ScenarioResult r;
  EXPECT_EQ(sim::run_scenario("handshake-close", p, &r), "");
  p.sets = {{"rto.min", "90s"}, {"limit", "1ms"}};
  EXPECT_EQ(sim::run_scenario("handshake-close", p, &r),
            "rto.min (90s) must not exceed rto.max (60s)");
}

// ---- issue 9 point 4: huge values set through the API's fields ----------
// The ranges stop them at set(); a program that fills TcpConfig directly
// still gets saturating deadlines instead of wrapped ones.

constexpr int64_t kS = 1000;  // ms per second

TEST(HugeTimers, KeepaliveIntervalOf300000HoursNeverKillsEarly) {
  tcp::TcpConfig c = plain_config();
  c.keepalive = true;  // idle 7200 s, count 9
  c.keepalive_interval = Duration::seconds(300000LL * 3600);
  Harness h(c);
  h.to_established_active(at_ms(0));
  // The first probe after the full idle time, 7200 s (RFC 1122 §4.2.3.6).
  // interval * 9 = 9.72e18 ns wrapped to a deadline in the past before: the
  // connection died at once.
  EXPECT_EQ(h.conn().next_deadline(), at_ms(7200 * kS));
  const auto out = h.fire(at_ms(7200 * kS));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, kIss);  // SND.NXT - 1: a keepalive probe
  EXPECT_EQ(h.conn().state(), State::kEstablished);
  // The next probe one interval later: 7200 s + 1.08e18 ns, no overflow.
  EXPECT_EQ(h.conn().next_deadline(), at_ms(7200 * kS) + c.keepalive_interval);
}

TEST(HugeTimers, MslOf2000000HoursKeepsTimeWait) {
  tcp::TcpConfig c = plain_config();
  c.msl = Duration::seconds(2000000LL * 3600);  // 2 * MSL = 1.44e19 ns > INT64_MAX
  Harness h(c);
  h.to_time_wait(at_ms(0));
  EXPECT_TRUE(h.conn().next_deadline().is_never());
  h.fire(at_ms(1));
  EXPECT_EQ(h.conn().state(), State::kTimeWait);
  h.fire(at_ms(3600 * kS));
  EXPECT_EQ(h.conn().state(), State::kTimeWait);
}

}  // namespace
}  // namespace vigil::testing
