"""An emulated WAN between two network namespaces, for benchmarks and tests (docs/PERFORMANCE.md, "The WAN").

    with nat_lab.Lab() as lab:
        wan = wan_lab.Wan(lab, build_dir, both="delay=20ms,jitter=2ms", a_to_b="loss=2%")
        server = nat_lab.popen(wan.b, [program, "--bind", f"{wan.b_address}:4433"])   # inside namespace B
        client = nat_lab.popen(wan.a, [program, "--connect", f"{wan.b_address}:4433"])
        wan.set("both", "rate=300kbit")          # change the link while it runs (only the keys given)
        # or at set times after the line started (wan.ready_at, CLOCK_MONOTONIC seconds, as time.monotonic()):
        wan = wan_lab.Wan(lab, build_dir, both="rate=2mbit", schedule=["6s:both:rate=300kbit", "16s:both:rate=2mbit"])
        print(wan.stats())                       # {"a2b": {"packets": ..., "lost_random": ...}, "b2a": {...}}

Three namespaces of the lab: A (10.77.0.1) and B (10.77.0.2), each with one TUN device addressed as a point-to-point
link to the other, and a middle one where eustress-delay-line holds both devices and moves every packet between them
through its link model (apps/delay-line/link_model.hpp: loss, Gilbert-Elliott bursts, a rate cap with a bounded
queue, delay and jitter). Nothing else routes between A and B, nothing leaves the lab, and Lab.close() removes it all.

With ipv6=True, A and B also hold fd77::1 and fd77::2 (unique local addresses, a point-to-point link like the IPv4
one) and the line carries both versions (a TUN device without packet information hands over whole IP packets of
either). It is off by default: IPv6 sends packets of its own (router solicitations, multicast listener reports)
that would count in the line's counters, which the self-test holds against what it sent.
"""
import json
import os
import subprocess
import time

import nat_lab

A_ADDRESS, B_ADDRESS = "10.77.0.1", "10.77.0.2"
A6_ADDRESS, B6_ADDRESS = "fd77::1", "fd77::2"


class Wan:
    def __init__(self, lab, build_dir, both="", a_to_b="", b_to_a="", seed=1, name="wan", schedule=(), ipv6=False):
        program = os.path.join(build_dir, "apps", "eustress-delay-line")
        if not os.access(program, os.X_OK):
            raise nat_lab.LabError(f"no {program} (the apps are not built)")
        middle = lab._namespace(f"{name}-m")
        self.a, self.b = lab._namespace(f"{name}-a"), lab._namespace(f"{name}-b")
        self.a_address, self.b_address = A_ADDRESS, B_ADDRESS
        self.a6_address, self.b6_address = (A6_ADDRESS, B6_ADDRESS) if ipv6 else (None, None)
        # Real-time priority: on a busy 2-core machine a line waiting for the CPU would add delay and drops of its own.
        argv = [program, "--a", "dla", "--b", "dlb", "--seed", str(seed), "--realtime"]
        for flag, spec in (("--both", both), ("--a-to-b", a_to_b), ("--b-to-a", b_to_a)):
            if spec:
                argv += [flag, spec]
        for entry in schedule:  # TIME:DIRECTION:SETTINGS, TIME since "ready" (apps/delay-line/link_schedule.hpp)
            argv += ["--schedule", entry]
        self.process = nat_lab.popen(middle, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        for _ in range(2):
            line = self.process.stdout.readline()
            if not line.startswith("ready"):
                raise nat_lab.LabError(f"eustress-delay-line did not start: {line.strip()!r}")
        self.ready_at = time.monotonic()  # the schedule's zero, within a millisecond
        for device, ns, address, peer in (("dla", self.a, A_ADDRESS, B_ADDRESS), ("dlb", self.b, B_ADDRESS, A_ADDRESS)):
            nat_lab._ip("link", "set", device, "netns", ns, ns=middle)
            nat_lab._ip("address", "add", f"{address}/32", "peer", f"{peer}/32", "dev", device, ns=ns)
            # A long device queue: packets the kernel hands the line while it is briefly descheduled wait, not drop.
            nat_lab._ip("link", "set", device, "mtu", "1500", "txqueuelen", "10000", "up", ns=ns)
        if ipv6:
            self._add_ipv6()

    def _add_ipv6(self):
        """The lab turns IPv6 off in every namespace; A and B get it back, with no router solicitations and no
        duplicate address detection (the link has two ends, each address is set once), so it is usable at once."""
        for device, ns, address, peer in (("dla", self.a, A6_ADDRESS, B6_ADDRESS),
                                          ("dlb", self.b, B6_ADDRESS, A6_ADDRESS)):
            settings = [f"net.ipv6.conf.{scope}.{key}={value}" for scope in ("all", "default", device)
                        for key, value in (("disable_ipv6", 0), ("accept_ra", 0), ("router_solicitations", 0))]
            nat_lab.run(ns, ["sysctl", "-q", "-w", *settings])
            nat_lab._ip("-6", "address", "add", f"{address}/128", "peer", f"{peer}/128", "dev", device, "nodad",
                        ns=ns)

    def _command(self, text, replies):
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        lines = [self.process.stdout.readline() for _ in range(replies)]
        if any(not line or line.startswith("error") for line in lines):
            raise nat_lab.LabError(f"delay line refused {text!r}: {''.join(lines).strip()}")
        return lines

    def set(self, direction, spec):
        """Changes "a2b", "b2a" or "both" directions: only the keys in `spec` (link_model.hpp's syntax)."""
        return self._command(f"{direction} {spec}", 2 if direction == "both" else 1)

    def stats(self):
        return {entry["direction"]: entry for entry in map(json.loads, self._command("stats", 2))}

    def close(self):
        """Stops the delay line and returns its final counters (Lab.close() would kill it anyway)."""
        if self.process.poll() is not None:
            return {}
        out, _ = self.process.communicate("quit\n", timeout=10)
        return {entry["direction"]: entry for entry in map(json.loads, out.split("\n")[:2] if out else [])}
