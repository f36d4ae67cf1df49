// errno values by name, for messages (moved from tcp, issue 10 §1: the
// TUN driver and the CLI name errnos too, and none of that is TCP).
#include "util/errno_name.hpp"

#include <cerrno>

namespace vigil::util {

std::string errno_name(int err) {
  switch (err) {
    case 0:
      return "";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ECONNRESET:
      return "ECONNRESET";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EPIPE:
      return "EPIPE";
    case ECONNABORTED:
      return "ECONNABORTED";
    case EPROTO:
      return "EPROTO";
    case ENOPROTOOPT:  // the ICMP errnos of Linux's icmp_err_convert[]
      return "ENOPROTOOPT";
    case EMSGSIZE:
      return "EMSGSIZE";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case EHOSTDOWN:
      return "EHOSTDOWN";
    case ENONET:
      return "ENONET";
    default:
      return "E" + std::to_string(err);
  }
}

}  // namespace vigil::util
