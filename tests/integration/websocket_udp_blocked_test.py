#!/usr/bin/env python3
"""A player whose network drops all UDP (nftables in its site's router, nat_lab.block_all_udp) still plays: the native
eustress-client, given the server's UDP address and its WebSocket URL, gets no answer over UDP, falls back to QUIC
over WebSocket and is playing within 3 s of starting, says so ("connected as client N over websocket"), and chats
both ways with a player on an open site who connected over UDP. A client given only the UDP address first proves the
block: it never gets in. The server counts one WebSocket upgrade and no refusal. Needs root.
Usage: websocket_udp_blocked_test.py BUILD_DIR"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402
from mesh_lab import Failure, check, progress  # noqa: E402

SERVER_ADDRESS = nat_lab.INTERNET_ADDRESSES[0]
FALLBACK_BOUND = 3.0  # seconds from start to playing over WebSocket (issue 16's target)


class Program(mesh_lab.Process):
    """An app in a namespace with its output read line by line, stamped on arrival (mesh_lab.Output)."""

    def __init__(self, ns, argv, name, stdin=None):
        self.name = name
        self.started = time.monotonic()
        self.process = nat_lab.popen(ns, argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        harness._processes.append(self.process)
        mesh_lab._everything.append(self)
        self.output = mesh_lab.Output(name, self.process.stdout, f"{name}.out")

    def type(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()


def start_server(lab, build):
    argv = [f"{build}/apps/eustress-server", "--no-http", "--bind", SERVER_ADDRESS, "-p", "0", "--websocket", "0",
            "--dev-cert-dir", os.path.join(lab.work, "cert")]
    server = Program(lab.internet, argv, "server")
    _, _, banner = server.output.wait(r"listening on (\S+):(\d+) pin (\S+)", 20, "the server's banner")
    _, _, websocket = server.output.wait(r"^websocket on \S+ port (\d+)", 5, "the server's WebSocket port")
    server.udp = f"{banner.group(1)}:{banner.group(2)}"
    server.pin = banner.group(3)
    server.url = f"ws://{SERVER_ADDRESS}:{websocket.group(1)}/"
    return server


def client(build, host, server, name, websocket=True):
    argv = [f"{build}/apps/eustress-client", "--server", server.udp, "--pin", server.pin]
    if websocket:
        argv += ["--websocket", server.url]
    return Program(host.ns, argv, name, stdin=subprocess.PIPE)


def main(build):
    with nat_lab.Lab() as lab:
        locked = lab.add_site("locked", "port_restricted")
        open_site = lab.add_site("open", "port_restricted")
        server = start_server(lab, build)
        lab.block_all_udp(locked)
        progress(f"server {server.udp} (UDP) and {server.url}; site {locked.name} drops all UDP")

        udp_only = client(build, locked.host, server, "udp-only", websocket=False)
        # two handshakes of 5 s each (ReconnectPolicy::first_connection_attempts), then it gives up
        _, _, gone = udp_only.output.wait(r"^disconnected: (.*)", 15, "the UDP-only client to give up")
        check(udp_only.output.find(r"^connected as") == [], "a UDP-only client got in through the block")
        progress(f"a UDP-only client on the locked site never gets in ({gone.group(1)})")

        player = client(build, open_site.host, server, "open-player")
        _, _, found = player.output.wait(r"^connected as client (\d+) over (\S+)", 10, "the open player")
        check(found.group(2) == "udp", f"the open site's player connected over {found.group(2)}, not udp")
        open_id = found.group(1)

        locked_player = client(build, locked.host, server, "locked-player")
        _, stamp, found = locked_player.output.wait(r"^connected as client (\d+) over (\S+)", 10,
                                                    "the locked player")
        took = stamp - locked_player.started
        check(found.group(2) == "websocket", f"the locked player connected over {found.group(2)}")
        check(took < FALLBACK_BOUND, f"the locked player took {took:.2f} s to play (bound {FALLBACK_BOUND} s)")
        progress(f"the locked player plays over WebSocket {took * 1000:.0f} ms after it started")
        locked_id = found.group(1)

        locked_player.type("hello from behind the firewall")
        player.output.wait(rf"^\[client {locked_id}\] hello from behind the firewall$", 10, "the locked player's line")
        player.type("hello over UDP")
        locked_player.output.wait(rf"^\[client {open_id}\] hello over UDP$", 10, "the open player's line")
        progress("chat crosses both ways between WebSocket and UDP players")

        for program in (locked_player, player):
            program.process.stdin.close()
        mesh_lab.stop_all([locked_player, player], 5)
        server.stop()
        _, _, totals = server.output.wait(r"^websocket: upgrades (\d+), open \d+, refused:(.*)", 5,
                                          "the server's WebSocket totals")
        check(totals.group(1) == "1", f"the server counted {totals.group(1)} WebSocket upgrades, not 1")
        refused = dict(re.findall(r"(\w+) (\d+)", totals.group(2)))
        check(all(count == "0" for reason, count in refused.items() if reason not in ("idle_timeout",)),
              f"refusals on a clean run: {refused}")
        print(f"\nfallback to WebSocket: playing {took * 1000:.0f} ms after start (bound {FALLBACK_BOUND * 1000:.0f})\n")


def run(build):
    if os.geteuid() != 0:
        harness.fail("this test needs root: the NAT lab creates network namespaces")
    for program in ("ip", "nft", "sysctl"):
        harness.require(program)
    for program in ("eustress-server", "eustress-client"):
        if not os.access(f"{build}/apps/{program}", os.X_OK):
            harness.fail(f"{build}/apps/{program} is not built")
    nat_lab.cleanup_stale()
    harness.work_directory()
    try:
        main(build)
    except (Failure, nat_lab.LabError, AssertionError) as error:
        for process in mesh_lab._everything:
            print(f"--- {process.name} (last lines)", file=sys.stderr)
            for line in process.output.tail():
                print("    " + line, file=sys.stderr)
        harness.fail(str(error))
    finally:
        mesh_lab.stop_all(list(reversed(mesh_lab._everything)), 2)
    progress("PASS")


if __name__ == "__main__":
    run(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
