"""Catalog services: the only way other domains read sites, zones and capacities.
Opening hours and their exceptions are in catalog.schedule (pure rules in catalog.hours)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core.db import Database, immediate
from core.errors import NotFound, ValidationError
from core.text import _l

from . import capacity, repo
from .hours import (KINDS, PLACE_KINDS, RULES, DayHours, HoursException, Place, Season,
                    day_hours, valid_hm)

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "catalog" / "sites.json"
ZONE_METHODS = ("area", "route")


@dataclass(frozen=True)
class Zone:
    id: str
    site_id: str
    name: dict
    area_m2: float          # the effective area Xi (route zones: length × width)
    per_visitor_m2: float   # Yi
    source: str
    published_instant: int | None
    override_instant: int | None
    method: str = "area"    # "area" or "route" (LB/T 034 / GB/T 50298)
    params: dict = field(default_factory=dict)   # route zones: length_m, width_m
    computed_instant: int = 0     # Xi / Yi
    fitted_instant: int = 0       # after fitting the site's zones to its instantaneous figure


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
    places: tuple = ()        # entrances and cable cars with hours of their own
    exceptions: tuple = ()    # dated exceptions from the data file (holidays)

    def season_on(self, day: date) -> Season | None:
        """The regular season of a day, before exceptions (use schedule.hours_on)."""
        return next((s for s in self.seasons if s.covers(day)), None)

    @property
    def open_hours(self) -> float:
        """T of LB/T 034: the longest regular opening day."""
        return max((s.hours for s in self.seasons), default=0)

    def place(self, place_id: str) -> Place | None:
        return next((p for p in self.places if p.id == place_id), None)


@dataclass(frozen=True)
class Capacity:
    daily: int
    instant: int
    daily_source: str       # "override", "published" or "computed"
    instant_source: str     # also "derived" (from the published daily) or "scaled" (zones)
    computed_daily: int | None = None
    computed_instant: int | None = None
    published_daily: int | None = None
    published_instant: int | None = None


@dataclass
class SiteStatus:
    site: Site
    open_now: bool
    hours: DayHours
    capacity: Capacity
    zones: list = field(default_factory=list)


def _seasons(items) -> tuple:
    return tuple(Season(name=s.get("season") or {}, start=s["start"], end=s["end"],
                        open=s["open"], close=s["close"], last_entry=s.get("last_entry"),
                        source=str(s.get("source", ""))) for s in items)


def _exception(site_id: str, e: dict) -> HoursException:
    return HoursException(
        id=f"data:{e['id']}", site_id=site_id, place_id=e.get("place"), kind=e["kind"],
        reason=e["reason"], source=str(e.get("source", "")),
        confirmed=bool(e.get("confirmed", True)),
        start=date.fromisoformat(e["start"]) if e.get("start") else None,
        end=date.fromisoformat(e.get("end") or e["start"]) if e.get("start") else None,
        rule=e.get("rule"), open=e.get("open"), close=e.get("close"),
        last_entry=e.get("last_entry"))


def _places(items) -> tuple:
    return tuple(Place(p["id"], p["kind"], p["name"], _seasons(p.get("hours") or ()),
                       p.get("bottleneck"), str(p.get("source", ""))) for p in items)


_SITE_CACHE: dict = {}  # parsed sites by their raw row (scans read a site each time); bounded


def _site(row) -> Site:
    key = tuple(row)
    hit = _SITE_CACHE.get(key)
    if hit is not None:
        return hit
    places = _places(json.loads(row["places_json"]))
    exceptions = tuple(_exception(row["id"], e) for e in json.loads(row["exceptions_json"]))
    site = Site(row["id"], row["area_id"], {"zh": row["name_zh"], "en": row["name_en"]},
                {"zh": row["summary_zh"], "en": row["summary_en"]}, row["lat"], row["lon"],
                _seasons(json.loads(row["hours_json"])), row["visit_hours"],
                row["published_daily"], row["published_instant"], row["published_as_of"],
                row["override_daily"], row["override_instant"], places, exceptions)
    if len(_SITE_CACHE) > 64:
        _SITE_CACHE.clear()
    _SITE_CACHE[key] = site
    return site


def _zone(row, fitted: int = 0) -> Zone:
    computed = capacity.instantaneous([(row["area_m2"], row["per_visitor_m2"])])
    return Zone(row["id"], row["site_id"], {"zh": row["name_zh"], "en": row["name_en"]},
                row["area_m2"], row["per_visitor_m2"], row["source"], row["published_instant"],
                row["override_instant"], row["method"], json.loads(row["params_json"]),
                computed, fitted or computed)


def list_areas(db: Database) -> list[dict]:
    return [{"id": r["id"], "name": {"zh": r["name_zh"], "en": r["name_en"]}}
            for r in repo.areas(db)]


def list_sites(db: Database) -> list[Site]:
    return [_site(r) for r in repo.sites(db)]


def get_site(db: Database, site_id: str) -> Site:
    """One site, or NotFound('unknown_site')."""
    return site_with_key(db, site_id)[0]


def site_with_key(db: Database, site_id: str) -> tuple[Site, tuple]:
    """A site and a key that changes whenever its row does (for caches of what is
    computed from it, such as a day's hours)."""
    row = repo.site(db, site_id) if isinstance(site_id, str) else None
    if row is None:
        raise NotFound("unknown_site", _l("There is no site '%(site_id)s'.", site_id=site_id))
    return _site(row), tuple(row)


def _fixed(row) -> int | None:
    return row["override_instant"] if row["override_instant"] is not None \
        else row["published_instant"]


def site_zones(db, site: Site, instant: int | None = None) -> list[Zone]:
    """A site's zones with their instantaneous capacities fitted to the site's figure."""
    rows = repo.zones(db, site.id)
    if instant is None:
        instant = site_capacity(db, site.id).instant
    pairs = [(capacity.instantaneous([(r["area_m2"], r["per_visitor_m2"])]), _fixed(r))
             for r in rows]
    fitted = capacity.fit_zones(instant, pairs)
    return [_zone(r, f) for r, f in zip(rows, fitted)]


def list_zones(db: Database, site_id: str | None = None) -> list[Zone]:
    if site_id is not None:
        return site_zones(db, get_site(db, site_id))
    return [z for s in list_sites(db) for z in site_zones(db, s)]


def get_zone(db: Database, zone_id: str) -> Zone:
    row = repo.zone(db, zone_id) if isinstance(zone_id, str) else None
    if row is None:
        raise NotFound("unknown_zone", _l("There is no zone '%(zone_id)s'.", zone_id=zone_id))
    return next(z for z in list_zones(db, row["site_id"]) if z.id == zone_id)


def zone_capacity(zone: Zone) -> Capacity:
    """A zone's instantaneous capacity: override, else published, else Xi/Yi fitted so the
    site's zones sum to no more than the site's instantaneous capacity ("scaled")."""
    if zone.override_instant is not None:
        instant, source = zone.override_instant, "override"
    elif zone.published_instant is not None:
        instant, source = zone.published_instant, "published"
    else:
        instant = zone.fitted_instant
        source = "computed" if instant == zone.computed_instant else "scaled"
    return Capacity(daily=0, instant=instant, daily_source="none", instant_source=source,
                    computed_instant=zone.computed_instant,
                    published_instant=zone.published_instant)


def site_capacity(db: Database, site_id: str) -> Capacity:
    """Daily and instantaneous capacity of a site: staff override, else the published
    figure, else LB/T 034. Instantaneous: C1 = ΣXi/Yi, or, where only a daily figure is
    published, C2 / Int(T/t) ("derived"). Daily: C2 = C1 × Int(T/t)."""
    site = get_site(db, site_id)
    c1 = sum(capacity.instantaneous([(r["area_m2"], r["per_visitor_m2"])])
             for r in repo.zones(db, site_id))
    if site.override_instant is not None:
        instant, isrc = site.override_instant, "override"
    elif site.published_instant is not None:
        instant, isrc = site.published_instant, "published"
    elif site.published_daily is not None:
        instant = capacity.instant_from_daily(site.published_daily, site.open_hours,
                                              site.visit_hours)
        isrc = "derived"
    else:
        instant, isrc = c1, "computed"
    c2 = capacity.daily(instant, site.open_hours, site.visit_hours)
    if site.override_daily is not None:
        day, dsrc = site.override_daily, "override"
    elif site.published_daily is not None:
        day, dsrc = site.published_daily, "published"
    else:
        day, dsrc = c2, "computed"
    return Capacity(daily=day, instant=instant, daily_source=dsrc, instant_source=isrc,
                    computed_daily=c2, computed_instant=c1, published_daily=site.published_daily,
                    published_instant=site.published_instant)


def site_from_data(site: dict) -> Site:
    """A site as the catalog data file writes it (no staff overrides or exceptions), for
    simulations and checks that read the file, not the database."""
    pub = site.get("published_capacity") or {}
    return Site(site["id"], site["area"], dict(site["name"]), dict(site.get("summary") or {}),
                site.get("lat"), site.get("lon"), _seasons(site["hours"]), site["visit_hours"],
                pub.get("daily"), pub.get("instant"), pub.get("as_of"), None, None,
                _places(site.get("places") or ()),
                tuple(_exception(site["id"], e) for e in site.get("exceptions") or ()))


def file_hours_on(site: Site, day: date) -> DayHours:
    """A day's hours by the data file's rules alone (seasons, places, the file's dated and
    holiday exceptions; no staff exceptions), for a site from ``site_from_data``."""
    return day_hours(site, day, site.exceptions)


def published_or_computed(site: dict) -> tuple[int, int]:
    """(daily, instantaneous) of a site as written in the catalog data file, by the same
    rules as ``site_capacity`` without staff overrides (for simulations and checks that read
    the file, not the database)."""
    c1 = sum(capacity.instantaneous([(_zone_area(z), z["per_visitor_m2"])])
             for z in site.get("zones", []))
    open_hours = site_from_data(site).open_hours
    pub = site.get("published_capacity") or {}
    if pub.get("instant"):
        instant = pub["instant"]
    elif pub.get("daily"):
        instant = capacity.instant_from_daily(pub["daily"], open_hours, site["visit_hours"])
    else:
        instant = c1
    day = pub.get("daily") or capacity.daily(instant, open_hours, site["visit_hours"])
    return int(day), int(instant)


def place_capacity(site: Site, place_id: str) -> dict | None:
    """A cable car's figures by LB/T 034's bottleneck method, from its longest regular day:
    {"aboard": people aboard at once, "per_hour": per direction, "daily": carried a day}."""
    place = site.place(place_id)
    if place is None or not place.bottleneck:
        return None
    b = place.bottleneck
    hours = max((s.hours for s in place.seasons), default=0)
    aboard, day = capacity.bottleneck(b["per_batch"], b["interval_s"], b["trip_s"], hours,
                                      b.get("directions", 1))
    return {"aboard": aboard, "per_hour": int(3600 / b["interval_s"]) * b["per_batch"],
            "daily": day, "hours": hours, "source": b.get("source", "")}


def cable_car_capacities(site: Site) -> list[tuple[Place, dict]]:
    """Each place of a site with bottleneck figures, and those figures."""
    out = [(p, place_capacity(site, p.id)) for p in site.places]
    return [(p, c) for p, c in out if c is not None]


# --- staff overrides ------------------------------------------------------------------

def _zones_over_site(limit: int, needed: int) -> ValidationError:
    return ValidationError("zones_over_site", _l("The zones would need %(needed)s people at "
                                                 "once, more than the site's instantaneous "
                                                 "capacity of %(limit)s.", needed=needed,
                                                 limit=limit),
                           details={"site_instant": limit, "zones_need": needed})


def check_zones_fit(db, site_id: str) -> None:
    """Fixed zone figures (published or overridden), plus one person for each other zone,
    must fit in the site's instantaneous capacity (inside the caller's transaction)."""
    limit = site_capacity(db, site_id).instant
    pairs = [(0, _fixed(r)) for r in repo.zones(db, site_id)]
    needed = capacity.minimum_site_instant(pairs)
    if needed > limit:
        raise _zones_over_site(limit, needed)


def adjust_capacity(db, *, kind: str, target_id: str, field: str, value, reason: str,
                    user, clock) -> Capacity:
    """Set (or clear, with value None) a staff override, logged with who and why. A change
    that would make the site's zones need more than the site holds is refused."""
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
            site_id = target.id
        else:
            target = get_zone(db, target_id)
            site_id = target.site_id
        old = getattr(target, f"override_{field}")
        repo.set_override(db, kind, target_id, field, value)
        if field == "instant":
            check_zones_fit(db, site_id)  # raising rolls the override back
        repo.log_change(db, target_kind=kind, target_id=target_id, field=field, old_value=old,
                        new_value=value, reason=reason, user_id=user.id,
                        username=user.username, at=clock.now().isoformat(timespec="seconds"))
    if kind == "site":
        return site_capacity(db, target_id)
    return zone_capacity(get_zone(db, target_id))


def capacity_changes(db, limit: int = 100) -> list[dict]:
    return [dict(r) for r in repo.changes(db, limit)]


# --- loading the data file ------------------------------------------------------------

def _need(cond, where, what):
    if not cond:
        raise ValidationError("bad_catalog", f"catalog {where}: {what}")


def _check_seasons(items, where: str, required: bool = True) -> None:
    _need(items or not required, where, "no opening hours")
    for h in items or ():
        _need(len(h["start"]) == 5 and len(h["end"]) == 5, where, "season dates are MM-DD")
        _need(valid_hm(h["open"]) and valid_hm(h["close"]), where, "times are HH:MM")
        _need(h["open"] < h["close"], where, "opens after it closes")
        last = h.get("last_entry")
        _need(last is None or (valid_hm(last) and h["open"] < last <= h["close"]), where,
              "last entry outside the opening hours")


def _check_places(s: dict, where: str) -> set:
    ids = set()
    for p in s.get("places", []):
        pw = f"{where} place {p.get('id')}"
        _need(p.get("id") and p["id"] not in ids, pw, "missing or repeated id")
        ids.add(p["id"])
        _need(p.get("kind") in PLACE_KINDS, pw, f"kind is one of {PLACE_KINDS}")
        _check_seasons(p.get("hours"), pw, required=False)
        b = p.get("bottleneck")
        if b:
            capacity.bottleneck(b["per_batch"], b["interval_s"], b["trip_s"], 1,
                                b.get("directions", 1))
    return ids


def _check_exceptions(s: dict, where: str, places: set) -> None:
    for e in s.get("exceptions", []):
        ew = f"{where} exception {e.get('id')}"
        _need(e.get("kind") in KINDS, ew, f"kind is one of {KINDS}")
        _need(e.get("rule") in RULES or e.get("start"), ew, "needs a rule or a start date")
        _need(e.get("place") is None or e["place"] in places, ew, "unknown place")
        _need(isinstance(e.get("reason"), dict) and e["reason"].get("zh") and
              e["reason"].get("en"), ew, "reason in zh and en")
        for k in ("open", "close", "last_entry"):
            _need(e.get(k) is None or valid_hm(e[k]), ew, f"{k} is HH:MM")


def _check_zones(s: dict, where: str, seen: set) -> None:
    fixed = s.get("zone_published_instant") or {}
    for z in s.get("zones", []):
        zw = f"zone {z.get('id')}"
        _need(z["id"] not in seen, where, f"zone id {z['id']} used twice")
        seen.add(z["id"])
        _need(z.get("method", "area") in ZONE_METHODS, zw, f"method is one of {ZONE_METHODS}")
        if z.get("method") == "route":
            _need(z.get("length_m", 0) > 0 and z.get("width_m", 0) > 0, zw,
                  "a route needs length_m and width_m")
        _need(_zone_area(z) > 0 and z["per_visitor_m2"] > 0, zw,
              "area and per-visitor area must be > 0")
    pub = (s.get("published_capacity") or {}).get("instant")
    if pub is not None:
        needed = sum(fixed.get(z["id"], 1) for z in s.get("zones", []))
        _need(needed <= pub, where, "published zone figures exceed the site's")


def validate_catalog(data: dict) -> None:
    """Check the catalog file's shape before anything is written."""
    area_ids = {a["id"] for a in data.get("areas", [])}
    _need(area_ids, "areas", "no areas")
    seen_zones = set()
    for s in data.get("sites", []):
        where = f"site {s.get('id')}"
        _need(s.get("area") in area_ids, where, "unknown area")
        _check_seasons(s.get("hours"), where)
        _need(isinstance(s.get("visit_hours"), (int, float)) and s["visit_hours"] > 0, where,
              "visit_hours must be > 0")
        _check_exceptions(s, where, _check_places(s, where))
        _check_zones(s, where, seen_zones)


def _zone_area(z: dict) -> float:
    if z.get("method") == "route":
        return z["length_m"] * z["width_m"]
    return z.get("area_m2", 0)


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
                params = {k: zone[k] for k in ("length_m", "width_m") if k in zone}
                repo.upsert_zone(db, site["id"], {**zone, "area_m2": _zone_area(zone)},
                                 published.get(zone["id"]), j, params)
            check_zones_fit(db, site["id"])
    return {"areas": len(data["areas"]), "sites": len(data["sites"]),
            "zones": sum(len(s.get("zones", [])) for s in data["sites"])}
