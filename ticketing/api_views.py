"""The ticketing JSON API views (documented in docs/ticketing.md; contracts in
ticketing/schemas.py). Anonymous visitor endpoints are CSRF-exempt JSON (a cross-site form
cannot send application/json); staff endpoints use the session plus the X-CSRF-Token
header; gate endpoints a bearer token."""
from __future__ import annotations

import base64

from flask import Blueprint, current_app, jsonify, request, url_for

from catalog import interface as catalog
from core.auth import current_user, role_required, token_required
from core.clock import get_clock
from core.contracts import contract
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import Conflict
from core.text import _l

from . import gate_feed, orders, payments, products, quota
from .quota import parse_day
from .schemas import (AvailabilityOut, AvailabilityQuery, CalendarOut, CheckoutOut, OkOut,
                      OrderHeaders, OrderIn, OrderOut, OutcomeOut, PausedOut, PauseIn,
                      ProductsOut, ProductsQuery, PublicKeyOut, QuotaIn, RebookIn, RefundIn,
                      ReissueIn, ResumeIn, RevocationsOut, SandboxNotification, SandboxPayIn,
                      StaffDayOut, VisitorHeaders, VisitorIn, VisitorQuery)
from .view_helpers import bookable_day, order_json, product_json, provider, settings, slot_json

bp = Blueprint("ticketing_api", __name__)

# What booking can refuse with once the body has its shape (services: orders, holders,
# products, quota; admission.identity for documents).
BOOKING_ERRORS = {
    400: ("date_in_past", "date_too_far", "bad_idempotency_key", "bad_slot",
          "product_not_for_site", "bad_holders", "bad_holder_name", "bad_document_type",
          "bad_document_number", "id_length", "id_format", "id_region", "id_birth_date",
          "id_check_digit", "bad_birth_date", "bad_date", "birth_date_required", "not_eligible",
          "unknown_fare", "duplicate_holder", "site_closed", "slot_not_on_day", "slot_over"),
    404: ("unknown_product", "unknown_slot", "unknown_site"),
    409: ("price_mismatch", "idempotency_conflict", "sold_out", "holder_has_ticket",
          "sales_paused"),
}
VISITOR_ERRORS = {400: ("bad_last4",), 404: ("order_not_found",)}
VISITOR = {"headers": VisitorHeaders, "query": VisitorQuery}


def _last4(body: VisitorIn | None, headers: VisitorHeaders, query: VisitorQuery) -> str:
    return (body.last4 if body is not None else None) or headers.last4 or query.last4 or ""


@bp.get("/api/tickets/public-key")
@contract(returns=PublicKeyOut)
def public_key():
    """The Ed25519 key that verifies e-ticket codes offline."""
    raw = gate_feed.ticket_signing_public_key(current_app.instance_path)
    return jsonify({"alg": "Ed25519", "format": "raw", "public_key_hex": raw.hex(),
                    "public_key_b64": base64.b64encode(raw).decode()})


@bp.get("/api/ticketing/products", endpoint="products")
@contract(query=ProductsQuery, returns=ProductsOut)
def list_products(query: ProductsQuery):
    """Ticket types on sale with their fares, for one site or all."""
    site = query.site or None
    if site:
        catalog.get_site(get_db(), site)
    return jsonify({"products": [product_json(p) for p in products.list_products(get_db(), site)]})


@bp.get("/api/ticketing/sites/<site_id>/calendar")
@contract(returns=CalendarOut, errors={404: ("unknown_site",)})
def calendar(site_id):
    """The next days: open or not, online tickets left, sales paused."""
    days = quota.calendar(get_db(), site_id, get_clock(), settings()["days_ahead"])
    return jsonify({"site_id": site_id, "days": [
        {"date": d["date"].isoformat(), "open": d["open"], "left": d["left"], "paused": d["paused"]}
        for d in days]})


@bp.get("/api/ticketing/sites/<site_id>/availability")
@contract(query=AvailabilityQuery, returns=AvailabilityOut,
          errors={400: ("date_in_past", "date_too_far"), 404: ("unknown_site",)})
def availability(site_id, query: AvailabilityQuery):
    """A day's time slots with the tickets left in each."""
    day = bookable_day(query.date, get_clock().now().date())
    slots = quota.availability(get_db(), site_id, day, get_clock())
    return jsonify({"site_id": site_id, "date": day.isoformat(),
                    "paused": quota.is_paused(get_db(), site_id, day),
                    "slots": [slot_json(s) for s in slots]})


def _create(body: OrderIn, headers: OrderHeaders, channel: str, actor: str = ""):
    cfg = settings()
    return orders.create_order(
        get_db(), site_id=body.site_id, day=body.date, slot_id=body.slot_id,
        product_id=body.product_id, holders=[h.model_dump() for h in body.holders],
        clock=get_clock(), channel=channel,
        idempotency_key=headers.idempotency_key or body.idempotency_key,
        expected_total_fen=body.expected_total_fen, hold_minutes=cfg["hold_minutes"],
        days_ahead=cfg["days_ahead"], actor=actor)


@bp.post("/api/ticketing/orders")
@csrf_exempt
@contract(body=OrderIn, headers=OrderHeaders, returns=OrderOut, status=201,
          errors=BOOKING_ERRORS)
def create_order(body: OrderIn, headers: OrderHeaders):
    """Book: hold tickets for 1-5 real-name holders (then pay at payment_start)."""
    order = _create(body, headers, "online")
    data = order_json(order, with_codes=order.status == "paid")
    if order.status == "held":
        # The charge is created when the visitor goes to pay, outside the booking transaction.
        data["payment_start"] = url_for("ticketing_api.start_payment", number=order.number)
    return jsonify(data), 201


@bp.post("/api/ticketing/orders/<number>/payment")
@csrf_exempt
@contract(body=VisitorIn, body_required=False, **VISITOR, returns=CheckoutOut,
          errors={**VISITOR_ERRORS, 409: ("not_payable",)})
def start_payment(number, body: VisitorIn, headers: VisitorHeaders, query: VisitorQuery):
    """Start paying a held order: the gateway's checkout URL."""
    _visitor_order(number, _last4(body, headers, query))
    url = payments.start_payment(get_db(), provider(), number, get_clock())
    if url is None:
        raise Conflict("not_payable", _l("This order is not awaiting payment."))
    return jsonify({"checkout_url": url, "reference": url.rstrip("/").rsplit("/", 1)[1]})


@bp.get("/api/ticketing/orders/<number>")
@contract(**VISITOR, returns=OrderOut, errors=VISITOR_ERRORS)
def get_order(number, headers: VisitorHeaders, query: VisitorQuery):
    """An order with its e-ticket codes, for its number and a holder's last 4 characters."""
    order = orders.find_order(get_db(), number, _last4(None, headers, query), get_clock())
    return jsonify(order_json(order, with_codes=True))


def _visitor_order(number: str, last4: str) -> None:
    """Nothing is done to an order until the caller has shown its number and the last 4
    characters of a holder's document (body ``last4`` or the X-Holder-Last4 header)."""
    orders.find_order(get_db(), number, last4, get_clock())


@bp.post("/api/ticketing/orders/<number>/refund")
@csrf_exempt
@contract(body=RefundIn, body_required=False, **VISITOR, returns=OrderOut,
          errors={**VISITOR_ERRORS, 404: ("order_not_found", "unknown_ticket"),
                  409: ("not_refundable", "ticket_not_valid", "refund_too_late")})
def refund(number, body: RefundIn, headers: VisitorHeaders, query: VisitorQuery):
    """Refund some or all valid tickets of a paid order, before their time slot."""
    _visitor_order(number, _last4(body, headers, query))
    order = orders.refund(get_db(), number, clock=get_clock(), provider=provider(),
                          ticket_ids=body.ticket_ids, actor="api")
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/rebook")
@csrf_exempt
@contract(body=RebookIn, **VISITOR, returns=OrderOut,
          errors={400: ("bad_last4", "bad_slot", "date_too_far", "slot_over", "same_slot"),
                  404: ("order_not_found", "unknown_ticket", "unknown_slot"),
                  409: ("ticket_not_valid", "rebook_too_late", "sold_out", "sales_paused")})
def rebook(number, body: RebookIn, headers: VisitorHeaders, query: VisitorQuery):
    """Move one valid ticket to another time slot; its old code is revoked."""
    _visitor_order(number, _last4(body, headers, query))
    order = orders.rebook(get_db(), number, clock=get_clock(), ticket_id=body.ticket_id,
                          slot_id=body.slot_id, days_ahead=settings()["days_ahead"])
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/reissue")
@csrf_exempt
@contract(body=ReissueIn, **VISITOR, returns=OrderOut,
          errors={**VISITOR_ERRORS, 404: ("order_not_found", "unknown_ticket"),
                  409: ("ticket_not_valid",)})
def reissue(number, body: ReissueIn, headers: VisitorHeaders, query: VisitorQuery):
    """A new code for one valid ticket (a lost phone); the old code is revoked."""
    _visitor_order(number, _last4(body, headers, query))
    order = orders.reissue(get_db(), number, clock=get_clock(), actor="api",
                           ticket_id=body.ticket_id)
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/payments/sandbox/notify")
@csrf_exempt
@contract(upload=SandboxNotification, media="application/json", returns=OutcomeOut,
          errors={400: ("bad_signature", "bad_notification"), 404: ("unknown_payment",),
                  409: ("amount_mismatch",)})
def sandbox_notify():
    """The sandbox gateway's signed notification (a real gateway's webhook is alike)."""
    outcome = payments.handle_notification(get_db(), provider(), request.get_data(),
                                           request.headers, get_clock())
    return jsonify({"ok": True, "outcome": outcome})


@bp.post("/api/ticketing/sandbox/pay/<reference>")
@csrf_exempt
@contract(body=SandboxPayIn, body_required=False, returns=OutcomeOut,
          errors={404: ("unknown_payment",), 409: ("amount_mismatch",)})
def sandbox_pay(reference, body: SandboxPayIn):
    """The sandbox gateway's 'visitor paid' button, for API clients and tests."""
    inline = current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline"
    result = payments.sandbox_complete(get_db(), provider(), reference,
                                       body.outcome == "succeeded", get_clock(), inline=inline)
    return jsonify({"ok": True, "outcome": result})


@bp.get("/api/ticketing/revocations")
@token_required("gate")
@contract(returns=RevocationsOut)
def revocations():
    """Revocation keys of withdrawn e-ticket codes, for offline gates."""
    return jsonify({"revoked": gate_feed.revocation_list(get_db())})


# --- staff ------------------------------------------------------------------------

@bp.get("/api/ticketing/staff/sites/<site_id>/days/<day>")
@role_required("staff")
@contract(returns=StaffDayOut, errors={400: ("bad_date",), 404: ("unknown_site",)})
def staff_day(site_id, day):
    """A day's slots for the ticket window: sold, held, left, window quotas, pauses."""
    d = parse_day(day)
    slots = quota.availability(get_db(), site_id, d, get_clock())
    return jsonify({"site_id": site_id, "date": d.isoformat(),
                    "pauses": quota.pauses(get_db(), site_id),
                    "slots": [slot_json(s) for s in slots],
                    "totals": {k: sum(getattr(s, k) for s in slots)
                               for k in ("quota", "sold", "held", "left", "window_quota",
                                         "window_sold")}})


def _change_sales(body: PauseIn | ResumeIn, change, **extra):
    """Pause or resume (``change``) a site's sales, or one slot's, as the staff member."""
    change(get_db(), site_id=body.site_id, clock=get_clock(),
           actor=f"staff:{current_user().username}", slot_id=body.slot_id or None, **extra)
    return jsonify({"ok": True, "paused": quota.is_paused(get_db(), body.site_id)})


@bp.post("/api/ticketing/staff/pause")
@role_required("staff")
@contract(body=PauseIn, returns=PausedOut, errors={404: ("unknown_site", "unknown_slot")})
def staff_pause(body: PauseIn):
    """Stop online sales for a site or one slot, with a reason."""
    return _change_sales(body, quota.pause_sales, reason=body.reason)


@bp.post("/api/ticketing/staff/resume")
@role_required("staff")
@contract(body=ResumeIn, returns=PausedOut, errors={404: ("unknown_site", "unknown_slot")})
def staff_resume(body: ResumeIn):
    """Lift every pause of a site or one slot."""
    return _change_sales(body, quota.resume_sales)


@bp.post("/api/ticketing/staff/slots/<int:slot_id>/quota")
@role_required("staff")
@contract(body=QuotaIn, returns=OkOut,
          errors={400: ("over_capacity", "below_sold"), 404: ("unknown_slot",)})
def staff_quota(slot_id, body: QuotaIn):
    """Set one slot's online and window quotas (within the day's capacity)."""
    quota.set_slot_quota(get_db(), slot_id, quota=body.quota, window_quota=body.window_quota,
                         clock=get_clock(), actor=f"staff:{current_user().username}")
    return jsonify({"ok": True})


@bp.post("/api/ticketing/staff/window-sale")
@role_required("staff")
@contract(body=OrderIn, headers=OrderHeaders, returns=OrderOut, status=201,
          errors=BOOKING_ERRORS)
def staff_window_sale(body: OrderIn, headers: OrderHeaders):
    """Sell at the window from the reserved quota: paid at once, codes in the answer."""
    order = _create(body, headers, "window", actor=f"staff:{current_user().username}")
    return jsonify(order_json(order, with_codes=True)), 201
