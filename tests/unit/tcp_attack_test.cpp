// Replies a forged segment can draw from a connection, found by the
// blind-injection scenario (docs/attacks.md).
#include "tcp_harness.hpp"

namespace vigil::testing {
namespace {

// RFC 9293 §3.10.7.4 answers an ACK of data never sent with an ACK; RFC
// 5961 §7 throttles such answers. Out-of-window data is answered every time
// (its sender may be retransmitting because our ACK was lost), but data
// that acks beyond SND.NXT is no retransmission of the real peer: it is a
// forged segment whose blind ACK missed, and each unthrottled answer was a
// duplicate ACK towards the real peer. Two within challenge_ack_interval
// (500 ms): one ACK, one suppressed.
TEST(TcpAttack, DataAckingBeyondSndNxtIsAnsweredRateLimited) {
  Harness h;
  h.to_established_active(at_ms(0));
  const uint32_t rcv_nxt = kIrs + 1;
  const uint32_t beyond = kIss + 1 + 100'000;  // SND.NXT = ISS + 1: nothing sent
  const auto first = h.input(at_ms(10), h.data(rcv_nxt + 100, beyond, 64));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].flags, fl::kAck);
  EXPECT_EQ(first[0].ack, rcv_nxt);  // nothing taken
  EXPECT_TRUE(h.input(at_ms(110), h.data(rcv_nxt + 200, beyond, 64)).empty());
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 1u);
  EXPECT_EQ(h.conn().stats().segments_dropped, 2u);
  EXPECT_EQ(h.conn().rcv_nxt(), rcv_nxt);
  // 500 ms after the first answer the clock allows the next one.
  EXPECT_EQ(h.input(at_ms(510), h.data(rcv_nxt + 300, beyond, 64)).size(), 1u);
}

// Out-of-window data keeps its unthrottled answer (Linux
// tcp_oow_rate_limited exempts it too).
TEST(TcpAttack, OutOfWindowDataIsStillAnsweredEveryTime) {
  Harness h;
  h.to_established_active(at_ms(0));
  const uint32_t old = kIrs + 1 - 5000;
  EXPECT_EQ(h.input(at_ms(10), h.data(old, kIss + 1, 64)).size(), 1u);
  EXPECT_EQ(h.input(at_ms(20), h.data(old, kIss + 1, 64)).size(), 1u);
  EXPECT_EQ(h.conn().stats().invalid_acks_suppressed, 0u);
}

}  // namespace
}  // namespace vigil::testing
