#include "sim/flow_scenarios.hpp"

#include <memory>

#include "sim/apps.hpp"

namespace vigil::sim {

AttackFinish setup_second_flow(const AttackHooks& h) {
  // The same behaviour as the scenario's own pair: the client writes
  // without end, the server reads.
  PeerBehaviour cb = h.client_app->peer().behaviour();
  cb.pattern_seed = h.seed * 2 + 3;
  const uint16_t port = static_cast<uint16_t>(h.port + 1);
  auto server = std::make_unique<ServerApp>(h.server, port, PeerBehaviour{});
  auto client = std::make_unique<ClientApp>(h.client, tcp::Endpoint{h.server.address(), port},
                                            Instant::zero(), cb);
  ServerApp* s2 = server.get();
  ServerApp* s1 = h.server_app;
  h.world.add_app(1, std::move(server));
  h.world.add_app(0, std::move(client));
  return [s1, s2](ScenarioResult& r) {
    const double secs = (r.end - Instant::zero()).secs();
    const uint64_t b1 = s1->peer().tally().bytes_received;
    const uint64_t b2 = s2->peer().tally().bytes_received;
    const double x1 = static_cast<double>(b1);
    const double x2 = static_cast<double>(b2);
    const double jain = x1 + x2 > 0 ? (x1 + x2) * (x1 + x2) / (2 * (x1 * x1 + x2 * x2)) : 0;
    auto& f = r.figures;
    f.emplace_back("flow1_bytes", b1);
    f.emplace_back("flow2_bytes", b2);
    f.emplace_back("flow1_goodput_bps", secs > 0 ? static_cast<uint64_t>(x1 * 8 / secs) : 0);
    f.emplace_back("flow2_goodput_bps", secs > 0 ? static_cast<uint64_t>(x2 * 8 / secs) : 0);
    f.emplace_back("jain_x1000", static_cast<uint64_t>(jain * 1000 + 0.5));
  };
}

}  // namespace vigil::sim
