// Automerge as its documentation advises: one document per replica, all cloned from one origin holding the root
// `entities` map and `list` (so replicas share them instead of racing to create them), each edit an Automerge.change; what
// travels is getChanges(before, after), applied with applyChanges; a reconnecting replica loads the other's
// saved document incrementally (loadIncremental skips the changes it has).
import * as Automerge from '@automerge/automerge';
import { packageVersion } from '../common.mjs';

const version = packageVersion('@automerge/automerge');
const origin = Automerge.change(Automerge.init({ actor: '00' }), (doc) => { doc.entities = {}; doc.list = []; });
const actor = (id) => id.toString(16).padStart(8, '0');

export default {
  name: 'automerge',
  version,
  replica(id) { return { doc: Automerge.clone(origin, { actor: actor(id) }), since: null }; },
  begin(replica) { replica.since = replica.doc; },
  edit(replica, fn) {
    replica.doc = Automerge.change(replica.doc, (doc) => fn({
      spawn(key, components) {
        const entity = {};
        for (const [component, bytes] of components) entity[component] = bytes;
        doc.entities[key] = entity;
      },
      set(key, component, bytes) { doc.entities[key][component] = bytes; },
      despawn(key) { delete doc.entities[key]; },
      insertAt(index, bytes) { doc.list.insertAt(index, bytes); },
    }));
  },
  end(replica) { return Automerge.getChanges(replica.since, replica.doc); },
  bytes(payload) { return Array.isArray(payload) ? payload.reduce((sum, change) => sum + change.length, 0) : payload.length; },
  apply(replica, payload) {
    replica.doc = Array.isArray(payload) ? Automerge.applyChanges(replica.doc, payload)[0]
                                         : Automerge.loadIncremental(replica.doc, payload);
  },
  diff(from) { return Automerge.save(from.doc); },
  snapshot(replica) { return Automerge.save(replica.doc); },
  compacted() { return null; }, // save() already compresses the history; there is no way to drop it
  state(replica) { return replica.doc.entities; },
  list(replica) { return replica.doc.list; },
  length(replica) { return replica.doc.list.length; },
};
