"""The TIMEZONE setting is the scenic areas' local time: the app's clock runs in it, and
ticketing cuts a day into slots in the clock's zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app import create_app
from catalog.services import load_catalog
from core.clock import FixedClock, from_iso, get_clock, iso
from core.db import connect, migrate
from ticketing import quota


def test_the_app_clock_runs_in_the_timezone_setting(tmp_path):
    app = create_app({"ENV": "testing", "TIMEZONE": "Asia/Urumqi"},
                     instance_path=str(tmp_path / "i"))
    with app.app_context():
        now = get_clock().now()
    assert now.tzinfo == ZoneInfo("Asia/Urumqi")


def test_slots_are_cut_in_the_clock_zone(tmp_path):
    utc = ZoneInfo("UTC")
    clock = FixedClock(datetime(2026, 7, 15, 2, 0, tzinfo=utc))
    app = create_app({"ENV": "testing", "TIMEZONE": "UTC"}, clock=clock,
                     instance_path=str(tmp_path / "i"))
    db = connect(app.config["DATABASE"])
    try:
        migrate(db)
        load_catalog(db)
        first = quota.availability(db, "kongmiao", date(2026, 7, 16), clock)[0]
    finally:
        db.conn.close()
    # Kongmiao opens at 08:00 in summer: 08:00 on the clock's UTC, not 08:00+08:00.
    assert iso(first.start) == "2026-07-16T08:00:00+00:00"


def test_stored_moments_come_back_equal():
    at = datetime(2026, 7, 15, 10, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert from_iso(iso(at)) == at and from_iso(None) is None and from_iso("") is None
