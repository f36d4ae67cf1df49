#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#  0. clang-format check;
#  1. g++ build (warnings are errors) and every ctest test;
#  2. clang++ build with AddressSanitizer + UBSan, every unit/scenario test
#     under the sanitizers (warnings are errors under clang too);
#  3. the libFuzzer targets (clang 14), 20 s each, two at a time
#     (scripts/fuzz.sh; long runs are documented in README's Tests section).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== formatting"
scripts/lint.sh --format-only

echo "== g++ build and full test suite"
scripts/build.sh build -DCMAKE_CXX_COMPILER=g++
(cd build && ctest --output-on-failure -j "$jobs")

echo "== clang++ build with ASan+UBSan"
scripts/build.sh build-asan -DCMAKE_CXX_COMPILER=clang++ -DVIGIL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" -L 'unit|scenario')

echo "== libFuzzer targets, 20 s each"
scripts/build.sh build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DVIGIL_SANITIZE=ON \
  -DVIGIL_LIBFUZZER=ON -DVIGIL_TESTS=OFF >/dev/null
printf '%s\n' wire stack connection analyze |
  VIGIL_FUZZ_NO_BUILD=1 xargs -P "$jobs" -I{} scripts/fuzz.sh {} 20 build-fuzz
