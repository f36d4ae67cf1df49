#!/usr/bin/env bash
# `vigil tun --offload on` (IFF_VNET_HDR: TSO4 super-segments and partial
# checksums both ways) against Linux's TCP in a private namespace: a 30 MB
# download by curl and a 30 MB upload to nc, each checked by sha256, and
# vigil's own --pcap of the upload read back with tshark: the super-segments
# are there and every TCP checksum in the file verifies (the partial
# checksums were completed for the record).
# Needs root and /dev/net/tun; otherwise it skips. Touches nothing outside
# its namespace vgo-$$, which is deleted on exit (even on failure).
# usage: bash tun_offload.sh path/to/vigil
set -u
TEST=tun_offload
source "$(dirname "$0")/tun_lib.bash"

NS="vgo-$$"
DEV="vo$$"
new_ns "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
TUN=(tun --dev "$DEV" --local 10.98.0.2 --peer 10.98.0.1 --offload on)
BYTES=30000000
want=$(expected_sha "$BYTES")

# Download: curl fetches from vigil's http mode.
ip netns exec "$NS" "$VIGIL" "${TUN[@]}" serve http --port 8080 \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER=$!
PIDS+=("$SERVER")
if wait_for_dev "$NS" "$DEV"; then
  got=$(in_ns curl -s --max-time 60 "http://10.98.0.2:8080/bytes/$BYTES" | sha256sum | cut -d' ' -f1)
  check "offload on: curl downloads 30 MB, sha256 matches" "$([ "$got" = "$want" ]; echo $?)" \
    "got $got want $want; $(head -c 300 "$WORK/server.err")"
else
  fail "offload on: server start" "$DEV never appeared: $(cat "$WORK/server.err")"
fi
kill -TERM "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null
sleep 0.3  # the device goes away with vigil

# Upload: vigil sends to nc, recording its own pcap.
ip netns exec "$NS" nc -l 9000 >"$WORK/upload.data" 2>"$WORK/nc.err" &
NC=$!
PIDS+=("$NC")
sleep 0.3
out=$(in_ns timeout 60 "$VIGIL" "${TUN[@]}" --pcap "$WORK/upload.pcap" \
  connect 10.98.0.1:9000 --send "$BYTES" 2>"$WORK/upload.err")
rc=$?
for _ in $(seq 50); do kill -0 "$NC" 2>/dev/null || break; sleep 0.1; done
got="$(stat -c %s "$WORK/upload.data") $(sha256sum <"$WORK/upload.data" | cut -d' ' -f1)"
check "offload on: vigil uploads 30 MB to nc, sha256 matches" \
  "$([ "$rc" = 0 ] && [ "$got" = "$BYTES $want" ]; echo $?)" \
  "vigil exit $rc '$out' $(head -c 300 "$WORK/upload.err"); nc got '$got'"

# The progress line: only on a terminal. Above, stderr was a file: no line.
check "no progress line when stderr is not a terminal" \
  "$(! grep -q "bytes sent" "$WORK/upload.err"; echo $?)" "$(head -c 200 "$WORK/upload.err")"
# Under a pseudo-terminal (script(1)) it appears, redrawn in place with \r.
ip netns exec "$NS" nc -l 9001 >/dev/null 2>&1 &
PIDS+=("$!")
sleep 0.3
ip netns exec "$NS" script -qfec "timeout 60 $VIGIL ${TUN[*]} connect 10.98.0.1:9001 --send 5000000" \
  /dev/null </dev/null >"$WORK/tty.out" 2>&1
check "progress line on a terminal: \\r<n> bytes sent" \
  "$(grep -q $'\r[0-9]* bytes sent' "$WORK/tty.out"; echo $?)" "$(head -c 300 "$WORK/tty.out" | od -c | head -5)"

# The pcap: super-segments (payload above one MSS of 1460) went out, and
# tshark, told to verify TCP checksums, finds none bad.
if command -v tshark >/dev/null; then
  tshark -r "$WORK/upload.pcap" -o tcp.check_checksum:TRUE -T fields \
    -e tcp.len -e tcp.checksum.status >"$WORK/upload.fields" 2>"$WORK/tshark.err"
  big=$(awk '$1 > 1460' "$WORK/upload.fields" | wc -l)
  bad=$(awk '$2 != 1' "$WORK/upload.fields" | wc -l)  # 1: good, 0: bad, 2: unverified
  total=$(wc -l <"$WORK/upload.fields")
  check "offload on: vigil's pcap holds TSO super-segments" "$([ "$big" -gt 0 ]; echo $?)" \
    "$big of $total segments longer than 1460 bytes"
  check "offload on: every TCP checksum in vigil's pcap verifies" \
    "$([ "$total" -gt 0 ] && [ "$bad" = 0 ]; echo $?)" "$bad of $total not good: $(head -c 200 "$WORK/tshark.err")"
else
  fail "offload pcap checks" "tshark is not installed (scripts/setup.sh installs it)"
fi
finish
