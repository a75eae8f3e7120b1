"""The forecast's inputs for one site: from ticketing's and the gates' seams (live), or from
the simulator for sites the demo marks as simulated. Both give the same plain values.

Live: tickets per slot and when each was sold (``ticketing.slot_sales``), admissions with
their exits (``gates.visits``), entries a day (``gates.entries_per_day``); the cameras'
count comes from the caller (crowd's own readings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import numpy as np

from catalog import interface as catalog
from gates import interface as gates
from ticketing import interface as ticketing

from . import simulate as sim
from .forecast import SlotBookings

HISTORY_MINUTES = 180
HISTORY_STEP = 5


@dataclass(frozen=True)
class Today:
    slots: list                 # [SlotBookings]
    inside_entries: np.ndarray  # POSIX seconds of entry of everyone the gates have inside
    visits: tuple               # today's (minutes, exited?) entry->exit pairs so far
    history: tuple              # ([POSIX seconds], [people]) the last 3 hours, every 5 min
    close: float | None         # POSIX seconds of closing today (None: closed today)
    open: float | None
    camera_people: int | None = None


@dataclass(frozen=True)
class PastDay:
    """What one past day teaches: visit lengths (censored at closing), arrival offsets
    from slot starts, how many of the sold tickets came, and how early each was sold."""
    minutes: np.ndarray
    exited: np.ndarray
    offsets: np.ndarray
    sold: int
    used: int
    leads: np.ndarray


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _inside_at(entered: np.ndarray, left: np.ndarray, times: np.ndarray) -> np.ndarray:
    """People inside at each time, from entry times and leaving times (inf: still in)."""
    e, lv = np.sort(entered), np.sort(left)
    return np.searchsorted(e, times, side="right") - np.searchsorted(lv, times, side="right")


class LiveInputs:
    source = "live"

    def __init__(self, db, site_id: str, tz):
        self.db, self.site_id, self.tz = db, site_id, tz
        self.site = catalog.get_site(db, site_id)

    def _hours(self, day: date) -> tuple[float | None, float | None]:
        hours = catalog.hours_on(self.db, self.site_id, day)
        if hours.closed:
            return None, None
        return _ts(hours.opens_at(self.tz)), _ts(hours.closes_at(self.tz))

    def today(self, now: datetime) -> Today:
        day = now.date()
        opening, close = self._hours(day)
        sales = ticketing.slot_sales(self.db, self.site_id, day)
        visits = gates.visits(self.db, self.site_id, day, self.tz)
        entered_ids = {v.ticket_id for v in visits}
        slots = []
        for s in sales:
            sold = [tid for tid, at in s.tickets if at <= now]
            slots.append(SlotBookings(_ts(s.start), _ts(s.end), s.quota, len(sold),
                                      sum(1 for tid in sold if str(tid) in entered_ids)))
        t_now = _ts(now)
        ent = np.array([_ts(v.entered_at) for v in visits], dtype=float)
        left = np.array([_ts(v.exited_at) if v.exited_at else np.inf for v in visits],
                        dtype=float)
        inside = ent[(left > t_now) & (ent <= t_now)] if close is None or t_now < close \
            else ent[:0]
        done = left <= t_now
        minutes = (np.where(done, left, t_now) - ent) / 60
        times = t_now - 60 * np.arange(HISTORY_MINUTES, -1, -HISTORY_STEP)
        return Today(slots, inside, (minutes, done), (times.tolist(),
                                                      _inside_at(ent, left, times).tolist()),
                     close, opening)

    def past_day(self, day: date) -> PastDay | None:
        _opening, close = self._hours(day)
        sales = ticketing.slot_sales(self.db, self.site_id, day)
        visits = gates.visits(self.db, self.site_id, day, self.tz)
        if not visits or close is None:
            return None
        ent = np.array([_ts(v.entered_at) for v in visits])
        out = np.array([_ts(v.exited_at) if v.exited_at else np.nan for v in visits])
        exited = ~np.isnan(out)
        minutes = (np.where(exited, out, max(close, ent.max())) - ent) / 60
        first_entry: dict[str, float] = {}
        for v in visits:
            first_entry.setdefault(v.ticket_id, _ts(v.entered_at))
        offsets, leads, sold = [], [], 0
        for s in sales:
            start = _ts(s.start)
            for tid, at in s.tickets:
                sold += 1
                leads.append((start - _ts(at)) / 60)
                if str(tid) in first_entry:
                    offsets.append((first_entry[str(tid)] - start) / 60)
        return PastDay(minutes, exited, np.array(offsets), sold, len(offsets), np.array(leads))

    def daily_history(self, first: date, last: date) -> tuple[list, list]:
        counts = gates.entries_per_day(self.db, self.site_id, first, last)
        if not counts:
            return [], []
        start = min(counts)
        days = [start + timedelta(days=i) for i in range((last - start).days + 1)]
        return days, [counts.get(d, 0) for d in days]

    def booked_ahead(self, first: date, days: int, now: datetime) -> list[int]:
        return [sum(1 for s in ticketing.slot_sales(self.db, self.site_id, first + timedelta(i))
                    for _tid, at in s.tickets if at <= now) for i in range(days)]


@lru_cache(maxsize=24)   # a Golden Week day at Mount Tai is ~4 MB of arrays
def _sim_day(site_id: str, day: date, seed: int) -> sim.SimDay:
    return sim.simulate_day(site_id, day, seed)


class SimulatedInputs:
    """The demo's stand-in for a site's gates and ticket sales: a seeded simulated day per
    date (crowd.simulate), read the same way as the live records."""
    source = "simulated"

    def __init__(self, site_id: str, seed: int, tz):
        self.site_id, self.seed, self.tz = site_id, seed, tz

    def _minute(self, day: date, now: datetime) -> float:
        return (now - datetime.combine(day, time(0), self.tz)).total_seconds() / 60

    def today(self, now: datetime) -> Today:
        day = now.date()
        d = _sim_day(self.site_id, day, self.seed)
        m = self._minute(day, now)
        ob = d.observe(m)
        mins = m - np.arange(HISTORY_MINUTES, -1, -HISTORY_STEP)
        people = [max(d.gate_inside(x), int(d.camera[int(min(max(x, 0), 1439))])) for x in mins]
        closed = d.hours.closed                  # the catalog closes the site that day
        return Today([SlotBookings(*s) for s in ob.slots], ob.inside_entries, ob.visits,
                     ([d.ts(x) for x in mins], people), None if closed else ob.close,
                     None if closed else d.ts(d.hours.open_min), ob.camera_people)

    def past_day(self, day: date) -> PastDay:
        d = _sim_day(self.site_id, day, self.seed)
        minutes, exited = d.pairs()
        return PastDay(minutes, exited, d.arrival_offsets(), len(d.slot), int(d.came.sum()),
                       d.booking_leads())

    def daily_history(self, first: date, last: date) -> tuple[list, list]:
        h = sim.daily_history(self.site_id, first, last, self.seed)
        return h.days, h.visitors.tolist()

    def booked_ahead(self, first: date, days: int, now: datetime) -> list[int]:
        out = []
        for i in range(days):
            d = first + timedelta(days=i)
            out.append(int((_sim_day(self.site_id, d, self.seed).booked_at
                            <= self._minute(d, now)).sum()))
        return out
