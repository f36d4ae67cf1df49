#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then examples/ built against
# it as a user would: with find_package(vigil) (shared and static) and with
# pkg-config, each run: two_stacks.cpp on the C++ API and posix_two_stacks.cpp
# on the installed BSD layer (vigil/posix.hpp). Checks the installed tree's
# shape too (docs/library.md).
# Usage: install_test.sh BUILD_DIR SOURCE_DIR CXX_COMPILER CMAKE_GENERATOR
set -uo pipefail
bin=$1 src=$2 cxx=$3 gen=$4
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
prefix=$work/prefix
failed=0
fail() { echo "FAIL $1"; failed=1; }
run() {  # LOG CMD...: quiet unless it fails
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "FAIL: $*"
    cat "$log"
    exit 1
  fi
}

# What the install needs (nothing to do when the build is current).
run "$work/build.log" cmake --build "$bin" --target vigil vigil_shared vigil_static vigil_public_headers
run "$work/install.log" cmake --install "$bin" --prefix "$prefix"

pc=$(find "$prefix" -name vigil.pc)
libdir=$(dirname "$(dirname "$pc")")
for f in bin/vigil include/vigil/time.hpp include/vigil/version.hpp include/vigil/vigil.hpp include/vigil/tun.hpp \
  include/vigil/posix.hpp include/vigil/posix/sockets.hpp \
  include/vigil/stack/stack.hpp include/vigil/stack/end_log.hpp include/vigil/link/tun_device.hpp \
  include/vigil/link/netns.hpp; do
  [ -e "$prefix/$f" ] || fail "installed: $f missing"
done
for f in libvigil.a libvigil.so cmake/vigil/vigilConfig.cmake cmake/vigil/vigilConfigVersion.cmake; do
  [ -e "$libdir/$f" ] || fail "installed: $f missing from $libdir"
done
# The simulator, the analyzer and the CLI stay internal.
for d in sim analyze cli; do
  [ ! -e "$prefix/include/vigil/$d" ] || fail "installed: include/vigil/$d should not be"
done
# Installed headers include each other as "vigil/LAYER/x.hpp": -I PREFIX/include suffices.
if grep -rnE '#include "(util|wire|tcp|stack|link|api|posix)/' "$prefix/include"; then
  fail "installed headers include layer-relative paths"
fi
version=$("$prefix/bin/vigil" --version)
[ "$version" = "vigil $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --modversion vigil)" ] ||
  fail "vigil --version ($version) and pkg-config --modversion disagree"

# The example's output: derived in examples/two_stacks.cpp (public API, vigil/vigil.hpp). The client's
# user timeout (10 s, RFC 5482 §3) runs from when its second write goes
# out at virtual time 0 with nothing outstanding: ETIMEDOUT at 10 s.
check_output() {  # NAME FILE
  local out=$2
  grep -qx "vigil ${version#vigil }: two stacks in memory" "$out" || fail "$1: banner"
  grep -qx "server read 12 bytes: hello, vigil" "$out" || fail "$1: server read"
  grep -qx "client read 12 bytes back" "$out" || fail "$1: echo"
  grep -qxE 'client: 10\.0\.0\.1:[0-9]+ <-> 10\.0\.0\.2:7 ended at 10\.000000 s in ESTABLISHED: ETIMEDOUT \(user_timeout\): .+' "$out" ||
    fail "$1: the client's end line"
  grep -qx "client recv: ETIMEDOUT (user_timeout)" "$out" || fail "$1: recv's errno"
  grep -qx "server's connection is still ESTABLISHED: without keepalive it never hears of it" "$out" ||
    fail "$1: the server's state"
  [ "$(grep -c ' ended at ' "$out")" = 1 ] || fail "$1: exactly one end line"
}

# posix_two_stacks.cpp's output. The linux profile with exact timers
# (timer.hz=0), RTT 0: the write at virtual time 0 gets a tail loss probe
# at 0.2 s and its first RTO retransmission at 0.4 s (RTO = the 200 ms
# floor). Linux counts TCP_USER_TIMEOUT from that first RTO retransmission
# (retrans_stamp) and cuts the last RTO to it (docs/linux-measurements.md
# row 5a and finding 6: ETIMEDOUT at first RTO retransmission + timeout),
# so read() fails at 0.4 + 10 = 10.4 s.
check_posix_output() {  # NAME FILE
  local out=$2
  grep -qx "vigil ${version#vigil }: two stacks in memory, BSD sockets" "$out" || fail "$1: banner"
  grep -qx "server accepted 10.0.0.1" "$out" || fail "$1: accept's peer address"
  grep -qx "server read 12 bytes: hello, vigil" "$out" || fail "$1: server read"
  grep -qx "client read 12 bytes back" "$out" || fail "$1: echo"
  grep -qx "client read: -1, errno ETIMEDOUT (Connection timed out) at 10.400000 s" "$out" ||
    fail "$1: read's errno and time"
}

# 1. find_package(vigil), as a CMake user.
run "$work/cm-configure.log" cmake -S "$src/examples" -B "$work/cm" -G "$gen" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug
run "$work/cm-build.log" cmake --build "$work/cm"
[ -x "$work/cm/tun_echo" ] || fail "examples/tun_echo.cpp did not build"  # runs only as root
"$work/cm/two_stacks" >"$work/shared.out" 2>&1 || fail "two_stacks (shared) exited $?"
check_output "find_package, vigil::vigil (libvigil.so)" "$work/shared.out"
# (ldd's output in a variable: `ldd | grep -q` under pipefail fails when
# grep stops reading early.)
deps=$(ldd "$work/cm/two_stacks")
grep -q "libvigil.so.0.1 => $libdir/" <<<"$deps" || fail "two_stacks does not use the installed libvigil.so"
"$work/cm/two_stacks_static" >"$work/static.out" 2>&1 || fail "two_stacks_static exited $?"
check_output "find_package, vigil::vigil_static (libvigil.a)" "$work/static.out"
deps=$(ldd "$work/cm/two_stacks_static")
! grep -q libvigil <<<"$deps" || fail "two_stacks_static links libvigil.so"
LC_ALL=C "$work/cm/posix_two_stacks" >"$work/posix.out" 2>&1 || fail "posix_two_stacks exited $?"
check_posix_output "find_package, the BSD layer" "$work/posix.out"

# 2. pkg-config, as a Makefile user.
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs vigil) || fail "pkg-config vigil"
# shellcheck disable=SC2086
run "$work/pc-build.log" "$cxx" -std=c++20 "$src/examples/two_stacks.cpp" $flags -o "$work/two_stacks_pc"
LD_LIBRARY_PATH="$libdir" "$work/two_stacks_pc" >"$work/pc.out" 2>&1 || fail "two_stacks (pkg-config) exited $?"
check_output "pkg-config" "$work/pc.out"
# shellcheck disable=SC2086
run "$work/pc-posix-build.log" "$cxx" -std=c++20 "$src/examples/posix_two_stacks.cpp" $flags -o "$work/posix_pc"
LC_ALL=C LD_LIBRARY_PATH="$libdir" "$work/posix_pc" >"$work/posix-pc.out" 2>&1 ||
  fail "posix_two_stacks (pkg-config) exited $?"
check_posix_output "pkg-config, the BSD layer" "$work/posix-pc.out"

if [ "$failed" = 0 ]; then
  echo "PASS: installed into a temporary prefix; examples built with find_package (shared, static) and pkg-config, and ran"
  cat "$work/shared.out" "$work/posix.out"
fi
exit "$failed"
