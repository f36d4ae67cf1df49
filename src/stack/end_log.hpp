// One line per connection end, for drivers on a real network (`vigil tun`,
// docs/library.md): which connection, when, in which state and why, with
// the errno, the mechanism and the evidence as `vigil sim` prints them. A
// user whose connection died learns why without a capture.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "tcp/connection.hpp"
#include "tcp/events.hpp"
#include "vigil/time.hpp"

namespace vigil::stack {

class Stack;

// "10.0.0.1:49152 <-> 10.0.0.2:7 ended at 30.000000 s in ESTABLISHED:
// ETIMEDOUT (user_timeout): ..." (err set); "... : closed" (a clean close);
// "... : closed: <detail>" (no errno, but a reason, e.g. a RST for unread
// data, RFC 2525 §2.17). `since_start`: the end's time from the driver's
// start.
std::string end_line(const tcp::FourTuple& t, tcp::State from, const tcp::ConnectionError& err,
                     Duration since_start);

// An EventSink that writes end_line() once per connection: when it enters
// CLOSED or TIME-WAIT (the application is done with it then; TIME-WAIT's
// own end to CLOSED is not a second end). Give it to the Stack, then
// attach() that Stack, whose connections it looks up for their 4-tuple
// and error. Every event also goes on to `next` (may be null), so a driver
// can keep its own sink.
class EndLog : public tcp::EventSink {
 public:
  using Writer = std::function<void(const std::string& line)>;
  EndLog(Writer out, Instant start, tcp::EventSink* next = nullptr)
      : out_(std::move(out)), start_(start), next_(next) {}
  void attach(const Stack* stack) { stack_ = stack; }
  void on_event(const tcp::Event& e) override;
  uint64_t ends() const { return ends_; }  // lines written

 private:
  Writer out_;
  Instant start_;
  tcp::EventSink* next_;
  const Stack* stack_ = nullptr;
  uint64_t ends_ = 0;
};

}  // namespace vigil::stack
