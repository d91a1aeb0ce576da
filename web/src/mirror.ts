// The browser's replication mirror, the twin of src/replication/replication_client.cpp: applies the reliable
// entity actions in order, decodes every snapshot against the baseline it names (each decoded snapshot may become
// a baseline, the newest `snapshotHistory` are kept), and applies the newest one once the actions it depends on
// are applied. An entry older than what an entity shows is never applied over it. Acknowledgements travel as the
// session's Ack frames (client.ts), which the server turns into the delivery events replication picks baselines
// from, as QUIC's acknowledgements do for native clients. Hostile or broken input is counted by reason; a
// malformed reliable batch (or another component registry) makes the mirror untrustworthy and ends the session.
import { ActionKind, type ActionBatch, decodeActions, encodeBaselineRequest } from "./entity_actions.js";
import type { NetworkEvent, ReplicationEvent } from "./events.js";
import {
  type ComponentReader,
  decodeSnapshot,
  decodeSnapshotHeader,
  type QuantizedEntity,
  type QuantizedField,
  type SnapshotEntry,
  type SnapshotError,
  type SnapshotHeader,
} from "./snapshot.js";
import {
  DEFAULT_TRANSFORM,
  registryFingerprint,
  type Transform,
  transformDequantizer,
  type TransformQuantization,
  transformReader,
} from "./transform.js";

/// A component type as the C++ ComponentRegistry has it: its name (for the fingerprint) and a reader that takes
/// its fields in the serialize function's order. Component 0 is always the transform.
export interface ComponentSpec {
  name: string;
  read: ComponentReader;
}

export interface MirrorOptions {
  /// The ids of replication's two channels in the server's table (add_replication_channels).
  channels: { entities: number; snapshots: number };
  /// Components after the built-in transform, in the server's registration order.
  components?: readonly ComponentSpec[];
  transform?: TransformQuantization;
  /// Received snapshots kept as possible baselines (ReplicationConfig::snapshot_history).
  snapshotHistory?: number;
  /// Sends on the session (EustressClient.send).
  send(channel: number, data: Uint8Array): void;
  /// The mirror can no longer be trusted: the page should end the session (the server starts a new mirror).
  fail?(reason: string): void;
}

export interface MirrorEntity {
  id: number; // the server's
  owned: boolean;
  components: Map<number, QuantizedField[]>;
  shown: QuantizedEntity; // the state last written into it
  tick: number; // the server tick `shown` is from
}

export interface MirrorCounters {
  snapshotsReceived: number;
  snapshotsApplied: number;
  snapshotsStale: number; // older than one applied (kept as a baseline only)
  snapshotsDuplicate: number;
  baselineRequests: number; // a snapshot named a baseline we lack
  malformedSnapshots: Partial<Record<SnapshotError, number>>;
  actionBatches: number;
  malformedActions: Partial<Record<SnapshotError | "exception", number>>;
  unknownEntities: number; // actions naming an entity we do not hold
  exceptions: number; // a component reader threw: counted, the message dropped
}

function sameFields(a: readonly QuantizedField[] | undefined, b: readonly QuantizedField[]): boolean {
  return (
    !!a && a.length === b.length && a.every((field, i) => field.value === b[i]!.value && field.bits === b[i]!.bits)
  );
}

export class ReplicationMirror {
  private readonly readers: ComponentReader[];
  private readonly fingerprint: bigint;
  private readonly quantization: TransformQuantization;
  private readonly pose: (fields: readonly QuantizedField[]) => Transform;
  private readonly history: number;
  private readonly listeners: ((event: ReplicationEvent) => void)[] = [];
  private readonly live = new Map<number, MirrorEntity>();
  private received = new Map<number, SnapshotEntry[]>(); // by sequence: possible baselines
  private pending: SnapshotHeader | null = null;
  private newestReceived = 0;
  private newestApplied = 0;
  private actionsApplied = 0;
  private failed = false;
  serverTick = 0;
  readonly counters: MirrorCounters = {
    snapshotsReceived: 0,
    snapshotsApplied: 0,
    snapshotsStale: 0,
    snapshotsDuplicate: 0,
    baselineRequests: 0,
    malformedSnapshots: {},
    actionBatches: 0,
    malformedActions: {},
    unknownEntities: 0,
    exceptions: 0,
  };

  constructor(private readonly options: MirrorOptions) {
    this.quantization = options.transform ?? DEFAULT_TRANSFORM;
    const transform = { name: "eustress.transform", read: transformReader(this.quantization) };
    const specs = [transform, ...(options.components ?? [])];
    this.readers = specs.map((spec) => spec.read);
    this.fingerprint = registryFingerprint(
      specs.map((spec) => spec.name),
      this.quantization,
    );
    this.history = options.snapshotHistory ?? 64;
    this.pose = transformDequantizer(this.quantization);
  }

  onEvent(listener: (event: ReplicationEvent) => void): void {
    this.listeners.push(listener);
  }

  /// Offer every session event; true when it was replication's own. A new or ended session empties the mirror.
  handle(event: NetworkEvent): boolean {
    if (event.type !== "MessageEvent") {
      this.reset();
      return false;
    }
    const { entities, snapshots } = this.options.channels;
    if (event.channel !== entities && event.channel !== snapshots) return false;
    try {
      if (event.channel === entities) this.onActions(event.data);
      else this.onSnapshot(event.data);
    } catch {
      ++this.counters.exceptions; // a component reader of the page threw; nothing of the message was kept
    }
    return true;
  }

  entities(): IterableIterator<MirrorEntity> {
    return this.live.values();
  }

  entity(id: number): MirrorEntity | undefined {
    return this.live.get(id);
  }

  /// The entity's pose, dequantized exactly as the C++ client does; null without a transform.
  transform(id: number): Transform | null {
    const fields = this.live.get(id)?.components.get(0);
    return fields ? this.pose(fields) : null;
  }

  reset(): void {
    for (const id of this.live.keys()) this.emit({ type: "EntityDespawnedEvent", entity: id });
    this.live.clear();
    this.received.clear();
    this.pending = null;
    this.newestReceived = this.newestApplied = this.actionsApplied = this.serverTick = 0;
    this.failed = false;
  }

  private emit(event: ReplicationEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private onActions(bytes: Uint8Array): void {
    if (this.failed) return;
    const batch = decodeActions(bytes, this.readers);
    if (typeof batch === "string") return this.fail(batch, `malformed entity actions (${batch})`);
    if (batch.registryFingerprint !== null && batch.registryFingerprint !== this.fingerprint)
      return this.fail("registry_mismatch", "the server registered other component types (or quantization)");
    this.applyActions(batch);
    ++this.actionsApplied;
    ++this.counters.actionBatches;
    this.applyPending();
  }

  /// The reliable stream is the mirror's history: skipping a batch would leave it wrong for good.
  private fail(reason: SnapshotError, message: string): void {
    this.counters.malformedActions[reason] = (this.counters.malformedActions[reason] ?? 0) + 1;
    this.failed = true;
    this.options.fail?.(`replication: ${message}`);
  }

  private applyActions(batch: ActionBatch): void {
    for (const action of batch.actions) {
      const entity = this.live.get(action.entity);
      if (action.kind === ActionKind.Spawn) {
        if (entity) this.despawn(action.entity);
        const components = new Map(action.state.map((component) => [component.id, component.fields]));
        this.live.set(action.entity, {
          id: action.entity,
          owned: action.owned,
          components,
          shown: action.state,
          tick: batch.tick,
        });
        this.emit({ type: "EntitySpawnedEvent", entity: action.entity, owned: action.owned, tick: batch.tick });
      } else if (!entity) {
        ++this.counters.unknownEntities;
      } else if (action.kind === ActionKind.Despawn) {
        this.despawn(action.entity);
      } else if (action.kind === ActionKind.Insert) {
        entity.components.set(action.component, action.state[0]!.fields);
        const components = [action.component];
        this.emit({ type: "EntityUpdateEvent", entity: action.entity, components, tick: batch.tick });
      } else if (entity.components.delete(action.component)) {
        this.emit({ type: "ComponentRemovedEvent", entity: action.entity, component: action.component });
      }
    }
  }

  private despawn(id: number): void {
    this.live.delete(id);
    this.emit({ type: "EntityDespawnedEvent", entity: id });
  }

  private onSnapshot(bytes: Uint8Array): void {
    ++this.counters.snapshotsReceived;
    const decoded = decodeSnapshot(bytes, this.readers, (sequence) => this.received.get(sequence));
    if (decoded === "missing_baseline") return this.requestBaseline(bytes);
    if (typeof decoded === "string") {
      this.counters.malformedSnapshots[decoded] = (this.counters.malformedSnapshots[decoded] ?? 0) + 1;
      return;
    }
    const header = decoded.header;
    if (this.received.has(header.sequence)) {
      ++this.counters.snapshotsDuplicate;
      return;
    }
    this.received.set(header.sequence, decoded.state);
    this.forgetBaselines(header);
    if (header.sequence <= this.newestApplied || (this.pending && header.sequence <= this.pending.sequence)) {
      ++this.counters.snapshotsStale;
      return;
    }
    this.pending = header;
    this.applyPending();
  }

  /// Keeps at most `snapshotHistory` snapshots, and none older than the baseline the newest one names: the server
  /// codes against the newest snapshot it knows to be acknowledged, which only grows (after a baseline request it
  /// starts again from a full snapshot), so an older one can only be named by a snapshot that arrives late.
  private forgetBaselines(header: SnapshotHeader): void {
    const newest = header.sequence > this.newestReceived;
    this.newestReceived = Math.max(this.newestReceived, header.sequence);
    for (const sequence of this.received.keys())
      if (this.newestReceived - sequence >= this.history || (newest && sequence < header.baseline))
        this.received.delete(sequence);
  }

  /// The server answers "I lack baseline N" with a full encoding in its next snapshot.
  private requestBaseline(bytes: Uint8Array): void {
    ++this.counters.baselineRequests;
    const header = decodeSnapshotHeader(bytes);
    if (typeof header === "object")
      this.options.send(this.options.channels.entities, encodeBaselineRequest(header.baseline));
  }

  private applyPending(): void {
    if (!this.pending || this.actionsApplied < this.pending.actionsRequired) return;
    const header = this.pending;
    this.pending = null;
    const state = this.received.get(header.sequence);
    if (!state) return;
    for (const entry of state) this.applyEntry(entry);
    this.newestApplied = header.sequence;
    this.serverTick = header.tick;
    ++this.counters.snapshotsApplied;
  }

  /// A snapshot carries every entity of its baseline, also those the budget held back: their entries are as old
  /// as the baseline, possibly older than what a newer snapshot already showed, and are not applied.
  private applyEntry(entry: SnapshotEntry): void {
    const entity = this.live.get(entry.entity);
    if (!entity || entity.shown === entry.state || entry.tick <= entity.tick) return;
    const changed: number[] = [];
    for (const component of entry.state) {
      if (!entity.components.has(component.id)) continue; // removed by a later action
      const before = entity.shown.find((shown) => shown.id === component.id);
      if (sameFields(before?.fields, component.fields)) continue;
      entity.components.set(component.id, component.fields);
      changed.push(component.id);
    }
    entity.shown = entry.state;
    entity.tick = entry.tick;
    if (changed.length > 0)
      this.emit({ type: "EntityUpdateEvent", entity: entry.entity, components: changed, tick: entry.tick });
  }
}
