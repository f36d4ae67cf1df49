#!/usr/bin/env bash
# vigil conform's whole suite against the real targets, time compressed
# (issue 14): every case, `vigil conform --target linux|lwip --case C`, one
# process and one namespace (conf-<pid>-0) per case, all at once, with
# VIGIL_CONFORM_QUICK=1 (the two cases longer than a minute shorten
# themselves: persist.answered 30 s, ipxe.stall-heals a 20 s stall; the
# rest already run on short knobs: keepalive 2/1/3, tcp_retries2 2-6, user
# timeouts of seconds; the default-value cases read the target's settings).
# About 90 s of wall time, bounded by persist.probe-byte-deadlock (60 s)
# plus 68 namespaces' setup, and any case run twice.
#   Linux: every verdict equals vigil's linux profile's (`vigil conform
#     --json`, the simulator), case by case; none may be skipped; the two
#     congestion cases over the user-space shaper are weak (WEAK below).
#   lwIP 2.1.3: every verdict equals the one docs/conform.md explains from
#     lwIP's source (LWIP below), its tick-late keepalive times within
#     lwIP's 500 ms tcp_slowtmr bound.
# Afterwards no namespace of ours is left. Needs root and /dev/net/tun
# (else exit 77); lwIP is checked when its agent is built.
# usage: bash conform_real_suite.sh path/to/vigil
set -u
TEST=conform_real_suite
VIGIL=${1:?usage: conform_real_suite.sh path/to/vigil}
source "$(dirname "$0")/need_root_tun.bash"
need_root_tun ip python3
BUILD=$(cd "$(dirname "$VIGIL")" && pwd)
export VIGIL_CONFORM_AGENT_DIR=${VIGIL_CONFORM_AGENT_DIR:-$BUILD}
export VIGIL_CONFORM_QUICK=1
TARGETS=(linux)
if [ -x "$VIGIL_CONFORM_AGENT_DIR/vigil-conform-lwip-agent" ]; then
  TARGETS+=(lwip)
else
  echo "$TEST: lwIP not checked: vigil-conform-lwip-agent is not built (needs liblwip-dev)"
fi
make_work_dir

# The grading: `check.py WORK retry TARGETS...` lists the cases that
# differ; `check.py WORK final TARGETS... WALL LEFTOVER` prints every case
# and exits 1 if one still differs.
cat >"$WORK/check.py" <<'PY'
import json, os, re, sys
work, mode = sys.argv[1:3]
targets = sys.argv[3:-2] if mode == "final" else sys.argv[3:]
ref = {c["name"]: c for c in json.load(open(os.path.join(work, "vigil-linux.json")))["targets"][0]["cases"]}

# lwIP 2.1.3's verdicts, each explained in docs/conform.md from its source.
LWIP = {
    "keepalive.off-by-default": "pass",
    "keepalive.default-idle": "pass",         # TCP_KEEPIDLE_DEFAULT 7200000 ms
    "keepalive.configured": "tick",           # tcp_slowtmr's 500 ms tick: 0-0.5 s late
    "keepalive.probe-form": "pass",
    "keepalive.dead-peer": "fail",            # ERR_ABRT: ECONNABORTED, not ETIMEDOUT
    "keepalive.default-give-up": "pass",      # TCP_KEEPINTVL_DEFAULT 75 s, TCP_KEEPCNT_DEFAULT 9
    "keepalive.not-while-outstanding": "skipped",  # tcp_retries2: TCP_MAXRTX is compile-time
    "keepalive.idle-restart": "info",         # every segment resets pcb->tmr
    "keepalive.peer-rebooted": "tick",        # ECONNRESET, the probe 0-0.5 s late
    "rto.initial-syn": "skipped",
    "rto.first-data": "skipped",
    "rto.backoff": "skipped",
    "r2.configured": "skipped",
    "r2.default": "skipped",                  # TCP_MAXRTX not reported
    "keepalive.vs-r2": "skipped",
    "user-timeout.abort": "skipped",          # no TCP_USER_TIMEOUT
    "user-timeout.outlives-r2": "skipped",
    "user-timeout.zero-window": "skipped",
    "persist.backoff": "pass",
    "persist.answered": "skipped",
    "persist.unanswered": "skipped",
    "persist.probe-form": "info",             # 1 byte of new data
    "persist.probe-byte-deadlock": "pass",
    "keepalive.while-persisting": "fail",     # unanswerable keepalives behind the zero window
    "congestion.initial-window": "pass",
    "congestion.avoidance-increase": "skipped",  # no SO_SNDBUF
    "congestion.window-deflation": "skipped",
    "rfc5961.rst-in-window": "pass",
    "rfc5961.syn-in-window": "pass",
    "rfc5961.ack-unsent-data": "pass",
    "icmp.port-unreachable-soft": "pass",
    "icmp.syn-sent-port-unreachable": "fail",  # icmp_input tells TCP nothing
    "icmp.frag-needed": "fail",               # no path MTU discovery
    "ipxe.stall-heals": "pass",
}

# The exceptions to "equal verdicts" (docs/conform.md, "Not yet"): Linux
# over the user-space shaper loses far more than the path's queue
# explains, more so on a loaded machine. Its flight barely grows between
# losses (slopes near 0) and 2 or 3 periods qualify from run to run: info
# or a flat pass; and its fast recoveries, 5 to 13 on a quiet machine (a
# pass), were 28 and 35 under load, most followed by a loss (a fail), and
# fewer than 4 were judged once (info). vigil linux passes both. For these
# two the check is only that the case ran on Linux.
WEAK = {
    "congestion.avoidance-increase": ("pass", "info"),
    "congestion.window-deflation": ("pass", "fail", "info"),
}

def tick_late(measured, nominal):
    """lwIP's keepalive fires on the first 500 ms tick after its time."""
    nums = [float(x) for x in re.findall(r"(\d+\.\d+)", measured)]
    return len(nums) == len(nominal) and all(0 <= n - w <= 0.55 for n, w in zip(nums, nominal))

def load(t, name, suffix=".json"):
    try:
        return json.load(open(os.path.join(work, f"{t}-{name}{suffix}")))["targets"][0]["cases"][0]
    except Exception:
        return None

def grade(t, name):
    """(ok, detail) for one case's result."""
    got = load(t, name)
    if got is None:
        err = open(os.path.join(work, f"{t}-{name}.err")).read().strip()[-300:]
        return False, "no result: " + err
    v, m = got["verdict"], got["measured"]
    if t == "linux":
        want = ref[name]
        detail = f"{v} ({m}); vigil linux {want['verdict']} ({want['measured']})"
        if name in WEAK:
            return v in WEAK[name], detail + "; weak on Linux: " + " or ".join(WEAK[name])
        return v == want["verdict"] and v != "skipped", detail
    w = LWIP.get(name, "?")
    if w == "tick":
        nominal = [2, 3, 4] if name == "keepalive.configured" else [2]
        ok = tick_late(m, nominal) and (name != "keepalive.peer-rebooted" or "ECONNRESET" in m)
        return ok, f"{v} ({m}), within lwIP's 500 ms tick"
    return v == w, f"{v} ({m}); expected {w}"

if mode == "retry":
    for t in targets:
        for name in ref:
            if not grade(t, name)[0]:
                print(t, name)
    sys.exit(0)

wall, leftover = sys.argv[-2:]
passed = failed = retried = 0
for t in targets:
    for name in ref:
        ok, detail = grade(t, name)
        first = load(t, name, ".first.json")
        if first is not None:
            retried += 1
            detail += f"; on a second run (first: {first['verdict']}, {first['measured']})"
        print(("PASS " if ok else "FAIL ") + f"{t} {name}: {detail}")
        passed, failed = passed + ok, failed + (not ok)
ok = leftover == "0"
print(("PASS " if ok else "FAIL ") + "no namespace left")
passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed, {retried} run twice; "
      f"{len(targets)} targets x {len(ref)} cases in {wall} s")
sys.exit(1 if failed else 0)
PY

start=$(date +%s.%N)
"$VIGIL" conform --json >"$WORK/vigil-linux.json" 2>"$WORK/vigil-linux.err"
mapfile -t CASES < <(python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["targets"][0]["cases"]:
    print(c["name"])' "$WORK/vigil-linux.json")
if [ "${#CASES[@]}" -lt 30 ]; then
  echo "$TEST: FAIL: vigil conform --json listed ${#CASES[@]} cases"
  cat "$WORK/vigil-linux.err"
  exit 1
fi
# One process per case: `run TARGET CASE` in the background.
run() {
  "$VIGIL" conform --target "$1" --json --case "$2" >"$WORK/$1-$2.json" 2>"$WORK/$1-$2.err" &
  PIDS+=($!)
  echo $! >>"$WORK/$1-$2.pid"
}
for t in "${TARGETS[@]}"; do
  for c in "${CASES[@]}"; do run "$t" "$c"; done
done
for pid in "${PIDS[@]}"; do wait "$pid"; done
PIDS=()
# A real target's times are read when vigil's loop reads the TUN device;
# with 68 processes starting at once on a loaded CI machine that read can
# come 100 ms late (rto.initial-syn measured 0.898 s once). A case whose
# verdict differs runs once more, alone with the others that differed,
# and the output says so; it must agree then.
python3 "$WORK/check.py" "$WORK" retry "${TARGETS[@]}" >"$WORK/retry.txt"
while read -r t c; do
  [ -n "$t" ] || continue
  echo "$TEST: $t $c differed; once more"
  mv "$WORK/$t-$c.json" "$WORK/$t-$c.first.json"
  run "$t" "$c"
done <"$WORK/retry.txt"
for pid in "${PIDS[@]}"; do wait "$pid"; done
PIDS=()
wall=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
  "$start" "$(date +%s.%N)")

leftover=0
namespaces=$(ip netns list 2>/dev/null)
for pid in $(cat "$WORK"/*.pid); do
  if grep -q "^conf-$pid-" <<<"$namespaces"; then leftover=1; fi
done
python3 "$WORK/check.py" "$WORK" final "${TARGETS[@]}" "$wall" "$leftover"
