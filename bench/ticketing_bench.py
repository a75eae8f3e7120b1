"""Booking throughput against the real app under waitress, beside the ceiling of this stack.

    .venv/bin/python bench/ticketing_bench.py [--clients 120] [--quota 400] [--threads 8]

All servers run in a subprocess under waitress with the same settings: (1) the app
(``POST /api/ticketing/orders``: validation of a GB 11643 number, fare, holder uniqueness,
lazy hold expiry, quota check and insert in one BEGIN IMMEDIATE transaction) and (2) a bare
Flask + SQLite endpoint that only decrements a counter in a BEGIN IMMEDIATE transaction
(same connection PRAGMAs as core.db.connect), and (3) that bare endpoint behind the same
in-process write gate the app uses (ticketing.quota.quota_transaction), so the ratio is
also shown against the best ceiling of the two.
Client processes run the concurrent buyers (threads with keep-alive connections); each buyer
books until it is told sold out. Printed: bookings/s, p50/p99 latency, sold vs quota, ratio.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serverkit import bare_connection, free_port, wait_up  # noqa: E402

CLIENT_PROCS = 4


# --- the two servers ------------------------------------------------------------------

def bare_app(db_path, gated=False):
    import threading
    from contextlib import nullcontext

    from flask import Flask, request
    app = Flask("bare")
    gate = threading.Lock() if gated else nullcontext()

    @app.post("/book")
    def book():
        request.get_json()
        conn = bare_connection(db_path)
        try:
            with gate:
                conn.execute("BEGIN IMMEDIATE")
                left = conn.execute("SELECT left FROM counter WHERE id = 1").fetchone()[0]
                if left <= 0:
                    conn.execute("ROLLBACK")
                    return {"error": "sold_out"}, 409
                conn.execute("UPDATE counter SET left = left - 1 WHERE id = 1")
                conn.execute("COMMIT")
            return {"ok": True}, 201
        finally:
            conn.close()
    return app


def serve(kind, target, port, threads, cpu_file=None):
    import logging
    import signal

    from waitress import serve as waitress_serve
    # 100+ buyers on 8 threads queue by design; the queue-depth warnings are noise here.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    if kind in ("bare", "bare-gated"):
        app = bare_app(target, gated=kind == "bare-gated")
    else:
        from app import create_app
        os.environ.setdefault("YOLO_OFFLINE", "1")
        # ENV development: production refuses the sandbox payment gateway (nothing on the
        # booking path differs). Each buyer books from its own address through the trusted
        # proxy, and unpaid holds may fill the slot (TICKETING_SLOT_HELD_SHARE=1): every
        # limit and the proof of work are still checked on every booking.
        app = create_app({"ENV": "development", "LOG_LEVEL": "WARNING",
                          "SESSION_COOKIE_SECURE": False, "TRUSTED_PROXY_HOPS": 1,
                          "TICKETING_SLOT_HELD_SHARE": 1.0}, instance_path=target)
    start = os.times()

    def report_cpu(*_):
        # CPU seconds the server spent (user + system) since it started serving
        end = os.times()
        if cpu_file:
            Path(cpu_file).write_text(str((end.user - start.user) + (end.system - start.system)))
        os._exit(0)
    signal.signal(signal.SIGTERM, report_cpu)
    waitress_serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True,
                   connection_limit=1000, backlog=2048, clear_untrusted_proxy_headers=False)


def prepare_bare(path, quota):
    import sqlite3
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, left INTEGER NOT NULL)")
    conn.execute("INSERT INTO counter VALUES (1, ?)", [quota])
    conn.close()


def prepare_app(instance, quota):
    from app import create_app
    from catalog.services import load_catalog
    from core.clock import SystemClock
    from core.db import connect, migrate
    from ticketing.quota import availability
    app = create_app({"ENV": "development", "LOG_LEVEL": "WARNING"}, instance_path=instance)
    db = connect(app.config["DATABASE"])
    migrate(db)
    load_catalog(db)
    day = date.today() + timedelta(days=1)
    with app.app_context():
        slot = availability(db, "kongmiao", day, SystemClock())[2]
    db.execute("UPDATE tk_slots SET quota = ? WHERE id = ?", [quota, slot.slot_id])
    db.conn.close()
    return app.config["DATABASE"], day, slot.slot_id


def app_sold(db_path, slot_id):
    import sqlite3
    conn = sqlite3.connect(db_path)
    n = conn.execute("SELECT count(*) FROM tk_tickets WHERE slot_id = ? AND status IN"
                     " ('pending', 'valid')", [slot_id]).fetchone()[0]
    conn.close()
    return n


def bare_sold(db_path, quota):
    import sqlite3
    conn = sqlite3.connect(db_path)
    left = conn.execute("SELECT left FROM counter").fetchone()[0]
    conn.close()
    return quota - left


# --- buyers ---------------------------------------------------------------------------

def resident_id(n):
    from admission.identity import check_digit
    # adults born 1970-1997, so every booking is a paid (held) full-price ticket
    born = date(1970, 1, 1) + timedelta(days=n % 10000)
    body = f"370102{born:%Y%m%d}{n // 10000 % 1000:03d}"
    return body + check_digit(body)


PRESOLVED = 40   # proofs of work each app buyer solves before the clock starts


def _address(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _proofs(first: int) -> list[str]:
    """Proofs of work for a buyer's bookings, solved before timing (the booking page solves
    its proof while the visitor types). The challenges are minted here with the instance's
    key, exactly as GET /api/pow/challenge would, so the server's measured work (and CPU)
    is the bookings only."""
    from bench.abuse_bench import fast_solve
    from core import pow
    from core.config import all_settings
    max_number = all_settings()["POW_MAX_NUMBER"].default
    secret = json.loads((Path(os.environ["TKBENCH_INSTANCE"]) / "secrets.json").read_text())
    return [fast_solve(pow.issue(secret["SECRET_KEY"], now=time.time(), ttl_s=600,
                                 max_number=max_number)) for _ in range(PRESOLVED)]


def client(port, path, threads, offset, day, slot_id):
    """One client process: `threads` buyers, each booking until sold out; in the app every
    booking is a new visitor (its own address and ID number) with its proof of work."""
    records, lock = [], threading.Lock()
    barrier = threading.Barrier(threads)
    is_app = path == "/api/ticketing/orders"

    def buyer(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = (offset + i) * 1000
        proofs = _proofs(n) if is_app else []
        barrier.wait()
        while True:
            n += 1
            payload = {"site_id": "kongmiao", "date": day, "slot_id": slot_id,
                       "product_id": "kongmiao", "holders": [{
                           "name": f"游客{n}", "document_type": "resident_id",
                           "document_number": resident_id(n)}]}
            headers = {"Content-Type": "application/json"}
            if is_app:
                payload["altcha"] = proofs.pop(0) if proofs else ""
                headers["X-Forwarded-For"] = _address(n)
            body = json.dumps(payload)
            t0 = time.time()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            t1 = time.time()
            with lock:
                records.append((resp.status, t0, t1))
            if resp.status != 201:
                if resp.status != 409:
                    print(data.decode()[:200], file=sys.stderr)
                break
        conn.close()
    ts = [threading.Thread(target=buyer, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    json.dump(records, sys.stdout)


def run_load(kind, target, path, clients, threads, day, slot_id):
    port = free_port()
    cpu_file = os.path.join(tempfile.mkdtemp(prefix="tkcpu-"), "cpu")
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, target, str(port),
                               str(threads), cpu_file], cwd=ROOT)
    try:
        wait_up(port)
        per = [clients // CLIENT_PROCS + (1 if i < clients % CLIENT_PROCS else 0)
               for i in range(CLIENT_PROCS)]
        env = dict(os.environ, TKBENCH_INSTANCE=target)
        procs = [subprocess.Popen([sys.executable, __file__, "--client", str(port), path,
                                   str(n), str(sum(per[:i])), day, str(slot_id)],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
                 for i, n in enumerate(per)]
        records = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            records += json.loads(out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    cpu = float(Path(cpu_file).read_text()) if os.path.exists(cpu_file) else float("nan")
    ok = [r for r in records if r[0] == 201]
    start = min(r[1] for r in records)
    end = max(r[2] for r in ok) if ok else start
    lat = sorted((r[2] - r[1]) * 1000 for r in ok)
    other = sorted({r[0] for r in records if r[0] != 201})
    return {"bookings": len(ok), "seconds": end - start, "rate": len(ok) / (end - start),
            "p50": statistics.median(lat), "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "requests": len(records), "other_status": other,
            "cpu_ms": cpu * 1000 / len(records)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=120)
    ap.add_argument("--quota", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8, help="waitress threads (both servers)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tkbench-")
    db_path, day, slot_id = prepare_app(os.path.join(tmp, "instance"), args.quota)
    bare_db, gated_db = os.path.join(tmp, "bare.db"), os.path.join(tmp, "gated.db")
    prepare_bare(bare_db, args.quota)
    prepare_bare(gated_db, args.quota)
    print(f"{args.clients} concurrent clients in {CLIENT_PROCS} processes, quota {args.quota}, "
          f"waitress threads={args.threads}, {os.cpu_count()} CPUs, {datetime.now():%Y-%m-%d %H:%M}")
    bare = run_load("bare", bare_db, "/book", args.clients, args.threads, day.isoformat(), slot_id)
    gated = run_load("bare-gated", gated_db, "/book", args.clients, args.threads, day.isoformat(),
                     slot_id)
    appr = run_load("app", os.path.join(tmp, "instance"), "/api/ticketing/orders", args.clients,
                    args.threads, day.isoformat(), slot_id)
    sold_app, sold_bare = app_sold(db_path, slot_id), bare_sold(bare_db, args.quota)
    sold_gated = bare_sold(gated_db, args.quota)
    print(f"{'':34}{'bookings/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'sold/quota':>12}{'requests':>10}"
          f"{'server CPU ms/req':>19}")
    for name, r, sold in (("bare Flask+SQLite decrement", bare, sold_bare),
                          ("bare + in-process write gate", gated, sold_gated),
                          ("app POST /api/ticketing/orders", appr, sold_app)):
        print(f"{name:34}{r['rate']:11.1f}{r['p50']:9.1f}{r['p99']:9.1f}"
              f"{f'{sold}/{args.quota}':>12}{r['requests']:10d}{r['cpu_ms']:19.2f}")
    ceiling = max(bare["rate"], gated["rate"])
    print(f"ratio app/bare: {appr['rate'] / bare['rate']:.2f}; app/bare+gate: "
          f"{appr['rate'] / gated['rate']:.2f}; app/best ceiling: {appr['rate'] / ceiling:.2f}"
          f" (target >= 0.5)")
    print(f"oversold: app {max(0, sold_app - args.quota)}, bare {max(0, sold_bare - args.quota)}, "
          f"gated {max(0, sold_gated - args.quota)}; non-201 answers: app {appr['other_status']}, "
          f"bare {bare['other_status']}, gated {gated['other_status']}")
    return 0 if sold_app == sold_bare == sold_gated == args.quota else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
              sys.argv[6] if len(sys.argv) > 6 else None)
    elif len(sys.argv) > 1 and sys.argv[1] == "--client":
        client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6],
               int(sys.argv[7]))
    else:
        sys.exit(main())
