// Benchmark drivers behind `vigil bench` (issue 15, docs/benchmarks.md):
// two vigil stacks in one thread, joined by an in-memory wire with no delay
// model, timed with the thread's CPU clock and the wall clock. Pattern
// generation happens before the clock starts and verification is timed
// apart and left out of the figures.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/time.hpp"

namespace vigil::sim::bench {

// Heap counters that a replacement global operator new/delete updates (the
// `vigil` binary's src/cli/heap_counter.cpp). A program that does not
// replace them leaves `counting` false and every count at zero.
struct HeapCounters {
  std::atomic<uint64_t> allocations{0};
  std::atomic<int64_t> live_bytes{0};  // malloc_usable_size of what is held
  bool counting = false;
};
HeapCounters& heap_counters();

// One benchmark's outcome: named figures (stable names, docs/benchmarks.md),
// plus words for what could not be measured.
struct Result {
  std::string name;
  std::vector<std::pair<std::string, double>> figures;
  std::vector<std::pair<std::string, std::string>> notes;
  std::string error;  // non-empty: the run failed (a transfer did not complete ...)
  double figure(const std::string& key) const;
};

// Called now and then with a one-line account of the progress.
using Progress = std::function<void(const std::string&)>;

struct BulkParams {
  uint64_t bytes = uint64_t{1} << 30;
  uint32_t mtu = 1500;
  // Full checksums both ways (a veth with offloads off computes them); off:
  // partial checksums, unverified, as Linux loopback (CHECKSUM_PARTIAL).
  bool checksums = true;
  uint32_t buffer = 4 * 1024 * 1024;  // SO_SNDBUF and SO_RCVBUF at both ends
  bool ceiling = true;                // also measure memcpy (off under callgrind)
};
Result run_bulk(const BulkParams& p, const Progress& progress);

struct HandshakeParams {
  uint64_t count = 200'000;
};
Result run_handshake(const HandshakeParams& p, const Progress& progress);

struct IdleParams {
  uint64_t connections = 1'000'000;
  Duration run_for = Duration::seconds(3 * 3600);
  // The run is refused when the projected heap (measured on the first
  // connections) exceeds this, rather than pushing the machine into swap.
  uint64_t memory_limit = uint64_t{6} << 30;
};
Result run_idle(const IdleParams& p, const Progress& progress);

// Gbit/s of memcpy between two buffers of `bytes` (the bulk run's socket
// buffer size, so the same cache level), over at least `seconds` of CPU
// time: the ceiling for a stack that copies each byte at least once.
double memcpy_gbit_per_s(size_t bytes = 4 * 1024 * 1024, double seconds = 0.3);

// The sizes that make up one connection (docs/benchmarks.md's footprint
// table): name and bytes.
std::vector<std::pair<std::string, uint64_t>> connection_sizes();

}  // namespace vigil::sim::bench
