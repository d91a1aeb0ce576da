#!/usr/bin/env bash
# examples/arena end to end: 8 bots at 100 ms RTT and 2% loss for 12 virtual seconds, with prediction and without.
# With it, a direction change shows at once, inputs reach the server within the seed's 50 ms (less the link's
# one-way latency), the server's knockbacks cause rollbacks that are corrected, and remote players are interpolated.
# Usage: arena_test.sh BUILD_DIR
set -euo pipefail
arena=$1/examples/arena/eustress-arena
[[ -x "$arena" ]] || { echo "no $arena (examples not built)"; exit 1; }

value() { # FILE METRIC -> the number
  sed -n "s/.*\"metric\": \"$2\", \"value\": \([0-9.]*\).*/\1/p" "$1"
}
check() { # DESCRIPTION EXPRESSION
  if awk "BEGIN { exit !($2) }"; then echo "ok: $1 ($2)"; else echo "FAILED: $1 ($2)"; failed=1; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$arena" --seconds 12 --json > "$work/predicted"
"$arena" --seconds 12 --json --no-predict > "$work/waiting"
failed=0
check "inputs reach the server in time" "$(value "$work/predicted" input_to_server_median) < 50"
check "a press shows at once with prediction" "$(value "$work/predicted" press_to_visible_median) < 1"
check "and only after a round trip without" "$(value "$work/waiting" press_to_visible_median) > 100"
check "knockbacks are rolled back" "$(value "$work/predicted" rollbacks_per_second) > 0.2"
check "rollbacks re-simulate the ticks in flight" "$(value "$work/predicted" resimulated_per_rollback) >= 4"
check "remote players are interpolated" "$(value "$work/predicted" extrapolated_frames) < 5"
exit $failed
