#!/usr/bin/env bash
# `vigil analyze` on simulator traces whose ground truth is known: Linux-shaped
# zero-window probes (SEQ = SND.UNA-1, no data) must be labelled
# zero_window_probe, never keepalive, while tshark calls them "TCP Keep-Alive"
# (seed 003); real keepalive probes must be labelled keepalive by both.
set -euo pipefail
vigil=$1
# ctest reports exit 77 as skipped (SKIP_RETURN_CODE), not passed.
command -v tshark >/dev/null || { echo "SKIP: tshark not installed (scripts/setup.sh installs it)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0; pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1"; fail=$((fail+1)); fi; }

count_label() {  # file label -> number of packets carrying it
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(1 for p in r["packets"] if sys.argv[2] in p["labels"]))' "$1" "$2"
}
count_events() {  # sim json, event type, host -> number
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(1 for e in r["events"] if e["type"]==sys.argv[2] and e["conn"].startswith(sys.argv[3])))' "$1" "$2" "$3"
}

# 1. Linux-profile persist: probes are keep-alive shaped.
"$vigil" sim zero-window-persist --profile linux --set limit=600s --pcap "$dir/zw.pcap" --json > "$dir/zw-sim.json"
"$vigil" analyze "$dir/zw.pcap" --json > "$dir/zw.json"
probes=$(count_events "$dir/zw-sim.json" zero_window_probe client)
zwp=$(count_label "$dir/zw.json" zero_window_probe)
ka=$(count_label "$dir/zw.json" keepalive)
ts_ka=$(tshark -r "$dir/zw.pcap" -Y "tcp.analysis.keep_alive" 2>/dev/null | wc -l)
echo "zero-window (linux): simulator sent $probes probes; vigil: $zwp zero_window_probe, $ka keepalive; tshark: $ts_ka keep-alive"
check "every probe labelled zero_window_probe" '[ "$probes" -gt 5 ] && [ "$zwp" -eq "$probes" ]'
check "no probe labelled keepalive" '[ "$ka" -eq 0 ]'
check "tshark mislabels them as keep-alives (seed 003)" '[ "$ts_ka" -ge "$probes" ]'

# 2. Real keepalives.
"$vigil" sim keepalive-dead-peer --pcap "$dir/ka.pcap" --json > "$dir/ka-sim.json"
"$vigil" analyze "$dir/ka.pcap" --json > "$dir/ka.json"
kprobes=$(count_events "$dir/ka-sim.json" keepalive_probe client)
kal=$(count_label "$dir/ka.json" keepalive)
ts_kal=$(tshark -r "$dir/ka.pcap" -Y "tcp.analysis.keep_alive" 2>/dev/null | wc -l)
echo "keepalive: simulator sent $kprobes probes; vigil: $kal keepalive; tshark: $ts_kal"
check "every keepalive probe labelled" '[ "$kprobes" -eq 9 ] && [ "$kal" -eq 9 ]'
check "tshark agrees on real keepalives" '[ "$ts_kal" -eq 9 ]'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
