# Shared by the tests/tools/tun_*.sh interop tests (sourced, not a test).
# Each test runs `vigil tun` in network namespaces it creates itself, named
# with its own PID, and deletes them on exit, even on failure. Nothing is
# changed outside those namespaces.
# The caller sets TEST (its name) and passes the vigil binary as $1.

VIGIL=${1:?usage: $TEST.sh path/to/vigil}
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")

source "$(dirname "${BASH_SOURCE[0]}")/need_root_tun.bash"
need_root_tun ip nft tcpdump python3

# The interpreter itself, not a wrapper (pyenv's shim forks it), so that $!
# is the PID to end.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
WORK=$(mktemp -d)
NAMESPACES=()
PIDS=()
PASSED=0
FAILED=0

tun_cleanup() {
  local pid ns
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ -n "${KEEP_WORK:-}" ]; then echo "$TEST: kept $WORK"; else rm -rf "$WORK"; fi
}
trap tun_cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
check() {  # NAME CONDITION-STATUS DETAIL: pass when the status is 0
  if [ "$2" = 0 ]; then pass "$1"; else fail "$1" "$3"; fi
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
  exit
}

# new_ns NAME: a namespace with lo up, deleted on exit.
new_ns() {
  if ! ip netns add "$1"; then
    echo "$TEST: cannot create network namespace $1"
    echo "0 passed, 1 failed"
    exit 1
  fi
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# sha256 of the first N bytes of vigil's pattern (byte i = i*7 mod 251),
# for each N given, concatenated.
expected_sha() {
  python3 -c '
import hashlib, sys
block = bytes((i * 7) % 251 for i in range(251))
h = hashlib.sha256()
for n in map(int, sys.argv[1:]):
    full, rest = divmod(n, 251)
    for _ in range(full // 4096):
        h.update(block * 4096)
    h.update(block * (full % 4096) + block[:rest])
print(h.hexdigest())' "$@"
}

# wait_for_dev NS DEV: up to 5 s for vigil to create and address the device.
wait_for_dev() {
  local _
  for _ in $(seq 50); do
    ip -n "$1" -4 addr show dev "$2" 2>/dev/null | grep -q "inet " && return 0
    sleep 0.1
  done
  return 1
}

# wait_for_file FILE [TENTHS]: until FILE exists and is not empty.
wait_for_file() {
  local _
  for _ in $(seq "${2:-50}"); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# capture_start NS IFACE FILE: tcpdump inside NS, whole packets; returns
# once it is listening. Sets CAPTURE_PID.
capture_start() {
  ip netns exec "$1" tcpdump -Z root -i "$2" -n -U -B 65536 -w "$3" >/dev/null 2>"$3.err" &
  CAPTURE_PID=$!
  PIDS+=("$CAPTURE_PID")
  local _
  for _ in $(seq 50); do
    grep -q "listening on" "$3.err" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# capture_stop PID [PCAP.err]: SIGINT (tcpdump flushes and prints its
# counts), wait; notes packets tcpdump dropped.
capture_stop() {
  sleep 1.2  # libpcap hands over a ring block at the latest after 1 s
  kill -INT "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  local err=${2:-} dropped
  if [ -n "$err" ]; then
    dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$err")
    if [ -n "$dropped" ] && [ "$dropped" != 0 ]; then
      echo "NOTE ${err%.err}: tcpdump dropped $dropped packets; the pcap checks see a partial trace"
    fi
  fi
}

# analyze PCAP: `vigil analyze --json` into PCAP.json; 0 when it worked.
analyze() {
  "$VIGIL" analyze "$1" --json >"$1.json" 2>"$1.json.err"
}

# aq PCAP.json EXPR: evaluates a Python expression over the analyzer's JSON.
# Names: d (the document), flows, packets, n(label, dir=None) counts
# packets carrying a label, frames(label, dir=None) lists their numbers,
# t(frame) is a frame's time in seconds. Keys are read by name, never by
# position. Prints the value; exit 1 when the expression fails.
aq() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
flows, packets = d["flows"], d["packets"]
by_frame = {p["frame"]: p for p in packets}
def sel(label, dir):
    return [p for p in packets if label in p["labels"] and (dir is None or p["dir"] == dir)]
def n(label, dir=None): return len(sel(label, dir))
def frames(label, dir=None): return [p["frame"] for p in sel(label, dir)]
def t(frame): return by_frame[frame]["time_s"]
try:
    v = eval(sys.argv[2])
except Exception as e:
    print(f"aq error: {type(e).__name__}: {e}")
    sys.exit(1)
print(v)
PY
}

# expect NAME PCAP.json EXPR: PASS when EXPR is true; the FAIL line shows
# the expression. Extra words after EXPR are shown with a failure.
expect() {
  local got
  got=$(aq "$2" "$3")
  if [ "$got" = True ]; then pass "$1"; else fail "$1" "analyzer: ($3) is $got ${4:-}"; fi
}

# tx_dropped NS DEV: datagrams the kernel dropped on their way out of DEV;
# for a TUN device, those it could not queue to the program reading it.
tx_dropped() {
  ip -n "$1" -s link show dev "$2" | awk '/TX:/ {getline; print $4; exit}'
}

# sanitized: 0 when $VIGIL is built with AddressSanitizer, whose redzones
# and quarantine of freed memory make resident-memory bounds meaningless.
sanitized() { grep -q -a __asan_init "$VIGIL"; }

# --- the tun_attack_* tests --------------------------------------------------

# attack_tool: the injector (tests/tools/vigil_attack.cpp) into ATTACK, from
# VIGIL_ATTACK (tests/CMakeLists.txt sets it) or next to vigil; FAIL (exit
# 1, not a skip: it is ours to build) when it is not built.
attack_tool() {
  ATTACK=${VIGIL_ATTACK:-$(dirname "$VIGIL")/tests/vigil_attack}
  if [ ! -x "$ATTACK" ]; then
    echo "FAIL $TEST: the injector $ATTACK is not built (cmake --build build --target vigil_attack)"
    exit 1
  fi
}

# vigil_server NS DEV ARGS...: a new namespace NS with `vigil tun` on DEV
# (10.99.0.2, the kernel's side 10.99.0.1), counters to $WORK/stats.json,
# output to $WORK/vigil.out and $WORK/vigil.err; ARGS are the rest of its
# command line (options, then `serve ...`). Sets NS, DEV and VPID; FAIL and
# finish when the device never appears.
vigil_server() {
  NS=$1
  DEV=$2
  shift 2
  new_ns "$NS"
  ip netns exec "$NS" "$VIGIL" tun --dev "$DEV" --local 10.99.0.2 --peer 10.99.0.1 \
    --stats "$WORK/stats.json" "$@" >"$WORK/vigil.out" 2>"$WORK/vigil.err" &
  VPID=$!
  PIDS+=("$VPID")
  if ! wait_for_dev "$NS" "$DEV"; then
    fail "vigil start" "$DEV never appeared: $(cat "$WORK/vigil.err")"
    finish
  fi
}
in_ns() { ip netns exec "$NS" "$@"; }
# vigil's resident memory (KB) and CPU time used (user + system, in clock
# ticks); 0 once it has exited.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$VPID/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VPID/stat" 2>/dev/null || echo 0; }
