#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer under AddressSanitizer and UBSan
# (clang 14). Targets (tests/fuzz/TARGET_fuzz.cpp):
#   wire        IPv4/TCP/ICMP/IPv6 parsers and the TCP options parser
#   stack       datagram sequences into a Stack with a live connection
#   connection  segment sequences and timers into a Connection in each state
#   analyze     capture files through `vigil analyze`'s pipeline
# usage: scripts/fuzz.sh TARGET [SECONDS=300] [BUILD_DIR=build-fuzz]
#        scripts/fuzz.sh TARGET --runs N [BUILD_DIR=build-fuzz]
# The second form is what CI runs: it replays the repository corpus, then
# makes exactly N mutations from a fixed seed (-seed=1), so a CI result is
# reproducible on any machine. Timed runs use a random seed to find new bugs.
# Seeds: tests/fuzz/corpus/TARGET (kept in the repository; analyze seeds
# from fresh simulator captures). New inputs go to BUILD_DIR/corpus/TARGET.
# Prints a progress line every 10 s, then executions and findings; exits 1
# with the crash file's path if libFuzzer found anything.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh wire|stack|connection|analyze [SECONDS] [BUILD_DIR]}
runs=
if [ "${2:-}" = --runs ]; then
  runs=${3:?usage: scripts/fuzz.sh TARGET --runs N [BUILD_DIR]}
  dir=${4:-build-fuzz}
  seconds=0
else
  seconds=${2:-300}
  dir=${3:-build-fuzz}
fi
case "$target" in wire | stack | connection | analyze) ;; *)
  echo "fuzz: unknown target '$target' (wire, stack, connection, analyze)" >&2
  exit 2
  ;;
esac

if [ -z "${VIGIL_FUZZ_NO_BUILD:-}" ]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DVIGIL_SANITIZE=ON \
    -DVIGIL_LIBFUZZER=ON -DVIGIL_TESTS=OFF -DVIGIL_WERROR=ON >/dev/null
  ninja -C "$dir" "vigil_fuzz_$target" $([ "$target" = analyze ] && echo vigil) >/dev/null
fi

work="$dir/corpus/$target"
findings="$dir/findings/$target"
mkdir -p "$work" "$findings"
seeds=()
if [ "$target" = analyze ]; then
  # Small simulator captures of the situations the analyzer explains.
  for s in handshake-close closed-port-rst keepalive-dead-peer zero-window-persist rto-blackhole; do
    [ -s "$work/$s.pcap" ] || "$dir/vigil" sim "$s" --set limit=120s --pcap "$work/$s.pcap" >/dev/null
  done
  [ -s "$work/bulk-lossy.pcap" ] ||
    "$dir/vigil" sim bulk-lossy --set bytes=30k --pcap "$work/bulk-lossy.pcap" >/dev/null
else
  seeds=("tests/fuzz/corpus/$target")
fi

log="$dir/fuzz-$target.log"
if [ -n "$runs" ]; then
  budget=(-seed=1 -runs="$runs")
  label="$runs runs"
  echo "fuzz $target: $runs runs from seed 1, corpus $work ($(ls "$work" | wc -l) files) + ${seeds[*]:-no seeds}"
else
  budget=(-max_total_time="$seconds")
  label="$seconds s"
  echo "fuzz $target: ${seconds} s, corpus $work ($(ls "$work" | wc -l) files) + ${seeds[*]:-no seeds}"
fi
set +e
"$dir/vigil_fuzz_$target" "${budget[@]}" -max_len=65536 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$findings/" "$work" "${seeds[@]}" >"$log" 2>&1 &
pid=$!
start=$SECONDS
tick=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  tick=$((tick + 1))
  if ((tick % 10 == 0)); then
    line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    printf 'fuzz %s: %3d/%s  %s\n' "$target" $((SECONDS - start)) "$label" "${line:-starting}"
  fi
done
wait "$pid"
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "fuzz $target: ${execs:-?} executions in $((SECONDS - start)) s, corpus $(ls "$work" | wc -l) files, log $log"
crashes=$(ls "$findings" 2>/dev/null | sed "s|^|$findings/|")
if [ "$rc" -ne 0 ] || [ -n "$crashes" ]; then
  grep -E 'ERROR|runtime error|invariant broken|SUMMARY' "$log" | head -5 || true
  echo "fuzz $target: FINDING (exit $rc): ${crashes:-see $log}"
  echo "  reproduce: $dir/vigil_fuzz_$target ${crashes:-CRASH_FILE}"
  exit 1
fi
echo "fuzz $target: no findings"
