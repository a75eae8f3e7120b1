"""LB/T 034-2014 (景区最大承载量核定导则) capacity formulas, pure functions.

Instantaneous capacity C1 = Σ Xi / Yi, where Xi is zone i's effective visitable
area (m²) and Yi the area each visitor needs there (m²/person).
Daily capacity C2 = C1 × Int(T / t), where T is the daily opening time (hours)
and t the average visit time (hours): the number of times the site can fill.
"""
from __future__ import annotations

import math
from typing import Iterable

from core.errors import ValidationError


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
    return math.floor(total + 1e-9)


def turnover(open_hours: float, visit_hours: float) -> int:
    """Int(T/t): how many times the site can fill in a day (at least once if open)."""
    if visit_hours <= 0:
        raise ValidationError("bad_visit_time", "The average visit time must be greater than 0.")
    if open_hours <= 0:
        return 0
    return max(1, int(open_hours / visit_hours + 1e-9))


def daily(c1: int, open_hours: float, visit_hours: float) -> int:
    """C2 = C1 × Int(T/t)."""
    return c1 * turnover(open_hours, visit_hours)
