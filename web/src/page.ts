// The demo page: connects to the server that served it (same origin), chats on channel 0 and draws the session's
// state. `window.eustress` is what the Chromium test (tests/integration/browser_test.py) reads.
import { EustressClient } from "./client.js";
import type { NetworkEvent } from "./events.js";

const CHAT_CHANNEL = 0;

interface PageState {
  client: EustressClient;
  events: NetworkEvent[];
  chat: string[];
  say(text: string): void;
}

declare global {
  interface Window {
    eustress: PageState;
  }
}

const status = document.getElementById("status")!;
const log = document.getElementById("log")!;
const form = document.getElementById("form") as HTMLFormElement;
const input = document.getElementById("chat") as HTMLInputElement;
const canvas = document.getElementById("view") as HTMLCanvasElement;

const url = new URL("/", location.href);
url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
const client = new EustressClient({ url: url.toString(), buildId: "eustress-web-page" });
const state: PageState = {
  client,
  events: [],
  chat: [],
  say(text: string) {
    client.send(CHAT_CHANNEL, new TextEncoder().encode(text));
    show(`[me] ${text}`);
  },
};
window.eustress = state;

function show(line: string): void {
  state.chat.push(line);
  log.textContent += line + "\n";
  log.scrollTop = log.scrollHeight;
}

function draw(): void {
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#0b0c0f";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = client.connected ? "#4caf50" : "#c62828";
  context.beginPath();
  context.arc(40, 40, 16, 0, Math.PI * 2);
  context.fill();
  context.fillStyle = "#e6e6e6";
  context.font = "16px system-ui, sans-serif";
  context.fillText(client.connected ? `client ${client.clientId} on ${url.host}` : "not connected", 70, 46);
  context.fillText(`channels: ${client.channelKinds().length}   messages: ${state.chat.length}`, 70, 76);
}

client.onEvent((event) => {
  state.events.push(event);
  switch (event.type) {
    case "ConnectedEvent":
      status.textContent = `connected as client ${event.clientId}`;
      break;
    case "DisconnectedEvent":
      status.textContent = `disconnected: ${event.reason}`;
      break;
    case "MessageEvent":
      if (event.channel === CHAT_CHANNEL) show(new TextDecoder().decode(event.data));
      break;
  }
  draw();
});

form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  if (input.value && client.connected) state.say(input.value);
  input.value = "";
});
draw();
