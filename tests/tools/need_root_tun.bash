# Sourced by the tests that need root, /dev/net/tun and some tools
# (tun_lib.bash, conform_real_*.sh); not a test. `need_root_tun TOOL...`
# exits 77 when the test cannot run here: ctest (SKIP_RETURN_CODE 77,
# tests/CMakeLists.txt) then reports it as skipped, not passed. The caller
# sets TEST (its name).
need_root_tun() {
  if [ "$(id -u)" != 0 ]; then
    echo "$TEST: skipped: needs root (network namespaces and TUN devices)"
    exit 77
  fi
  if [ ! -c /dev/net/tun ]; then
    echo "$TEST: skipped: /dev/net/tun is missing"
    exit 77
  fi
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null; then
      echo "$TEST: skipped: $tool is not installed (scripts/setup.sh installs it)"
      exit 77
    fi
  done
}

# `make_work_dir`: a scratch directory WORK, and PIDS for the background
# processes the test starts (it appends to it); on any exit they are
# stopped, waited for, and the directory removed.
make_work_dir() {
  WORK=$(mktemp -d)
  PIDS=()
  trap stop_work EXIT
  trap 'exit 130' INT TERM
}
stop_work() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
