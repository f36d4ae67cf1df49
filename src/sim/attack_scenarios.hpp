// The attack scenarios (issue 12 "Prove it" point 4): blind-injection,
// syn-flood, sack-abuse, ooo-flood, connection-cap. scenario.cpp sets each
// one's link and streams; the functions here add the attackers, extra
// applications and meters to the World before the run, and return what
// turns the run into figures (ScenarioResult::figures) afterwards.
// docs/attacks.md gives each scenario's setup and its numbers.
#pragma once

#include <cstdint>
#include <functional>

#include "sim/apps.hpp"
#include "sim/scenario.hpp"
#include "sim/world.hpp"

namespace vigil::sim {

struct AttackHooks {
  World& world;
  Host& client;
  Host& server;
  uint16_t port;          // the server's listening port
  ClientApp* client_app;  // the scenario's own client...
  ServerApp* server_app;  // ...and server (null in a simultaneous open)
  uint64_t seed;
};
// Called once the run is over and the result filled in: adds the figures.
using AttackFinish = std::function<void(ScenarioResult&)>;
using AttackSetup = std::function<AttackFinish(const AttackHooks&)>;

AttackFinish setup_blind_injection(const AttackHooks& h);
AttackFinish setup_syn_flood(const AttackHooks& h);
AttackFinish setup_sack_abuse(const AttackHooks& h);
AttackFinish setup_ooo_flood(const AttackHooks& h);
AttackFinish setup_connection_cap(const AttackHooks& h);

}  // namespace vigil::sim
