"""Issue 9, items 3 and 4: orders that cannot be guessed into, and no sandbox in production."""
import logging

import pytest
from testkit import csrf_of, pow_for, resident_id
from tk_helpers import holder

from core.errors import ConfigError

DAY = "2026-07-16"


def _order(client, h=None, **extra):
    slots = client.get(f"/api/ticketing/sites/kongmiao/availability?date={DAY}").get_json()["slots"]
    body = {"site_id": "kongmiao", "date": DAY, "slot_id": slots[3]["slot_id"],
            "product_id": "kongmiao", "holders": [h or holder()], "altcha": pow_for(client),
            **extra}
    resp = client.post("/api/ticketing/orders", json=body, headers=extra.pop("headers", {}))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _recover(client, number, last4, addr=None):
    headers = {"X-Forwarded-For": addr} if addr else {}
    return client.post("/api/ticketing/orders/recover", json={"number": number, "last4": last4},
                       headers=headers)


# --- 3. orders that cannot be guessed into -------------------------------------------

def test_every_order_has_an_unguessable_secret_kept_only_hashed(client, db):
    order = _order(client)
    secret = order["secret"]
    assert len(secret) == 20 and secret.isalnum() and secret.islower()
    assert order["url"].endswith(f"/tickets/orders/{order['number']}/{secret}")
    row = db.execute("SELECT * FROM tk_orders WHERE number = ?", [order["number"]]).fetchone()
    assert secret not in " ".join(str(v) for v in tuple(row))      # hash and ciphertext only
    other = _order(client)
    assert other["secret"] != secret
    # the number alone, the last 4 characters, a wrong or another order's secret: nothing
    get = lambda headers: client.get(f"/api/ticketing/orders/{order['number']}", headers=headers)
    assert get({}).status_code == 401 and get({}).get_json()["error"] == "secret_required"
    h = order["tickets"][0]["document"][-4:]
    assert get({"X-Holder-Last4": h}).status_code == 401
    assert get({"X-Order-Secret": other["secret"]}).status_code == 404
    assert get({"X-Order-Secret": secret}).get_json()["number"] == order["number"]
    page = client.application.test_client()
    assert page.get(f"/tickets/orders/{order['number']}/{other['secret']}").status_code == 404
    assert page.get(f"/tickets/orders/{order['number']}/{secret}").status_code == 200


def test_credentials_are_refused_in_query_strings(client):
    order = _order(client)
    for query in (f"last4={order['tickets'][0]['document'][-4:]}", f"secret={order['secret']}"):
        resp = client.get(f"/api/ticketing/orders/{order['number']}?{query}",
                          headers={"X-Order-Secret": order["secret"]})
        assert resp.status_code == 400 and resp.get_json()["error"] == "credentials_in_query"


def test_the_order_link_is_never_logged_and_never_sent_on(client, caplog):
    order = _order(client)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scenic"):
        resp = client.get(f"/tickets/orders/{order['number']}/{order['secret']}")
    assert resp.status_code == 200
    assert resp.headers["Referrer-Policy"] == "no-referrer" and resp.headers["Cache-Control"] == "no-store"
    paths = [r.path for r in caplog.records if getattr(r, "event", "") == "request"]
    assert paths == [f"/tickets/orders/{order['number']}/[secret]"]
    assert order["secret"] not in caplog.text


def test_recovery_brute_force_locks_the_order_after_five_misses(client, app):
    """11,000 candidates for a resident ID's last 4: five misses an hour, ten a day, per
    order; then even the right answer waits. A missing order answers the same."""
    app.config["TRUSTED_PROXY_HOPS"] = 1
    number = resident_id("19850505")
    order = _order(client, holder(document_number=number))
    misses = [_recover(client, order["number"], f"{i:04d}", addr=f"10.9.0.{i}") for i in range(5)]
    assert {(m.status_code, m.get_json()["error"]) for m in misses} == {(404, "order_not_found")}
    locked = _recover(client, order["number"], number[-4:], addr="10.9.1.1")
    assert locked.status_code == 429 and locked.get_json()["error"] == "recovery_locked"
    assert int(locked.headers["Retry-After"]) > 60
    # an order number that does not exist: the same answers, the same lock
    ghost = "T" + "A" * 11
    ghosts = [_recover(client, ghost, f"{i:04d}", addr=f"10.9.2.{i}") for i in range(6)]
    assert [g.get_json()["error"] for g in ghosts] == ["order_not_found"] * 5 + ["recovery_locked"]
    assert ghosts[0].get_json()["message"] == misses[0].get_json()["message"]


def test_recovery_after_the_lock_lifts_gives_the_link(client, app, clock):
    number = resident_id("19850505")
    order = _order(client, holder(document_number=number))
    for i in range(5):
        _recover(client, order["number"], f"{i:04d}")
    clock.advance(hours=1, seconds=1)
    found = _recover(client, order["number"], number[-4:].lower())
    assert found.status_code == 200 and found.get_json()["secret"] == order["secret"]


def test_recovery_is_throttled_per_client(client):
    answers = [_recover(client, f"T{i:011d}", "1234") for i in range(11)]
    assert [a.status_code for a in answers] == [404] * 10 + [429]
    assert answers[10].get_json()["error"] == "rate_limited"
    page = client.post("/tickets/find", data={"csrf_token": csrf_of(client), "number": "TX",
                                              "last4": "1234"})
    assert page.status_code == 429   # the page and the API share the allowance


def test_the_booking_browser_is_sent_on_to_its_link(client, db):
    """The old address still works for the browser that booked, and only for it."""
    slots = client.get(f"/api/ticketing/sites/kongmiao/availability?date={DAY}").get_json()["slots"]
    form = {"csrf_token": csrf_of(client), "date": DAY, "slot_id": slots[3]["slot_id"],
            "product_id": "kongmiao", "holder-0-name": "王五", "altcha": pow_for(client),
            "holder-0-document_type": "resident_id", "holder-0-document_number": resident_id()}
    assert "/ticketing/sandbox/pay/" in client.post("/tickets/kongmiao", data=form).headers["Location"]
    number = db.execute("SELECT number FROM tk_orders ORDER BY id DESC LIMIT 1").fetchone()[0]
    link = client.get(f"/tickets/orders/{number}").headers["Location"]
    assert link.startswith(f"/tickets/orders/{number}/") and client.get(link).status_code == 200
    stranger = client.application.test_client()
    assert "/tickets/find" in stranger.get(f"/tickets/orders/{number}").headers["Location"]


# --- 4. no sandbox in production -----------------------------------------------------

def test_production_refuses_the_sandbox_at_start_up(tmp_path):
    from app import create_app
    with pytest.raises(ConfigError, match="TICKETING_PAYMENT_PROVIDER") as err:
        create_app({"ENV": "production"}, instance_path=str(tmp_path))
    assert "Configure a real payment provider" in str(err.value)
    with pytest.raises(ConfigError, match="no payment adapter named 'alipay'"):
        create_app({"TICKETING_PAYMENT_PROVIDER": "alipay"}, instance_path=str(tmp_path))


def test_a_real_adapter_fits_and_the_sandbox_buttons_are_gone(tmp_path, monkeypatch):
    """A gateway adapter registered under a name runs in production; the sandbox's
    'visitor paid' button and its webhook are then not there at all."""
    from app import create_app
    from testkit import register_test_gateway
    app = create_app({"ENV": "production", "TICKETING_PAYMENT_PROVIDER":
                      register_test_gateway(monkeypatch),
                      "SESSION_COOKIE_SECURE": False}, instance_path=str(tmp_path))
    client = app.test_client()
    for path in ("/api/ticketing/sandbox/pay/SBX1", "/api/ticketing/payments/sandbox/notify"):
        resp = client.post(path, json={"outcome": "succeeded"})
        assert resp.status_code == 404, path
    assert client.get("/ticketing/sandbox/pay/SBX1").status_code == 404
