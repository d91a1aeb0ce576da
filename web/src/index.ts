export * from "./bytes.js";
export * from "./client.js";
export type * from "./events.js";
export * from "./session_wire.js";
export * from "./snapshot.js";
export * from "./entity_actions.js";
export * from "./mirror.js";
export * from "./transform.js";
