// Drives the demo page in Debian's chromium through puppeteer-core (no browser download), for
// tests/integration/browser_test.py and the browser benchmark. Usage: node browser_driver.mjs CHROMIUM URL [FLAG...]
// (FLAGs go to chromium, e.g. --ignore-certificate-errors-spki-list=PIN for a test certificate).
// Then one command a line on stdin, one answer a line on stdout:
//   say TEXT          the page sends TEXT on the chat channel            -> "said"
//   wait TEXT         until a chat line containing TEXT arrived (10 s)   -> "seen" or "timeout"
//   state             the page's session state and console errors, JSON  -> {...}
//   world TICK        once the page kept its mirrored world at a tick >= TICK (every 60th tick; 10 s): the kept
//                     worlds and the mirror's counters, JSON               -> {"captures": [...], ...} or "timeout"
//   screenshot PATH   a PNG of the page                                  -> "saved"
//   quit
// It answers "connected ID" once the page's session is welcomed, or "failed REASON".
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const [chromium, url, ...flags] = process.argv.slice(2);
const errors = [];
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", ...flags],
});
const answer = (line) => process.stdout.write(line + "\n");
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 700, height: 600 });
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url, { waitUntil: "load", timeout: 10_000 });
  await page.waitForFunction(() => window.eustress?.client.connected, { timeout: 10_000 });
  answer(`connected ${await page.evaluate(() => window.eustress.client.clientId)}`);

  for await (const line of createInterface({ input: process.stdin })) {
    const [command, ...rest] = line.split(" ");
    const argument = rest.join(" ");
    if (command === "say") {
      await page.evaluate((text) => window.eustress.say(text), argument);
      answer("said");
    } else if (command === "wait") {
      const seen = await page
        .waitForFunction((text) => window.eustress.chat.some((chat) => chat.includes(text)), { timeout: 10_000 }, argument)
        .then(() => true, () => false);
      answer(seen ? "seen" : "timeout");
    } else if (command === "state") {
      const state = await page.evaluate(() => ({
        connected: window.eustress.client.connected,
        clientId: window.eustress.client.clientId,
        channels: window.eustress.client.channelKinds().length,
        chat: window.eustress.chat,
        events: window.eustress.events.map((event) => event.type),
        counters: window.eustress.client.counters,
        mirror: window.eustress.mirror?.counters ?? null,
      }));
      answer(JSON.stringify({ ...state, errors }));
    } else if (command === "world") {
      const minimum = Number(argument);
      const kept = await page
        .waitForFunction((tick) => window.eustress.captures.some((capture) => capture.tick >= tick), { timeout: 10_000 }, minimum)
        .then(() => true, () => false);
      const world = await page.evaluate(() => ({
        captures: window.eustress.captures,
        counters: window.eustress.mirror?.counters ?? null,
        tick: window.eustress.mirror?.serverTick ?? 0,
      }));
      answer(kept ? JSON.stringify(world) : "timeout");
    } else if (command === "screenshot") {
      await page.screenshot({ path: argument });
      answer("saved");
    } else if (command === "quit") {
      break;
    }
  }
} catch (error) {
  answer(`failed ${String(error).replaceAll("\n", " ")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
