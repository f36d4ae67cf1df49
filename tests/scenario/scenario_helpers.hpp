// What the scenario tests read from a ScenarioResult: one host's events of
// one type, an endpoint's outcome, and millisecond instants.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/scenario.hpp"

namespace vigil::sim {

inline Instant ms(int64_t v) { return Instant::zero() + Duration::millis(v); }

// When `host`'s stack emitted events of type `t`, in order.
inline std::vector<Instant> times(const ScenarioResult& r, const std::string& host,
                                  tcp::EventType t) {
  std::vector<Instant> v;
  for (const auto& e : r.events) {
    if (r.hosts[e.host].name == host && e.event.type == t) v.push_back(e.event.time);
  }
  return v;
}

inline const EndpointResult& endpoint(const ScenarioResult& r, const std::string& host) {
  for (const auto& e : r.connections) {
    if (e.host == host) return e;
  }
  ADD_FAILURE() << "no endpoint " << host;
  return r.connections.at(0);
}

}  // namespace vigil::sim
