#!/usr/bin/env bash
# Formatting (clang-format), the layering rule (scripts/check-layers.sh)
# and static checks (clang-tidy, .clang-tidy) over every C++ file. Needs a configured build/ for compile_commands.json.
# Usage: scripts/lint.sh [--format-only]
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
echo "== clang-format (${#files[@]} files)"
clang-format --dry-run -Werror "${files[@]}"
echo "== layering"
scripts/check-layers.sh
[ "${1:-}" = "--format-only" ] && exit 0
[ -f build/compile_commands.json ] || scripts/build.sh build >/dev/null
echo "== clang-tidy"
mapfile -t sources < <(git ls-files 'src/*.cpp')
out=$(printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet 2>/dev/null | grep -E "warning:|error:" | sort -u || true)
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "clang-tidy: no findings"
