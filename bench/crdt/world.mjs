// Issue 21's world workload for one JavaScript CRDT library (bench/crdt_bench.cpp runs ours on the same
// workloads.conf): ENTITIES x COMPONENTS built on replica 1 and sent to the others; then REPLICAS replicas each
// updating position and rotation of UPDATED_PERCENT of the entities per tick, every replica's delta applied on
// every other replica every tick, for WORLD_TICKS ticks or PHASE_CAP_SECONDS, whichever comes first; then
// PARTITION_TICKS ticks (or PARTITION_CAP_SECONDS) with the last replica cut off, and the time and bytes to converge after.
//
//   node --expose-gc world.mjs --library yjs|loro|automerge [--placement LABEL] [--workloads FILE]
import { canonical, componentBytes, loadLibrary, memoryMegabytes, now, progress, reporter, workloads } from './common.mjs';

const w = workloads();
const library = await loadLibrary();
const report = reporter('crdt', library);
const cap = w.phase_cap_seconds * 1000;
const perReplica = Math.floor((w.entities * w.updated_percent) / 100);

function build() {
  const replicas = [];
  for (let id = 1; id <= w.replicas; ++id) replicas.push(library.replica(id));
  const keys = [];
  library.begin(replicas[0]);
  library.edit(replicas[0], (editor) => {
    for (let i = 0; i < w.entities; ++i) {
      const components = [];
      for (let c = 0; c < w.components; ++c) components.push([`c${c}`, componentBytes(c, 0, i, 0)]);
      keys.push(`e${i}`);
      editor.spawn(keys[i], components);
    }
  });
  const world = library.end(replicas[0]);
  for (let i = 1; i < w.replicas; ++i) library.apply(replicas[i], world);
  return { replicas, keys };
}

// One tick; `connected[i]` false keeps replica i's deltas from the others and theirs from it.
function tick(replicas, keys, t, connected) {
  const deltas = [];
  let bytes = 0;
  for (let who = 0; who < replicas.length; ++who) {
    const first = (t * perReplica * replicas.length + who * perReplica) % keys.length;
    library.begin(replicas[who]);
    library.edit(replicas[who], (editor) => {
      for (let i = 0; i < perReplica; ++i) {
        const key = keys[(first + i) % keys.length];
        editor.set(key, 'c0', componentBytes(0, t, i, who));
        editor.set(key, 'c1', componentBytes(1, t, i, who));
      }
    });
    deltas.push(library.end(replicas[who]));
    bytes += library.bytes(deltas[who]);
  }
  for (let from = 0; from < replicas.length; ++from)
    for (let to = 0; to < replicas.length; ++to)
      if (from !== to && connected[from] && connected[to]) library.apply(replicas[to], deltas[from]);
  return bytes;
}

function converged(replicas) {
  const first = canonical(library.state(replicas[0]));
  return replicas.every((replica) => canonical(library.state(replica)) === first);
}

const empty = memoryMegabytes();
let start = now();
const { replicas, keys } = build();
report('world_build_ms', now() - start, 'ms', w.entities);
progress(`${library.name}: world built in ${(now() - start).toFixed(0)} ms`);

start = now();
let ticks = 0, bytes = 0;
const all = replicas.map(() => true);
while (ticks < w.world_ticks && now() - start < cap) {
  bytes += tick(replicas, keys, ++ticks, all);
  if (ticks % 50 === 0) progress(`${library.name}: ${ticks} ticks, ${((now() - start) / ticks).toFixed(1)} ms per tick`);
}
const seconds = (now() - start) / 1000;
const writes = ticks * perReplica * 2 * w.replicas;
report('world_ticks_run', ticks, 'ticks', w.entities);
report('world_writes_per_second', writes / seconds, 'writes/s', w.entities);
report('world_applied_writes_per_second', (writes * w.replicas) / seconds, 'writes/s', w.entities);
report('world_ms_per_tick_3_replicas', (seconds * 1000) / ticks, 'ms', w.entities);
report('world_delta_bytes_per_tick', bytes / ticks, 'bytes', w.entities);
const memory = memoryMegabytes();
report('world_heap_three_replicas', memory.heap - empty.heap, 'MB', ticks);
report('world_rss_three_replicas', memory.rss - empty.rss, 'MB', ticks);
report('world_snapshot_bytes', library.snapshot(replicas[0]).length, 'bytes', w.entities);
report('world_converged', converged(replicas) ? 1 : 0, 'bool', w.entities);
progress(`${library.name}: ${ticks} ticks, ${((seconds * 1000) / ticks).toFixed(1)} ms per tick, heap ${memory.heap.toFixed(0)} MB`);

// The partition: the last replica cut off while every replica keeps writing.
const cut = replicas.map((_, i) => i !== replicas.length - 1);
start = now();
let partitioned = 0;
while (partitioned < w.partition_ticks && now() - start < w.partition_cap_seconds * 1000) {
  tick(replicas, keys, ticks + ++partitioned, cut);
  if (partitioned % 50 === 0) progress(`${library.name}: ${partitioned} partitioned ticks`);
}
const last = replicas[replicas.length - 1];
start = now();
const toLast = library.diff(replicas[0], last);
const fromLast = library.diff(last, replicas[0]);
library.apply(last, toLast);
library.apply(replicas[0], fromLast);
let healBytes = library.bytes(toLast) + library.bytes(fromLast);
for (let i = 1; i < replicas.length - 1; ++i) {
  const missing = library.diff(last, replicas[i]);
  library.apply(replicas[i], missing);
  healBytes += library.bytes(missing);
}
const heal = now() - start;
report('partition_ticks_run', partitioned, 'ticks', w.entities);
report('partition_heal_by_state_diff', heal, 'ms', partitioned);
report('partition_heal_bytes', healBytes, 'bytes', partitioned);
report('partition_converged', converged(replicas) ? 1 : 0, 'bool', partitioned);
progress(`${library.name}: healed a ${partitioned}-tick partition in ${heal.toFixed(0)} ms`);
