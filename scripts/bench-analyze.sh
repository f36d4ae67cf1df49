#!/usr/bin/env bash
# `vigil analyze` against tshark on the same large capture (issue 4 "Speed").
#
# Usage: scripts/bench-analyze.sh [path/to/vigil] [min-packets] [keep-capture-path]
#
# Records an iperf3 run between two network namespaces joined by a veth pair
# (created here, named with this shell's PID, removed on exit) with tcpdump
# (-s 128) until the file holds at least min-packets (default 500000), then
# times, on that one file:
#   vigil analyze F --json > /dev/null
#   tshark -r F -T fields -e frame.number -e tcp.analysis.flags > /dev/null
# with /usr/bin/time -v (peak RSS = "Maximum resident set size"). Prints
# packets, seconds, packets/s, the ratio and peak RSS for both, and checks the
# targets: vigil >= 50x tshark's packets/s and vigil peak RSS <= 64 MB.
# Needs root (network namespaces), iperf3, tcpdump, tshark, /usr/bin/time.
set -euo pipefail

# Many flows (issue 13 point 10), no root needed:
#   scripts/bench-analyze.sh --flows N [path/to/vigil]
# writes N one-SYN flows with build/tests/gen_syn_flows and prints the peak
# RSS of `vigil analyze F --json`, of `--html R` and the size of R.
if [ "${1:-}" = "--flows" ]; then
  n=${2:?--flows needs a flow count}
  v=$(realpath "${3:-build/vigil}")
  gen=$(dirname "$v")/tests/gen_syn_flows
  [ -x "$gen" ] || { echo "bench-analyze: build gen_syn_flows first" >&2; exit 1; }
  d=$(mktemp -d)
  trap 'rm -rf "$d"' EXIT
  "$gen" "$d/syn.pcap" "$n"
  rss() { grep "Maximum resident" "$1" | awk '{print int($NF / 1024) " MB"}'; }
  /usr/bin/time -v "$v" analyze "$d/syn.pcap" --json > /dev/null 2> "$d/t1"
  /usr/bin/time -v "$v" analyze "$d/syn.pcap" --html "$d/r.html" > /dev/null 2> "$d/t2"
  echo "$n one-SYN flows: --json peak RSS $(rss "$d/t1"); --html peak RSS $(rss "$d/t2"), report $(( $(stat -c %s "$d/r.html") / 1000000 )) MB"
  exit 0
fi
vigil=$(realpath "${1:-build/vigil}")
min_packets=${2:-500000}
keep=${3:-}

for tool in ip iperf3 tcpdump tshark /usr/bin/time capinfos python3; do
  command -v "$tool" >/dev/null || { echo "bench-analyze: $tool is missing" >&2; exit 1; }
done

ns1=vgb1-$$
ns2=vgb2-$$
veth1=vgb1-$$
veth2=vgb2-$$
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns1" 2>/dev/null || true
  ip netns del "$ns2" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

ip netns add "$ns1"
ip netns add "$ns2"
ip link add "$veth1" netns "$ns1" type veth peer name "$veth2" netns "$ns2"
ip -n "$ns1" addr add 10.231.0.1/24 dev "$veth1"
ip -n "$ns2" addr add 10.231.0.2/24 dev "$veth2"
ip -n "$ns1" link set "$veth1" up
ip -n "$ns2" link set "$veth2" up
ip -n "$ns1" link set lo up
ip -n "$ns2" link set lo up
# No segmentation offload on the veth (GSO at most one segment) so the
# capture sees wire-sized segments, as on a real link, not 64 KB ones.
ip -n "$ns1" link set dev "$veth1" gso_max_size 1500 gso_max_segs 1 2>/dev/null || true
ip -n "$ns2" link set dev "$veth2" gso_max_size 1500 gso_max_segs 1 2>/dev/null || true

cap=$dir/bench.pcap
ip netns exec "$ns2" iperf3 -s -1 -B 10.231.0.2 >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$ns1" tcpdump -i "$veth1" -s 128 -w "$cap" -c "$min_packets" tcp >/dev/null 2>&1 &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
sleep 1
# iperf3 runs long enough; tcpdump stops itself at min_packets.
ip netns exec "$ns1" iperf3 -c 10.231.0.2 -t 60 >/dev/null 2>&1 &
iperf_pid=$!
pids+=("$iperf_pid")
wait "$tcpdump_pid" || true
kill "$iperf_pid" 2>/dev/null || true

packets=$(capinfos -M -c "$cap" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
size=$(stat -c %s "$cap")
echo "capture: $packets packets, $size bytes (tcpdump -s 128 on a veth, iperf3)"
[ -n "$keep" ] && cp "$cap" "$keep"

measure() {  # name, command... -> "seconds rss_kb cpu_seconds"
  local name=$1
  shift
  /usr/bin/time -v -o "$dir/$name.time" "$@" >/dev/null 2>"$dir/$name.err" || {
    echo "bench-analyze: $name failed:" >&2
    cat "$dir/$name.err" >&2
    exit 1
  }
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/$name.time")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$dir/$name.time")
  # h:mm:ss or m:ss.cc -> seconds
  python3 -c 'import sys
p = sys.argv[1].split(":")
s = float(p[-1]) + 60 * float(p[-2]) + (3600 * float(p[-3]) if len(p) > 2 else 0)
print(s, sys.argv[2], sys.argv[3])' "$wall" "$rss" "$cpu"
}

read -r v_s v_rss v_cpu < <(measure vigil "$vigil" analyze "$cap" --json)
read -r t_s t_rss t_cpu < <(measure tshark tshark -r "$cap" -T fields -e frame.number -e tcp.analysis.flags)
echo "load average before/after: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine inflates wall time)"

python3 - "$packets" "$v_s" "$v_rss" "$t_s" "$t_rss" "$v_cpu" "$t_cpu" <<'PY'
import sys
n = int(sys.argv[1]); vs, vr, ts, tr, vc, tc = map(float, sys.argv[2:])
vp = n / max(vs, 1e-3); tp = n / max(ts, 1e-3)
print(f"{'':8} {'packets':>9} {'seconds':>8} {'packets/s':>11} {'peak RSS':>10} {'CPU s':>7} {'packets/CPU s':>14}")
print(f"{'vigil':8} {n:9d} {vs:8.2f} {vp:11.0f} {vr/1024:8.1f} MB {vc:7.2f} {n/max(vc,1e-3):14.0f}")
print(f"{'tshark':8} {n:9d} {ts:8.2f} {tp:11.0f} {tr/1024:8.1f} MB {tc:7.2f} {n/max(tc,1e-3):14.0f}")
print(f"by CPU time (user+sys): {(n/max(vc,1e-3))/(n/max(tc,1e-3)):.1f}x")
ratio = vp / tp
print(f"vigil/tshark packets/s: {ratio:.1f}x (target >= 50x); vigil peak RSS {vr/1024:.1f} MB (target <= 64 MB)")
ok = ratio >= 50 and vr <= 64 * 1024
print("targets: " + ("met" if ok else "NOT met"))
sys.exit(0 if ok else 3)
PY
