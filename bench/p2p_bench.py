#!/usr/bin/env python3
"""The P2P mesh's benchmarks (docs/PERFORMANCE.md, "P2P"), beside ICE alone (eustress-bench-ice and
bench/p2p/ice_bench.mjs, which bench/run.sh runs itself):

  paths     time to a working path per pair of NAT kinds in the NAT lab: eustress-server --mesh and coturn in the
            lab's internet namespace, two eustress-peer processes in LAN hosts of two sites; the figure is each
            peer's "peer N path ... -> direct|turn ... at X ms" (from the update that added the other peer)
  sessions  RTT (/ping) and throughput (/bulk) of the peer session direct (full cone x port-restricted), through TURN
            (symmetric x symmetric) and through the game server (--no-direct); and TURN's bytes per packet, from
            captures on the internet bridge's ports of the same pings direct and through TURN
  failover  a direct pair (full cone x port-restricted) with TURN warm beside it, its direct path cut again and again
            (nat_lab.block_udp_between): cut to the path-change line, and the last packet of the dead path to the
            first session packet on TURN, from captures in the two hosts' namespaces (the kernel's timestamps)
  mesh      8 peers and their server on loopback (no lab): sessions per peer, RSS, CPU and wakeups per peer idle and
            while every peer chats 20 lines/s, beside a lone eustress-client on the same server, and the server's

The lab stays up across the runs of a part; only the peers restart. Every process runs on both cores (no taskset:
the lab's routers, coturn, the server and both peers share them). Progress goes to stderr, one JSON object per result
to stdout (bench/run.sh's format: bench, metric, value, unit, peer, placement).

Usage: p2p_bench.py BUILD_DIR [--only paths,sessions,failover,mesh] [--runs 20] [--cuts 20] [--seconds 30]
                   [--logs DIR]
The lab parts need root (network namespaces) and coturn (scripts/install-deps.sh installs it).
"""
import argparse
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import mesh_lab  # noqa: E402
import nat_lab  # noqa: E402

SERVER_ADDRESS, COTURN_ADDRESS = nat_lab.INTERNET_ADDRESSES
SERVER_PORT = 7777
PATH_LINE = re.compile(r"^peer (\d+) path (\S+) -> (\S+)(?: \(local (\S+), remote (\S+)\))? at ([\d.]+) ms$")
PING_LINE = re.compile(r"^ping peer (\d+): (\d+) round trips of (\d+) bytes, rtt ms median ([\d.]+) p95 ([\d.]+) "
                       r"min ([\d.]+) max ([\d.]+)$")
BULK_IN_LINE = re.compile(r"^bulk from peer (\d+): ([\d.]+) MiB in ([\d.]+) ms, ([\d.]+) MB/s")
BULK_OUT_LINE = re.compile(r"^bulk to peer (\d+): ([\d.]+) MiB in ([\d.]+) ms, ([\d.]+) MB/s")
began = time.monotonic()
log_directory = None  # --logs: every process's output is written there when it stops


class BenchError(Exception):
    pass


def progress(message):
    print(f"  [{time.monotonic() - began:6.1f}s] {message}", file=sys.stderr, flush=True)


def report(bench, metric, value, unit, placement="lab"):
    print(json.dumps({"bench": bench, "metric": metric, "value": round(value, 3), "unit": unit, "peer": "eustress",
                      "placement": placement}), flush=True)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]


def summary(values, unit="ms"):
    return (f"median {statistics.median(values):.1f} {unit}, p95 {percentile(values, 0.95):.1f}, "
            f"min {min(values):.1f}, max {max(values):.1f} (n={len(values)})")


# --- processes with timestamped output (tests/integration/mesh_lab.py does the same for the tests, inside the lab
# only and with log files in the working directory; these also run on loopback and write files only with --logs)

class Process:
    """A program whose output lines are read by a thread and stamped with time.monotonic() on arrival."""

    def __init__(self, name, argv, ns=None, stdin=False):
        self.name, self.lines, self.ended = name, [], False
        self._changed = threading.Condition()
        command = ["ip", "netns", "exec", ns, *argv] if ns else argv
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._thread = threading.Thread(target=self._read, name=f"output-{name}", daemon=True)
        self._thread.start()

    @property
    def pid(self):
        return self.process.pid

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def count(self):
        with self._changed:
            return len(self.lines)

    def wait(self, pattern, seconds, start=0):
        """(time, match) of the first line from `start` on matching `pattern`, waiting up to `seconds`."""
        regex, deadline, index = re.compile(pattern), time.monotonic() + seconds, start
        with self._changed:
            while True:
                while index < len(self.lines):
                    stamp, text = self.lines[index]
                    index += 1
                    if found := regex.search(text):
                        return stamp, found
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    tail = "\n    ".join([text for _, text in self.lines if not text.startswith("sent to ")][-15:])
                    raise BenchError(f"{self.name}: no line matching {pattern!r} within {seconds} s"
                                     f"{' (its output ended)' if self.ended else ''}; last lines:\n    {tail}")
                self._changed.wait(left)

    def find(self, pattern, start=0):
        regex = re.compile(pattern)
        with self._changed:
            lines = self.lines[start:]
        return [(stamp, found) for stamp, text in lines if (found := regex.search(text))]

    def type(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self, seconds=5):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._thread.join(timeout=2)
        if log_directory:
            with open(os.path.join(log_directory, f"{self.name}-{self.pid}.log"), "w") as log:
                log.writelines(f"{stamp - began:9.3f} {text}\n" for stamp, text in self.lines)


class Server(Process):
    """eustress-server --mesh 1 (in the lab's internet namespace on 203.0.113.1, with coturn on .2 as STUN and TURN,
    or on 127.0.0.1 without). The TURN secret goes in a 0600 file in the lab's private directory."""

    def __init__(self, build, lab=None, turn=None, work=None):
        host = SERVER_ADDRESS if lab else "127.0.0.1"
        argv = [f"{build}/apps/eustress-server", "--mesh", "1", "--no-http", "--bind", host,
                "-p", str(SERVER_PORT if lab else 0), "--dev-cert-dir", os.path.join(work or lab.work, "server-cert")]
        if turn:
            secret_file = os.path.join(lab.work, "bench-turn-secret")
            descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(turn.secret)
            coturn = f"{COTURN_ADDRESS}:{turn.port}"
            argv += ["--stun", coturn, "--turn", coturn, "--turn-secret-file", secret_file]
        super().__init__("server", argv, lab.internet if lab else None)
        _, banner = self.wait(r"listening on (\S+):(\d+) pin (\S+)", 20)
        self.address, self.pin = f"{banner.group(1)}:{banner.group(2)}", banner.group(3)


class Peer(Process):
    """eustress-peer gathering only on one address (a lab host's, or 127.0.0.1), with a pipe to type into."""

    def __init__(self, build, server, name, ns=None, address="127.0.0.1", extra=()):
        argv = [f"{build}/apps/eustress-peer", "--server", server.address, "--pin", server.pin,
                "--local-address", address, *extra]
        super().__init__(name, argv, ns, stdin=True)
        self.id = None

    def wait_joined(self, seconds=20):
        _, found = self.wait(r"^mesh \d+ joined as (\d+)", seconds)
        self.id = int(found.group(1))
        return self.id

    def wait_path(self, peer, kinds, seconds, start=0):
        """(line time, match) of the first path change to one of `kinds` for `peer` from line `start` on."""
        return self.wait(rf"^peer {peer} path \S+ -> ({'|'.join(kinds)})( |$)", seconds, start)

    def stop(self, seconds=5):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        super().stop(seconds)


def start_pair(build, server, host_a, host_b, kinds, extra=(), seconds=20):
    """Two peers in two lab hosts; returns them once each reports a path of one of `kinds` to the other and its
    session is up, with each one's "at X ms" figure."""
    a = Peer(build, server, "a", host_a.ns, host_a.address, extra)
    b = Peer(build, server, "b", host_b.ns, host_b.address, extra)
    try:
        a.wait_joined()
        b.wait_joined()
        found = {}
        for me, other in ((a, b), (b, a)):
            _, match = me.wait_path(other.id, kinds, seconds)
            me.wait(rf"^peer {other.id} joined$", seconds)
            found[me.name] = PATH_LINE.match(match.string)
        return a, b, found
    except BaseException:
        stop_all(a, b)
        raise


def stop_all(*processes):
    for process in processes:
        if process.process.poll() is None:
            if isinstance(process, Peer):
                try:
                    process.process.stdin.close()
                except OSError:
                    pass
            process.process.send_signal(signal.SIGTERM)
    for process in processes:
        process.stop()


def wait_left(server, *peers, seconds=5):
    """Until the server has seen the peers disconnect, so the next run's peers meet no leftover member."""
    for peer in peers:
        if peer.id is not None:
            server.wait(rf"^client {peer.id} disconnected", seconds)


# --- the lab

def build_lab():
    lab = nat_lab.Lab()
    open_site = lab.add_site("open", "none")
    lab.add_host(open_site)
    sites = {"open": open_site}
    for name, nat in (("cone", "full_cone"), ("port1", "port_restricted"), ("port2", "port_restricted"),
                      ("addr", "address_restricted"), ("sym1", "symmetric"), ("sym2", "symmetric")):
        sites[name] = lab.add_site(name, nat)
    turn = lab.start_coturn()
    return lab, sites, turn


PAIRS = (  # name, site and host of A, site and host of B
    ("none x none", ("open", 0), ("open", 1)),
    ("full_cone x port_restricted", ("cone", 0), ("port1", 0)),
    ("port_restricted x port_restricted", ("port1", 0), ("port2", 0)),
    ("address_restricted x symmetric", ("addr", 0), ("sym1", 0)),
    ("symmetric x symmetric", ("sym1", 0), ("sym2", 0)),
)


def bench_paths(build, lab, sites, turn, runs):
    print(f"time to a working path per pair of NAT kinds, {runs} runs each (peers restarted, lab kept)",
          file=sys.stderr, flush=True)
    server = Server(build, lab, turn)
    try:
        for name, (site_a, index_a), (site_b, index_b) in PAIRS:
            host_a, host_b = sites[site_a].hosts[index_a], sites[site_b].hosts[index_b]
            expected = "direct" if nat_lab.expected_direct(sites[site_a].nat, sites[site_b].nat) else "turn"
            first, final, per_peer, candidates, detours, started = [], [], [], {}, 0, time.monotonic()
            for run in range(runs):
                a, b, found = start_pair(build, server, host_a, host_b, ["direct", "turn"])
                try:
                    reached = {}  # the expected path: TURN may come first on a pair that goes direct later
                    for me, other in ((a, b), (b, a)):
                        _, match = me.wait_path(other.id, [expected], 20)
                        reached[me.name] = PATH_LINE.match(match.string)
                finally:
                    stop_all(a, b)
                wait_left(server, a, b)
                kinds = [match.group(3) for match in found.values()]
                if expected == "turn" and "direct" in kinds:
                    raise BenchError(f"{name}: run {run + 1} went direct, which this pair of NATs cannot do")
                detours += sum(kind != expected for kind in kinds)
                first.append(max(float(match.group(6)) for match in found.values()))
                final.append(max(float(match.group(6)) for match in reached.values()))
                per_peer += [float(match.group(6)) for match in found.values()]
                for match in reached.values():
                    pair = f"{match.group(4)}/{match.group(5)}"
                    candidates[pair] = candidates.get(pair, 0) + 1
            progress(f"{name}: first direct or TURN path, both peers on it: {summary(first)}; each peer's own "
                     f"{summary(per_peer)}; {time.monotonic() - started:.0f} s")
            progress(f"    runs (ms, the later peer): {' '.join(f'{t:.0f}' for t in first)}")
            progress(f"    {detours} of {2 * runs} peers went through TURN first; both on {expected}: {summary(final)}")
            progress(f"    local/remote candidates on {expected}: {candidates}")
            key = name.replace(" x ", "-")
            report("p2p-path", f"{key}_first_median", statistics.median(first), "ms")
            report("p2p-path", f"{key}_first_p95", percentile(first, 0.95), "ms")
            report("p2p-path", f"{key}_first_min", min(first), "ms")
            report("p2p-path", f"{key}_{expected}_median", statistics.median(final), "ms")
            report("p2p-path", f"{key}_{expected}_p95", percentile(final, 0.95), "ms")
            report("p2p-path", f"{key}_turn_first", detours, "peers")
    finally:
        server.stop()


# --- sessions: RTT, throughput, TURN's framing

def turn_framing(payload):
    """(kind, inner payload) of a datagram between a peer and coturn's listening port: ChannelData (RFC 8656 section
    12), a Send or Data indication (the DATA attribute), another STUN message (inner None), or None if neither."""
    if len(payload) >= 4 and 0x40 <= payload[0] <= 0x7F:
        length = struct.unpack("!H", payload[2:4])[0]
        return "channeldata", payload[4:4 + length]
    parsed = nat_lab.stun_parse(payload)
    if not parsed:
        return None, None
    method, cls, _, attributes = parsed
    if cls == 1 and method in (nat_lab.SEND, nat_lab.DATA):
        kind = "send-indication" if method == nat_lab.SEND else "data-indication"
        return kind, attributes.get(nat_lab.ATTR["DATA"])
    return "stun", None


def session_packet(inner):
    """Whether a peer datagram is the QUIC session's (not ICE's STUN, not the mesh's 7-byte heartbeat)."""
    if inner is None or len(inner) < 8:
        return False
    if len(inner) == 7 and inner[:2] == b"\x00\x45":
        return False
    return not (len(inner) >= 8 and struct.unpack("!I", inner[4:8])[0] == nat_lab.MAGIC)


def ping(peer, other, count, size):
    """/ping from `peer` to `other`: the PING_LINE match."""
    start = peer.count()
    peer.type(f"/ping {other.id} {count} {size}")
    _, line = peer.wait(r"^ping peer ", 60, start)
    if not (parsed := PING_LINE.match(line.string)):
        raise BenchError(f"{peer.name}: /ping answered {line.string!r}")
    return parsed


def bulk(sender, receiver, mib):
    """/bulk from `sender`: (the receiver's MB/s, the sender's MB/s)."""
    start_sender, start_receiver = sender.count(), receiver.count()
    sender.type(f"/bulk {receiver.id} {mib}")
    _, received = receiver.wait(BULK_IN_LINE.pattern, 120, start_receiver)
    _, sent = sender.wait(BULK_OUT_LINE.pattern, 30, start_sender)
    return float(received.group(4)), float(sent.group(4))


def measure_session(build, server, host_a, host_b, kind, extra, pings, mib, transfers, capture_on, lab):
    """A pair that must reach `kind`: `pings` round trips of 64 bytes; 100 more while UDP is captured on the internet
    bridge's ports `capture_on` (apart, so the capture's CPU does not weigh on the RTT figure); then `transfers`
    bulk transfers of `mib` MiB. Returns (ping match, [(receiver MB/s, sender MB/s)], captured packets, the path
    lines that ended the wait for `kind`, every path line)."""
    a, b, found = start_pair(build, server, host_a, host_b, [kind], extra)
    try:
        time.sleep(0.5)  # past the path change: ICE may still nominate a better pair in the first moments
        rtt = ping(a, b, pings, 64)
        seen = []
        if capture_on:
            captures = [nat_lab.capture(lab.internet, port, keep=lambda p: p.protocol == 17) for port in capture_on]
            try:
                ping(a, b, 100, 64)
            finally:
                for capture in captures:
                    seen += capture.stop()
        rates = [bulk(a, b, mib) for _ in range(transfers)]
        changes = [f"{p.name}: {m.string}" for p in (a, b) for _, m in p.find(r"^peer \d+ path ")]
        return rtt, rates, seen, found, changes
    finally:
        stop_all(a, b)
        wait_left(server, a, b)


def bench_sessions(build, lab, sites, turn, pings, mib, relay_mib, transfers=3):
    print(f"peer session on each path: {pings} pings of 64 bytes, then {transfers} transfers of {mib} MiB "
          f"({relay_mib} MiB through the game server, whose relay is capped)", file=sys.stderr, flush=True)
    server = Server(build, lab, turn)
    cone, port = sites["cone"], sites["port1"]
    sym1, sym2 = sites["sym1"], sites["sym2"]
    # Frames between two bridge ports never reach br0 itself: captures go on the ports, s<site index> (nat_lab).
    cases = (
        ("direct", "direct", cone.host, port.host, (), mib, [f"s{cone.index}"]),
        ("turn", "turn", sym1.host, sym2.host, (), mib, [f"s{sym1.index}", f"s{sym2.index}"]),
        ("server-relay", "server-relay", cone.host, port.host, ("--no-direct",), relay_mib, []),
    )
    captured = {}
    try:
        for label, kind, host_a, host_b, extra, amount, ports in cases:
            rtt, rates, seen, found, changes = measure_session(build, server, host_a, host_b, kind, extra, pings,
                                                               amount, transfers, ports, lab)
            median, p95 = float(rtt.group(4)), float(rtt.group(5))
            rate = statistics.median(received for received, _ in rates)
            pairs = ", ".join(f"{name} local {m.group(4)} remote {m.group(5)}" for name, m in found.items())
            progress(f"{label} ({pairs or 'no ICE'}): rtt median {median:.3f} ms, p95 {p95:.3f}, min "
                     f"{float(rtt.group(6)):.3f}, max {float(rtt.group(7)):.3f}; {amount} MiB at the receiver "
                     f"{' '.join(f'{r:.2f}' for r, _ in rates)} MB/s (median {rate:.2f}), at the sender "
                     f"{' '.join(f'{s:.2f}' for _, s in rates)}")
            if len(changes) > 2:
                progress(f"    path changes during the run: {changes}")
            report("p2p-session", f"{label}_rtt_median", median, "ms")
            report("p2p-session", f"{label}_rtt_p95", p95, "ms")
            report("p2p-session", f"{label}_throughput_median", rate, "MB/s")
            captured[label] = seen
    finally:
        server.stop()
    turn_overhead([p for p in captured["direct"] if {p.src, p.dst} == {cone.public, port.public}],
                  [p for p in captured["turn"] if COTURN_ADDRESS in (p.src, p.dst)])


def turn_overhead(direct, relayed):
    """TURN's framing, from the same pings captured direct (between the two sites) and through TURN (between each
    site and coturn)."""
    direct_sizes = [len(p.payload) for p in direct if session_packet(p.payload)]
    kinds, overheads, sizes = {}, {}, {"to coturn": [], "from coturn": [], "unframed (relay port <-> peer)": []}
    for packet in relayed:
        to_server = packet.dst == COTURN_ADDRESS and packet.dport == nat_lab.STUN_PORT
        from_server = packet.src == COTURN_ADDRESS and packet.sport == nat_lab.STUN_PORT
        if to_server or from_server:
            kind, inner = turn_framing(packet.payload)
            if not session_packet(inner):
                continue
            leg = "to coturn" if to_server else "from coturn"
            kinds[(leg, kind)] = kinds.get((leg, kind), 0) + 1
            overheads.setdefault((leg, kind), []).append(len(packet.payload) - len(inner))
            sizes[leg].append(len(packet.payload))
        elif session_packet(packet.payload):  # a relay port straight to a peer's NAT: no framing on this leg
            sizes["unframed (relay port <-> peer)"].append(len(packet.payload))
    if not direct_sizes or not overheads:
        raise BenchError(f"TURN overhead: no session packets captured (direct {len(direct_sizes)}, relayed "
                         f"{sum(kinds.values())})")
    progress(f"TURN framing of the session's packets through coturn: {kinds}")
    for (leg, kind), values in sorted(overheads.items()):
        progress(f"    {leg}, {kind}: {statistics.median(values):.0f} bytes of framing per packet "
                 f"(min {min(values)}, max {max(values)}, {len(values)} packets)")
        report("p2p-turn", f"{leg.replace(' ', '-')}_{kind}_bytes", statistics.median(values), "bytes")
    progress(f"    UDP payload of the session's packets, mean (median): direct {statistics.mean(direct_sizes):.1f} "
             f"({statistics.median(direct_sizes):.0f}) bytes, {len(direct_sizes)} packets; " + "; ".join(
                 f"{leg} {statistics.mean(v):.1f} ({statistics.median(v):.0f}), {len(v)}" for leg, v in sizes.items()
                 if v))
    report("p2p-turn", "direct_payload_mean", statistics.mean(direct_sizes), "bytes")
    for leg, values in sizes.items():
        if values:
            name = "-".join(leg.split(" ")[:2])
            report("p2p-turn", f"{name}_payload_mean", statistics.mean(values), "bytes")


# --- failover

def current_path(peer, other):
    """The path `peer` last reported for `other` ("direct", "turn", ...), or None."""
    changes = peer.find(rf"^peer {other.id} path \S+ -> (\S+)")
    return changes[-1][1].group(1) if changes else None


def bench_failover(build, lab, sites, turn, cuts):
    print(f"failover: the direct path of a full cone x port-restricted pair cut {cuts} times, TURN warm beside it",
          file=sys.stderr, flush=True)
    server = Server(build, lab, turn)
    cone, port = sites["cone"], sites["port1"]
    a, b, _ = start_pair(build, server, cone.host, port.host, ["direct"])
    public = {"a": port.public, "b": cone.public}  # where the other's direct packets come from
    inbound = lambda p: p.protocol == 17 and p.direction == "in"  # noqa: E731
    # What reaches each host, stamped by the kernel on arrival (packet.time, on the time.monotonic() clock).
    captures = {"a": nat_lab.capture(cone.host.ns, "eth0", inbound),
                "b": nat_lab.capture(port.host.ns, "eth0", inbound)}
    stream = None
    to_line, gaps, back, odd, stuck = [], [], [], [], []
    try:
        time.sleep(2)  # the standby TURN agent connects and carries heartbeats
        stream = mesh_lab.LineStream(a)
        b.wait(rf"^\[peer {a.id}\] seq 10$", 10)
        for cut in range(cuts):
            start = {p.name: p.count() for p in (a, b)}
            cut_at = time.monotonic()
            block = lab.block_udp_between(cone, port)
            moved, line = {}, []
            for me, other in ((a, b), (b, a)):
                try:
                    at, change = me.wait(rf"^peer {other.id} path direct -> ", 5, start[me.name])
                except BenchError:
                    paths = [m.string for _, m in me.find(r"^peer \d+ path ")][-3:]
                    line.append(f"{me.name} NO PATH CHANGE within 5 s (its last path lines: {paths})")
                    odd.append(cut + 1)
                    continue
                if not change.string.startswith(f"peer {other.id} path direct -> turn"):
                    line.append(f"{me.name} MOVED ELSEWHERE: {change.string!r}")
                    odd.append(cut + 1)
                    continue
                moved[me.name] = at
            time.sleep(0.3)  # session packets on TURN reach both hosts
            for me in (a, b):
                if me.name not in moved:
                    continue
                packets = [p for p in list(captures[me.name].packets) if p.time >= cut_at - 1.0]
                dead = [p.time for p in packets if p.src == public[me.name] and p.time <= moved[me.name]]
                new = [p.time for p in packets if p.src == COTURN_ADDRESS and p.time >= cut_at and
                       session_packet(turn_framing(p.payload)[1])]
                to_line.append(1000 * (moved[me.name] - cut_at))
                if dead and new:
                    gaps.append(1000 * (new[0] - dead[-1]))
                    line.append(f"{me.name} {1000 * (moved[me.name] - cut_at):.0f} ms to the line, "
                                f"{1000 * (new[0] - dead[-1]):.0f} ms last direct -> first TURN session packet")
                else:
                    line.append(f"{me.name} {1000 * (moved[me.name] - cut_at):.0f} ms to the line (capture: "
                                f"{len(dead)} direct before, {len(new)} TURN session packets after)")
            start = {p.name: p.count() for p in (a, b)}
            lifted = time.monotonic()
            lab.unblock(block)
            returned = []
            for me, other in ((a, b), (b, a)):
                if me.name in moved:
                    at, _ = me.wait_path(other.id, ["direct"], 20, start[me.name])
                    back.append(1000 * (at - lifted))
                    returned.append(f"{back[-1]:.0f}")
            time.sleep(0.5)  # settled on direct again before the next cut
            for me, other in ((a, b), (b, a)):
                if current_path(me, other) != "direct":  # it went back to direct, and left it again
                    since = time.monotonic()
                    try:
                        me.wait_path(other.id, ["direct"], 60, me.count())
                        line.append(f"{me.name} LEFT DIRECT AGAIN after the cut was lifted and came back only "
                                    f"{time.monotonic() - since + 0.5:.1f} s later")
                    except BenchError:
                        line.append(f"{me.name} LEFT DIRECT AGAIN after the cut was lifted, not back within 60 s")
                    stuck.append(cut + 1)
            progress(f"cut {cut + 1}: " + "; ".join(line) + f"; back to direct {' and '.join(returned)} ms after "
                     "the cut was lifted")
            if stuck and stuck[-1] == cut + 1 and any(current_path(p, o) != "direct" for p, o in ((a, b), (b, a))):
                break  # still not direct: further cuts would measure nothing
        sent = stream.stop()
        stream = None
        b.wait(rf"^\[peer {a.id}\] seq {sent}$", 10)
        numbers = [int(m.group(1)) for _, m in b.find(rf"^\[peer {a.id}\] seq (\d+)$")]
        intact = numbers == list(range(1, sent + 1))
        progress(f"{sent} numbered lines sent 20 ms apart across the cuts: "
                 f"{'all arrived once and in order' if intact else 'SOME LOST, REPEATED OR OUT OF ORDER'}")
    finally:
        if stream:
            stream.stop()
        for capture in captures.values():
            capture.stop()
        stop_all(a, b, server)
    if odd:
        progress(f"cuts where a peer did not move from direct to TURN: {odd} (left out of the figures below)")
    report("p2p-failover", "cuts_not_to_turn", len(odd), "peers")
    if stuck:
        progress(f"cuts after which a peer went back to direct and left it again: {stuck}")
    report("p2p-failover", "left_direct_again", len(stuck), "peers")
    progress(f"cut -> path-change line: {summary(to_line)}")
    report("p2p-failover", "cut_to_path_change_median", statistics.median(to_line), "ms")
    report("p2p-failover", "cut_to_path_change_p95", percentile(to_line, 0.95), "ms")
    progress(f"cut lifted -> back on direct: {summary(back)}")
    report("p2p-failover", "back_to_direct_median", statistics.median(back), "ms")
    if gaps:
        progress(f"last packet on the dead path -> first session packet on TURN: {summary(gaps)}")
        report("p2p-failover", "dead_to_new_packet_median", statistics.median(gaps), "ms")
        report("p2p-failover", "dead_to_new_packet_p95", percentile(gaps, 0.95), "ms")


# --- a mesh of 8 on loopback

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime (fields 14 and 15)


def wakeups(pid):
    """Times the process (all its threads) blocked and was woken: voluntary context switches."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as status:
            total += sum(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches:"))
    return total


def usage(processes, seconds):
    """{name: (CPU % of one core, wakeups per second)} of each process over the next `seconds`."""
    before = {name: (cpu_seconds(p.pid), wakeups(p.pid)) for name, p in processes.items()}
    time.sleep(seconds)
    return {name: (100 * (cpu_seconds(p.pid) - before[name][0]) / seconds,
                   (wakeups(p.pid) - before[name][1]) / seconds) for name, p in processes.items()}


def bench_mesh(build, members, seconds, lines_per_second):
    print(f"mesh of {members} peers on loopback: {seconds} s idle, then {seconds} s with every peer chatting "
          f"{lines_per_second} lines/s", file=sys.stderr, flush=True)
    work = tempfile.TemporaryDirectory(prefix="p2p-bench-")
    server = Server(build, work=work.name)
    peers, client = [], None
    try:
        for i in range(members):
            peers.append(Peer(build, server, f"p{i + 1}"))
        for peer in peers:
            peer.wait_joined()
        for peer in peers:
            for other in peers:
                if other is not peer:
                    peer.wait(rf"^peer {other.id} joined$", 30)
                    peer.wait_path(other.id, ["direct"], 30)
        progress(f"{members} peers, each with {members - 1} sessions up and direct")
        client = Process("client", [f"{build}/apps/eustress-client", "--server", server.address, "--pin", server.pin,
                                    "--mesh-channels"], stdin=True)
        client.wait(r"^connected as client \d+", 20)
        time.sleep(6)  # past libnice's idle timeout (5 s), during which its check timer still ticks every Ta
        everyone = {"server": server, "client": client, **{p.name: p for p in peers}}
        rss_idle = {name: rss_kib(p.pid) for name, p in everyone.items()}
        idle = usage(everyone, seconds)
        rows = {}
        for peer in peers:
            start = peer.count()
            peer.type("/status")
            peer.wait(r"^peer\s+path", 5, start)
            time.sleep(0.2)
            rows[peer.name] = [m for _, m in peer.find(r"^(\d+)\s+(\S+)\s+\S+\s+\S+\s+[\d.]+\s+(up|down)", start)]
        sessions = [sum(1 for m in found if m.group(3) == "up") for found in rows.values()]
        progress(f"sessions up per peer: {sessions}")

        stop_chat = threading.Event()

        def chat():
            due, n = time.monotonic(), 0
            while not stop_chat.is_set():
                n += 1
                for peer in peers:
                    peer.type(f"line {n} from {peer.name}")
                due += 1 / lines_per_second
                time.sleep(max(0.0, due - time.monotonic()))
        chatter = threading.Thread(target=chat, daemon=True)
        chatter.start()
        busy = usage(everyone, seconds)
        stop_chat.set()
        chatter.join()
        rss_busy = {name: rss_kib(p.pid) for name, p in everyone.items()}
        time.sleep(1)
        received = [len(p.find(r"^\[peer \d+\] line ")) for p in peers]
    finally:
        stop_all(*peers, *([client] if client else []), server)
        work.cleanup()
    peer_names = [p.name for p in peers]
    figures = (("rss_idle", "RSS idle", rss_idle, "KiB"), ("rss_chat", "RSS after chat", rss_busy, "KiB"),
               ("cpu_idle", "CPU idle", {n: v[0] for n, v in idle.items()}, "%"),
               ("cpu_chat", "CPU chatting", {n: v[0] for n, v in busy.items()}, "%"),
               ("wakeups_idle", "wakeups idle", {n: v[1] for n, v in idle.items()}, "/s"),
               ("wakeups_chat", "wakeups chatting", {n: v[1] for n, v in busy.items()}, "/s"))
    for _, label, values, unit in figures:
        per_peer = [values[n] for n in peer_names]
        progress(f"{label}: peers median {statistics.median(per_peer):.1f} {unit} (min {min(per_peer):.1f}, max "
                 f"{max(per_peer):.1f}); lone client {values['client']:.1f}; server {values['server']:.1f}")
    progress(f"chat lines received per peer: {received} (of {members - 1} x {lines_per_second} x ~{seconds})")
    for metric, _, values, unit in figures:
        report("p2p-mesh8", f"peer_{metric}_median", statistics.median(values[n] for n in peer_names), unit,
               "loopback")
        report("p2p-mesh8", f"client_{metric}", values["client"], unit, "loopback")
        report("p2p-mesh8", f"server_{metric}", values["server"], unit, "loopback")
    report("p2p-mesh8", "sessions_per_peer_min", min(sessions), "sessions", "loopback")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--only", default="paths,sessions,failover,mesh")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--logs", help="write every process's output, stamped, into this directory")
    arguments = parser.parse_args()
    if arguments.logs:
        global log_directory
        os.makedirs(arguments.logs, exist_ok=True)
        log_directory = arguments.logs
    build, parts = os.path.abspath(arguments.build), set(arguments.only.split(","))
    for program in ("eustress-server", "eustress-peer", "eustress-client"):
        if not os.access(f"{build}/apps/{program}", os.X_OK):
            sys.exit(f"p2p_bench: {build}/apps/{program} is not built")
    if parts & {"paths", "sessions", "failover"}:
        if os.geteuid() != 0:
            sys.exit("p2p_bench: the NAT lab needs root (network namespaces)")
        nat_lab.cleanup_stale()
        started = time.monotonic()
        lab, sites, turn = build_lab()
        with lab:
            progress(f"NAT lab up in {time.monotonic() - started:.1f} s: " +
                     ", ".join(f"{s.name} ({s.nat})" for s in sites.values()))
            if "paths" in parts:
                bench_paths(build, lab, sites, turn, arguments.runs)
            if "sessions" in parts:
                bench_sessions(build, lab, sites, turn, 200, 32, 1)
            if "failover" in parts:
                bench_failover(build, lab, sites, turn, arguments.cuts)
    if "mesh" in parts:
        bench_mesh(build, 8, arguments.seconds, 20)


if __name__ == "__main__":
    try:
        main()
    except (BenchError, nat_lab.LabError) as error:
        sys.exit(f"p2p_bench: {error}")
