#!/usr/bin/env python3
"""Checks that a fresh Debian 12 machine gets every program our tests, apps and benchmarks run.

Three checks, each naming the Debian package in its message:
  1. every package scripts/programs.txt names is one scripts/install-deps.sh installs;
  2. every listed program is on this machine and really comes from its package (dpkg -S);
  3. no source of ours mentions a program of a non-essential package that the list leaves out (a scan of the words
     of shell scripts and of the first word of every string literal elsewhere, looked up in /usr/bin, /usr/sbin,
     /bin and /sbin).

Usage: check-programs.py [--install-script PATH] [--packages-only]
  --install-script  the install script whose package list is checked (default: scripts/install-deps.sh)
  --packages-only   check 1 only (tests/deps/dropped_package_test.sh runs it against edited copies of the script)
Exit status 0 when all hold, 1 otherwise, with one line per problem.
"""
import argparse
import functools
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNED = ["tests", "bench", "apps", "examples", "scripts", "src/forge", "Makefile", ".ci/run", "CMakePresets.json"]
SHELL_SUFFIXES = (".sh", "Makefile", "run")
OTHER_SUFFIXES = (".py", ".cpp", ".hpp", ".json")
BIN_DIRS = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
WORD = re.compile(r"[a-z][a-z0-9_+.-]*[a-z0-9+]")
PRINTF_FORMAT = re.compile(r"%[-+ #0-9.*]*[a-zA-Z]+")
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')


def read_list(path):
    """programs.txt: program -> (package, group); 'ignore' rows name words that are not commands where they appear."""
    programs, ignored = {}, set()
    with open(path) as listing:
        for line in listing:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 3:
                if fields[1] == "-ignore-":
                    ignored.add(fields[0])
                else:
                    programs[fields[0]] = (fields[1], fields[2])
    return programs, ignored


def script_packages(script):
    """The packages the install script names, for every group (its --list mode)."""
    run = subprocess.run(["bash", script, "--list", "bench", "fuzz", "dev"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"check-programs: {script} --list failed: {run.stderr.strip()}")
    return set(run.stdout.split())


@functools.lru_cache(maxsize=None)
def dpkg_query(field, package):
    run = subprocess.run(["dpkg-query", "-W", "-f=${" + field + "}", package], capture_output=True, text=True)
    return run.stdout if run.returncode == 0 else ""


@functools.lru_cache(maxsize=None)
def owners():
    """Every file dpkg installed in a system bin directory, by name -> package (read once from dpkg's own lists:
    one `dpkg -S` per word would take minutes)."""
    found = {}
    info = "/var/lib/dpkg/info"
    for name in os.listdir(info):
        if not name.endswith(".list"):
            continue
        package = name[:-len(".list")].split(":", 1)[0]
        with open(os.path.join(info, name), errors="replace") as listing:
            for line in listing:
                directory, _, program = line.strip().rpartition("/")
                if directory in BIN_DIRS and program:
                    found.setdefault(program, package)
    return found


def owner_of(program):
    """The package owning `program` in a system bin directory, or None when no such file exists."""
    for directory in BIN_DIRS:
        path = os.path.join(directory, program)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        # Alternatives (awk, cc) are symlinks: the real file's name finds its package.
        for name in (program, os.path.basename(os.path.realpath(path))):
            if name in owners():
                return owners()[name]
        return "(no package)"
    return None


def always_present(package):
    """Essential and required packages are on every Debian system, even a minimal base image."""
    return dpkg_query("Essential", package) == "yes" or dpkg_query("Priority", package) == "required"


def provides(package, owner):
    """The listed package is the owner or pulls it in directly (python3 -> python3-minimal owns /usr/bin/python3)."""
    if owner == package:
        return True
    # NodeSource's nodejs provides (and replaces) Debian's npm, as scripts/install-deps.sh accepts too.
    if package in {provided.split()[0] for provided in dpkg_query("Provides", owner).split(",") if provided.strip()}:
        return True
    depends = dpkg_query("Depends", package) + "," + dpkg_query("Pre-Depends", package)
    return owner in {alternative.split()[0] for alternative in re.split(r"[,|]", depends) if alternative.strip()}


def words_in(path):
    with open(path, errors="replace") as source:
        text = source.read()
    if path.endswith(SHELL_SUFFIXES):
        return set(WORD.findall(text))
    # Elsewhere a program is run by a string that starts with its name: execlp("etcd", ...), ["etcdctl", ...],
    # "bash -c ...". Only that first word counts, so English in messages does not.
    found = set()
    for match in STRING.finditer(text):
        literal = PRINTF_FORMAT.sub(" ", match.group(1) or match.group(2) or "")  # %lld is no linker
        first = WORD.match(literal.strip())
        if first:
            found.add(first.group(0))
    return found


def sources():
    for entry in SCANNED:
        path = os.path.join(ROOT, entry)
        if os.path.isfile(path):
            yield path
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = [d for d in subdirectories if d not in ("corpus", "vendor", "node_modules")]
            for name in files:
                if name.endswith(SHELL_SUFFIXES + OTHER_SUFFIXES):
                    yield os.path.join(directory, name)


def unlisted_programs(programs, ignored):
    problems = []
    mentions = {}
    for path in sources():
        for word in words_in(path):
            mentions.setdefault(word, os.path.relpath(path, ROOT))
    for word, where in sorted(mentions.items()):
        if word in programs or word in ignored:
            continue
        owner = owner_of(word)
        if owner and owner != "(no package)" and not always_present(owner):
            problems.append(f"{where} mentions `{word}`, a program from package {owner} that scripts/programs.txt "
                            f"does not list (add it there and to scripts/install-deps.sh, or mark it -ignore-)")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install-script", default=os.path.join(ROOT, "scripts/install-deps.sh"))
    parser.add_argument("--packages-only", action="store_true")
    arguments = parser.parse_args()

    programs, ignored = read_list(os.path.join(ROOT, "scripts/programs.txt"))
    installed_by_script = script_packages(arguments.install_script)
    problems = []
    for program, (package, group) in sorted(programs.items()):
        if package not in installed_by_script:
            problems.append(f"`{program}` comes from package {package}, which {os.path.basename(arguments.install_script)}"
                            f" does not install (add {package} to its {group} group)")
            continue
        if arguments.packages_only or group in ("fuzz", "bench", "dev"):
            continue  # those groups are installed by `make fuzz` / `make bench`, not before `make test`
        owner = owner_of(program)
        if owner is None:
            problems.append(f"`{program}` is missing: install package {package} (make deps runs "
                            f"scripts/install-deps.sh, which installs it)")
        elif not provides(package, owner):
            problems.append(f"`{program}` comes from package {owner} here, not {package} as scripts/programs.txt says")
    if not arguments.packages_only:
        problems += unlisted_programs(programs, ignored)
    for problem in problems:
        print("check-programs: " + problem)
    if problems:
        return 1
    print(f"check-programs: {len(programs)} programs, each from a package scripts/install-deps.sh installs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
