#!/usr/bin/env bash
# Issue 12, "Prove it" 4 over TUN: blind in-window injection against live
# vigil connections, with the Linux kernel as the attacker's vantage point.
#
# vigil runs `serve echo` on a TUN device in a private namespace. One Linux
# client per attack kind (and one left alone, the baseline) streams random
# bytes to it and reads the echo back, both ways at once, at a bounded rate.
# While they run, vigil_attack (tests/tools/vigil_attack.cpp; a raw socket
# in the same namespace) forges COUNT segments of its kind into each
# connection from the client's side: RSTs, SYNs, data with a bad ACK, bad
# ACKs with a TSval far ahead, ICMP unreachables of every code, and
# frag-needed quoting sequence numbers outside and inside the flight. It
# sees the traffic, so its sequence numbers land in the window (the worst
# case for a blind attacker), but never on the exact value a reset needs.
#
# Asserted, per connection: it survives (client and vigil see no error);
# the echo and vigil's copy of the stream match what the client sent
# (sha256: 0 bytes corrupted); vigil's MSS is the baseline's (for
# in-flight frag-needed: no lower than the 552-byte MTU floor); vigil saw
# the forgeries (its counters). Prints one line of figures per kind.
#
# ATTACK_COUNT (default 1000; scripts/attack-tun.sh runs 10,000) and
# ATTACK_RATE (forgeries per second, default 20000) come from the environment.
# Needs root and /dev/net/tun; otherwise it skips (exit 77).
# usage: bash tun_attack_inject.sh path/to/vigil   (VIGIL_ATTACK=path/to/vigil_attack)
set -u
TEST=tun_attack_inject
source "$(dirname "$0")/tun_lib.bash"
attack_tool
COUNT=${ATTACK_COUNT:-1000}
RATE=${ATTACK_RATE:-20000}
KINDS=(rst syn data badack-ts icmp fragneeded-blind fragneeded)

START=$(date +%s%N)
elapsed() {  # seconds since START, to 0.1 s
  local ds=$((($(date +%s%N) - START) / 100000000))
  echo "$((ds / 10)).$((ds % 10))"
}
vigil_server "vga-$$" "va$$" serve echo --port 7

# The clients, one process (python starts slowly on a busy machine), one
# connection per directory given: each writes random bytes at ~1 MB/s
# until DIR/stop exists, then half-closes and reads the echo to its end.
# Writes DIR/port (its local port) once connected, DIR/client.out (its
# result line) at the end.
cat >"$WORK/client.py" <<'PY'
import hashlib, os, socket, sys, threading, time
def client(d):
    sent_h, recv_h = hashlib.sha256(), hashlib.sha256()
    n, got, err = 0, [0, None], None
    try:
        s = socket.create_connection(("10.99.0.2", 7), timeout=30)
    except Exception as e:
        open(d + "/client.out", "w").write("connect failed %r\n" % e)
        return
    open(d + "/port", "w").write(str(s.getsockname()[1]))
    def reader():
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return
                recv_h.update(b)
                got[0] += len(b)
        except Exception as e:
            got[1] = repr(e)
    t = threading.Thread(target=reader)
    t.start()
    try:
        while not os.path.exists(d + "/stop"):
            b = os.urandom(32768)
            s.sendall(b)
            sent_h.update(b)
            n += len(b)
            time.sleep(0.03)
        s.shutdown(socket.SHUT_WR)
    except Exception as e:
        err = repr(e)
    t.join(30)
    err = err or got[1] or ("echo incomplete" if t.is_alive() else None)
    open(d + "/client.out", "w").write("sent %d %s received %d %s error %s\n" % (
        n, sent_h.hexdigest(), got[0], recv_h.hexdigest(), err))
threads = [threading.Thread(target=client, args=(d,)) for d in sys.argv[1:]]
for t in threads:
    t.start()
for t in threads:
    t.join()
PY

# One connection per kind, all at once; the baseline is left alone.
declare -A PORT
dirs=()
for kind in none "${KINDS[@]}"; do
  mkdir -p "$WORK/$kind"
  dirs+=("$WORK/$kind")
done
ip netns exec "$NS" timeout 120 "$PYTHON" "$WORK/client.py" "${dirs[@]}" 2>"$WORK/client.err" &
CPID=$!
PIDS+=("$CPID")
for kind in none "${KINDS[@]}"; do
  if ! wait_for_file "$WORK/$kind/port" 100; then
    fail "$kind: client connects" "$(cat "$WORK/client.err" "$WORK/$kind/client.out" 2>/dev/null)"
    finish
  fi
  PORT[$kind]=$(cat "$WORK/$kind/port")
done
echo "timing: clients connected at $(elapsed) s"
sleep 0.5  # the transfers are under way
# One kind after the other, so that the device queue to vigil is not
# flooded by all of them at once.
t0=$(elapsed)
for kind in "${KINDS[@]}"; do
  ip netns exec "$NS" "$ATTACK" inject --dev "$DEV" --vigil 10.99.0.2:7 \
    --peer "10.99.0.1:${PORT[$kind]}" --kind "$kind" --count "$COUNT" --rate "$RATE" \
    --seed "$((${#kind} + COUNT))" >"$WORK/$kind/attack.out" 2>"$WORK/$kind/attack.err"
done
t1=$(elapsed)
took="from $t0 s to $t1 s"
sleep 0.5  # the transfers go on after the attack
for kind in none "${KINDS[@]}"; do touch "$WORK/$kind/stop"; done
wait "$CPID"
echo "timing: clients done at $(elapsed) s"
# Datagrams the kernel could not queue to vigil (the TUN queue was full).
TX_DROPPED=$(tx_dropped "$NS" "$DEV")
kill -TERM "$VPID"
wait "$VPID"
vrc=$?
check "vigil exits 0 and writes --stats" "$([ "$vrc" = 0 ] && [ -s "$WORK/stats.json" ]; echo $?)" \
  "exit $vrc: $(cat "$WORK/vigil.err")"

# The figures: one line per kind from the client, the injector, vigil's
# per-connection line and its --stats record, then PASS or FAIL with the
# reasons (one python for all: its start-up is slow on a busy machine).
echo "timing: vigil stopped at $(elapsed) s"
echo "figures (COUNT=$COUNT per kind at RATE=$RATE/s, one kind after the other, attack ran $took;"
echo "  the kernel dropped $TX_DROPPED datagrams to vigil, its TUN queue full):"
python3 - "$WORK" "$COUNT" none "${KINDS[@]}" >"$WORK/figures.txt" <<'PY'
import json, re, sys
work, count, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
st = json.load(open(work + "/stats.json"))
vigil = open(work + "/vigil.out").read()
port = {k: open("%s/%s/port" % (work, k)).read().strip() for k in kinds}
def conn(k):
    return next((c for c in st["connections"] if c["remote"] == "10.99.0.1:" + port[k]), None)
base = conn("none")
bmss = base["send_mss"] if base else -1
for kind in kinds:
    c = conn(kind)
    cl = open("%s/%s/client.out" % (work, kind)).read().split()
    m = re.search(r"^connection from 10\.99\.0\.1:%s: (\d+) bytes in, sha256 (\w+)(.*)$" % port[kind], vigil, re.M)
    bad = []
    if len(cl) < 8:
        bad.append("client gave no result")
        cl = ["sent", "0", "-", "received", "0", "?", "error", "no result"]
    sent, sha_sent, received, sha_recv, err = int(cl[1]), cl[2], int(cl[4]), cl[5], " ".join(cl[7:])
    lost = 0
    if err != "None" or c is None or c["errno"] or not m or m.group(3):
        lost = 1
        bad.append("connection lost: client %s, vigil %s %s" % (err, c and c["errno"], m and m.group(3)))
    corrupted = 0
    if sha_recv != sha_sent or not m or m.group(2) != sha_sent or int(m.group(1)) != sent or received != sent:
        corrupted = 1
        bad.append("stream differs: sent %d, echoed %d, vigil read %s" % (sent, received, m and m.group(1)))
    fig = {"injected": 0, "rate": 0, "in_flight": 0}
    if kind != "none":
        a = open("%s/%s/attack.out" % (work, kind)).read().split()
        if len(a) >= 12:
            fig = {"injected": int(a[1]), "rate": int(a[7]), "in_flight": int(a[9])}
        if fig["injected"] != count:
            bad.append("injected %d of %d: %s" % (fig["injected"], count,
                                                 open("%s/%s/attack.err" % (work, kind)).read()))
    k = c or {}
    mss = k.get("send_mss", 0)
    if kind == "fragneeded":
        # RFC 1191 and Linux's min_pmtu: down to MTU 552 at most, i.e. MSS
        # 552 - 40 - 12 (timestamps) = 500.
        if not 500 <= mss <= bmss:
            bad.append("MSS %d: below the 552-byte MTU floor (baseline %d)" % (mss, bmss))
    elif mss != bmss:
        bad.append("MSS %d, baseline %d" % (mss, bmss))
    ch = k.get("challenge_acks_sent", 0) + k.get("challenge_acks_suppressed", 0)
    line = ("%-16s injected %6d at %6d/s; lost %d; corrupted %d; %d bytes each way; mss %d (baseline %d); "
            "vigil: dropped %d, challenge ACKs %d sent + %d suppressed, invalid ACKs suppressed %d, "
            "icmp out of window %d, icmp ignored %d" %
            (kind, fig["injected"], fig["rate"], lost, corrupted, sent, mss, bmss, k.get("segments_dropped", 0),
             k.get("challenge_acks_sent", 0), k.get("challenge_acks_suppressed", 0),
             k.get("invalid_acks_suppressed", 0), k.get("icmp_out_of_window", 0), k.get("icmp_ignored", 0)))
    if kind in ("icmp", "fragneeded", "fragneeded-blind"):
        line += "; quoted in flight when sent %d" % fig["in_flight"]
    # Evidence that the attack reached the connection (a tenth at least:
    # on a busy machine the kernel drops some when vigil's queue is full).
    if kind in ("rst", "syn", "data", "badack-ts") and k.get("segments_dropped", 0) < count // 10:
        bad.append("vigil dropped only %d of %d forgeries" % (k.get("segments_dropped", 0), count))
    if kind == "fragneeded-blind" and k.get("icmp_out_of_window", 0) < count // 10:
        bad.append("only %d blind frag-needed reached the connection" % k.get("icmp_out_of_window", 0))
    if kind in ("rst", "syn") and ch < count // 10:
        bad.append("only %d of %d in the window (challenge ACKs)" % (ch, count))
    print(line)
    name = "%s: 0 connections lost, 0 bytes corrupted, MSS as asserted" % kind
    print("PASS " + name if not bad else "FAIL %s: %s" % (name, "; ".join(bad)))
PY
cat "$WORK/figures.txt"
PASSED=$((PASSED + $(grep -c "^PASS " "$WORK/figures.txt")))
FAILED=$((FAILED + $(grep -c "^FAIL " "$WORK/figures.txt")))
finish
