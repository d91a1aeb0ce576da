// Issue 21's churn for one JavaScript CRDT library (bench/crdt_bench.cpp runs ours on the same workloads.conf):
// CHURN_OPERATIONS spawns and despawns round-robin over REPLICAS replicas keeping CHURN_LIVE live (a spawn sets
// a position), each operation its own transaction, every replica's edits since the last exchange sent to the
// others every CHURN_EXCHANGE_EVERY operations; stops at PHASE_CAP_SECONDS. Reports the final document size, and
// after compaction where the library has one.
//
//   node --expose-gc churn.mjs --library yjs|loro|automerge [--placement LABEL] [--workloads FILE]
import { canonical, loadLibrary, now, progress, reporter, workloads } from './common.mjs';

const w = workloads();
const library = await loadLibrary();
const report = reporter('crdt', library);

const replicas = [], live = [];
for (let id = 1; id <= w.replicas; ++id) {
  replicas.push(library.replica(id));
  live.push([]);
  library.begin(replicas[id - 1]);
}
const position = new TextEncoder().encode('spawned at the origin');
const exchange = () => {
  const deltas = replicas.map((replica) => library.end(replica));
  deltas.forEach((delta, from) => replicas.forEach((to, i) => { if (i !== from) library.apply(to, delta); }));
  replicas.forEach((replica) => library.begin(replica));
};

const start = now();
let operations = 0, spawned = 0;
for (; operations < w.churn_operations; ++operations) {
  if (operations % w.churn_exchange_every === w.churn_exchange_every - 1) {
    exchange();
    if (now() - start > w.phase_cap_seconds * 1000) break;
  }
  const who = operations % w.replicas;
  const mine = live[who];
  if (mine.length < Math.floor(w.churn_live / w.replicas)) {
    const key = `r${who}-${spawned++}`;
    library.edit(replicas[who], (editor) => editor.spawn(key, [['c0', position]]));
    mine.push(key);
  } else {
    const victim = operations % mine.length;
    library.edit(replicas[who], (editor) => editor.despawn(mine[victim]));
    mine[victim] = mine[mine.length - 1];
    mine.pop();
  }
  if (operations % 20000 === 0 && operations) progress(`${library.name}: ${operations} operations`);
}
exchange();
const seconds = (now() - start) / 1000;
const state = library.state(replicas[0]);
const same = replicas.every((replica) => canonical(library.state(replica)) === canonical(state));
report('churn_operations_done', operations, 'operations', w.churn_operations);
report('churn_seconds', seconds, 's', operations);
report('churn_live_entities', Object.keys(state).length, 'entities', operations);
report('churn_snapshot_bytes', library.snapshot(replicas[0]).length, 'bytes', operations);
const compacted = library.compacted(replicas[0]);
if (compacted) report('churn_compacted_snapshot_bytes', compacted.length, 'bytes', operations);
report('churn_converged', same ? 1 : 0, 'bool', operations);
progress(`${library.name}: ${operations} operations in ${seconds.toFixed(1)} s`);
