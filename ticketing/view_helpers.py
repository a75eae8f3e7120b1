"""Helpers shared by the ticketing page and API views: the payment provider, the signing
key, JSON shapes and the visitor's session access to orders."""
from __future__ import annotations

from datetime import date

from flask import current_app, session, url_for

from core import pow
from core.clock import get_clock
from core.db import get_db
from core.errors import NotFound, ValidationError
from core.ratelimit import Rule, client_key, limits, request_rules
from core.text import _l

from .fairness import BookingGuard
from .gate_feed import code_for, signing_key
from .orders import OrderView
from .payments import payment_status
from .products import Product, price_for
from .providers import ADAPTERS
from .quota import SlotAvailability, parse_day

SESSION_ORDERS = "tk_orders"
MAX_SESSION_ORDERS = 10  # bounded: the session cookie must stay small


def provider():
    """The configured payment adapter (checked at start-up: never the sandbox in production)."""
    factory = ADAPTERS[current_app.config["TICKETING_PAYMENT_PROVIDER"]]
    return factory(current_app.config,
                   checkout_url_for=lambda ref: url_for("ticketing.sandbox_checkout",
                                                        reference=ref),
                   status_of=lambda ref: payment_status(get_db(), ref))


def sandbox_only() -> None:
    """The sandbox gateway's own pages and buttons exist only while it is the provider."""
    if current_app.config["TICKETING_PAYMENT_PROVIDER"] != "sandbox":
        raise NotFound("not_found", _l("There is no such page."))


def guard() -> BookingGuard:
    """The fair-booking limits of an online booking from this client."""
    return BookingGuard.from_config(current_app.config, limits(), client_key())


def admit_booking(payload) -> None:
    """The gate of an online booking request: its proof of work (core.pow) and the client's
    booking-request limit, counted together in one storage transaction."""
    c = current_app.config
    pow.verify(payload, c["SECRET_KEY"], now=get_clock().now().timestamp(), limits=limits(),
               ttl_s=c["POW_TTL_SECONDS"],
               with_rules=request_rules("TICKETING_BOOKINGS_PER_CLIENT", "booking"))


def order_limit(number: str) -> None:
    """Changes to one order (payments, refunds, rebookings, new codes) are limited per order."""
    limits().enforce([Rule("too_many_changes", current_app.config["TICKETING_ACTIONS_PER_ORDER"],
                           ("order", str(number).upper()[:40]),
                           _l("This order has been changed too often."))])


def order_link(number: str, secret: str, **kw) -> str:
    return url_for("ticketing.order_page", number=number, secret=secret, **kw)


def private_key() -> bytes:
    cache = current_app.extensions.setdefault("ticketing.signing_key", {})
    if "key" not in cache:
        cache["key"] = signing_key(current_app.instance_path)
    return cache["key"]


def settings() -> dict:
    c = current_app.config
    return {"hold_minutes": c["TICKETING_HOLD_MINUTES"], "days_ahead": c["TICKETING_DAYS_AHEAD"]}


# What parse_int asks for, as its callers name it, marked for the catalogues so that
# "Give a time slot." reads "请填写入园时段。" in Chinese.
ASKED_FOR = {str(text.msgid): text for text in (
    _l("a whole number"), _l("the expected total in fen"), _l("a time slot"), _l("a slot"),
    _l("a ticket id"), _l("a ticket"), _l("a quota"), _l("a slot length in minutes"))}


def parse_int(value, code="bad_number", what="a whole number") -> int:
    what = ASKED_FOR.get(what, what)
    if isinstance(value, bool):
        raise ValidationError(code, _l("Give %(what)s.", what=what))
    if isinstance(value, int):
        if not 0 <= value < 2 ** 31:
            raise ValidationError(code, _l("Give %(what)s.", what=what))
        return value
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationError(code, _l("Give %(what)s.", what=what))
    return int(text)


def bookable_day(value, today) -> date:
    """A visitor-facing day: today up to TICKETING_DAYS_AHEAD (anonymous requests must not
    create slot rows for arbitrary dates)."""
    day = parse_day(value, today)
    if day < today:
        raise ValidationError("date_in_past", _l("That date has passed."))
    ahead = settings()["days_ahead"]
    if (day - today).days >= ahead:
        raise ValidationError("date_too_far", _l("Tickets are sold up to %(ahead)s days ahead.",
                                                 ahead=ahead))
    return day


def grant(number: str) -> None:
    owned = [n for n in session.get(SESSION_ORDERS, []) if n != number]
    session[SESSION_ORDERS] = (owned + [number])[-MAX_SESSION_ORDERS:]


def owns(number: str) -> bool:
    return number in session.get(SESSION_ORDERS, [])


def slot_json(s: SlotAvailability) -> dict:
    return {"slot_id": s.slot_id, "start": s.start.isoformat(), "end": s.end.isoformat(),
            "quota": s.quota, "sold": s.sold, "held": s.held, "left": s.left, "paused": s.paused,
            "window_quota": s.window_quota, "window_sold": s.window_sold,
            "window_left": s.window_left, "closed": s.closed}


def product_json(p: Product) -> dict:
    return {"id": p.id, "sites": list(p.sites), "name": p.name, "price_fen": p.price_fen,
            "valid_days": p.valid_days, "since": p.since, "source": p.source, "notes": p.notes,
            "price_periods": [{k: q.get(k) for k in ("start", "end", "price_fen", "fares_fen",
                                                      "source")} for q in p.periods],
            "fares": [{"id": f.id, "kind": f.kind, "name": f.name, "factor": f.factor,
                       "price_fen": price_for(p, f.id), "rounding": f.rounding,
                       "eligibility": list(f.rule), "proof_possible": f.proof_possible,
                       "confirmed": f.confirmed, "source": f.source}
                      for f in p.fares if f.enabled]}


def order_json(o: OrderView, with_codes: bool = False) -> dict:
    key = private_key() if with_codes else None
    out = {"number": o.number, "status": o.status, "site_id": o.site_id, "date": o.day,
           "channel": o.channel, "total_fen": o.total_fen,
           "hold_expires_at": o.hold_expires_at.isoformat() if o.hold_expires_at else None,
           "created_at": o.created_at.isoformat(),
           "paid_at": o.paid_at.isoformat() if o.paid_at else None, "tickets": []}
    if o.payment_url:
        out["payment_url"] = o.payment_url
    if o.secret:  # only in the answer that made or recovered the order
        out["secret"] = o.secret
        out["url"] = order_link(o.number, o.secret, _external=True)
    for t in o.tickets:
        item = {"id": t.id, "version": t.version, "product_id": t.product_id,
                "product_name": t.product_name, "fare_id": t.fare_id, "fare_name": t.fare_name,
                "price_fen": t.price_fen, "proof_required": t.proof_required,
                "status": t.status, "holder": t.holder_masked, "document_type": t.document_type,
                "document": t.document_masked, "slot_id": t.slot_id,
                "slot_start": t.slot_start.isoformat(), "slot_end": t.slot_end.isoformat(),
                "valid_from": t.valid_from.isoformat(), "valid_until": t.valid_until.isoformat(),
                "closed_reason": t.closed_reason}
        if with_codes and t.status == "valid":
            item["code"] = code_for(get_db(), t.id, key)
        out["tickets"].append(item)
    return out
