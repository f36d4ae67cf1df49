#!/usr/bin/env bash
# Coverage-guided fuzzing of `vigil analyze`'s read-and-analyse path with
# libFuzzer: now scripts/fuzz.sh analyze (kept for old command lines).
# usage: scripts/fuzz-analyze.sh [SECONDS=300] [BUILD_DIR=build-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/fuzz.sh analyze "${1:-300}" "${2:-build-fuzz}"
