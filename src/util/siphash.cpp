#include "util/siphash.hpp"

#include <cstddef>

namespace vigil::util {
namespace {

constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

// Byte-wise little-endian load, so the result does not depend on host
// endianness or alignment.
uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct State {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }

  void absorb(uint64_t m) {
    v3 ^= m;
    round();  // c = 2 compression rounds
    round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t siphash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data) {
  const uint64_t k0 = load_le64(key.data());
  const uint64_t k1 = load_le64(key.data() + 8);
  // Initialisation constants: "somepseudorandomlygeneratedbytes".
  State s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
          k1 ^ 0x7465646279746573ULL};

  const size_t full = data.size() & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) s.absorb(load_le64(data.data() + i));

  // Last word: the remaining 0..7 bytes, with the length mod 256 in the top
  // byte.
  uint64_t last = static_cast<uint64_t>(data.size()) << 56;
  for (size_t i = full; i < data.size(); ++i) last |= uint64_t{data[i]} << (8 * (i - full));
  s.absorb(last);

  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();  // d = 4 finalization rounds
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace vigil::util
