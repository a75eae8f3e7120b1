"""The ticketing JSON API (documented in docs/ticketing.md). Anonymous visitor endpoints
are CSRF-exempt JSON (a cross-site form cannot send application/json); staff endpoints
use the session plus the X-CSRF-Token header; gate endpoints a bearer token."""
from __future__ import annotations

import base64

from flask import Blueprint, current_app, jsonify, request, url_for

from catalog import services as catalog
from core.auth import current_user, role_required, token_required
from core.clock import get_clock
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import Conflict, ValidationError
from core.text import _l
from core.web import json_body

from . import orders, services, web

api = Blueprint("ticketing_api", __name__)


def _last4() -> str:
    return request.headers.get("X-Holder-Last4") or request.args.get("last4", "")


@api.get("/api/tickets/public-key")
def public_key():
    raw = services.ticket_signing_public_key(current_app)
    return jsonify({"alg": "Ed25519", "format": "raw", "public_key_hex": raw.hex(),
                    "public_key_b64": base64.b64encode(raw).decode()})


@api.get("/api/ticketing/products")
def products():
    site = request.args.get("site") or None
    if site:
        catalog.get_site(get_db(), site)
    return jsonify({"products": [web.product_json(p) for p in services.list_products(get_db(), site)]})


@api.get("/api/ticketing/sites/<site_id>/calendar")
def calendar(site_id):
    days = services.calendar(get_db(), site_id, get_clock(), web.settings()["days_ahead"])
    return jsonify({"site_id": site_id, "days": [
        {"date": d["date"].isoformat(), "open": d["open"], "left": d["left"], "paused": d["paused"]}
        for d in days]})


@api.get("/api/ticketing/sites/<site_id>/availability")
def availability(site_id):
    day = web.bookable_day(request.args.get("date"), get_clock().now().date())
    slots = services.availability(get_db(), site_id, day, get_clock())
    return jsonify({"site_id": site_id, "date": day.isoformat(),
                    "paused": services.is_paused(get_db(), site_id, day),
                    "slots": [web.slot_json(s) for s in slots]})


def _create(body: dict, channel: str, actor: str = ""):
    cfg = web.settings()
    expected = body.get("expected_total_fen")
    if expected is not None:
        expected = web.parse_int(expected, "bad_expected_total", "the expected total in fen")
    return orders.create_order(
        get_db(), site_id=str(body.get("site_id", "")), day=web.parse_day(body.get("date")),
        slot_id=web.parse_int(body.get("slot_id"), "bad_slot", "a time slot"),
        product_id=str(body.get("product_id", "")), holders=body.get("holders"),
        clock=get_clock(), channel=channel,
        idempotency_key=request.headers.get("Idempotency-Key") or body.get("idempotency_key"),
        expected_total_fen=expected, hold_minutes=cfg["hold_minutes"],
        days_ahead=cfg["days_ahead"], actor=actor)


@api.post("/api/ticketing/orders")
@csrf_exempt
def create_order():
    order = _create(json_body(), "online")
    data = web.order_json(order, with_codes=order.status == "paid")
    if order.status == "held":
        # The charge is created when the visitor goes to pay, outside the booking transaction.
        data["payment_start"] = url_for("ticketing_api.start_payment", number=order.number)
    return jsonify(data), 201


@api.post("/api/ticketing/orders/<number>/payment")
@csrf_exempt
def start_payment(number):
    body = json_body(required=False)
    orders.find_order(get_db(), number, body.get("last4") or _last4(), get_clock())
    url = orders.start_payment(get_db(), web.provider(), number, get_clock())
    if url is None:
        raise Conflict("not_payable", _l("This order is not awaiting payment."))
    return jsonify({"checkout_url": url, "reference": url.rstrip("/").rsplit("/", 1)[1]})


@api.get("/api/ticketing/orders/<number>")
def get_order(number):
    order = orders.find_order(get_db(), number, _last4(), get_clock())
    return jsonify(web.order_json(order, with_codes=True))


@api.post("/api/ticketing/orders/<number>/refund")
@csrf_exempt
def refund(number):
    body = json_body(required=False)
    orders.find_order(get_db(), number, body.get("last4") or _last4(), get_clock())
    ids = body.get("ticket_ids")
    if ids is not None and (not isinstance(ids, list) or not ids
                            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise ValidationError("bad_ticket_ids", _l("ticket_ids is a list of ticket ids."))
    order = orders.refund(get_db(), number, clock=get_clock(), provider=web.provider(),
                          ticket_ids=ids, actor="api")
    return jsonify(web.order_json(order, with_codes=True))


@api.post("/api/ticketing/orders/<number>/rebook")
@csrf_exempt
def rebook(number):
    body = json_body()
    orders.find_order(get_db(), number, body.get("last4") or _last4(), get_clock())
    order = orders.rebook(get_db(), number, clock=get_clock(),
                          ticket_id=web.parse_int(body.get("ticket_id"), "unknown_ticket", "a ticket id"),
                          slot_id=web.parse_int(body.get("slot_id"), "bad_slot", "a time slot"),
                          days_ahead=web.settings()["days_ahead"])
    return jsonify(web.order_json(order, with_codes=True))


@api.post("/api/ticketing/orders/<number>/reissue")
@csrf_exempt
def reissue(number):
    body = json_body()
    orders.find_order(get_db(), number, body.get("last4") or _last4(), get_clock())
    order = orders.reissue(get_db(), number, clock=get_clock(), actor="api",
                           ticket_id=web.parse_int(body.get("ticket_id"), "unknown_ticket", "a ticket id"))
    return jsonify(web.order_json(order, with_codes=True))


@api.post("/api/ticketing/payments/sandbox/notify")
@csrf_exempt
def sandbox_notify():
    outcome = orders.handle_notification(get_db(), web.provider(), request.get_data(),
                                         request.headers, get_clock())
    return jsonify({"ok": True, "outcome": outcome})


@api.post("/api/ticketing/sandbox/pay/<reference>")
@csrf_exempt
def sandbox_pay(reference):
    """The sandbox gateway's 'visitor paid' button, for API clients and tests."""
    body = json_body(required=False)
    outcome = body.get("outcome", "succeeded")
    if outcome not in ("succeeded", "failed"):
        raise ValidationError("bad_outcome", _l("outcome is 'succeeded' or 'failed'."))
    result = orders.sandbox_complete(get_db(), web.provider(), reference, outcome == "succeeded",
                                     get_clock(),
                                     inline=current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline")
    return jsonify({"ok": True, "outcome": result})


@api.get("/api/ticketing/revocations")
@token_required("gate")
def revocations():
    return jsonify({"revoked": services.revocation_list(get_db())})


# --- staff ------------------------------------------------------------------------

@api.get("/api/ticketing/staff/sites/<site_id>/days/<day>")
@role_required("staff")
def staff_day(site_id, day):
    d = web.parse_day(day)
    slots = services.availability(get_db(), site_id, d, get_clock())
    return jsonify({"site_id": site_id, "date": d.isoformat(),
                    "pauses": services.pauses(get_db(), site_id),
                    "slots": [web.slot_json(s) for s in slots],
                    "totals": {k: sum(getattr(s, k) for s in slots)
                               for k in ("quota", "sold", "held", "left", "window_quota",
                                         "window_sold")}})


@api.post("/api/ticketing/staff/pause")
@role_required("staff")
def staff_pause():
    body = json_body()
    slot = body.get("slot_id")
    services.pause_sales(get_db(), site_id=str(body.get("site_id", "")),
                         reason=str(body.get("reason", "")),
                         actor=f"staff:{current_user().username}", clock=get_clock(),
                         slot_id=web.parse_int(slot, "unknown_slot", "a slot") if slot else None)
    return jsonify({"ok": True, "paused": services.is_paused(get_db(), str(body.get("site_id")))})


@api.post("/api/ticketing/staff/resume")
@role_required("staff")
def staff_resume():
    body = json_body()
    slot = body.get("slot_id")
    services.resume_sales(get_db(), site_id=str(body.get("site_id", "")),
                          actor=f"staff:{current_user().username}", clock=get_clock(),
                          slot_id=web.parse_int(slot, "unknown_slot", "a slot") if slot else None)
    return jsonify({"ok": True, "paused": services.is_paused(get_db(), str(body.get("site_id")))})


@api.post("/api/ticketing/staff/slots/<int:slot_id>/quota")
@role_required("staff")
def staff_quota(slot_id):
    body = json_body()
    services.set_slot_quota(get_db(), slot_id,
                            quota=web.parse_int(body.get("quota"), "bad_quota", "a quota"),
                            window_quota=web.parse_int(body.get("window_quota"), "bad_quota", "a quota"),
                            clock=get_clock(), actor=f"staff:{current_user().username}")
    return jsonify({"ok": True})


@api.post("/api/ticketing/staff/window-sale")
@role_required("staff")
def staff_window_sale():
    order = _create(json_body(), "window", actor=f"staff:{current_user().username}")
    return jsonify(web.order_json(order, with_codes=True)), 201
