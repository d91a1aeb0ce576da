#!/usr/bin/env python3
"""A release from the origin alone against the origin plus two peers of a mesh serving together, and against curl
fetching the same chunk files from the same nginx in the same run (docs/ASSETS.md, "Peers"). Two origins:
  - loopback nginx at full speed;
  - the same nginx's /slow/ path, 1 MB/s per request (a CDN's per-connection share): where peers pay off.
The peers are two `eustress-assets seed` players that fetched the release before; the timed fetch joins their mesh
(an eustress-server --mesh on loopback) and waits for both, which its time includes.
One JSON object per line on stdout (bench/summarize.py).
Usage: assets_peers_bench.py BUILD_DIR [--mib 32] [--runs 1]"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from asset_origin import start_nginx  # noqa: E402
from harness import free_port, require, start, wait_for, wait_for_text, work_directory  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("build")
parser.add_argument("--mib", type=int, default=32)
parser.add_argument("--runs", type=int, default=1)
args = parser.parse_args()
build = os.path.abspath(args.build)
tool = f"{build}/apps/eustress-assets"
curl = require("curl")
work = work_directory()


def emit(metric, value, unit, peer):
    print(json.dumps({"bench": "assets-peers", "metric": metric, "value": round(value, 3), "unit": unit,
                      "peer": peer, "placement": "loopback", "size": args.mib}), flush=True)


def run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)


def timed(command):
    subprocess.run(["sync"], check=True)
    began = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
    return time.monotonic() - began, result.stderr


print(f"assets-peers: a {args.mib} MiB release, origin alone, origin + 2 peers, curl", file=sys.stderr)
os.makedirs("in")
with open("in/pack", "wb") as out:
    rng = random.Random(9)
    for _ in range(args.mib):
        out.write(rng.randbytes(1 << 20))
run(tool, "keygen", "publisher.key")
run(tool, "publish", "in", "www", "--key", "publisher.key")
port = free_port()
start_nginx(work, port, access_logs=False)
start([f"{build}/apps/eustress-server", "--mesh", "1", "--no-http", "--bind", "127.0.0.1", "-p", "0",
       "--dev-cert-dir", "cert", "--duration", "3600"], "server.out")
banner = wait_for("the server's banner",
                  lambda: re.search(r"listening on (\S+) pin (\S+)", open("server.out").read()), 15)
mesh = ["--server", banner.group(1), "--pin", banner.group(2)]
fast, slow = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/slow"
for seed in ("seed1", "seed2"):
    run(tool, "fetch", fast, seed, "--publisher", "publisher.key.pub")
    start([tool, "seed", seed, "--publisher", "publisher.key.pub", *mesh], f"{seed}.out")
    wait_for_text(f"{seed}.out", "seeding release", 15)

hashes = re.findall(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})", open("www/manifest").read())
for label, origin in (("", fast), (", origin 1 MB/s per request", slow)):
    with open("curl.cfg", "w") as config:
        for h in hashes:
            config.write(f'url = "{origin}/chunks/{h[:2]}/{h}"\noutput = "curl-out/{h}"\n')
    for _ in range(args.runs):
        shutil.rmtree("curl-out", ignore_errors=True)
        os.makedirs("curl-out")
        emit("fetch time" + label, timed([curl, "-s", "-K", "curl.cfg"])[0], "s", "curl-files")
        shutil.rmtree("dest", ignore_errors=True)
        emit("fetch time" + label, timed([tool, "fetch", origin, "dest", "--publisher", "publisher.key.pub"])[0],
             "s", "eustress-origin")
        shutil.rmtree("dest", ignore_errors=True)
        seconds, output = timed([tool, "fetch", origin, "dest", "--publisher", "publisher.key.pub", "--wait-peers",
                                 "2", *mesh])
        joining = float(re.search(r"joined in ([\d.]+) ms", output).group(1)) / 1000
        emit("fetch time" + label, seconds, "s", "eustress-origin+2-peers")
        emit("fetch time after joining the mesh" + label, seconds - joining, "s", "eustress-origin+2-peers")
