// Writes a capture of N one-SYN flows (issue 13 point 10's scale case: a
// SYN scan or a SYN flood as a capture point sees it) for
// scripts/bench-analyze.sh --flows and the HTML budget test.
//
// Usage: gen_syn_flows OUT.pcap N
// Flow i: 10.a.b.c:(1024 + i % 60000) -> 192.0.2.1:80, one SYN at i µs,
// ISN i; a = i / 65536 % 256, b = i / 256 % 256, c = i % 256, so every flow
// has its own 4-tuple up to 16.7 million flows.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "link/pcap_writer.hpp"
#include "wire/packet.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gen_syn_flows OUT.pcap N\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long long n = std::strtoull(argv[2], &end, 10);
  if (end == argv[2] || *end != '\0' || n == 0 || n > (1ull << 24)) {
    std::fprintf(stderr, "gen_syn_flows: N must be 1 .. 16777216\n");
    return 2;
  }
  vigil::link::PcapWriter w(argv[1]);
  std::vector<uint8_t> buf(128);
  for (unsigned long long i = 0; i < n; ++i) {
    vigil::wire::Ipv4Fields ip;
    ip.src = vigil::wire::Ipv4Addr::of(10, static_cast<uint8_t>(i >> 16),
                                       static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
    ip.dst = vigil::wire::Ipv4Addr::of(192, 0, 2, 1);
    vigil::wire::TcpFields t;
    t.src_port = static_cast<uint16_t>(1024 + i % 60000);
    t.dst_port = 80;
    t.seq = static_cast<uint32_t>(i);
    t.flags = vigil::wire::tcp_flags::kSyn;
    t.window = 64240;
    vigil::wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    buf.assign(128, 0);
    const size_t len = vigil::wire::build_ipv4_tcp(buf, ip, t, o, {});
    w.write(vigil::Instant::zero() + vigil::Duration::micros(static_cast<int64_t>(i)),
            std::span<const uint8_t>(buf.data(), len));
  }
  if (!w.close()) {
    std::fprintf(stderr, "gen_syn_flows: %s\n", w.error().c_str());
    return 1;
  }
  return 0;
}
