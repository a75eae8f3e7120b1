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
