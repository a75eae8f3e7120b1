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
    page.check("input[name=product_id][value=kongmiao]")
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


# Each ticket type's name and price as laid out: wholly inside the phone's width and not
# clipped by its box (a select cut "Mount Tai ticket (incl. Dai Temple…" and its price off).
_PRODUCTS_CUT = """(w) => Array.from(document.querySelectorAll('label.tk-product')).flatMap(l =>
    Array.from(l.querySelectorAll('span, .tk-price')).filter(e => {
        const r = e.getBoundingClientRect();
        return r.right > w || r.left < 0 || e.scrollWidth > e.clientWidth + 1 || !r.width;
    }).map(e => e.textContent))"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_ticket_types_and_their_price_fit_a_phone(live_server, browser, lang):
    """At 360 px every ticket type shows its whole name with its price beside it, the
    choice is posted as before, and nothing scrolls sideways."""
    from pathlib import Path
    from testkit import browser_page
    shots = Path(__file__).resolve().parents[2] / "test-output" / "booking"
    shots.mkdir(parents=True, exist_ok=True)
    names = {"zh": ("泰山门票（含岱庙）", "三孔联票"),
             "en": ("Mount Tai ticket (incl. Dai Temple)", "Three Confucian Sites combined ticket")}
    with browser_page(browser, 360, 740) as page:
        for site, prices, name in (("taishan", {"taishan-standard": "115.00"}, names[lang][0]),
                                   ("kongmiao", {"kongmiao": "80.00", "sankong-combined": "140.00"},
                                    names[lang][1])):
            page.goto(f"{live_server}/tickets/{site}?date=2026-07-16&lang={lang}")
            page.locator("a.tk-slot").first.click()
            page.wait_for_selector("#holders")
            page.locator("fieldset.tk-products").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"ticket-type-{site}-{lang}.png"))
            assert page.evaluate(_PRODUCTS_CUT, 360) == []
            for product, price in prices.items():
                label = page.locator(f"label.tk-product:has(input[value={product}])")
                assert price in label.locator(".tk-price").inner_text()
                assert label.locator(".tk-price").is_visible()
            assert name in page.locator("fieldset.tk-products").inner_text()
            assert page.locator("input[name=product_id]:checked").count() == 1
            assert _no_sideways_scroll(page)
