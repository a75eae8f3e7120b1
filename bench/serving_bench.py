"""Why the process model (docs/operations.md): the former single waitress process against
the pools ./run.sh runs now, with dashboard streams open; and the costs of the
cross-process pieces (the shared frame store, one state computation per tick).

    .venv/bin/python -m bench.serving_bench [--streams 10]

1. ``waitress, 8 threads`` (the former ``scripts/serve.py``) and ``./run.sh's pools``
   (``scripts.serve``, without the demo workers) each get N open ``/crowd/stream``
   connections, then 20 ``GET /healthz`` one after another: how many are answered within
   2 s, and how fast.
2. The live frame store: ``put`` + ``latest`` of a 60 kB JPEG through /dev/shm files
   against a dict in one process's memory (the former store).
3. The dashboard state: the cost of one ``dashboard_state`` computation, times the streams
   (the former per-stream loop) against once per tick (crowd.stream).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.drill import free_base_port  # noqa: E402

PY = sys.executable


def _prepare(instance: Path, env: dict) -> str:
    for cmd in (["-m", "flask", "--app", "app", "migrate"],
                ["-m", "flask", "--app", "app", "catalog", "load"]):
        subprocess.run([PY, *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([PY, "-m", "flask", "--app", "app", "create-user", "bench-staff", "--role",
                    "staff", "--password", "bench-password-1"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return "bench-password-1"


def _login(base: str, password: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base}/login").text).group(1)
    s.post(f"{base}/login", data={"username": "bench-staff", "password": password,
                                  "csrf_token": token}, allow_redirects=False)
    return s


def _probe(base: str, cookies, streams: int) -> dict:
    stop = threading.Event()
    opened = []

    def hold():
        s = requests.Session()
        s.cookies.update(cookies)
        try:
            with s.get(f"{base}/crowd/stream", stream=True, timeout=(3, 60)) as r:
                opened.append(r.status_code)
                for _ in r.iter_lines():
                    if stop.is_set():
                        return
        except requests.RequestException:
            opened.append("failed")
    threads = [threading.Thread(target=hold, daemon=True) for _ in range(streams)]
    for t in threads:
        t.start()
    time.sleep(3)
    answered, ms = 0, []
    for _ in range(20):
        started = time.perf_counter()
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                answered += 1
                ms.append((time.perf_counter() - started) * 1000)
        except requests.RequestException:
            pass
    stop.set()
    return {"streams": streams, "open": opened.count(200), "healthz answered": f"{answered}/20",
            "p50 ms": round(statistics.median(ms), 1) if ms else None,
            "max ms": round(max(ms), 1) if ms else None}


def compare_servers(streams: int) -> list:
    rows = []
    for shape in ("waitress, 8 threads (former)", "./run.sh's pools (now)"):
        work = Path(tempfile.mkdtemp(prefix="scenic-serving-"))
        port = free_base_port()
        env = {**os.environ, "SCENIC_INSTANCE": str(work / "instance"),
               "SCENIC_PORT": str(port), "SCENIC_NO_WORKERS": "1",
               "SCENIC_CROWD_SSE_MAX_SECONDS": "120"}
        password = _prepare(work / "instance", env)
        if shape.startswith("waitress"):
            cmd = [PY, "-c", "from waitress import serve; from app import create_app; "
                   f"serve(create_app(), host='127.0.0.1', port={port}, threads=8)"]
        else:
            cmd = [PY, "-m", "scripts.serve"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.5)
            cookies = _login(base, password).cookies
            rows.append({"server": shape, **_probe(base, cookies, streams)})
        finally:
            os.killpg(proc.pid, signal.SIGINT if "pools" in shape else signal.SIGTERM)
            proc.wait(timeout=60)
    return rows


def frame_store() -> dict:
    from crowd.live import LiveFrames
    jpeg = os.urandom(60_000)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        store = LiveFrames(tmp)
        n = 2000
        started = time.perf_counter()
        for i in range(n):
            store.put("cam", jpeg)
            store.latest("cam")
        shared = (time.perf_counter() - started) / n * 1e6
    memory, lock = {}, threading.Lock()
    started = time.perf_counter()
    for i in range(n):
        with lock:
            memory["cam"] = (time.monotonic(), i, jpeg)
        with lock:
            memory.get("cam")
    local = (time.perf_counter() - started) / n * 1e6
    return {"/dev/shm file store put+latest us": round(shared, 1),
            "in-process dict (former) us": round(local, 2),
            "at 2 frames/s per camera, 64 cameras: CPU share": f"{shared * 128 / 1e6:.2%}"}


def state_cost(streams: int) -> dict:
    from app import create_app
    from core.db import connect, migrate
    from catalog.services import load_catalog
    from crowd import services
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ENV": "testing"}, instance_path=tmp)
        db = connect(app.config["DATABASE"])
        migrate(db)
        load_catalog(db)
        clock, policy = app.extensions["scenic.clock"], services.Policy.from_config(app.config)
        runs = 50
        started = time.perf_counter()
        for _ in range(runs):
            services.dashboard_state(db, clock, policy=policy)
        one = (time.perf_counter() - started) / runs * 1000
        db.conn.close()
    return {"one dashboard_state ms": round(one, 2),
            f"per-stream loop, {streams} streams, CPU ms a second": round(one * streams, 1),
            "once per tick (now), CPU ms a second": round(one, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=10)
    args = ap.parse_args(argv)
    print(f"Serving shapes with {args.streams} open dashboard streams (2 CPUs, shared "
          f"machine; load average {os.getloadavg()[0]:.1f})")
    for row in compare_servers(args.streams):
        print("  " + ", ".join(f"{k}: {v}" for k, v in row.items()))
    print("Live frame store:", frame_store())
    print("Dashboard state:", state_cost(30))
    return 0


if __name__ == "__main__":
    sys.exit(main())
