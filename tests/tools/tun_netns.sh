#!/usr/bin/env bash
# `vigil tun --netns NAME` (issue 10): the TUN device is created inside NAME,
# not in the namespace vigil was started in; a name that is no namespace
# is a usage error (exit 2) that creates nothing. And each connection's end
# reaches stderr (stack::EndLog): a clean close and a peer's RST, with the
# errno and mechanism.
# vigil itself is started inside a namespace of ours (vgn-o-$$), so even a
# vigil that ignored --netns could only touch that one; the device must
# appear in vgn-i-$$. Both are deleted on exit, even on failure.
# Needs root and /dev/net/tun; otherwise it skips (exit 77).
# usage: bash tun_netns.sh path/to/vigil
set -u
TEST=tun_netns
# shellcheck source=tun_lib.bash
source "$(dirname "$0")/tun_lib.bash"

outer="vgn-o-$$" inner="vgn-i-$$" dev="vn$$"
new_ns "$outer"
new_ns "$inner"
args=(--dev "$dev" --local 10.99.0.2 --peer 10.99.0.1 serve echo --port 7)

# 1. A namespace that does not exist: exit 2, a clear message, no device.
# (timeout: a vigil that ignored --netns would serve here instead of exiting.)
ip netns exec "$outer" timeout 10 "$VIGIL" tun --netns "vgn-none-$$" "${args[@]}" \
  >"$WORK/none.out" 2>"$WORK/none.err"
rc=$?
check "missing namespace: exit 2 with the name and how to create it" \
  "$([ "$rc" = 2 ] && grep -qF "vigil tun: no network namespace 'vgn-none-$$' (/run/netns/vgn-none-$$ does not exist); create it with \`ip netns add vgn-none-$$\`" "$WORK/none.err"; echo $?)" \
  "exit $rc: $(cat "$WORK/none.err")"
check "missing namespace: no device anywhere" \
  "$(! ip -n "$outer" link show "$dev" >/dev/null 2>&1 && ! ip -n "$inner" link show "$dev" >/dev/null 2>&1; echo $?)" \
  "a device $dev exists"
ip netns exec "$outer" timeout 10 "$VIGIL" tun --netns ../x "${args[@]}" >/dev/null 2>"$WORK/path.err"
rc=$?
check "a path is not a namespace name: exit 2" "$([ "$rc" = 2 ]; echo $?)" "exit $rc: $(cat "$WORK/path.err")"

# 2. The device lives in --netns, not where vigil started.
ip netns exec "$outer" "$VIGIL" tun --netns "$inner" "${args[@]}" \
  >"$WORK/vigil.out" 2>"$WORK/vigil.err" &
vpid=$!
PIDS+=("$vpid")
if ! wait_for_dev "$inner" "$dev"; then
  fail "device in $inner" "vigil did not start: $(cat "$WORK/vigil.err")"
  finish
fi
pass "device in --netns namespace"
check "no device in the namespace vigil started in" \
  "$(! ip -n "$outer" link show "$dev" >/dev/null 2>&1; echo $?)" "$dev exists in $outer"

# 3. Two connections from Linux in the inner namespace: a clean close, then
# an abortive one (SO_LINGER 0: RST).
ip netns exec "$inner" "$PYTHON" -c '
import socket, struct
for abort in (False, True):
    s = socket.create_connection(("10.99.0.2", 7), timeout=5)
    s.sendall(b"hello")
    assert s.recv(5) == b"hello"
    if abort:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        s.shutdown(socket.SHUT_WR)
        assert s.recv(5) == b""  # vigil closes on EOF
    print(s.getsockname()[1], flush=True)
    s.close()' >"$WORK/py.out" 2>"$WORK/py.err"
rc=$?
check "echo twice through the device" "$rc" "$(cat "$WORK/py.err")"
port1=$(sed -n 1p "$WORK/py.out") port2=$(sed -n 2p "$WORK/py.out")
sleep 0.5
kill -TERM "$vpid" 2>/dev/null
wait "$vpid" 2>/dev/null
# The clean close: Linux's FIN first (vigil: CLOSE-WAIT), vigil closes on
# EOF (LAST-ACK) and ends at Linux's ACK. The RST in ESTABLISHED:
# ECONNRESET, reason reset (RFC 9293 §3.10.7.4).
num='[0-9]+\.[0-9]{6}'
check "end line: clean close in LAST-ACK" \
  "$(grep -qE "^vigil tun: 10\.99\.0\.2:7 <-> 10\.99\.0\.1:$port1 ended at $num s in LAST-ACK: closed\$" "$WORK/vigil.err"; echo $?)" \
  "$(cat "$WORK/vigil.err")"
check "end line: RST from Linux is ECONNRESET (reset)" \
  "$(grep -qE "^vigil tun: 10\.99\.0\.2:7 <-> 10\.99\.0\.1:$port2 ended at $num s in ESTABLISHED: ECONNRESET \(reset\): reset: RST from peer in ESTABLISHED\$" "$WORK/vigil.err"; echo $?)" \
  "$(cat "$WORK/vigil.err")"
check "one end line per connection" \
  "$([ "$(grep -c ' ended at ' "$WORK/vigil.err")" = 2 ]; echo $?)" "$(cat "$WORK/vigil.err")"
finish
