#!/usr/bin/env bash
# examples/voice end to end, short: 3 bots speak espeak-ng sentences to each other through an in-process server on
# loopback UDP in real time, its sends at 5% loss and 10 ms of jitter, for 4 seconds. The per-second figures must be
# sane: frames decoded every second, added latency within the issue's bounds plus slack for a loaded machine, frames
# concealed about the loss rate, and a payload rate near the codec's 24 kbit/s. Runs under ASan too.
# Usage: voice_example_test.sh BUILD_DIR
set -euo pipefail
voice=$1/examples/voice/eustress-voice
[[ -x "$voice" ]] || { echo "no $voice (examples not built)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$voice" --seconds 4 --bots 3 --loss 0.05 --jitter-ms 10 > "$work/out"
cat "$work/out"
failed=0
check() { # DESCRIPTION EXPRESSION
  if awk "BEGIN { exit !($2) }"; then echo "ok: $1 ($2)"; else echo "FAILED: $1 ($2)"; failed=1; fi
}
# Rows: sec talking decoded latency-median p95 buffer-ms concealed late payload/talker uplink/bot
rows=$(awk '$1 ~ /^[0-9]+$/ && NF == 10' "$work/out")
[[ $(wc -l <<< "$rows") -eq 4 ]] || { echo "FAILED: not 4 per-second rows"; exit 1; }
sums=$(awk '{ d += $3; c += $7; if ($4 > m) m = $4; if ($4 < n || NR == 1) n = $4; p += $9; u += $10 }
            END { print d, c, n, m, p / NR, u / NR }' <<< "$rows")
read -r decoded concealed lowest highest payload uplink <<< "$sums"
check "frames are decoded" "$decoded > 300"
check "added latency at least the codec's 12.5 ms" "$lowest >= 12"
check "added latency median under 80 ms every second (27.5 expected at 10 ms jitter)" "$highest < 80"
check "some frames concealed at 5% loss, not most" "$concealed > 0 && $concealed < 0.3 * $decoded"
check "payload per talking bot near the codec's 24 kbit/s" "$payload > 10 && $payload < 40"
check "uplink per bot on the wire bounded" "$uplink > 5 && $uplink < 300"
grep -q "server: .* 0 refused" "$work/out" || { echo "FAILED: the server refused voice packets"; failed=1; }
exit $failed
