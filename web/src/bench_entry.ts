// The snapshot decoder and the replication mirror, for web/tools/browser_bench.mjs to time inside Chromium.
import { ReplicationMirror } from "./mirror.js";
import { decodeSnapshot } from "./snapshot.js";

Object.assign(globalThis, { eustressDecodeSnapshot: decodeSnapshot, EustressReplicationMirror: ReplicationMirror });
