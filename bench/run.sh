#!/usr/bin/env bash
# Runs every benchmark side by side on loopback, ours and each peer in the same CPU placement: both processes on
# one core (taskset -c 0), then one core each (-c 0 / -c 1). Results, one JSON object per line, go to
# build-bench/bench/results.jsonl; a summary with ratios is printed at the end (bench/summarize.py).
# How each peer waits and what bound each sender keeps: docs/PERFORMANCE.md, "Same conditions for every peer".
# Environment: BENCH_ONLY="pingpong rate" to run a subset (pingpong throughput rate lossy clients cubes
# server-cost convergence soak hostile arena rollback metrics forge ice p2p voice websocket compression wan crdt
# assets browser; wan-budget runs only the WAN's replication budget run, which wan includes; server-sweep, the
# replication server's clients x entities table, runs only when named).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=build-bench/bench/eustress-bench
out=build-bench/bench/results.jsonl
work=$(mktemp -d)
mkdir -p "$(dirname "$out")"
: > "$out"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

# Prints a section's title with the load average, so a run on a busy machine says so in its log.
section() { echo "$1 (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2; }

wanted() { [[ -z "${BENCH_ONLY:-}" || " $BENCH_ONLY " == *" $1 "* ]]; }

# run PEER BENCH PLACEMENT SERVER_CPU CLIENT_CPU SIZE COUNT [RELAY_LOSS_PERCENT RELAY_ONE_WAY_MS]
# CC (environment) picks our congestion controller; it is echoed into the placement label when not the library's
# default (bbr2).
run() {
  local peer=$1 bench=$2 placement=$3 server_cpu=$4 client_cpu=$5 size=$6 count=$7
  local cc=${CC:-bbr2} cc_args=()
  [[ "$peer" == eustress && "$cc" != bbr2 ]] && placement="$placement+$cc"
  # Ours runs $CC; kernel TCP its own default, cubic (TCP_CC picks another: the kernel has no bbr2); ENet and raw
  # UDP have none.
  case "$peer" in
    eustress) cc_args=(--cc "$cc") ;;
    tcp) cc_args=(--cc "${TCP_CC:-cubic}") ;;
  esac
  local rendezvous="$work/$peer-$bench-$placement-$size.rv" relay_args=()
  rm -f "$rendezvous"
  echo "  $bench $peer size=$size count=$count [$placement]" >&2
  taskset -c "$server_cpu" "$bin" "$peer" --role server --bench "$bench" --size "$size" --count "$count" \
    --placement "$placement" --rendezvous "$rendezvous" "${cc_args[@]}" >/dev/null &
  local server=$!
  pids+=("$server")
  if [[ $# -ge 9 ]]; then
    local relay_file="$rendezvous.relay"
    "$bin" relay --role relay --rendezvous "$rendezvous" --relay "$relay_file" --count "$8" --size "$9" &
    local relay=$!
    pids+=("$relay")
    for _ in $(seq 500); do [[ -s "$relay_file" ]] && break; sleep 0.01; done
    relay_args=(--relay "127.0.0.1:$(cat "$relay_file")")
  fi
  timeout "${CLIENT_TIMEOUT:-300}" taskset -c "$client_cpu" "$bin" "$peer" --role client --bench "$bench" --size "$size" --count "$count" \
    --placement "$placement" --rendezvous "$rendezvous" "${cc_args[@]}" "${relay_args[@]}" >>"$out" \
    || echo "  ($peer $bench failed or timed out)" >&2
  sleep 0.2
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
  [[ -n "${relay:-}" ]] && { kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null; unset relay; }
}

placements=("same-core 0 0" "two-cores 0 1")

if wanted pingpong; then
  section "1. round trip of a 64-byte unreliable message"
  for placement in "${placements[@]}"; do
    for peer in eustress enet udp tcp; do run "$peer" pingpong $placement 64 20000; done
  done
fi
if wanted throughput; then
  section "2. reliable ordered throughput"
  for placement in "${placements[@]}"; do
    for size in 1024 1048576; do
      for peer in eustress enet tcp; do run "$peer" throughput $placement "$size" 0; done
    done
  done
fi
if wanted rate; then
  section "3. small-message rate (32-byte unreliable, 200,000 messages)"
  for placement in "${placements[@]}"; do
    for peer in eustress enet udp; do run "$peer" rate $placement 32 200000; done
  done
fi
if wanted lossy; then
  section "4. 10,000 reliable 256-byte messages through 2% loss and 40 ms RTT (conditioning relay)"
  for peer in eustress enet; do run "$peer" lossy two-cores 0 1 256 10000 2 20; done
  CC=cubic run eustress lossy two-cores 0 1 256 10000 2 20
fi
if wanted clients; then
  section "5. clients connecting to one server, 64 handshakes in flight: 10,000 of ours (then resumed), 4,000 ENet (its 4,095-peer host)"
  CLIENT_TIMEOUT=900 run eustress clients two-cores 0 1 0 10000
  run enet clients two-cores 0 1 0 4000
  echo "   server CPU per handshake and heap per idle connection in memory (one core), and the crypto alone" >&2
  taskset -c 0 build-bench/bench/eustress-bench-handshake --clients 1000 --placement one-core >>"$out"
  echo "   idle server update with 1,000 clients" >&2
  build-bench/bench/eustress-bench-server-update 1000 >>"$out"
fi

replication=build-bench/bench/eustress-bench-replication
if wanted cubes; then
  section "6. replication: the cube scene at 60 snapshots/s, 100 ms RTT, 2% loss (virtual time, one core)"
  taskset -c 0 "$replication" cubes --seconds 60 --placement one-core >>"$out"
fi
if wanted server-cost; then
  section "7. replication: server ms per tick, 100 clients, 10,000 entities (clients in a second process)"
  taskset -c 0 "$replication" server-cost --seconds 10 --placement same-core --clients-cpu 0 >>"$out"
  taskset -c 0 "$replication" server-cost --seconds 10 --placement two-cores --clients-cpu 1 --workers 1 >>"$out"
  taskset -c 0,1 "$replication" server-cost --seconds 10 --placement two-workers --clients-cpu 1 --workers 2 >>"$out"
  # Issue 19's scale target: 500 clients x 100,000 entities at 60 Hz on this machine's two cores, the clients'
  # process beside the server's two workers (about 90 s with the handshakes).
  taskset -c 0,1 "$replication" server-cost --seconds 5 --clients 500 --entities 100000 --workers 2 --clients-cpu 1 \
    --placement two-workers-500x100000 >>"$out"
  # The same scene in one process over the in-memory network and a fake clock: no load reaches the tick through
  # late acknowledgements, and its fingerprint tells whether two builds sent the same bytes.
  taskset -c 0 "$replication" server-cost-virtual --seconds 5 --workers 1 --placement virtual >>"$out"
fi
# The growth table (clients x entities; 3 s per cell, ~25 minutes on a loaded machine): only when named,
# BENCH_ONLY=server-sweep.
if [[ " ${BENCH_ONLY:-} " == *" server-sweep "* ]]; then
  section "7b. replication: server ms per tick and memory by clients x entities (one core, clients on the other)"
  for clients in 10 100 500; do
    for entities in 1000 10000 100000; do
      taskset -c 0 "$replication" server-cost --seconds 3 --clients "$clients" --entities "$entities" --workers 1 \
        --placement "sweep-${clients}x${entities}" --clients-cpu 1 >>"$out"
    done
  done
fi
if wanted convergence; then
  section "8. replication: ticks to converge at 20% loss, 100 ms RTT (20 seeds)"
  taskset -c 0 "$replication" convergence --runs 20 --placement one-core >>"$out"
fi

if wanted soak; then
  section "9. soak: 500 bot clients for 10 minutes against one server (server on CPU 0, bots on CPU 1)"
  build-bench/bench/eustress-bench-soak --clients 500 --seconds 600 --warm-up 60 \
    --samples build-bench/bench/soak-samples.csv >>"$out"
  python3 bench/plot_series.py build-bench/bench/soak-samples.csv build-bench/bench/soak.svg \
    --left server_rss_kib/1024:#c0392b:resident --left "heap_in_use_kib/1024:#2980b9:live heap" \
    --right clients:#27ae60:clients --title "server memory, MiB"
fi
if wanted hostile; then
  section "10. ten players while eustress-hostile attacks the server (20 s quiet, 20 s attacked; text, not JSON)"
  for rate in 3000 30000; do
    echo "   rate $rate, same core" >&2
    EUSTRESS_HOSTILE_SECONDS=20 EUSTRESS_HOSTILE_RATE=$rate taskset -c 0 \
      build-bench/tests/eustress_integration_tests --gtest_filter='HostileTraffic*' | grep -E "sent|saw|quiet|attacked" >&2
    echo "   rate $rate, attacker on its own core" >&2
    EUSTRESS_HOSTILE_SECONDS=20 EUSTRESS_HOSTILE_RATE=$rate EUSTRESS_HOSTILE_CPU=1 taskset -c 0 \
      build-bench/tests/eustress_integration_tests --gtest_filter='HostileTraffic*' | grep -E "sent|saw|quiet|attacked" >&2
  done
fi

arena=build-bench/examples/arena/eustress-arena
if wanted arena; then
  section "11. prediction in examples/arena: 8 bots, 100 ms RTT + 2% loss and 30 ms RTT + 1% loss, with and without prediction"
  for link in "--latency-ms 50 --loss 0.02" "--latency-ms 15 --loss 0.01"; do
    taskset -c 0 "$arena" --seconds 30 --json $link >>"$out"
    taskset -c 0 "$arena" --seconds 30 --json --no-predict $link >>"$out"
    taskset -c 0 "$arena" --seconds 30 --json --no-rotation-smoothing $link >>"$out"
  done
fi
if wanted rollback; then
  section "12. rollback cost: 100 entities, 10 ticks each"
  taskset -c 0 build-bench/bench/eustress-bench-prediction --placement one-core >>"$out"
fi
if wanted metrics; then
  section "13. metrics: ns per update (ours, a plain atomic, a mutex-and-map registry), one core and two"
  taskset -c 0 build-bench/bench/eustress-bench-metrics --placement same-core >>"$out"
  taskset -c 0,1 build-bench/bench/eustress-bench-metrics --placement two-cores >>"$out"
fi
if wanted crdt; then
  section "13b. persistent worlds: the CRDT document, 10,000 entities x 5 components on 3 replicas, partition, churn, map sets, sequence; then Yjs, Loro and Automerge on the same workloads (bench/crdt/)"
  taskset -c 0 build-bench/bench/eustress-bench-crdt --placement one-core --workloads bench/crdt/workloads.conf >>"$out"
  # The anchors on the same workloads.conf, each in its own node process, pinned the same way; each phase stops at
  # the file's time cap (about 8 minutes for the three on a quiet machine).
  if [[ ! -d bench/crdt/node_modules/yjs ]]; then
    (cd bench/crdt && npm ci --no-audit --no-fund >&2) || echo "   (npm ci failed: no Yjs/Loro/Automerge figures)" >&2
  fi
  if [[ -d bench/crdt/node_modules/yjs ]]; then
    for library in yjs loro automerge; do
      for workload in world map_sets churn sequence; do
        echo "   $library $workload (taskset -c 0)" >&2
        timeout 300 taskset -c 0 node --expose-gc "bench/crdt/$workload.mjs" --library "$library" \
          --placement one-core >>"$out" || echo "   ($library $workload failed or timed out)" >&2
      done
    done
  fi
  section "13c. persistent worlds across servers: JetStream publish-to-apply between two replicas, heal after a 10 s partition (10,000 entities)"
  build-bench/bench/eustress-bench-crdt-sync --nats-server "$(command -v nats-server)" --placement default >>"$out"
fi
if wanted forge; then
  section "14. Forge: allocation latency at 100/s on a 3-member etcd, host death, scale-up, matchmaking"
  python3 bench/forge_bench.py build-bench >>"$out"
fi

if wanted ice; then
  section "15. P2P: ICE alone on loopback, 20 runs each: libnice (ours; its default Ta of 20 ms, then 10 and 5) and libjuice (node-datachannel)"
  if [[ ! -d bench/p2p/node_modules/node-datachannel ]]; then
    (cd bench/p2p && npm ci --no-audit --no-fund >&2) || echo "   (npm ci failed: no libjuice figures)" >&2
  fi
  for placement in "same-core 0" "two-cores 0,1"; do
    read -r label cpus <<<"$placement"
    echo "   $label (taskset -c $cpus)" >&2
    for ta in 0 10 5; do
      suffix=""; [[ $ta != 0 ]] && suffix="+ta${ta}ms"
      taskset -c "$cpus" build-bench/bench/eustress-bench-ice --runs 20 --check-pacing-ms "$ta" \
        --placement "$label$suffix" >>"$out"
    done
    taskset -c "$cpus" node bench/p2p/ice_bench.mjs --runs 20 --placement "$label" >>"$out"
  done
fi
if wanted p2p; then
  section "16. P2P: paths per NAT pair, direct/TURN/server relay, failover (NAT lab, root), a mesh of 8 on loopback"
  if [[ $(id -u) -eq 0 ]]; then
    python3 bench/p2p_bench.py build-bench --logs build-bench/bench/p2p-logs >>"$out" || echo "   (p2p_bench.py failed)" >&2
  else
    echo "   (the NAT lab needs root: only the mesh of 8 on loopback)" >&2
    python3 bench/p2p_bench.py build-bench --only mesh >>"$out" || echo "   (p2p_bench.py failed)" >&2
  fi
fi

if wanted voice; then
  section "17. voice: server CPU per forwarded stream with 100 listeners (1 and 4 speakers), bandwidth per speaker with and without DTX (virtual time, one core)"
  taskset -c 0 build-bench/bench/eustress-bench-voice --seconds 10 --placement one-core >>"$out"
fi
if wanted websocket; then
  section "18. WebSocket fallback: median RTT (unreliable, reliable) and reliable throughput, QUIC over WebSocket vs over UDP (one process, one core)"
  taskset -c 0 build-bench/bench/eustress-bench-websocket 2000 64 >>"$out"
fi

if wanted compression; then
  section "18b. per-channel compression on 30,000 reliable game messages (chat, events, inventory): bytes saved and ns per message, by level and dictionary (one core)"
  taskset -c 0 build-bench/bench/eustress-bench-compression 30000 >>"$out"
fi

if wanted wan; then
  section "19. the WAN delay line's self-test: delay, jitter, loss, bursts and a rate cap measured across two namespaces (root)"
  if [[ $(id -u) -eq 0 ]]; then
    python3 tests/integration/delay_line_selftest_test.py build-bench --bench >>"$out" || echo "   (the delay line is off)" >&2
  else
    echo "   (the WAN lab needs root)" >&2
  fi
fi

if wanted wan; then
  section "20. the seed's QUIC-vs-TCP claims on the WAN: bulk and 10,000 messages, ours (cubic, bbr2) vs kernel TCP (cubic, bbr) vs ENet at 40 ms RTT with 0 and 2% loss, and 100 ms with 2% loss and a 20 Mbit/s cap (root)"
  if [[ $(id -u) -eq 0 ]]; then
    python3 bench/wan_bench.py build-bench >>"$out" || echo "   (wan_bench.py failed)" >&2
  fi
fi

if wanted wan || wanted wan-budget; then
  section "20b. the replication budget following the path on the WAN: the cube game across the delay line (100 ms RTT), 2 Mbit/s dropping to 300 kbit/s for 8 s and back, adaptive vs the tier's budget alone (root; about a minute)"
  if [[ $(id -u) -eq 0 ]]; then
    timeout 300 python3 bench/wan_budget_bench.py build-bench --csv build-bench/bench/wan-budget >>"$out" \
      || echo "   (wan_budget_bench.py failed or timed out)" >&2
  fi
fi

if wanted assets; then
  section "21. assets: a 256 MiB release from nginx against curl (HTTP/1.1, HTTP/2, ranges; one core and two), first byte, delta updates"
  python3 bench/assets_bench.py build-bench >>"$out" || echo "   (assets_bench.py failed)" >&2
  if [[ $(id -u) -eq 0 ]]; then  # the delay line's namespaces
    python3 bench/assets_wan_bench.py build-bench >>"$out" || echo "   (assets_wan_bench.py failed)" >&2
  fi
  section "21b. assets: the origin alone against the origin and two peers of a mesh, and curl (full speed, 1 MB/s)"
  python3 bench/assets_peers_bench.py build-bench >>"$out" || echo "   (assets_peers_bench.py failed)" >&2
fi

if wanted browser; then
  section "22. the browser client in headless chromium: snapshots decoded per second and time per snapshot (decoder, and the whole replication mirror on 256 moving transforms)"
  if scripts/web-setup.sh && build-bench/tests/browser_vectors write web/test/vectors.json "$work/vectors"; then
    (cd web && node tools/browser_bench.mjs /usr/bin/chromium "$work/vectors" 2) >>"$out" || echo "   (browser_bench.mjs failed)" >&2
  else
    echo "   (web/ or the vectors could not be built)" >&2
  fi
fi

echo "finished (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
python3 bench/summarize.py "$out"
