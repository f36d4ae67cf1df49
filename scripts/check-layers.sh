#!/usr/bin/env bash
# Fails on an #include that points up a layer (docs/architecture.md):
#   util <- wire <- tcp <- stack <- link <- api <- sim <- conform <- cli;
#   stack <- app <- sim;
#   wire <- analyze <- conform;  wire <- analyze <- cli;
#   stack <- posix <- packetdrill
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
)
# Known, with the issue that removes them; nothing else may be added here.
allowed_exceptions=()
bad=0
while IFS=: read -r file line text; do
  layer=$(cut -d/ -f2 <<<"$file")
  inc=$(sed -E 's/^#include "([^"]*)".*/\1/' <<<"$text")
  target=${inc%%/*}
  [ "$target" = vigil ] && continue  # include/vigil/: below every layer
  [[ " ${below[$layer]:-} " == *" $target "* ]] && continue
  [[ " ${allowed_exceptions[*]/%/;} " == *" $file $inc;"* ]] && continue
  echo "$file:$line: layer $layer includes $inc, a layer above it"
  bad=1
done < <(git grep -nE '^#include "[a-z_]+/' -- 'src/*/*.cpp' 'src/*/*.hpp')
[ "$bad" = 0 ] && echo "layers: no include points up a layer"
exit "$bad"
