#!/usr/bin/env bash
# `vigil bench` smoke test (issue 15): each benchmark runs with tiny sizes
# and prints its JSON with the stable figure names. Nothing is timed here:
# the figures come from scripts/bench.sh (docs/benchmarks.md).
# usage: bash bench_smoke.sh path/to/vigil
set -uo pipefail
vigil=${1:?usage: bench_smoke.sh path/to/vigil}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

# NAME ARGS... : runs `vigil bench NAME ARGS --json`, then checks that the
# figures named in $want are numbers and that error is null.
run() {
  local name=$1
  shift
  if ! "$vigil" bench "$name" "$@" --json >"$work/$name.json" 2>"$work/$name.err"; then
    echo "FAIL: vigil bench $name $* exited non-zero"
    cat "$work/$name.json" "$work/$name.err"
    fail=1
    return
  fi
  if python3 - "$work/$name.json" "$name" $want <<'PY'; then echo "ok: bench $name"; else fail=1; fi
import json, math, sys
path, name, want = sys.argv[1], sys.argv[2], sys.argv[3:]
r = json.load(open(path))
ok = r.get("benchmark") == name and r.get("error") is None
for k in want:
    v = r["figures"].get(k)
    if not isinstance(v, (int, float)) or math.isnan(v) or v < 0:
        print(f"FAIL: bench {name}: figure {k} = {v!r}")
        ok = False
if r.get("benchmark") != name or r.get("error") is not None:
    print(f"FAIL: bench {name}: benchmark={r.get('benchmark')!r} error={r.get('error')!r}")
sys.exit(0 if ok else 1)
PY
}

want="gbit_per_s ns_per_segment allocations_per_segment segments memcpy_gbit_per_s fraction_of_memcpy"
run bulk --bytes 2000000
want="gbit_per_s ns_per_segment allocations_per_segment segments"
run bulk --bytes 2000000 --mtu 65535 --no-checksum --no-ceiling
want="handshakes_per_s ns_per_handshake allocations_per_handshake"
run handshake --count 200
want="bytes_per_connection rss_bytes events_per_s keepalive_probes allocations_while_idle"
run idle --connections 300
want="arm_cancel_ns_1000 arm_cancel_spread"
run timer-wheel --max-timers 1000 --min-time 0.01
want="sizeof_tcp_connection"
run sizes

# The idle run's keepalive schedule: 7200 s idle, then one probe per
# connection answered by its peer (RFC 1122 §4.2.3.6), and the next one not
# due until 14400 s, past the 3 h run: exactly one probe and one answer each.
python3 - "$work/idle.json" <<'PY' && echo "ok: idle: 300 probes, 300 alive" || fail=1
import json, sys
f = json.load(open(sys.argv[1]))["figures"]
if f["keepalive_probes"] != 300 or f["alive_after"] != 300 or f["datagrams"] != 600:
    print("FAIL: idle figures", f); sys.exit(1)
PY

# Bad input: a clear error and exit 2.
"$vigil" bench nosuch 2>"$work/e1"; rc=$?
[ $rc -eq 2 ] && grep -q "valid benchmarks: bulk" "$work/e1" && echo "ok: unknown benchmark" ||
  { echo "FAIL: unknown benchmark (rc $rc)"; fail=1; }
"$vigil" bench bulk --mtu 70000 2>"$work/e2"; rc=$?
[ $rc -eq 2 ] && grep -q "576..65535" "$work/e2" && echo "ok: bad mtu" ||
  { echo "FAIL: bad mtu (rc $rc)"; fail=1; }
exit $fail
