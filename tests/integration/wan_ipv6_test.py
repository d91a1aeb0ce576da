#!/usr/bin/env python3
"""IPv6 across the emulated WAN (issue 18 section 5): a real eustress-server bound to the IPv6 wildcard (dual-stack)
in namespace B, and two eustress-client processes in A, one reaching it at fd77::2 and one at 10.77.0.2, chatting
through it across the delay line (tests/integration/wan_lab.py with ipv6=True). Checked from outside: each client
hears the other's line through the server, A's kernel counted UDP datagrams sent over IPv6 and over IPv4, and the
line moved packets both ways. The lab is removed even when a check fails. Needs root.
Usage: wan_ipv6_test.py BUILD_DIR"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, start, start_typing_client, type_line, wait_for_text, wait_line, work_directory  # noqa
import nat_lab  # noqa: E402
import wan_lab  # noqa: E402

PORT = 7777


def udp_datagrams_sent(ns):
    """A's kernel counters: (UDP over IPv4, UDP over IPv6) datagrams sent from the namespace."""
    snmp = nat_lab.run(ns, ["cat", "/proc/net/snmp"]).stdout.splitlines()
    names, values = [line.split() for line in snmp if line.startswith("Udp:")][:2]
    snmp6 = dict(line.split() for line in nat_lab.run(ns, ["cat", "/proc/net/snmp6"]).stdout.splitlines() if line)
    return int(values[names.index("OutDatagrams")]), int(snmp6["Udp6OutDatagrams"])


def main():
    build = sys.argv[1]
    work_directory()
    with nat_lab.Lab() as lab:
        wan = wan_lab.Wan(lab, build, both="delay=20ms", ipv6=True)
        start(["ip", "netns", "exec", wan.b, f"{build}/apps/eustress-server", "--bind", "::", "--port", str(PORT),
               "--no-http", "--duration", "60", "--dev-cert-dir", "certs"], "server.out")
        listening = wait_line("server.out", r"listening on (\S+) pin (\S+)", 15, "the server's banner")
        if not listening.group(1).startswith("[::]"):
            fail(f"the server is not on the IPv6 wildcard: {listening.group(1)}")
        pin = listening.group(2)
        before = udp_datagrams_sent(wan.a)
        clients = {}
        for name, address in (("six", f"[{wan.b6_address}]:{PORT}"), ("four", f"{wan.b_address}:{PORT}")):
            clients[name] = start_typing_client(["ip", "netns", "exec", wan.a, f"{build}/apps/eustress-client",
                                                 "-s", address, "--pin", pin], f"{name}.out")
            wait_for_text(f"{name}.out", "connected as client", 15, f"the {name} client to connect")
        type_line(clients["six"], "hello over IPv6")
        wait_for_text("four.out", "hello over IPv6", 10, "the IPv4 client to hear the IPv6 one")
        type_line(clients["four"], "hello over IPv4")
        wait_for_text("six.out", "hello over IPv4", 10, "the IPv6 client to hear the IPv4 one")
        after = udp_datagrams_sent(wan.a)
        sent_v4, sent_v6 = after[0] - before[0], after[1] - before[1]
        print(f"UDP datagrams sent from A: {sent_v4} over IPv4, {sent_v6} over IPv6")
        if sent_v4 < 3 or sent_v6 < 3:
            fail(f"the clients did not use both versions ({sent_v4} over IPv4, {sent_v6} over IPv6)")
        line = wan.stats()
        print(f"the line moved {line['a2b']['delivered']} packets A to B, {line['b2a']['delivered']} B to A")
        if line["a2b"]["delivered"] < sent_v4 + sent_v6:
            fail(f"fewer packets crossed the line ({line['a2b']['delivered']}) than A sent ({sent_v4 + sent_v6})")
        for client in clients.values():
            client.stdin.close()
            client.wait(timeout=10)
            if client.returncode != 0:
                fail(f"a client exited with {client.returncode}")
        peers = re.findall(r"client \d+ connected", open("server.out").read())
        if len(peers) != 2:
            fail(f"the server saw {len(peers)} clients connect, not 2")
    print("IPv6 across the WAN: a dual-stack server, one client over each version, chatting through it")


if __name__ == "__main__":
    main()
