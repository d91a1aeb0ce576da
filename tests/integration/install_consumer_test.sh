#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds examples/echo against it with find_package(EustressNet),
# and runs it. Usage: install_consumer_test.sh BUILD_DIR
set -euo pipefail
build=$1
source=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix/usr" >/dev/null
test -f "$prefix/usr/lib/cmake/EustressNet/EustressNetConfig.cmake" || test -f "$prefix/usr/lib/x86_64-linux-gnu/cmake/EustressNet/EustressNetConfig.cmake"
cmake -S "$source/examples/echo" -B "$prefix/echo" -G Ninja -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/echo" >/dev/null
output=$("$prefix/echo/echo")
echo "$output"
grep -q "echo: hello, eustress" <<<"$output"
