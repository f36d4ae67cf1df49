// The real-network driver: runs a sans-IO Stack against a TUN device on
// CLOCK_MONOTONIC. One thread, epoll on the (non-blocking) TUN descriptor
// and a signalfd for SIGINT/SIGTERM; sleeps until the stack's next deadline
// or the application's next wake-up.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "link/pcap_writer.hpp"
#include "link/tun_device.hpp"
#include "link/vnet_hdr.hpp"
#include "stack/stack.hpp"
#include "vigil/time.hpp"

namespace vigil::link {

// An application driven by the loop. poll() runs after every batch of
// input and every timer; it calls the stack's socket calls.
class LoopApp {
 public:
  virtual ~LoopApp() = default;
  virtual void poll(stack::Stack& s, Instant now) = 0;
  // The earliest moment poll() must run again without input (never: none).
  virtual Instant next_wake() const { return Instant::never(); }
  // True when the work is over and the loop should return.
  virtual bool done(const stack::Stack& s) const = 0;
  // SIGINT/SIGTERM arrived: close connections. The loop keeps running until
  // quiesced() or the grace period ends.
  virtual void stop(stack::Stack& s, Instant now) = 0;
  virtual bool quiesced(const stack::Stack& s) const = 0;
};

struct LoopStats {
  uint64_t datagrams_read = 0;
  uint64_t datagrams_written = 0;
  uint64_t write_errors = 0;
  uint64_t non_ipv4 = 0;   // IPv6 and other traffic the kernel sends: ignored
  uint64_t truncated = 0;  // read filled the whole buffer: dropped
  // With offloads (TunDevice::vnet_hdr()):
  uint64_t gso_read = 0;        // TCPv4 super-segments from the kernel
  uint64_t gso_written = 0;     // TSO-sized datagrams handed to the kernel
  uint64_t csum_trusted = 0;    // NEEDS_CSUM/DATA_VALID packets not verified again
  uint64_t csum_offloaded = 0;  // sent with NEEDS_CSUM: the kernel finishes the checksum
  std::array<uint64_t, static_cast<size_t>(VnetDrop::kCount)> vnet_drops{};
};

enum class LoopExit { kDone, kSignal, kError };

class EventLoop {
 public:
  EventLoop(TunDevice& dev, stack::Stack& s);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Blocks SIGINT and SIGTERM and routes them to a signalfd; creates the
  // epoll set. Call before the stack does anything. Empty string: success.
  std::string init();
  LoopExit run(LoopApp& app, Duration stop_grace = Duration::seconds(2));
  const std::string& error() const { return error_; }
  const LoopStats& stats() const { return stats_; }
  int signal_number() const { return signal_; }

  static Instant now();  // CLOCK_MONOTONIC

  // Records every datagram read from and written to the device, as the
  // device carried it: with offloads a TSO super-segment is one record (as
  // tcpdump on the TUN interface shows it), with its checksum completed.
  // Records are stamped with wall-clock time (the stack runs on
  // CLOCK_MONOTONIC; the offset is taken here), so the pcap lines up with a
  // tcpdump capture of the same run.
  void set_capture(PcapWriter* pcap);

 private:
  void read_batch(Instant now);
  void receive(Instant now, std::span<uint8_t> frame);
  void transmit(Instant now);
  void capture_completed(Instant now, const VnetHdr& h, std::span<uint8_t> dgram);
  bool drain_signals();

  TunDevice& dev_;
  stack::Stack& stack_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  int signal_ = 0;
  std::vector<uint8_t> rx_buf_;
  std::vector<uint8_t> tx_buf_;
  PcapWriter* capture_ = nullptr;
  Duration capture_offset_;  // CLOCK_REALTIME - CLOCK_MONOTONIC
  LoopStats stats_;
  std::string error_;
};

}  // namespace vigil::link
