// The TypeScript client inside headless Chromium, on the server's own bytes (written by build/tests/browser_vectors):
//   decode   snapshots decoded per second and the time per snapshot, for a 256-entity scene in full and as a delta
//            against it (four generic fields per entity);
//   mirror   the whole mirror (ReplicationMirror.handle: decode against the baseline, compare, apply, events) on 60
//            snapshots in which 256 transforms (and a health field) all move, each against the one before; and
//            dequantizing the 256 poses, what a renderer asks for each frame.
// One JSON line per figure on stdout (bench/run.sh's format), a readable line each on stderr.
// Usage: node tools/browser_bench.mjs CHROMIUM VECTORS_DIR [SECONDS_EACH]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const [chromium, vectors, secondsText = "2"] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(new URL("../test/vectors.json", import.meta.url), "utf8"));
const bytes = (name) => [...readFileSync(join(vectors, "cpp", `${name}.bin`))];
const scene = JSON.parse(readFileSync(join(vectors, "cpp", "mirror_scene.json"), "utf8"));
const sceneSteps = scene.steps.map((step) => ({ channel: scene.channels[step.channel], bytes: [...readFileSync(join(vectors, "cpp", step.file))] }));
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
  const mirror = await page.evaluate(timeMirror, sceneSteps, scene.channels, Number(secondsText));
  const version = await browser.version();
  const report = (figure, value, unit, note) => {
    console.log(JSON.stringify({ bench: "browser", metric: figure, value: Number(value.toFixed(3)), unit, peer: "eustress", placement: "chromium" }));
    console.error(`${version}: ${figure}: ${value.toFixed(1)} ${unit}${note ? ` (${note})` : ""}`);
  };
  for (const kind of ["full", "delta"]) {
    const note = `${results.entities} entities, ${results[`${kind}Bytes`]} bytes`;
    report(`decode_${kind}_per_second`, results[kind].perSecond, "snapshots/s", note);
    report(`decode_${kind}_us`, results[kind].microseconds, "us", note);
  }
  const note = `256 transforms moving, ${mirror.bytes} bytes per delta on average`;
  report("mirror_snapshots_per_second", mirror.perSecond, "snapshots/s", note);
  report("mirror_snapshot_us", mirror.microseconds, "us", note);
  report("mirror_dequantize_256_poses_us", mirror.poseMicroseconds, "us", "all poses, one frame");
} finally {
  await browser.close();
}

/// Runs in the page: a fresh mirror gets the spawns, then the 60 snapshots are timed through it; repeated for
/// `seconds`. Then all poses are dequantized repeatedly.
function timeMirror(steps, channels, seconds) {
  const Mirror = globalThis.EustressReplicationMirror;
  const health = { name: "vectors.health", read: (source) => (source.take(7) ?? 101) <= 100 };
  const messages = steps.map((step) => ({ type: "MessageEvent", channel: step.channel, data: Uint8Array.from(step.bytes) }));
  const [spawns, ...snapshots] = messages;
  const mirror = new Mirror({ channels, components: [health], send: () => {} });
  let updates = 0;
  mirror.onEvent(() => ++updates);
  let count = 0;
  let busy = 0;
  const deadline = performance.now() + seconds * 1000;
  for (let round = 0; round < 3 || performance.now() < deadline; ++round) {
    mirror.handle({ type: "DisconnectedEvent", reason: "again" });
    mirror.handle(spawns);
    const start = performance.now();
    for (const snapshot of snapshots) mirror.handle(snapshot);
    if (round >= 3) {
      busy += performance.now() - start; // the first rounds warm the JIT up
      count += snapshots.length;
    }
  }
  const { counters } = mirror; // over every round: each must have applied every snapshot
  if (counters.snapshotsApplied !== counters.snapshotsReceived || counters.snapshotsApplied % snapshots.length !== 0)
    throw new Error(JSON.stringify(counters));
  let poses = 0;
  const poseStart = performance.now();
  while (performance.now() - poseStart < 500)
    for (const entity of mirror.entities()) if (mirror.transform(entity.id)) ++poses;
  const poseElapsed = performance.now() - poseStart;
  const bytes = snapshots.slice(1).reduce((sum, message) => sum + message.data.length, 0) / (snapshots.length - 1);
  return {
    perSecond: count / (busy / 1000),
    microseconds: (busy / count) * 1000,
    poseMicroseconds: (poseElapsed / (poses / 256)) * 1000,
    bytes: Math.round(bytes),
    updates,
  };
}
