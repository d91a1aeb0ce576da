"""What the browser tests share: the page in headless chromium (web/tools/browser_driver.mjs, one command a line),
building web/ (scripts/web-setup.sh), and holding the page's mirrored world against the server's world log
(eustress-server --cubes N --world-log PATH)."""
import json
import math
import os
import subprocess

import harness

CUBES = 12
POSITION_BOUND_M = 0.0005 + 1e-6  # the default transform grid: 1 mm steps, half a step at most (float rounding in)
ROTATION_BOUND_DEGREES = 0.06  # smallest three at 12 bits: about 0.03 degrees at most
SOURCE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class Driver:
    """The page in chromium, one command a line (web/tools/browser_driver.mjs)."""

    def __init__(self, node, chromium, url, chromium_flags=()):
        self.process = subprocess.Popen([node, os.path.join(SOURCE, "web", "tools", "browser_driver.mjs"), chromium,
                                         url, *chromium_flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=open("driver.err", "w"), text=True, cwd=os.path.join(SOURCE, "web"))
        harness._processes.append(self.process)

    def answer(self):
        line = self.process.stdout.readline().strip()  # the driver bounds every wait itself (10 s)
        if not line or line.startswith("failed"):
            harness.fail(f"the browser driver: {line or 'ended'}; {open('driver.err').read()[-2000:]}")
        return line

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.answer()


def rotation_error_degrees(a, b):
    dot = min(1.0, abs(sum(x * y for x, y in zip(a, b))))
    return math.degrees(2 * math.acos(dot))


def compare_worlds(page, world_log="world.jsonl"):
    """The page's mirror at a tick the server logged, two seconds after its first kept world (so deltas against
    acknowledged baselines are what built it), against the server's poses: every cube, within quantization."""
    first = json.loads(page.ask("world 1"))["captures"][-1]["tick"]
    answer = page.ask(f"world {first + 120}")
    if answer == "timeout":
        harness.fail(f"the page kept no world after tick {first + 120}")
    world = json.loads(answer)
    browser = world["captures"][-1]
    tick = browser["tick"]
    line = harness.wait_line(world_log, rf'^\{{"tick":{tick},.*$', 5, f"the server's world at tick {tick}")
    server = json.loads(line.group(0))["entities"]
    if sorted(browser["entities"]) != sorted(server) or len(server) != CUBES:
        harness.fail(f"at tick {tick} the page holds entities {sorted(browser['entities'])}, the server {sorted(server)}")
    worst_position = worst_rotation = 0.0
    for entity, truth in server.items():
        pose = browser["entities"][entity]
        worst_position = max([worst_position] + [abs(a - b) for a, b in zip(pose["position"], truth[:3])])
        worst_rotation = max(worst_rotation, rotation_error_degrees(pose["rotation"], truth[3:]))
    if worst_position > POSITION_BOUND_M or worst_rotation > ROTATION_BOUND_DEGREES:
        harness.fail(f"at tick {tick} the page's world is off by {worst_position * 1000:.3f} mm, "
                     f"{worst_rotation:.4f} degrees")
    counters = world["counters"]
    if counters["snapshotsApplied"] < 120 or counters["malformedSnapshots"] or counters["baselineRequests"]:
        harness.fail(f"the page's mirror counters: {counters}")
    print(f"mirror: at tick {tick} the page holds all {CUBES} cubes, worst {worst_position * 1000:.3f} mm and "
          f"{worst_rotation:.4f} degrees from the server; {counters['snapshotsApplied']} snapshots applied")


def build_web_package():
    """npm ci when node_modules is missing or stale, the type check and the bundles in web/dist."""
    setup = subprocess.run([os.path.join(SOURCE, "scripts", "web-setup.sh")], capture_output=True, text=True,
                           timeout=600)
    if setup.returncode != 0:
        harness.fail(f"scripts/web-setup.sh failed:\n{setup.stdout[-2000:]}\n{setup.stderr[-2000:]}")
