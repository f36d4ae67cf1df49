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

# Parsed by CLI11 (issue 10 §3): a bad command line exits 2 saying what is wrong.
err=$("$vigil" sim bulk --seed 2>&1 >/dev/null); rc=$?
check "--seed without a value exits 2" '[ $rc -eq 2 ] && grep -qF "vigil sim: --seed needs a value" <<<"$err"'
err=$("$vigil" sim bulk --seed 12x 2>&1 >/dev/null); rc=$?
check "--seed 12x exits 2" '[ $rc -eq 2 ] && grep -qF "vigil sim: --seed expects a whole number, got '"'"'12x'"'"'" <<<"$err"'
err=$("$vigil" sim bulk --frobnicate 2>&1 >/dev/null); rc=$?
check "unknown sim option exits 2 naming it" '[ $rc -eq 2 ] && grep -qF "unknown option '"'"'--frobnicate'"'"'; valid options:" <<<"$err"'
err=$("$vigil" tun --mtu 100 2>&1 >/dev/null); rc=$?
check "tun --mtu 100 exits 2" '[ $rc -eq 2 ] && grep -qF "vigil tun: --mtu expects 576..65535, got '"'"'100'"'"'" <<<"$err"'

err=$("$vigil" sim bulk --pcap /nonexistent-dir/x.pcap 2>&1 >/dev/null); rc=$?
check "unwritable pcap exits 1 with a reason" '[ $rc -eq 1 ] && grep -qi "nonexistent-dir" <<<"$err"'

# Knob ranges (issue 9 point 5, docs/knobs.md): exit 2 and the range named.
range_check() {  # description, expected message, command...
  local what=$1 msg=$2; shift 2
  err=$("$@" 2>&1 >/dev/null); rc=$?
  check "$what exits 2 naming the range" '[ $rc -eq 2 ] && grep -qF -- "$msg" <<<"$err"'
}
range_check "keepalive.idle=0" "keepalive.idle expects a duration from 1s to 32767s (Linux TCP_KEEPIDLE)" \
  "$vigil" sim keepalive-idle --set keepalive.idle=0
range_check "keepalive.interval=0" "keepalive.interval expects a duration from 1s to 32767s" \
  "$vigil" sim keepalive-idle --set keepalive.interval=0
range_check "keepalive.interval=300000h" "keepalive.interval expects a duration from 1s to 32767s" \
  "$vigil" sim keepalive-idle --set keepalive.interval=300000h
range_check "msl=2000000h" "msl expects a duration from 1s to 3600s" \
  "$vigil" sim handshake-close --set msl=2000000h
range_check "rto.initial=0 rto.min=0" "rto.initial expects a duration from 1ms to 120s" \
  "$vigil" sim rto-blackhole --set rto.initial=0s --set rto.min=0s
range_check "rto.min=0" "rto.min expects a duration from 1ms to 120s" \
  "$vigil" sim rto-blackhole --set rto.min=0s
range_check "stall_guard.period=1ns" "stall_guard.period expects 0 (off) or a duration from 1s to 32767s" \
  "$vigil" sim stall-guard-nat --set stall_guard.period=1ns
range_check "keepalive.count=128" "keepalive.count expects a whole number from 1 to 127" \
  "$vigil" sim keepalive-idle --set keepalive.count=128
range_check "link.delay=61s" "link.delay expects a duration from 0s to 60s" \
  "$vigil" sim bulk --set link.delay=61s
range_check "limit=0s" "limit expects a duration from 1ms to 2592000s" \
  "$vigil" sim bulk --set limit=0s
range_check "rto.min above rto.max" "rto.min (90s) must not exceed rto.max (60s)" \
  "$vigil" sim bulk --set rto.min=90s
# Stack knobs (StackConfig; docs/knobs.md "Stack").
range_check "stack.syn_backlog=65536" "stack.syn_backlog expects a whole number from 0 to 65535" \
  "$vigil" sim handshake-close --set stack.syn_backlog=65536
range_check "stack.synack_retries=256" "stack.synack_retries expects a whole number from 0 to 255 (Linux tcp_synack_retries)" \
  "$vigil" sim handshake-close --set stack.synack_retries=256
range_check "stack.synack_retries=-1" "stack.synack_retries expects a whole number from 0 to 255" \
  "$vigil" sim handshake-close --set stack.synack_retries=-1
range_check "stack.max_connections=1048577" "stack.max_connections expects a whole number from 0 to 1048576 (0: no cap; Linux fs.nr_open)" \
  "$vigil" sim handshake-close --set stack.max_connections=1048577
range_check "stack.syn_cookies=maybe" "stack.syn_cookies expects true or false" \
  "$vigil" sim handshake-close --set stack.syn_cookies=maybe
range_check "stack.nosuch=1" "valid keys:" "$vigil" sim handshake-close --set stack.nosuch=1
out=$("$vigil" sim --keys); rc=$?
check "--keys lists the stack knobs" \
  '[ $rc -eq 0 ] && grep -q "stack.syn_backlog" <<<"$out" && grep -q "stack.synack_retries" <<<"$out" && grep -q "stack.syn_cookies" <<<"$out" && grep -q "stack.max_connections" <<<"$out"'
err=$("$vigil" sim handshake-close --set stack.syn_backlog=65535 --set stack.synack_retries=255 \
  --set stack.max_connections=0 --set stack.syn_cookies=off 2>&1 >/dev/null); rc=$?
check "stack knobs at their bounds are taken (exit 0)" '[ $rc -eq 0 ]'
err=$("$vigil" sim handshake-close --set rto.min=90s --set rto.max=100s 2>&1 >/dev/null); rc=$?
check "cross-field rules wait for every --set (exit 0)" '[ $rc -eq 0 ]'
# vigil tun refuses before it opens any device, so no root is needed here.
tun=("$vigil" tun --dev vgtest0 --local 10.99.0.2 --peer 10.99.0.1 serve discard --port 9)
range_check "tun --keepalive 0,1,1" "keepalive.idle expects a duration from 1s to 32767s" "${tun[@]}" --keepalive 0,1,1
range_check "tun --keepalive 10,0,1" "keepalive.interval expects a duration from 1s to 32767s" "${tun[@]}" --keepalive 10,0,1
range_check "tun --keepalive 10,1,0" "keepalive.count expects a whole number from 1 to 127" "${tun[@]}" --keepalive 10,1,0
range_check "tun --user-timeout 2147483648" "user_timeout expects 0 (off) or a duration from 1ms to 2147483.647s (Linux TCP_USER_TIMEOUT)" \
  "${tun[@]}" --user-timeout 2147483648
range_check "tun --set stall_guard.period=1ns" "stall_guard.period expects 0 (off) or a duration from 1s to 32767s" \
  "${tun[@]}" --set stall_guard.period=1ns
range_check "tun --set rto.min=90s" "rto.min (90s) must not exceed rto.max (60s)" "${tun[@]}" --set rto.min=90s
range_check "tun --set stack.syn_backlog=65536" "stack.syn_backlog expects a whole number from 0 to 65535" \
  "${tun[@]}" --set stack.syn_backlog=65536
range_check "tun --set stack.synack_retries=256" "stack.synack_retries expects a whole number from 0 to 255" \
  "${tun[@]}" --set stack.synack_retries=256
range_check "tun --set stack.max_connections=x" "stack.max_connections expects a whole number from 0 to 1048576" \
  "${tun[@]}" --set stack.max_connections=x
range_check "tun --set stack.syn_cookies=2" "stack.syn_cookies expects true or false" \
  "${tun[@]}" --set stack.syn_cookies=2
err=$("$vigil" tun --dev vgtest0 --local 10.99.0.2 --peer 10.99.0.1 --stats s.json \
  connect 10.99.0.1:9 --recv 2>&1 >/dev/null); rc=$?
check "tun connect --stats: exit 2, it belongs to serve mode" \
  '[ $rc -eq 2 ] && grep -qF -- "--stats belong to serve mode" <<<"$err"'

# Write errors (issue 12 point 6): /dev/full fails every write with ENOSPC;
# the run must exit 1 naming the file and the reason, never 0.
if [ -w /dev/full ]; then
  err=$("$vigil" sim handshake-close --pcap /dev/full 2>&1 >/dev/null); rc=$?
  check "--pcap /dev/full exits 1 naming the file and ENOSPC" \
    '[ $rc -eq 1 ] && grep -qF "cannot write pcap file /dev/full: No space left on device" <<<"$err"'
  err=$("$vigil" sim handshake-close --json 2>&1 >/dev/full); rc=$?
  check "--json to /dev/full exits 1" \
    '[ $rc -eq 1 ] && grep -qF "vigil sim: cannot write standard output: No space left on device" <<<"$err"'
  err=$("$vigil" sim handshake-close 2>&1 >/dev/full); rc=$?
  check "timeline to /dev/full exits 1" '[ $rc -eq 1 ] && grep -qF "No space left on device" <<<"$err"'
  err=$("$vigil" sim --list 2>&1 >/dev/full); rc=$?
  check "--list to /dev/full exits 1" '[ $rc -eq 1 ] && grep -qF "No space left on device" <<<"$err"'
  tmp=$(mktemp -d)
  "$vigil" sim handshake-close --pcap "$tmp/hc.pcap" >/dev/null
  err=$("$vigil" analyze "$tmp/hc.pcap" --html /dev/full 2>&1 >/dev/null); rc=$?
  check "analyze --html /dev/full exits 1" \
    '[ $rc -eq 1 ] && grep -qF "cannot write /dev/full: No space left on device" <<<"$err"'
  err=$("$vigil" analyze "$tmp/hc.pcap" --json 2>&1 >/dev/full); rc=$?
  check "analyze --json to /dev/full exits 1" \
    '[ $rc -eq 1 ] && grep -qF "vigil analyze: cannot write standard output: No space left on device" <<<"$err"'
  rm -rf "$tmp"
else
  echo "note: no writable /dev/full; write-error checks not run"
fi

"$vigil" bogus >/dev/null 2>&1; rc=$?
check "unknown command exits 2" '[ $rc -eq 2 ]'

# --json output goes to python through a file (an argument is capped at 128 kB).
jsonfile=$(mktemp)
trap 'rm -f "$jsonfile"' EXIT
json=$("$vigil" sim handshake-close --json); rc=$?
check "--json exits 0" '[ $rc -eq 0 ]'
printf '%s' "$json" > "$jsonfile"
python3 - "$jsonfile" <<'PY' || { echo "FAIL: JSON contract"; fail=$((fail+1)); }
import json, sys
r = json.load(open(sys.argv[1]))  # a file: a long --json exceeds one argument's 128 kB
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

# Every ConnectionStats and StackStats counter in --json (docs/sim-json.md),
# with values derived from what the scenario does.
json=$("$vigil" sim icmp-forged --json); rc=$?
check "icmp-forged --json exits 0" '[ $rc -eq 0 ]'
printf '%s' "$json" > "$jsonfile"
python3 - "$jsonfile" <<'PY' || { echo "FAIL: icmp-forged counters"; fail=$((fail+1)); }
import json, sys
r = json.load(open(sys.argv[1]))  # a file: a long --json exceeds one argument's 128 kB
conn_keys = ["segments_sent", "segments_received", "retransmitted_segments", "fast_retransmits",
             "timeouts", "dup_acks_received", "challenge_acks_sent", "challenge_acks_suppressed",
             "out_of_order_segments", "bytes_acked", "bytes_delivered", "segments_dropped",
             "invalid_acks_suppressed", "icmp_out_of_window", "icmp_ignored", "tlp_probes",
             "rack_retransmits"]
stack_keys = ["datagrams_in", "datagrams_out", "not_for_us", "martian_source", "listen_no_syn",
              "no_connection", "resets_sent", "resets_queue_full", "syn_backlog_drops",
              "syn_queue_drops", "syn_cookies_sent", "syn_cookies_valid", "syn_cookies_invalid",
              "syn_fin_drops", "syn_port_zero_drops", "land_drops", "connections_refused_cap",
              "time_wait_reuses", "icmp_no_connection", "connections_opened", "connections_reaped"]
c, s = r["connections"]
for e in (c, s):
    missing = [k for k in conn_keys if not isinstance(e["stats"].get(k), int)]
    assert not missing, missing
hosts = {h["name"]: h["stack"] for h in r["hosts"]}
for name, st in hosts.items():
    missing = [k for k in stack_keys if not isinstance(st.get(k), int)]
    assert not missing, (name, missing)
# The forger sends 16 ICMP errors quoting client data segments (codes
# port, protocol, host, frag-needed). Each either quotes a sequence number
# still in flight (an icmp_received event) or an already acknowledged one
# (icmp_out_of_window, RFC 5927 §4.1, also a dropped segment). Every code
# is a known one; the first frag-needed lowers the MTU to the 552 floor,
# and each later one is ignored: it quotes a 552-byte segment, which fit
# (RFC 5927 §7.2).
acted = sum(1 for e in r["events"] if e["type"] == "icmp_received" and e["conn"] == c["id"])
cs, ss = c["stats"], s["stats"]
assert acted + cs["icmp_out_of_window"] == 16, (acted, cs["icmp_out_of_window"])
assert cs["icmp_out_of_window"] >= 1, cs  # the ICMP that quotes acknowledged data: non-zero here
assert cs["segments_dropped"] >= cs["icmp_out_of_window"], cs
frags = sum(1 for e in r["events"]
            if e["type"] == "icmp_received" and e["conn"] == c["id"] and e.get("code") == 4)
assert frags >= 1 and cs["icmp_ignored"] == frags - 1, (frags, cs)
assert ss["icmp_out_of_window"] == 0 and ss["icmp_ignored"] == 0, ss  # nothing forged to the server
# 3 MB from client to server, all acknowledged and delivered.
assert cs["bytes_acked"] == 3000000 and ss["bytes_delivered"] == 3000000, (cs, ss)
assert cs["bytes_delivered"] == 0 and ss["bytes_acked"] == 0, (cs, ss)
# Stack counters: no link loss, so each host receives what the other sent,
# and the client also the 16 forged datagrams; one connection each, no ICMP
# quoting an unknown connection.
hc, hs = hosts["client"], hosts["server"]
assert hc["datagrams_in"] == hs["datagrams_out"] + 16, (hc, hs)
assert hs["datagrams_in"] == hc["datagrams_out"], (hc, hs)
assert hc["datagrams_out"] == cs["segments_sent"] and hs["datagrams_out"] == ss["segments_sent"]
assert hc["connections_opened"] == 1 and hs["connections_opened"] == 1
assert hc["icmp_no_connection"] == 0
PY
[ $? -eq 0 ] && pass=$((pass+1))
out=$("$vigil" sim icmp-forged); rc=$?
check "icmp-forged text names the ICMP and stack counters" \
  '[ $rc -eq 0 ] && grep -q "counters:.*icmp_out_of_window=[1-9]" <<<"$out" && grep -q "client: datagrams_in=" <<<"$out"'

# stack.syn_backlog=0: the SYN queue is always full, so the server answers
# the one SYN with a cookie SYN-ACK (RFC 4987 §3.6) and the client's ACK
# validates it: exactly one of each, and no half-open connection queued.
json=$("$vigil" sim handshake-close --set stack.syn_backlog=0 --json); rc=$?
check "syn_backlog=0 exits 0" '[ $rc -eq 0 ]'
printf '%s' "$json" > "$jsonfile"
python3 - "$jsonfile" <<'PY' || { echo "FAIL: stack.syn_backlog=0 cookies"; fail=$((fail+1)); }
import json, sys
r = json.load(open(sys.argv[1]))  # a file: a long --json exceeds one argument's 128 kB
hosts = {h["name"]: h["stack"] for h in r["hosts"]}
s = hosts["server"]
assert s["syn_cookies_sent"] == 1 and s["syn_cookies_valid"] == 1 and s["syn_cookies_invalid"] == 0, s
assert hosts["client"]["syn_cookies_sent"] == 0, hosts["client"]
for c in r["connections"]:
    assert c["outcome"]["established"] and c["outcome"]["error"] is None, c["outcome"]
PY
[ $? -eq 0 ] && pass=$((pass+1))
# docs/bad-input.md and tests/unit/bad_input_test.cpp stay in step: every
# counter the table names is the counter of a row of the test.
src=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$src/docs/bad-input.md" "$src/tests/unit/bad_input_test.cpp" <<'PY' || { echo "FAIL: bad-input.md rows without a test"; fail=$((fail+1)); }
import re, sys
doc, test = open(sys.argv[1]).read(), open(sys.argv[2]).read()
names = set()
for line in doc.splitlines():
    if line.startswith("|") and line.count("|") == 4:  # input | behaviour | counter
        names |= set(re.findall(r"`([a-z_0-9]+)`", line.split("|")[3]))
events = {"icmp_received", "retransmit", "pmtu"}  # events named in the "none" rows
missing = sorted(n for n in names - events if '"%s"' % n not in test)
assert len(names) > 30 and not missing, missing
PY
[ $? -eq 0 ] && pass=$((pass+1))
# `vigil --version`: the version of project() in CMakeLists.txt.
want=$(sed -n 's/^project(vigil VERSION \([0-9.]*\) .*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")
out=$("$vigil" --version); rc=$?
check "--version prints project()'s version ($want)" '[ $rc -eq 0 ] && [ -n "$want" ] && [ "$out" = "vigil $want" ]'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
