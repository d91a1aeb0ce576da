#!/usr/bin/env python3
"""A LAN party with no server: four network namespaces, each a machine with one veth cable into a fifth that holds
the bridge (the LAN switch), private addresses only, no default route and so no way out. alice hosts with a party
code, bob and carol find her party by multicast and join it with the code, all three chat and every line reaches the
other two (the host relays guests' lines). mallory, with the wrong code, refuses every announcement and never joins.
Then an open party (no code) over broadcast instead of multicast: dave hosts, erin joins by trust on first use.

Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) for the namespaces. Every namespace is removed on every way out: success,
failure, an exception, SIGTERM or SIGINT. Waits only for what the programs print, never a fixed pause.
Usage: lan_party_test.py BUILD_DIR"""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, require, start_typing_client, type_line, wait_for, wait_for_text, work_directory

build = os.path.abspath(sys.argv[1])
party = os.path.join(build, "examples", "lan-party", "eustress-lan-party")
if not os.access(party, os.X_OK):
    fail(f"no {party} (examples not built)")
ip = require("ip")
if os.geteuid() != 0:
    fail("network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN)")
work = work_directory()

PREFIX = f"eulan{os.getpid()}"
SUBNET = "10.77.0"
namespaces = []
processes = []


def run(*command):
    result = subprocess.run([ip, *command], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"ip {' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def our_namespaces():
    listed = subprocess.run([ip, "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(PREFIX + "-")]


def remove_stale_namespaces():
    """Namespaces an earlier run left behind when it was killed outright (SIGKILL): its pid is in the name."""
    listed = subprocess.run([ip, "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        match = re.match(r"eulan(\d+)-\S+", line)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            subprocess.run([ip, "netns", "delete", match.group(0)], capture_output=True)


def clean_up():
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for namespace in reversed(namespaces):
        subprocess.run([ip, "netns", "delete", namespace], capture_output=True)
    namespaces.clear()


def on_signal(number, _frame):
    print(f"lan_party_test: signal {number}, cleaning up", file=sys.stderr)
    sys.exit(1)  # SystemExit: the finally below removes the namespaces


def build_lan(hosts):
    """The switch namespace with a bridge, and one namespace per host (name -> last address byte) cabled to it."""
    switch = f"{PREFIX}-sw"
    run("netns", "add", switch)
    namespaces.append(switch)
    run("-n", switch, "link", "add", "br0", "type", "bridge")
    run("-n", switch, "link", "set", "br0", "up")
    for name, last_byte in hosts.items():
        namespace = f"{PREFIX}-{name}"
        run("netns", "add", namespace)
        namespaces.append(namespace)
        port = f"v{name}"[:15]
        run("-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        run("-n", switch, "link", "set", port, "master", "br0")
        run("-n", switch, "link", "set", port, "up")
        run("-n", namespace, "link", "set", "lo", "up")
        run("-n", namespace, "addr", "add", f"{SUBNET}.{last_byte}/24", "dev", "eth0")
        run("-n", namespace, "link", "set", "eth0", "up")
        # Nothing leaves this LAN: the only route is the subnet's own (no default route, no uplink on the bridge),
        # so no server anywhere could take part.
        routes = run("-n", namespace, "route", "show").strip().splitlines()
        if len(routes) != 1 or not routes[0].startswith(f"{SUBNET}.0/24 dev eth0"):
            fail(f"{namespace} should have only its subnet's route, has {routes}")


def peer(name, last_byte, *arguments):
    process = start_typing_client(
        [ip, "netns", "exec", f"{PREFIX}-{name}", party, "--name", name, "--interface", f"{SUBNET}.{last_byte}",
         *arguments], f"{name}.out")
    processes.append(process)
    return process


def output(name):
    with open(f"{name}.out", errors="replace") as text:
        return text.read()


def leave(name, process, expect):
    """Ends a peer's input; it must leave cleanly, saying `expect`."""
    process.stdin.close()
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fail(f"{name} did not exit after its input ended")
    if code != 0:
        fail(f"{name} exited with {code}:\n{output(name)}")
    wait_for_text(f"{name}.out", expect, 5)


def discovery_ms(name):
    found = re.search(r"found party .* after ([0-9.]+) ms", output(name))
    return float(found.group(1)) if found else None


def coded_party_over_multicast():
    alice = peer("alice", 11, "--host", "--party", "Friday", "--code", "tangerine")
    wait_for_text("alice.out", "hosting party Friday", 60)
    bob = peer("bob", 12, "--code", "tangerine")
    carol = peer("carol", 13, "--code", "tangerine")
    mallory = peer("mallory", 66, "--code", "clementine")
    for guest in ("bob", "carol"):
        wait_for_text(f"{guest}.out", "joined party Friday hosted by alice", 60)
        wait_for_text("alice.out", f"* {guest} joined", 30)
    wait_for_text("mallory.out", "refused an announcement of party Friday from 10.77.0.11:47777: wrong party code",
                  30)

    chatters = {"alice": alice, "bob": bob, "carol": carol}
    for name, process in chatters.items():
        type_line(process, f"hello from {name}")
    for reader in chatters:
        for writer in chatters:
            if reader != writer:
                wait_for_text(f"{reader}.out", f"{writer}: hello from {writer}", 30)

    # Every announcement mallory heard while the others chatted was refused; it never found or joined a party.
    if "found party" in output("mallory") or "joined" in output("mallory") or mallory.poll() is not None:
        fail("mallory (wrong code) must refuse the party and keep waiting:\n" + output("mallory"))
    if "mallory" in output("alice"):
        fail("the host must never see mallory:\n" + output("alice"))
    timings = {name: discovery_ms(name) for name in ("bob", "carol")}
    print(f"ok: bob and carol found the party in {timings['bob']} and {timings['carol']} ms (query to answer)")

    leave("bob", bob, "left party Friday")
    wait_for_text("alice.out", "* bob left", 30)
    wait_for_text("carol.out", "* bob left", 30)
    leave("carol", carol, "left party Friday")
    leave("alice", alice, "party Friday ended")
    leave("mallory", mallory, "refused")
    print("ok: a party with a code over multicast: three peers chat, the wrong code never joins")


def open_party_over_broadcast():
    dave = peer("dave", 21, "--host", "--party", "Open house", "--broadcast", f"{SUBNET}.255", "--discovery-port",
                "47778")
    wait_for_text("dave.out", "hosting party Open house", 30)
    erin = peer("erin", 22, "--broadcast", f"{SUBNET}.255", "--discovery-port", "47778", "--trust", "erin.trust")
    wait_for_text("erin.out", "joined party Open house hosted by dave", 30)
    wait_for_text("dave.out", "* erin joined", 30)
    type_line(erin, "hello from erin")
    wait_for_text("dave.out", "erin: hello from erin", 30)
    pin = re.search(r"hosting party Open house as dave on port \d+ \(pin (\S+),", output("dave")).group(1)
    with open("erin.trust") as trusted:
        if f"{pin} Open house" not in trusted.read():
            fail("erin should have trusted the open party's key on first use")
    leave("erin", erin, "left party Open house")
    leave("dave", dave, "party Open house ended")
    print("ok: an open party over broadcast, joined by trust on first use (the key kept in erin's trust file)")


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGHUP, on_signal)
remove_stale_namespaces()
try:
    build_lan({"alice": 11, "bob": 12, "carol": 13, "mallory": 66, "dave": 21, "erin": 22})
    coded_party_over_multicast()
    open_party_over_broadcast()
finally:
    clean_up()
    left = our_namespaces()
    if left:
        print(f"FAIL: namespaces left behind: {left}", file=sys.stderr)
        sys.exit(1)
print("ok: no namespace left behind")
