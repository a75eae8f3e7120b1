"""The opening-hours service: what are the hours of a site (or one of its places) on a
day, is it open at a moment, when did it last close; and the exceptions staff enter
(weather closures, changed hours), each logged with who and why. Ticketing's slots and
calendar, the gates' entry windows, the home page and the guide all ask this module
(through catalog.interface)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from core.clock import Clock, iso
from core.db import Database, immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import repo
from .hours import KINDS, DayHours, HoursException, day_hours, valid_hm
from .services import SiteStatus, get_site, list_sites, site_capacity, site_with_key, site_zones

MAX_EXCEPTION_DAYS = 366
REASON_MAX = 500


def _staff_exception(row) -> HoursException:
    return HoursException(
        id=f"staff:{row['id']}", site_id=row["site_id"], place_id=row["place_id"],
        kind=row["kind"], reason={"zh": row["reason"], "en": row["reason"]}, source="staff",
        confirmed=True, start=date.fromisoformat(row["start_day"]),
        end=date.fromisoformat(row["end_day"]), open=row["open"], close=row["close"],
        last_entry=row["last_entry"], by=row["created_by"], at=row["created_at"])


# A gate scan asks for today's hours twice (entry window, last closing): the answer only
# changes with the site's row or the staff exceptions, which are part of the key. Bounded.
_DAY_CACHE: dict = {}


def _day(site, site_key: tuple, day: date, staff_rows) -> DayHours:
    """A day's hours from the data file's exceptions, then staff's (oldest first)."""
    iso_day = day.isoformat()
    rows = [r for r in staff_rows if r["start_day"] <= iso_day <= r["end_day"]]
    key = (site_key, day, tuple(tuple(r) for r in rows))
    hit = _DAY_CACHE.get(key)
    if hit is None:
        if len(_DAY_CACHE) > 1024:
            _DAY_CACHE.clear()
        exceptions = list(site.exceptions) + [_staff_exception(r) for r in rows]
        hit = _DAY_CACHE[key] = day_hours(site, day, exceptions)
    return hit


def hours_on(db: Database, site_id: str, day: date, place_id: str | None = None) -> DayHours:
    """The hours of a site, or of one of its places, on a day, every exception applied.
    NotFound('unknown_site') / ('unknown_place')."""
    site, key = site_with_key(db, site_id)
    if place_id is not None and site.place(place_id) is None:
        raise NotFound("unknown_place", _l("Site '%(site_id)s' has no place '%(place_id)s'.",
                                           site_id=site_id, place_id=place_id))
    staff = repo.exceptions_between(db, site.id, day.isoformat(), day.isoformat())
    hours = _day(site, key, day, staff)
    return hours if place_id is None else hours.place(place_id)


def is_open(db: Database, site_id: str, at: datetime, place_id: str | None = None) -> bool:
    """Whether a site (or place) is open at a moment (the day's opening to its closing)."""
    return hours_on(db, site_id, at.date(), place_id).is_open_at(at)


def last_closing(db: Database, site_id: str, at: datetime, days: int = 7) -> datetime | None:
    """The latest closing time of a site at or before ``at``, looking back ``days`` days
    (the gates check everyone out then)."""
    site, key = site_with_key(db, site_id)
    first = at.date() - timedelta(days=days)
    staff = repo.exceptions_between(db, site.id, first.isoformat(), at.date().isoformat())
    for back in range(days + 1):
        close = _day(site, key, at.date() - timedelta(days=back), staff).closes_at(at.tzinfo)
        if close is not None and close <= at:
            return close
    return None


def status_now(db: Database, clock: Clock) -> list[SiteStatus]:
    """Every site with whether it is open now, today's hours and its capacity."""
    now = clock.now()
    out = []
    for s in list_sites(db):
        hours = hours_on(db, s.id, now.date())
        cap = site_capacity(db, s.id)
        out.append(SiteStatus(site=s, open_now=hours.is_open_at(now), hours=hours,
                              capacity=cap, zones=site_zones(db, s, cap.instant)))
    return out


# --- exceptions entered by staff ---------------------------------------------------------

def _bad(code: str, en: str) -> ValidationError:
    return ValidationError(code, en)


def parse_day(value) -> date:
    """A day from a date or YYYY-MM-DD text, or ValidationError('bad_date')."""
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        if len(text) != 10:  # fromisoformat also takes 20260715, which nobody means
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _bad("bad_date", _l("Give the date as YYYY-MM-DD.")) from None


def _time(value) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if value in (None, ""):
        return None
    if not valid_hm(value):
        raise _bad("bad_time", _l("Give times as HH:MM (00:00-24:00)."))
    return value


def add_exception(db: Database, *, site_id: str, place_id: str | None, start, end, kind: str,
                  reason: str, user, clock: Clock, open_at=None, close_at=None,
                  last_entry=None) -> HoursException:
    """Close a site or place, or change its hours, for days from today on; logged with who
    and why. Bookings for those days are refused and their tickets become refundable
    (ticketing); gates deny entry with reason ``closed``."""
    site = get_site(db, site_id)
    place_id = str(place_id) if place_id else None
    if place_id is not None and site.place(place_id) is None:
        raise NotFound("unknown_place", _l("Site '%(site_id)s' has no place '%(place_id)s'.",
                                           site_id=site_id, place_id=place_id))
    if kind not in KINDS:
        raise _bad("bad_kind", _l("Choose 'closed' or 'hours'."))
    first = parse_day(start)
    last = parse_day(end) if end not in (None, "") else first
    today = clock.now().date()
    if first < today:
        raise _bad("date_in_past", _l("That date has passed."))
    if last < first or (last - first).days >= MAX_EXCEPTION_DAYS:
        raise _bad("bad_range", _l("The last day is on or after the first, within "
                                   "%(max_exception_days)s days.",
                                   max_exception_days=MAX_EXCEPTION_DAYS))
    opens, closes, entry = _time(open_at), _time(close_at), _time(last_entry)
    if kind == "hours":
        if not (opens or closes or entry):
            raise _bad("hours_required", _l("Give the changed opening, closing or last-entry "
                                            "time."))
        if opens and closes and opens >= closes:
            raise _bad("bad_time", _l("The opening time must be before the closing time."))
    else:
        opens = closes = entry = None
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > REASON_MAX:
        raise _bad("reason_required", _l("Give a reason (up to %(reason_max)s characters).",
                                         reason_max=REASON_MAX))
    at = iso(clock.now())
    detail = f"{kind} {first}..{last} {place_id or 'site'}" + \
        (f" {opens or ''}-{closes or ''} last {entry or ''}" if kind == "hours" else "")
    with immediate(db):
        new_id = repo.insert_exception(
            db, site_id=site.id, place_id=place_id, start_day=first.isoformat(),
            end_day=last.isoformat(), kind=kind, open=opens, close=closes, last_entry=entry,
            reason=reason, created_by=user.username, created_user_id=user.id, created_at=at)
        repo.log_hours(db, exception_id=new_id, action="add", site_id=site.id, detail=detail,
                       reason=reason, user_id=user.id, username=user.username, at=at)
    return _staff_exception(repo.exception(db, new_id))


def lift_exception(db: Database, exception_id, *, reason: str, user, clock: Clock) -> None:
    """Withdraw a staff exception (the regular hours apply again); logged."""
    if isinstance(exception_id, bool) or not isinstance(exception_id, int):
        raise NotFound("unknown_exception", _l("There is no such exception."))
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > REASON_MAX:
        raise _bad("reason_required", _l("Give a reason (up to %(reason_max)s characters).",
                                         reason_max=REASON_MAX))
    at = iso(clock.now())
    with immediate(db):
        row = repo.exception(db, exception_id) if 0 < exception_id < 2 ** 62 else None
        if row is None:
            raise NotFound("unknown_exception", _l("There is no such exception."))
        if row["lifted_at"]:
            raise _bad("already_lifted", _l("This exception was already withdrawn."))
        repo.lift_exception(db, exception_id, user.username, reason, at)
        repo.log_hours(db, exception_id=exception_id, action="lift", site_id=row["site_id"],
                       detail=f"{row['kind']} {row['start_day']}..{row['end_day']}",
                       reason=reason, user_id=user.id, username=user.username, at=at)


def list_exceptions(db: Database, clock: Clock, site_id: str | None = None,
                    days: int = MAX_EXCEPTION_DAYS) -> list[dict]:
    """Staff exceptions from today on (lifted ones too, marked), newest last."""
    if site_id is not None:
        get_site(db, site_id)
    today = clock.now().date()
    rows = repo.exceptions_between(db, site_id, today.isoformat(),
                                   (today + timedelta(days=days)).isoformat(),
                                   include_lifted=True)
    return [{**_staff_exception(r).to_json(), "lifted_at": r["lifted_at"],
             "lifted_by": r["lifted_by"], "lift_reason": r["lift_reason"]} for r in rows]


def hours_log(db: Database, limit: int = 100) -> list[dict]:
    return [dict(r) for r in repo.hours_log(db, limit)]
