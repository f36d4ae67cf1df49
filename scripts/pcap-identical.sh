#!/usr/bin/env bash
# Checks that a refactor left the wire unchanged: runs every `vigil sim`
# scenario with --pcap from a build of BASE (a git ref, default main) and
# from this work tree's build, and compares the captures' sha256.
#
# Usage: scripts/pcap-identical.sh [BASE_REF] [NEW_VIGIL]
#   BASE_REF   built once from `git archive` into $TMPDIR/vigil-pcap-base-<sha>
#   NEW_VIGIL  the binary under test (default build/vigil)
#
# Runs: every scenario x profile (rfc, linux) x loss_recovery (sack,
# newreno), and every RFC 2525 bug switch (`vigil sim --bugs`) x scenario x
# profile with the default recovery. Prints one line per differing pcap and
# "identical: N of N pcaps"; exits 1 if any differ (or a run fails in one
# build only).
set -euo pipefail
cd "$(dirname "$0")/.."
base_ref=${1:-main}
new_vigil=${2:-build/vigil}
tmp=${TMPDIR:-/tmp}

sha=$(git rev-parse --verify "$base_ref^{commit}")
base_src="$tmp/vigil-pcap-base-$sha"
base_vigil="$base_src/build/vigil"
if [[ ! -x $base_vigil ]]; then
  mkdir -p "$base_src"
  git archive "$sha" | tar -x -C "$base_src"
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work}
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$base_src" -B "$base_src/build" -G Ninja \
    -DCMAKE_CXX_COMPILER=g++ "${launcher[@]}" >/dev/null
  nice -n 5 cmake --build "$base_src/build" --target vigil >/dev/null
fi
[[ -x $new_vigil ]] || { echo "pcap-identical: no $new_vigil (build the vigil target)" >&2; exit 2; }

out="$tmp/vigil-pcap-identical.$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

mapfile -t scenarios < <("$base_vigil" sim --list | awk 'NF && $1 !~ /:$/ {print $1}')
mapfile -t bugs < <("$base_vigil" sim --bugs | awk 'NF && $1 !~ /:$/ {print $1}')

total=0
same=0
nopcap=0
# run LABEL ARGS...: one scenario run in both builds, pcaps compared.
run() {
  local label=$1
  shift
  local a="$out/base.pcap" b="$out/new.pcap" ra=0 rb=0
  rm -f "$a" "$b"
  "$base_vigil" sim "$@" --pcap "$a" >/dev/null 2>&1 || ra=$?
  "$new_vigil" sim "$@" --pcap "$b" >/dev/null 2>&1 || rb=$?
  total=$((total + 1))
  if [[ $ra -ne $rb ]]; then
    echo "DIFFERENT exit status ($ra vs $rb): $label"
    return
  fi
  if [[ ! -f $a && ! -f $b ]]; then
    same=$((same + 1))
    nopcap=$((nopcap + 1))
    return
  fi
  local ha hb
  ha=$(sha256sum <"$a" | cut -d' ' -f1)
  hb=$(sha256sum <"$b" | cut -d' ' -f1)
  if [[ $ha == "$hb" ]]; then
    same=$((same + 1))
  else
    echo "DIFFERENT pcap: $label"
  fi
}

for s in "${scenarios[@]}"; do
  for p in rfc linux; do
    for r in sack newreno; do
      run "$s --profile $p --set loss_recovery=$r" "$s" --profile "$p" --set "loss_recovery=$r"
    done
    for bug in "${bugs[@]}"; do
      run "$s --profile $p --bug $bug" "$s" --profile "$p" --bug "$bug"
    done
  done
done
echo "identical: $same of $total pcaps (base $base_ref $sha, new $new_vigil;" \
  "$nopcap runs wrote no pcap in either build)"
[[ $same -eq $total ]]
