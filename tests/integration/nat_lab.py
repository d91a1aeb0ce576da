"""Real NATs in network namespaces for the P2P tests (docs/P2P.md, "The NAT lab").

    with nat_lab.Lab() as lab:
        home = lab.add_site("home", "port_restricted")      # router namespace + one LAN host namespace
        turn = lab.start_coturn()                           # STUN/TURN on both internet addresses
        probe = nat_lab.udp_socket(home.host.ns)            # a socket made inside the host's namespace
        print(nat_lab.binding(probe, (turn.addresses[0], turn.port)))  # its mapping: (('203.0.113.11', port), ...)
        print(lab.classify(home))                           # ('endpoint-independent', 'address-and-port-dependent')

Topology: one "internet" namespace with a bridge holding 203.0.113.1 and .2 (game server, coturn), one router
namespace per site (wan0 = 203.0.113.(10+i) on that bridge, lan0 = a bridge holding 10.i.0.1/24) and one namespace per
LAN host (10.i.0.(1+n), default route via the router). A site of kind "none" has no router: its hosts sit on the
internet bridge with public addresses. Nothing is attached to the root namespace and no namespace has a route out of
the lab. Every name starts with a per-run prefix (`en<pid%10000>-`); the lab is removed by Lab.close(), which runs
on leaving the `with`, at exit, and on SIGTERM/SIGINT; cleanup_stale() removes what a killed run left behind.
Needs root (CAP_NET_ADMIN) and the Debian packages iproute2, nftables, procps and coturn.
"""
import atexit
import base64
import ctypes
import dataclasses
import fnmatch
import hashlib
import hmac
import os
import random
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import require  # noqa: E402  (names the Debian package of a missing program)

NAT_KINDS = ("none", "full_cone", "address_restricted", "port_restricted", "symmetric")
INTERNET_ADDRESSES = ("203.0.113.1", "203.0.113.2")
STUN_PORT = 3478
RELAY_PORTS = (49152, 49407)
REALM = "natlab.eustress.test"
OWNERS = "/run/eustress-nat-lab"  # a file per live lab: "<pid> <start time> <work directory>", for cleanup_stale()

EI, AD, APD = "endpoint-independent", "address-dependent", "address-and-port-dependent"


class LabError(Exception):
    pass


def expected_behaviour(nat):
    """What RFC 5780 probing must show for a NAT kind: (mappings allowed, filterings allowed)."""
    return {
        "none": ({EI}, {EI}),
        "full_cone": ({EI}, {EI}),
        "address_restricted": ({EI}, {AD}),
        "port_restricted": ({EI}, {APD}),
        "symmetric": ({APD, AD}, {APD, AD}),
    }[nat]


def expected_direct(nat_a, nat_b):
    """Whether hosts behind these two kinds reach each other directly (ICE-style punching), or need TURN: only a
    symmetric NAT against a port-restricted or symmetric one needs the relay (docs/P2P.md; punch() checks it)."""
    return not ({nat_a, nat_b} & {"symmetric"} and {nat_a, nat_b} <= {"symmetric", "port_restricted"})


# --- running programs and opening sockets inside a namespace

def run(ns, argv, check=True, capture_output=True, text=True, timeout=30, **popen_kwargs):
    """argv inside namespace `ns` (`ip netns exec`; ns None: here), waited for; raises LabError naming the command
    on failure (unless check=False). Output is captured as text by default."""
    command = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    done = subprocess.run(command, capture_output=capture_output, text=text, timeout=timeout, **popen_kwargs)
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(command)} failed ({done.returncode}): {(done.stderr or '').strip()}")
    return done


def popen(ns, argv, **popen_kwargs):
    """argv started inside namespace `ns`; Lab.close() kills whatever still runs in the lab's namespaces."""
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], **popen_kwargs)


def _ip(*arguments, ns=None, check=True):
    return run(None, ["ip", *(["-n", ns] if ns else []), *arguments], check=check)


_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_namespace(ns, function):
    """function() called on a thread moved into namespace `ns`: the network namespace is per thread, and a socket
    keeps the namespace it was made in, so Python probes and captures need no helper process."""
    outcome = {}

    def body():
        try:
            with open(f"/run/netns/{ns}") as handle:
                if _libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns}")
            outcome["value"] = function()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=body, name=f"setns-{ns}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def udp_socket(ns, address="0.0.0.0", port=0):
    """A bound UDP socket living in namespace `ns`."""

    def make():
        made = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        made.bind((address, port))
        return made

    return in_namespace(ns, make)


# --- STUN (RFC 5389/5780) and TURN (RFC 5766) messages, just what the lab's probes need

MAGIC = 0x2112A442
BINDING, ALLOCATE, CREATE_PERMISSION = 0x001, 0x003, 0x008
SEND, DATA = 0x006, 0x007  # methods of the Send and Data indications
ATTR = {"MAPPED": 0x0001, "CHANGE": 0x0003, "USERNAME": 0x0006, "INTEGRITY": 0x0008, "ERROR": 0x0009,
        "PEER": 0x0012, "DATA": 0x0013, "REALM": 0x0014, "NONCE": 0x0015, "RELAYED": 0x0016, "TRANSPORT": 0x0019,
        "XOR_MAPPED": 0x0020, "ORIGIN": 0x802B, "OTHER": 0x802C, "FINGERPRINT": 0x8028}
CHANGE_IP, CHANGE_PORT = 0x4, 0x2  # CHANGE-REQUEST flags, for binding(change=...)


def _attribute(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_address(address, port):
    """An XOR-PEER-ADDRESS (or -MAPPED, -RELAYED) value for an IPv4 address."""
    raw = socket.inet_aton(address)
    key = struct.pack("!I", MAGIC)
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + bytes(a ^ b for a, b in zip(raw, key))


def stun_message(method, attributes=(), transaction=None, cls=0, key=None):
    """A STUN message (class 0 request, 1 indication); with `key`, MESSAGE-INTEGRITY and FINGERPRINT are appended."""
    transaction = transaction or os.urandom(12)
    kind = (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
    body = b"".join(_attribute(k, v) for k, v in attributes)
    if key is not None:
        header = struct.pack("!HHI12s", kind, len(body) + 24, MAGIC, transaction)
        body += _attribute(ATTR["INTEGRITY"], hmac.new(key, header + body, hashlib.sha1).digest())
        header = struct.pack("!HHI12s", kind, len(body) + 8, MAGIC, transaction)
        crc = zlib.crc32(header + body) ^ 0x5354554E
        body += _attribute(ATTR["FINGERPRINT"], struct.pack("!I", crc))
    return struct.pack("!HHI12s", kind, len(body), MAGIC, transaction) + body


def stun_parse(data):
    """(method, class, transaction, {attribute type: raw value}) or None for anything that is not STUN."""
    if len(data) < 20:
        return None
    kind, length, magic, transaction = struct.unpack("!HHI12s", data[:20])
    if magic != MAGIC or len(data) < 20 + length:
        return None
    attributes, offset = {}, 20
    while offset + 4 <= 20 + length:
        attribute, size = struct.unpack("!HH", data[offset:offset + 4])
        attributes.setdefault(attribute, data[offset + 4:offset + 4 + size])
        offset += 4 + size + (-size % 4)
    method = (kind & 0x000F) | ((kind >> 1) & 0x0070) | ((kind >> 2) & 0x0F80)
    return method, ((kind >> 4) & 1) | ((kind >> 7) & 2), transaction, attributes


def stun_address(attributes, name):
    """An address attribute as (ip, port); XOR-* variants are un-XORed."""
    value = attributes.get(ATTR[name])
    if value is None or len(value) < 8:
        return None
    port, raw = struct.unpack("!H", value[2:4])[0], value[4:8]
    if name.startswith("XOR") or name in ("PEER", "RELAYED"):
        port ^= MAGIC >> 16
        raw = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))
    return socket.inet_ntoa(raw), port


def stun_request(sock, server, message, timeout=1.0, tries=3):
    """Sends `message` (retransmitting, as STUN over UDP does) until the response with its transaction arrives;
    returns (parsed response, the address it came from) or None."""
    transaction = message[8:20]
    for _ in range(tries):
        sock.sendto(message, server)
        deadline = time.monotonic() + timeout / tries
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, source = sock.recvfrom(65535)
            except socket.timeout:
                break
            parsed = stun_parse(data)
            if parsed and parsed[2] == transaction and parsed[1] in (2, 3):
                return parsed, source
    return None


def binding(sock, server, change=0, timeout=1.0):
    """A Binding request (with CHANGE-REQUEST flags): (mapped address, response origin, other address) or None."""
    attributes = [(ATTR["CHANGE"], struct.pack("!I", change))] if change else []
    answer = stun_request(sock, server, stun_message(BINDING, attributes), timeout)
    if not answer:
        return None
    (_, _, _, found), source = answer
    mapped = stun_address(found, "XOR_MAPPED") or stun_address(found, "MAPPED")
    return mapped, source, stun_address(found, "OTHER")


def punch(turn, host_a, host_b, rounds=10, interval=0.05):
    """Whether two hosts reach each other directly as ICE would: each learns its mapping from coturn, both send to the
    other's mapping every `interval` seconds and, like a peer-reflexive candidate, answer wherever packets came from.
    True once both heard the other (within `rounds` rounds)."""
    sockets = [udp_socket(host_a.ns), udp_socket(host_b.ns)]
    try:
        mapped = [binding(mine, (turn.addresses[0], turn.port)) for mine in sockets]
        if not all(mapped):
            raise LabError(f"no STUN answer to {host_a.ns} or {host_b.ns}")
        target, heard = [mapped[1][0], mapped[0][0]], [False, False]
        for _ in range(rounds):
            for mine, peer in zip(sockets, target):
                mine.sendto(b"punch", peer)
            for side, mine in enumerate(sockets):
                source = _last_source(mine, interval)
                if source:
                    heard[side], target[side] = True, source
            if all(heard):
                return True
        return False
    finally:
        for mine in sockets:
            mine.close()


def _last_source(sock, seconds):
    """Drains what arrives within `seconds`; the address the last datagram came from, or None."""
    source, deadline = None, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            source = sock.recvfrom(2048)[1]
        except socket.timeout:
            break
    return source


# --- NAT recipes (docs/P2P.md), each verified by classify() in nat_lab_selftest_test.py

# Full cone: inbound UDP to ANY mapped port goes to the host that owns the mapping (NOTES: a DNAT over a narrow port
# range silently behaves as port-restricted outside it, and libnice binds ephemeral ports). The map is learnt after
# masquerade (priority srcnat + 10) from the translated conntrack entry, so it holds the external port and the internal
# address and port even when masquerade picked another port or hosts share the LAN. Entries live 2 minutes after the
# last outbound packet, like conntrack's UDP stream timeout.
_CONE_MAP = """  map cone { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 2m; }
  chain learn { type filter hook postrouting priority srcnat + 10;
    oifname "wan0" meta l4proto udp update @cone { ct reply proto-dst : ct original ip saddr . ct original proto-src }
  }
"""
_CONE_DNAT = """    iifname "wan0" meta l4proto udp dnat ip to udp dport map @cone
"""
# Address-restricted: the set is keyed by remote address, internal address and internal port (NOTES: keyed by the
# remote address alone, RFC 5780 filtering tests misreport it); inbound from a remote the mapping never wrote to drops.
_CONTACTED_SET = """  set contacted { type ipv4_addr . ipv4_addr . inet_service; flags dynamic, timeout; timeout 2m; }
"""
_CONTACTED_FILTER = """    oifname "wan0" meta l4proto udp update @contacted { ip daddr . ip saddr . udp sport }
    iifname "wan0" ct state new meta l4proto udp ip saddr . ip daddr . udp dport != @contacted drop
"""
# Port-restricted cone is Linux's plain masquerade: it keeps the internal port (endpoint-independent mapping) and
# conntrack lets back only what answers a flow (address-and-port-dependent filtering). Symmetric is `masquerade
# random`: a new port for every destination. Input from the WAN is dropped unless it answers the router (NOTES
# pitfall: a router that answers unsolicited packets, e.g. with ICMP port unreachable, leaves conntrack entries that
# make the other router remap its host's port, and port-restricted x port-restricted punching then fails).
_ROUTER = """table ip nat_lab {{
{sets}  chain prerouting {{ type nat hook prerouting priority dstnat;
{prerouting}  }}
  chain postrouting {{ type nat hook postrouting priority srcnat;
    oifname "wan0" masquerade{random}
  }}
  chain input {{ type filter hook input priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" drop
  }}
  chain forward {{ type filter hook forward priority filter; policy accept;
{forward}  }}
}}
"""


def _router_rules(nat):
    """The router's nftables table for a NAT kind (docs/P2P.md; verified by classify())."""
    cone, restricted = nat in ("full_cone", "address_restricted"), nat == "address_restricted"
    return _ROUTER.format(sets=(_CONE_MAP if cone else "") + (_CONTACTED_SET if restricted else ""),
                          prerouting=_CONE_DNAT if cone else "", random=" random" if nat == "symmetric" else "",
                          forward=_CONTACTED_FILTER if restricted else "")


# A public host (site "none") gets empty filter chains so the blocking helpers have somewhere to put their rules.
_PUBLIC_HOST_RULES = """table ip nat_lab {
  chain input { type filter hook input priority filter; policy accept; }
  chain output { type filter hook output priority filter; policy accept; }
}
"""


def _nft(ns, script):
    run(ns, ["nft", "-f", "-"], input=script)


def _nft_rule(ns, chain, rule):
    """Inserts `rule` at the top of `chain` (before any accept) and returns its handle."""
    done = run(ns, ["nft", "--echo", "--handle", "insert", "rule", "ip", "nat_lab", chain, *rule.split()])
    found = re.search(r"# handle (\d+)", done.stdout)
    if not found:
        raise LabError(f"nft gave no handle for {rule!r}: {done.stdout!r}")
    return int(found.group(1))


# --- the lab

@dataclasses.dataclass
class Host:
    ns: str
    address: str
    site: "Site" = dataclasses.field(repr=False)


@dataclasses.dataclass
class Site:
    name: str
    nat: str
    index: int
    public: str  # the router's WAN address, or the first host's own address for "none"
    router: str | None  # the router's namespace (None for "none")
    hosts: list = dataclasses.field(default_factory=list)

    @property
    def host(self):
        return self.hosts[0]


@dataclasses.dataclass
class Turn:
    addresses: tuple
    port: int
    secret: str
    realm: str
    process: subprocess.Popen
    log: str

    def credentials(self, name, lifetime=3600):
        """TURN REST-API credentials: username "<expiry>:<name>", password base64(HMAC-SHA1(secret, username))."""
        username = f"{int(time.time()) + lifetime}:{name}"
        digest = hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()


@dataclasses.dataclass
class Block:
    """Rules added by a blocking helper: [(namespace, chain, handle)]; Lab.unblock() removes exactly those."""
    rules: list


_open_labs = []


def _close_open_labs():
    for lab in list(_open_labs):
        lab.close()


def _on_signal(signum, _frame):
    # Raising unwinds `with` blocks and runs atexit, so the lab and harness.py's processes go as on any exit.
    raise SystemExit(128 + signum)


def _install_exit_paths():
    """Closes open labs at exit, and turns SIGTERM/SIGINT into SystemExit unless the caller installed a handler of its
    own (which then has to exit the same way for the lab to go)."""
    if getattr(_install_exit_paths, "done", False):
        return
    atexit.register(_close_open_labs)
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(signum, _on_signal)
    _install_exit_paths.done = True


def _start_time(pid):
    """A process's start time (field 22 of /proc/PID/stat), so a reused pid is not taken for the owner."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _namespaces():
    return [line.split()[0] for line in _ip("netns", "list").stdout.splitlines() if line.strip()]


def _remove_namespace(ns):
    """Kills what still runs inside (a live process keeps a deleted namespace and its links alive), then deletes."""
    for pid in _ip("netns", "pids", ns, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _ip("netns", "delete", ns, check=False)


def _owner(prefix):
    """The owner file's fields: [pid, start time, work directory (once made)], or [] when there is none."""
    try:
        with open(os.path.join(OWNERS, prefix)) as owner:
            return owner.read().split()
    except OSError:
        return []


def _owner_alive(prefix):
    fields = _owner(prefix)
    return len(fields) >= 2 and fields[0].isdigit() and _start_time(int(fields[0])) == fields[1]


def _write_owner(prefix, work=""):
    with open(os.path.join(OWNERS, prefix), "w") as owner:
        owner.write(f"{os.getpid()} {_start_time(os.getpid())} {work}\n")


def _is_lab_prefix(prefix, prefix_glob):
    """Only names a lab makes (en + up to 4 digits + -) are ever removed, whatever the glob matches."""
    return re.fullmatch(r"en\d{1,4}-", prefix) is not None and fnmatch.fnmatch(prefix, prefix_glob)


def cleanup_stale(prefix_glob="en*-"):
    """Removes the namespaces (and their processes) and work directories of labs whose owning process is dead, e.g.
    killed with SIGKILL; labs of live processes, such as a parallel run, are left alone. Returns the namespaces
    removed."""
    removed = []
    for ns in _namespaces():
        prefix = ns.split("-", 1)[0] + "-"
        if _is_lab_prefix(prefix, prefix_glob) and not _owner_alive(prefix):
            _remove_namespace(ns)
            removed.append(ns)
    for prefix in os.listdir(OWNERS) if os.path.isdir(OWNERS) else []:
        if _is_lab_prefix(prefix, prefix_glob) and not _owner_alive(prefix):
            for work in _owner(prefix)[2:]:
                shutil.rmtree(work, ignore_errors=True)  # coturn's config (with the secret) and log
            os.unlink(os.path.join(OWNERS, prefix))
    return removed


def _claim_prefix():
    """`en<pid%10000>-`, or a random one while a live lab holds it; the owner file is written before any namespace
    exists, so a crash at any point leaves namespaces cleanup_stale() can attribute."""
    os.makedirs(OWNERS, mode=0o755, exist_ok=True)
    prefix = f"en{os.getpid() % 10000}-"
    while True:
        cleanup_stale(prefix)
        if not any(ns.startswith(prefix) for ns in _namespaces()) and not _owner_alive(prefix):
            break
        prefix = f"en{random.randrange(10000)}-"
    _write_owner(prefix)
    return prefix


class Lab:
    """The namespaces of one run. Use as a context manager; close() is also run at exit and on SIGTERM/SIGINT."""

    def __init__(self):
        if os.geteuid() != 0:
            raise LabError("the NAT lab needs root (it creates network namespaces)")
        for program in ("ip", "nft", "sysctl"):
            require(program)
        _install_exit_paths()
        self.prefix = _claim_prefix()
        self.sites, self.namespaces, self.turn = [], [], None
        self.work = tempfile.mkdtemp(prefix=f"nat-lab-{self.prefix}")  # private (0700): coturn's config and log
        _write_owner(self.prefix, self.work)
        self._lock = threading.Lock()
        self._public_hosts = 0
        _open_labs.append(self)
        self.internet = self._namespace("inet")
        _ip("link", "add", "br0", "type", "bridge", ns=self.internet)
        for address in INTERNET_ADDRESSES:
            _ip("address", "add", f"{address}/24", "dev", "br0", ns=self.internet)
        _ip("link", "set", "br0", "up", ns=self.internet)
        # Services started here with port 0 (the game server) take ports below coturn's relay range, so the blocking
        # helpers can tell them from TURN by port (block_turn).
        run(self.internet, ["sysctl", "-q", "-w", f"net.ipv4.ip_local_port_range=32768 {RELAY_PORTS[0] - 1}"])

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def close(self):
        """Stops coturn and removes every namespace of this lab (their links, bridges and rules go with them)."""
        with self._lock:
            if self not in _open_labs:
                return
            for running in [c for c in _captures if c.ns.startswith(self.prefix)]:
                running.stop()
            if self.turn and self.turn.process.poll() is None:
                self.turn.process.kill()
                self.turn.process.wait()
            for ns in reversed([ns for ns in _namespaces() if ns.startswith(self.prefix)]):
                _remove_namespace(ns)
            shutil.rmtree(self.work, ignore_errors=True)
            try:
                os.unlink(os.path.join(OWNERS, self.prefix))
            except FileNotFoundError:
                pass
            _open_labs.remove(self)

    def _namespace(self, name, forwarding=False):
        ns = self.prefix + name
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        # IPv4 only (no link-local IPv6 candidates or router solicitations); no bridge traffic through the IP hooks
        # (br_netfilter may be loaded); forwarding in routers only.
        run(ns, ["sysctl", "-q", "-e", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1", "net.bridge.bridge-nf-call-iptables=0",
                 f"net.ipv4.ip_forward={int(forwarding)}"], check=False)
        _ip("link", "set", "lo", "up", ns=ns)
        return ns

    def _cable(self, ns, name, peer_ns, peer_name, bridge):
        """A veth created directly between two lab namespaces (never in the root one), its peer end on `bridge`."""
        _ip("link", "add", name, "type", "veth", "peer", "name", peer_name, "netns", peer_ns, ns=ns)
        _ip("link", "set", peer_name, "master", bridge, "up", ns=peer_ns)
        _ip("link", "set", name, "up", ns=ns)

    def add_site(self, name, nat):
        """A site: a router namespace doing `nat` between the internet bridge and a LAN bridge, and one LAN host.
        For "none" there is no router and the host has a public address on the internet bridge."""
        if nat not in NAT_KINDS:
            raise LabError(f"unknown NAT kind {nat!r} (one of {', '.join(NAT_KINDS)})")
        if not re.fullmatch(r"[a-z0-9_]{1,20}", name) or any(site.name == name for site in self.sites):
            raise LabError(f"bad or duplicate site name {name!r}")
        index = len(self.sites) + 1
        public = f"203.0.113.{10 + index}"
        site = Site(name, nat, index, public, None if nat == "none" else self._namespace(f"{name}-r", True))
        self.sites.append(site)
        if site.router:
            self._cable(site.router, "wan0", self.internet, f"s{index}", "br0")
            _ip("address", "add", f"{public}/24", "dev", "wan0", ns=site.router)
            _ip("link", "add", "lan0", "type", "bridge", ns=site.router)
            _ip("address", "add", f"10.{index}.0.1/24", "dev", "lan0", ns=site.router)
            _ip("link", "set", "lan0", "up", ns=site.router)
            _nft(site.router, _router_rules(nat))
        self.add_host(site)
        return site

    def add_host(self, site):
        """One more host namespace on the site's LAN (10.i.0.(1+n)), or a public host for a "none" site (the site's
        address first, then 203.0.113.128 onwards)."""
        n = len(site.hosts) + 1
        ns = self._namespace(f"{site.name}-{n}")
        if site.router:
            address = f"10.{site.index}.0.{1 + n}"
            self._cable(ns, "eth0", site.router, f"h{n}", "lan0")
            _ip("address", "add", f"{address}/24", "dev", "eth0", ns=ns)
            _ip("route", "add", "default", "via", f"10.{site.index}.0.1", ns=ns)
        else:
            address = site.public if n == 1 else f"203.0.113.{128 + self._public_hosts}"
            self._public_hosts += n > 1
            self._cable(ns, "eth0", self.internet, f"s{site.index}h{n}", "br0")
            _ip("address", "add", f"{address}/24", "dev", "eth0", ns=ns)
            _nft(ns, _PUBLIC_HOST_RULES)
        host = Host(ns, address, site)
        site.hosts.append(host)
        return host

    # --- coturn

    def start_coturn(self, secret=None, port=STUN_PORT):
        """turnserver in the internet namespace on both internet addresses (RFC 5780 needs two), time-limited REST-API
        credentials only; returns once it answers a STUN Binding request on both."""
        require("turnserver")
        secret = secret or secrets.token_urlsafe(24)
        config = os.path.join(self.work, "turnserver.conf")
        # The secret lives only in this 0600 file inside the lab's 0700 directory, never on a command line.
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(_coturn_config(self.work, secret, port))
        log = os.path.join(self.work, "turnserver.log")
        with open(log, "w") as output:
            process = popen(self.internet, ["turnserver", "-c", config], stdout=output, stderr=subprocess.STDOUT)
        self.turn = Turn(INTERNET_ADDRESSES, port, secret, REALM, process, log)
        probe = udp_socket(self.internet)
        try:
            for address in INTERNET_ADDRESSES:
                _wait_for(f"turnserver to answer on {address}:{port}",
                          lambda: _exited(process, log) or binding(probe, (address, port), timeout=0.2), 10)
        finally:
            probe.close()
        return self.turn


    # --- verifying a NAT

    def classify(self, site, host=None):
        """(mapping, filtering) behaviour of the site's router as RFC 5780 probing sees it from a LAN host:
        turnutils_natdiscovery -m and -f (run separately) against this lab's coturn. Each is EI, AD or APD."""
        if not self.turn:
            raise LabError("classify() needs start_coturn() first")
        require("turnutils_natdiscovery")
        host = host or site.host
        return tuple(_natdiscovery(host.ns, flag, self.turn) for flag in ("-m", "-f"))

    def quick_classify(self, site, host=None, timeout=1.0):
        """classify() in a second or two: RFC 5780's mapping tests (section 4.3) and filtering tests (4.4) with the
        lab's own Binding requests against coturn, waiting `timeout` seconds for an answer that may not come instead of
        natdiscovery's long timeouts. The self-test checks that it agrees with classify() on every kind."""
        if not self.turn:
            raise LabError("quick_classify() needs start_coturn() first")
        host = host or site.host
        primary = (self.turn.addresses[0], self.turn.port)

        def ask(sock, server, change=0):
            found = binding(sock, server, change, timeout)
            if not found and not change:
                raise LabError(f"no STUN answer from {server} to {host.ns}")
            return found

        sock = udp_socket(host.ns)
        try:
            mapped, _, other = ask(sock, primary)
            if not other:
                raise LabError("coturn sent no OTHER-ADDRESS: it needs two listening addresses")
            if mapped[0] != site.public and mapped[0] != host.address:
                raise LabError(f"{host.ns} is mapped to {mapped}, not to its site's public address {site.public}")
            mapped_other_address = ask(sock, (other[0], primary[1]))[0]
            if mapped_other_address == mapped:
                mapping = EI
            else:
                mapping = AD if ask(sock, other)[0] == mapped_other_address else APD
        finally:
            sock.close()
        # A fresh mapping for filtering: the one above has written to the other address, which address-dependent
        # filtering would then let answer.
        sock = udp_socket(host.ns)
        try:
            ask(sock, primary)
            if ask(sock, primary, CHANGE_IP | CHANGE_PORT):
                filtering = EI
            else:
                filtering = AD if ask(sock, primary, CHANGE_PORT) else APD
        finally:
            sock.close()
        return mapping, filtering

    # --- breaking paths, for failover tests

    def block_udp_between(self, site_a, site_b):
        """Drops UDP between the two sites' public addresses, both ways, in site_a's router forward chain (site_b's
        when site_a has no router; a public host's own input/output chains when neither has)."""
        gate, other = (site_a, site_b) if site_a.router or not site_b.router else (site_b, site_a)
        addresses = ", ".join(_public_addresses(other))
        return self._gate_rules(gate, f"meta l4proto udp ip daddr {{ {addresses} }} drop",
                                f"meta l4proto udp ip saddr {{ {addresses} }} drop")

    def block_all_udp_except(self, site, address, port):
        """Drops all of the site's UDP to and from the internet except with address:port (the game server)."""
        return self._gate_rules(site, f"meta l4proto udp ip daddr . udp dport != {{ {address} . {port} }} drop",
                                f"meta l4proto udp ip saddr . udp sport != {{ {address} . {port} }} drop")

    def block_all_udp(self, site):
        """Drops all of the site's UDP to and from the internet (a network that lets only TCP out)."""
        return self._gate_rules(site, "meta l4proto udp drop", "meta l4proto udp drop")

    def block_turn(self, site):
        """Drops the site's UDP to and from coturn: its STUN/TURN port and RFC 5780's alternative port, and the relay
        ports, on both internet addresses. Other services there (the game server, on an ephemeral port below the relay
        range) still pass, and so does UDP to other sites."""
        addresses = ", ".join(INTERNET_ADDRESSES)
        ports = f"{self.turn.port}, {self.turn.port + 1}, {RELAY_PORTS[0]}-{RELAY_PORTS[1]}"
        return self._gate_rules(site, f"meta l4proto udp ip daddr {{ {addresses} }} udp dport {{ {ports} }} drop",
                                f"meta l4proto udp ip saddr {{ {addresses} }} udp sport {{ {ports} }} drop")

    def unblock(self, block):
        """Removes exactly the rules `block` added."""
        for ns, chain, handle in block.rules:
            run(ns, ["nft", "delete", "rule", "ip", "nat_lab", chain, "handle", str(handle)])
        block.rules.clear()

    def _gate_rules(self, site, outbound, inbound):
        """An outbound and an inbound rule where the site meets the internet: the router's forward chain (after DNAT
        and before SNAT, so LAN side addresses are private and remote ones public), or each public host's chains."""
        places = [(site.router, "forward", "forward", "wan0")] if site.router else \
            [(host.ns, "output", "input", "eth0") for host in site.hosts]
        rules = []
        for ns, out_chain, in_chain, wan in places:
            rules.append((ns, out_chain, _nft_rule(ns, out_chain, f'oifname "{wan}" {outbound}')))
            rules.append((ns, in_chain, _nft_rule(ns, in_chain, f'iifname "{wan}" {inbound}')))
        return Block(rules)


def _public_addresses(site):
    return [site.public] if site.router else [host.address for host in site.hosts]


_BEHAVIOUR = {"endpoint independent": EI, "address dependent": AD, "address and port dependent": APD}


def _natdiscovery(ns, flag, turn):
    done = run(ns, ["turnutils_natdiscovery", flag, "-p", str(turn.port), turn.addresses[0]], timeout=60)
    kind = "Mapping" if flag == "-m" else "Filtering"
    found = re.search(rf"NAT with (.+?) {kind}!", done.stdout)
    if not found or found.group(1).lower() not in _BEHAVIOUR:
        raise LabError(f"turnutils_natdiscovery {flag} in {ns} reported no {kind.lower()} behaviour:\n{done.stdout}")
    return _BEHAVIOUR[found.group(1).lower()]

def _coturn_config(directory, secret, port):
    listening = "".join(f"listening-ip={address}\n" for address in INTERNET_ADDRESSES)
    return f"""{listening}listening-port={port}
min-port={RELAY_PORTS[0]}
max-port={RELAY_PORTS[1]}
use-auth-secret
static-auth-secret={secret}
realm={REALM}
fingerprint
no-tls
no-dtls
no-cli
log-file=stdout
simple-log
pidfile={directory}/turnserver.pid
userdb={directory}/turndb
# coturn 4.6 denies loopback peers (allow-loopback-peers is off) and 0.0.0.0/8, nothing else by default; the lab's
# peers are all in 203.0.113.0/24, allowed explicitly so that a packaged default or a later version cannot deny them.
allowed-peer-ip=203.0.113.0-203.0.113.255
# Private peers are refused, as docs/P2P.md tells production servers to do. It matters here too: ICE asks for
# permissions towards the other peer's host candidates (10.x), and relaying there from a namespace with no route
# fails with ENETUNREACH, on which coturn closes the whole allocation, so every relayed pair of that agent failed.
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip=172.16.0.0-172.31.255.255
denied-peer-ip=192.168.0.0-192.168.255.255
no-multicast-peers
"""


def _exited(process, log):
    if process.poll() is not None:
        with open(log, errors="replace") as output:
            raise LabError(f"turnserver exited ({process.returncode}):\n{output.read()[-2000:]}")
    return None


def _wait_for(what, predicate, seconds):
    """Polls predicate() every 50 ms until it is true; raises LabError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise LabError("timed out waiting for " + what)


# --- capturing packets, to see what crosses a link (e.g. that relayed traffic is opaque)

@dataclasses.dataclass
class Packet:
    direction: str  # "in" or "out" of the interface
    src: str
    dst: str
    protocol: int  # IP protocol number: 17 UDP, 6 TCP, 1 ICMP
    sport: int | None
    dport: int | None
    payload: bytes  # the UDP or TCP payload (the IP payload for other protocols)
    time: float = 0.0  # when it crossed the interface (the kernel's timestamp), on the time.monotonic() clock


_ETH_P_ALL, _ETH_P_IP, _PACKET_OUTGOING = 0x0003, 0x0800, 4


def _parse_frame(frame, pkttype):
    """An Ethernet frame carrying IPv4 as a Packet, or None."""
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != _ETH_P_IP:
        return None
    ip = frame[14:]
    header, total = (ip[0] & 0x0F) * 4, struct.unpack("!H", ip[2:4])[0]
    protocol, body = ip[9], ip[header:total]
    sport = dport = None
    if protocol in (6, 17) and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        body = body[8:] if protocol == 17 else body[(body[12] >> 4) * 4:]
    return Packet("out" if pkttype == _PACKET_OUTGOING else "in", socket.inet_ntoa(ip[12:16]),
                  socket.inet_ntoa(ip[16:20]), protocol, sport, dport, bytes(body))


class Capture:
    """IPv4 packets seen on `iface` inside namespace `ns`, read into `packets` by a thread from an AF_PACKET socket
    (pure Python: no tcpdump). `keep(packet)` chooses which are kept. Use as a context manager, or stop()."""

    def __init__(self, ns, iface, keep=None):
        self.ns, self.iface, self.keep, self.packets = ns, iface, keep, []
        self._changed = threading.Condition()
        self._sock = in_namespace(ns, lambda: _packet_socket(iface))
        self._running = True
        self._thread = threading.Thread(target=self._read, name=f"capture-{ns}-{iface}", daemon=True)
        self._thread.start()
        _captures.append(self)

    def _read(self):
        while self._running:
            try:
                frame, ancillary, _, (_, _, pkttype, _, _) = self._sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except (socket.timeout, OSError):
                continue
            packet = _parse_frame(frame, pkttype)
            if packet:
                packet.time = _arrival(ancillary)
            if packet and (self.keep is None or self.keep(packet)):
                with self._changed:
                    self.packets.append(packet)
                    self._changed.notify_all()

    def wait_for(self, predicate, seconds):
        """The first captured packet satisfying predicate, waiting up to `seconds` for it; None if none came."""
        with self._changed:
            found = self._changed.wait_for(lambda: next((p for p in self.packets if predicate(p)), None), seconds)
        return found

    def contains(self, data):
        """Whether any captured payload holds the bytes `data` (e.g. a plaintext marker)."""
        with self._changed:
            return any(data in packet.payload for packet in self.packets)

    def stop(self):
        if self._running:
            self._running = False
            self._thread.join()
            self._sock.close()
            _captures.remove(self)
        return self.packets

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


_captures = []


_SO_TIMESTAMPNS = 35  # also the type of its control message (SCM_TIMESTAMPNS)


def _arrival(ancillary):
    """The kernel's receive time of a frame (SO_TIMESTAMPNS, on the realtime clock) as a time.monotonic() value, so
    a busy capture thread does not make packets look later than they were; the read time when there is none."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9 - (time.time() - time.monotonic())
    return time.monotonic()


def _packet_socket(iface):
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    raw.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    raw.bind((iface, _ETH_P_ALL))
    raw.settimeout(0.1)  # so stop() is noticed
    return raw


def capture(ns, iface, keep=None):
    """A running Capture of `iface` in `ns` (see Capture)."""
    return Capture(ns, iface, keep)


# --- a TURN client, to prove relaying works and to stand in for a relayed peer

class TurnClient:
    """One TURN allocation (RFC 5766) over UDP from `sock`, authenticated with the lab coturn's REST-API credentials."""

    def __init__(self, sock, turn, name="natlab"):
        self.sock, self.server = sock, (turn.addresses[0], turn.port)
        self.username, password = turn.credentials(name)
        self.key = hashlib.md5(f"{self.username}:{turn.realm}:{password}".encode()).digest()
        self.realm = self.nonce = None

    def _request(self, method, attributes):
        """A long-term-credential request, retried once with the realm and nonce a 401 (or a 438 stale nonce) gave."""
        for _ in range(2):
            signed = [(ATTR["USERNAME"], self.username.encode()), (ATTR["REALM"], self.realm),
                      (ATTR["NONCE"], self.nonce)] if self.nonce else []
            answer = stun_request(self.sock, self.server, stun_message(method, attributes + signed,
                                                                       key=self.key if self.nonce else None), 3.0)
            if not answer:
                raise LabError(f"no TURN answer from {self.server}")
            (_, cls, _, found), _ = answer
            if cls == 2:
                return found
            error = found.get(ATTR["ERROR"], b"\0\0\0\0")
            code = (error[2] & 7) * 100 + error[3]
            if code not in (401, 438) or ATTR["NONCE"] not in found:
                raise LabError(f"TURN error {code}: {error[4:].decode(errors='replace')}")
            self.realm, self.nonce = found.get(ATTR["REALM"], self.realm), found[ATTR["NONCE"]]
        raise LabError("TURN authentication failed")

    def allocate(self):
        """Allocates a UDP relay; returns the relayed (address, port)."""
        found = self._request(ALLOCATE, [(ATTR["TRANSPORT"], struct.pack("!B3x", 17))])
        return stun_address(found, "RELAYED")

    def permit(self, peer_address):
        self._request(CREATE_PERMISSION, [(ATTR["PEER"], xor_address(peer_address, 0))])

    def send(self, peer, data):
        """data to peer (address, port) through the relay (a Send indication)."""
        attributes = [(ATTR["PEER"], xor_address(*peer)), (ATTR["DATA"], data)]
        self.sock.sendto(stun_message(SEND, attributes, cls=1), self.server)

    def receive(self, timeout=2.0):
        """(peer, data) of the next Data indication, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                parsed = stun_parse(self.sock.recvfrom(65535)[0])
            except socket.timeout:
                return None
            if parsed and parsed[:2] == (DATA, 1):
                return stun_address(parsed[3], "PEER"), parsed[3].get(ATTR["DATA"])
        return None
