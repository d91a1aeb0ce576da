#!/usr/bin/env python3
"""Strangers who learn a peer's ICE ports get nothing from them. Two eustress-peer processes, one on a public host
and one behind a full-cone NAT, are direct. Their UDP ports are read with `ss` inside their namespaces (host
candidates; the full cone's mappings of them, its server-reflexive candidates, from the router's `cone` map). Then
strangers send STUN Binding requests to every one of those ports: a stranger behind another NAT to the public host
and to the full cone's mappings, and a neighbour on the full cone's own LAN to the peer's host addresses. Each
request is sent as an ICE connectivity check with made-up credentials (USERNAME, PRIORITY, ICE-CONTROLLING,
USE-CANDIDATE, MESSAGE-INTEGRITY with a made-up key, FINGERPRINT), and as a bare Binding request. A capture inside
each target's namespace shows every request arrived; no STUN success response may come back. The peers must still
be direct and chat afterwards. Last, a neighbour sprays datagrams shaped like the mesh's heartbeats at the peer's
ports while the direct path is cut: the peers must still fail over to TURN within a second (a stranger cannot keep
a dead path alive). Needs root. Usage: p2p_stranger_checks_test.py BUILD_DIR"""
import os
import re
import secrets
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import check, progress  # noqa: E402

PRIORITY, USE_CANDIDATE, ICE_CONTROLLING = 0x0024, 0x0025, 0x802A
SUCCESS, ERROR = 2, 3


def udp_ports(peer):
    """The ports of the peer process's UDP sockets, from `ss` inside its namespace."""
    listing = nat_lab.run(peer.host.ns, [harness.require("ss"), "-H", "-u", "-a", "-n", "-p"]).stdout
    ports = set()
    for line in listing.splitlines():
        if f"pid={peer.process.pid}," in line:
            local = line.split()[3]
            ports.add(int(local.rsplit(":", 1)[1]))
    check(ports, f"ss shows no UDP socket of {peer.name} (pid {peer.process.pid}):\n{listing}")
    return sorted(ports)


def cone_mappings(site, host, ports):
    """{external port: internal port} of the full-cone router's map entries for `host`'s `ports`."""
    listing = nat_lab.run(site.router, ["nft", "list", "map", "ip", "nat_lab", "cone"]).stdout
    found = {}
    entries = re.findall(r"(\d+)(?: timeout \S+)?(?: expires \S+)? : ([\d.]+) \. (\d+)", listing)
    for external, address, internal in entries:
        if address == host.address and int(internal) in ports:
            found[int(external)] = int(internal)
    return found


def stranger_requests():
    """(kind, message) pairs: an ICE check with made-up credentials, and a bare Binding request."""
    username = f"{secrets.token_hex(4)}:{secrets.token_hex(4)}".encode()
    check_attributes = [(nat_lab.ATTR["USERNAME"], username), (PRIORITY, struct.pack("!I", 0x6E0001FF)),
                        (ICE_CONTROLLING, secrets.token_bytes(8)), (USE_CANDIDATE, b"")]
    return [("ice check, made-up credentials",
             lambda: nat_lab.stun_message(nat_lab.BINDING, check_attributes, key=secrets.token_bytes(16))),
            ("bare binding request", lambda: nat_lab.stun_message(nat_lab.BINDING))]


def probe(sock, targets, rounds=3, interval=0.2, linger=0.8):
    """Sends every kind of request to every target (address, port), `rounds` times; returns {(target, kind):
    [response classes and error codes]} for the responses whose transaction matches."""
    sent, answers = {}, {}
    for _ in range(rounds):
        for target in targets:
            for kind, make in stranger_requests():
                message = make()
                sent[message[8:20]] = (target, kind)
                answers.setdefault((target, kind), [])
                sock.sendto(message, target)
        time.sleep(interval)  # STUN's retransmission pacing, not a wait for an event
    deadline = time.monotonic() + linger
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, source = sock.recvfrom(65535)
        except socket.timeout:
            break
        parsed = nat_lab.stun_parse(data)
        if parsed and parsed[2] in sent:
            error = parsed[3].get(nat_lab.ATTR["ERROR"], b"")
            code = (error[2] & 7) * 100 + error[3] if len(error) >= 4 else None
            answers[sent[parsed[2]]].append((parsed[1], code))
    return answers


def describe(responses):
    if not responses:
        return "no answer"
    return ", ".join(sorted({("SUCCESS" if cls == SUCCESS else f"error {code}") for cls, code in responses}))


def attack(stranger_host, target_ns, targets, label):
    """Probes `targets` from a socket in `stranger_host`'s namespace, with a capture in the target's namespace
    proving the requests arrived. Returns rows for the summary."""
    sock = nat_lab.udp_socket(stranger_host.ns)
    target_ports = {port for _, port in targets}
    try:
        with nat_lab.capture(target_ns, "eth0", keep=lambda p: p.protocol == 17 and p.direction == "in" and
                             p.dport is not None and nat_lab.stun_parse(p.payload) is not None) as seen:
            answers = probe(sock, targets)
            arrived = {p.dport for p in seen.packets}
    finally:
        sock.close()
    rows = []
    for (target, kind), responses in sorted(answers.items()):
        rows.append((label, f"{target[0]}:{target[1]}", kind, describe(responses)))
        check(not any(cls == SUCCESS for cls, _ in responses),
              f"{label}: {target[0]}:{target[1]} answered a stranger's {kind} with a STUN success")
    # Behind the full cone the router forwards to the LAN host, so the capture sees the internal ports.
    return rows, arrived, target_ports


class Sprayer:
    """Datagrams shaped like the mesh's heartbeat pings (0x00 0x45 0x01 + 4-byte sequence) sent every 10 ms from a
    neighbour to each of `targets`, until stopped."""

    def __init__(self, host, targets):
        self.sock, self.targets, self.sent = nat_lab.udp_socket(host.ns), targets, 0
        self._running = True
        self._thread = threading.Thread(target=self._run, name="sprayer", daemon=True)
        self._thread.start()

    def _run(self):
        sequence = 0
        while self._running:
            sequence += 1
            for target in self.targets:
                self.sock.sendto(b"\x00\x45\x01" + struct.pack("<I", sequence), target)
                self.sock.sendto(b"\x00\x45\x02" + struct.pack("<I", sequence), target)
                self.sent += 2
            time.sleep(0.01)  # the spray's pace

    def stop(self):
        self._running = False
        self._thread.join()
        self.sock.close()


def main(build):
    with nat_lab.Lab() as lab:
        public = lab.add_site("pub", "none")
        cone = lab.add_site("cone", "full_cone")
        far = lab.add_site("far", "port_restricted")
        neighbour = lab.add_host(cone)
        turn = lab.start_coturn()
        mesh_lab.check_sites(lab, [public, cone, far])
        server = mesh_lab.MeshServer(lab, build, "game", turn)
        a, b = mesh_lab.direct_pair(build, server, public.host, cone.host, "a-public", "b-cone")
        progress(f"A (public host) and B (full cone) are direct")

        a_ports, b_ports = udp_ports(a), udp_ports(b)
        b_mapped = cone_mappings(cone, cone.host, b_ports)
        check(b_mapped, f"the full cone's map holds no mapping of B's ports {b_ports}")
        progress(f"A's UDP ports {a_ports}; B's {b_ports}, mapped by the full cone to {sorted(b_mapped)}")

        rows = []
        for stranger, target_ns, targets, label, expected_ports in (
                (far.host, public.host.ns, [(public.host.address, p) for p in a_ports], "far -> A (host)",
                 set(a_ports)),
                (far.host, cone.host.ns, [(cone.public, p) for p in b_mapped], "far -> B (srflx)",
                 set(b_mapped.values())),
                (neighbour, cone.host.ns, [(cone.host.address, p) for p in b_ports], "neighbour -> B (host)",
                 set(b_ports))):
            found, arrived, _ = attack(stranger, target_ns, targets, label)
            check(expected_ports <= arrived, f"{label}: the capture saw requests arrive at ports {sorted(arrived)}, "
                                             f"not at every one of {sorted(expected_ports)}")
            rows += found
            progress(f"{label}: {len(targets)} ports, every request arrived, no success came back")

        for me, other in ((a, b), (b, a)):
            check(me.status(1)[other.id]["path"] == "direct", f"{me.name} left the direct path under the probes")
        mesh_lab.chat_both_ways(a, b, "still talking after the strangers")
        progress("A and B are still direct and chat")

        # A neighbour sprays heartbeat-shaped datagrams at B's host ports while A-B's direct path is cut: B must
        # still find it dead and move to TURN (libnice hands on only datagrams from the selected pair).
        start = {p: p.output.count() for p in (a, b)}
        sprayer = Sprayer(neighbour, [(cone.host.address, p) for p in b_ports])
        try:
            mesh_lab.wait_until(lambda: sprayer.sent >= 20, 5, "the spray to start")
            began = time.monotonic()
            lab.block_udp_between(public, cone)
            moved = {me.name: me.wait_path(other.id, {"turn"}, 5, start[me])["time"] - began
                     for me, other in ((a, b), (b, a))}
        finally:
            sprayer.stop()
        for name, elapsed in moved.items():
            check(elapsed < 1.0, f"{name} took {elapsed:.2f} s to leave the cut direct path under the spray")
        progress(f"with {sprayer.sent} heartbeat-shaped datagrams sprayed at B, the cut still moved A to TURN in "
                 f"{1000 * moved[a.name]:.0f} ms and B in {1000 * moved[b.name]:.0f} ms")

    print()
    print(f"{'stranger -> target':24} {'port':22} {'request':32} answer")
    for row in rows:
        print(f"{row[0]:24} {row[1]:22} {row[2]:32} {row[3]}")
    print()


if __name__ == "__main__":
    mesh_lab.run(main, os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
