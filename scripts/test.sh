#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#  0. clang-format check;
#  Both builds are VIGIL_QUICK_BUILD (CMakeLists.txt): line tables instead of
#  full debug info, the GoogleTest programs and the CLI at -O1, as
#  compiling is most of the run; the layers keep their optimisation. The
#  sanitizer stage runs one test more than there are cores: many tool tests
#  wait on real-time timers (keepalives, RTOs) rather than compute.
#  1. g++ build (warnings are errors); the unit, scenario and install tests
#     (`-L 'unit|scenario|install|unsanitized'`) and the two tool tests
#     labelled `unsanitized`: tun_attack_cap and tun_attack_synflood, whose
#     resident-memory bounds only mean something without the sanitizers,
#     and tun_attack_inject and tun_interop (also labelled `realtime`),
#     which need vigil to keep up with the kernel in real time;
#  2. clang++ 14 build with AddressSanitizer + UBSan (-O1, warnings are
#     errors under clang too), also instrumented for libFuzzer so that the
#     same build serves stage 3 (one clang build instead of two saves about
#     3 minutes of CI): the unit, scenario and tool tests
#     (`-L 'unit|scenario|tool' -LE realtime`) under the sanitizers. Every
#     other tool test (tests/tools/*.sh: TUN, tshark, Chromium, CLI) runs
#     here, against the sanitized build-asan/vigil, once; those that need
#     root or /dev/net/tun exit 77 without them and ctest reports them
#     skipped;
#  3. the libFuzzer targets from that build, two at a time: each replays its
#     repository corpus, then runs a fixed number of mutations from a fixed
#     seed, so the result is the same on every machine (scripts/fuzz.sh
#     --runs; timed runs with random seeds are documented in README's Tests
#     section).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== formatting"
scripts/lint.sh --format-only

echo "== g++ build: unit, scenario, install and unsanitized tool tests"
scripts/build.sh build -DCMAKE_CXX_COMPILER=g++ -DVIGIL_QUICK_BUILD=ON
(cd build && ctest --output-on-failure -j "$jobs" -L 'unit|scenario|install|unsanitized')

echo "== clang++ build with ASan+UBSan (and libFuzzer instrumentation): unit, scenario and tool tests"
scripts/build.sh build-asan -DCMAKE_CXX_COMPILER=clang++-14 -DVIGIL_SANITIZE=ON -DVIGIL_LIBFUZZER=ON \
  -DCMAKE_BUILD_TYPE=Debug -DVIGIL_QUICK_BUILD=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$((jobs + 1))" -L 'unit|scenario|tool' -LE realtime)

echo "== libFuzzer targets: corpus replay and a fixed-seed run each"
# About 20 s each here: the runs scale with each target's speed.
printf '%s\n' 'wire 3000000' 'stack 30000' 'connection 50000' 'analyze 40000' |
  VIGIL_FUZZ_NO_BUILD=1 xargs -P "$jobs" -L1 sh -c 'scripts/fuzz.sh "$0" --runs "$1" build-asan'
