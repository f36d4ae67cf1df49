// Unit tests for analyze::CaptureReader. Capture files are written by libpcap
// itself (pcap_dump) or, for pcapng and odd link types, by hand following
// pcap-savefile(5) and the pcapng specification (draft-ietf-opsawg-pcapng).
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "analyze/capture_reader.hpp"
#include "analyze/flow_analyzer.hpp"
#include "analyze/story.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::analyze {
namespace {

using Bytes = std::vector<uint8_t>;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "vigil_reader_" + std::to_string(::getpid()) + "_" + name;
}

// An IPv4/TCP datagram; `tag` varies the sequence number so packets differ.
Bytes tcp_packet(uint32_t tag, size_t payload_len = 0) {
  wire::Ipv4Fields ip;
  ip.src = wire::Ipv4Addr::of(10, 0, 0, 1);
  ip.dst = wire::Ipv4Addr::of(10, 0, 0, 2);
  wire::TcpFields tcp;
  tcp.src_port = 40000;
  tcp.dst_port = 80;
  tcp.seq = 1000 + tag;
  tcp.ack = 7;
  tcp.flags = wire::tcp_flags::kAck;
  tcp.window = 1024;
  Bytes payload(payload_len, 0x5a);
  Bytes out(1500);
  size_t n = wire::build_ipv4_tcp(out, ip, tcp, wire::TcpOptions{}, payload);
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

// A minimal IPv6 header (version 6, no payload).
Bytes ipv6_packet() {
  Bytes b(40, 0);
  b[0] = 0x60;
  b[6] = 59;  // no next header
  b[7] = 64;
  return b;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes ethernet(uint16_t type, const Bytes& payload) {
  Bytes h = {0x02,
             0,
             0,
             0,
             0,
             2,
             0x02,
             0,
             0,
             0,
             0,
             1,
             static_cast<uint8_t>(type >> 8),
             static_cast<uint8_t>(type)};
  return concat(h, payload);
}

Bytes vlan_ethernet(const std::vector<uint16_t>& tags, uint16_t type, const Bytes& payload) {
  Bytes h = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  for (uint16_t tpid : tags) {
    h.push_back(static_cast<uint8_t>(tpid >> 8));
    h.push_back(static_cast<uint8_t>(tpid));
    h.push_back(0x00);  // PCP/DEI/VID = 42
    h.push_back(42);
  }
  h.push_back(static_cast<uint8_t>(type >> 8));
  h.push_back(static_cast<uint8_t>(type));
  return concat(h, payload);
}

Bytes arp_payload() {
  Bytes b(28, 0);
  b[1] = 1;     // Ethernet
  b[2] = 0x08;  // IPv4
  b[4] = 6;
  b[5] = 4;
  b[7] = 1;  // request
  return b;
}

struct Record {
  int64_t sec = 0;
  uint32_t nsec = 0;
  Bytes data;
  uint32_t len = 0;  // 0: same as data.size()
};

// Writes a classic pcap file through libpcap with nanosecond timestamps.
void write_with_libpcap(const std::string& path, int dlt, const std::vector<Record>& records) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, PCAP_TSTAMP_PRECISION_NANO);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(dead);
  for (const Record& r : records) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(r.sec);
    h.ts.tv_usec = static_cast<suseconds_t>(r.nsec);
    h.caplen = static_cast<uint32_t>(r.data.size());
    h.len = r.len != 0 ? r.len : h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, r.data.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

void put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v));
  b->push_back(static_cast<uint8_t>(v >> 8));
}
void put32(Bytes* b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void write_bytes(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  ASSERT_TRUE(out.good());
}

// A classic little-endian nanosecond pcap file with any link type value.
Bytes pcap_by_hand(uint32_t linktype, const std::vector<Record>& records) {
  Bytes b;
  put32(&b, 0xa1b23c4d);
  put16(&b, 2);
  put16(&b, 4);
  put32(&b, 0);
  put32(&b, 0);
  put32(&b, 65535);
  put32(&b, linktype);
  for (const Record& r : records) {
    put32(&b, static_cast<uint32_t>(r.sec));
    put32(&b, r.nsec);
    put32(&b, static_cast<uint32_t>(r.data.size()));
    put32(&b, r.len != 0 ? r.len : static_cast<uint32_t>(r.data.size()));
    b.insert(b.end(), r.data.begin(), r.data.end());
  }
  return b;
}

std::unique_ptr<CaptureReader> open_ok(const std::string& path) {
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_NE(r, nullptr) << error;
  EXPECT_EQ(error, "");
  return r;
}

std::vector<CapturedPacket> read_all(CaptureReader* r, std::vector<Bytes>* copies) {
  std::vector<CapturedPacket> out;
  CapturedPacket p;
  while (r->next(&p)) {
    copies->emplace_back(p.ipv4.begin(), p.ipv4.end());
    out.push_back(p);
  }
  return out;
}

constexpr int64_t kSec = 1'700'000'000;

// ---------------------------------------------------------------------------
// Every link type: an IPv4 packet, a non-IPv4 frame, a too-short frame, and
// a second IPv4 packet, in that order.

struct LinkCase {
  const char* name;
  int dlt;           // written with pcap_open_dead
  int expected_dlt;  // what pcap_datalink reports back
  std::function<Bytes(const Bytes&)> wrap_ipv4;
  Bytes non_ipv4;
  Bytes too_short;
};

Bytes sll(uint16_t proto, const Bytes& payload) {
  Bytes h(16, 0);
  h[1] = 0;  // packet to us
  h[3] = 1;  // ARPHRD_ETHER
  h[5] = 6;  // address length
  h[14] = static_cast<uint8_t>(proto >> 8);
  h[15] = static_cast<uint8_t>(proto);
  return concat(h, payload);
}

Bytes sll2(uint16_t proto, const Bytes& payload) {
  Bytes h(20, 0);
  h[0] = static_cast<uint8_t>(proto >> 8);
  h[1] = static_cast<uint8_t>(proto);
  h[7] = 2;   // interface index
  h[9] = 1;   // ARPHRD_ETHER
  h[11] = 6;  // address length
  return concat(h, payload);
}

Bytes null_family(uint32_t family, const Bytes& payload) {
  Bytes h(4);
  std::memcpy(h.data(), &family, 4);  // host order
  return concat(h, payload);
}

Bytes loop_family(uint32_t family, const Bytes& payload) {
  Bytes h = {static_cast<uint8_t>(family >> 24), static_cast<uint8_t>(family >> 16),
             static_cast<uint8_t>(family >> 8), static_cast<uint8_t>(family)};
  return concat(h, payload);
}

std::vector<LinkCase> link_cases() {
  return {
      {"Ethernet", DLT_EN10MB, DLT_EN10MB, [](const Bytes& ip) { return ethernet(0x0800, ip); },
       ethernet(0x0806, arp_payload()), Bytes(13, 0xff)},
      // Version 5 (ST, RFC 1819): neither IPv4 nor IPv6.
      {"Raw", DLT_RAW, DLT_RAW, [](const Bytes& ip) { return ip; }, Bytes(20, 0x50), Bytes{}},
      {"Ipv4", DLT_IPV4, DLT_IPV4, [](const Bytes& ip) { return ip; }, Bytes(20, 0x50), Bytes{}},
      {"LinuxSll", DLT_LINUX_SLL, DLT_LINUX_SLL, [](const Bytes& ip) { return sll(0x0800, ip); },
       sll(0x0806, arp_payload()), Bytes(15, 0)},
      {"LinuxSll2", DLT_LINUX_SLL2, DLT_LINUX_SLL2,
       [](const Bytes& ip) { return sll2(0x0800, ip); }, sll2(0x0806, arp_payload()), Bytes(19, 0)},
      // 10 is Linux's AF_INET6, which no DLT_NULL writer uses (the BSDs'
      // values are 24, 28, 30): not IP.
      {"Null", DLT_NULL, DLT_NULL, [](const Bytes& ip) { return null_family(2, ip); },
       null_family(10, ipv6_packet()), Bytes(3, 0)},
      {"Loop", DLT_LOOP, DLT_LOOP, [](const Bytes& ip) { return loop_family(2, ip); },
       loop_family(7, ipv6_packet()), Bytes(3, 0)},
  };
}

class LinkTypeTest : public ::testing::TestWithParam<LinkCase> {};

TEST_P(LinkTypeTest, StripsLinkHeaderAndCountsFrames) {
  const LinkCase& c = GetParam();
  const std::string path = temp_path(std::string("link_") + c.name + ".pcap");
  const Bytes ip1 = tcp_packet(1, 10);
  const Bytes ip2 = tcp_packet(2, 0);
  write_with_libpcap(path, c.dlt,
                     {{kSec, 123'456'789, c.wrap_ipv4(ip1)},
                      {kSec + 1, 0, c.non_ipv4},
                      {kSec + 1, 5, c.too_short},
                      {kSec + 2, 999'999'999, c.wrap_ipv4(ip2)}});
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), c.expected_dlt);
  std::vector<Bytes> data;
  auto pkts = read_all(r.get(), &data);
  ASSERT_EQ(pkts.size(), 2u);
  EXPECT_EQ(pkts[0].frame, 1u);
  EXPECT_EQ(pkts[0].time.ns(), kSec * 1'000'000'000 + 123'456'789);
  EXPECT_EQ(data[0], ip1);
  EXPECT_EQ(pkts[0].original_length, c.wrap_ipv4(ip1).size());
  EXPECT_FALSE(pkts[0].truncated);
  EXPECT_EQ(pkts[1].frame, 4u);
  EXPECT_EQ(pkts[1].time.ns(), (kSec + 2) * 1'000'000'000 + 999'999'999);
  EXPECT_EQ(data[1], ip2);
  const ReaderStats& s = r->stats();
  EXPECT_EQ(s.frames, 4u);
  EXPECT_EQ(s.ipv4, 2u);
  EXPECT_EQ(s.non_ipv4, 1u);
  EXPECT_EQ(s.bad_link_header, 1u);
  // The end stays the end.
  CapturedPacket p;
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->stats().frames, 4u);
  std::remove(path.c_str());
}

std::string link_case_name(const ::testing::TestParamInfo<LinkCase>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(AllLinkTypes, LinkTypeTest, ::testing::ValuesIn(link_cases()),
                         link_case_name);

// ---------------------------------------------------------------------------

TEST(CaptureReaderTest, EthernetVlanTagsAndPadding) {
  const std::string path = temp_path("vlan.pcap");
  const Bytes ip = tcp_packet(3);  // 40 bytes: Ethernet pads the frame to 60
  Bytes padded = ethernet(0x0800, ip);
  padded.resize(60, 0);
  write_with_libpcap(path, DLT_EN10MB,
                     {{kSec, 1, vlan_ethernet({0x8100}, 0x0800, ip)},
                      {kSec, 2, vlan_ethernet({0x88a8, 0x8100}, 0x0800, ip)},
                      {kSec, 3, vlan_ethernet({0x8100}, 0x86dd, ipv6_packet())},
                      {kSec, 4, Bytes{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 42}},
                      {kSec, 5, padded},
                      {kSec, 6, vlan_ethernet({0x8100, 0x8100, 0x8100}, 0x0800, ip)}});
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  std::vector<Bytes> data;
  auto pkts = read_all(r.get(), &data);
  ASSERT_EQ(pkts.size(), 5u);
  EXPECT_EQ(pkts[0].frame, 1u);
  EXPECT_EQ(data[0], ip);
  EXPECT_EQ(pkts[1].frame, 2u);
  EXPECT_EQ(data[1], ip);
  EXPECT_EQ(pkts[2].frame, 3u);
  EXPECT_EQ(data[2], ipv6_packet());  // IPv6 behind one tag
  EXPECT_EQ(pkts[3].frame, 5u);
  EXPECT_EQ(data[3], ip);  // padding dropped by the IPv4 total length
  EXPECT_EQ(pkts[3].original_length, 60u);
  EXPECT_EQ(pkts[3].time.ns(), kSec * 1'000'000'000 + 5);
  EXPECT_EQ(r->stats().frames, 6u);
  EXPECT_EQ(r->stats().ipv6, 1u);
  // Three tags deep: read too (decapsulate() takes any stack of tags up to
  // kMaxLayers headers; it took two before issue 13 point 4).
  EXPECT_EQ(pkts[4].frame, 6u);
  EXPECT_EQ(data[4], ip);
  EXPECT_EQ(pkts[4].via, "VLAN 42, VLAN 42, VLAN 42");
  EXPECT_EQ(r->stats().non_ipv4, 0u);
  EXPECT_EQ(r->stats().bad_link_header, 1u);
  std::remove(path.c_str());
}

// IPv6 (RFC 8200) on every link type: EtherType 0x86DD (Ethernet, SLL,
// SLL2), the version nibble (raw), AF_INET6 as the BSDs number it (NULL in
// the writer's byte order, LOOP big-endian). Ethernet padding is dropped by
// the Payload Length.
TEST(CaptureReaderTest, Ipv6OnEveryLinkType) {
  Bytes v6 = ipv6_packet();
  v6[5] = 4;  // 4 bytes of payload (next header 59: nothing to parse)
  v6.insert(v6.end(), {1, 2, 3, 4});
  struct Case {
    int dlt;
    Bytes frame;
  };
  const std::vector<Case> cases = {
      {DLT_EN10MB, concat(ethernet(0x86dd, v6), Bytes(6, 0))},  // padded to 60
      {DLT_RAW, v6},
      {DLT_LINUX_SLL, sll(0x86dd, v6)},
      {DLT_LINUX_SLL2, sll2(0x86dd, v6)},
      {DLT_NULL, null_family(24, v6)},
      {DLT_NULL, null_family(28, v6)},
      {DLT_NULL, null_family(30, v6)},
      {DLT_LOOP, loop_family(30, v6)},
  };
  for (const Case& c : cases) {
    const std::string path = temp_path("v6_" + std::to_string(c.dlt) + ".pcap");
    write_with_libpcap(path, c.dlt, {{kSec, 1, c.frame}, {kSec, 2, c.frame}});
    auto r = open_ok(path);
    ASSERT_NE(r, nullptr);
    std::vector<Bytes> data;
    auto pkts = read_all(r.get(), &data);
    ASSERT_EQ(pkts.size(), 2u) << c.dlt;
    EXPECT_EQ(data[0], v6) << c.dlt;
    EXPECT_EQ(data[1], v6) << c.dlt;
    EXPECT_EQ(r->stats().ipv6, 2u);
    EXPECT_EQ(r->stats().ipv4, 0u);
    EXPECT_EQ(r->stats().non_ipv4, 0u);
    std::remove(path.c_str());
  }
}

TEST(CaptureReaderTest, TruncatedPacketIsFlagged) {
  const std::string path = temp_path("snap.pcap");
  const Bytes ip = tcp_packet(4, 200);
  const Bytes cut(ip.begin(), ip.begin() + 54);
  write_with_libpcap(path, DLT_RAW, {{kSec, 7, cut, static_cast<uint32_t>(ip.size())}});
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.original_length, ip.size());
  EXPECT_EQ(Bytes(p.ipv4.begin(), p.ipv4.end()), cut);
  EXPECT_FALSE(r->next(&p));
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, RawLinktype14AndNullSwappedFamily) {
  const std::string path = temp_path("raw14.pcap");
  const Bytes ip = tcp_packet(5);
  write_bytes(path, pcap_by_hand(14, {{kSec, 8, ip}}));
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), 14);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_EQ(Bytes(p.ipv4.begin(), p.ipv4.end()), ip);
  EXPECT_EQ(p.time.ns(), kSec * 1'000'000'000 + 8);

  // DLT_NULL written by a machine of the other byte order.
  write_bytes(path, pcap_by_hand(0, {{kSec, 9, concat(Bytes{0, 0, 0, 2}, ip)},
                                     {kSec, 10, concat(Bytes{2, 0, 0, 0}, ip)}}));
  r = open_ok(path);
  ASSERT_NE(r, nullptr);
  std::vector<Bytes> data;
  auto pkts = read_all(r.get(), &data);
  ASSERT_EQ(pkts.size(), 2u);
  EXPECT_EQ(data[0], ip);
  EXPECT_EQ(data[1], ip);
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, ProgressBytesReachFileSize) {
  const std::string path = temp_path("progress.pcap");
  std::vector<Record> recs;
  for (uint32_t i = 0; i < 50; ++i) recs.push_back({kSec + i, i, tcp_packet(i, i * 3)});
  write_with_libpcap(path, DLT_RAW, recs);
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  uint64_t size = 24;
  for (const Record& rec : recs) size += 16 + rec.data.size();
  EXPECT_EQ(r->file_size(), size);
  EXPECT_LE(r->bytes_read(), size);
  CapturedPacket p;
  uint64_t last = 0;
  int n = 0;
  while (r->next(&p)) {
    EXPECT_GE(r->bytes_read(), last);
    last = r->bytes_read();
    ++n;
  }
  EXPECT_EQ(n, 50);
  EXPECT_EQ(r->bytes_read(), size);
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, CutOffLastRecordIsReportedNotTakenForTheEnd) {
  const std::string path = temp_path("cutoff.pcap");
  Bytes file = pcap_by_hand(228, {{kSec, 1, tcp_packet(1)}, {kSec, 2, tcp_packet(2, 100)}});
  file.erase(file.end() - 30, file.end());  // the capture was killed mid-write
  write_bytes(path, file);
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_EQ(p.frame, 1u);
  EXPECT_EQ(r->error(), "");
  EXPECT_FALSE(r->next(&p));
  EXPECT_FALSE(r->next(&p));
  // Frame 2's record says 140 captured bytes; only 110 are there.
  EXPECT_EQ(r->error().rfind("frame 2: ", 0), 0u) << r->error();
  EXPECT_NE(r->error().find("truncated"), std::string::npos) << r->error();
  EXPECT_EQ(r->stats().frames, 1u);
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, CutInsideRecordHeader) {
  const std::string path = temp_path("cuthdr.pcap");
  Bytes file = pcap_by_hand(228, {{kSec, 1, tcp_packet(1)}});
  file.insert(file.end(), {1, 2, 3, 4, 5, 6, 7});  // 7 of a record header's 16 bytes
  write_bytes(path, file);
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->error().rfind("frame 2: ", 0), 0u) << r->error();
}

TEST(CaptureReaderTest, CleanEndHasNoError) {
  const std::string path = temp_path("clean.pcap");
  write_bytes(path, pcap_by_hand(228, {{kSec, 1, tcp_packet(1)}}));
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->error(), "");
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, GarbageRecordHeaderInTheMiddle) {
  const std::string path = temp_path("garbage_mid.pcap");
  Bytes file = pcap_by_hand(228, {{kSec, 1, tcp_packet(1)}});
  // A record header claiming 0x7fffffff captured bytes: more than any
  // snaplen, which libpcap refuses rather than allocating it.
  put32(&file, kSec);
  put32(&file, 0);
  put32(&file, 0x7fffffff);
  put32(&file, 0x7fffffff);
  file.insert(file.end(), 64, 0xee);
  write_bytes(path, file);
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_FALSE(r->next(&p));
  EXPECT_EQ(r->error().rfind("frame 2: ", 0), 0u) << r->error();
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, BadMagic) {
  const std::string path = temp_path("badmagic.pcap");
  Bytes file = pcap_by_hand(228, {{kSec, 1, tcp_packet(1)}});
  file[0] = 0xde;
  file[1] = 0xad;
  file[2] = 0xbe;
  file[3] = 0xef;
  write_bytes(path, file);
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(error.rfind("cannot open " + path + ": ", 0), 0u) << error;
  EXPECT_NE(error.find("unknown file format"), std::string::npos) << error;  // libpcap's words
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------
// What the analyzer does with odd datagrams: each is either analysed or
// counted under its reason, and nothing is retained when streaming.

struct Seen {
  std::vector<PacketLabels> packets;
};

FlowAnalyzer streaming(Seen* seen) {
  return FlowAnalyzer([seen](const Flow&, const PacketLabels& p) { seen->packets.push_back(p); });
}

TEST(AnalyzerBadInputTest, SnaplenCutSegmentAnalysedFromHeaders) {
  Seen seen;
  FlowAnalyzer a = streaming(&seen);
  const Bytes whole = tcp_packet(10, 1200);
  a.add(1, Instant::zero(), Bytes(whole.begin(), whole.begin() + 54));  // tcpdump -s 54
  a.add(2, Instant::zero(), Bytes(whole.begin(), whole.begin() + 30));  // inside the TCP header
  a.add(3, Instant::zero(), Bytes(whole.begin(), whole.begin() + 12));  // inside the IP header
  ASSERT_EQ(seen.packets.size(), 1u);
  EXPECT_EQ(seen.packets[0].len, 1200u);  // from the IPv4 total length (RFC 791)
  EXPECT_TRUE(has(seen.packets[0].labels, Label::kData));
  EXPECT_EQ(a.stats().snaplen_cut, 1u);
  EXPECT_EQ(a.stats().cut_headers, 2u);
  EXPECT_EQ(a.stats().tcp, 1u);
  EXPECT_TRUE(a.packets().empty());  // streaming keeps nothing
}

TEST(AnalyzerBadInputTest, NonTcpFragmentsAndMalformedAreCounted) {
  Seen seen;
  FlowAnalyzer a = streaming(&seen);
  Bytes udp = tcp_packet(1, 8);
  udp[9] = 17;  // UDP
  a.add(1, Instant::zero(), udp);
  Bytes cut_udp = tcp_packet(1, 400);
  cut_udp[9] = 17;
  cut_udp.resize(60);  // cut by the snaplen, still not TCP
  a.add(2, Instant::zero(), cut_udp);
  Bytes frag = tcp_packet(2, 100);
  frag[6] |= 0x20;  // more fragments
  a.add(3, Instant::zero(), frag);
  Bytes later_frag = tcp_packet(3, 100);
  later_frag[7] = 0x10;  // fragment offset 16 x 8 bytes
  a.add(4, Instant::zero(), later_frag);
  Bytes cut_frag = frag;
  cut_frag.resize(50);
  a.add(5, Instant::zero(), cut_frag);
  Bytes bad_offset = tcp_packet(4, 10);
  bad_offset[32] = 0x40;  // TCP data offset 4 (< 5, RFC 9293 §3.1)
  a.add(6, Instant::zero(), bad_offset);
  Bytes bad_ihl = tcp_packet(5);
  bad_ihl[0] = 0x44;  // IHL 4
  a.add(7, Instant::zero(), bad_ihl);
  Bytes short_total = tcp_packet(6);
  short_total[2] = 0;
  short_total[3] = 10;  // total length below the header
  a.add(8, Instant::zero(), short_total);
  a.add(9, Instant::zero(), tcp_packet(7));
  EXPECT_EQ(a.stats().non_tcp, 2u);
  EXPECT_EQ(a.stats().fragments, 3u);
  EXPECT_EQ(a.stats().malformed_tcp, 1u);
  EXPECT_EQ(a.stats().malformed_ip, 2u);
  EXPECT_EQ(a.stats().tcp, 1u);
  ASSERT_EQ(seen.packets.size(), 1u);
  EXPECT_EQ(seen.packets[0].frame, 9u);
  EXPECT_EQ(a.malformed(), 3u);
}

TEST(AnalyzerBadInputTest, RandomGarbageNeverCrashes) {
  Seen seen;
  FlowAnalyzer a = streaming(&seen);
  StoryBuilder stories;
  uint64_t x = 0x9e3779b97f4a7c15ull;  // splitmix64, fixed seed
  auto next = [&x] {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t frames = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(next() % 120);
    for (auto& c : b) c = static_cast<uint8_t>(next());
    if (!b.empty() && i % 2 == 0) b[0] = 0x45;  // mostly IPv4-looking
    if (b.size() > 9 && i % 4 == 0) b[9] = 6;   // and TCP
    ++frames;
    a.add(frames, Instant::from_ns(static_cast<int64_t>(frames) * 1000), b);
  }
  for (const auto& p : seen.packets) stories.add(a.flows()[p.flow], p);
  a.finish();
  const auto st = stories.finish(a.flows());
  EXPECT_EQ(st.size(), a.flows().size());
  const AnalyzerStats& s = a.stats();
  // Every datagram is either a segment or counted under one reason.
  EXPECT_EQ(s.tcp + s.non_tcp + s.fragments + s.malformed_ip + s.malformed_tcp + s.cut_headers,
            frames);
  EXPECT_EQ(s.tcp, seen.packets.size());
}

// ---------------------------------------------------------------------------
// pcapng, written by hand: Section Header Block, Interface Description Block,
// Enhanced Packet Blocks, all little-endian.

void pad4(Bytes* b) {
  while (b->size() % 4 != 0) b->push_back(0);
}

void put_block(Bytes* file, uint32_t type, const Bytes& body) {
  uint32_t total = static_cast<uint32_t>(12 + body.size());
  put32(file, type);
  put32(file, total);
  file->insert(file->end(), body.begin(), body.end());
  put32(file, total);
}

Bytes pcapng_file(uint16_t linktype, int tsresol,
                  const std::vector<std::pair<uint64_t, Bytes>>& pkts) {
  Bytes f;
  Bytes shb;
  put32(&shb, 0x1a2b3c4d);  // byte-order magic
  put16(&shb, 1);
  put16(&shb, 0);
  put32(&shb, 0xffffffff);  // section length unknown
  put32(&shb, 0xffffffff);
  put_block(&f, 0x0a0d0d0a, shb);

  Bytes idb;
  put16(&idb, linktype);
  put16(&idb, 0);
  put32(&idb, 0);  // snaplen: none
  if (tsresol >= 0) {
    put16(&idb, 9);  // if_tsresol
    put16(&idb, 1);
    idb.push_back(static_cast<uint8_t>(tsresol));
    pad4(&idb);
    put16(&idb, 0);  // opt_endofopt
    put16(&idb, 0);
  }
  put_block(&f, 1, idb);

  for (const auto& [ts, data] : pkts) {
    Bytes epb;
    put32(&epb, 0);  // interface 0
    put32(&epb, static_cast<uint32_t>(ts >> 32));
    put32(&epb, static_cast<uint32_t>(ts));
    put32(&epb, static_cast<uint32_t>(data.size()));
    put32(&epb, static_cast<uint32_t>(data.size()));
    epb.insert(epb.end(), data.begin(), data.end());
    pad4(&epb);
    put_block(&f, 6, epb);
  }
  return f;
}

TEST(CaptureReaderTest, PcapngNanosecondResolution) {
  const std::string path = temp_path("ns.pcapng");
  const Bytes ip1 = tcp_packet(1, 3);  // 43 bytes: the block needs padding
  const Bytes ip2 = tcp_packet(2);
  const uint64_t t1 = uint64_t{kSec} * 1'000'000'000 + 123'456'789;
  const Bytes file = pcapng_file(1, 9,
                                 {{t1, ethernet(0x0800, ip1)},
                                  {t1 + 1, ethernet(0x0806, arp_payload())},
                                  {t1 + 2, ethernet(0x0800, ip2)}});
  write_bytes(path, file);
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), DLT_EN10MB);
  std::vector<Bytes> data;
  auto pkts = read_all(r.get(), &data);
  ASSERT_EQ(pkts.size(), 2u);
  EXPECT_EQ(pkts[0].frame, 1u);
  EXPECT_EQ(pkts[0].time.ns(), static_cast<int64_t>(t1));
  EXPECT_EQ(data[0], ip1);
  EXPECT_EQ(pkts[1].frame, 3u);
  EXPECT_EQ(pkts[1].time.ns(), static_cast<int64_t>(t1 + 2));
  EXPECT_EQ(data[1], ip2);
  EXPECT_EQ(r->stats().non_ipv4, 1u);
  EXPECT_EQ(r->file_size(), file.size());
  EXPECT_EQ(r->bytes_read(), file.size());
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, PcapngDefaultMicrosecondsScaledToNanos) {
  const std::string path = temp_path("us.pcapng");
  const Bytes ip = tcp_packet(6);
  const uint64_t t_us = uint64_t{kSec} * 1'000'000 + 654'321;
  write_bytes(path, pcapng_file(228, -1, {{t_us, ip}}));
  auto r = open_ok(path);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->link_type(), DLT_IPV4);
  CapturedPacket p;
  ASSERT_TRUE(r->next(&p));
  EXPECT_EQ(p.time.ns(), kSec * 1'000'000'000 + 654'321'000);
  EXPECT_EQ(Bytes(p.ipv4.begin(), p.ipv4.end()), ip);
  EXPECT_FALSE(r->next(&p));
  std::remove(path.c_str());
}

// ---------------------------------------------------------------------------
// Errors.

TEST(CaptureReaderTest, UnsupportedLinkTypeNamesSupportedOnes) {
  const std::string path = temp_path("wifi.pcap");
  write_with_libpcap(path, DLT_FDDI, {{kSec, 0, Bytes(30, 0)}});
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_EQ(r, nullptr);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("link type 10 ("), std::string::npos) << error;
  for (const char* name : {"EN10MB", "RAW", "IPV4", "LINUX_SLL", "LINUX_SLL2", "NULL", "LOOP"}) {
    EXPECT_NE(error.find(name), std::string::npos) << name << " in " << error;
  }
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, MissingFile) {
  const std::string path = temp_path("does_not_exist.pcap");
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(error, "cannot open " + path + ": No such file or directory");
}

TEST(CaptureReaderTest, NotACaptureFile) {
  const std::string path = temp_path("notes.txt");
  const std::string text = "this is not a capture file, just some notes\n";
  write_bytes(path, Bytes(text.begin(), text.end()));
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_EQ(r, nullptr);
  EXPECT_EQ(error.rfind("cannot open " + path + ": ", 0), 0u) << error;
  EXPECT_GT(error.size(), ("cannot open " + path + ": ").size()) << error;
  std::remove(path.c_str());
}

TEST(CaptureReaderTest, EmptyFile) {
  const std::string path = temp_path("empty.pcap");
  write_bytes(path, Bytes{});
  std::string error;
  auto r = CaptureReader::open(path, &error);
  EXPECT_EQ(r, nullptr);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vigil::analyze
