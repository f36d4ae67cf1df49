#!/usr/bin/env bash
# `vigil analyze -t`: text times relative to the first packet by default,
# UTC date and time with -t ad, epoch seconds with -t e (issue 13 point 13).
# The capture is written here: a SYN at 1700000000.5 s (2023-11-14
# 22:13:20.5 UTC) and its SYN-ACK 1.25 s later.
# usage: bash analyze_time_format.sh path/to/vigil
set -uo pipefail
vigil=${1:?usage: analyze_time_format.sh path/to/vigil}
command -v python3 > /dev/null || { echo "skipped: python3 is not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

python3 - "$work/t.pcap" <<'PY'
import struct, sys
def seg(src, dst, sp, dp, seq, ack, flags):
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return ip + tcp
a, b = [10, 0, 0, 1], [10, 0, 0, 2]
pkts = [(1700000000, 500000, seg(a, b, 40000, 80, 1000, 0, 0x02)),
        (1700000001, 750000, seg(b, a, 80, 40000, 9000, 1001, 0x12))]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
    for sec, usec, p in pkts:
        f.write(struct.pack("<IIII", sec, usec, len(p), len(p)) + p)
PY

out=$("$vigil" analyze "$work/t.pcap" --packets); rc=$?
check "default: exit 0" '[ $rc -eq 0 ]'
check "default: first packet at 0.000000" 'grep -q "^  1  0.000000  flow 0" <<<"$out"'
check "default: second packet at 1.250000" 'grep -q "^  2  1.250000  flow 0" <<<"$out"'
check "default: flow span relative" 'grep -q "2 packets, 0.000000 .. 1.250000 s" <<<"$out"'
out=$("$vigil" analyze "$work/t.pcap" --packets -t ad)
check "-t ad: UTC date and time" 'grep -q "^  1  2023-11-14 22:13:20.500000  flow 0" <<<"$out"'
check "-t ad: flow span" 'grep -q "2 packets, 2023-11-14 22:13:20.500000 .. 2023-11-14 22:13:21.750000" <<<"$out"'
out=$("$vigil" analyze "$work/t.pcap" --packets -t e)
check "-t e: epoch seconds" 'grep -q "^  2  1700000001.750000  flow 0" <<<"$out"'
out=$("$vigil" analyze "$work/t.pcap" --json -t ad)
check "--json keeps epoch seconds" 'grep -q "\"time_s\": 1700000000.500000" <<<"$out"'
err=$("$vigil" analyze "$work/t.pcap" -t x 2>&1 >/dev/null); rc=$?
check "-t x: exit 2 naming the choices" '[ $rc -eq 2 ] && grep -q "r (relative, the default), ad" <<<"$err"'
exit $fail
