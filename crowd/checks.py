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

from .count import polygon_area
from .schemas import HEAT_COLS, HEAT_ROWS, ObservationIn, RegionIn, RegionsIn

__all__ = ["HEAT_COLS", "HEAT_ROWS", "Observation", "check_observation", "check_regions"]


def _points(pts: list[list[float]], field: str, width: int, height: int) -> list[list[float]]:
    for x, y in pts:
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError("point_outside_frame", f"{field}: point ({x:g}, {y:g}) is "
                                  f"outside the {width}x{height} frame.",
                                  message_zh=f"{field}：点 ({x:g}, {y:g}) 超出 {width}x{height} 画面。",
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
            raise ValidationError("duplicate_region", f"Two regions are named '{name}'.",
                                  message_zh=f"有两个区域同名“{name}”。",
                                  details={"field": f"{where}.name"})
        names.add(name)
        pts = _points(r.points, f"{where}.points", width, height)
        capacity = None
        if kind == "area":
            if len(pts) < 3:
                raise ValidationError("too_few_points", f"{where}: an area needs at least 3 "
                                      f"points.", message_zh=f"{where}：区域至少需要 3 个点。",
                                      details={"field": f"{where}.points"})
            if polygon_area(pts) < 1.0:
                raise ValidationError("zero_area", f"{where}: the area's polygon has no area.",
                                      message_zh=f"{where}：多边形面积为零。",
                                      details={"field": f"{where}.points"})
            if r.capacity is None:
                raise ValidationError("invalid_capacity", f"{where}: capacity must be a whole "
                                      f"number above 0.", message_zh=f"{where}：承载量须为大于 0 的整数。",
                                      details={"field": f"{where}.capacity"})
            capacity = r.capacity
        else:
            if len(pts) != 2:
                raise ValidationError("too_few_points", f"{where}: a line has exactly 2 points.",
                                      message_zh=f"{where}：计数线须恰好 2 个点。",
                                      details={"field": f"{where}.points"})
            if math.dist(pts[0], pts[1]) < 2.0:
                raise ValidationError("zero_length_line", f"{where}: the line's ends are the same "
                                      f"point.", message_zh=f"{where}：计数线两端重合。",
                                      details={"field": f"{where}.points"})
            if r.capacity is not None:
                raise ValidationError("invalid_capacity", f"{where}: lines have no capacity.",
                                      message_zh=f"{where}：计数线没有承载量。",
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
            raise ValidationError("counts_while_offline", "An offline report carries no counts: "
                                  "an unseen scene is unknown, not empty.",
                                  message_zh="离线报告不能带人数：看不到不等于没有人。", details={"field": "people"})
        return Observation(data.camera_id, data.status, None, {}, lines, data.dropped_frames,
                           data.fps, error, [])
    if data.people is None:
        raise ValidationError("missing_people", "An online report needs 'people' (people in view).",
                              message_zh="在线报告须包含 people（画面人数）。", details={"field": "people"})
    areas = data.areas or {}
    unknown = sorted(set(areas) - area_names)
    if unknown:
        raise ValidationError("unknown_area", f"This camera has no area named '{unknown[0]}'.",
                              message_zh=f"该摄像头没有名为“{unknown[0]}”的区域。", details={"field": "areas"})
    missing = sorted(area_names - set(areas))
    if missing:
        raise ValidationError("missing_area", f"The report lacks the count of area '{missing[0]}'.",
                              message_zh=f"报告缺少区域“{missing[0]}”的人数。", details={"field": "areas"})
    return Observation(data.camera_id, data.status, data.people, dict(areas), lines,
                       data.dropped_frames, data.fps, error, [tuple(h) for h in data.heat or ()])


def _lines(raw: dict, line_names: set) -> dict:
    out = {}
    for name, v in raw.items():
        if name not in line_names:
            raise ValidationError("unknown_line", f"This camera has no line named '{name}'.",
                                  message_zh=f"该摄像头没有名为“{name}”的计数线。", details={"field": "lines"})
        out[name] = {"in": v.in_, "out": v.out}
    return out
