#include "app/stream_peer.hpp"

#include <algorithm>

namespace vigil::app {

void StreamTally::finish() {
  sha256_sent = util::Sha256::hex(sent_hash.finish());
  sha256_received = util::Sha256::hex(received_hash.finish());
}

StreamPeer::StreamPeer(const PeerBehaviour& b)
    : b_(b), pattern_(b.pattern, b.pattern_seed), pause_(b.read_pause), read_buf_(b.read_chunk) {}

void StreamPeer::poll(stack::Stack& s, Instant now) {
  if (!id_) return;
  const tcp::Connection* c = s.connection(*id_);
  if (!c) return;

  // Write as much of the pattern as the send buffer takes.
  if (now >= b_.send_from && tally_.bytes_sent < b_.bytes_to_send) {
    tally_.bytes_sent +=
        pattern_.send(s, now, *id_, tally_.bytes_sent, b_.bytes_to_send, &tally_.sent_hash);
  }

  // Read unless paused; a paused reader may still take one small bite.
  if (const size_t bite_size = pause_.take_trickle(now)) {
    std::vector<uint8_t> bite(bite_size);
    const size_t n = s.recv(now, *id_, bite);
    tally_.received_hash.update(std::span<const uint8_t>(bite.data(), n));
    tally_.bytes_received += n;
  }
  for (;;) {
    const uint64_t room = pause_.room(now, tally_.bytes_received);
    if (room == 0) break;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(room, read_buf_.size()));
    const size_t n = s.recv(now, *id_, std::span<uint8_t>(read_buf_).first(want));
    if (n == 0) break;
    tally_.received_hash.update(std::span<const uint8_t>(read_buf_.data(), n));
    tally_.bytes_received += n;
  }
  if (!pause_.paused(now) && c->peer_closed() && c->recv_available() == 0) tally_.eof = true;

  // The application timeout: an abortive close whatever the stream's state.
  if (!gave_up_ && now >= b_.abort_at && c->state() != tcp::State::kClosed &&
      c->state() != tcp::State::kTimeWait) {
    gave_up_ = true;
    closed_ = true;
    if (b_.abort_mode == PeerBehaviour::AbortMode::kLinger0) {
      s.abort(now, *id_);
    } else {
      s.close_and_stop_reading(now, *id_);
    }
    return;
  }

  if (closed_) return;
  const bool all_sent = tally_.bytes_sent >= b_.bytes_to_send;
  // close() before the handshake completes would abandon the connection
  // (RFC 9293 §3.10.4 in SYN-SENT), so wait until it is established.
  if (c->state() == tcp::State::kClosed || !c->established_once()) return;
  if ((all_sent && b_.close_after_send) || (tally_.eof && b_.close_on_eof && all_sent)) {
    closed_ = true;
    if (b_.abort_instead_of_close) {
      s.abort(now, *id_);
    } else if (b_.orphan_on_close) {
      s.close_orphan(now, *id_);
    } else {
      s.close(now, *id_);
    }
  }
}

void StreamPeer::close(stack::Stack& s, Instant now) {
  if (!id_ || closed_) return;
  closed_ = true;
  s.close(now, *id_);
}

Instant StreamPeer::next_wake(Instant now) const {
  // The earliest future moment the behaviour changes.
  Instant next = pause_.next_wake(now);
  auto consider = [&](Instant t) {
    if (t > now) next = std::min(next, t);
  };
  if (tally_.bytes_sent < b_.bytes_to_send) consider(b_.send_from);
  if (!gave_up_) consider(b_.abort_at);
  return next;
}

bool StreamPeer::done(const stack::Stack& s) const {
  if (!id_) return false;
  const tcp::Connection* c = s.connection(*id_);
  return !c || c->state() == tcp::State::kClosed || c->state() == tcp::State::kTimeWait;
}

}  // namespace vigil::app
