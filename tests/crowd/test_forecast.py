"""The simulator, the occupancy forecast, the early alert and the 7-day forecast, on
simulated days (pure functions: no database, no app)."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from crowd import forecast as fc
from crowd import simulate as sim
from crowd.backtest import alert_lead, backtest_day, forecast_at
from crowd.holiday_calendar import day_type

SEED = 7


def models_for(site, day):
    past = sim.past_days(site, day, SEED)
    return sim.learn_from(past, sim.past_days(site, day, SEED, like=True))


# --- the generator --------------------------------------------------------------------------

def test_simulated_day_is_deterministic_for_a_seed():
    a = sim.simulate_day("kongmiao", date(2026, 7, 18), SEED)
    b = sim.simulate_day("kongmiao", date(2026, 7, 18), SEED)
    c = sim.simulate_day("kongmiao", date(2026, 7, 18), SEED + 1)
    assert np.array_equal(a.slot, b.slot)
    assert np.array_equal(a.entry, b.entry, equal_nan=True)
    assert np.array_equal(a.camera, b.camera)
    assert a.demand == b.demand
    assert not np.array_equal(a.inside, c.inside)


def test_history_is_deterministic_and_matches_the_days():
    h1 = sim.daily_history("konglin", date(2025, 1, 1), date(2025, 3, 31), SEED)
    h2 = sim.daily_history("konglin", date(2025, 2, 1), date(2025, 2, 28), SEED)
    assert h1.days[31] == h2.days[0] == date(2025, 2, 1)
    assert np.array_equal(h1.visitors[31:59], h2.visitors)
    day = sim.simulate_day("konglin", date(2025, 2, 10), SEED)
    assert day.came.sum() == h1.visitors[h1.days.index(date(2025, 2, 10))]


def test_history_has_the_holiday_peaks_and_seasons():
    h = sim.daily_history("kongmiao", date(2024, 7, 1), date(2026, 6, 30), SEED)
    assert len(h.days) >= 730
    v = dict(zip(h.days, h.visitors))
    plain = np.median([n for d, n in v.items() if day_type(d).holiday is None
                       and d.weekday() < 5 and d.month in (9, 10)])
    golden = [v[date(2025, 10, i)] for i in range(1, 4)]
    assert min(golden) > 2.5 * plain                         # 国庆 Golden Week
    assert v[date(2025, 5, 2)] > 2 * plain                   # 五一
    # 春节 2026: quiet eve and first day, crowded days after.
    assert v[date(2026, 2, 15)] < v[date(2026, 2, 18)]
    assert max(h.sold) <= sim.site_model("kongmiao").daily_capacity   # tickets sell out
    weekends = np.median([n for d, n in v.items() if d.weekday() == 5 and not
                          day_type(d).holiday])
    weekdays = np.median([n for d, n in v.items() if d.weekday() == 1 and not
                          day_type(d).holiday])
    assert weekends > 1.4 * weekdays
    jan = np.median([n for d, n in v.items() if d.month == 1])
    aug = np.median([n for d, n in v.items() if d.month == 8])
    assert aug > 2 * jan


def test_holiday_calendar_official_and_computed_years():
    assert day_type(date(2025, 10, 8)).holiday == "national_day"     # 8-day break with 中秋
    assert day_type(date(2025, 10, 8)).break_length == 8
    assert day_type(date(2025, 9, 28)).makeup_workday               # a working Sunday
    later = day_type(date(2027, 4, 3))                               # past the official table
    assert later.holiday == "tomb_sweeping" and not later.official


def test_a_day_has_slots_dwell_and_gate_scans():
    day = sim.simulate_day("daimiao", date(2026, 7, 15), SEED)
    assert len(day.slots) == 11 and all(q > 0 for _s, _e, q in day.slots)
    came = day.came
    assert np.all(day.entry[came] >= day.hours.open_min - 1)
    visit = day.leave[came] - day.entry[came]
    med = np.median(visit)
    assert 80 < med < 180                                    # Dai Temple: ~1.5-3 h
    assert day.inside.max() == pytest.approx(day.gate_inside(int(day.inside.argmax())),
                                             abs=1)
    assert 0 < day.camera.max() < day.inside.max()           # cameras see a part
    assert day.inside[-1] == 0                                # checked out at closing


def test_simulated_days_keep_to_the_catalog_hours():
    def entries(site, day):
        d = sim.simulate_day(site, day, SEED)
        return d, d.entry[d.came] / 60
    # Mount Tai: 红门 opens at 05:00 and closes at 24:00 (S24); night climbers for the
    # sunrise come in the evening, nobody enters in the closed hours after midnight.
    d, e = entries("taishan", date(2026, 7, 15))
    assert e.min() >= 5 and e.max() < 24
    assert np.mean(e >= 20) > 0.1
    # The snow of February 2024: every entrance shut at 16:00 (a dated exception).
    d, e = entries("taishan", date(2024, 2, 10))
    assert (d.hours.open_min, d.hours.close_min) == (300, 960) and e.max() < 16
    assert d.inside[16 * 60:].max() == 0
    # 除夕 at 三孔: closing at 14:00 (the rule in the data file); summer's last entry 17:10.
    d, e = entries("kongmiao", date(2026, 2, 16))
    assert d.hours.close_min == 14 * 60 and e.max() < 14
    d, e = entries("kongmiao", date(2026, 7, 18))
    assert d.hours.last_entry_min == 17 * 60 + 10 and e.max() < 17 + 10 / 60
    # An arrival profile may not describe visitors when the catalog has the site closed.
    with pytest.raises(ValueError, match="outside the catalog's hours"):
        sim._check_profile(sim.site_model("taishan").catalog_site, ((1.5, 1.5, 0.18),))


def test_a_day_the_catalog_closes_has_no_visitors(tmp_path):
    import json
    data = json.loads(sim.SITES_FILE.read_text(encoding="utf-8"))
    site = next(s for s in data["sites"] if s["id"] == "kongmiao")
    site["exceptions"].append({"id": "test-closure", "start": "2026-07-16", "kind": "closed",
                               "reason": {"zh": "测试", "en": "Test"}, "source": "test"})
    path = tmp_path / "sites.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    model = sim.load_sites(str(path))["kongmiao"]
    closed = sim.simulate_day(model, date(2026, 7, 16), SEED)
    assert closed.hours.closed and closed.slots == [] and closed.came.sum() == 0
    assert closed.inside.max() == 0
    assert sim.daily_history(model, date(2026, 7, 16), date(2026, 7, 16), SEED).visitors[0] == 0
    assert sim.simulate_day(model, date(2026, 7, 17), SEED).came.sum() > 0


# --- the occupancy forecast --------------------------------------------------------------------

def test_forecast_beats_both_naive_forecasts_on_a_simulated_day():
    day_ = date(2026, 7, 18)
    dwell, arrivals = models_for("kongmiao", day_)
    today = sim.simulate_day("kongmiao", day_, SEED)
    s = backtest_day(today, sim.simulate_day("kongmiao", day_ - timedelta(days=7), SEED),
                     dwell, arrivals)
    assert len(s.ours[60]) >= 20
    assert s.mape("ours", 60) < s.mape("now", 60)
    assert s.mape("ours", 60) < s.mape("week", 60)
    assert s.mape("ours", 60) < 15
    assert np.mean(s.in_band[60]) >= 0.7


def test_early_alert_fires_before_the_crossing():
    day_ = date(2025, 10, 1)
    dwell, arrivals = models_for("kongmiao", day_)
    today = sim.simulate_day("kongmiao", day_, SEED)
    lead = alert_lead(today, dwell, arrivals, ratio=0.8)
    assert lead.crossed_at is not None
    assert lead.lead is not None and lead.lead >= 15
    assert abs(lead.predicted_for - lead.crossed_at) <= 30


def test_crossing_is_marked_predicted_and_absent_once_above():
    day_ = date(2025, 10, 1)
    dwell, arrivals = models_for("kongmiao", day_)
    today = sim.simulate_day("kongmiao", day_, SEED)
    early = forecast_at(today, today.hours.open_min + 10, dwell, arrivals)
    hit = fc.first_crossing(early, 0.8)
    assert hit is not None and hit.predicted and hit.ratio == 0.8
    assert hit.people >= 0.8 * today.capacity
    peak = int(today.inside.argmax())
    assert fc.first_crossing(forecast_at(today, peak, dwell, arrivals), 0.8) is None


def test_forecast_shape_band_and_closing():
    day_ = date(2026, 7, 15)
    dwell, arrivals = models_for("kongfu", day_)
    today = sim.simulate_day("kongfu", day_, SEED)
    f = forecast_at(today, today.hours.close_min - 90, dwell, arrivals)
    assert len(f.times) == 13 and f.times[1] - f.times[0] == 15 * 60
    assert all(lo <= m <= hi for lo, m, hi in zip(f.low, f.mean, f.high))
    assert f.mean[-1] == 0 and f.mean[6] == 0                # closed after 90 minutes
    assert f.start_source == "gates"
    j = f.to_json(sim.TZ)
    assert j["times"][0].endswith("+08:00") and len(j["mean"]) == 13


def test_cameras_fill_in_without_gates_and_above_them():
    day_ = date(2026, 7, 15)
    dwell, arrivals = models_for("kongmiao", day_)
    today = sim.simulate_day("kongmiao", day_, SEED)
    ob = today.observe(11 * 60)
    slots = [fc.SlotBookings(*s) for s in ob.slots]
    no_gates = fc.forecast_occupancy(ob.now, slots=slots, inside_entries=None, dwell=dwell,
                                     arrivals=arrivals, capacity=today.capacity,
                                     close=ob.close, camera_people=ob.camera_people,
                                     camera_coverage=today.site.coverage)
    assert no_gates.start_source == "cameras"
    assert no_gates.start_people == pytest.approx(ob.gate_inside, rel=0.15)
    missed = fc.forecast_occupancy(ob.now, slots=slots, inside_entries=ob.inside_entries[:100],
                                   dwell=dwell, arrivals=arrivals, capacity=today.capacity,
                                   close=ob.close, camera_people=ob.camera_people)
    assert missed.start_source == "gates+cameras" and missed.start_people == ob.camera_people
    # People of unknown entry time leave over time too.
    assert missed.mean[4] < missed.mean[0] + sum(s.sold - s.used for s in slots)


def test_dwell_learning_handles_censoring():
    rng = np.random.default_rng(1)
    true = rng.lognormal(np.log(120), 0.35, 4000)
    seen = rng.uniform(0, 300, 4000)          # how long each had been inside when we looked
    exited = true <= seen
    minutes = np.where(exited, true, seen)
    model = fc.learn_dwell(minutes, exited)
    assert model.median_minutes == pytest.approx(120, rel=0.06)
    assert np.median(minutes[exited]) < 110   # completed visits alone are biased short
    with pytest.raises(ValueError):
        fc.learn_dwell([10, 20], [True, True])
    assert fc.fit_stretch(model, true * 1.2, np.ones(4000, bool)) == pytest.approx(1.2, rel=0.05)


# --- the 7-day forecast ----------------------------------------------------------------------

def test_seven_day_forecast_sees_golden_week_and_respects_bookings():
    from crowd.daily_forecast import forecast_daily
    site = sim.site_model("kongmiao")
    h = sim.daily_history(site, date(2023, 9, 1), date(2025, 10, 8), SEED)
    cut = h.days.index(date(2025, 9, 28))
    booked = [3000, 0, 0, 14500, 0, 0, 0]
    out = forecast_daily(h.days[:cut + 1], h.visitors[:cut + 1], booked=booked,
                         show_rate=0.9, daily_capacity=site.daily_capacity)
    assert out.days[0] == date(2025, 9, 29) and len(out.mean) == 7
    assert out.holiday[2] == "national_day"
    assert out.mean[2] > 2 * out.mean[0]                      # 1 October
    assert out.mean[3] >= 0.9 * 14500 - 1                     # the floor
    assert max(out.high) <= site.daily_capacity
    truth = h.visitors[cut + 1:cut + 8]
    naive = h.visitors[cut - 6:cut + 1]
    ours = np.mean(np.abs(np.array(out.mean) - truth) / truth)
    assert ours < np.mean(np.abs(naive - truth) / truth)
    with pytest.raises(ValueError):
        forecast_daily(h.days[:10], h.visitors[:10])
