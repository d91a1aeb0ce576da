"""nginx as an asset origin (and, optionally, a CDN in front of it with the slice cache), for the asset test and
benchmark: a generated configuration in the work directory, started through harness.start (stopped at exit).
docs/ASSETS.md shows the same configuration for production."""
import os
import subprocess

from harness import fail, require, start, wait_for


def assets_tool(tool):
    """`run(*args, expect=0)`: runs eustress-assets with the arguments, fails the test on another exit code, and
    returns what it printed."""
    def run(*args, expect=0):
        result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=90)
        if result.returncode != expect:
            fail(f"eustress-assets {' '.join(args)} exited {result.returncode}, expected {expect}:\n"
                 f"{result.stdout}{result.stderr}")
        return result.stdout + result.stderr
    return run


def write_file(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


def make_certificate(work, address="127.0.0.1"):
    """A self-signed certificate for `address` ({work}/tls.pem, its key {work}/tls.key, mode 0600)."""
    openssl = require("openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", f"{work}/tls.key", "-out", f"{work}/tls.pem", "-days", "2", "-subj", f"/CN={address}",
                    "-addext", f"subjectAltName=IP:{address}"], check=True, capture_output=True, timeout=30)
    os.chmod(f"{work}/tls.key", 0o600)
    return f"{work}/tls.pem"


def start_nginx(work, origin_port, cdn_port=None, access_logs=True, h2_port=None, files=None, cpu=None,
                host="127.0.0.1", namespace=None):
    """Serves {work}/www on origin_port ({work}/www under /slow/ too, at 1 MB/s per request); with cdn_port, a
    slice cache in front of it that passes the manifest through uncached; with h2_port, the same origin over TLS
    with HTTP/2 offered (make_certificate's); with `files`, that folder under /files/ (range requests) on the
    origin and the TLS origin; with `cpu`, nginx runs on that core only (taskset); the origins listen on `host`,
    inside network `namespace` when given (ip netns exec). Access logs: origin.log, cdn.log, h2.log ('URI STATUS BYTES PROTOCOL CONNECTION' per line)."""
    nginx = require("nginx")
    for folder in ("cache", "tmp"):
        os.makedirs(f"{work}/{folder}", exist_ok=True)
    os.chmod(work, 0o755)
    log = (lambda name: f"access_log {work}/{name}.log assets;") if access_logs else (lambda name: "access_log off;")
    cdn = "" if cdn_port is None else f"""
  server {{
    listen 127.0.0.1:{cdn_port};
    {log("cdn")}
    location ~ /manifest$ {{ proxy_pass http://127.0.0.1:{origin_port}; }}
    location / {{
      slice 1m;
      proxy_cache assets;
      proxy_cache_key $uri$slice_range;
      proxy_set_header Range $slice_range;
      proxy_cache_valid 200 206 1h;
      proxy_pass http://127.0.0.1:{origin_port};
    }}
  }}"""
    files_location = "" if files is None else f"location /files/ {{ alias {files}/; }}"
    h2 = "" if h2_port is None else f"""
  server {{
    listen {host}:{h2_port} ssl http2;
    ssl_certificate {work}/tls.pem;
    ssl_certificate_key {work}/tls.key;
    {log("h2")}
    root {work}/www;
    {files_location}
  }}"""
    config = f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  log_format assets '$request_uri $status $body_bytes_sent $server_protocol $connection';
  client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
  proxy_cache_path {work}/cache levels=1:2 keys_zone=assets:10m max_size=1g inactive=60m use_temp_path=off;
  server {{
    listen {host}:{origin_port};
    {log("origin")}
    root {work}/www;
    location /slow/ {{ alias {work}/www/; limit_rate 1m; }}
    {files_location}
  }}{cdn}{h2}
}}
"""
    with open(f"{work}/nginx.conf", "w") as out:
        out.write(config)
    pin = [] if cpu is None else [require("taskset"), "-c", str(cpu)]
    if namespace:
        pin = ["ip", "netns", "exec", namespace, *pin]
    start([*pin, nginx, "-p", work, "-c", f"{work}/nginx.conf", "-e", f"{work}/nginx-error.log"], f"{work}/nginx.out")
    wait_for("nginx's pid file", lambda: os.path.exists(f"{work}/nginx.pid"), 10)
