"""Opening hours: per-place hours, the data file's dated exceptions and staff closures,
through the catalog's one service, its staff API and its admin page."""
from datetime import date, datetime, timedelta

import pytest

from catalog import hours as hours_mod
from catalog import schedule, services
from core.clock import DEFAULT_TZ
from core.errors import DomainError
from testkit import csrf_of


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=DEFAULT_TZ)


def test_mount_tai_has_hours_per_entrance_and_cable_car(db):
    h = schedule.hours_on(db, "taishan", date(2026, 7, 15))
    places = {p.place_id: (p.open, p.close) for p in h.places}
    assert places["hongmen"] == ("05:00", "24:00")
    assert places["tianwaicun"] == ("07:00", "21:00")
    assert places["taohuayu"] == ("07:00", "18:00")
    assert places["tianzhufeng"] == (None, None)              # closed in the 2024 notices
    assert places["zhongtianmen-cableway"] == ("06:30", "17:30")
    assert (h.open, h.close) == ("05:00", "24:00")            # the span of its entrances
    assert schedule.is_open(db, "taishan", at(2026, 7, 15, 22), "hongmen")
    assert not schedule.is_open(db, "taishan", at(2026, 7, 15, 22), "tianwaicun")
    assert not schedule.is_open(db, "taishan", at(2026, 7, 15, 18), "zhongtianmen-cableway")
    with pytest.raises(DomainError) as info:
        schedule.hours_on(db, "taishan", date(2026, 7, 15), "nowhere")
    assert info.value.code == "unknown_place"


def test_dated_exceptions_from_the_data_file(db):
    # After the snow of February 2024 (中华泰山网, 2024-02-06): 桃花峪 closed, others to 16:00.
    h = schedule.hours_on(db, "taishan", date(2024, 2, 8))
    assert h.place("taohuayu").closed and h.place("taohuayu").reason["en"].startswith("Snow")
    assert h.place("hongmen").close == "16:00" and h.close == "16:00"
    assert h.place("tianwaicun").open == "06:00"
    assert schedule.hours_on(db, "taishan", date(2024, 2, 16)).place("taohuayu").open == "07:00"


def test_chuxi_closes_the_three_confucian_sites_early_marked_unconfirmed(db):
    assert hours_mod.chuxi(2026) == date(2026, 2, 16) and hours_mod.chuxi(2027) == date(2027, 2, 5)
    for site in ("kongmiao", "kongfu", "konglin"):
        h = schedule.hours_on(db, site, date(2027, 2, 5))
        assert (h.open, h.close) == ("08:00", "14:00")
        assert h.exception.rule == "chuxi" and h.exception.confirmed is False
        assert schedule.hours_on(db, site, date(2027, 2, 6)).close in ("17:00", "17:30")
    assert schedule.hours_on(db, "taishan", date(2027, 2, 5)).exception is None
    assert hours_mod.chuxi(2200) is None                        # beyond lunardate's table


def test_the_data_file_alone_gives_the_same_hours_as_the_database(db):
    # Simulations read the file (catalog.site_from_data, file_hours_on); without staff
    # exceptions they must see the days the service answers: seasons, entrances, snow
    # closures, 除夕.
    import json
    data = json.loads(services.DATA_FILE.read_text(encoding="utf-8"))
    days = [date(2024, 2, 8), date(2024, 2, 16), date(2026, 2, 16), date(2026, 7, 15),
            date(2026, 11, 20), date(2027, 2, 5)]
    for raw in data["sites"]:
        site = services.site_from_data(raw)
        for day in days:
            assert services.file_hours_on(site, day) == schedule.hours_on(db, raw["id"], day)


def test_last_closing_follows_exceptions(db, make_user, clock):
    assert schedule.last_closing(db, "kongmiao", at(2026, 7, 15, 18)) == at(2026, 7, 15, 17, 30)
    schedule.add_exception(db, site_id="kongmiao", place_id=None, start="2026-07-15", end=None,
                           kind="hours", close_at="12:00", reason="Storm warning",
                           user=make_user("staff"), clock=clock)
    assert schedule.last_closing(db, "kongmiao", at(2026, 7, 15, 13)) == at(2026, 7, 15, 12)
    # Mount Tai closes at midnight: the day's people are checked out then.
    assert schedule.last_closing(db, "taishan", at(2026, 7, 16, 1)) == at(2026, 7, 16, 0)


def api(client, method, url, body=None, csrf=None):
    return client.open(url, method=method, json=body,
                       headers={"X-CSRF-Token": csrf or csrf_of(client)})


def test_staff_close_a_day_through_the_api_logged_and_lifted(client, login, db, clock):
    user = login("staff")
    body = {"site_id": "kongmiao", "start": "2026-07-16", "kind": "closed",
            "reason": "暴雨预警 Rainstorm warning"}
    r = api(client, "POST", "/api/catalog/hours/exceptions", body)
    assert r.status_code == 201, r.get_json()
    ex = r.get_json()
    assert ex["kind"] == "closed" and ex["by"] == user.username and ex["source"] == "staff"
    h = schedule.hours_on(db, "kongmiao", date(2026, 7, 16))
    assert h.closed and h.reason["zh"] == "暴雨预警 Rainstorm warning"
    assert not schedule.hours_on(db, "kongmiao", date(2026, 7, 17)).closed
    listed = client.get("/api/catalog/hours/exceptions?site=kongmiao").get_json()["exceptions"]
    assert [e["id"] for e in listed] == [ex["id"]]
    public = client.get("/api/sites/kongmiao/hours?date=2026-07-16").get_json()
    assert public["closed"] is True and public["exception"]["reason"]["en"].startswith("暴雨")
    n = int(ex["id"].split(":")[1])
    r = api(client, "POST", f"/api/catalog/hours/exceptions/{n}/lift", {"reason": "cleared"})
    assert r.status_code == 200
    assert not schedule.hours_on(db, "kongmiao", date(2026, 7, 16)).closed
    r = api(client, "POST", f"/api/catalog/hours/exceptions/{n}/lift", {"reason": "again"})
    assert r.get_json()["error"] == "already_lifted"
    log = schedule.hours_log(db)
    assert [(e["action"], e["username"]) for e in log] == [("lift", user.username),
                                                          ("add", user.username)]
    assert log[1]["reason"] == "暴雨预警 Rainstorm warning"


def test_an_entrance_closed_for_a_morning_changes_only_that_entrance(db, make_user, clock):
    schedule.add_exception(db, site_id="taishan", place_id="taohuayu", start=date(2026, 7, 15),
                           end=None, kind="hours", open_at="12:00", reason="Rockfall cleared by noon",
                           user=make_user("staff"), clock=clock)
    h = schedule.hours_on(db, "taishan", date(2026, 7, 15))
    assert h.place("taohuayu").open == "12:00" and h.place("hongmen").open == "05:00"
    assert h.exception is None and (h.open, h.close) == ("05:00", "24:00")


@pytest.mark.parametrize("body,code,status", [
    ({"site_id": "kongmiao", "start": "2026-07-14", "kind": "closed", "reason": "x"}, "date_in_past", 400),
    ({"site_id": "kongmiao", "start": "16/07/2026", "kind": "closed", "reason": "x"}, "bad_date", 400),
    ({"site_id": "kongmiao", "start": "20260716", "kind": "closed", "reason": "x"}, "bad_date", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "end": "2026-07-15", "kind": "closed",
      "reason": "x"}, "bad_range", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "end": "2028-07-16", "kind": "closed",
      "reason": "x"}, "bad_range", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "hours", "reason": "x"}, "hours_required", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "hours", "close": "25:00",
      "reason": "x"}, "bad_time", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "hours", "open": "15:00",
      "close": "14:00", "reason": "x"}, "bad_time", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "hours", "close": 1400,
      "reason": "x"}, "bad_time", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "shut", "reason": "x"}, "bad_kind", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "closed", "reason": " "}, "reason_required", 400),
    ({"site_id": "kongmiao", "start": "2026-07-16", "kind": "closed", "reason": "x" * 501},
     "reason_required", 400),
    ({"site_id": "kongmiao", "place_id": "hongmen", "start": "2026-07-16", "kind": "closed",
      "reason": "x"}, "unknown_place", 404),
    ({"site_id": "atlantis", "start": "2026-07-16", "kind": "closed", "reason": "x"}, "unknown_site", 404),
    ({"site_id": ["kongmiao"], "start": {"a": 1}, "kind": None, "reason": 5}, "unknown_site", 404),
])
def test_bad_exceptions_are_refused_and_nothing_is_written(client, login, db, body, code, status):
    login("staff")
    r = api(client, "POST", "/api/catalog/hours/exceptions", body)
    assert (r.status_code, r.get_json()["error"]) == (status, code)
    assert schedule.hours_log(db) == []
    assert db.execute("SELECT count(*) FROM hours_exceptions").fetchone()[0] == 0


def test_the_staff_api_is_guarded_and_takes_only_json(client, app, login, device_token):
    anon = app.test_client()
    r = api(anon, "POST", "/api/catalog/hours/exceptions", {})
    assert (r.status_code, r.get_json()["error"]) == (401, "login_required")
    r = anon.post("/api/catalog/hours/exceptions", json={},
                  headers={"Authorization": f"Bearer {device_token('gate')}"})
    assert r.status_code == 401
    login("staff")
    r = client.post("/api/catalog/hours/exceptions", data="[1, 2", content_type="application/json",
                    headers={"X-CSRF-Token": csrf_of(client)})
    assert (r.status_code, r.get_json()["error"]) == (400, "invalid_json")
    r = client.post("/api/catalog/hours/exceptions", json={"site_id": "kongmiao"})  # no CSRF
    assert r.status_code == 400
    assert client.post("/api/catalog/hours/exceptions/99/lift", json={"reason": "x"},
                       headers={"X-CSRF-Token": csrf_of(client)}).get_json()["error"] == \
        "unknown_exception"
    assert client.get("/api/sites/kongmiao/hours?date=tomorrow").get_json()["error"] == "bad_date"


def test_the_admin_page_closes_an_entrance_and_shows_the_log(client, login, db, clock):
    user = login("staff")
    page = client.get("/admin/hours?lang=en").get_data(as_text=True)
    assert "Red Gate (on foot)" in page and 'value="taishan/tianwaicun"' in page
    r = client.post("/admin/hours", data={
        "target": "taishan/tianwaicun", "kind": "closed", "start": "2026-07-15",
        "reason": "Landslide on the bus road", "csrf_token": csrf_of(client)})
    assert r.status_code == 302
    assert schedule.hours_on(db, "taishan", date(2026, 7, 15)).place("tianwaicun").closed
    page = client.get("/admin/hours?lang=en").get_data(as_text=True)
    assert "Landslide on the bus road" in page and user.username in page
    r = client.post("/admin/hours", data={"target": "taishan", "kind": "closed",
                                          "start": "2026-07-15", "reason": "",
                                          "csrf_token": csrf_of(client)})
    assert r.status_code == 400 and "Give a reason" in r.get_data(as_text=True)
    ex = schedule.list_exceptions(db, clock, "taishan")[0]
    r = client.post(f"/admin/hours/{ex['id'].split(':')[1]}/lift",
                    data={"reason": "road open", "csrf_token": csrf_of(client)})
    assert r.status_code == 302
    assert not schedule.hours_on(db, "taishan", date(2026, 7, 15)).place("tianwaicun").closed


def test_home_page_shows_a_closure_and_each_entrance(client, db, make_user, clock):
    schedule.add_exception(db, site_id="konglin", place_id=None, start="2026-07-15", end=None,
                           kind="closed", reason="Tree fall on the loop road",
                           user=make_user("staff"), clock=clock)
    html = client.get("/?lang=en").get_data(as_text=True)
    card = html[html.index('id="site-konglin"'):]
    card = card[:card.index("</li>")]
    assert "Closed today" in card and "Tree fall on the loop road" in card
    assert 'class="badge closed"' in card
    mount_tai = html[html.index('id="site-taishan"'):]
    assert "Tianwai Village (by bus): 07:00–21:00" in mount_tai[:mount_tai.index("</li>")]


def test_a_long_closure_is_one_row_and_every_day_reads_it(db, make_user, clock):
    schedule.add_exception(db, site_id="daimiao", place_id=None, start="2026-07-15",
                           end=(date(2026, 7, 15) + timedelta(days=365)).isoformat(),
                           kind="closed", reason="Restoration", user=make_user("staff"),
                           clock=clock)
    days = [date(2026, 7, 15) + timedelta(days=n) for n in range(0, 366, 61)]
    assert all(schedule.hours_on(db, "daimiao", d).closed for d in days)
    assert not schedule.hours_on(db, "daimiao", date(2027, 7, 16)).closed
    assert len(schedule.list_exceptions(db, clock, "daimiao")) == 1
    assert services.site_capacity(db, "daimiao").daily == 30000   # capacities are not hours
