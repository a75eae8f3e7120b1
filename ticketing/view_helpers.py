"""Helpers shared by the ticketing page and API views: the payment provider, the signing
key, JSON shapes and the visitor's session access to orders."""
from __future__ import annotations

from datetime import date

from flask import current_app, session, url_for

from core.db import get_db
from core.errors import ValidationError
from core.text import _l

from .gate_feed import code_for, signing_key
from .orders import OrderView
from .products import Product
from .providers import SandboxProvider, sandbox_secret
from .quota import SlotAvailability, parse_day

SESSION_ORDERS = "tk_orders"
MAX_SESSION_ORDERS = 10  # bounded: the session cookie must stay small


def provider():
    return SandboxProvider(sandbox_secret(current_app.config["SECRET_KEY"]),
                           checkout_url_for=lambda ref: url_for("ticketing.sandbox_checkout",
                                                                reference=ref))


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
            "window_left": s.window_left}


def product_json(p: Product) -> dict:
    return {"id": p.id, "sites": list(p.sites), "name": p.name, "price_fen": p.price_fen,
            "valid_days": p.valid_days, "since": p.since, "source": p.source, "notes": p.notes,
            "fares": [{"id": f.id, "kind": f.kind, "name": f.name, "factor": f.factor,
                       "rule": f.rule, "confirmed": f.confirmed, "source": f.source}
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
    for t in o.tickets:
        item = {"id": t.id, "version": t.version, "product_id": t.product_id,
                "product_name": t.product_name, "fare_id": t.fare_id, "fare_name": t.fare_name,
                "price_fen": t.price_fen, "proof_required": t.proof_required,
                "status": t.status, "holder": t.holder_masked, "document_type": t.document_type,
                "document": t.document_masked, "slot_id": t.slot_id,
                "slot_start": t.slot_start.isoformat(), "slot_end": t.slot_end.isoformat(),
                "valid_from": t.valid_from.isoformat(), "valid_until": t.valid_until.isoformat()}
        if with_codes and t.status == "valid":
            item["code"] = code_for(get_db(), t.id, key)
        out["tickets"].append(item)
    return out
