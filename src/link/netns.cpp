#include "link/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil::link {

NetnsResult enter_netns(const std::string& name) {
  NetnsResult r;
  // A name, not a path: iproute2 keeps every named namespace in one
  // directory, so "../x" or "a/b" can only be a mistake.
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    r.error = "--netns expects a namespace name as `ip netns list` shows it, got '" + name + "'";
    r.no_such = true;
    return r;
  }
  const std::string path = "/run/netns/" + name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      r.error = "no network namespace '" + name + "' (" + path +
                " does not exist); create it with `ip netns add " + name + "`";
      r.no_such = true;
    } else {
      r.error = "cannot open " + path + ": " + std::strerror(e);
    }
    return r;
  }
  if (::setns(fd, CLONE_NEWNET) != 0) {
    const int e = errno;
    if (e == EINVAL) {
      // A leftover file that is not (or no longer) a namespace's bind mount.
      r.error = path + " is not a network namespace";
      r.no_such = true;
    } else {
      r.error = "cannot enter network namespace '" + name + "': " + std::strerror(e) +
                (e == EPERM ? " (needs root: CAP_SYS_ADMIN)" : "");
    }
  }
  ::close(fd);
  return r;
}

}  // namespace vigil::link
