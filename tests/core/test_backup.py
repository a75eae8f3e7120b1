"""Backups taken while the site sells tickets, and restores: every booking acknowledged
before a backup began is in it, whole; a restore refuses while the site runs, refuses a
damaged file, brings an old schema up to date and keeps what it replaced."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import requests

from admission.identity import check_digit
from testkit import generous_limits, solve_pow
from core import backup
from core.db import connect, pending_migrations
from ticketing.quota import availability


def _resident_id(n: int) -> str:
    body = f"37010219{60 + n % 40:02d}0{1 + n % 9}1{n % 10}{n % 1000:03d}"
    return body + check_digit(body)


def _buyers(base, day, slots, stop, acked, lock, n_threads=8):
    def buyer(k):
        session, n = requests.Session(), 0
        while not stop.is_set():
            n += 1
            i = k * 100_000 + n
            slot = slots[i % len(slots)]
            proof = solve_pow(session.get(f"{base}/api/pow/challenge", timeout=30).json())
            r = session.post(f"{base}/api/ticketing/orders", timeout=30, json={
                "site_id": "kongmiao", "date": day, "slot_id": slot, "product_id": "kongmiao",
                "altcha": proof,
                "holders": [{"name": f"游客{i}", "document_type": "resident_id",
                             "document_number": _resident_id(i)}]},
                headers={"Idempotency-Key": f"bk-{i}"})
            if r.status_code == 201:
                with lock:
                    acked.append((time.monotonic(), r.json()["number"]))
    threads = [threading.Thread(target=buyer, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    return threads


def test_a_backup_during_bookings_restores_every_acknowledged_one(app, clock, live_server,
                                                                 tmp_path):
    generous_limits(app)          # eight buyers on one address: this test is about backups
    day = clock.now().date()
    db = connect(app.config["DATABASE"])
    with app.app_context():
        slots = [s.slot_id for s in availability(db, "kongmiao", day, clock) if s.left]
    db.conn.close()
    stop, acked, lock = threading.Event(), [], threading.Lock()
    threads = _buyers(live_server, day.isoformat(), slots, stop, acked, lock)
    try:
        while len(acked) < 30:
            time.sleep(0.05)
        began = time.monotonic()
        done = backup.backup(app.config["DATABASE"], tmp_path / "backups/", at=clock.now())
        ended = time.monotonic()
        time.sleep(0.5)                               # bookings go on after the copy
    finally:
        stop.set()
        for t in threads:
            t.join()
    before = {number for at, number in acked if at < began}
    after_end = {number for at, number in acked if at > ended}
    assert len(before) >= 30 and after_end, "bookings must run on both sides of the backup"
    assert before <= _orders(done.path)            # the copy itself holds them

    # Restore over a stopped site (the live server is still up in this test, but it
    # holds no serving lock: only the pools and ./run.sh do).
    backup.restore(done.path, app.config["DATABASE"], at=clock.now())
    db = connect(app.config["DATABASE"])
    try:
        restored = {r[0] for r in db.execute("SELECT number FROM tk_orders")}
        assert before <= restored                     # every acknowledged booking is there
        whole = db.execute("SELECT count(*) FROM tk_orders o WHERE NOT EXISTS "
                           "(SELECT 1 FROM tk_tickets t WHERE t.order_id = o.id)").fetchone()[0]
        assert whole == 0                             # no order without its ticket
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert pending_migrations(db) == []
    finally:
        db.conn.close()


def _orders(path) -> set:
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in ro.execute("SELECT number FROM tk_orders")}
    finally:
        ro.close()


def test_restore_refuses_while_the_site_is_serving(app, clock, tmp_path):
    done = backup.backup(app.config["DATABASE"], tmp_path / "b.db", at=clock.now())
    fd = backup.hold_serving_lock(app.config["DATABASE"])
    try:
        with pytest.raises(backup.DomainError) as err:
            backup.restore(done.path, app.config["DATABASE"], at=clock.now())
        assert err.value.code == "server_running"
    finally:
        import os
        os.close(fd)
    assert backup.restore(done.path, app.config["DATABASE"], at=clock.now()).kept_previous


def test_restore_refuses_a_damaged_backup_and_changes_nothing(app, clock, tmp_path):
    done = backup.backup(app.config["DATABASE"], tmp_path / "b.db", at=clock.now())
    data = bytearray(done.path.read_bytes())
    data[4096 * 3: 4096 * 3 + 512] = b"\xff" * 512      # a page of garbage
    done.path.write_bytes(bytes(data))
    before = open(app.config["DATABASE"], "rb").read()
    with pytest.raises(backup.DomainError) as err:
        backup.restore(done.path, app.config["DATABASE"], at=clock.now())
    assert err.value.code == "backup_corrupt"
    assert open(app.config["DATABASE"], "rb").read() == before


def test_restore_brings_an_old_backup_up_to_date(app, clock, tmp_path):
    old = tmp_path / "old.db"
    conn = connect(str(old))
    conn.execute("CREATE TABLE note (x)")       # a database from before any migration
    conn.conn.close()
    done = backup.restore(old, app.config["DATABASE"], at=clock.now())
    assert done.migrations_applied                 # every migration was applied to it
    db = connect(app.config["DATABASE"])
    assert pending_migrations(db) == []
    db.conn.close()


def test_backups_rotate_and_the_cli_reports(app, clock, tmp_path):
    runner = app.test_cli_runner()
    folder = tmp_path / "daily"
    for minute in range(4):
        clock.advance(minutes=1)
        result = runner.invoke(args=["db", "backup", str(folder) + "/", "--keep", "2"])
        assert result.exit_code == 0, result.output
        assert "integrity ok" in result.output
    assert len(list(folder.glob("scenic-*.db"))) == 2
    newest = sorted(folder.glob("scenic-*.db"))[-1]
    ro = sqlite3.connect(f"file:{newest}?mode=ro", uri=True)
    assert ro.execute("PRAGMA journal_mode").fetchone()[0] == "delete"   # one whole file
    ro.close()
    result = runner.invoke(args=["db", "restore", str(newest)])
    assert result.exit_code == 0 and "integrity ok, migrations current" in result.output
    missing = runner.invoke(args=["db", "restore", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "no backup file" in missing.output
