// Classic libpcap capture files (not pcapng) of raw IPv4 packets, so a
// simulated or real run can be opened in tcpdump/Wireshark.
//
// Format: nanosecond magic 0xa1b23c4d, version 2.4, snaplen 65535, link type
// LINKTYPE_IPV4 (228). All fields are written little-endian regardless of the
// host, so identical input gives byte-identical files everywhere.
//
// Timestamps are the Instant itself (ns since the driver's clock origin, the
// epoch base is 0), so a simulation starting at Instant::zero() appears to
// start at 1970-01-01 00:00:00 UTC. Seconds are stored in 32 bits as pcap
// requires; negative instants are clamped to 0.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "vigil/time.hpp"

namespace vigil::link {

class PcapWriter {
 public:
  static constexpr uint32_t kMagicNanos = 0xa1b23c4d;
  static constexpr uint16_t kVersionMajor = 2;
  static constexpr uint16_t kVersionMinor = 4;
  static constexpr uint32_t kSnaplen = 65535;
  static constexpr uint32_t kLinktypeIpv4 = 228;

  // Opens/truncates `path` and writes the global header. On failure ok() is
  // false, error() says why, and write()/flush() do nothing.
  explicit PcapWriter(const std::string& path);
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();  // closes if close() was not called; errors are lost then

  bool ok() const { return file_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }

  // Appends one record. Packets longer than the snaplen are truncated in the
  // file (incl_len = 65535) but keep their real orig_len.
  void write(Instant t, std::span<const uint8_t> packet);
  void flush();
  // Flushes and closes the file. False, with error() naming the file and
  // strerror, if any write, flush or the close failed (a full disk shows
  // only here, when the buffer reaches the device): the caller must report
  // it rather than leave a truncated capture looking complete.
  bool close();
  uint64_t packets_written() const { return packets_; }

 private:
  void fail(const char* what, int err);

  std::string path_;
  std::string error_;
  std::unique_ptr<char[]> buffer_;  // stdio buffer; must outlive file_
  std::FILE* file_ = nullptr;
  uint64_t packets_ = 0;
};

}  // namespace vigil::link
