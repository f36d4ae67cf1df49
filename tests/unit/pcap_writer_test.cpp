// Unit tests for link::PcapWriter. Expected bytes come from the libpcap file
// format description (pcap-savefile(5)), not from the writer's own output.
#include "link/pcap_writer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vigil::link {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "vigil_pcap_" + std::to_string(::getpid()) + "_" + name + ".pcap";
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint32_t>(b.at(off)) | static_cast<uint32_t>(b.at(off + 1)) << 8 |
         static_cast<uint32_t>(b.at(off + 2)) << 16 | static_cast<uint32_t>(b.at(off + 3)) << 24;
}

uint16_t le16(const std::vector<uint8_t>& b, size_t off) {
  return static_cast<uint16_t>(b.at(off) | b.at(off + 1) << 8);
}

// A minimal valid IPv4 packet (protocol 253, "experimental") so external
// tools decode it without complaint.
std::vector<uint8_t> ipv4_packet(size_t payload_len, uint8_t fill) {
  const size_t total = 20 + payload_len;
  std::vector<uint8_t> p(total, fill);
  p[0] = 0x45;  // version 4, 20-byte header
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[4] = 0;  // id
  p[5] = 1;
  p[6] = 0x40;  // DF
  p[7] = 0;
  p[8] = 64;   // TTL
  p[9] = 253;  // protocol
  p[10] = p[11] = 0;
  const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
  std::memcpy(p.data() + 12, addrs, sizeof addrs);
  uint32_t sum = 0;
  for (size_t i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t ck = static_cast<uint16_t>(~sum);
  p[10] = static_cast<uint8_t>(ck >> 8);
  p[11] = static_cast<uint8_t>(ck);
  return p;
}

struct Rec {
  Instant t;
  std::vector<uint8_t> bytes;
};

std::vector<Rec> sample_records() {
  return {
      {Instant::zero(), ipv4_packet(0, 0)},
      {Instant::from_ns(1'500'000'007), ipv4_packet(100, 0xab)},
      {Instant::from_ns(3'999'999'999), ipv4_packet(1480, 0x5c)},
  };
}

void write_all(const std::string& path, const std::vector<Rec>& recs) {
  PcapWriter w(path);
  ASSERT_TRUE(w.ok()) << w.error();
  for (const Rec& r : recs) w.write(r.t, r.bytes);
  EXPECT_EQ(w.packets_written(), recs.size());
}

TEST(PcapWriter, GlobalHeaderAndRecords) {
  const std::string path = temp_path("records");
  const std::vector<Rec> recs = sample_records();
  write_all(path, recs);
  const std::vector<uint8_t> b = read_file(path);
  std::remove(path.c_str());

  ASSERT_GE(b.size(), 24u);
  // The magic's on-disk bytes pin the byte order: little-endian, ns resolution.
  EXPECT_EQ(b[0], 0x4d);
  EXPECT_EQ(b[1], 0x3c);
  EXPECT_EQ(b[2], 0xb2);
  EXPECT_EQ(b[3], 0xa1);
  EXPECT_EQ(le16(b, 4), 2);        // version major
  EXPECT_EQ(le16(b, 6), 4);        // version minor
  EXPECT_EQ(le32(b, 8), 0u);       // thiszone
  EXPECT_EQ(le32(b, 12), 0u);      // sigfigs
  EXPECT_EQ(le32(b, 16), 65535u);  // snaplen
  EXPECT_EQ(le32(b, 20), 228u);    // LINKTYPE_IPV4

  const uint32_t want_sec[] = {0, 1, 3};
  const uint32_t want_nsec[] = {0, 500'000'007, 999'999'999};
  size_t off = 24;
  for (size_t i = 0; i < recs.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_GE(b.size(), off + 16);
    EXPECT_EQ(le32(b, off + 0), want_sec[i]);
    EXPECT_EQ(le32(b, off + 4), want_nsec[i]);
    EXPECT_EQ(le32(b, off + 8), recs[i].bytes.size());
    EXPECT_EQ(le32(b, off + 12), recs[i].bytes.size());
    off += 16;
    ASSERT_GE(b.size(), off + recs[i].bytes.size());
    EXPECT_TRUE(std::equal(recs[i].bytes.begin(), recs[i].bytes.end(), b.begin() + off));
    off += recs[i].bytes.size();
  }
  EXPECT_EQ(b.size(), off);  // nothing trailing
}

TEST(PcapWriter, OversizedPacketIsTruncatedToSnaplen) {
  const std::string path = temp_path("snaplen");
  std::vector<uint8_t> big(70000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  {
    PcapWriter w(path);
    ASSERT_TRUE(w.ok()) << w.error();
    w.write(Instant::from_ns(42), big);
  }
  const std::vector<uint8_t> b = read_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(b.size(), 24u + 16u + 65535u);
  EXPECT_EQ(le32(b, 24 + 4), 42u);
  EXPECT_EQ(le32(b, 24 + 8), 65535u);   // incl_len
  EXPECT_EQ(le32(b, 24 + 12), 70000u);  // orig_len
  EXPECT_TRUE(std::equal(big.begin(), big.begin() + 65535, b.begin() + 40));
}

TEST(PcapWriter, FlushMakesDataVisibleBeforeClose) {
  const std::string path = temp_path("flush");
  PcapWriter w(path);
  ASSERT_TRUE(w.ok()) << w.error();
  const std::vector<uint8_t> pkt = ipv4_packet(10, 1);
  w.write(Instant::from_ns(5), pkt);
  w.flush();
  EXPECT_EQ(read_file(path).size(), 24u + 16u + pkt.size());
  EXPECT_TRUE(w.ok());
  std::remove(path.c_str());
}

TEST(PcapWriter, IdenticalInputGivesIdenticalBytes) {
  const std::string a = temp_path("det_a");
  const std::string b = temp_path("det_b");
  write_all(a, sample_records());
  write_all(b, sample_records());
  const std::vector<uint8_t> ba = read_file(a);
  const std::vector<uint8_t> bb = read_file(b);
  std::remove(a.c_str());
  std::remove(b.c_str());
  EXPECT_GT(ba.size(), 24u);
  EXPECT_EQ(ba, bb);
}

TEST(PcapWriter, UnwritablePathReportsError) {
  const std::string path = "/nonexistent-vigil-dir/sub/out.pcap";
  PcapWriter w(path);
  EXPECT_FALSE(w.ok());
  EXPECT_NE(w.error().find(path), std::string::npos) << w.error();
  EXPECT_NE(w.error().find(std::strerror(ENOENT)), std::string::npos) << w.error();
  // Writes and flushes on a failed writer are harmless no-ops.
  const std::vector<uint8_t> pkt = ipv4_packet(4, 0);
  w.write(Instant::zero(), pkt);
  w.flush();
  EXPECT_EQ(w.packets_written(), 0u);
}

// /dev/full accepts open(2) and fails every write(2) with ENOSPC: a full
// disk. The writer buffers 1 MB, so a short capture fails only when the
// buffer reaches the device, at close(); that is where it must be reported
// (issue 12 point 6: `vigil sim --pcap` on a full disk said success).
TEST(PcapWriter, FullDiskFailsAtCloseNamingFileAndErrno) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  PcapWriter w("/dev/full");
  ASSERT_TRUE(w.ok()) << w.error();  // the header is still in the buffer
  const std::vector<uint8_t> pkt = ipv4_packet(40, 1);
  w.write(Instant::from_ns(5), pkt);
  EXPECT_FALSE(w.close());
  EXPECT_EQ(w.error(), std::string("cannot write pcap file /dev/full: ") + std::strerror(ENOSPC) +
                           " (at close)");
  EXPECT_FALSE(w.ok());
  EXPECT_FALSE(w.close());  // closing twice keeps the answer
}

TEST(PcapWriter, FullDiskFailsAtFlushAndAtAWriteThatOverflowsTheBuffer) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  PcapWriter f("/dev/full");
  const std::vector<uint8_t> pkt = ipv4_packet(40, 1);
  f.write(Instant::zero(), pkt);
  f.flush();
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.error(), std::string("cannot write pcap file /dev/full: ") + std::strerror(ENOSPC) +
                           " (at flush)");
  EXPECT_FALSE(f.close());

  // 1 MB of 65535-byte packets fills the buffer: some write fails, and every
  // packet after it is not counted.
  PcapWriter w("/dev/full");
  const std::vector<uint8_t> big(65535, 0x45);
  for (int i = 0; i < 40; ++i) w.write(Instant::zero(), big);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.error(), std::string("cannot write pcap file /dev/full: ") + std::strerror(ENOSPC) +
                           " (at write)");
  EXPECT_LT(w.packets_written(), 40u);
  EXPECT_FALSE(w.close());
}

// Cross-check with a real reader when one is installed.
TEST(PcapWriter, TcpdumpReadsFile) {
  const char* tcpdump = "/usr/bin/tcpdump";
  if (::access(tcpdump, X_OK) != 0) GTEST_SKIP() << "tcpdump not installed";
  const std::string path = temp_path("tcpdump");
  write_all(path, sample_records());
  const std::string cmd =
      std::string(tcpdump) + " -nn -tt --time-stamp-precision=nano -r " + path + " 2>/dev/null";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) out += line;
  const int status = ::pclose(p);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << out;
  // One line per packet, each starting with its nanosecond timestamp.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_NE(out.find("0.000000000 IP 10.0.0.1 > 10.0.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("1.500000007 IP 10.0.0.1 > 10.0.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("3.999999999 IP 10.0.0.1 > 10.0.0.2"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil::link
