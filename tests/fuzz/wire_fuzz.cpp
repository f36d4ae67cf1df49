// libFuzzer target for the wire parsers: each input is one raw datagram.
// parse_packet runs with and without checksum verification, then the IPv6
// parser and the TCP options parser run on the same bytes. Findings are
// crashes, sanitizer reports and broken view invariants: every view lies
// inside the input, lengths agree with the headers, and a TCP segment that
// parsed rebuilds (wire builder) into one that parses to the same fields.
// Built only with -DVIGIL_LIBFUZZER=ON (clang); run with scripts/fuzz.sh wire.
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_check.hpp"
#include "wire/ipv6.hpp"
#include "wire/packet.hpp"

namespace {

using namespace vigil;
using Bytes = std::span<const uint8_t>;

bool inside(Bytes inner, Bytes outer) {
  if (inner.empty()) return true;
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

void check_options(const wire::TcpOptions& o) {
  VIGIL_FUZZ_CHECK(o.sack_count <= 4);
  VIGIL_FUZZ_CHECK(o.encoded_size() <= wire::kTcpMaxOptions);
  VIGIL_FUZZ_CHECK(o.encoded_size() % 4 == 0);
}

// The segment rebuilt from the parsed fields parses back to the same fields
// (options the builder knows: MSS, window scale, SACK-permitted, timestamps,
// user timeout; SACK blocks may be left out when they do not fit).
void check_rebuild(const wire::PacketView& p) {
  const wire::TcpView& t = p.tcp;
  wire::Ipv4Fields ip;
  ip.src = p.ip.src();
  ip.dst = p.ip.dst();
  wire::TcpFields f;
  f.src_port = t.src_port();
  f.dst_port = t.dst_port();
  f.seq = t.seq();
  f.ack = t.ack();
  f.flags = t.flags();
  f.window = t.window();
  std::vector<uint8_t> buf(70000);
  const size_t n = wire::build_ipv4_tcp(buf, ip, f, t.options(), t.payload());
  if (n == 0) {
    // Only refused when the whole would exceed an IPv4 datagram.
    VIGIL_FUZZ_CHECK(t.payload().size() + 60 > 65535 - 20);
    return;
  }
  wire::PacketView q;
  VIGIL_FUZZ_CHECK(wire::parse_packet(Bytes(buf.data(), n), &q) == wire::Drop::kNone);
  VIGIL_FUZZ_CHECK(q.kind == wire::PacketView::Kind::kTcp);
  const wire::TcpView& u = q.tcp;
  VIGIL_FUZZ_CHECK(u.src_port() == t.src_port() && u.dst_port() == t.dst_port());
  VIGIL_FUZZ_CHECK(u.seq() == t.seq() && u.ack() == t.ack());
  VIGIL_FUZZ_CHECK(u.flags() == t.flags() && u.window() == t.window());
  VIGIL_FUZZ_CHECK(u.payload().size() == t.payload().size());
  const wire::TcpOptions &a = t.options(), &b = u.options();
  VIGIL_FUZZ_CHECK(a.has_mss == b.has_mss && (!a.has_mss || a.mss == b.mss));
  VIGIL_FUZZ_CHECK(a.has_window_scale == b.has_window_scale &&
                   (!a.has_window_scale || a.window_scale == b.window_scale));
  VIGIL_FUZZ_CHECK(a.sack_permitted == b.sack_permitted);
  VIGIL_FUZZ_CHECK(a.has_timestamps == b.has_timestamps &&
                   (!a.has_timestamps || (a.ts_val == b.ts_val && a.ts_ecr == b.ts_ecr)));
  VIGIL_FUZZ_CHECK(b.sack_count <= a.sack_count);
  for (uint8_t i = 0; i < b.sack_count; ++i) VIGIL_FUZZ_CHECK(a.sack[i] == b.sack[i]);
}

void check_packet(Bytes in, bool verify) {
  wire::PacketView p;
  const wire::Drop d = wire::parse_packet(in, &p, verify);
  if (d != wire::Drop::kNone) return;
  // IPv4 view: header and payload inside the input, header then payload.
  const Bytes h = p.ip.header(), pl = p.ip.payload();
  VIGIL_FUZZ_CHECK(h.size() >= wire::kIpv4MinHeader && h.size() <= 60 && h.size() % 4 == 0);
  VIGIL_FUZZ_CHECK(h.data() == in.data());
  VIGIL_FUZZ_CHECK(inside(h, in) && inside(pl, in));
  VIGIL_FUZZ_CHECK(pl.empty() || pl.data() == in.data() + h.size());
  VIGIL_FUZZ_CHECK(h.size() + pl.size() <= in.size());
  if (p.kind == wire::PacketView::Kind::kTcp) {
    VIGIL_FUZZ_CHECK(p.ip.protocol() == wire::kProtoTcp);
    const Bytes tp = p.tcp.payload();
    VIGIL_FUZZ_CHECK(inside(tp, pl));
    VIGIL_FUZZ_CHECK(tp.size() + wire::kTcpMinHeader <= pl.size());
    // The payload ends where the IP payload ends (no trailing bytes lost).
    VIGIL_FUZZ_CHECK(tp.empty() || tp.data() + tp.size() == pl.data() + pl.size());
    VIGIL_FUZZ_CHECK(p.tcp.seg_len() >= tp.size());
    check_options(p.tcp.options());
    if (verify) check_rebuild(p);
  } else {
    VIGIL_FUZZ_CHECK(p.ip.protocol() == wire::kProtoIcmp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes in(data, size);
  check_packet(in, true);
  check_packet(in, false);

  wire::Ipv6View v6;
  if (wire::Ipv6View::parse(in, &v6) == wire::Drop::kNone) {
    VIGIL_FUZZ_CHECK(inside(v6.payload(), in));
    VIGIL_FUZZ_CHECK(v6.header_length() >= 40 && v6.header_length() <= size);
    VIGIL_FUZZ_CHECK(v6.header_length() + v6.payload().size() <= size);
  }

  // The options parser on its own, on the input's first 40 bytes (an
  // options area is at most 40 bytes, RFC 9293 §3.1).
  wire::TcpOptions o;
  if (wire::TcpOptions::parse(in.first(size < 40 ? size : 40), &o) == wire::Drop::kNone) {
    check_options(o);
    // What the writer produces parses back to the same known options.
    uint8_t area[wire::kTcpMaxOptions] = {};
    const size_t n = o.write(area);
    VIGIL_FUZZ_CHECK(n == o.encoded_size());
    wire::TcpOptions r;
    VIGIL_FUZZ_CHECK(wire::TcpOptions::parse(Bytes(area, n), &r) == wire::Drop::kNone);
    VIGIL_FUZZ_CHECK(r.has_mss == o.has_mss && r.mss == o.mss);
    VIGIL_FUZZ_CHECK(r.has_timestamps == o.has_timestamps && r.ts_val == o.ts_val);
    VIGIL_FUZZ_CHECK(r.has_user_timeout == o.has_user_timeout);
  }
  return 0;
}
