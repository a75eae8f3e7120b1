"""Reading a ticket photo with OpenCV (the round trip: qrcode → PNG/JPEG → OpenCV →
scan → allow), and the staff pages: handheld gate, audit, gate creation."""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import qrcode
from PIL import Image, ImageFilter

from gates import services as gates
from gates_helpers import scan
from testkit import csrf_of

ULTRA_ASSETS = Path(__import__("ultralytics").__file__).parent / "assets"


def qr_png(text: str, **kw) -> bytes:
    img = qrcode.make(text, box_size=kw.get("box", 6), border=4).convert("L")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def screenshot_jpeg(text: str) -> bytes:
    """A phone screenshot: the QR small on a larger page, slightly rotated, JPEG."""
    page = Image.new("L", (1170, 2532), 235)
    code = Image.open(io.BytesIO(qr_png(text, box=5))).rotate(4, expand=True, fillcolor=235)
    page.paste(code, (200, 900))
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    buf = io.BytesIO()
    page.convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


def upload(client, data: bytes, token, name="ticket.png"):
    return client.post("/api/gate/photo", data={"photo": (io.BytesIO(data), name)},
                       headers={"X-CSRF-Token": token}, content_type="multipart/form-data")


def handheld_scan(client, token, gate_id, **body):
    body.setdefault("nonce", uuid.uuid4().hex)
    return client.post("/api/gate/handheld-scan", json={"gate_id": gate_id, **body},
                       headers={"X-CSRF-Token": token})


def test_photo_round_trip_to_an_allow(client, db, clock, login, make_gate, sell):
    gate, _ = make_gate()
    (_t, code, _), (_t2, code2, _) = sell(n=2)
    login("staff")
    token = csrf_of(client)
    r = upload(client, qr_png(code), token)
    assert r.status_code == 200 and r.get_json()["code"] == code
    r = handheld_scan(client, token, gate.id, code=r.get_json()["code"], method="photo")
    assert r.get_json()["result"] == "allow"
    # A blurred, rotated screenshot as a JPEG.
    r = upload(client, screenshot_jpeg(code2), token, "shot.jpg")
    assert r.status_code == 200 and r.get_json()["code"] == code2
    row = db.execute("SELECT method, source FROM gate_scans").fetchone()
    assert tuple(row) == ("photo", "handheld")
    assert gates.people_inside(db, "kongmiao", clock) == 1


def test_bad_photos_get_clear_errors(client, login):
    login("staff")
    token = csrf_of(client)
    r = upload(client, b"definitely not an image", token)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_image"
    r = upload(client, b"", token)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_image"
    r = upload(client, (ULTRA_ASSETS / "bus.jpg").read_bytes(), token, "bus.jpg")
    assert r.status_code == 422 and r.get_json()["error"] == "no_qr_found"
    huge = io.BytesIO()
    Image.new("1", (10000, 10000)).save(huge, "PNG")     # a few KB, 100 megapixels
    r = upload(client, huge.getvalue(), token)
    assert r.status_code == 413 and r.get_json()["error"] == "image_too_large"
    # A truncated PNG: the header reads, the pixels do not.
    png = qr_png("hello")
    r = upload(client, png[: len(png) // 2], token)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_image"
    r = client.post("/api/gate/photo", data={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400 and r.get_json()["error"] == "bad_image"
    r = upload(client, b"x" * (9 * 1024 * 1024), token)
    assert r.status_code == 413
    r = client.post("/api/gate/photo", data={"photo": (io.BytesIO(png), "a.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error"] == "csrf_failed"


def test_photo_and_handheld_need_a_staff_session(client, make_gate):
    gate, gate_token = make_gate()
    # A valid CSRF token of an anonymous session: only the role guard can refuse now.
    token = csrf_of(client)
    r = upload(client, qr_png("hello"), token)
    assert r.status_code == 401 and r.get_json()["error"] == "login_required"
    r = client.post("/api/gate/handheld-scan", json={"gate_id": gate.id, "code": "x",
                                                     "nonce": "n"},
                    headers={"Authorization": f"Bearer {gate_token}"})
    assert r.status_code == 401


def test_handheld_scan_checks_its_gate(client, login, make_gate, sell):
    gate, _ = make_gate(direction="entry")
    (_t, code, doc), = sell()
    login("staff")
    token = csrf_of(client)
    for bad in (None, "1", True, 999):
        r = handheld_scan(client, token, bad, code=code)
        assert r.status_code == 404 and r.get_json()["error"] == "unknown_gate"
    r = handheld_scan(client, token, gate.id, code=code, direction="exit")
    assert r.status_code == 400 and r.get_json()["error"] == "direction_not_allowed"
    r = handheld_scan(client, token, gate.id, document=doc)
    assert r.get_json()["result"] == "allow"


def test_handheld_page_lists_gates_in_both_languages(client, login, make_gate):
    assert client.get("/gates/handheld").status_code == 302
    login("staff")
    html = client.get("/gates/handheld").get_data(as_text=True)
    assert "手持检票" in html and "jsQR.js" in html
    make_gate(name="South gate 1")
    html = client.get("/gates/handheld?lang=en").get_data(as_text=True)
    assert "Handheld ticket check" in html and "South gate 1" in html
    assert '"already_inside": {"en": "Already inside", "zh":' in html.replace("\\u", "u") or \
        "Already inside" in html


def test_audit_page_lists_denied_scans_with_masked_holders(client, login, make_gate, sell):
    gate, tok = make_gate(name="North <b>gate</b>")
    (_t, code, doc), = sell()
    scan(client, tok, code)
    scan(client, tok, code)
    scan(client, tok, document=doc)
    scan(client, tok, "junk")
    login("staff")
    html = client.get("/gates/audit").get_data(as_text=True)
    assert html.count('class="denied"') == 3
    assert "已入园，请勿重复刷票" in html and "无效二维码" in html
    assert doc not in html and doc[:4] + "*" * 10 + doc[-4:] in html
    assert "North &lt;b&gt;gate&lt;/b&gt;" in html and "<b>gate</b>" not in html
    html = client.get("/gates/audit?site=kongfu").get_data(as_text=True)
    assert html.count('class="denied"') == 0
    assert client.get("/gates/audit?site=atlantis").status_code == 404
    # The console links here.
    assert "/gates/audit" in client.get("/console").get_data(as_text=True)


def test_admin_creates_a_gate_and_sees_its_token_once(client, login, db, sell):
    login("admin")
    token = csrf_of(client, "/gates/audit")
    r = client.post("/gates/new", data={"site": "kongmiao", "name": "West 2",
                                        "direction": "both", "csrf_token": token})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    gate_token = re.search(r'<code id="token"[^>]*>([^<]+)</code>', r.get_data(as_text=True)).group(1)
    (_t, code, _), = sell()
    assert scan(client, gate_token, code).get_json()["result"] == "allow"
    stored = "\n".join(str(tuple(x)) for x in db.execute("SELECT * FROM api_tokens"))
    assert gate_token not in stored
    for data, status, error in [
            ({"site": "atlantis", "name": "X", "direction": "both"}, 404, "unknown_site"),
            ({"site": "kongmiao", "name": "", "direction": "both"}, 400, "bad_gate_name"),
            ({"site": "kongmiao", "name": "Y", "direction": "up"}, 400, "bad_direction"),
            ({"site": "kongmiao", "name": "West 2", "direction": "both"}, 409, "gate_exists")]:
        r = client.post("/gates/new?lang=en", data={**data, "csrf_token": token})
        assert r.status_code == status and error in r.get_data(as_text=True)


def test_staff_may_not_create_gates(client, login):
    login("staff")
    token = csrf_of(client, "/gates/audit")
    r = client.post("/gates/new", data={"site": "kongmiao", "name": "Z", "direction": "both",
                                        "csrf_token": token})
    assert r.status_code == 403


def test_console_opens_on_todays_figures(client, login, make_gate, sell, clock):
    _gate, token = make_gate()
    (_t, code, _), _second = sell(n=2)
    assert scan(client, token, code).get_json()["result"] == "allow"
    login("staff")
    html = client.get("/console?lang=en").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="([^"]+)" href="[^"]+">\s*<strong>([^<]+)</strong>', html))
    assert figures == {"ticketing.console.sold_today": "2", "gates.console.inside_now": "1",
                       "crowd.console.active_alerts": "0"}
    assert "Tickets for today" in html and "People inside now" in html
    assert html.index("data-figure") < html.index('class="tile"')      # figures first
    assert "今日门票" in client.get("/console?lang=zh").get_data(as_text=True)
