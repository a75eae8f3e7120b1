"""Forecast benchmark: backtest of the occupancy and visitor forecasts on simulated days.

For every site and every day of the test span, the forecast's models are learned from the
seven days before (dwell, arrivals, show rate; the booking curve from the last seven days
of the same kind, holiday or not), then forecasts are made every 15 minutes from what the
system knew at that moment (crowd.simulate.SimDay.observe) and compared with what really
happened, beside two naive forecasts made in the same run:

* "same as now": the occupancy figure at the time of the forecast;
* "same time last week": the figure seven days earlier at the target time.

Printed: mean absolute percentage error (MAPE) at 1 h and 3 h, the band's coverage, the
lead time of the early alert at 80 % of capacity (forecasts every 5 minutes) with false
alarms, and the 7-day visitor forecast against "same weekday last week".

    .venv/bin/python bench/forecast_bench.py [--sites kongmiao,kongfu,...] \
        [--start 2025-09-22] [--days 21] [--seed 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from crowd import simulate as sim  # noqa: E402
from crowd.backtest import Scores, alert_lead, backtest_day  # noqa: E402


class Days:
    """Simulated days, each made once."""

    def __init__(self, seed: int):
        self.seed, self.cache = seed, {}

    def get(self, site: str, day: date) -> sim.SimDay:
        key = (site, day)
        if key not in self.cache:
            self.cache[key] = sim.simulate_day(site, day, self.seed)
        return self.cache[key]

    def models(self, site: str, day: date):
        past = [self.get(site, day - timedelta(days=i)) for i in range(1, 8)]
        like = [self.get(site, d.day) for d in sim.past_days(site, day, self.seed, like=True)]
        return sim.learn_from(past, like)


def occupancy(args, days: Days, span: list[date]) -> None:
    total = Scores()
    print(f"\nOccupancy forecast, MAPE % (scored where truth >= max(50 people, 10 % of the "
          f"day's peak)); the band is nominally 90 %")
    print(f"{'site':9} {'h':>3} {'points':>7} {'ours':>7} {'same-as-now':>12} "
          f"{'last-week':>10} {'ours/best naive':>16} {'band cover':>11}")
    leads = []
    for site in args.sites:
        scores = Scores()
        for d in span:
            dwell, arrivals = days.models(site, d)
            today = days.get(site, d)
            scores.add(backtest_day(today, days.get(site, d - timedelta(days=7)), dwell,
                                    arrivals, clock=time.perf_counter))
            lead = alert_lead(today, dwell, arrivals)
            if lead.crossed_at is not None or lead.fired_at is not None:
                leads.append((site, d, lead, today.inside.max() / today.capacity))
        _rows(site, scores)
        total.add(scores)
    _rows("all", total)
    ms = [1000 * s for s in total.seconds]
    print(f"one forecast (3 h, per minute, with band): median {statistics.median(ms):.1f} ms, "
          f"p95 {np.percentile(ms, 95):.1f} ms over {len(ms)} forecasts")
    _leads(leads, len(args.sites) * len(span))


def _rows(site: str, s: Scores) -> None:
    for h in (60, 180):
        ours, now, week = s.mape("ours", h), s.mape("now", h), s.mape("week", h)
        cover = 100 * float(np.mean(s.in_band.get(h, [np.nan])))
        print(f"{site:9} {h // 60:>2}h {len(s.ours.get(h, [])):>7} {ours:>7.1f} {now:>12.1f} "
              f"{week:>10.1f} {ours / min(now, week):>16.2f} {cover:>10.0f}%")


def _leads(leads, site_days: int) -> None:
    print("\nEarly alert at 80 % of instantaneous capacity (forecasts every 5 min):")
    print(f"{'site':9} {'day':10} {'crossed':>8} {'fired':>6} {'lead min':>9} {'named':>6} "
          f"{'day peak':>9}")
    hm = (lambda m: "-" if m is None else f"{m // 60:02d}:{m % 60:02d}")
    got, missed, false = [], 0, 0
    for site, d, ld, peak in leads:
        print(f"{site:9} {d.isoformat():10} {hm(ld.crossed_at):>8} {hm(ld.fired_at):>6} "
              f"{'-' if ld.lead is None else ld.lead:>9} {hm(ld.predicted_for):>6} "
              f"{100 * peak:>8.0f}%")
        if ld.crossed_at is None:
            false += 1
        elif ld.lead is None:
            missed += 1
        else:
            got.append(ld.lead)
    crossings = len(got) + missed
    if got:
        print(f"lead time: median {statistics.median(got):.0f} min, min {min(got)}, max "
              f"{max(got)} over {len(got)} of {crossings} crossings (missed {missed}); "
              f"false alarms on {false} of {site_days - crossings} site-days without one")
    else:
        print(f"no crossing in the span ({false} false alarms)")


def daily(args, days: Days, span: list[date]) -> None:
    from crowd.daily_forecast import forecast_daily
    print("\n7-day visitor forecast (statsforecast AutoETS on holiday-adjusted history, "
          "bookings as floor) vs same weekday last week, MAPE %:")
    print(f"{'site':9} {'origins':>8} {'ours':>7} {'last-week':>10} {'fit s':>6}")
    for site in args.sites:
        model = sim.site_model(site)
        origins = span[::7]
        hist = sim.daily_history(model, span[0] - timedelta(days=760), span[-1] + timedelta(8),
                                 args.seed)
        ours, naive, secs = [], [], []
        for o in origins:
            i = hist.days.index(o)
            truth = hist.visitors[i + 1:i + 8].astype(float)
            booked = [int((days.get(site, o + timedelta(days=k)).booked_at
                           < -(k - 1) * 1440).sum()) for k in range(1, 8)]
            t0 = time.perf_counter()
            fc = forecast_daily(hist.days[:i + 1], hist.visitors[:i + 1], booked=booked,
                                daily_capacity=model.daily_capacity)
            secs.append(time.perf_counter() - t0)
            ours.append(np.mean(np.abs(np.array(fc.mean) - truth) / truth))
            naive.append(np.mean(np.abs(hist.visitors[i - 6:i + 1] - truth) / truth))
        print(f"{site:9} {len(origins):>8} {100 * np.mean(ours):>7.1f} "
              f"{100 * np.mean(naive):>10.1f} {statistics.median(secs):>6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", default=",".join(sim.SITE_ORDER))
    ap.add_argument("--start", default="2025-09-22", type=date.fromisoformat)
    ap.add_argument("--days", default=21, type=int)
    ap.add_argument("--seed", default=7, type=int)
    args = ap.parse_args()
    args.sites = [s.strip() for s in args.sites.split(",") if s.strip()]
    span = [args.start + timedelta(days=i) for i in range(args.days)]
    print(f"Forecast backtest: {', '.join(args.sites)} over {span[0]}..{span[-1]} "
          f"(simulated, seed {args.seed}); load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs (shared)")
    t0 = time.perf_counter()
    days = Days(args.seed)
    occupancy(args, days, span)
    daily(args, days, span)
    print(f"\nran {time.perf_counter() - t0:.0f} s; load average after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
