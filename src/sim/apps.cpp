#include "sim/apps.hpp"

#include <algorithm>

namespace vigil::sim {

void StreamTally::finish() {
  sha256_sent = util::Sha256::hex(sent_hash.finish());
  sha256_received = util::Sha256::hex(received_hash.finish());
}

StreamPeer::StreamPeer(const PeerBehaviour& b)
    : b_(b), pattern_(b.pattern_seed), chunk_(16 * 1024), read_buf_(b.read_chunk) {
  chunk_pos_ = chunk_.size();  // nothing generated yet
}

void StreamPeer::fill_pattern() {
  // A deterministic pseudo-random stream, so a hash mismatch cannot hide
  // behind repeating content.
  for (size_t i = 0; i < chunk_.size(); i += 8) {
    const uint64_t r = pattern_.next_u64();
    for (size_t k = 0; k < 8 && i + k < chunk_.size(); ++k) {
      chunk_[i + k] = static_cast<uint8_t>(r >> (8 * k));
    }
  }
  chunk_pos_ = 0;
}

void StreamPeer::poll(stack::Stack& s, Instant now) {
  if (!id_) return;
  const tcp::Connection* c = s.connection(*id_);
  if (!c) return;

  // Write as much of the pattern as the send buffer takes.
  while (now >= b_.send_from && tally_.bytes_sent < b_.bytes_to_send) {
    if (chunk_pos_ == chunk_.size()) fill_pattern();
    const uint64_t left = b_.bytes_to_send - tally_.bytes_sent;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left, chunk_.size() - chunk_pos_));
    const size_t n = s.send(now, *id_, std::span<const uint8_t>(&chunk_[chunk_pos_], want));
    if (n == 0) break;
    tally_.sent_hash.update(std::span<const uint8_t>(&chunk_[chunk_pos_], n));
    chunk_pos_ += n;
    tally_.bytes_sent += n;
  }

  // Read unless paused; a paused reader may still take one small bite
  // (the RFC 2525 §2.12 recipe: 1 < N < MSS bytes, no window update).
  const bool paused = now >= b_.read_pause_from && now < b_.read_pause_until;
  if (paused && !trickled_ && now >= b_.trickle_at && b_.trickle_bytes > 0) {
    trickled_ = true;
    std::vector<uint8_t> bite(b_.trickle_bytes);
    const size_t n = s.recv(now, *id_, bite);
    tally_.received_hash.update(std::span<const uint8_t>(bite.data(), n));
    tally_.bytes_received += n;
  }
  if (!paused) {
    for (;;) {
      const size_t n = s.recv(now, *id_, read_buf_);
      if (n == 0) break;
      tally_.received_hash.update(std::span<const uint8_t>(read_buf_.data(), n));
      tally_.bytes_received += n;
    }
    if (c->peer_closed() && c->recv_available() == 0) tally_.eof = true;
  }

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

Instant StreamPeer::next_wake(Instant now) const {
  // The earliest future moment the behaviour changes.
  Instant next = Instant::never();
  auto consider = [&](Instant t) {
    if (t > now) next = std::min(next, t);
  };
  if (tally_.bytes_sent < b_.bytes_to_send) consider(b_.send_from);
  consider(b_.read_pause_from);
  consider(b_.read_pause_until);
  if (!trickled_ && b_.trickle_bytes > 0) consider(b_.trickle_at);
  if (!gave_up_) consider(b_.abort_at);
  return next;
}

bool StreamPeer::done(const stack::Stack& s) const {
  if (!id_) return false;
  const tcp::Connection* c = s.connection(*id_);
  return !c || c->state() == tcp::State::kClosed || c->state() == tcp::State::kTimeWait;
}

ClientApp::ClientApp(Host& host, tcp::Endpoint remote, Instant start, const PeerBehaviour& b,
                     std::optional<tcp::TcpConfig> config)
    : host_(host), remote_(remote), start_(start), config_(std::move(config)), peer_(b) {}

void ClientApp::poll(Instant now) {
  last_now_ = now;
  if (!started_ && now >= start_) {
    started_ = true;
    stack::OpenError err;
    auto id = host_.stack().connect(now, remote_, &err, config_ ? &*config_ : nullptr,
                                    peer_.behaviour().local_port);
    if (!id) {
      open_error_ = err.message;
      return;
    }
    peer_.attach(*id);
  }
  peer_.poll(host_.stack(), now);
}

Instant ClientApp::next_wake() const {
  if (!started_) return start_;
  return peer_.next_wake(last_now_);
}

bool ClientApp::done() const {
  return started_ && (!open_error_.empty() || peer_.done(host_.stack()));
}

ServerApp::ServerApp(Host& host, uint16_t port, const PeerBehaviour& b,
                     std::optional<tcp::TcpConfig> config)
    : host_(host), port_(port), config_(std::move(config)), peer_(b) {}

void ServerApp::poll(Instant now) {
  last_now_ = now;
  if (port_ == 0) return;  // a host with nothing listening
  if (!listening_) {
    listening_ = host_.stack().listen(port_, 16, nullptr, config_ ? &*config_ : nullptr);
  }
  if (!peer_.id()) {
    if (auto id = host_.stack().accept(port_)) peer_.attach(*id);
  }
  peer_.poll(host_.stack(), now);
}

Instant ServerApp::next_wake() const {
  if (port_ == 0) return Instant::never();
  if (!listening_) return Instant::zero();
  return peer_.id() ? peer_.next_wake(last_now_) : Instant::never();
}

bool ServerApp::done() const { return port_ == 0 || peer_.done(host_.stack()); }

}  // namespace vigil::sim
