// The demo page: connects to the server that served it (same origin), chats on channel 0, mirrors the replicated
// world when the server replicates one (eustress-server --cubes serves /replication.json with its channels) and
// draws it from above. `window.eustress` is what the Chromium test (tests/integration/browser_test.py) reads.
import { EustressClient } from "./client.js";
import type { NetworkEvent } from "./events.js";
import { ReplicationMirror } from "./mirror.js";
import type { Transform } from "./transform.js";

const CHAT_CHANNEL = 0;
/// The mirror's world is kept for the test at every 60th server tick (once a second, as the server logs it).
const CAPTURE_EVERY = 60;
const CAPTURES_KEPT = 20;

interface Capture {
  tick: number;
  entities: Record<string, Transform>;
}

interface PageState {
  client: EustressClient;
  mirror: ReplicationMirror | null;
  events: NetworkEvent[];
  chat: string[];
  captures: Capture[];
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

async function replicationChannels(): Promise<{ entities: number; snapshots: number } | null> {
  const answer = await fetch("/replication.json").catch(() => null);
  return answer?.ok ? ((await answer.json()) as { entities: number; snapshots: number }) : null;
}

const channels = await replicationChannels();
const url = new URL("/", location.href);
url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
const client = new EustressClient({ url: url.toString(), buildId: "eustress-web-page" });
const mirror = channels
  ? new ReplicationMirror({
      channels,
      send: (channel, data) => client.send(channel, data),
      fail: (reason) => {
        show(reason);
        client.close();
      },
    })
  : null;
const state: PageState = {
  client,
  mirror,
  events: [],
  chat: [],
  captures: [],
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

function capture(world: ReplicationMirror): void {
  const entities: Record<string, Transform> = {};
  for (const entity of world.entities()) {
    const pose = world.transform(entity.id);
    if (pose) entities[String(entity.id)] = pose;
  }
  state.captures.push({ tick: world.serverTick, entities });
  if (state.captures.length > CAPTURES_KEPT) state.captures.shift();
}

/// Top view, 22 pixels a metre around the origin: each cube a square turned by its yaw, lighter when higher.
function drawCubes(context: CanvasRenderingContext2D, world: ReplicationMirror): void {
  const scale = 22;
  for (const entity of world.entities()) {
    const pose = world.transform(entity.id);
    if (!pose) continue;
    const [w, , , z] = pose.rotation;
    const yaw = 2 * Math.atan2(z, w);
    const light = Math.round(120 + 100 * Math.min(1, Math.max(0, pose.position[2])));
    context.save();
    context.translate(canvas.width / 2 + pose.position[0] * scale, canvas.height / 2 - pose.position[1] * scale);
    context.rotate(-yaw);
    context.fillStyle = `rgb(${light >> 1}, ${light}, 255)`;
    context.fillRect(-8, -8, 16, 16);
    context.restore();
  }
}

function draw(): void {
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#0b0c0f";
  context.fillRect(0, 0, canvas.width, canvas.height);
  if (mirror) drawCubes(context, mirror);
  context.fillStyle = client.connected ? "#4caf50" : "#c62828";
  context.beginPath();
  context.arc(30, 30, 12, 0, Math.PI * 2);
  context.fill();
  context.fillStyle = "#e6e6e6";
  context.font = "15px system-ui, sans-serif";
  context.fillText(client.connected ? `client ${client.clientId} on ${url.host}` : "not connected", 52, 36);
  const world = mirror ? `   entities: ${[...mirror.entities()].length} at tick ${mirror.serverTick}` : "";
  context.fillText(`channels: ${client.channelKinds().length}   messages: ${state.chat.length}${world}`, 52, 60);
}

let drawScheduled = false;
function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    draw();
  });
}

client.onEvent((event) => {
  if (mirror) {
    const tick = mirror.serverTick;
    const own = mirror.handle(event);
    if (mirror.serverTick !== tick && mirror.serverTick % CAPTURE_EVERY === 0) capture(mirror);
    if (own) return scheduleDraw();
  }
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
  scheduleDraw();
});

form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  if (input.value && client.connected) state.say(input.value);
  input.value = "";
});
draw();
