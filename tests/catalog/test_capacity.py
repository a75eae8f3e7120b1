from datetime import date, datetime

import pytest

from catalog import capacity, services
from core.clock import DEFAULT_TZ
from testkit import csrf_of
from core.errors import DomainError


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


def test_published_figures_take_precedence(db):
    cap = services.site_capacity(db, "taishan")
    assert (cap.daily, cap.instant) == (85500, 52500)
    assert cap.daily_source == cap.instant_source == "published"
    assert cap.computed_instant > 0
    assert services.site_capacity(db, "daimiao").daily == 30000
    assert services.site_capacity(db, "daimiao").instant_source == "computed"
    for site, daily, instant in [("kongmiao", 14500, 1900), ("kongfu", 12000, 1750),
                                 ("konglin", 13000, 1950)]:
        cap = services.site_capacity(db, site)
        assert (cap.daily, cap.instant) == (daily, instant)
    summit = services.get_zone(db, "daiding")
    assert services.zone_capacity(summit).instant == 25500


def test_computed_capacity_matches_formula_from_zones(db):
    site = services.get_site(db, "daimiao")
    zones = services.list_zones(db, "daimiao")
    c1 = sum(int(z.area_m2 / z.per_visitor_m2) for z in zones)
    cap = services.site_capacity(db, "daimiao")
    assert abs(cap.computed_instant - c1) <= len(zones)  # floor of the sum vs sum of floors
    longest = max(s.hours for s in site.seasons)
    assert cap.computed_daily == cap.computed_instant * int(longest / site.visit_hours)


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
    assert kongmiao.is_open(datetime(2026, 7, 15, 10, 0, tzinfo=DEFAULT_TZ))
    assert not kongmiao.is_open(datetime(2026, 7, 15, 23, 0, tzinfo=DEFAULT_TZ))
    taishan = services.get_site(db, "taishan")
    assert taishan.is_open(datetime(2026, 1, 1, 3, 0, tzinfo=DEFAULT_TZ))  # 24 h routes
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


def test_staff_may_view_but_not_change_capacity(client, login, db):
    login("staff")
    assert client.get("/admin/capacity").status_code == 200
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


def test_admin_page_overrides_a_zone(client, login, db):
    login("admin")
    resp = change(client, kind="zone", target_id="daiding", value="20000", reason="Icy steps")
    assert resp.status_code == 302
    assert services.zone_capacity(services.get_zone(db, "daiding")).instant == 20000
