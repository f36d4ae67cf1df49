// The segment label vocabulary of `vigil analyze`, used verbatim in JSON.
// A segment can carry several labels, so they are bits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::analyze {

enum class Label : uint8_t {
  kSyn,
  kSynAck,
  kSynRetransmission,
  kFin,
  kRst,
  kRstRefused,
  kData,
  kPureAck,
  kKeepalive,
  kKeepaliveAck,
  kZeroWindow,
  kZeroWindowProbe,
  kZeroWindowProbeAck,
  kWindowFull,
  kWindowUpdate,
  kRetransmission,
  kFastRetransmission,
  kTailLossProbe,
  kSpuriousRetransmission,
  kDupAck,
  kOutOfOrder,
  kLostSegment,
  kCaptureDuplicate,
  kAckedUnseen,
  kPortReuse,
  kCount,
};

using LabelSet = uint32_t;
inline constexpr LabelSet bit(Label l) { return LabelSet{1} << static_cast<unsigned>(l); }
inline constexpr bool has(LabelSet s, Label l) { return (s & bit(l)) != 0; }

std::string_view label_name(Label l);      // "zero_window_probe"
std::string labels_to_string(LabelSet s);  // "pure_ack,dup_ack"

}  // namespace vigil::analyze
