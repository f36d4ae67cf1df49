#include "link/tun_device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "link/vnet_hdr.hpp"
#include "tcp/events.hpp"

namespace vigil::link {

namespace {

std::string errno_text(int err) {
  const char* name = ::strerrorname_np(err);  // glibc 2.32+: "EBUSY"
  return (name ? std::string(name) : tcp::errno_name(err)) + " (" + std::strerror(err) + ")";
}

// Closes a descriptor when it goes out of scope.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

void set_sockaddr(struct sockaddr* sa, wire::Ipv4Addr addr) {
  struct sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(addr.value);
  std::memcpy(sa, &sin, sizeof sin);
}

bool usable_unicast(wire::Ipv4Addr a) {
  const uint32_t top = a.value >> 24;
  return a.value != 0 && top != 127 && top < 224 && a.value != 0xffffffffu;
}

}  // namespace

TunDevice::~TunDevice() { close(); }

void TunDevice::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  vnet_hdr_ = false;
}

std::string TunDevice::open(const TunConfig& config) {
  close();
  if (config.name.empty() || config.name.size() >= IFNAMSIZ) {
    return "interface name '" + config.name + "' must have 1 to " + std::to_string(IFNAMSIZ - 1) +
           " characters";
  }
  if (!usable_unicast(config.kernel_addr) || !usable_unicast(config.vigil_addr)) {
    return "addresses must be unicast IPv4 (not 0/8, 127/8 or 224/3): local " +
           config.vigil_addr.to_string() + ", peer " + config.kernel_addr.to_string();
  }
  if (config.kernel_addr == config.vigil_addr) {
    return "--local and --peer must differ (both are " + config.vigil_addr.to_string() + ")";
  }
  if (config.mtu < 576 || config.mtu > 65535) {
    return "MTU must be between 576 and 65535, got " + std::to_string(config.mtu);
  }

  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return "cannot open /dev/net/tun: " + errno_text(err) +
             "; this system has no TUN support (load the tun module, or in a container "
             "pass --device /dev/net/tun)";
    }
    if (err == EACCES || err == EPERM) {
      return "cannot open /dev/net/tun: " + errno_text(err) + "; run as root or with CAP_NET_ADMIN";
    }
    return "cannot open /dev/net/tun: " + errno_text(err);
  }
  fd_ = fd;

  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (config.offload) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, config.name.data(), config.name.size());
  if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    close();
    if (err == EPERM || err == EACCES) {
      return "cannot create TUN device " + config.name + ": " + errno_text(err) +
             "; run as root or with CAP_NET_ADMIN";
    }
    if (err == EBUSY) {
      return "TUN device " + config.name + " is busy: " + errno_text(err) +
             "; another process has it open (pick another --dev)";
    }
    if (err == EINVAL) {
      return "cannot attach to " + config.name + ": " + errno_text(err) +
             "; an interface of that name exists and is not a TUN device";
    }
    return "cannot create TUN device " + config.name + ": " + errno_text(err);
  }
  name_ = ifr.ifr_name;

  std::string err = config.offload ? enable_offload() : std::string();
  if (err.empty()) err = configure(config);
  if (!err.empty()) close();
  return err;
}

std::string TunDevice::enable_offload() {
  // The kernel's default header is struct virtio_net_hdr (10 bytes); say so
  // explicitly, and ask for little-endian fields so decoding does not
  // depend on the host (on little-endian hosts that is the default anyway).
  int size = static_cast<int>(kVnetHdrSize);
  if (::ioctl(fd_, TUNSETVNETHDRSZ, &size) < 0) {
    return "cannot set the vnet header size on " + name_ + ": " + errno_text(errno);
  }
  int le = 1;
  if (::ioctl(fd_, TUNSETVNETLE, &le) < 0) {
    const uint16_t probe = 1;
    uint8_t first = 0;
    std::memcpy(&first, &probe, 1);
    if (first != 1) {
      return "cannot ask " + name_ + " for little-endian vnet headers: " + errno_text(errno) +
             "; run without --offload";
    }
  }
  // Partial checksums and TCPv4 segmentation offload, both ways.
  if (::ioctl(fd_, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
    return "cannot enable offloads on " + name_ + ": " + errno_text(errno) +
           "; run without --offload";
  }
  vnet_hdr_ = true;
  return {};
}

std::string TunDevice::configure(const TunConfig& config) {
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return "cannot open a configuration socket: " + errno_text(errno);
  FdGuard guard{sock};

  struct ifreq ifr;
  auto reset = [&] {
    std::memset(&ifr, 0, sizeof ifr);
    std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  };
  auto fail = [&](const char* what) {
    const int e = errno;
    std::string msg = "cannot " + std::string(what) + " on " + name_ + ": " + errno_text(e);
    if (e == EPERM || e == EACCES) msg += "; run as root or with CAP_NET_ADMIN";
    return msg;
  };

  reset();
  ifr.ifr_mtu = static_cast<int>(config.mtu);
  if (::ioctl(sock, SIOCSIFMTU, &ifr) < 0) return fail("set the MTU");

  reset();
  set_sockaddr(&ifr.ifr_addr, config.kernel_addr);
  if (::ioctl(sock, SIOCSIFADDR, &ifr) < 0) {
    return fail(("set address " + config.kernel_addr.to_string()).c_str());
  }

  reset();
  set_sockaddr(&ifr.ifr_dstaddr, config.vigil_addr);
  if (::ioctl(sock, SIOCSIFDSTADDR, &ifr) < 0) {
    return fail(("set point-to-point peer " + config.vigil_addr.to_string()).c_str());
  }

  reset();
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return fail("read the flags");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return fail("bring the interface up");
  return {};
}

long TunDevice::read(std::span<uint8_t> buf) {
  for (;;) {
    const ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<long>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

bool TunDevice::write(std::span<const uint8_t> datagram) {
  for (;;) {
    const ssize_t n = ::write(fd_, datagram.data(), datagram.size());
    if (n >= 0) return static_cast<size_t>(n) == datagram.size();
    if (errno == EINTR) continue;
    return false;
  }
}

}  // namespace vigil::link
