// The bytes an application writes: a deterministic stream, so that the
// receiver's sha256 (or a byte-by-byte check) proves every byte arrived, in
// order. One generator for the simulator's peers and `vigil tun`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "stack/stack.hpp"
#include "util/rng.hpp"
#include "util/sha256.hpp"
#include "vigil/time.hpp"

namespace vigil::app {

class Pattern {
 public:
  enum class Kind : uint8_t {
    // util::Rng(seed)'s output, 8 bytes a draw, little-endian (the
    // simulator), so a hash mismatch cannot hide behind repeating content.
    kRandom,
    // byte i = i*7 mod 251 (`vigil tun`, HTTP /bytes/N, tests/tools): any
    // receiver can check any byte without state.
    kMod251,
  };
  explicit Pattern(Kind kind, uint64_t seed = 1);

  // Writes stream bytes [pos, end) to connection `id` until its send
  // buffer takes no more; returns how many it took and feeds them to
  // `hash` if given. kRandom is generated as it goes, so its `pos` must be
  // where the previous call stopped (it starts at 0).
  uint64_t send(stack::Stack& s, Instant now, stack::ConnId id, uint64_t pos, uint64_t end,
                util::Sha256* hash);

 private:
  // The stream's bytes from offset `pos` on that are contiguous in block_
  // (at least one).
  std::span<const uint8_t> at(uint64_t pos);

  Kind kind_;
  util::Rng rng_;
  std::vector<uint8_t> block_;
  uint64_t block_end_ = 0;  // kRandom: the stream offset just past block_
};

}  // namespace vigil::app
