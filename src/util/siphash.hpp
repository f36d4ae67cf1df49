// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit PRF, used as
// the RFC 6528 function F(localip, localport, remoteip, remoteport, secret)
// for initial sequence numbers.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace vigil::util {

// The key is read as two little-endian 64-bit words (k0 = key[0..7],
// k1 = key[8..15]), as in the reference implementation.
uint64_t siphash24(const std::array<uint8_t, 16>& key, std::span<const uint8_t> data);

}  // namespace vigil::util
