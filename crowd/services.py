"""Crowd services: cameras, ingest of worker observations, occupancy, alerts, history.

Other domains call ``zone_levels`` and ``site_occupancy`` through crowd/interface.py.
Everything takes its clock and its Policy (from the CROWD_* settings, built by the
caller with ``Policy.from_config``); nothing here reads the wall or the Flask app.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from catalog import interface as catalog
from core.auth import User
from core.clock import Clock, iso
from core.contracts import validate
from core.db import ROW_ID_MAX, Database, immediate
from core.errors import Conflict, DomainError, NotFound, ValidationError
from core.text import _l
from gates import interface as gates
from ticketing import interface as ticketing

from . import alert_levels, checks, forecasting, mqtt_topics, repo
from .cameras import Camera, get_camera, list_cameras
from .schemas import ObservationIn
from .workers import authorize_camera

log = logging.getLogger("scenic.crowd")

MAX_RAW_PER_CAMERA = 20_000


# --- settings outside a request ------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """What the monitor does, from the CROWD_* settings (defaults when none are given)."""
    thresholds: alert_levels.Thresholds = alert_levels.Thresholds()
    stale_seconds: float = 10.0
    pause_sales: bool = True
    pause_sites: tuple = ()
    raw_retention_minutes: int = 120
    rollup_retention_days: int = 14
    heat_half_life_minutes: float = 30.0
    predicted_pause: bool = False
    forecast_every_s: float = 60.0
    forecast_learn_days: int = 7
    # Alert events kept for the MQTT bridge (0: no broker, none written).
    outbox_max: int = 0

    @classmethod
    def from_config(cls, cfg) -> "Policy":
        return cls(alert_levels.Thresholds.from_config(cfg), cfg["CROWD_STALE_SECONDS"],
                   cfg["CROWD_PAUSE_SALES"], tuple(cfg["CROWD_PAUSE_SALES_SITES"]),
                   cfg["CROWD_RAW_RETENTION_MINUTES"], cfg["CROWD_ROLLUP_RETENTION_DAYS"],
                   cfg["CROWD_HEAT_HALF_LIFE_MINUTES"], cfg["CROWD_PREDICTED_PAUSE"],
                   cfg["CROWD_FORECAST_EVERY_SECONDS"], cfg["CROWD_FORECAST_LEARN_DAYS"],
                   cfg["CROWD_MQTT_OUTBOX_MAX"] if cfg["CROWD_MQTT_BROKER"] != "off" else 0)

    @property
    def forecast(self) -> forecasting.ForecastSettings:
        return forecasting.ForecastSettings(
            self.thresholds.warning, self.thresholds.hysteresis, self.forecast_every_s,
            self.forecast_learn_days, self.predicted_pause)

    def may_pause(self, site_id: str) -> bool:
        return self.pause_sales and (not self.pause_sites or site_id in self.pause_sites)



# --- ingest ------------------------------------------------------------------------------

def ingest(db, data: ObservationIn | dict, *, worker: User, clock,
           policy: Policy | None = None, frames=None) -> dict:
    """Store one observation from a worker device (for a camera it may report for), update
    history and heat, then re-evaluate alerts. A dict is checked against the observation's
    contract first."""
    policy = policy or Policy()
    if not isinstance(data, ObservationIn):
        data = validate(ObservationIn, data)
    cam = authorize_camera(db, worker, data.camera_id)
    if not cam.enabled:
        raise Conflict("camera_disabled", _l("This camera is disabled."))
    obs = checks.check_observation(data, {a["name"] for a in cam.areas},
                                   {ln["name"] for ln in cam.lines})
    now = clock.now()
    ts, at = now.timestamp(), iso(now)
    counted = None
    if obs.status == "online":
        counted = sum(obs.areas.values()) if cam.areas else obs.people
    ins = sum(v["in"] for v in obs.lines.values())
    outs = sum(v["out"] for v in obs.lines.values())
    minute = int(ts // 60 * 60)
    with immediate(db):
        repo.insert_observation(db, camera_id=cam.id, ts=ts, at=at, status=obs.status,
                                people=obs.people, counted=counted, areas=obs.areas,
                                lines=obs.lines, dropped=obs.dropped, fps=obs.fps)
        if counted is not None:
            repo.add_rollup(db, camera_id=cam.id, minute=minute, counted=counted, ins=ins,
                            outs=outs)
        elif ins or outs:
            repo.add_crossings_only(db, camera_id=cam.id, minute=minute, ins=ins, outs=outs)
        repo.upsert_camera_state(db, camera_id=cam.id, status=obs.status, ts=ts, at=at,
                                 people=obs.people, counted=counted, areas=obs.areas,
                                 error=obs.error, dropped=obs.dropped, fps=obs.fps, ins=ins,
                                 outs=outs)
        if obs.heat:
            _add_heat(db, cam.id, obs.heat, now, policy.heat_half_life_minutes)
        repo.prune_history(db, camera_id=cam.id,
                           raw_before=ts - policy.raw_retention_minutes * 60,
                           rollup_before=int(ts - policy.rollup_retention_days * 86400),
                           max_raw_per_camera=MAX_RAW_PER_CAMERA)
    if frames is not None and obs.status == "offline":
        frames.drop(cam.id)
    # The worker's report is not held up by forecasting: stored forecasts drive the
    # predicted alerts here; the dashboard's and cron's evaluations recompute them.
    evaluate(db, clock, policy, refresh_forecasts=False)
    return {"camera_id": cam.id, "status": obs.status, "counted": counted, "at": at}


def _decayed_heat(row, now, half_life_minutes: float) -> list[float]:
    """The stored grid faded to ``now``: every cell halves each half-life, so the map
    shows where people are these days, not since the camera was installed. The grid has
    a fixed size (32x24) and cells below 0.005 drop to 0: storage stays bounded."""
    from datetime import datetime
    if row is None:
        return [0.0] * (checks.HEAT_COLS * checks.HEAT_ROWS)
    cells = json.loads(row["cells_json"])
    elapsed = max((now - datetime.fromisoformat(row["updated_at"])).total_seconds(), 0.0)
    factor = 0.5 ** (elapsed / 60 / half_life_minutes)
    return [round(v * factor, 3) if v * factor >= 0.005 else 0 for v in cells]


def _add_heat(db, camera_id: str, cells, now, half_life_minutes: float) -> None:
    grid = _decayed_heat(repo.heat(db, camera_id), now, half_life_minutes)
    for col, r, n in cells:
        grid[r * checks.HEAT_COLS + col] += n
    repo.save_heat(db, camera_id, checks.HEAT_COLS, checks.HEAT_ROWS, grid, iso(now))


def heatmap(db: Database, camera_id: str, clock: Clock, *, policy: Policy | None = None) -> dict:
    """Bottom-centre positions on a 32x24 grid, faded with a half-life (no frames kept)."""
    policy = policy or Policy()
    get_camera(db, camera_id)
    row = repo.heat(db, camera_id)
    cells = _decayed_heat(row, clock.now(), policy.heat_half_life_minutes)
    return {"camera_id": camera_id, "cols": checks.HEAT_COLS, "rows": checks.HEAT_ROWS,
            "cells": cells, "max": max(cells) if cells else 0,
            "half_life_minutes": policy.heat_half_life_minutes,
            "updated_at": row["updated_at"] if row else None}


# --- occupancy -------------------------------------------------------------------------

@dataclass(frozen=True)
class CameraReading:
    camera: Camera
    status: str            # "online", "offline" (worker says so) or "stale" (silent)
    counted: int | None    # None whenever the camera cannot see: never a false 0
    people: int | None
    areas: dict
    last_at: str | None
    error: str
    fps: float | None
    dropped: int
    ins: int
    outs: int

    @property
    def fresh(self) -> bool:
        return self.status == "online"


def camera_readings(db, clock, stale_seconds: float) -> list[CameraReading]:
    now = clock.now().timestamp()
    states = repo.camera_states(db)
    out = []
    for cam in list_cameras(db, enabled_only=True):
        st = states.get(cam.id)
        if st is None:
            out.append(CameraReading(cam, "stale", None, None, {}, None, "no data yet", None, 0,
                                     0, 0))
            continue
        status = st["status"]
        if status == "online" and now - st["last_ts"] > stale_seconds:
            status = "stale"
        fresh = status == "online"
        out.append(CameraReading(
            cam, status, st["counted"] if fresh else None, st["people"] if fresh else None,
            json.loads(st["areas_json"]) if fresh else {}, st["last_at"],
            st["error"] or ("no observation for %d s" % int(now - st["last_ts"])
                            if status == "stale" else ""),
            st["fps"], st["dropped_total"], st["ins_total"], st["outs_total"]))
    return out


@dataclass(frozen=True)
class ZoneOccupancy:
    zone_id: str
    name: dict
    people: int | None
    capacity: int
    ratio: float | None
    level: str              # normal | notice | warning | critical | unknown
    stale: bool             # some camera of the zone is not reporting


@dataclass(frozen=True)
class SiteOccupancy:
    site_id: str
    people: int | None
    capacity: int
    ratio: float | None
    level: str
    source: str             # "cameras", "gates", "cameras+gates" or "none"
    zones: list = field(default_factory=list)
    camera_people: int | None = None
    gate_people: int | None = None
    stale_cameras: int = 0


def _ratio(people, capacity):
    if people is None or not capacity:
        return None
    return people / capacity


def _level(people, capacity, stored, th) -> str:
    ratio = _ratio(people, capacity)
    if ratio is None:
        return "unknown"
    if stored is not None:
        return stored["level"]
    return alert_levels.raw_level(ratio, th)


def _zone_occupancy(db, readings, levels, th) -> dict[str, ZoneOccupancy]:
    by_zone: dict[str, list[CameraReading]] = {}
    for rd in readings:
        if rd.camera.zone_id:
            by_zone.setdefault(rd.camera.zone_id, []).append(rd)
    out = {}
    for site in catalog.list_sites(db):
        for zone in catalog.list_zones(db, site.id):
            rds = by_zone.get(zone.id, [])
            fresh = [r for r in rds if r.fresh]
            people = sum(r.counted for r in fresh) if fresh else None
            capacity = catalog.zone_capacity(zone).instant
            out[zone.id] = ZoneOccupancy(
                zone.id, zone.name, people, capacity, _ratio(people, capacity),
                _level(people, capacity, levels.get(("zone", zone.id)), th),
                stale=len(fresh) < len(rds))
    return out


def zone_levels(db: Database, clock: Clock, *,
                policy: Policy | None = None) -> dict[str, ZoneOccupancy]:
    """Every catalog zone's occupancy from its cameras; level "unknown" without fresh data."""
    policy = policy or Policy()
    readings = camera_readings(db, clock, policy.stale_seconds)
    return _zone_occupancy(db, readings, repo.level_states(db), policy.thresholds)


def _site_occupancy(db, site_id, clock, readings, zones, levels, th) -> SiteOccupancy:
    site = catalog.get_site(db, site_id)
    site_zones = [zones[z.id] for z in catalog.list_zones(db, site.id) if z.id in zones]
    site_cams = [r for r in readings if r.camera.site_id == site.id]
    fresh = [r for r in site_cams if r.fresh]
    camera_people = sum(r.counted for r in fresh) if fresh else None
    gate_people = gates.people_inside(db, site.id, clock)
    known = [v for v in (camera_people, gate_people) if v is not None]
    # The more conservative (higher) figure drives alerts.
    people = max(known) if known else None
    source = "+".join(n for n, v in (("cameras", camera_people), ("gates", gate_people))
                      if v is not None) or "none"
    capacity = catalog.site_capacity(db, site.id).instant
    return SiteOccupancy(site.id, people, capacity, _ratio(people, capacity),
                         _level(people, capacity, levels.get(("site", site.id)), th), source,
                         site_zones, camera_people, gate_people,
                         stale_cameras=len(site_cams) - len(fresh))


def site_occupancy(db: Database, site_id: str, clock: Clock, *,
                   policy: Policy | None = None) -> SiteOccupancy:
    """People in a site now (the higher of cameras and gates), its capacity, ratio and level."""
    policy = policy or Policy()
    readings = camera_readings(db, clock, policy.stale_seconds)
    levels = repo.level_states(db)
    zones = _zone_occupancy(db, readings, levels, policy.thresholds)
    return _site_occupancy(db, site_id, clock, readings, zones, levels, policy.thresholds)


def occupancy_now(db: Database, clock: Clock, *, policy: Policy | None = None
                  ) -> tuple[list[CameraReading], dict[str, ZoneOccupancy], list[SiteOccupancy]]:
    """One consistent reading of every camera, zone and site (what the MQTT bridge
    publishes)."""
    policy = policy or Policy()
    readings = camera_readings(db, clock, policy.stale_seconds)
    levels = repo.level_states(db)
    zones = _zone_occupancy(db, readings, levels, policy.thresholds)
    sites = [_site_occupancy(db, s.id, clock, readings, zones, levels, policy.thresholds)
             for s in catalog.list_sites(db)]
    return readings, zones, sites


# --- alerts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    scope: str
    target_id: str
    site_id: str
    people: int | None
    capacity: int | None


def _targets(db, clock, readings, zones, levels, th) -> tuple[list[Target], list]:
    targets = []
    for rd in readings:
        for area in rd.camera.areas:
            people = rd.areas.get(area["name"]) if rd.fresh else None
            targets.append(Target("area", f"{rd.camera.id}/{area['name']}", rd.camera.site_id,
                                  people, area["capacity"]))
    for z in zones.values():
        if z.people is not None or levels.get(("zone", z.zone_id)) is not None:
            site_id = catalog.get_zone(db, z.zone_id).site_id
            targets.append(Target("zone", z.zone_id, site_id, z.people, z.capacity))
    sites = []
    for site in catalog.list_sites(db):
        occ = _site_occupancy(db, site.id, clock, readings, zones, levels, th)
        sites.append(occ)
        targets.append(Target("site", site.id, site.id, occ.people, occ.capacity))
    return targets, sites


def evaluate(db, clock, policy: Policy | None = None, *,
             refresh_forecasts: bool = True) -> list[dict]:
    """Advance every level (debounce, hysteresis), open/raise/resolve alerts, pause or
    resume ticket sales, raise 'camera offline' for silent cameras, and open or resolve
    predicted alerts (recomputing forecasts that are due unless told not to). Idempotent."""
    policy = policy or Policy()
    th = policy.thresholds
    now = clock.now()
    ts, at = now.timestamp(), iso(now)
    changes = []
    # Forecasts read other domains' records and may learn for a second: never while
    # holding the write lock.
    if refresh_forecasts:
        cams = camera_readings(db, clock, policy.stale_seconds)
        forecasts = forecasting.refresh(db, now, policy.forecast, _camera_people(cams))
    else:
        forecasts = forecasting.stored(db, now, policy.forecast)
    with immediate(db):
        readings = camera_readings(db, clock, policy.stale_seconds)
        levels = repo.level_states(db)
        zones = _zone_occupancy(db, readings, levels, th)
        targets, _sites = _targets(db, clock, readings, zones, levels, th)
        site_levels = {}
        for t in targets:
            old_row = levels.get((t.scope, t.target_id))
            old = alert_levels.LevelState(old_row["level"], old_row["pending"],
                                          old_row["pending_since"]) \
                if old_row else alert_levels.LevelState()
            paused = bool(old_row["sales_paused"]) if old_row else False
            new = alert_levels.step(old, _ratio(t.people, t.capacity), ts, th)
            if new.level != old.level:
                changes.append({"scope": t.scope, "target_id": t.target_id, "from": old.level,
                                "to": new.level})
                _level_alert(db, t, old.level, new.level, at, policy)
            if t.scope == "site":
                paused = _sales(db, t.site_id, new.level, paused, t, policy, clock)
                site_levels[t.site_id] = new.level
            if old_row is None or new != old or paused != bool(old_row["sales_paused"]):
                repo.save_level(db, scope=t.scope, target_id=t.target_id, level=new.level,
                                pending=new.pending, pending_since=new.pending_since,
                                sales_paused=paused, at=at)
        changes += forecasting.predicted_alerts(
            db, forecasts, site_levels, settings=policy.forecast, may_pause=policy.may_pause,
            clock=clock, at=at,
            on_alert=lambda alert_id, event: _outbox_alert(db, alert_id, event, at, policy))
        for rd in readings:
            active = repo.active_alert(db, "camera_offline", "camera", rd.camera.id)
            if rd.fresh and active is not None:
                repo.resolve_alert(db, active["id"], at)
                _outbox_alert(db, active["id"], "cleared", at, policy)
                changes.append({"scope": "camera", "target_id": rd.camera.id, "to": "online"})
            elif not rd.fresh and active is None:
                since = _camera_silent_since(db, rd)
                if ts - since > policy.stale_seconds or rd.status == "offline":
                    alert_id = repo.open_alert(db, kind="camera_offline", scope="camera",
                                               target_id=rd.camera.id,
                                               site_id=rd.camera.site_id, level="warning",
                                               people=None, capacity=None, at=at,
                                               detail=rd.error[:300])
                    _outbox_alert(db, alert_id, "raised", at, policy)
                    changes.append({"scope": "camera", "target_id": rd.camera.id,
                                    "to": "offline"})
    return changes


def _camera_people(readings: list[CameraReading]) -> dict[str, int | None]:
    """Each site's fresh camera count (None where no camera of the site sees)."""
    out: dict[str, int | None] = {}
    for rd in readings:
        if rd.fresh:
            out[rd.camera.site_id] = (out.get(rd.camera.site_id) or 0) + rd.counted
    return out


def site_forecast(db: Database, site_id: str, clock: Clock, *,
                  policy: Policy | None = None) -> dict:
    """A site's occupancy forecast for the next 3 hours (with its predicted crossing of
    the warning level) and its visitors for the next 7 days."""
    policy = policy or Policy()
    catalog.get_site(db, site_id)
    now = clock.now()
    cams = _camera_people(camera_readings(db, clock, policy.stale_seconds))
    record = forecasting.latest(db, site_id, now, policy.forecast, cams.get(site_id))
    return dict(record, daily=forecasting.daily(db, site_id, now))


def _camera_silent_since(db, rd: CameraReading) -> float:
    ref = rd.last_at or rd.camera.created_at
    return datetime.fromisoformat(ref).timestamp()


def _outbox_alert(db, alert_id: int, event: str, at: str, policy: Policy) -> None:
    """Queue an alert event for the MQTT bridge, in the caller's transaction: it is
    published only if the change commits, and never from inside a request."""
    if policy.outbox_max:
        repo.add_outbox(db, kind="alert", key=str(alert_id),
                        payload=mqtt_topics.alert_payload(repo.alert(db, alert_id), event, at),
                        at=at, keep=policy.outbox_max)


def _level_alert(db, t: Target, old: str, new: str, at: str, policy: Policy) -> None:
    active = repo.active_alert(db, "capacity", t.scope, t.target_id)
    if new == "normal":
        if active is not None:
            repo.resolve_alert(db, active["id"], at)
            _outbox_alert(db, active["id"], "cleared", at, policy)
        return
    if active is None:
        alert_id = repo.open_alert(db, kind="capacity", scope=t.scope, target_id=t.target_id,
                                   site_id=t.site_id, level=new, people=t.people,
                                   capacity=t.capacity, at=at, detail="")
        _outbox_alert(db, alert_id, "raised", at, policy)
    else:
        # Higher than before needs fresh attention; lower keeps the acknowledgement.
        higher = alert_levels.RANK[new] > alert_levels.RANK[active["level"]]
        repo.raise_alert(db, active["id"], level=new, people=t.people, capacity=t.capacity,
                         at=at, reopen=higher)
        _outbox_alert(db, active["id"], "escalated" if higher else "lowered", at, policy)


def monitor_reason(people: int, capacity: int, level: str) -> str:
    """The monitor's pause reason, a record staff read in either language: both, Chinese
    first (the staff page shows it as written)."""
    pct = round(100 * people / capacity) if capacity else 0
    name = alert_levels.NAMES[level]
    return (f"人流监控：{people}/{capacity} 人（容量的 {pct}%），{name['zh']}级 / "
            f"crowd monitor: {people}/{capacity} people ({pct}% of capacity), "
            f"level {name['en']}")


def _sales(db, site_id, level, paused, t: Target, policy: Policy, clock) -> bool:
    want = alert_levels.RANK.get(level, 0) >= alert_levels.RANK["warning"]
    if want == paused:
        return paused
    if want and not policy.may_pause(site_id):
        return paused
    try:
        if want:
            ticketing.pause_sales(db, site_id=site_id, actor=ticketing.MONITOR, clock=clock,
                                  reason=monitor_reason(t.people, t.capacity, level))
        else:
            ticketing.resume_sales(db, site_id=site_id, actor=ticketing.MONITOR, clock=clock)
    except DomainError as exc:
        log.error("pausing/resuming sales failed: %s", exc.code,
                  extra={"event": "crowd_pause_failed"})
        return paused
    return want


def _place_names(db) -> dict[tuple[str, str], dict]:
    """(scope, target id) -> {zh, en}: the name people read for each place an alert is about."""
    names = {("site", s.id): s.name for s in catalog.list_sites(db)}
    names.update({("zone", z.id): z.name for z in catalog.list_zones(db)})
    for cam in list_cameras(db):
        names[("camera", cam.id)] = {"zh": cam.name, "en": cam.name}
        for a in cam.areas:
            label = f"{cam.name} / {a['name']}"
            names[("area", f"{cam.id}/{a['name']}")] = {"zh": label, "en": label}
    return names


def list_alerts(db, *, active_only: bool = False, limit: int = 50) -> list[dict]:
    """Alerts, newest first, each with ``target_name`` ({zh, en}): its place as people call it
    (the catalog's site and zone names, the camera's name), the id where none is known."""
    rows = repo.alerts(db, active_only=active_only, limit=min(limit, 500))
    return _named(db, rows)


def _named(db, rows) -> list[dict]:
    names = _place_names(db) if rows else {}
    return [dict(r, target_name=names.get((r["scope"], r["target_id"]),
                                          {"zh": r["target_id"], "en": r["target_id"]}))
            for r in rows]


def active_alerts(db, clock) -> int:
    """Alerts not resolved yet, acknowledged or not (the console's figure)."""
    return repo.count_active_alerts(db)


def acknowledge(db, alert_id, *, user, clock, policy: Policy | None = None) -> dict:
    """Mark an open alert as seen by a staff member (open -> acknowledged)."""
    policy = policy or Policy()
    if isinstance(alert_id, bool) or not isinstance(alert_id, int):
        raise ValidationError("invalid_alert", _l("alert_id must be a number."))
    with immediate(db):
        # SQLite's integers are 64-bit (the routes' <int:> stops there; callers may not).
        row = repo.alert(db, alert_id) if alert_id <= ROW_ID_MAX else None
        if row is None:
            raise NotFound("unknown_alert", _l("There is no such alert."))
        if row["state"] != "open":
            raise Conflict("alert_not_open", _l("This alert is already %(state)s.",
                                                state=row['state']))
        at = iso(clock.now())
        repo.acknowledge_alert(db, alert_id, user.username, at)
        _outbox_alert(db, alert_id, "acknowledged", at, policy)
    return _named(db, [repo.alert(db, alert_id)])[0]


# --- history and the dashboard ------------------------------------------------------------

def trend(db, clock, *, site_id: str | None = None, camera_id: str | None = None,
          window: str = "hour") -> dict:
    """Counted people per minute (hour) or per 10 minutes (day) from the rollups."""
    if window not in ("hour", "day"):
        raise ValidationError("invalid_window", _l("window is 'hour' or 'day'."))
    if camera_id is not None:
        cams = [get_camera(db, camera_id).id]
    elif site_id is not None:
        catalog.get_site(db, site_id)
        cams = [c.id for c in list_cameras(db, site_id)]
    else:
        cams = [c.id for c in list_cameras(db)]
    now = clock.now().timestamp()
    span, bucket = (3600, 60) if window == "hour" else (86400, 600)
    start = int((now - span) // bucket * bucket)
    points: dict[int, dict] = {}
    per_cam: dict[tuple, list] = {}
    for r in repo.rollups(db, cams, start):
        b = r["minute"] // bucket * bucket
        avg = r["counted_sum"] / r["samples"] if r["samples"] else None
        key = (b, r["camera_id"])
        if avg is not None:
            per_cam.setdefault(key, []).append(avg)
        p = points.setdefault(b, {"t": b, "ins": 0, "outs": 0, "people": None})
        p["ins"] += r["ins"]
        p["outs"] += r["outs"]
    for (b, _cam), avgs in per_cam.items():
        p = points[b]
        p["people"] = (p["people"] or 0) + sum(avgs) / len(avgs)
    series = [dict(p, people=None if p["people"] is None else round(p["people"], 1))
              for _, p in sorted(points.items())]
    return {"window": window, "bucket_seconds": bucket, "start": start, "end": int(now),
            "points": series}


def _zone_json(z: ZoneOccupancy) -> dict:
    return {"zone_id": z.zone_id, "name": z.name, "people": z.people, "capacity": z.capacity,
            "ratio": None if z.ratio is None else round(z.ratio, 4), "level": z.level,
            "stale": z.stale}


def dashboard_state(db, clock, *, policy: Policy | None = None) -> dict:
    """Everything the control room shows, as JSON-ready data."""
    policy = policy or Policy()
    th = policy.thresholds
    readings = camera_readings(db, clock, policy.stale_seconds)
    levels = repo.level_states(db)
    zones = _zone_occupancy(db, readings, levels, th)
    sites = []
    for site in catalog.list_sites(db):
        occ = _site_occupancy(db, site.id, clock, readings, zones, levels, th)
        sites.append({
            "site_id": site.id, "name": site.name, "people": occ.people,
            "capacity": occ.capacity,
            "ratio": None if occ.ratio is None else round(occ.ratio, 4), "level": occ.level,
            "source": occ.source, "camera_people": occ.camera_people,
            "gate_people": occ.gate_people, "stale_cameras": occ.stale_cameras,
            "sales_paused": bool(levels.get(("site", site.id))
                                 and levels[("site", site.id)]["sales_paused"]),
            "zones": [_zone_json(z) for z in occ.zones if z.people is not None or z.stale]})
    cameras = []
    for rd in readings:
        areas = []
        for a in rd.camera.areas:
            people = rd.areas.get(a["name"]) if rd.fresh else None
            lv = levels.get(("area", f"{rd.camera.id}/{a['name']}"))
            areas.append({"name": a["name"], "people": people, "capacity": a["capacity"],
                          "level": _level(people, a["capacity"], lv, th)})
        cameras.append({"camera_id": rd.camera.id, "name": rd.camera.name,
                        "site_id": rd.camera.site_id, "zone_id": rd.camera.zone_id,
                        "status": rd.status, "people": rd.people, "counted": rd.counted,
                        "last_at": rd.last_at, "error": rd.error, "fps": rd.fps,
                        "dropped": rd.dropped, "ins": rd.ins, "outs": rd.outs, "areas": areas})
    return {"at": iso(clock.now()), "sites": sites, "cameras": cameras,
            "alerts": list_alerts(db, active_only=True, limit=50),
            "thresholds": {"notice": th.notice, "warning": th.warning, "critical": th.critical}}
