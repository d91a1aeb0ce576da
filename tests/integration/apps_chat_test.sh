#!/usr/bin/env bash
# eustress-server relays chat between two eustress-client processes over real QUIC on loopback.
# Usage: apps_chat_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
source "$(dirname "$0")/chat_clients.sh"
cd "$work"
fail() { echo "FAILED: $1"; shift; for file in "$@"; do echo "--- $file"; cat "$file"; done; exit 1; }

"$build/apps/eustress-server" --bind 127.0.0.1 --port 0 --duration 60 > server.out 2>&1 &
chat_wait_for server.out " pin " "the server's banner"
read -r _ _ address _ pin < server.out
[[ -n "$pin" ]] || fail "server printed no address/pin" server.out

client=("$build/apps/eustress-client" -s "$address" --pin "$pin")
chat_start alice "${client[@]}"
chat_start bob "${client[@]}"
chat_wait_connected alice bob
chat_say alice "hello from alice"
chat_say bob "hi from bob"
chat_wait_heard bob "hello from alice"
chat_wait_heard alice "hi from bob"
chat_end alice bob

# A client with the wrong pin is refused during the handshake and says why.
wrong=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
if echo "nope" | timeout 10 "$build/apps/eustress-client" -s "$address" --pin "$wrong" > mallory.out 2>&1; then
  fail "a wrong pin was accepted" mallory.out
fi
grep -q "pin mismatch" mallory.out || fail "no pin refusal reason" mallory.out
echo "chat relayed both ways; wrong pin refused"
