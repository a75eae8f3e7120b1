"""What metrics cost: the request hook per request, and a scrape, beside baselines measured
in the same run.

    .venv/bin/python -m bench.metrics_bench [--requests 20000] [--processes 12]

1. The hook every request runs (``core.metrics._count_request``: one counter, one
   histogram) in multiprocess mode (memory-mapped files, as the pools run it), beside the
   same calls with the values in process memory (the library's default) and beside a
   request to ``/healthz`` through the Flask test client (what the hook is added to).
2. A scrape of ``/metrics`` on a migrated instance with the catalog and the demo camera
   (the domains' scrape-time collectors read the database), with the files of
   ``--processes`` processes in the multiprocess folder, beside ``/healthz``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HOOK = """
import sys, time
from core import metrics, serving
done = serving.RequestDone("web", "/api/gate/scan", "gates.api_scan", "POST", 200, 0.012)
n = int(sys.argv[1])
metrics._count_request(done)
t = time.perf_counter()
for _ in range(n):
    metrics._count_request(done)
print((time.perf_counter() - t) / n * 1e6)
"""


def hook_us(n: int, folder: Path | None) -> float:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if folder is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    out = subprocess.run([sys.executable, "-c", HOOK, str(n)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True, timeout=600)
    return float(out.stdout.split()[-1])


SCRAPE = """
import statistics, sys, time
from app import create_app
from catalog.services import load_catalog
from core.db import connect, migrate
from crowd import cameras
from core.clock import clock_for
app = create_app({"ENV": "testing"}, instance_path=sys.argv[1])
db = connect(app.config["DATABASE"]); migrate(db); load_catalog(db)
cameras.save_camera(db, {"id": "cam-a", "name": "Camera", "site_id": "kongmiao",
                         "zone_id": "qianyuan", "source": "x.mp4", "width": 768,
                         "height": 576, "regions": []}, clock=clock_for("Asia/Shanghai"),
                    create=True)
db.conn.close()
c = app.test_client()
def ms(path, n=int(sys.argv[2])):
    c.get(path)
    times = []
    for _ in range(n):
        t = time.perf_counter(); assert c.get(path).status_code == 200
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)
print(ms("/healthz"), ms("/metrics"), len(c.get("/metrics").data))
"""


def scrape_ms(folder: Path, instance: Path, n: int) -> tuple[float, float, int]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    out = subprocess.run([sys.executable, "-c", SCRAPE, str(instance), str(n)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True, timeout=600)
    healthz, metrics, size = out.stdout.split()[-3:]
    return float(healthz), float(metrics), int(size)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--processes", type=int, default=12)
    ap.add_argument("--scrapes", type=int, default=30)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "metrics"
        folder.mkdir()
        memory = [hook_us(args.requests, None) for _ in range(3)]
        mapped = [hook_us(args.requests, folder) for _ in range(3)]
        for _ in range(max(0, args.processes - 4)):   # more processes' files to read
            hook_us(10, folder)
        files = len(list(folder.glob("*.db")))
        healthz, scrape, size = scrape_ms(folder, Path(tmp) / "instance", args.scrapes)
    print("The request hook (one counter + one histogram), median of 3 runs of "
          f"{args.requests} calls:")
    print(f"  multiprocess files (the pools): {statistics.median(mapped):6.1f} us per request")
    print(f"  process memory (baseline):      {statistics.median(memory):6.1f} us per request")
    print(f"A scrape with {files} metric files from about {args.processes} processes, median "
          f"of {args.scrapes}:")
    print(f"  GET /metrics: {scrape:6.1f} ms ({size} bytes)")
    print(f"  GET /healthz: {healthz:6.1f} ms (baseline, same app, same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
