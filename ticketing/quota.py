"""Slots and quotas: each site's day cut into timed slots whose online and window quotas
sum to the daily capacity, what is left in each, pauses of sales, lapsed holds, and the
per-slot sales report.

Every quota check and decrement runs inside ``quota_transaction`` (BEGIN IMMEDIATE behind
the process's write gate), and every such transaction first expires lapsed holds, so a
hold is released even when no request arrives for its slot (``flask ticketing
expire-holds`` does the same). Orders (ticketing.orders) book against these functions.
"""
from __future__ import annotations

import logging
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo

from catalog import interface as catalog
from core.clock import Clock, from_iso, iso
from core.db import Database, immediate
from core.errors import Conflict, NotFound, ValidationError
from core.text import _l

from . import repo

log = logging.getLogger("scenic.ticketing")
# Writers of this process queue here before BEGIN IMMEDIATE. SQLite alone would make them
# poll the lock with its sleeping busy handler (1, 2, 5 ... 100 ms naps), leaving the CPU
# idle under a booking rush; a mutex wakes the next writer as soon as the lock is free.
# Correctness does not rest on it: BEGIN IMMEDIATE still serialises writers across processes.
_WRITE_GATE = threading.RLock()
# The crowd monitor's name as a pauser: it lifts only its own pauses (staff lift all).
MONITOR = "crowd-monitor"


@contextmanager
def quota_transaction(db):
    """BEGIN IMMEDIATE (core.db.immediate) behind the process's write gate."""
    with _WRITE_GATE, immediate(db):
        yield db


@dataclass(frozen=True)
class SlotAvailability:
    slot_id: int
    start: datetime
    end: datetime
    quota: int
    sold: int
    held: int
    left: int
    paused: bool
    window_quota: int = 0
    window_sold: int = 0
    window_left: int = 0
    closed: bool = False        # outside the day's hours after a closure or changed hours


def parse_day(value, default: date | None = None) -> date:
    """A day from a date or YYYY-MM-DD text; ``default`` when the value is empty."""
    if isinstance(value, date):
        return value
    if value in (None, "") and default is not None:
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("bad_date", _l("Give the date as YYYY-MM-DD.")) from None


def _unknown_slot() -> NotFound:
    return NotFound("unknown_slot", _l("There is no such time slot."))


def _is_row_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 62


# --- policy and the day's slots ---------------------------------------------------------

def get_policy(db, site_id: str) -> dict:
    catalog.get_site(db, site_id)
    row = repo.policy(db, site_id)
    return {"slot_minutes": row["slot_minutes"] if row else 60,
            "reserved_share": row["reserved_share"] if row else 0.1}


def set_policy(db, site_id: str, *, slot_minutes: int, reserved_share: float, actor: str,
               clock: Clock) -> None:
    """Staff setting of slot length and the share kept for the manual window (new days only)."""
    catalog.get_site(db, site_id)
    if isinstance(slot_minutes, bool) or not isinstance(slot_minutes, int) or not 15 <= slot_minutes <= 1440:
        raise ValidationError("bad_slot_minutes", _l("Slot length is 15 to 1440 minutes."))
    if not isinstance(reserved_share, (int, float)) or not 0 <= reserved_share < 1:
        raise ValidationError("bad_reserved_share", _l("The reserved share is from 0 to below 1."))
    with immediate(db):
        repo.set_policy(db, site_id, slot_minutes, float(reserved_share), iso(clock.now()), actor)


def split_quota(total: int, n: int) -> list[int]:
    base, extra = divmod(total, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def _slot_times(hours: catalog.DayHours, minutes: int, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    start, stop = hours.entry_window(tz)
    out = []
    while start < stop:
        end = min(start + timedelta(minutes=minutes), stop)
        out.append((start, end))
        start = end
    return out


def ensure_slots(db, site_id: str, day: date, tz: tzinfo) -> list:
    """The day's slots, created on first use from the policy and the catalog (times in the
    scenic areas' zone ``tz``): online quotas sum to daily capacity minus the reserved
    share, which is split as window quotas."""
    rows = repo.slots_of_day(db, site_id, day.isoformat())
    if rows:
        return rows
    hours = catalog.hours_on(db, site_id, day)
    if hours.closed:
        return []
    pol = get_policy(db, site_id)
    times = _slot_times(hours, pol["slot_minutes"], tz)
    daily = catalog.site_capacity(db, site_id).daily
    reserved = math.ceil(daily * pol["reserved_share"])
    online = split_quota(daily - reserved, len(times))
    window = split_quota(reserved, len(times))
    with immediate(db):
        if not repo.slots_of_day(db, site_id, day.isoformat()):
            for i, (s, e) in enumerate(times):
                repo.insert_slot(db, site_id, day.isoformat(), i, iso(s), iso(e), online[i],
                                 window[i])
    return repo.slots_of_day(db, site_id, day.isoformat())


# --- what is left ---------------------------------------------------------------------------

def today_only(actor: str) -> bool:
    """Whether a pause by ``actor`` stops today's slots only (the crowd monitor's) rather than
    every day (staff's)."""
    return actor == MONITOR


def paused_slots(db, site_id: str, day: date | None = None,
                 today: date | None = None) -> tuple[bool, set]:
    """(whole site paused, ids of paused slots) for sales of ``day``'s slots.

    A staff pause holds for every day. The crowd monitor's pause holds for today only (the
    day of ``today`` when the question is asked): a crowd at the gates now says nothing about
    next week's visitors, and a pause kept over midnight moves on to the new day. With no
    ``day``, every pause in force counts."""
    if day is not None and today is None:
        raise TypeError("paused_slots: a day needs today's date (the monitor's pause is today's)")
    rows = [r for r in repo.pauses(db, site_id)
            if day is None or not today_only(r["actor"]) or day == today]
    return any(r["slot_id"] == 0 for r in rows), {r["slot_id"] for r in rows if r["slot_id"]}


def _tally(counts, slot_id):
    t = {"online_valid": 0, "online_pending": 0, "window": 0}
    for r in counts:
        if r["slot_id"] != slot_id:
            continue
        if r["channel"] == "window":
            t["window"] += r["n"]
        else:
            t[f"online_{r['status']}"] += r["n"]
    return t


def slot_availability(row, counts, paused: bool = False) -> SlotAvailability:
    """A slot row's quota, sold, held and left (online and window) from its ticket counts."""
    t = _tally(counts, row["id"])
    overflow = max(0, t["window"] - row["window_quota"])  # window sales past its share
    online_used = t["online_valid"] + t["online_pending"] + overflow
    left = max(0, row["quota"] - online_used)
    window_left = max(0, row["quota"] + row["window_quota"] - t["online_valid"]
                      - t["online_pending"] - t["window"])
    return SlotAvailability(row["id"], from_iso(row["start_at"]), from_iso(row["end_at"]),
                            row["quota"], t["online_valid"], t["online_pending"], left, paused,
                            row["window_quota"], t["window"], window_left)


def slot_is_open(hours: catalog.DayHours, start: datetime, end: datetime) -> bool:
    """Whether a slot overlaps the day's entry window (opening to last entry): a slot made
    before staff closed the day, or closed it early, is not."""
    window = hours.entry_window(start.tzinfo)
    return window is not None and start < window[1] and end > window[0]


def slot_closed_reason(db, slot_row) -> dict | None:
    """None when a slot can be used, else why not ({"zh", "en"}: the exception's reason)."""
    start, end = from_iso(slot_row["start_at"]), from_iso(slot_row["end_at"])
    hours = catalog.hours_on(db, slot_row["site_id"], date.fromisoformat(slot_row["day"]))
    if slot_is_open(hours, start, end):
        return None
    return hours.reason or {"zh": "该时段不开放", "en": "Closed at that time"}


def check_open(db, slot_row) -> None:
    """Refuse a slot the site's hours no longer cover (inside the booking transaction)."""
    why = slot_closed_reason(db, slot_row)
    if why is not None:
        # The reason (staff's text, or the holiday rule's zh/en) travels in details.
        raise ValidationError("site_closed", _l("The site is closed at that time."),
                              details={"reason": why})


def left_in_slot(db, slot_row) -> SlotAvailability:
    """A slot's availability now, inside the caller's quota transaction."""
    return slot_availability(slot_row, repo.slot_counts(db, slot_row["id"]))


def availability(db: Database, site_id: str, day: date, clock: Clock) -> list[SlotAvailability]:
    """Per slot of a site's day: quota, sold, held, left (online) and whether paused."""
    catalog.get_site(db, site_id)
    rows = ensure_slots(db, site_id, day, clock.tz)
    if rows and sum(r["quota"] + r["window_quota"] for r in rows) > catalog.site_capacity(db, site_id).daily:
        rows = _fit_to_capacity(db, site_id, day)
    now = clock.now()
    whole, slots = paused_slots(db, site_id, day, now.date())
    counts = repo.slot_counts_of_day(db, site_id, day.isoformat())
    hours = catalog.hours_on(db, site_id, day) if rows else None
    out = []
    for r in rows:
        a = slot_availability(r, counts, whole or r["id"] in slots)
        if not slot_is_open(hours, a.start, a.end):
            a = replace(a, left=0, window_left=0, closed=True)
        elif a.end <= now:  # a slot that is over sells nothing more
            a = replace(a, left=0, window_left=0)
        out.append(a)
    return out


def _fit_to_capacity(db, site_id: str, day: date) -> list:
    """Shrink a day's quotas after its daily capacity was lowered: proportionally, but never
    below what is already sold or held in a slot."""
    with quota_transaction(db):
        rows = repo.slots_of_day(db, site_id, day.isoformat())
        daily = catalog.site_capacity(db, site_id).daily
        total = sum(r["quota"] + r["window_quota"] for r in rows)
        if total <= daily:
            return rows
        counts = repo.slot_counts_of_day(db, site_id, day.isoformat())
        for r in rows:
            t = _tally(counts, r["id"])
            online = max(t["online_valid"] + t["online_pending"], r["quota"] * daily // total)
            window = max(t["window"], r["window_quota"] * daily // total)
            repo.set_slot_quota(db, r["id"], online, window)
        return repo.slots_of_day(db, site_id, day.isoformat())


def set_slot_quota(db, slot_id: int, *, quota: int, window_quota: int, clock: Clock,
                   actor: str) -> None:
    """Staff change of one slot's online and window quotas; the day stays within the site's
    daily capacity and a quota never drops below what is sold or held."""
    for v in (quota, window_quota):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValidationError("bad_quota", _l("A quota is a whole number, 0 or more."))
    with quota_transaction(db):
        row = repo.slot(db, slot_id) if _is_row_id(slot_id) else None
        if row is None:
            raise _unknown_slot()
        rows = repo.slots_of_day(db, row["site_id"], row["day"])
        others = sum(r["quota"] + r["window_quota"] for r in rows if r["id"] != slot_id)
        daily = catalog.site_capacity(db, row["site_id"]).daily
        if others + quota + window_quota > daily:
            raise ValidationError("over_capacity", _l("The day's quotas would exceed the daily "
                                                      "capacity of %(daily)s.", daily=daily))
        a = left_in_slot(db, row)
        if quota < a.sold + a.held or quota + window_quota < a.sold + a.held + a.window_sold:
            raise ValidationError("below_sold", _l("A quota cannot go below the tickets already "
                                                   "sold or held."))
        repo.set_slot_quota(db, slot_id, quota, window_quota)
        log.info("slot quota changed", extra={"event": "slot_quota_changed", "actor": actor})


def calendar(db, site_id: str, clock: Clock, days: int = 7) -> list[dict]:
    """The next days with whether the site opens (the catalog's hours, exceptions applied),
    why not, whether its slots are all over, and how many online tickets are left."""
    catalog.get_site(db, site_id)
    now = clock.now()
    out = []
    for i in range(days):
        d = now.date() + timedelta(days=i)
        hours = catalog.hours_on(db, site_id, d)
        slots = availability(db, site_id, d, clock) if not hours.closed else []
        # Today after the last slot has ended: closed for the day, not "sold out".
        over = bool(slots) and all(s.end <= now for s in slots)
        out.append({"date": d, "open": not hours.closed, "left": sum(s.left for s in slots),
                    "over": over, "paused": is_paused(db, site_id, d, now.date()), "hours": hours,
                    "closed_reason": hours.reason if hours.closed else None})
    return out


def check_bookable(db, slot_row, site_id: str, now: datetime) -> None:
    """Refuse a slot that is not the site's, is over, or is paused (inside a transaction)."""
    if slot_row is None or slot_row["site_id"] != site_id:
        raise _unknown_slot()
    if from_iso(slot_row["end_at"]) <= now:
        raise ValidationError("slot_over", _l("That time slot is over."))
    whole, paused_ids = paused_slots(db, site_id, date.fromisoformat(slot_row["day"]), now.date())
    if whole or slot_row["id"] in paused_ids:
        raise Conflict("sales_paused", _l("Sales are paused for this site or slot."))


# --- pauses ------------------------------------------------------------------------------------

def pause_sales(db: Database, *, site_id: str, reason: str, actor: str, clock: Clock,
                slot_id: int | None = None) -> None:
    """Stop sales for a site (or one slot). Idempotent per actor; the crowd monitor's pause
    is lifted by the monitor's resume or by staff."""
    catalog.get_site(db, site_id)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise ValidationError("reason_required", _l("Give a reason for pausing sales."))
    with immediate(db):
        sid = _check_slot_of_site(db, site_id, slot_id)
        key = MONITOR if actor == MONITOR else "staff"
        repo.add_pause(db, site_id, sid, key, reason, iso(clock.now()))
        repo.log_pause(db, site_id, sid, "pause", actor, reason, iso(clock.now()))


def resume_sales(db: Database, *, site_id: str, actor: str, clock: Clock,
                 slot_id: int | None = None) -> None:
    """Lift a pause. The monitor lifts only its own pause; staff lift every pause."""
    catalog.get_site(db, site_id)
    with immediate(db):
        sid = _check_slot_of_site(db, site_id, slot_id)
        n = repo.remove_pauses(db, site_id, sid, MONITOR if actor == MONITOR else None)
        if n:
            repo.log_pause(db, site_id, sid, "resume", actor, "", iso(clock.now()))


def _check_slot_of_site(db, site_id, slot_id) -> int:
    if slot_id in (None, 0, ""):
        return 0
    row = repo.slot(db, slot_id) if _is_row_id(slot_id) else None
    if row is None or row["site_id"] != site_id:
        raise _unknown_slot()
    return row["id"]


def is_paused(db, site_id: str, day: date | None = None, today: date | None = None) -> bool:
    """True if sales of the site are paused (with a day: sales of that day, ``today`` being
    the date now, see ``paused_slots``; also when every slot of the day is paused)."""
    whole, slots = paused_slots(db, site_id, day, today)
    if whole or day is None or not slots:
        return whole
    ids = {r["id"] for r in repo.slots_of_day(db, site_id, day.isoformat())}
    return bool(ids) and ids <= slots


@dataclass(frozen=True)
class SalesState:
    """Whether a site's whole sales are paused now, by whom (``MONITOR`` or "staff") and why;
    ``since`` is the earliest pause still in force (ISO), None when selling; ``today_only``
    when only the monitor pauses (its pause stops today's slots, ``paused_slots``)."""
    site_id: str
    paused: bool
    by: tuple
    reason: str
    since: str | None
    today_only: bool = False


def sales_state(db: Database, site_id: str) -> SalesState:
    """The site-wide pause state (slot pauses do not stop the site's sales)."""
    rows = [r for r in repo.pauses(db, site_id) if not r["slot_id"]]
    by = tuple(sorted({r["actor"] for r in rows}))
    return SalesState(site_id, bool(rows), by, rows[-1]["reason"] if rows else "",
                      rows[0]["at"] if rows else None,
                      today_only=bool(by) and all(today_only(a) for a in by))


def pauses(db, site_id: str) -> list[dict]:
    return [{**dict(r), "today_only": today_only(r["actor"])} for r in repo.pauses(db, site_id)]


def pause_history(db, site_id: str, limit: int = 20) -> list[dict]:
    return [dict(r) for r in repo.pause_log(db, site_id, limit)]


def expire_holds(db, clock: Clock) -> int:
    """Release every hold whose time is up; returns how many orders expired."""
    with quota_transaction(db):
        return repo.expire_holds(db, iso(clock.now()))


def report(db, site_id: str, first: date, last: date) -> list:
    """Per slot of each day in a range: quotas, sales by channel, holds, refunds, revenue."""
    return repo.report_rows(db, site_id, first.isoformat(), last.isoformat())
