// ICMP destination unreachable for a connection: which codes are soft
// errors and which abort, and path MTU discovery (RFC 1122 §4.2.3.9,
// RFC 1191, RFC 5927). docs/liveness.md ("ICMP") states the rules in words.
#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "tcp/connection.hpp"
#include "tcp/seq.hpp"

namespace vigil::tcp {

namespace {

// Destination-unreachable codes 0..15 (RFC 792, RFC 1122 §3.2.2.1,
// RFC 1812 §5.2.7.1); Linux's NR_ICMP_UNREACH. Higher codes are ignored.
constexpr uint8_t kLastUnreachableCode = 15;

// The errno each code reports, as Linux's icmp_err_convert[] (net/ipv4/icmp.c).
int unreachable_errno(uint8_t code) {
  static constexpr int kErrno[kLastUnreachableCode + 1] = {
      ENETUNREACH,   // 0 net unreachable
      EHOSTUNREACH,  // 1 host unreachable
      ENOPROTOOPT,   // 2 protocol unreachable
      ECONNREFUSED,  // 3 port unreachable
      EMSGSIZE,      // 4 fragmentation needed and DF set
      EOPNOTSUPP,    // 5 source route failed
      ENETUNREACH,   // 6 destination network unknown
      EHOSTDOWN,     // 7 destination host unknown
      ENONET,        // 8 source host isolated
      ENETUNREACH,   // 9 network administratively prohibited
      EHOSTUNREACH,  // 10 host administratively prohibited
      ENETUNREACH,   // 11 network unreachable for TOS
      EHOSTUNREACH,  // 12 host unreachable for TOS
      EHOSTUNREACH,  // 13 communication administratively prohibited
      EHOSTUNREACH,  // 14 host precedence violation
      EHOSTUNREACH,  // 15 precedence cutoff in effect
  };
  return kErrno[code];
}

const char* unreachable_name(uint8_t code) {
  static constexpr const char* kName[kLastUnreachableCode + 1] = {
      "net unreachable",
      "host unreachable",
      "protocol unreachable",
      "port unreachable",
      "fragmentation needed",
      "source route failed",
      "net unknown",
      "host unknown",
      "host isolated",
      "net prohibited",
      "host prohibited",
      "net unreachable for TOS",
      "host unreachable for TOS",
      "communication prohibited",
      "host precedence violation",
      "precedence cutoff",
  };
  return kName[code];
}

// RFC 1191 §6.3: try a larger MTU again after 10 minutes; Linux's
// net.ipv4.route.mtu_expires is 600 s.
constexpr Duration kPathMtuExpires = Duration::seconds(600);
constexpr uint32_t kIpTcpHeaders = 40;  // IPv4 + TCP without options

}  // namespace

void Connection::on_icmp(Instant now, const wire::IcmpUnreachableView& icmp) {
  // RFC 5927 §4.1 (and Linux's tcp_v4_err): act only on ICMP quoting a
  // sequence number in flight, SND.UNA <= SEG.SEQ < SND.NXT; a blind
  // attacker has to guess one. Nothing is in flight in LISTEN, CLOSED or
  // TIME-WAIT (SND.UNA = SND.NXT).
  if (state_ == State::kClosed || state_ == State::kListen ||
      !seq_in(icmp.quoted_seq(), snd_una_, snd_max_)) {
    ++stats_.icmp_out_of_window;
    ++stats_.segments_dropped;
    return;
  }
  const uint8_t code = icmp.code();
  if (code > kLastUnreachableCode) {  // Linux: code > NR_ICMP_UNREACH, ignored
    ++stats_.icmp_ignored;
    return;
  }
  Event e;
  e.time = now;
  e.type = EventType::kIcmpReceived;
  e.count = code;
  emit(e);
  if (code == wire::icmp_code::kFragmentationNeeded) {
    // Path MTU discovery, never an error (RFC 1191 §6.1; Linux hands it to
    // tcp_v4_mtu_reduced in every state).
    on_frag_needed(now, icmp.next_hop_mtu(), icmp.quoted_seq());
    return;
  }
  const int err = unreachable_errno(code);
  const bool handshake = state_ == State::kSynSent || state_ == State::kSynReceived;
  bool abort = false;
  if (handshake && cfg_->icmp_handshake_ignore) {
    abort = false;  // icmp.handshake_abort=none: every code is soft
  } else if (handshake && cfg_->icmp_handshake_abort_any) {
    // Linux tcp_v4_err: a socket in SYN_SENT (or SYN_RECV after a
    // simultaneous open) is done on any unreachable. A passive open is
    // still a request sock there: tcp_req_err drops it only on net or host
    // unreachable, and silently (the application never saw it).
    abort = !(passive_ && state_ == State::kSynReceived) ||
            code == wire::icmp_code::kNetUnreachable || code == wire::icmp_code::kHostUnreachable;
  } else if (handshake) {
    // RFC 1122 §4.2.3.9: codes 2-4 are hard errors and SHOULD abort; 4 is
    // path MTU discovery since RFC 1191 (above). The rest are soft.
    abort =
        code == wire::icmp_code::kProtocolUnreachable || code == wire::icmp_code::kPortUnreachable;
  }
  // Synchronized states: every code is a soft error, in both profiles
  // (RFC 5927 §4.2; Linux sets only sk_err_soft). It is remembered and
  // becomes the errno if the connection later times out.
  if (abort) {
    char detail[96];
    std::snprintf(detail, sizeof detail, "icmp: %s in %s", unreachable_name(code),
                  std::string(state_name(state_)).c_str());
    fail(now, err, CloseReason::kIcmp, detail);
    return;
  }
  soft_error_ = err;
}

void Connection::on_frag_needed(Instant now, uint16_t next_hop_mtu, uint32_t quoted_seq) {
  // The quoted segment in the handshake is our SYN (at most 60 bytes of
  // TCP): it cannot have exceeded any IPv4 MTU (RFC 791: every link carries
  // 68), so the report is forged or broken.
  if (state_ == State::kSynSent || state_ == State::kSynReceived) {
    ++stats_.icmp_ignored;
    return;
  }
  // A router quotes the start of the datagram it could not forward, so the
  // quoted sequence number is the first byte of a segment we sent, and that
  // segment was longer than the MTU reported: a packet that fit cannot have
  // been too big (RFC 5927 §7.2 ignores a claimed MTU no segment sent
  // exceeds; RFC 1191 §4: the next-hop MTU is that of the hop the datagram
  // did not fit). Stricter than the in-flight check above (and than Linux's
  // tcp_v4_err): a blind attacker must hit one of a few hundred segment
  // starts among 2^32 numbers, not any of the bytes in flight.
  if (const uint32_t sent = sent_segs_.wire_bytes_at(quoted_seq);
      sent == 0 || sent <= next_hop_mtu) {
    ++stats_.icmp_ignored;
    return;
  }
  const uint32_t options = ts_enabled_ ? 12u : 0u;
  const uint32_t current = snd_mss_ + options + kIpTcpHeaders;  // the MTU segments are cut for
  // Linux __ip_rt_update_pmtu: below min_pmtu, use min_pmtu; a report that
  // is not smaller than the current path MTU changes nothing.
  const uint32_t mtu = std::max<uint32_t>(next_hop_mtu, kMinPathMtu);
  if (mtu > current || (mtu == current && pmtu_ == 0)) {
    ++stats_.icmp_ignored;
    return;
  }
  pmtu_since_ = now;  // set, or confirmed: the 10 minutes start again
  if (mtu == current) return;
  pmtu_ = mtu;
  snd_mss_ = mtu - kIpTcpHeaders - options;
  cc_->set_mss(snd_mss_);
  // Linux tcp_simple_retransmit: what was too big was dropped; send it
  // again at the new size.
  if (seq_lt(snd_una_, snd_nxt_)) {
    snd_nxt_ = snd_una_;
    rtx_.kind = RetransmitTimer::kPmtu;
  }
}

void Connection::expire_path_mtu(Instant now) {
  // RFC 1191 §6.3: a learned path MTU is an estimate that may be stale;
  // 10 minutes after the last frag-needed, segments grow back to the MSS
  // the handshake negotiated. Checked lazily when sending, as Linux's
  // tcp_current_mss() notices an expired route MTU (no timer of its own).
  if (pmtu_ == 0 || now < pmtu_since_ + kPathMtuExpires) return;
  pmtu_ = 0;
  update_mss();
}

}  // namespace vigil::tcp
