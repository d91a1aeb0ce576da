#!/usr/bin/env python3
"""A player whose network lets UDP through only to the game server (nat_lab.block_all_udp_except: no STUN, no TURN,
no other site) still reaches the other players, through the game server's relay, while the two others reach each
other directly. Three eustress-peer processes behind a full-cone, a port-restricted and an address-restricted NAT
(the last one locked down before any peer starts); every pair chats both ways; each peer's /status must show
direct between the two open sites and server-relay to the locked one, and no path to the locked peer may ever leave
the server relay, including across its failed ICE attempts and restarts (watched for 3 s after the chat).
Needs root. Usage: p2p_udp_blocked_test.py BUILD_DIR"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

WATCH = 3.0  # seconds the locked peer's paths are watched after the chat: longer than an ICE restart interval (2 s)


def main(build):
    with nat_lab.Lab() as lab:
        site_a = lab.add_site("cone", "full_cone")
        site_b = lab.add_site("port", "port_restricted")
        site_c = lab.add_site("locked", "address_restricted")
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, [site_a, site_b, site_c])
        server = mesh_lab.MeshServer(lab, build, "game", turn)
        lab.block_all_udp_except(site_c, server.host, server.port)
        probe = nat_lab.udp_socket(site_c.host.ns)
        try:
            check(not any(nat_lab.binding(probe, (address, turn.port), timeout=0.5) for address in turn.addresses),
                  "the locked site still reaches coturn")
        finally:
            probe.close()
        progress(f"site {site_c.name}: UDP only to the game server {server.address} (coturn does not answer)")

        a = mesh_lab.Peer(build, site_a.host, server, "a")
        b = mesh_lab.Peer(build, site_b.host, server, "b")
        c = mesh_lab.Peer(build, site_c.host, server, "c-locked")
        peers = (a, b, c)
        for peer in peers:
            peer.wait_joined()
        for me, other in ((a, b), (b, a)):
            me.wait_path(other.id, {"direct"}, 20)
        for me in peers:
            for other in peers:
                if other is not me:
                    me.wait_session(other.id, 20)
        progress(f"A ({a.id}) and B ({b.id}) are direct; the locked C ({c.id}) has sessions with both")

        for me in peers:
            me.type(f"hello from {me.name}")
        for me in peers:
            for other in peers:
                if other is not me:
                    me.wait_chat(other.id, f"hello from {other.name}", 10)
        progress("every peer got every other peer's line")
        watch_from = {peer: peer.output.count() for peer in peers}
        watched = time.monotonic()

        expected = {(a, b): "direct", (b, a): "direct", (a, c): "server-relay", (c, a): "server-relay",
                    (b, c): "server-relay", (c, b): "server-relay"}
        mesh_lab.wait_until(lambda: time.monotonic() - watched >= WATCH, WATCH + 1, "the watch window")
        for me in peers:
            rows = me.status(2)
            for other in peers:
                if other is me:
                    continue
                want = expected[me, other]
                check(rows[other.id]["path"] == want and rows[other.id]["session"] == "up",
                      f"{me.name} to {other.name}: {rows[other.id]}, expected {want} and up")
                changes = [(e["from"], e["to"]) for e in me.paths(other.id)]
                if want == "server-relay":
                    check(changes == [("none", "server-relay")],
                          f"{me.name}'s path to {other.name} left the server relay: {changes}")
        for me in peers:
            for other in peers:
                if other is not me:
                    check(not me.paths(other.id, watch_from[me]) or (me, other) in ((a, b), (b, a)),
                          f"{me.name}'s path to {other.name} changed while watched")
        mesh_lab.chat_both_ways(a, c, "again after the watch")
        mesh_lab.chat_both_ways(b, c, "again after the watch")
        progress(f"after {WATCH:.0f} s of C's failing ICE: A-B direct, A-C and B-C through the server relay, "
                 "chat still crosses")
    print()
    print(f"{'pair':12} {'path':14}")
    for (me, other), want in expected.items():
        if me.name < other.name:
            print(f"{me.name + '-' + other.name:12} {want:14}")
    print()


if __name__ == "__main__":
    mesh_lab.run(main, os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
