// ICE alone on loopback with libjuice (inside libdatachannel, through npm node-datachannel): the reference beside
// bench/ice_bench.cpp (libnice through our IceAgent). Two PeerConnections in this process, host candidates on
// 127.0.0.1 only (bindAddress), no ICE servers; the offer and answer (which carry the ICE credentials) and every
// trickled candidate are handed across in the callbacks that produce them. Each run times, from
// createDataChannel (which starts negotiation and gathering) to both ICE states "connected", and for each side
// its own "checking" -> "connected" (two values per run). The callbacks run on Node's event loop, queued there by
// libdatachannel's threads, so both figures include that hop, as ours include our loop's.
//
//   node ice_bench.mjs [--runs 20] [--placement LABEL]     (JSON lines in bench/run.sh's format on stdout)
import nodeDataChannel from 'node-datachannel';

const RUN_LIMIT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const runs = Number(option('--runs', '20'));
const placement = option('--placement', 'default');
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, monotonic

function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)))];
}

function report(metric, value, unit) {
  console.log(JSON.stringify({ bench: 'ice', metric, value: Number(value.toFixed(3)), unit, peer: 'libjuice',
                               placement, size: 0 }));
}

function runOnce() {
  return new Promise((resolve) => {
    const config = { iceServers: [], bindAddress: '127.0.0.1' };
    const a = new nodeDataChannel.PeerConnection('a', config);
    const b = new nodeDataChannel.PeerConnection('b', config);
    const sides = [{ pc: a, other: b }, { pc: b, other: a }];
    let start = 0;
    let finished = false;
    const finish = (result) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      a.close();
      b.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish(null), RUN_LIMIT_MS);
    for (const side of sides) {
      side.pc.onLocalDescription((sdp, type) => side.other.setRemoteDescription(sdp, type));
      side.pc.onLocalCandidate((candidate, mid) => side.other.addRemoteCandidate(candidate, mid));
      side.pc.onIceStateChange((state) => {
        const t = now();
        if (state === 'checking' && side.checking === undefined) side.checking = t;
        if ((state === 'connected' || state === 'completed') && side.connected === undefined) {
          side.connected = t;
          if (side.checking === undefined) side.checking = t;
          if (sides.every((s) => s.connected !== undefined)) {
            finish({
              startToConnected: Math.max(...sides.map((s) => s.connected)) - start,
              checkingToConnected: sides.map((s) => s.connected - s.checking),
            });
          }
        }
      });
    }
    start = now();
    a.createDataChannel('bench');
  });
}

const startToConnected = [];
const checkingToConnected = [];
let failed = 0;
const line = [];
for (let run = 0; run < runs; ++run) {
  const result = await runOnce();
  if (!result) {
    ++failed;
    line.push('failed');
    continue;
  }
  startToConnected.push(result.startToConnected);
  checkingToConnected.push(...result.checkingToConnected);
  line.push(result.startToConnected.toFixed(1));
}
process.stderr.write(`    libjuice ${nodeDataChannel.getLibraryVersion?.() ?? ''}, start -> both connected, ms: ${line.join(' ')}\n`);
for (const [name, values] of [['start-connected', startToConnected], ['checking-connected', checkingToConnected]]) {
  report(`${name}_median`, percentile(values, 0.5), 'ms');
  report(`${name}_p95`, percentile(values, 0.95), 'ms');
  report(`${name}_min`, values.length ? Math.min(...values) : 0, 'ms');
}
report('failed_runs', failed, 'runs');
process.exitCode = failed === 0 ? 0 : 1;
