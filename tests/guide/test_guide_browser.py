"""The guide in a real browser on a phone-sized screen: large text, resume, near me with
its fallback, asking a question, and the offline pack working with the network cut."""
import pytest

from testkit import wait_in_page

pytestmark = [pytest.mark.browser, pytest.mark.model]  # asks a question: the encoder runs


@pytest.fixture
def phone(browser):
    contexts = []

    def make(**kw):
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", **kw)
        contexts.append(ctx)
        return ctx.new_page()
    yield make
    for ctx in contexts:
        ctx.close()


def test_point_page_large_text_resume_and_ask(guide_app, live_server, phone):
    page = phone()
    url = live_server + "/guide/kongfu/poi/kongfu-datang?lang=zh"
    page.goto(url)
    assert "孔府大堂" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.click("[data-large-text]")
    assert "large-text" in page.evaluate("document.body.className")
    page.evaluate("localStorage.setItem('guide:kongfu-datang:zh:long', '4')")
    page.reload()
    assert "large-text" in page.evaluate("document.body.className")       # remembered
    page.wait_for_selector("[data-resumed]:not([hidden])", timeout=30000)
    assert page.evaluate("document.querySelector('[data-audio]').currentTime") >= 3.9
    page.select_option("[data-speed]", "1.5")
    assert page.evaluate("document.querySelector('[data-audio]').playbackRate") == 1.5
    page.fill("#ask-q", "衍圣公在哪里审理案件？")
    page.click(".gask-form button[type=submit]")
    page.wait_for_selector(".gask-out .answer", timeout=60000)
    out = page.locator(".gask-out .answer")
    assert "孔府大堂" in out.inner_text() and out.get_attribute("role") == "status"
    assert out.locator("audio").count() == 1


def test_near_me_uses_position_when_precise_and_falls_back_when_not(guide_app, live_server,
                                                                    phone):
    precise = phone(geolocation={"latitude": 35.6165, "longitude": 116.9847, "accuracy": 12},
                    permissions=["geolocation"])
    precise.goto(live_server + "/guide/konglin?lang=en")
    precise.click("[data-near-btn]")
    link = precise.locator("[data-near-out] a")
    link.wait_for(timeout=10000)
    assert "Tomb of Confucius" in link.inner_text()
    rough = phone(geolocation={"latitude": 35.6165, "longitude": 116.9847, "accuracy": 900},
                  permissions=["geolocation"])
    rough.goto(live_server + "/guide/konglin?lang=en")
    rough.click("[data-near-btn]")
    wait_in_page(rough, "() => document.querySelector('[data-near-out]').textContent.length > 0",
                 timeout=30)
    assert "signpost" in rough.locator("[data-near-out]").inner_text()
    assert rough.evaluate("document.activeElement.name") == "number"
    from core.db import connect
    from guide import services
    db = connect(guide_app.config["DATABASE"])
    try:
        number = services.get_poi(db, "konglin-kongzimu").number
    finally:
        db.conn.close()
    rough.fill("input[name=number]", str(number))
    rough.click(".gnear button[type=submit]")
    rough.wait_for_url("**/guide/konglin/poi/konglin-kongzimu?lang=en")


def test_offline_pack_serves_pages_and_audio_without_network(guide_app, live_server, phone,
                                                             make_user, clock):
    page = phone()
    # Mandarin: espeak-ng makes the pack's audio in well under a second a file.
    page.goto(live_server + "/guide/daimiao?lang=zh")
    wait_in_page(page, "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)")
    page.click("[data-offline]")
    page.wait_for_selector("[data-offline-status][data-ready]", timeout=120000)
    first = [k for k in page.evaluate("caches.keys()") if k.startswith("guide-daimiao-zh-")]
    assert len(first) == 1
    # Staff edit a text: saving the pack again replaces the old one, it does not pile up.
    from core.db import connect
    from guide import services
    from guide_helpers import poi_form
    db = connect(guide_app.config["DATABASE"])
    try:
        poi = services.get_poi(db, "daimiao-hanbaiyuan")
        services.update_poi(db, poi.id, poi_form(poi, short_zh=poi.short["zh"] + "（已更新）"),
                            user=make_user("staff"), clock=clock)
    finally:
        db.conn.close()
    page.evaluate("document.querySelector('[data-offline-status]').removeAttribute('data-ready')")
    page.click("[data-offline]")
    page.wait_for_selector("[data-offline-status][data-ready]", timeout=120000)
    second = [k for k in page.evaluate("caches.keys()") if k.startswith("guide-daimiao-zh-")]
    assert len(second) == 1 and second != first
    page.context.set_offline(True)
    page.goto(live_server + "/guide/daimiao/poi/daimiao-tiankuangdian?lang=zh")
    assert "天贶殿" in page.locator("h1").inner_text()
    src = page.get_attribute("[data-audio]", "src")
    size = page.evaluate("(u) => fetch(u).then(r => r.ok ? r.arrayBuffer() : null)"
                         ".then(b => b ? b.byteLength : 0)", src)
    assert size > 10000
    missing = page.goto(live_server + "/guide/taishan?lang=zh")
    assert missing.status == 503 and "offline" in page.content().lower()


def test_a_scene_plays_its_parts_in_order_and_cites_each(guide_app, gdb, clock, live_server,
                                                         phone):
    from guide_helpers import load_with_scene
    first, second = load_with_scene(gdb, clock)
    page = phone()
    page.goto(live_server + "/guide/kongmiao/poi/kongmiao-test-scene?lang=en")
    parts = page.locator("[data-transcript=scene] li")
    assert parts.count() == 3
    assert "Welcoming the spirit" in parts.nth(0).inner_text()
    assert parts.nth(1).locator("sup a").get_attribute("href") == f"#src-{second}"
    page.click("[data-track=scene]")
    src = "document.querySelector('[data-audio]').getAttribute('src')"
    assert "/kongmiao-test-scene/en/part1" in page.evaluate(src)
    for n in (2, 3):
        page.evaluate("document.querySelector('[data-audio]').dispatchEvent(new Event('ended'))")
        assert f"/kongmiao-test-scene/en/part{n}" in page.evaluate(src)
        assert parts.nth(n - 1).get_attribute("aria-current") == "step"
    audio = page.request.get(live_server + page.evaluate(src).split("?")[0].replace(
        live_server, ""))
    assert audio.status == 200 and audio.headers["content-type"] == "audio/wav"
