// Snapshot decoding in the TypeScript client inside headless Chromium: snapshots decoded per second and the time per
// snapshot, for a 256-entity scene in full and as a delta against it (written by build/tests/browser_vectors, so
// these are the server's own bytes). Usage: node tools/browser_bench.mjs CHROMIUM VECTORS_DIR [SECONDS_EACH]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const [chromium, vectors, secondsText = "2"] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(new URL("../test/vectors.json", import.meta.url), "utf8"));
const bytes = (name) => [...readFileSync(join(vectors, "cpp", `${name}.bin`))];
const bundle = readFileSync(new URL("../dist/eustress-bench.js", import.meta.url), "utf8");

const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage();
  await page.addScriptTag({ content: bundle });
  const results = await page.evaluate(
    (full, delta, layouts, seconds) => {
      const decode = globalThis.eustressDecodeSnapshot;
      const readers = layouts.map((widths) => (source) => widths.every((bits) => source.take(bits) !== null));
      const fullBytes = Uint8Array.from(full);
      const deltaBytes = Uint8Array.from(delta);
      const baseline = decode(fullBytes, readers, () => undefined);
      if (typeof baseline === "string") throw new Error(baseline);
      const time = (run) => {
        for (let i = 0; i < 200; ++i) run(); // warm the JIT up
        let count = 0;
        const start = performance.now();
        while (performance.now() - start < seconds * 1000) {
          for (let i = 0; i < 50; ++i) run();
          count += 50;
        }
        const elapsed = (performance.now() - start) / 1000;
        return { perSecond: count / elapsed, microseconds: (elapsed / count) * 1e6 };
      };
      return {
        entities: baseline.state.length,
        fullBytes: fullBytes.length,
        deltaBytes: deltaBytes.length,
        full: time(() => decode(fullBytes, readers, () => undefined)),
        delta: time(() => decode(deltaBytes, readers, (sequence) => (sequence === 1 ? baseline.state : undefined))),
      };
    },
    bytes("scene_full"),
    bytes("scene_delta"),
    spec.snapshots.components,
    Number(secondsText),
  );
  const version = await browser.version();
  for (const kind of ["full", "delta"]) {
    const { perSecond, microseconds } = results[kind];
    console.log(
      `${version}: ${results.entities} entities, ${kind} (${results[`${kind}Bytes`]} bytes): ` +
        `${Math.round(perSecond)} snapshots/s, ${microseconds.toFixed(1)} µs per snapshot`,
    );
  }
} finally {
  await browser.close();
}
