#!/usr/bin/env python3
"""Forge with real processes: a 3-member etcd cluster on 127.0.0.1 and three eustress-forge agents standing for
three hosts, each running real eustress-server processes. Checks that the buffer is spread over the hosts,
concurrent allocations (with the game backend's API key) through all three APIs never share a server, two
eustress-client processes log in at the demo account backend, get matched with their player tokens and play on their
server with Forge's connect tokens, no secret is on any command line and the servers' logs are private, a host that
dies leaves discovery within the lease TTL and allocations go elsewhere, and the fleet keeps working with an etcd
member stopped, which then rejoins.
Usage: forge_cluster_test.py BUILD_DIR"""
import base64
import concurrent.futures
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, free_port, http_json, require, start, start_typing_client, type_line, wait_for, wait_for_text, work_directory

build = os.path.abspath(sys.argv[1])
require("etcd")
require("etcdctl")
work = work_directory()
LEASE_TTL = 3

# --- etcd: three members
members = [{"name": f"m{i}", "client": free_port(), "peer": free_port()} for i in range(3)]
initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in members)
endpoints = [f"http://127.0.0.1:{m['client']}" for m in members]


def start_member(member, state):
    member["process"] = start(["etcd", "--name", member["name"], "--data-dir", member["name"],
                               "--listen-client-urls", f"http://127.0.0.1:{member['client']}",
                               "--advertise-client-urls", f"http://127.0.0.1:{member['client']}",
                               "--listen-peer-urls", f"http://127.0.0.1:{member['peer']}",
                               "--initial-advertise-peer-urls", f"http://127.0.0.1:{member['peer']}",
                               "--initial-cluster", initial, "--initial-cluster-state", state,
                               "--heartbeat-interval", "50", "--election-timeout", "500"],
                              f"{member['name']}.log")


def healthy(endpoint):
    try:
        return http_json(endpoint + "/health", timeout=1).get("health") == "true"
    except (OSError, ValueError):
        return False


for member in members:
    start_member(member, "new")
wait_for("a healthy 3-member etcd cluster", lambda: all(healthy(e) for e in endpoints), 30)

# --- three agents, one per "host"; secrets in 0600 files, never on a command line
token_key = base64.b64encode(os.urandom(32)).decode()
api_key = base64.b64encode(os.urandom(24)).decode()


def secret_file(name, text):
    descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    return os.path.abspath(name)


token_key_file = secret_file("token.key", token_key)
api_keys_file = secret_file("api.keys", api_key)
demo_key_file = secret_file("demo-signing.key", base64.b64encode(os.urandom(32)).decode())  # shared: any agent logs in
agents = {}
# Game ports below the kernel's ephemeral range (32768 and up), where every other test's sockets come from, and
# above the agent unit tests' (10000-27999): a port another test holds would leave a server that never starts.
base_port = random.randrange(28000, 32600, 100)
for i, name in enumerate(["host-a", "host-b", "host-c"]):
    api = free_port()
    with open(f"{name}.toml", "w") as config:
        config.write(f"""[forge]
id = "{name}"
region = "eu"
api = "127.0.0.1:{api}"
etcd = {json.dumps(endpoints)}
first_port = {base_port + 20 * i}
max_servers = 4
lease_ttl_s = {LEASE_TTL}
token_key_file = "{token_key_file}"
api_keys_file = "{api_keys_file}"
demo_signing_key_file = "{demo_key_file}"
certificate_directory = "{work}/certs-{name}"
log_directory = "{work}/logs-{name}"
empty_allocation_timeout_s = 30

[[mode]]
name = "duel"
match_size = 2
server_capacity = 2
buffer = 3
min = 1
max = 9
""")
    process = start([f"{build}/apps/eustress-forge", "-c", f"{name}.toml", "--demo-backend"], f"{name}.out")
    agents[name] = {"process": process, "api": f"http://127.0.0.1:{api}"}


def fleet(api):
    return http_json(api + "/v1/fleet", timeout=3)


def ready_servers(api):
    return [s for s in fleet(api)["servers"] if s["state"] == "Ready"]


api_a = agents["host-a"]["api"]


def _try(call):
    try:
        return call()
    except (OSError, ValueError):
        return None


wait_for("the three agents' APIs", lambda: all(_try(lambda a=a: fleet(a["api"])) is not None for a in agents.values()), 20)
wait_for("3 agents registered", lambda: len(fleet(api_a)["agents"]) == 3, 20)
ready = wait_for("the buffer of 3 Ready servers", lambda: len(r := ready_servers(api_a)) >= 3 and r, 45)
hosts = {s["agent"] for s in ready}
print(f"buffer Ready on {sorted(hosts)}")
if len(hosts) < 2:
    fail(f"the buffer is not spread over the hosts: {ready}")


def allocate(api, players, key=None):
    request = urllib.request.Request(api + "/v1/allocate", data=json.dumps(
        {"region": "eu", "mode": "duel", "players": players}).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + (key or api_key)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --- concurrent allocations through all three APIs
apis = [a["api"] for a in agents.values()]
ready_before = len(ready_servers(api_a))
with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
    results = list(pool.map(lambda i: allocate(apis[i % 3], [1000 + i]), range(12)))
won = [body for status, body in results if status == 200]
statuses = sorted(status for status, _ in results)
ids = [body["server_id"] for body in won]
print(f"12 concurrent allocations with {ready_before} Ready: statuses {statuses}")
if len(ids) != len(set(ids)):
    fail(f"a server was allocated twice: {ids}")
if not won or any(status not in (200, 503) for status in statuses):
    fail(f"unexpected answers: {results}")
allocated_on = {s["agent"] for s in fleet(api_a)["servers"] if s["id"] in ids}
if allocate(apis[0], [999], key="not-the-backends-key")[0] != 401:
    fail("an allocation without the API key was not refused")
print(f"allocated {len(ids)} servers on {sorted(allocated_on)}")

# --- matchmaking end to end: two players, one server, chat between them
wait_for("the buffer refilled", lambda: len(ready_servers(api_a)) >= 3, 45)
players = {}
for player in (501, 502):
    players[player] = start_typing_client(
        [f"{build}/apps/eustress-client", "--forge", apis[player % 3], "--mode", "duel", "--region", "eu",
         "--login", apis[(player + 1) % 3], "--player", str(player), "--rating", "1500"], f"player{player}.out")
# Each says its line once both are on the server, and leaves once it heard the other: no guessed pauses.
for player in players:
    wait_for_text(f"player{player}.out", "connected as client", 40, f"player {player} matched and connected")
for player, process in players.items():
    type_line(process, f"hello from {player}")
wait_for_text("player501.out", "hello from 502", 20, "player 501 to hear 502")
wait_for_text("player502.out", "hello from 501", 20, "player 502 to hear 501")
for process in players.values():
    process.stdin.close()
for process in players.values():
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("a matched client did not leave when its input ended")
outputs = [open(f"player{p}.out").read() for p in (501, 502)]
for output in outputs:
    if "matched on" not in output or "connected as client" not in output:
        fail("a player was not matched and connected:\n" + "\n---\n".join(outputs))
if "hello from 502" not in outputs[0] or "hello from 501" not in outputs[1]:
    fail("the matched players did not play on one server:\n" + "\n---\n".join(outputs))
print("two players logged in, were matched with their player tokens, connected with Forge's tokens, and chatted")

# --- secrets: on no command line (/proc/<pid>/cmdline is world-readable); the servers' logs are private
for name, agent in agents.items():
    for pid in [agent["process"].pid] + [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(agent["process"].pid)], capture_output=True, text=True).stdout.split()]:
        cmdline = open(f"/proc/{pid}/cmdline").read()
        if token_key in cmdline or api_key in cmdline:
            fail(f"a secret is on the command line of {pid}: {cmdline!r}")
    logs = f"{work}/logs-{name}"
    modes = {entry: os.stat(os.path.join(logs, entry)).st_mode & 0o777 for entry in os.listdir(logs)}
    if not modes or any(mode != 0o600 for mode in modes.values()) or os.stat(logs).st_mode & 0o777 != 0o700:
        fail(f"{name}'s server logs are not private: {oct(os.stat(logs).st_mode)} {modes}")
print("no secret on any agent's or server's command line; server logs 0600 in 0700 directories")

# --- a game server dies: its record leaves discovery and its agent starts a replacement
wait_for("the buffer refilled", lambda: len(ready_servers(api_a)) >= 3, 45)
agent_a = agents["host-a"]["process"]
servers_of_a = subprocess.run(["pgrep", "-P", str(agent_a.pid)], capture_output=True, text=True).stdout.split()
if not servers_of_a:
    fail("host-a runs no game server")
arguments = open(f"/proc/{servers_of_a[0]}/cmdline").read().split("\0")
port = arguments[arguments.index("--port") + 1]
killed = next(s["id"] for s in fleet(api_a)["servers"] if s["address"].endswith(":" + port))
os.kill(int(servers_of_a[0]), signal.SIGKILL)
wait_for("the dead server replaced", lambda: killed not in {s["id"] for s in fleet(api_a)["servers"]} and
         len(ready_servers(api_a)) >= 3, 30)
print("a killed game server left discovery and was replaced")

# --- a host dies: its servers leave discovery within the lease TTL; allocations go elsewhere
victim = agents["host-c"]["process"]
children = subprocess.run(["pgrep", "-P", str(victim.pid)], capture_output=True, text=True).stdout.split()
victim.send_signal(signal.SIGKILL)
for child in children:
    os.kill(int(child), signal.SIGKILL)
died = time.monotonic()
wait_for("host-c gone from discovery", lambda: not any(
    s["agent"] == "host-c" for s in fleet(api_a)["servers"]) and not any(
    a["id"] == "host-c" for a in fleet(api_a)["agents"]), LEASE_TTL + 5)
gone_after = time.monotonic() - died
print(f"host-c left discovery {gone_after:.1f} s after it died (lease TTL {LEASE_TTL} s)")
wait_for("Ready servers on the surviving hosts", lambda: len(ready_servers(api_a)) >= 2, 45)
for i in range(2):
    status, body = allocate(api_a, [2000 + i])
    if status != 200:
        fail(f"allocation after host-c died: {status} {body}")
    agent = next(s["agent"] for s in fleet(api_a)["servers"] if s["id"] == body["server_id"])
    if agent == "host-c":
        fail("an allocation went to the dead host")

# --- an etcd member stops: everything still works; it restarts and rejoins
members[0]["process"].send_signal(signal.SIGTERM)
members[0]["process"].wait(timeout=10)
wait_for("Ready servers with a member down", lambda: len(_try(lambda: ready_servers(apis[1])) or []) >= 1, 45)
status, body = allocate(apis[1], [3000])
if status != 200:
    fail(f"allocation with an etcd member down: {status} {body}")
start_member(members[0], "existing")
wait_for("the stopped member healthy again", lambda: healthy(endpoints[0]), 30)
rejoined = wait_for("the restarted member serving current data", lambda: _try(lambda: subprocess.run(
    ["etcdctl", "--endpoints", endpoints[0], "get", "--prefix", "--keys-only", "/eustress/forge/servers/"],
    capture_output=True, text=True, timeout=5, env={**os.environ, "ETCDCTL_API": "3"}).stdout.count("/eustress")), 20)
wait_for("a Ready server after the member rejoined", lambda: len(_try(lambda: ready_servers(apis[0])) or []) >= 1, 45)
status, body = allocate(apis[0], [3001])
if status != 200:
    fail(f"allocation after the member rejoined: {status} {body}")
print(f"etcd member stopped: allocation {status}; restarted: it serves {rejoined} server keys again")
print("forge cluster: spread, concurrent allocation, match and play, host death, etcd member loss all passed")
