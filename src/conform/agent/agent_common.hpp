// What the target agents (linux_agent.cpp, lwip_agent.cpp) share: the
// socket options of the protocol's `opt` command, errno names, the clock
// and the line writer. Header-only: each agent is one small program that
// links nothing of vigil's (docs/conform.md, "Real targets").
#pragma once

#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

namespace vigil::conform::agent {

// -1: not given (the target's default).
struct Options {
  long keepalive = -1;  // SO_KEEPALIVE 0/1
  long keep_idle = -1;  // TCP_KEEPIDLE, seconds
  long keep_intvl = -1;
  long keep_cnt = -1;
  long user_timeout_ms = -1;  // TCP_USER_TIMEOUT
  long rcvbuf = -1;
  long sndbuf = -1;
  long nodelay = -1;

  bool set(const std::string& name, long value) {
    if (value < 0 || value > 0x7fffffff) return false;
    long* field = name == "keepalive"      ? &keepalive
                  : name == "keepidle"     ? &keep_idle
                  : name == "keepintvl"    ? &keep_intvl
                  : name == "keepcnt"      ? &keep_cnt
                  : name == "user_timeout" ? &user_timeout_ms
                  : name == "rcvbuf"       ? &rcvbuf
                  : name == "sndbuf"       ? &sndbuf
                  : name == "nodelay"      ? &nodelay
                                           : nullptr;
    if (!field) return false;
    *field = value;
    return true;
  }
};

// CLOCK_MONOTONIC in nanoseconds: the testbed reads the same clock, so an
// `ended ... at=` stamp is comparable with its own capture's times.
inline int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The errnos a connection ends with, by Linux's names ("0" for a clean end).
inline std::string errno_text(int e) {
  switch (e) {
    case 0:
      return "0";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ECONNRESET:
      return "ECONNRESET";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ECONNABORTED:
      return "ECONNABORTED";
    case EPIPE:
      return "EPIPE";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ENETUNREACH:
      return "ENETUNREACH";
    case ENOTCONN:
      return "ENOTCONN";
    case EPROTO:
      return "EPROTO";
    case EINVAL:
      return "EINVAL";
    case ENOPROTOOPT:
      return "ENOPROTOOPT";
    case EADDRINUSE:
      return "EADDRINUSE";
    case ENOMEM:
      return "ENOMEM";
    case ENOBUFS:
      return "ENOBUFS";
    case EIO:
      return "EIO";
    default:
      return "E" + std::to_string(e);
  }
}

// One line to the testbed, flushed at once (stdout is a pipe).
inline void say(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace vigil::conform::agent
