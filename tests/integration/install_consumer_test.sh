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
# A sanitizer build installs an instrumented library: its consumer must link the sanitizer runtimes too.
flags=()
if grep -q '^EUSTRESS_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  flags=(-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
fi
cmake -S "$source/examples/echo" -B "$prefix/echo" -G Ninja -DCMAKE_PREFIX_PATH="$prefix/usr" "${flags[@]}" >/dev/null
cmake --build "$prefix/echo" >/dev/null
output=$("$prefix/echo/echo")
echo "$output"
grep -q "echo: hello, eustress" <<<"$output"
