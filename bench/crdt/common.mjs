// Shared by the anchors' workload scripts: the parameters (workloads.conf, the same file bench/crdt_bench.cpp
// reads), command-line options, JSON result lines in bench/run.sh's format, progress on stderr, memory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

export function workloads() {
  const file = option('--workloads', join(dirname(fileURLToPath(import.meta.url)), 'workloads.conf'));
  const values = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([a-z_]+)\s*=\s*(\d+)\s*$/.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

export const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic

export function reporter(bench, library) {
  const placement = option('--placement', 'default');
  return (metric, value, unit, size = 0) =>
    console.log(JSON.stringify({ bench, metric, value: Number(Number(value).toFixed(3)), unit,
                                 peer: `${library.name}-${library.version}`, placement, size }));
}

export function progress(text) {
  process.stderr.write(`    ${text}\n`);
}

// Heap and resident set after a full collection when node runs with --expose-gc (bench/run.sh passes it).
export function memoryMegabytes() {
  if (globalThis.gc) globalThis.gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed / 1048576, rss: usage.rss / 1048576, external: usage.external / 1048576 };
}

export async function loadLibrary() {
  const name = option('--library', 'yjs');
  const module = await import(`./libraries/${name}.mjs`);
  return module.default;
}

// The same bytes ours writes: position 3 floats, rotation 4 floats, health u32, name, team u8.
export function componentBytes(component, tick, index, who) {
  switch (component) {
    case 0: return new Uint8Array(new Float32Array([tick, index, who]).buffer);
    case 1: return new Uint8Array(new Float32Array([0, 0, (tick % 7) / 7, 1]).buffer);
    case 2: return new Uint8Array([100, 0, 0, 0]);
    case 3: return new TextEncoder().encode('entity-name');
    default: return new Uint8Array([1]);
  }
}

// One string per state, keys sorted and bytes in hex, so replicas' states compare across libraries' shapes.
export function canonical(value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${key}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// The installed version of a package (read from its package.json, which not every package exports).
export function packageVersion(name) {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'node_modules', name, 'package.json');
  return JSON.parse(readFileSync(file, 'utf8')).version;
}
