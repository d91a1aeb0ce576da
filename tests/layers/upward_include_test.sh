#!/usr/bin/env bash
# The build enforces the layer order (docs/DESIGN.md, "Layers"). For every layer, with exactly the include folders
# the build gives it: its own public headers compile, and a public or private header of any layer that is not below
# it is not found. A layer that could see upward would make this test fail.
# Usage: upward_include_test.sh BUILD_DIR
set -euo pipefail
build=$1
manifest=$build/layers/manifest.txt
[[ -s "$manifest" ]] || { echo "no layer manifest at $manifest (configure first)"; exit 1; }
compiler=${CXX:-c++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A below_of headers_of views_of
layers=()
while IFS='|' read -r name below headers views; do
  layers+=("$name"); below_of[$name]=$below; headers_of[$name]=$headers; views_of[$name]=$views
done < "$manifest"

compiles() {  # compiles LAYER INCLUDE-LINE: the layer's include folders only, no other path
  local flags=() view
  for view in ${views_of[$1]}; do flags+=(-I "$view"); done
  printf '%s\n' "$2" > "$work/probe.cpp"
  "$compiler" -std=c++20 -fsyntax-only "${flags[@]}" "$work/probe.cpp" > "$work/out" 2>&1 && return 0
  grep -q "No such file or directory" "$work/out" && return 1
  cat "$work/out"; echo "compiling for layer $1 failed for another reason than a missing file"; exit 1
}

refused=0
for layer in "${layers[@]}"; do
  for header in ${headers_of[$layer]}; do
    compiles "$layer" "#include \"eustress/net/$header.hpp\"" ||
      { cat "$work/out"; echo "layer $layer cannot include its own eustress/net/$header.hpp"; exit 1; }
  done
  for other in "${layers[@]}"; do
    [[ "$other" == "$layer" || " ${below_of[$layer]} " == *" $other "* ]] && continue
    for header in ${headers_of[$other]}; do
      ! compiles "$layer" "#include \"eustress/net/$header.hpp\"" ||
        { echo "layer $layer can include eustress/net/$header.hpp of layer $other, which is not below it"; exit 1; }
      refused=$((refused + 1))
    done
    private=$(cd "$build/layers/$other/$other" 2> /dev/null && ls *.hpp 2> /dev/null | head -1 || true)
    if [[ -n "$private" ]]; then
      ! compiles "$layer" "#include \"$other/$private\"" ||
        { echo "layer $layer can include $other/$private, which is not below it"; exit 1; }
      refused=$((refused + 1))
    fi
  done
done
echo "${#layers[@]} layers; $refused includes of a layer not below refused; every layer's own headers compile"
