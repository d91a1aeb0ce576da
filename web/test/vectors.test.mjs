// Byte compatibility with the C++ session codec (src/session/browser_wire.hpp), both ways. EUSTRESS_VECTORS names
// a directory where tests/web/browser_vectors.cpp wrote cpp/*.bin from web/test/vectors.json; this test decodes
// them with the TypeScript code, checks every value and that our encoding is byte for byte the same, then writes
// what a browser sends into ts/*.bin for the C++ side to check (ctest runs: write, this, check).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  ChannelKind,
  decodeFrame,
  encodeAck,
  encodeHello,
  encodeMessage,
  encodePing,
  encodeWelcome,
  FrameType,
  decodeSnapshot,
} from "../dist/eustress.mjs";

const spec = JSON.parse(readFileSync(new URL("./vectors.json", import.meta.url), "utf8"));
const directory = process.env.EUSTRESS_VECTORS;
const hex = (text) => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const read = (name) => new Uint8Array(readFileSync(join(directory, "cpp", `${name}.bin`)));

function ours() {
  const hello = encodeHello({
    version: spec.hello.version,
    channelFingerprint: BigInt(spec.hello.fingerprint),
    connectToken: hex(spec.hello.token_hex),
    buildId: spec.hello.build_id,
  });
  const messages = spec.messages.map((message) => [
    `message_${message.name}`,
    encodeMessage(
      message.channel,
      spec.channels[message.channel] === ChannelKind.UnreliableSequenced,
      message.sequence,
      hex(message.payload_hex),
    ),
  ]);
  return [["hello", hello], ...messages, ["ping", encodePing()], ["ack", encodeAck(spec.ack.received)]];
}

test("the C++ frames decode to the agreed values", { skip: !directory && "EUSTRESS_VECTORS not set" }, () => {
  const hello = decodeFrame(read("hello"), null);
  assert.equal(hello.type, FrameType.Hello);
  assert.equal(hello.version, spec.hello.version);
  assert.equal(hello.channelFingerprint, BigInt(spec.hello.fingerprint));
  assert.deepEqual(hello.connectToken, hex(spec.hello.token_hex));
  assert.equal(hello.buildId, spec.hello.build_id);

  const welcome = decodeFrame(read("welcome"), null);
  assert.equal(welcome.type, FrameType.Welcome);
  assert.equal(welcome.clientId, spec.welcome.client_id);
  assert.deepEqual(welcome.channels, spec.welcome.channels);
  assert.deepEqual(read("welcome"), encodeWelcome({ clientId: spec.welcome.client_id, channels: spec.welcome.channels }));

  for (const message of spec.messages) {
    const frame = decodeFrame(read(`message_${message.name}`), spec.channels);
    assert.equal(frame.type, FrameType.Message, message.name);
    assert.equal(frame.channel, message.channel, message.name);
    assert.equal(frame.sequence, message.sequence, message.name);
    assert.deepEqual(frame.payload, hex(message.payload_hex), message.name);
  }
  const close = decodeFrame(read("close"), spec.channels);
  assert.equal(close.type, FrameType.Close);
  assert.equal(close.code, spec.close.code);
  assert.equal(close.reason, spec.close.reason);
  assert.equal(decodeFrame(read("ping"), null).type, FrameType.Ping);
  assert.deepEqual(decodeFrame(read("ack"), null), { type: FrameType.Ack, received: spec.ack.received });
});

test("what the browser sends is byte for byte what the C++ side sends", { skip: !directory && "EUSTRESS_VECTORS not set" }, () => {
  mkdirSync(join(directory, "ts"), { recursive: true });
  for (const [name, bytes] of ours()) {
    assert.deepEqual(bytes, read(name), name);
    writeFileSync(join(directory, "ts", `${name}.bin`), bytes);
  }
});

test("hostile frames are refused by reason, never thrown", () => {
  const channels = [ChannelKind.ReliableOrdered, ChannelKind.UnreliableSequenced];
  assert.equal(decodeFrame(new Uint8Array(), channels), "empty");
  assert.equal(decodeFrame(Uint8Array.of(9), channels), "unknown_type");
  assert.equal(decodeFrame(Uint8Array.of(1, 1, 2), channels), "bad_hello");
  assert.equal(decodeFrame(Uint8Array.of(2, 5, 3, 0), channels), "bad_welcome");
  assert.equal(decodeFrame(Uint8Array.of(2, 5, 1, 7), channels), "bad_welcome");
  assert.equal(decodeFrame(Uint8Array.of(3, 2, 0), channels), "unknown_channel");
  assert.equal(decodeFrame(Uint8Array.of(3, 0, 1), null), "unknown_channel");
  assert.equal(decodeFrame(Uint8Array.of(3), channels), "malformed");
  assert.equal(decodeFrame(Uint8Array.of(3, 1, 0), channels), "malformed");
  assert.equal(decodeFrame(Uint8Array.of(4), channels), "bad_close");
  assert.equal(decodeFrame(Uint8Array.of(5, 0), channels), "malformed");
  assert.equal(decodeFrame(Uint8Array.of(6), channels), "bad_ack");
  assert.equal(decodeFrame(Uint8Array.of(6, 1, 2), channels), "bad_ack");
});

/// Readers for the agreed component layouts: take each field at its width, as a serialize function would.
const layouts = spec.snapshots.components;
const readers = layouts.map((widths) => (source) => widths.every((bits) => source.take(bits) !== null));
const valuesOf = (entry) =>
  Object.fromEntries(entry.state.map((component) => [String(component.id), component.fields.map((f) => f.value)]));

test("the C++ snapshots decode: one in full, one as a delta against it", { skip: !directory && "EUSTRESS_VECTORS not set" }, () => {
  const first = decodeSnapshot(read("snapshot_first"), readers, () => undefined);
  assert.equal(typeof first, "object", `first snapshot: ${first}`);
  const wanted = spec.snapshots.first;
  assert.deepEqual(first.header, {
    sequence: wanted.sequence,
    tick: wanted.tick,
    actionsRequired: wanted.actions_required,
    baseline: 0,
  });
  assert.deepEqual(first.written, wanted.present.map((present) => present.entity));
  for (const [i, present] of wanted.present.entries()) assert.deepEqual(valuesOf(first.state[i]), present.components);

  assert.equal(decodeSnapshot(read("snapshot_second"), readers, () => undefined), "missing_baseline");
  const second = decodeSnapshot(read("snapshot_second"), readers, (sequence) => (sequence === 1 ? first.state : undefined));
  assert.equal(typeof second, "object", `second snapshot: ${second}`);
  assert.equal(second.header.baseline, 1);
  assert.deepEqual(second.state.map((entry) => entry.entity), spec.snapshots.second_state);
  assert.deepEqual(second.written, spec.snapshots.second.present.map((present) => present.entity));
  for (const present of spec.snapshots.second.present) {
    const entry = second.state.find((candidate) => candidate.entity === present.entity);
    assert.deepEqual(valuesOf(entry), present.components, `entity ${present.entity}`);
  }
  const carried = second.state.find((entry) => entry.entity === 300);
  assert.equal(carried.tick, spec.snapshots.first.tick, "an entity the delta did not write keeps its older tick");
  assert.deepEqual(valuesOf(carried), spec.snapshots.first.present[2].components);
});

test("hostile snapshots are refused by reason, never thrown", () => {
  assert.equal(decodeSnapshot(new Uint8Array(), readers, () => undefined), "truncated");
  assert.equal(decodeSnapshot(Uint8Array.of(0, 0, 0, 0), readers, () => undefined), "bad_header");
  assert.equal(decodeSnapshot(Uint8Array.of(1, 1, 0, 0, 0xff, 0x7f), readers, () => undefined), "too_many_entries");
  assert.equal(decodeSnapshot(Uint8Array.of(1, 1, 0, 0, 0, 0, 0), readers, () => undefined), "trailing_bits");
});
