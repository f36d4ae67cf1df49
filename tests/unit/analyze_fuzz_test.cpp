// Fuzz test of the whole read-and-analyse path: capture reader, flow
// analyzer, story builder, congestion detectors and HTML report, over many
// mutated and random capture files. Deterministic (fixed seed); the point is
// that no input crashes it or trips the sanitizers, and that the counters
// stay consistent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/analyze_pipeline.hpp"
#include "sim/scenario.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::analyze {
namespace {

using Bytes = std::vector<uint8_t>;

// Many small files: in memory (/dev/shm) when there is one, to spare the disk.
std::string temp_path(const std::string& name) {
  const std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : ::testing::TempDir();
  return dir + "vigil_fuzz_" + std::to_string(::getpid()) + "_" + name;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes simulated(const std::string& scenario,
                std::vector<std::pair<std::string, std::string>> sets) {
  sim::ScenarioParams params;
  params.seed = 5;
  params.sets = std::move(sets);
  params.pcap_path = temp_path(scenario + ".pcap");
  sim::ScenarioResult result;
  EXPECT_EQ(sim::run_scenario(scenario, params, &result), "");
  Bytes b = read_file(params.pcap_path);
  std::remove(params.pcap_path.c_str());
  EXPECT_GT(b.size(), 24u) << scenario;
  return b;
}

void put32(Bytes* b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A classic pcap (little-endian, microseconds) with Ethernet framing, built
// byte by byte (pcap-savefile(5)), with a SYN, a SYN-ACK and some data.
Bytes constructed() {
  Bytes b;
  put32(&b, 0xa1b2c3d4);
  b.insert(b.end(), {2, 0, 4, 0});
  put32(&b, 0);
  put32(&b, 0);
  put32(&b, 262144);
  put32(&b, 1);  // Ethernet
  std::vector<uint8_t> buf(1600);
  const std::vector<uint8_t> payload(300, 0x42);
  for (uint32_t i = 0; i < 12; ++i) {
    const bool from_a = i % 2 == 0;
    wire::Ipv4Fields ip;
    ip.src = from_a ? wire::Ipv4Addr::of(192, 168, 1, 1) : wire::Ipv4Addr::of(192, 168, 1, 2);
    ip.dst = from_a ? wire::Ipv4Addr::of(192, 168, 1, 2) : wire::Ipv4Addr::of(192, 168, 1, 1);
    wire::TcpFields tcp;
    tcp.src_port = from_a ? 5555 : 443;
    tcp.dst_port = from_a ? 443 : 5555;
    tcp.seq = from_a ? 100 + i * 300 : 7000;
    tcp.ack = from_a ? 7001 : 100 + i * 300;
    tcp.flags = i == 0   ? wire::tcp_flags::kSyn
                : i == 1 ? wire::tcp_flags::kSyn | wire::tcp_flags::kAck
                         : wire::tcp_flags::kAck;
    tcp.window = 1000;
    wire::TcpOptions opt;
    if (i < 2) {
      opt.has_window_scale = true;
      opt.window_scale = 7;
    }
    const size_t n = wire::build_ipv4_tcp(
        buf, ip, tcp, opt,
        from_a && i >= 2 ? std::span<const uint8_t>(payload) : std::span<const uint8_t>{});
    Bytes frame = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    frame.insert(frame.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    put32(&b, 1'700'000'000 + i);
    put32(&b, i * 1000);
    put32(&b, static_cast<uint32_t>(frame.size()));
    put32(&b, static_cast<uint32_t>(frame.size()));
    b.insert(b.end(), frame.begin(), frame.end());
  }
  return b;
}

TEST(AnalyzeFuzzTest, MutatedAndRandomCaptures) {
  const std::vector<Bytes> bases = {
      constructed(),
      simulated("handshake-close", {}),
      simulated("bulk-lossy", {{"bytes", "20k"}}),
      simulated("keepalive-dead-peer",
                {{"keepalive.idle", "2s"}, {"keepalive.interval", "1s"}, {"keepalive.count", "3"}}),
      simulated("zero-window-persist", {{"limit", "60s"}}),
  };
  std::mt19937_64 rng(20250401);  // fixed: the same files every run
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const std::string path = temp_path("case.pcap");
  const int kCases = 1500;
  int opened = 0;
  uint64_t frames = 0;
  for (int i = 0; i < kCases; ++i) {
    Bytes b = bases[static_cast<size_t>(i) % bases.size()];
    switch (rng() % 7) {
      case 0:  // flip bytes anywhere past the file header
        for (size_t k = 1 + below(8); k > 0; --k) b[24 + below(b.size() - 24)] ^= 1u << below(8);
        break;
      case 1:  // truncate anywhere
        b.resize(below(b.size() + 1));
        break;
      case 2: {  // an extreme 32-bit value (lengths in record headers, seq ...)
        const uint32_t vals[] = {0, 1, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 40, 20};
        const size_t at = below(b.size() - 4);
        const uint32_t v = vals[below(std::size(vals))];
        for (int k = 0; k < 4; ++k)
          b[at + static_cast<size_t>(k)] = static_cast<uint8_t>(v >> (8 * k));
        break;
      }
      case 3: {  // insert random bytes
        Bytes junk(1 + below(64));
        for (auto& c : junk) c = static_cast<uint8_t>(rng());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(24 + below(b.size() - 24)), junk.begin(),
                 junk.end());
        break;
      }
      case 4: {  // duplicate a region (records repeated or split)
        const size_t from = 24 + below(b.size() - 24);
        const size_t len = std::min(b.size() - from, 1 + below(200));
        const Bytes region(b.begin() + static_cast<std::ptrdiff_t>(from),
                           b.begin() + static_cast<std::ptrdiff_t>(from + len));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(24 + below(b.size() - 24)), region.begin(),
                 region.end());
        break;
      }
      case 5: {  // random bytes after a valid file header
        b.resize(24 + below(2000));
        for (size_t k = 24; k < b.size(); ++k) b[k] = static_cast<uint8_t>(rng());
        break;
      }
      default: {  // random bytes from the start (bad magic, mostly)
        b.resize(below(300));
        for (auto& c : b) c = static_cast<uint8_t>(rng());
        break;
      }
    }
    write_file(path, b);
    const PipelineOutcome o = run_analyze_pipeline(path);
    EXPECT_EQ(pipeline_inconsistency(o), "") << "case " << i;
    opened += o.opened ? 1 : 0;
    frames += o.reader.frames;
  }
  std::remove(path.c_str());
  // Most mutations keep the file header, so most files open and yield
  // frames: the analyzer really ran on them.
  EXPECT_GT(opened, kCases / 2);
  EXPECT_GT(frames, static_cast<uint64_t>(kCases));
}

}  // namespace
}  // namespace vigil::analyze
