#!/usr/bin/env python3
"""Asset streaming against curl from the same nginx in the same run (docs/ASSETS.md, "Measurements"):
  - time to fetch a release of random data (eustress-assets fetch: verified, kept in the chunk store, installed)
    over HTTP/1.1 (4 connections), HTTP/2 over TLS (16 streams on one connection) and HTTP/1.1 range requests of
    the published file, against curl fetching the same chunk files over one kept-alive connection, to files and
    to /dev/null; medians of --runs, in two placements: "one-core" (nginx and the client on core 0) and
    "two-cores" (nginx on core 0, the client on core 1);
  - first byte: eustress-assets' first verified byte after start (the manifest included), and curl's time to the
    first byte of one chunk;
  - bytes an update fetches after a patch that inserts 100 bytes at 4 places, content-defined against fixed chunks.
One JSON object per line on stdout (bench/summarize.py). Runs alternate, after `sync`, so page-cache write-back
of one does not land on the other.
Usage: assets_bench.py BUILD_DIR [--mib 256] [--runs 3] [--placements one-core,two-cores]"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from asset_origin import make_certificate, start_nginx  # noqa: E402
from harness import free_port, require, work_directory  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("build")
parser.add_argument("--mib", type=int, default=256)
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--placements", default="one-core,two-cores")
args = parser.parse_args()
tool = f"{os.path.abspath(args.build)}/apps/eustress-assets"
curl = require("curl")
work = work_directory()
rng = random.Random(7)


def emit(metric, value, unit, peer, size=args.mib, placement="loopback"):
    print(json.dumps({"bench": "assets", "metric": metric, "value": round(value, 3), "unit": unit, "peer": peer,
                      "placement": placement, "size": size}), flush=True)


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
port, h2_port = free_port(), free_port()
certificate = make_certificate(work)
start_nginx(work, port, access_logs=False, h2_port=h2_port, files=f"{work}/in", cpu=0)
origin, h2 = f"http://127.0.0.1:{port}", f"https://127.0.0.1:{h2_port}"
hashes = re.findall(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})", open("www/manifest").read())
with open("to-files.cfg", "w") as files, open("to-null.cfg", "w") as null:
    for h in hashes:
        files.write(f'url = "{origin}/chunks/{h[:2]}/{h}"\noutput = "curl-out/{h}"\n')
        null.write(f'url = "{origin}/chunks/{h[:2]}/{h}"\noutput = "/dev/null"\n')
fetch = [tool, "fetch", "--publisher", "publisher.key.pub"]
CLIENTS = {
    "eustress-http1": fetch + [origin],
    "eustress-http2": fetch + ["--http2", "--cacert", certificate, h2],
    "eustress-ranges": fetch + ["--files", f"{origin}/files", origin],
    "curl-files": [curl, "-s", "-K", "to-files.cfg"],
    "curl-null": [curl, "-s", "-K", "to-null.cfg"],
}


def one_run(name, cpu):
    shutil.rmtree("dest", ignore_errors=True)
    shutil.rmtree("curl-out", ignore_errors=True)
    os.makedirs("curl-out")
    command = ["taskset", "-c", str(cpu), *CLIENTS[name]] + (["dest"] if name.startswith("eustress") else [])
    seconds, output = timed(command)
    first = re.search(r"first verified byte ([\d.]+) ms", output)
    return seconds, float(first.group(1)) if first else None


for placement in args.placements.split(","):
    cpu = 0 if placement == "one-core" else 1
    times, firsts = {name: [] for name in CLIENTS}, {name: [] for name in CLIENTS}
    for _ in range(args.runs):  # alternated, so a slow spell of the machine lands on every client alike
        for name in CLIENTS:
            seconds, first = one_run(name, cpu)
            times[name].append(seconds)
            if first is not None:
                firsts[name].append(first)
    for name in CLIENTS:
        median = statistics.median(times[name])
        emit("fetch time", median, "s", name, placement=placement)
        print(f"  {placement:9} {name:16} {median:7.2f} s  runs {' '.join(f'{t:.2f}' for t in times[name])}"
              f"  {median / statistics.median(times['curl-files']):.2f}x curl-files time", file=sys.stderr)
        if firsts[name]:
            emit("first verified byte", statistics.median(firsts[name]), "ms", name, placement=placement)
    first = run(curl, "-s", "-o", "/dev/null", "-w", "%{time_starttransfer}",
                f"{origin}/chunks/{hashes[0][:2]}/{hashes[0]}").stdout
    emit("first verified byte", float(first) * 1000, "ms", "curl-null", placement=placement)

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
