#!/usr/bin/env python3
"""Every pair of NAT kinds through real NATs (the NAT lab): for each of the 15 unordered pairs of {none, full cone,
address-restricted, port-restricted, symmetric}, two eustress-peer processes behind the two kinds (two different
sites, so never on one LAN) join a mesh of their own game server (eustress-server --mesh, coturn for STUN and TURN).
Each pair must end on the path nat_lab.expected_direct() predicts (direct everywhere except symmetric against
port-restricted or symmetric, which must end on TURN), as both peers see it, and a chat line must cross both ways.
Every site is classified before use. Prints the matrix (final path, time from the server relay to the first direct
or TURN path as each peer reported it, candidate types) and writes it to BUILD_DIR/p2p_nat_matrix.json.
Needs root. Usage: p2p_nat_matrix_test.py BUILD_DIR"""
import concurrent.futures
import itertools
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

SHORT = {"none": "pub", "full_cone": "full", "address_restricted": "addr", "port_restricted": "port",
         "symmetric": "sym"}
# Pairs run this many at a time, each with its own game server (a mesh per pair: peers of different pairs must never
# try each other). Two cores are shared with the rest of the suite, so the ICE times stay meaningful.
CONCURRENT_PAIRS = 5
DEADLINE = 30  # seconds for any one event of a pair (join, path, chat)


def run_pair(lab, build, turn, number, kind_a, kind_b, host_a, host_b):
    expected = "direct" if nat_lab.expected_direct(kind_a, kind_b) else "turn"
    label = f"{kind_a} x {kind_b}"
    server = mesh_lab.MeshServer(lab, build, f"server{number}", turn)
    a = mesh_lab.Peer(build, host_a, server, f"pair{number}-{SHORT[kind_a]}-a")
    b = mesh_lab.Peer(build, host_b, server, f"pair{number}-{SHORT[kind_b]}-b")
    try:
        a.wait_joined(DEADLINE)
        b.wait_joined(DEADLINE)
        views = {}
        for me, other in ((a, b), (b, a)):
            first = me.wait_path(other.id, {"direct", "turn"}, DEADLINE)
            final = me.wait_path(other.id, {expected}, DEADLINE)
            me.wait_session(other.id, DEADLINE)
            views[me] = (first, final)
        mesh_lab.chat_both_ways(a, b, f"hello over {label}")
        rows = {a: a.status(1)[b.id], b: b.status(1)[a.id]}
        for me, other in ((a, b), (b, a)):
            changes = me.paths(other.id)
            check(rows[me]["path"] == expected,
                  f"{label}: {me.name} ends on {rows[me]['path']} to {other.name}, expected {expected}; "
                  f"its path changes: {[(c['from'], c['to']) for c in changes]}")
            check(rows[me]["session"] == "up", f"{label}: {me.name}'s session with {other.name} is not up")
            if expected == "turn":
                check(not any(c["to"] == "direct" for c in changes),
                      f"{label}: {me.name} reported a direct path, which these NATs cannot give")
        result = {"a": kind_a, "b": kind_b, "expected": expected, "path": rows[a]["path"],
                  "first_ms": {"a": views[a][0]["ms"], "b": views[b][0]["ms"]},
                  "first_path": {"a": views[a][0]["to"], "b": views[b][0]["to"]},
                  "final_ms": {"a": views[a][1]["ms"], "b": views[b][1]["ms"]},
                  "candidates": {"a": [rows[a]["local"], rows[a]["remote"]],
                                 "b": [rows[b]["local"], rows[b]["remote"]]},
                  "path_changes": {"a": [f"{c['from']}->{c['to']}@{c['ms']:.0f}" for c in a.paths(b.id)],
                                   "b": [f"{c['from']}->{c['to']}@{c['ms']:.0f}" for c in b.paths(a.id)]}}
        progress(f"{label:40} {result['path']:6} first {result['first_path']['a']} at "
                 f"{result['first_ms']['a']:.0f}/{result['first_ms']['b']:.0f} ms, candidates "
                 f"{'/'.join(result['candidates']['a'])}, chat both ways")
        return result
    finally:
        mesh_lab.stop_all((a, b, server), 3)


def print_matrix(results):
    print()
    print(f"{'pair':40} {'expected':8} {'path':6}  {'first path (a, b)':30} {'final (a, b)':14}  candidates (a, b)")
    for r in results:
        first = f"{r['first_path']['a']} {r['first_ms']['a']:.0f}, {r['first_path']['b']} {r['first_ms']['b']:.0f} ms"
        final = f"{r['final_ms']['a']:.0f}, {r['final_ms']['b']:.0f} ms"
        candidates = f"{'/'.join(r['candidates']['a'])}, {'/'.join(r['candidates']['b'])}"
        print(f"{r['a'] + ' x ' + r['b']:40} {r['expected']:8} {r['path']:6}  {first:30} {final:14}  {candidates}")
    print()
    print("final path; ms from the server relay to the first direct or TURN path / to the final path (the slower peer)")
    kinds = nat_lab.NAT_KINDS
    by_pair = {frozenset((r["a"], r["b"])): r for r in results}
    print(f"{'':20}" + "".join(f"{k:>20}" for k in kinds))
    for row in kinds:
        cells = []
        for column in kinds:
            r = by_pair[frozenset((row, column))]
            cells.append(f"{r['path']} {max(r['first_ms'].values()):.0f}/{max(r['final_ms'].values()):.0f}")
        print(f"{row:20}" + "".join(f"{c:>20}" for c in cells))
    print()


def main(build):
    pairs = list(itertools.combinations_with_replacement(nat_lab.NAT_KINDS, 2))
    with nat_lab.Lab() as lab:
        # Two sites of each kind: a pair's peers sit behind two different routers even when the kinds are equal.
        # Peers of different pairs share sites (hosts on one LAN), but never a mesh.
        sites = {(kind, side): lab.add_site(f"{SHORT[kind]}{side}", kind)
                 for kind in nat_lab.NAT_KINDS for side in (1, 2)}
        used = {}

        def next_host(site):
            used[site.name] = used.get(site.name, 0) + 1
            return site.hosts[used[site.name] - 1] if used[site.name] <= len(site.hosts) else lab.add_host(site)

        plan = [(number, kind_a, kind_b, next_host(sites[kind_a, 1]), next_host(sites[kind_b, 2]))
                for number, (kind_a, kind_b) in enumerate(pairs, 1)]
        progress(f"lab {lab.prefix}: {len(sites)} sites, {len(lab.namespaces)} namespaces")
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, list(sites.values()))
        began = time.monotonic()
        pool = concurrent.futures.ThreadPoolExecutor(CONCURRENT_PAIRS)
        try:
            futures = [pool.submit(run_pair, lab, build, turn, *entry) for entry in plan]
            results = [future.result() for future in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # on a failure, the lab's close ends the running pairs
        progress(f"{len(results)} pairs in {time.monotonic() - began:.1f} s, {CONCURRENT_PAIRS} at a time")
    print_matrix(results)
    path = os.path.join(build, "p2p_nat_matrix.json")
    with open(path, "w") as out:
        json.dump({"pairs": results, "concurrent_pairs": CONCURRENT_PAIRS,
                   "note": "first_ms: from the peer's first path (the server relay) to its first direct or TURN "
                           "path, as eustress-peer reports it; final_ms: to the expected path"}, out, indent=1)
    progress(f"matrix written to {path}")


if __name__ == "__main__":
    build_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build"
    mesh_lab.run(main, build_dir)
