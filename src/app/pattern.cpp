#include "app/pattern.hpp"

#include <algorithm>
#include <cassert>

namespace vigil::app {

namespace {
// Period 251, so one block of whole periods serves any offset.
constexpr size_t kMod251Block = 251 * 64;
constexpr size_t kRandomBlock = 16 * 1024;
}  // namespace

Pattern::Pattern(Kind kind, uint64_t seed)
    : kind_(kind), rng_(seed), block_(kind == Kind::kMod251 ? kMod251Block : kRandomBlock) {
  if (kind_ == Kind::kMod251) {
    for (size_t i = 0; i < block_.size(); ++i) block_[i] = static_cast<uint8_t>((i * 7) % 251);
  }
}

std::span<const uint8_t> Pattern::at(uint64_t pos) {
  if (kind_ == Kind::kMod251) return std::span<const uint8_t>(block_).subspan(pos % 251);
  assert(pos + block_.size() >= block_end_ && pos <= block_end_);
  if (pos == block_end_) {
    for (size_t i = 0; i < block_.size(); i += 8) {
      const uint64_t r = rng_.next_u64();
      for (size_t k = 0; k < 8 && i + k < block_.size(); ++k) {
        block_[i + k] = static_cast<uint8_t>(r >> (8 * k));
      }
    }
    block_end_ += block_.size();
  }
  return std::span<const uint8_t>(block_).last(static_cast<size_t>(block_end_ - pos));
}

uint64_t Pattern::send(stack::Stack& s, Instant now, stack::ConnId id, uint64_t pos, uint64_t end,
                       util::Sha256* hash) {
  uint64_t sent = 0;
  while (pos + sent < end) {
    std::span<const uint8_t> chunk = at(pos + sent);
    chunk = chunk.first(static_cast<size_t>(std::min<uint64_t>(chunk.size(), end - pos - sent)));
    const size_t n = s.send(now, id, chunk);
    if (n == 0) break;
    if (hash) hash->update(chunk.first(n));
    sent += n;
  }
  return sent;
}

}  // namespace vigil::app
