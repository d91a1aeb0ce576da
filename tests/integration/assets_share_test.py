#!/usr/bin/env python3
"""Peers in a mesh as an asset source, with real processes on loopback (docs/ASSETS.md, "Peers"): an eustress-server
with --mesh, and eustress-assets players joining it.
  - share/receive: a player offers a file, another accepts it (--yes): it arrives byte for byte; a third that allows
    less than its size refuses it unseen, and nothing of it is written there;
  - resume: a receiver killed with SIGKILL mid-transfer, started again and offered the file again, completes it
    without fetching again the chunks it had verified (its own count of chunks already there);
  - seed/fetch: a player that fetched a release from nginx seeds it; another fetches the same release with the
    mesh beside the origin: it installs verified, and the seeder served part of it (its own count, and the origin's
    access log lacking those chunks).
Usage: assets_share_test.py BUILD_DIR"""
import os
import random
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asset_origin import assets_tool, write_file, start_nginx  # noqa: E402
from harness import fail, free_port, start, wait_for, wait_for_text, work_directory  # noqa: E402

build = os.path.abspath(sys.argv[1])
tool = f"{build}/apps/eustress-assets"
work = work_directory()
rng = random.Random(23)


run = assets_tool(tool)
write = write_file


def finish(process, seconds=60):
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        fail(f"{process.args[:2]} did not finish in {seconds} s")


start([f"{build}/apps/eustress-server", "--mesh", "1", "--no-http", "--bind", "127.0.0.1", "-p", "0",
       "--dev-cert-dir", "cert", "--duration", "110"], "server.out")
banner = wait_for("the server's banner",
                  lambda: re.search(r"listening on (\S+) pin (\S+)", open("server.out").read()), 15)
mesh = ["--server", banner.group(1), "--pin", banner.group(2)]

# --- share / receive / refuse
replay = rng.randbytes(3 << 20)
write("outbox/match.replay", replay)
receiver = start([tool, "receive", "inbox", "--yes", *mesh], "receive.out")
refuser = start([tool, "receive", "small-inbox", "--yes", "--max-size", "100000", *mesh], "refuse.out")
wait_for_text("receive.out", "mesh 1 joined", 15)
wait_for_text("refuse.out", "mesh 1 joined", 15)
sharer = start([tool, "share", "outbox/match.replay", "--wait-peers", "2", "--linger", "1", *mesh], "share.out")
if finish(receiver) != 0:
    fail("the receiver failed:\n" + open("receive.out").read())
if open("inbox/match.replay", "rb").read() != replay:
    fail("the received file differs from the offered one")
if finish(sharer) != 0:
    fail("the sharer failed:\n" + open("share.out").read())
share_log = open("share.out").read()
if "accepted" not in share_log or "refused" not in share_log:
    fail("the sharer did not see one acceptance and one refusal:\n" + share_log)
refuser.send_signal(signal.SIGTERM)
finish(refuser, 10)
left = [os.path.join(d, f) for d, _, files in os.walk("small-inbox") for f in files]
if left:
    fail(f"a refused offer wrote {left}")
print("share: 3 MiB offered, received byte for byte; the refusing peer wrote nothing")

# --- resume after SIGKILL
slow_offer = [tool, "share", "outbox/match.replay", "--rate", "1000000", "--linger", "1", *mesh]
receiver = start([tool, "receive", "resumed", "--yes", *mesh], "resume1.out")
wait_for_text("resume1.out", "mesh 1 joined", 15)
sharer = start(slow_offer, "share2.out")
wait_for("a second of the slow transfer",
         lambda: re.search(r"progress [1-9][\d.]*% bytes [1-9]", open("resume1.out").read()), 30)
receiver.kill()
finish(receiver, 10)
finish(sharer, 30)
if os.path.exists("resumed/match.replay"):
    fail("a killed transfer left the file in place")
receiver = start([tool, "receive", "resumed", "--yes", *mesh], "resume2.out")
wait_for_text("resume2.out", "mesh 1 joined", 15)
sharer = start(slow_offer, "share3.out")
if finish(receiver) != 0:
    fail("the resumed receiver failed:\n" + open("resume2.out").read())
finish(sharer, 30)
kept = int(re.search(r"\((\d+) chunks, (\d+) already here\)", open("resume2.out").read()).group(2))
if open("resumed/match.replay", "rb").read() != replay or kept == 0:
    fail(f"resume: file {'differs' if kept else 'fetched again from the start'}:\n" + open("resume2.out").read())
print(f"resume: killed mid-way, then completed with {kept} chunks already verified")

# --- seed / fetch: the origin and a peer together
write("in/pack", rng.randbytes(12 << 20))
run("keygen", "publisher.key")
run("publish", "in", "www", "--key", "publisher.key", "--release", "one")
port = free_port()
start_nginx(work, port)
origin = f"http://127.0.0.1:{port}"
run("fetch", origin, "first", "--publisher", "publisher.key.pub")
seeder = start([tool, "seed", "first", "--publisher", "publisher.key.pub", *mesh], "seed.out")
wait_for_text("seed.out", "seeding release one", 15)
log_before = len(open("origin.log").readlines())
fetched = run("fetch", origin, "second", "--publisher", "publisher.key.pub", "--wait-peers", "1", *mesh)
run("verify", "second")
seeder.send_signal(signal.SIGTERM)
finish(seeder, 10)
served = re.search(r"served (\d+) chunks", open("seed.out").read())
from_origin = sum(1 for line in open("origin.log").readlines()[log_before:] if "/chunks/" in line)
chunks = open("www/manifest").read().count("\nchunk ")
if not served or int(served.group(1)) == 0:
    fail("the seeding peer served nothing:\n" + open("seed.out").read() + fetched)
if from_origin >= chunks:
    fail(f"the origin served all {from_origin} of {chunks} chunks: the peer took none of the load")
print(f"seed: the peer served {served.group(1)} chunks, the origin {from_origin} of {chunks}; installed verified")
