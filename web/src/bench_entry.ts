// The snapshot decoder alone, for web/tools/browser_bench.mjs to time inside Chromium.
import { decodeSnapshot } from "./snapshot.js";

(globalThis as unknown as { eustressDecodeSnapshot: typeof decodeSnapshot }).eustressDecodeSnapshot = decodeSnapshot;
