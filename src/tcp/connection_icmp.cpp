// ICMP destination unreachable for a connection: which codes are soft
// errors and which abort, and path MTU discovery (RFC 1122 §4.2.3.9,
// RFC 1191, RFC 5927).
#include <cerrno>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

void Connection::on_icmp(Instant now, const wire::IcmpUnreachableView& icmp) {
  // RFC 5927 §4.1: act only on ICMP quoting a sequence number we have
  // outstanding; anything else may be forged.
  if (!seq_in(icmp.quoted_seq(), snd_una_, snd_max_) || state_ == State::kClosed ||
      state_ == State::kListen) {
    ++stats_.segments_dropped;
    return;
  }
  Event e;
  e.time = now;
  e.type = EventType::kIcmpReceived;
  e.count = icmp.code();
  emit(e);
  switch (icmp.code()) {
    case wire::icmp_code::kProtocolUnreachable:
    case wire::icmp_code::kPortUnreachable:
      // RFC 1122 §4.2.3.9: hard errors; Linux reports ECONNREFUSED.
      fail(now, ECONNREFUSED, CloseReason::kIcmp,
           icmp.code() == wire::icmp_code::kPortUnreachable ? "icmp: port unreachable"
                                                            : "icmp: protocol unreachable");
      break;
    case wire::icmp_code::kFragmentationNeeded:
      // RFC 1191: shrink the segment size and resend what was lost.
      if (icmp.next_hop_mtu() >= 68 + 40) {
        const uint32_t mss = icmp.next_hop_mtu() - 40u - (ts_enabled_ ? 12u : 0u);
        if (mss < snd_mss_) {
          snd_mss_ = mss;
          cc_->set_mss(mss);
          snd_nxt_ = snd_una_;
        }
      }
      break;
    case wire::icmp_code::kNetUnreachable:
      soft_error_ = ENETUNREACH;  // soft: remembered, never fatal by itself
      break;
    case wire::icmp_code::kSourceRouteFailed:
      soft_error_ = EOPNOTSUPP;
      break;
    default:
      soft_error_ = EHOSTUNREACH;
      break;
  }
}

}  // namespace vigil::tcp
