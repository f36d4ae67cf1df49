#include "analyze/labels.hpp"

namespace vigil::analyze {

std::string_view label_name(Label l) {
  switch (l) {
    case Label::kSyn:
      return "syn";
    case Label::kSynAck:
      return "syn_ack";
    case Label::kSynRetransmission:
      return "syn_retransmission";
    case Label::kFin:
      return "fin";
    case Label::kRst:
      return "rst";
    case Label::kRstRefused:
      return "rst_refused";
    case Label::kData:
      return "data";
    case Label::kPureAck:
      return "pure_ack";
    case Label::kKeepalive:
      return "keepalive";
    case Label::kKeepaliveAck:
      return "keepalive_ack";
    case Label::kZeroWindow:
      return "zero_window";
    case Label::kZeroWindowProbe:
      return "zero_window_probe";
    case Label::kZeroWindowProbeAck:
      return "zero_window_probe_ack";
    case Label::kWindowFull:
      return "window_full";
    case Label::kWindowUpdate:
      return "window_update";
    case Label::kRetransmission:
      return "retransmission";
    case Label::kFastRetransmission:
      return "fast_retransmission";
    case Label::kTailLossProbe:
      return "tail_loss_probe";
    case Label::kSpuriousRetransmission:
      return "spurious_retransmission";
    case Label::kDupAck:
      return "dup_ack";
    case Label::kOutOfOrder:
      return "out_of_order";
    case Label::kLostSegment:
      return "lost_segment";
    case Label::kCaptureDuplicate:
      return "capture_duplicate";
    case Label::kAckedUnseen:
      return "acked_unseen";
    case Label::kPortReuse:
      return "port_reuse";
    case Label::kCount:
      break;
  }
  return "unknown";
}

std::string labels_to_string(LabelSet s) {
  std::string out;
  for (unsigned i = 0; i < static_cast<unsigned>(Label::kCount); ++i) {
    const auto l = static_cast<Label>(i);
    if (!has(s, l)) continue;
    if (!out.empty()) out += ',';
    out += label_name(l);
  }
  return out;
}

}  // namespace vigil::analyze
