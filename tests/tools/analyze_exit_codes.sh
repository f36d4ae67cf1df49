#!/usr/bin/env bash
# `vigil analyze` exit codes when its output cannot be written (issue 13
# point 9) and the JSON error object for a capture it cannot open.
# usage: bash analyze_exit_codes.sh path/to/vigil
set -uo pipefail
vigil=${1:?usage: analyze_exit_codes.sh path/to/vigil}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

"$vigil" sim handshake-close --pcap "$work/hc.pcap" > /dev/null || { echo "FAIL: sim"; exit 1; }
"$vigil" sim bulk --pcap "$work/bulk.pcap" > /dev/null || { echo "FAIL: sim"; exit 1; }

# A full disk: the write fails with ENOSPC (small output: at the final flush;
# large: in the middle).
for args in "$work/hc.pcap" "$work/bulk.pcap --packets" "$work/bulk.pcap --json"; do
  # shellcheck disable=SC2086
  err=$("$vigil" analyze $args 2>&1 > /dev/full); rc=$?
  check "analyze $args > /dev/full exits 1 naming the error" \
    '[ $rc -eq 1 ] && grep -q "cannot write standard output: No space left on device" <<<"$err"'
done
# Standard output closed.
err=$("$vigil" analyze "$work/hc.pcap" 2>&1 >&-); rc=$?
check "closed stdout exits 1" '[ $rc -eq 1 ] && grep -q "cannot write standard output" <<<"$err"'
# A pipe whose reader went away. With SIGPIPE at its default the kernel ends
# the process (status 141 in the shell, as for any Unix filter); with it
# ignored (nohup, many supervisors) the write fails with EPIPE: exit 1.
( trap '' PIPE
  "$vigil" analyze "$work/bulk.pcap" --packets 2> "$work/err" | head -c 10 > /dev/null
  echo "${PIPESTATUS[0]}" > "$work/rc" )
rc=$(cat "$work/rc"); err=$(cat "$work/err")
check "closed pipe (SIGPIPE ignored) exits 1" \
  '[ "$rc" -eq 1 ] && grep -q "cannot write standard output: Broken pipe" <<<"$err"'
"$vigil" analyze "$work/bulk.pcap" --packets 2> /dev/null | head -c 10 > /dev/null
rc=${PIPESTATUS[0]}
check "closed pipe (SIGPIPE default) is not a success" '[ "$rc" -ne 0 ]'
# The HTML report on a full disk.
err=$("$vigil" analyze "$work/hc.pcap" --html /dev/full 2>&1 > /dev/null); rc=$?
check "--html /dev/full exits 1" '[ $rc -eq 1 ] && grep -q "cannot write /dev/full" <<<"$err"'

# --json on a file it cannot open: a JSON object with the error on stdout,
# the message on stderr, exit 1.
out=$("$vigil" analyze "$work/missing.pcap" --json 2> "$work/err"); rc=$?
check "--json on a missing file exits 1" '[ $rc -eq 1 ]'
check "--json on a missing file prints a JSON error object" \
  'python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d[\"file\"]==sys.argv[2]; assert \"No such file\" in d[\"error\"], d" "$out" "$work/missing.pcap"'
check "the message still goes to stderr" 'grep -q "cannot open" "$work/err"'
printf 'not a capture' > "$work/junk.pcap"
out=$("$vigil" analyze "$work/junk.pcap" --json 2> /dev/null); rc=$?
check "--json on a non-capture exits 1 with a JSON error" \
  '[ $rc -eq 1 ] && python3 -c "import json,sys; assert \"error\" in json.loads(sys.argv[1])" "$out"'
exit $fail
