#!/usr/bin/env python3
"""Failover through real NATs: two eustress-peer processes behind a full-cone and a port-restricted NAT reach each
other directly, with TURN configured (a relay-only ICE path kept warm beside the direct one). A numbered chat line
goes from A to B every 20 ms throughout. Phase 1: the direct path is cut (nat_lab.block_udp_between, which drops only
UDP between the two sites' public addresses; the game server and coturn live at 203.0.113.1 and .2): both peers
must move to TURN in under a second, and back to direct once the cut is lifted. Phase 2: the direct path is cut
again and then TURN too (nat_lab.block_turn on both sites): both must move to the game server's relay in under a
second. Every numbered line must reach B exactly once and in order. Prints the failover times and the longest gap
in the stream. Needs root. Usage: p2p_failover_test.py BUILD_DIR"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

LINE_EVERY = 0.02
FAILOVER_BOUND = 1.0  # seconds from the cut to the path change (the target; heartbeats give ~0.4-0.5 s)
HOLD = 3.0  # seconds the first cut lasts, past the 2 s ICE restart interval
RETURN_BOUND = 15.0  # seconds from lifting the cut to direct again (an ICE restart every 2 s, then its checks)


def received(receiver, sender):
    """(sequence number, arrival time) of every numbered line `receiver` printed from `sender`."""
    return [(int(found.group(1)), stamp) for _, stamp, found in
            receiver.output.find(rf"^\[peer {sender.id}\] seq (\d+)$")]


def wait_received(receiver, sender, count, seconds, what):
    mesh_lab.wait_until(lambda: len(received(receiver, sender)) >= count, seconds, f"{what}: {count} lines at "
                        f"{receiver.name}")


def relayed_heartbeat(packet):
    """Whether a datagram between a peer and coturn carries one of the mesh's path heartbeats (0x00 0x45, 7 bytes)
    inside TURN's framing: ChannelData, or the DATA of a Send or Data indication."""
    data = packet.payload
    if len(data) >= 4 and 0x40 <= data[0] <= 0x7F:
        inner = data[4:4 + int.from_bytes(data[2:4], "big")]
    else:
        parsed = nat_lab.stun_parse(data)
        inner = parsed[3].get(nat_lab.ATTR["DATA"]) if parsed else None
    return bool(inner) and len(inner) == 7 and inner[:2] == b"\x00\x45"


def cut(what, block, a, b, to, dead_path, seen, seconds=5):
    """Applies `block` (a function making the rules), then waits for both peers to report a path change to `to`.
    Each peer's failover time is measured from the last datagram of the dead path that reached its host
    (`dead_path(peer, packet)` picks them from the host's capture `seen[peer]`), and, as an upper bound, from just
    before the rules went in. Returns ({peer name: (from last datagram, from the cut)}, the rules)."""
    start = {p: p.output.count() for p in (a, b)}
    began = time.monotonic()
    rules = block()
    ready = time.monotonic()
    times = {}
    for me, other in ((a, b), (b, a)):
        moved = me.wait_path(other.id, {to}, seconds, start[me])["time"]
        last = max((p.time for p in seen[me].packets if dead_path(me, p) and p.time <= moved), default=None)
        check(last is not None, f"{what}: {me.name}'s capture holds no datagram of the dead path")
        times[me.name] = (moved - last, moved - began)
    progress(f"{what} (the rules took {1000 * (ready - began):.0f} ms to go in): " + "; ".join(
        f"{name} moved to {to} {1000 * last:.0f} ms after the last datagram on the dead path "
        f"({1000 * cut:.0f} ms after the cut began)" for name, (last, cut) in times.items()))
    for name, (last, _) in times.items():
        check(last < FAILOVER_BOUND, f"{what}: {name} took {last:.2f} s from the last datagram on the dead path to "
                                     f"{to} (bound {FAILOVER_BOUND} s)")
    return times, rules


def main(build):
    with nat_lab.Lab() as lab:
        site_a = lab.add_site("cone", "full_cone")
        site_b = lab.add_site("port", "port_restricted")
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, [site_a, site_b])
        server = mesh_lab.MeshServer(lab, build, "game", turn)
        a, b = mesh_lab.direct_pair(build, server, site_a.host, site_b.host, "a", "b")
        progress(f"A (member {a.id}, full cone) and B (member {b.id}, port-restricted) are direct")

        # What reaches each peer's host, stamped on arrival: the last datagram of a path that was cut is the moment
        # failover is measured from.
        inbound = lambda p: p.protocol == 17 and p.direction == "in"  # noqa: E731
        with nat_lab.capture(site_a.host.ns, "eth0", keep=inbound) as seen_a, \
                nat_lab.capture(site_b.host.ns, "eth0", keep=inbound) as seen_b:
            seen = {a: seen_a, b: seen_b}
            public = {a: site_a.public, b: site_b.public}
            other_of = {a: b, b: a}
            direct_path = lambda me, p: p.src == public[other_of[me]]  # noqa: E731
            turn_path = lambda me, p: p.src in turn.addresses and p.sport == turn.port  # noqa: E731
            # The standby TURN path is warm once heartbeats come through coturn to both hosts.
            for peer in (a, b):
                found = seen[peer].wait_for(lambda p, peer=peer: turn_path(peer, p) and relayed_heartbeat(p), 15)
                check(found, f"no heartbeat came through TURN to {peer.name}: the standby TURN path is not up")
            progress("the standby TURN path carries heartbeats to both peers")

            stream = mesh_lab.LineStream(a, LINE_EVERY)
            wait_received(b, a, 10, 10, "the stream")
            progress("the stream of numbered lines flows from A to B")

            times = {}
            times["direct -> turn"], block = cut("phase 1, direct path cut", lambda: lab.block_udp_between(
                site_a, site_b), a, b, "turn", direct_path, seen)
            # Held past the ICE restart interval (2 s): the controlling peer restarts the dead direct agent during
            # the cut, and the restarted agent must still find the direct path once the cut is lifted.
            mark = stream.sent
            wait_received(b, a, mark + int(HOLD / LINE_EVERY), HOLD + 10, "the stream over TURN")

            start = {p: p.output.count() for p in (a, b)}
            lifted = time.monotonic()
            lab.unblock(block)
            back = {}
            for me, other in ((a, b), (b, a)):
                back[me.name] = me.wait_path(other.id, {"direct"}, RETURN_BOUND, start[me])["time"] - lifted
            progress(f"cut lifted: A back to direct after {back['a']:.2f} s, B after {back['b']:.2f} s")
            mark = stream.sent
            wait_received(b, a, mark + 10, 10, "the stream, direct again")

            times["direct -> turn (again)"], block = cut("phase 2, direct path cut again",
                                                         lambda: lab.block_udp_between(site_a, site_b), a, b, "turn",
                                                         direct_path, seen)
            mark = stream.sent
            wait_received(b, a, mark + 10, 10, "the stream over TURN again")
            times["turn -> server-relay"], turn_blocks = cut("phase 2, TURN cut too", lambda: [
                lab.block_turn(site_a), lab.block_turn(site_b)], a, b, "server-relay", turn_path, seen)
            mark = stream.sent
            wait_received(b, a, mark + 10, 10, "the stream through the game server")

            sent = stream.stop()
            wait_received(b, a, sent, 10, "the end of the stream")
            numbers = [n for n, _ in received(b, a)]
            lost = sorted(set(range(1, sent + 1)) - set(numbers))
            disorder = [n for i, n in enumerate(numbers) if i and n != numbers[i - 1] + 1]
            check(numbers == list(range(1, sent + 1)), f"B got {len(numbers)} of {sent} lines; lost {lost[:20]}, "
                                                       f"duplicated or out of order at {disorder[:20]}")
            check(not a.output.find(r"^sent to 0 peers|^not sent"), "A could not hand a line to the mesh")
            arrivals = [stamp for _, stamp in received(b, a)]
            gaps = sorted(((arrivals[i] - arrivals[i - 1], i + 1) for i in range(1, len(arrivals))), reverse=True)
            progress(f"all {sent} numbered lines reached B once and in order; longest gaps between arrivals "
                     f"{', '.join(f'{1000 * g:.0f} ms (before line {n})' for g, n in gaps[:3])}")

            start = {p: p.output.count() for p in (a, b)}
            lifted = time.monotonic()
            for rules in (block, *turn_blocks):
                lab.unblock(rules)
            for me, other in ((a, b), (b, a)):
                back[me.name + " (after phase 2)"] = me.wait_path(other.id, {"direct"}, RETURN_BOUND,
                                                                  start[me])["time"] - lifted
            progress(f"every cut lifted: back to direct after {back['a (after phase 2)']:.2f} s (A), "
                     f"{back['b (after phase 2)']:.2f} s (B)")

    print()
    print("failover, ms from the last datagram on the dead path (from the cut's start, an upper bound)")
    print(f"{'':28} {'A':>14} {'B':>14}")
    for what, elapsed in times.items():
        print(f"{what:28} " + " ".join(f"{f'{1000 * elapsed[p][0]:.0f} ({1000 * elapsed[p][1]:.0f})':>14}"
                                      for p in ("a", "b")))
    for phase, suffix in (("1", ""), ("2", " (after phase 2)")):
        print(f"{'back to direct, phase ' + phase:28} " +
              " ".join(f"{f'{1000 * back[p + suffix]:.0f}':>14}" for p in ("a", "b")))
    print(f"longest gap in the stream at B: {1000 * gaps[0][0]:.0f} ms; lines sent {sent}, received {len(numbers)}")
    print()


if __name__ == "__main__":
    mesh_lab.run(main, os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
