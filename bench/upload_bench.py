"""Upload abuse benchmark: hostile audio uploads beside honest voice questions, posted
over real HTTP to the app under waitress in its own process.

    .venv/bin/python bench/upload_bench.py [--concurrency 10] [--rounds 2]

Prints, for each hostile file (tests/guide/hostile_audio.py): its size, the answer
(status and error code) and how long it took; then the server process's resident
memory growth (peak during the run minus before it) while ``concurrency`` hostile
uploads run at once, beside the same figure for honest spoken questions (Whisper
already loaded by a warm-up question), and the peak memory of the decoding helper and
its children. ``start_server``, ``post_audio`` and ``RssWatch`` are meant for a later
bench/abuse_bench.py too.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "guide"))
os.environ.setdefault("YOLO_OFFLINE", "1")

from bench.serverkit import free_port, tree_sample, wait_up  # noqa: E402


def serve(instance: str, port: int, threads: int) -> None:
    """Run the app on ``instance`` (migrated, catalog and guide content loaded)."""
    import logging

    from waitress import serve as waitress_serve
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)   # "Task queue depth" notes

    from app import create_app
    from catalog.services import load_catalog
    from core.db import connect, migrate
    from guide import services
    # ENV development: production refuses the sandbox payment gateway (the bench never pays).
    app = create_app({"ENV": "development", "LOG_LEVEL": "WARNING",
                      "GUIDE_VOICE_PER_MINUTE": 100000,
                      "GUIDE_ASK_PER_MINUTE": 100000}, instance_path=instance)
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    services.load_content(db, clock=app.extensions["scenic.clock"])
    db.conn.close()
    waitress_serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


def start_server(instance: str, threads: int = 8) -> tuple[subprocess.Popen, str]:
    """The app under waitress in a child process; returns (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve",
                             instance, str(port), str(threads)], cwd=ROOT)
    wait_up(port, timeout=120)
    return proc, f"http://127.0.0.1:{port}"


def post_audio(base: str, name: str, data: bytes, *, site: str = "taishan",
               lang: str = "en") -> tuple[int, str, float]:
    """POST a voice question; returns (status, error code or answer kind, seconds)."""
    import requests
    started = time.monotonic()
    resp = requests.post(base + "/api/guide/ask-voice", timeout=120,
                         data={"site": site, "lang": lang}, files={"audio": (name, data)})
    body = resp.json()
    return resp.status_code, body.get("error") or body.get("kind", ""), \
        time.monotonic() - started


class RssWatch:
    """Resident memory of a process and its descendants, sampled every 10 ms: the process's
    own peak, its descendants' peak together, the whole tree's peak, and each process's
    peak (a site served by several processes, as ./run.sh runs it)."""

    def __init__(self, pid: int):
        import psutil
        self.proc = psutil.Process(pid)
        self.start = self._sample()
        self.before = self.start.get(pid, 0)
        self.peak = self.before
        self.children_peak = 0
        self.peak_total = sum(self.start.values())
        self.peak_each: dict[int, int] = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict[int, int]:
        return tree_sample(self.proc.pid, lambda p: p.memory_info().rss)

    def _run(self):
        while not self._stop.is_set():
            now = self._sample()
            if self.proc.pid not in now:
                return
            self.peak = max(self.peak, now[self.proc.pid])
            self.children_peak = max(self.children_peak, sum(now.values()) - now[self.proc.pid])
            self.peak_total = max(self.peak_total, sum(now.values()))
            for pid, rss in now.items():
                self.peak_each[pid] = max(self.peak_each.get(pid, 0), rss)
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def tree_growth_mb(self) -> float:
        return (self.peak_total - sum(self.start.values())) / 2 ** 20

    @property
    def most_one_grew_mb(self) -> float:
        """Among processes alive before the run (one started meanwhile, such as a decoding
        child, counts in the tree's figure)."""
        return max((self.peak_each[p] - rss for p, rss in self.start.items()), default=0) / 2 ** 20

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 2 ** 20


def hostile_upload_memory(base_url: str, server_pid: int, concurrency: int = 4,
                          rounds: int = 2) -> str:
    """Post the hostile set (tests/guide/hostile_audio.py) ``rounds`` times, ``concurrency``
    at once, to a running site; a line with the statuses and the memory its processes grew.
    Four at once: with more, some get 503 ``busy`` from the inference pool's bounded queue
    before any decoding, which is the bound working but not a test of the upload checks."""
    from hostile_audio import hostile_set
    items = [(n, d, "en") for n, d in hostile_set().items()] * rounds
    # One honest question first: the model worker loads Whisper on its first job, which is
    # not the uploads' doing.
    warm = ROOT / "tests" / "guide" / "fixtures" / "zh_q1.wav"
    post_audio(base_url, warm.name, warm.read_bytes(), lang="zh")
    with RssWatch(server_pid) as watch:
        started = time.monotonic()
        results = run_all(base_url, items, concurrency)
        wall = time.monotonic() - started
    statuses = sorted({r[0] for r in results})
    return (f"hostile uploads: {len(items)} ({concurrency} at once) answered {statuses} in "
            f"{wall:.1f} s, slowest {max(r[2] for r in results):.1f} s; site's processes: "
            f"the whole tree +{watch.tree_growth_mb:.0f} MB at its peak, the most any one grew "
            f"+{watch.most_one_grew_mb:.0f} MB")


def run_all(base: str, items: list[tuple[str, bytes, str]], concurrency: int):
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda it: post_audio(base, it[0], it[1], lang=it[2]), items))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from hostile_audio import hostile_set

    hostile = hostile_set()
    fixtures = ROOT / "tests" / "guide" / "fixtures"
    honest = [(f"zh_q{i}.wav", (fixtures / f"zh_q{i}.wav").read_bytes(), "zh")
              for i in range(1, 6)]
    tmp = tempfile.mkdtemp(prefix="upload-bench-")
    proc, base = start_server(tmp)
    try:
        print(f"server pid {proc.pid}; {os.cpu_count()} CPUs visible, load average "
              f"{os.getloadavg()[0]:.1f} (a shared machine: timings are noisy)\n")
        print(f"{'hostile upload':28}{'bytes':>11}{'status':>8}  {'answer':20}{'seconds':>8}")
        for name, data in hostile.items():
            status, code, took = post_audio(base, name, data)
            print(f"{name:28}{len(data):>11,}{status:>8}  {code:20}{took:8.2f}")
        rows = []
        with RssWatch(proc.pid) as cold:               # Whisper loads on the first question
            run_all(base, honest[:1], 1)
        print(f"\nfirst honest question (loads Whisper and the encoder): server "
              f"+{cold.growth_mb:.0f} MB")
        # Honest questions two at a time (the inference pool runs one model job at a time: more
        # for Whisper, or get 503 busy); hostile ones all at once.
        for label, items, at_once in (
                ("honest questions (warm)", honest * args.rounds, 2),
                ("hostile uploads", [(n, d, "en") for n, d in hostile.items()] * args.rounds,
                 args.concurrency)):
            with RssWatch(proc.pid) as watch:
                started = time.monotonic()
                results = run_all(base, items, at_once)
                wall = time.monotonic() - started
            statuses = sorted({r[0] for r in results})
            rows.append((label, len(items), at_once, watch.growth_mb,
                         watch.children_peak / 2 ** 20, max(r[2] for r in results), wall,
                         statuses))
        print(f"\n{'':28}{'uploads':>8}{'at once':>8}{'server RSS growth':>19}"
              f"{'decoders peak':>15}{'slowest':>9}{'wall':>7}  statuses")
        for label, n, at_once, growth, dec, slowest, wall, statuses in rows:
            print(f"{label:28}{n:>8}{at_once:>8}{growth:>16.1f} MB{dec:>12.0f} MB"
                  f"{slowest:>8.1f}s{wall:>6.1f}s  {statuses}")
        print("server RSS growth: the web server process's peak resident memory during the "
              "run minus before it;\ndecoders peak: the decoding helper and its children "
              "together, at their peak")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
