// A WebSocket stand-in for EustressClient in node's tests: records what the client sends, and delivers frames to
// it as the browser would (an ArrayBuffer per message). The last one constructed is ScriptedSocket.last.
export class ScriptedSocket {
  static last = null;
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 1;
    this.sent = [];
    ScriptedSocket.last = this;
  }
  send(bytes) {
    this.sent.push(bytes);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({ code: 1000, reason: "" });
  }
  deliver(bytes) {
    this.onmessage({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }
}
