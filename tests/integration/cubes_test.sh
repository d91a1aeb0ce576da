#!/usr/bin/env bash
# examples/cubes end to end, short: the calm 901-cube scene replicated to two clients and a naive peer through
# 100 ms RTT and 2% loss for 4 virtual seconds. It must run clean (under ASan too: `make asan` runs this), stay
# within the seed's per-client budget, and reconstruct the scene to millimetres once the initial sync is over.
# Usage: cubes_test.sh BUILD_DIR
set -euo pipefail
cubes=$1/examples/cubes/eustress-cubes
[[ -x "$cubes" ]] || { echo "no $cubes (examples not built)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cubes" --seconds 4 --clients 2 --calm > "$work/out"
cat "$work/out"
# The last second's row: sec moving kbps/cl naive-offered naive-sent naive-ok pos-err-mm rot-err-deg in-1mm lag
last=$(awk '$1 == 4' "$work/out")
[[ -n "$last" ]] || { echo "FAILED: no report for second 4"; exit 1; }
failed=0
check() { # DESCRIPTION EXPRESSION
  if awk "BEGIN { exit !($2) }"; then echo "ok: $1 ($2)"; else echo "FAILED: $1 ($2)"; failed=1; fi
}
read -r _ _ kbps _ _ _ position_error _ _ _ <<< "$last"
check "the clients receive snapshots" "$kbps > 1"
check "within the seed's 512 kbit/s per client" "$kbps < 520"
check "positions reconstructed to millimetres" "$position_error < 5"
exit $failed
