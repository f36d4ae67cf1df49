#!/usr/bin/env bash
# `vigil sim fuzz` (docs/sim-fuzz.md): 2,000 seeds hold every invariant;
# argument errors exit 2; a crash inside a seed is that seed's
# internal-assertion failure (exit 1) with the command that replays it; the
# JSON shape; a seed replays byte for byte, pcap included.
set -uo pipefail
vigil=$1
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s.%N)
out=$("$vigil" sim fuzz --seeds 1..2000 --json --jobs 2); rc=$?
end=$(date +%s.%N)
echo "2000 seeds: $(echo "$end - $start" | bc) s"
check "2000 seeds exit 0" '[ $rc -eq 0 ]'
check "2000 seeds, no failure" 'python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert set(d) == {\"seeds_run\", \"packets_delivered\", \"attacker_packets\", \"failures\"}, d; assert d[\"seeds_run\"] == 2000 and d[\"failures\"] == [], d; assert d[\"attacker_packets\"] > 0, d" "$out"'

bad() {  # description, expected message, args...
  local what=$1 msg=$2; shift 2
  err=$("$vigil" sim fuzz "$@" 2>&1 >/dev/null); rc=$?
  check "$what exits 2" '[ $rc -eq 2 ]'
  check "$what says why" 'grep -qF -- "$msg" <<<"$err"'
}
bad "--seeds 5..2" "--seeds 5..2 is empty: the first seed is above the last" --seeds 5..2
bad "--seeds garbage" "--seeds expects A..B with whole numbers A <= B (or one seed A), got 'x..3'" --seeds x..3
bad "--seeds 1.." "got '1..'" --seeds 1..
bad "--seeds overflow" "got '1..99999999999999999999'" --seeds 1..99999999999999999999
bad "no --seeds" "--seeds A..B is required"
bad "--jobs 0" "--jobs expects a number from 1 to 1024, got '0'" --seeds 1..2 --jobs 0
bad "--jobs x" "--jobs expects a number from 1 to 1024, got 'x'" --seeds 1..2 --jobs x
bad "--verbose on a range" "--verbose and --pcap take a single seed" --seeds 1..2 --verbose
bad "unknown option" "unknown argument '--frobnicate'" --seeds 1 --frobnicate
bad "unknown bug" "unknown bug 'nope'" --seeds 1 --bug nope
bad "unknown fault" "unknown fault 'nope'; valid faults: flip-read-byte" --seeds 1 --fault nope

# A crash inside a seed (the check-abort fault aborts on the first packet):
# each seed fails as internal-assertion, a new worker carries on, exit 1.
out=$("$vigil" sim fuzz --seeds 3..5 --fault check-abort --json --jobs 2 2>/dev/null); rc=$?
check "crashes exit 1" '[ $rc -eq 1 ]'
check "each crashed seed is reported with its replay command" 'python3 -c "
import json,sys
d=json.loads(sys.argv[1])
assert set(d) == {\"seeds_run\", \"packets_delivered\", \"attacker_packets\", \"failures\"}, d
assert d[\"seeds_run\"] == 3, d
assert [f[\"seed\"] for f in d[\"failures\"]] == [3, 4, 5], d
for f in d[\"failures\"]:
    assert set(f) == {\"seed\", \"invariant\", \"detail\", \"replay\"}, f
    assert f[\"invariant\"] == \"internal-assertion\", f
    assert \"signal 6\" in f[\"detail\"], f
    assert f[\"replay\"] == \"vigil sim fuzz --seeds %d..%d --fault check-abort --verbose\" % (f[\"seed\"], f[\"seed\"]), f
" "$out"'

# Text output: one line per failure and its replay command; exit 1.
out=$("$vigil" sim fuzz --seeds 1..3 --fault memory-bound --jobs 1); rc=$?
check "failures exit 1" '[ $rc -eq 1 ]'
check "text names seed and invariant" 'grep -q "^seed 1: memory-bound: host " <<<"$out"'
check "text gives the replay command" 'grep -qF "  replay: vigil sim fuzz --seeds 1..1 --fault memory-bound --verbose" <<<"$out"'
check "text ends with the totals" 'grep -q "^seeds run: 3, failures: 3 ([0-9]* packets delivered, [0-9]* from attackers)$" <<<"$(tail -1 <<<"$out")"'

# A seed replays exactly: same text, same capture.
"$vigil" sim fuzz --seeds 8 --verbose --pcap "$tmp/a.pcap" >"$tmp/a.txt"; rc_a=$?
"$vigil" sim fuzz --seeds 8..8 --verbose --pcap "$tmp/b.pcap" >"$tmp/b.txt"; rc_b=$?
check "replay exits 0" '[ $rc_a -eq 0 ] && [ $rc_b -eq 0 ]'
check "replay prints what was drawn" 'grep -q "^seed 8 draws:" "$tmp/a.txt" && grep -q "^attacker: " "$tmp/a.txt"'
check "replay text is identical" 'cmp -s "$tmp/a.txt" "$tmp/b.txt"'
check "replay pcap is identical" '[ -s "$tmp/a.pcap" ] && cmp -s "$tmp/a.pcap" "$tmp/b.pcap"'
err=$("$vigil" sim fuzz --seeds 8 --pcap /nonexistent-dir/x.pcap 2>&1 >/dev/null); rc=$?
check "unwritable pcap exits 1" '[ $rc -eq 1 ] && grep -q nonexistent-dir <<<"$err"'

echo "sim_fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
