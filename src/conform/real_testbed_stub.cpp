// The stand-in for real_testbed.cpp (the conformreal branch replaces this
// file): no real target in this build, and the reason says so.
#include "conform/targets.hpp"

namespace vigil::conform {

std::unique_ptr<Testbed> make_real_testbed(const RealTarget& target, std::string& why) {
  const char* name = target.kind == RealKind::linux_kernel ? "--target linux"
                     : target.kind == RealKind::lwip       ? "--target lwip"
                                                           : "--target-cmd";
  why = std::string(name) +
        " is not built in this build: the real testbed (namespace, TUN, target agent) "
        "is not linked, only the simulator's --target vigil";
  return nullptr;
}

bool real_testbed_built() { return false; }

}  // namespace vigil::conform
