#include "conform/wire_view.hpp"

#include <chrono>

#include "wire/seq.hpp"

namespace vigil::conform {
namespace {

uint32_t be32(const std::byte* p) {
  return (std::to_integer<uint32_t>(p[0]) << 24) | (std::to_integer<uint32_t>(p[1]) << 16) |
         (std::to_integer<uint32_t>(p[2]) << 8) | std::to_integer<uint32_t>(p[3]);
}
uint16_t be16(const std::byte* p) {
  return static_cast<uint16_t>((std::to_integer<uint32_t>(p[0]) << 8) |
                               std::to_integer<uint32_t>(p[1]));
}

}  // namespace

std::vector<Seg> parse_capture(const std::vector<WireDatagram>& capture) {
  std::vector<Seg> out;
  out.reserve(capture.size());
  bool target_started = false;
  uint32_t snd_max = 0;
  uint32_t peer_ack = 0;
  bool peer_ack_seen = false;
  for (const auto& d : capture) {
    Seg s;
    s.t = std::chrono::duration<double>(d.at).count();
    s.from_target = d.from_target;
    const auto& b = d.ip;
    if (b.size() < 20 || (std::to_integer<int>(b[0]) >> 4) != 4) {
      s.malformed = true;
      out.push_back(s);
      continue;
    }
    const size_t ihl = (std::to_integer<size_t>(b[0]) & 0x0f) * 4;
    s.ip_len = be16(&b[2]);
    const size_t total = std::min<size_t>(s.ip_len, b.size());
    const int proto = std::to_integer<int>(b[9]);
    if (proto == 1) {
      s.icmp = true;
    } else if (proto == 6 && ihl >= 20 && total >= ihl + 20) {
      const std::byte* h = b.data() + ihl;
      const size_t doff = (std::to_integer<size_t>(h[12]) >> 4) * 4;
      if (doff < 20 || ihl + doff > total) {
        s.malformed = true;
      } else {
        s.tcp = true;
        s.seq = be32(h + 4);
        s.ack = be32(h + 8);
        s.flags = std::to_integer<uint8_t>(h[13]);
        s.win = be16(h + 14);
        s.len = static_cast<uint32_t>(total - ihl - doff);
      }
    } else {
      s.malformed = true;
    }
    if (s.tcp && s.from_target) {
      if (!target_started) {
        target_started = true;
        snd_max = s.seq;
      }
      s.snd_max_before = snd_max;
      s.peer_ack_before = peer_ack;
      s.peer_ack_seen = peer_ack_seen;
      const uint32_t end = s.seq + s.len + (s.syn() ? 1 : 0) + (s.fin() ? 1 : 0);
      if (!s.rst() && wire::seq_gt(end, snd_max)) snd_max = end;
    } else if (s.tcp && s.has_ack() && !s.rst()) {
      if (!peer_ack_seen || wire::seq_gt(s.ack, peer_ack)) peer_ack = s.ack;
      peer_ack_seen = true;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace vigil::conform
