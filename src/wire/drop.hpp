// Named reasons for dropping malformed input (DESIGN.md principle 5). Every
// packet the wire layer refuses is counted under exactly one of these.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace vigil::wire {

enum class Drop : uint8_t {
  kNone = 0,
  kIpTruncated,         // fewer than 20 bytes, or fewer than the header length
  kIpBadVersion,        // version field is not 4
  kIpBadHeaderLength,   // IHL < 5
  kIpLengthMismatch,    // total length < header length, or > bytes received
  kIpBadChecksum,       // header checksum does not verify
  kIpFragment,          // MF set or fragment offset != 0: vigil does not reassemble
  kIpNotTcp,            // neither TCP nor ICMP
  kTcpTruncated,        // fewer than 20 bytes of TCP header
  kTcpBadDataOffset,    // data offset < 5 or past the end of the segment
  kTcpBadOptionLength,  // option length 0 or 1, or running past the header
  kTcpBadChecksum,      // checksum over pseudo-header + segment does not verify
  kIcmpTruncated,       // shorter than 8 bytes, or quoted datagram too short
  kIcmpBadChecksum,
  kIcmpUnsupported,  // ICMP type vigil does not act on (not an error, still counted)
  kCount
};

std::string_view drop_name(Drop d);

// Counters indexed by Drop; kNone counts packets accepted.
class DropCounters {
 public:
  void count(Drop d) { ++counts_[static_cast<size_t>(d)]; }
  uint64_t get(Drop d) const { return counts_[static_cast<size_t>(d)]; }
  uint64_t total_dropped() const;

 private:
  std::array<uint64_t, static_cast<size_t>(Drop::kCount)> counts_{};
};

}  // namespace vigil::wire
