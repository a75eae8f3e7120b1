"""Run the whole site the way ./run.sh does: the front, three pools, the background work.

    front      nginx on HOST:PORT: static files, and each request routed by its kind
    web        gunicorn (gthread) on WEB_PORT: pages, gates, bookings, APIs
    live       gunicorn on LIVE_PORT: SSE and MJPEG streams, bounded per process
    inference  gunicorn on INFERENCE_PORT, whose model workers are niced processes
    + each domain's servers (``<domain>/demo.py: servers(app)``: the MQTT broker) and
      background processes (``processes(app)``, niced: the MQTT bridge, the crowd worker...)
      and the daily backup (``flask --app app db schedule``)

Every child is watched and restarted if it dies; Ctrl-C (or SIGTERM) stops them all.
docs/operations.md explains the model and the numbers behind it. The terminal shows a
banner, a line per process started, warnings and errors; the access log (nginx, JSON
lines) and the app's log are under LOG_DIR, rotated.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path

from app import create_app
from core.backup import hold_serving_lock
from core.domains import DOMAINS, domain_modules
from scripts import nginx_conf
from scripts.supervise import Child, Console, LogRouter, Supervisor, rotate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_dir_of(app) -> Path:
    """Where this site's pid files, nginx config and temp files live: one folder per front
    port, so two sites on one instance (a test does that) do not share them."""
    return Path(app.instance_path) / "run" / str(app.config["PORT"])


def pool_children(cfg) -> list[Child]:
    gunicorn = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    return [
        Child("web", gunicorn, {"SCENIC_SERVE_KIND": "web"},
              describe=f"web pool: gunicorn, {cfg['WEB_PROCESSES']} processes x "
                       f"{cfg['THREADS']} threads on 127.0.0.1:{cfg['WEB_PORT']}"),
        Child("live", gunicorn, {"SCENIC_SERVE_KIND": "live"},
              describe=f"live pool: gunicorn, {cfg['LIVE_PROCESSES']} process(es), at most "
                       f"{cfg['LIVE_MAX_STREAMS']} streams each, on 127.0.0.1:{cfg['LIVE_PORT']}"),
        Child("inference", gunicorn, {"SCENIC_SERVE_KIND": "inference"},
              describe=f"inference pool: {cfg['INFERENCE_PROCESSES']} model worker(s) at nice "
                       f"{cfg['INFERENCE_NICE']}"
                       f"{' (SCHED_IDLE)' if cfg['INFERENCE_IDLE'] else ''}, "
                       f"queue {cfg['INFERENCE_QUEUE']}, on "
                       f"127.0.0.1:{cfg['INFERENCE_PORT']}"),
    ]


def _words(cmd: list) -> list:
    return [w for w in cmd[cmd.index("app") + 1:] if not w.startswith("-")][:2] \
        if "app" in cmd else cmd[-2:]


def background_children(app) -> list[Child]:
    """Each domain's servers first (``demo.servers(app)``: what its processes talk to,
    such as the MQTT broker; not niced, stopped last), then its processes (niced, stopped
    first), then the daily backup."""
    nice = ["nice", "-n", str(app.config["INFERENCE_NICE"])]
    out = []
    if os.environ.get("SCENIC_NO_WORKERS") != "1":
        mods = list(domain_modules("demo", DOMAINS))
        for mod in mods:
            for svc in getattr(mod, "servers", lambda a: [])(app):
                out.append(Child("-".join(_words(svc["cmd"])), list(svc["cmd"]),
                                 describe=svc.get("describe") or " ".join(_words(svc["cmd"])),
                                 stage=1))
        for mod in mods:
            for cmd in getattr(mod, "processes", lambda a: [])(app):
                words = _words(cmd)
                out.append(Child("-".join(words), nice + cmd, once=(words == ["guide", "audio"]),
                                 describe=" ".join(words), stage=2))
    out.append(Child("backups", nice + [sys.executable, "-m", "flask", "--app", "app", "db",
                                        "schedule"],
                     describe=f"daily backup at {app.config['BACKUP_TIME']} into "
                              f"{app.config['BACKUP_DIR']} (keeps {app.config['BACKUP_KEEP']})",
                     stage=1))
    return out


def wait_healthy(url: str, timeout: float, supervisor: Supervisor, stopping: dict) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not stopping["now"]:
        supervisor.watch()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def banner(app, console: Console) -> None:
    cfg = app.config
    base = f"http://{cfg['HOST']}:{cfg['PORT']}"
    rules = {r.endpoint: r for r in app.url_map.iter_rules()}
    with app.test_request_context():
        from flask import url_for
        first_site = None
        from catalog import interface as catalog
        from core.db import own_connection
        with own_connection(cfg) as db:
            sites = catalog.list_sites(db)
            first_site = sites[0].id if sites else None
        links = [("Home", "core.home", {}), ("Book tickets", "ticketing.book_site",
                                              {"site_id": first_site}),
                 ("Handheld gate", "gates.handheld", {}), ("Control room", "crowd.dashboard", {}),
                 ("Audio guide", "guide.index", {}), ("Staff console", "core.console", {})]
        lines = []
        for label, endpoint, args in links:
            if endpoint in rules and all(args.values()):
                lines.append(f"  {label:<15} {base}{url_for(endpoint, **args)}")
        for endpoint, rule in rules.items():      # API docs, where a plug-in offers them
            if "docs" in endpoint and rule.rule.startswith("/api"):
                lines.append(f"  {'API docs':<15} {base}{rule.rule}")
                break
    creds_file = Path(app.instance_path) / "demo-credentials.json"
    creds = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    out = ["", "Mount Tai & Qufu smart scenic areas are running:", *lines]
    if creds:
        out.append(f"Demo accounts (also in {creds_file}):")
        out += [f"  {user}: {password}" for user, password in creds.items()]
    out += [f"Logs: {cfg['LOG_DIR']}/access.log (every request), scenic.log (the app)",
            "Ctrl-C stops everything.", ""]
    console.say("\n".join(out))


def main() -> int:
    app = create_app()
    cfg = app.config
    console = Console()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        console.say("nginx is not installed: run scripts/setup.sh", "serve", "ERROR")
        return 1
    run_dir = run_dir_of(app)
    log_dir = Path(cfg["LOG_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    lock = hold_serving_lock(cfg["DATABASE"])  # noqa: F841 (held until exit: no restore now)
    _fresh_metrics_dir(run_dir)
    conf = run_dir / "nginx.conf"
    conf.write_text(nginx_conf.render_run(app, run_dir, log_dir))
    router = LogRouter(log_dir, cfg["LOG_ROTATE_BYTES"], cfg["LOG_KEEP"], console)
    sup = Supervisor(router, console, run_dir / "pids.json")
    stopping = {"now": False}

    def stop(*_):
        stopping["now"] = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        for child in pool_children(cfg):
            sup.start(child)
        # The front opens the public port only once the web pool answers: until then a
        # gate's client gets "connection refused" and decides offline at once.
        web = f"http://127.0.0.1:{cfg['WEB_PORT']}/healthz"
        if not wait_healthy(web, 90, sup, stopping) and not stopping["now"]:
            console.say(f"the web pool did not answer {web} within 90 s; see {log_dir}",
                        "serve", "ERROR")
        sup.start(Child("front", [nginx, "-e", str(log_dir / "nginx-error.log"), "-p",
                                  str(run_dir), "-c", str(conf)],
                        describe=f"front: nginx on http://{cfg['HOST']}:{cfg['PORT']}/"))
        health = f"http://{cfg['HOST']}:{cfg['PORT']}/healthz"
        if not wait_healthy(health, 30, sup, stopping) and not stopping["now"]:
            console.say(f"the site did not answer {health} within 30 s; see {log_dir}",
                        "serve", "ERROR")
        if not stopping["now"]:
            for child in background_children(app):
                sup.start(child)
            banner(app, console)
        last_rotate_check = 0.0
        while not stopping["now"]:
            sup.watch()
            if time.monotonic() - last_rotate_check > 5:
                last_rotate_check = time.monotonic()
                _rotate_front_logs(sup, log_dir, cfg)
            time.sleep(0.5)
    finally:
        console.say("stopping…", "serve")
        sup.stop_all()
        router.close()
        _clear_live_frames(app)
        console.say("stopped", "serve")
    return 0


def _fresh_metrics_dir(run_dir: Path) -> None:
    """prometheus_client's multiprocess folder for this run (core/metrics.py), empty, in
    the environment every child inherits: the pools write to it, /metrics reads it all."""
    metrics_dir = run_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def _rotate_front_logs(sup: Supervisor, log_dir: Path, cfg) -> None:
    """nginx writes its logs itself: rotate them by size and have it reopen (USR1)."""
    front = next((c for c in sup.children if c.name == "front"), None)
    if front is None or front.proc is None or front.proc.poll() is not None:
        return
    rotated = False
    for name in ("access.log", "nginx-error.log"):
        path = log_dir / name
        if path.exists() and path.stat().st_size >= cfg["LOG_ROTATE_BYTES"]:
            rotate(path, cfg["LOG_KEEP"])
            rotated = True
    if rotated:
        os.kill(front.proc.pid, signal.SIGUSR1)


def _clear_live_frames(app) -> None:
    from crowd.live import frames_of
    frames_of(app).clear()   # frames are memory only while the site runs (privacy)


if __name__ == "__main__":
    sys.exit(main())
