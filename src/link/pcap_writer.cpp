#include "link/pcap_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vigil::link {

namespace {

// Large enough that a busy simulation does few write(2) calls.
constexpr size_t kBufferSize = 1 << 20;

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace

PcapWriter::PcapWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    error_ = "cannot open pcap file " + path + ": " + std::strerror(errno);
    return;
  }
  buffer_ = std::make_unique<char[]>(kBufferSize);
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferSize);

  uint8_t hdr[24];
  put_u32(hdr + 0, kMagicNanos);
  put_u16(hdr + 4, kVersionMajor);
  put_u16(hdr + 6, kVersionMinor);
  put_u32(hdr + 8, 0);   // thiszone: timestamps are already "UTC"
  put_u32(hdr + 12, 0);  // sigfigs
  put_u32(hdr + 16, kSnaplen);
  put_u32(hdr + 20, kLinktypeIpv4);
  if (std::fwrite(hdr, sizeof hdr, 1, file_) != 1) fail("write", errno);
}

PcapWriter::~PcapWriter() { close(); }

bool PcapWriter::close() {
  if (file_ != nullptr) {
    // fclose() writes what is still buffered, so it can fail with ENOSPC.
    if (std::fclose(file_) != 0) fail("close", errno);
    file_ = nullptr;
  }
  return error_.empty();
}

void PcapWriter::fail(const char* what, int err) {
  // Keep the first error: later ones are usually consequences of it.
  if (error_.empty()) {
    error_ = "cannot write pcap file " + path_ + ": " + std::strerror(err) + " (at " + what + ")";
  }
}

void PcapWriter::write(Instant t, std::span<const uint8_t> packet) {
  if (!ok()) return;
  const int64_t ns = std::max<int64_t>(t.ns(), 0);
  const uint32_t incl = static_cast<uint32_t>(std::min<size_t>(packet.size(), kSnaplen));
  uint8_t rec[16];
  put_u32(rec + 0, static_cast<uint32_t>(ns / 1'000'000'000));
  put_u32(rec + 4, static_cast<uint32_t>(ns % 1'000'000'000));
  put_u32(rec + 8, incl);
  put_u32(rec + 12, static_cast<uint32_t>(packet.size()));
  if (std::fwrite(rec, sizeof rec, 1, file_) != 1 ||
      (incl > 0 && std::fwrite(packet.data(), incl, 1, file_) != 1)) {
    fail("write", errno);
    return;
  }
  ++packets_;
}

void PcapWriter::flush() {
  if (!ok()) return;
  if (std::fflush(file_) != 0) fail("flush", errno);
}

}  // namespace vigil::link
