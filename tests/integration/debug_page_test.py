#!/usr/bin/env python3
"""The /debug live page in Debian's headless chromium while clients play: it loads with no console error, its
charts hold non-zero data, and a screenshot is saved (BUILD_DIR/debug-page.png).
Usage: debug_page_test.py BUILD_DIR"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, http_json, require, start_chatty_client, start_server, wait_for, work_directory

build = os.path.abspath(sys.argv[1])
chromium = require("chromium")
work_directory()

address, pin, http_port = start_server(build)
for n in range(3):
    start_chatty_client(build, address, pin, f"player{n}", extra=["--packet-loss-simulation", "0.02"] if n else [])
wait_for("3 connected clients with traffic", lambda: (status := http_json(
    f"http://127.0.0.1:{http_port}/debug/status.json")) and len(status["connections"]) == 3 and
    all(c["receive_bps"] > 0 for c in status["connections"]), 20)

page = f"http://127.0.0.1:{http_port}/debug/"
# Virtual time runs the page's once-a-second polling ahead: 8 s of page time take about 2 s of ours.
headless = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=" + os.path.abspath("chromium-profile"), "--virtual-time-budget=8000"]
run = subprocess.run(headless + ["--enable-logging=stderr", "--v=0", "--dump-dom", page], capture_output=True,
                     text=True, timeout=90)
if run.returncode != 0:
    fail(f"chromium failed ({run.returncode}): {run.stderr[-2000:]}")
console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
if console:
    fail("the page wrote to the console:\n" + "\n".join(console))
body = re.search(r"<body([^>]*)>", run.stdout)
if not body:
    fail("no <body> in the page:\n" + run.stdout[:2000])
state = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
print("page state:", state)
if int(state.get("errors", -1)) != 0:
    fail(f"script errors on the page: {state}")
if int(state.get("samples", 0)) < 3:
    fail(f"the page drew fewer than 3 samples: {state}")
for chart in ("rtt", "bandwidth"):
    if int(state.get("nonzero-" + chart, 0)) == 0:
        fail(f"the {chart} chart holds no non-zero point: {state}")
rows = re.findall(r"<tr><td>", run.stdout)
if len(rows) != 3:
    fail(f"the connection table has {len(rows)} rows, expected 3")
if "127.0.0.1" in re.sub(r"<[^>]+>", "", run.stdout.split("<tbody", 1)[1]):
    fail("the connection table shows an address")

screenshot = os.path.join(build, "debug-page.png")
run = subprocess.run(headless + ["--window-size=1400,1000", "--screenshot=" + screenshot, page],
                     capture_output=True, text=True, timeout=90)
if run.returncode != 0 or not os.path.exists(screenshot) or os.path.getsize(screenshot) < 10000:
    fail(f"no screenshot: {run.stderr[-2000:]}")
print(f"page loaded with no console error, charts hold data; screenshot {screenshot}")
