#include "sim/apps.hpp"

#include <utility>

namespace vigil::sim {

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
