#!/usr/bin/env bash
# Issue 13 point 12: `vigil analyze -i IFACE` captures live, prints each
# connection's story as it ends, and Ctrl-C (SIGINT) prints the open ones.
# Runs only inside a network namespace it creates (its loopback), deleted
# on exit; skips (77) without root or `ip`.
# usage: bash analyze_live.sh path/to/vigil
set -uo pipefail
vigil=${1:?usage: analyze_live.sh path/to/vigil}
if [ "$(id -u)" != 0 ]; then echo "analyze_live: skipped: needs root (network namespace)"; exit 77; fi
command -v ip >/dev/null || { echo "analyze_live: skipped: ip is not installed"; exit 77; }
ns=vigil-live-$$
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || { echo "analyze_live: skipped: cannot create a network namespace"; exit 77; }
ip -n "$ns" link set lo up
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
# Waits up to 10 s for a pattern in a file.
wait_for() { for _ in $(seq 100); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# `ip netns exec` execs vigil itself: $! is vigil's PID.
ip netns exec "$ns" "$vigil" analyze -i lo -f 'tcp port 7001 or tcp port 7002' \
  > "$work/out" 2> "$work/err" &
vpid=$!
pids+=("$vpid")
for _ in $(seq 100); do
  grep -q "capturing on lo" "$work/err" && break
  kill -0 "$vpid" 2>/dev/null || break  # it refused the command line
  sleep 0.1
done
grep -q "capturing on lo" "$work/err" || { echo "FAIL: vigil did not start"; cat "$work/err"; exit 1; }
sleep 0.3  # the capture is active once the message is out; leave libpcap a moment

# A server on 7001 that answers and closes, a client that connects, sends,
# reads and closes: a whole connection, FIN both ways.
ip netns exec "$ns" python3 - <<'EOF'
import socket, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 7001)); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.recv(100); c.sendall(b"pong"); c.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(("127.0.0.1", 7001)); c.sendall(b"ping"); c.recv(100); c.close()
t.join(); srv.close()
EOF
check "the closed connection's story is printed before Ctrl-C" \
  'wait_for "ended: fin" "$work/out" && grep -q "^flow 0: 127.0.0.1:[0-9]* -> 127.0.0.1:7001" "$work/out"'

# A connection to 7002 that stays open while vigil is interrupted.
# It writes $work/ready once its data was acknowledged (the peer read it),
# so that Ctrl-C comes after its segments, however slowly python starts.
ip netns exec "$ns" python3 -c '
import socket, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", 7002)); srv.listen(1)
c = socket.create_connection(("127.0.0.1", 7002)); a, _ = srv.accept(); c.sendall(b"x" * 10)
a.recv(10); open(sys.argv[1], "w").close()
time.sleep(8)' "$work/ready" &
pids+=("$!")
for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
sleep 0.5  # leave vigil a moment to read them (immediate mode)
check "the open connection is not printed before Ctrl-C" '! grep -q ":7002" "$work/out"'
kill -INT "$vpid"
# No packet comes after Ctrl-C (the 7002 client sleeps 8 s): vigil must end
# at once all the same. Before pcap_breakloop it waited for the next packet
# (libpcap's immediate mode polls without a timeout).
for _ in $(seq 20); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
check "Ctrl-C ends the capture within 2 s with no further packet" '! kill -0 "$vpid" 2>/dev/null'
wait "$vpid"; rc=$?
check "Ctrl-C ends the capture with exit 0" '[ $rc -eq 0 ]'
check "Ctrl-C prints the open connection" \
  'grep -q "^flow 1: 127.0.0.1:[0-9]* -> 127.0.0.1:7002" "$work/out" && grep -q "ended: open" "$work/out"'
check "the closed connection is printed once" '[ "$(grep -c "^flow 0:" "$work/out")" -eq 1 ]'
[ $fail -eq 0 ] || { echo "--- stdout"; cat "$work/out"; echo "--- stderr"; cat "$work/err"; }
exit $fail
