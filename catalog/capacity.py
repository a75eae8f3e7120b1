"""LB/T 034-2014 (景区最大承载量核定导则) capacity formulas, pure functions.

Area method: instantaneous capacity C1 = Σ Xi / Yi, where Xi is zone i's effective visitable
area (m²) and Yi the area each visitor needs there (m²/person).
Daily capacity C2 = C1 × Int(T / t), where T is the daily opening time (hours) and t the
average visit time (hours): the number of times the site can fill.
Route method (线路法, GB/T 50298-2018 3.3.1): a path's area (length × usable width) over the
path area per visitor, 5-10 m² (data/catalog/SOURCES.md, S18).
Bottleneck method (卡口法): what passes a choke point such as a cable car, C = D × A with
D = Int(t1 / t3) batches a day, t1 = H - t2 (operating time less one trip), t3 the interval
between batches and A the people per batch.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

from core.errors import ValidationError

_EPS = 1e-9


def instantaneous(zones: Iterable[tuple[float, float]]) -> int:
    """C1 from (area_m2, per_visitor_m2) pairs."""
    total = 0.0
    for area, per_visitor in zones:
        if area is None or per_visitor is None:
            raise ValidationError("incomplete_zone", "Every zone needs an area and a per-visitor area.")
        if area < 0:
            raise ValidationError("negative_area", "A zone's area cannot be negative.")
        if per_visitor <= 0:
            raise ValidationError("bad_per_visitor_area",
                                  "The area per visitor must be greater than 0.")
        total += area / per_visitor
    return math.floor(total + _EPS)


def route(length_m: float, width_m: float, per_visitor_m2: float) -> int:
    """Route method: people a path holds at once (length × width / path area per visitor)."""
    if length_m <= 0 or width_m <= 0:
        raise ValidationError("bad_route", "A path needs a length and a width above 0.")
    return instantaneous([(length_m * width_m, per_visitor_m2)])


def turnover(open_hours: float, visit_hours: float) -> int:
    """Int(T/t): how many times the site can fill in a day (at least once if open)."""
    if visit_hours <= 0:
        raise ValidationError("bad_visit_time", "The average visit time must be greater than 0.")
    if open_hours <= 0:
        return 0
    return max(1, int(open_hours / visit_hours + _EPS))


def daily(c1: int, open_hours: float, visit_hours: float) -> int:
    """C2 = C1 × Int(T/t)."""
    return c1 * turnover(open_hours, visit_hours)


def fitted_visit_hours(open_hours: float, daily_figure: int, instant_figure: int) -> float:
    """The average visit time t that the published daily/instantaneous ratio implies:
    t = T / (C2 / C1), so Int(T/t) is the whole part of the published ratio."""
    if daily_figure <= 0 or instant_figure <= 0 or open_hours <= 0:
        raise ValidationError("bad_fit", "Fitting needs opening hours and both figures above 0.")
    return open_hours / (daily_figure / instant_figure)


def instant_from_daily(daily_figure: int, open_hours: float, visit_hours: float) -> int:
    """C1 derived from a published C2 by inverting C2 = C1 × Int(T/t) (rounded down)."""
    return daily_figure // max(1, turnover(open_hours, visit_hours))


def bottleneck(per_batch: int, interval_s: float, trip_s: float, hours: float,
               directions: int = 1) -> tuple[int, int]:
    """Bottleneck method for a cable car: (people aboard at once, people carried a day).
    Aboard at once: the batches under way during one trip, Int(t2/t3) × A per direction.
    A day: D × A per direction, D = Int(t1/t3), t1 = H - t2."""
    if per_batch <= 0 or interval_s <= 0 or trip_s <= 0 or directions <= 0:
        raise ValidationError("bad_bottleneck", "A bottleneck needs a batch size, an interval "
                              "and a trip time above 0.")
    t1 = max(0.0, hours * 3600 - trip_s)
    batches = int(t1 / interval_s + _EPS)
    aboard = max(1, int(trip_s / interval_s + _EPS)) * per_batch * directions
    return aboard, batches * per_batch * directions


def fit_zones(limit: int, zones: Sequence[tuple[int, int | None]]) -> list[int]:
    """Zone capacities that sum to no more than the site's instantaneous ``limit``.
    ``zones`` are (computed, fixed): a fixed figure (published or a staff override) is kept;
    the others keep their computed figure when it fits in what the fixed ones leave, else
    share that remainder in proportion to their computed figures (each keeps at least 1,
    rounded down). The caller guarantees fixed figures plus 1 per other zone fit."""
    fixed = sum(f for _c, f in zones if f is not None)
    free = [c for c, f in zones if f is None]
    room = limit - fixed
    if sum(free) <= room:
        return [f if f is not None else c for c, f in zones]
    spare, total = max(0, room - len(free)), sum(free) or 1
    return [f if f is not None else 1 + math.floor(spare * c / total + _EPS) for c, f in zones]


def minimum_site_instant(zones: Sequence[tuple[int, int | None]]) -> int:
    """The least instantaneous capacity a site may have for its zones: every fixed zone
    figure plus one person for each zone that is scaled."""
    return sum(f if f is not None else 1 for _c, f in zones)
