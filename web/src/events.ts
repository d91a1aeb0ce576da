// The events a game sees, named as the seed names them (and as the C++ Client's NetworkEvent alternatives).
export interface ConnectedEvent {
  type: "ConnectedEvent";
  clientId: number;
}
export interface DisconnectedEvent {
  type: "DisconnectedEvent";
  reason: string;
}
export interface MessageEvent {
  type: "MessageEvent";
  channel: number;
  data: Uint8Array;
}
export type NetworkEvent = ConnectedEvent | DisconnectedEvent | MessageEvent;

// What the replication mirror (mirror.ts) reports, as the C++ ReplicationClient's ReplicationEvent. Entities are
// named by the server's ids: the browser holds no other world.
export interface EntitySpawnedEvent {
  type: "EntitySpawnedEvent";
  entity: number;
  owned: boolean;
  tick: number;
}
export interface EntityDespawnedEvent {
  type: "EntityDespawnedEvent";
  entity: number;
}
/// The seed's EntityUpdateEvent: one per entity per applied snapshot (or inserted component) that changed it.
export interface EntityUpdateEvent {
  type: "EntityUpdateEvent";
  entity: number;
  components: number[];
  tick: number; // the server tick the entity's new state is from
}
export interface ComponentRemovedEvent {
  type: "ComponentRemovedEvent";
  entity: number;
  component: number;
}
export type ReplicationEvent = EntitySpawnedEvent | EntityDespawnedEvent | EntityUpdateEvent | ComponentRemovedEvent;
