"""Chinese public holidays and make-up working days, for the simulator and the forecasts.

Official dates come from ``chinese_calendar`` (the State Council's yearly notices, with the
make-up working weekends, 调休), which covers 2004 up to the year of its release. For later
years we fall back to ``holidays``' computed China calendar (lunar festivals from its own
lunisolar tables); it has no make-up working days, so a weekend next to a statutory holiday
is counted into that holiday's break, the way recent notices arrange them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays as holidays_lib

# Our names for the breaks; chinese_calendar's Holiday enum names and holidays' English names.
KINDS = ("new_year", "spring_festival", "tomb_sweeping", "labour_day", "dragon_boat",
         "mid_autumn", "national_day")
_CC_KIND = {"new_years_day": "new_year", "spring_festival": "spring_festival",
            "tomb_sweeping_day": "tomb_sweeping", "labour_day": "labour_day",
            "dragon_boat_festival": "dragon_boat", "mid_autumn_festival": "mid_autumn",
            "national_day": "national_day"}
_CC_BY_VALUE = {h.value: h.name for h in chinese_calendar.Holiday}
_HL_KIND = (("New Year's Day", "new_year"), ("Chinese New Year", "spring_festival"),
            ("Tomb-Sweeping", "tomb_sweeping"), ("Labor Day", "labour_day"),
            ("Dragon Boat", "dragon_boat"), ("Mid-Autumn", "mid_autumn"),
            ("National Day", "national_day"))


@dataclass(frozen=True)
class DayType:
    day: date
    holiday: str | None      # one of KINDS while the day is inside a holiday break
    day_of_break: int        # 1 for the first day of the break, 0 outside a break
    break_length: int
    makeup_workday: bool     # a weekend day worked in exchange for a break day (调休)
    weekend: bool
    official: bool           # from the published notice (chinese_calendar), not computed


def _official_names(year: int) -> tuple[dict[date, str], set[date]] | None:
    start, end = date(year, 1, 1), date(year, 12, 31)
    try:
        chinese_calendar.is_holiday(start)
        chinese_calendar.is_holiday(end)
    except NotImplementedError:
        return None
    names, makeup = {}, set()
    d = start
    while d <= end:
        _is_off, holiday = chinese_calendar.get_holiday_detail(d)
        # A named day off belongs to a break; a named working day is a make-up day.
        if holiday is not None:
            kind = _CC_KIND.get(_CC_BY_VALUE.get(holiday, ""))
            if kind is not None and not chinese_calendar.is_workday(d):
                names[d] = kind
            elif chinese_calendar.is_workday(d) and d.weekday() >= 5:
                makeup.add(d)
        d += timedelta(days=1)
    return names, makeup


def _computed_names(year: int) -> dict[date, str]:
    names = {}
    for d, label in holidays_lib.China(years=[year]).items():
        kind = next((k for prefix, k in _HL_KIND if prefix in label), None)
        if kind is not None:
            names[d] = kind
    # Weekends touching a break join it (Sat-Sun before a Monday holiday, after a Friday one).
    changed = True
    while changed:
        changed = False
        for d, kind in list(names.items()):
            for step in (-1, 1):
                n = d + timedelta(days=step)
                if n.year == year and n not in names and n.weekday() >= 5:
                    names[n] = kind
                    changed = True
    return names


@lru_cache(maxsize=64)
def _year(year: int) -> tuple[dict[date, DayType], bool]:
    official = _official_names(year)
    names, makeup = official if official is not None else (_computed_names(year), set())
    out: dict[date, DayType] = {}
    run: list[date] = []
    for d in sorted(names) + [None]:
        if run and (d is None or d - run[-1] != timedelta(days=1)):
            # One break can hold two festivals (国庆 2025, Oct 1-8, holds 中秋 on Oct 6):
            # it is named after the one that owns most of its days.
            kinds = [names[x] for x in run]
            kind = max(KINDS, key=kinds.count)
            for i, x in enumerate(run, 1):
                out[x] = DayType(x, kind, i, len(run), False, x.weekday() >= 5,
                                 official is not None)
            run = []
        if d is not None:
            run.append(d)
    for d in makeup:
        out[d] = DayType(d, None, 0, 0, True, True, True)
    return out, official is not None


def day_type(day: date) -> DayType:
    """What kind of day ``day`` is: a day of a holiday break, a make-up working day, or plain."""
    found = _year(day.year)[0].get(day)
    if found is not None:
        return found
    return DayType(day, None, 0, 0, False, day.weekday() >= 5, _year(day.year)[1])


def day_types(start: date, days: int) -> list[DayType]:
    return [day_type(start + timedelta(days=i)) for i in range(days)]
