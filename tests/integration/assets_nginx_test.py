#!/usr/bin/env python3
"""Asset streaming against a real nginx started here (docs/ASSETS.md): an origin serving what `eustress-assets
publish` wrote, and in front of it a CDN stand-in (nginx's slice cache). Checks, with nginx's access logs as the
outside witness:
  - a release fetched through the CDN arrives whole and verified;
  - an update that rewrites 5% of a large file fetches only the chunks that changed (counted in the CDN's log);
  - a flipped byte in a chunk in the CDN's cache, a truncated response, a stalled origin and a manifest with a bad
    signature are refused (the stall within its timeouts): nothing corrupt is installed, every refusal is reported
    by reason;
  - a fetch killed with SIGKILL mid-way resumes without fetching again a chunk it had verified;
  - over TLS with HTTP/2 offered, chunks fetched as byte ranges of the published files travel as HTTP/2 range
    requests multiplexed on one connection; a wrong Content-Range is refused (wrong_range).
Usage: assets_nginx_test.py BUILD_DIR"""
import hashlib
import http.server
import os
import random
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asset_origin import assets_tool, write_file, make_certificate, start_nginx
from harness import fail, free_port, start, wait_for, work_directory

build = os.path.abspath(sys.argv[1])
tool = f"{build}/apps/eustress-assets"
work = work_directory()
BIG = 16 << 20
rng = random.Random(17)


run = assets_tool(tool)
write = write_file


def chunk_requests(log, since=0):
    """Chunk GETs the log recorded after line `since`: (path, status, bytes sent)."""
    with open(log) as lines:
        rows = [line.split() for line in lines.readlines()[since:]]
    return [(r[0], int(r[1]), int(r[2])) for r in rows if "/chunks/" in r[0]]


def log_length(log):
    with open(log) as lines:
        return len(lines.readlines())


def installed_files(dest):
    return sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs
                  if ".eustress-assets" not in d)


# --- Release 1: a large pack, some text, an empty file
big = bytearray(rng.randbytes(BIG))
write("in/maps/arena.pak", bytes(big))
write("in/scripts/init.lua", b"-- the game's start-up script\n" * 4000)
write("in/empty.cfg", b"")
run("keygen", "publisher.key")
print(run("publish", "in", "www", "--key", "publisher.key", "--release", "one").strip())
manifest_one = open("www/manifest").read()
chunks_one = manifest_one.count("\nchunk ")

# --- nginx: the origin, a slow path on it for the resume test, and the CDN (slice cache) in front
origin_port, cdn_port, h2_port = free_port(), free_port(), free_port()
certificate = make_certificate(work)
start_nginx(work, origin_port, cdn_port, h2_port=h2_port, files=f"{work}/in")
for log in ("origin.log", "cdn.log"):
    wait_for(f"nginx's {log}", lambda log=log: os.path.exists(log), 10)
cdn = f"http://127.0.0.1:{cdn_port}"
origin = f"http://127.0.0.1:{origin_port}"

# --- Fetch release 1 through the CDN
output = run("fetch", cdn, "dest", "--publisher", "publisher.key.pub")
if installed_files("dest") != ["empty.cfg", "maps/arena.pak", "scripts/init.lua"]:
    fail(f"release 1 installed {installed_files('dest')}")
if open("dest/maps/arena.pak", "rb").read() != bytes(big):
    fail("release 1's pack differs from what was published")
run("verify", "dest")
first_fetch = chunk_requests("cdn.log")
distinct_one = len(set(re.findall(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})", manifest_one)))
if len(first_fetch) != distinct_one:
    fail(f"release 1: {len(first_fetch)} chunk requests at the CDN for {distinct_one} distinct chunks")
print(f"release 1: {chunks_one} chunks, {len(first_fetch)} fetched through the CDN")

# --- Release 2 rewrites 5% of the pack (one region) and changes the script; the update fetches only new chunks
start_at = BIG // 3
big[start_at:start_at + BIG // 20] = rng.randbytes(BIG // 20)
write("in/maps/arena.pak", bytes(big))
write("in/scripts/init.lua", b"-- the game's start-up script, patched\n" * 4000)
shutil.copy("www/manifest", "manifest.one")
print(run("publish", "in", "www", "--key", "publisher.key", "--release", "two").strip())
diff = run("diff", "manifest.one", "www/manifest")
expected = int(re.search(r"update fetches (\d+) chunks", diff).group(1))
before = log_length("cdn.log")
output = run("fetch", cdn, "dest", "--publisher", "publisher.key.pub")
update = chunk_requests("cdn.log", before)
chunks_two = open("www/manifest").read().count("\nchunk ")
if open("dest/maps/arena.pak", "rb").read() != bytes(big):
    fail("release 2's pack differs from what was published")
if len(update) != expected:
    fail(f"the update made {len(update)} chunk requests; the diff of the manifests says {expected} chunks are new")
if expected > chunks_two // 10:
    fail(f"a 5% change cost {expected} of {chunks_two} chunks")
update_bytes = sum(sent for _, _, sent in update)
print(f"update: {len(update)} of {chunks_two} chunks fetched ({update_bytes} bytes for a {BIG // 20}-byte change)")

# --- HTTP/2 over TLS, every chunk a byte range of its published file: one connection, 206s, verified
h2 = f"https://127.0.0.1:{h2_port}"
run("fetch", h2, "ranges", "--publisher", "publisher.key.pub", "--http2", "--cacert", certificate, "--files",
    f"{h2}/files")
if open("ranges/maps/arena.pak", "rb").read() != bytes(big):
    fail("the release fetched as HTTP/2 ranges differs from what was published")
with open("h2.log") as lines:
    ranged = [line.split() for line in lines if line.startswith("/files/")]
protocols, connections = {r[3] for r in ranged}, {r[4] for r in ranged}
if len(ranged) != chunks_two or {r[1] for r in ranged} != {"206"} or protocols != {"HTTP/2.0"} or len(connections) != 1:
    fail(f"{len(ranged)} range requests for {chunks_two} chunks, statuses {sorted({r[1] for r in ranged})}, "
         f"protocols {protocols}, {len(connections)} connections")
print(f"HTTP/2 ranges: {len(ranged)} range requests (206) multiplexed on 1 connection, the release installed")

# --- A flipped byte in a chunk in the CDN's cache: refused, retried, never installed
pack_chunk = re.search(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})",
                       open("www/manifest").read().split("maps/arena.pak")[1]).group(1)
uri = f"/chunks/{pack_chunk[:2]}/{pack_chunk}"
key = hashlib.md5(f"{uri}bytes=0-1048575".encode()).hexdigest()
cached = f"cache/{key[-1]}/{key[-3:-1]}/{key}"
if not os.path.exists(cached):
    fail(f"the CDN has no cached copy of {uri} at {cached}")
poisoned = bytearray(open(cached, "rb").read())
poisoned[-1] ^= 0x01
open(cached, "wb").write(bytes(poisoned))
output = run("fetch", cdn, "poisoned", "--publisher", "publisher.key.pub", expect=1)
if "hash_mismatch" not in output or "maps/arena.pak" not in output:
    fail(f"the poisoned chunk was not refused by hash:\n{output}")
if installed_files("poisoned") != ["empty.cfg", "scripts/init.lua"]:
    fail(f"with a poisoned chunk, installed {installed_files('poisoned')} (the pack must not be there, even partly)")
print("poisoned cache: refused (hash_mismatch), the pack not installed")


# --- A lying origin: promises a chunk's length and closes half-way (truncated), or never answers (stalled)
released = threading.Event()


class LyingHandler(http.server.SimpleHTTPRequestHandler):
    mode = "truncate"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=f"{work}/www", **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if LyingHandler.mode == "range" and self.path.startswith("/files/"):
            return self.wrong_range()
        if self.path != uri:
            return super().do_GET()
        if LyingHandler.mode == "stall":
            released.wait(30)  # bounded: the test releases it at its end
            return
        body = open(f"www{uri}", "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        self.close_connection = True


    def wrong_range(self):
        """The bytes asked for, announced as a range one byte further on."""
        first, last = map(int, self.headers["Range"].removeprefix("bytes=").split("-"))
        with open(f"{work}/in/{self.path.removeprefix('/files/')}", "rb") as file:
            file.seek(first)
            body = file.read(last - first + 1)
            size = os.fstat(file.fileno()).st_size
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first + 1}-{last + 1}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


lying = socketserver.ThreadingTCPServer(("127.0.0.1", 0), LyingHandler)
lying.daemon_threads = True
threading.Thread(target=lying.serve_forever, daemon=True).start()
lying_url = f"http://127.0.0.1:{lying.server_address[1]}"
output = run("fetch", lying_url, "truncated", "--publisher", "publisher.key.pub", "--timeout", "5", expect=1)
if "wrong_stored_size" not in output or "maps/arena.pak" in installed_files("truncated"):
    fail(f"a truncated response was not refused as such:\n{output}")
print("truncated response: refused (wrong_stored_size), the pack not installed")
LyingHandler.mode = "range"
output = run("fetch", lying_url, "misranged", "--publisher", "publisher.key.pub", "--files", f"{lying_url}/files",
             expect=1)
if "wrong_range" not in output or installed_files("misranged") != ["empty.cfg"]:
    fail(f"a wrong Content-Range was not refused as such:\n{output}")
print("wrong Content-Range: refused (wrong_range), nothing installed")
LyingHandler.mode = "stall"
began = time.monotonic()
output = run("fetch", lying_url, "stalled", "--publisher", "publisher.key.pub", "--timeout", "1", expect=1)
stalled_for = time.monotonic() - began
released.set()
lying.shutdown()
if ("transport" not in output or "maps/arena.pak" in installed_files("stalled") or stalled_for > 15
        or "scripts/init.lua" not in installed_files("stalled")):
    fail(f"a stalled origin was not given up on within its timeouts ({stalled_for:.1f} s):\n{output}")
print(f"stalled origin: gave up after {stalled_for:.1f} s (3 attempts, 1 s timeout each), the rest installed")

# --- A manifest altered after signing: refused before anything is fetched
os.makedirs("www/altered", exist_ok=True)
os.symlink(f"{work}/www/chunks", "www/altered/chunks")
altered = open("www/manifest").read().replace("release two", "release tw0")
open("www/altered/manifest", "w").write(altered)
output = run("fetch", f"{cdn}/altered", "altered", "--publisher", "publisher.key.pub", expect=1)
if "bad_signature" not in output or installed_files("altered"):
    fail(f"an altered manifest was not refused before installing:\n{output}")
print("altered manifest: refused (bad_signature), nothing installed")

# --- Resume after SIGKILL: a slow origin path, killed a third of the way, restarted
before = log_length("origin.log")
fetching = start([tool, "fetch", f"{origin}/slow", "resumed", "--publisher", "publisher.key.pub",
                  "--connections", "2"], "resume-1.out")


def a_third_done():
    found = re.findall(r"chunks (\d+)/(\d+)", open("resume-1.out").read())
    return found and int(found[-1][0]) * 3 >= int(found[-1][1])


wait_for("a third of the slow fetch", a_third_done, 60)
fetching.send_signal(signal.SIGKILL)
fetching.wait()
killed_at = chunk_requests("origin.log", before)
output = run("fetch", f"{origin}/slow", "resumed", "--publisher", "publisher.key.pub", "--connections", "2")
if open("resumed/maps/arena.pak", "rb").read() != bytes(big):
    fail("the resumed fetch did not install the pack exactly")
all_requests = chunk_requests("origin.log", before)
fetched = [path for path, _, _ in all_requests]
twice = len(fetched) - len(set(fetched))
reused = int(re.search(r"(\d+) already in the store", output).group(1))
distinct_two = len(set(re.findall(r"chunk \d+ \d+ \d+ ([0-9a-f]{64})", open("www/manifest").read())))
if len(set(fetched)) != distinct_two:
    fail(f"the two runs fetched {len(set(fetched))} distinct chunks of {distinct_two}")
if twice > 2:  # at most the two requests in flight when the process died
    fail(f"{twice} chunks were fetched again after the restart (more than were in flight at the kill)")
if reused * 3 < distinct_two - 4:
    fail(f"the restart found only {reused} verified chunks in the store")
print(f"resume: killed after {len(killed_at)} chunk requests, the restart found {reused} in the store, "
      f"{twice} fetched twice (in flight at the kill)")
print("PASS")
