// `vigil conform --target vigil`: the Testbed on the simulator. The target
// is a vigil stack with a chosen profile (host 1, 10.0.0.2), the peer a
// vigil stack the cases script (host 0, 10.0.0.1), joined by a 1 ms link
// (each way), on virtual time: hours of keepalive idle take milliseconds.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "conform/testbed.hpp"

namespace vigil::conform {

struct SimTargetOptions {
  std::string profile = "linux";  // the target's profile: rfc or linux
  // RFC 2525 problems to switch on in the target (vigil sim --bug names),
  // and knobs to set (name, value) after the profile: a deliberately wrong
  // target, so tests and users can see a case fail.
  std::vector<std::string> bugs;
  std::vector<std::pair<std::string, std::string>> knobs;
  uint64_t seed = 1;
};

// nullptr with `why` set when the profile, a bug or a knob is unknown.
std::unique_ptr<Testbed> make_sim_testbed(const SimTargetOptions& options, std::string& why);

}  // namespace vigil::conform
