#!/usr/bin/env bash
# examples/arena end to end: 8 bots at 100 ms RTT and 2% loss for 8 virtual seconds, with prediction and without,
# and once more with a longer input delay. With prediction, a direction change shows at once, inputs reach the
# server within the seed's 50 ms (less the link's one-way latency), the server's knockbacks cause rollbacks that are
# corrected (a knock's turn too, drawn as a turn), and remote players are interpolated. Tick sync settles within a second of connecting, and three more
# ticks of ClientConfig::input_delay make inputs reach the server 50 ms earlier than needed. Short enough to run
# under ASan (`make asan` runs it).
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
"$arena" --seconds 8 --warm-up 2 --json > "$work/predicted"
"$arena" --seconds 8 --warm-up 2 --json --no-predict > "$work/waiting"
"$arena" --seconds 5 --warm-up 2 --json --input-delay 5 > "$work/delayed"
failed=0
check "inputs reach the server in time" "$(value "$work/predicted" input_to_server_median) < 50"
check "tick sync settles within a second of connecting" "$(value "$work/predicted" tick_sync_settle) < 1000"
check "three more ticks of input delay: inputs wait 50 ms longer" \
  "$(value "$work/delayed" input_to_server_median) - $(value "$work/predicted" input_to_server_median) > 42 && \
   $(value "$work/delayed" input_to_server_median) - $(value "$work/predicted" input_to_server_median) < 58"
check "a press shows at once with prediction" "$(value "$work/predicted" press_to_visible_median) < 1"
check "and only after a round trip without" "$(value "$work/waiting" press_to_visible_median) > 100"
check "knockbacks are rolled back" "$(value "$work/predicted" rollbacks_per_second) > 0.2"
check "rollbacks re-simulate the ticks in flight" "$(value "$work/predicted" resimulated_per_rollback) >= 4"
check "remote players are interpolated" "$(value "$work/predicted" extrapolated_frames) < 5"
check "a knock's turn is drawn as a turn, not a jump" "$(value "$work/predicted" largest_rotation_step) < 15"
check "and the drawn facing trails the predicted one while it turns" "$(value "$work/predicted" rotation_offset) > 0.5"
exit $failed
