"""Visits as the gates saw them: each admission at a site with the exit that followed it,
and entries a day. The crowd forecast learns dwell times and arrivals from these."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from core.clock import from_iso, iso
from core.db import Database

from . import repo


@dataclass(frozen=True)
class Visit:
    ticket_id: str
    entered_at: datetime
    exited_at: datetime | None   # None: no exit scanned yet (inside, or checked out at closing)


def visits(db: Database, site_id: str, day: date, tz: tzinfo) -> list[Visit]:
    """A site's admissions on ``day`` (local midnight to midnight in ``tz``), each paired
    with the first exit of the same ticket after it, in order of entry."""
    start = datetime.combine(day, time(0), tz)
    rows = repo.passages_between(db, site_id, iso(start), iso(start + timedelta(days=1)))
    out: list[Visit] = []
    open_visit: dict[str, int] = {}
    for r in rows:
        at = from_iso(r["at"])
        if r["direction"] == "entry":
            open_visit[r["ticket_id"]] = len(out)
            out.append(Visit(r["ticket_id"], at, None))
        elif r["ticket_id"] in open_visit:
            i = open_visit.pop(r["ticket_id"])
            out[i] = Visit(out[i].ticket_id, out[i].entered_at, at)
    return out


def entries_per_day(db: Database, site_id: str, first: date, last: date) -> dict[date, int]:
    """Entries counted at a site on each day from ``first`` to ``last`` (days without any
    are absent)."""
    return {date.fromisoformat(r["day"]): int(r["entries"])
            for r in repo.entries_per_day(db, site_id, first.isoformat(), last.isoformat())}
