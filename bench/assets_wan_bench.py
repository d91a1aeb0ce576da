#!/usr/bin/env python3
"""First verified byte from an HTTP origin across the emulated WAN (docs/ASSETS.md, "First byte"; the issue's bounds:
under 500 ms, and under RTT + 50 ms from a warm origin). nginx runs in namespace B, `eustress-assets fetch` in A,
the delay line between them (tests/integration/wan_lab.py) at 50 and 150 ms RTT. For HTTP/1.1 and for HTTP/2 over
TLS, each run reports two figures the tool prints:
  after the request  from opening the streams (the manifest already verified, its connection still open) to the
                     first verified chunk handed over: what the game waits for when it asks for a file
  after start        from process start, the connection, the TLS handshake and the manifest included
The origin is warm (its files in the page cache after the first run); medians of --runs. One JSON object per
line on stdout (bench/summarize.py), a table on stderr. Needs root.
Usage: assets_wan_bench.py BUILD_DIR [--runs 5] [--rtts 50,150]"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import nat_lab  # noqa: E402
import wan_lab  # noqa: E402
from asset_origin import make_certificate, start_nginx  # noqa: E402
from harness import free_port, work_directory  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("build")
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--rtts", default="50,150")
args = parser.parse_args()
build = os.path.abspath(args.build)
tool = f"{build}/apps/eustress-assets"
work = work_directory()

os.makedirs("in/maps", exist_ok=True)
with open("in/maps/arena.pak", "wb") as out:
    out.write(random.Random(5).randbytes(4 << 20))
subprocess.run([tool, "keygen", "publisher.key"], check=True, capture_output=True)
subprocess.run([tool, "publish", "in", "www", "--key", "publisher.key"], check=True, capture_output=True)

with nat_lab.Lab() as lab:
    wan = wan_lab.Wan(lab, build, both="delay=25ms")
    port, h2_port = free_port(), free_port()
    certificate = make_certificate(work, wan.b_address)
    start_nginx(work, port, access_logs=False, h2_port=h2_port, host=wan.b_address, namespace=wan.b)
    nat_lab.run(wan.a, ["sh", "-c", f"for i in $(seq 50); do exec 3<>/dev/tcp/{wan.b_address}/{port} 2>/dev/null "
                                    "&& exit 0; sleep 0.1; done; exit 1"], check=False)
    clients = {
        "http1": [f"http://{wan.b_address}:{port}"],
        "http2": ["--http2", "--cacert", certificate, f"https://{wan.b_address}:{h2_port}"],
    }
    for rtt in map(int, args.rtts.split(",")):
        wan.set("both", f"delay={rtt // 2}ms")
        for name, target in clients.items():
            requested, started = [], []
            for _ in range(args.runs + 1):  # the first run warms the origin and is not counted
                shutil.rmtree("dest", ignore_errors=True)
                done = nat_lab.run(wan.a, [tool, "fetch", "--publisher", "publisher.key.pub", *target, "dest"],
                                   timeout=120)
                output = done.stdout + done.stderr
                requested.append(float(re.search(r"byte ([\d.]+) ms after the request", output).group(1)))
                started.append(float(re.search(r"first verified byte ([\d.]+) ms,", output).group(1)))
            for metric, values in (("first verified byte after the request", requested[1:]),
                                   ("first verified byte after start", started[1:])):
                median = statistics.median(values)
                print(json.dumps({"bench": "assets-wan", "metric": metric, "value": round(median, 1), "unit": "ms",
                                  "peer": f"eustress-{name}", "placement": f"rtt{rtt}"}), flush=True)
                print(f"  rtt {rtt:3} ms  {name:5}  {metric:38} {median:7.1f} ms  "
                      f"(runs {' '.join(f'{v:.0f}' for v in values)})", file=sys.stderr)
