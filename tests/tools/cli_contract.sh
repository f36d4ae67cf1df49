#!/usr/bin/env bash
# The `vigil sim` command-line contract: --list, exit code 2 with the valid
# choices for unknown names/keys, and the JSON result fields.
set -uo pipefail
vigil=$1
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

out=$("$vigil" sim --list); rc=$?
check "--list exits 0" '[ $rc -eq 0 ]'
for s in handshake-close bulk bulk-lossy; do check "--list names $s" 'grep -q "^$s " <<<"$out"'; done

err=$("$vigil" sim no-such-scenario 2>&1 >/dev/null); rc=$?
check "unknown scenario exits 2" '[ $rc -eq 2 ]'
check "unknown scenario names choices" 'grep -q "valid scenarios: handshake-close, bulk, bulk-lossy" <<<"$err"'

err=$("$vigil" sim bulk --set nosuch=1 2>&1 >/dev/null); rc=$?
check "unknown key exits 2" '[ $rc -eq 2 ]'
check "unknown key names choices" 'grep -q "valid keys:.*link.loss" <<<"$err"'

err=$("$vigil" sim bulk --set link.loss=2 2>&1 >/dev/null); rc=$?
check "bad value exits 2" '[ $rc -eq 2 ]'

err=$("$vigil" sim bulk --pcap /nonexistent-dir/x.pcap 2>&1 >/dev/null); rc=$?
check "unwritable pcap exits 1 with a reason" '[ $rc -eq 1 ] && grep -qi "nonexistent-dir" <<<"$err"'

"$vigil" bogus >/dev/null 2>&1; rc=$?
check "unknown command exits 2" '[ $rc -eq 2 ]'

json=$("$vigil" sim handshake-close --json); rc=$?
check "--json exits 0" '[ $rc -eq 0 ]'
python3 - "$json" <<'PY' || { echo "FAIL: JSON contract"; fail=$((fail+1)); }
import json, sys
r = json.loads(sys.argv[1])
assert len(r["connections"]) == 2, r["connections"]
for c in r["connections"]:
    for k in ("bytes_sent", "bytes_received", "sha256_sent", "sha256_received", "outcome"):
        assert k in c, k
    o = c["outcome"]
    assert set(("state", "error", "reason", "time_s")) <= set(o), o
    assert o["error"] is None and o["reason"] is None, o
    assert o["state"] == "CLOSED", o
    # sha256 of the empty stream (FIPS 180-4 test vector for "")
    assert c["sha256_sent"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
assert r["events"], "no events"
for e in r["events"]:
    assert isinstance(e["time_s"], (int, float)) and isinstance(e["conn"], str) and e["type"], e
assert r["events"][0] == {"time_s": 0.0, "conn": "client:1", "type": "state", "from": "CLOSED", "to": "SYN-SENT"}, r["events"][0]
PY
[ $? -eq 0 ] && pass=$((pass+1))
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
