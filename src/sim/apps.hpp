// Simulated applications: a byte-stream peer that writes a deterministic
// pattern, reads and hashes what arrives, and closes when told; wrapped as
// a connecting client or an accepting server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/world.hpp"
#include "util/rng.hpp"
#include "util/sha256.hpp"

namespace vigil::sim {

// What one endpoint's application wrote and read.
struct StreamTally {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  util::Sha256 sent_hash;
  util::Sha256 received_hash;
  std::string sha256_sent;  // filled by finish()
  std::string sha256_received;
  bool eof = false;
  void finish();
};

struct PeerBehaviour {
  uint64_t bytes_to_send = 0;
  uint64_t pattern_seed = 1;
  Instant send_from = Instant::zero();  // start writing at
  bool close_after_send = true;         // close() once everything is written
  bool close_on_eof = true;             // close() when the peer's FIN arrives
  bool abort_instead_of_close = false;
  // close() as Linux's close() (an orphan: nothing more will be read), for a
  // peer that expects no data; otherwise a half-close that keeps reading.
  bool orphan_on_close = false;
  Instant read_pause_from = Instant::never();   // stop reading at...
  Instant read_pause_until = Instant::never();  // ...and resume at
  size_t read_chunk = 64 * 1024;
  Instant trickle_at = Instant::never();  // while paused, read once...
  size_t trickle_bytes = 0;               // ...this many bytes
  // An application timeout: at this time, unless the connection has ended,
  // the application gives up and closes abortively, by SO_LINGER 0
  // (abort()) or by close(2) with whatever it has not read (RST when that is
  // anything, RFC 2525 §2.17).
  enum class AbortMode : uint8_t { kLinger0, kUnread };
  Instant abort_at = Instant::never();
  AbortMode abort_mode = AbortMode::kLinger0;
  uint16_t local_port = 0;  // ClientApp: connect from this port (0: ephemeral)
};

// Drives one connection of a host's stack according to a PeerBehaviour.
class StreamPeer {
 public:
  explicit StreamPeer(const PeerBehaviour& b);
  void attach(stack::ConnId id) { id_ = id; }
  std::optional<stack::ConnId> id() const { return id_; }
  void poll(stack::Stack& s, Instant now);
  Instant next_wake(Instant now) const;
  bool done(const stack::Stack& s) const;
  StreamTally& tally() { return tally_; }
  const PeerBehaviour& behaviour() const { return b_; }

 private:
  void fill_pattern();

  PeerBehaviour b_;
  std::optional<stack::ConnId> id_;
  util::Rng pattern_;
  std::vector<uint8_t> chunk_;
  size_t chunk_pos_ = 0;  // next byte of chunk_ to write
  std::vector<uint8_t> read_buf_;
  bool closed_ = false;
  bool trickled_ = false;
  bool gave_up_ = false;  // abort_at passed
  StreamTally tally_;
};

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
