#!/usr/bin/env bash
# `vigil analyze` on a real IPv6 capture: Linux's TCP over loopback inside a
# private network namespace (::1 and a ULA on its lo), python3 sockets,
# tcpdump -i lo (Ethernet link type, EtherType 0x86DD). The client enables
# keepalive (1 s idle) and sits idle 2.5 s, so Linux sends answered probes;
# then it closes. Checks: the IPv6 packets are read and labelled, endpoints
# print as [addr]:port, the keepalives and their answers match tshark frame
# by frame, the story ends with FIN. Needs root; otherwise skips. Everything
# runs in the namespace vg6-$$, deleted on exit even on failure.
# usage: bash analyze_ipv6.sh path/to/vigil
set -u
VIGIL=${1:?usage: analyze_ipv6.sh path/to/vigil}
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")
skip() {
  echo "analyze_ipv6: skipped: $1"
  exit 77  # ctest: skipped (SKIP_RETURN_CODE)
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for tool in ip tcpdump tshark python3; do
  command -v "$tool" > /dev/null || skip "$tool is not installed"
done

NS="vg6-$$"
ADDR=fd00:6::1
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null; done
  ip netns del "$NS" 2> /dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
ip -n "$NS" -6 addr add "$ADDR/128" dev lo nodad || skip "no IPv6 in the namespace"

cat > "$WORK/peer.py" << 'EOF'
import socket, sys, time
role, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "server":
    ls = socket.socket(socket.AF_INET6)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(1); print("ready", flush=True)
    c, _ = ls.accept()
    n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        n += len(b)
    print("server received %d" % n, flush=True); c.close()
    sys.exit(0)
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
s.connect((addr, port))
s.sendall(b"hello over IPv6")
time.sleep(2.5)
s.close()
print("client done", flush=True)
EOF

ip netns exec "$NS" tcpdump -i lo --immediate-mode -U -w "$WORK/v6.pcap" "ip6 and tcp port 5006" 2> "$WORK/tcpdump.err" &
CAP=$!
PIDS+=("$CAP")
for _ in $(seq 100); do
  grep -q listening "$WORK/tcpdump.err" 2> /dev/null && break
  sleep 0.05
done
ip netns exec "$NS" python3 "$WORK/peer.py" server "$ADDR" 5006 > "$WORK/srv.out" &
SRV=$!
PIDS+=("$SRV")
for _ in $(seq 200); do
  grep -q ready "$WORK/srv.out" 2> /dev/null && break
  sleep 0.05
done
ip netns exec "$NS" timeout 20 python3 "$WORK/peer.py" client "$ADDR" 5006 > "$WORK/cl.out"
wait "$SRV"
sleep 0.3
kill -INT "$CAP" 2> /dev/null
wait "$CAP" 2> /dev/null

"$VIGIL" analyze "$WORK/v6.pcap" --json > "$WORK/v6.json" 2> "$WORK/v6.err"
echo "vigil exit $?" >> "$WORK/v6.err"
tshark -r "$WORK/v6.pcap" -T fields -E separator=/t -e frame.number -e tcp.analysis.keep_alive \
  -e tcp.analysis.keep_alive_ack > "$WORK/tshark.txt" 2> /dev/null

python3 - "$WORK" "$ADDR" << 'EOF'
import json, sys
work, addr = sys.argv[1], sys.argv[2]
passed = failed = 0
def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1; print("PASS", name)
    else:
        failed += 1; print("FAIL", name + (": " + str(why) if why else ""))
try:
    r = json.load(open(f"{work}/v6.json"))
except Exception as e:
    check("vigil analyze --json parses", False, open(f"{work}/v6.err").read().strip() or e)
    print(f"{passed} passed, {failed} failed"); sys.exit(1)
ts = {}
for line in open(f"{work}/tshark.txt"):
    c = line.rstrip("\n").split("\t")
    ts[int(c[0])] = {"keepalive"} if c[1] else set()
    if len(c) > 2 and c[2]: ts[int(c[0])].add("keepalive_ack")
check("client and server ran", "server received 15" in open(f"{work}/srv.out").read())
check("every frame is IPv6 and a TCP segment",
      r["frames"] == len(ts) > 0 and r["ipv6_packets"] == r["frames"] and r["ipv4_packets"] == 0 and
      r["tcp_segments"] == r["frames"], f'{r["frames"]} frames, {r["ipv6_packets"]} IPv6, tshark {len(ts)}')
check("one connection", len(r["flows"]) == 1, len(r["flows"]))
f = r["flows"][0] if r["flows"] else {}
check("endpoints as [addr]:port (RFC 5952)",
      f.get("client", "").startswith(f"[{addr}]:") and f.get("server") == f"[{addr}]:5006",
      (f.get("client"), f.get("server")))
check("handshake seen, closed with FIN", f.get("handshake_seen") and f.get("end", {}).get("how") == "fin" and
      f.get("story", {}).get("ending", "").startswith("closed with FIN"), f.get("story", {}).get("ending"))
ka = [p["frame"] for p in r["packets"] if "keepalive" in p["labels"]]
kack = [p["frame"] for p in r["packets"] if "keepalive_ack" in p["labels"]]
check(">= 2 keepalives (1 s keepalive idle in 2.5 s of quiet), each answered", len(ka) >= 2 and len(kack) == len(ka), (ka, kack))
check("keepalives as tshark sees them", ka == sorted(n for n, l in ts.items() if "keepalive" in l),
      (ka, ts))
check("keepalive answers as tshark sees them (it has them all here: no window change)",
      kack == sorted(n for n, l in ts.items() if "keepalive_ack" in l), (kack, ts))
k = f.get("story", {}).get("keepalive", [])
check("story: one answered keepalive series from the client, idle ~1 s",
      len(k) == 1 and k[0]["dir"] == 0 and k[0]["answered"] and abs(k[0]["idle_s"] - 1.0) < 0.2 and
      k[0]["interval_s"] is None, json.dumps(k))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
