// Text and JSON renderings of a simulator run.
#pragma once

#include <string>

#include "sim/scenario.hpp"

namespace vigil::cli {

std::string render_timeline(const sim::ScenarioResult& r, bool verbose);
std::string render_json(const sim::ScenarioResult& r);

}  // namespace vigil::cli
