"""gunicorn settings of one pool: ``SCENIC_SERVE_KIND`` = web, live or inference.

The same file serves ./run.sh (scripts/serve.py starts one gunicorn per pool) and the
systemd units (deploy/systemd/scenic-<kind>.service). Sizes and ports come from the app's
settings (instance/config.toml, SCENIC_* variables), so both read the same numbers:

- web: WEB_PROCESSES processes x THREADS threads (gthread) on WEB_PORT;
- live: LIVE_PROCESSES processes x (LIVE_MAX_STREAMS + 8) threads on LIVE_PORT, so a
  stream over the bound is always answered 503 by a free thread, never queued;
- inference: one process whose threads only wait for the model workers
  (INFERENCE_PROCESSES, niced, core.inference) on INFERENCE_PORT.

Pools listen on the loopback only: nginx, on HOST:PORT, is the one public door.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCENIC_TRUSTED_PROXY_HOPS", "1")   # behind the site's nginx

from core.config import load_config  # noqa: E402

kind = os.environ.get("SCENIC_SERVE_KIND", "")
if kind not in ("web", "live", "inference"):
    raise SystemExit("set SCENIC_SERVE_KIND to web, live or inference")
_instance = Path(os.environ.get("SCENIC_INSTANCE") or ROOT / "instance").resolve()
_cfg = load_config(_instance)

wsgi_app = "app:create_app()"
chdir = str(ROOT)
worker_class = "gthread"
proc_name = f"scenic-{kind}"
bind = [f"127.0.0.1:{_cfg[kind.upper() + '_PORT']}"]
if kind == "web":
    workers, threads = _cfg["WEB_PROCESSES"], _cfg["THREADS"]
    timeout, graceful_timeout = 30, 10
elif kind == "live":
    workers, threads = _cfg["LIVE_PROCESSES"], _cfg["LIVE_MAX_STREAMS"] + 8
    # Streams are long by design; the timeout is for a stuck worker's heartbeat only.
    timeout, graceful_timeout = 30, 3
else:
    workers = 1
    threads = _cfg["INFERENCE_PROCESSES"] + _cfg["INFERENCE_QUEUE"] + 4
    timeout, graceful_timeout = int(_cfg["INFERENCE_TIMEOUT"]) + 30, 10
keepalive = 5
accesslog = None            # the front's access log is the record of every request
errorlog = "-"
loglevel = "info"           # scripts/serve.py shows warnings and worker starts only


def on_starting(server):
    # A restore must not swap the database under a running pool (core.backup).
    from core.backup import hold_serving_lock
    server.scenic_lock = hold_serving_lock(_cfg["DATABASE"])


def post_worker_init(worker):
    if kind == "inference":
        from core import inference
        inference.start(worker.wsgi)    # model workers start now, not on the first visitor
