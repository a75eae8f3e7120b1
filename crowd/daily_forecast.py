"""Visitors a day for the next 7 days: statsforecast's AutoETS on holiday-adjusted history,
with the tickets already sold as a floor. Pure: plain inputs, no database, no clock.

Why this shape: a weekly exponential-smoothing model follows the level and the weekday
pattern well but cannot know that 1 October is coming, and Chinese holidays move (春节,
清明, 端午, 中秋 follow the lunisolar calendar; make-up working weekends come with them). So
the holiday effects are estimated first, by least squares on the log of visitors together
with weekday, yearly (Fourier) and trend terms, taken out of the history, the smoothing
model is fitted to what is left, and the effects of the coming days' holidays are put
back. Tickets already sold for a day are a floor (most holders come), and a day cannot
exceed its daily capacity (sales stop there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

import numpy as np

from .holiday_calendar import KINDS, DayType, day_type

HORIZON_DAYS = 7
MIN_HISTORY_DAYS = 56
TRAIN_DAYS = 730            # two years: enough for every holiday twice, fits in ~1 s
LEVEL = 80                  # the band: statsforecast's 80% prediction interval


@dataclass(frozen=True)
class DailyForecast:
    days: list              # list[date]
    mean: list              # expected visitors
    low: list
    high: list
    booked: list            # tickets sold so far for each day
    holiday: list           # holiday kind or None, for the chart's labels
    model: str

    def to_json(self) -> dict:
        return {"model": self.model, "level": LEVEL, "days": [
            {"date": d.isoformat(), "mean": round(m), "low": round(lo), "high": round(hi),
             "booked": b, "holiday": h}
            for d, m, lo, hi, b, h in zip(self.days, self.mean, self.low, self.high,
                                          self.booked, self.holiday)]}


def holiday_columns(types: Sequence[DayType]) -> np.ndarray:
    """One column per holiday kind and part of its break (first two days, the rest: the
    eve and first day of 春节 are quiet, Golden Week's first days are the busiest), and
    one for make-up working days."""
    cols = [[1.0 if t.holiday == k and (t.day_of_break <= 2) == early else 0.0
             for k in KINDS for early in (True, False)] + [1.0 if t.makeup_workday else 0.0]
            for t in types]
    return np.array(cols)


def _design(types: Sequence[DayType], origin: date) -> np.ndarray:
    n = len(types)
    weekday = np.zeros((n, 7))
    weekday[np.arange(n), [t.day.weekday() for t in types]] = 1.0
    doy = np.array([t.day.timetuple().tm_yday for t in types]) / 365.25 * 2 * math.pi
    yearly = np.column_stack([f(k * doy) for k in (1, 2, 3) for f in (np.sin, np.cos)])
    trend = np.array([(t.day - origin).days / 365.25 for t in types])[:, None]
    return np.column_stack([weekday, yearly, trend])


def forecast_daily(days: Sequence[date], visitors: Sequence[float], *,
                   booked: Sequence[int] = (), show_rate: float = 0.9,
                   daily_capacity: int | None = None,
                   horizon: int = HORIZON_DAYS) -> DailyForecast:
    """Visitors on each of the ``horizon`` days after ``days[-1]``; ``days`` must be
    consecutive. ``booked``: tickets sold so far for each coming day."""
    from statsforecast.models import AutoETS
    if len(days) < MIN_HISTORY_DAYS:
        raise ValueError(f"at least {MIN_HISTORY_DAYS} days of history are needed")
    if any(b - a != timedelta(days=1) for a, b in zip(days, days[1:])):
        raise ValueError("history days must be consecutive")
    days, y = list(days[-TRAIN_DAYS:]), np.asarray(visitors, dtype=float)[-TRAIN_DAYS:]
    future = [days[-1] + timedelta(days=i) for i in range(1, horizon + 1)]
    past_t, fut_t = [day_type(d) for d in days], [day_type(d) for d in future]
    hx, fx = holiday_columns(past_t), holiday_columns(fut_t)
    logy = np.log1p(np.maximum(y, 0))
    beta = np.linalg.lstsq(np.column_stack([hx, _design(past_t, days[0])]), logy,
                           rcond=None)[0][:hx.shape[1]]
    fit = AutoETS(season_length=7).forecast(y=logy - hx @ beta, h=horizon, level=[LEVEL])
    back = fx @ beta
    mean = np.expm1(fit["mean"] + back)
    low = np.expm1(fit[f"lo-{LEVEL}"] + back)
    high = np.expm1(fit[f"hi-{LEVEL}"] + back)
    booked = list(booked) + [0] * (horizon - len(booked))
    floor = np.array(booked[:horizon], dtype=float) * show_rate
    mean, low, high = (np.maximum(a, floor) for a in (mean, low, high))
    if daily_capacity:
        mean, low, high = (np.minimum(a, daily_capacity) for a in (mean, low, high))
    return DailyForecast(future, [float(v) for v in mean], [float(v) for v in low],
                         [float(v) for v in high], [int(b) for b in booked[:horizon]],
                         [t.holiday for t in fut_t], "statsforecast AutoETS(season 7) on "
                         "holiday-adjusted log visitors, bookings as floor")
