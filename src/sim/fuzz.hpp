// `vigil sim fuzz`: randomized deterministic simulation. Each seed draws a
// world (links and their impairments, partitions, connections and what their
// applications do, off-path attackers) from util::Rng(seed), runs it on
// virtual time and checks invariants that must hold whatever was drawn
// (docs/sim-fuzz.md). The same seed always gives the same run, byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vigil/time.hpp"

namespace vigil::sim {

// The invariants, by the names failures carry.
inline constexpr const char* kInvStreamPrefix = "stream-prefix";
inline constexpr const char* kInvTransferComplete = "transfer-complete";
inline constexpr const char* kInvLivenessBound = "liveness-bound";
inline constexpr const char* kInvDiesAnswering = "dies-while-answering";
inline constexpr const char* kInvInternal = "internal-assertion";
inline constexpr const char* kInvMemory = "memory-bound";
inline constexpr const char* kInvRejectedSegment = "rejected-segment";

// Deliberate faults, so tests can show that each invariant can fail. Each
// breaks one thing the checker relies on and nothing else.
enum class FuzzFault : uint8_t {
  kNone,
  kFlipReadByte,     // the receiving application sees one byte flipped
  kLoseTail,         // a receiving application forgets the last byte it read
  kImmortal,         // the stacks run with R2/user timeout/keepalive limits of ~forever
  kAcceptForged,     // the attacker forges a segment the RFC says to accept
  kCheckAbort,       // an internal check fails (the process aborts)
  kMemoryCap,        // the memory bound is one connection lower than the stack's cap
  kRejectedChanges,  // the checker perturbs a digest after a rejected segment
  kFragile,          // the stacks run with a 1 ms user timeout
};
// Names for --fault; empty string for kNone.
const char* fuzz_fault_name(FuzzFault f);
bool parse_fuzz_fault(const std::string& name, FuzzFault* out);
std::vector<std::string> fuzz_fault_names();

struct FuzzOptions {
  std::string pcap_path;  // capture at host 0's interface; empty: none
  FuzzFault fault = FuzzFault::kNone;
  std::vector<std::string> bugs;  // RFC 2525 problems (vigil sim --bugs), both hosts
};

struct FuzzFailure {
  uint64_t seed = 0;
  std::string invariant;
  std::string detail;
};

struct FuzzSeedResult {
  uint64_t seed = 0;
  std::vector<FuzzFailure> failures;
  std::string params;     // what was drawn, one item per line
  std::string summary;    // how each connection ended, one per line
  std::string events;     // every stack event, one per line
  uint64_t injected = 0;  // attacker packets delivered
  uint64_t packets = 0;   // packets delivered in all
  Instant end;            // virtual time the run stopped
  std::string error;      // an I/O failure (pcap), not an invariant
};

// Runs one seed. Never throws for any seed.
FuzzSeedResult run_fuzz_seed(uint64_t seed, const FuzzOptions& options);

}  // namespace vigil::sim
