// Invariants of one tcp::Connection that hold whatever arrives, shared by
// the stack and connection fuzz targets. Each is a rule of RFC 9293 §3.3.1's
// send/receive sequence variables, or a bound the code promises.
#pragma once

#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "tcp/connection.hpp"
#include "tcp/seq.hpp"
#include "wire/packet.hpp"

namespace vigil::fuzz {

inline bool synchronized(tcp::State s) {
  return s != tcp::State::kClosed && s != tcp::State::kListen && s != tcp::State::kSynSent;
}

inline void check_connection(const tcp::Connection& c) {
  const tcp::State s = c.state();
  if (s == tcp::State::kClosed || s == tcp::State::kListen) return;
  const tcp::StateDigest d = c.state_digest();
  const auto snd_max = static_cast<uint32_t>(d.value("snd_max"));
  // SND.UNA <= SND.NXT <= SND.MAX in sequence space.
  VIGIL_FUZZ_CHECK(tcp::seq_le(c.snd_una(), c.snd_nxt()));
  VIGIL_FUZZ_CHECK(tcp::seq_le(c.snd_nxt(), snd_max));
  // ISS <= SND.UNA: nothing before our SYN is ever acknowledged.
  VIGIL_FUZZ_CHECK(tcp::seq_le(c.iss(), c.snd_una()));
  // In flight: at most the queued bytes plus SYN and FIN.
  const auto queued = static_cast<uint64_t>(d.value("snd_buf_size"));
  VIGIL_FUZZ_CHECK(uint64_t{snd_max - c.snd_una()} <= queued + 2);
  VIGIL_FUZZ_CHECK(c.send_mss() > 0 && c.send_mss() <= 65535);
  VIGIL_FUZZ_CHECK(c.recv_available() <= c.config().recv_buffer);
  if (synchronized(s)) {
    // IRS < RCV.NXT: the peer's SYN is the first thing received.
    VIGIL_FUZZ_CHECK(tcp::seq_lt(c.irs(), c.rcv_nxt()));
  }
}

// A datagram the connection (or stack) sent: it parses with checksums, and
// a data segment never reaches past SND.MAX nor carries more than the MSS
// (TSO off).
inline void check_output(const tcp::Connection* c, std::span<const uint8_t> out) {
  wire::PacketView p;
  VIGIL_FUZZ_CHECK(wire::parse_packet(out, &p) == wire::Drop::kNone);
  if (c == nullptr || p.kind != wire::PacketView::Kind::kTcp) return;
  const wire::TcpView& t = p.tcp;
  if (t.has(wire::tcp_flags::kRst)) return;
  const tcp::StateDigest d = c->state_digest();
  const auto snd_max = static_cast<uint32_t>(d.value("snd_max"));
  VIGIL_FUZZ_CHECK(tcp::seq_le(t.seq() + t.seg_len(), snd_max));
  VIGIL_FUZZ_CHECK(t.payload().size() <= c->send_mss());
}

}  // namespace vigil::fuzz
