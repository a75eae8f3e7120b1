"""Occupancy and visitor forecasts: pure functions over plain inputs (no database, no Flask).

* ``forecast_occupancy``: people inside a site over the next 3 hours in 15-minute steps, from
  what the gates and ticketing already know: the entry times of the people inside now, the
  tickets booked per slot and not used yet (each arrives with the learned show rate and
  arrival-time distribution around its slot), sales still to come (the learned booking
  curve), and exits from the dwell distribution learned from entry->exit pairs; camera
  counts step in where they see more people than the gates account for, or where there
  are no gate figures. A band comes from the uncertainty of arrivals (show rate, booking
  curve) and of dwell, plus the chance spread of who comes and who leaves.
* ``first_crossing``: the first predicted crossing of a level ("预计 14:20 达到 80%").
* ``learn_dwell``, ``learn_arrivals``: the models above, learned from past days.
* ``forecast_daily`` (in ``crowd.daily_forecast``): visitors a day for the next 7 days.

Times are POSIX seconds; durations are minutes. Nothing here reads a clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

STEP_MINUTES = 15
HORIZON_MINUTES = 180
Z90 = 1.645                   # the band is a nominal 90% interval
MAX_DWELL_MINUTES = 1440
LEAD_STEP = 15                # booking curve resolution, minutes
LEAD_MIN, LEAD_MAX = -240, 7 * 1440
OFFSET_MIN, OFFSET_MAX = -120, 420   # arrival offsets kept, minutes from slot start
SHOW_PRIOR_WEIGHT = 300       # tickets' worth of weight the learned show rate has today
DWELL_STRETCH = 0.10          # day-to-day stretch of visit lengths in the band (assumption)
STRETCH_GRID = np.exp(np.linspace(math.log(0.6), math.log(1.6), 49))
STRETCH_PRIOR_SD = 0.15       # of log(stretch): visits rarely differ by more than ~30%


@dataclass(frozen=True)
class SlotBookings:
    start: float          # POSIX seconds
    end: float
    quota: int | None     # tickets the slot may sell in all (None: unknown)
    sold: int             # valid tickets sold so far
    used: int             # of those, how many have entered


# --- dwell ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DwellModel:
    """Survival of a visit: S[m] = share of visitors still inside m minutes after entry."""
    survival: np.ndarray
    se: np.ndarray
    samples: int
    completed: int

    @property
    def median_minutes(self) -> float:
        below = np.nonzero(self.survival <= 0.5)[0]
        return float(below[0]) if len(below) else float(len(self.survival))

    @property
    def mean_minutes(self) -> float:
        return float(self.survival.sum())

    @classmethod
    def lognormal(cls, median_minutes: float, sigma: float = 0.4) -> "DwellModel":
        """A prior for a site with no history yet (e.g. from the catalog's visit hours)."""
        m = np.arange(MAX_DWELL_MINUTES + 1)
        z = (np.log(np.maximum(m, 1e-9)) - math.log(median_minutes)) / (sigma * math.sqrt(2))
        surv = np.array([0.5 * math.erfc(v) for v in z])
        return cls(surv, np.zeros_like(surv), 0, 0)

    def stretched(self, factor: float) -> "DwellModel":
        """Visits ``factor`` times as long (for the band)."""
        m = np.arange(len(self.survival))
        surv = np.interp(m / factor, m, self.survival)
        return DwellModel(surv, self.se, self.samples, self.completed)


def learn_dwell(minutes: Sequence[float], exited: Sequence[bool], *,
                max_minutes: int = MAX_DWELL_MINUTES) -> DwellModel:
    """Kaplan-Meier survival of visit length from entry->exit pairs; visits without an exit
    yet (still inside, or checked out at closing) are right-censored, so an early-day
    sample of short visits does not pass for the whole distribution."""
    from statsmodels.duration.survfunc import SurvfuncRight
    t = np.clip(np.asarray(minutes, dtype=float), 0, max_minutes)
    status = np.asarray(exited, dtype=int)
    if status.sum() < 30:
        raise ValueError("at least 30 completed visits are needed to learn dwell times")
    km = SurvfuncRight(t, status)
    grid = np.arange(max_minutes + 1)
    idx = np.searchsorted(km.surv_times, grid, side="right") - 1
    surv = np.where(idx >= 0, km.surv_prob[np.maximum(idx, 0)], 1.0)
    se = np.where(idx >= 0, km.surv_prob_se[np.maximum(idx, 0)], 0.0)
    last = float(km.surv_times[-1])
    if last < max_minutes and surv[int(last)] > 0:
        # Beyond the longest observed visit: continue with the hazard of the last hour.
        s_last = surv[int(last)]
        s_prev = surv[max(int(last) - 60, 0)]
        rate = max(math.log(s_prev / s_last) / 60 if s_last < s_prev else 0.0, 1 / 120)
        tail = grid > last
        surv[tail] = s_last * np.exp(-rate * (grid[tail] - last))
    return DwellModel(surv, np.nan_to_num(se), int(len(t)), int(status.sum()))


def fit_stretch(dwell: DwellModel, minutes: Sequence[float], exited: Sequence[bool]) -> float:
    """How much longer (>1) or shorter (<1) today's visits are than the learned ones: the
    maximum-likelihood stretch of the learned survival curve over today's entry->exit
    pairs so far (visits still going are censored), with a prior that keeps it near 1
    until there is evidence (heat, rain and crowding change visit lengths day by day)."""
    t = np.clip(np.asarray(minutes, dtype=float), 0, MAX_DWELL_MINUTES - 1).astype(int)
    done = np.asarray(exited, dtype=bool)
    if done.sum() < 50:
        return 1.0
    n = MAX_DWELL_MINUTES + 1
    died = np.bincount(t[done], minlength=n)
    alive = np.bincount(t[~done], minlength=n)
    m = np.arange(n)
    best, best_ll = 1.0, -np.inf
    for c in STRETCH_GRID:
        surv = np.interp(m / c, m, dwell.survival)
        dens = np.maximum(surv - np.interp((m + 1) / c, m, dwell.survival), 1e-12)
        ll = (died * np.log(dens)).sum() + (alive * np.log(np.maximum(surv, 1e-12))).sum() \
            - 0.5 * (math.log(c) / STRETCH_PRIOR_SD) ** 2
        if ll > best_ll:
            best, best_ll = float(c), ll
    return best


# --- arrivals -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ArrivalModel:
    """When booked visitors come, whether they come, and how many tickets are still to sell."""
    offset_cdf: np.ndarray     # F at offsets OFFSET_MIN..OFFSET_MAX minutes from slot start
    show_rate: float
    show_rate_sd: float        # spread between days (weather, mostly)
    booking_share: np.ndarray  # share of a slot's final sales made by lead L (LEAD grid)
    booking_share_sd: np.ndarray

    def cdf(self, offset: np.ndarray) -> np.ndarray:
        grid = np.arange(OFFSET_MIN, OFFSET_MAX + 1)
        return np.interp(offset, grid, self.offset_cdf, left=0.0, right=1.0)

    def share(self, lead: float, shift: float = 0.0) -> float:
        grid = np.arange(LEAD_MIN, LEAD_MAX + 1, LEAD_STEP)
        s = np.interp(lead, grid, self.booking_share + shift * self.booking_share_sd)
        return float(np.clip(s, 0.05, 1.0))

    @classmethod
    def prior(cls, slot_minutes: float, show_rate: float = 0.92) -> "ArrivalModel":
        """No history: arrivals spread over the slot, no further sales expected."""
        grid = np.arange(OFFSET_MIN, OFFSET_MAX + 1)
        cdf = np.clip((grid + 15) / (slot_minutes + 30), 0, 1)
        n = len(np.arange(LEAD_MIN, LEAD_MAX + 1, LEAD_STEP))
        return cls(cdf, show_rate, 0.05, np.ones(n), np.zeros(n))


def learn_arrivals(offsets: Sequence[float], days: Sequence[tuple[int, int]],
                   leads: Sequence[Sequence[float]]) -> ArrivalModel:
    """From past days: ``offsets`` (entry minus slot start, minutes, every entry),
    ``days`` [(sold, used)] per day (show rate), ``leads`` per day the minutes each ticket
    was sold before its slot started (booking curve)."""
    off = np.clip(np.asarray(offsets, dtype=float), OFFSET_MIN, OFFSET_MAX)
    if len(off) < 30 or not days:
        raise ValueError("at least 30 entries and one past day are needed to learn arrivals")
    grid = np.arange(OFFSET_MIN, OFFSET_MAX + 1)
    cdf = np.searchsorted(np.sort(off), grid, side="right") / len(off)
    rates = np.array([u / s for s, u in days if s > 0])
    sold, used = sum(s for s, _ in days), sum(u for _, u in days)
    show = used / sold if sold else 0.92
    lgrid = np.arange(LEAD_MIN, LEAD_MAX + 1, LEAD_STEP)
    shares = []
    for day in leads:
        d = np.sort(np.asarray(day, dtype=float))
        if len(d):
            shares.append(1 - np.searchsorted(d, lgrid, side="left") / len(d))
    shares = np.array(shares) if shares else np.ones((1, len(lgrid)))
    return ArrivalModel(cdf, float(show), float(rates.std()) if len(rates) > 1 else 0.05,
                        shares.mean(axis=0), shares.std(axis=0))


# --- the occupancy forecast ------------------------------------------------------------------

@dataclass(frozen=True)
class PredictedCrossing:
    at: float              # POSIX seconds
    minutes_ahead: int
    ratio: float           # the level's mark, e.g. 0.8
    people: float
    predicted: bool = True


@dataclass(frozen=True)
class OccupancyForecast:
    now: float
    capacity: int | None
    times: list            # POSIX seconds: now, now + 15 min, ... now + 3 h
    mean: list             # expected people inside
    low: list              # band (nominal 90%)
    high: list
    start_people: int      # the people-inside figure the forecast starts from
    start_source: str      # "gates", "cameras" or "gates+cameras"
    show_rate: float       # today's show rate after the day's evidence
    per_minute: np.ndarray  # expected people, minute by minute (for crossings)

    def to_json(self, tz) -> dict:
        from datetime import datetime
        iso = [datetime.fromtimestamp(t, tz).isoformat(timespec="minutes") for t in self.times]
        return {"at": iso[0], "capacity": self.capacity, "step_minutes": STEP_MINUTES,
                "times": iso, "mean": [round(v, 1) for v in self.mean],
                "low": [round(v, 1) for v in self.low], "high": [round(v, 1) for v in self.high],
                "start_people": self.start_people, "start_source": self.start_source,
                "show_rate": round(self.show_rate, 3)}


def first_crossing(fc: OccupancyForecast, ratio: float) -> PredictedCrossing | None:
    """The first minute the expected occupancy reaches ``ratio`` of capacity, if it is below
    that now (above it, the live alert is already in charge)."""
    if not fc.capacity:
        return None
    mark = ratio * fc.capacity
    pm = fc.per_minute
    if pm[0] >= mark:
        return None
    over = np.nonzero(pm >= mark)[0]
    if not len(over):
        return None
    k = int(over[0])
    return PredictedCrossing(fc.now + 60 * k, k, ratio, float(pm[k]))


def _today_show_rate(arrivals: ArrivalModel, slots, now: float) -> float:
    """The learned show rate, updated with today's slots (a beta-binomial update: rain
    that keeps booked visitors away shows in the first slots)."""
    trials = used = 0.0
    for s in slots:
        o = (now - s.start) / 60
        if o > 0 and s.sold:
            trials += s.sold * float(arrivals.cdf(np.array([o]))[0])
            used += s.used
    w = SHOW_PRIOR_WEIGHT
    return float(np.clip((w * arrivals.show_rate + used) / (w + trials), 0.2, 1.0))


def _arrivals(slots, arrivals: ArrivalModel, now: float, h: int, p: float,
              share_shift: float, close: float | None) -> np.ndarray:
    """Expected entries in each minute (now, now+h]."""
    a = np.zeros(h + 1)
    k = np.arange(h + 1)
    for s in slots:
        o_now = (now - s.start) / 60
        f_now = float(arrivals.cdf(np.array([o_now]))[0])
        pending = max(s.sold - s.used, 0)
        extra = 0.0
        lead = -o_now
        share = arrivals.share(lead, share_shift)
        if share < 1.0:
            extra = s.sold * (1 / share - 1)
            if s.quota is not None:
                extra = min(extra, max(s.quota - s.sold, 0))
        cdf = arrivals.cdf(o_now + k)
        dens = np.diff(cdf, prepend=cdf[0])
        if pending:
            a += pending * p * dens / max(1 - p * f_now, 1e-6)
        if extra > 0 and f_now < 1:
            a += extra * p * dens / max(1 - f_now, 1e-6)
    if close is not None:
        a[now + 60 * k >= close] = 0.0
    a[0] = 0.0
    return a


def _mean_var(ages_hist, unknown, arr, surv: np.ndarray, h: int):
    k = np.arange(h + 1)
    pad = np.concatenate([surv, np.full(h + 1, surv[-1])])
    ages = np.nonzero(ages_hist)[0]
    if len(ages):
        c = ages_hist[ages][:, None]
        s0 = np.maximum(pad[ages], 1e-9)[:, None]
        q = pad[ages[:, None] + k[None, :]] / s0
        q = np.clip(q, 0, 1)
        old, old_var = (c * q).sum(0), (c * q * (1 - q)).sum(0)
    else:
        old = old_var = np.zeros(h + 1)
    total = max(surv.sum(), 1e-9)
    resid = np.clip(np.cumsum(surv[::-1])[::-1][np.minimum(k, len(surv) - 1)] / total, 0, 1)
    unk, unk_var = unknown * resid, unknown * resid * (1 - resid)
    new = np.convolve(arr, pad[:h + 1])[:h + 1]
    return old + unk + new, old_var + unk_var + new


def forecast_occupancy(now: float, *, slots: Sequence[SlotBookings],
                       inside_entries: Sequence[float] | None, dwell: DwellModel,
                       arrivals: ArrivalModel, capacity: int | None,
                       close: float | None = None, camera_people: int | None = None,
                       camera_coverage: float | None = None,
                       today_visits: tuple[Sequence[float], Sequence[bool]] | None = None,
                       horizon_minutes: int = HORIZON_MINUTES,
                       step_minutes: int = STEP_MINUTES) -> OccupancyForecast:
    """Expected people inside from now to ``horizon_minutes`` ahead, with a band.

    ``inside_entries``: entry times of everyone the gates count inside now (None when the
    site has no gate figures); ``close``: when everyone is checked out (None: open beyond
    the horizon); ``today_visits``: today's entry->exit pairs so far (minutes, exited?),
    which stretch the learned dwell to today's pace. Cameras count a part of a site: when their raw count is above the gates'
    figure, the excess is people the gates miss; without gates, cameras over their
    coverage are the whole estimate. Those people of unknown entry time leave at the rate
    of a visitor picked at random inside (the dwell distribution's residual life)."""
    h = int(horizon_minutes)
    if today_visits is not None:
        dwell = dwell.stretched(fit_stretch(dwell, *today_visits))
    entries = None if inside_entries is None else np.asarray(inside_entries, dtype=float)
    gates = None if entries is None else len(entries)
    unknown = 0.0
    if gates is None:
        start_source = "cameras"
        cover = camera_coverage or 1.0
        unknown = (camera_people or 0) / cover
        start = int(round(unknown))
    else:
        start_source = "gates"
        start = gates
        if camera_people is not None and camera_people > gates:
            unknown = float(camera_people - gates)
            start, start_source = camera_people, "gates+cameras"
    ages_hist = np.zeros(MAX_DWELL_MINUTES + 1)
    if entries is not None and len(entries):
        ages = np.clip(((now - entries) // 60).astype(int), 0, MAX_DWELL_MINUTES)
        ages_hist = np.bincount(ages, minlength=MAX_DWELL_MINUTES + 1).astype(float)
    p = _today_show_rate(arrivals, slots, now)
    p_sd = arrivals.show_rate_sd * math.sqrt(SHOW_PRIOR_WEIGHT / (SHOW_PRIOR_WEIGHT + sum(
        s.used for s in slots)))
    arr = _arrivals(slots, arrivals, now, h, p, 0.0, close)
    mean, var = _mean_var(ages_hist, unknown, arr, dwell.survival, h)
    lo_arr = _arrivals(slots, arrivals, now, h, max(p - Z90 * p_sd, 0.05), Z90, close)
    hi_arr = _arrivals(slots, arrivals, now, h, min(p + Z90 * p_sd, 1.0), -Z90, close)
    lo_mean, _ = _mean_var(ages_hist, unknown, lo_arr,
                           dwell.stretched(1 / (1 + DWELL_STRETCH)).survival, h)
    hi_mean, _ = _mean_var(ages_hist, unknown, hi_arr,
                           dwell.stretched(1 + DWELL_STRETCH).survival, h)
    # Independent sources of spread add in quadrature: the model's (show rate, booking
    # curve, dwell: the scenarios) and chance (who of the booked comes, who leaves when).
    chance = Z90 * np.sqrt(var)
    low = mean - np.sqrt(np.maximum(mean - lo_mean, 0) ** 2 + chance ** 2)
    high = mean + np.sqrt(np.maximum(hi_mean - mean, 0) ** 2 + chance ** 2)
    k = np.arange(h + 1)
    if close is not None:
        shut = now + 60 * k >= close
        mean[shut] = low[shut] = high[shut] = 0.0
    mean[0] = low[0] = high[0] = float(start)
    steps = list(range(0, h + 1, step_minutes))
    return OccupancyForecast(
        now, capacity, [now + 60 * i for i in steps], [float(mean[i]) for i in steps],
        [float(max(low[i], 0.0)) for i in steps], [float(high[i]) for i in steps],
        int(start), start_source, p, mean)
