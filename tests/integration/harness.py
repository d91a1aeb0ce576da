"""Shared by the Python integration tests: real processes on 127.0.0.1 with free ports, stopped at exit."""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

_processes = []
_work = {"directory": None, "keep": False}


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    if _work["directory"]:
        _work["keep"] = True
        print(f"(logs kept in {_work['directory']})", file=sys.stderr)
    sys.exit(1)


def package_of(program):
    """The Debian package scripts/programs.txt names for `program` (the one scripts/install-deps.sh installs)."""
    listing = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "programs.txt")
    with open(listing) as rows:
        for row in rows:
            fields = row.split("#", 1)[0].split()
            if len(fields) >= 2 and fields[0] == program:
                return fields[1]
    fail(f"{program} is not listed in scripts/programs.txt: list it with its package")


def require(program):
    """The path of an outside program this test runs, or a failure that names the package to install."""
    path = shutil.which(program)
    if not path:
        fail(f"{program} is not installed: install Debian package {package_of(program)} (make deps does)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_all():
    for process in reversed(_processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def _clean_up():
    _stop_all()
    if _work["directory"] and not _work["keep"]:
        shutil.rmtree(_work["directory"], ignore_errors=True)


atexit.register(_clean_up)


def start(command, log_path, stdin=None):
    log = open(log_path, "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=stdin)
    _processes.append(process)
    return process


def wait_for(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def wait_for_text(path, text, seconds, what=None):
    """Until the file at `path` (a process's output) holds `text`."""

    def holds():
        try:
            with open(path, errors="replace") as output:
                return text in output.read()
        except FileNotFoundError:
            return False

    return wait_for(what or f"{text!r} in {path}", holds, seconds)


def wait_line(path, pattern, seconds, what):
    """Until a line of the file at `path` (a process's output) matches the regular expression; returns the match."""
    regex = re.compile(pattern, re.M)

    def found():
        try:
            with open(path, errors="replace") as output:
                return regex.search(output.read())
        except FileNotFoundError:
            return None

    return wait_for(what, found, seconds)


def start_typing_client(command, log_path):
    """A client whose stdin this test types into (`process.stdin.write`), so lines go out once the test saw what it
    waits for, never after a guessed pause. Close its stdin to end it."""
    return start(command, log_path, stdin=subprocess.PIPE)


def type_line(process, line):
    process.stdin.write((line + "\n").encode())
    process.stdin.flush()


def work_directory():
    directory = tempfile.mkdtemp(prefix="eustress-it-")
    os.chdir(directory)
    _work["directory"] = directory
    return directory


def start_server(build, extra=()):
    """eustress-server on 127.0.0.1 with free UDP and HTTP ports; returns (address, pin, http_port)."""
    start([f"{build}/apps/eustress-server", "--bind", "127.0.0.1", "--port", "0", "--http", "127.0.0.1:0",
           "--duration", "120", *extra], "server.out")

    def banner():
        text = open("server.out").read()
        listening = re.search(r"listening on (\S+) pin (\S+)", text)
        http = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", text)
        return listening and http and (listening.group(1), listening.group(2), int(http.group(1)))

    return wait_for("the server's banner", banner, 15)


def start_chatty_client(build, address, pin, name, lines=600, every=0.05, extra=()):
    """An eustress-client that sends a chat line every `every` seconds, `lines` times (bounded)."""
    feeder = subprocess.Popen(["bash", "-c", f"for i in $(seq {lines}); do echo '{name} says '$i; sleep {every}; done"],
                              stdout=subprocess.PIPE)
    _processes.append(feeder)
    return start([f"{build}/apps/eustress-client", "-s", address, "--pin", pin, *extra], f"{name}.out",
                 stdin=feeder.stdout)


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def http_text(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()
