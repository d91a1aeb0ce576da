#!/usr/bin/env bash
# Installs the Debian 12 packages Eustress Net needs, and only those missing. Silent when nothing is missing.
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh bench    + the benchmark peers
#   scripts/install-deps.sh fuzz     + clang and libFuzzer
#   scripts/install-deps.sh dev      + ccache, clang-format, perf and strace (optional: rebuilding, formatting, profiling)
#   scripts/install-deps.sh --list [GROUP...]   prints the packages, one a line, and installs nothing
# Every program a test, app or benchmark runs is listed with its package in scripts/programs.txt, and
# scripts/check-programs.py (run by `make test`) fails when this script does not install it.
set -euo pipefail

core=(
  g++ cmake ninja-build pkg-config make git               # toolchain
  libngtcp2-dev libngtcp2-crypto-gnutls-dev                # QUIC
  libgnutls28-dev                                          # TLS 1.3, certificates
  libsodium-dev                                            # connect tokens (AEAD)
  libcli11-dev libtomlplusplus-dev                         # apps: flags and TOML configuration
  libboost-dev nlohmann-json3-dev                          # HTTP endpoints (Beast) and their JSON
  libgtest-dev libgmock-dev                                # tests
  libode-dev                                               # examples/cubes: the physics of the replication demo
  python3 procps                                           # integration tests and benchmark summaries; pgrep
  prometheus chromium                                      # debug-tool tests: scrape, dashboard, /debug page
  tshark wireshark-common                                  # capture test and eustress-inspect (tshark, dumpcap)
  etcd-server etcd-client                                  # Forge: real etcd clusters (etcd) read from outside (etcdctl)
  libnice-dev coturn nftables iproute2                     # P2P: ICE, STUN/TURN server for tests, NAT routers in namespaces
  libopus-dev libspeexdsp-dev espeak-ng                   # voice: Opus codec, speexdsp's jitter buffer, test speech
  nginx                                                    # WebSocket fallback behind a proxy; the asset tests' origin/CDN
  openssl                                                  # ECDSA test certificates for nginx: the browser test (chromium has no Ed25519), the asset test's HTTP/2 origin
  libsqlite3-dev                                           # persistent worlds: the CRDT document's store (WAL)
  libzstd-dev                                              # assets: chunk compression; channels: message compression
  libcurl4-gnutls-dev                                      # assets: the HTTP origin client (HTTP/1.1, HTTP/2, ranges)
  nats-server libnats-dev                                  # persistent worlds across servers: JetStream and its C client
  nodejs npm                                               # web/: the TypeScript browser client (npm ci, tsc, esbuild, node --test)
)
bench=(libenet-dev curl nettle-dev)  # the ENet peer; curl: the asset benchmark's peer (node runs libjuice in bench/p2p: in core); nettle-dev: the handshake benchmark's crypto-alone loop
fuzz=(clang libclang-rt-dev)             # clang 14 and its libFuzzer runtime
dev=(ccache clang-format linux-perf strace)  # a compiler cache (CMAKE_CXX_COMPILER_LAUNCHER=ccache); make format; the profiles and system-call counts in docs/PERFORMANCE.md

list_only=false
if [[ "${1:-}" == --list ]]; then
  list_only=true
  shift
fi
wanted=("${core[@]}")
for group in "$@"; do
  case "$group" in
    bench) wanted+=("${bench[@]}") ;;
    fuzz) wanted+=("${fuzz[@]}") ;;
    dev) wanted+=("${dev[@]}") ;;
    *) echo "install-deps.sh: unknown group '$group' (bench, fuzz, dev)" >&2; exit 2 ;;
  esac
done
if $list_only; then
  printf '%s\n' "${wanted[@]}"
  exit 0
fi

# A package also counts as present when an installed one provides it: NodeSource's nodejs provides (and conflicts
# with) Debian's npm, and installing npm there would replace that nodejs.
provided=" $(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null | sed -n 's/^install ok installed|//p' |
  tr ',' '\n' | sed -E 's/\(.*\)//; s/ //g' | tr '\n' ' ') "
missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" || "$provided" == *" $package "* ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
log=$(mktemp -t eustress-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "install-deps.sh: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"
