#!/usr/bin/env python3
"""Debian's Prometheus scrapes a real eustress-server while clients chat, and the arena example (replication,
inputs, prediction) played in real time; our series come back through its HTTP API with sensible values, and every
panel of deploy/grafana/eustress-net.json returns data from it.
Usage: prometheus_dashboard_test.py BUILD_DIR"""
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, free_port, http_json, require, start, start_chatty_client, start_server, wait_for, work_directory

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
build = os.path.abspath(sys.argv[1])
prometheus_binary = require("prometheus")
work_directory()

address, pin, http_port = start_server(build)
clients = 3
for n in range(clients):
    start_chatty_client(build, address, pin, f"player{n}")

start([f"{build}/examples/arena/eustress-arena", "--real-time", "--seconds", "60", "--clients", "4",
       "--http", "127.0.0.1:0"], "arena.out")
arena_port = wait_for("the arena's banner", lambda: (m := re.search(r"http://127\.0\.0\.1:(\d+)/metrics",
                                                                    open("arena.out").read())) and int(m.group(1)), 15)

prometheus_port = free_port()
with open("prometheus.yml", "w") as config:
    config.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: eustress
    static_configs:
      - targets: ["127.0.0.1:{http_port}", "127.0.0.1:{arena_port}"]
""")
start([prometheus_binary, "--config.file=prometheus.yml", "--storage.tsdb.path=tsdb",
       f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"], "prometheus.out")
api = f"http://127.0.0.1:{prometheus_port}/api/v1"


def query(expression):
    reply = http_json(f"{api}/query?" + urllib.parse.urlencode({"query": expression}))
    if reply.get("status") != "success":
        fail(f"query {expression!r}: {reply}")
    return reply["data"]["result"]


def ready():
    try:
        return http_json(f"{api}/query?query=up")["status"] == "success"
    except OSError:
        return False


wait_for("Prometheus to answer", ready, 30)
# Enough scrapes for rates over the dashboard's interval, with all clients connected in them.
wait_for("8 scrapes of both targets", lambda: len(result := query('count_over_time(up{job="eustress"}[1m]) >= 8')) == 2
         and all(float(r["value"][1]) == 1 for r in query('up{job="eustress"}')), 40)


relay = f'instance="127.0.0.1:{http_port}"'
arena = f'instance="127.0.0.1:{arena_port}"'


def scalar(expression):
    result = query(expression)
    if not result:
        fail(f"no data for {expression!r}")
    return float(result[0]["value"][1])


checks = {
    f"eustress_connected_clients{{{relay}}}": lambda v: v == clients,
    f'eustress_rtt_seconds{{quantile="0.5",{relay}}}': lambda v: 0 < v < 0.5,
    f"eustress_datagram_loss_ratio{{{relay}}}": lambda v: 0 <= v <= 0.05,
    f'sum(rate(eustress_channel_messages_total{{direction="in",{relay}}}[5s]))': lambda v: 10 < v < 1000,
    f'sum(rate(eustress_channel_bytes_total{{direction="out",{relay}}}[5s]))': lambda v: v > 100,
    f"eustress_connections_accepted_total{{{relay}}}": lambda v: v >= clients,
    f'sum(eustress_refusals_total{{{relay}}})': lambda v: v == 0,
    f'eustress_tick_duration_seconds_count{{stage="network_receive",{relay}}}': lambda v: v > 10,
    # The arena: 4 bots over a 100 ms RTT link with 2% loss, 60 ticks a second.
    f"eustress_connected_clients{{{arena}}}": lambda v: v == 4,
    f'eustress_rtt_seconds{{quantile="0.5",{arena}}}': lambda v: 0.08 < v < 0.2,
    f"rate(eustress_replication_snapshots_sent_total{{{arena}}}[5s])": lambda v: 20 < v < 500,
    f"eustress_replication_entities{{{arena}}}": lambda v: v >= 4,
    f'rate(eustress_inputs_total{{outcome="used",{arena}}}[5s])': lambda v: 150 < v < 300,
    f'rate(eustress_tick_duration_seconds_count{{stage="replication",{arena}}}[5s])': lambda v: 45 < v < 75,
    f"eustress_prediction_ticks_total{{{arena}}}": lambda v: v > 100,
}
for expression, sensible in checks.items():
    value = scalar(expression)
    print(f"{expression} = {value}")
    if not sensible(value):
        fail(f"{expression} = {value} is not sensible")
series = query('{__name__=~"eustress_.+"}')
if any(label in s["metric"] for s in series for label in ("client_id", "client", "address", "player")):
    fail("a series is labelled with a player identifier")
if any("127.0.0.1" in value for s in series for key, value in s["metric"].items() if key != "instance"):
    fail("an address appears in a label")

# The dashboard: structure, then every panel's expressions against this Prometheus.
dashboard = json.load(open(os.path.join(SOURCE, "deploy/grafana/eustress-net.json")))
for key in ("uid", "title", "panels", "templating", "schemaVersion"):
    if key not in dashboard:
        fail(f"dashboard has no {key}")
variables = {v["name"] for v in dashboard["templating"]["list"]}
if variables != {"datasource", "instance"}:
    fail(f"dashboard variables {variables}")
titles = [panel["title"] for panel in dashboard["panels"]]
for wanted in ("Connections", "RTT", "loss", "Bandwidth out", "Bandwidth in", "refusals", "Tick time"):
    if not any(wanted.lower() in title.lower() for title in titles):
        fail(f"no panel about {wanted}: {titles}")
ids = [panel["id"] for panel in dashboard["panels"]]
if len(set(ids)) != len(ids):
    fail("panel ids repeat")
evaluated = 0
for panel in dashboard["panels"]:
    for key in ("type", "title", "gridPos", "datasource", "targets"):
        if key not in panel:
            fail(f"panel {panel.get('title')} has no {key}")
    if panel["datasource"]["uid"] != "${datasource}":
        fail(f"panel {panel['title']} is tied to one data source")
    for target in panel["targets"]:
        expression = (target["expr"].replace("$__rate_interval", "5s").replace("$instance", ".*"))
        result = query(expression)
        if not result:
            fail(f"panel {panel['title']!r}: {target['expr']!r} returned no data")
        evaluated += 1
print(f"{len(series)} eustress series scraped; {evaluated} dashboard expressions in {len(titles)} panels all "
      "returned data")
