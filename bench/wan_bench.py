#!/usr/bin/env python3
"""The seed's transport claims on an emulated WAN (docs/PERFORMANCE.md, "The WAN"): QUIC "30% lower latency than TCP"
and "2x throughput in congested networks". Our QUIC (CUBIC and BBR2), kernel TCP (cubic and bbr; TCP_NODELAY, one
writev per batch of messages) and ENet run the same benchmark peers (eustress-bench) across the delay line
(tests/integration/wan_lab.py: two namespaces, apps/delay-line.cpp between them), side by side in one run:

  bulk      time to move a bulk transfer of 64 KiB messages (64 MiB without loss; less with loss, where cubic TCP
            needs minutes for 64 MiB): MB/s
  messages  time to deliver 10,000 reliable 256-byte messages, sent as fast as each peer's API takes them
  hol       the bulk transfer again, with a 60 Hz stream of 32-byte reliable ticks beside it (bench/head_of_line.hpp):
            each tick's latency from its scheduled send time to its arrival, minus the one-way delay. Ours and ENet
            send ticks on a channel of their own; TCP on its one stream (TCP_NOTSENT_LOWAT 16 KiB, ticks between
            bulk messages: the best a TCP game can do)
  unreliable  the same with unreliable ticks (ours and ENet; TCP has none): latency and the share delivered
  fairness, queue  issue 18 section 3 on the capped link without random loss (bench/wan_sharing.py): our bulk flow
            beside kernel TCP's, both shares, and reference pairs with none of ours (kernel TCP cubic beside kernel
            TCP bbr, TCP bbr beside TCP bbr) and ours beside ours, for what each competitor leaves any flow; a
            ping-pong's round trip beside each bulk flow against the unloaded one

Every benchmark also reports its longest gap in delivery at the receiver (no message for that long; the issue's
target: no stall over 100 ms).

Ours runs twice: over UDP, and as "eustress-ws-cubic", the same QUIC session over WebSocket (the fallback for
networks that drop UDP, docs/WEB.md): its unreliable ticks ride TCP, so a lost segment holds back everything
behind it, the head-of-line cost the fallback pays.

Conditions (loss on both directions, so acknowledgements are lost too):
  rtt40          40 ms RTT, 100 Mbit/s cap, one bandwidth-delay product of queue
  rtt40-loss2    the same with 2% random loss
  rtt100-loss2   100 ms RTT, 2% loss, 20 Mbit/s cap (the issue's congested case)

The server peer runs in namespace B on core 0, the client in A on core 1 ("two-cores"); the delay line runs with
real-time priority on either. Progress and a table go to stderr, one JSON object per result to stdout (bench/run.sh's
format; the placement is the condition, the peer names the congestion controller). Needs root.

Usage: wan_bench.py BUILD_DIR [--only bulk,messages,hol,unreliable,fairness,queue]
                   [--conditions rtt40,rtt40-loss2,rtt100-loss2] [--runs 1] [--pairs eustress-bbr+tcp-bbr,...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import nat_lab  # noqa: E402
import wan_lab  # noqa: E402
import wan_sharing  # noqa: E402

CONDITIONS = {
    "rtt40": "delay=20ms,loss=0,rate=100mbit,queue=512k",
    "rtt40-loss1": "delay=20ms,loss=1%,rate=100mbit,queue=512k",
    "rtt40-loss2": "delay=20ms,loss=2%,rate=100mbit,queue=512k",
    "rtt100-loss2": "delay=50ms,loss=2%,rate=20mbit,queue=256k",
    "rtt100-cap20": "delay=50ms,loss=0,rate=20mbit,queue=256k",
}
# Section 3's checks (bench/wan_sharing.py) run on the capped link without random loss, where sharing is defined.
SHARING_CONDITION = "rtt100-cap20"
OURS_CC = ["cubic", "bbr2"]
TCP_CC = ["cubic", "bbr"]
# Fairness pairs, (peer, cc) under test first and its competitor second: ours beside each kernel TCP flow, then the
# references. BBR v1 takes most of a shallow queue from loss-responsive flows; what kernel cubic keeps beside it on
# this link is the yardstick for what ours keeps (the two rows sit next to each other in the table).
FAIRNESS_PAIRS = ([(("eustress", ours), ("tcp", tcp)) for ours in OURS_CC for tcp in TCP_CC]
                  + [(("tcp", "cubic"), ("tcp", "bbr")), (("tcp", "bbr"), ("tcp", "bbr")),
                     (("eustress", "bbr2"), ("eustress", "bbr2"))])
# Messages of 64 KiB in the bulk transfer, and how many: 64 MiB without loss, less where loss-based TCP crawls.
BULK_COUNT = {"rtt40": 1024, "rtt40-loss1": 128, "rtt40-loss2": 128, "rtt100-loss2": 64, "rtt100-cap20": 256}
ONE_WAY_MS = {"rtt40": 20.0, "rtt40-loss1": 20.0, "rtt40-loss2": 20.0, "rtt100-loss2": 50.0, "rtt100-cap20": 50.0}
BENCHES = {"bulk": "throughput", "messages": "lossy", "hol": "hol", "unreliable": "hol-unreliable"}
PEERS = [("eustress", "cubic"), ("eustress", "bbr2"), ("eustress-ws", "cubic"), ("tcp", "cubic"), ("tcp", "bbr"),
         ("enet", "enet")]
began = time.monotonic()


def progress(message):
    print(f"[{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)


def run_pair(wan, program, peer, cc, bench, size, count, condition, work):
    """One benchmark between a server peer in B and a client peer in A; the client's result lines, or []."""
    rendezvous = os.path.join(work, f"{peer}-{cc}-{bench}-{condition}.rv")
    if os.path.exists(rendezvous):  # an earlier run's port (--runs 2): the client would connect to a server gone
        os.remove(rendezvous)
    common = ["--bench", bench, "--size", str(size), "--count", str(count), "--placement", condition,
              "--rendezvous", rendezvous] + (["--cc", cc] if peer != "enet" else [])
    if peer == "eustress-ws":
        peer, common = "eustress", common + ["--transport", "websocket"]
    server = nat_lab.popen(wan.b, ["taskset", "-c", "0", program, peer, "--role", "server", "--bind", wan.b_address]
                           + common, stdout=subprocess.DEVNULL)
    try:
        client = nat_lab.run(wan.a, ["taskset", "-c", "1", program, peer, "--role", "client", "--bind", wan.a_address,
                                     "--connect", wan.b_address] + common, check=False, timeout=240)
        lines = [json.loads(line) for line in client.stdout.splitlines() if line.startswith("{")]
        if client.returncode != 0 or not lines:
            progress(f"  {peer}/{cc} {bench} failed ({client.returncode}): {client.stderr.strip()[-200:]}")
        return lines
    except subprocess.TimeoutExpired:
        progress(f"  {peer}/{cc} {bench} did not finish in 240 s")
        return []
    finally:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build")
    parser.add_argument("--only", default="bulk,messages,hol,unreliable,fairness,queue")
    parser.add_argument("--conditions", default="rtt40,rtt40-loss2,rtt100-loss2",
                        help="for the table; fairness and queue always run on " + SHARING_CONDITION)
    parser.add_argument("--pairs", default=",".join(pair_name(*pair) for pair in FAIRNESS_PAIRS),
                        help="fairness pairs, PEER-CC+PEER-CC (the first under test), comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="rounds of each benchmark, fairness included (not queue)")
    args = parser.parse_args()
    pairs = parse_pairs(args.pairs)
    program = os.path.join(args.build, "bench", "eustress-bench")
    if not os.access(program, os.X_OK):
        sys.exit(f"no {program}: build the bench preset")
    results = {}  # (condition, bench, peer/cc) -> [values]
    with nat_lab.Lab() as lab, tempfile.TemporaryDirectory() as work:
        wan = wan_lab.Wan(lab, args.build, both="delay=0ms")
        benches = args.only.split(",")
        if "fairness" in benches or "queue" in benches:
            sharing(wan, program, benches, args.runs, pairs, work, results)
        benches = [bench for bench in benches if bench in BENCHES]
        for condition in args.conditions.split(",") if benches else []:
            wan.set("both", CONDITIONS[condition])
            progress(f"{condition}: {CONDITIONS[condition]}")
            for bench in benches:
                name = BENCHES[bench]
                size, count = (256, 10000) if bench == "messages" else (65536, BULK_COUNT[condition])
                for run in range(args.runs):
                    for peer, cc in PEERS:
                        if bench == "unreliable" and peer == "tcp":
                            continue
                        before = wan.stats()["a2b"]
                        lines = run_pair(wan, program, peer, cc, name, size, count, condition, work)
                        after = wan.stats()["a2b"]
                        # What the line did to this run's client-to-server packets: which gaps a loss explains.
                        progress(f"  {bench} {peer}-{cc}: the line lost "
                                 f"{after['lost_random'] - before['lost_random']} at random, "
                                 f"{after['queue_full'] - before['queue_full']} at the full queue")
                        for line in lines:
                            line.update({"bench": f"wan-{bench}", "peer": f"{peer}-{cc}" if peer != "enet" else peer})
                            if line["metric"].startswith("tick_latency"):
                                line["value"] = round(line["value"] - ONE_WAY_MS[condition], 3)
                                line["metric"] += "_added"
                            print(json.dumps(line), flush=True)
                            key = (condition, bench, line["metric"], line["peer"])
                            results.setdefault(key, []).append(line["value"])
                            progress(f"  {bench} {line['peer']} {line['metric']}: {line['value']:.3f} {line['unit']}")
        wan.close()
    table(results)
    fairness_table(results)


def emit(results, condition, bench, peer, metric, value, unit):
    print(json.dumps({"bench": f"wan-{bench}", "peer": peer, "placement": condition, "metric": metric,
                      "value": round(value, 4), "unit": unit}), flush=True)
    results.setdefault((condition, bench, metric, peer), []).append(value)
    progress(f"  {bench} {peer} {metric}: {value:.3f} {unit}")


def pair_name(first, second):
    return "+".join(f"{peer}-{cc}" for peer, cc in (first, second))


def parse_pairs(text):
    """--pairs: "eustress-bbr+tcp-bbr,tcp-cubic+tcp-bbr" as [(("eustress", "bbr"), ("tcp", "bbr")), ...]."""
    pairs = []
    for name in text.split(","):
        flows = [tuple(flow.rsplit("-", 1)) for flow in name.split("+")]
        if len(flows) != 2 or any(len(flow) != 2 or flow[0] not in wan_sharing.PROTOCOL for flow in flows):
            sys.exit(f"--pairs: {name!r} is not PEER-CC+PEER-CC with PEER eustress or tcp")
        pairs.append(tuple(flows))
    return pairs


def sharing(wan, program, benches, runs, pairs, work, results):
    """Section 3's checks on the capped link: fairness of `pairs` (`runs` times) and the standing queue."""
    condition = SHARING_CONDITION
    wan.set("both", CONDITIONS[condition])
    progress(f"{condition}: {CONDITIONS[condition]}")
    for _ in range(runs if "fairness" in benches else 0):
        for first, second in pairs:
            shares = wan_sharing.fairness(wan, program, first, second, work)
            for metric, value in shares.items():
                emit(results, condition, "fairness", pair_name(first, second), metric, value, "ratio")
    if "queue" in benches:
        unloaded = wan_sharing.queue(wan, program, None, None, work)
        for metric, value in unloaded.items():
            emit(results, condition, "queue", "unloaded", metric, value, "ms")
        for peer, cc in [("eustress", cc) for cc in OURS_CC] + [("tcp", cc) for cc in TCP_CC]:
            loaded = wan_sharing.queue(wan, program, peer, cc, work)
            for metric, value in loaded.items():
                emit(results, condition, "queue", f"{peer}-{cc}", metric, value, "ms")
            emit(results, condition, "queue", f"{peer}-{cc}", "rtt_p50_over_unloaded",
                 loaded["rtt_p50"] / unloaded["rtt_p50"], "ratio")


ROWS = [("bulk", "throughput", "MB/s"), ("bulk", "longest_gap", "ms"), ("messages", "time_to_deliver", "s"),
        ("messages", "longest_gap", "ms"), ("hol", "longest_gap", "ms"), ("unreliable", "longest_gap", "ms"),
        ("hol", "tick_latency_p50_added", "ms"), ("hol", "tick_latency_p99_added", "ms"),
        ("hol", "tick_latency_max_added", "ms"), ("hol", "throughput", "MB/s"),
        ("unreliable", "tick_latency_p50_added", "ms"), ("unreliable", "tick_latency_p99_added", "ms"),
        ("unreliable", "tick_delivered_fraction", "share")]


def fairness_table(results):
    """Per fairness pair: the medians of both shares and of the link's use, and every run's first share."""
    measured = [name for _, bench, metric, name in results if bench == "fairness" and metric == "first_share"]
    if not measured:
        return
    print("\n| fairness pair (first+second) | first's share | second's share | link use | first's share per run |",
          file=sys.stderr)
    print("|---|---|---|---|---|", file=sys.stderr)
    for name in measured:
        runs = {metric: results[(SHARING_CONDITION, "fairness", metric, name)]
                for metric in ("first_share", "second_share", "link_use")}
        medians = " | ".join(f"{statistics.median(values):.2f}" for values in runs.values())
        each = " / ".join(f"{value:.2f}" for value in runs["first_share"])
        print(f"| {name} | {medians} | {each} |", file=sys.stderr)


def table(results):
    """Medians per condition and row, one column per peer."""
    names = [f"{p}-{c}" if p != "enet" else p for p, c in PEERS]
    if not any(bench in BENCHES for _, bench, _, _ in results):
        return  # fairness or queue alone: nothing for this table
    print("\n| condition | figure | " + " | ".join(names) + " |", file=sys.stderr)
    print("|---" * (2 + len(PEERS)) + "|", file=sys.stderr)
    for condition in CONDITIONS:
        for bench, metric, unit in ROWS:
            cells = [results.get((condition, bench, metric, name)) for name in names]
            if any(cells):
                text = [f"{statistics.median(values):.2f}" if values else "-" for values in cells]
                print(f"| {condition} | {bench} {metric} ({unit}) | " + " | ".join(text) + " |", file=sys.stderr)


if __name__ == "__main__":
    main()
