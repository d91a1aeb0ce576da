#!/usr/bin/env bash
# Installs the Debian 12 packages Eustress Net needs, and only those missing. Silent when nothing is missing.
#   scripts/install-deps.sh          build and test dependencies
#   scripts/install-deps.sh bench    + the benchmark peers
#   scripts/install-deps.sh fuzz     + clang and libFuzzer
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
  python3 prometheus chromium tshark                       # debug-tool tests: scrape, dashboard, /debug page, capture
  etcd-server                                              # Forge: service discovery (tests start real clusters)
)
bench=(libenet-dev python3)               # the ENet peer; python3 prints the summary
fuzz=(clang libclang-rt-dev)             # clang 14 and its libFuzzer runtime

wanted=("${core[@]}")
for group in "$@"; do
  case "$group" in
    bench) wanted+=("${bench[@]}") ;;
    fuzz) wanted+=("${fuzz[@]}") ;;
    *) echo "install-deps.sh: unknown group '$group' (bench, fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
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
