"""The ticketing JSON API views (documented in docs/ticketing.md). Anonymous visitor endpoints
are CSRF-exempt JSON (a cross-site form cannot send application/json); staff endpoints
use the session plus the X-CSRF-Token header; gate endpoints a bearer token."""
from __future__ import annotations

import base64

from flask import Blueprint, current_app, jsonify, request, url_for

from catalog import interface as catalog
from core.auth import current_user, role_required, token_required
from core.clock import get_clock
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import Conflict, Unauthorized, ValidationError
from core.ratelimit import limiter, limits, setting
from core.text import _l
from core.web import json_body

from . import gate_feed, orders, payments, products, quota
from .quota import parse_day
from .view_helpers import (admit_booking, bookable_day, guard, order_json, order_limit,
                           parse_int, product_json, provider, sandbox_only, settings, slot_json)

bp = Blueprint("ticketing_api", __name__)


SECRET_HEADER = "X-Order-Secret"


def _no_credentials_in_query() -> None:
    # Query strings land in proxy and browser logs: credentials go in headers or bodies.
    if {"last4", "secret"} & set(request.args):
        raise ValidationError("credentials_in_query", _l("Send the order's secret in the "
                                                         "%(secret_header)s header, never in the "
                                                         "address.", secret_header=SECRET_HEADER))


def _visitor_order(number: str, change: bool = False) -> orders.OrderView:
    """The order whose secret (X-Order-Secret) the caller shows; ``change`` counts the
    request against the order's limit on changes."""
    _no_credentials_in_query()
    secret = request.headers.get(SECRET_HEADER, "")
    if not secret:
        raise Unauthorized("secret_required", _l("Send the order's secret (from its link) in the "
                                                 "%(secret_header)s header, or recover it: POST "
                                                 "/api/ticketing/orders/recover.",
                                                 secret_header=SECRET_HEADER))
    order = orders.open_order(get_db(), number, secret, get_clock())
    if change:
        order_limit(order.number)
    return order


@bp.get("/api/tickets/public-key")
def public_key():
    raw = gate_feed.ticket_signing_public_key(current_app.instance_path)
    return jsonify({"alg": "Ed25519", "format": "raw", "public_key_hex": raw.hex(),
                    "public_key_b64": base64.b64encode(raw).decode()})


@bp.get("/api/ticketing/products", endpoint="products")
def list_products():
    site = request.args.get("site") or None
    if site:
        catalog.get_site(get_db(), site)
    return jsonify({"products": [product_json(p) for p in products.list_products(get_db(), site)]})


@bp.get("/api/ticketing/sites/<site_id>/calendar")
def calendar(site_id):
    days = quota.calendar(get_db(), site_id, get_clock(), settings()["days_ahead"])
    return jsonify({"site_id": site_id, "days": [
        {"date": d["date"].isoformat(), "open": d["open"], "left": d["left"], "paused": d["paused"],
         "closed_reason": d["closed_reason"]}
        for d in days]})


@bp.get("/api/ticketing/sites/<site_id>/availability")
def availability(site_id):
    day = bookable_day(request.args.get("date"), get_clock().now().date())
    slots = quota.availability(get_db(), site_id, day, get_clock())
    return jsonify({"site_id": site_id, "date": day.isoformat(),
                    "paused": quota.is_paused(get_db(), site_id, day),
                    "slots": [slot_json(s) for s in slots]})


def _create(body: dict, channel: str, actor: str = "", guard=None):
    cfg = settings()
    expected = body.get("expected_total_fen")
    if expected is not None:
        expected = parse_int(expected, "bad_expected_total", "the expected total in fen")
    return orders.create_order(
        get_db(), site_id=str(body.get("site_id", "")), day=parse_day(body.get("date")),
        slot_id=parse_int(body.get("slot_id"), "bad_slot", "a time slot"),
        product_id=str(body.get("product_id", "")), holders=body.get("holders"),
        clock=get_clock(), channel=channel,
        idempotency_key=request.headers.get("Idempotency-Key") or body.get("idempotency_key"),
        expected_total_fen=expected, hold_minutes=cfg["hold_minutes"],
        days_ahead=cfg["days_ahead"], actor=actor, guard=guard)


@bp.post("/api/ticketing/orders")
@csrf_exempt
def create_order():
    body = json_body()
    admit_booking(body.get("altcha"))
    order = _create(body, "online", guard=guard())
    data = order_json(order, with_codes=order.status == "paid")
    if order.status == "held":
        # The charge is created when the visitor goes to pay, outside the booking transaction.
        data["payment_start"] = url_for("ticketing_api.start_payment", number=order.number)
    return jsonify(data), 201


@bp.post("/api/ticketing/orders/<number>/payment")
@csrf_exempt
def start_payment(number):
    _visitor_order(number, change=True)
    url = payments.start_payment(get_db(), provider(), number, get_clock())
    if url is None:
        raise Conflict("not_payable", _l("This order is not awaiting payment."))
    return jsonify({"checkout_url": url, "reference": url.rstrip("/").rsplit("/", 1)[1]})


@bp.get("/api/ticketing/orders/<number>")
def get_order(number):
    return jsonify(order_json(_visitor_order(number), with_codes=True))


@bp.post("/api/ticketing/orders/recover")
@csrf_exempt
@limiter.shared_limit(setting("TICKETING_RECOVERY_PER_CLIENT"), scope="recovery")
def recover_order():
    """A lost link: the order number + the last 4 characters of a holder's document give the
    order with its secret. Throttled per client and locked per order after a few misses."""
    body = json_body()
    order = orders.recover_order(
        get_db(), str(body.get("number", "")), body.get("last4"), get_clock(), limits=limits(),
        failures=current_app.config["TICKETING_RECOVERY_FAILURES_PER_ORDER"])
    return jsonify(order_json(order, with_codes=True))


def _ticket_id(body: dict) -> int:
    return parse_int(body.get("ticket_id"), "unknown_ticket", "a ticket id")


@bp.post("/api/ticketing/orders/<number>/refund")
@csrf_exempt
def refund(number):
    _visitor_order(number, change=True)
    body = json_body(required=False)
    ids = body.get("ticket_ids")
    if ids is not None and (not isinstance(ids, list) or not ids
                            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise ValidationError("bad_ticket_ids", _l("ticket_ids is a list of ticket ids."))
    order = orders.refund(get_db(), number, clock=get_clock(), provider=provider(),
                          ticket_ids=ids, actor="api")
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/rebook")
@csrf_exempt
def rebook(number):
    _visitor_order(number, change=True)
    body = json_body()
    order = orders.rebook(get_db(), number, clock=get_clock(), ticket_id=_ticket_id(body),
                          slot_id=parse_int(body.get("slot_id"), "bad_slot", "a time slot"),
                          days_ahead=settings()["days_ahead"])
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/reissue")
@csrf_exempt
def reissue(number):
    _visitor_order(number, change=True)
    body = json_body()
    order = orders.reissue(get_db(), number, clock=get_clock(), actor="api",
                           ticket_id=_ticket_id(body))
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/payments/sandbox/notify")
@csrf_exempt
def sandbox_notify():
    sandbox_only()
    outcome = payments.handle_notification(get_db(), provider(), request.get_data(),
                                           request.headers, get_clock())
    return jsonify({"ok": True, "outcome": outcome})


@bp.post("/api/ticketing/sandbox/pay/<reference>")
@csrf_exempt
def sandbox_pay(reference):
    """The sandbox gateway's 'visitor paid' button, for API clients and tests (it exists only
    while the sandbox is the provider, which start-up refuses in production)."""
    sandbox_only()
    body = json_body(required=False)
    outcome = body.get("outcome", "succeeded")
    if outcome not in ("succeeded", "failed"):
        raise ValidationError("bad_outcome", _l("outcome is 'succeeded' or 'failed'."))
    result = payments.sandbox_complete(get_db(), provider(), reference, outcome == "succeeded",
                                       get_clock(),
                                       inline=current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline")
    return jsonify({"ok": True, "outcome": result})


@bp.get("/api/ticketing/revocations")
@token_required("gate")
def revocations():
    return jsonify({"revoked": gate_feed.revocation_list(get_db())})


# --- staff ------------------------------------------------------------------------

@bp.get("/api/ticketing/staff/sites/<site_id>/days/<day>")
@role_required("staff")
def staff_day(site_id, day):
    d = parse_day(day)
    slots = quota.availability(get_db(), site_id, d, get_clock())
    return jsonify({"site_id": site_id, "date": d.isoformat(),
                    "pauses": quota.pauses(get_db(), site_id),
                    "slots": [slot_json(s) for s in slots],
                    "totals": {k: sum(getattr(s, k) for s in slots)
                               for k in ("quota", "sold", "held", "left", "window_quota",
                                         "window_sold")}})


def _change_sales(body: dict, change, **extra):
    """Pause or resume (``change``) a site's sales, or one slot's, as the staff member."""
    slot = body.get("slot_id")
    change(get_db(), site_id=str(body.get("site_id", "")), clock=get_clock(),
           actor=f"staff:{current_user().username}",
           slot_id=parse_int(slot, "unknown_slot", "a slot") if slot else None, **extra)
    return jsonify({"ok": True, "paused": quota.is_paused(get_db(), str(body.get("site_id")))})


@bp.post("/api/ticketing/staff/pause")
@role_required("staff")
def staff_pause():
    body = json_body()
    return _change_sales(body, quota.pause_sales, reason=str(body.get("reason", "")))


@bp.post("/api/ticketing/staff/resume")
@role_required("staff")
def staff_resume():
    return _change_sales(json_body(), quota.resume_sales)


@bp.post("/api/ticketing/staff/slots/<int:slot_id>/quota")
@role_required("staff")
def staff_quota(slot_id):
    body = json_body()
    quota.set_slot_quota(get_db(), slot_id,
                         quota=parse_int(body.get("quota"), "bad_quota", "a quota"),
                         window_quota=parse_int(body.get("window_quota"), "bad_quota", "a quota"),
                         clock=get_clock(), actor=f"staff:{current_user().username}")
    return jsonify({"ok": True})


@bp.post("/api/ticketing/staff/window-sale")
@role_required("staff")
def staff_window_sale():
    order = _create(json_body(), "window", actor=f"staff:{current_user().username}")
    return jsonify(order_json(order, with_codes=True)), 201
