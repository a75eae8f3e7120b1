"""The booking flow in a real browser (Debian chromium via Playwright) on a phone screen."""
import pytest
from testkit import resident_id

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_book_two_holders_pay_and_see_qr_codes(live_server, page):
    page.goto(live_server + "/tickets/kongmiao?date=2026-07-16")
    assert "孔庙" in page.locator("h1").inner_text()
    assert _no_sideways_scroll(page)
    page.locator("a.tk-slot").first.click()
    page.select_option("select[name=product_id]", "kongmiao")
    page.fill("input[name=holder-0-name]", "张三")
    page.fill("input[name=holder-0-document_number]", resident_id("19900101"))
    # the second holder's fields appear only when asked for (book.js)
    assert not page.locator("input[name=holder-1-name]").is_visible()
    page.click("text=+ 添加持票人")
    page.fill("input[name=holder-1-name]", "李四")
    page.fill("input[name=holder-1-document_number]", resident_id("19580101"))
    page.click("button[type=submit]:has-text('提交订单')")
    page.wait_for_url("**/ticketing/sandbox/pay/**")
    assert "¥80.00" in page.locator(".tk-amount").inner_text()  # the senior goes free
    page.click("#sandbox-pay")
    page.wait_for_url("**/tickets/orders/**")
    assert page.locator(".tk-ticket[data-status=valid] svg").count() == 2
    assert page.locator(".tk-status").get_attribute("data-status") == "paid"
    assert _no_sideways_scroll(page)
    # refund one holder: its QR code disappears
    page.locator(".tk-ticket").nth(1).locator("button:has-text('退票')").click()
    page.wait_for_selector(".tk-ticket[data-status=refunded]")
    assert page.locator(".tk-ticket[data-status=valid] svg").count() == 1


def test_bad_id_number_is_explained_in_english(live_server, page):
    page.goto(live_server + "/tickets/konglin?date=2026-07-16&lang=en")
    page.locator("a.tk-slot").first.click()
    page.fill("input[name=holder-0-name]", "Wang Wu")
    number = resident_id("19900101")
    page.fill("input[name=holder-0-document_number]", number[:-1] + ("1" if number[-1] != "1" else "2"))
    page.click("button[type=submit]")
    alert = page.locator(".tk-error")
    assert alert.get_attribute("data-code") == "id_check_digit"
    assert "check digit" in alert.inner_text()
