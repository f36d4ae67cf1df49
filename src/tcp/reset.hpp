// The reply to a segment that reaches no connection (RFC 9293 §3.10.7.1,
// "If the state is CLOSED"): a pure function, used by the stack.
#pragma once

#include <span>

#include "wire/ipv4.hpp"
#include "wire/tcp_header.hpp"

namespace vigil::tcp {

// Builds the RST for `seg` (received from ip.src() to ip.dst()) into `out`.
// Returns 0 when no reply is due (the segment itself carries RST).
size_t build_reset_reply(std::span<uint8_t> out, const wire::Ipv4View& ip,
                         const wire::TcpView& seg);

}  // namespace vigil::tcp
