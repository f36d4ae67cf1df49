#include "wire/tcp_header.hpp"

#include <algorithm>
#include <cstring>

#include "wire/bytes.hpp"
#include "wire/checksum.hpp"

namespace vigil::wire {

std::string flags_to_string(uint8_t flags) {
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kNames[] = {{tcp_flags::kSyn, "SYN"}, {tcp_flags::kFin, "FIN"}, {tcp_flags::kRst, "RST"},
                {tcp_flags::kPsh, "PSH"}, {tcp_flags::kAck, "ACK"}, {tcp_flags::kUrg, "URG"},
                {tcp_flags::kEce, "ECE"}, {tcp_flags::kCwr, "CWR"}};
  std::string s;
  for (const auto& n : kNames) {
    if (flags & n.bit) {
      if (!s.empty()) s += ',';
      s += n.name;
    }
  }
  return s.empty() ? "none" : s;
}

Drop TcpOptions::parse(std::span<const uint8_t> area, TcpOptions* out) {
  *out = TcpOptions{};
  size_t i = 0;
  while (i < area.size()) {
    const uint8_t kind = area[i];
    if (kind == tcp_option::kEol) break;
    if (kind == tcp_option::kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= area.size()) return Drop::kTcpBadOptionLength;
    const size_t len = area[i + 1];
    if (len < 2 || i + len > area.size()) return Drop::kTcpBadOptionLength;
    const uint8_t* body = area.data() + i + 2;  // may be one past the end when len == 2
    switch (kind) {
      case tcp_option::kMss:
        if (len == 4) {
          out->has_mss = true;
          out->mss = load_be16(body);
        }
        break;
      case tcp_option::kWindowScale:
        if (len == 3) {
          out->has_window_scale = true;
          out->window_scale = body[0];
        }
        break;
      case tcp_option::kSackPermitted:
        if (len == 2) out->sack_permitted = true;
        break;
      case tcp_option::kSack:
        if (len >= 10 && (len - 2) % 8 == 0) {
          const size_t n = std::min<size_t>((len - 2) / 8, 4);
          out->sack_count = static_cast<uint8_t>(n);
          for (size_t b = 0; b < n; ++b) {
            out->sack[b] = SackBlock{load_be32(body + 8 * b), load_be32(body + 8 * b + 4)};
          }
        }
        break;
      case tcp_option::kTimestamps:
        if (len == 10) {
          out->has_timestamps = true;
          out->ts_val = load_be32(body);
          out->ts_ecr = load_be32(body + 4);
        }
        break;
      case tcp_option::kUserTimeout:
        if (len == 4) {
          out->has_user_timeout = true;
          out->user_timeout = load_be16(body);
        }
        break;
      default:
        break;  // unknown: skipped by length
    }
    i += len;
  }
  return Drop::kNone;
}

namespace {
// Layout, kept to 4-byte multiples with NOPs as Linux does:
// MSS(4) | SACKOK+TS(12) or NOP,NOP,TS(12) or NOP,NOP,SACKOK(4) | NOP,WS(4)
// | UTO(4) | NOP,NOP,SACK(2+8n).
size_t fixed_size(const TcpOptions& o) {
  size_t n = 0;
  if (o.has_mss) n += 4;
  if (o.has_timestamps) {
    n += 12;
  } else if (o.sack_permitted) {
    n += 4;
  }
  if (o.has_window_scale) n += 4;
  if (o.has_user_timeout) n += 4;
  return n;
}
size_t sack_blocks_that_fit(const TcpOptions& o) {
  const size_t room = kTcpMaxOptions - fixed_size(o);
  if (o.sack_count == 0 || room < 12) return 0;
  return std::min<size_t>(o.sack_count, (room - 4) / 8);
}
}  // namespace

size_t TcpOptions::encoded_size() const {
  const size_t blocks = sack_blocks_that_fit(*this);
  return fixed_size(*this) + (blocks ? 4 + 8 * blocks : 0);
}

size_t TcpOptions::write(std::span<uint8_t> out) const {
  uint8_t* p = out.data();
  if (has_mss) {
    p[0] = tcp_option::kMss;
    p[1] = 4;
    store_be16(p + 2, mss);
    p += 4;
  }
  if (has_timestamps) {
    if (sack_permitted) {
      p[0] = tcp_option::kSackPermitted;
      p[1] = 2;
    } else {
      p[0] = p[1] = tcp_option::kNop;
    }
    p[2] = tcp_option::kTimestamps;
    p[3] = 10;
    store_be32(p + 4, ts_val);
    store_be32(p + 8, ts_ecr);
    p += 12;
  } else if (sack_permitted) {
    p[0] = p[1] = tcp_option::kNop;
    p[2] = tcp_option::kSackPermitted;
    p[3] = 2;
    p += 4;
  }
  if (has_window_scale) {
    p[0] = tcp_option::kNop;
    p[1] = tcp_option::kWindowScale;
    p[2] = 3;
    p[3] = window_scale;
    p += 4;
  }
  if (has_user_timeout) {
    p[0] = tcp_option::kUserTimeout;
    p[1] = 4;
    store_be16(p + 2, user_timeout);
    p += 4;
  }
  const size_t blocks = sack_blocks_that_fit(*this);
  if (blocks) {
    p[0] = p[1] = tcp_option::kNop;
    p[2] = tcp_option::kSack;
    p[3] = static_cast<uint8_t>(2 + 8 * blocks);
    for (size_t b = 0; b < blocks; ++b) {
      store_be32(p + 4 + 8 * b, sack[b].left);
      store_be32(p + 8 + 8 * b, sack[b].right);
    }
    p += 4 + 8 * blocks;
  }
  return static_cast<size_t>(p - out.data());
}

namespace {
void add_pseudo_header(ChecksumAccumulator& acc, Ipv4Addr src, Ipv4Addr dst, size_t tcp_len) {
  acc.add_u32(src.value);
  acc.add_u32(dst.value);
  acc.add_u16(kProtoTcp);
  acc.add_u16(static_cast<uint16_t>(tcp_len));
}
}  // namespace

uint16_t tcp_pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, size_t tcp_len) {
  uint32_t sum = (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
                 (dst.value & 0xffff) + kProtoTcp + static_cast<uint32_t>(tcp_len);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

Drop TcpView::parse(std::span<const uint8_t> segment, Ipv4Addr src, Ipv4Addr dst, TcpView* out,
                    bool verify_checksum) {
  if (segment.size() < kTcpMinHeader) return Drop::kTcpTruncated;
  const size_t data_offset = static_cast<size_t>(segment[12] >> 4) * 4;
  if (data_offset < kTcpMinHeader || data_offset > segment.size()) {
    return Drop::kTcpBadDataOffset;
  }
  if (verify_checksum) {
    ChecksumAccumulator acc;
    add_pseudo_header(acc, src, dst, segment.size());
    acc.add(segment);
    if (acc.finish() != 0) return Drop::kTcpBadChecksum;
  }
  const Drop opt = TcpOptions::parse(segment.subspan(kTcpMinHeader, data_offset - kTcpMinHeader),
                                     &out->options_);
  if (opt != Drop::kNone) return opt;
  out->src_port_ = load_be16(&segment[0]);
  out->dst_port_ = load_be16(&segment[2]);
  out->seq_ = load_be32(&segment[4]);
  out->ack_ = load_be32(&segment[8]);
  out->flags_ = segment[13];
  out->window_ = load_be16(&segment[14]);
  out->urgent_ = load_be16(&segment[18]);
  out->payload_ = segment.subspan(data_offset);
  return Drop::kNone;
}

size_t build_ipv4_tcp(std::span<uint8_t> out, const Ipv4Fields& ip, const TcpFields& tcp,
                      const TcpOptions& options, std::span<const uint8_t> payload_a,
                      std::span<const uint8_t> payload_b, TcpChecksum checksum) {
  const size_t opt_len = options.encoded_size();
  const size_t tcp_len = kTcpMinHeader + opt_len + payload_a.size() + payload_b.size();
  const size_t total = kIpv4MinHeader + tcp_len;
  if (total > 65535 || out.size() < total) return 0;

  uint8_t* t = out.data() + kIpv4MinHeader;
  store_be16(t, tcp.src_port);
  store_be16(t + 2, tcp.dst_port);
  store_be32(t + 4, tcp.seq);
  store_be32(t + 8, tcp.ack);
  t[12] = static_cast<uint8_t>(((kTcpMinHeader + opt_len) / 4) << 4);
  t[13] = tcp.flags;
  store_be16(t + 14, tcp.window);
  store_be16(t + 16, 0);  // checksum, filled below
  store_be16(t + 18, 0);  // urgent pointer: vigil never sends urgent data
  options.write(std::span<uint8_t>(t + kTcpMinHeader, opt_len));
  uint8_t* payload = t + kTcpMinHeader + opt_len;
  if (!payload_a.empty()) std::memcpy(payload, payload_a.data(), payload_a.size());
  if (!payload_b.empty()) {
    std::memcpy(payload + payload_a.size(), payload_b.data(), payload_b.size());
  }

  if (checksum == TcpChecksum::kPartial) {
    store_be16(t + 16, tcp_pseudo_header_sum(ip.src, ip.dst, tcp_len));
  } else {
    ChecksumAccumulator acc;
    add_pseudo_header(acc, ip.src, ip.dst, tcp_len);
    acc.add(std::span<const uint8_t>(t, tcp_len));
    store_be16(t + 16, acc.finish());
  }

  Ipv4Fields ipf = ip;
  ipf.protocol = kProtoTcp;
  write_ipv4_header(out, ipf, static_cast<uint16_t>(total));
  return total;
}

}  // namespace vigil::wire
