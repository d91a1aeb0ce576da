// Reliable changes to the browser's set of entities, one batch per server tick on the entity channel, the twin of
// src/replication/entity_actions.cpp:
//
//   1 bit "registry fingerprint follows" (+ 64 bits; only in a connection's first batch), varint tick,
//   varint action count, then per action: 2 bits kind, varint entity, and
//     Spawn: 1 bit owned-by-you, the entity in full;  Despawn: nothing;
//     Insert: varint component, its fields in full;   Remove: varint component
//
// The other way, the same channel carries the browser's request: byte 1 ("I lack baseline N"), then QUIC varint N.
import { ByteWriter } from "./bytes.js";
import {
  BitReader,
  type ComponentReader,
  Failure,
  need,
  type QuantizedEntity,
  readComponent,
  readEntityFull,
  type SnapshotError,
} from "./snapshot.js";

export enum ActionKind {
  Spawn = 0,
  Despawn = 1,
  Insert = 2,
  Remove = 3,
}

export interface EntityAction {
  kind: ActionKind;
  entity: number;
  owned: boolean; // Spawn
  component: number; // Insert, Remove
  state: QuantizedEntity; // Spawn: the whole entity; Insert: just the inserted component
}

export interface ActionBatch {
  registryFingerprint: bigint | null;
  tick: number;
  actions: EntityAction[];
}

const BASELINE_REQUEST = 1;

function readAction(reader: BitReader, components: readonly ComponentReader[]): EntityAction {
  const kind = need(reader.bits(2)) as ActionKind;
  const entity = need(reader.varint());
  if (entity === 0 || entity > 0xffffffff) throw new Failure("entity_out_of_range");
  const action: EntityAction = { kind, entity, owned: false, component: 0, state: [] };
  if (kind === ActionKind.Spawn) {
    action.owned = need(reader.bool());
    action.state = readEntityFull(reader, components);
  } else if (kind === ActionKind.Insert || kind === ActionKind.Remove) {
    action.component = need(reader.varint());
    if (action.component >= components.length) throw new Failure("unknown_component");
    if (kind === ActionKind.Insert) action.state = [readComponent(reader, components, action.component, [])];
  }
  return action;
}

export function decodeActions(bytes: Uint8Array, components: readonly ComponentReader[]): ActionBatch | SnapshotError {
  try {
    const reader = new BitReader(bytes);
    let registryFingerprint: bigint | null = null;
    if (need(reader.bool())) {
      const low = need(reader.bits(32));
      registryFingerprint = (BigInt(need(reader.bits(32))) << 32n) | BigInt(low);
    }
    const tick = need(reader.varint());
    const count = need(reader.varint());
    if (tick > 0xffffffff) return "bad_header";
    if (count > reader.remaining / 10) return "too_many_entries"; // kind and entity take at least ten bits
    const actions: EntityAction[] = [];
    for (let i = 0; i < count; ++i) actions.push(readAction(reader, components));
    if (reader.remaining >= 8) return "trailing_bits";
    return { registryFingerprint, tick, actions };
  } catch (error) {
    if (error instanceof Failure) return error.reason;
    throw error;
  }
}

/// The browser lacks the baseline a snapshot was coded against: the server answers with a full encoding.
export function encodeBaselineRequest(missingSequence: number): Uint8Array {
  return new ByteWriter().u8(BASELINE_REQUEST).varint(missingSequence).finish();
}
