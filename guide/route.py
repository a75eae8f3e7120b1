"""Geometry for the route view and "near me": pure functions over coordinates."""
from __future__ import annotations

import math

EARTH_M = 6_371_000


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(a))


def project(points: list[tuple[float, float]], width: int = 320, height: int = 320,
            pad: int = 24) -> list[tuple[float, float]]:
    """Fit lat/lon points into an SVG box, north up, keeping the aspect ratio
    (longitude degrees shrink by cos(latitude))."""
    if not points:
        return []
    lat0 = sum(p[0] for p in points) / len(points)
    k = math.cos(math.radians(lat0))
    xs = [p[1] * k for p in points]
    ys = [-p[0] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min(width - 2 * pad, height - 2 * pad) / span
    ox = (width - (max(xs) - min(xs)) * scale) / 2
    oy = (height - (max(ys) - min(ys)) * scale) / 2
    return [(round(ox + (x - min(xs)) * scale, 1), round(oy + (y - min(ys)) * scale, 1))
            for x, y in zip(xs, ys)]


def nearest(pois, lat: float, lon: float):
    """(poi, metres) of the closest POI, or (None, None) when there are none."""
    best, best_d = None, None
    for p in pois:
        d = distance_m(lat, lon, p.lat, p.lon)
        if best_d is None or d < best_d:
            best, best_d = p, d
    return best, best_d
