#!/usr/bin/env bash
# Throughput benchmark (not a timed test): vigil over a TUN device against
# Linux-to-Linux over a veth pair, in the same run, at MTU 1500.
#
#   scripts/bench-tun.sh [path/to/vigil] [options]
#     --seconds N       length of each transfer (default 5)
#     --modes LIST      vigil offload settings to run, comma-separated from
#                       "on" (IFF_VNET_HDR, GSO/TSO), "off" and "default"
#                       (no --offload flag) (default on,off)
#     --set key=value   passed to every vigil run (repeatable)
#
# Rows: Linux -> Linux over veth (iperf3), Linux -> vigil (a python3 sender
# into `vigil tun serve discard`) and vigil -> Linux (a python3 reader of
# `GET /bytes/N` from `vigil tun serve http`). vigil is single-threaded, so
# its CPU share (user+system, from /proc) is printed beside each vigil row.
#
# Needs root, /dev/net/tun, iperf3 and python3. Everything happens inside
# namespaces named vgb*-$$, deleted on exit even on failure.
set -u

VIGIL=build/vigil
SECONDS_EACH=5
MODES=on,off
SETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench-tun: unknown option $1" >&2; exit 2 ;;
    *) VIGIL=$1; shift ;;
  esac
done
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")

if [ "$(id -u)" != 0 ]; then echo "bench-tun: needs root" >&2; exit 1; fi
if [ ! -c /dev/net/tun ]; then echo "bench-tun: /dev/net/tun is missing" >&2; exit 1; fi
for tool in iperf3 python3 ip; do
  command -v "$tool" >/dev/null || { echo "bench-tun: needs $tool" >&2; exit 1; }
done
[ -x "$VIGIL" ] || { echo "bench-tun: no vigil binary at $VIGIL" >&2; exit 1; }

NS_A="vgba-$$"  # veth client side
NS_B="vgbb-$$"  # veth server side
NS_T="vgbt-$$"  # vigil's TUN device and the Linux peer
DEV="vbt$$"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "$NS_A" "$NS_B" "$NS_T"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in "$NS_A" "$NS_B" "$NS_T"; do
  ip netns add "$ns" || { echo "bench-tun: cannot create namespace $ns" >&2; exit 1; }
  ip -n "$ns" link set lo up
done

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# --- Linux -> Linux over veth ----------------------------------------------
ip link add "vba$$" netns "$NS_A" type veth peer name "vbb$$" netns "$NS_B"
ip -n "$NS_A" addr add 10.98.0.1/24 dev "vba$$"
ip -n "$NS_B" addr add 10.98.0.2/24 dev "vbb$$"
ip -n "$NS_A" link set "vba$$" mtu 1500 up
ip -n "$NS_B" link set "vbb$$" mtu 1500 up
ip netns exec "$NS_B" iperf3 -s -1 -B 10.98.0.2 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
veth_bps=$(ip netns exec "$NS_A" iperf3 -c 10.98.0.2 -t "$SECONDS_EACH" -J 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' 2>/dev/null)
veth_bps=${veth_bps:-0}

# --- vigil over TUN ----------------------------------------------------------
# A python3 peer in the TUN namespace. "send": write for SECONDS, half-close,
# wait for vigil's FIN (so every byte was taken). "recv": GET a body far larger
# than SECONDS allow and read for SECONDS. Prints "bytes seconds".
cat >"$WORK/peer.py" <<'EOF'
import socket, sys, time
mode, host, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection((host, port), timeout=30)
t0 = time.monotonic()
n = 0
if mode == "send":
    block = bytes((i * 7) % 251 for i in range(251)) * 1044  # 262044 bytes
    view = memoryview(block)
    while time.monotonic() - t0 < secs:
        n += s.send(view)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
else:
    s.sendall(b"GET /bytes/1000000000000 HTTP/1.1\r\nHost: vigil\r\n\r\n")
    buf = bytearray(1 << 20)
    while time.monotonic() - t0 < secs:
        k = s.recv_into(buf)
        if not k:
            break
        n += k
el = time.monotonic() - t0
s.close()
print(n, el)
EOF

wait_for_dev() {
  for _ in $(seq 50); do
    ip -n "$NS_T" -4 addr show dev "$DEV" 2>/dev/null | grep -q "inet " && return 0
    sleep 0.1
  done
  return 1
}

# run_vigil OFFLOAD SERVICE PEER_MODE -> "bits_per_second cpu_percent"
run_vigil() {
  local offload=$1 service=$2 mode=$3 flag=()
  [ "$offload" != default ] && flag=(--offload "$offload")
  [ "$service" = discard ] && flag+=(--no-hash)
  ip netns exec "$NS_T" "$VIGIL" tun --dev "$DEV" --local 10.97.0.2 --peer 10.97.0.1 \
    "${flag[@]}" "${SETS[@]}" serve "$service" --port 5001 \
    >"$WORK/vigil.out" 2>"$WORK/vigil.err" &
  local pid=$!
  PIDS+=("$pid")
  if ! wait_for_dev; then
    echo "bench-tun: vigil did not start: $(cat "$WORK/vigil.err")" >&2
    echo "0 0"
    return
  fi
  local c0 c1 out
  c0=$(cpu_seconds "$pid")
  out=$(ip netns exec "$NS_T" python3 "$WORK/peer.py" "$mode" 10.97.0.2 5001 "$SECONDS_EACH")
  c1=$(cpu_seconds "$pid")
  kill -INT "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ -n "${VERBOSE:-}" ] && cat "$WORK/vigil.err" >&2
  echo "$out $c0 $c1" | awk '{ if ($2 > 0) printf "%.0f %.0f\n", $1 * 8 / $2, 100 * ($4 - $3) / $2; else print "0 0" }'
}

declare -A BPS CPU
IFS=, read -r -a MODE_LIST <<<"$MODES"
for m in "${MODE_LIST[@]}"; do
  read -r BPS[rx-$m] CPU[rx-$m] < <(run_vigil "$m" discard send)
  read -r BPS[tx-$m] CPU[tx-$m] < <(run_vigil "$m" http recv)
done

# --- Summary -----------------------------------------------------------------
gbit() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "throughput at MTU 1500, ${SECONDS_EACH} s per row, $(nproc) CPUs, kernel $(uname -r)"
# "per core": Gbit/s divided by the share of one CPU vigil got, i.e. what
# vigil moves per CPU-second; steadier than Gbit/s on a loaded machine.
per_core() { awk -v b="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.2f", b / 1e9 / (c / 100); else print "-" }'; }
printf '%-34s %8s %9s %10s %10s\n' "path" "Gbit/s" "vs veth" "vigil CPU" "per core"
printf '%-34s %8s %9s %10s %10s\n' "Linux -> Linux (veth, iperf3)" "$(gbit "$veth_bps")" "1.00" "-" "-"
row() {  # LABEL KEY
  printf '%-34s %8s %9s %9s%% %10s\n' "$1" "$(gbit "${BPS[$2]}")" "$(ratio "${BPS[$2]}" "$veth_bps")" \
    "${CPU[$2]}" "$(per_core "${BPS[$2]}" "${CPU[$2]}")"
}
for m in "${MODE_LIST[@]}"; do
  row "Linux -> vigil (TUN, offload $m)" "rx-$m"
  row "vigil -> Linux (TUN, offload $m)" "tx-$m"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
