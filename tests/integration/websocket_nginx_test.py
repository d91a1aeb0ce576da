#!/usr/bin/env python3
"""The WebSocket fallback behind nginx, started by this test with a generated configuration: nginx proxies
ws://.../game (plain) and wss://.../game (TLS terminated by nginx, with the server's own development certificate)
to eustress-server's WebSocket port. A native eustress-client whose UDP goes nowhere falls back through the plain
proxy and chats with a UDP player; a TLS client upgrades through the wss:// proxy and gets our subprotocol back.
(The native client does not speak wss:// itself yet, docs/WEB.md: it says so and stops.)
Usage: websocket_nginx_test.py BUILD_DIR"""
import base64
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nginx_proxy  # noqa: E402

SERVER = """    server {{
        listen 127.0.0.1:{plain};
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        location /game {{
            proxy_pass http://127.0.0.1:{websocket}/;
            {upgrade}
        }}
    }}"""


def upgrade_over_tls(port):
    """A WebSocket upgrade to wss://127.0.0.1:port/game (certificate not checked: a development certificate)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall((f"GET /game HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                         "Sec-WebSocket-Protocol: eustress-quic\r\n\r\n").encode())
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                answer += chunk
            return answer.decode(errors="replace")


def main(build):
    nginx = harness.require("nginx")
    work = harness.work_directory()
    certificates = os.path.join(work, "cert")
    server = harness.start([f"{build}/apps/eustress-server", "--bind", "127.0.0.1", "-p", "0", "--websocket", "0",
                            "--no-http", "--dev-cert-dir", certificates], "server.out")
    banner = harness.wait_line("server.out", r"^listening on (\S+) pin (\S+)$", 10, "the server's banner")
    udp, pin = banner.group(1), banner.group(2)
    websocket = harness.wait_line("server.out", r"^websocket on \S+ port (\d+)", 5, "the WebSocket port").group(1)

    plain, tls = harness.free_port(), harness.free_port()
    nginx_proxy.start(nginx, work, SERVER.format(plain=plain, tls=tls, websocket=websocket,
                                                 certificate=os.path.join(certificates, "dev-cert.pem"),
                                                 key=os.path.join(certificates, "dev-key.pem"),
                                                 upgrade=nginx_proxy.UPGRADE), plain)

    answer = upgrade_over_tls(tls)
    if not answer.startswith("HTTP/1.1 101") or "eustress-quic" not in answer.lower():
        harness.fail(f"the upgrade through nginx's wss:// was not accepted with our subprotocol:\n{answer}")
    print("wss:// through nginx (TLS terminated there): upgraded, subprotocol eustress-quic")

    nowhere = harness.free_port()  # a UDP port nobody answers on: the client falls back at once to the proxy
    player = harness.start_typing_client([f"{build}/apps/eustress-client", "--server", udp, "--pin", pin],
                                         "udp-player.out")
    behind = harness.start_typing_client([f"{build}/apps/eustress-client", "--server", f"127.0.0.1:{nowhere}",
                                          "--pin", pin, "--server-name", "localhost",
                                          "--websocket", f"ws://127.0.0.1:{plain}/game"], "proxied.out")
    started = time.monotonic()
    harness.wait_line("udp-player.out", r"^connected as client \d+ over udp", 10, "the UDP player")
    proxied = harness.wait_line("proxied.out", r"^connected as client (\d+) over websocket", 10, "the proxied client")
    print(f"through nginx's ws:// proxy: playing {(time.monotonic() - started) * 1000:.0f} ms after start")
    harness.type_line(behind, "hello through nginx")
    harness.wait_line("udp-player.out", rf"^\[client {proxied.group(1)}\] hello through nginx$", 10, "the proxied line")
    harness.type_line(player, "hello back over UDP")
    harness.wait_line("proxied.out", r"^\[client \d+\] hello back over UDP$", 10, "the UDP player's line")

    refused = subprocess.run([f"{build}/apps/eustress-client", "--server", f"127.0.0.1:{nowhere}", "--pin", pin,
                              "--websocket", f"wss://127.0.0.1:{tls}/game"], capture_output=True, text=True,
                             timeout=10, stdin=subprocess.DEVNULL)
    if refused.returncode == 0 or "wss://" not in refused.stderr:
        harness.fail(f"a wss:// URL should be refused with a message for now: {refused.stderr!r}")
    for process in (behind, player):
        process.stdin.close()
    server.terminate()
    server.wait(timeout=5)
    totals = harness.wait_line("server.out", r"^websocket: upgrades (\d+)", 5, "the server's WebSocket totals")
    if int(totals.group(1)) != 2:
        harness.fail(f"the server counted {totals.group(1)} upgrades through nginx, expected 2")
    print("nginx: ws:// session chats both ways, wss:// upgrades; the native client refuses wss:// for now")


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
