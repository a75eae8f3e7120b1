"""The ticketing JSON API views (documented in docs/ticketing.md; contracts in
ticketing/schemas.py). Anonymous visitor endpoints are CSRF-exempt JSON (a cross-site form
cannot send application/json); staff endpoints use the session plus the X-CSRF-Token
header; gate endpoints a bearer token."""
from __future__ import annotations

import base64
from functools import wraps

from flask import Blueprint, current_app, jsonify, request, url_for

from catalog import interface as catalog
from core.auth import current_user, role_required, token_required
from core.clock import get_clock
from core.contracts import contract
from core.csrf import csrf_exempt
from core.db import get_db
from core.errors import Conflict, Unauthorized, ValidationError
from core.ratelimit import limiter, limits, setting
from core.text import _l

from . import gate_feed, metrics, orders, payments, products, quota
from .quota import parse_day
from .schemas import (AvailabilityOut, AvailabilityQuery, CalendarOut, CheckoutOut, OkOut,
                      OrderHeaders, OrderIn, OrderOut, OutcomeOut, PausedOut, PauseIn,
                      ProductsOut, ProductsQuery, PublicKeyOut, QuotaIn, RebookIn, RecoverIn,
                      RefundIn, ReissueIn, ResumeIn, RevocationsOut, SandboxNotification,
                      SandboxPayIn, StaffDayOut)
from .view_helpers import (admit_booking, bookable_day, guard, order_json, order_limit,
                           product_json, provider, sandbox_only, settings, slot_json)

bp = Blueprint("ticketing_api", __name__)

SECRET_HEADER = "X-Order-Secret"
# What booking can refuse with once the body has its shape (services: orders, holders,
# products, quota, fairness; core.pow; admission.identity for documents).
BOOKING_ERRORS = {
    400: ("date_in_past", "date_too_far", "bad_idempotency_key", "bad_slot",
          "product_not_for_site", "bad_holders", "bad_holder_name", "bad_document_type",
          "bad_document_number", "id_length", "id_format", "id_region", "id_birth_date",
          "id_check_digit", "bad_birth_date", "bad_date", "birth_date_required", "not_eligible",
          "unknown_fare", "duplicate_holder", "site_closed", "slot_not_on_day", "slot_over"),
    404: ("unknown_product", "unknown_slot", "unknown_site"),
    409: ("price_mismatch", "idempotency_conflict", "sold_out", "holder_has_ticket",
          "sales_paused", "holder_unavailable", "slot_busy", "free_places_taken"),
}
ONLINE_BOOKING_ERRORS = {
    **BOOKING_ERRORS,
    429: ("too_many_in_slot", "too_many_holds", "too_many_free_tickets", "too_many_refusals",
          "holder_unavailable"),
}
ORDER_SECRET = {"type": "apiKey", "in": "header", "name": SECRET_HEADER,
                "description": "An order's secret: in the answer that made or recovered the "
                               "order (and its page's address). Lost: POST "
                               "/api/ticketing/orders/recover."}


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


def booking_admitted(view):
    """Guard of an online booking: its proof of work (the body's ``altcha``) and the
    client's booking limit, checked before the body's other fields (put it above @contract),
    so a flood of malformed bookings is limited like any other."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        data = request.get_json(silent=True)
        if isinstance(data, dict):  # anything else is the contract's invalid_json
            admit_booking(data.get("altcha"))
        return view(*args, **kwargs)
    wrapper._guard_errors = {400: ("pow_missing", "pow_invalid", "pow_expired", "pow_replayed"),
                             429: ("rate_limited",)}
    return wrapper


def order_secret_required(change: bool = False):
    """Guard of a visitor's order: the order whose secret the caller shows, found before the
    body is read (put it above @contract) and passed to the view as ``order``; ``change``
    counts the request against the order's limit on changes."""
    def deco(view):
        @wraps(view)
        def wrapper(number, **kwargs):
            return view(number, order=_visitor_order(number, change=change), **kwargs)
        wrapper._security = [{"orderSecret": []}]
        wrapper._security_schemes = {"orderSecret": ORDER_SECRET}
        wrapper._guard_errors = {400: ("credentials_in_query",), 401: ("secret_required",),
                                 404: ("order_not_found",),
                                 **({429: ("too_many_changes",)} if change else {})}
        return wrapper
    return deco


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
        {"date": d["date"].isoformat(), "open": d["open"], "over": d["over"], "left": d["left"],
         "paused": d["paused"], "closed_reason": d["closed_reason"]}
        for d in days]})


@bp.get("/api/ticketing/sites/<site_id>/availability")
@contract(query=AvailabilityQuery, returns=AvailabilityOut,
          errors={400: ("date_in_past", "date_too_far"), 404: ("unknown_site",)})
def availability(site_id, query: AvailabilityQuery):
    """A day's time slots with the tickets left in each."""
    today = get_clock().now().date()
    day = bookable_day(query.date, today)
    slots = quota.availability(get_db(), site_id, day, get_clock())
    return jsonify({"site_id": site_id, "date": day.isoformat(),
                    "paused": quota.is_paused(get_db(), site_id, day, today),
                    "slots": [slot_json(s) for s in slots]})


def _create(body: OrderIn, headers: OrderHeaders, channel: str, actor: str = "", guard=None):
    cfg = settings()
    order = orders.create_order(
        get_db(), site_id=body.site_id, day=body.date, slot_id=body.slot_id,
        product_id=body.product_id, holders=[h.model_dump() for h in body.holders],
        clock=get_clock(), channel=channel,
        idempotency_key=headers.idempotency_key or body.idempotency_key,
        expected_total_fen=body.expected_total_fen, hold_minutes=cfg["hold_minutes"],
        days_ahead=cfg["days_ahead"], actor=actor, guard=guard)
    metrics.booked(order)
    return order


@bp.post("/api/ticketing/orders")
@csrf_exempt
@booking_admitted
@contract(body=OrderIn, headers=OrderHeaders, returns=OrderOut, status=201,
          errors=ONLINE_BOOKING_ERRORS)
def create_order(body: OrderIn, headers: OrderHeaders):
    """Book: hold tickets for 1-5 real-name holders (then pay at payment_start). The answer
    carries the order's secret; a solved proof-of-work challenge is required."""
    order = _create(body, headers, "online", guard=guard())
    data = order_json(order, with_codes=order.status == "paid")
    if order.status == "held":
        # The charge is created when the visitor goes to pay, outside the booking transaction.
        data["payment_start"] = url_for("ticketing_api.start_payment", number=order.number)
    return jsonify(data), 201


@bp.post("/api/ticketing/orders/<number>/payment")
@csrf_exempt
@order_secret_required(change=True)
@contract(returns=CheckoutOut, errors={409: ("not_payable",)})
def start_payment(number, order: orders.OrderView):
    """Start paying a held order: the gateway's checkout URL."""
    url = payments.start_payment(get_db(), provider(), number, get_clock())
    if url is None:
        raise Conflict("not_payable", _l("This order is not awaiting payment."))
    return jsonify({"checkout_url": url, "reference": url.rstrip("/").rsplit("/", 1)[1]})


@bp.get("/api/ticketing/orders/<number>")
@order_secret_required()
@contract(returns=OrderOut)
def get_order(number, order: orders.OrderView):
    """An order with its e-ticket codes, for the caller who shows its secret."""
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/recover")
@csrf_exempt
@limiter.shared_limit(setting("TICKETING_RECOVERY_PER_CLIENT"), scope="recovery")
@contract(body=RecoverIn, returns=OrderOut,
          errors={404: ("order_not_found",), 429: ("rate_limited", "recovery_locked")})
def recover_order(body: RecoverIn):
    """A lost link: the order number + the last 4 characters of a holder's document give the
    order with its secret. Throttled per client and locked per order after a few misses."""
    order = orders.recover_order(
        get_db(), body.number, body.last4, get_clock(), limits=limits(),
        failures=current_app.config["TICKETING_RECOVERY_FAILURES_PER_ORDER"])
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/refund")
@csrf_exempt
@order_secret_required(change=True)
@contract(body=RefundIn, body_required=False, returns=OrderOut,
          errors={404: ("unknown_ticket",),
                  409: ("not_refundable", "ticket_not_valid", "refund_too_late")})
def refund(number, order: orders.OrderView, body: RefundIn):
    """Refund some or all valid tickets of a paid order, before their time slot."""
    order = orders.refund(get_db(), number, clock=get_clock(), provider=provider(),
                          ticket_ids=body.ticket_ids, actor="api")
    metrics.refunded(order, "api")
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/rebook")
@csrf_exempt
@order_secret_required(change=True)
@contract(body=RebookIn, returns=OrderOut,
          errors={400: ("bad_slot", "date_too_far", "slot_over", "same_slot"),
                  404: ("unknown_ticket", "unknown_slot"),
                  409: ("ticket_not_valid", "rebook_too_late", "sold_out", "sales_paused")})
def rebook(number, order: orders.OrderView, body: RebookIn):
    """Move one valid ticket to another time slot; its old code is revoked."""
    order = orders.rebook(get_db(), number, clock=get_clock(), ticket_id=body.ticket_id,
                          slot_id=body.slot_id, days_ahead=settings()["days_ahead"])
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/orders/<number>/reissue")
@csrf_exempt
@order_secret_required(change=True)
@contract(body=ReissueIn, returns=OrderOut,
          errors={404: ("unknown_ticket",), 409: ("ticket_not_valid",)})
def reissue(number, order: orders.OrderView, body: ReissueIn):
    """A new code for one valid ticket (a lost phone); the old code is revoked."""
    order = orders.reissue(get_db(), number, clock=get_clock(), actor="api",
                           ticket_id=body.ticket_id)
    return jsonify(order_json(order, with_codes=True))


@bp.post("/api/ticketing/payments/sandbox/notify")
@csrf_exempt
@contract(upload=SandboxNotification, media="application/json", returns=OutcomeOut,
          errors={400: ("bad_signature", "bad_notification"), 404: ("unknown_payment", "not_found"),
                  409: ("amount_mismatch",)})
def sandbox_notify():
    """The sandbox gateway's signed notification (a real gateway's webhook is alike)."""
    sandbox_only()
    outcome = payments.handle_notification(get_db(), provider(), request.get_data(),
                                           request.headers, get_clock())
    return jsonify({"ok": True, "outcome": outcome})


@bp.post("/api/ticketing/sandbox/pay/<reference>")
@csrf_exempt
@contract(body=SandboxPayIn, body_required=False, returns=OutcomeOut,
          errors={404: ("unknown_payment",), 409: ("amount_mismatch",)})
def sandbox_pay(reference, body: SandboxPayIn):
    """The sandbox gateway's 'visitor paid' button, for API clients and tests (it exists only
    while the sandbox is the provider, which start-up refuses in production)."""
    sandbox_only()
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
