#!/usr/bin/env python3
"""Prints build-bench/bench/results.jsonl as tables, with our figures as ratios to each peer's."""
import json
import sys
from collections import defaultdict

COLUMNS = ("eustress", "enet", "udp", "tcp")

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by_key = defaultdict(dict)
for row in rows:
    key = (row["bench"], row["metric"], row.get("size", 0), row.get("placement", ""))
    by_key[key][row.get("peer", "eustress")] = row

print(f"\n{'bench':<12} {'metric':<28} {'size':>8} {'placement':<10} {'eustress':>12} {'enet':>12} {'udp':>12} {'tcp':>12}  ratios (ours/peer), other peers")
for (bench, metric, size, placement), peers in sorted(by_key.items()):
    def cell(peer):
        return f"{peers[peer]['value']:>12.2f}" if peer in peers else f"{'-':>12}"
    ours = peers.get("eustress")
    # Peers without a column (the metrics benchmark's plain atomic and mutex-and-map) are listed by name.
    others = [f"{peer} {row['value']:.2f}" for peer, row in sorted(peers.items()) if peer not in COLUMNS]
    ratios = []
    for peer in sorted(peers):
        if peer != "eustress" and ours and peers[peer]["value"]:
            ratios.append(f"{peer} {ours['value'] / peers[peer]['value']:.2f}x")
    unit = next(iter(peers.values()))["unit"]
    print(f"{bench:<12} {metric + ' (' + unit + ')':<28} {size:>8} {placement:<10} {cell('eustress')} {cell('enet')} {cell('udp')} {cell('tcp')}  {', '.join(ratios)}{'; ' if others else ''}{', '.join(others)}")
