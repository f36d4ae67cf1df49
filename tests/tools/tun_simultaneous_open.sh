#!/usr/bin/env bash
# Issue 9 bug 3 over TUN: a simultaneous open (RFC 9293 figure 8) between
# vigil and the Linux kernel. vigil connects from port 9200 to 10.99.0.1:9100
# while a Linux socket bound to 10.99.0.1:9100 connects to 10.99.0.2:9200.
#
# Both pure SYNs must be in flight at once, and on a TUN device the one-way
# delay is microseconds, so the test makes room (this kernel has no netem):
#   - vigil's first SYN arrives before the Linux socket exists; an nft rule
#     in the namespace drops the kernel's RST for it, so vigil stays in
#     SYN-SENT and resends its SYN one RTO (--set rto.initial=2s) later;
#   - a tbf qdisc (64 kbit/s) on the device's kernel-to-vigil side, backed
#     up with 16 UDP datagrams of 1400 bytes (vigil counts and drops them),
#     holds the Linux SYN for about 2.7 s.
# So the Linux socket must connect within 2 s of vigil's first SYN.
# So vigil's resent SYN reaches Linux in SYN-SENT (Linux: SYN-RECEIVED, its
# SYN,ACK queues behind its SYN), Linux's SYN reaches vigil in SYN-SENT
# (vigil: SYN-RECEIVED, SYN,ACK), Linux takes vigil's SYN,ACK to
# ESTABLISHED, and vigil must take Linux's SYN,ACK to ESTABLISHED without
# answering it. Before the fix vigil answered it with a second SYN,ACK.
# (Linux may resend its SYN and SYN,ACK while they wait in the queue; vigil
# answers a resent SYN in SYN-RECEIVED with its SYN,ACK, and a SYN,ACK once
# ESTABLISHED with a challenge ACK.)
# Then vigil sends 20000 bytes; Linux checks the sha256.
# Checked on vigil's own --pcap: the exact handshake, each side's SYN,ACK
# exactly once, no RST. Timing matters, so a run whose trace shows no
# crossing of SYNs is retried (up to 3 times).
# Needs root and /dev/net/tun; otherwise it skips (exit 77). Touches nothing
# outside its namespace vgso-$$, deleted on exit even on failure.
# usage: bash tun_simultaneous_open.sh path/to/vigil
set -u
TEST=tun_simultaneous_open
. "$(dirname "$0")/need_root_tun.bash"
need_root_tun
if ! command -v tc >/dev/null; then
  echo "$TEST: cannot run: tc (iproute2) is not installed"
  exit 1
fi
source "$(dirname "$0")/tun_lib.bash"

BYTES=20000
NS="vgso-$$"
DEV="vs$$"
new_ns "$NS"
in_ns() { ip netns exec "$NS" "$@"; }

# Linux's side: bind 10.99.0.1:9100, queue the filler, connect to vigil,
# read to EOF; prints "received N bytes sha256 X" or the error.
cat >"$WORK/linux_side.py" <<'PY'
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.1", 9100))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(16):
    u.sendto(b"\0" * 1400, ("10.99.0.2", 9))
s.settimeout(30)
try:
    s.connect(("10.99.0.2", 9200))
    h, n = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(f"received {n} bytes sha256 {h.hexdigest()}")
except OSError as e:
    print(f"error {e}")
PY

# The TCP segments of a pcap of raw IPv4 (vigil --pcap): one line each,
# "SRC_PORT>DST_PORT FLAGS", flags in tcpdump's letters.
cat >"$WORK/segments.py" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off = 24
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(pkt) < 20 or pkt[9] != 6:
        continue
    ihl = (pkt[0] & 15) * 4
    sport, dport = struct.unpack(">HH", pkt[ihl:ihl + 4])
    fl = pkt[ihl + 13]
    letters = "".join(c for bit, c in ((2, "S"), (16, "."), (1, "F"), (4, "R")) if fl & bit)
    print(f"{sport}>{dport} {letters}")
PY

want=$(expected_sha "$BYTES")
attempt=0
while :; do
  attempt=$((attempt + 1))
  ip netns exec "$NS" nft -f - <<'NFT'
table inet vgso {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp sport 9100 tcp flags & rst == rst drop
  }
}
NFT
  P="$WORK/vigil-$attempt.pcap"
  ip netns exec "$NS" "$VIGIL" tun --dev "$DEV" --local 10.99.0.2 --peer 10.99.0.1 --pcap "$P" \
    --set rto.initial=2s connect 10.99.0.1:9100 --local-port 9200 --send "$BYTES" \
    >"$WORK/vigil-$attempt.out" 2>"$WORK/vigil-$attempt.err" &
  V=$!
  PIDS+=("$V")
  if ! wait_for_dev "$NS" "$DEV"; then
    fail "vigil start" "$DEV never appeared: $(cat "$WORK/vigil-$attempt.err")"
    finish
  fi
  in_ns tc qdisc add dev "$DEV" root tbf rate 64kbit burst 1600 latency 10s
  ip netns exec "$NS" timeout 40 "$PYTHON" "$WORK/linux_side.py" >"$WORK/linux-$attempt.out" 2>&1
  for _ in $(seq 100); do kill -0 "$V" 2>/dev/null || break; sleep 0.1; done
  kill "$V" 2>/dev/null
  wait "$V"
  rc=$?
  in_ns nft delete table inet vgso
  "$PYTHON" "$WORK/segments.py" "$P" >"$WORK/segs-$attempt.txt"
  # vigil = 9200, Linux = 9100. A crossing: Linux sent a pure SYN that vigil
  # read, and a SYN,ACK.
  linux_syn=$(grep -c '^9100>9200 S$' "$WORK/segs-$attempt.txt")
  linux_syn_ack=$(grep -c '^9100>9200 S\.$' "$WORK/segs-$attempt.txt")
  if [ "$linux_syn" -ge 1 ] && [ "$linux_syn_ack" -ge 1 ]; then break; fi
  echo "NOTE attempt $attempt: the SYNs did not cross ($(tr '\n' ',' <"$WORK/segs-$attempt.txt" | head -c 200)); retrying"
  if [ "$attempt" -ge 3 ]; then
    fail "simultaneous open" "the SYNs never crossed in $attempt attempts"
    finish
  fi
done

vout=$(cat "$WORK/vigil-$attempt.out")
lout=$(cat "$WORK/linux-$attempt.out")
check "vigil sends $BYTES bytes over a simultaneous open, exit 0" \
  "$([ "$rc" = 0 ] && [ "$vout" = "sent $BYTES bytes sha256 $want" ]; echo $?)" \
  "vigil exit $rc '$vout' $(cat "$WORK/vigil-$attempt.err")"
check "Linux receives the same $BYTES bytes" \
  "$([ "$lout" = "received $BYTES bytes sha256 $want" ]; echo $?)" "linux: '$lout'"
# RFC 9293 figure 8 from vigil's side: vigil's SYN went out first (both
# ends in SYN-SENT), Linux's SYN and SYN,ACK reached vigil, no RST, and
# vigil never answered a SYN,ACK with a SYN,ACK (the bug: it did, for ever);
# each SYN,ACK vigil sent answers a SYN from Linux.
handshake=$(awk '/S/' "$WORK/segs-$attempt.txt" | tr '\n' ',')
verdict=$("$PYTHON" - "$WORK/segs-$attempt.txt" <<'PY'
import sys
segs = [l.split() for l in open(sys.argv[1]) if l.strip()]
vigil = lambda s: s[0] == "9200>9100"
if not segs or not (vigil(segs[0]) and segs[0][1] == "S"):
    print("vigil's SYN was not first"); sys.exit()
if any("R" in s[1] for s in segs):
    print("a RST"); sys.exit()
for i, s in enumerate(segs):
    if not vigil(s) and s[1] == "S.":
        nxt = next((t for t in segs[i + 1:] if vigil(t)), None)
        if nxt and nxt[1] == "S.":
            print(f"vigil answered Linux's SYN,ACK (segment {i + 1}) with a SYN,ACK"); sys.exit()
syn_acks = sum(1 for s in segs if vigil(s) and s[1] == "S.")
linux_syns = sum(1 for s in segs if not vigil(s) and s[1] == "S")
if not 1 <= syn_acks <= linux_syns:
    print(f"vigil sent {syn_acks} SYN,ACKs for {linux_syns} SYNs from Linux"); sys.exit()
print("ok")
PY
)
check "figure 8: SYNs crossed, each SYN,ACK taken without a SYN,ACK in reply, no RST" \
  "$([ "$verdict" = ok ]; echo $?)" "$verdict; SYN segments: $handshake"
finish
