#!/usr/bin/env python3
"""End-to-end encryption seen from the wire: what the relays carry never holds the players' plaintext.
Two eustress-peer processes behind two symmetric NATs must go through TURN (coturn in the NAT lab); two more on the
same LANs, started with --no-direct, go through their game server's relay. While every peer chats lines holding a
random marker (and one long line full of it, so fragments would show it too), a capture on the internet bridge
records every datagram to and from coturn and the game servers. The marker must appear in the receivers' output
(it was sent and arrived) and in no captured datagram; the capture must hold relayed TURN data (ChannelData or Data
indications carrying more than our 7-byte heartbeats) and game-server traffic from both sites, so it did see the
relayed paths; and a plaintext control datagram sent to coturn must show up in it, so it would have seen the marker.
Needs root. Usage: p2p_e2e_test.py BUILD_DIR"""
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

LINES = 20


def turn_data(packet):
    """The application bytes a datagram between a peer and coturn relays (ChannelData, or the DATA of a Send or Data
    indication), or None for TURN's own messages."""
    data = packet.payload
    if len(data) >= 4 and 0x40 <= data[0] <= 0x7F:
        return data[4:4 + int.from_bytes(data[2:4], "big")]
    parsed = nat_lab.stun_parse(data)
    return parsed[3].get(nat_lab.ATTR["DATA"]) if parsed else None


def chat(sender, receivers, marker, label):
    """LINES short lines and one long one, each holding the marker, from `sender` to every receiver."""
    texts = [f"{label} {i} {marker}" for i in range(LINES)] + [f"{label} long " + " ".join([marker] * 40)]
    for text in texts:
        sender.type(text)
    for receiver in receivers:
        for text in texts:
            receiver.wait_chat(sender.id, text, 15)


def main(build):
    with nat_lab.Lab() as lab:
        sym1 = lab.add_site("sym1", "symmetric")
        sym2 = lab.add_site("sym2", "symmetric")
        relay_hosts = (lab.add_host(sym1), lab.add_host(sym2))
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, [sym1, sym2])
        game = mesh_lab.MeshServer(lab, build, "game", turn)
        relay_game = mesh_lab.MeshServer(lab, build, "relay-game")
        a = mesh_lab.Peer(build, sym1.host, game, "a-turn")
        b = mesh_lab.Peer(build, sym2.host, game, "b-turn")
        c = mesh_lab.Peer(build, relay_hosts[0], relay_game, "c-relay", ["--no-direct"])
        d = mesh_lab.Peer(build, relay_hosts[1], relay_game, "d-relay", ["--no-direct"])
        for peer in (a, b, c, d):
            peer.wait_joined()
        for me, other, path in ((a, b, "turn"), (b, a, "turn"), (c, d, "server-relay"), (d, c, "server-relay")):
            me.wait_path(other.id, {path}, 20)
            me.wait_session(other.id, 20)
        progress("A-B (symmetric x symmetric) are on TURN, C-D (--no-direct) on the server relay")

        marker = "e2e-" + secrets.token_hex(12)
        control = b"plaintext-control-" + secrets.token_hex(8).encode()
        coturn = (mesh_lab.COTURN_ADDRESS, turn.port)
        servers = {(game.host, game.port), (relay_game.host, relay_game.port)}
        on_relays = lambda p: p.protocol == 17 and ((p.src, p.sport) in servers | {coturn} or  # noqa: E731
                                                   (p.dst, p.dport) in servers | {coturn} or
                                                   p.src in turn.addresses or p.dst in turn.addresses)
        with nat_lab.capture(lab.internet, "br0", keep=on_relays) as seen:
            probe = nat_lab.udp_socket(sym1.host.ns)
            try:
                probe.sendto(control, coturn)
            finally:
                probe.close()
            chat(a, [b], marker, "turn a")
            chat(b, [a], marker, "turn b")
            chat(c, [d], marker, "relay c")
            chat(d, [c], marker, "relay d")
            for me, other, path in ((a, b, "turn"), (b, a, "turn"), (c, d, "server-relay"), (d, c, "server-relay")):
                row = me.status(1)[other.id]
                check(row["path"] == path, f"{me.name} chatted to {other.name} over {row['path']}, not {path}")
            check(seen.wait_for(lambda p: control in p.payload, 5), "the capture did not see a plaintext datagram "
                                                                  "sent to coturn: it would not see the marker either")
        packets = seen.packets
        relayed = [p for p in packets if (p.dport == turn.port or p.sport == turn.port)
                   and len(turn_data(p) or b"") > 7]
        relayed_from = {p.src for p in relayed if p.dport == turn.port}
        relayed_to = {p.dst for p in relayed if p.sport == turn.port}
        relay_traffic = [p for p in packets if (p.dst, p.dport) == (relay_game.host, relay_game.port) or
                         (p.src, p.sport) == (relay_game.host, relay_game.port)]
        relay_from = {p.src for p in relay_traffic if p.dport == relay_game.port}
        check({sym1.public, sym2.public} <= relayed_from and {sym1.public, sym2.public} <= relayed_to,
              f"the capture holds relayed TURN data from {relayed_from} and to {relayed_to}, not both sites")
        check({sym1.public, sym2.public} <= relay_from,
              f"the capture holds game-server relay traffic only from {relay_from}")
        found = [p for p in packets if marker.encode() in p.payload]
        check(not found, f"the marker crossed the wire in plaintext: {found[:3]}")
        progress(f"captured {len(packets)} datagrams: {len(relayed)} carrying relayed TURN data between both sites "
                 f"and coturn, {len(relay_traffic)} to or from the relaying game server; the marker in none of them, "
                 f"the plaintext control datagram seen")
    print()
    print(f"{'path':14} {'datagrams captured':>20} {'marker found':>14}")
    print(f"{'turn':14} {len(relayed):20} {'no':>14}")
    print(f"{'server-relay':14} {len(relay_traffic):20} {'no':>14}")
    print()


if __name__ == "__main__":
    mesh_lab.run(main, os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
