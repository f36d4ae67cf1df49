// `vigil tun --netns NAME`: run the driver inside a network namespace, so
// the TUN device, its addresses and routes exist only there and a mistyped
// command line cannot change the host's own links.
#pragma once

#include <string>

namespace vigil::link {

// The result of enter_netns: `error` is empty on success; `no_such` is set
// when NAME is not a namespace at all (a usage error, exit 2), as opposed
// to one the process may not enter (exit 1).
struct NetnsResult {
  std::string error;
  bool no_such = false;
};

// Joins the network namespace `ip netns add NAME` made (its handle is
// /run/netns/NAME) with setns(2). Call it before anything that opens a
// socket or a device: only those opened afterwards live in the namespace.
// Affects the calling thread only, which is all of `vigil tun`.
NetnsResult enter_netns(const std::string& name);

}  // namespace vigil::link
