#!/usr/bin/env bash
# Installs everything vigil needs on Debian 12, from Debian's own packages.
# Safe to run again. Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential g++ clang-14 clang cmake ninja-build pkg-config  # compilers and build
  libclang-rt-14-dev                                                 # libFuzzer (scripts/fuzz-analyze.sh)
  libgtest-dev libgmock-dev                                          # GoogleTest
  libpcap-dev                                                        # pcap reading (analyzer)
  libcli11-dev                                                       # command-line parsing (vigil's CLI)
  libbenchmark-dev                                                   # micro-benchmarks (vigil bench timer-wheel)
  libssl-dev                                                         # SHA-256 (libcrypto)
  liblwip-dev                                                        # lwIP 2.1, the `vigil conform --target lwip` agent (optional)
  tshark tcpdump                                                     # independent pcap readers for tests
  iproute2 nftables curl netcat-openbsd iperf3                      # network namespaces, interop peers, benchmarks
  chromium                                                           # headless check of the analyzer's HTML report
  python3 clang-format clang-tidy                                    # scripts, formatting, lint
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
as_root apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
