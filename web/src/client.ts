// The browser's end of the session: one WebSocket with the subprotocol "eustress.session.v1", the hello with the
// connect token, the welcome with our id and the channel table, then channel messages both ways. Reliable channels
// ride the ordered stream as they are; sequenced ones carry their sequence and stale ones are dropped (freshness).
import type { NetworkEvent } from "./events.js";
import {
  ChannelKind,
  decodeFrame,
  encodeAck,
  encodeHello,
  encodeMessage,
  encodePing,
  FrameType,
  PROTOCOL_VERSION,
  SESSION_PROTOCOL,
  sequenceNewer,
} from "./session_wire.js";

export interface ClientOptions {
  url: string; // ws://host:port/path
  connectToken?: Uint8Array;
  buildId?: string;
  /// The channel table's fingerprint when the page knows it; 0n (default) takes the server's table.
  channelFingerprint?: bigint;
  /// A ping keeps an idle page under the server's idle timeout (30 s by default).
  keepAliveMs?: number;
  /// For tests outside a browser (node's WebSocket); the browser's by default.
  webSocket?: typeof WebSocket;
}

/// Counters of what the client refused or dropped, by reason.
export interface ClientCounters {
  badFrames: Record<string, number>;
  staleSequenced: number;
}

export class EustressClient {
  private socket: WebSocket;
  private channels: ChannelKind[] | null = null;
  private nextSequence: number[] = [];
  private newestReceived: (number | null)[] = [];
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private listeners: ((event: NetworkEvent) => void)[] = [];
  private finished = false;
  private unreliableReceived = 0;
  private ackScheduled = false;
  readonly counters: ClientCounters = { badFrames: {}, staleSequenced: 0 };
  clientId: number | null = null;

  constructor(private readonly options: ClientOptions) {
    const Socket = options.webSocket ?? WebSocket;
    this.socket = new Socket(options.url, [SESSION_PROTOCOL]);
    this.socket.binaryType = "arraybuffer";
    this.socket.onopen = () => this.sendHello();
    this.socket.onmessage = (message) => this.onFrame(new Uint8Array(message.data as ArrayBuffer));
    this.socket.onclose = (close) => this.ended(close.reason || `connection closed (${close.code})`);
  }

  onEvent(listener: (event: NetworkEvent) => void): void {
    this.listeners.push(listener);
  }

  get connected(): boolean {
    return this.clientId !== null;
  }

  channelKinds(): readonly ChannelKind[] {
    return this.channels ?? [];
  }

  send(channel: number, data: Uint8Array): void {
    if (!this.channels) throw new Error("not connected yet");
    const kind = this.channels[channel];
    if (kind === undefined) throw new Error(`no channel ${channel}`);
    const sequenced = kind === ChannelKind.UnreliableSequenced;
    const sequence = this.nextSequence[channel]!;
    if (sequenced) this.nextSequence[channel] = (sequence + 1) & 0xffff;
    this.socket.send(encodeMessage(channel, sequenced, sequence, data));
  }

  close(): void {
    this.socket.close(1000, "closed by the page");
  }

  private emit(event: NetworkEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private sendHello(): void {
    this.socket.send(
      encodeHello({
        version: PROTOCOL_VERSION,
        channelFingerprint: this.options.channelFingerprint ?? 0n,
        connectToken: this.options.connectToken ?? new Uint8Array(),
        buildId: this.options.buildId ?? "eustress-web",
      }),
    );
    const every = this.options.keepAliveMs ?? 10_000;
    this.keepAlive = setInterval(() => this.socket.readyState === 1 && this.socket.send(encodePing()), every);
  }

  private onFrame(bytes: Uint8Array): void {
    const frame = decodeFrame(bytes, this.channels);
    if (typeof frame === "string") {
      this.counters.badFrames[frame] = (this.counters.badFrames[frame] ?? 0) + 1;
      return this.socket.close(4000, `bad frame: ${frame}`);
    }
    switch (frame.type) {
      case FrameType.Welcome:
        this.channels = frame.channels;
        this.nextSequence = frame.channels.map(() => 0);
        this.newestReceived = frame.channels.map(() => null);
        this.clientId = frame.clientId;
        return this.emit({ type: "ConnectedEvent", clientId: frame.clientId });
      case FrameType.Message: {
        const kind = this.channels![frame.channel];
        if (kind === ChannelKind.Unreliable || kind === ChannelKind.UnreliableSequenced) this.acknowledge();
        if (kind === ChannelKind.UnreliableSequenced) {
          const newest = this.newestReceived[frame.channel];
          if (newest != null && !sequenceNewer(frame.sequence, newest)) {
            ++this.counters.staleSequenced;
            return;
          }
          this.newestReceived[frame.channel] = frame.sequence;
        }
        return this.emit({ type: "MessageEvent", channel: frame.channel, data: frame.payload.slice() });
      }
      case FrameType.Close:
        this.ended(frame.reason); // first: closing the socket reports an end of its own
        return this.socket.close(1000);
      default:
        this.counters.badFrames["wrong_direction"] = (this.counters.badFrames["wrong_direction"] ?? 0) + 1;
    }
  }

  /// One cumulative ack per turn of the event loop, however many unreliable messages arrived in it.
  private acknowledge(): void {
    ++this.unreliableReceived;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => {
      this.ackScheduled = false;
      if (this.socket.readyState === 1) this.socket.send(encodeAck(this.unreliableReceived));
    });
  }

  private ended(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.channels = null;
    this.clientId = null;
    this.emit({ type: "DisconnectedEvent", reason });
  }
}
