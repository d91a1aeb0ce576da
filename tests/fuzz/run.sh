#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, starting from the checked-in seed corpus (copied, so new
# inputs found do not dirty the tree). Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
work=build-fuzz/corpus
mkdir -p "$work"
failed=0
for target in build-fuzz/tests/fuzz/*_fuzz; do
  name=$(basename "$target")
  mkdir -p "$work/$name"
  cp -n tests/fuzz/corpus/"$name"/* "$work/$name/" 2>/dev/null || true
  echo "== $name: ${seconds}s"
  log="$work/$name.log"
  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
  if "$target" "${dict[@]}" -max_total_time="$seconds" -max_len=2048 -print_final_stats=1 -artifact_prefix="$work/$name-" \
      "$work/$name" >"$log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log"
  else
    failed=1
    grep -E "ERROR|SUMMARY|artifact|#[0-9]+ 0x" "$log" | head -30
    echo "$name FAILED (full log: $log)"
  fi
done
[[ $failed -eq 0 ]] && echo "all fuzz targets ran ${seconds}s each without a crash"
exit $failed
