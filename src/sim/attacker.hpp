// An off-path attacker for the simulator (issue 12, "Prove it" point 4).
//
// It never sees the victim's packets. It knows one connection's 4-tuple
// and, optionally, a guess of the victim's windows, and forges packets that
// claim to come from the victim's peer (or from a router on the path),
// injected into the World's link towards the victim at a fixed rate:
//
//   kRst         RST, SEQ in the guessed receive window but never exactly
//                RCV.NXT (that one guess RFC 5961 §3.2 cannot tell from the
//                peer's own RST); blind: any SEQ.
//   kSyn         SYN with the options of a real one (MSS, SACK-permitted,
//                timestamps, window scale), SEQ as for kRst.
//   kData        ACK + 64 payload bytes, SEQ as for kRst, the ACK field
//                blind (an off-path attacker does not know SND.UNA: RFC 5961
//                §5 is the check under test), TSval = the guessed TS.Recent
//                so PAWS alone does not stop it.
//   kBadAckTsval SEQ as for kRst, no payload, a TSval 2^30 ahead of the
//                guessed TS.Recent (blind: any), and an unacceptable ACK:
//                SND.UNA + 2^31 with the ACK flag, or no ACK flag at all,
//                alternately (issue 12 hole 1: timestamp poisoning).
//   kIcmpUnreachable  ICMP destination unreachable, every code 0..15 but 4
//                in turn, quoting a TCP header from the victim to its peer
//                whose SEQ is in the guessed flight [SND.UNA, SND.NXT).
//   kIcmpFragNeeded   code 4 with a small next-hop MTU (0, 68, 108, 296,
//                508, 551, 552, 576, 1006, 1280, 1492 in turn), quoting as
//                kIcmpUnreachable.
//   kOutOfOrderData   ACK + 64 payload bytes at (RCV.NXT + 1, RCV.NXT +
//                RCV.WND - 64), with an acceptable ACK (the guessed SND.UNA)
//                and TSval: an on-path attacker's out-of-order flood. It
//                never covers RCV.NXT, so no forged byte becomes readable;
//                it fills the reassembly table (tcp::RecvBuffer).
//
// Without a guess (or when the guess function returns nullopt) every
// sequence, acknowledgment and timestamp field is uniformly random: a blind
// attacker. With `spoof_source`, each packet comes from a random unicast
// address and port instead of the tuple's peer (a SYN flood).
//
// Deterministic: every random choice comes from the util::Rng given to it.
// The attacker is an App: add it with World::add_app; the run keeps going
// while it has injections left.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "sim/world.hpp"
#include "tcp/connection.hpp"
#include "util/rng.hpp"
#include "vigil/time.hpp"

namespace vigil::sim {

enum class AttackKind : uint8_t {
  kRst,
  kSyn,
  kData,
  kBadAckTsval,
  kIcmpUnreachable,
  kIcmpFragNeeded,
  kOutOfOrderData,
};
inline constexpr size_t kAttackKinds = 7;
const char* attack_kind_name(AttackKind k);  // "rst", "syn", "data", "bad_ack_tsval", ...

// What the attacker believes about the victim's side of the connection.
struct WindowGuess {
  uint32_t rcv_nxt = 0;    // the victim's RCV.NXT...
  uint32_t rcv_wnd = 0;    // ...and receive window: SEQ fields go in (rcv_nxt, rcv_nxt + rcv_wnd)
  uint32_t snd_una = 0;    // the victim's SND.UNA and SND.NXT: ICMP quotes a SEQ in
  uint32_t snd_nxt = 0;    // [snd_una, snd_nxt) (snd_una itself when they are equal)
  uint32_t ts_recent = 0;  // the victim's TS.Recent: the peer's latest TSval
};
// Asked before each injection; nullopt means "no idea" (a blind injection).
using GuessFn = std::function<std::optional<WindowGuess>(Instant now)>;

// The exact values of a live connection: the strongest off-path attacker,
// one that guessed the window right (for tests; a real one must search).
WindowGuess guess_from(const tcp::Connection& victim);

struct AttackerConfig {
  size_t victim_host = 1;  // World host index the packets are delivered to
  // As the victim sees it: local = the victim, remote = the peer the
  // attacker pretends to be.
  tcp::FourTuple tuple;
  std::vector<AttackKind> kinds;  // one injection of each in turn, cycling
  uint64_t count = 0;             // injections in all
  Instant start = Instant::zero();
  Duration every = Duration::millis(1);  // one injection per `every` (the rate)
  GuessFn guess;                         // null: blind
  bool timestamps = true;                // put a timestamps option on forged TCP segments
  bool spoof_source = false;             // a random source address and port per packet
  wire::Ipv4Addr icmp_source = wire::Ipv4Addr::of(10, 0, 0, 254);  // the "router"
  // How forged packets reach the victim. false (default): World::inject,
  // the link towards the victim, queued behind its traffic (so a window
  // guessed at forging time may be stale on arrival). true: handed to the
  // victim's stack at once, by a path of its own that skips the bottleneck
  // (the guess is exact on arrival); such packets are not captured.
  bool direct = false;
};

class Attacker : public App {
 public:
  Attacker(World& world, AttackerConfig cfg, util::Rng rng);

  void poll(Instant now) override;  // injects everything due by `now`
  Instant next_wake() const override;
  bool done() const override { return sent_ == cfg_.count; }

  uint64_t sent() const { return sent_; }
  uint64_t sent(AttackKind k) const { return by_kind_[static_cast<size_t>(k)]; }
  // Injections that used a guess (the rest were blind).
  uint64_t guessed() const { return guessed_; }
  const AttackerConfig& config() const { return cfg_; }

  // Builds the next forged packet of kind `k` (codes, MTUs and ACK styles
  // cycle per kind) into `out` (at least 128 bytes) without sending it;
  // returns its length. For tests and fuzzers.
  size_t forge(AttackKind k, const std::optional<WindowGuess>& g, std::span<uint8_t> out);

 private:
  size_t forge_tcp(AttackKind k, const std::optional<WindowGuess>& g, std::span<uint8_t> out);
  size_t forge_icmp(AttackKind k, const std::optional<WindowGuess>& g, std::span<uint8_t> out);
  uint32_t in_window_seq(const std::optional<WindowGuess>& g);
  tcp::FourTuple spoofed_tuple();

  World& world_;
  AttackerConfig cfg_;
  util::Rng rng_;
  uint64_t sent_ = 0;
  uint64_t guessed_ = 0;
  std::array<uint64_t, kAttackKinds> by_kind_{};
  std::array<uint64_t, kAttackKinds> cycle_{};  // forge() calls per kind
  std::vector<uint8_t> buf_;
};

}  // namespace vigil::sim
