#!/usr/bin/env bash
# Before/after counts of `vigil analyze` over a corpus of public captures
# (issue 13's note): files read, TCP segments analysed, segments dropped as
# malformed or cut, snaplen and TSO handling, tunnelled TCP, pcapng files,
# RTO series, capture duplicates. The corpus stays outside the repository.
#
# usage: scripts/analyze-corpus.sh CORPUS_DIR BEFORE_VIGIL AFTER_VIGIL
#   CORPUS_DIR: capture files (any depth); e.g. made from repositories'
#   test folders with
#     git -C REPO ls-tree -r HEAD | awk '$2=="blob"' |
#       grep -Ei '\.(pcap|pcapng|cap|trace)$' | while read -r m t sha p; do
#         git -C REPO cat-file blob "$sha" > "CORPUS_DIR/${p//\//_}"; done
# Each file gets 60 s per binary. Prints one table; per-file results go to
# CORPUS_DIR/../corpus-results.json.
set -uo pipefail
corpus=${1:?usage: analyze-corpus.sh CORPUS_DIR BEFORE_VIGIL AFTER_VIGIL}
before=${2:?before binary}
after=${3:?after binary}
out=$(dirname "$corpus")/corpus-results.json
python3 - "$corpus" "$before" "$after" "$out" <<'EOF'
import json, os, subprocess, sys
corpus, bins, out = sys.argv[1], {"before": sys.argv[2], "after": sys.argv[3]}, sys.argv[4]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs)
keys = ["files", "files_read", "files_with_tcp", "pcapng_files", "pcapng_read", "frames",
        "tcp_segments", "malformed_or_cut_dropped", "snaplen_cut", "options_cut",
        "length_from_capture", "tunnelled_packets", "tcp_in_tunnel_flows", "flows_via_tunnel",
        "rto_series", "rto_series_first_gap_below_100ms", "capture_duplicates", "read_errors"]
tot = {b: dict.fromkeys(keys, 0) for b in bins}
per_file = {}
for path in files:
    with open(path, "rb") as fh:
        pcapng = fh.read(4) == b"\x0a\x0d\x0d\x0a"
    per_file[path] = {}
    for b, exe in bins.items():
        t = tot[b]
        t["files"] += 1
        t["pcapng_files"] += pcapng
        try:
            p = subprocess.run([exe, "analyze", path, "--json"], capture_output=True, timeout=60)
            d = json.loads(p.stdout.decode("utf-8", "replace"))
        except Exception as e:  # timeout, not JSON
            per_file[path][b] = {"error": str(e)[:80]}
            continue
        if "error" in d and "frames" not in d:
            per_file[path][b] = {"error": d["error"][:120]}
            continue
        t["files_read"] += 1
        t["pcapng_read"] += pcapng and d["frames"] > 0
        t["frames"] += d["frames"]
        t["tcp_segments"] += d["tcp_segments"]
        t["files_with_tcp"] += d["tcp_segments"] > 0
        sk = d["skipped"]
        t["malformed_or_cut_dropped"] += sk["malformed_ip"] + sk["malformed_tcp"] + sk["cut_headers"]
        for k in ("snaplen_cut", "options_cut", "length_from_capture", "capture_duplicates"):
            t[k] += d.get(k, 0)
        t["tunnelled_packets"] += d.get("tunnelled", 0)
        tun = [f for f in d["flows"] if any(n in f.get("via", "") for n in
               ("GRE", "VXLAN", "Geneve", "GTP-U", "ERSPAN", "IPIP", "IPv6-in-IP"))]
        t["flows_via_tunnel"] += len(tun)
        t["tcp_in_tunnel_flows"] += sum(f["packets"] for f in tun)
        for f in d["flows"]:
            for s in f.get("story", {}).get("rto_backoff", []):
                t["rto_series"] += 1
                gaps = s.get("gaps_s", [])
                t["rto_series_first_gap_below_100ms"] += bool(gaps) and gaps[0] < 0.1
        t["read_errors"] += d["read_error"] is not None
        per_file[path][b] = {"frames": d["frames"], "tcp": d["tcp_segments"],
                             "tunnelled": d.get("tunnelled", 0)}
    if len(per_file) % 25 == 0:  # partial totals, for a long run cut short
        with open(out + ".partial", "w") as fh:
            json.dump({"files_done": len(per_file), "last": path, "totals": tot}, fh)
with open(out, "w") as fh:
    json.dump(per_file, fh, indent=1)
print(f"{'':36s} {'before':>10s} {'after':>10s}")
for k in keys:
    print(f"{k:36s} {tot['before'][k]:10d} {tot['after'][k]:10d}")
changed = [p for p, r in per_file.items() if r.get("before") != r.get("after")]
print(f"files whose result changed: {len(changed)} (details in {out})")
EOF
