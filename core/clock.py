"""Time is passed in, never read from the wall in domain code (house rule 5).

The app's clock is built from the TIMEZONE setting (``clock_for``) in create_app; views
take it with ``get_clock()`` and hand it to services, which read ``clock.now()`` (an
aware datetime in the scenic areas' zone) and ``clock.tz``. Tests pass a FixedClock.
"""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app

# The default of the TIMEZONE setting, and of a FixedClock given a naive time.
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """What services need of time: now, in the scenic areas' zone."""
    tz: tzinfo

    def now(self) -> datetime: ...


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


def clock_for(timezone: str) -> SystemClock:
    """The wall clock in a zone named by the TIMEZONE setting (checked by load_config)."""
    return SystemClock(ZoneInfo(timezone))


def iso(dt: datetime) -> str:
    """How every domain stores a moment: ISO 8601 to the second, with its UTC offset."""
    return dt.isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    """A stored moment back as an aware datetime (None stays None)."""
    return datetime.fromisoformat(text) if text else None


def get_clock() -> Clock:
    return current_app.extensions["scenic.clock"]
