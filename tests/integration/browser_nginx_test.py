#!/usr/bin/env python3
"""The browser behind nginx: nginx, started by this test with a generated configuration, terminates TLS with a test
certificate the test makes (ECDSA P-256 for 127.0.0.1: chromium does not take the server's Ed25519 development
certificate) and proxies https://.../ (the page) and wss://.../ (the browser session) to eustress-server's WebSocket
port. Headless chromium accepts the certificate by its key alone (--ignore-certificate-errors-spki-list with the
base64 SHA-256 of its SubjectPublicKeyInfo), loads the page over https, connects over wss with the page's https
Origin (the only one the server allows) and mirrors the replicated cubes, each within quantization of the server's
own log; no console error.
Usage: browser_nginx_test.py BUILD_DIR"""
import base64
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nginx_proxy  # noqa: E402
from browser_page import CUBES, Driver, SOURCE, build_web_package, compare_worlds  # noqa: E402

SERVER = """    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{websocket};
            {upgrade}
        }}
    }}"""


def test_certificate(openssl, work):
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 (key file 0600) and its SPKI pin, as chromium wants it."""
    certificate, key = os.path.join(work, "test-cert.pem"), os.path.join(work, "test-key.pem")
    previous = os.umask(0o077)
    try:
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    finally:
        os.umask(previous)
    public_key = subprocess.run([openssl, "x509", "-in", certificate, "-noout", "-pubkey"], check=True,
                                capture_output=True, timeout=30).stdout
    spki = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=public_key, check=True,
                          capture_output=True, timeout=30).stdout
    return certificate, key, base64.b64encode(hashlib.sha256(spki).digest()).decode()


def main(build):
    nginx, node, chromium = harness.require("nginx"), harness.require("node"), harness.require("chromium")
    openssl = harness.require("openssl")
    build_web_package()
    work = harness.work_directory()
    certificate, key, spki_pin = test_certificate(openssl, work)
    tls = harness.free_port()
    origin = f"https://127.0.0.1:{tls}"
    server = harness.start([f"{build}/apps/eustress-server", "--bind", "127.0.0.1", "-p", "0", "--websocket", "0",
                            "--no-http", "--allow-origin", origin, "--web-root", os.path.join(SOURCE, "web", "dist"),
                            "--dev-cert-dir", os.path.join(work, "cert"), "--cubes", str(CUBES), "--world-log", "world.jsonl"],
                           "server.out")
    harness.wait_line("server.out", r"^listening on \S+ pin \S+$", 10, "the server's banner")
    websocket = harness.wait_line("server.out", r"^websocket on \S+ port (\d+)", 5, "the WebSocket port").group(1)
    nginx_proxy.start(nginx, work, SERVER.format(tls=tls, certificate=certificate, key=key, websocket=websocket,
                                                 upgrade=nginx_proxy.UPGRADE), tls)

    page = Driver(node, chromium, f"{origin}/", [f"--ignore-certificate-errors-spki-list={spki_pin}"])
    connected = page.answer()
    if not connected.startswith("connected "):
        harness.fail(f"the page did not connect through nginx: {connected}")
    print(f"chromium: page loaded over https from nginx, session over wss welcomed as client {connected.split()[1]}")
    compare_worlds(page)
    state = json.loads(page.ask("state"))
    if state["errors"] or state["counters"]["badFrames"]:
        harness.fail(f"the page behind nginx: {state}")
    page.process.stdin.write("quit\n")
    page.process.stdin.close()
    page.process.wait(timeout=15)
    server.terminate()
    server.wait(timeout=5)
    totals = harness.wait_line("server.out", r"^browser: sessions (\d+), files served (\d+)", 5, "the server's totals")
    if int(totals.group(1)) != 1 or int(totals.group(2)) < 3:
        harness.fail(f"the server counted {totals.group(1)} browser sessions and {totals.group(2)} files via nginx")
    print("nginx: https page, wss session, the replicated world mirrored; no console error")


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build")
