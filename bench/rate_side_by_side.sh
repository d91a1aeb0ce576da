#!/usr/bin/env bash
# Row 3 (32-byte unreliable flood) side by side: several eustress-bench builds of ours and ENet, interleaved round by
# round, pinned as bench/run.sh pins them (server on CPU 0; client on CPU 0 same-core, CPU 1 two-cores). Each process
# runs under `perf stat -e task-clock`, so beside the delivered rate (wall clock) every line gives CPU per message:
# the client's per message sent, the server's per message delivered (start-up and handshake included, the same for
# every peer; BASE_COUNT below cancels them). The load average is printed with each line: read the CPU columns first
# on a shared machine.
#
#   [BASE_COUNT=N] bench/rate_side_by_side.sh ROUNDS COUNT LABEL=BINARY:PEER ...
#   e.g. bench/rate_side_by_side.sh 3 200000 main=/tmp/main-bench:eustress new=build-bench/bench/eustress-bench:eustress \
#        enet=build-bench/bench/eustress-bench:enet
set -uo pipefail
rounds=$1 count=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The task-clock of one perf stat output file, in milliseconds.
task_ms() { awk -F, '/task-clock/ {print $1; exit}' "$1"; }

# run_one LABEL BIN PEER PLACEMENT CLIENT_CPU N: one pair; prints "delivered_rate fraction client_ms server_ms".
run_one() {
  local label=$1 bin=$2 peer=$3 name=$4 client_cpu=$5 n=$6
  local rv="$work/$label-$name-$n-$RANDOM.rv"
  taskset -c 0 perf stat -x, -e task-clock -o "$rv.server.perf" "$bin" "$peer" --role server --bench rate \
    --size 32 --count "$n" --placement "$name" --rendezvous "$rv" --cc bbr2 >/dev/null 2>&1 &
  local server=$!
  timeout 120 taskset -c "$client_cpu" perf stat -x, -e task-clock -o "$rv.client.perf" "$bin" "$peer" \
    --role client --bench rate --size 32 --count "$n" --placement "$name" --rendezvous "$rv" --cc bbr2 \
    >"$rv.out" 2>/dev/null
  # The server leaves once its client has gone (bounded: 10 s, then it is stopped).
  for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  local rate fraction
  rate=$(grep -o '"delivered_rate", "value": [0-9.]*' "$rv.out" | awk '{print $NF}')
  fraction=$(grep -o '"delivered_fraction", "value": [0-9.]*' "$rv.out" | awk '{print $NF}')
  echo "${rate:-0} ${fraction:-0} $(task_ms "$rv.client.perf") $(task_ms "$rv.server.perf")"
}

# With BASE_COUNT set, each pair also runs BASE_COUNT messages right after, and CPU per message is the difference
# of the two runs over the difference of messages (start-up and handshake cancel); otherwise the whole process's.
base=${BASE_COUNT:-0}
echo "round placement label delivered_M/s fraction client_ns/msg_sent server_ns/msg_delivered load1"
for round in $(seq "$rounds"); do
  for placement in "same-core 0" "two-cores 1"; do
    read -r name client_cpu <<<"$placement"
    for entry in "$@"; do
      label=${entry%%=*} spec=${entry#*=}
      bin=${spec%:*} peer=${spec##*:}
      read -r rate fraction client_ms server_ms <<<"$(run_one "$label" "$bin" "$peer" "$name" "$client_cpu" "$count")"
      base_line="0 0 0 0"
      [[ "$base" -gt 0 ]] && base_line=$(run_one "$label" "$bin" "$peer" "$name" "$client_cpu" "$base")
      read -r _ base_fraction base_client_ms base_server_ms <<<"$base_line"
      awk -v r="$round" -v p="$name" -v l="$label" -v rate="$rate" -v f="$fraction" -v c="$client_ms" \
        -v s="$server_ms" -v n="$count" -v bn="$base" -v bf="$base_fraction" -v base_c="$base_client_ms" \
        -v base_s="$base_server_ms" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
          delivered = f * n - bf * bn
          printf "%s %s %s %.2f %.3f %.0f %.0f %s\n", r, p, l, rate / 1e6, f, (c - base_c) * 1e6 / (n - bn),
                 (delivered > 0 ? (s - base_s) * 1e6 / delivered : 0), load }'
    done
  done
done
