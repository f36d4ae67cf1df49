// Which implementation `vigil conform` tests, and the factories that make
// its Testbed (issue 14). The simulator target (vigil's own stack, virtual
// time) is always built: make_sim_testbed in sim_testbed.hpp. The real
// targets (the Linux kernel or lwIP in a network namespace over TUN, or a
// black-box command) come from make_real_testbed, defined by
// real_testbed.cpp; it returns no testbed, and says why, without root or
// /dev/net/tun.
#pragma once

#include <memory>
#include <string>

#include "conform/testbed.hpp"

namespace vigil::conform {

enum class RealKind {
  linux_kernel,  // --target linux: the kernel's TCP in a namespace of our own
  lwip,          // --target lwip: lwIP (Debian liblwip-dev) in a harness on a TUN device
  command,       // --target-cmd 'CMD': a black box, graded only from the wire
};

struct RealTarget {
  RealKind kind = RealKind::linux_kernel;
  std::string command;  // for RealKind::command: the shell command line
};

// A testbed for a real target, or nullptr with `why` set to a sentence for
// the user ("not built in this build: ...", "needs root", ...).
std::unique_ptr<Testbed> make_real_testbed(const RealTarget& target, std::string& why);

// True if this build links a real testbed (it always does now).
bool real_testbed_built();

}  // namespace vigil::conform
