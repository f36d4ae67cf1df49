#!/usr/bin/env bash
# `vigil conform --target vigil` (docs/conform.md): the JSON's shape and
# verdicts for both profiles (Linux's verdicts for linux), exit codes (0
# pass/info, 1 a failed case, 2 usage), a deliberately broken target
# (RFC 2525 §2.10) failing its case, the pcaps, the HTML page and the
# markdown matrix, and the stub's "not built" for real targets.
set -uo pipefail
vigil=$1
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$vigil" conform --target vigil --json --pcap-dir "$tmp"); rc=$?
check "linux profile exits 0" '[ $rc -eq 0 ]'
check "JSON shape and Linux's verdicts" 'python3 - "$out" <<"PY"
import json, sys
d = json.loads(sys.argv[1])
assert list(d) == ["targets"], d.keys()
t = d["targets"][0]
assert t["target"] == "vigil linux", t["target"]
cases = {c["name"]: c for c in t["cases"]}
assert len(cases) >= 25, len(cases)
for c in t["cases"]:
    assert set(c) == {"name", "category", "rule", "measures", "tolerance", "verdict",
                      "measured", "expected", "datagrams", "testbed_seconds"}, c.keys()
    assert c["verdict"] in ("pass", "info"), c
    assert c["datagrams"] > 0, c
# Linux: probes 2.016, 3.040, 4.064 s; vigil linux + 2 ms of path.
assert cases["keepalive.configured"]["measured"] == "3 probes at 2.002, 3.002, 4.002 s", cases["keepalive.configured"]
assert cases["rto.first-data"]["verdict"] == "info"  # Linux: TLP at 0.209 s
assert cases["persist.probe-form"]["measured"] == "SND.UNA - 1, no data"
PY'
n=$(ls "$tmp"/*.pcap 2>/dev/null | wc -l)
check "one pcap per case ($n)" '[ "$n" -ge 25 ]'
check "the pcap reads back" '"$vigil" analyze "$tmp/vigil_linux-keepalive.configured.pcap" | grep -q "keepalive=3"'
"$vigil" conform --case keepalive.configured --pcap-dir "$tmp/new/dir" >/dev/null
check "--pcap-dir is created when missing" '[ -s "$tmp/new/dir/vigil_linux-keepalive.configured.pcap" ]'
"$vigil" conform --case keepalive.configured --pcap-dir /proc/no/such >/dev/null 2>"$tmp/err"; rc=$?
check "--pcap-dir that cannot be made: exit 1 and why" '[ "$rc" = 1 ] && grep -q "cannot create --pcap-dir" "$tmp/err"'

out=$("$vigil" conform --profile rfc --json); rc=$?
check "rfc profile exits 0" '[ $rc -eq 0 ]'
check "rfc: RFC 6298 first retransmission at 1 s passes" 'python3 -c "
import json,sys; d=json.loads(sys.argv[1]); c={x[\"name\"]:x for x in d[\"targets\"][0][\"cases\"]}
assert c[\"rto.first-data\"][\"verdict\"]==\"pass\", c[\"rto.first-data\"]
assert c[\"persist.probe-form\"][\"measured\"]==\"1 byte at SEQ SND.NXT (new data)\"" "$out"'

out=$("$vigil" conform --bug no-rto-backoff --case rto.backoff); rc=$?
check "RFC 2525 §2.10 bug exits 1" '[ $rc -eq 1 ]'
check "... and rto.backoff fails" 'grep -qE "^rto.backoff +fail" <<<"$out"'

"$vigil" conform --case keepalive.configured --html "$tmp/r.html" >/dev/null; rc=$?
check "--html exits 0" '[ $rc -eq 0 ]'
check "--html has the matrix and a plot" 'grep -q "<table>" "$tmp/r.html" && grep -q "svg" "$tmp/r.html"'

# As root with the real targets built, --matrix also runs Linux and lwIP; a
# case every target passes (lwIP fails keepalive.configured: its 500 ms
# tick, docs/conform.md), so exit 0 means the matrix itself worked.
out=$("$vigil" conform --matrix --case rfc5961.rst-in-window); rc=$?
check "--matrix exits 0" '[ $rc -eq 0 ]'
check "--matrix columns" 'grep -qF "| case | vigil rfc | vigil linux |" <<<"$out"'

bad() {  # description, expected message, args...
  local what=$1 msg=$2; shift 2
  err=$("$vigil" conform "$@" 2>&1 >/dev/null); rc=$?
  check "$what exits 2" '[ $rc -eq 2 ]'
  check "$what says why" 'grep -qF -- "$msg" <<<"$err"'
}
bad "unknown case" "unknown case 'nope'" --case nope
bad "bad target" "--target expects vigil, linux or lwip, got 'bsd'" --target bsd
bad "bad profile" "--profile expects rfc or linux, got 'bsd'" --profile bsd
bad "--bug on a real target" "--bug and --set apply to --target vigil only" --target linux --bug no-rto-backoff
# The stub (real_testbed_stub.cpp) says why; a build with the real testbed
# links real_testbed.cpp instead and this does not apply.
if "$vigil" conform --target lwip --case keepalive.configured 2>&1 | grep -q "not built in this build"; then
  bad "--target lwip without the real testbed" "--target lwip is not built in this build" --target lwip
fi

echo "conform_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
