"""Backtests of the occupancy forecast on simulated days (used by the bench and the tests).

For a day, forecasts are made every ``every`` minutes from what the system knew then
(``SimDay.observe``) and compared with what really happened (``SimDay.inside``), beside
two naive forecasts: "same as now" (the occupancy figure at the forecast's time) and
"same time last week" (the figure seven days before, at the target time).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .forecast import (ArrivalModel, DwellModel, OccupancyForecast, SlotBookings,
                       first_crossing, forecast_occupancy)
from .simulate import SimDay

MIN_SHARE_OF_PEAK = 0.1    # MAPE is scored where truth >= this share of the day's peak
MIN_PEOPLE = 50            # ... and at least this many people (MAPE explodes near zero)


def forecast_at(day: SimDay, minute: float, dwell: DwellModel,
                arrivals: ArrivalModel) -> OccupancyForecast:
    """The forecast the system would have made at ``minute`` of ``day``."""
    ob = day.observe(minute)
    return forecast_occupancy(
        ob.now, slots=[SlotBookings(*s) for s in ob.slots], inside_entries=ob.inside_entries,
        dwell=dwell, arrivals=arrivals, capacity=day.capacity, close=ob.close,
        camera_people=ob.camera_people, today_visits=ob.visits)


def shown(day: SimDay, minute: int) -> int:
    """The occupancy figure the dashboard shows: the higher of gates and cameras."""
    return max(day.gate_inside(minute), int(day.camera[min(max(minute, 0), 1439)]))


@dataclass
class Scores:
    """Absolute percentage errors per horizon (minutes) for each forecaster."""
    ours: dict = field(default_factory=dict)
    now: dict = field(default_factory=dict)
    week: dict = field(default_factory=dict)
    in_band: dict = field(default_factory=dict)
    seconds: list = field(default_factory=list)

    def add(self, other: "Scores") -> None:
        for name in ("ours", "now", "week", "in_band"):
            mine = getattr(self, name)
            for h, v in getattr(other, name).items():
                mine.setdefault(h, []).extend(v)
        self.seconds.extend(other.seconds)

    def mape(self, name: str, h: int) -> float:
        v = getattr(self, name).get(h, [])
        return 100 * float(np.mean(v)) if v else float("nan")


def backtest_day(day: SimDay, last_week: SimDay, dwell: DwellModel, arrivals: ArrivalModel,
                 *, horizons=(60, 180), every: int = 15, clock=None) -> Scores:
    """Forecasts every ``every`` minutes from an hour after opening; scored at each
    horizon where the target is before closing and truth is not near zero."""
    out = Scores()
    h = day.hours
    floor = max(MIN_PEOPLE, MIN_SHARE_OF_PEAK * day.inside.max())
    for m in range(h.open_min + 60, h.close_min - min(horizons), every):
        t0 = clock() if clock else 0.0
        fc = forecast_at(day, m, dwell, arrivals)
        if clock:
            out.seconds.append(clock() - t0)
        now = shown(day, m)
        for hz in horizons:
            target = m + hz
            if target >= min(h.close_min, 1440):
                continue
            truth = float(day.inside[target])
            if truth < floor:
                continue
            i = int(hz * 60 // (fc.times[1] - fc.times[0]))
            out.ours.setdefault(hz, []).append(abs(fc.mean[i] - truth) / truth)
            out.now.setdefault(hz, []).append(abs(now - truth) / truth)
            out.week.setdefault(hz, []).append(abs(shown(last_week, target) - truth) / truth)
            out.in_band.setdefault(hz, []).append(fc.low[i] <= truth <= fc.high[i])
    return out


@dataclass(frozen=True)
class AlertLead:
    crossed_at: int | None     # minute the truth first reached the level
    fired_at: int | None       # minute the predicted alert first fired
    predicted_for: int | None  # the crossing minute the forecast named when it fired

    @property
    def lead(self) -> int | None:
        if self.crossed_at is None or self.fired_at is None:
            return None
        return self.crossed_at - self.fired_at


def alert_lead(day: SimDay, dwell: DwellModel, arrivals: ArrivalModel, *, ratio: float = 0.8,
               every: int = 5) -> AlertLead:
    """When the early alert for ``ratio`` of capacity fires on ``day``, against when the
    occupancy really gets there. Forecasts run every ``every`` minutes from opening until
    the crossing (or closing); an alert that fires on a day that never crosses is a false
    alarm (``crossed_at`` None, ``fired_at`` set)."""
    mark = ratio * day.capacity
    over = np.nonzero(day.inside >= mark)[0]
    crossed = int(over[0]) if len(over) else None
    end = crossed if crossed is not None else day.hours.close_min
    for m in range(day.hours.open_min, end, every):
        if shown(day, m) >= mark:
            break  # the live alert takes over; no prediction needed any more
        hit = first_crossing(forecast_at(day, m, dwell, arrivals), ratio)
        if hit is not None:
            return AlertLead(crossed, m, m + hit.minutes_ahead)
    return AlertLead(crossed, None, None)
