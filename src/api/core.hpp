// The state behind vigil::Stack (include/vigil/vigil.hpp): the engine
// (stack::Stack), the records of the sockets and listeners that have a
// handle, and the edge detection that turns the engine's state into
// readiness callbacks. Shared by api.cpp and tun.cpp; not installed as API.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/stack.hpp"
#include "tcp/events.hpp"
#include "vigil/time.hpp"
#include "vigil/vigil.hpp"

namespace vigil::api_detail {

inline Instant to_instant(TimePoint t) { return Instant::from_ns(t.time_since_epoch().count()); }
inline TimePoint to_time_point(Instant t) { return TimePoint(Nanos(t.ns())); }

struct SocketRecord {
  Socket* handle = nullptr;  // the user's handle (moves update it)
  std::function<void(Socket&)> readable, writable;
  std::function<void(Socket&, const Outcome&)> closed;
  // Edge detection (Core::dispatch): what the last callback round saw.
  size_t seen_bytes = 0;
  bool seen_eof = false, seen_error = false, seen_writable = false, closed_fired = false;
  // recv()/send() report the connection's failure once, then EOF / EPIPE.
  bool error_reported = false;
  bool write_shut = false;
  std::optional<Outcome> outcome;
  std::string why;  // Socket::why(): the last failed set()
};

struct ListenerRecord {
  Listener* handle = nullptr;
  std::function<void(Listener&)> acceptable;
};

struct Core : tcp::EventSink {
  Core(const stack::StackConfig& cfg, uint64_t seed, Instant start);

  void on_event(const tcp::Event& e) override;
  // Runs the callbacks whose conditions turned true since the last round.
  void dispatch();
  Readiness readiness(stack::ConnId id) const;
  Outcome outcome_of(const tcp::Connection& c, tcp::State from, Instant at) const;

  Instant start, now;
  stack::Stack st;
  std::string why;
  std::map<stack::ConnId, SocketRecord> sockets;
  std::map<uint16_t, ListenerRecord> listeners;
  std::vector<Outcome> ended;  // waiting for the on_connection_end handler
  std::function<void(const Event&)> event_fn;
  std::function<void(const Outcome&)> end_fn;
  bool dispatching = false;
};

}  // namespace vigil::api_detail
