import json
import math
import re
from datetime import date, datetime

import pytest

from catalog import capacity, schedule, services
from core.clock import DEFAULT_TZ
from testkit import csrf_of
from core.errors import DomainError

SITES = ("taishan", "daimiao", "kongmiao", "kongfu", "konglin")


def test_instantaneous_is_sum_of_area_over_per_visitor():
    # LB/T 034-2014: C1 = Σ Xi/Yi
    assert capacity.instantaneous([(1000, 2.0), (900, 3.0)]) == 500 + 300
    assert capacity.instantaneous([(10, 3.0)]) == 3  # whole visitors only
    assert capacity.instantaneous([]) == 0


def test_daily_is_c1_times_whole_turnovers():
    # C2 = C1 × Int(T/t): 9.5 h open, 2 h visits -> 4 full turnovers
    assert capacity.daily(1000, 9.5, 2.0) == 4000
    assert capacity.daily(1000, 24, 6) == 4000
    assert capacity.daily(1000, 1.0, 2.0) == 1000  # open at all: fills at least once
    assert capacity.daily(1000, 0, 2.0) == 0


@pytest.mark.parametrize("zones,code", [
    ([(100, 0)], "bad_per_visitor_area"),
    ([(-5, 1)], "negative_area"),
])
def test_bad_zone_figures_rejected(zones, code):
    with pytest.raises(DomainError) as info:
        capacity.instantaneous(zones)
    assert info.value.code == code
    with pytest.raises(DomainError):
        capacity.turnover(8, 0)


def test_route_and_bottleneck_methods():
    # Route method (GB/T 50298-2018): path length × width / path area per visitor.
    assert capacity.route(1000, 4, 10) == 400        # 十八盘: 1 km of stairs, 4 m, 10 m²
    assert capacity.route(7000, 5, 5) == 7000
    with pytest.raises(DomainError) as info:
        capacity.route(0, 4, 10)
    assert info.value.code == "bad_route"
    # Bottleneck (卡口) method: C = D × A, D = Int(t1/t3), t1 = H - t2.
    aboard, day = capacity.bottleneck(per_batch=6, interval_s=15, trip_s=348, hours=11,
                                      directions=2)
    assert day == int((11 * 3600 - 348) / 15) * 6 * 2 == 31392
    assert aboard == int(348 / 15) * 6 * 2 == 276      # cabins under way during one trip
    with pytest.raises(DomainError):
        capacity.bottleneck(per_batch=6, interval_s=0, trip_s=348, hours=11)


def test_fitting_and_deriving_follow_c2_equals_c1_times_int_t_over_t():
    t = capacity.fitted_visit_hours(9.5, 14500, 1900)
    assert t == pytest.approx(9.5 / (14500 / 1900))
    assert capacity.turnover(9.5, t) == math.floor(14500 / 1900) == 7
    assert capacity.instant_from_daily(30000, 10 + 10 / 60, 2.5) == 7500     # Int(4.07) = 4
    with pytest.raises(DomainError):
        capacity.fitted_visit_hours(9.5, 0, 1900)


def test_fit_zones_keeps_fixed_figures_and_scales_the_rest():
    assert capacity.fit_zones(100, [(30, None), (20, None)]) == [30, 20]     # fits as is
    fitted = capacity.fit_zones(100, [(50, 60), (300, None), (100, None)])
    assert fitted[0] == 60 and sum(fitted) <= 100 and fitted[1] > fitted[2] >= 1
    assert capacity.fit_zones(3, [(1000, None), (1000, None), (1, None)]) == [1, 1, 1]
    assert capacity.minimum_site_instant([(9, 60), (5, None)]) == 61


def test_published_figures_take_precedence(db):
    cap = services.site_capacity(db, "taishan")
    assert (cap.daily, cap.instant) == (85500, 52500)
    assert cap.daily_source == cap.instant_source == "published"
    assert cap.computed_instant > 0
    dai = services.site_capacity(db, "daimiao")
    assert dai.daily == 30000 and dai.daily_source == "published"
    # No instantaneous figure is published for Dai Temple: derived from the daily one.
    assert (dai.instant, dai.instant_source) == (7500, "derived")
    for site, daily, instant in [("kongmiao", 14500, 1900), ("kongfu", 12000, 1750),
                                 ("konglin", 13000, 1950)]:
        cap = services.site_capacity(db, site)
        assert (cap.daily, cap.instant) == (daily, instant)
    summit = services.get_zone(db, "daiding")
    assert services.zone_capacity(summit).instant == 25500


@pytest.mark.parametrize("site_id", SITES)
def test_computed_capacity_matches_formula_from_zones(db, site_id):
    site = services.get_site(db, site_id)
    zones = services.list_zones(db, site_id)
    cap = services.site_capacity(db, site_id)
    assert cap.computed_instant == sum(int(z.area_m2 / z.per_visitor_m2 + 1e-9) for z in zones)
    longest = max(s.hours for s in site.seasons)
    assert cap.computed_daily == cap.instant * int(longest / site.visit_hours + 1e-9)
    for z in zones:
        if z.method == "route":  # the area is the path's: length × width
            assert z.area_m2 == z.params["length_m"] * z.params["width_m"]
            assert 5 <= z.per_visitor_m2 <= 10       # GB/T 50298-2018's range for paths


@pytest.mark.parametrize("site_id", SITES)
def test_sum_of_zone_capacities_never_exceeds_the_site(db, site_id):
    site_cap = services.site_capacity(db, site_id).instant
    zones = services.list_zones(db, site_id)
    caps = [services.zone_capacity(z) for z in zones]
    assert sum(c.instant for c in caps) <= site_cap
    for z, c in zip(zones, caps):  # scaling only ever lowers a computed figure
        assert 1 <= c.instant <= max(z.computed_instant, c.published_instant or 0)
    assert [z.id for z in services.list_zones(db, site_id)] == [z.id for z in zones]


def test_zones_of_three_confucian_sites_are_scaled_to_the_published_figure(db):
    for site_id, published in [("kongmiao", 1900), ("kongfu", 1750), ("konglin", 1950)]:
        zones = services.list_zones(db, site_id)
        caps = [services.zone_capacity(z) for z in zones]
        assert published - len(zones) <= sum(c.instant for c in caps) <= published
        assert {c.instant_source for c in caps} == {"scaled"}
    loop = services.zone_capacity(services.get_zone(db, "huanlin"))
    assert loop.instant < 1950 and loop.computed_instant == 7000   # was 17,500 at 2 m²


def test_mount_tai_stairs_use_the_route_method_and_the_summit_its_published_figure(db):
    stairs = services.get_zone(db, "shibapan")
    assert (stairs.method, stairs.per_visitor_m2) == ("route", 10.0)
    assert services.zone_capacity(stairs).instant == 400
    assert services.zone_capacity(services.get_zone(db, "daiding")).instant == 25500
    car = services.place_capacity(services.get_site(db, "taishan"), "zhongtianmen-cableway")
    assert car["per_hour"] == 1440 and car["aboard"] == 276 and car["hours"] == 11
    assert services.place_capacity(services.get_site(db, "taishan"), "hongmen") is None


def test_visit_times_are_fitted_to_the_published_ratios(db):
    data = json.loads(services.DATA_FILE.read_text(encoding="utf-8"))
    fitted = 0
    for s in data["sites"]:
        pub = s.get("published_capacity") or {}
        site = services.get_site(db, s["id"])
        if pub.get("daily") and pub.get("instant"):
            t = capacity.fitted_visit_hours(site.open_hours, pub["daily"], pub["instant"])
            assert site.visit_hours == pytest.approx(t, abs=0.01), s["id"]
            assert capacity.turnover(site.open_hours, site.visit_hours) == \
                pub["daily"] // pub["instant"], s["id"]
            assert "fitted" in s["visit_hours_source"]
            fitted += 1
    assert fitted == 4
    # Mount Tai's C2 no longer multiplies by four turnovers of a 24-hour day.
    assert services.site_capacity(db, "taishan").computed_daily == 52500


def test_every_estimate_is_marked_as_an_assumption_or_sourced(db):
    data = json.loads(services.DATA_FILE.read_text(encoding="utf-8"))
    ids = {s["id"] for s in data["sources"]}
    for s in data["sites"]:
        texts = [s["visit_hours_source"]] + [z["source"] for z in s["zones"]] + \
            [h["source"] for h in s["hours"]] + [e["source"] for e in s.get("exceptions", [])]
        for p in s.get("places", []):
            texts += [h["source"] for h in p["hours"]] + [(p.get("bottleneck") or {}).get("source", "")]
        for text in texts:
            assert set(re.findall(r"\bS\d+\b", text)) <= ids, text
        for z in s["zones"]:  # no zone is measured: each says what it assumes
            assert "assumption" in z["source"], z["id"]
        for e in s.get("exceptions", []):  # an unconfirmed exception says why it is used
            assert e["confirmed"] or "assumption" in e["source"] or "grade C" in e["source"]


def test_a_zone_override_beyond_the_site_is_refused_and_nothing_logged(db, make_user, clock):
    admin = make_user("admin")
    with pytest.raises(DomainError) as info:
        services.adjust_capacity(db, kind="zone", target_id="dacheng", field="instant",
                                 value=1900, reason="x", user=admin, clock=clock)
    assert info.value.code == "zones_over_site"
    assert services.capacity_changes(db) == []
    assert services.get_zone(db, "dacheng").override_instant is None
    # Within the site's figure it is taken, and the other zones shrink to make room.
    services.adjust_capacity(db, kind="zone", target_id="dacheng", field="instant", value=1000,
                             reason="event", user=admin, clock=clock)
    caps = [services.zone_capacity(z).instant for z in services.list_zones(db, "kongmiao")]
    assert 1000 in caps and sum(caps) <= 1900
    # A site figure below what its fixed zones need is refused too.
    with pytest.raises(DomainError) as info:
        services.adjust_capacity(db, kind="site", target_id="kongmiao", field="instant",
                                 value=900, reason="x", user=admin, clock=clock)
    assert info.value.code == "zones_over_site"
    services.adjust_capacity(db, kind="site", target_id="taishan", field="instant", value=30000,
                             reason="ice", user=admin, clock=clock)
    caps = [services.zone_capacity(z).instant for z in services.list_zones(db, "taishan")]
    assert sum(caps) <= 30000 and 25500 in caps


def test_staff_override_is_logged_and_wins(db, make_user, clock):
    admin = make_user("admin")
    cap = services.adjust_capacity(db, kind="site", target_id="kongmiao", field="daily",
                                   value=10000, reason="Renovation of the Hall", user=admin,
                                   clock=clock)
    assert cap.daily == 10000 and cap.daily_source == "override"
    log = services.capacity_changes(db)
    assert log[0]["target_id"] == "kongmiao" and log[0]["new_value"] == 10000
    assert log[0]["old_value"] is None and log[0]["username"] == admin.username
    cap = services.adjust_capacity(db, kind="site", target_id="kongmiao", field="daily",
                                   value=None, reason="Reopened", user=admin, clock=clock)
    assert cap.daily == 14500 and cap.daily_source == "published"
    assert services.capacity_changes(db)[0]["old_value"] == 10000


@pytest.mark.parametrize("kwargs,code", [
    (dict(kind="site", target_id="kongmiao", field="daily", value=0, reason="x"), "bad_capacity"),
    (dict(kind="site", target_id="kongmiao", field="daily", value=100, reason=" "), "reason_required"),
    (dict(kind="zone", target_id="daiding", field="daily", value=100, reason="x"), "bad_field"),
    (dict(kind="site", target_id="atlantis", field="daily", value=100, reason="x"), "unknown_site"),
    (dict(kind="planet", target_id="x", field="daily", value=100, reason="x"), "bad_target"),
])
def test_bad_adjustments_rejected_and_nothing_logged(db, make_user, clock, kwargs, code):
    admin = make_user("admin")
    with pytest.raises(DomainError) as info:
        services.adjust_capacity(db, user=admin, clock=clock, **kwargs)
    assert info.value.code == code
    assert services.capacity_changes(db) == []


def test_seasons_and_open_status(db):
    kongmiao = services.get_site(db, "kongmiao")
    summer = kongmiao.season_on(date(2026, 7, 15))
    assert summer is not None and summer.open < summer.close
    assert schedule.is_open(db, "kongmiao", datetime(2026, 7, 15, 10, 0, tzinfo=DEFAULT_TZ))
    assert not schedule.is_open(db, "kongmiao", datetime(2026, 7, 15, 23, 0, tzinfo=DEFAULT_TZ))
    # Mount Tai: 红门 5:00-24:00 (2024 notice), no longer open at every hour.
    assert not schedule.is_open(db, "taishan", datetime(2026, 1, 1, 3, 0, tzinfo=DEFAULT_TZ))
    assert schedule.is_open(db, "taishan", datetime(2026, 1, 1, 5, 0, tzinfo=DEFAULT_TZ))
    assert schedule.is_open(db, "taishan", datetime(2026, 1, 1, 23, 59, tzinfo=DEFAULT_TZ))
    for site in services.list_sites(db):  # every day of a leap year has hours
        for d in range(366):
            day = date(2028, 1, 1).fromordinal(date(2028, 1, 1).toordinal() + d)
            assert site.season_on(day) is not None, (site.id, day)


def test_catalog_reload_keeps_staff_overrides(db, make_user, clock):
    admin = make_user("admin")
    services.adjust_capacity(db, kind="zone", target_id="daiding", field="instant", value=20000,
                             reason="Ice on the steps", user=admin, clock=clock)
    services.load_catalog(db)
    assert services.zone_capacity(services.get_zone(db, "daiding")).instant == 20000


def test_bad_catalog_file_rejected_before_writing(db):
    bad = {"areas": [{"id": "a", "name": {"zh": "a", "en": "a"}}],
           "sites": [{"id": "s", "area": "a", "name": {"zh": "s", "en": "s"}, "visit_hours": 2,
                      "hours": [{"start": "01-01", "end": "12-31", "open": "18:00", "close": "08:00"}]}]}
    with pytest.raises(DomainError):
        services.load_catalog(db, bad)
    assert db.execute("SELECT count(*) FROM areas WHERE id = 'a'").fetchone()[0] == 0


def change(client, kind="site", target_id="konglin", value="10", reason="x"):
    """Post the capacity admin form as the logged-in user, with the session's CSRF token."""
    return client.post("/admin/capacity", data={
        "kind": kind, "target_id": target_id, "field": "instant", "value": value,
        "reason": reason, "csrf_token": csrf_of(client)})


def test_admin_page_changes_capacity_with_csrf(client, login, db):
    login("admin")
    resp = change(client, value="1500", reason="Storm")
    assert resp.status_code == 302
    assert services.site_capacity(db, "konglin").instant == 1500
    page = client.get("/admin/capacity").get_data(as_text=True)
    assert "Storm" in page and "1500" in page
    resp = change(client, value="lots")
    assert resp.status_code == 400 and "承载量须为大于 0 的整数" in resp.get_data(as_text=True)
    resp = change(client, kind="zone", target_id="huanlin", value="5000", reason="too many")
    assert resp.status_code == 400 and "zones_over_site" in resp.get_data(as_text=True)


def test_staff_may_view_but_not_change_capacity(client, login, db):
    login("staff")
    page = client.get("/admin/capacity?lang=en").get_data(as_text=True)
    assert "Cable cars (bottleneck method)" in page and "31,392" in page
    assert "1000 m × 4 m" in page and "scaled to the site" in page
    assert change(client).status_code == 403
    assert services.site_capacity(db, "konglin").instant == 1950


def test_sites_api_lists_hours_and_capacity(client):
    body = client.get("/api/sites").get_json()
    ids = [s["id"] for s in body["sites"]]
    assert ids == ["taishan", "daimiao", "kongmiao", "kongfu", "konglin"]
    kongmiao = body["sites"][2]
    assert kongmiao["open_now"] is True and kongmiao["hours_today"]["open"]
    assert kongmiao["capacity"] == {"daily": 14500, "instant": 1900, "daily_source": "published",
                                    "instant_source": "published"}
    assert sum(z["capacity"] for z in kongmiao["zones"]) <= 1900
    taishan = body["sites"][0]
    assert [p["place_id"] for p in taishan["hours"]["places"]][:3] == ["hongmen", "tianwaicun",
                                                                      "taohuayu"]
    car = next(p for p in taishan["places"] if p["id"] == "zhongtianmen-cableway")
    assert car["kind"] == "cable_car" and car["capacity"]["per_hour"] == 1440


def test_admin_page_overrides_a_zone(client, login, db):
    login("admin")
    resp = change(client, kind="zone", target_id="daiding", value="20000", reason="Icy steps")
    assert resp.status_code == 302
    assert services.zone_capacity(services.get_zone(db, "daiding")).instant == 20000
