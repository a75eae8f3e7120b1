"""The JSON API and the pages through the Flask test client (real SQLite, real app)."""
import csv
import io
import json
import re


from testkit import csrf_of, generous_limits, pow_for, resident_id, solve_pow
from tk_helpers import holder

from admission import codes
from ticketing.providers import SIGNATURE_HEADER


def _slot(client, site="kongmiao", day="2026-07-16"):
    data = client.get(f"/api/ticketing/sites/{site}/availability?date={day}").get_json()
    return next(s for s in data["slots"] if s["left"])


def _order(client, holders=None, site="kongmiao", product="kongmiao", day="2026-07-16", **extra):
    slot = _slot(client, site, day)
    body = {"site_id": site, "date": day, "slot_id": slot["slot_id"], "product_id": product,
            "holders": holders or [holder()], "altcha": pow_for(client), **extra}
    return client.post("/api/ticketing/orders", json=body)


def _secret(order) -> dict:
    return {"X-Order-Secret": order["secret"]}


def test_public_key_products_calendar(client, app):
    key = client.get("/api/tickets/public-key").get_json()
    assert key["alg"] == "Ed25519" and len(bytes.fromhex(key["public_key_hex"])) == 32
    products = client.get("/api/ticketing/products?site=taishan").get_json()["products"]
    assert [p["id"] for p in products] == ["taishan-standard"]
    assert products[0]["price_fen"] == 11500 and products[0]["source"] == "S10"
    cal = client.get("/api/ticketing/sites/kongmiao/calendar").get_json()["days"]
    assert len(cal) == 7 and cal[0]["date"] == "2026-07-15" and cal[1]["left"] > 10000
    assert client.get("/api/ticketing/sites/nowhere/calendar").get_json()["error"] == "unknown_site"
    assert client.get("/api/ticketing/sites/kongmiao/availability?date=15-07-2026").get_json()["error"] == "bad_date"


def test_a_day_whose_slots_are_over_reads_closed_not_sold_out(client, app, clock):
    from datetime import datetime
    from core.clock import DEFAULT_TZ
    clock.set(datetime(2026, 7, 15, 23, 0, tzinfo=DEFAULT_TZ))   # Kong temple shut at 17:30
    cal = client.get("/api/ticketing/sites/kongmiao/calendar").get_json()["days"]
    assert (cal[0]["over"], cal[0]["left"]) == (True, 0)
    assert (cal[1]["over"], cal[1]["open"]) == (False, True)
    html = client.get("/tickets/kongmiao?lang=zh").get_data(as_text=True)
    today = html.split('class="tk-count">', 1)[1].split("</span>", 1)[0]
    assert today == "不开放"
    assert "已售罄" not in html
    html = client.get("/tickets/kongmiao?lang=en").get_data(as_text=True)
    assert html.split('class="tk-count">', 1)[1].startswith("Closed")


def test_book_pay_scan_codes_over_the_api(client, app):
    number = resident_id("19850505")
    resp = _order(client, [holder(document_number=number)], expected_total_fen=8000,
                  idempotency_key="abc-12345678")
    assert resp.status_code == 201, resp.get_json()
    order = resp.get_json()
    assert order["status"] == "held"
    assert order["url"].endswith(f"/tickets/orders/{order['number']}/{order['secret']}")
    assert client.post(order["payment_start"], json={}).status_code == 401
    assert client.post(order["payment_start"], headers={"X-Order-Secret": "x" * 20}).status_code == 404
    pay = client.post(order["payment_start"], headers=_secret(order)).get_json()
    assert pay["checkout_url"].startswith("/ticketing/sandbox/pay/")
    assert number not in json.dumps(order) and order["tickets"][0]["document"].endswith(number[-4:])
    again = _order(client, [holder(document_number=number)], idempotency_key="abc-12345678")
    assert again.get_json()["number"] == order["number"] and "secret" not in again.get_json()
    ref = pay["reference"]
    assert client.post(f"/api/ticketing/sandbox/pay/{ref}", json={}).get_json()["outcome"] == "applied"
    assert client.post(order["payment_start"], headers=_secret(order)).get_json()["error"] == "not_payable"
    got = client.get(f"/api/ticketing/orders/{order['number']}", headers=_secret(order)).get_json()
    assert got["status"] == "paid"
    claim = codes.decode(got["tickets"][0]["code"],
                         bytes.fromhex(client.get("/api/tickets/public-key").get_json()["public_key_hex"]))
    assert claim.ticket_id == got["tickets"][0]["id"] and claim.sites == ("kongmiao",)
    wrong_last = "b" if order["secret"].endswith("a") else "a"     # always a different secret
    wrong = client.get(f"/api/ticketing/orders/{order['number']}",
                       headers={"X-Order-Secret": order["secret"][:-1] + wrong_last})
    assert wrong.status_code == 404 and wrong.get_json()["error"] == "order_not_found"
    # refund one holder via the API: its code goes on the revocation list
    r = client.post(f"/api/ticketing/orders/{order['number']}/refund",
                    headers=_secret(order)).get_json()
    assert r["status"] == "refunded"


def test_webhook_rejects_bad_signature_and_accepts_duplicates(client, app):
    h = holder()
    order = _order(client, [h]).get_json()
    ref = client.post(order["payment_start"], headers=_secret(order)).get_json()["reference"]
    body = json.dumps({"event_id": "EV1", "type": "payment.succeeded", "reference": ref,
                       "amount_fen": 8000}).encode()
    bad = client.post("/api/ticketing/payments/sandbox/notify", data=body,
                      headers={SIGNATURE_HEADER: "00" * 32, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "bad_signature"
    with app.app_context():
        from ticketing.view_helpers import provider
        with app.test_request_context():
            sig = provider().sign(body)
    for expected in ("applied", "duplicate"):
        ok = client.post("/api/ticketing/payments/sandbox/notify", data=body,
                         headers={SIGNATURE_HEADER: sig})
        assert ok.get_json()["outcome"] == expected


def test_bad_input_gets_stable_codes_never_500(client):
    cases = [
        ({}, "bad_date"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": "x"}, "bad_slot"),
        ({"site_id": "kongmiao", "date": "2026-07-14", "slot_id": 1, "product_id": "kongmiao",
          "holders": [holder()]}, "date_in_past"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 1, "product_id": "nope",
          "holders": [holder()]}, "unknown_product"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 1, "product_id": "kongmiao",
          "holders": "me"}, "bad_holders"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 1, "product_id": "kongmiao",
          "holders": [{"name": "A", "document_number": "123"}]}, "id_length"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 1, "product_id": "kongmiao",
          "holders": [holder()], "expected_total_fen": "abc"}, "bad_expected_total"),
        ({"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 99999, "product_id": "kongmiao",
          "holders": [holder()]}, "unknown_slot"),
    ]
    for body, code in cases:
        resp = client.post("/api/ticketing/orders", json={**body, "altcha": pow_for(client)})
        status = 404 if code in ("unknown_product", "unknown_slot") else 400
        assert resp.status_code == status, (body, resp.status_code)
        assert resp.get_json()["error"] == code, (body, resp.get_json())
    assert client.post("/api/ticketing/orders", data="nope").get_json()["error"] == "invalid_json"
    resp = _order(client, [holder()], expected_total_fen=1)
    assert resp.status_code == 409 and resp.get_json()["error"] == "price_mismatch"
    assert resp.get_json()["details"]["total_fen"] == 8000


def test_gate_revocations_need_a_gate_token(client, device_token):
    assert client.get("/api/ticketing/revocations").status_code == 401
    token = device_token("gate")
    resp = client.get("/api/ticketing/revocations", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json() == {"revoked": []}


def test_pages_book_pay_and_show_qr(client):
    page = client.get("/tickets/kongmiao?date=2026-07-16&lang=en")
    assert page.status_code == 200 and "Choose an entry time" in page.get_data(as_text=True)
    slot = re.search(r'data-slot="(\d+)"', page.get_data(as_text=True)).group(1)
    token = csrf_of(client)
    number = resident_id("19900101")
    form = {"csrf_token": token, "date": "2026-07-16", "slot_id": slot, "product_id": "kongmiao",
            "idempotency_key": "page-key-123", "holder-0-name": "王五",
            "holder-0-document_type": "resident_id", "holder-0-document_number": number}
    bad = client.post("/tickets/kongmiao", data={**form, "altcha": pow_for(client),
                                                 "holder-0-document_number": number[:-1] + "0"
                                                 if number[-1] != "0" else number[:-1] + "1"})
    assert bad.status_code == 400 and 'data-code="id_check_digit"' in bad.get_data(as_text=True)
    resp = client.post("/tickets/kongmiao", data={**form, "altcha": pow_for(client)})
    assert resp.status_code == 302 and "/ticketing/sandbox/pay/" in resp.headers["Location"]
    checkout = resp.headers["Location"]
    assert client.get(checkout).status_code == 200
    done = client.post(checkout, data={"csrf_token": token, "outcome": "pay"})
    old_url = done.headers["Location"]           # the order's address without its secret
    order_url = client.get(old_url).headers["Location"]   # this browser booked: on to the link
    order_no, secret = order_url.rsplit("/", 2)[1:]
    assert len(secret) == 20 and order_url.startswith(f"/tickets/orders/{order_no}/")
    html = client.get(order_url).get_data(as_text=True)
    assert "<svg" in html and 'data-status="paid"' in html and number not in html
    png = re.search(r'href="([^"]+\.png)"', html).group(1)
    img = client.get(png)
    assert img.status_code == 200 and img.data[:8] == b"\x89PNG\r\n\x1a\n"
    # another browser needs the link (the secret) or number + last 4
    other = client.application.test_client()
    assert other.get(old_url).status_code == 302 and "/tickets/find" in other.get(old_url).headers["Location"]
    guessed = f"/tickets/orders/{order_no}/{'a' * 20}"
    assert other.get(guessed).status_code == 404
    assert other.get(png.replace(secret, "a" * 20)).status_code == 404
    t2 = csrf_of(other)
    found = other.post("/tickets/find", data={"csrf_token": t2, "number": order_no, "last4": "9999"})
    assert found.status_code == 404
    found = other.post("/tickets/find", data={"csrf_token": t2, "number": order_no.lower(),
                                              "last4": number[-4:]})
    assert found.status_code == 302 and found.headers["Location"] == order_url
    assert other.get(order_url).status_code == 200 and other.get(old_url).headers["Location"] == order_url


def test_staff_console_pause_window_sale_and_csv(client, login):
    assert client.get("/staff/tickets").status_code == 302
    login("staff")
    page = client.get("/staff/tickets?site=konglin&date=2026-07-16")
    assert page.status_code == 200 and 'id="slots"' in page.get_data(as_text=True)
    # A slot's pause button records its reason in the page's language.
    assert 'name="reason" value="在场次列表中暂停"' in page.get_data(as_text=True)
    assert 'value="Paused on the slot list"' in client.get(
        "/staff/tickets?site=konglin&date=2026-07-16&lang=en").get_data(as_text=True)
    token = csrf_of(client)
    r = client.post("/staff/tickets/pause", data={"csrf_token": token, "site_id": "konglin",
                                                  "reason": "storm", "date": "2026-07-16"})
    assert r.status_code == 302
    blocked = _order(client, site="konglin", product="konglin")
    assert blocked.status_code == 409 and blocked.get_json()["error"] == "sales_paused"
    client.post("/staff/tickets/resume", data={"csrf_token": token, "site_id": "konglin"})
    slot = _slot(client, "konglin")
    sale = client.post("/staff/tickets/window-sale", data={
        "csrf_token": token, "site_id": "konglin", "date": "2026-07-16",
        "slot_id": slot["slot_id"], "product_id": "konglin", "holder-0-name": "赵六",
        "holder-0-document_type": "passport", "holder-0-document_number": "E1234567",
        "holder-0-birth_date": "1950-01-01"})
    assert sale.status_code == 302
    day = client.get("/api/ticketing/staff/sites/konglin/days/2026-07-16").get_json()
    assert day["totals"]["window_sold"] == 1
    report = client.get("/staff/tickets/report.csv?site=konglin&from=2026-07-16&to=2026-07-16")
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert sum(int(r["sold_window"]) for r in rows) == 1
    assert client.get("/staff/tickets/report.csv?site=konglin&from=2026-07-17&to=2026-07-01").status_code == 400
    # staff may not edit prices
    assert client.post("/admin/tickets/products", data={"csrf_token": token, "product_id": "konglin",
                                                        "price_yuan": "1"}).status_code == 403


def test_admin_edits_price_and_new_price_applies(client, login):
    login("admin")
    token = csrf_of(client)
    r = client.post("/admin/tickets/products", data={"csrf_token": token, "product_id": "konglin",
                                                     "price_yuan": "12.5", "active": "1"})
    assert r.status_code == 302
    for bad in ("abc", "inf", "-inf", "nan", "1e400"):   # infinities once answered 500
        r = client.post("/admin/tickets/products", data={"csrf_token": token,
                                                         "product_id": "konglin",
                                                         "price_yuan": bad})
        assert r.status_code == 400 and '<code>bad_price</code>' in r.get_data(as_text=True), bad
    r = client.post("/staff/tickets/policy", data={"csrf_token": token, "site_id": "konglin",
                                                   "slot_minutes": "60", "reserved_share": "inf"})
    assert r.status_code == 400 and '<code>bad_reserved_share</code>' in r.get_data(as_text=True)
    order = _order(client, site="konglin", product="konglin").get_json()
    assert order["total_fen"] == 1250


def test_visitors_cannot_make_slots_for_any_date(client, db):
    for day, code in (("2026-07-01", "date_in_past"), ("9999-12-31", "date_too_far")):
        resp = client.get(f"/api/ticketing/sites/kongmiao/availability?date={day}")
        assert resp.status_code == 400 and resp.get_json()["error"] == code
        page = client.get(f"/tickets/kongmiao?date={day}")
        assert page.status_code == 400 and f'data-code="{code}"' in page.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM tk_slots WHERE day NOT BETWEEN '2026-07-15' AND"
                      " '2026-07-21'").fetchone()[0] == 0


def test_malformed_fields_never_500(client, app):
    import itertools
    generous_limits(app)
    odd = [None, True, 0, -1, 10**30, "", "x" * 300, [], {}, [1], {"a": 1}, "2026-02-30", 1.5]
    fields = ["site_id", "date", "slot_id", "product_id", "holders", "expected_total_fen",
              "idempotency_key"]
    good = {"site_id": "kongmiao", "date": "2026-07-16", "slot_id": 1, "product_id": "kongmiao",
            "holders": [holder()]}
    for field, value in itertools.product(fields, odd):
        resp = client.post("/api/ticketing/orders", json={**good, field: value,
                                                          "altcha": pow_for(client)})
        assert resp.status_code < 500, (field, value, resp.get_data(as_text=True))
        assert resp.get_json().get("error") or resp.status_code == 201
    for key, value in itertools.product(["name", "document_type", "document_number", "fare",
                                         "birth_date"], odd):
        h = {**holder(), key: value}
        resp = client.post("/api/ticketing/orders", json={**good, "holders": [h],
                                                          "altcha": pow_for(client)})
        assert resp.status_code < 500, (key, value, resp.get_data(as_text=True))
    for path in ("refund", "rebook", "payment", "reissue"):
        for body in ({}, {"last4": None}, {"last4": "12345"}, {"ticket_ids": "x"}, [1]):
            resp = client.post(f"/api/ticketing/orders/TNOPE/{path}", json=body)
            # No order is looked up before the caller shows a secret.
            assert resp.status_code == 401, (path, body, resp.status_code)
            assert resp.get_json()["error"] == "secret_required"
        for secret in ("x", "a" * 20, "秘" * 20, "a" * 5000):
            resp = client.post(f"/api/ticketing/orders/TNOPE/{path}", json={},
                               headers={"X-Order-Secret": secret.encode("utf-8").decode("latin-1")})
            assert resp.status_code == 404 and resp.get_json()["error"] == "order_not_found"
    for body in ({}, {"number": None, "last4": None}, {"number": [1], "last4": {"a": 1}},
                 {"number": "x" * 5000, "last4": "12345"}, [1]):
        resp = client.post("/api/ticketing/orders/recover", json=body)
        assert resp.status_code == 400, (body, resp.get_json())


def test_slots_that_are_over_say_so(client):
    html = client.get("/tickets/kongmiao?lang=en").get_data(as_text=True)  # 10:00 on 15 July
    first = html.index("08:00–09:00")
    assert "Over" in html[first:first + 120]
    later = html.index("11:00–12:00")
    assert "Over" not in html[later:later + 120] and "left" in html[later:later + 120]


def test_sandbox_outbox_delivered_later_over_http(app, db, live_server):
    """With TICKETING_SANDBOX_DELIVERY=outbox the gateway's notification arrives later, over
    real HTTP, and a second delivery of the same notifications changes nothing."""
    import requests
    from ticketing import payments
    app.config["TICKETING_SANDBOX_DELIVERY"] = "outbox"
    s = requests.Session()
    h = holder()
    slot = s.get(f"{live_server}/api/ticketing/sites/kongmiao/availability?date=2026-07-16").json()
    slot_id = next(x for x in slot["slots"] if x["left"])["slot_id"]
    order = s.post(f"{live_server}/api/ticketing/orders", json={
        "site_id": "kongmiao", "date": "2026-07-16", "slot_id": slot_id,
        "product_id": "kongmiao", "holders": [h],
        "altcha": solve_pow(s.get(f"{live_server}/api/pow/challenge").json())}).json()
    ref = s.post(live_server + order["payment_start"], headers=_secret(order)).json()["reference"]
    assert s.post(f"{live_server}/api/ticketing/sandbox/pay/{ref}", json={}).json()["outcome"] == "queued"
    status = lambda: s.get(f"{live_server}/api/ticketing/orders/{order['number']}",
                           headers=_secret(order)).json()["status"]
    assert status() == "held"
    with app.app_context():
        clock = app.extensions["scenic.clock"]
        assert payments.sandbox_deliver(db, live_server, clock) == {"delivered": 1, "failed": 0}
        assert status() == "paid"
        assert payments.sandbox_deliver(db, live_server, clock, redeliver=True)["delivered"] == 1
    assert status() == "paid"
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM tk_payment_events ORDER BY id")]
    assert outcomes == ["applied"]  # the duplicate is answered "duplicate" and not re-applied


def test_page_forms_with_garbage_never_500(client, login, app):
    generous_limits(app)
    token = csrf_of(client)
    junk = ["", "x", "-1", "99999999999999999999", "2026-02-30", "<script>", "１２"]
    for value in junk:
        for field in ("date", "slot_id", "product_id", "holder-0-name",
                      "holder-0-document_number", "holder-0-document_type", "holder-0-fare",
                      "holder-0-birth_date", "idempotency_key"):
            form = {"csrf_token": token, "date": "2026-07-16", "slot_id": "1",
                    "product_id": "kongmiao", "holder-0-name": "张三",
                    "holder-0-document_number": resident_id(), field: value,
                    "altcha": pow_for(client)}
            resp = client.post("/tickets/kongmiao", data=form)
            assert resp.status_code < 500, (field, value)
            assert "<script>" not in resp.get_data(as_text=True).replace("&lt;script&gt;", "")
        assert client.get(f"/tickets/kongmiao?date={value}&slot_id={value}").status_code < 500
        assert client.post("/tickets/find", data={"csrf_token": token, "number": value,
                                                  "last4": value}).status_code < 500
    login("staff")
    token = csrf_of(client)
    for value in junk:
        for path, fields in (("/staff/tickets/pause", ("site_id", "slot_id", "reason")),
                             ("/staff/tickets/resume", ("site_id", "slot_id")),
                             ("/staff/tickets/quota", ("slot_id", "quota", "window_quota")),
                             ("/staff/tickets/policy", ("site_id", "slot_minutes", "reserved_share")),
                             ("/staff/tickets/window-sale", ("site_id", "date", "slot_id", "product_id"))):
            data = {"csrf_token": token, "site_id": "kongmiao", **{f: value for f in fields}}
            assert client.post(path, data=data).status_code < 500, (path, value)
        assert client.get(f"/staff/tickets?site=kongmiao&date={value}").status_code < 500
        assert client.get(f"/staff/tickets/report.csv?site=kongmiao&from={value}").status_code < 500
