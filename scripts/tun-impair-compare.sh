#!/usr/bin/env bash
# Issue 11's real-network comparison: runs tests/tools/tun_impair.sh N
# times (default 5) and gives, each way, vigil's time against Linux's on
# the same impaired path (2 % loss, 2 % reordering, ~10 ms round trip),
# per run and the median ratio. Random loss makes one run noisy: compare
# medians. Needs root and /dev/net/tun; builds nothing (pass the binary).
# usage: scripts/tun-impair-compare.sh [build/vigil] [N]
set -u
VIGIL=${1:-build/vigil}
N=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for i in $(seq "$N"); do
  printf '\rrun %d of %d ' "$i" "$N" >&2
  if ! bash "$HERE/tests/tools/tun_impair.sh" "$VIGIL" >"$OUT.run" 2>&1; then
    echo >&2
    echo "run $i failed:" >&2
    grep -E '^FAIL|skipped' "$OUT.run" >&2
    grep -q '^COMPARE' "$OUT.run" || exit 1  # no timings to compare
  fi
  grep -E '^COMPARE|^NOTE Linux.s upload with' "$OUT.run" | sed "s/^/$i /" >>"$OUT"
done
echo >&2
rm -f "$OUT.run"
python3 - "$OUT" <<'PY'
import re, statistics, sys
rows = {"upload": [], "download": []}
bbr = []
for line in open(sys.argv[1]):
    m = re.match(r"(\d+) COMPARE (\w+) vigil ([\d.]+) s linux.*? ([\d.]+) s ratio ([\d.]+)", line)
    if m:
        rows[m.group(2)].append((int(m.group(1)), float(m.group(3)), float(m.group(4)), float(m.group(5))))
    m = re.match(r"\d+ NOTE .*\((\w+)\): ([\d.]+) s", line)
    if m:
        bbr.append((m.group(1), float(m.group(2))))
print("| way | run | vigil (s) | Linux (s) | ratio |")
print("|---|---|---|---|---|")
for way, r in rows.items():
    for run, v, l, ratio in r:
        print(f"| {way} | {run} | {v:.2f} | {l:.2f} | {ratio:.2f} |")
for way, r in rows.items():
    if r:
        print(f"{way}: median vigil {statistics.median(x[1] for x in r):.2f} s, "
              f"Linux {statistics.median(x[2] for x in r):.2f} s, "
              f"median ratio {statistics.median(x[3] for x in r):.2f} ({len(r)} runs)")
if bbr:
    print(f"Linux's upload with its default ({bbr[0][0]}): median "
          f"{statistics.median(x[1] for x in bbr):.2f} s")
PY
