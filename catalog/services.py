"""Catalog services: the only way other domains read sites, zones, hours and capacities."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path

from core.clock import Clock
from core.db import Database, immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import capacity, repo

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog" / "sites.json"


@dataclass(frozen=True)
class Season:
    name: dict
    start: str          # "MM-DD", inclusive
    end: str            # "MM-DD", inclusive; may wrap past New Year
    open: str           # "HH:MM"
    close: str          # "HH:MM"; "24:00" means midnight at the end of the day
    last_entry: str | None = None

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
        oh, om = map(int, self.open.split(":"))
        ch, cm = map(int, self.close.split(":"))
        return ((ch * 60 + cm) - (oh * 60 + om)) / 60


@dataclass(frozen=True)
class Zone:
    id: str
    site_id: str
    name: dict
    area_m2: float
    per_visitor_m2: float
    source: str
    published_instant: int | None
    override_instant: int | None


@dataclass(frozen=True)
class Site:
    id: str
    area_id: str
    name: dict
    summary: dict
    lat: float | None
    lon: float | None
    seasons: tuple
    visit_hours: float
    published_daily: int | None
    published_instant: int | None
    published_as_of: str | None
    override_daily: int | None
    override_instant: int | None

    def season_on(self, day: date) -> Season | None:
        for s in self.seasons:
            if s.covers(day):
                return s
        return None

    def is_open(self, at: datetime) -> bool:
        season = self.season_on(at.date())
        if season is None:
            return False
        hm = at.strftime("%H:%M")
        return season.open <= hm < season.close


@dataclass(frozen=True)
class Capacity:
    daily: int
    instant: int
    daily_source: str       # "override", "published" or "computed"
    instant_source: str
    computed_daily: int | None = None
    computed_instant: int | None = None
    published_daily: int | None = None
    published_instant: int | None = None


@dataclass
class SiteStatus:
    site: Site
    open_now: bool
    season: Season | None
    capacity: Capacity
    zones: list = field(default_factory=list)


def _site(row) -> Site:
    seasons = tuple(Season(name=s.get("season") or {}, start=s["start"], end=s["end"],
                           open=s["open"], close=s["close"], last_entry=s.get("last_entry"))
                    for s in json.loads(row["hours_json"]))
    return Site(row["id"], row["area_id"], {"zh": row["name_zh"], "en": row["name_en"]},
                {"zh": row["summary_zh"], "en": row["summary_en"]}, row["lat"], row["lon"],
                seasons, row["visit_hours"], row["published_daily"], row["published_instant"],
                row["published_as_of"], row["override_daily"], row["override_instant"])


def _zone(row) -> Zone:
    return Zone(row["id"], row["site_id"], {"zh": row["name_zh"], "en": row["name_en"]},
                row["area_m2"], row["per_visitor_m2"], row["source"], row["published_instant"],
                row["override_instant"])


def list_areas(db: Database) -> list[dict]:
    return [{"id": r["id"], "name": {"zh": r["name_zh"], "en": r["name_en"]}}
            for r in repo.areas(db)]


def list_sites(db: Database) -> list[Site]:
    return [_site(r) for r in repo.sites(db)]


def get_site(db: Database, site_id: str) -> Site:
    """One site, or NotFound('unknown_site')."""
    row = repo.site(db, site_id) if isinstance(site_id, str) else None
    if row is None:
        raise NotFound("unknown_site", _l("There is no site '%(site_id)s'.", site_id=site_id))
    return _site(row)


def list_zones(db: Database, site_id: str | None = None) -> list[Zone]:
    return [_zone(r) for r in repo.zones(db, site_id)]


def get_zone(db: Database, zone_id: str) -> Zone:
    row = repo.zone(db, zone_id)
    if row is None:
        raise NotFound("unknown_zone", _l("There is no zone '%(zone_id)s'.", zone_id=zone_id))
    return _zone(row)


def zone_capacity(zone: Zone) -> Capacity:
    """A zone's instantaneous capacity: override, else published, else Xi/Yi."""
    computed = capacity.instantaneous([(zone.area_m2, zone.per_visitor_m2)])
    instant, source = _choose(zone.override_instant, zone.published_instant, computed)
    return Capacity(daily=0, instant=instant, daily_source="none", instant_source=source,
                    computed_instant=computed, published_instant=zone.published_instant)


def site_capacity(db: Database, site_id: str) -> Capacity:
    """Daily and instantaneous capacity of a site: staff override, else the
    published figure, else LB/T 034's C1 = ΣXi/Yi and C2 = C1 × Int(T/t)."""
    site = get_site(db, site_id)
    zones = list_zones(db, site_id)
    c1 = capacity.instantaneous([(z.area_m2, z.per_visitor_m2) for z in zones]) if zones else 0
    longest = max((s.hours for s in site.seasons), default=0)
    c2 = capacity.daily(c1, longest, site.visit_hours)
    instant, isrc = _choose(site.override_instant, site.published_instant, c1)
    day, dsrc = _choose(site.override_daily, site.published_daily, c2)
    return Capacity(daily=day, instant=instant, daily_source=dsrc, instant_source=isrc,
                    computed_daily=c2, computed_instant=c1, published_daily=site.published_daily,
                    published_instant=site.published_instant)


def _choose(override, published, computed):
    if override is not None:
        return override, "override"
    if published is not None:
        return published, "published"
    return computed, "computed"


def hours_on(db, site_id: str, day: date) -> Season | None:
    """The opening season that applies to a day, or None if closed."""
    return get_site(db, site_id).season_on(day)


def is_open(db, site_id: str, at: datetime) -> bool:
    return get_site(db, site_id).is_open(at)


def closing_time(site: Site, day: date, tz: tzinfo) -> datetime | None:
    season = site.season_on(day)
    if season is None:
        return None
    if season.close == "24:00":
        return datetime.combine(day, time(23, 59, 59), tz)
    hh, mm = map(int, season.close.split(":"))
    return datetime.combine(day, time(hh, mm), tz)


def status_now(db: Database, clock: Clock) -> list[SiteStatus]:
    """Every site with whether it is open now, today's hours and its capacity."""
    now = clock.now()
    return [SiteStatus(site=s, open_now=s.is_open(now), season=s.season_on(now.date()),
                       capacity=site_capacity(db, s.id), zones=list_zones(db, s.id))
            for s in list_sites(db)]


def adjust_capacity(db, *, kind: str, target_id: str, field: str, value, reason: str,
                    user, clock) -> Capacity:
    """Set (or clear, with value None) a staff override, logged with who and why."""
    if kind not in ("site", "zone"):
        raise ValidationError("bad_target", _l("Choose a site or a zone."))
    if field not in ("daily", "instant") or (kind == "zone" and field != "instant"):
        raise ValidationError("bad_field", _l("Zones have an instantaneous capacity only; sites "
                                              "have daily and instantaneous."))
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError("bad_capacity", _l("A capacity must be a whole number above 0."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError("reason_required", _l("Give a reason (up to 500 characters)."))
    with immediate(db):
        if kind == "site":
            target = get_site(db, target_id)
        else:
            target = get_zone(db, target_id)
        old = getattr(target, f"override_{field}")
        repo.set_override(db, kind, target_id, field, value)
        repo.log_change(db, target_kind=kind, target_id=target_id, field=field, old_value=old,
                        new_value=value, reason=reason, user_id=user.id,
                        username=user.username, at=clock.now().isoformat(timespec="seconds"))
    if kind == "site":
        return site_capacity(db, target_id)
    return zone_capacity(get_zone(db, target_id))


def capacity_changes(db, limit: int = 100) -> list[dict]:
    return [dict(r) for r in repo.changes(db, limit)]


def validate_catalog(data: dict) -> None:
    """Check the catalog file's shape before anything is written."""
    def need(cond, where, what):
        if not cond:
            raise ValidationError("bad_catalog", f"catalog {where}: {what}")
    area_ids = {a["id"] for a in data.get("areas", [])}
    need(area_ids, "areas", "no areas")
    seen_zones = set()
    for s in data.get("sites", []):
        where = f"site {s.get('id')}"
        need(s.get("area") in area_ids, where, "unknown area")
        need(s.get("hours"), where, "no opening hours")
        for h in s["hours"]:
            need(len(h["start"]) == 5 and len(h["end"]) == 5, where, "season dates are MM-DD")
            need(h["open"] < h["close"] or h["close"] == "24:00", where, "opens after it closes")
        need(isinstance(s.get("visit_hours"), (int, float)) and s["visit_hours"] > 0, where,
             "visit_hours must be > 0")
        for z in s.get("zones", []):
            need(z["id"] not in seen_zones, where, f"zone id {z['id']} used twice")
            seen_zones.add(z["id"])
            need(z["area_m2"] > 0 and z["per_visitor_m2"] > 0, f"zone {z['id']}",
                 "area and per-visitor area must be > 0")


def load_catalog(db, data: dict | None = None) -> dict:
    """Upsert areas, sites and zones from the data file; staff overrides are kept."""
    if data is None:
        data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    validate_catalog(data)
    with immediate(db):
        for i, area in enumerate(data["areas"]):
            repo.upsert_area(db, area, i)
        for i, site in enumerate(data["sites"]):
            repo.upsert_site(db, site, i)
            published = site.get("zone_published_instant") or {}
            for j, zone in enumerate(site.get("zones", [])):
                repo.upsert_zone(db, site["id"], zone, published.get(zone["id"]), j)
    return {"areas": len(data["areas"]), "sites": len(data["sites"]),
            "zones": sum(len(s.get("zones", [])) for s in data["sites"])}
