#!/usr/bin/env python3
"""A browser plays: eustress-server serves the demo page (web/, built by scripts/web-setup.sh, which runs `npm ci`
when node_modules is missing or stale) on its WebSocket port; Debian's headless chromium, driven by puppeteer-core
(web/tools/browser_driver.mjs, no browser download), loads it and runs the session over the browser subprotocol
(eustress.session.v1). The page and a native eustress-client over UDP chat both ways through the server; no console
error; the server counts one browser session. The server replicates a world of circling cubes (--cubes) and logs
its state every 60th tick (--world-log); the page's mirror (web/src/mirror.ts) at such a tick must hold every cube,
each within quantization of the server's pose, and a native client mirrors the same world. A screenshot with the
cubes is saved as browser.png (docs/browser.png with --save).
Usage: browser_test.py BUILD_DIR [--save-screenshot PATH]"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from browser_page import CUBES, Driver, SOURCE, build_web_package, compare_worlds  # noqa: E402

def main(build, screenshot_copy):
    node, chromium = harness.require("node"), harness.require("chromium")
    build_web_package()
    harness.work_directory()
    server = harness.start([f"{build}/apps/eustress-server", "--bind", "127.0.0.1", "-p", "0", "--websocket", "0",
                            "--no-http", "--allow-origin", "*", "--web-root", os.path.join(SOURCE, "web", "dist"),
                            "--dev-cert-dir", "cert", "--cubes", str(CUBES),
                            "--world-log", "world.jsonl"], "server.out")
    banner = harness.wait_line("server.out", r"^listening on (\S+) pin (\S+)$", 10, "the server's banner")
    udp, pin = banner.group(1), banner.group(2)
    websocket = harness.wait_line("server.out", r"^websocket on \S+ port (\d+)", 5, "the WebSocket port").group(1)
    native = harness.start_typing_client([f"{build}/apps/eustress-client", "--server", udp, "--pin", pin,
                                          "--replicated"], "native.out")
    native_id = harness.wait_line("native.out", r"^connected as client (\d+) over udp", 10, "the native client").group(1)

    page = Driver(node, chromium, f"http://127.0.0.1:{websocket}/")
    connected = page.answer()
    if not connected.startswith("connected "):
        harness.fail(f"the page did not connect: {connected}")
    browser_id = connected.split()[1]
    harness.wait_line("server.out", rf"^client {browser_id} connected$", 5, "the server's ConnectedEvent for the browser")
    print(f"chromium: page loaded from the server, session welcomed as client {browser_id}")

    if page.ask("say hello from chromium") != "said":
        harness.fail("the page could not send")
    harness.wait_line("native.out", rf"^\[client {browser_id}\] hello from chromium$", 10, "the browser's line at the native client")
    harness.type_line(native, "hello back from the native client")
    if page.ask(f"wait [client {native_id}] hello back from the native client") != "seen":
        harness.fail("the native client's line never reached the page")
    print("chat: browser -> native over WebSocket and UDP, and back")

    compare_worlds(page)
    harness.wait_line("native.out", rf"^mirror: {CUBES} entities at tick \d+$", 5, "the native client's mirror")
    print(f"native client: mirrors the {CUBES} cubes too")

    state = json.loads(page.ask("state"))
    if state["errors"]:
        harness.fail(f"console errors in the page: {state['errors']}")
    mirror = state["mirror"]
    if state["counters"]["badFrames"] or state["events"][:1] != ["ConnectedEvent"] or mirror["malformedSnapshots"] \
            or mirror["malformedActions"] or mirror["exceptions"]:
        harness.fail(f"unexpected page state: {state}")
    if page.ask(f"screenshot {os.path.abspath('browser.png')}") != "saved":
        harness.fail("no screenshot")
    if screenshot_copy:
        with open("browser.png", "rb") as source, open(screenshot_copy, "wb") as copy:
            copy.write(source.read())
    page.process.stdin.write("quit\n")
    page.process.stdin.close()
    page.process.wait(timeout=15)
    native.stdin.close()
    server.terminate()
    server.wait(timeout=5)
    totals = harness.wait_line("server.out", r"^browser: sessions (\d+), files served (\d+)", 5, "the server's browser totals")
    if int(totals.group(1)) != 1 or int(totals.group(2)) < 2:
        harness.fail(f"the server counted {totals.group(1)} browser sessions and {totals.group(2)} files")
    print(f"no console error; {state['channels']} channels; screenshot saved; server: 1 browser session")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--save-screenshot"):
        sys.exit(__doc__)
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None)
