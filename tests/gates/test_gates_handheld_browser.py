"""The handheld gate page in a real browser (Debian chromium through Playwright) on a
phone-sized screen: typing a code, an ID number, and the camera through jsQR (chromium's
fake camera plays a video of a ticket QR)."""
from __future__ import annotations

import qrcode
import pytest

from testkit import CHROMIUM, CHROMIUM_ARGS, log_in_browser
from gates import services as gates

pytestmark = pytest.mark.browser


def log_in(page, live_server, user):
    log_in_browser(page, live_server, user, then="/gates/handheld")


def test_typing_codes_and_id_numbers(live_server, page, make_user, make_gate, sell, db, clock):
    make_gate(name="South gate 1")
    (_t, code, _), (_t2, _c2, doc2) = sell(n=2)
    log_in(page, live_server, make_user("staff"))
    assert page.locator("#gate option").inner_text().endswith("South gate 1")
    page.fill("#manual-code", code)
    page.click("#manual button[type=submit]")
    page.wait_for_selector("#verdict.allow")
    assert "请通行" in page.inner_text("#verdict-main")
    assert "Welcome" in page.inner_text("#verdict-main")
    assert page.inner_text("#inside") == "1"
    assert "张*明" in page.inner_text("#verdict-ticket")
    page.fill("#manual-code", code)
    page.click("#manual button[type=submit]")
    page.wait_for_selector("#verdict.deny")
    assert "已入园" in page.inner_text("#verdict-reason")
    assert "Already inside" in page.inner_text("#verdict-reason")
    # An ID number typed in (lower-case x and spaces are fine).
    page.fill("#manual-code", doc2[:6] + " " + doc2[6:].lower())
    page.click("#manual button[type=submit]")
    page.wait_for_selector("#verdict.allow")
    assert page.inner_text("#inside") == "2"
    assert gates.people_inside(db, "kongmiao", clock) == 2
    # Fits a phone: no horizontal scrolling.
    wide = page.evaluate("""Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName + "#" + e.id + "." + e.className + ":" + Math.round(e.getBoundingClientRect().right))""")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), wide


def _y4m(path, text, size=480):
    """A short Y4M video (what chromium's fake camera plays) of a QR code."""
    img = qrcode.make(text, box_size=3, border=4).convert("L")
    frame = img.resize((min(size - 40, img.width * 1),) * 2)
    from PIL import Image
    canvas = Image.new("L", (size, size), 255)
    canvas.paste(frame, ((size - frame.width) // 2, (size - frame.height) // 2))
    y = canvas.tobytes()
    uv = bytes([128]) * ((size // 2) * (size // 2))
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{size} H{size} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            fh.write(b"FRAME\n" + y + uv + uv)


def test_camera_scan_through_jsqr(live_server, browser, make_user, make_gate, sell, tmp_path,
                                  db, clock):
    make_gate()
    (_t, code, _), = sell()
    video = tmp_path / "ticket.y4m"
    _y4m(video, code)
    cam = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={video}"])
    try:
        context = cam.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  permissions=["camera"])
        page = context.new_page()
        log_in(page, live_server, make_user("staff"))
        # Linux chromium has no BarcodeDetector: this exercises the vendored jsQR path.
        assert page.evaluate("'BarcodeDetector' in window") is False
        assert page.evaluate("typeof window.jsQR") == "function"
        page.click("#camera-start")
        page.wait_for_selector("#verdict.allow", timeout=15000)
        assert page.inner_text("#inside") == "1"
        # The code stays in view: it is not scanned again and again.
        page.wait_for_timeout(1500)
        assert db.execute("SELECT count(*) FROM gate_scans").fetchone()[0] == 1
        page.click("#camera-stop")
        context.close()
    finally:
        cam.close()
    assert gates.people_inside(db, "kongmiao", clock) == 1
