#!/usr/bin/env python3
"""The NAT lab (nat_lab.py) checks itself before the P2P tests rely on it: one site of each kind behind coturn; every
router classified by RFC 5780 probing and compared with what its kind must show (three hosts share one LAN); direct
paths exactly where expected between every two kinds and two port-restricted sites (only symmetric against
port-restricted or symmetric needs TURN); a TURN relay between two sites; the blocking helpers dropping what they say
and nothing once removed; no route out of the lab and nothing attached to the root namespace; no namespace left
afterwards, after a lab process got SIGTERM, or (with cleanup_stale) after one got SIGKILL. Needs root.
Usage: nat_lab_selftest_test.py BUILD_DIR (the build is not used: the lab is pure Python)"""
import concurrent.futures
import glob
import ipaddress
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail, require  # noqa: E402
import nat_lab  # noqa: E402

began = time.monotonic()


def progress(message):
    print(f"[{time.monotonic() - began:5.1f}s] {message}", flush=True)


def root_links():
    """The root namespace's interfaces (name, kind): the lab must never add one."""
    links = json.loads(subprocess.run(["ip", "-j", "-d", "link"], capture_output=True, text=True, check=True).stdout)
    return sorted((link["ifname"], link.get("linkinfo", {}).get("info_kind", "")) for link in links)


def lab_namespaces(prefix):
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[0] for line in listed.splitlines() if line.startswith(prefix))


def check_no_route_out(lab):
    """Only lab addresses are reachable: LAN hosts route by default to their router, which (like the internet
    namespace) has no default route at all."""
    lab_ranges = [ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("10.0.0.0/8")]
    for ns in lab.namespaces:
        routes = json.loads(nat_lab.run(ns, ["ip", "-j", "route"]).stdout)
        for route in routes:
            if route["dst"] == "default":
                site = next((s for s in lab.sites if any(h.ns == ns for h in s.hosts)), None)
                if not site or not site.router or route.get("gateway") != f"10.{site.index}.0.1":
                    fail(f"{ns} has a default route that does not lead to its own router: {route}")
            elif not any(ipaddress.ip_network(route["dst"]).subnet_of(r) for r in lab_ranges):
                fail(f"{ns} has a route outside the lab's ranges: {route}")
        if ns == lab.internet or any(ns == s.router for s in lab.sites):
            if nat_lab.run(ns, ["ip", "route", "get", "192.0.2.1"], check=False).returncode == 0:
                fail(f"{ns} has a route to 192.0.2.1, outside the lab")


def check_secret_private(lab, turn):
    with open(f"/proc/{turn.process.pid}/cmdline", "rb") as cmdline:
        if turn.secret.encode() in cmdline.read():
            fail("the TURN secret is on turnserver's command line")
    modes = {path: os.stat(path).st_mode & 0o777 for path in (lab.work, os.path.join(lab.work, "turnserver.conf"))}
    if list(modes.values()) != [0o700, 0o600]:
        fail(f"the TURN secret's file or directory is not private: {modes}")


def classify_all(lab, hosts):
    """Every host's classification, in parallel (natdiscovery waits out its timeouts). On an interruption the pool
    is not waited for: the lab's close() ends the natdiscovery processes."""
    pool = concurrent.futures.ThreadPoolExecutor(len(hosts))
    try:
        found = pool.map(lambda host: lab.classify(host.site, host), hosts)
        return dict(zip((host.ns for host in hosts), found))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def check_direct_paths(turn, pairs):
    """ICE-style punching connects exactly where expected_direct() says it does."""
    for a, b in pairs:
        direct = nat_lab.punch(turn, a.host, b.host)
        if direct != nat_lab.expected_direct(a.nat, b.nat):
            fail(f"{a.nat} x {b.nat}: punching {'connected' if direct else 'failed'}, expected the opposite")
        progress(f"{a.nat:18} x {b.nat:18} {'direct' if direct else 'needs TURN'}")


def check_relay(lab, turn, client_site, peer_site):
    """A TURN allocation from behind a NAT relays to and from a public peer (coturn must not deny 203.0.113.x),
    and the capture on the internet bridge sees the relayed datagram."""
    client_socket = nat_lab.udp_socket(client_site.host.ns)
    peer = nat_lab.udp_socket(peer_site.host.ns)
    peer.settimeout(3)
    try:
        with nat_lab.capture(lab.internet, "br0", keep=lambda p: p.protocol == 17) as seen:
            client = nat_lab.TurnClient(client_socket, turn, "selftest")
            relayed = client.allocate()
            client.permit(peer_site.host.address)
            client.send((peer_site.host.address, peer.getsockname()[1]), b"relay me")
            data, source = peer.recvfrom(2048)
            if data != b"relay me" or source != relayed:
                fail(f"the peer got {data!r} from {source}, expected b'relay me' from the relay {relayed}")
            peer.sendto(b"and back", relayed)
            back = client.receive(3)
            if not back or back[1] != b"and back":
                fail(f"the TURN client got {back!r} back through the relay, expected b'and back'")
            if not seen.wait_for(lambda p: p.payload == b"relay me" and (p.src, p.sport) == relayed, 2):
                fail("the capture on the internet bridge did not see the relayed datagram")
        return relayed
    finally:
        client_socket.close()
        peer.close()


class Path:
    """A UDP path from a sender in one site to a receiver's NAT mapping in another (learnt from coturn)."""

    def __init__(self, turn, sender_site, receiver_site):
        self.sender = nat_lab.udp_socket(sender_site.host.ns)
        self.receiver = nat_lab.udp_socket(receiver_site.host.ns)
        mapped = nat_lab.binding(self.receiver, (turn.addresses[0], turn.port))
        if not mapped:
            fail(f"no STUN answer to {receiver_site.name}'s host")
        self.mapped = mapped[0]
        self.count = 0

    def delivers(self, seconds):
        """Sends a fresh marker to the mapping; whether it arrives within `seconds`."""
        self.count += 1
        marker = f"marker {self.count}".encode()
        self.sender.sendto(marker, self.mapped)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.receiver.settimeout(left)
            try:
                if self.receiver.recvfrom(2048)[0] == marker:
                    return True
            except TimeoutError:
                break
        return False

    def close(self):
        self.sender.close()
        self.receiver.close()


def check_blocking(lab, turn, sender_site, receiver_site):
    """UDP from the sender's LAN to the receiver's full-cone mapping passes, is dropped while a block holds (in either
    router), and passes again once it is removed."""
    path = Path(turn, sender_site, receiver_site)
    try:
        if not path.delivers(2):
            fail(f"UDP from {sender_site.name} to {receiver_site.name}'s mapping {path.mapped} did not arrive")
        for gate, other in ((sender_site, receiver_site), (receiver_site, sender_site)):
            block = lab.block_udp_between(gate, other)
            if path.delivers(0.5):
                fail(f"block_udp_between({gate.name}, {other.name}) let UDP through")
            lab.unblock(block)
            if not path.delivers(2):
                fail(f"UDP did not pass again after unblocking block_udp_between({gate.name}, {other.name})")
        block = lab.block_all_udp_except(sender_site, turn.addresses[0], turn.port)
        server, other_address = (turn.addresses[0], turn.port), (turn.addresses[1], turn.port)
        if path.delivers(0.5):
            fail("block_all_udp_except let UDP to another site through")
        if not nat_lab.binding(path.sender, server):
            fail("block_all_udp_except blocked the address:port it should allow")
        if nat_lab.binding(path.sender, other_address, timeout=0.5):
            fail("block_all_udp_except let UDP to the server's other address through")
        lab.unblock(block)
        if not path.delivers(2):
            fail("UDP did not pass again after unblocking block_all_udp_except")
        block = lab.block_turn(sender_site)
        if any(nat_lab.binding(path.sender, (address, turn.port), timeout=0.5) for address in turn.addresses):
            fail("block_turn let a STUN request reach coturn")
        if not path.delivers(2):
            fail("block_turn dropped UDP to another site")
        lab.unblock(block)
        if not nat_lab.binding(path.sender, server):
            fail("coturn did not answer again after unblocking block_turn")
    finally:
        path.close()


def run_lab():
    with nat_lab.Lab() as lab:
        progress(f"lab prefix {lab.prefix}")
        sites = {nat: lab.add_site(nat.split("_")[0], nat) for nat in nat_lab.NAT_KINDS}
        shared = sites["full_cone"]
        lab.add_host(shared)
        lab.add_host(shared)  # three peers on one LAN
        second = lab.add_site("port2", "port_restricted")
        progress(f"built {len(lab.namespaces)} namespaces: {', '.join(lab.namespaces)}")
        if root_links() != links_before:
            fail(f"the lab changed the root namespace's interfaces: {root_links()} (before: {links_before})")
        check_no_route_out(lab)
        progress("no route leaves the lab, nothing is attached to the root namespace")

        turn = lab.start_coturn()
        progress(f"turnserver answers on {', '.join(turn.addresses)} port {turn.port}")
        check_secret_private(lab, turn)
        progress("the TURN secret is only in a 0600 file in a 0700 directory, not on turnserver's command line")
        hosts = [site.host for site in sites.values()] + shared.hosts[1:]
        found = classify_all(lab, hosts)
        for host in hosts:
            mapping, filtering = found[host.ns]
            allowed_mapping, allowed_filtering = nat_lab.expected_behaviour(host.site.nat)
            verdict = "ok" if mapping in allowed_mapping and filtering in allowed_filtering else "WRONG"
            progress(f"classify {host.site.nat:18} ({host.ns}): mapping {mapping}, filtering {filtering}: {verdict}")
            if verdict != "ok":
                fail(f"{host.site.nat} classified as ({mapping}, {filtering}); expected mapping in "
                     f"{sorted(allowed_mapping)} and filtering in {sorted(allowed_filtering)}")
        with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
            quick = dict(zip((host.ns for host in hosts), pool.map(lambda h: lab.quick_classify(h.site, h), hosts)))
        if quick != found:
            fail(f"quick_classify disagrees with classify: {quick} against {found}")
        progress("quick_classify (the P2P tests' check of their sites) agrees with classify on every host")

        # Every two kinds, and port-restricted against itself: it fails if the routers answer unsolicited input.
        check_direct_paths(turn, [*itertools.combinations(sites.values(), 2), (sites["port_restricted"], second)])
        relayed = check_relay(lab, turn, sites["port_restricted"], sites["none"])
        progress(f"TURN relays both ways through {relayed[0]}:{relayed[1]}; the capture saw it")
        check_blocking(lab, turn, sites["port_restricted"], shared)
        progress("block_udp_between (either router), block_all_udp_except and block_turn drop, unblock restores")
        return lab.prefix


CHILD = """import sys, time
sys.path.insert(0, {directory!r})
import nat_lab
lab = nat_lab.Lab()
lab.add_site("a", "port_restricted")
print(lab.prefix, flush=True)
time.sleep(60)
"""


def killed_lab(signum):
    """A lab process killed with `signum` once its lab is built; returns its prefix."""
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(directory=os.path.dirname(nat_lab.__file__))],
                             stdout=subprocess.PIPE, text=True)
    prefix = child.stdout.readline().strip()
    if not prefix or not lab_namespaces(prefix):
        child.kill()
        fail(f"the child lab did not come up (printed {prefix!r})")
    child.send_signal(signum)
    child.wait(timeout=10)
    return prefix


def check_kills():
    prefix = killed_lab(signal.SIGTERM)
    if lab_namespaces(prefix) or glob.glob(os.path.join(tempfile.gettempdir(), f"nat-lab-{prefix}*")):
        fail(f"a lab process stopped by SIGTERM left {lab_namespaces(prefix)} or its work directory")
    progress("a lab process stopped by SIGTERM removed its namespaces")
    prefix = killed_lab(signal.SIGKILL)
    left = lab_namespaces(prefix)
    removed = nat_lab.cleanup_stale(prefix)
    if lab_namespaces(prefix) or sorted(removed) != left:
        fail(f"cleanup_stale({prefix!r}) removed {removed} of {left}; left {lab_namespaces(prefix)}")
    if glob.glob(os.path.join(tempfile.gettempdir(), f"nat-lab-{prefix}*")):
        fail(f"cleanup_stale({prefix!r}) left the dead lab's work directory")
    progress(f"cleanup_stale removed the {len(left)} namespaces of a lab process killed with SIGKILL")


if os.geteuid() != 0:
    fail("the NAT lab needs root: it creates network namespaces (run the tests as root)")
for program in ("ip", "nft", "sysctl", "turnserver", "turnutils_natdiscovery"):
    require(program)
stale = nat_lab.cleanup_stale()
progress(f"cleanup_stale removed {len(stale)} namespaces of dead earlier runs" + (f": {stale}" if stale else ""))
links_before = root_links()
prefix = run_lab()
if lab_namespaces(prefix):
    fail(f"namespaces left after the lab closed: {lab_namespaces(prefix)}")
if root_links() != links_before:
    fail(f"the root namespace's interfaces changed: {root_links()} (before: {links_before})")
if os.path.exists(os.path.join(nat_lab.OWNERS, prefix)):
    fail(f"the lab's owner file {nat_lab.OWNERS}/{prefix} is left")
if glob.glob(os.path.join(tempfile.gettempdir(), f"nat-lab-{prefix}*")):
    fail("the lab's work directory (coturn's config and log) is left")
progress("closed: no namespace, link, owner file or work directory left, root interfaces unchanged")
check_kills()
if root_links() != links_before:
    fail(f"the root namespace's interfaces changed: {root_links()} (before: {links_before})")
progress("PASS")
