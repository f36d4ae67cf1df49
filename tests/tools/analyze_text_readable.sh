#!/usr/bin/env bash
# Issue 13 point 15: `vigil analyze` text a person can read.
#  1. Runs of identical story lines collapse: bulk-lossy (seed 1, the
#     default, with limited transmit on since issue 11) has 26 RTO back-off
#     series (--json rto_backoff), 18 of them in a row resent once after
#     1 s; the text shows 8 lines (1+1+1+18+1+2+1+1 series), one of them
#     "gaps 1s (18 times in a row)".
#  2. The progress bar is wiped before the report is written: with stdout
#     and stderr on one file, the last carriage return comes before the
#     first line of the report (VIGIL_ANALYZE_PROGRESS=1 forces the bar on,
#     as a terminal and a file over 64 MB would).
#  3. A capture whose name is not UTF-8 (Latin-1 "caf\xe9.pcap") still gives
#     valid JSON: the byte becomes U+FFFD (docs/analyze-json.md).
# Usage: analyze_text_readable.sh path/to/vigil
set -euo pipefail
vigil=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

"$vigil" sim bulk-lossy --pcap "$dir/bl.pcap" > /dev/null
"$vigil" analyze "$dir/bl.pcap" > "$dir/bl.txt"
"$vigil" analyze "$dir/bl.pcap" --json > "$dir/bl.json"
series=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["flows"][0]["story"]["rto_backoff"]))' "$dir/bl.json")
lines=$(grep -c "RTO back-off" "$dir/bl.txt" || true)
echo "bulk-lossy: $series RTO back-off series, $lines text lines"
grep "RTO back-off" "$dir/bl.txt" | head -20
check "26 series in the JSON" '[ "$series" -eq 26 ]'
check "8 lines in the text" '[ "$lines" -eq 8 ]'
check "18 identical series are one line" 'grep -qx "  RTO back-off (client): gaps 1s (18 times in a row)" "$dir/bl.txt"'

VIGIL_ANALYZE_PROGRESS=1 "$vigil" analyze "$dir/bl.pcap" > "$dir/both.txt" 2>&1
check "the bar was drawn" 'grep -q "100%" "$dir/both.txt"'
check "the bar is wiped before the report" 'python3 -c "
import sys
d = open(sys.argv[1], \"rb\").read()
first = d.find(sys.argv[2].encode() + b\":\")
sys.exit(0 if first > 0 and d.rfind(b\"\\r\") < first else 1)" "$dir/both.txt" "$dir/bl.pcap"'

latin1=$(printf '%s/caf\xe9.pcap' "$dir")
cp "$dir/bl.pcap" "$latin1"
"$vigil" analyze "$latin1" --json > "$dir/latin1.json"
check "JSON with a Latin-1 file name is valid UTF-8 JSON" 'python3 -c "
import json, sys
r = json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\"))
sys.exit(0 if r[\"file\"].endswith(\"/caf\ufffd.pcap\") else 1)" "$dir/latin1.json"'
"$vigil" analyze "$latin1" --html "$dir/latin1.html" > /dev/null
check "HTML title is valid UTF-8" 'python3 -c "
import sys; open(sys.argv[1], \"rb\").read().decode(\"utf-8\")" "$dir/latin1.html"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
