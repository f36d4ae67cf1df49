// The one source of randomness (DESIGN.md principle 3): a seeded generator
// that is injected wherever randomness is needed (ISN secret, ports, loss),
// so the same seed always gives the same run. xoshiro256** seeded through
// splitmix64; both are public-domain algorithms by Blackman and Vigna.
#pragma once

#include <cstdint>

namespace vigil::util {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : s_) word = splitmix64(x);
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }

  // Uniform in [0, 1) with 53 bits of precision.
  double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // Uniform in [0, bound); bound 0 gives 0. Rejection sampling, so there
  // is no modulo bias.
  uint64_t uniform(uint64_t bound) {
    if (bound == 0) return 0;
    const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    for (;;) {
      const uint64_t r = next_u64();
      if (r >= threshold) return r % bound;
    }
  }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool chance(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return next_double() < p;
  }

  // A child generator with its own stream, so adding a consumer of
  // randomness in one component does not shift every other component's.
  Rng fork() { return Rng(next_u64()); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4] = {};
};

}  // namespace vigil::util
