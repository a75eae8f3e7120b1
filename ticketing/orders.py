"""Orders: holds on the quota for real-name holders, the visitor's way back to an order,
refunds, rebooking and new codes. Every quota check and decrement happens inside one
``quota_transaction`` (ticketing.quota); payments are in ticketing.payments."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo

from admission.codes import revocation_key
from core import pii
from core.clock import Clock, from_iso, iso
from core.errors import Conflict, NotFound, ValidationError
from core.ratelimit import Limits, RateLimited, Rule
from core.text import _l

from . import repo
from .fairness import BookingGuard, check_before_hold, check_in_transaction, refuse_holder
from .holders import prepare_holders
from .products import FULL_FARE, fare_names, get_product, product_names
from .providers import PaymentProvider
from .quota import (check_bookable, check_open, ensure_slots, expire_holds, left_in_slot,
                    parse_day, quota_transaction, slot_closed_reason)

log = logging.getLogger("scenic.ticketing")
NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class TicketView:
    id: int
    version: int
    product_id: str
    product_name: dict
    fare_id: str
    fare_name: dict
    price_fen: int
    proof_required: bool
    status: str
    holder_masked: str
    document_type: str
    document_masked: str
    slot_id: int
    slot_start: datetime
    slot_end: datetime
    day: str
    valid_from: datetime
    valid_until: datetime
    closed_reason: dict | None = None   # the site is closed in this ticket's slot: refundable


@dataclass(frozen=True)
class OrderView:
    number: str
    status: str
    site_id: str
    day: str
    channel: str
    total_fen: int
    hold_expires_at: datetime | None
    created_at: datetime
    paid_at: datetime | None
    tickets: tuple = field(default_factory=tuple)
    payment_url: str | None = None
    secret: str | None = None   # only when just made or recovered: the link's credential


def _request_hash(site_id, day, slot_id, product_id, channel, holders) -> str:
    body = json.dumps([site_id, day.isoformat(), slot_id, product_id, channel,
                       [[h["doc_hash"], h["fare_id"], h["name"]] for h in holders]])
    return hashlib.sha256(body.encode()).hexdigest()


def _validity(product, day: date, tz: tzinfo):
    days = product.valid_days or 1  # unpublished validity: same day (assumption)
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    until = start + timedelta(days=days) - timedelta(minutes=1)
    return iso(start), iso(until)


def create_order(db, *, site_id: str, day, slot_id: int, product_id: str, holders: list,
                 clock: Clock, channel: str = "online", idempotency_key: str | None = None,
                 expected_total_fen: int | None = None, hold_minutes: int = 15,
                 days_ahead: int = 7, actor: str = "",
                 guard: BookingGuard | None = None) -> OrderView:
    """Hold quota for the holders (online) or sell on the spot (window). A repeated
    idempotency key returns the first order; a changed request under it is a conflict.
    Online bookings pass ``guard`` (ticketing.fairness); staff window sales do not."""
    now = clock.now()
    today = now.date()
    day = parse_day(day)
    if channel not in ("online", "window"):
        raise ValidationError("bad_channel", _l("Unknown sales channel."))
    if day < today:
        raise ValidationError("date_in_past", _l("That date has passed."))
    if (day - today).days >= days_ahead:
        raise ValidationError("date_too_far", _l("Tickets are sold up to %(days_ahead)s days "
                                                 "ahead.", days_ahead=days_ahead))
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key).strip()
        if not 8 <= len(idempotency_key) <= 100:
            raise ValidationError("bad_idempotency_key", _l("An idempotency key has 8-100 "
                                                            "characters."))
    if not isinstance(slot_id, int) or isinstance(slot_id, bool) or not 0 < slot_id < 2 ** 62:
        raise ValidationError("bad_slot", _l("Choose a time slot."))
    product = get_product(db, product_id)
    if product.home_site != site_id:
        raise ValidationError("product_not_for_site", _l("That ticket is not sold for this site."))
    prepared = prepare_holders(product, holders, day, today)
    total = sum(h["price_fen"] for h in prepared)
    if expected_total_fen is not None and expected_total_fen != total:
        raise Conflict("price_mismatch", _l("The price has changed or was altered; the total is "
                                            "computed by the server."),
                       details={"total_fen": total})
    if repo.slot(db, slot_id) is None and not ensure_slots(db, site_id, day, clock.tz):
        raise ValidationError("site_closed", _l("The site is closed on that day."))
    req_hash = _request_hash(site_id, day, slot_id, product_id, channel, prepared)
    prior = repo.order_by_key(db, idempotency_key) if idempotency_key else None
    if prior is not None and prior["request_hash"] == req_hash:
        return order_view(db, prior)  # a retry of a booking that went through: no new counts
    if guard is not None:
        check_before_hold(guard, slot_id=slot_id, prepared=prepared,
                          paid_now=channel == "window" or total == 0)
    with quota_transaction(db):
        made = _hold(db, now, clock.tz, idempotency_key, req_hash, slot_id, site_id, day, channel,
                     product, prepared, total, hold_minutes, actor, guard)
    if isinstance(made, int):  # an idempotent repeat: read the stored order back
        return order_view(db, repo.order_by_id(db, made))
    return made


def _new_order_view(order: dict, tickets: list, slot_row, product, secret: str) -> OrderView:
    fares = {f.id: f.name for f in product.fares}
    start, end = from_iso(slot_row["start_at"]), from_iso(slot_row["end_at"])
    views = tuple(TicketView(
        t["id"], 1, product.id, product.name, t["fare_id"],
        FULL_FARE if t["fare_id"] == "full" else fares.get(t["fare_id"], {}), t["price_fen"],
        bool(t["proof_required"]), t["status"], t["holder_name_masked"], t["document_type"],
        t["document_masked"], slot_row["id"], start, end, t["day"], from_iso(t["valid_from"]),
        from_iso(t["valid_until"])) for t in tickets)
    return OrderView(order["number"], order["status"], order["site_id"], order["day"],
                     order["channel"], order["total_fen"], from_iso(order["hold_expires_at"]),
                     from_iso(order["created_at"]), from_iso(order["paid_at"]), views,
                     secret=secret)


def _hold(db, now, tz, idempotency_key, req_hash, slot_id, site_id, day, channel, product,
          prepared, total, hold_minutes, actor, guard) -> int:
    """The quota transaction's body: the new order's view, or the id of the order an
    idempotency key already made."""
    repo.expire_holds(db, iso(now))
    if idempotency_key:
        prior = repo.order_by_key(db, idempotency_key)
        if prior is not None:
            if prior["request_hash"] != req_hash:
                raise Conflict("idempotency_conflict", _l("This idempotency key was used for a "
                                                          "different request."))
            return prior["id"]
    slot_row = repo.slot(db, slot_id)
    check_bookable(db, slot_row, site_id, now)
    if slot_row["day"] != day.isoformat():
        raise ValidationError("slot_not_on_day", _l("That slot is on another day."))
    check_open(db, slot_row)
    avail = left_in_slot(db, slot_row)
    left = avail.window_left if channel == "window" else avail.left
    if left < len(prepared):
        raise Conflict("sold_out", _l("Not enough tickets left in this slot."),
                       details={"left": left})
    paid_now = channel == "window" or total == 0
    if guard is not None:
        check_in_transaction(db, guard, slot_row=slot_row, avail=avail, prepared=prepared,
                             sites_mask=product.sites_mask, today=now.date(), paid_now=paid_now)
    for i, h in enumerate(prepared):
        if repo.holder_conflict(db, h["doc_hash"], day.isoformat(), product.sites_mask):
            if guard is not None:  # online: the same answer as a document limit
                raise refuse_holder(guard, i)
            raise Conflict("holder_has_ticket", _l("This holder already has a ticket for this "
                                                   "site on that day."), details={"holder": i})
    secret = new_secret()
    order = {
        "number": _new_number(), "site_id": site_id, "slot_id": slot_id,
        "day": day.isoformat(), "channel": channel, "status": "paid" if paid_now else "held",
        "total_fen": total, "idempotency_key": idempotency_key or None,
        "request_hash": req_hash, "created_at": iso(now), "actor": actor[:80],
        "hold_expires_at": None if paid_now else iso(now + timedelta(minutes=hold_minutes)),
        "paid_at": iso(now) if paid_now else None,
        "secret_hash": secret_hash(secret), "secret_enc": pii.encrypt(secret)}
    order_id = repo.insert_order(db, order)
    valid_from, valid_until = _validity(product, day, tz)
    tickets = []
    for h in prepared:
        row = {
            "order_id": order_id, "product_id": product.id, "fare_id": h["fare_id"],
            "price_fen": h["price_fen"], "proof_required": int(h["proof"]),
            "site_id": site_id, "sites_mask": product.sites_mask, "slot_id": slot_id,
            "day": day.isoformat(), "channel": channel,
            "holder_name_enc": h["name_enc"], "holder_name_masked": pii.mask_name(h["name"]),
            "document_type": h["doc_type"], "document_hash": h["doc_hash"],
            "document_enc": h["number_enc"],
            "document_masked": pii.mask_document(h["number"]),
            "status": "valid" if paid_now else "pending", "valid_from": valid_from,
            "valid_until": valid_until, "created_at": iso(now)}
        row["id"] = repo.insert_ticket(db, row)
        tickets.append(row)
    return _new_order_view(order, tickets, slot_row, product, secret)


def new_secret() -> str:
    """An order's access secret: 20 symbols of 32 (100 bits), for its link."""
    return "".join(NUMBER_ALPHABET.lower()[b % 32] for b in secrets.token_bytes(20))


def secret_hash(secret: str) -> str:
    # 100 random bits need no slow hash: a SHA-256 cannot be reversed or guessed.
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_number() -> str:
    # 32 symbols divide 256 evenly, so byte % 32 is unbiased; one urandom call, 55 bits.
    return "T" + "".join(NUMBER_ALPHABET[b % 32] for b in secrets.token_bytes(11))


def order_view(db, row, payment_url: str | None = None, product=None) -> OrderView:
    if product is not None:  # all tickets of a new order share its product
        names = {product.id: product.name}
        fares = {f.id: f.name for f in product.fares}
    else:
        names, fares = product_names(db), fare_names(db)
    tickets, slots, closed = [], {}, {}
    for t in repo.tickets_of_order(db, row["id"]):
        slot = slots.get(t["slot_id"]) or slots.setdefault(t["slot_id"], repo.slot(db, t["slot_id"]))
        live = t["status"] in ("valid", "pending")
        if live and t["slot_id"] not in closed:
            closed[t["slot_id"]] = slot_closed_reason(db, slot)
        tickets.append(TicketView(
            t["id"], t["version"], t["product_id"], names.get(t["product_id"], {}), t["fare_id"],
            FULL_FARE if t["fare_id"] == "full" else fares.get(t["fare_id"], {}), t["price_fen"],
            bool(t["proof_required"]), t["status"], t["holder_name_masked"], t["document_type"],
            t["document_masked"], t["slot_id"], from_iso(slot["start_at"]), from_iso(slot["end_at"]),
            t["day"], from_iso(t["valid_from"]), from_iso(t["valid_until"]),
            closed[t["slot_id"]] if live else None))
    return OrderView(row["number"], row["status"], row["site_id"], row["day"], row["channel"],
                     row["total_fen"], from_iso(row["hold_expires_at"]), from_iso(row["created_at"]),
                     from_iso(row["paid_at"]), tuple(tickets), payment_url)


def order_not_found() -> NotFound:
    return NotFound("order_not_found", _l("No order matches that number and document."))


def get_order(db, number: str, clock: Clock | None = None) -> OrderView:
    """An order by number (staff / internal use); with a clock, lapsed holds expire first."""
    if clock is not None:
        expire_holds(db, clock)
    row = repo.order_by_number(db, str(number or "").strip().upper())
    if row is None:
        raise order_not_found()
    return order_view(db, row)


def open_order(db, number: str, secret: str, clock: Clock | None = None) -> OrderView:
    """The order a link opens: its number and its secret, checked in constant time. A
    wrong secret and a missing order answer the same."""
    row = repo.order_by_number(db, str(number or "").strip().upper())
    given = str(secret or "").strip().lower()
    # Compare against a dummy when there is no order, so both cost the same.
    stored = (row["secret_hash"] if row is not None else None) or "0" * 64
    if not hmac.compare_digest(stored.encode(), secret_hash(given).encode()) or row is None \
            or not given:
        raise order_not_found()
    return get_order(db, row["number"], clock)


def order_secret(db, number: str) -> str:
    """The secret of an order (for its own browser, sent back to its link); orders made
    before secrets existed get one now."""
    row = repo.order_by_number(db, number)
    if row is None:
        raise order_not_found()
    if row["secret_enc"]:
        return pii.decrypt(row["secret_enc"])
    secret = new_secret()
    with quota_transaction(db):
        repo.set_order_secret(db, row["id"], secret_hash(secret), pii.encrypt(secret))
    return secret


def recover_order(db, number: str, last4: str, clock: Clock, *, limits: Limits,
                  failures: str) -> OrderView:
    """The throttled way back to a lost link: the order number plus the last 4 characters of
    any holder's document. Each wrong pair counts against the number (``failures``, e.g.
    "5/hour;10/day"), known or not; past it the number is locked (``recovery_locked``). A
    wrong pair and a missing order answer the same. Returns the order with its secret."""
    last4 = "".join(str(last4 or "").split()).upper()
    if len(last4) != 4:
        raise ValidationError("bad_last4",
                              _l("Give the last 4 characters of a holder's document."))
    number = str(number or "").strip().upper()[:40]
    rule = Rule("recovery_locked", failures, ("recover", number),
                _l("This order number has had too many wrong attempts and is locked for now."))
    refused = limits.refusal([rule])
    if refused:
        raise RateLimited(rule.code, rule.message, refused[1])
    row = repo.order_by_number(db, number)
    tickets = repo.tickets_of_order(db, row["id"]) if row is not None else []
    if not any(hmac.compare_digest(t["document_masked"][-4:].encode(), last4.encode())
               for t in tickets):
        limits.count(rule)
        raise order_not_found()
    return replace(get_order(db, number, clock), secret=order_secret(db, number))


# --- refunds and rebooking -------------------------------------------------------------

def refund(db, number: str, *, clock: Clock, provider: PaymentProvider | None, ticket_ids=None,
           actor: str = "") -> OrderView:
    """Refund a whole order or some of its tickets before their slot starts; the quota comes
    back and each refunded code is revoked. An unpaid hold is simply cancelled."""
    at = iso(clock.now())
    with quota_transaction(db):
        repo.expire_holds(db, at)
        order = repo.order_by_number(db, number)
        if order is None:
            raise order_not_found()
        tickets = repo.tickets_of_order(db, order["id"])
        if order["status"] == "held" and not ticket_ids:
            repo.set_tickets_status(db, order["id"], "pending", "expired")
            repo.set_order_status(db, order["id"], "expired")
            return order_view(db, repo.order_by_id(db, order["id"]))
        if order["status"] != "paid":
            raise Conflict("not_refundable", _l("Only paid orders can be refunded."))
        chosen = [t for t in tickets if t["status"] == "valid"] if not ticket_ids else \
            [t for t in tickets if t["id"] in set(ticket_ids)]
        if not chosen or (ticket_ids and len(chosen) != len(set(ticket_ids))):
            raise NotFound("unknown_ticket", _l("No such ticket in this order."))
        for t in chosen:
            if t["status"] != "valid":
                raise Conflict("ticket_not_valid", _l("That ticket is already refunded."))
            slot = repo.slot(db, t["slot_id"])
            # A ticket for hours the site was closed (by staff or a holiday rule) stays
            # refundable after its slot began: the visitor could not go in.
            if from_iso(slot["start_at"]) <= clock.now() and slot_closed_reason(db, slot) is None:
                raise Conflict("refund_too_late", _l("Tickets can be refunded only before their "
                                                     "time slot starts."))
        amount = 0
        for t in chosen:
            repo.add_revocation(db, revocation_key(t["id"], t["version"]), t["id"],
                                "refunded", at)
            repo.refund_ticket(db, t["id"], at)
            amount += t["price_fen"]
        if amount and provider is not None and order["channel"] == "online":
            charge = next((p for p in repo.payments_of_order(db, order["id"])
                           if p["kind"] == "charge" and p["status"] == "succeeded"), None)
            if charge is not None:
                ref = provider.refund(charge["reference"], amount)
                repo.insert_payment(db, order["id"], provider.name, ref, "refund", amount,
                                    "succeeded", at)
        if not any(t["status"] == "valid" for t in repo.tickets_of_order(db, order["id"])):
            repo.set_order_status(db, order["id"], "refunded")
        log.info("tickets refunded", extra={"event": "tickets_refunded", "order": number,
                                            "count": len(chosen), "actor": actor})
        return order_view(db, repo.order_by_id(db, order["id"]))


def rebook(db, number: str, *, ticket_id: int, slot_id: int, clock: Clock,
           days_ahead: int = 7) -> OrderView:
    """Move one ticket to another slot of the same site: a new code; the old one is revoked."""
    now = clock.now()
    at = iso(now)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2 ** 62
               for v in (slot_id, ticket_id)):
        raise ValidationError("bad_slot", _l("Choose a ticket and a time slot."))
    with quota_transaction(db):
        repo.expire_holds(db, at)
        order = repo.order_by_number(db, number)
        if order is None:
            raise order_not_found()
        t = repo.ticket(db, ticket_id)
        if t is None or t["order_id"] != order["id"]:
            raise NotFound("unknown_ticket", _l("No such ticket in this order."))
        if t["status"] != "valid":
            raise Conflict("ticket_not_valid", _l("Only a valid ticket can be rebooked."))
        old = repo.slot(db, t["slot_id"])
        if from_iso(old["start_at"]) <= now and slot_closed_reason(db, old) is None:
            raise Conflict("rebook_too_late", _l("A ticket can be rebooked only before its slot "
                                                 "starts."))
        new = repo.slot(db, slot_id)
        check_bookable(db, new, t["site_id"], now)
        check_open(db, new)
        new_day = date.fromisoformat(new["day"])
        if (new_day - now.date()).days >= days_ahead:
            raise ValidationError("date_too_far", _l("Tickets are sold up to %(days_ahead)s days "
                                                     "ahead.", days_ahead=days_ahead))
        if new["id"] == t["slot_id"]:
            raise ValidationError("same_slot", _l("The ticket is already for that slot."))
        avail = left_in_slot(db, new)
        if (avail.window_left if t["channel"] == "window" else avail.left) < 1:
            raise Conflict("sold_out", _l("No tickets left in that slot."))
        if repo.holder_conflict(db, t["document_hash"], new["day"], t["sites_mask"], t["id"]):
            raise Conflict("holder_has_ticket", _l("This holder already has a ticket for this "
                                                   "site on that day."))
        product = get_product(db, t["product_id"])
        valid_from, valid_until = _validity(product, new_day, clock.tz)
        repo.add_revocation(db, revocation_key(t["id"], t["version"]), t["id"], "rebooked", at)
        repo.move_ticket(db, t["id"], new["id"], new["day"], valid_from, valid_until)
        return order_view(db, order)


def reissue(db, number: str, *, ticket_id: int, clock: Clock, actor: str = "") -> OrderView:
    """Give a valid ticket a new code (e.g. a screenshot was shared): the version goes up and
    the old code's key is revoked; the slot and the holder stay."""
    at = iso(clock.now())
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or not 0 < ticket_id < 2 ** 62:
        raise NotFound("unknown_ticket", _l("No such ticket in this order."))
    with quota_transaction(db):
        order = repo.order_by_number(db, number)
        t = repo.ticket(db, ticket_id)
        if order is None or t is None or t["order_id"] != order["id"]:
            raise NotFound("unknown_ticket", _l("No such ticket in this order."))
        if t["status"] != "valid":
            raise Conflict("ticket_not_valid", _l("Only a valid ticket gets a new code."))
        repo.add_revocation(db, revocation_key(t["id"], t["version"]), t["id"], "reissued", at)
        repo.bump_version(db, t["id"])
    log.info("ticket code reissued", extra={"event": "ticket_reissued", "actor": actor})
    return order_view(db, repo.order_by_number(db, number))
