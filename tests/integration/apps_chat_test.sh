#!/usr/bin/env bash
# eustress-server relays chat between two eustress-client processes over real QUIC on loopback.
# Usage: apps_chat_test.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

"$build/apps/eustress-server" --bind 127.0.0.1 --port 0 --duration 20 > server.out 2>&1 &
for _ in $(seq 100); do [[ -s server.out ]] && break; sleep 0.05; done
read -r _ _ address _ pin < server.out
[[ -n "$pin" ]] || { echo "server printed no address/pin"; cat server.out; exit 1; }

(sleep 0.5; echo "hello from alice"; sleep 1.5) | timeout 10 "$build/apps/eustress-client" -s "$address" --pin "$pin" > alice.out 2>&1 &
(sleep 0.2; echo "hi from bob"; sleep 1.8) | timeout 10 "$build/apps/eustress-client" -s "$address" --pin "$pin" > bob.out 2>&1
wait %2 || true

grep -q "hello from alice" bob.out || { echo "bob did not hear alice"; cat bob.out server.out; exit 1; }
grep -q "hi from bob" alice.out || { echo "alice did not hear bob"; cat alice.out server.out; exit 1; }

# A client with the wrong pin is refused during the handshake and says why.
wrong=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
if echo "nope" | timeout 10 "$build/apps/eustress-client" -s "$address" --pin "$wrong" > mallory.out 2>&1; then
  echo "a wrong pin was accepted"; cat mallory.out; exit 1
fi
grep -q "pin mismatch" mallory.out || { echo "no pin refusal reason"; cat mallory.out; exit 1; }
echo "chat relayed both ways; wrong pin refused"
