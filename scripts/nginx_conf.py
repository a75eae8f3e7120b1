"""The front's nginx configuration, rendered from the app's routes and settings.

One renderer for both uses, so ./run.sh and a server behind TLS route alike:
- ``./run.sh`` (scripts/serve.py) writes ``<instance>/run/nginx.conf``: a whole config
  whose pid, temp and log paths lie under the instance folder, listening on HOST:PORT;
- ``deploy/nginx/scenic.conf`` is the site for /etc/nginx/sites-enabled (TLS on 443,
  port 80 redirects), regenerated with ``python -m scripts.nginx_conf --deploy`` and
  checked by tests/test_deploy.py to match the routes.

Routing by path: the routes marked ``live`` (SSE, MJPEG: unbuffered, long timeouts) and
``inference`` (model work) go to their pools, /static/ is served from disk, everything
else goes to the web pool. Query strings are not logged ($uri): they may carry order
numbers.
"""
from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_ROOT = "/opt/scenic"          # where deploy/ expects the checkout
KIND_POOLS = ("live", "inference")

ACCESS_FORMAT = (
    "log_format scenic_json escape=json '{\"ts\":\"$time_iso8601\",\"request_id\":\"$request_id\","
    "\"remote\":\"$remote_addr\",\"method\":\"$request_method\",\"path\":\"$uri\","
    "\"status\":$status,\"bytes\":$body_bytes_sent,\"seconds\":$request_time,"
    "\"upstream\":\"$upstream_addr\",\"upstream_seconds\":\"$upstream_response_time\","
    "\"agent\":\"$http_user_agent\"}';")

DOWN_JSON = ('{"error": "unavailable", "message": "The site is restarting; try again in a few '
             'seconds. 网站正在重启，请稍后再试。"}')


def rule_regex(rule: str) -> str:
    """A werkzeug rule ("/crowd/cameras/<camera_id>/live.mjpg") as an anchored nginx regex."""
    out, pos = [], 0
    for m in re.finditer(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", rule):
        out.append(re.escape(rule[pos:m.start()]).replace("\\/", "/"))
        conv = m.group(1) or "default"
        out.append({"int": "[0-9]+", "path": ".+"}.get(conv, "[^/]+"))
        pos = m.end()
    out.append(re.escape(rule[pos:]).replace("\\/", "/"))
    return "^" + "".join(out) + "$"


def pool_routes(app) -> dict[str, list[str]]:
    """{kind: [regex, ...]} of the routes that leave the web pool, sorted, no repeats."""
    from core.serving import routes_by_kind
    grouped = routes_by_kind(app)
    return {kind: sorted({rule_regex(r.rule) for r in grouped[kind]}) for kind in KIND_POOLS}


def _proxy(upstream: str, extra: list[str]) -> list[str]:
    return [f"proxy_pass http://{upstream};", "proxy_http_version 1.1;",
            'proxy_set_header Connection "";', "proxy_set_header Host $http_host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Host $http_host;",
            "proxy_set_header X-Request-ID $request_id;", *extra]


def _block(head: str, lines: list[str], indent: str) -> list[str]:
    return [f"{indent}{head} {{", *[f"{indent}    {ln}" for ln in lines], f"{indent}}}"]


def render_site(app, *, listen: list[str], static_root: str, ports: dict[str, int],
                server_extra: list[str] = (), indent: str = "") -> str:
    """Upstreams and the server block that routes by kind of work."""
    cfg = app.config
    lines: list[str] = []
    for kind in ("web", "live", "inference"):
        keep = ["keepalive 16;"] if kind == "web" else []
        lines += _block(f"upstream scenic_{kind}", [f"server 127.0.0.1:{ports[kind]};", *keep],
                        indent)
    body = [*(f"listen {addr};" for addr in listen), "server_name _;", "server_tokens off;",
            f"client_max_body_size {cfg['MAX_CONTENT_LENGTH']};",
            "access_log ACCESS_LOG scenic_json;", *server_extra,
            "# A pool that is down or restarting: 503 with Retry-After, not a bare 502.",
            "error_page 502 504 =503 @unavailable;"]
    body += _block("location @unavailable", [
        "default_type application/json;", "add_header Retry-After 5 always;",
        f"return 503 '{DOWN_JSON}';"], "")
    body += _block("location /static/", [
        f"alias {static_root.rstrip('/')}/;", "expires 1h;",
        "add_header X-Content-Type-Options nosniff always;", "access_log off;"], "")
    routes = pool_routes(app)
    for regex in routes["live"]:
        body += _block(f"location ~ {regex}", _proxy("scenic_live", [
            "# Streams: nothing buffered, long-lived, one connection each.",
            "proxy_buffering off;", "proxy_cache off;", "proxy_read_timeout 1h;",
            "proxy_send_timeout 1h;"]), "")
    for regex in routes["inference"]:
        body += _block(f"location ~ {regex}", _proxy("scenic_inference", [
            "proxy_read_timeout 120s;", "proxy_request_buffering on;"]), "")
    body += _block("location /", _proxy("scenic_web", ["proxy_read_timeout 60s;"]), "")
    lines += _block("server", body, indent)
    return "\n".join(lines) + "\n"


def ports_of(cfg) -> dict[str, int]:
    return {"web": cfg["WEB_PORT"], "live": cfg["LIVE_PORT"], "inference": cfg["INFERENCE_PORT"]}


def render_run(app, run_dir: Path, log_dir: Path) -> str:
    """The whole config ./run.sh starts nginx with (everything under the instance)."""
    cfg = app.config
    temp = [f"{name}_temp_path {run_dir}/nginx-{name};" for name in
            ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]
    # Run as whoever runs ./run.sh (root on a fresh machine): nginx's default worker user
    # could not read a checkout under /root nor write the temp paths above.
    user = [f"user {getpass.getuser()};"] if os.geteuid() == 0 else []
    site = render_site(app, listen=[f"{cfg['HOST']}:{cfg['PORT']}"], static_root=str(ROOT / "static"),
                       ports=ports_of(cfg), indent="    ")
    site = site.replace("ACCESS_LOG", str(log_dir / "access.log"))
    return "\n".join([
        "# Written by scripts/serve.py at each start (./run.sh); edit scripts/nginx_conf.py.",
        *user, "worker_processes 1;", "daemon off;", f"pid {run_dir}/nginx.pid;",
        f"error_log {log_dir}/nginx-error.log warn;",
        "events {", "    worker_connections 2048;", "}", "http {",
        "    include /etc/nginx/mime.types;", "    default_type application/octet-stream;",
        "    sendfile on;", "    tcp_nopush on;", "    keepalive_timeout 65s;",
        *(f"    {t}" for t in temp), "    " + ACCESS_FORMAT, site, "}", ""])


def render_deploy(app) -> str:
    """The site file of deploy/nginx/scenic.conf (TLS; include it in http {})."""
    site = render_site(
        app, listen=["443 ssl http2", "[::]:443 ssl http2"],
        static_root=f"{DEPLOY_ROOT}/static", ports={"web": 8001, "live": 8002, "inference": 8003},
        server_extra=[
            "# Certificates, relative to /etc/nginx (e.g. links to /etc/letsencrypt/live/...).",
            "ssl_certificate scenic-tls/fullchain.pem;",
            "ssl_certificate_key scenic-tls/privkey.pem;",
            "ssl_protocols TLSv1.2 TLSv1.3;", "ssl_session_cache shared:scenic_tls:10m;",
            'add_header Strict-Transport-Security "max-age=31536000" always;'])
    site = site.replace("ACCESS_LOG", "/var/log/nginx/scenic-access.log")
    redirect = "\n".join(_block("server", [
        "listen 80;", "listen [::]:80;", "server_name _;", "server_tokens off;",
        "location /.well-known/acme-challenge/ { root /var/www/html; }",
        "location / { return 301 https://$host$request_uri; }"], ""))
    return "\n".join([
        "# The scenic site behind TLS (docs/operations.md). Generated by",
        "# `python -m scripts.nginx_conf --deploy > deploy/nginx/scenic.conf` from the app's",
        "# routes; tests/test_deploy.py fails when it no longer matches them.",
        "# Install: /etc/nginx/sites-enabled/scenic.conf; the checkout at /opt/scenic.",
        ACCESS_FORMAT, redirect, site])


def deploy_app():
    """The app with default settings (not this checkout's instance), for deploy/."""
    import tempfile
    from app import create_app
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SCENIC_")}
        try:
            return create_app(instance_path=tmp)
        finally:
            os.environ.update(env)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deploy", action="store_true", help="print deploy/nginx/scenic.conf")
    args = p.parse_args(argv)
    from app import create_app
    if args.deploy:
        sys.stdout.write(render_deploy(deploy_app()))
    else:
        app = create_app()
        inst = Path(app.instance_path)
        run = inst / "run" / str(app.config["PORT"])
        sys.stdout.write(render_run(app, run, Path(app.config["LOG_DIR"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
