"""The control room and the region editor in a real browser (Debian chromium)."""
from __future__ import annotations

import pytest
import requests

from crowd import cameras, repo, services
from testkit import browser_page, log_in_browser

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(browser):
    with browser_page(browser, 1280, 900) as pg:   # a control-room desk
        yield pg


def log_in(page, base, user):
    log_in_browser(page, base, user)


def test_dashboard_updates_live_and_acknowledges(live_server, desk, camera, make_user,
                                                 worker_token, app, db):
    app.config["CROWD_DEBOUNCE_SECONDS"] = 0
    app.config["CROWD_SSE_INTERVAL"] = 0.3
    staff = make_user("staff")
    log_in(desk, live_server, staff)
    desk.goto(live_server + "/crowd")
    desk.wait_for_selector("#conn:has-text('实时更新')", timeout=5000)
    post = lambda n: requests.post(  # noqa: E731
        live_server + "/api/crowd/observations", timeout=5,
        headers={"Authorization": f"Bearer {worker_token}"},
        json={"camera_id": "cam-a", "status": "online", "people": n, "areas": {"path": n}})
    assert post(3).status_code == 201
    desk.wait_for_selector("[data-camera='cam-a'] li[data-k='counted']:has-text('counted: 3')",
                           timeout=3000)
    # The trend charts are drawn by the vendored uPlot, with labelled axes.
    desk.wait_for_selector("#trend-hour[data-chart=uplot] canvas", state="attached", timeout=5000)
    assert "人数" in desk.inner_text("#trend-hour")
    assert post(9).status_code == 201          # 90% of the area's 10: a warning
    item = desk.wait_for_selector("#alerts li[data-alert]", timeout=3000)
    assert "Test camera / path" in item.inner_text() and "预警" in item.inner_text()
    assert "cam-a" not in item.inner_text()      # the place's name, not its id
    desk.click("#alerts button.ack")
    desk.wait_for_selector(f"#alerts li:has-text('已确认：{staff.username}')", timeout=3000)
    assert services.list_alerts(db, active_only=True)[0]["acknowledged_by"] == staff.username
    # A camera going offline shows as such, never as zero people.
    requests.post(live_server + "/api/crowd/observations", timeout=5,
                  headers={"Authorization": f"Bearer {worker_token}"},
                  json={"camera_id": "cam-a", "status": "offline", "error": "no signal"})
    desk.wait_for_selector("[data-camera='cam-a'] .cam-status:has-text('离线')", timeout=3000)
    assert "counted: —" in desk.inner_text("[data-camera='cam-a']")


def test_staff_draws_an_area_on_the_editor(live_server, desk, camera, make_user, db):
    log_in(desk, live_server, make_user("staff"))
    desk.goto(live_server + "/crowd/cameras/cam-a/edit")
    desk.click("#new-area")
    desk.locator("#editor").scroll_into_view_if_needed()
    box = desk.locator("#editor").bounding_box()
    sx, sy = box["width"] / 768, box["height"] / 576
    for x, y in ((100, 100), (400, 100), (400, 400)):
        desk.mouse.click(box["x"] + x * sx, box["y"] + y * sy)
    desk.locator("#region-list li.selected input[aria-label=capacity]").fill("12")
    desk.locator("#region-list li.selected input[aria-label=capacity]").dispatch_event("change")
    desk.click("button[type=submit]:has-text('保存')")
    desk.wait_for_url("**/crowd/cameras")
    cam = cameras.get_camera(db, "cam-a")
    new = [a for a in cam.areas if a["name"] not in ("path",)]
    assert len(new) == 1 and new[0]["capacity"] == 12 and len(new[0]["points"]) == 3
    assert abs(new[0]["points"][1][0] - 400) <= 3


def test_dashboard_draws_the_forecast_with_its_band(live_server, desk, make_user, db):
    repo.set_forecast_source(db, "kongmiao", "simulated", 7, "2026-07-15T09:00:00+08:00")
    log_in(desk, live_server, make_user("staff"))
    desk.goto(live_server + "/crowd")
    desk.select_option("#forecast-site", "kongmiao")
    desk.wait_for_selector("#forecast-chart[data-site=kongmiao][data-band='1'] canvas",
                           state="attached", timeout=30000)
    band = desk.evaluate("""() => {
        const u = document.querySelector('#forecast-chart').uplot;
        const lo = u.data[3], hi = u.data[4], mean = u.data[2];
        const idx = lo.map((v, i) => i).filter(i => lo[i] !== null);
        return {n: idx.length, ordered: idx.every(i => lo[i] <= mean[i] && mean[i] <= hi[i]),
                wide: idx.some(i => hi[i] > lo[i]), history: u.data[1].filter(v => v !== null).length,
                capacity: u.data[5][0], warning: u.data[6][0], bands: u.bands.length};
    }""")
    assert band["n"] == 13 and band["ordered"] and band["wide"] and band["bands"] == 1
    assert band["history"] >= 30
    assert band["capacity"] == 1900 and band["warning"] == 1520
    assert "模拟数据" in desk.inner_text("#forecast-note")
    summary = desk.inner_text("#forecast-summary")
    assert "预计" in summary                          # "预计 HH:MM 达到 80%" or "…不会达到…"
    desk.wait_for_selector("#daily-chart[data-points='7'] canvas", state="attached",
                           timeout=30000)
    assert "人数" in desk.inner_text("#forecast-chart")
    legend = desk.get_attribute("#forecast-chart", "data-legend").split("|")
    assert len(legend) == 6                          # people, forecast, low, high, lines


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trend_axes_read_local_times_and_people(live_server, desk, camera, post_obs, make_user,
                                                clock, lang):
    """The last-hour chart's time axis reads HH:MM, the last-day chart's hours with the day
    (in the page's language) under the first tick and where the day changes, both in the
    scenic areas' time; the value axes count people in whole numbers."""
    import re
    from pathlib import Path
    for step in range(24 * 6 + 1):                   # a day of 10-minute readings, 0-6 people
        post_obs(people=step % 7, areas={"path": step % 7})
        clock.advance(seconds=600)
    log_in(desk, live_server, make_user("staff"))
    desk.goto(live_server + f"/crowd?lang={lang}")
    for w in ("hour", "day"):
        desk.wait_for_selector(f"#trend-{w}[data-chart=uplot][data-points]", state="attached",
                               timeout=10000)
    axes = desk.evaluate("""() => Object.fromEntries(['hour', 'day'].map(w => {
        const u = document.querySelector('#trend-' + w).uplot;
        return [w, {x: u.axes[0]._values, y: u.axes[1]._values}];
    }))""")
    shots = Path(__file__).resolve().parents[2] / "test-output" / "crowd"
    shots.mkdir(parents=True, exist_ok=True)
    desk.locator("#trend-h").scroll_into_view_if_needed()
    desk.screenshot(path=str(shots / f"trend-axes-{lang}.png"))
    day = r"\d{1,2}月\d{1,2}日" if lang == "zh" else r"[A-Z][a-z]{2} \d{1,2}"
    hour, whole_day = axes["hour"]["x"], axes["day"]["x"]
    assert len(hour) >= 3 and all(re.fullmatch(r"\d\d:\d\d", v) for v in hour), hour
    assert len(whole_day) >= 3, whole_day
    assert all(re.fullmatch(rf"\d\d:00(\n{day})?", v) for v in whole_day), whole_day
    assert "\n" in whole_day[0]                      # the day under the first tick
    # The clock is 10:00 in Tai'an: the day view spans the previous 10:00 to now, so its
    # ticks cross midnight once and name the new day there.
    assert sum("\n" in v for v in whole_day) == 2, whole_day
    # No forecast and no capacity lines in these charts: their legends name people only.
    for w in ("hour", "day"):
        assert desk.get_attribute(f"#trend-{w}", "data-legend") == ("人数" if lang == "zh"
                                                                   else "People")
        hidden = desk.evaluate(f"""() => [...document.querySelectorAll('#trend-{w} .u-legend .u-series')]
            .filter(r => r.style.display === 'none').length""")
        assert hidden == 5, hidden
    for w in ("hour", "day"):
        ys = axes[w]["y"]
        assert ys and all(re.fullmatch(r"\d[\d,]*", v) for v in ys), (w, ys)
