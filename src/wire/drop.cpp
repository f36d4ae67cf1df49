#include "wire/drop.hpp"

namespace vigil::wire {

std::string_view drop_name(Drop d) {
  switch (d) {
    case Drop::kNone:
      return "accepted";
    case Drop::kIpTruncated:
      return "ip_truncated";
    case Drop::kIpBadVersion:
      return "ip_bad_version";
    case Drop::kIpBadHeaderLength:
      return "ip_bad_header_length";
    case Drop::kIpLengthMismatch:
      return "ip_length_mismatch";
    case Drop::kIpBadChecksum:
      return "ip_bad_checksum";
    case Drop::kIpFragment:
      return "ip_fragment";
    case Drop::kIpNotTcp:
      return "ip_not_tcp";
    case Drop::kTcpTruncated:
      return "tcp_truncated";
    case Drop::kTcpBadDataOffset:
      return "tcp_bad_data_offset";
    case Drop::kTcpBadOptionLength:
      return "tcp_bad_option_length";
    case Drop::kTcpBadChecksum:
      return "tcp_bad_checksum";
    case Drop::kIcmpTruncated:
      return "icmp_truncated";
    case Drop::kIcmpBadChecksum:
      return "icmp_bad_checksum";
    case Drop::kIcmpUnsupported:
      return "icmp_unsupported";
    case Drop::kCount:
      break;
  }
  return "unknown";
}

uint64_t DropCounters::total_dropped() const {
  uint64_t sum = 0;
  for (size_t i = 1; i < counts_.size(); ++i) sum += counts_[i];
  return sum;
}

}  // namespace vigil::wire
