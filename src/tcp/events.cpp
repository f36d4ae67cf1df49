#include "tcp/events.hpp"

#include <cerrno>

namespace vigil::tcp {

std::string_view state_name(State s) {
  switch (s) {
    case State::kClosed:
      return "CLOSED";
    case State::kListen:
      return "LISTEN";
    case State::kSynSent:
      return "SYN-SENT";
    case State::kSynReceived:
      return "SYN-RECEIVED";
    case State::kEstablished:
      return "ESTABLISHED";
    case State::kFinWait1:
      return "FIN-WAIT-1";
    case State::kFinWait2:
      return "FIN-WAIT-2";
    case State::kCloseWait:
      return "CLOSE-WAIT";
    case State::kClosing:
      return "CLOSING";
    case State::kLastAck:
      return "LAST-ACK";
    case State::kTimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

std::string_view reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::kNone:
      return "";
    case CloseReason::kKeepalive:
      return "keepalive";
    case CloseReason::kRetransmission:
      return "retransmission";
    case CloseReason::kPersist:
      return "persist";
    case CloseReason::kUserTimeout:
      return "user_timeout";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kRefused:
      return "refused";
    case CloseReason::kIcmp:
      return "icmp";
    case CloseReason::kOrphan:
      return "orphan";
    case CloseReason::kFinWait2Timeout:
      return "fin_wait2_timeout";
  }
  return "";
}

std::string_view event_name(EventType t) {
  switch (t) {
    case EventType::kStateChange:
      return "state";
    case EventType::kRetransmit:
      return "retransmit";
    case EventType::kSynRetransmit:
      return "syn_retransmit";
    case EventType::kRstSent:
      return "rst_sent";
    case EventType::kRstReceived:
      return "rst_received";
    case EventType::kChallengeAck:
      return "challenge_ack";
    case EventType::kRtoBackoff:
      return "rto_backoff";
    case EventType::kZeroWindowProbe:
      return "zero_window_probe";
    case EventType::kIcmpReceived:
      return "icmp_received";
    case EventType::kAbort:
      return "abort";
    case EventType::kDropped:
      return "segment_dropped";
    case EventType::kKeepaliveProbe:
      return "keepalive_probe";
    case EventType::kKeepaliveAck:
      return "keepalive_ack";
    case EventType::kZeroWindowProbeAck:
      return "zero_window_probe_ack";
    case EventType::kStallGuardAck:
      return "stall_guard_ack";
    case EventType::kCwnd:
      return "cwnd";
    case EventType::kRtt:
      return "rtt";
    case EventType::kUndo:
      return "undo";
  }
  return "?";
}

std::string_view timer_name(RetransmitTimer t) {
  switch (t) {
    case RetransmitTimer::kNone:
      return "";
    case RetransmitTimer::kRto:
      return "rto";
    case RetransmitTimer::kTlp:
      return "tlp";
    case RetransmitTimer::kFast:
      return "fast";
    case RetransmitTimer::kSack:
      return "sack";
    case RetransmitTimer::kPmtu:
      return "pmtu";
  }
  return "";
}

std::string outcome_text(int err, CloseReason reason, std::string_view detail) {
  if (err == 0) return "";
  std::string out = errno_name(err);
  out += " (";
  out += reason_name(reason);
  out += "): ";
  out += detail;
  return out;
}

}  // namespace vigil::tcp
