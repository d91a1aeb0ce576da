// EustressClient against a scripted socket: the hello it sends, the welcome, freshness on sequenced channels, one
// cumulative ack per turn of the event loop, and a server's Close frame ending the session once.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ChannelKind,
  decodeFrame,
  encodeMessage,
  encodeWelcome,
  EustressClient,
  FrameType,
  SESSION_PROTOCOL,
} from "../dist/eustress.mjs";
import { ScriptedSocket } from "./scripted_socket.mjs";

const kinds = [ChannelKind.ReliableOrdered, ChannelKind.Unreliable, ChannelKind.UnreliableSequenced];

function connected() {
  const events = [];
  const client = new EustressClient({ url: "ws://server/", webSocket: ScriptedSocket, keepAliveMs: 60_000 });
  client.onEvent((event) => events.push(event));
  const socket = ScriptedSocket.last;
  socket.onopen();
  socket.deliver(encodeWelcome({ clientId: 42, channels: kinds }));
  return { client, events, socket };
}

test("the client asks for the session subprotocol, says hello and is welcomed", () => {
  const { client, events, socket } = connected();
  assert.deepEqual(socket.protocols, [SESSION_PROTOCOL]);
  const hello = decodeFrame(socket.sent[0], null);
  assert.equal(hello.type, FrameType.Hello);
  assert.equal(hello.channelFingerprint, 0n);
  assert.deepEqual(events, [{ type: "ConnectedEvent", clientId: 42 }]);
  assert.equal(client.clientId, 42);
  client.close();
});

test("stale sequenced messages are dropped and unreliable ones acknowledged once per turn", async () => {
  const { client, events, socket } = connected();
  socket.deliver(encodeMessage(2, true, 10, Uint8Array.of(10)));
  socket.deliver(encodeMessage(2, true, 9, Uint8Array.of(9)));
  socket.deliver(encodeMessage(1, false, 0, Uint8Array.of(1)));
  socket.deliver(encodeMessage(0, false, 0, Uint8Array.of(0)));
  const messages = events.filter((event) => event.type === "MessageEvent");
  assert.deepEqual(messages.map((message) => [...message.data]), [[10], [1], [0]]);
  assert.equal(client.counters.staleSequenced, 1);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const acks = socket.sent.map((bytes) => decodeFrame(bytes, kinds)).filter((frame) => frame.type === FrameType.Ack);
  assert.deepEqual(acks, [{ type: FrameType.Ack, received: 3 }]);
  client.close();
});

test("a Close frame from the server ends the session once, with its reason", () => {
  const { events, socket } = connected();
  socket.deliver(Uint8Array.of(FrameType.Close, 4, ...new TextEncoder().encode("kicked")));
  assert.deepEqual(events.slice(1), [{ type: "DisconnectedEvent", reason: "kicked" }]);
});
