// CaptureReader over libpcap: pcap and pcapng files, nanosecond timestamps,
// link-layer headers stripped down to the IPv4 datagram or IPv6 packet.
#include "analyze/capture_reader.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

namespace vigil::analyze {
namespace {

// Link types as libpcap reports them on this platform (pcap_datalink maps the
// file's LINKTYPE_ value to the local DLT_ value), plus the values other
// platforms or writers use for the same encapsulation.
constexpr int kDltNull = 0;
constexpr int kDltEthernet = 1;
constexpr int kDltRawA = 12;  // DLT_RAW on most systems (DLT_LOOP on OpenBSD)
constexpr int kDltRawB = 14;  // DLT_RAW on OpenBSD and BSD/OS
constexpr int kLinktypeRaw = 101;
constexpr int kDltLoop = 108;
constexpr int kDltLinuxSll = 113;
constexpr int kDltIpv4 = 228;
constexpr int kDltLinuxSll2 = 276;

constexpr const char* kSupported =
    "supported: EN10MB (1), RAW (12/14/101), IPV4 (228), LINUX_SLL (113), LINUX_SLL2 (276), "
    "NULL (0), LOOP (108)";

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint16_t kEtherTypeVlan = 0x8100;     // 802.1Q
constexpr uint16_t kEtherTypeQinQ = 0x88a8;     // 802.1ad
constexpr uint16_t kEtherTypeQinQOld = 0x9100;  // pre-standard QinQ
constexpr uint32_t kAfInet = 2;                 // the same on every OS
// AF_INET6 differs: Linux 10 (never in DLT_NULL files, but harmless),
// FreeBSD/DragonFly 28, Darwin 30, NetBSD/OpenBSD 24 (as libpcap's
// pcap-null/loop decoding and Wireshark accept).
bool is_af_inet6(uint32_t af) { return af == 24 || af == 28 || af == 30; }

// The pcap per-record header (16 bytes) and file header (24 bytes), for the
// byte count when the FILE position is not available.
constexpr uint64_t kRecordHeader = 16;
constexpr uint64_t kFileHeader = 24;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

uint32_t bswap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

bool is_raw(int dlt) {
  return dlt == kDltRawA || dlt == kDltRawB || dlt == kLinktypeRaw || dlt == kDltIpv4;
}

bool supported(int dlt) {
  return is_raw(dlt) || dlt == kDltEthernet || dlt == kDltLinuxSll || dlt == kDltLinuxSll2 ||
         dlt == kDltNull || dlt == kDltLoop;
}

enum class Link { kIpv4, kIpv6, kOther, kBad };

// The IP version an EtherType announces.
Link by_ethertype(uint16_t type) {
  if (type == kEtherTypeIpv4) return Link::kIpv4;
  if (type == kEtherTypeIpv6) return Link::kIpv6;
  return Link::kOther;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

class PcapReader final : public CaptureReader {
 public:
  PcapReader(pcap_t* pcap, int dlt, uint64_t size) : pcap_(pcap), dlt_(dlt), file_size_(size) {}

  bool next(CapturedPacket* out) override {
    while (!done_) {
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
      if (rc != 1) {
        // 0 (timeout) cannot happen offline; PCAP_ERROR_BREAK is the end of
        // the file; PCAP_ERROR a record that cannot be read (cut short, or
        // an impossible length). libpcap cannot resynchronise after that.
        if (rc != PCAP_ERROR_BREAK) {
          error_ = "frame " + std::to_string(stats_.frames + 1) + ": " +
                   (rc == PCAP_ERROR ? pcap_geterr(pcap_.get())
                                     : "unexpected result " + std::to_string(rc));
        }
        done_ = true;
        return false;
      }
      ++stats_.frames;
      approx_bytes_ += kRecordHeader + hdr->caplen;
      std::span<const uint8_t> frame(data, hdr->caplen);
      std::span<const uint8_t> ip;
      switch (strip(frame, &ip)) {
        case Link::kBad:
          ++stats_.bad_link_header;
          continue;
        case Link::kOther:
          ++stats_.non_ipv4;
          continue;
        case Link::kIpv4:
          ++stats_.ipv4;
          break;
        case Link::kIpv6:
          ++stats_.ipv6;
          break;
      }
      out->frame = stats_.frames;
      // With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds.
      out->time = Instant::from_ns(static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 +
                                   static_cast<int64_t>(hdr->ts.tv_usec));
      out->ipv4 = trim(ip);
      out->ip = out->ipv4;
      out->original_length = hdr->len;
      out->truncated = hdr->caplen < hdr->len;
      const size_t link = frame.size() - ip.size();
      out->ip_wire_length = static_cast<uint32_t>(
          out->truncated && hdr->len > link ? hdr->len - link : out->ipv4.size());
      if (out->truncated) ++stats_.truncated;
      return true;
    }
    return false;
  }

  const ReaderStats& stats() const override { return stats_; }
  const std::string& error() const override { return error_; }
  int link_type() const override { return dlt_; }

  uint64_t bytes_read() const override {
    if (FILE* f = pcap_file(pcap_.get())) {
      off_t pos = ftello(f);
      if (pos >= 0) return static_cast<uint64_t>(pos);
    }
    return approx_bytes_;
  }
  uint64_t file_size() const override { return file_size_; }

 private:
  // Strips the link-layer header; on kIpv4 *ip is the rest of the frame.
  Link strip(std::span<const uint8_t> f, std::span<const uint8_t>* ip) const {
    const uint8_t* p = f.data();
    size_t n = f.size();
    if (is_raw(dlt_)) {
      if (n < 1) return Link::kBad;
      if ((p[0] >> 4) != 4 && (p[0] >> 4) != 6) return Link::kOther;
      *ip = f;
      return (p[0] >> 4) == 4 ? Link::kIpv4 : Link::kIpv6;
    }
    switch (dlt_) {
      case kDltEthernet: {
        if (n < 14) return Link::kBad;
        size_t off = 12;
        uint16_t type = be16(p + off);
        for (int tags = 0; tags < 2 && (type == kEtherTypeVlan || type == kEtherTypeQinQ ||
                                        type == kEtherTypeQinQOld);
             ++tags) {
          off += 4;
          if (n < off + 2) return Link::kBad;
          type = be16(p + off);
        }
        *ip = f.subspan(off + 2);
        return by_ethertype(type);
      }
      case kDltLinuxSll:
        if (n < 16) return Link::kBad;
        *ip = f.subspan(16);
        return by_ethertype(be16(p + 14));
      case kDltLinuxSll2:
        if (n < 20) return Link::kBad;
        *ip = f.subspan(20);
        return by_ethertype(be16(p));
      case kDltNull: {
        if (n < 4) return Link::kBad;
        // Host order of the machine that wrote the file, which may not be
        // ours. Families are small numbers, so a value with high bits set is
        // a byte-swapped one (Wireshark decides the same way).
        uint32_t family;
        std::memcpy(&family, p, 4);
        if ((family & 0xffff0000u) != 0) family = bswap32(family);
        *ip = f.subspan(4);
        if (family == kAfInet) return Link::kIpv4;
        return is_af_inet6(family) ? Link::kIpv6 : Link::kOther;
      }
      case kDltLoop:
        if (n < 4) return Link::kBad;
        *ip = f.subspan(4);
        if (be32(p) == kAfInet) return Link::kIpv4;
        return is_af_inet6(be32(p)) ? Link::kIpv6 : Link::kOther;
      default:
        return Link::kBad;  // open() refuses other link types
    }
  }

  // Drops link-layer padding (Ethernet pads frames to 60 bytes) by the IPv4
  // total length or the IPv6 payload length. A length of 0 (TSO and BIG TCP
  // frames, IPv6 jumbograms: the analyzer takes the captured length) or
  // above what was captured leaves the bytes as they are.
  static std::span<const uint8_t> trim(std::span<const uint8_t> ip) {
    if (ip.size() >= 40 && (ip[0] >> 4) == 6) {
      const size_t total = 40 + size_t{be16(ip.data() + 4)};
      return total > 40 && total < ip.size() ? ip.first(total) : ip;
    }
    if (ip.size() < 4 || (ip[0] >> 4) != 4) return ip;
    size_t total = be16(ip.data() + 2);
    if (total >= 20 && total < ip.size()) return ip.first(total);
    return ip;
  }

  std::unique_ptr<pcap_t, PcapCloser> pcap_;
  int dlt_;
  uint64_t file_size_;
  bool done_ = false;
  ReaderStats stats_;
  std::string error_;
  uint64_t approx_bytes_ = kFileHeader;
};

}  // namespace

std::unique_ptr<CaptureReader> CaptureReader::open(const std::string& path, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (raw == nullptr) {
    std::string msg = errbuf;
    // libpcap sometimes names the file itself ("FILE: No such file ...").
    if (msg.rfind(path + ": ", 0) == 0) msg.erase(0, path.size() + 2);
    *error = "cannot open " + path + ": " + msg;
    return nullptr;
  }
  std::unique_ptr<pcap_t, PcapCloser> pcap(raw);
  struct stat st {};
  uint64_t size = 0;
  FILE* f = pcap_file(raw);
  const bool known =
      (f != nullptr && ::fstat(fileno(f), &st) == 0) || ::stat(path.c_str(), &st) == 0;
  if (known) size = static_cast<uint64_t>(st.st_size);
  int dlt = pcap_datalink(raw);
  if (!supported(dlt)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    *error = path + ": unsupported link type " + std::to_string(dlt);
    if (name != nullptr) *error += std::string(" (") + name + ")";
    *error += std::string("; ") + kSupported;
    return nullptr;
  }
  return std::make_unique<PcapReader>(pcap.release(), dlt, size);
}

}  // namespace vigil::analyze
