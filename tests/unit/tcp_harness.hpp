// Drives one tcp::Connection with hand-written segments from a scripted
// peer, with explicit timestamps, and decodes what it transmits. Sequence
// numbers in tests are written relative to kIss (ours) and kIrs (theirs).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tcp/connection.hpp"
#include "tcp_test_config.hpp"
#include "wire/packet.hpp"

namespace vigil::testing {

using tcp::Connection;
using tcp::State;
namespace fl = wire::tcp_flags;

struct Seg {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 65535;
  std::vector<uint8_t> data;
  wire::TcpOptions opt;
};

inline Instant at_ms(int64_t ms) { return Instant::zero() + Duration::millis(ms); }

struct Recorder : tcp::EventSink {
  std::vector<tcp::Event> events;
  std::vector<std::string> details;
  void on_event(const tcp::Event& e) override {
    events.push_back(e);
    details.emplace_back(e.detail);
    events.back().detail = {};
  }
  size_t count(tcp::EventType t) const {
    size_t n = 0;
    for (const auto& e : events) n += e.type == t ? 1 : 0;
    return n;
  }
};

class Harness {
 public:
  explicit Harness(const tcp::TcpConfig& cfg = plain_config(), uint32_t iss = kIss,
                   uint32_t irs = kIrs)
      : irs_(irs), conn_(cfg, tuple(), iss, 0, 1, &rec_) {}

  static tcp::FourTuple tuple() { return test_tuple(); }

  Connection& conn() { return conn_; }
  Recorder& rec() { return rec_; }
  uint32_t irs() const { return irs_; }

  // The peer sends `s`; returns what the connection transmits at `now`.
  std::vector<Seg> input(Instant now, const Seg& s) {
    std::vector<uint8_t> buf(2048);
    wire::Ipv4Fields ip;
    ip.src = tuple().remote.addr;
    ip.dst = tuple().local.addr;
    wire::TcpFields t;
    t.src_port = tuple().remote.port;
    t.dst_port = tuple().local.port;
    t.seq = s.seq;
    t.ack = s.ack;
    t.flags = s.flags;
    t.window = s.window;
    const size_t n = wire::build_ipv4_tcp(buf, ip, t, s.opt, s.data);
    EXPECT_GT(n, 0u);
    wire::PacketView pkt;
    EXPECT_EQ(wire::parse_packet(std::span<const uint8_t>(buf.data(), n), &pkt), wire::Drop::kNone);
    conn_.on_segment(now, pkt.tcp);
    return drain(now);
  }

  std::vector<Seg> drain(Instant now) {
    std::vector<Seg> out;
    std::vector<uint8_t> buf(70000);
    for (int guard = 0; guard < 10000; ++guard) {
      const size_t n = conn_.poll_transmit(now, buf);
      if (n == 0) break;
      wire::PacketView pkt;
      EXPECT_EQ(wire::parse_packet(std::span<const uint8_t>(buf.data(), n), &pkt),
                wire::Drop::kNone);
      Seg s;
      s.seq = pkt.tcp.seq();
      s.ack = pkt.tcp.ack();
      s.flags = pkt.tcp.flags();
      s.window = pkt.tcp.window();
      s.data.assign(pkt.tcp.payload().begin(), pkt.tcp.payload().end());
      s.opt = pkt.tcp.options();
      out.push_back(std::move(s));
    }
    return out;
  }

  // An ICMP destination unreachable from a router, quoting a segment this
  // connection sent with sequence number `seq` (and `payload`).
  static wire::IcmpUnreachableView icmp_quoting(uint32_t seq, uint8_t code, uint16_t mtu = 0,
                                                std::span<const uint8_t> payload = {}) {
    const std::vector<uint8_t> icmp = icmp_quoting_bytes(seq, code, mtu, payload);
    wire::PacketView pkt;
    EXPECT_EQ(wire::parse_packet(icmp, &pkt), wire::Drop::kNone);
    return pkt.icmp;  // holds copies of the quoted fields, not views
  }

  // Runs timers due at `now`, returns what goes out.
  std::vector<Seg> fire(Instant now) {
    conn_.on_timer(now);
    return drain(now);
  }

  // --- Walks to each state with the peer's help (RFC 9293 Figure 5). ---
  void to_syn_sent(Instant now = at_ms(0)) {
    conn_.open_active(now);
    auto out = drain(now);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].flags, fl::kSyn);
  }
  void to_established_active(Instant now = at_ms(0)) {
    to_syn_sent(now);
    auto out = input(now, syn_ack());
    ASSERT_EQ(conn_.state(), State::kEstablished);
  }
  // Established with SACK permitted both ways (the config must enable it).
  void to_established_with_sack(Instant now = at_ms(0)) {
    to_syn_sent(now);
    Seg sa = syn_ack();
    sa.opt.sack_permitted = true;
    input(now, sa);
    ASSERT_EQ(conn_.state(), State::kEstablished);
    ASSERT_TRUE(conn_.sack_enabled());
  }
  void to_syn_received(Instant now = at_ms(0)) {
    conn_.open_passive(now);
    Seg syn;
    syn.seq = irs_;
    syn.flags = fl::kSyn;
    syn.opt.has_mss = true;
    syn.opt.mss = 1000;
    auto out = input(now, syn);
    ASSERT_EQ(conn_.state(), State::kSynReceived);
    ASSERT_EQ(out.size(), 1u);
  }
  void to_fin_wait1(Instant now = at_ms(0)) {
    to_established_active(now);
    conn_.close(now);
    auto out = drain(now);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].flags & fl::kFin);
  }
  void to_fin_wait2(Instant now = at_ms(0)) {
    to_fin_wait1(now);
    input(now, ack(kIss + 2));
    ASSERT_EQ(conn_.state(), State::kFinWait2);
  }
  void to_close_wait(Instant now = at_ms(0)) {
    to_established_active(now);
    input(now, fin(irs_ + 1, kIss + 1));
    ASSERT_EQ(conn_.state(), State::kCloseWait);
  }
  void to_last_ack(Instant now = at_ms(0)) {
    to_close_wait(now);
    conn_.close(now);
    auto out = drain(now);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(conn_.state(), State::kLastAck);
  }
  void to_closing(Instant now = at_ms(0)) {
    to_fin_wait1(now);
    input(now, fin(irs_ + 1, kIss + 1));  // their FIN, not acking ours
    ASSERT_EQ(conn_.state(), State::kClosing);
  }
  void to_time_wait(Instant now = at_ms(0)) {
    to_fin_wait2(now);
    input(now, fin(irs_ + 1, kIss + 2));
    ASSERT_EQ(conn_.state(), State::kTimeWait);
  }

  Seg syn_ack(uint32_t ack_no = kIss + 1) const {
    Seg s;
    s.seq = irs_;
    s.ack = ack_no;
    s.flags = fl::kSyn | fl::kAck;
    s.opt.has_mss = true;
    s.opt.mss = 1000;
    return s;
  }
  Seg ack(uint32_t ack_no, uint32_t seq_rel = 1) const {
    Seg s;
    s.seq = irs_ + seq_rel;
    s.ack = ack_no;
    s.flags = fl::kAck;
    return s;
  }
  Seg fin(uint32_t seq, uint32_t ack_no) const {
    Seg s;
    s.seq = seq;
    s.ack = ack_no;
    s.flags = fl::kFin | fl::kAck;
    return s;
  }
  Seg data(uint32_t seq, uint32_t ack_no, size_t len, uint8_t fill = 0xab) const {
    Seg s;
    s.seq = seq;
    s.ack = ack_no;
    s.flags = fl::kAck;
    s.data.assign(len, fill);
    return s;
  }

 private:
  uint32_t irs_;
  Recorder rec_;
  Connection conn_;
};

}  // namespace vigil::testing
