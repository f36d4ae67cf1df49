// A Linux TUN device (IFF_TUN | IFF_NO_PI): raw IPv4 datagrams in and out
// of the kernel, configured from the program itself with ioctls on an
// AF_INET socket. The kernel side gets `kernel_addr` as its address and
// `vigil_addr` as its point-to-point peer, so the kernel routes packets for
// `vigil_addr` into the device and vigil's stack answers for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "wire/ipv4.hpp"

namespace vigil::link {

struct TunConfig {
  std::string name;            // interface name, at most 15 characters
  wire::Ipv4Addr kernel_addr;  // the kernel's side of the link (--peer)
  wire::Ipv4Addr vigil_addr;   // vigil's side of the link (--local)
  uint32_t mtu = 1500;
};

class TunDevice {
 public:
  TunDevice() = default;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  ~TunDevice();

  // Opens /dev/net/tun, attaches to (or creates) the interface, sets its MTU
  // and addresses and brings it up. Returns an empty string on success,
  // otherwise a message saying what failed and what to do about it.
  std::string open(const TunConfig& config);
  void close();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

  // One datagram per call. Non-blocking: read() returns 0 when nothing is
  // waiting and -1 on an error (errno set).
  long read(std::span<uint8_t> buf);
  // True when the whole datagram was handed to the kernel.
  bool write(std::span<const uint8_t> datagram);

 private:
  std::string configure(const TunConfig& config);

  int fd_ = -1;
  std::string name_;
};

}  // namespace vigil::link
