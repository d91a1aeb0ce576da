// Issue 21's "sequence type where order matters", for one JavaScript CRDT library's list (Yjs Y.Array, Loro
// LoroList, Automerge list; bench/crdt_bench.cpp runs ours on the same workloads.conf): SEQUENCE_INSERTS inserts
// of 8 bytes at random positions, round-robin over REPLICAS replicas, each insert its own transaction, every
// replica's inserts since the last exchange sent to the others every SEQUENCE_EXCHANGE_EVERY inserts; stops at
// PHASE_CAP_SECONDS. Reports inserts/s, the merged list's size and whether the replicas hold the same order.
//
//   node --expose-gc sequence.mjs --library yjs|loro|automerge [--placement LABEL] [--workloads FILE]
import { canonical, loadLibrary, now, progress, reporter, workloads } from './common.mjs';

const w = workloads();
const library = await loadLibrary();
const report = reporter('crdt', library);

const replicas = [];
for (let id = 1; id <= w.replicas; ++id) {
  replicas.push(library.replica(id));
  library.begin(replicas[id - 1]);
}
const exchange = () => {
  const deltas = replicas.map((replica) => library.end(replica));
  deltas.forEach((delta, from) => replicas.forEach((to, i) => { if (i !== from) library.apply(to, delta); }));
  replicas.forEach((replica) => library.begin(replica));
};

let seed = 12345; // a fixed linear congruential sequence, so every run draws the same positions
const random = (below) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % below; };
const start = now();
let inserts = 0;
for (; inserts < w.sequence_inserts; ++inserts) {
  if (inserts % w.sequence_exchange_every === w.sequence_exchange_every - 1) {
    exchange();
    if (now() - start > w.phase_cap_seconds * 1000) break;
  }
  const replica = replicas[inserts % w.replicas];
  const value = new Uint8Array(new Float64Array([inserts]).buffer);
  const index = random(library.length(replica) + 1);
  library.edit(replica, (editor) => editor.insertAt(index, value));
  if (inserts % 20000 === 0 && inserts) progress(`${library.name}: ${inserts} inserts`);
}
exchange();
const seconds = (now() - start) / 1000;
const order = canonical(library.list(replicas[0]));
report('sequence_inserts_done', inserts, 'inserts', w.sequence_inserts);
report('sequence_inserts_per_second', inserts / seconds, 'inserts/s', inserts);
report('sequence_snapshot_bytes', library.snapshot(replicas[0]).length, 'bytes', inserts);
report('sequence_converged', replicas.every((r) => canonical(library.list(r)) === order) ? 1 : 0, 'bool', inserts);
progress(`${library.name}: ${inserts} inserts in ${seconds.toFixed(1)} s`);
