// A byte-stream peer: writes a deterministic pattern, reads and hashes what
// arrives, and closes when told. The simulator wraps it as a connecting
// client or an accepting server (sim/apps.hpp); `vigil tun connect` drives
// one over a TUN device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/pattern.hpp"
#include "app/read_pause.hpp"
#include "stack/stack.hpp"
#include "util/sha256.hpp"
#include "vigil/time.hpp"

namespace vigil::app {

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
  Pattern::Kind pattern = Pattern::Kind::kRandom;
  uint64_t pattern_seed = 1;            // kRandom's
  Instant send_from = Instant::zero();  // start writing at
  bool close_after_send = true;         // close() once everything is written
  bool close_on_eof = true;             // close() when the peer's FIN arrives
  bool abort_instead_of_close = false;
  // close() as Linux's close() (an orphan: nothing more will be read), for a
  // peer that expects no data; otherwise a half-close that keeps reading.
  bool orphan_on_close = false;
  ReadPausePlan read_pause;
  size_t read_chunk = 64 * 1024;
  // An application timeout: at this time, unless the connection has ended,
  // the application gives up and closes abortively, by SO_LINGER 0
  // (abort()) or by close(2) with whatever it has not read (RST when that is
  // anything, RFC 2525 §2.17).
  enum class AbortMode : uint8_t { kLinger0, kUnread };
  Instant abort_at = Instant::never();
  AbortMode abort_mode = AbortMode::kLinger0;
  uint16_t local_port = 0;  // a connecting wrapper: connect from this port (0: ephemeral)
};

// Drives one connection of a stack according to a PeerBehaviour.
class StreamPeer {
 public:
  explicit StreamPeer(const PeerBehaviour& b);
  void attach(stack::ConnId id) { id_ = id; }
  std::optional<stack::ConnId> id() const { return id_; }
  void poll(stack::Stack& s, Instant now);
  Instant next_wake(Instant now) const;
  bool done(const stack::Stack& s) const;
  // Closes now, whatever the behaviour says (once; `vigil tun` on SIGINT).
  void close(stack::Stack& s, Instant now);
  StreamTally& tally() { return tally_; }
  const StreamTally& tally() const { return tally_; }
  const PeerBehaviour& behaviour() const { return b_; }

 private:
  PeerBehaviour b_;
  std::optional<stack::ConnId> id_;
  Pattern pattern_;
  ReadPause pause_;
  std::vector<uint8_t> read_buf_;
  bool closed_ = false;
  bool gave_up_ = false;  // abort_at passed
  StreamTally tally_;
};

}  // namespace vigil::app
