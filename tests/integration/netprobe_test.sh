#!/usr/bin/env bash
# eustress-netprobe against real servers on loopback: a healthy one (every check passes, sensible JSON figures), the
# same with a wrong pin, a closed port, and a server dropping a fifth of what it sends; plus usage errors.
# Usage: netprobe_test.sh BUILD_DIR
set -euo pipefail
build=$1
probe="$build/apps/eustress-netprobe"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAILED: $1"; shift; for file in "$@"; do echo "--- $file"; cat "$file"; done; exit 1; }

# Starts a server with extra flags; sets $address and $pin.
start_server() {
  local out=$1; shift
  "$build/apps/eustress-server" --bind 127.0.0.1 --port 0 --duration 60 "$@" > "$out" 2>&1 &
  for _ in $(seq 100); do [[ -s "$out" ]] && break; sleep 0.05; done
  read -r _ _ address _ pin < "$out"
  [[ -n "$pin" ]] || fail "server printed no address/pin" "$out"
}

# Checks one JSON report: each argument after the file is "python expression|message", the expression over
# `report`, `checks` (by name) and `figures`. One python run per report.
check_json() {
  local file=$1; shift
  python3 - "$file" "$@" <<'PY' || fail "see above" "$file"
import json, sys
report = json.load(open(sys.argv[1]))
checks = {check["name"]: check for check in report["checks"]}
figures = report["figures"]
failed = [rule.split("|", 1)[1] for rule in sys.argv[2:] if not eval(rule.split("|", 1)[0])]
for message in failed:
    print(message)
sys.exit(1 if failed else 0)
PY
}

required="resolve reachability handshake alpn certificate rtt loss max_datagram throughput stability zero_rtt"

# (a) A healthy server: exit 0, every required check PASS, the fallback "not configured", sensible figures.
start_server healthy.out
status=0; timeout 20 "$probe" "$address" --pin "$pin" --seconds 1 --json > healthy.json || status=$?
[[ $status -eq 0 ]] || fail "healthy server: exit $status, expected 0" healthy.json
rules=()
for name in $required; do rules+=("checks['$name']['verdict'] == 'PASS'|healthy server: $name did not pass"); done
check_json healthy.json "${rules[@]}" \
  "checks['fallback']['verdict'] == 'SKIP' and 'not configured' in checks['fallback']['detail']|the fallback check should say not configured" \
  "report['exit_code'] == 0 and report['verdict'] == 'PASS'|healthy: overall verdict" \
  "0 < figures['rtt_min_ms'] <= figures['rtt_p50_ms'] <= figures['rtt_p95_ms'] <= figures['rtt_max_ms'] < 1000|healthy: round trips not ordered or not positive" \
  "all(0 <= figures[name] <= 1 for name in ('loss', 'upstream_loss', 'downstream_loss'))|healthy: loss outside 0..1" \
  "figures['max_udp_payload'] >= 1200 and figures['max_datagram_payload'] > 1100|healthy: the largest datagram is under 1,200 bytes of UDP payload" \
  "figures['throughput_bytes_per_second'] > 0 and figures['handshake_ms'] > 0|healthy: throughput or handshake time missing" \
  "figures['resumed'] == 1 and figures['early_data_accepted'] == 1|healthy: no 0-RTT"
# The text report says the same to a person.
timeout 20 "$probe" "$address" --pin "$pin" --seconds 0.5 > healthy.txt || fail "healthy text run failed" healthy.txt
grep -q "^verdict: PASS" healthy.txt || fail "healthy text report has no PASS verdict" healthy.txt
grep -qE "^  PASS  rtt +min" healthy.txt || fail "healthy text report has no rtt line" healthy.txt

# (b) The same server, a wrong pin: exit 1, the certificate check fails with the pin hint.
wrong=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
status=0; timeout 20 "$probe" "$address" --pin "$wrong" --seconds 1 --json > wrong_pin.json || status=$?
[[ $status -eq 1 ]] || fail "wrong pin: exit $status, expected 1" wrong_pin.json
check_json wrong_pin.json \
  "checks['certificate']['verdict'] == 'FAIL' and 'pin mismatch' in checks['certificate']['hint']|wrong pin: no certificate failure with the pin hint" \
  "checks['reachability']['verdict'] == 'PASS' and checks['rtt']['verdict'] == 'SKIP'|wrong pin: reachability should pass and the measurements be skipped"

# (c) A closed port: exit 1, reachability fails with the firewall hint, within the bounded timeout.
closed=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
began=$(date +%s.%N)
status=0; timeout 20 "$probe" "127.0.0.1:$closed" --timeout 2 --json > closed.json || status=$?
ended=$(date +%s.%N)
[[ $status -eq 1 ]] || fail "closed port: exit $status, expected 1" closed.json
check_json closed.json \
  "checks['reachability']['verdict'] == 'FAIL' and 'firewall' in checks['reachability']['hint']|closed port: no reachability failure with the firewall hint" \
  "checks['handshake']['verdict'] in ('FAIL', 'SKIP') and checks['loss']['verdict'] == 'SKIP'|closed port: later checks should not pass"
awk -v a="$began" -v b="$ended" 'BEGIN { exit !(b - a < 5) }' || fail "closed port took too long (bound: --timeout 2 plus set-up)" closed.json

# (c') A port that swallows everything (a firewall dropping silently looks the same): both reachability and the
# handshake fail with the firewall hint once --timeout has passed, and not much later.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
s.settimeout(0.5)
deadline = time.time() + 20
while time.time() < deadline:
    try:
        s.recv(2048)
    except socket.timeout:
        pass
' > sink.port &
for _ in $(seq 100); do [[ -s sink.port ]] && break; sleep 0.05; done
sink=$(cat sink.port)
began=$(date +%s.%N)
status=0; timeout 20 "$probe" "127.0.0.1:$sink" --timeout 1 --json > silent.json || status=$?
ended=$(date +%s.%N)
[[ $status -eq 1 ]] || fail "silent port: exit $status, expected 1" silent.json
check_json silent.json \
  "checks['reachability']['verdict'] == 'FAIL' and 'firewall' in checks['reachability']['hint']|silent port: no reachability failure with the firewall hint" \
  "checks['handshake']['verdict'] == 'FAIL' and 'firewall' in checks['handshake']['hint']|silent port: no handshake failure with the firewall hint"
awk -v a="$began" -v b="$ended" 'BEGIN { exit !(b - a < 6) }' || fail "silent port took too long (bound: 1 s of reachability, --timeout 1 plus 0.5 s)" silent.json

# (d) A server that drops a fifth of what it sends: the loss check sees about that, warns or fails, and hints.
start_server lossy.out --simulate-loss 0.2
status=0; timeout 30 "$probe" "$address" --pin "$pin" --seconds 2 --json > lossy.json || status=$?
check_json lossy.json \
  "0.08 <= figures['loss'] <= 0.40|lossy server: loss not near 20%" \
  "figures['downstream_loss'] >= figures['upstream_loss']|lossy server: the loss should be downstream" \
  "checks['loss']['verdict'] in ('WARN', 'FAIL') and 'loss above' in checks['loss']['hint']|lossy server: no loss warning or failure with the loss hint" \
  "report['exit_code'] == (1 if any(c['verdict'] == 'FAIL' for c in report['checks']) else 0)|lossy server: the JSON exit code disagrees with the verdicts" \
  "report['exit_code'] == $status|lossy server: exit $status differs from the report's"

# (e) A server with --websocket: the fallback check connects over WebSocket alone and passes with its figures; the
# silent UDP port from (c') with the same WebSocket URL still reports the fallback as working.
start_server websocket.out --websocket 0
ws_port=$(awk '/^websocket on/ { print $5 }' websocket.out)
[[ -n "$ws_port" ]] || fail "server printed no websocket port" websocket.out
status=0; timeout 20 "$probe" "$address" --pin "$pin" --seconds 0.5 --websocket "ws://127.0.0.1:$ws_port/" --json \
  > websocket.json || status=$?
[[ $status -eq 0 ]] || fail "websocket server: exit $status, expected 0" websocket.json
check_json websocket.json \
  "checks['fallback']['verdict'] == 'PASS' and 'WebSocket' in checks['fallback']['detail']|websocket: the fallback did not pass" \
  "0 < figures['fallback_handshake_ms'] < 3000 and 0 < figures['fallback_rtt_ms'] < 1000|websocket: fallback figures missing"
status=0; timeout 20 "$probe" "127.0.0.1:$closed" --pin "$pin" --timeout 1 --websocket "ws://127.0.0.1:$ws_port/" \
  --json > udp_closed_websocket_open.json || status=$?
check_json udp_closed_websocket_open.json \
  "checks['reachability']['verdict'] == 'FAIL' and checks['fallback']['verdict'] == 'PASS'|UDP closed, WebSocket open: the fallback should still pass"
status=0; timeout 20 "$probe" "$address" --pin "$pin" --seconds 0.5 --websocket "ws://127.0.0.1:$closed/" --json \
  > websocket_closed.json || status=$?
[[ $status -eq 1 ]] || fail "closed WebSocket port: exit $status, expected 1" websocket_closed.json
check_json websocket_closed.json \
  "checks['fallback']['verdict'] == 'FAIL' and 'without --websocket' in checks['fallback']['hint']|closed WebSocket port: no fallback failure with its hint"

# Usage errors: exit 2.
for arguments in "" "no-port" "127.0.0.1:99999" "127.0.0.1:7777 --pin not-a-pin" "127.0.0.1:7777 --seconds 0"; do
  status=0; timeout 10 "$probe" $arguments > usage.out 2>&1 || status=$?
  [[ $status -eq 2 ]] || fail "'$arguments': exit $status, expected 2 (usage)" usage.out
done
echo "netprobe: healthy passes, wrong pin and closed port fail with their hints, loss seen, the WebSocket fallback tested, usage errors exit 2"
