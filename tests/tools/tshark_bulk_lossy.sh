#!/usr/bin/env bash
# Wireshark's own dissector (tshark) reads the bulk-lossy pcap: every packet
# is IPv4/TCP, none malformed, every IP and TCP checksum good, and it sees the
# retransmissions the simulator reported.
set -euo pipefail
vigil=$1
# ctest reports exit 77 as skipped (SKIP_RETURN_CODE), not passed.
command -v tshark >/dev/null || { echo "SKIP: tshark not installed (scripts/setup.sh installs it)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$vigil" sim bulk-lossy --seed 7 --pcap "$dir/x.pcap" --json > "$dir/x.json"

fields=(-T fields -E separator=, -e frame.number -e _ws.malformed -e ip.checksum.status -e tcp.checksum.status)
tshark -r "$dir/x.pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "${fields[@]}" > "$dir/fields.csv" 2>/dev/null
total=$(wc -l < "$dir/fields.csv")
captured=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets_captured"])' "$dir/x.json")
# status 1 = good, 0 = bad, 2 = unverified (Wireshark's enum)
bad=$(awk -F, '$2 != "" || $3 != "1" || $4 != "1"' "$dir/fields.csv" | wc -l)
malformed=$(tshark -r "$dir/x.pcap" -Y "_ws.malformed || _ws.expert.severity >= error" 2>/dev/null | wc -l)
retrans=$(tshark -r "$dir/x.pcap" -Y "tcp.analysis.retransmission || tcp.analysis.fast_retransmission" 2>/dev/null | wc -l)
echo "tshark read $total packets (vigil wrote $captured): $bad with a bad checksum or malformed, $malformed expert errors, $retrans retransmissions"
[ "$total" -eq "$captured" ] || { echo "FAIL: packet count differs"; exit 1; }
[ "$total" -gt 10000 ] || { echo "FAIL: too few packets"; exit 1; }
[ "$bad" -eq 0 ] || { echo "FAIL: bad packets"; head "$dir/fields.csv"; exit 1; }
[ "$malformed" -eq 0 ] || { echo "FAIL: malformed packets"; exit 1; }
[ "$retrans" -gt 100 ] || { echo "FAIL: expected Wireshark to see retransmissions"; exit 1; }
# tcpdump opens it too.
tcpdump -nn -c 1 -r "$dir/x.pcap" > "$dir/first.txt" 2>/dev/null
grep -q "Flags \[S\]" "$dir/first.txt" || { echo "FAIL: tcpdump did not show the SYN first"; cat "$dir/first.txt"; exit 1; }
echo "1 passed, 0 failed"
