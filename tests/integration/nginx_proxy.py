"""nginx in front of eustress-server for the tests that put it there (websocket_nginx_test.py,
browser_nginx_test.py): a generated configuration that keeps everything in the test's work directory, upgrades
WebSocket requests, and a wait until nginx listens.

    nginx_proxy.start(nginx, work, SERVER_BLOCK, port)   # SERVER_BLOCK: nginx's `server { ... }`, port: one it opens
"""
import os
import socket

import harness

CONFIG = """daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{server}
}}
"""

# A location's proxying to a WebSocket upstream: HTTP/1.1 with the upgrade headers passed on.
UPGRADE = """proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 60s;"""


def start(nginx, work, server, port):
    with open(os.path.join(work, "nginx.conf"), "w") as out:
        out.write(CONFIG.format(work=work, server=server))
    harness.start([nginx, "-c", os.path.join(work, "nginx.conf"), "-p", work, "-e", "stderr"], "nginx.out")

    def listens():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    harness.wait_for("nginx to listen", listens, 10)
