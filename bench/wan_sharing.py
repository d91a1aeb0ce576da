"""Issue 18 section 3's checks of a congestion controller across the delay line (bench/wan_bench.py --only
fairness,queue): does our bulk flow share the capped link fairly with a kernel TCP flow, and does it keep a standing
queue at the bottleneck?

  fairness  two bulk flows at once (ours beside a kernel TCP flow, or a reference pair: kernel TCP cubic beside
            kernel TCP bbr, or two of the same), each client in A sending to its server in B; nftables in B counts
            the bytes each flow delivers by its server's port over a window after a warm-up: both shares, and the
            link's use
  queue     a 20 Hz UDP ping-pong between A and B (Python sockets, outside every peer) alone, then beside each bulk
            flow alone: round-trip time under load against the unloaded one (the issue's target: within 1.5x)
"""
import json
import os
import socket
import statistics
import subprocess
import threading
import time

import nat_lab

FAIRNESS_TABLE = "eustress_fairness"


def _start_pair(wan, program, peer, cc, count, tag, work):
    """Starts one bulk flow (server in B, client in A) and returns both processes and the server's rendezvous file
    (its first word is the port the server listens on); the caller ends the processes."""
    rendezvous = os.path.join(work, f"{tag}-{peer}-{cc}.rv")
    if os.path.exists(rendezvous):  # an earlier pair's port: the client would connect to a server that is gone
        os.remove(rendezvous)
    common = ["--bench", "throughput", "--size", "65536", "--count", str(count), "--placement", tag,
              "--rendezvous", rendezvous, "--cc", cc]
    server = nat_lab.popen(wan.b, ["taskset", "-c", "0", program, peer, "--role", "server", "--bind", wan.b_address]
                           + common, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = nat_lab.popen(wan.a, ["taskset", "-c", "1", program, peer, "--role", "client", "--bind", wan.a_address,
                                   "--connect", wan.b_address] + common,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [server, client], rendezvous


def _server_port(rendezvous, timeout=10.0):
    """The port in a server's rendezvous file, once the server has written it (bounded: LabError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(rendezvous) as published:
                return int(published.read().split()[0])
        except (FileNotFoundError, IndexError, ValueError):  # not yet written (the server renames it into place)
            time.sleep(0.02)
    raise nat_lab.LabError(f"no server port in {rendezvous} after {timeout} s")


def _stop(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def _install_counters(ns, flows):
    """One byte counter per flow in `ns`'s input hook, matched by protocol and destination port, named by its index.

    `flows` is [(protocol, port), ...]; counting by port rather than by protocol tells two flows of one protocol
    apart (a reference pair of two kernel TCP flows, or two of ours)."""
    script = (f"add table inet {FAIRNESS_TABLE}\n"
              f"add chain inet {FAIRNESS_TABLE} input {{ type filter hook input priority 0; }}\n")
    for index, (protocol, port) in enumerate(flows):
        script += (f"add rule inet {FAIRNESS_TABLE} input meta l4proto {protocol} th dport {port} counter "
                   f'comment "flow{index}"\n')
    nat_lab.run(ns, ["nft", "-f", "-"], input=script)


def _read_counters(ns):
    """Bytes delivered into `ns` so far per flow: {0: ..., 1: ...} (the index _install_counters gave each)."""
    listing = json.loads(nat_lab.run(ns, ["nft", "-j", "list", "table", "inet", FAIRNESS_TABLE]).stdout)
    counts = {}
    for item in listing["nftables"]:
        rule = item.get("rule")
        if not rule or not rule.get("comment", "").startswith("flow"):
            continue
        counts[int(rule["comment"][len("flow"):])] = next(e["counter"]["bytes"] for e in rule["expr"] if "counter" in e)
    return counts


PROTOCOL = {"eustress": "udp", "tcp": "tcp"}


def fairness(wan, program, first, second, work, warmup=5.0, window=20.0, link_bits=20e6):
    """Two bulk flows at once on the link as set, each (peer, cc) with peer "eustress" (our QUIC) or "tcp" (the
    kernel's): each one's share of the bytes delivered into B during `window` seconds after `warmup`, and the link's
    use. The first flow is the one under test, the second its competitor."""
    processes = []
    try:
        rendezvous = []
        for index, (peer, cc) in enumerate((first, second)):  # both start at once, neither gets a head start
            pair, published = _start_pair(wan, program, peer, cc, 100000, f"fair{index}", work)
            processes += pair
            rendezvous.append(published)
        _install_counters(wan.b, [(PROTOCOL[peer], _server_port(published))
                                  for (peer, _), published in zip((first, second), rendezvous)])
        try:
            time.sleep(warmup)  # both connect and leave slow start; wall time is what the flows run on
            before = _read_counters(wan.b)
            time.sleep(window)
            after = _read_counters(wan.b)
        finally:
            nat_lab.run(wan.b, ["nft", "delete", "table", "inet", FAIRNESS_TABLE], check=False)
    finally:
        _stop(processes)
    delivered = [after.get(index, 0) - before.get(index, 0) for index in range(2)]
    total = max(sum(delivered), 1)
    return {"first_share": delivered[0] / total, "second_share": delivered[1] / total,
            "link_use": total * 8 / window / link_bits}


class _Echo:
    """A UDP echo in B for the ping-pong."""

    def __init__(self, wan):
        self.socket = nat_lab.udp_socket(wan.b, wan.b_address, 0)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                data, sender = self.socket.recvfrom(64)
                self.socket.sendto(data, sender)
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close()


def ping(wan, seconds, interval=0.05):
    """Round trips (ms) of a ping every `interval` for `seconds`; a ping not answered in 2 s counts as lost."""
    echo = _Echo(wan)
    pinger = nat_lab.udp_socket(wan.a, wan.a_address, 0)
    pinger.settimeout(0.01)
    sent, samples = {}, []
    try:
        end = time.monotonic() + seconds
        sequence = 0
        next_ping = time.monotonic()
        while time.monotonic() < end:
            if time.monotonic() >= next_ping:
                sent[sequence] = time.monotonic()
                pinger.sendto(sequence.to_bytes(4, "big"), (wan.b_address, echo.port))
                sequence += 1
                next_ping += interval
            try:
                data = pinger.recv(64)
                number = int.from_bytes(data[:4], "big")
                if number in sent:
                    samples.append((time.monotonic() - sent.pop(number)) * 1000)
            except socket.timeout:
                pass
    finally:
        pinger.close()
        echo.close()
    return samples


def queue(wan, program, peer, cc, work, warmup=5.0, seconds=15.0):
    """The ping-pong's median and 95th percentile round trip beside one bulk flow (peer None: unloaded)."""
    processes = _start_pair(wan, program, peer, cc, 100000, "queue", work)[0] if peer else []
    try:
        if peer:
            time.sleep(warmup)
        samples = ping(wan, seconds)
    finally:
        _stop(processes)
    samples.sort()
    if not samples:
        return {"rtt_p50": float("nan"), "rtt_p95": float("nan")}
    return {"rtt_p50": statistics.median(samples), "rtt_p95": samples[min(len(samples) - 1, int(len(samples) * 0.95))]}
