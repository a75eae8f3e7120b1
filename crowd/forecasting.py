"""The crowd forecast service: gathers a site's inputs (crowd.forecast_inputs), keeps the
learned models (relearned once a day), computes and stores the occupancy forecast (at
most every ``every_s`` seconds per site) and the day's 7-day forecast, and turns a
predicted crossing of the warning level into a predicted alert.

Called by crowd.services (alert evaluation, the API); takes its clock and settings as
values. A forecast that fails is logged and skipped: it must never stop live alerts.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from catalog import interface as catalog
from core.clock import iso
from core.errors import DomainError
from ticketing import interface as ticketing

from . import repo
from .daily_forecast import MIN_HISTORY_DAYS, TRAIN_DAYS, forecast_daily
from .forecast import (ArrivalModel, DwellModel, first_crossing, forecast_occupancy,
                       learn_arrivals, learn_dwell)
from .forecast_inputs import LiveInputs, SimulatedInputs
from .holiday_calendar import day_type

log = logging.getLogger("scenic.crowd")

LIKE_DAYS_BACK = 400                  # how far back to look for days of the same kind
# One computation of each kind at a time per process: many dashboards asking at once for
# a stale forecast (or the day's first 7-day fit) wait for one result instead of each
# fitting; the slow 7-day fit never holds up the 3-hour forecast of the alert evaluation.
_occupancy_lock = threading.Lock()
_daily_lock = threading.Lock()


@dataclass(frozen=True)
class ForecastSettings:
    warning: float = 0.8
    hysteresis: float = 0.05
    every_s: float = 60.0
    learn_days: int = 7
    predicted_pause: bool = False


def inputs_for(db, site_id: str, tz):
    src = repo.forecast_sources(db).get(site_id)
    if src is not None:
        return SimulatedInputs(site_id, int(src["seed"]), tz)
    return LiveInputs(db, site_id, tz)


# --- learned models ----------------------------------------------------------------------

def _arr(a) -> list:
    return [round(float(v), 6) for v in a]


def _dump(dwell: DwellModel, arrivals: ArrivalModel) -> dict:
    return {"dwell": {"survival": _arr(dwell.survival), "se": _arr(dwell.se),
                      "samples": dwell.samples, "completed": dwell.completed},
            "arrivals": {"offset_cdf": _arr(arrivals.offset_cdf), "show_rate": arrivals.show_rate,
                         "show_rate_sd": arrivals.show_rate_sd,
                         "booking_share": _arr(arrivals.booking_share),
                         "booking_share_sd": _arr(arrivals.booking_share_sd)}}


def _load(model: dict) -> tuple[DwellModel, ArrivalModel]:
    d, a = model["dwell"], model["arrivals"]
    return (DwellModel(np.array(d["survival"]), np.array(d["se"]), d["samples"], d["completed"]),
            ArrivalModel(np.array(a["offset_cdf"]), a["show_rate"], a["show_rate_sd"],
                         np.array(a["booking_share"]), np.array(a["booking_share_sd"])))


def _learn(db, site_id: str, inputs, today: date, learn_days: int, slot_minutes: float):
    past = [p for p in (inputs.past_day(today - timedelta(days=i))
                        for i in range(1, learn_days + 1)) if p is not None]
    like, holiday = [], day_type(today).holiday is not None
    for i in range(1, LIKE_DAYS_BACK if past else 0):
        if len(like) >= learn_days:
            break
        d = today - timedelta(days=i)
        if (day_type(d).holiday is not None) == holiday:
            p = inputs.past_day(d)
            if p is not None and p.sold:
                like.append(p)
    try:
        dwell = learn_dwell(np.concatenate([p.minutes for p in past]),
                            np.concatenate([p.exited for p in past]))
        arrivals = learn_arrivals(np.concatenate([p.offsets for p in past]),
                                  [(p.sold, p.used) for p in past if p.sold],
                                  [p.leads for p in like or past])
        return dwell, arrivals, "learned"
    except ValueError:
        # Too little history (a new site, a fresh install): the catalog's average visit (its
        # LB/T 034 t; a median of 0.9 t with the prior's spread makes the mean about t) and
        # arrivals spread over the slot, until there is.
        visit_hours = catalog.get_site(db, site_id).visit_hours
        return (DwellModel.lognormal(visit_hours * 60 * 0.9), ArrivalModel.prior(slot_minutes),
                "prior")


def models_for(db, site_id: str, inputs, now: datetime, settings: ForecastSettings,
               slot_minutes: float) -> tuple[DwellModel, ArrivalModel, str]:
    """The site's learned models for today, learned on first use each day."""
    today = now.date().isoformat()
    row = repo.forecast_model(db, site_id)
    if row is not None and row["learned_on"] == today:
        dwell, arrivals = _load(json.loads(row["model_json"]))
        return dwell, arrivals, row["basis"]
    dwell, arrivals, basis = _learn(db, site_id, inputs, now.date(), settings.learn_days,
                                    slot_minutes)
    repo.save_forecast_model(db, site_id, today, basis, _dump(dwell, arrivals), iso(now))
    return dwell, arrivals, basis


# --- the occupancy forecast ------------------------------------------------------------------

def compute(db, site_id: str, now: datetime, settings: ForecastSettings,
            camera_people: int | None = None) -> dict:
    """A fresh forecast record for a site (JSON-ready), stored as its latest."""
    tz = now.tzinfo
    inputs = inputs_for(db, site_id, tz)
    capacity = catalog.site_capacity(db, site_id).instant
    record = {"site_id": site_id, "at": iso(now), "source": inputs.source,
              "capacity": capacity, "warning_ratio": settings.warning,
              "occupancy": None, "crossing": None, "peak": None, "basis": None}
    today = inputs.today(now)
    t = now.timestamp()
    if today.close is None or t >= today.close or (today.open and t < today.open - 3 * 3600):
        repo.save_forecast(db, site_id, t, record)
        return record           # closed: nothing to forecast
    slot_minutes = (today.slots[0].end - today.slots[0].start) / 60 if today.slots else 60
    dwell, arrivals, basis = models_for(db, site_id, inputs, now, settings, slot_minutes)
    cam = today.camera_people if inputs.source == "simulated" else camera_people
    fc = forecast_occupancy(t, slots=today.slots, inside_entries=today.inside_entries,
                            dwell=dwell, arrivals=arrivals, capacity=capacity,
                            close=today.close, camera_people=cam, today_visits=today.visits)
    hit = first_crossing(fc, settings.warning)
    occ = fc.to_json(tz)
    occ["history"] = {"times": [datetime.fromtimestamp(x, tz).isoformat(timespec="minutes")
                                for x in today.history[0]], "people": today.history[1]}
    record.update(occupancy=occ, peak=round(float(fc.per_minute.max()), 1), basis=basis,
                  dwell_median_minutes=dwell.median_minutes)
    if hit is not None:
        record["crossing"] = {"at": iso(datetime.fromtimestamp(hit.at, tz)),
                              "minutes_ahead": hit.minutes_ahead, "ratio": hit.ratio,
                              "people": round(hit.people), "predicted": True}
    repo.save_forecast(db, site_id, t, record)
    return record


def latest(db, site_id: str, now: datetime, settings: ForecastSettings,
           camera_people: int | None = None) -> dict:
    """The stored forecast if it is fresh enough, else a new one."""
    def fresh():
        row = repo.latest_forecast(db, site_id)
        if row is not None and now.timestamp() - row["computed_ts"] < settings.every_s:
            return json.loads(row["forecast_json"])
        return None
    found = fresh()
    if found is not None:
        return found
    with _occupancy_lock:
        return fresh() or compute(db, site_id, now, settings, camera_people)


def refresh(db, now: datetime, settings: ForecastSettings,
            camera_people: dict[str, int | None]) -> dict[str, dict]:
    """Every site's forecast, recomputed where due (outside any write transaction)."""
    out = {}
    for site in catalog.list_sites(db):
        try:
            out[site.id] = latest(db, site.id, now, settings, camera_people.get(site.id))
        except Exception:  # noqa: BLE001 - a broken forecast must not stop the live alerts
            log.exception("forecast failed for %s", site.id,
                          extra={"event": "crowd_forecast_failed"})
    return out


def stored(db, now: datetime, settings: ForecastSettings) -> dict[str, dict]:
    """The stored forecasts recent enough to act on (a few refresh intervals old at most):
    an old prediction neither opens nor resolves an alert."""
    limit = max(300.0, 5 * settings.every_s)
    out = {}
    for site in catalog.list_sites(db):
        row = repo.latest_forecast(db, site.id)
        if row is not None and now.timestamp() - row["computed_ts"] <= limit:
            out[site.id] = json.loads(row["forecast_json"])
    return out


# --- the 7-day forecast --------------------------------------------------------------------

def daily(db, site_id: str, now: datetime, show_rate: float = 0.9) -> dict | None:
    """The next 7 days' visitors for a site, computed once a day (statsforecast takes a
    second or two); None while there are fewer than 8 weeks of history."""
    today = now.date()
    row = repo.daily_forecast(db, site_id, today.isoformat())
    if row is not None:
        return json.loads(row["forecast_json"])
    with _daily_lock:
        row = repo.daily_forecast(db, site_id, today.isoformat())
        if row is not None:
            return json.loads(row["forecast_json"])
        return _daily(db, site_id, now, show_rate)


def _daily(db, site_id: str, now: datetime, show_rate: float) -> dict | None:
    today = now.date()
    inputs = inputs_for(db, site_id, now.tzinfo)
    days, visitors = inputs.daily_history(today - timedelta(days=TRAIN_DAYS),
                                          today - timedelta(days=1))
    if len(days) < MIN_HISTORY_DAYS:
        return None
    booked = inputs.booked_ahead(today, 7, now)
    capacity = catalog.site_capacity(db, site_id).daily
    # Forecast from yesterday: today is one of the seven days.
    fc = forecast_daily(days, visitors, booked=booked, show_rate=show_rate,
                        daily_capacity=capacity)
    out = dict(fc.to_json(), site_id=site_id, source=inputs.source, capacity=capacity)
    repo.save_daily_forecast(db, site_id, today.isoformat(), out)
    return out


# --- predicted alerts -------------------------------------------------------------------------

def predicted_alerts(db, records: dict[str, dict], live_levels: dict[str, str], *,
                     settings: ForecastSettings, may_pause, clock, at: str,
                     on_alert=None) -> list[dict]:
    """Inside the evaluation's transaction: open, update or resolve each site's predicted
    alert from its latest forecast. Open while a crossing of the warning level is
    predicted and the live level is below it; kept (hysteresis) while the forecast's peak
    stays within ``hysteresis`` of the mark; resolved when the live alert takes over or the
    prediction fades. Sales pause on a prediction only with ``predicted_pause``.
    ``on_alert(alert_id, event)`` hears each change (the MQTT outbox)."""
    changes = []
    on_alert = on_alert or (lambda _id, _event: None)
    for site_id, rec in records.items():
        active = repo.active_alert(db, "predicted", "site", site_id)
        live_at_warning = live_levels.get(site_id) in ("warning", "critical")
        hit, cap = rec.get("crossing"), rec.get("capacity")
        peak = rec.get("peak")
        keep = (active is not None and peak is not None and cap and not live_at_warning
                and peak >= (settings.warning - settings.hysteresis) * cap)
        if hit is not None and not live_at_warning:
            if active is None:
                alert_id = repo.open_alert(
                    db, kind="predicted", scope="site", target_id=site_id, site_id=site_id,
                    level="warning", people=hit["people"], capacity=cap, at=at,
                    expected_at=hit["at"], detail=f"{rec['source']}: "
                    f"{math.floor(100 * hit['ratio'])}% expected at {hit['at'][11:16]}")
                on_alert(alert_id, "raised")
                changes.append({"scope": "site", "target_id": site_id, "to": "predicted"})
                _pause(db, site_id, hit, settings, may_pause, clock)
            elif active["expected_at"] != hit["at"]:
                repo.set_alert_expected(db, active["id"], expected_at=hit["at"],
                                        people=hit["people"], at=at)
                on_alert(active["id"], "updated")
        elif active is not None and not keep:
            repo.resolve_alert(db, active["id"], at)
            on_alert(active["id"], "cleared")
            changes.append({"scope": "site", "target_id": site_id, "to": "unpredicted"})
            # When the live level took over, its own rule keeps sales paused; when the
            # prediction faded (live level below warning), the pause is lifted.
            if settings.predicted_pause and not live_at_warning:
                _resume(db, site_id, clock)
    return changes


def forecast_reason(ratio: float, at: str) -> str:
    """The forecast's pause reason, in both languages like the live monitor's."""
    pct, hhmm = round(100 * ratio), at[11:16]
    return (f"人流预测：预计 {hhmm} 达到容量的 {pct}% / "
            f"crowd forecast: {pct}% of capacity expected at {hhmm}")


def _pause(db, site_id, hit, settings: ForecastSettings, may_pause, clock) -> None:
    if not (settings.predicted_pause and may_pause(site_id)):
        return
    try:
        # Ticketing keeps one pause for the monitor (any other actor counts as staff, whose
        # resume lifts every pause), so the forecast pauses as the monitor.
        ticketing.pause_sales(db, site_id=site_id, actor=ticketing.MONITOR, clock=clock,
                              reason=forecast_reason(hit["ratio"], hit["at"]))
    except DomainError as exc:
        log.error("pausing sales on a forecast failed: %s", exc.code,
                  extra={"event": "crowd_pause_failed"})


def _resume(db, site_id, clock) -> None:
    try:
        ticketing.resume_sales(db, site_id=site_id, actor=ticketing.MONITOR, clock=clock)
    except DomainError as exc:
        log.error("resuming sales after a forecast failed: %s", exc.code,
                  extra={"event": "crowd_pause_failed"})
