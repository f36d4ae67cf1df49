// Simulated applications: app::StreamPeer (a byte-stream peer that writes a
// deterministic pattern, reads and hashes what arrives, and closes when
// told) wrapped as a connecting client or an accepting server of a Host.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/stream_peer.hpp"
#include "sim/world.hpp"

namespace vigil::sim {

// The stream peer itself is the application layer's (app/stream_peer.hpp),
// shared with `vigil tun`; these wrappers attach it to a simulated Host.
using app::PeerBehaviour;
using app::StreamPeer;
using app::StreamTally;

class ClientApp : public App {
 public:
  ClientApp(Host& host, tcp::Endpoint remote, Instant start, const PeerBehaviour& b,
            std::optional<tcp::TcpConfig> config = std::nullopt);
  void poll(Instant now) override;
  Instant next_wake() const override;
  bool done() const override;
  StreamPeer& peer() { return peer_; }
  Host& host() { return host_; }
  const std::string& open_error() const { return open_error_; }

 private:
  Host& host_;
  tcp::Endpoint remote_;
  Instant start_;
  std::optional<tcp::TcpConfig> config_;
  bool started_ = false;
  Instant last_now_;
  std::string open_error_;
  StreamPeer peer_;
};

class ServerApp : public App {
 public:
  ServerApp(Host& host, uint16_t port, const PeerBehaviour& b,
            std::optional<tcp::TcpConfig> config = std::nullopt);
  void poll(Instant now) override;
  Instant next_wake() const override;
  bool done() const override;
  StreamPeer& peer() { return peer_; }
  Host& host() { return host_; }

 private:
  Host& host_;
  uint16_t port_;
  bool listening_ = false;
  std::optional<tcp::TcpConfig> config_;
  StreamPeer peer_;
  Instant last_now_;
};

}  // namespace vigil::sim
