"""Ticketing's metrics move once a booking or a refund is acknowledged, and an
idempotent retry of a booking is not counted twice."""
from __future__ import annotations

from testkit import metric, pow_for, scrape
from tk_helpers import holder


def _delta(after, before, name, **labels):
    return metric(after, name, **labels) - metric(before, name, **labels)


def test_bookings_holds_and_refunds_are_counted_once(client):
    slots = client.get("/api/ticketing/sites/kongmiao/availability?date=2026-07-16").get_json()
    slot = next(s for s in slots["slots"] if s["left"])
    body = {"site_id": "kongmiao", "date": "2026-07-16", "slot_id": slot["slot_id"],
            "product_id": "kongmiao", "holders": [holder(), holder(born="19880808")],
            "idempotency_key": "metrics-test-0001"}
    before = scrape(client)
    order = client.post("/api/ticketing/orders", json={**body, "altcha": pow_for(client)})
    assert order.status_code == 201 and order.get_json()["status"] == "held"
    order = order.get_json()
    again = client.post("/api/ticketing/orders", json={**body, "altcha": pow_for(client)})
    assert again.get_json()["number"] == order["number"]
    held = scrape(client)
    labels = dict(site="kongmiao", channel="online", status="held")
    assert _delta(held, before, "scenic_ticketing_bookings_total", **labels) == 1
    assert _delta(held, before, "scenic_ticketing_booked_tickets_total", **labels) == 2
    secret = {"X-Order-Secret": order["secret"]}
    ref = client.post(order["payment_start"], headers=secret).get_json()["reference"]
    assert client.post(f"/api/ticketing/sandbox/pay/{ref}", json={}).get_json()["outcome"] == "applied"
    refund = client.post(f"/api/ticketing/orders/{order['number']}/refund", headers=secret)
    assert refund.get_json()["status"] == "refunded"
    after = scrape(client)
    assert _delta(after, held, "scenic_ticketing_refunds_total", site="kongmiao", by="api",
                  status="refunded") == 1
    assert _delta(after, held, "scenic_ticketing_bookings_total", **labels) == 0
