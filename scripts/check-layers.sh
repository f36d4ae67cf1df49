#!/usr/bin/env bash
# Fails on an #include that points up a layer (docs/architecture.md):
#   util <- wire <- tcp <- stack <- link <- api <- sim <- conform <- cli;
#   stack <- app <- sim;
#   wire <- analyze <- conform;  wire <- analyze <- cli;
#   stack <- posix <- packetdrill
# The installed headers in include/vigil/ belong to layers too: time.hpp
# and version.hpp sit below util (every layer may use them), vigil.hpp and
# tun.hpp are the api layer's, posix.hpp the posix layer's. So neither a
# layer nor one of those headers may include a header of a layer above it,
# whether written "x/y.hpp" or <x/y.hpp>.
# The link dependencies in CMakeLists.txt catch a call that crosses upward
# only when it needs a symbol from the other library; an inline function or
# a type from an upper layer's header slips through. This catches those.
# Usage: scripts/check-layers.sh   (run by scripts/lint.sh, so by CI)
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A below=(
  [util]="util"
  [wire]="util wire"
  [tcp]="util wire tcp"
  [stack]="util wire tcp stack"
  [link]="util wire tcp stack link"
  [posix]="util wire tcp stack posix"
  [packetdrill]="util wire tcp stack posix packetdrill"
  [api]="util wire tcp stack link api"
  [app]="util wire tcp stack app"
  [sim]="util wire tcp stack link api app sim"
  [analyze]="util wire analyze"
  [conform]="util wire tcp stack link api app sim analyze conform"
  [cli]="util wire tcp stack link api app sim analyze conform cli"
  [base]=""
)
# The layer of each installed header (include/vigil/NAME).
declare -A vigil_header=(
  [time.hpp]=base
  [version.hpp]=base
  [vigil.hpp]=api
  [tun.hpp]=api
  [posix.hpp]=posix
)
# Known, with the issue that removes them; nothing else may be added here.
allowed_exceptions=()
bad=0
while IFS=: read -r file line text; do
  if [[ "$file" == include/vigil/* ]]; then
    layer=${vigil_header[${file#include/vigil/}]:-}
    if [ -z "$layer" ]; then
      echo "$file: an installed header with no layer: add it to vigil_header in $0"
      bad=1
      continue
    fi
  else
    layer=$(cut -d/ -f2 <<<"$file")
  fi
  inc=$(sed -E 's/^#include ["<]([^">]*)[">].*/\1/' <<<"$text")
  target=${inc%%/*}
  if [ "$target" = vigil ]; then
    target=${vigil_header[${inc#vigil/}]:-}
    if [ -z "$target" ]; then
      echo "$file:$line: includes $inc, which is not an installed header"
      bad=1
      continue
    fi
    [ "$target" = base ] && continue  # below every layer
  fi
  [[ " ${below[$layer]:-} " == *" $target "* ]] && continue
  [[ " ${allowed_exceptions[*]/%/;} " == *" $file $inc;"* ]] && continue
  echo "$file:$line: layer $layer includes $inc, a layer above it"
  bad=1
done < <(git grep -nE '^#include ["<](util|wire|tcp|stack|link|posix|packetdrill|api|sim|analyze|conform|cli|vigil)/' -- \
  'src/*/*.cpp' 'src/*/*.hpp' 'include/vigil/*.hpp')
[ "$bad" = 0 ] && echo "layers: no include points up a layer"
exit "$bad"
