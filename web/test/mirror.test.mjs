// The replication mirror against the server's own bytes: tests/web/mirror_vectors.cpp writes a sequence of entity
// actions and snapshots (deltas against acknowledged baselines) into $EUSTRESS_VECTORS/cpp with the world a mirror
// must hold after each message; the mirror must reproduce it exactly (fields, ticks, transforms dequantized to the
// same float bits), also when a snapshot is lost or late, and must refuse hostile bytes by reason without throwing.
// It writes back the ack and a baseline request the browser sends, for the C++ side to decode (ts/mirror_*.bin).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { decodeFrame, encodeMessage, encodeWelcome, EustressClient, FrameType, ReplicationMirror } from "../dist/eustress.mjs";
import { ScriptedSocket } from "./scripted_socket.mjs";

const directory = process.env.EUSTRESS_VECTORS;
const skip = !directory && "EUSTRESS_VECTORS not set";
const script = directory ? JSON.parse(readFileSync(join(directory, "cpp", "mirror.json"), "utf8")) : null;
const bytesOf = (step) => new Uint8Array(readFileSync(join(directory, "cpp", step.file)));
const channelOf = (step) => script.channels[step.channel];
const floatBits = (value) => new Uint32Array(Float32Array.of(value).buffer)[0];
const health = { name: "vectors.health", read: (source) => (source.take(7) ?? 101) <= 100 };

function mirrorWith(options = {}) {
  const sent = [];
  const failures = [];
  const mirror = new ReplicationMirror({
    channels: script.channels,
    components: [health],
    send: (channel, data) => sent.push({ channel, data }),
    fail: (reason) => failures.push(reason),
    ...options,
  });
  const events = [];
  mirror.onEvent((event) => events.push(event));
  const deliver = (step) => mirror.handle({ type: "MessageEvent", channel: channelOf(step), data: bytesOf(step) });
  return { mirror, sent, failures, events, deliver };
}

/// The mirror's world in the form mirror_vectors.cpp writes it.
function worldOf(mirror) {
  const world = {};
  for (const entity of mirror.entities()) {
    const components = {};
    for (const [id, fields] of [...entity.components].sort((a, b) => a[0] - b[0]))
      components[String(id)] = fields.map((field) => field.value);
    const item = { tick: entity.tick, owned: entity.owned, components };
    const pose = mirror.transform(entity.id);
    if (pose) {
      item.position_bits = pose.position.map(floatBits);
      item.rotation_bits = pose.rotation.map(floatBits);
    }
    world[String(entity.id)] = item;
  }
  return world;
}

function expectedWorld(step) {
  const world = structuredClone(step.world);
  for (const item of Object.values(world)) delete item.position; // readable copy of position_bits
  return world;
}

const snapshotSteps = () => script.steps.filter((step) => step.channel === "snapshots");
const snapshotStep = (sequence) => snapshotSteps()[sequence - 1];

test("the mirror reproduces the C++ world after every message, float bits included", { skip }, () => {
  const { mirror, events, failures, deliver } = mirrorWith();
  for (const [index, step] of script.steps.entries()) {
    const from = events.length;
    assert.equal(deliver(step), true);
    assert.deepEqual(worldOf(mirror), expectedWorld(step), `after ${step.file}`);
    const updated = events.slice(from).filter((event) => event.type === "EntityUpdateEvent");
    assert.deepEqual(updated.map((event) => event.entity).sort((a, b) => a - b), step.updated, `updates of step ${index + 1}`);
  }
  const kinds = events.map((event) => event.type);
  assert.equal(kinds.filter((kind) => kind === "EntitySpawnedEvent").length, 4);
  assert.deepEqual(events.filter((event) => event.type === "EntityDespawnedEvent"), [{ type: "EntityDespawnedEvent", entity: 2 }]);
  assert.deepEqual(events.filter((event) => event.type === "ComponentRemovedEvent"), [{ type: "ComponentRemovedEvent", entity: 1, component: 1 }]);
  assert.equal(mirror.counters.snapshotsApplied, 6);
  assert.equal(mirror.serverTick, 16);
  assert.deepEqual(failures, []);
  assert.deepEqual(mirror.counters.malformedSnapshots, {});
});

test("through the session: the mirror's world, and one cumulative ack for the snapshots (ts/mirror_ack.bin)", { skip }, async () => {
  const { client, socket, mirror } = sessionWithMirror();
  for (const step of script.steps) socket.deliver(encodeMessage(channelOf(step), false, 0, bytesOf(step)));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(worldOf(mirror), expectedWorld(script.steps.at(-1)));
  const acks = socket.sent.filter((bytes) => bytes[0] === FrameType.Ack);
  assert.equal(acks.length, 1, "one ack per turn of the event loop");
  assert.deepEqual(decodeFrame(acks[0], null), { type: FrameType.Ack, received: snapshotSteps().length });
  mkdirSync(join(directory, "ts"), { recursive: true });
  writeFileSync(join(directory, "ts", "mirror_ack.bin"), acks[0]);
  client.close();
});

test("a lost snapshot costs nothing when the next is coded against an older baseline", { skip }, () => {
  const { mirror, deliver } = mirrorWith();
  for (const step of script.steps) if (step !== snapshotStep(2)) deliver(step);
  assert.deepEqual(worldOf(mirror), expectedWorld(script.steps.at(-1)));
  assert.equal(mirror.counters.snapshotsApplied, 5);
});

test("a late snapshot is kept as a baseline but never applied over a newer one", { skip }, () => {
  const { mirror, events, deliver } = mirrorWith();
  const [actions, first, second, third] = script.steps;
  for (const step of [actions, first, third]) deliver(step);
  const from = events.length;
  deliver(second);
  assert.deepEqual(worldOf(mirror), expectedWorld(third), "the older snapshot moved entities back in time");
  assert.equal(events.length, from, "a stale snapshot reported updates");
  assert.equal(mirror.counters.snapshotsStale, 1);
  deliver(second);
  assert.equal(mirror.counters.snapshotsDuplicate, 1);
});

test("a snapshot against a baseline the browser lacks asks for it (ts/mirror_baseline_request.bin)", { skip }, async () => {
  const { client, socket, mirror } = sessionWithMirror();
  const dropped = snapshotStep(script.dropped_for_request);
  let before = null;
  for (const step of script.steps) {
    if (step === dropped) {
      before = worldOf(mirror);
      continue;
    }
    socket.deliver(encodeMessage(channelOf(step), false, 0, bytesOf(step)));
    if (step === snapshotStep(script.dropped_for_request + 1)) assert.deepEqual(worldOf(mirror), before);
  }
  assert.equal(mirror.counters.baselineRequests, 2); // snapshots 5 and 6 both name 4
  const requests = socket.sent.filter((bytes) => bytes[0] === FrameType.Message);
  assert.equal(requests.length, 2);
  const frame = decodeFrame(requests[0], kinds);
  assert.equal(frame.channel, script.channels.entities);
  assert.deepEqual([...frame.payload], [1, script.dropped_for_request]);
  writeFileSync(join(directory, "ts", "mirror_baseline_request.bin"), requests[0]);
  client.close();
});

test("hostile snapshots are counted by reason and change nothing", { skip }, () => {
  const { mirror, deliver, failures } = mirrorWith();
  deliver(script.steps[0]);
  deliver(snapshotStep(1));
  const world = worldOf(mirror);
  const second = bytesOf(snapshotStep(2));
  const offer = (data) => mirror.handle({ type: "MessageEvent", channel: script.channels.snapshots, data });
  for (let length = 0; length < second.length; ++length) offer(second.subarray(0, length));
  const refused = Object.values(mirror.counters.malformedSnapshots).reduce((sum, count) => sum + count, 0);
  assert.equal(refused, second.length, `every truncation refused: ${JSON.stringify(mirror.counters.malformedSnapshots)}`);
  assert.ok(mirror.counters.malformedSnapshots.truncated > 0);
  const badHeaders = mirror.counters.malformedSnapshots.bad_header ?? 0;
  offer(Uint8Array.of(9, 1, 0, 9, 0)); // baseline distance 9 from sequence 9: before the first snapshot
  assert.equal(mirror.counters.malformedSnapshots.bad_header, badHeaders + 1);
  offer(Uint8Array.of(9, 1, 0, 1, 0)); // baseline 8, never received
  assert.equal(mirror.counters.baselineRequests, 1);
  const tooMany = mirror.counters.malformedSnapshots.too_many_entries ?? 0;
  offer(Uint8Array.of(9, 1, 0, 0, 0xff, 0x7f));
  assert.equal(mirror.counters.malformedSnapshots.too_many_entries, tooMany + 1);
  assert.deepEqual(worldOf(mirror), world);
  assert.equal(mirror.counters.snapshotsApplied, 1);
  assert.deepEqual(failures, []);
});

test("malformed entity actions or another registry end the mirror's trust, counted, never thrown", { skip }, () => {
  const actions = bytesOf(script.steps[0]);
  const truncated = mirrorWith();
  truncated.mirror.handle({ type: "MessageEvent", channel: script.channels.entities, data: actions.subarray(0, 12) });
  assert.equal(truncated.failures.length, 1);
  assert.deepEqual(Object.values(truncated.mirror.counters.malformedActions), [1], "one reason counted");
  assert.match(truncated.failures[0], /^replication: malformed entity actions \((truncated|too_many_entries|component_malformed)\)$/);
  truncated.deliver(script.steps[0]);
  assert.equal([...truncated.mirror.entities()].length, 0, "actions applied after a malformed batch");

  const other = mirrorWith({ components: [{ name: "vectors.armour", read: health.read }] });
  other.deliver(script.steps[0]);
  assert.equal(other.mirror.counters.malformedActions.registry_mismatch, 1);
  assert.match(other.failures[0], /registered other component types/);

  const throwing = mirrorWith({ components: [{ name: "vectors.health", read: () => { throw new Error("page bug"); } }] });
  assert.equal(throwing.deliver(script.steps[0]), true);
  assert.equal(throwing.mirror.counters.exceptions, 1);
});

test("a new session starts from an empty mirror", { skip }, () => {
  const { mirror, events, deliver } = mirrorWith();
  deliver(script.steps[0]);
  assert.equal(mirror.handle({ type: "DisconnectedEvent", reason: "gone" }), false);
  assert.equal([...mirror.entities()].length, 0);
  assert.equal(events.filter((event) => event.type === "EntityDespawnedEvent").length, 3);
  deliver(script.steps[0]);
  assert.equal([...mirror.entities()].length, 3);
});

const kinds = [0, 0, 2]; // chat, replication's entities (reliable ordered) and snapshots (unreliable)

function sessionWithMirror() {
  const client = new EustressClient({ url: "ws://server/", webSocket: ScriptedSocket, keepAliveMs: 60_000 });
  const socket = ScriptedSocket.last;
  const mirror = new ReplicationMirror({
    channels: script.channels,
    components: [health],
    send: (channel, data) => client.send(channel, data),
  });
  client.onEvent((event) => mirror.handle(event));
  socket.onopen();
  socket.deliver(encodeWelcome({ clientId: 5, channels: kinds }));
  socket.sent.length = 0;
  return { client, socket, mirror };
}
