// Issue 21's concurrent map sets (the "C1.2" shape) for one JavaScript CRDT library (bench/crdt_bench.cpp runs
// ours on the same workloads.conf): one map entry created on replica 1 and sent to all; then MAP_WRITERS replicas
// each set it MAP_SETS times, each set its own transaction (an application writing as values change), and send
// what they did as one delta; replica 1 merges the other deltas. A writer stops at its share of
// PHASE_CAP_SECONDS; the sets reached are reported.
//
//   node --expose-gc map_sets.mjs --library yjs|loro|automerge [--placement LABEL] [--workloads FILE]
import { loadLibrary, now, progress, reporter, workloads } from './common.mjs';

const w = workloads();
const library = await loadLibrary();
const report = reporter('crdt', library);
const share = (w.phase_cap_seconds * 1000) / w.map_writers;

const replicas = [];
for (let id = 1; id <= w.map_writers; ++id) replicas.push(library.replica(id));
library.begin(replicas[0]);
library.edit(replicas[0], (editor) => editor.spawn('map', [['c0', new Uint8Array(8)]]));
const created = library.end(replicas[0]);
for (let i = 1; i < replicas.length; ++i) library.apply(replicas[i], created);

let sets = 0;
const deltas = [];
const start = now();
for (let who = 0; who < replicas.length; ++who) {
  const began = now();
  const value = new Uint8Array(8);
  const view = new DataView(value.buffer);
  library.begin(replicas[who]);
  for (let i = 0; i < w.map_sets && (i % 1000 !== 0 || now() - began < share); ++i, ++sets) {
    view.setBigUint64(0, BigInt(who * w.map_sets + i), true);
    library.edit(replicas[who], (editor) => editor.set('map', 'c0', value.slice()));
  }
  deltas.push(library.end(replicas[who]));
  progress(`${library.name}: writer ${who + 1} done, ${sets} sets in ${(now() - start).toFixed(0)} ms`);
}
const writing = now() - start;
const mergeStart = now();
for (let from = 1; from < replicas.length; ++from) library.apply(replicas[0], deltas[from]);
const merging = now() - mergeStart;
report('map_sets_done', sets, 'sets', w.map_writers * w.map_sets);
report('map_sets_write_and_encode_seconds', writing / 1000, 's', sets);
report('map_sets_merge_nine_into_one_seconds', merging / 1000, 's', sets);
report('map_sets_total_seconds', (writing + merging) / 1000, 's', sets);
report('map_sets_per_second', sets / ((writing + merging) / 1000), 'sets/s', sets);
report('map_sets_merged_snapshot_bytes', library.snapshot(replicas[0]).length, 'bytes', sets);
progress(`${library.name}: ${sets} sets, merged in ${merging.toFixed(0)} ms`);
