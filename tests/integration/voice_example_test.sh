#!/usr/bin/env bash
# examples/voice end to end, short: 3 bots speak espeak-ng sentences to each other through an in-process server on
# loopback UDP in real time, its sends at 5% loss and 10 ms of jitter, for 4 seconds. The per-second figures must be
# sane: frames decoded, added latency at least the codec's and bounded (27.5 ms expected; on a loaded machine a
# stalled loop delivers frames late and the buffers grow to cover it, so the bound is loose), frames concealed
# about the loss rate, and a payload rate near the codec's 24 kbit/s. Then 3 seconds over the mesh: every pair on a
# direct ICE path on loopback, and no voice through the server. Runs under ASan too.
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
check "added latency median bounded every second (27.5 ms expected at 10 ms jitter)" "$highest < 250"
check "some frames concealed at 5% loss, not most" "$concealed > 0 && $concealed < 0.3 * $decoded"
check "payload per talking bot near the codec's 24 kbit/s" "$payload > 10 && $payload < 40"
check "uplink per bot on the wire bounded" "$uplink > 5 && $uplink < 300"
grep -q "server: .* 0 refused" "$work/out" || { echo "FAILED: the server refused voice packets"; failed=1; }

"$voice" --mesh --seconds 3 --bots 3 > "$work/mesh"
cat "$work/mesh"
mesh_rows=$(awk '$1 ~ /^[0-9]+$/ && NF == 10' "$work/mesh")
read -r decoded lowest <<< "$(awk '{ d += $3; if ($4 < n || NR == 1) n = $4 } END { print d, n }' <<< "$mesh_rows")"
check "over the mesh: frames decoded" "$decoded > 300"
check "over the mesh: added latency at least the codec's 12.5 ms" "$lowest >= 12"
grep -Eq "^mesh: [1-9][0-9]* copies sent to peers, 0 frames through the server" "$work/mesh" \
  || { echo "FAILED: over the mesh, voice went through the server"; failed=1; }
grep -q "^server: 0 voice packets received" "$work/mesh" || { echo "FAILED: the server received voice"; failed=1; }
exit $failed
