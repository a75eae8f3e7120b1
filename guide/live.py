"""Live data the guide reads from other domains, only through their services:
opening hours (catalog), tickets left per slot (ticketing), crowd levels (crowd).

Ticketing and crowd are built beside the guide; when a module is missing the guide
says so ("unknown") instead of guessing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from catalog import services as catalog

log = logging.getLogger("scenic.guide")
LEVELS = ("normal", "notice", "warning", "critical")
LEVEL_NAMES = {"normal": {"zh": "舒适", "en": "comfortable"},
               "notice": {"zh": "较多", "en": "busy"},
               "warning": {"zh": "拥挤", "en": "crowded"},
               "critical": {"zh": "非常拥挤", "en": "very crowded"},
               "unknown": {"zh": "暂无数据", "en": "no data"}}


@dataclass(frozen=True)
class ZoneLevel:
    zone_id: str
    level: str                  # one of LEVELS or "unknown"
    count: int | None = None
    capacity: int | None = None


def _field(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def _level(value) -> str:
    value = getattr(value, "value", value)
    return value if value in LEVELS else "unknown"


def _crowd_services():
    try:
        from crowd import services
    except ImportError:
        return None
    return services


def zone_levels(db, clock) -> dict[str, ZoneLevel]:
    """Every zone's crowd level now, from the crowd monitor; {} when it is absent."""
    services = _crowd_services()
    if services is None or not hasattr(services, "zone_levels"):
        return {}
    raw = services.zone_levels(db, clock)
    items = raw.items() if isinstance(raw, dict) else \
        ((_field(r, "zone_id", "zone", "id"), r) for r in raw or [])
    out = {}
    for zone_id, r in items:
        if zone_id is None:
            continue
        if isinstance(r, str):
            out[zone_id] = ZoneLevel(zone_id, _level(r))
            continue
        out[zone_id] = ZoneLevel(zone_id, _level(_field(r, "level", "status")),
                                 _field(r, "count", "occupancy", "people"),
                                 _field(r, "capacity", "instant_capacity"))
    return out


def site_occupancy(db, site_id: str, clock):
    """(level, count, capacity) of a whole site now, or ("unknown", None, None)."""
    services = _crowd_services()
    if services is None or not hasattr(services, "site_occupancy"):
        return "unknown", None, None
    r = services.site_occupancy(db, site_id, clock)
    if r is None:
        return "unknown", None, None
    return (_level(_field(r, "level", "status")), _field(r, "count", "occupancy", "people"),
            _field(r, "capacity", "instant_capacity"))


def hours_today(db, site_id: str, clock):
    """(site, season or None, open now) for today."""
    site = catalog.get_site(db, site_id)
    now = clock.now()
    return site, site.season_on(now.date()), site.is_open(now)


def slots_today(db, site_id: str, clock):
    """Today's slots as dicts (start, end, left, paused), or None if ticketing is absent."""
    try:
        from ticketing import services
    except ImportError:
        return None
    if not hasattr(services, "availability"):
        return None
    raw = services.availability(db, site_id, clock.now().date(), clock)
    slots = _field(raw, "slots", default=raw) if not isinstance(raw, list) else raw
    out = []
    for s in slots or []:
        start = _field(s, "start")
        end = _field(s, "end")
        out.append({"start": _hm(start), "end": _hm(end), "left": _field(s, "left", default=0),
                     "paused": bool(_field(s, "paused", default=False))})
    return out


def _hm(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M")
    text = str(value)
    if "T" in text:
        text = text.split("T", 1)[1]
    return text[:5]
