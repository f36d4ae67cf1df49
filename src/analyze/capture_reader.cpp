// CaptureReader: pcap through libpcap, pcapng block by block (libpcap
// refuses a file whose interfaces differ in link type or snaplen, which
// `dumpcap -i a -i b` writes every day), standard input, live capture.
// Every frame goes through decapsulate() down to the IP packet.
#include "analyze/capture_reader.hpp"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "analyze/decap.hpp"

namespace vigil::analyze {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The pcap per-record header (16 bytes) and file header (24 bytes), for the
// byte count when the FILE position is not available.
constexpr uint64_t kRecordHeader = 16;
constexpr uint64_t kFileHeader = 24;

volatile std::sig_atomic_t g_interrupted = 0;
// The live capture's handle, for interrupt(): libpcap on Linux in immediate
// mode polls without a timeout (pcap_set_timeout is not applied), so the
// flag alone is only seen at the next packet; pcap_breakloop() wakes the
// poll through its eventfd (a write(2), async-signal-safe) and makes
// pcap_next_ex return PCAP_ERROR_BREAK.
pcap_t* volatile g_live = nullptr;

// pcapng timestamps are 64-bit counts of up to 2^-127 s: the product with
// 10^9 needs more than 64 bits.
__extension__ using i128 = __int128;

// Drops link-layer padding (Ethernet pads frames to 60 bytes) by the IPv4
// total length or the IPv6 payload length. A length of 0 (TSO and BIG TCP
// frames, IPv6 jumbograms: the analyzer takes the captured length) or
// above what was captured leaves the bytes as they are.
std::span<const uint8_t> trim(std::span<const uint8_t> ip) {
  if (ip.size() >= 40 && (ip[0] >> 4) == 6) {
    const size_t total = 40 + size_t{be16(ip.data() + 4)};
    return total > 40 && total < ip.size() ? ip.first(total) : ip;
  }
  if (ip.size() < 4 || (ip[0] >> 4) != 4) return ip;
  size_t total = be16(ip.data() + 2);
  if (total >= 20 && total < ip.size()) return ip.first(total);
  return ip;
}

// One compiled BPF program per link type (pcapng interfaces may differ),
// run on each frame as libpcap would on the wire (pcap_offline_filter).
class Filters {
 public:
  ~Filters() {
    for (auto& [lt, prog] : progs_) pcap_freecode(&prog);
  }
  bool active() const { return !expr_.empty(); }
  // Compiles for `lt` now, so that a bad expression is reported up front.
  bool set(const std::string& expr, int lt, std::string* error) {
    expr_ = expr;
    return compile(lt, error);
  }
  // -1: the expression does not compile for this link type (*error set).
  int match(int lt, const pcap_pkthdr& hdr, const uint8_t* data, std::string* error) {
    if (!active()) return 1;
    auto it = progs_.find(lt);
    if (it == progs_.end()) {
      if (!compile(lt, error)) return -1;
      it = progs_.find(lt);
    }
    return pcap_offline_filter(&it->second, &hdr, data) != 0 ? 1 : 0;
  }

 private:
  bool compile(int lt, std::string* error) {
    // pcapng gives LINKTYPE_ values; libpcap compiles for DLT_ ones, the
    // same numbers for all this reader supports but LINKTYPE_RAW (101).
    pcap_t* dead = pcap_open_dead(lt == linktype::kRaw ? DLT_RAW : lt, 262144);
    if (dead == nullptr) {
      *error = "cannot compile the filter";
      return false;
    }
    bpf_program prog{};
    const bool ok = pcap_compile(dead, &prog, expr_.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok) {
      *error = pcap_geterr(dead);
    } else {
      progs_[lt] = prog;
    }
    pcap_close(dead);
    return ok;
  }
  std::string expr_;
  std::map<int, bpf_program> progs_;
};

// What every reader shares: a frame to a CapturedPacket, the counters.
class ReaderBase : public CaptureReader {
 public:
  const ReaderStats& stats() const override { return stats_; }
  const std::string& error() const override { return error_; }

 protected:
  // false: not an IP packet (counted), or filtered out.
  bool accept(int lt, const pcap_pkthdr& hdr, const uint8_t* data, Instant time, uint32_t iface,
              CapturedPacket* out) {
    if (filters_.active()) {
      std::string err;
      const int m = filters_.match(lt, hdr, data, &err);
      if (m < 0) {
        error_ = "frame " + std::to_string(stats_.frames) + ": interface " + std::to_string(iface) +
                 " (link type " + std::to_string(lt) + "): the filter does not apply: " + err;
        done_ = true;
        return false;
      }
      if (m == 0) {
        ++stats_.filtered_out;
        return false;
      }
    }
    const std::span<const uint8_t> frame(data, hdr.caplen);
    Decapsulated d = decapsulate(lt, frame);
    if (d.bad_tunnel) ++stats_.bad_tunnel;
    switch (d.kind) {
      case Inner::kBad:
        ++stats_.bad_link_header;
        return false;
      case Inner::kOther:
        ++stats_.non_ipv4;
        return false;
      case Inner::kIpv4:
        ++stats_.ipv4;
        break;
      case Inner::kIpv6:
        ++stats_.ipv6;
        break;
    }
    if (d.tunnelled && !d.bad_tunnel) ++stats_.tunnelled;
    out->frame = stats_.frames;
    out->time = time;
    out->ipv4 = trim(d.ip);
    out->ip = out->ipv4;
    out->original_length = hdr.len;
    out->truncated = hdr.caplen < hdr.len;
    out->interface = iface;
    out->via = std::move(d.via);
    // Everything before the IP packet (link header, tunnels) came off the
    // frame's on-the-wire length too.
    const size_t before = static_cast<size_t>(d.ip.data() - data);
    out->ip_wire_length = static_cast<uint32_t>(
        out->truncated && hdr.len > before ? hdr.len - before : out->ipv4.size());
    if (out->truncated) ++stats_.truncated;
    return true;
  }

  ReaderStats stats_;
  std::string error_;
  Filters filters_;
  bool done_ = false;
};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

// pcap files (and live captures) through libpcap.
class PcapReader final : public ReaderBase {
 public:
  PcapReader(pcap_t* pcap, int dlt, uint64_t size, bool live, bool nano)
      : pcap_(pcap), dlt_(dlt), file_size_(size), live_(live), nano_(nano) {
    if (live_) g_live = pcap;
  }
  ~PcapReader() override {
    if (live_ && g_live == pcap_.get()) g_live = nullptr;
  }
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  bool next(CapturedPacket* out) override {
    while (!done_) {
      if (live_ && g_interrupted) break;
      pcap_pkthdr* hdr = nullptr;
      const u_char* data = nullptr;
      int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
      if (rc == 0 && live_) continue;  // the buffer timeout: look at the interrupt flag
      if (rc != 1) {
        // PCAP_ERROR_BREAK is the end of the file (or pcap_breakloop);
        // PCAP_ERROR a record that cannot be read (cut short, or an
        // impossible length). libpcap cannot resynchronise after that.
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
      // With nanosecond precision, tv_usec holds nanoseconds.
      const Instant t =
          Instant::from_ns(static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000'000 +
                           static_cast<int64_t>(hdr->ts.tv_usec) * (nano_ ? 1 : 1000));
      if (accept(dlt_, *hdr, data, t, 0, out)) return true;
    }
    return false;
  }

  bool set_filter(const std::string& expr, std::string* error) override {
    if (live_) {
      // In the kernel: only matching packets are copied up.
      bpf_program prog{};
      if (pcap_compile(pcap_.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
          pcap_setfilter(pcap_.get(), &prog) != 0) {
        *error = pcap_geterr(pcap_.get());
        pcap_freecode(&prog);
        return false;
      }
      pcap_freecode(&prog);
      return true;
    }
    return filters_.set(expr, dlt_, error);
  }

  int link_type() const override { return dlt_; }
  uint64_t bytes_read() const override {
    if (FILE* f = live_ ? nullptr : pcap_file(pcap_.get())) {
      off_t pos = ftello(f);
      if (pos >= 0) return static_cast<uint64_t>(pos);
    }
    return approx_bytes_;
  }
  uint64_t file_size() const override { return file_size_; }

 private:
  std::unique_ptr<pcap_t, PcapCloser> pcap_;
  int dlt_;
  uint64_t file_size_;
  bool live_;
  bool nano_;
  uint64_t approx_bytes_ = kFileHeader;
};

// ---------------------------------------------------------------------------
// pcapng (draft-ietf-opsawg-pcapng): a file of sections, each a Section
// Header Block (whose byte-order magic says the section's byte order), its
// Interface Description Blocks (link type, snaplen, if_tsresol,
// if_tsoffset each), and packets in Enhanced, Simple or (obsolete) Packet
// Blocks naming their interface. Other blocks are skipped by their length.

constexpr uint32_t kShb = 0x0a0d0d0a;
constexpr uint32_t kIdb = 1;
constexpr uint32_t kPb = 2;  // obsolete Packet Block
constexpr uint32_t kSpb = 3;
constexpr uint32_t kEpb = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
// Larger blocks are taken for damage: Wireshark's limit for a packet is
// 256 MiB, and no other block comes near it.
constexpr uint32_t kMaxBlock = 256u << 20;

struct Interface {
  int linktype = 0;
  uint32_t snaplen = 0;
  // Timestamps count units of 10^-n or 2^-n seconds (if_tsresol; default
  // 10^-6).
  bool pow2 = false;
  int exp = 6;
  int64_t offset_s = 0;  // if_tsoffset
};

class PcapngReader final : public ReaderBase {
 public:
  // `prefix`: the first bytes, already read off `f` to recognise the format.
  PcapngReader(FILE* f, bool owned, std::string prefix, uint64_t size)
      : f_(f), owned_(owned), prefix_(std::move(prefix)), file_size_(size) {}
  ~PcapngReader() override {
    if (owned_) std::fclose(f_);
  }
  PcapngReader(const PcapngReader&) = delete;
  PcapngReader& operator=(const PcapngReader&) = delete;

  // Reads the first Section Header Block and the blocks up to the first
  // packet (the interfaces); false with *error when it is not pcapng.
  bool start(std::string* error) {
    if (!block()) {
      *error = error_.empty() ? "not a pcapng file" : error_;
      return false;
    }
    if (type_ != kShb) {
      *error = "not a pcapng file (no Section Header Block first)";
      return false;
    }
    if (!section()) {
      *error = error_;
      return false;
    }
    pending_ = false;
    // The interfaces, so that link_type() and set_filter() know them.
    while (block()) {
      if (type_ == kIdb) {
        interface();
        continue;
      }
      if (type_ == kShb) {
        if (!section()) break;
        continue;
      }
      pending_ = true;  // the first other block: next() takes it from here
      break;
    }
    // A damaged block among the interfaces: next() reports it (error_).
    at_end_ = !pending_;
    return true;
  }

  bool next(CapturedPacket* out) override {
    while (!done_) {
      if (!pending_) {
        if (at_end_ || !block()) {
          done_ = true;
          return false;
        }
      }
      pending_ = false;
      switch (type_) {
        case kShb:
          if (!section()) done_ = true;
          continue;
        case kIdb:
          interface();
          continue;
        case kEpb:
        case kPb:
        case kSpb:
          if (packet(out)) return true;
          continue;
        default:
          continue;  // statistics, name resolution, custom ...: not needed
      }
    }
    return false;
  }

  bool set_filter(const std::string& expr, std::string* error) override {
    return filters_.set(expr, link_type(), error);
  }
  int link_type() const override {
    return ifaces_.empty() ? linktype::kEthernet : ifaces_[0].linktype;
  }
  uint64_t bytes_read() const override { return offset_; }
  uint64_t file_size() const override { return file_size_; }

 private:
  uint32_t u32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }
  uint16_t u16(const uint8_t* p) const {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return swap_ ? __builtin_bswap16(v) : v;
  }

  size_t read(uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n && !prefix_.empty()) {
      p[got++] = static_cast<uint8_t>(prefix_.front());
      prefix_.erase(0, 1);
    }
    if (got < n) got += std::fread(p + got, 1, n - got, f_);
    offset_ += got;
    return got;
  }

  // Reads the next block into type_ and body_ (without the type, the two
  // lengths). false at the clean end of the file, or on damage (error_).
  bool block() {
    uint8_t h[8];
    const size_t got = read(h, 8);
    if (got == 0) return false;
    const std::string where = "frame " + std::to_string(stats_.frames + 1) + ": ";
    if (got < 8) {
      error_ = where + "truncated pcapng block header";
      return false;
    }
    uint32_t raw_type;
    std::memcpy(&raw_type, h, 4);
    if (raw_type == kShb) {
      // The byte order comes from the magic after the length.
      uint8_t m[4];
      if (read(m, 4) != 4) {
        error_ = where + "truncated Section Header Block";
        return false;
      }
      uint32_t magic;
      std::memcpy(&magic, m, 4);
      if (magic == kByteOrderMagic) {
        swap_ = false;
      } else if (magic == __builtin_bswap32(kByteOrderMagic)) {
        swap_ = true;
      } else {
        error_ = where + "Section Header Block with an unknown byte-order magic";
        return false;
      }
      type_ = kShb;
      const uint32_t total = u32(h + 4);
      if (total < 28 || total % 4 != 0 || total > kMaxBlock) {
        error_ = where + "Section Header Block of impossible length " + std::to_string(total);
        return false;
      }
      body_.assign(m, m + 4);
      return rest(total, 4);
    }
    type_ = u32(h);
    const uint32_t total = u32(h + 4);
    if (total < 12 || total % 4 != 0 || total > kMaxBlock) {
      error_ = where + "pcapng block of type " + std::to_string(type_) +
               " with impossible length " + std::to_string(total);
      return false;
    }
    body_.clear();
    return rest(total, 0);
  }

  // The rest of a block of `total` bytes, `have` of its body already read.
  bool rest(uint32_t total, size_t have) {
    const size_t body = total - 12;
    body_.resize(body + 4);
    if (read(body_.data() + have, body + 4 - have) != body + 4 - have) {
      error_ = "frame " + std::to_string(stats_.frames + 1) + ": truncated pcapng block (type " +
               std::to_string(type_) + ", " + std::to_string(total) + " bytes)";
      return false;
    }
    if (u32(body_.data() + body) != total) {
      error_ = "frame " + std::to_string(stats_.frames + 1) +
               ": pcapng block lengths disagree (type " + std::to_string(type_) + ")";
      return false;
    }
    body_.resize(body);
    return true;
  }

  // A new section: its interfaces replace the last section's.
  bool section() {
    if (body_.size() < 16) {
      error_ = "frame " + std::to_string(stats_.frames + 1) + ": Section Header Block too short";
      return false;
    }
    const uint16_t major = u16(&body_[4]);
    if (major != 1) {
      error_ = "frame " + std::to_string(stats_.frames + 1) + ": pcapng version " +
               std::to_string(major) + " (only 1 is defined)";
      return false;
    }
    ifaces_.clear();
    return true;
  }

  void interface() {
    ++stats_.interfaces;
    Interface i;
    if (body_.size() < 8) {
      ++stats_.bad_blocks;
      i.linktype = -1;  // its packets are counted as bad
      ifaces_.push_back(i);
      return;
    }
    i.linktype = u16(&body_[0]);
    i.snaplen = u32(&body_[4]);
    // Options: code, length, value padded to 4 bytes; 0 ends them.
    size_t at = 8;
    while (at + 4 <= body_.size()) {
      const uint16_t code = u16(&body_[at]), len = u16(&body_[at + 2]);
      at += 4;
      if (code == 0 || at + len > body_.size()) break;
      if (code == 9 && len >= 1) {  // if_tsresol
        const uint8_t r = body_[at];
        i.pow2 = (r & 0x80) != 0;
        i.exp = r & 0x7f;
      } else if (code == 14 && len >= 8) {  // if_tsoffset, seconds
        uint64_t v;
        std::memcpy(&v, &body_[at], 8);
        if (swap_) v = __builtin_bswap64(v);
        i.offset_s = static_cast<int64_t>(v);
      }
      at += (size_t{len} + 3) & ~size_t{3};
    }
    ifaces_.push_back(i);
  }

  Instant to_time(const Interface& i, uint64_t ts) const {
    i128 ns;
    if (i.pow2) {
      ns = i.exp >= 64 ? 0 : (static_cast<i128>(ts) * 1'000'000'000) >> i.exp;
    } else if (i.exp <= 9) {
      i128 m = 1;
      for (int k = i.exp; k < 9; ++k) m *= 10;
      ns = static_cast<i128>(ts) * m;
    } else {
      i128 d = 1;
      for (int k = 9; k < i.exp && k < 40; ++k) d *= 10;
      ns = static_cast<i128>(ts) / d;
    }
    ns += static_cast<i128>(i.offset_s) * 1'000'000'000;
    return Instant::from_ns(static_cast<int64_t>(ns));
  }

  bool packet(CapturedPacket* out) {
    ++stats_.frames;
    uint32_t iface = 0, caplen = 0, len = 0;
    uint64_t ts = 0;
    size_t data_at = 0;
    if (type_ == kSpb) {
      // Simple Packet Block: interface 0, no timestamp, the captured
      // length is the smaller of the original length and the snaplen.
      if (body_.size() < 4 || ifaces_.empty()) return bad();
      len = u32(&body_[0]);
      data_at = 4;
      caplen = len;
      if (ifaces_[0].snaplen != 0 && caplen > ifaces_[0].snaplen) caplen = ifaces_[0].snaplen;
      if (caplen > body_.size() - 4) caplen = static_cast<uint32_t>(body_.size() - 4);
      ts = last_ts_;
    } else {
      const bool epb = type_ == kEpb;
      if (body_.size() < 20) return bad();
      iface = epb ? u32(&body_[0]) : u16(&body_[0]);
      ts = uint64_t{u32(&body_[4])} << 32 | u32(&body_[8]);
      caplen = u32(&body_[12]);
      len = u32(&body_[16]);
      data_at = 20;
      if (caplen > body_.size() - 20) return bad();
    }
    if (iface >= ifaces_.size() || ifaces_[iface].linktype < 0) return bad();
    const Interface& i = ifaces_[iface];
    if (type_ != kSpb) last_ts_ = ts;
    pcap_pkthdr hdr{};
    hdr.caplen = caplen;
    hdr.len = len < caplen ? caplen : len;
    if (!link_supported(i.linktype)) {
      ++stats_.bad_link_header;
      return false;
    }
    return accept(i.linktype, hdr, body_.data() + data_at, to_time(i, ts), iface, out);
  }

  bool bad() {
    ++stats_.bad_blocks;
    return false;
  }

  FILE* f_;
  bool owned_;
  std::string prefix_;
  uint64_t file_size_;
  uint64_t offset_ = 0;
  bool swap_ = false;
  uint32_t type_ = 0;
  std::vector<uint8_t> body_;
  std::vector<Interface> ifaces_;
  bool pending_ = false;  // type_/body_ hold a block next() has not handled
  bool at_end_ = false;
  uint64_t last_ts_ = 0;
};

// Standard input for libpcap, after the magic was read off it to tell
// pcapng from pcap: a stream that gives those bytes back first.
struct Replay {
  std::string prefix;
  FILE* in;
};

ssize_t replay_read(void* cookie, char* buf, size_t n) {
  auto* r = static_cast<Replay*>(cookie);
  if (!r->prefix.empty()) {
    const size_t k = n < r->prefix.size() ? n : r->prefix.size();
    std::memcpy(buf, r->prefix.data(), k);
    r->prefix.erase(0, k);
    return static_cast<ssize_t>(k);
  }
  const size_t got = std::fread(buf, 1, n, r->in);
  return got == 0 && std::ferror(r->in) ? -1 : static_cast<ssize_t>(got);
}

int replay_close(void* cookie) {
  delete static_cast<Replay*>(cookie);
  return 0;
}

std::unique_ptr<CaptureReader> with_libpcap(pcap_t* raw, const std::string& path, uint64_t size,
                                            std::string* error) {
  std::unique_ptr<pcap_t, PcapCloser> pcap(raw);
  const int dlt = pcap_datalink(raw);
  if (!link_supported(dlt)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    *error = path + ": unsupported link type " + std::to_string(dlt);
    if (name != nullptr) *error += std::string(" (") + name + ")";
    *error += std::string("; ") + link_supported_text();
    return nullptr;
  }
  return std::make_unique<PcapReader>(pcap.release(), dlt, size, false, true);
}

}  // namespace

void CaptureReader::interrupt() {
  g_interrupted = 1;
  if (pcap_t* p = g_live) pcap_breakloop(p);
}

std::unique_ptr<CaptureReader> CaptureReader::open(const std::string& path, std::string* error) {
  const bool is_stdin = path == "-";
  FILE* f = is_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  uint64_t size = 0;
  if (::fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) size = static_cast<uint64_t>(st.st_size);
  char magic[4];
  const size_t got = std::fread(magic, 1, 4, f);
  if (got == 4 && std::memcmp(magic, "\x0a\x0d\x0d\x0a", 4) == 0) {
    auto r = std::make_unique<PcapngReader>(f, !is_stdin, std::string(magic, 4), size);
    std::string err;
    if (!r->start(&err)) {
      *error = "cannot open " + path + ": " + err;
      return nullptr;
    }
    return r;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw = nullptr;
  if (is_stdin) {
    auto* cookie = new Replay{std::string(magic, got), stdin};
    FILE* s = fopencookie(cookie, "rb", {replay_read, nullptr, nullptr, replay_close});
    if (s == nullptr) {
      delete cookie;
      *error = "cannot open " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    raw = pcap_fopen_offline_with_tstamp_precision(s, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (raw == nullptr) std::fclose(s);
  } else {
    std::fclose(f);
    raw = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  }
  if (raw == nullptr) {
    std::string msg = errbuf;
    // libpcap sometimes names the file itself ("FILE: No such file ...").
    if (msg.rfind(path + ": ", 0) == 0) msg.erase(0, path.size() + 2);
    *error = "cannot open " + path + ": " + msg;
    return nullptr;
  }
  return with_libpcap(raw, path, size, error);
}

std::unique_ptr<CaptureReader> CaptureReader::open_live(const std::string& iface,
                                                        std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw = pcap_create(iface.c_str(), errbuf);
  if (raw == nullptr) {
    *error = "cannot capture on " + iface + ": " + errbuf;
    return nullptr;
  }
  std::unique_ptr<pcap_t, PcapCloser> pcap(raw);
  // Whole frames (tcpdump's default snaplen), a 100 ms buffer timeout where
  // libpcap applies one (Ctrl-C itself goes through pcap_breakloop, see
  // g_live), nanosecond timestamps where the kernel gives them.
  pcap_set_snaplen(raw, 262144);
  pcap_set_timeout(raw, 100);
  pcap_set_immediate_mode(raw, 1);
  pcap_set_tstamp_precision(raw, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(raw);
  if (rc < 0) {
    *error = "cannot capture on " + iface + ": " +
             (rc == PCAP_ERROR ? std::string(pcap_geterr(raw)) : pcap_statustostr(rc));
    if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_NO_SUCH_DEVICE) {
      const std::string more = pcap_geterr(raw);
      if (!more.empty()) *error += " (" + more + ")";
    }
    return nullptr;
  }
  const int dlt = pcap_datalink(raw);
  if (!link_supported(dlt)) {
    *error =
        iface + ": unsupported link type " + std::to_string(dlt) + "; " + link_supported_text();
    return nullptr;
  }
  const bool nano = pcap_get_tstamp_precision(raw) == PCAP_TSTAMP_PRECISION_NANO;
  return std::make_unique<PcapReader>(pcap.release(), dlt, 0, true, nano);
}

}  // namespace vigil::analyze
