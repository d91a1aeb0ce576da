// Loro as its documentation advises: one LoroDoc per replica (setPeerId), the world a LoroMap of entities each a
// child LoroMap of components (setContainer); edits then doc.commit(); what travels is
// export({mode: 'update', from: version}) since the version before the edits, applied with import; a reconnecting
// replica gets export from its oplogVersion; compaction is the shallow snapshot at the current frontiers.
import { LoroDoc, LoroMap } from 'loro-crdt';
import { packageVersion } from '../common.mjs';

const version = packageVersion('loro-crdt');

function handle(replica, key) {
  let entity = replica.handles.get(key);
  if (!entity) {
    entity = replica.entities.get(key);
    replica.handles.set(key, entity);
  }
  return entity;
}

export default {
  name: 'loro-crdt',
  version,
  replica(id) {
    const doc = new LoroDoc();
    doc.setPeerId(id);
    return { doc, entities: doc.getMap('entities'), list: doc.getList('list'), handles: new Map(), since: null };
  },
  begin(replica) { replica.since = replica.doc.oplogVersion(); },
  edit(replica, fn) {
    fn({
      spawn(key, components) {
        const entity = replica.entities.setContainer(key, new LoroMap());
        for (const [component, bytes] of components) entity.set(component, bytes);
        replica.handles.set(key, entity);
      },
      set(key, component, bytes) { handle(replica, key).set(component, bytes); },
      despawn(key) { replica.entities.delete(key); replica.handles.delete(key); },
      insertAt(index, bytes) { replica.list.insert(index, bytes); },
    });
    replica.doc.commit();
  },
  end(replica) { return replica.doc.export({ mode: 'update', from: replica.since }); },
  bytes(payload) { return payload.length; },
  apply(replica, payload) { replica.doc.import(payload); },
  diff(from, to) { return from.doc.export({ mode: 'update', from: to.doc.oplogVersion() }); },
  snapshot(replica) { return replica.doc.export({ mode: 'snapshot' }); },
  compacted(replica) {
    return replica.doc.export({ mode: 'shallow-snapshot', frontiers: replica.doc.oplogFrontiers() });
  },
  state(replica) { return replica.entities.toJSON(); },
  list(replica) { return replica.list.toArray(); },
  length(replica) { return replica.list.length; },
};
