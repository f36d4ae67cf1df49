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
  // IFF_VNET_HDR with TUN_F_CSUM | TUN_F_TSO4: every packet carries a
  // virtio_net_hdr (link/vnet_hdr.hpp); the kernel hands over and accepts
  // TCPv4 super-segments of up to 64 KB and partial checksums.
  bool offload = false;
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
  // True when opened with offloads: read() and write() then carry a
  // kVnetHdrSize-byte virtio_net_hdr before each datagram.
  bool vnet_hdr() const { return vnet_hdr_; }

  // One datagram per call. Non-blocking: read() returns 0 when nothing is
  // waiting and -1 on an error (errno set).
  long read(std::span<uint8_t> buf);
  // True when the whole datagram was handed to the kernel.
  bool write(std::span<const uint8_t> datagram);

 private:
  std::string configure(const TunConfig& config);

  std::string enable_offload();

  int fd_ = -1;
  bool vnet_hdr_ = false;
  std::string name_;
};

}  // namespace vigil::link
