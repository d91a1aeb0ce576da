#!/usr/bin/env bash
# The program check can fail: for every package scripts/programs.txt names, a copy of scripts/install-deps.sh without
# that package makes scripts/check-programs.py fail with the package's name in its message.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

packages=$(awk '!/^#/ && NF >= 3 && $2 != "-ignore-" { print $2 }' "$root/scripts/programs.txt" | sort -u)
[[ -n "$packages" ]] || { echo "no packages read from scripts/programs.txt"; exit 1; }
python3 "$root/scripts/check-programs.py" --packages-only > "$work/intact.out" ||
  { cat "$work/intact.out"; echo "the intact install script already fails the check"; exit 1; }
checked=0
for package in $packages; do
  # Drop the package as a whole word from the script's package arrays (comments keep their text).
  sed -E "s/^([^#]*[ (])${package//+/\\+}([ )])/\\1\\2/" "$root/scripts/install-deps.sh" > "$work/install-deps.sh"
  if bash "$work/install-deps.sh" --list bench fuzz dev | grep -qx -- "$package"; then
    echo "could not drop $package from the copy of the script"; exit 1
  fi
  if python3 "$root/scripts/check-programs.py" --packages-only --install-script "$work/install-deps.sh" \
    > "$work/out" 2>&1; then
    echo "dropping $package went unnoticed"; exit 1
  fi
  grep -q "package $package," "$work/out" || { cat "$work/out"; echo "the failure does not name $package"; exit 1; }
  checked=$((checked + 1))
done
echo "dropping any of $checked packages fails the check with its name"
