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
/// An entity of the replicated world appeared, changed or went away (the mirror, replication.ts).
export interface EntityUpdateEvent {
  type: "EntityUpdateEvent";
  entity: number;
  change: "spawned" | "updated" | "despawned";
  tick: number;
}
export type NetworkEvent = ConnectedEvent | DisconnectedEvent | MessageEvent | EntityUpdateEvent;
