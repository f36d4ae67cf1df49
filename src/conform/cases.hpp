// `vigil conform`'s cases (issue 14, docs/conform.md). Each case is written
// once against the Testbed seam, runs on a fresh testbed, and grades from
// the wire (Testbed::capture) and the errno the target's application saw
// (Testbed::target_outcome): so the same case grades vigil in the
// simulator, the Linux kernel, lwIP or a black box.
//
// Expected values come from the RFCs and from Linux's measured schedules
// (tests/data/linux-schedules.json, docs/linux-measurements.md), never from
// vigil's own output.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conform/testbed.hpp"

namespace vigil::conform {

enum class Verdict {
  pass,
  fail,
  info,     // behaviour that is a choice: reported, not graded
  skipped,  // could not run here (the reason is in `measured`)
};
const char* verdict_name(Verdict v);  // "pass", "fail", "info", "skipped"

struct CaseInfo {
  std::string name;      // "keepalive.configured"
  std::string category;  // keepalive, retransmission, user-timeout, persist, congestion, robustness
  std::string rule;      // the RFC section or Linux behaviour it checks
  std::string measures;  // what it reads from the wire
  std::string tolerance;      // how far the measurement may be from the expectation
  bool virtual_only = false;  // needs hours of idle: skipped on a real-time target
};

struct CaseResult {
  Verdict verdict = Verdict::skipped;
  std::string measured;               // what the target did, in numbers
  std::string expected;               // what the rule wants
  std::vector<WireDatagram> capture;  // the case's whole capture (its pcap)
  double seconds = 0;                 // testbed time the case took
};

struct Case {
  CaseInfo info;
  // Runs on a testbed that has not connected yet; fills verdict, measured
  // and expected (run_case adds the capture).
  std::function<void(Testbed&, CaseResult&)> run;
};

const std::vector<Case>& all_cases();
const Case* find_case(const std::string& name);

// Makes a fresh testbed for one case; nullptr with `why` when it cannot.
using TestbedFactory = std::function<std::unique_ptr<Testbed>(std::string& why)>;

// One case on a fresh testbed: skipped (with the reason) when the testbed
// cannot be made or the case needs virtual time the testbed lacks.
CaseResult run_case(const Case& c, const TestbedFactory& make);

}  // namespace vigil::conform
