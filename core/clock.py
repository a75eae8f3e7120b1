"""Time is passed in, never read from the wall in domain code (house rule 5)."""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def __init__(self, tz: tzinfo = DEFAULT_TZ):
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=DEFAULT_TZ)
        self.at = at
        self.tz = at.tzinfo

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at if at.tzinfo else at.replace(tzinfo=self.tz)


def get_clock():
    return current_app.extensions["scenic.clock"]


def now() -> datetime:
    return get_clock().now()
