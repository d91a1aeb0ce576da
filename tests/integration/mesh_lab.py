"""Game servers and eustress-peer processes inside the NAT lab (nat_lab.py), for the p2p_*_test.py scripts.

    with nat_lab.Lab() as lab:
        turn = lab.start_coturn()
        server = mesh_lab.MeshServer(lab, build, "game", turn)   # eustress-server --mesh 1 in the internet namespace
        a = mesh_lab.Peer(build, home.host, server, "a")          # eustress-peer in a LAN host's namespace
        a.wait_joined(); a.wait_path(b.id, {"direct"}, 20); a.type("hello"); b.wait_chat(a.id, "hello", 5)

Every peer's and server's output is read by a thread that stamps each line with time.monotonic() when it arrived, so
tests wait for events with deadlines (never fixed sleeps) and time them. The game server listens on 203.0.113.1 and
coturn is used on 203.0.113.2, so blocking a site's TURN (Lab.block_turn) or another site never blocks the server.
Failures are raised as Failure; run() turns them into the harness's FAIL line with the tails of every output.
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nat_lab  # noqa: E402

SERVER_ADDRESS = nat_lab.INTERNET_ADDRESSES[0]
COTURN_ADDRESS = nat_lab.INTERNET_ADDRESSES[1]
PATH_LINE = re.compile(r"^peer (\d+) path (\S+) -> (\S+)(?: \(local (\S+), remote (\S+)\))? at ([\d.]+) ms$")
STATUS_ROW = re.compile(r"^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+(\S+)\s+(\d+)$")
PATH_KINDS = ("none", "direct", "turn", "server-relay")

began = time.monotonic()


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def progress(message):
    print(f"[{time.monotonic() - began:6.2f}s] {message}", flush=True)


def wait_until(predicate, seconds, what):
    """predicate()'s first true value, polled every 20 ms for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        check(time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.02)
    return value


class Output:
    """The lines a process writes, each stamped with time.monotonic() on arrival; copied to a log file."""

    def __init__(self, name, stream, log_path):
        self.name, self.lines, self.ended = name, [], False
        self._changed = threading.Condition()
        self._log = open(log_path, "w")
        self._thread = threading.Thread(target=self._read, args=(stream,), name=f"output-{name}", daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            stamp = time.monotonic()
            self._log.write(f"{stamp - began:9.3f} {line}")
            self._log.flush()
            with self._changed:
                self.lines.append((stamp, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def find(self, pattern, start=0):
        """Every (index, time, match) of a regular expression, from line `start` on."""
        regex = re.compile(pattern)
        with self._changed:
            lines = self.lines[start:]
        return [(start + i, stamp, found) for i, (stamp, text) in enumerate(lines)
                if (found := regex.search(text))]

    def wait(self, pattern, seconds, what=None, start=0):
        """The first (index, time, match) of `pattern` from line `start` on, waiting up to `seconds` for it."""
        regex, deadline, index = re.compile(pattern), time.monotonic() + seconds, start
        with self._changed:
            while True:
                while index < len(self.lines):
                    stamp, text = self.lines[index]
                    if found := regex.search(text):
                        return index, stamp, found
                    index += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    raise Failure(f"{self.name}: timed out after {seconds} s waiting for "
                                  f"{what or repr(pattern)}" + (" (its output ended)" if self.ended else ""))
                self._changed.wait(left)

    def count(self):
        with self._changed:
            return len(self.lines)

    def tail(self, lines=25):
        with self._changed:
            return [text for _, text in self.lines[-lines:]]


_everything = []  # servers and peers, so run() can show their output on a failure and stop them at the end


class Process:
    def stop(self, seconds=5):
        """SIGTERM (peers: end of input first, so they leave the mesh cleanly), then SIGKILL after `seconds`."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class MeshServer(Process):
    """eustress-server --mesh in the lab's internet namespace on 203.0.113.1 (a free port), with coturn on
    203.0.113.2 as its STUN and TURN server when `turn` is given. The TURN secret goes to the server in a 0600 file in
    the lab's private work directory, never on a command line."""

    def __init__(self, lab, build, name, turn=None, mesh=1):
        self.name = name
        argv = [f"{build}/apps/eustress-server", "--mesh", str(mesh), "--no-http", "--bind", SERVER_ADDRESS,
                "-p", "0", "--dev-cert-dir", os.path.join(lab.work, f"{name}-cert")]
        if turn:
            secret_file = os.path.join(lab.work, f"{name}-turn-secret")
            descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(turn.secret)
            coturn = f"{COTURN_ADDRESS}:{turn.port}"
            argv += ["--stun", coturn, "--turn", coturn, "--turn-secret-file", secret_file]
        self.process = nat_lab.popen(lab.internet, argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        harness._processes.append(self.process)
        _everything.append(self)
        self.output = Output(name, self.process.stdout, f"{name}.out")
        _, _, banner = self.output.wait(r"listening on (\S+):(\d+) pin (\S+)", 20, "the server's banner")
        self.host, self.port, self.pin = banner.group(1), int(banner.group(2)), banner.group(3)
        check(self.host == SERVER_ADDRESS, f"{name} listens on {self.host}, not {SERVER_ADDRESS}")
        check(self.port < nat_lab.RELAY_PORTS[0], f"{name} took port {self.port}, inside coturn's relay range")
        self.address = f"{self.host}:{self.port}"


class Peer(Process):
    """eustress-peer in a lab host's namespace, gathering only on the host's LAN address (so libnice has nothing else
    to try), with a pipe to type into and its output read line by line."""

    def __init__(self, build, host, server, name, extra=()):
        self.name, self.host, self.server, self.id = name, host, server, None
        argv = [f"{build}/apps/eustress-peer", "--server", server.address, "--pin", server.pin, "--local-address",
                host.address, *extra]
        self.process = nat_lab.popen(host.ns, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        harness._processes.append(self.process)
        _everything.append(self)
        self.output = Output(name, self.process.stdout, f"{name}.out")

    def wait_joined(self, seconds=20):
        """Waits for the server's Welcome; returns (and keeps) our member id."""
        _, _, found = self.output.wait(r"^mesh \d+ joined as (\d+)", seconds, "the mesh's welcome")
        self.id = int(found.group(1))
        return self.id

    def type(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def paths(self, peer, start=0):
        """The path changes reported for `peer`: dicts with time, index, from, to, local, remote, ms."""
        events = []
        for index, stamp, found in self.output.find(PATH_LINE.pattern, start):
            if int(found.group(1)) == peer:
                events.append({"index": index, "time": stamp, "from": found.group(2), "to": found.group(3),
                               "local": found.group(4), "remote": found.group(5), "ms": float(found.group(6))})
        return events

    def wait_path(self, peer, kinds, seconds, start=0):
        """The first path change to one of `kinds` reported for `peer` from line `start` on."""
        kinds = set(kinds)
        pattern = rf"^peer {peer} path \S+ -> ({'|'.join(map(re.escape, sorted(kinds)))})( |$)"
        self.output.wait(pattern, seconds, f"peer {peer}'s path to become {' or '.join(sorted(kinds))}", start)
        return next(event for event in self.paths(peer, start) if event["to"] in kinds)

    def wait_session(self, peer, seconds):
        """Until the peer session with `peer` is up ("peer N joined")."""
        return self.output.wait(rf"^peer {peer} joined$", seconds, f"the session with peer {peer}")

    def wait_chat(self, peer, text, seconds, start=0):
        """A chat line `text` from `peer`; returns (index, time, match)."""
        return self.output.wait(rf"^\[peer {peer}\] {re.escape(text)}$", seconds, f"{text!r} from peer {peer}", start)

    def status(self, peers, seconds=5):
        """/status: {peer id: {path, local, remote, rtt_ms, session, changes}} once the table holds `peers` rows."""
        start = self.output.count()
        self.type("/status")
        deadline = time.monotonic() + seconds
        header, _, _ = self.output.wait(r"^peer\s+path\s+local", seconds, "the /status table", start)
        while True:
            rows = {}
            for _, text in [(s, t) for s, t in self.output.lines[header + 1:header + 1 + peers]]:
                if found := STATUS_ROW.match(text):
                    rows[int(found.group(1))] = {"path": found.group(2), "local": found.group(3),
                                                 "remote": found.group(4), "rtt_ms": float(found.group(5)),
                                                 "session": found.group(6), "changes": int(found.group(7))}
            if len(rows) >= peers:
                return rows
            check(time.monotonic() < deadline, f"{self.name}: the /status table has {len(rows)} rows, not {peers}")
            time.sleep(0.01)

    def leave(self):
        """Ends the peer's input: it leaves the mesh a second later (time for its last lines to arrive)."""
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def stop(self, seconds=5):
        self.leave()
        super().stop(seconds)


def stop_all(processes, seconds=5):
    """Peers are told to leave all at once, then everything is stopped."""
    for process in processes:
        if isinstance(process, Peer):
            process.leave()
    for process in processes:
        process.stop(seconds)


class LineStream:
    """Types "seq N" (N = 1, 2, ...) into a peer every `every` seconds until stopped, so its session always has
    packets in flight: what a failover must not lose."""

    def __init__(self, peer, every=0.02):
        self.peer, self.every, self.sent, self._running = peer, every, 0, True
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)
        self._thread.start()

    def _run(self):
        due = time.monotonic()
        while self._running:
            self.sent += 1
            try:
                self.peer.type(f"seq {self.sent}")
            except OSError:  # the peer is gone (its test is failing): its output says why
                return
            due += self.every
            time.sleep(max(0.0, due - time.monotonic()))  # pacing the sender, not waiting for an event

    def stop(self):
        self._running = False
        self._thread.join()
        return self.sent


def wait_pair(a, b, path, seconds=20):
    """Both peers see `path` ("direct", "turn", "server-relay") to each other, with the session up."""
    for me, other in ((a, b), (b, a)):
        me.wait_path(other.id, {path}, seconds)
        me.wait_session(other.id, seconds)


def direct_pair(build, server, host_a, host_b, name_a, name_b):
    """Two peers on `server`, joined and direct to each other."""
    a = Peer(build, host_a, server, name_a)
    b = Peer(build, host_b, server, name_b)
    a.wait_joined()
    b.wait_joined()
    wait_pair(a, b, "direct")
    return a, b


def chat_both_ways(a, b, text, seconds=10):
    """A line from `a` reaches `b` and one from `b` reaches `a`."""
    a.type(f"{text} from {a.name}")
    b.type(f"{text} from {b.name}")
    b.wait_chat(a.id, f"{text} from {a.name}", seconds)
    a.wait_chat(b.id, f"{text} from {b.name}", seconds)


def check_sites(lab, sites):
    """Every site's NAT classified (quick_classify, in parallel) and compared with its kind: a wrong rule fails here
    rather than passing silently as some other kind."""
    results, threads = {}, []

    def classify(site):
        try:
            results[site.name] = lab.quick_classify(site)
        except Exception as error:  # reported below, on the caller's thread
            results[site.name] = error

    for site in sites:
        threads.append(threading.Thread(target=classify, args=(site,)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    for site in sites:
        found = results[site.name]
        check(not isinstance(found, Exception), f"classifying {site.name}: {found}")
        mappings, filterings = nat_lab.expected_behaviour(site.nat)
        check(found[0] in mappings and found[1] in filterings,
              f"site {site.name} ({site.nat}) classified as {found}, expected mapping in {sorted(mappings)} and "
              f"filtering in {sorted(filterings)}")
    progress(f"{len(sites)} sites classified as their kinds: " +
             ", ".join(f"{site.name} {site.nat}" for site in sites))


def run(main, build):
    """Runs main(build) in the harness's work directory (logs kept there on failure); a Failure (or any exception)
    becomes the harness's FAIL line, after the tail of every process's output."""
    if os.geteuid() != 0:
        harness.fail("the P2P tests need root: the NAT lab creates network namespaces")
    for program in ("ip", "nft", "sysctl", "turnserver"):
        harness.require(program)
    for program in ("eustress-server", "eustress-peer"):
        if not os.access(f"{build}/apps/{program}", os.X_OK):
            harness.fail(f"{build}/apps/{program} is not built")
    stale = nat_lab.cleanup_stale()
    if stale:
        progress(f"cleanup_stale removed {len(stale)} namespaces of dead earlier runs")
    harness.work_directory()
    try:
        main(build)
    except (Failure, nat_lab.LabError, AssertionError) as error:
        for process in _everything:
            print(f"--- {process.name} (last lines)", file=sys.stderr)
            for line in process.output.tail():
                print("    " + line, file=sys.stderr)
        harness.fail(str(error))
    finally:
        stop_all(list(reversed(_everything)), 2)
    progress(f"PASS in {time.monotonic() - began:.1f} s")
