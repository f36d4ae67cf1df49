#!/usr/bin/env bash
# Interop of `vigil tun` with the Linux kernel's TCP, curl and nc in a
# private network namespace (issue 5's matrix rows 1, 2, 7 and 8, and the
# command's error paths). Every transfer is checked by sha256; every check's
# pcap is captured with tcpdump inside the namespace and read back with
# `vigil analyze --json`.
# Needs root and /dev/net/tun; otherwise it skips. Touches nothing outside
# its namespace vgt-$$, which is deleted on exit (even on failure).
# usage: bash tun_interop.sh path/to/vigil
set -u
TEST=tun_interop
source "$(dirname "$0")/tun_lib.bash"

NS="vgt-$$"
DEV="vt$$"
new_ns "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
TUN=(tun --dev "$DEV" --local 10.99.0.2 --peer 10.99.0.1)

# Every capture is on "any": the device only exists while vigil runs, and
# nothing else in the namespace carries traffic.
cap() {
  CAPTURE_NAME=$1
  capture_start "$NS" any "$WORK/$1.pcap" || fail "$1 capture" "tcpdump did not start"
}

# --- vigil as an HTTP server (row 1) -------------------------------------------
# Started directly (not through a function) so that $! is vigil itself.
ip netns exec "$NS" "$VIGIL" "${TUN[@]}" serve http --port 8080 \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER=$!
PIDS+=("$SERVER")
if ! wait_for_dev "$NS" "$DEV"; then
  fail "server start" "$DEV never appeared: $(cat "$WORK/server.err")"
  finish
fi
URL=http://10.99.0.2:8080

# One download over one connection: sha256, and the pcap shows one clean
# connection (no loss here, so no retransmission) closed with FIN.
download() {  # NAME BYTES
  local name=$1 bytes=$2 want got
  cap "$name"
  want=$(expected_sha "$bytes")
  got=$(in_ns curl -s --max-time 60 "$URL/bytes/$bytes" | sha256sum | cut -d' ' -f1)
  capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
  check "$name sha256" "$([ "$got" = "$want" ]; echo $?)" "got $got want $want"
  if analyze "$WORK/$name.pcap"; then
    local j="$WORK/$name.pcap.json"
    expect "$name pcap: one connection, handshake seen" "$j" \
      'len(flows) == 1 and flows[0]["handshake_seen"] and n("syn") == 1 and n("syn_ack") == 1'
    expect "$name pcap: no retransmission on a clean link" "$j" \
      'n("retransmission") == 0 and n("syn_retransmission") == 0'
    expect "$name pcap: closed with FIN" "$j" \
      'flows[0]["end"]["how"] == "fin" and flows[0]["story"]["ending"].startswith("closed with FIN")'
  else
    fail "$name analyze" "$(head -c 300 "$WORK/$name.pcap.json.err")"
  fi
}
download "http 10 MB" 10000000
download "http 100 MB" 100000000

# 100 sequential keep-alive requests of different sizes on one connection:
# curl reports one connect in all, and the pcap has exactly one SYN.
cap keepalive
urls=()
sizes=()
for i in $(seq 0 99); do
  n=$((1000 + i * 4099))
  sizes+=("$n")
  urls+=("$URL/bytes/$n")
done
want=$(expected_sha "${sizes[@]}")
got=$(in_ns curl -s --max-time 60 -w '%{stderr}%{num_connects}\n' "${urls[@]}" \
  2>"$WORK/keepalive.connects" | sha256sum | cut -d' ' -f1)
capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
connects=$(awk '{s += $1} END {print s}' "$WORK/keepalive.connects")
lines=$(wc -l <"$WORK/keepalive.connects")
check "http 100 keep-alive requests sha256" "$([ "$got" = "$want" ]; echo $?)" \
  "got $got want $want"
check "http 100 keep-alive requests: one connect (curl num_connects)" \
  "$([ "$connects" = 1 ] && [ "$lines" = 100 ]; echo $?)" \
  "$connects connects over $lines transfers"
if analyze "$WORK/keepalive.pcap"; then
  expect "http 100 keep-alive requests pcap: exactly 1 SYN" "$WORK/keepalive.pcap.json" \
    'len(flows) == 1 and n("syn") == 1 and n("syn_ack") == 1'
else
  fail "keepalive analyze" "$(head -c 300 "$WORK/keepalive.pcap.json.err")"
fi

# Row 7: a closed vigil port refuses (curl exit 7, ECONNREFUSED).
cap refused-vigil
out=$(in_ns curl -sS --max-time 10 http://10.99.0.2:8081/ 2>&1)
rc=$?
capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
check "closed vigil port: curl gets ECONNREFUSED" \
  "$([ "$rc" = 7 ] && echo "$out" | grep -q "Couldn't connect"; echo $?)" "curl exit $rc: $out"
if analyze "$WORK/refused-vigil.pcap"; then
  expect "closed vigil port pcap: refused" "$WORK/refused-vigil.pcap.json" \
    'n("rst_refused", 1) == 1 and flows[0]["end"]["how"] == "rst" and flows[0]["story"]["ending"].startswith("refused: RST/ACK in reply to SYN")'
else
  fail "refused-vigil analyze" "$(head -c 300 "$WORK/refused-vigil.pcap.json.err")"
fi

# A second vigil on the same device: "busy", exit 1, the first one unharmed.
in_ns "$VIGIL" "${TUN[@]}" serve echo --port 7 >/dev/null 2>"$WORK/busy.err"
rc=$?
check "second vigil on the same device: busy, exit 1" \
  "$([ "$rc" = 1 ] && grep -q "is busy" "$WORK/busy.err" && kill -0 "$SERVER"; echo $?)" \
  "exit $rc: $(cat "$WORK/busy.err")"

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
check "SIGTERM stops the server with status 0" "$([ "$rc" = 0 ]; echo $?)" "exit $rc"

# Not root: without CAP_NET_ADMIN the device cannot be created.
if command -v setpriv >/dev/null; then
  in_ns setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all \
    "$VIGIL" "${TUN[@]}" serve echo --port 7 >/dev/null 2>"$WORK/notroot.err"
  rc=$?
  check "not root: clear message, exit 1" \
    "$([ "$rc" = 1 ] && grep -q "run as root or with CAP_NET_ADMIN" "$WORK/notroot.err"; echo $?)" \
    "exit $rc: $(cat "$WORK/notroot.err")"
fi

# --- vigil as a client (row 2, row 8) ---------------------------------------------
# nc (netcat-openbsd) listens on the wildcard address: 10.99.0.1 only exists
# once vigil has created the device.
if ! command -v nc >/dev/null; then
  fail "vigil client tests" "nc (netcat-openbsd) is not installed"
  finish
fi

# Upload 10 MB to `nc -l`: both ends agree on the sha256.
cap upload
ip netns exec "$NS" nc -l 9000 >"$WORK/upload.data" 2>"$WORK/upload.nc.err" &
NC=$!
PIDS+=("$NC")
sleep 0.3
want=$(expected_sha 10000000)
out=$(in_ns timeout 60 "$VIGIL" "${TUN[@]}" --pcap "$WORK/upload-vigil.pcap" \
  connect 10.99.0.1:9000 --send 10000000 2>"$WORK/upload.err")
rc=$?
for _ in $(seq 50); do kill -0 "$NC" 2>/dev/null || break; sleep 0.1; done
capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
got="$(stat -c %s "$WORK/upload.data") $(sha256sum <"$WORK/upload.data" | cut -d' ' -f1)"
check "vigil uploads 10 MB to nc" \
  "$([ "$rc" = 0 ] && [ "$out" = "sent 10000000 bytes sha256 $want" ] && [ "$got" = "10000000 $want" ]; echo $?)" \
  "vigil exit $rc '$out' $(cat "$WORK/upload.err"); nc got '$got'"
if analyze "$WORK/upload.pcap"; then
  expect "upload pcap: one connection from vigil, closed with FIN, no retransmission" \
    "$WORK/upload.pcap.json" \
    'len(flows) == 1 and flows[0]["client"].startswith("10.99.0.2:") and flows[0]["server"] == "10.99.0.1:9000" and n("retransmission") == 0 and flows[0]["end"]["how"] == "fin"'
else
  fail "upload analyze" "$(head -c 300 "$WORK/upload.pcap.json.err")"
fi
# vigil's own --pcap of the same upload: the same single connection, every
# data byte in it, stamped with wall-clock time (within 2 s of tcpdump's).
if analyze "$WORK/upload-vigil.pcap"; then
  tcpdump_first=$(aq "$WORK/upload.pcap.json" 'flows[0]["first_s"]')
  expect "vigil --pcap of the upload: one connection, 10 MB of data, FIN, wall-clock time" \
    "$WORK/upload-vigil.pcap.json" \
    "len(flows) == 1 and flows[0]['server'] == '10.99.0.1:9000' and flows[0]['end']['how'] == 'fin' and sum(1 for p in packets if 'data' in p['labels'] and p['dir'] == 0) >= 10000000 // 1460 and abs(flows[0]['first_s'] - ${tcpdump_first:-0}) < 2"
else
  fail "upload vigil --pcap analyze" "$(head -c 300 "$WORK/upload-vigil.pcap.json.err")"
fi

# Download 10 MB of random bytes from `nc -N -l` (it shuts down its sending
# side at the end of its input).
head -c 10000000 /dev/urandom >"$WORK/download.src"
want=$(sha256sum <"$WORK/download.src" | cut -d' ' -f1)
cap download
ip netns exec "$NS" nc -N -l 9001 <"$WORK/download.src" >/dev/null 2>"$WORK/download.nc.err" &
NC=$!
PIDS+=("$NC")
sleep 0.3
out=$(in_ns timeout 60 "$VIGIL" "${TUN[@]}" connect 10.99.0.1:9001 --recv 2>"$WORK/download.err")
rc=$?
capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
check "vigil downloads 10 MB from nc" \
  "$([ "$rc" = 0 ] && [ "$out" = "received 10000000 bytes sha256 $want" ]; echo $?)" \
  "vigil exit $rc '$out' $(cat "$WORK/download.err")"
if analyze "$WORK/download.pcap"; then
  expect "download pcap: one connection, closed with FIN, no retransmission" \
    "$WORK/download.pcap.json" \
    'len(flows) == 1 and flows[0]["server"] == "10.99.0.1:9001" and n("retransmission") == 0 and flows[0]["end"]["how"] == "fin"'
else
  fail "download analyze" "$(head -c 300 "$WORK/download.pcap.json.err")"
fi

# Row 8: vigil to a closed Linux port: ECONNREFUSED, reason refused, exit 1.
cap refused-linux
in_ns timeout 30 "$VIGIL" "${TUN[@]}" connect 10.99.0.1:9 --recv >"$WORK/refused.out" \
  2>"$WORK/refused.err"
rc=$?
capture_stop "$CAPTURE_PID" "$WORK/$CAPTURE_NAME.pcap.err"
check "closed Linux port refuses the vigil client: ECONNREFUSED (refused), exit 1" \
  "$([ "$rc" = 1 ] && grep -q "failed: ECONNREFUSED (refused)" "$WORK/refused.err"; echo $?)" \
  "exit $rc: $(cat "$WORK/refused.err")"
if analyze "$WORK/refused-linux.pcap"; then
  expect "closed Linux port pcap: refused" "$WORK/refused-linux.pcap.json" \
    'n("syn", 0) == 1 and n("rst_refused", 1) == 1 and flows[0]["story"]["ending"].startswith("refused: RST/ACK in reply to SYN")'
else
  fail "refused-linux analyze" "$(head -c 300 "$WORK/refused-linux.pcap.json.err")"
fi

finish
