#include "link/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "tcp/events.hpp"

namespace vigil::link {

namespace {

constexpr size_t kMaxBatch = 256;  // datagrams read per wake-up before timers run
// The largest IPv4 datagram plus a vnet header, and room to notice a
// longer read (which would be truncated).
constexpr size_t kRxBuf = 65535 + kVnetHdrSize + 1;
constexpr size_t kTxBuf = 65535 + kVnetHdrSize;

}  // namespace

EventLoop::EventLoop(TunDevice& dev, stack::Stack& s)
    : dev_(dev), stack_(s), rx_buf_(kRxBuf), tx_buf_(kTxBuf) {
  // With the virtio header every TCP datagram can go with NEEDS_CSUM, so the
  // stack need not checksum 64 KB super-segments that the kernel checksums
  // again per segment (or, delivering locally, not at all).
  if (dev_.vnet_hdr()) stack_.set_partial_checksum(true);
}

EventLoop::~EventLoop() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

Instant EventLoop::now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return Instant::from_ns(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
}

void EventLoop::set_capture(PcapWriter* pcap) {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  const Instant wall =
      Instant::from_ns(static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
  capture_offset_ = wall - now();
  capture_ = pcap;
}

std::string EventLoop::init() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) {
    return "sigprocmask: " + tcp::errno_name(errno);
  }
  signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return "signalfd: " + tcp::errno_name(errno);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return "epoll_create1: " + tcp::errno_name(errno);
  struct epoll_event ev;
  std::memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = dev_.fd();
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, dev_.fd(), &ev) < 0) {
    return "epoll_ctl(tun): " + tcp::errno_name(errno);
  }
  ev.data.fd = signal_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev) < 0) {
    return "epoll_ctl(signalfd): " + tcp::errno_name(errno);
  }
  return {};
}

void EventLoop::read_batch(Instant now) {
  for (size_t i = 0; i < kMaxBatch; ++i) {
    const long n = dev_.read(rx_buf_);
    if (n == 0) return;
    if (n < 0) {
      error_ = "read from " + dev_.name() + ": " + tcp::errno_name(errno);
      return;
    }
    ++stats_.datagrams_read;
    if (static_cast<size_t>(n) >= rx_buf_.size()) {
      ++stats_.truncated;
      continue;
    }
    receive(now, std::span<uint8_t>(rx_buf_.data(), static_cast<size_t>(n)));
  }
}

void EventLoop::receive(Instant now, std::span<uint8_t> frame) {
  bool verify = true;
  if (dev_.vnet_hdr()) {
    VnetHdr h;
    VnetDrop d = decode_vnet_hdr(frame, &h);
    frame = frame.subspan(std::min(frame.size(), kVnetHdrSize));
    if (d == VnetDrop::kNone && !frame.empty() && (frame[0] >> 4) == 4) {
      d = check_vnet_packet(h, frame);
    }
    if (d != VnetDrop::kNone) {
      ++stats_.vnet_drops[static_cast<size_t>(d)];
      return;
    }
    if (h.gso_type == VnetHdr::kGsoTcpV4) ++stats_.gso_read;
    if (h.flags & VnetHdr::kNeedsCsum) {
      // The kernel left the checksum to the "hardware". It comes from this
      // host's memory, never from a wire, so trust it as Linux itself does
      // (CHECKSUM_PARTIAL); complete it only when someone will look at it.
      if (capture_) {
        complete_checksum(h, frame);
      } else {
        verify = false;
      }
    } else if (h.flags & VnetHdr::kDataValid) {
      verify = false;
    }
    if (!verify) ++stats_.csum_trusted;
  }
  if (frame.empty() || (frame[0] >> 4) != 4) {
    ++stats_.non_ipv4;
    return;
  }
  if (capture_) capture_->write(now + capture_offset_, frame);
  stack_.receive(now, frame, verify);
}

void EventLoop::transmit(Instant now) {
  const size_t head = dev_.vnet_hdr() ? kVnetHdrSize : 0;
  const std::span<uint8_t> out = std::span<uint8_t>(tx_buf_).subspan(head);
  for (;;) {
    uint32_t mss = 0;
    bool partial = false;
    const size_t n = stack_.poll_transmit(now, out, &mss, &partial);
    if (n == 0) return;
    const std::span<uint8_t> dgram = out.first(n);
    VnetHdr h;
    if (partial) {
      // The checksum field holds the pseudo-header sum: the kernel finishes
      // it; a super-segment when the payload is more than one MSS.
      h = prepare_tx_partial(dgram, mss);
      if (capture_) capture_completed(now, h, dgram);
    } else {
      if (capture_) capture_->write(now + capture_offset_, dgram);
      // A TSO-sized datagram goes as one GSO super-segment that the kernel
      // cuts at the connection's MSS; the rest with a zero header.
      if (head) h = prepare_tx(dgram, mss);
    }
    if (head) {
      if (h.gso_type == VnetHdr::kGsoTcpV4) ++stats_.gso_written;
      if (partial) ++stats_.csum_offloaded;
      encode_vnet_hdr(h, tx_buf_);
    }
    if (dev_.write(std::span<const uint8_t>(tx_buf_.data(), head + n))) {
      ++stats_.datagrams_written;
    } else {
      ++stats_.write_errors;  // like a lost packet: TCP retransmits
    }
  }
}

void EventLoop::capture_completed(Instant now, const VnetHdr& h, std::span<uint8_t> dgram) {
  // The capture shows the checksum the kernel will compute; the device
  // needs the pseudo-header sum back in the field.
  if (!(h.flags & VnetHdr::kNeedsCsum)) {
    capture_->write(now + capture_offset_, dgram);
    return;
  }
  uint8_t* field = dgram.data() + h.csum_start + h.csum_offset;
  const uint8_t saved[2] = {field[0], field[1]};
  complete_checksum(h, dgram);
  capture_->write(now + capture_offset_, dgram);
  field[0] = saved[0];
  field[1] = saved[1];
}

bool EventLoop::drain_signals() {
  bool got = false;
  struct signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    signal_ = static_cast<int>(info.ssi_signo);
    got = true;
  }
  return got;
}

LoopExit EventLoop::run(LoopApp& app, Duration stop_grace) {
  bool stopping = false;
  Instant stop_deadline = Instant::never();
  std::array<struct epoll_event, 4> events;

  // First round: let the application open its sockets.
  Instant t = now();
  stack_.on_timers(t);
  app.poll(stack_, t);
  transmit(t);

  for (;;) {
    if (!error_.empty()) return LoopExit::kError;
    if (!stopping && app.done(stack_)) return LoopExit::kDone;
    if (stopping && (app.quiesced(stack_) || t >= stop_deadline)) return LoopExit::kSignal;

    Instant wake = std::min({stack_.next_deadline(), app.next_wake(), stop_deadline});
    int timeout_ms = -1;
    if (!wake.is_never()) {
      const Duration left = wake - now();
      // Round up so a deadline is never missed by sleeping too little.
      timeout_ms = left <= Duration::zero()
                       ? 0
                       : static_cast<int>(std::min<int64_t>(
                             (left + Duration::nanos(999'999)).ns() / 1'000'000, 60'000));
    }
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      error_ = "epoll_wait: " + tcp::errno_name(errno);
      return LoopExit::kError;
    }
    t = now();
    for (int i = 0; i < n; ++i) {
      if (events[static_cast<size_t>(i)].data.fd == dev_.fd()) {
        read_batch(t);
      } else if (drain_signals() && !stopping) {
        stopping = true;
        stop_deadline = t + stop_grace;
        app.stop(stack_, t);
      }
    }
    stack_.on_timers(t);
    app.poll(stack_, t);
    transmit(t);
  }
}

}  // namespace vigil::link
