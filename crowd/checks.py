"""The checks of camera records, counting regions and worker observations that need the
camera: region names, points inside its frame, polygons with an area, lines with a length,
the camera's own area and line names in a report.

Each field's type and range is its contract's (crowd/schemas.py); every check here names
the field and answers with a stable code, so a bad polygon or a malformed ingest post is
a clear 400, never a crash or a silent zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.contracts import validate
from core.errors import ValidationError
from core.text import _l

from .count import polygon_area
from .schemas import HEAT_COLS, HEAT_ROWS, ObservationIn, RegionIn, RegionsIn

__all__ = ["HEAT_COLS", "HEAT_ROWS", "Observation", "check_observation", "check_regions"]


def _points(pts: list[list[float]], field: str, width: int, height: int) -> list[list[float]]:
    for x, y in pts:
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError("point_outside_frame", _l("%(field)s: point (%(x)g, %(y)g) is "
                                                            "outside the %(width)sx%(height)s "
                                                            "frame.", field=field, x=x, y=y,
                                                            width=width, height=height),
                                  details={"field": field})
    return [[float(x), float(y)] for x, y in pts]


def check_regions(raw, width: int, height: int) -> list[dict]:
    """Counting areas (polygons with a capacity) and lines, inside the frame. ``raw``: the
    regions as sent (their contract is checked first) or as stored."""
    regions: list[RegionIn] = validate(RegionsIn, {"regions": raw}).regions
    out, names = [], set()
    for i, r in enumerate(regions):
        where = f"regions[{i}]"
        kind, name = r.kind, r.name
        if name in names:
            raise ValidationError("duplicate_region", _l("Two regions are named '%(name)s'.",
                                                         name=name),
                                  details={"field": f"{where}.name"})
        names.add(name)
        pts = _points(r.points, f"{where}.points", width, height)
        capacity = None
        if kind == "area":
            if len(pts) < 3:
                raise ValidationError("too_few_points", _l("%(where)s: an area needs at least 3 "
                                                           "points.", where=where),
                                      details={"field": f"{where}.points"})
            if polygon_area(pts) < 1.0:
                raise ValidationError("zero_area",
                                      _l("%(where)s: the area's polygon has no area.",
                                         where=where), details={"field": f"{where}.points"})
            if r.capacity is None:
                raise ValidationError("invalid_capacity", _l("%(where)s: capacity must be a "
                                                             "whole number above 0.", where=where),
                                      details={"field": f"{where}.capacity"})
            capacity = r.capacity
        else:
            if len(pts) != 2:
                raise ValidationError("too_few_points", _l("%(where)s: a line has exactly 2 "
                                                           "points.", where=where),
                                      details={"field": f"{where}.points"})
            if math.dist(pts[0], pts[1]) < 2.0:
                raise ValidationError("zero_length_line", _l("%(where)s: the line's ends are the "
                                                             "same point.", where=where),
                                      details={"field": f"{where}.points"})
            if r.capacity is not None:
                raise ValidationError("invalid_capacity", _l("%(where)s: lines have no capacity.",
                                                             where=where),
                                      details={"field": f"{where}.capacity"})
        out.append({"kind": kind, "name": name, "points": pts, "capacity": capacity})
    return out


@dataclass(frozen=True)
class Observation:
    camera_id: str
    status: str
    people: int | None
    areas: dict
    lines: dict
    dropped: int
    fps: float | None
    error: str
    heat: list


def check_observation(data: ObservationIn, area_names: set, line_names: set) -> Observation:
    """A worker's report for one camera, checked against the camera's areas and lines;
    offline reports carry no counts."""
    error = (data.error or "")[:300]
    lines = _lines(data.lines or {}, line_names)
    if data.status == "offline":
        if data.people is not None or data.areas or data.heat:
            raise ValidationError("counts_while_offline", _l("An offline report carries no "
                                                             "counts: an unseen scene is "
                                                             "unknown, not empty."),
                                  details={"field": "people"})
        return Observation(data.camera_id, data.status, None, {}, lines, data.dropped_frames,
                           data.fps, error, [])
    if data.people is None:
        raise ValidationError("missing_people", _l("An online report needs 'people' (people in "
                                                   "view)."), details={"field": "people"})
    areas = data.areas or {}
    unknown = sorted(set(areas) - area_names)
    if unknown:
        raise ValidationError("unknown_area", _l("This camera has no area named '%(unknown)s'.",
                                                 unknown=unknown[0]), details={"field": "areas"})
    missing = sorted(area_names - set(areas))
    if missing:
        raise ValidationError("missing_area", _l("The report lacks the count of area "
                                                 "'%(missing)s'.", missing=missing[0]),
                              details={"field": "areas"})
    return Observation(data.camera_id, data.status, data.people, dict(areas), lines,
                       data.dropped_frames, data.fps, error, [tuple(h) for h in data.heat or ()])


def _lines(raw: dict, line_names: set) -> dict:
    out = {}
    for name, v in raw.items():
        if name not in line_names:
            raise ValidationError("unknown_line", _l("This camera has no line named '%(name)s'.",
                                                     name=name), details={"field": "lines"})
        out[name] = {"in": v.in_, "out": v.out}
    return out
