#!/usr/bin/env bash
# The full-size attack runs over TUN (issue 12, "Prove it" 4; README
# "Attack figures"). ctest runs the same scripts small (tests/tools/
# tun_attack_*.sh, a few seconds each); this runs them at full size:
#   injection: 10,000 forgeries of each kind at 20,000/s
#   SYN flood: 100,000 SYNs/s asked for 10 s (the injector prints the rate
#              it reached; a busy machine reaches less)
#   cap:       1,000 connections held, 100 more refused
# Each prints its figures and exits 0 (all held), 1 (one did not) or 77
# (not root, or no /dev/net/tun). Needs root; everything happens inside
# network namespaces the scripts create and delete.
# usage: scripts/attack-tun.sh [BUILD_DIR]   (default build; builds vigil
#        and vigil_attack there first)
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
cmake --build "$BUILD" --target vigil vigil_attack || exit 1
export VIGIL_ATTACK=$BUILD/tests/vigil_attack
rc=0
run() {  # NAME ENV...: runs tests/tools/NAME.sh with the environment given
  local name=$1 t0 r
  shift
  echo "== $name $*"
  t0=$(date +%s)
  env "$@" bash "tests/tools/$name.sh" "$BUILD/vigil"
  r=$?
  echo "== $name: exit $r in $(($(date +%s) - t0)) s"
  [ "$r" = 0 ] || rc=1
}
run tun_attack_inject ATTACK_COUNT=10000 ATTACK_RATE=20000
run tun_attack_synflood FLOOD_RATE=100000 FLOOD_SECONDS=10
run tun_attack_cap CAP_CONNECTIONS=1000 CAP_EXTRA=100
exit $rc
