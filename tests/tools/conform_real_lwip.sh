#!/usr/bin/env bash
# vigil conform's lwIP target (issue 14): lwIP 2.1 (Debian liblwip-dev) in
# vigil-conform-lwip-agent, on its own TUN device in a namespace RealTestbed
# creates, vigil playing the peer. Expected values come from lwIP 2.1's
# source, not from a measurement: keepalive runs in tcp_slowtmr, every
# TCP_SLOW_INTERVAL (500 ms), so each event falls within 0.5 s after its
# nominal time. In parallel, each in its own namespace, about 6 s:
#   defaults   TCP_KEEPIDLE/INTVL/CNT = 7200/75/9 (tcp_priv.h TCP_KEEP*_DEFAULT)
#   keepalive  2/1/3, peer dead: probes in [2, 2.5], [3, 3.5], [4, 4.5] s,
#              a RST and ECONNABORTED (ERR_ABRT) in [5, 5.5] s
#   challenge  RFC 5961 §3.2: an in-window RST gets a challenge ACK
# Skips (exit 77) without root, /dev/net/tun or the lwIP agent (built only
# when liblwip-dev is installed).
# usage: bash conform_real_lwip.sh path/to/vigil
set -u
TEST=conform_real_lwip
VIGIL=${1:?usage: conform_real_lwip.sh path/to/vigil}
source "$(dirname "$0")/need_root_tun.bash"
need_root_tun ip python3
BUILD=$(cd "$(dirname "$VIGIL")" && pwd)
DRIVER=${VIGIL_CONFORM_DRIVER:-$BUILD/tests/conform_real_driver}
export VIGIL_CONFORM_AGENT_DIR=${VIGIL_CONFORM_AGENT_DIR:-$BUILD}
if [ ! -x "$VIGIL_CONFORM_AGENT_DIR/vigil-conform-lwip-agent" ]; then
  echo "$TEST: skipped: vigil-conform-lwip-agent is not built (needs liblwip-dev: scripts/setup.sh)"
  exit 77
fi
if [ ! -x "$DRIVER" ]; then
  echo "$TEST: $DRIVER is not built (cmake --build build --target conform_real_driver)"
  exit 1
fi
make_work_dir

CASES=(defaults keepalive challenge)
for c in "${CASES[@]}"; do
  "$DRIVER" lwip "$c" >"$WORK/$c.json" 2>"$WORK/$c.err" &
  PIDS+=($!)
  echo $! >"$WORK/$c.pid"
done
status=0
for pid in "${PIDS[@]}"; do wait "$pid" || status=$?; done
PIDS=()
if [ "$status" = 77 ]; then
  echo "$TEST: skipped: $(cat "$WORK"/*.err | head -1)"
  exit 77
fi
leftover=0
for c in "${CASES[@]}"; do
  if ip netns list | grep -q "^conf-$(cat "$WORK/$c.pid")-"; then leftover=1; fi
done

python3 - "$WORK" "$leftover" <<'EOF'
import json, os, sys
work, leftover = sys.argv[1:3]
passed = failed = 0

def check(name, ok, detail):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    passed, failed = passed + ok, failed + (not ok)

def load(case):
    try:
        return json.load(open(os.path.join(work, case + ".json")))
    except Exception:
        err = open(os.path.join(work, case + ".err")).read().strip()
        check(case, False, "no result (" + err + ")")
        return None

# tcp_slowtmr runs every 500 ms; a timer of N ms fires at the first tick
# that has seen more than N / 500 ticks since the last segment received,
# so within [N, N + 0.5] s (plus scheduling slack, 0.05 s).
def in_tick(t, nominal):
    return nominal - 0.05 <= t <= nominal + 0.55

d = load("defaults")
if d:
    got = [d["keepalive"], d["keepidle"], d["keepintvl"], d["keepcnt"]]
    check("defaults: SO_KEEPALIVE off, TCP_KEEPIDLE/INTVL/CNT = 7200/75/9",
          got == [0, 7200, 75, 9], "got %s" % got)

k = load("keepalive")
if k:
    # keep_idle 2 s, then keep_intvl 1 s apart: probes at 2, 3, 4 s; after
    # keep_cnt = 3 unanswered, the abort at 2 + 3 x 1 = 5 s (tcp_slowtmr's
    # keepalive timeout: tcp_rst, then ERR_ABRT to the application, which
    # lwIP's sockets report as ECONNABORTED, errno 103).
    p = k["probe_times"]
    check("keepalive: probes at 2, 3, 4 s (500 ms ticks)",
          len(p) == 3 and all(in_tick(t, n) for t, n in zip(p, [2, 3, 4])), "got %s" % p)
    check("keepalive: probe SEQ = SND.NXT - 1", k["probe_seq_minus_snd_nxt"] == [-1, -1, -1],
          "got %s" % k["probe_seq_minus_snd_nxt"])
    a = k["app_error"]
    check("keepalive: RST and ECONNABORTED at 5 s",
          len(k["rst_times"]) == 1 and in_tick(k["rst_times"][0], 5) and a["errno"] == 103
          and in_tick(a["t"], 5), "got rst %s, app %s" % (k["rst_times"], a))

c = load("challenge")
if c:
    check("RFC 5961 in-window RST: one challenge ACK, connection alive",
          c["challenge_acks"] == 1 and c["rsts"] == 0 and not c["ended"]
          and c["target_bytes_after"] == 1000, "got %s" % c)

check("no namespace left behind", leftover == "0", "ip netns list shows conf-* of this run")
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
EOF
