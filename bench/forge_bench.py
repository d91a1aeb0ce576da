#!/usr/bin/env python3
"""Forge figures with real processes (JSON lines on stdout, progress on stderr):
  1. allocation latency at a steady 100 requests/s against a 3-member etcd cluster, warm buffer (Ready records
     written straight into etcd, so the rate is not limited by how fast servers start);
  2. a host's death until its servers leave discovery (lease TTL 3 s), over 3 trials;
  3. a scale-up decision (an allocation empties the buffer) until a new real eustress-server is Ready, 5 trials;
  4. matchmaking: players matched per second at a steady arrival rate, and the wait distribution
     (eustress-bench-forge, in virtual time).
Usage: forge_bench.py BUILD_DIR [--seconds N]"""
import base64
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import free_port, start, wait_for as wait_until, work_directory  # noqa: E402  (processes stop at exit)

BUILD = os.path.abspath(sys.argv[1])
SECONDS = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 10
WORK = work_directory()


def log(message):
    print(message, file=sys.stderr, flush=True)


def emit(metric, value, unit, placement, size=0):
    print(json.dumps({"bench": "forge", "metric": metric, "value": round(value, 3), "unit": unit, "peer": "eustress",
                      "placement": placement, "size": size}), flush=True)


def wait_for(what, predicate, seconds):
    """harness.wait_for, where a predicate that raises (a process not listening yet) counts as not yet."""
    def attempt():
        try:
            return predicate()
        except (OSError, ValueError, KeyError):
            return None
    return wait_until(what, attempt, seconds)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def etcd_cluster():
    members = [{"name": f"m{i}", "client": free_port(), "peer": free_port()} for i in range(3)]
    initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in members)
    for m in members:
        start(["etcd", "--name", m["name"], "--data-dir", m["name"], "--listen-client-urls",
               f"http://127.0.0.1:{m['client']}", "--advertise-client-urls", f"http://127.0.0.1:{m['client']}",
               "--listen-peer-urls", f"http://127.0.0.1:{m['peer']}", "--initial-advertise-peer-urls",
               f"http://127.0.0.1:{m['peer']}", "--initial-cluster", initial, "--heartbeat-interval", "50",
               "--election-timeout", "500"], m["name"] + ".log")
    endpoints = [f"http://127.0.0.1:{m['client']}" for m in members]
    wait_for("etcd", lambda: all(get_json(e + "/health")["health"] == "true" for e in endpoints), 30)
    return endpoints


def etcd_call(endpoint, path, body):
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def b64(text):
    return base64.b64encode(text.encode()).decode()


API_KEY = base64.b64encode(os.urandom(24)).decode()  # the game backend's key for /v1/allocate
AUTHORIZATION = {"Authorization": "Bearer " + API_KEY}


def secret_file(path, text):
    """Secrets reach Forge in 0600 files, never on a command line."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text + "\n")
    return path


def forge_config(name, endpoints, api, first_port, token_key, extra=""):
    etcd = f"etcd = {json.dumps(endpoints)}" if endpoints else ""
    token_key_file = secret_file(f"{WORK}/{name}-token.key", token_key)
    api_keys_file = secret_file(f"{WORK}/{name}-api.keys", API_KEY)
    with open(f"{name}.toml", "w") as config:
        config.write(f"""[forge]
id = "{name}"
region = "eu"
api = "127.0.0.1:{api}"
{etcd}
first_port = {first_port}
max_servers = 6
lease_ttl_s = 3
empty_allocation_timeout_s = 5
token_key_file = "{token_key_file}"
api_keys_file = "{api_keys_file}"
certificate_directory = "{WORK}/certs-{name}"
log_directory = "{WORK}/logs-{name}"
{extra}
[[mode]]
name = "duel"
match_size = 2
server_capacity = 2
buffer = 2
min = 1
max = 8
""")
    return f"{name}.toml"


def allocation_latency(endpoints, placement):
    """Synthetic Ready records under one lease, then an API-only Forge driven at 100 requests/s."""
    token_key = base64.b64encode(os.urandom(32)).decode()
    api = free_port()
    count = 100 * SECONDS + 200
    lease = etcd_call(endpoints[0], "/v3/lease/grant", {"TTL": 600})["ID"]
    etcd_call(endpoints[0], "/v3/kv/put", {"key": b64("/eustress/forge/agents/synthetic"), "lease": lease,
          "value": b64(json.dumps({"id": "synthetic", "region": "eu", "api": "", "max_servers": count}))})
    for i in range(count):
        record = {"id": f"synthetic-{i}", "agent": "synthetic", "region": "eu", "mode": "duel",
                  "address": f"127.0.0.1:{40000 + i}", "pin": "", "capacity": 2, "players": 0,
                  "state": "Ready", "allocation": "", "allocated_unix": 0}
        etcd_call(endpoints[0], "/v3/kv/put", {"key": b64(f"/eustress/forge/servers/synthetic-{i}"),
                                               "value": b64(json.dumps(record)), "lease": lease})
    start([f"{BUILD}/apps/eustress-forge", "-c", forge_config("api", endpoints, api, 0, token_key,
                                                              "api_only = true")], "api.out")
    wait_for("the API", lambda: urllib.request.urlopen(f"http://127.0.0.1:{api}/healthz", timeout=1).status == 200, 20)
    connection = http.client.HTTPConnection("127.0.0.1", api, timeout=5)
    latencies, failures = [], 0
    requests = 100 * SECONDS
    started = time.monotonic()
    for i in range(requests):
        due = started + i / 100.0
        if (pause := due - time.monotonic()) > 0:
            time.sleep(pause)
        body = json.dumps({"region": "eu", "mode": "duel", "players": [i + 1]})
        sent = time.perf_counter()
        connection.request("POST", "/v1/allocate", body, {"Content-Type": "application/json", **AUTHORIZATION})
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - sent) * 1000)
        failures += response.status != 200
    etcd_call(endpoints[0], "/v3/lease/revoke", {"ID": lease})  # the synthetic fleet leaves with its lease
    latencies.sort()
    median = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    log(f"   {placement}: {requests} allocations at 100/s: median {median:.2f} ms, p99 {p99:.2f} ms, "
        f"{failures} failed")
    emit("allocation_latency_median", median, "ms", placement, requests)
    emit("allocation_latency_p99", p99, "ms", placement, requests)
    emit("allocation_failures", failures, "count", placement, requests)


def fleet(api):
    return get_json(f"{api}/v1/fleet")


def host_death_and_scale_up(endpoints):
    token_key = base64.b64encode(os.urandom(32)).decode()
    agents = {}
    for i, name in enumerate(["host-a", "host-b"]):
        api = free_port()
        agents[name] = {"api": f"http://127.0.0.1:{api}", "config": forge_config(
            name, endpoints, api, 42000 + 50 * i, token_key)}
        agents[name]["process"] = start([f"{BUILD}/apps/eustress-forge", "-c", agents[name]["config"]], name + ".out")
    api_a = agents["host-a"]["api"]

    # Scale-up: allocate the buffer's Ready server; time until another one is Ready (started by an agent).
    ups = []
    for trial in range(5):
        wait_for("a full buffer", lambda: len([s for s in fleet(api_a)["servers"] if s["state"] == "Ready"]) >= 2, 60)
        known = {s["id"] for s in fleet(api_a)["servers"]}
        request = urllib.request.Request(api_a + "/v1/allocate", method="POST", data=json.dumps(
            {"region": "eu", "mode": "duel", "players": [100 + trial]}).encode(), headers=AUTHORIZATION)
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
        decided = time.monotonic()  # the buffer is short by one from here: the leader plans, an agent starts one
        wait_for("a new Ready server", lambda: [s for s in fleet(api_a)["servers"]
                                                 if s["state"] == "Ready" and s["id"] not in known], 60)
        ups.append(time.monotonic() - decided)
    log(f"   scale-up to Ready: {', '.join(f'{u:.2f}' for u in ups)} s")
    emit("scale_up_to_ready_median", statistics.median(ups), "s", "3-member etcd", len(ups))
    emit("scale_up_to_ready_max", max(ups), "s", "3-member etcd", len(ups))

    # Host death: SIGKILL an agent and its servers; time until none of its servers is in discovery.
    deaths = []
    for trial in range(3):
        victim = agents["host-b"]
        wait_for("host-b serving", lambda: any(s["agent"] == "host-b" for s in fleet(api_a)["servers"]), 60)
        children = subprocess.run(["pgrep", "-P", str(victim["process"].pid)], capture_output=True,
                                  text=True).stdout.split()
        victim["process"].send_signal(signal.SIGKILL)
        for child in children:
            os.kill(int(child), signal.SIGKILL)
        died = time.monotonic()
        wait_for("host-b gone", lambda: not any(s["agent"] == "host-b" for s in fleet(api_a)["servers"]), 30)
        deaths.append(time.monotonic() - died)
        victim["process"] = start([f"{BUILD}/apps/eustress-forge", "-c", victim["config"]], "host-b.out")
    log(f"   host death to out of discovery (TTL 3 s): {', '.join(f'{d:.2f}' for d in deaths)} s")
    emit("host_death_to_undiscovered_median", statistics.median(deaths), "s", "lease TTL 3 s", len(deaths))
    emit("host_death_to_undiscovered_max", max(deaths), "s", "lease TTL 3 s", len(deaths))


log("forge 1. allocation latency at 100 requests/s")
endpoints = etcd_cluster()
allocation_latency(endpoints, "3-member etcd")
log("forge 2-3. scale-up to Ready, host death to out of discovery (2 agents, real eustress-servers)")
host_death_and_scale_up(endpoints)
log("forge 4. matchmaking throughput and wait")
for rate in (50, 400):
    result = subprocess.run([os.path.join(BUILD, "bench", "eustress-bench-forge"), "--rate", str(rate),
                             "--seconds", "30"], capture_output=True, text=True, timeout=600)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
