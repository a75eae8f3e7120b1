"""Opening hours: regular seasons per site and per place (Mount Tai's entrances, its cable
cars), dated exceptions from the data file (holidays) and from staff (weather closures),
and the one answer every other domain asks for: what are the hours of X on day d, and is X
open at t. The pure part (``day_hours``) takes a site, its exceptions and a day; the
service functions read them from the database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import date, datetime, time, timedelta, tzinfo

from lunardate import LunarDate

HM_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
KINDS = ("closed", "hours")
PLACE_KINDS = ("entrance", "cable_car")
RULES = ("chuxi",)


@dataclass(frozen=True)
class Season:
    name: dict
    start: str          # "MM-DD", inclusive
    end: str            # "MM-DD", inclusive; may wrap past New Year
    open: str           # "HH:MM"
    close: str          # "HH:MM"; "24:00" means midnight at the end of the day
    last_entry: str | None = None
    source: str = ""

    def covers(self, day: date) -> bool:
        md = day.strftime("%m-%d")
        if md == "02-29":  # leap day belongs to the season that holds 28 February
            md = "02-28"
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end

    @property
    def all_day(self) -> bool:
        return self.open == "00:00" and self.close == "24:00"

    @property
    def hours(self) -> float:
        return (_minutes(self.close) - _minutes(self.open)) / 60


@dataclass(frozen=True)
class Place:
    """Somewhere inside a site with hours of its own: an entrance or a cable car."""
    id: str
    kind: str
    name: dict
    seasons: tuple = ()
    bottleneck: dict | None = None   # cable cars: LB/T 034 bottleneck figures
    source: str = ""

    def season_on(self, day: date) -> Season | None:
        return next((s for s in self.seasons if s.covers(day)), None)


@dataclass(frozen=True)
class HoursException:
    """A dated change of hours: a holiday rule from the data file or a closure by staff."""
    id: str                      # "data:<id>" or "staff:<n>"
    site_id: str
    place_id: str | None
    kind: str                    # "closed" or "hours"
    reason: dict                 # {"zh": ..., "en": ...}
    source: str                  # a source id, an assumption, or "staff"
    confirmed: bool = True
    start: date | None = None    # dated exceptions: first and last day, inclusive
    end: date | None = None
    rule: str | None = None      # recurring ones: "chuxi" (Chinese New Year's Eve)
    open: str | None = None
    close: str | None = None
    last_entry: str | None = None
    by: str | None = None        # staff: who entered it, and when
    at: str | None = None

    def covers(self, day: date) -> bool:
        if self.rule == "chuxi":
            return day == chuxi(day.year)
        return self.start is not None and self.start <= day <= (self.end or self.start)

    def to_json(self) -> dict:
        return {"id": self.id, "site_id": self.site_id, "place_id": self.place_id,
                "kind": self.kind, "reason": self.reason, "source": self.source,
                "confirmed": self.confirmed, "rule": self.rule,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "open": self.open,
                "close": self.close, "last_entry": self.last_entry, "by": self.by,
                "at": self.at}


@dataclass(frozen=True)
class DayHours:
    """The hours of a site (or one of its places) on one day, exceptions applied.
    ``open`` is None on a closed day; ``exception`` is what changed the regular hours."""
    site_id: str
    place_id: str | None
    day: date
    open: str | None
    close: str | None
    last_entry: str | None
    name: dict                   # the season's name
    source: str
    exception: HoursException | None = None
    places: tuple = field(default_factory=tuple)   # a site's places, each a DayHours

    @property
    def closed(self) -> bool:
        return self.open is None

    @property
    def all_day(self) -> bool:
        return self.open == "00:00" and self.close == "24:00"

    @property
    def reason(self) -> dict | None:
        return self.exception.reason if self.exception else None

    def at(self, hm: str, tz: tzinfo) -> datetime:
        if hm == "24:00":
            return datetime.combine(self.day + timedelta(days=1), time(0), tz)
        h, m = map(int, hm.split(":"))
        return datetime.combine(self.day, time(h, m), tz)

    def opens_at(self, tz: tzinfo) -> datetime | None:
        return None if self.closed else self.at(self.open, tz)

    def closes_at(self, tz: tzinfo) -> datetime | None:
        return None if self.closed else self.at(self.close, tz)

    def entry_window(self, tz: tzinfo) -> tuple[datetime, datetime] | None:
        """From opening to the last entry (or closing): when a visitor may go in."""
        if self.closed:
            return None
        return self.at(self.open, tz), self.at(self.last_entry or self.close, tz)

    def is_open_at(self, at: datetime) -> bool:
        return not self.closed and self.at(self.open, at.tzinfo) <= at < self.at(self.close, at.tzinfo)

    def admits_at(self, at: datetime) -> bool:
        window = self.entry_window(at.tzinfo)
        return window is not None and window[0] <= at < window[1]

    def place(self, place_id: str) -> "DayHours | None":
        return next((p for p in self.places if p.place_id == place_id), None)

    def to_json(self) -> dict:
        return {"site_id": self.site_id, "place_id": self.place_id,
                "date": self.day.isoformat(), "open": self.open, "close": self.close,
                "last_entry": self.last_entry, "closed": self.closed, "season": self.name,
                "source": self.source,
                "exception": self.exception.to_json() if self.exception else None,
                "places": [p.to_json() for p in self.places]}


@lru_cache(maxsize=256)
def chuxi(year: int) -> date | None:
    """Chinese New Year's Eve (除夕) in ``year`` (the eve of the lunar year that starts in
    it; always in January or February), or None outside lunardate's table (1900-2099)."""
    try:
        return LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)
    except ValueError:
        return None


def _minutes(hm: str) -> int:
    h, m = map(int, hm.split(":"))
    return h * 60 + m


def valid_hm(value) -> bool:
    return isinstance(value, str) and bool(HM_RE.match(value))


def _apply(base: DayHours, exceptions) -> DayHours:
    """Apply exceptions in order (the data file's first, then staff's, oldest first)."""
    out = base
    for ex in exceptions:
        if ex.kind == "closed":
            out = replace(out, open=None, close=None, last_entry=None, exception=ex)
            continue
        opens = ex.open or out.open or base.open
        closes = ex.close or out.close or base.close
        if opens is None or closes is None or _minutes(opens) >= _minutes(closes):
            out = replace(out, open=None, close=None, last_entry=None, exception=ex)
            continue
        last = ex.last_entry or out.last_entry
        if last is not None and not _minutes(opens) < _minutes(last) <= _minutes(closes):
            last = None  # a regular last entry after an early closing no longer applies
        out = replace(out, open=opens, close=closes, last_entry=last, exception=ex)
    return out


def _regular(site_id: str, place_id: str | None, day: date, season: Season | None) -> DayHours:
    if season is None:
        return DayHours(site_id, place_id, day, None, None, None,
                        {"zh": "不开放", "en": "Closed"}, "")
    return DayHours(site_id, place_id, day, season.open, season.close, season.last_entry,
                    season.name, season.source)


def day_hours(site, day: date, exceptions=()) -> DayHours:
    """A site's hours on a day with its places: the regular season, then every exception
    that covers the day (site-wide ones close or change every place too). A site with
    entrances is open from its first open entrance to its last one, within its own hours;
    with every entrance closed it is closed."""
    todays = [ex for ex in exceptions if ex.site_id == site.id and ex.covers(day)]
    site_wide = [ex for ex in todays if ex.place_id is None]
    own = _apply(_regular(site.id, None, day, site.season_on(day)), site_wide)
    places = tuple(
        _apply(_regular(site.id, p.id, day, p.season_on(day)),
               site_wide + [ex for ex in todays if ex.place_id == p.id])
        for p in site.places)
    own = replace(own, places=places)
    entrances = [h for p, h in zip(site.places, places) if p.kind == "entrance"]
    if own.closed or not entrances:
        return own
    open_ones = [h for h in entrances if not h.closed]
    if not open_ones:
        why = next((h.exception for h in entrances if h.exception), None)
        return replace(own, open=None, close=None, last_entry=None,
                       exception=own.exception or why)
    first = min(open_ones, key=lambda h: _minutes(h.open)).open
    last = max(open_ones, key=lambda h: _minutes(h.close)).close
    opens = max(own.open, first, key=_minutes)
    closes = min(own.close, last, key=_minutes)
    if _minutes(opens) >= _minutes(closes):
        return replace(own, open=None, close=None, last_entry=None)
    entry = own.last_entry if own.last_entry and _minutes(own.last_entry) <= _minutes(closes) \
        else None
    # An entrance's own exception stays on that entrance (``places``): the site as a
    # whole is changed only by its own exceptions.
    return replace(own, open=opens, close=closes, last_entry=entry)
