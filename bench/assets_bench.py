#!/usr/bin/env python3
"""Asset streaming against curl from the same nginx in the same run (docs/ASSETS.md, "Measurements"):
  - time to fetch a release of random data (eustress-assets fetch: verified, kept in the chunk store, installed)
    against curl fetching the same chunk files over one kept-alive connection, to files and to /dev/null;
  - first byte: eustress-assets' first verified byte after start (the manifest included), and curl's time to the
    first byte of one chunk;
  - bytes an update fetches after a patch that inserts 100 bytes at 4 places, content-defined against fixed chunks.
One JSON object per line on stdout (bench/summarize.py). Runs alternate, after `sync`, so page-cache write-back
of one does not land on the other.
Usage: assets_bench.py BUILD_DIR [--mib 256] [--runs 2]"""
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
from harness import free_port, require, work_directory  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("build")
parser.add_argument("--mib", type=int, default=256)
parser.add_argument("--runs", type=int, default=2)
args = parser.parse_args()
tool = f"{os.path.abspath(args.build)}/apps/eustress-assets"
curl = require("curl")
work = work_directory()
rng = random.Random(7)


def emit(metric, value, unit, peer, size=args.mib):
    print(json.dumps({"bench": "assets", "metric": metric, "value": round(value, 3), "unit": unit, "peer": peer,
                      "placement": "loopback", "size": size}), flush=True)


def run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)


def timed(command):
    subprocess.run(["sync"], check=True)
    began = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    return time.monotonic() - began, result.stdout + result.stderr


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


print(f"assets: a {args.mib} MiB release, {args.runs} runs each", file=sys.stderr)
pack = bytearray(b"".join(rng.randbytes(1 << 20) for _ in range(args.mib)))
write("in/pack", bytes(pack))
run(tool, "keygen", "publisher.key")
run(tool, "publish", "in", "www", "--key", "publisher.key")
port = free_port()
start_nginx(work, port, access_logs=False)
origin = f"http://127.0.0.1:{port}"
hashes = re.findall(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})", open("www/manifest").read())
with open("to-files.cfg", "w") as files, open("to-null.cfg", "w") as null:
    for h in hashes:
        files.write(f'url = "{origin}/chunks/{h[:2]}/{h}"\noutput = "curl-out/{h}"\n')
        null.write(f'url = "{origin}/chunks/{h[:2]}/{h}"\noutput = "/dev/null"\n')

for _ in range(args.runs):
    shutil.rmtree("dest", ignore_errors=True)
    seconds, output = timed([tool, "fetch", origin, "dest", "--publisher", "publisher.key.pub"])
    emit("fetch time", seconds, "s", "eustress")
    emit("first verified byte", float(re.search(r"first verified byte ([\d.]+) ms", output).group(1)), "ms", "eustress")
    shutil.rmtree("curl-out", ignore_errors=True)
    os.makedirs("curl-out")
    emit("fetch time", timed([curl, "-s", "-K", "to-files.cfg"])[0], "s", "curl-files")
    emit("fetch time", timed([curl, "-s", "-K", "to-null.cfg"])[0], "s", "curl-null")
    first = run(curl, "-s", "-o", "/dev/null", "-w", "%{time_starttransfer}",
                f"{origin}/chunks/{hashes[0][:2]}/{hashes[0]}").stdout
    emit("first verified byte", float(first) * 1000, "ms", "curl-null")

# Delta updates: 4 insertions of 100 bytes, published content-defined and fixed
for i in (4, 3, 2, 1):
    at = len(pack) * i // 5
    pack[at:at] = rng.randbytes(100)
write("patched/pack", bytes(pack))
for mode, flags in (("content-defined", []), ("fixed-1MiB", ["--fixed"])):
    run(tool, "publish", "in", f"{mode}-1", "--key", "publisher.key", *flags)
    run(tool, "publish", "patched", f"{mode}-2", "--key", "publisher.key", *flags)
    diff = run(tool, "diff", f"{mode}-1/manifest", f"{mode}-2/manifest").stdout
    fetched = int(re.search(r"\((\d+) bytes\)", diff).group(1))
    emit(f"update bytes, 4x100 B inserted ({mode})", fetched / (1 << 20), "MiB", "eustress")
