#include "tcp/reset.hpp"

namespace vigil::tcp {

size_t build_reset_reply(std::span<uint8_t> out, const wire::Ipv4View& ip,
                         const wire::TcpView& seg) {
  namespace flags = wire::tcp_flags;
  if (seg.has(flags::kRst)) return 0;  // never answer a reset
  wire::Ipv4Fields f;
  f.src = ip.dst();
  f.dst = ip.src();
  wire::TcpFields t;
  t.src_port = seg.dst_port();
  t.dst_port = seg.src_port();
  if (seg.has(flags::kAck)) {
    t.seq = seg.ack();  // <SEQ=SEG.ACK><CTL=RST>
    t.flags = flags::kRst;
  } else {
    t.seq = 0;  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    t.ack = seg.seq() + seg.seg_len();
    t.flags = flags::kRst | flags::kAck;
  }
  return wire::build_ipv4_tcp(out, f, t, wire::TcpOptions{});
}

}  // namespace vigil::tcp
