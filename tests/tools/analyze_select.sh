#!/usr/bin/env bash
# Issue 13 point 12, selecting what to look at: --flow N or address:port,
# a BPF filter (-f, compiled by libpcap; a bad one exits 2 with libpcap's
# message), "-" for standard input (pcap and pcapng). Captures are crafted
# here: two connections 10.0.0.1:40000 and :40001 -> 10.0.0.2:80, each a
# handshake (SYN, SYN-ACK, ACK) then FIN/ACK both ways: 7 frames each.
# usage: bash analyze_select.sh path/to/vigil
set -uo pipefail
vigil=${1:?usage: analyze_select.sh path/to/vigil}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

python3 - "$work" <<'EOF'
import struct, sys
work = sys.argv[1]
def tcp(sport, dport, seq, ack, flags):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 1000, 0, 0)
def ip(src, dst, payload):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, 6, 0,
                       bytes(src), bytes(dst)) + payload
A, B = [10, 0, 0, 1], [10, 0, 0, 2]
frames = []
for port in (40000, 40001):
    c = [(A, B, port, 80, 100, 0, 0x02), (B, A, 80, port, 500, 101, 0x12),
         (A, B, port, 80, 101, 501, 0x10), (A, B, port, 80, 101, 501, 0x11),
         (B, A, 80, port, 501, 102, 0x10), (B, A, 80, port, 501, 102, 0x11),
         (A, B, port, 80, 102, 502, 0x10)]
    frames += [ip(s, d, tcp(sp, dp, sq, ak, fl)) for s, d, sp, dp, sq, ak, fl in c]
eth = lambda p: b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + p
# pcap, Ethernet, microseconds; one frame per millisecond.
with open(f"{work}/two.pcap", "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, p in enumerate(frames):
        e = eth(p)
        f.write(struct.pack("<IIII", 1700000000, 1000 * i, len(e), len(e)) + e)
# pcapng, big-endian section: interface 0 Ethernet, interface 1 raw IP
# (LINKTYPE_RAW 101); the server's frames on interface 1.
def block(t, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(">II", t, n) + body + struct.pack(">I", n)
out = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
out += block(1, struct.pack(">HHI", 1, 0, 0)) + block(1, struct.pack(">HHI", 101, 0, 0))
for i, p in enumerate(frames):
    server = p[12:16] == bytes(B)
    data = p if server else eth(p)
    ts = 1700000000 * 1000000 + 1000 * i
    out += block(6, struct.pack(">IIIII", 1 if server else 0, ts >> 32, ts & 0xffffffff,
                                len(data), len(data)) + data)
open(f"{work}/two.pcapng", "wb").write(out)
EOF

out=$("$vigil" analyze "$work/two.pcap"); rc=$?
check "both flows without a selection" '[ $rc -eq 0 ] && grep -q "^flow 0: 10.0.0.1:40000" <<<"$out" && grep -q "^flow 1: 10.0.0.1:40001" <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --flow 1); rc=$?
check "--flow 1 shows flow 1 only" '[ $rc -eq 0 ] && grep -q "^flow 1: " <<<"$out" && ! grep -q "^flow 0: " <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --flow 10.0.0.1:40001); rc=$?
check "--flow ADDR:PORT (one endpoint)" '[ $rc -eq 0 ] && grep -q "^flow 1: " <<<"$out" && ! grep -q "^flow 0: " <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --flow=10.0.0.2:80,10.0.0.1:40000); rc=$?
check "--flow=ADDR:PORT,ADDR:PORT (both, either order)" '[ $rc -eq 0 ] && grep -q "^flow 0: " <<<"$out" && ! grep -q "^flow 1: " <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --flow 1 --json); rc=$?
check "--flow 1 --json: flows[] and packets[] of flow 1 only" \
  'python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert [f[\"flow\"] for f in d[\"flows\"]]==[1]; assert {p[\"flow\"] for p in d[\"packets\"]}=={1}, d[\"packets\"]" "$out"'
# --flow restricts every output, not only the stories: the summary table,
# --csv, --json's flows[] and findings[], and the HTML report's table and
# sections (flow 1 only: 10.0.0.1:40001).
out=$("$vigil" analyze "$work/two.pcap" --flow 1); rc=$?
check "--flow 1: the summary table has flow 1's row only" \
  '[ $rc -eq 0 ] && [ "$(sed -n "/^summary/,/^\$/p" <<<"$out" | grep -cE "^ *[0-9]+  10\.0\.0\.1:")" -eq 1 ] && grep -qE "^ *1  10\.0\.0\.1:40001 " <<<"$out" && ! grep -qE "^ *0  10\.0\.0\.1:40000 " <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --csv --flow 10.0.0.1:40001); rc=$?
check "--csv --flow ADDR:PORT: the header and flow 1's row" \
  '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 2 ] && grep -q "^1,10.0.0.1:40001,10.0.0.2:80,7," <<<"$out"'
"$vigil" analyze "$work/two.pcap" --flow 1 --html "$work/one.html" >/dev/null; rc=$?
check "--html --flow 1: one table row, one section, flow 1" \
  '[ $rc -eq 0 ] && [ "$(grep -c "^<tr><td>" "$work/one.html")" -eq 1 ] && grep -q "^<tr><td><a href=\"#flow-1\">1</a><td>10.0.0.1:40001" "$work/one.html" && [ "$(grep -c "<section class=\"flow\"" "$work/one.html")" -eq 1 ] && grep -q "id=\"flow-1\"" "$work/one.html" && ! grep -q "10.0.0.1:40000" "$work/one.html" && grep -q "1 TCP connection (--flow; the capture has 2)" "$work/one.html"'
out=$("$vigil" analyze "$work/two.pcap" --flow 0 --json); rc=$?
check "--flow 0 --json: flow 0's summary counts its 7 packets" \
  'python3 -c "import json,sys; d=json.loads(sys.argv[1]); f=d[\"flows\"]; assert [x[\"flow\"] for x in f]==[0] and f[0][\"summary\"][\"packets\"]==7, f" "$out"'
out=$("$vigil" analyze "$work/two.pcap" --flow 9 --csv); rc=$?
check "--flow matching nothing: --csv has the header only" '[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ]'
err=$("$vigil" analyze "$work/two.pcap" --flow 10.0.0.1 2>&1 >/dev/null); rc=$?
check "--flow without a port: exit 2" '[ $rc -eq 2 ] && grep -q -- "--flow expects" <<<"$err"'

out=$("$vigil" analyze "$work/two.pcap" -f 'tcp port 40001'); rc=$?
check "-f 'tcp port 40001': one connection, 7 frames did not match" \
  '[ $rc -eq 0 ] && grep -q "14 frames, 1 TCP connection$" <<<"$out" && grep -q "7 frames did not match" <<<"$out" && grep -q "^flow 0: 10.0.0.1:40001" <<<"$out"'
out=$("$vigil" analyze "$work/two.pcap" --packets -f 'tcp[tcpflags] & tcp-syn != 0'); rc=$?
check "-f keeps Wireshark's frame numbers (SYNs are frames 1, 2, 8, 9)" \
  '[ $rc -eq 0 ] && [ "$(grep -E "^  [0-9]+  " <<<"$out" | awk "{print \$1}" | tr "\n" " ")" = "1 2 8 9 " ]'
err=$("$vigil" analyze "$work/two.pcap" -f 'host and and' 2>&1 >/dev/null); rc=$?
check "a bad filter exits 2 with libpcap's message" '[ $rc -eq 2 ] && grep -q "bad filter .*syntax error" <<<"$err"'
out=$("$vigil" analyze "$work/two.pcapng" -f 'src host 10.0.0.2'); rc=$?
check "-f on a pcapng of two link types: compiled for each (Ethernet, raw IP)" \
  '[ $rc -eq 0 ] && grep -q "8 frames did not match" <<<"$out" && grep -q "^flow 0: 10.0.0.1:40000 -> 10.0.0.2:80, 3 packets" <<<"$out"'

out=$("$vigil" analyze - < "$work/two.pcap"); rc=$?
check "- reads a pcap from standard input" '[ $rc -eq 0 ] && grep -q "^-: 14 frames, 2 TCP connections" <<<"$out"'
out=$(cat "$work/two.pcapng" | "$vigil" analyze -); rc=$?
check "- reads a pcapng from a pipe" '[ $rc -eq 0 ] && grep -q "^-: 14 frames, 2 TCP connections" <<<"$out" && grep -q "pcapng: 2 interfaces" <<<"$out"'
out=$("$vigil" analyze "$work/two.pcapng"); rc=$?
check "pcapng with two link types: both flows, 7 packets each" \
  '[ $rc -eq 0 ] && [ "$(grep -c "7 packets" <<<"$out")" -eq 2 ]'

err=$("$vigil" analyze "$work/two.pcap" -i lo 2>&1 >/dev/null); rc=$?
check "-i with a FILE: exit 2" '[ $rc -eq 2 ]'
err=$("$vigil" analyze "$work/two.pcap" --bogus 2>&1 >/dev/null); rc=$?
check "unknown option: exit 2 naming the valid ones" '[ $rc -eq 2 ] && grep -q "unknown option .--bogus.; valid options: --json" <<<"$err"'
err=$("$vigil" analyze "$work/two.pcap" "$work/two.pcapng" 2>&1 >/dev/null); rc=$?
check "two files: exit 2" '[ $rc -eq 2 ] && grep -q "one capture at a time" <<<"$err"'
err=$("$vigil" analyze "$work/two.pcap" --html 2>&1 >/dev/null); rc=$?
check "--html without FILE: exit 2" '[ $rc -eq 2 ] && grep -q "needs a FILE" <<<"$err"'
out=$("$vigil" analyze --help); rc=$?
check "--help: exit 0, the usage" '[ $rc -eq 0 ] && grep -q "^usage: vigil analyze" <<<"$out" && grep -q -- "-f FILTER" <<<"$out"'
exit $fail
