// Structured events (DESIGN.md principle 6): every decision the connection
// takes is reported with the same timestamp the pcap gets, so a trace and
// the stack's reasoning line up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/errno_name.hpp"
#include "vigil/time.hpp"

namespace vigil::tcp {

enum class State : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};
std::string_view state_name(State s);  // "ESTABLISHED", as RFC 9293 spells them

// Which mechanism ended a connection (the JSON `outcome.reason`).
enum class CloseReason : uint8_t {
  kNone,
  kKeepalive,
  kRetransmission,
  kPersist,
  kUserTimeout,
  kReset,
  kRefused,
  kIcmp,
  kOrphan,           // closed by the application, dropped by Linux's orphan rules
  kFinWait2Timeout,  // FIN-WAIT-2 outlived fin_wait2_timeout (tcp_fin_timeout)
};
std::string_view reason_name(CloseReason r);  // "retransmission"; "" for kNone

enum class EventType : uint8_t {
  kStateChange,
  kRetransmit,  // data retransmitted; `timer` says why
  kSynRetransmit,
  kRstSent,
  kRstReceived,
  kChallengeAck,  // RFC 5961 challenge ACK sent
  kRtoBackoff,    // RTO doubled after a timeout
  kZeroWindowProbe,
  kIcmpReceived,
  kAbort,               // connection failed; errno and reason set
  kDropped,             // an inbound segment was refused; `detail` says why
  kKeepaliveProbe,      // count = probe number
  kKeepaliveAck,        // the peer answered a keepalive probe
  kZeroWindowProbeAck,  // the peer answered a zero-window probe; len = its window
  kStallGuardAck,       // the stall guard sent a pure ACK
  // The sender's windows moved: `cwnd`, `ssthresh` (bytes). One event when
  // ssthresh changes or cwnd has moved max(SMSS, 1/8 of it) since the last.
  kCwnd,
  // The RTT estimate moved: `srtt`, `rto`. One event per sample that moves
  // SRTT or RTO by 1/8 (RFC 6298's gain) of the last reported value, 1 ms at least.
  kRtt,
  // A window reduction shown spurious was undone (undo.hpp): `cwnd` and
  // `ssthresh` are the restored windows, `detail` the evidence ("dsack",
  // "timestamp", "frto"), `seq` where the episode began (SND.UNA then).
  kUndo,
};
std::string_view event_name(EventType t);  // "retransmit", "rst_sent" ...

// kFast: the segment at SND.UNA after duplicate ACKs (RFC 5681 §3.2) or a
// partial ACK (RFC 6582); kSack: a hole above SND.UNA that the SACK
// scoreboard deems lost (RFC 6675 NextSeg rule 1); kPmtu: what was in
// flight when a frag-needed lowered the path MTU, resent smaller (RFC 1191).
enum class RetransmitTimer : uint8_t { kNone, kRto, kTlp, kFast, kSack, kPmtu };
std::string_view timer_name(RetransmitTimer t);

struct Event {
  Instant time;
  uint64_t conn = 0;
  EventType type = EventType::kStateChange;
  State from = State::kClosed, to = State::kClosed;
  RetransmitTimer timer = RetransmitTimer::kNone;
  uint32_t seq = 0;
  uint32_t len = 0;
  uint32_t count = 0;               // e.g. retransmission number
  Duration rto;                     // RTO in force after the event
  uint32_t cwnd = 0, ssthresh = 0;  // kCwnd
  Duration srtt;                    // kRtt
  uint32_t limit = 0;               // e.g. keepalive probes allowed (0: no count limit)
  Duration since;                   // e.g. time since the peer was last heard from
  int err = 0;                      // errno for kAbort
  CloseReason reason = CloseReason::kNone;
  std::string_view detail;  // static text, valid only during the callback
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& e) = 0;
};

// "ETIMEDOUT" for ETIMEDOUT (util/errno_name.hpp; tcp's callers keep the name).
using util::errno_name;

// How a failed connection ended, as `vigil sim` prints it (DESIGN.md
// principle 7): "ETIMEDOUT (retransmission): 15 retransmissions over
// 663.0 s", the errno, the mechanism, the evidence; "" when err is 0.
std::string outcome_text(int err, CloseReason reason, std::string_view detail);

}  // namespace vigil::tcp
