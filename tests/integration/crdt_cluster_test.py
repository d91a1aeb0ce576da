#!/usr/bin/env python3
"""Persistent worlds across servers (issue 21): a real nats-server with JetStream and a temporary store, three
eustress-persistent-world servers on one world. Writes on every server converge; a native client of either server
sees the merged world; with server 3 killed and NATS stopped, servers 1 and 2 keep writing, and after NATS and
server 3 come back every acknowledged write is on every server; the stream is trimmed once all have applied it;
hostile messages published straight into the stream (not allowed, clock an hour ahead, malformed, a broken
batch, unknown replica, bad subject)
are refused and counted and change nothing; forgetting a player leaves neither its name nor its data in any
server's database file or WAL, nor in the stream's store directory, searched from outside.
Usage: crdt_cluster_test.py BUILD_DIR"""
import json
import os
import re
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, free_port, require, start, start_typing_client, type_line, wait_for, work_directory

build = os.path.abspath(sys.argv[1])
program = f"{build}/examples/persistent-world/eustress-persistent-world"
require("nats-server")
work = work_directory()
nats_port = free_port()
nats_url = f"nats://127.0.0.1:{nats_port}"
REPLICAS = [1, 2, 3]
WORLD = "cubes"


def start_nats():
    return start(["nats-server", "-js", "-sd", os.path.join(work, "jetstream"), "-a", "127.0.0.1", "-p",
                  str(nats_port)], "nats.out")


class WorldProcess:
    """One server, driven through its stdin; answers are read from its output file."""

    def __init__(self, replica):
        self.replica = replica
        self.log = f"server{replica}.out"
        self.database = os.path.join(work, f"world-{replica}.db")
        self.start()

    def start(self):
        self.offset = 0
        self.process = start_typing_client(
            [program, "--replica", str(self.replica), "--replicas", ",".join(map(str, REPLICAS)), "--world", WORLD,
             "--db", self.database, "--nats", nats_url], self.log)
        banner = wait_for(f"server {self.replica}'s banner", lambda: re.search(r"listening (\d+) (\S+)",
                                                                                 open(self.log).read()), 15)
        self.port, self.pin = int(banner.group(1)), banner.group(2)

    def ask(self, command, ends=("ack", "end", "status", "forged", "error")):
        start_at = os.path.getsize(self.log)
        type_line(self.process, command)

        def answered():
            with open(self.log, errors="replace") as output:
                output.seek(start_at)
                lines = output.read().splitlines()
            return lines if any(line.split(" ")[0] in ends for line in lines) else None

        lines = wait_for(f"server {self.replica} answering {command!r}", answered, 20)
        if any(line.startswith("error") for line in lines):
            fail(f"server {self.replica}: {command!r} answered {lines}")
        return lines

    def cubes(self):
        return sorted(line for line in self.ask("dump") if line.startswith(("cube", "player")))

    def status(self):
        line = self.ask("status")[-1]
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def nats_request(subject, payload=b"", reply_expected=True):
    """Speaks the NATS text protocol directly: publishes (into the stream, bypassing the servers) or asks JetStream."""
    with socket.create_connection(("127.0.0.1", nats_port), timeout=5) as connection:
        stream = connection.makefile("rb")
        stream.readline()  # INFO
        inbox = "_INBOX.crdt_cluster_test"
        message = b'CONNECT {"verbose":false,"pedantic":false}\r\n'
        if reply_expected:
            message += f"SUB {inbox} 1\r\n".encode()
        reply = f" {inbox}" if reply_expected else ""
        message += f"PUB {subject}{reply} {len(payload)}\r\n".encode() + payload + b"\r\nPING\r\n"
        connection.sendall(message)
        while True:
            line = stream.readline()
            if not line:
                fail(f"NATS closed the connection publishing {subject}")
            if line.startswith(b"-ERR"):
                fail(f"NATS refused {subject}: {line!r}")
            if line.startswith(b"PONG") and not reply_expected:
                return None
            if line.startswith(b"MSG"):
                size = int(line.split()[-1])
                return json.loads(stream.read(size + 2)[:size])


def stream_state():
    return nats_request(f"$JS.API.STREAM.INFO.EUSTRESS_{WORLD}")["state"]


def converged(servers):
    views = [server.cubes() for server in servers]
    return views[0] if all(view == views[0] for view in views) and views[0] else None


def expected_cubes(moves):
    """Each server's three cubes sit at x = 10 * replica + the moves it acknowledged, z = 0, 1, 2."""
    return sorted(f"{10 * r + moves[r]:.3f} 0.000 {z:.3f}" for r in moves for z in range(3))


def positions(view):
    return sorted(" ".join(line.split()[2:]) for line in view if line.startswith("cube"))


def look(server):
    output = f"client-of-server{server.replica}.out"
    client = start([program, "--look", f"127.0.0.1:{server.port}", "--pin", server.pin], output)
    client.wait(timeout=30)
    lines = open(output).read().splitlines()
    return sorted(line[len("seen "):] for line in lines if line.startswith("seen "))


# --- three servers, one world: writes on every server converge, clients of either see the merged world
nats = start_nats()
servers = {r: WorldProcess(r) for r in REPLICAS}
moves = {r: 0 for r in REPLICAS}
for server in servers.values():
    server.ask("spawn 3")
    server.ask("move 1")
    moves[server.replica] += 1
view = wait_for("the three servers to converge", lambda: converged(servers.values()), 20)
if positions(view) != expected_cubes(moves):
    fail(f"converged on {positions(view)}, expected {expected_cubes(moves)}")
for replica in (1, 3):
    seen = look(servers[replica])
    if seen != expected_cubes(moves):
        fail(f"a client of server {replica} sees {seen}, expected {expected_cubes(moves)}")
print("converged; clients of servers 1 and 3 see the merged world")

# --- the stream is trimmed once every server's consumer has acknowledged it
wait_for("the stream to be trimmed", lambda: stream_state()["messages"] == 0 and stream_state()["first_seq"] > 1, 20)
print("stream trimmed:", stream_state())

# --- server 3 killed and NATS stopped; 1 and 2 keep writing; everything comes back and converges
servers[3].kill()
nats.send_signal(signal.SIGTERM)
nats.wait(timeout=10)
for round_ in range(3):
    for replica in (1, 2):
        servers[replica].ask("move 1")  # "ack": durable in the server's own file while the stream is away
        moves[replica] += 1
if servers[1].status()["connected"] != 0:
    fail("server 1 claims to be connected with NATS stopped")
nats = start_nats()
servers[3].start()
view = wait_for("convergence after the partition", lambda: converged(servers.values()), 30)
if positions(view) != expected_cubes(moves):
    fail(f"after the partition: {positions(view)}, expected {expected_cubes(moves)} (an acknowledged write lost)")
if servers[3].status()["sequence"] == 0:
    fail("server 3 did not record the stream sequence it applied")
seen = look(servers[2])
if seen != expected_cubes(moves):
    fail(f"after the partition a client of server 2 sees {seen}")
print("converged after the partition with every acknowledged write")

# --- hostile messages straight into the stream: refused by servers 1 and 3, counted, the world unchanged
before = servers[1].cubes()
for kind in ("not-allowed", "future"):
    forged = servers[2].ask(f"forge {kind}")[-1].split()[1]
    nats_request(f"eustress.{WORLD}.d.2", bytes.fromhex(forged), reply_expected=False)
nats_request(f"eustress.{WORLD}.d.2", b"\x01\x01garbage", reply_expected=False)
nats_request(f"eustress.{WORLD}.d.2", b"\x00\x09\x00\x00\x00short", reply_expected=False)  # a broken batch
nats_request(f"eustress.{WORLD}.d.9", b"\x01\x01", reply_expected=False)
nats_request(f"eustress.{WORLD}.x", b"\x01\x01", reply_expected=False)
for replica in (1, 3):
    status = wait_for(f"server {replica} to refuse the hostile messages",
                      lambda: (lambda s: s if s["refused"] >= 6 else None)(servers[replica].status()), 20)
    wanted = {"document_not_allowed": 1, "document_future_clock": 1, "refused_unknown_replica": 1,
              "refused_bad_subject": 1, "refused_document": 3, "refused_malformed_batch": 1}
    for key, least in wanted.items():
        if status[key] < least:
            fail(f"server {replica}: {key} = {status[key]}, expected at least {least} ({status})")
if servers[1].cubes() != before or servers[3].cubes() != before:
    fail("a refused message changed the world")
print("hostile messages refused and counted:", {k: v for k, v in servers[1].status().items() if "refused" in k})

# --- forget a player: gone from every database file and WAL, and from the stream's store. Server 3 is down
# meanwhile, so its consumer holds the stream back from trimming: the player's message is on disk until purged.
SECRET = "secret-inventory-4242"
NEEDLES = [b"mallory", SECRET.encode()]


def files_holding(needles):
    """Searches, from outside the servers, every database file, WAL and the stream's store directory."""
    found = []
    for root, _, names in os.walk(work):
        for name in names:
            path = os.path.join(root, name)
            if name.endswith(".out") or not (name.startswith("world-") or "jetstream" in root):
                continue
            with open(path, "rb") as data:
                content = data.read()
            found += [f"{os.path.relpath(path, work)}: {needle.decode()}" for needle in needles if needle in content]
    return found


servers[3].kill()
servers[1].ask(f"player mallory {SECRET}")
wait_for("the player to reach server 2", lambda: any("mallory" in line for line in servers[2].cubes()), 20)
held = files_holding(NEEDLES)
if not any("jetstream" in place for place in held) or not any("world-1.db" in place for place in held):
    fail(f"the player's data should be in the stream and server 1's file before the forget: {held}")
servers[1].ask("forget mallory")
wait_for("the forget to finish", lambda: servers[1].status()["forget_pending"] == 0, 20)
# Still with server 3 down (so nothing was trimmed): the purge, not trimming, took it out of the stream.
wait_for("the player's name and data to leave every file",
         lambda: (lambda found: None if found else "clean")(files_holding(NEEDLES)), 20)
if servers[3].process.poll() is None:
    fail("server 3 should still be down")
servers[3].start()
wait_for("every server to drop the player",
         lambda: not any(any("mallory" in line for line in s.cubes()) for s in servers.values()), 20)
if files_holding(NEEDLES):
    fail(f"the player came back after server 3 restarted: {files_holding(NEEDLES)}")
view = wait_for("convergence after the forget", lambda: converged(servers.values()), 20)
if positions(view) != expected_cubes(moves):
    fail(f"the forget changed the cubes: {positions(view)}")
print("forgotten: no file of any server nor of the stream holds the player's name or data")
print("PASS")
