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
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

LINE_EVERY = 0.02
FAILOVER_BOUND = 1.0  # seconds from the cut to the path change (the target; heartbeats give ~0.4-0.5 s)
HOLD = 3.0  # seconds the first cut lasts, past the 2 s ICE restart interval
RETURN_BOUND = 15.0  # seconds from lifting the cut to direct again (an ICE restart every 2 s, then its checks)


class Stream:
    """Types "seq N" into the sender every LINE_EVERY seconds, N = 1, 2, ... until stopped."""

    def __init__(self, sender):
        self.sender, self.sent, self.times = sender, 0, {}
        self._running = True
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)
        self._thread.start()

    def _run(self):
        due = time.monotonic()
        while self._running:
            self.sent += 1
            self.times[self.sent] = time.monotonic()
            self.sender.type(f"seq {self.sent}")
            due += LINE_EVERY
            time.sleep(max(0.0, due - time.monotonic()))  # pacing the sender, not waiting for an event

    def stop(self):
        self._running = False
        self._thread.join()
        return self.sent


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


def cut(what, block, a, b, to, seconds=5):
    """Applies `block` (a function making the rules), then waits for both peers to report a path change to `to`;
    returns the failover times (from just before the rules went in: an upper bound on the time from the last packet
    on the dead path) and the rules."""
    start = {p: p.output.count() for p in (a, b)}
    began = time.monotonic()
    rules = block()
    ready = time.monotonic()
    times = {}
    for me, other in ((a, b), (b, a)):
        event = me.wait_path(other.id, {to}, seconds, start[me])
        times[me.name] = event["time"] - began
    progress(f"{what}: the rules took {1000 * (ready - began):.0f} ms to go in; A moved to {to} after "
             f"{1000 * times[a.name]:.0f} ms, B after {1000 * times[b.name]:.0f} ms")
    for name, elapsed in times.items():
        check(elapsed < FAILOVER_BOUND, f"{what}: {name} took {elapsed:.2f} s to move to {to} (bound "
                                        f"{FAILOVER_BOUND} s)")
    return times, rules


def main(build):
    with nat_lab.Lab() as lab:
        site_a = lab.add_site("cone", "full_cone")
        site_b = lab.add_site("port", "port_restricted")
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, [site_a, site_b])
        server = mesh_lab.MeshServer(lab, build, "game", turn)
        a = mesh_lab.Peer(build, site_a.host, server, "a")
        b = mesh_lab.Peer(build, site_b.host, server, "b")
        a.wait_joined()
        b.wait_joined()
        for me, other in ((a, b), (b, a)):
            me.wait_path(other.id, {"direct"}, 20)
            me.wait_session(other.id, 20)
        progress(f"A (member {a.id}, full cone) and B (member {b.id}, port-restricted) are direct")

        # Each site's cable into the internet bridge (the bridge device itself sees only what is addressed to the
        # internet namespace's own addresses: the game server and coturn, not traffic between sites).
        udp = lambda p: p.protocol == 17  # noqa: E731
        with nat_lab.capture(lab.internet, f"s{site_a.index}", keep=udp) as seen_a, \
                nat_lab.capture(lab.internet, f"s{site_b.index}", keep=udp) as seen_b:
            # The standby TURN path is warm once heartbeats come through coturn to both sites.
            for site, seen in ((site_a, seen_a), (site_b, seen_b)):
                found = seen.wait_for(lambda p, site=site: p.dst == site.public and p.sport == turn.port and
                                      relayed_heartbeat(p), 15)
                check(found, f"no heartbeat came through TURN to {site.name}: the standby TURN path is not up")
            progress("the standby TURN path carries heartbeats to both sites")

            stream = Stream(a)
            wait_received(b, a, 10, 10, "the stream")
            progress("the stream of numbered lines flows from A to B")

            times = {}
            times["direct -> turn"], block = cut("phase 1, direct path cut", lambda: lab.block_udp_between(
                site_a, site_b), a, b, "turn")
            # The last datagram that reached B's site on the direct path (A's router drops the rest on the way out).
            last_direct = max(p.time for p in seen_b.packets if p.src == site_a.public and p.dst == site_b.public)
            after_last = b.paths(a.id)[-1]["time"] - last_direct
            progress(f"B moved to TURN {1000 * after_last:.0f} ms after the last direct datagram from A reached its "
                     f"site")
            check(after_last < FAILOVER_BOUND, f"B took {after_last:.2f} s from the last direct datagram to TURN")
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

            times["direct -> turn (again)"], block = cut("phase 2, direct path cut again", lambda: lab.block_udp_between(
                site_a, site_b), a, b, "turn")
            mark = stream.sent
            wait_received(b, a, mark + 10, 10, "the stream over TURN again")
            times["turn -> server-relay"], turn_blocks = cut("phase 2, TURN cut too", lambda: [
                lab.block_turn(site_a), lab.block_turn(site_b)], a, b, "server-relay")
            mark = stream.sent
            wait_received(b, a, mark + 10, 10, "the stream through the game server")

            sent = stream.stop()
            wait_received(b, a, sent, 10, "the end of the stream")
            numbers = [n for n, _ in received(b, a)]
            check(numbers == list(range(1, sent + 1)),
                  f"B got {len(numbers)} of {sent} lines; lost {sorted(set(range(1, sent + 1)) - set(numbers))[:20]}, "
                  f"duplicated or out of order at {[n for i, n in enumerate(numbers) if i and n != numbers[i - 1] + 1][:20]}")
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
    print(f"{'failover':28} {'A ms':>8} {'B ms':>8}")
    for what, elapsed in times.items():
        print(f"{what:28} {1000 * elapsed['a']:8.0f} {1000 * elapsed['b']:8.0f}")
    print(f"{'back to direct (phase 1)':28} {1000 * back['a']:8.0f} {1000 * back['b']:8.0f}")
    print(f"{'back to direct (phase 2)':28} {1000 * back['a (after phase 2)']:8.0f} "
          f"{1000 * back['b (after phase 2)']:8.0f}")
    print(f"{'B: last direct datagram -> turn':28} {'':8} {1000 * after_last:8.0f}")
    print(f"longest gap in the stream at B: {1000 * gaps[0][0]:.0f} ms; lines sent {sent}, received {len(numbers)}")
    print()


if __name__ == "__main__":
    mesh_lab.run(main, os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
