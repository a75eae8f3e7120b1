"""The home page in a real browser, on a phone-sized screen."""
import pytest

from testkit import log_in_browser

pytestmark = pytest.mark.browser


def test_home_in_chinese_then_english(live_server, page):
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "欢迎来到泰山与曲阜三孔"
    cards = page.locator(".card")
    assert cards.count() == 5
    assert "泰山" in cards.first.inner_text()
    # fits a phone: no horizontal scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.click("a.lang-switch")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text().startswith("Welcome to Mount Tai")
    assert "Temple of Confucius" in page.content()


def test_login_form_and_console(live_server, page, make_user):
    log_in_browser(page, live_server, make_user("admin"))
    assert "管理后台" in page.locator("h1").inner_text()
    page.click("text=承载量设置")
    assert "LB/T 034-2014" in page.locator("h1").inner_text()


def test_accounts_page_sends_gates_to_the_gates_page(live_server, browser, make_user):
    """An administrator adding a device is offered workers only, and for a gate follows
    the link to the gates page's own form (site and direction), in either language."""
    from pathlib import Path
    from testkit import browser_page
    shots = Path(__file__).resolve().parents[2] / "test-output" / "accounts"
    shots.mkdir(parents=True, exist_ok=True)
    admin = make_user("admin")
    with browser_page(browser, 1024, 800) as desk:
        log_in_browser(desk, live_server, admin, then="/admin/accounts")
        for lang, link in (("zh", "在检票闸机页面添加闸机"), ("en", "Add gates on the ticket gates page")):
            desk.goto(f"{live_server}/admin/accounts?lang={lang}")
            devices = desk.locator("section.panel").nth(1)
            roles = devices.locator("select[name=role] option").evaluate_all(
                "os => os.map(o => o.value)")
            assert roles == ["worker"]
            desk.screenshot(path=str(shots / f"accounts-{lang}.png"), full_page=True)
            devices.locator(f"a:has-text('{link}')").click()
            desk.wait_for_url("**/gates/audit#new-gate")
            assert desk.locator("#new-gate").is_visible()
            assert desk.locator("form[action='/gates/new'] select[name=direction]").is_visible()
        desk.screenshot(path=str(shots / "gates-new-gate-en.png"))
