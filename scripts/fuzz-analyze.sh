#!/usr/bin/env bash
# Coverage-guided fuzzing of `vigil analyze`'s read-and-analyse path with
# libFuzzer, under AddressSanitizer and UBSan. Not part of the test suite
# (the suite runs a deterministic 1500-case fuzz test instead).
# usage: scripts/fuzz-analyze.sh [SECONDS=300] [BUILD_DIR=build-fuzz]
# Crashing inputs are left as crash-* files in the current directory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
dir=${2:-build-fuzz}

scripts/build.sh "$dir" -DCMAKE_CXX_COMPILER=clang++-14 -DVIGIL_SANITIZE=ON \
  -DVIGIL_LIBFUZZER=ON -DVIGIL_TESTS=OFF >/dev/null
ninja -C "$dir" vigil_fuzz_analyze >/dev/null

# Seed corpus: small simulator captures of the situations the analyzer
# explains (handshake, loss, keepalive, zero window, refused, RTO back-off).
corpus="$dir/fuzz-corpus"
mkdir -p "$corpus"
for s in handshake-close closed-port-rst keepalive-dead-peer zero-window-persist rto-blackhole; do
  [ -s "$corpus/$s.pcap" ] ||
    "$dir/vigil" sim "$s" --set limit=120s --pcap "$corpus/$s.pcap" >/dev/null
done
[ -s "$corpus/bulk-lossy.pcap" ] ||
  "$dir/vigil" sim bulk-lossy --set bytes=30k --pcap "$corpus/bulk-lossy.pcap" >/dev/null

echo "fuzz-analyze: ${seconds} s, corpus $corpus ($(ls "$corpus" | wc -l) files)"
"$dir/vigil_fuzz_analyze" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -print_final_stats=1 "$corpus"
