"""Many buyers race for the last tickets of one slot: threads on the service, and
separate processes through a real HTTP server. Sold + held never exceeds the quota and
every buyer gets a ticket or a clear sold_out."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from testkit import resident_id

from core.db import connect
from ticketing import orders
from ticketing.quota import availability, set_slot_quota

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _small_slot(db, clock, site, quota, day=None):
    day = day or clock.now().date().replace(day=16)
    slot = availability(db, site, day, clock)[3]
    set_slot_quota(db, slot.slot_id, quota=quota, window_quota=slot.window_quota,
                   clock=clock, actor="test")
    return day, slot.slot_id


def _active(db, slot_id):
    return db.execute("SELECT count(*) FROM tk_tickets WHERE slot_id = ? AND status IN"
                      " ('pending', 'valid') AND channel = 'online'", [slot_id]).fetchone()[0]


def test_threads_never_oversell(app, db, clock, ctx):
    day, slot_id = _small_slot(db, clock, "kongfu", 15)
    outcomes, lock = [], threading.Lock()
    start = threading.Barrier(40)

    def buyer(i):
        conn = connect(app.config["DATABASE"])
        with app.app_context():
            start.wait()
            try:
                orders.create_order(conn, site_id="kongfu", day=day, slot_id=slot_id,
                                    product_id="kongfu", clock=clock,
                                    holders=[{"name": f"游客{i}", "document_number":
                                              resident_id("19800101", seq=i)}])
                result = "ok"
            except Exception as exc:  # the outcome is what we assert on
                result = getattr(exc, "code", repr(exc))
        conn.conn.close()
        with lock:
            outcomes.append(result)
    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 15
    assert set(outcomes) == {"ok", "sold_out"}
    assert _active(db, slot_id) == 15
    a = next(s for s in availability(db, "kongfu", day, clock) if s.slot_id == slot_id)
    assert a.sold + a.held == a.quota == 15 and a.left == 0


def test_processes_through_a_real_server_never_oversell(app, db, clock, ctx, live_server):
    day, slot_id = _small_slot(db, clock, "konglin", 25)
    app.config["TRUSTED_PROXY_HOPS"] = 1   # each buyer its own address, as behind a TLS proxy
    # Many buyers are seniors (free) or unpaid: this test races for the quota itself.
    app.config.update(TICKETING_SLOT_FREE_SHARE=1.0, TICKETING_SLOT_HELD_SHARE=1.0)
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{HERE}{os.pathsep}{ROOT / 'tests'}")
    procs = [subprocess.Popen([sys.executable, "-m", "race_client", live_server, "konglin",
                               day.isoformat(), str(slot_id), "konglin", "12", str(p * 100)],
                              cwd=HERE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for p in range(5)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results += [json.loads(line) for line in out.splitlines()]
    assert len(results) == 60
    ok = [r for r in results if r["status"] == 201]
    rest = [r for r in results if r["status"] != 201]
    assert len(ok) == 25, [(r['status'], r['error']) for r in rest]
    assert {(r["status"], r["error"]) for r in rest} == {(409, "sold_out")}
    assert len({r["number"] for r in ok}) == 25
    assert _active(db, slot_id) == 25
