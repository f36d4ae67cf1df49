#!/usr/bin/env bash
# Runs packetdrill's core TCP scripts (gtests/net/tcp: 13 categories, 49
# scripts) against vigil through libvigil_packetdrill.so, each script in its
# own network namespace, and prints pass/fail per script and a total.
# docs/conformance.md records the results and why each failure fails.
#
# Usage: PACKETDRILL_HOME=/opt/packetdrill-src scripts/packetdrill.sh [BUILD_DIR] [PATTERN]
#   PACKETDRILL_HOME  an unpacked and built packetdrill source tree (its
#                     gtests/net/packetdrill/packetdrill binary and gtests/net/tcp)
#   BUILD_DIR         where libvigil_packetdrill.so is (default: build)
#   PATTERN           only scripts whose path contains it (e.g. blocking/)
# Environment: VIGIL_PD_PRELOAD=0 runs without LD_PRELOAD (TCP_INFO asserts
# then reach the kernel's getsockopt and fail), VIGIL_PD_FLAGS adds --so_flags
# words (docs/library.md), VIGIL_PD_VERBOSE=1 prints packetdrill's output.
# Needs root (unshare -n, a tun device); exits 77 (skip) without
# PACKETDRILL_HOME, root or /dev/net/tun. Not part of ctest's default run.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
pattern=${2:-}
if [ -z "${PACKETDRILL_HOME:-}" ]; then
  echo "packetdrill.sh: PACKETDRILL_HOME is unset: skipped (build packetdrill outside the repo, README \"packetdrill\")"
  exit 77
fi
pd=$PACKETDRILL_HOME/gtests/net/packetdrill/packetdrill
tests=$PACKETDRILL_HOME/gtests/net/tcp
so=$(realpath "$build/libvigil_packetdrill.so" 2>/dev/null || true)
[ -x "$pd" ] || { echo "packetdrill.sh: no packetdrill binary at $pd"; exit 77; }
[ -f "$so" ] || { echo "packetdrill.sh: no $build/libvigil_packetdrill.so (cmake --build $build --target vigil_packetdrill)"; exit 1; }
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
  echo "packetdrill.sh: needs root and /dev/net/tun (unshare -n, tun0): skipped"
  exit 77
fi
categories="blocking close shutdown user_timeout fast_retransmit fast_recovery slow_start sack limited_transmit nagle mss ts_recent validate"
preload=""
[ "${VIGIL_PD_PRELOAD:-1}" = 1 ] && preload=$so
pass=0
total=0
failed=()
for c in $categories; do
  for f in "$tests/$c"/*.pkt; do
    name=${f#"$tests/"}
    [ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && continue
    total=$((total + 1))
    # Own namespace: the scripts' sysctls and their `tc qdisc ... dev tun0`
    # change only it; tun0 exists and stays unused (packets go through the .so).
    out=$(cd "$(dirname "$f")" && PRELOAD=$preload timeout 120 unshare -n bash -c '
      ip tuntap add dev tun0 mode tun && ip link set lo up && ip link set tun0 up || exit 99
      exec env ${PRELOAD:+LD_PRELOAD=$PRELOAD} "$0" --send_omit_free --ip_version=ipv4 \
        --local_ip=192.168.0.1 --gateway_ip=192.168.0.1 --netmask_ip=255.255.0.0 \
        --remote_ip=192.0.2.1 -D TFO_COOKIE=3021b9d889017eeb -D CODE=host_unreachable \
        -D CMSG_LEVEL_IP=SOL_IP -D CMSG_TYPE_RECVERR=IP_RECVERR \
        --so_filename="$1" --so_flags="local=192.168.0.1 remote=192.0.2.1 link=tun0 $2" "$3"' \
      "$pd" "$so" "${VIGIL_PD_FLAGS:-}" "$(basename "$f")" 2>&1)
    rc=$?
    if [ $rc = 0 ]; then
      pass=$((pass + 1))
      echo "pass  $name"
    else
      failed+=("$name")
      echo "FAIL  $name ($(grep -m1 -E 'error|assert|timing' <<<"$out" | cut -c1-150))"
    fi
    [ "${VIGIL_PD_VERBOSE:-0}" = 1 ] && echo "$out"
  done
done
echo "packetdrill: $pass/$total passed"
[ "$pass" = "$total" ]
