"""A visitor's day, end to end, in one real browser (Debian chromium through Playwright) on
a 360 px phone, in Chinese and English, against the app served over real HTTP.

A tourist opens the home page, books two holders for Mount Tai tomorrow and pays in the
sandbox; the QR codes on the order page are read back with OpenCV from a screenshot; the
next morning one code is admitted by the gate API once and then refused `already_inside`,
the other is typed on the handheld gate page (allow, then deny); the control room shows the
demo camera's count changing, raises an alert when a zone's capacity is set low, takes the
acknowledgement, and the site's sales pause and resume; the guide plays narration, answers
a typed question with a cited point and, once the offline pack is saved, still opens at
the address the home page links to, with its audio, with the network cut.

Every tourist page is checked to fit 360 px without sideways scrolling, and each view is
saved as a PNG under test-output/visitor-day/ (git-ignored) for a person to look at.

The camera is the one edge: the worker's observations are posted through the real ingest
API with the demo worker's token (the YOLO worker itself is tested in tests/crowd)."""
from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from core.clock import DEFAULT_TZ
from testkit import browser_page, log_in_browser, resident_id, wait_in_page

pytestmark = [pytest.mark.browser, pytest.mark.model]   # the guide's question runs the encoder

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "visitor-day"
PHONE = 360


@pytest.fixture
def day_app(app):
    """The app with what ./run.sh seeds: guide content, a demo gate per site, the demo
    camera and its worker's token; alerts without the debounce, the stream ticking fast."""
    from core.db import own_connection
    from core.domains import DOMAINS, domain_modules
    from guide import services as guide
    clock = app.extensions["scenic.clock"]
    with own_connection(app.config) as db:
        guide.load_content(db, clock=clock)
        for mod in domain_modules("demo", DOMAINS):
            with app.app_context():
                mod.seed(app, db, {})
    app.config.update(CROWD_DEBOUNCE_SECONDS=0, CROWD_SSE_INTERVAL=0.3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return app


def fits_phone(page, what: str) -> None:
    """No sideways scrolling on a 360 px screen; names what sticks out when it fails."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate("""(w) => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8)""", PHONE)
    assert width <= PHONE, f"{what}: {width} px wide on a {PHONE} px screen: {wide}"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def tourist_page(page, name: str) -> None:
    fits_phone(page, name)
    shot(page, name)


def qr_codes(page) -> list[str]:
    """Each valid ticket's QR on the order page, read from a screenshot with OpenCV."""
    detector = cv2.QRCodeDetector()
    codes = []
    for qr in page.locator(".tk-ticket[data-status=valid] .tk-qr svg").all():
        img = cv2.imdecode(np.frombuffer(qr.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
        # As a phone camera sees it: a white quiet zone around, modules a few pixels wide.
        img = cv2.copyMakeBorder(img, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=255)
        text = ""
        for scale in (1, 2, 3):
            big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
            text, _points, _ = detector.detectAndDecode(big)
            if text:
                break
        assert text, "OpenCV found no QR code in the ticket's image"
        codes.append(text)
    return codes


def scan(base: str, token: str, code: str) -> dict:
    resp = requests.post(base + "/api/gate/scan", timeout=10,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"code": code, "direction": "entry", "nonce": uuid.uuid4().hex})
    assert resp.status_code == 200, resp.text
    return resp.json()


def book_two_holders_tomorrow(page, base: str) -> str:
    """From the home page to a paid order; returns the order page's address."""
    page.goto(base + "/")
    tourist_page(page, "01-home-zh")
    page.click("#site-taishan a[href='/tickets/taishan']")
    page.click("a.tk-day[href*='date=2026-07-16']")
    page.wait_for_url("**date=2026-07-16")
    tourist_page(page, "02-book-days-zh")
    page.locator("a.tk-slot:has-text('05:00–08:00')").first.click()
    page.wait_for_selector("#holders")
    page.fill("input[name=holder-0-name]", "张三")
    page.fill("input[name=holder-0-document_number]", resident_id("19900101"))
    page.click("text=+ 添加持票人")
    page.fill("input[name=holder-1-name]", "李四")
    page.fill("input[name=holder-1-document_number]", resident_id("19920202"))
    tourist_page(page, "03-book-form-zh")
    page.click("button[type=submit]:has-text('提交订单')")     # pow.js solves the ALTCHA first
    page.wait_for_url("**/ticketing/sandbox/pay/**", timeout=30000)
    assert "¥230.00" in page.locator(".tk-amount").inner_text()
    tourist_page(page, "04-sandbox-pay-zh")
    page.click("#sandbox-pay")
    page.wait_for_url("**/tickets/orders/**")
    assert page.locator(".tk-status").get_attribute("data-status") == "paid"
    assert page.locator(".tk-ticket[data-status=valid] .tk-qr svg").count() == 2
    tourist_page(page, "05-order-zh")
    return page.url


def english_pages(page, base: str, order_url: str) -> None:
    """The tourist's pages in English fit the phone too (the form with both holders open)."""
    page.goto(base + "/?lang=en")
    tourist_page(page, "11-home-en")
    page.goto(base + "/tickets/taishan?date=2026-07-16")
    page.locator("a.tk-slot").first.click()
    page.wait_for_selector("#holders")
    page.click("text=+ Add a holder")
    assert page.locator("input[name=holder-1-name]").is_visible()
    tourist_page(page, "12-book-form-en")
    page.goto(order_url)
    assert "Paid" in page.locator(".tk-status").inner_text()
    tourist_page(page, "13-order-en")


def at_the_gates(browser, base: str, instance: Path, codes: list[str], staff) -> None:
    """The gate API admits the first ticket once; the handheld page the second, once."""
    gate_token = (instance / "gate-taishan.token").read_text().strip()   # the demo gate
    first = scan(base, gate_token, codes[0])
    assert first["result"] == "allow", first
    again = scan(base, gate_token, codes[0])
    assert (again["result"], again["reason"]) == ("deny", "already_inside")
    with browser_page(browser, PHONE, 740) as hand:
        log_in_browser(hand, base, staff, then="/gates/handheld")
        gate = hand.locator("#gate option:has-text('泰山 · Demo gate')").get_attribute("value")
        hand.select_option("#gate", gate)
        for verdict in ("allow", "deny"):
            hand.fill("#manual-code", codes[1])
            hand.click("#manual button[type=submit]")
            hand.wait_for_selector(f"#verdict.{verdict}")
            shot(hand, f"21-handheld-{verdict}")
        assert "已入园" in hand.inner_text("#verdict-reason")
        assert hand.inner_text("#inside") == "2"


def set_capacity(tab, base: str, kind: str, target: str, value: str) -> None:
    """An administrator's override on /admin/capacity (field "at once")."""
    tab.goto(base + "/admin/capacity")
    form = tab.locator(f"form.row-form:has(input[name=kind][value={kind}])"
                        f":has(input[name=target_id][value={target}])")
    if kind == "site":
        form.locator("select[name=field]").select_option("instant")
    form.locator("input[name=value]").fill(value)
    form.locator("input[name=reason]").fill("visitor-day test")
    form.locator("button[type=submit]").click()
    tab.wait_for_selector(".flash")


def control_room(browser, base: str, instance: Path, admin) -> None:
    """Today's figures, the demo camera's count, a zone alert acknowledged, sales paused by
    the monitor and resumed, as the tourist's booking page shows."""
    worker = (instance / "crowd-worker.token").read_text().strip()   # the demo worker's

    def camera_sees(n: int) -> None:
        resp = requests.post(base + "/api/crowd/observations", timeout=10,
                             headers={"Authorization": f"Bearer {worker}"},
                             json={"camera_id": "demo-path", "status": "online", "people": n,
                                   "areas": {"path": n}})
        assert resp.status_code == 201, resp.text

    def over_capacity(kind: str, target: str, capacity: int) -> None:
        """A small capacity at once (set in another tab), then the camera sees one more."""
        set_capacity(admin_tab, base, kind, target, str(capacity))
        camera_sees(capacity + 1)

    with browser_page(browser, 1280, 900) as desk:
        log_in_browser(desk, base, admin)
        figures = dict(zip(desk.locator("[data-figure]").evaluate_all(
            "els => els.map(e => e.dataset.figure)"),
            desk.locator("[data-figure] strong").all_inner_texts()))
        assert figures == {"ticketing.console.sold_today": "2", "gates.console.inside_now": "2",
                           "crowd.console.active_alerts": "0"}
        shot(desk, "31-console")
        admin_tab = desk.context.new_page()
        desk.goto(base + "/crowd")
        desk.wait_for_selector("#conn:has-text('实时更新')", timeout=10000)
        counted = "[data-camera='demo-path'] li[data-k='counted']"
        for n in (2, 3):
            camera_sees(n)
            desk.wait_for_selector(f"{counted}:has-text('counted: {n}')", timeout=5000)
        shot(desk, "32-control-room-count")
            # The zone under the camera gets a tiny capacity.
        over_capacity("zone", "qianyuan", 2)
        # Named as the catalog names the place, in the page's language, never by its id.
        zone_alert = "#alerts li[data-alert]:has-text('区域 棂星门—大中门前院（古柏区）')"
        alert_text = desk.wait_for_selector(zone_alert, timeout=5000).inner_text()
        assert "严重" in alert_text and "qianyuan" not in alert_text
        shot(desk, "33-control-room-alert")
        desk.click(f"{zone_alert} button.ack")
        desk.wait_for_selector(f"{zone_alert}:has-text('已确认：{admin.username}')", timeout=5000)
        shot(desk, "34-control-room-acknowledged")
        # The whole Temple of Confucius over its capacity: the monitor pauses its sales, and
        # resumes them once the crowd has gone; the tourist's booking page follows.
        # 6: the least the site's zones fit in (the catalog refuses less), qianyuan's 2 included.
        over_capacity("site", "kongmiao", 6)
        paused_badge = "#sites th:has-text('孔庙') .badge:has-text('暂停售票')"
        desk.wait_for_selector(paused_badge, timeout=5000)
        shot(desk, "35-control-room-sales-paused")
        with browser_page(browser, PHONE, 740) as tourist:
            tourist.goto(base + "/tickets/kongmiao")
            assert "暂停售票" in tourist.locator("a.tk-day.chosen").inner_text()
            tourist_page(tourist, "36-book-paused-zh")
            camera_sees(0)
            desk.wait_for_selector(paused_badge, state="detached", timeout=5000)
            tourist.reload()
            assert "余票" in tourist.locator("a.tk-day.chosen").inner_text()
        shot(desk, "37-control-room-sales-resumed")


def guide_day(browser, base: str) -> None:
    """The guide from the home page's link: narration plays, a typed question is answered
    with its point cited, and after the offline pack the same addresses open offline."""
    with browser_page(browser, PHONE, 740) as page:
        page.goto(base + "/")
        page.click("#site-taishan a[href='/guide/taishan']")
        page.wait_for_url("**/guide/taishan")
        wait_in_page(page,
                     "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)")
        tourist_page(page, "41-guide-zh")
        page.locator(".gitem[href*='/poi/']").first.click()
        page.wait_for_selector("[data-audio]")
        played = page.evaluate("""() => { const a = document.querySelector('[data-audio]');
            return a.play().then(() => new Promise(r => setTimeout(() => r(a.currentTime), 1500))); }""")
        assert played > 0.3
        tourist_page(page, "42-guide-poi-zh")
        page.fill("#ask-q", "泰山的主峰叫什么？")
        page.click(".gask-form button[type=submit]")
        page.wait_for_selector(".gask-out .answer", timeout=60000)
        answer = page.inner_text(".gask-out .answer-text")
        assert "玉皇顶" in answer and "1545" in answer
        # The point quoted is cited with its link (the summit, or the mountain's introduction).
        cited = page.locator(".gask-out .answer a[href*='/guide/taishan/poi/']")
        assert cited.count() >= 1 and cited.first.inner_text() in answer
        tourist_page(page, "43-guide-answer-zh")
        page.goto(base + "/guide/taishan")
        page.click("[data-offline]")
        page.wait_for_selector("[data-offline-status][data-ready]", timeout=120000)
        page.context.set_offline(True)
        for address in ("/guide/taishan", "/guide/taishan?lang=zh"):
            resp = page.goto(base + address)
            assert resp.status == 200, address
            assert "泰山" in page.locator("h1").inner_text()
        page.reload()                                   # reopening the same address
        assert "泰山" in page.locator("h1").inner_text()
        page.locator(".gitem[href*='/poi/']").first.click()
        src = page.get_attribute("[data-audio]", "src")
        size = page.evaluate("(u) => fetch(u).then(r => r.ok ? r.arrayBuffer() : null)"
                             ".then(b => b ? b.byteLength : 0)", src)
        assert size > 10000
        tourist_page(page, "44-guide-offline-zh")
        page.context.set_offline(False)
        page.goto(base + "/guide/taishan?lang=en")
        tourist_page(page, "45-guide-en")
        page.locator(".gitem[href*='/poi/']").first.click()
        tourist_page(page, "46-guide-poi-en")


def test_a_visitors_day(day_app, live_server, browser, clock, make_user):
    instance = Path(day_app.instance_path)
    with browser_page(browser, PHONE, 740) as page:
        order_url = book_two_holders_tomorrow(page, live_server)
        codes = qr_codes(page)
        assert len(set(codes)) == 2
        english_pages(page, live_server, order_url)
    clock.set(datetime(2026, 7, 16, 7, 20, tzinfo=DEFAULT_TZ))   # the next morning
    at_the_gates(browser, live_server, instance, codes, make_user("staff"))
    control_room(browser, live_server, instance, make_user("admin"))
    guide_day(browser, live_server)
