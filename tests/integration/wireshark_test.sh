#!/usr/bin/env bash
# Captures eustress-server and eustress-client traffic on loopback with tshark, decrypts it with the key log both
# write, and checks that the Wireshark dissector (tools/wireshark/eustress.lua) and eustress-inspect show the
# messages the clients sent, with their channels. Needs tshark and permission to capture on lo (root).
# Usage: wireshark_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
dissector=$source_dir/tools/wireshark/eustress.lua
fail() { echo "FAIL: $1"; shift; for file in "$@"; do echo "--- $file"; cat "$file"; done; exit 1; }
source "$(dirname "$0")/chat_clients.sh"
command -v tshark > /dev/null || fail "tshark is not installed: install Debian package tshark (make deps does)"

work=$(mktemp -d)
cleanup() {
  local pids
  pids=$(jobs -p)
  [[ -z "$pids" ]] || kill $pids 2> /dev/null || true
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir qlog

# The server takes the debugging switches from its TOML file, the clients from flags: both paths are checked.
cat > server.toml << 'TOML'
[quic]
key_log_file = "keys.log"
udp_gso = false
qlog_directory = "qlog"
TOML
"$build/apps/eustress-server" --config server.toml --bind 127.0.0.1 --port 0 --duration 20 > server.out 2> server.err &
chat_wait_for server.out " pin " "the server's banner"
read -r _ _ address _ pin < server.out || true
[[ -n "${pin:-}" ]] || { cat server.out server.err; fail "server printed no address/pin"; }
port=${address##*:}
grep -q "WARNING: writing TLS secrets" server.err || { cat server.err; fail "no key log warning on stderr"; }

# The capture must hold every connection from its first Initial: tshark says "Capturing on" before its dumpcap
# really captures, so probe the port (the server drops the junk) until tshark prints a packet it caught.
timeout 30 tshark -i lo -f "udp port $port" -a duration:25 -w capture.pcapng -P -l > tshark.out 2> tshark.err &
tshark_pid=$!
for _ in $(seq 100); do
  [[ -s tshark.out ]] && break
  kill -0 "$tshark_pid" 2> /dev/null || break
  echo -n "capture probe" > "/dev/udp/127.0.0.1/$port" || true
  sleep 0.1
done
[[ -s tshark.out ]] ||
  { cat tshark.err; fail "tshark cannot capture on lo (run as root, or give dumpcap cap_net_raw,cap_net_admin)"; }

client() {  # client NAME CHANNEL: a chat client on CHANNEL writing the key log and qlog, with GSO off
  chat_start "$1" "$build/apps/eustress-client" -s "$address" --pin "$pin" --channel "$2" --key-log keys.log \
    --no-gso --qlog-dir qlog
}
# A message of 30,000 bytes spans many packets, sent in batches: the dissector and the inspector must put it back
# together, and without GSO every packet must be captured as itself.
long_line="long:$(head -c 29995 /dev/zero | tr '\0' x)"
client alice 0
client bob 0
client carol 1
client dave 2
chat_wait_connected alice bob carol dave
chat_say alice "hello from alice" "$long_line"
chat_say bob "hi from bob"
chat_say carol "unreliable from carol"
chat_say dave "sequenced from dave"
chat_wait_heard bob "hello from alice"
chat_wait_heard alice "hi from bob"
chat_end alice bob carol dave
# The clients have closed; tshark writes what it caught a moment later. Nothing above depends on this pause: it
# only lets the capture file hold the closing packets too.
sleep 0.3
kill -INT "$tshark_pid"
wait "$tshark_pid" || true
[[ -s capture.pcapng ]] || fail "nothing captured"
grep -q "hello from alice" bob.out || { cat bob.out server.out; fail "bob did not hear alice"; }

# ---- the dissector --------------------------------------------------------------------------------------------
tshark -r capture.pcapng -o tls.keylog_file:keys.log -X lua_script:"$dissector" -Y eustress -T fields \
  -E separator=/t -e eustress.carrier -e eustress.direction -e eustress.channel -e eustress.message_id \
  -e eustress.text > dissected.txt 2> dissected.err
[[ -s dissected.txt ]] || { cat dissected.err; fail "the dissector showed nothing (decryption or script failed)"; }
if grep -v 'Running as user' dissected.err | grep -q .; then
  cat dissected.err
  fail "tshark reported errors with the dissector"
fi
expect_dissected() {  # expect_dissected CARRIER DIRECTION CHANNEL TEXT
  # Fields of several records in one packet come comma-separated: match the value among them.
  local item='(?:[^\t]*,)?'
  grep -qP "^${item}$1(?:,[^\t]*)?\t${item}$2(?:,[^\t]*)?\t${item}$3(?:,[^\t]*)?\t[^\t]*\t${item}$4(,|$)" \
    dissected.txt || { cat dissected.txt; fail "dissector: no $1 message '$4' on channel $3 (direction $2)"; }
}
expect_dissected stream 0 0 "hello from alice"
expect_dissected stream 0 0 "hi from bob"
expect_dissected stream 1 0 "\\[client [0-9]+\\] hello from alice"
expect_dissected datagram 0 1 "unreliable from carol"
expect_dissected datagram 0 2 "sequenced from dave"
tshark -r capture.pcapng -o tls.keylog_file:keys.log -X lua_script:"$dissector" \
  -Y 'eustress.length == 30000 and eustress.direction == 0' -T fields -e eustress.message_id > long.txt 2>> tshark.err
[[ $(wc -l < long.txt) -eq 1 ]] || { cat long.txt; fail "dissector: the 30,000-byte message is not shown once"; }
# Path MTU discovery may grow packets to 1,452 bytes of UDP payload; a GSO batch captured whole is far larger.
tshark -r capture.pcapng -Y 'udp.length > 1460' -T fields -e frame.number > oversized.txt 2>> tshark.err
[[ ! -s oversized.txt ]] || fail "datagrams over 1,452 bytes captured with --no-gso: $(tr '\n' ' ' < oversized.txt)"
# The control stream's hello and welcome are decoded too.
tshark -r capture.pcapng -o tls.keylog_file:keys.log -X lua_script:"$dissector" \
  -Y 'eustress.control_type == 1 and eustress.hello.version == 1' -T fields -e frame.number > hellos.txt 2>> tshark.err
[[ $(wc -l < hellos.txt) -eq 4 ]] || { cat hellos.txt; fail "expected 4 hellos, one per client"; }
tshark -r capture.pcapng -o tls.keylog_file:keys.log -X lua_script:"$dissector" \
  -Y 'eustress.welcome.client_id > 0' -T fields -e frame.number > welcomes.txt 2>> tshark.err
[[ $(wc -l < welcomes.txt) -eq 4 ]] || { cat welcomes.txt; fail "expected 4 welcomes"; }

# ---- eustress-inspect -----------------------------------------------------------------------------------------
"$build/apps/eustress-inspect" capture.pcapng --key-log keys.log > inspect.txt 2> inspect.err ||
  { cat inspect.err; fail "eustress-inspect failed"; }
for pattern in 'client->server stream [0-9]+ ordered channel 0 \(reliable\) message [0-9]+ .*"hello from alice"' \
  'server->client stream [0-9]+ ordered channel 0 \(reliable\) message [0-9]+ .*"\[client [0-9]+\] hi from bob"' \
  'client->server datagram channel 1 \(unreliable\) .*"unreliable from carol"' \
  'client->server datagram channel 2 \(state\) sequence [0-9]+ .*"sequenced from dave"' \
  'client->server stream [0-9]+ control Hello version 1' \
  'client->server stream [0-9]+ ordered channel 0 \(reliable\) message 1 30000 bytes "long:x{29995}"'; do
  grep -qE "$pattern" inspect.txt || { cat inspect.txt; fail "eustress-inspect: nothing matches /$pattern/"; }
done
"$build/apps/eustress-inspect" capture.pcapng --key-log keys.log --json > inspect.jsonl 2> inspect.err ||
  { cat inspect.err; fail "eustress-inspect --json failed"; }
python3 - inspect.jsonl << 'PY' || fail "eustress-inspect --json: see above"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
def has(**wanted):
    return any(all(r.get(k) == v for k, v in wanted.items()) for r in records)
checks = [
    dict(direction="client_to_server", carrier="stream", channel=0, text="hello from alice"),
    dict(direction="client_to_server", carrier="datagram", channel=1, text="unreliable from carol"),
    dict(direction="client_to_server", carrier="datagram", channel=2, channel_name="state", text="sequenced from dave"),
    dict(direction="client_to_server", carrier="stream", stream_kind="control", control="hello"),
    dict(direction="server_to_client", carrier="stream", stream_kind="control", control="welcome"),
]
missing = [c for c in checks if not has(**c)]
if missing or any("error" in r for r in records):
    print("records:", *records, sep="\n")
    print("missing:", missing)
    sys.exit(1)
PY

# qlog: one file per end per connection, and eustress-inspect summarises one.
[[ $(ls qlog | grep -c '^server-') -eq 4 && $(ls qlog | grep -c '^client-') -eq 4 ]] ||
  { ls qlog; fail "expected 4 server and 4 client qlog files"; }
qlog_file=$(ls qlog/client-* | head -1)
"$build/apps/eustress-inspect" --qlog "$qlog_file" > qlog.txt 2> qlog.err || { cat qlog.err; fail "--qlog failed"; }
grep -qE 'sent 1RTT .*stream 2 \(control\)' qlog.txt || { cat qlog.txt; fail "--qlog: no control stream packet"; }
grep -qE 'received .*ack' qlog.txt || { cat qlog.txt; fail "--qlog: no ack received"; }
echo "dissector and eustress-inspect decoded the captured chat, datagrams, hellos and welcomes; qlog summarised"
