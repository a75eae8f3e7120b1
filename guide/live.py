"""Live data the guide reads from other domains, only through their seams: opening hours
(catalog), tickets left per slot (ticketing) and crowd levels (crowd), in the guide's
words (a level name a visitor understands, a slot as "HH:MM")."""
from __future__ import annotations

from dataclasses import dataclass

from catalog import interface as catalog
from core.clock import Clock
from crowd import interface as crowd
from ticketing import interface as ticketing

LEVELS = crowd.LEVELS
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


def zone_levels(db, clock: Clock, policy: crowd.Policy | None = None) -> dict[str, ZoneLevel]:
    """Every zone's crowd level now, from the crowd monitor ("unknown" without data)."""
    return {zone_id: ZoneLevel(zone_id, z.level, z.people, z.capacity)
            for zone_id, z in crowd.zone_levels(db, clock, policy=policy).items()}


def site_occupancy(db, site_id: str, clock: Clock, policy: crowd.Policy | None = None):
    """(level, people, capacity) of a whole site now; people is None when unknown."""
    occ = crowd.site_occupancy(db, site_id, clock, policy=policy)
    return occ.level, occ.people, occ.capacity


def hours_today(db, site_id: str, clock: Clock):
    """(site, today's hours (a catalog.DayHours, closures applied), open now)."""
    site = catalog.get_site(db, site_id)
    now = clock.now()
    hours = catalog.hours_on(db, site_id, now.date())
    return site, hours, hours.is_open_at(now)


def slots_today(db, site_id: str, clock: Clock) -> list[dict]:
    """Today's slots as {"start", "end" ("HH:MM"), "left", "paused"}."""
    return [{"start": s.start.strftime("%H:%M"), "end": s.end.strftime("%H:%M"),
             "left": s.left, "paused": s.paused}
            for s in ticketing.availability(db, site_id, clock.now().date(), clock)]
