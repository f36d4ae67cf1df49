// Abortive closes: RFC 9293 §3.10.5 ABORT (SO_LINGER 0) and close(2) with
// received data unread (RFC 1122 §4.2.2.13, RFC 2525 §2.17). Expected
// segments follow Linux: tcp_close() sends tcp_send_active_reset()'s RST|ACK
// at once when data was unread, SEG.SEQ = tcp_acceptable_seq() (SND.NXT, or
// the peer's window edge when SND.NXT lies past it), SEG.ACK = RCV.NXT.
#include <gtest/gtest.h>

#include <vector>

#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

constexpr uint8_t kRstAck = fl::kRst | fl::kAck;

TEST(AbortiveClose, UnreadDataMeansRstAckAtOnce) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.input(at_ms(10), h.data(kIrs + 1, kIss + 1, 300));  // 300 bytes the app never reads
  h.fire(at_ms(300));                                   // the delayed ACK
  ASSERT_EQ(h.conn().recv_available(), 300u);
  h.conn().close_and_stop_reading(at_ms(500));
  const auto out = h.drain(at_ms(500));
  // One RST|ACK, no FIN: SEQ = SND.NXT = ISS + 1, ACK = RCV.NXT = IRS + 1 + 300.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, kRstAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].ack, kIrs + 301);
  EXPECT_TRUE(out[0].data.empty());
  EXPECT_EQ(h.conn().state(), State::kClosed);
  // The closer is told nothing (its descriptor is gone; Linux reports no
  // error to it); the reason is kept in the detail.
  EXPECT_EQ(h.conn().error().err, 0);
  EXPECT_EQ(h.conn().error().reason, tcp::CloseReason::kNone);
  EXPECT_EQ(h.conn().error().detail,
            "closed with 300 bytes unread: RST instead of FIN (RFC 2525 §2.17)");
  EXPECT_EQ(h.rec().count(tcp::EventType::kRstSent), 1u);
  EXPECT_EQ(h.conn().next_deadline(), Instant::never());
}

// packetdrill ts_recent/reset_tsval (Linux tcp_send_active_reset): with
// timestamps negotiated, the RST|ACK that close() sends for unread data
// carries TSopt (RFC 7323 §3.2: it SHOULD), TSval from our 1 ms clock at
// the close and TSecr = TS.Recent, the peer's last TSval. Our TS clock is
// offset 0 here: the RST at 1100 ms says 1100 (the script's clock started
// 100 earlier: "TS val 1200 ecr 201").
TEST(AbortiveClose, RstCarriesTimestamps) {
  tcp::TcpConfig cfg = plain_config();
  cfg.timestamps = true;
  Harness h(cfg);
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.opt.has_timestamps = true;
  sa.opt.ts_val = 100;
  h.input(at_ms(100), sa);
  ASSERT_TRUE(h.conn().timestamps_enabled());
  Seg d = h.data(kIrs + 1, kIss + 1, 1000);
  d.opt.has_timestamps = true;
  d.opt.ts_val = 201;
  d.opt.ts_ecr = 0;
  h.input(at_ms(100), d);
  h.fire(at_ms(300));  // the delayed ACK
  h.conn().close_and_stop_reading(at_ms(1100));
  const auto out = h.drain(at_ms(1100));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, kRstAck);
  EXPECT_EQ(out[0].ack, kIrs + 1001);
  ASSERT_TRUE(out[0].opt.has_timestamps);
  EXPECT_EQ(out[0].opt.ts_val, 1100u);
  EXPECT_EQ(out[0].opt.ts_ecr, 201u);
}

TEST(AbortiveClose, NothingUnreadIsAnOrdinaryFin) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.input(at_ms(10), h.data(kIrs + 1, kIss + 1, 300));
  std::vector<uint8_t> buf(1000);
  ASSERT_EQ(h.conn().recv(at_ms(20), buf), 300u);
  h.conn().close_and_stop_reading(at_ms(20));
  const auto out = h.drain(at_ms(20));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kFin | fl::kAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].ack, kIrs + 301);
  EXPECT_EQ(h.conn().state(), State::kFinWait1);
}

TEST(AbortiveClose, UnreadDataAndFinInCloseWait) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.input(at_ms(10), h.data(kIrs + 1, kIss + 1, 200));
  h.input(at_ms(10), h.fin(kIrs + 201, kIss + 1));
  ASSERT_EQ(h.conn().state(), State::kCloseWait);
  h.conn().close_and_stop_reading(at_ms(50));
  const auto out = h.drain(at_ms(50));
  // ACK = RCV.NXT: 200 bytes and the FIN, IRS + 1 + 200 + 1.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, kRstAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].ack, kIrs + 202);
  EXPECT_EQ(h.conn().state(), State::kClosed);
}

TEST(AbortiveClose, Linger0WithDataInFlightUsesSndNxt) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.input(at_ms(10), h.data(kIrs + 1, kIss + 1, 50));
  h.conn().send(at_ms(20), std::vector<uint8_t>(2000, 7));
  const auto sent = h.drain(at_ms(20));
  // Window 65535, initial window >= 2 segments (RFC 3390): both go out.
  ASSERT_EQ(sent.size(), 2u);
  h.conn().abort(at_ms(30));
  const auto out = h.drain(at_ms(30));
  // SEQ = SND.NXT = ISS + 1 + 2000 (inside the peer's window), ACK = RCV.NXT.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, kRstAck);
  EXPECT_EQ(out[0].seq, kIss + 2001);
  EXPECT_EQ(out[0].ack, kIrs + 51);
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().err, 0);
}

// A zero window and a BSD one-byte probe the peer refused: SND.NXT is one
// past the peer's window, and a closed window accepts a RST only at exactly
// RCV.NXT (RFC 5961 §3.2), so the RST carries the window's edge, SND.UNA.
TEST(AbortiveClose, Linger0AfterRefusedProbeByteUsesWindowEdge) {
  Harness h;
  h.to_syn_sent(at_ms(0));
  Seg sa = h.syn_ack();
  sa.window = 0;
  h.input(at_ms(0), sa);
  h.conn().send(at_ms(0), std::vector<uint8_t>(100, 1));
  h.drain(at_ms(0));
  // rfc profile: RTO 1 s (RFC 6298 §2.1), so the first probe at 1 s.
  const auto probe = h.fire(at_ms(1000));
  ASSERT_EQ(probe.size(), 1u);
  ASSERT_EQ(probe[0].seq, kIss + 1);
  ASSERT_EQ(probe[0].data.size(), 1u);
  Seg a = h.ack(kIss + 1);
  a.window = 0;
  h.input(at_ms(1010), a);  // refused: the window stays closed at ISS + 1
  h.conn().abort(at_ms(1500));
  const auto out = h.drain(at_ms(1500));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, kRstAck);
  EXPECT_EQ(out[0].seq, kIss + 1);
  EXPECT_EQ(out[0].ack, kIrs + 1);
}

TEST(AbortiveClose, SynSentCloseAndStopReadingIsQuiet) {
  Harness h;
  h.to_syn_sent(at_ms(0));
  h.conn().close_and_stop_reading(at_ms(5));
  EXPECT_TRUE(h.drain(at_ms(5)).empty());
  EXPECT_EQ(h.conn().state(), State::kClosed);
}

// RFC 1122 §4.2.2.13: "or if new data is received after CLOSE is called".
// Nothing was unread, so the close sent a FIN; then the peer's data comes,
// which nobody will read: Linux answers as for no connection (TCPAbortOnData),
// <SEQ=SEG.ACK><CTL=RST>, and the connection is gone.
TEST(AbortiveClose, DataAfterCloseAndStopReadingIsReset) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().close_and_stop_reading(at_ms(10));
  const auto fin = h.drain(at_ms(10));
  ASSERT_EQ(fin.size(), 1u);
  ASSERT_EQ(fin[0].flags, fl::kFin | fl::kAck);
  // The peer's ACK of our FIN (FIN-WAIT-2), then 100 bytes of data.
  h.input(at_ms(20), h.ack(kIss + 2));
  ASSERT_EQ(h.conn().state(), State::kFinWait2);
  const auto out = h.input(at_ms(30), h.data(kIrs + 1, kIss + 2, 100));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, fl::kRst);
  EXPECT_EQ(out[0].seq, kIss + 2);
  EXPECT_EQ(h.conn().state(), State::kClosed);
  EXPECT_EQ(h.conn().error().err, 0);
  EXPECT_EQ(h.conn().error().detail, "data arrived after close: RST (RFC 2525 §2.17)");
}

// A plain close() (RFC 9293 CLOSE: the application may still read) keeps
// taking data in FIN-WAIT-2.
TEST(AbortiveClose, DataAfterPlainCloseIsStillReceived) {
  Harness h;
  h.to_established_active(at_ms(0));
  h.conn().close(at_ms(10));
  h.drain(at_ms(10));
  h.input(at_ms(20), h.ack(kIss + 2));
  h.input(at_ms(30), h.data(kIrs + 1, kIss + 2, 100));
  EXPECT_EQ(h.conn().state(), State::kFinWait2);
  EXPECT_EQ(h.conn().recv_available(), 100u);
}

}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {

TEST(ClosedMemory, OutOfOrderBytesAreFreedWhenNothingCanFillTheHole) {
  // Found by `vigil sim fuzz` (seed 4 among others): a connection reset
  // while holding out-of-order bytes kept its whole receive ring for ever,
  // though no byte of it could ever be read (release() kept it for the
  // out-of-order ranges). Issue 12: a closed connection frees what it held.
  for (bool readable : {false, true}) {
    Harness h;
    h.to_established_active(at_ms(0));
    if (readable) h.input(at_ms(10), h.data(kIrs + 1, kIss + 1, 100));
    const uint32_t next = kIrs + 1 + (readable ? 100 : 0);
    h.input(at_ms(20), h.data(next + 1000, kIss + 1, 500));  // a hole of 1000 bytes before it
    ASSERT_GT(h.conn().buffer_bytes(), 0u);
    Seg rst = h.ack(kIss + 1, next - kIrs);
    rst.flags = fl::kRst;
    h.input(at_ms(30), rst);
    ASSERT_EQ(h.conn().state(), State::kClosed);
    if (readable) {
      // The 100 in-order bytes stay readable; reading them frees the ring.
      EXPECT_GT(h.conn().buffer_bytes(), 0u);
      std::vector<uint8_t> buf(1000);
      EXPECT_EQ(h.conn().recv(at_ms(40), buf), 100u);
    }
    EXPECT_EQ(h.conn().buffer_bytes(), 0u) << (readable ? "after reading" : "at once");
  }
}

}  // namespace
}  // namespace vigil::testing
