#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#  0. clang-format check;
#  1. g++ build (warnings are errors) and every ctest test;
#  2. clang++ build with AddressSanitizer + UBSan, every unit/scenario test
#     under the sanitizers (warnings are errors under clang too).
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
