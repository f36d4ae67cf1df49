#!/usr/bin/env bash
# Interop of `vigil tun` with the Linux kernel's TCP, inside a private network
# namespace: curl and a python3 server talk to vigil over a TUN device.
# Needs root and /dev/net/tun; otherwise it skips. Touches nothing outside
# its namespace `vgt-$$`, which is deleted on exit (even on failure).
# usage: bash tun_interop.sh path/to/vigil
set -u

VIGIL=${1:?usage: tun_interop.sh path/to/vigil}
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")

if [ "$(id -u)" != 0 ]; then
  echo "tun_interop: skipped: needs root (network namespaces and TUN devices)"
  echo "0 passed, 0 failed"
  exit 0
fi
if [ ! -c /dev/net/tun ]; then
  echo "tun_interop: skipped: /dev/net/tun is missing"
  echo "0 passed, 0 failed"
  exit 0
fi

NS="vgt-$$"
WORK=$(mktemp -d)
PIDS=()
PASSED=0
FAILED=0

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
in_ns() { ip netns exec "$NS" "$@"; }

# sha256 of the first N bytes of vigil's pattern: byte i = i*7 mod 251.
expected_sha() {
  python3 -c '
import hashlib, sys
block = bytes((i * 7) % 251 for i in range(251))
h = hashlib.sha256()
for n in map(int, sys.argv[1:]):
    full, rest = divmod(n, 251)
    h.update(block * full + block[:rest])
print(h.hexdigest())' "$@"
}

wait_for_dev() {  # NAME: up to 5 s for vigil to create and address the device
  for _ in $(seq 50); do
    in_ns ip -4 addr show dev "$1" 2>/dev/null | grep -q "inet " && return 0
    sleep 0.1
  done
  return 1
}

if ! ip netns add "$NS"; then
  echo "tun_interop: cannot create network namespace $NS"
  echo "0 passed, 1 failed"
  exit 1
fi
in_ns ip link set lo up

# --- vigil as an HTTP server ------------------------------------------------
# Started directly (not through a shell function) so that $! is vigil itself.
ip netns exec "$NS" "$VIGIL" tun --dev vt0 --local 10.99.0.2 --peer 10.99.0.1 serve http --port 8080 \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER=$!
PIDS+=("$SERVER")
if ! wait_for_dev vt0; then
  fail "server start" "vt0 never appeared: $(cat "$WORK/server.err")"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
URL=http://10.99.0.2:8080

# (a) one 10 MB download
want=$(expected_sha 10000000)
got=$(in_ns curl -s --max-time 30 "$URL/bytes/10000000" | sha256sum | cut -d' ' -f1)
if [ "$got" = "$want" ]; then pass "http 10 MB sha256"; else fail "http 10 MB sha256" "got $got want $want"; fi

# (b) 20 keep-alive requests of different sizes on one connection
urls=()
sizes=()
for i in $(seq 0 19); do
  n=$((1000 + i * 4099))
  sizes+=("$n")
  urls+=("$URL/bytes/$n")
done
want=$(expected_sha "${sizes[@]}")
got=$(in_ns curl -sv --max-time 30 "${urls[@]}" 2>"$WORK/keepalive.err" | sha256sum | cut -d' ' -f1)
connects=$(grep -ac "Connected to" "$WORK/keepalive.err")
if [ "$got" = "$want" ] && [ "$connects" = 1 ]; then
  pass "http 20 keep-alive requests"
else
  fail "http 20 keep-alive requests" "sha256 $got want $want, $connects connections (want 1)"
fi

# (d) a closed vigil port refuses
out=$(in_ns curl -sS --max-time 10 http://10.99.0.2:8081/ 2>&1)
rc=$?
if [ "$rc" = 7 ] && echo "$out" | grep -q "Couldn't connect"; then
  pass "closed vigil port refuses"
else
  fail "closed vigil port refuses" "curl exit $rc: $out"
fi

# Clean stop: SIGTERM ends the server with status 0 within the grace period.
kill -TERM "$SERVER"
rc=timeout
for _ in $(seq 40); do
  if ! kill -0 "$SERVER" 2>/dev/null; then
    wait "$SERVER"
    rc=$?
    break
  fi
  sleep 0.1
done
if [ "$rc" = 0 ]; then pass "SIGTERM stops the server"; else fail "SIGTERM stops the server" "exit $rc"; fi

# --- vigil as a client ------------------------------------------------------
# (c) upload 1 MB to a python3 server on the kernel side. IP_FREEBIND (15)
# lets it bind 10.99.0.1 before vigil has created the device.
ip netns exec "$NS" python3 -c '
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IP, 15, 1)
s.bind(("10.99.0.1", 9000))
s.listen(1)
open(sys.argv[1], "w").close()
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
h, n = hashlib.sha256(), 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d)
    n += len(d)
c.close()
print(n, h.hexdigest())' "$WORK/ready" >"$WORK/py.out" 2>"$WORK/py.err" &
PY=$!
PIDS+=("$PY")
for _ in $(seq 50); do
  [ -e "$WORK/ready" ] && break
  sleep 0.1
done
want=$(expected_sha 1048576)
client_out=$(in_ns timeout 30 "$VIGIL" tun --dev vt0 --local 10.99.0.2 --peer 10.99.0.1 \
  connect 10.99.0.1:9000 --send 1048576 2>"$WORK/client.err")
rc=$?
wait "$PY"
py_out=$(cat "$WORK/py.out")
if [ "$rc" = 0 ] && [ "$py_out" = "1048576 $want" ] &&
  [ "$client_out" = "sent 1048576 bytes sha256 $want" ]; then
  pass "vigil client uploads 1 MB"
else
  fail "vigil client uploads 1 MB" "vigil exit $rc '$client_out' $(cat "$WORK/client.err"); python '$py_out' $(cat "$WORK/py.err")"
fi

# (e) vigil to a closed Linux port: ECONNREFUSED, exit 1
in_ns timeout 30 "$VIGIL" tun --dev vt0 --local 10.99.0.2 --peer 10.99.0.1 \
  connect 10.99.0.1:9 --recv >"$WORK/refused.out" 2>"$WORK/refused.err"
rc=$?
if [ "$rc" = 1 ] && grep -q ECONNREFUSED "$WORK/refused.err" && grep -q refused "$WORK/refused.err"; then
  pass "closed Linux port refuses the vigil client"
else
  fail "closed Linux port refuses the vigil client" "exit $rc: $(cat "$WORK/refused.err")"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
