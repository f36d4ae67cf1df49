#!/usr/bin/env bash
# The whole benchmark suite (issue 15): vigil's own benchmarks (`vigil
# bench`), the Linux references measured in the same run, callgrind
# instruction counts, the analyzer and TUN benchmarks, then
# docs/benchmarks.md (machine, date, each figure, its ratio against Linux,
# which targets are met) and the results table printed for README.md.
#
# Usage: scripts/bench.sh [--build DIR] [--no-build] [--quick] [--out FILE]
#   --build DIR  a configured build directory (default build); vigil and
#                vigil_linux_handshake are built there first (unless --no-build)
#   --quick      small sizes (64 MiB bulk, 20k handshakes, 100k idle), no
#                callgrind, no analyzer/TUN runs: to check the script
#   --out FILE   where the report goes (default docs/benchmarks.md)
#
# The Linux references run only inside network namespaces made here (named
# with this shell's PID) and removed on exit, even on failure: iperf3 over
# the loopback of one namespace (MTU 65535), iperf3 between two namespaces
# over a veth pair with every offload off (MTU 1500), and
# vigil_linux_handshake over the namespace's loopback. Without root those
# references are left out (ratios "-"). Needs python3, iperf3, ethtool,
# valgrind (callgrind).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=build quick=0 out=$here/docs/benchmarks.md nobuild=0
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-build) nobuild=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$here"
# CI's builds (scripts/test.sh) are VIGIL_QUICK_BUILD: the CLI at -O1 and
# line tables only. Benchmarks need the normal build, so it is switched off.
if [ $nobuild = 1 ]; then
  if grep -qs '^VIGIL_QUICK_BUILD:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "bench: $build is a CI quick build (VIGIL_QUICK_BUILD=ON); drop --no-build to rebuild it" >&2
    exit 2
  fi
else
  cmake -S . -B "$build" -DVIGIL_QUICK_BUILD=OFF >/dev/null
  cmake --build "$build" --target vigil vigil_linux_handshake >/dev/null
fi
vigil=$(realpath "$build/vigil")
hs=$(realpath "$build/tests/vigil_linux_handshake")
work=$(mktemp -d)
ns_lo=vbl-$$ ns_a=vba-$$ ns_b=vbb-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in "$ns_lo" "$ns_a" "$ns_b"; do ip netns del "$ns" 2>/dev/null || true; done
  # BENCH_KEEP=DIR keeps the raw figures (JSON, callgrind counts) there.
  [ -n "${BENCH_KEEP:-}" ] && cp -r "$work/." "$BENCH_KEEP/" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $quick = 1 ]; then
  bulk_bytes=$((64 << 20)) hs_count=20000 idle_conns=100000 secs=2
else
  bulk_bytes=$((1 << 30)) hs_count=50000 idle_conns=1000000 secs=5
fi
step() { echo "bench: $*" >&2; }

# --- vigil --------------------------------------------------------------------
step "bulk, MTU 1500 (full checksums)"
"$vigil" bench bulk --mtu 1500 --bytes $bulk_bytes --json >"$work/bulk1500.json" || true
step "bulk, MTU 65535 (partial checksums, as loopback)"
"$vigil" bench bulk --mtu 65535 --no-checksum --bytes $bulk_bytes --json >"$work/bulk65535.json" || true
step "handshake x $hs_count"
"$vigil" bench handshake --count $hs_count --json >"$work/handshake.json" || true
# Again with glibc's heap trimming and mmap threshold out of the way: each
# connection's buffers (256 KiB each way, allocated in full on the first
# byte) otherwise go back to the kernel at every close and fault in again.
step "handshake x $hs_count, glibc trim/mmap thresholds raised"
GLIBC_TUNABLES=glibc.malloc.trim_threshold=4294967295:glibc.malloc.mmap_threshold=4294967295 \
  "$vigil" bench handshake --count $hs_count --json >"$work/handshake_tuned.json" || true
for n in 10000 100000 $idle_conns; do
  [ "$n" -gt "$idle_conns" ] && continue
  step "idle, $n connections"
  /usr/bin/time -f '%M' -o "$work/idle$n.maxrss" \
    "$vigil" bench idle --connections $n --json >"$work/idle$n.json" || true
done
step "timer wheel (Google Benchmark)"
"$vigil" bench timer-wheel --json >"$work/timer.json" || true
"$vigil" bench sizes --json >"$work/sizes.json"
# Simulator speed (issue 15, 4): the wall time of every scenario of
# `vigil sim --list`, in both profiles, one process each.
step "scenario catalogue, rfc and linux"
cat_start=$(date +%s.%N) cat_runs=0
for sc in $("$vigil" sim --list | awk '{print $1}'); do
  for prof in rfc linux; do
    "$vigil" sim "$sc" --profile "$prof" >/dev/null 2>&1 || true
    cat_runs=$((cat_runs + 1))
  done
done
python3 -c "import json,sys; print(json.dumps({'runs': int(sys.argv[1]), 'wall_s': float(sys.argv[3]) - float(sys.argv[2])}))" \
  "$cat_runs" "$cat_start" "$(date +%s.%N)" >"$work/catalogue.json"

# --- Linux references -----------------------------------------------------------
# iperf3's JSON: bits/s received and the CPU both ends used (percent of
# one CPU, user + system, kernel work in their context included), so that
# Linux too is given per CPU-second on a machine that other work shares.
iperf_json() {  # NS_SERVER NS_CLIENT ADDR -> iperf3 -J output
  ip netns exec "$1" iperf3 -s -1 -B "$3" >/dev/null 2>&1 &
  pids+=($!)
  sleep 0.5
  ip netns exec "$2" timeout $((secs + 10)) iperf3 -c "$3" -t $secs -J 2>/dev/null || echo '{}'
}
if [ "$(id -u)" = 0 ] && ip netns add "$ns_lo" 2>/dev/null; then
  ip -n "$ns_lo" link set lo up
  step "Linux: iperf3 over 127.0.0.1 (MTU 65535), $secs s"
  iperf_json "$ns_lo" "$ns_lo" 127.0.0.1 >"$work/linux_lo.json"
  step "Linux: connect/accept/1 byte/close over 127.0.0.1, $secs s"
  ip netns exec "$ns_lo" "$hs" $secs >"$work/linux_hs.json" || true
  ip netns add "$ns_a" && ip netns add "$ns_b"
  ip link add "vba$$" netns "$ns_a" type veth peer name "vbb$$" netns "$ns_b"
  ip -n "$ns_a" addr add 10.96.0.1/24 dev "vba$$"
  ip -n "$ns_b" addr add 10.96.0.2/24 dev "vbb$$"
  for side in "$ns_a vba$$" "$ns_b vbb$$"; do
    set -- $side
    ip -n "$1" link set "$2" mtu 1500 up
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off sg off >/dev/null 2>&1 || true
  done
  step "Linux: iperf3 over veth, offloads off (MTU 1500), $secs s"
  iperf_json "$ns_b" "$ns_a" 10.96.0.2 >"$work/linux_veth.json"
else
  step "not root (or no namespaces): Linux references left out"
fi

# --- callgrind: instructions per segment and per handshake ---------------------
# Two sizes each; the difference cancels set-up, so what is left is the
# steady-state cost. --no-ceiling skips bulk's memcpy measurement.
cg() {  # NAME OUT ARGS...
  local name=$1 o=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$o" "$vigil" bench "$name" "$@" --json \
    >"$o.json" 2>"$o.err" || true
  grep -o 'refs: *[0-9,]*' "$o.err" | tr -d ', refs:' >"$o.ir"
}
if [ $quick = 0 ] && command -v valgrind >/dev/null; then
  step "callgrind: bulk MTU 1500, 8 and 16 MiB"
  cg bulk "$work/cg_bulk1" --bytes $((8 << 20)) --no-ceiling
  cg bulk "$work/cg_bulk2" --bytes $((16 << 20)) --no-ceiling
  step "callgrind: handshake, 2000 and 4000"
  cg handshake "$work/cg_hs1" --count 2000
  cg handshake "$work/cg_hs2" --count 4000
  callgrind_annotate --inclusive=no "$work/cg_bulk2" 2>/dev/null | sed -n '/^-* *$/,$p' |
    grep -E '^ *[0-9,]+ ' | head -15 >"$work/cg_bulk_top.txt" || true
  callgrind_annotate --inclusive=no "$work/cg_hs2" 2>/dev/null |
    grep -E '^ *[0-9,]+ ' | head -16 | tail -15 >"$work/cg_hs_top.txt" || true
fi

# --- analyzer and TUN (root, namespaces) ------------------------------------------
if [ $quick = 0 ] && [ "$(id -u)" = 0 ]; then
  step "analyzer against tshark (scripts/bench-analyze.sh)"
  scripts/bench-analyze.sh "$vigil" >"$work/analyze.txt" 2>&1 || true
  step "TUN against veth (scripts/bench-tun.sh)"
  scripts/bench-tun.sh "$vigil" >"$work/tun.txt" 2>&1 || true
fi

step "writing $out"
python3 "$here/scripts/bench-report.py" "$work" "$out" "$vigil" "$quick"
