#include "stack/end_log.hpp"

#include "stack/stack.hpp"

namespace vigil::stack {

std::string end_line(const tcp::FourTuple& t, tcp::State from, const tcp::ConnectionError& err,
                     Duration since_start) {
  std::string out = t.local.to_string() + " <-> " + t.remote.to_string() + " ended at " +
                    format_seconds(Instant::zero() + since_start) + " s in " +
                    std::string(tcp::state_name(from)) + ": ";
  if (err.err != 0) {
    out += tcp::outcome_text(err.err, err.reason, err.detail);
  } else if (!err.detail.empty()) {
    out += "closed: " + err.detail;
  } else {
    out += "closed";
  }
  return out;
}

void EndLog::on_event(const tcp::Event& e) {
  if (next_) next_->on_event(e);
  if (e.type != tcp::EventType::kStateChange || e.from == tcp::State::kTimeWait) return;
  if (e.to != tcp::State::kClosed && e.to != tcp::State::kTimeWait) return;
  const tcp::Connection* c = stack_ ? stack_->connection(e.conn) : nullptr;
  if (!c) return;
  ++ends_;
  out_(end_line(c->tuple(), e.from, c->error(), e.time - start_));
}

}  // namespace vigil::stack
