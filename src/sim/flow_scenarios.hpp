// Scenarios with more than one flow (congestion control, issue 11): extra
// client/server pairs added through the attack scenarios' hooks, and their
// figures computed after the run.
#pragma once

#include "sim/attack_scenarios.hpp"

namespace vigil::sim {

// two-flows-bottleneck: a second client -> server bulk flow on the next
// port, started with the first; figures: each flow's bytes delivered to its
// server application, its goodput, and Jain's fairness index of the two
// goodputs (x1000): (x1 + x2)^2 / (2 (x1^2 + x2^2)).
AttackFinish setup_second_flow(const AttackHooks& h);

}  // namespace vigil::sim
