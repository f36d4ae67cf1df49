#!/usr/bin/env bash
# Configures and builds vigil into build/ (the CLI lands at build/vigil).
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Warnings are errors here (VIGIL_WERROR=ON), so CI (scripts/test.sh, which
# builds through this script) fails on any g++ or clang warning; a plain
# `cmake -S . -B DIR` leaves them warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DVIGIL_WERROR=ON "$@" >/dev/null
cmake --build "$dir"
