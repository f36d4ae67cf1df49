// Runs a vigil::Stack on a Linux TUN device (docs/library.md): the device,
// optionally inside a network namespace, and an event loop on
// CLOCK_MONOTONIC (epoll, signalfd) that feeds the stack datagrams and
// time and writes what it sends. Needs root (CAP_NET_ADMIN).
#pragma once

#include <memory>
#include <string>
#include <system_error>

#include "vigil/vigil.hpp"

namespace vigil {

struct TunOptions {
  std::string netns;              // `ip netns add NAME`'s namespace; "": the current one
  std::string device = "vigil0";  // interface name, at most 15 characters
  Ipv4 local;                     // the stack's address (StackOptions::address)
  Ipv4 peer;                      // the kernel's side of the point-to-point link
  uint32_t mtu = 1500;
};

class TunDriver {
 public:
  TunDriver();
  TunDriver(const TunDriver&) = delete;
  TunDriver& operator=(const TunDriver&) = delete;
  ~TunDriver();

  // Enters the namespace (before anything else, so the device lives
  // there), creates and configures the device, and blocks SIGINT/SIGTERM
  // into the loop. Errors: ENOENT (no such namespace), EPERM, or the
  // failing call's errno; why() says what failed and what to do.
  std::error_code open(const TunOptions& options);
  const std::string& why() const;
  std::string device() const;

  // Drives `stack` until stop() or SIGINT/SIGTERM. On a signal every
  // socket still open is shut down (FIN) and the loop runs until they have
  // ended or `grace` has passed. The stack's clock is steady_clock
  // (CLOCK_MONOTONIC): give it TunDriver::now() as its start.
  std::error_code run(Stack& stack, Nanos grace = std::chrono::seconds(2));
  void stop();  // from a callback: run() returns after this round
  static TimePoint now();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
