#!/usr/bin/env python3
"""The replication budget following the path across the emulated WAN (issue 18 section 4; docs/PERFORMANCE.md,
"The replication budget follows the path"). The cube game's server (eustress-cubes --serve: 400 moving, turning
cubes around the player, 60 Hz, the seed's 512 kbit/s tier) runs in namespace B, one player (--connect) in A, and
the delay line between them (tests/integration/wan_lab.py) holds 100 ms RTT and a 2 Mbit/s cap with a 256 KiB
bottleneck queue, which its schedule drops to 300 kbit/s for some seconds mid-game and raises again. Twice, side by
side: with the budget following the path (the default) and with the tier's budget alone (--no-adapt).

Both programs write a row per 100 ms (examples/cubes/wan_game.hpp); this script joins them on CLOCK_MONOTONIC: the
client's budget (server), bits on the wire to it, the snapshot age at the client (how long ago the server ran the
tick of the newest snapshot the client applied) and the staleness of the 10 nearest and 10 farthest cubes (how long
ago the server ran the tick each shows). It checks the issue's claims on the real path: within 1 s of the drop the
budget is at most the cap; the snapshot age stays under 150 ms from then until the rise; the nearest cubes stay
fresher than the farthest; the budget is back at the tier 4 s after the rise. Each run is written as a CSV (--csv
DIR) for bench/plot_series.py. One JSON object per figure on stdout (bench/run.sh), a table on stderr. Needs root.

Usage: wan_budget_bench.py BUILD_DIR [--csv DIR] [--check] [--only adaptive,tier]
"""
import argparse
import bisect
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import nat_lab  # noqa: E402
import wan_lab  # noqa: E402

LINK = "delay=50ms,rate=2mbit,queue=256k"
DROP, RISE, END = 8.0, 16.0, 24.0  # seconds after the line is ready
CAP_KBPS, LOW_KBPS, TIER_BPS = 2000, 300, 512_000
TICK = 1 / 60
RUNS = {"adaptive": [], "tier": ["--no-adapt"]}


def cap_at(seconds):
    return LOW_KBPS if DROP <= seconds < RISE else CAP_KBPS


def read_csv(path):
    with open(path) as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def play(build, flags, work, name, priority):
    """One game across a fresh line; the server's and the client's rows and the line's zero (monotonic s)."""
    program = os.path.join(build, "examples", "cubes", "eustress-cubes")
    pin_to = lambda core: ["taskset", "-c", core] + (["chrt", "-f", "30"] if priority else [])  # noqa: E731
    server_csv, client_csv = os.path.join(work, f"{name}-server.csv"), os.path.join(work, f"{name}-client.csv")
    with nat_lab.Lab() as lab:
        wan = wan_lab.Wan(lab, build, both=LINK,
                          schedule=[f"{DROP}s:both:rate={LOW_KBPS}kbit", f"{RISE}s:both:rate={CAP_KBPS}kbit"])
        left = int(END - (time.monotonic() - wan.ready_at))
        server = nat_lab.popen(wan.b, pin_to("0") + [program, "--serve", f"{wan.b_address}:7777",
                                       "--seconds", str(left + 1), "--csv", server_csv] + flags,
                               stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            if not line.startswith("listening"):
                raise nat_lab.LabError(f"eustress-cubes --serve did not start: {line!r}")
            pin = line.split(" pin ")[1].strip()
            left = int(END - (time.monotonic() - wan.ready_at))
            nat_lab.run(wan.a, pin_to("1") + [program, "--connect", f"{wan.b_address}:7777", "--pin", pin,
                                "--seconds", str(left), "--csv", client_csv], timeout=END + 30)
            server.wait(timeout=15)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        ready_at = wan.ready_at
        wan.close()
    return read_csv(server_csv), read_csv(client_csv), ready_at


def joined(server_rows, client_rows, ready_at):
    """One row per client row: times since the line's zero, the server's figures as of then, ages in ms."""
    ticks = [row["tick"] for row in server_rows]

    def ran_at(tick):  # when the server ran `tick`: its row at or after it, back along the fixed 60 Hz schedule
        i = min(bisect.bisect_left(ticks, tick), len(ticks) - 1)
        return server_rows[i]["tick_time"] - (server_rows[i]["tick"] - tick) * TICK

    times = [row["t"] for row in server_rows]
    rows = []
    for row in client_rows:
        i = bisect.bisect_right(times, row["t"]) - 1
        if i < 1 or row["tick"] == 0 or row["near_tick"] == 0:
            continue
        now, before = server_rows[i], server_rows[i - 1]
        seconds = row["t"] - ready_at
        rows.append({"seconds": round(seconds, 2), "cap_kbps": cap_at(seconds),
                     "budget_kbps": now["budget_bps"] / 1000,
                     "sent_kbps": (now["wire_bytes"] - before["wire_bytes"]) * 8 / (now["t"] - before["t"]) / 1000,
                     "snapshot_age_ms": (row["t"] - ran_at(row["tick"])) * 1000,
                     "nearest_ms": (row["t"] - ran_at(row["near_tick"])) * 1000,
                     "farthest_ms": (row["t"] - ran_at(row["far_tick"])) * 1000})
    return rows


def figures(rows):
    during = [r for r in rows if DROP + 1 <= r["seconds"] < RISE]
    after_drop = [r for r in rows if r["seconds"] >= DROP + 1]
    back = next((r["seconds"] - RISE for r in rows if r["seconds"] >= RISE and r["budget_kbps"] * 1000 >= TIER_BPS),
                None)
    ages = sorted(r["snapshot_age_ms"] for r in during)
    return {"budget_1s_after_drop_kbps": after_drop[0]["budget_kbps"] if after_drop else None,
            "lowest_budget_during_cap_kbps": min(r["budget_kbps"] for r in during),
            "sent_during_cap_kbps": sum(r["sent_kbps"] for r in during) / len(during),
            "snapshot_age_worst_ms": ages[-1], "snapshot_age_p95_ms": ages[int(0.95 * (len(ages) - 1))],
            "snapshot_age_median_ms": ages[len(ages) // 2],
            "nearest_worst_ms": max(r["nearest_ms"] for r in during),
            "farthest_worst_ms": max(r["farthest_ms"] for r in during),
            "back_at_tier_after_rise_s": back}


def claims(found):
    """The issue's claims, each (text, held)."""
    return [("budget at most the cap 1 s after the drop", found["budget_1s_after_drop_kbps"] <= LOW_KBPS),
            ("snapshot age under 150 ms while capped", found["snapshot_age_worst_ms"] < 150),
            ("nearest cubes fresher than the farthest", found["nearest_worst_ms"] < found["farthest_worst_ms"]),
            ("budget back at the tier within 4 s of the rise",
             found["back_at_tier_after_rise_s"] is not None and found["back_at_tier_after_rise_s"] <= 4)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build")
    parser.add_argument("--csv", help="write each run's joined rows to DIR/wan-budget-NAME.csv")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the adaptive run holds every claim")
    parser.add_argument("--only", default=",".join(RUNS))
    parser.add_argument("--no-priority", action="store_true",
                        help="run the game at normal priority (by default both sides run under SCHED_FIFO, as the "
                             "delay line does, so a loaded machine's scheduling delays do not pass for queueing)")
    args = parser.parse_args()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"wan budget: {LINK}, {LOW_KBPS} kbit/s from {DROP:.0f} s to {RISE:.0f} s; load average {' '.join(load)}",
          file=sys.stderr, flush=True)
    failed = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.only.split(","):
            rows = joined(*play(args.build, RUNS[name], work, name, not args.no_priority))
            if args.csv:
                os.makedirs(args.csv, exist_ok=True)
                for side in ("server", "client"):  # the raw rows too, for a second look
                    shutil.copy(os.path.join(work, f"{name}-{side}.csv"), os.path.join(args.csv, f"raw-{name}-{side}.csv"))
                with open(os.path.join(args.csv, f"wan-budget-{name}.csv"), "w", newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
            found = figures(rows)
            for metric, value in found.items():
                if value is not None:  # never back at the tier: no figure (the claim below fails)
                    print(json.dumps({"bench": "wan-budget", "metric": metric, "value": round(value, 3),
                                      "unit": metric.rsplit("_", 1)[1], "peer": name, "placement": "namespaces",
                                      "size": 0}), flush=True)
                print(f"  {name:9s} {metric:32s} {value if value is None else round(value, 1)}", file=sys.stderr)
            for text, held in claims(found):
                print(f"  {name:9s} {'holds' if held else 'FAILS'}: {text}", file=sys.stderr)
                if name == "adaptive" and not held:
                    failed.append(text)
    print(f"load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}", file=sys.stderr)
    if args.check and failed:
        sys.exit("not held: " + "; ".join(failed))


if __name__ == "__main__":
    main()
