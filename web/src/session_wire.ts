// The browser session's frames (kBrowserSessionProtocol "eustress.session.v1"), the TypeScript twin of
// src/session/browser_wire.hpp: one frame per binary WebSocket message. Any change here must change there too;
// the byte-compatibility tests (web/test/vectors.test.mjs, tests/web/browser_vectors.cpp) fail otherwise.
import { ByteReader, ByteWriter, WireError } from "./bytes.js";

export const SESSION_PROTOCOL = "eustress.session.v1";
export const PROTOCOL_VERSION = 1;
export const MAX_BUILD_ID = 64;
export const MAX_CLOSE_REASON = 200;

export enum FrameType {
  Hello = 1,
  Welcome = 2,
  Message = 3,
  Close = 4,
  Ping = 5,
  Ack = 6,
}

/// The order of the C++ ChannelKind.
export enum ChannelKind {
  ReliableOrdered = 0,
  ReliableUnordered = 1,
  Unreliable = 2,
  UnreliableSequenced = 3,
}

export interface Hello {
  type: FrameType.Hello;
  version: number;
  channelFingerprint: bigint; // 0n: take the server's table from the welcome
  connectToken: Uint8Array;
  buildId: string;
}
export interface Welcome {
  type: FrameType.Welcome;
  clientId: number;
  channels: ChannelKind[];
}
export interface Message {
  type: FrameType.Message;
  channel: number;
  sequence: number; // UnreliableSequenced channels only, else 0
  payload: Uint8Array;
}
export interface Close {
  type: FrameType.Close;
  code: number;
  reason: string;
}
export interface Ping {
  type: FrameType.Ping;
}
/// How many unreliable and sequenced messages the browser received so far (cumulative): the server reports each
/// as delivered to the game (DeliveryEvent), which replication needs to pick its delta baselines.
export interface Ack {
  type: FrameType.Ack;
  received: number;
}
export type Frame = Hello | Welcome | Message | Close | Ping | Ack;

/// Why a frame was refused, named as the C++ BrowserFrameError's to_string.
export type FrameError =
  | "empty"
  | "unknown_type"
  | "bad_hello"
  | "bad_welcome"
  | "unknown_channel"
  | "malformed"
  | "bad_close"
  | "bad_ack";

export function encodeHello(hello: Omit<Hello, "type">): Uint8Array {
  const writer = new ByteWriter().u8(FrameType.Hello).u8(hello.version).u64(hello.channelFingerprint);
  const build = new TextEncoder().encode(hello.buildId);
  if (build.length > MAX_BUILD_ID) throw new WireError("build id too long");
  // Token, then build id: each omitted when it and everything after it is empty (one encoding only).
  if (hello.connectToken.length > 0 || build.length > 0) writer.varint(hello.connectToken.length).bytes(hello.connectToken);
  if (build.length > 0) writer.varint(build.length).bytes(build);
  return writer.finish();
}

export function encodeMessage(channel: number, sequenced: boolean, sequence: number, payload: Uint8Array): Uint8Array {
  const writer = new ByteWriter().u8(FrameType.Message).u8(channel);
  if (sequenced) writer.u16(sequence & 0xffff);
  return writer.bytes(payload).finish();
}

export function encodeAck(received: number): Uint8Array {
  return new ByteWriter().u8(FrameType.Ack).varint(received).finish();
}

export function encodePing(): Uint8Array {
  return Uint8Array.of(FrameType.Ping);
}

/// Also what the server sends; here for the tests that check both directions.
export function encodeWelcome(welcome: Omit<Welcome, "type">): Uint8Array {
  const writer = new ByteWriter().u8(FrameType.Welcome).varint(welcome.clientId).u8(welcome.channels.length);
  for (const kind of welcome.channels) writer.u8(kind);
  return writer.finish();
}

function decodeHello(reader: ByteReader): Hello {
  const hello: Hello = {
    type: FrameType.Hello,
    version: reader.u8(),
    channelFingerprint: reader.u64(),
    connectToken: new Uint8Array(),
    buildId: "",
  };
  if (reader.remaining === 0) return hello;
  hello.connectToken = reader.take(reader.varint()).slice();
  if (reader.remaining === 0) {
    if (hello.connectToken.length === 0) throw new WireError("bad_hello");
    return hello;
  }
  const length = reader.varint();
  if (length === 0 || length > MAX_BUILD_ID || length !== reader.remaining) throw new WireError("bad_hello");
  hello.buildId = new TextDecoder().decode(reader.take(length));
  return hello;
}

function decodeWelcome(reader: ByteReader): Welcome {
  const clientId = reader.varint();
  const count = reader.u8();
  if (count > 64 || reader.remaining !== count) throw new WireError("bad_welcome");
  const channels: ChannelKind[] = [];
  for (let i = 0; i < count; ++i) {
    const kind = reader.u8();
    if (kind > ChannelKind.UnreliableSequenced) throw new WireError("bad_welcome");
    channels.push(kind);
  }
  return { type: FrameType.Welcome, clientId, channels };
}

/// `channels`: the table messages are checked against (the welcome's); null before the welcome.
export function decodeFrame(bytes: Uint8Array, channels: readonly ChannelKind[] | null): Frame | FrameError {
  if (bytes.length === 0) return "empty";
  const reader = new ByteReader(bytes.subarray(1));
  const fallback: Record<number, FrameError> = {
    [FrameType.Hello]: "bad_hello",
    [FrameType.Welcome]: "bad_welcome",
    [FrameType.Message]: "malformed",
    [FrameType.Close]: "bad_close",
    [FrameType.Ack]: "bad_ack",
  };
  try {
    switch (bytes[0]) {
      case FrameType.Hello:
        return decodeHello(reader);
      case FrameType.Welcome:
        return decodeWelcome(reader);
      case FrameType.Message: {
        const channel = reader.u8();
        if (!channels || channel >= channels.length) return "unknown_channel";
        const sequence = channels[channel] === ChannelKind.UnreliableSequenced ? reader.u16() : 0;
        return { type: FrameType.Message, channel, sequence, payload: reader.rest() };
      }
      case FrameType.Close: {
        const code = reader.u8();
        if (reader.remaining > MAX_CLOSE_REASON) return "bad_close";
        return { type: FrameType.Close, code, reason: new TextDecoder().decode(reader.rest()) };
      }
      case FrameType.Ack: {
        const received = reader.varint();
        return reader.remaining === 0 ? { type: FrameType.Ack, received } : "bad_ack";
      }
      case FrameType.Ping:
        return reader.remaining === 0 ? { type: FrameType.Ping } : "malformed";
      default:
        return "unknown_type";
    }
  } catch (error) {
    if (!(error instanceof WireError)) throw error;
    return error.message === "bad_hello" || error.message === "bad_welcome"
      ? (error.message as FrameError)
      : fallback[bytes[0]!]!;
  }
}

/// RFC 1982 serial comparison of 16-bit sequences: is `a` newer than `b`?
export function sequenceNewer(a: number, b: number): boolean {
  return a !== b && ((a - b) & 0xffff) < 0x8000;
}
