#!/usr/bin/env bash
# Issue 13 point 10: the HTML report's size budget, on 3,000 one-SYN flows
# (tests/tools/gen_syn_flows.cpp; the 200,000-flow run is
# scripts/bench-analyze.sh --flows, not a ctest). Every flow has a row in
# the Summary table; at most 200 flows get a section with graphs, and a note
# says how many were left out. Before the budget every flow had a section:
# 3,000 flows made a 10.2 MB page (684 MB for 200,000); now the 2,800 rows
# without a section cost under 200 bytes each.
# Usage: analyze_html_budget.sh path/to/vigil
set -euo pipefail
vigil=$1
gen=${VIGIL_GEN_SYN_FLOWS:-$(dirname "$vigil")/tests/gen_syn_flows}
if [ ! -x "$gen" ]; then
  echo "SKIP: gen_syn_flows not built ($gen)"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

"$gen" "$dir/syn.pcap" 3000
"$vigil" analyze "$dir/syn.pcap" --html "$dir/r.html" > /dev/null
size=$(stat -c %s "$dir/r.html")
rows=$(grep -c '^<tr><td>' "$dir/r.html" || true)
sections=$(grep -c '<section class="flow"' "$dir/r.html" || true)
echo "3000 one-SYN flows: $size bytes of HTML, $rows table rows, $sections sections"
check "a row per flow" '[ "$rows" -eq 3000 ]'
check "200 sections" '[ "$sections" -eq 200 ]'
check "the note says what was left out" 'grep -q "id=\"left-out\" data-shown=\"200\" data-flows=\"3000\"" "$dir/r.html"'
check "under 200 bytes per flow left out" 'python3 -c "
import re, sys
page = open(sys.argv[1], encoding=\"utf-8\").read()
secs = sum(len(m) for m in re.findall(r\"<section class=\\\"flow\\\".*?</section>\", page, re.S))
sys.exit(0 if (len(page) - secs) / 2800 < 200 else 1)" "$dir/r.html"'
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
