"""Orders: holds on the quota, real-name holders, payment notifications, refunds, rebooking.
Every quota check and decrement happens inside one BEGIN IMMEDIATE transaction."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import date, datetime, timedelta

from core import pii
from core.errors import Conflict, DomainError, NotFound, ValidationError
from core.text import _l

from . import codes, repo
from .identity import age_on, validate_document, validate_resident_id
from .payments import BadNotification, BadSignature, PaymentProvider
from .services import (FULL_FARE, MAX_HOLDERS, OrderView, TicketView, _availability, _dt, _iso,
                       _paused_slots, choose_fare, ensure_slots, get_product, price_for,
                       quota_transaction)

log = logging.getLogger("scenic.ticketing")
NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _err(cls, code, en, **details):
    return cls(code, en, details=details or None)


def _parse_day(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _err(ValidationError, "bad_date", _l("Give the date as YYYY-MM-DD.")) from None


def _clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    # Apostrophes, hyphens and the middle dot occur in real names (O'Brien, 买买提·艾力);
    # pages escape everything anyway, so only markup brackets and control characters go.
    if not 1 <= len(name) <= 40 or any(not c.isprintable() or c in "<>" for c in name):
        raise _err(ValidationError, "bad_holder_name", _l("Give the holder's name as on the "
                                                          "document (1-40 characters)."))
    return name


def prepare_holders(product, holders, day: date, today: date) -> list[dict]:
    """Validate holders before any write: documents, ages, fares and prices (server-side)."""
    if not isinstance(holders, list) or not 1 <= len(holders) <= MAX_HOLDERS:
        raise _err(ValidationError, "bad_holders", _l("Add 1 to %(max_holders)s holders.",
                                                      max_holders=MAX_HOLDERS))
    out, seen = [], set()
    for i, h in enumerate(holders):
        if not isinstance(h, dict):
            raise _err(ValidationError, "bad_holders", _l("Each holder is an object."))
        try:
            name = _clean_name(h.get("name"))
            doc_type = str(h.get("document_type") or "resident_id")
            number = validate_document(doc_type, h.get("document_number"), today)
            if doc_type == "resident_id":
                born = validate_resident_id(number, today).birth_date
            elif h.get("birth_date"):
                born = _parse_day(h.get("birth_date"))
                if born > today or born.year < 1900:
                    raise _err(ValidationError, "bad_birth_date", _l("The birth date is not a "
                                                                     "real past date."))
            else:
                born = None
            age = age_on(born, day) if born else None
            fare_id, proof = choose_fare(product, h.get("fare"), age)
        except DomainError as exc:
            exc.details = {**exc.details, "holder": i}
            raise
        doc_hash = pii.keyed_hash(number)
        if doc_hash in seen:
            raise _err(ValidationError, "duplicate_holder", _l("The same document appears twice "
                                                               "in this order."), holder=i)
        seen.add(doc_hash)
        out.append({"name": name, "doc_type": doc_type, "number": number, "doc_hash": doc_hash,
                    "name_enc": pii.encrypt(name), "number_enc": pii.encrypt(number),
                    "fare_id": fare_id, "proof": proof, "price_fen": price_for(product, fare_id)})
    return out


def _request_hash(site_id, day, slot_id, product_id, channel, holders) -> str:
    body = json.dumps([site_id, day.isoformat(), slot_id, product_id, channel,
                       [[h["doc_hash"], h["fare_id"], h["name"]] for h in holders]])
    return hashlib.sha256(body.encode()).hexdigest()


def _validity(product, day: date):
    days = product.valid_days or 1  # unpublished validity: same day (assumption)
    start = datetime.combine(day, datetime.min.time(), tzinfo=_tz())
    until = start + timedelta(days=days) - timedelta(minutes=1)
    return _iso(start), _iso(until)


def _tz():
    from core.clock import DEFAULT_TZ
    return DEFAULT_TZ


def _check_slot(db, slot_row, site_id, now, paused_whole, paused_ids):
    if slot_row is None or slot_row["site_id"] != site_id:
        raise _err(NotFound, "unknown_slot", _l("There is no such time slot."))
    if _dt(slot_row["end_at"]) <= now:
        raise _err(ValidationError, "slot_over", _l("That time slot is over."))
    if paused_whole or slot_row["id"] in paused_ids:
        raise _err(Conflict, "sales_paused", _l("Sales are paused for this site or slot."))


def create_order(db, *, site_id: str, day, slot_id: int, product_id: str, holders: list,
                 clock, channel: str = "online", idempotency_key: str | None = None,
                 expected_total_fen: int | None = None, hold_minutes: int = 15,
                 days_ahead: int = 7, actor: str = "") -> OrderView:
    """Hold quota for the holders (online) or sell on the spot (window). A repeated
    idempotency key returns the first order; a changed request under it is a conflict."""
    now = clock.now()
    today = now.date()
    day = _parse_day(day)
    if channel not in ("online", "window"):
        raise _err(ValidationError, "bad_channel", _l("Unknown sales channel."))
    if day < today:
        raise _err(ValidationError, "date_in_past", _l("That date has passed."))
    if (day - today).days >= days_ahead:
        raise _err(ValidationError, "date_too_far", _l("Tickets are sold up to %(days_ahead)s "
                                                       "days ahead.", days_ahead=days_ahead))
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key).strip()
        if not 8 <= len(idempotency_key) <= 100:
            raise _err(ValidationError, "bad_idempotency_key", _l("An idempotency key has 8-100 "
                                                                  "characters."))
    if not isinstance(slot_id, int) or isinstance(slot_id, bool) or not 0 < slot_id < 2 ** 62:
        raise _err(ValidationError, "bad_slot", _l("Choose a time slot."))
    product = get_product(db, product_id)
    if product.home_site != site_id:
        raise _err(ValidationError, "product_not_for_site", _l("That ticket is not sold for this "
                                                               "site."))
    prepared = prepare_holders(product, holders, day, today)
    total = sum(h["price_fen"] for h in prepared)
    if expected_total_fen is not None and expected_total_fen != total:
        raise _err(Conflict, "price_mismatch", _l("The price has changed or was altered; the "
                                                  "total is computed by the server."),
                   total_fen=total)
    if repo.slot(db, slot_id) is None and not ensure_slots(db, site_id, day):
        raise _err(ValidationError, "site_closed", _l("The site is closed on that day."))
    req_hash = _request_hash(site_id, day, slot_id, product_id, channel, prepared)
    with quota_transaction(db):
        made = _hold(db, now, idempotency_key, req_hash, slot_id, site_id, day, channel,
                     product, prepared, total, hold_minutes, actor)
    if isinstance(made, int):  # an idempotent repeat: read the stored order back
        return order_view(db, repo.order_by_id(db, made))
    return made


def _new_order_view(order: dict, tickets: list, slot_row, product) -> OrderView:
    fares = {f.id: f.name for f in product.fares}
    start, end = _dt(slot_row["start_at"]), _dt(slot_row["end_at"])
    views = tuple(TicketView(
        t["id"], 1, product.id, product.name, t["fare_id"],
        FULL_FARE if t["fare_id"] == "full" else fares.get(t["fare_id"], {}), t["price_fen"],
        bool(t["proof_required"]), t["status"], t["holder_name_masked"], t["document_type"],
        t["document_masked"], slot_row["id"], start, end, t["day"], _dt(t["valid_from"]),
        _dt(t["valid_until"])) for t in tickets)
    return OrderView(order["number"], order["status"], order["site_id"], order["day"],
                     order["channel"], order["total_fen"], _dt(order["hold_expires_at"]),
                     _dt(order["created_at"]), _dt(order["paid_at"]), views)


def _hold(db, now, idempotency_key, req_hash, slot_id, site_id, day, channel, product,
          prepared, total, hold_minutes, actor) -> int:
    """The quota transaction's body: the new order's view, or the id of the order an
    idempotency key already made."""
    repo.expire_holds(db, _iso(now))
    if idempotency_key:
        prior = repo.order_by_key(db, idempotency_key)
        if prior is not None:
            if prior["request_hash"] != req_hash:
                raise _err(Conflict, "idempotency_conflict", _l("This idempotency key was used "
                                                                "for a different request."))
            return prior["id"]
    slot_row = repo.slot(db, slot_id)
    whole, paused_ids = _paused_slots(db, site_id)
    _check_slot(db, slot_row, site_id, now, whole, paused_ids)
    if slot_row["day"] != day.isoformat():
        raise _err(ValidationError, "slot_not_on_day", _l("That slot is on another day."))
    avail = _availability(slot_row, repo.slot_counts(db, slot_id), False)
    left = avail.window_left if channel == "window" else avail.left
    if left < len(prepared):
        raise _err(Conflict, "sold_out", _l("Not enough tickets left in this slot."), left=left)
    for i, h in enumerate(prepared):
        if repo.holder_conflict(db, h["doc_hash"], day.isoformat(), product_mask(product)):
            raise _err(Conflict, "holder_has_ticket", _l("This holder already has a ticket for "
                                                         "this site on that day."), holder=i)
    paid_now = channel == "window" or total == 0
    order = {
        "number": _new_number(), "site_id": site_id, "slot_id": slot_id,
        "day": day.isoformat(), "channel": channel, "status": "paid" if paid_now else "held",
        "total_fen": total, "idempotency_key": idempotency_key or None,
        "request_hash": req_hash, "created_at": _iso(now), "actor": actor[:80],
        "hold_expires_at": None if paid_now else _iso(now + timedelta(minutes=hold_minutes)),
        "paid_at": _iso(now) if paid_now else None}
    order_id = repo.insert_order(db, order)
    valid_from, valid_until = _validity(product, day)
    tickets = []
    for h in prepared:
        row = {
            "order_id": order_id, "product_id": product.id, "fare_id": h["fare_id"],
            "price_fen": h["price_fen"], "proof_required": int(h["proof"]),
            "site_id": site_id, "sites_mask": product_mask(product), "slot_id": slot_id,
            "day": day.isoformat(), "channel": channel,
            "holder_name_enc": h["name_enc"], "holder_name_masked": pii.mask_name(h["name"]),
            "document_type": h["doc_type"], "document_hash": h["doc_hash"],
            "document_enc": h["number_enc"],
            "document_masked": pii.mask_document(h["number"]),
            "status": "valid" if paid_now else "pending", "valid_from": valid_from,
            "valid_until": valid_until, "created_at": _iso(now)}
        row["id"] = repo.insert_ticket(db, row)
        tickets.append(row)
    return _new_order_view(order, tickets, slot_row, product)


def product_mask(product) -> int:
    return sum(1 << codes.SITE_ORDER.index(s) for s in product.sites)


def _new_number() -> str:
    # 32 symbols divide 256 evenly, so byte % 32 is unbiased; one urandom call, 55 bits.
    return "T" + "".join(NUMBER_ALPHABET[b % 32] for b in secrets.token_bytes(11))


def order_view(db, row, payment_url: str | None = None, product=None) -> OrderView:
    from .services import get_fare_names, product_names
    if product is not None:  # all tickets of a new order share its product
        names = {product.id: product.name}
        fares = {f.id: f.name for f in product.fares}
    else:
        names, fares = product_names(db), get_fare_names(db)
    tickets, slots = [], {}
    for t in repo.tickets_of_order(db, row["id"]):
        slot = slots.get(t["slot_id"]) or slots.setdefault(t["slot_id"], repo.slot(db, t["slot_id"]))
        tickets.append(TicketView(
            t["id"], t["version"], t["product_id"], names.get(t["product_id"], {}), t["fare_id"],
            FULL_FARE if t["fare_id"] == "full" else fares.get(t["fare_id"], {}), t["price_fen"],
            bool(t["proof_required"]), t["status"], t["holder_name_masked"], t["document_type"],
            t["document_masked"], t["slot_id"], _dt(slot["start_at"]), _dt(slot["end_at"]),
            t["day"], _dt(t["valid_from"]), _dt(t["valid_until"])))
    return OrderView(row["number"], row["status"], row["site_id"], row["day"], row["channel"],
                     row["total_fen"], _dt(row["hold_expires_at"]), _dt(row["created_at"]),
                     _dt(row["paid_at"]), tuple(tickets), payment_url)


def _not_found():
    return _err(NotFound, "order_not_found", _l("No order matches that number and document."))


def get_order(db, number: str, clock=None):
    """An order by number (staff / internal use)."""
    if clock is not None:
        from .services import expire_holds
        expire_holds(db, clock)
    row = repo.order_by_number(db, str(number or "").strip().upper())
    if row is None:
        raise _not_found()
    return order_view(db, row)


def find_order(db, number: str, last4: str, clock) -> OrderView:
    """The visitor's way back to an order: its number plus the last four characters of any
    holder's document. A wrong pair and a missing order answer the same."""
    last4 = "".join(str(last4 or "").split()).upper()
    if len(last4) != 4:
        raise _err(ValidationError, "bad_last4", _l("Give the last 4 characters of a holder's "
                                                    "document."))
    order = get_order(db, number, clock)
    if not any(t.document_masked.endswith(last4) for t in order.tickets):
        raise _not_found()
    return order


# --- payments ----------------------------------------------------------------------

def start_payment(db, provider: PaymentProvider, number: str, clock) -> str | None:
    """The checkout URL for a held order (one charge per order, reused on retry)."""
    with quota_transaction(db):
        repo.expire_holds(db, _iso(clock.now()))
        row = repo.order_by_number(db, number)
        if row is None:
            raise _not_found()
        if row["status"] != "held":
            return None
        for p in repo.payments_of_order(db, row["id"]):
            if p["kind"] == "charge" and p["provider"] == provider.name and p["status"] == "created":
                return provider.checkout_url_for(p["reference"])
        charge = provider.create_charge(number, row["total_fen"])
        repo.insert_payment(db, row["id"], provider.name, charge.reference, "charge",
                            row["total_fen"], "created", _iso(clock.now()))
        return charge.checkout_url


def handle_notification(db, provider: PaymentProvider, body: bytes, headers, clock) -> str:
    """Apply a gateway notification. Duplicates and out-of-order events are harmless; a bad
    signature or a wrong amount is rejected (400) and logged."""
    at = _iso(clock.now())
    try:
        note = provider.parse_notification(body, headers)
    except BadSignature:
        log.warning("payment notification with a bad signature rejected",
                    extra={"event": "payment_bad_signature", "provider": provider.name})
        with quota_transaction(db):
            repo.log_event(db, provider.name, None, None, None, "rejected", "bad_signature", at)
        raise _err(DomainError, "bad_signature", _l("The notification signature is not valid."))
    except BadNotification:
        with quota_transaction(db):
            repo.log_event(db, provider.name, None, None, None, "rejected", "bad_notification", at)
        raise _err(DomainError, "bad_notification", _l("The notification is malformed."))
    rejected = None
    with quota_transaction(db):
        repo.expire_holds(db, at)
        if repo.event_applied(db, provider.name, note.event_id):
            return "duplicate"
        pay = repo.payment(db, note.reference)
        if pay is None or pay["provider"] != provider.name or pay["kind"] != "charge":
            rejected = ("unknown_payment", "unknown_payment")
        elif note.amount_fen != pay["amount_fen"]:
            rejected = ("amount_mismatch", f"amount_mismatch {note.amount_fen} != {pay['amount_fen']}")
        else:
            outcome, detail = _apply(db, provider, pay, note, at)
            repo.log_event(db, provider.name, note.event_id, note.reference, note.type, outcome,
                           detail, at)
            return outcome
    # Rejections are recorded in their own transaction, after the checks above.
    log.warning("payment notification rejected", extra={"event": "payment_rejected",
                                                        "reason": rejected[0],
                                                        "reference": note.reference})
    with quota_transaction(db):
        repo.log_event(db, provider.name, note.event_id, note.reference, note.type, "rejected",
                       rejected[1], at)
    if rejected[0] == "unknown_payment":
        raise _err(NotFound, "unknown_payment", _l("No such payment."))
    raise _err(DomainError, "amount_mismatch", _l("The paid amount does not match the order."))


def _apply(db, provider, pay, note, at):
    order = repo.order_by_id(db, pay["order_id"])
    if note.type == "payment.failed":
        if pay["status"] == "succeeded":
            return "ignored", "failure after success (out of order)"
        repo.set_payment_status(db, pay["reference"], "failed", at)
        return "applied", "payment failed; hold kept until it expires"
    if pay["status"] == "succeeded" or order["status"] in ("paid", "refunded"):
        return "ignored", f"order already {order['status']}"
    repo.set_payment_status(db, pay["reference"], "succeeded", at)
    if order["status"] == "held":
        repo.set_tickets_status(db, order["id"], "pending", "valid")
        repo.set_order_status(db, order["id"], "paid", at)
        return "applied", "paid"
    # Paid after the hold lapsed: keep the sale if the quota and holders still allow it.
    tickets = repo.tickets_of_order(db, order["id"])
    slot = repo.slot(db, order["slot_id"])
    left = _availability(slot, repo.slot_counts(db, slot["id"]), False).left
    clash = any(repo.holder_conflict(db, t["document_hash"], t["day"], t["sites_mask"], t["id"])
                for t in tickets)
    if left >= len(tickets) and not clash and _dt(slot["end_at"]) > _dt(at):
        repo.set_tickets_status(db, order["id"], "expired", "valid")
        repo.set_order_status(db, order["id"], "paid", at)
        return "applied", "paid after the hold expired; quota still free"
    ref = provider.refund(pay["reference"], pay["amount_fen"])
    repo.insert_payment(db, order["id"], provider.name, ref, "refund", pay["amount_fen"],
                        "succeeded", at)
    repo.set_order_status(db, order["id"], "refunded")
    return "applied", "paid after the hold expired and the quota was gone: refunded"


# --- refunds and rebooking -------------------------------------------------------------

def refund(db, number: str, *, clock, provider: PaymentProvider | None, ticket_ids=None,
           actor: str = "") -> OrderView:
    """Refund a whole order or some of its tickets before their slot starts; the quota comes
    back and each refunded code is revoked. An unpaid hold is simply cancelled."""
    at = _iso(clock.now())
    with quota_transaction(db):
        repo.expire_holds(db, at)
        order = repo.order_by_number(db, number)
        if order is None:
            raise _not_found()
        tickets = repo.tickets_of_order(db, order["id"])
        if order["status"] == "held" and not ticket_ids:
            repo.set_tickets_status(db, order["id"], "pending", "expired")
            repo.set_order_status(db, order["id"], "expired")
            return order_view(db, repo.order_by_id(db, order["id"]))
        if order["status"] != "paid":
            raise _err(Conflict, "not_refundable", _l("Only paid orders can be refunded."))
        chosen = [t for t in tickets if t["status"] == "valid"] if not ticket_ids else \
            [t for t in tickets if t["id"] in set(ticket_ids)]
        if not chosen or (ticket_ids and len(chosen) != len(set(ticket_ids))):
            raise _err(NotFound, "unknown_ticket", _l("No such ticket in this order."))
        for t in chosen:
            if t["status"] != "valid":
                raise _err(Conflict, "ticket_not_valid", _l("That ticket is already refunded."))
            if _dt(repo.slot(db, t["slot_id"])["start_at"]) <= clock.now():
                raise _err(Conflict, "refund_too_late", _l("Tickets can be refunded only before "
                                                           "their time slot starts."))
        amount = 0
        for t in chosen:
            repo.add_revocation(db, codes.revocation_key(t["id"], t["version"]), t["id"],
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


def rebook(db, number: str, *, ticket_id: int, slot_id: int, clock, days_ahead: int = 7) -> OrderView:
    """Move one ticket to another slot of the same site: a new code; the old one is revoked."""
    now = clock.now()
    at = _iso(now)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2 ** 62
               for v in (slot_id, ticket_id)):
        raise _err(ValidationError, "bad_slot", _l("Choose a ticket and a time slot."))
    with quota_transaction(db):
        repo.expire_holds(db, at)
        order = repo.order_by_number(db, number)
        if order is None:
            raise _not_found()
        t = repo.ticket(db, ticket_id)
        if t is None or t["order_id"] != order["id"]:
            raise _err(NotFound, "unknown_ticket", _l("No such ticket in this order."))
        if t["status"] != "valid":
            raise _err(Conflict, "ticket_not_valid", _l("Only a valid ticket can be rebooked."))
        if _dt(repo.slot(db, t["slot_id"])["start_at"]) <= now:
            raise _err(Conflict, "rebook_too_late", _l("A ticket can be rebooked only before its "
                                                       "slot starts."))
        new = repo.slot(db, slot_id)
        whole, paused_ids = _paused_slots(db, t["site_id"])
        _check_slot(db, new, t["site_id"], now, whole, paused_ids)
        new_day = date.fromisoformat(new["day"])
        if (new_day - now.date()).days >= days_ahead:
            raise _err(ValidationError, "date_too_far", _l("Tickets are sold up to "
                                                           "%(days_ahead)s days ahead.",
                                                           days_ahead=days_ahead))
        if new["id"] == t["slot_id"]:
            raise _err(ValidationError, "same_slot", _l("The ticket is already for that slot."))
        avail = _availability(new, repo.slot_counts(db, new["id"]), False)
        if (avail.window_left if t["channel"] == "window" else avail.left) < 1:
            raise _err(Conflict, "sold_out", _l("No tickets left in that slot."))
        if repo.holder_conflict(db, t["document_hash"], new["day"], t["sites_mask"], t["id"]):
            raise _err(Conflict, "holder_has_ticket", _l("This holder already has a ticket for "
                                                         "this site on that day."))
        product = get_product(db, t["product_id"])
        valid_from, valid_until = _validity(product, new_day)
        repo.add_revocation(db, codes.revocation_key(t["id"], t["version"]), t["id"], "rebooked", at)
        repo.move_ticket(db, t["id"], new["id"], new["day"], valid_from, valid_until)
        return order_view(db, order)


# --- the sandbox gateway -----------------------------------------------------------------

def sandbox_payment(db, reference: str) -> dict:
    """What the sandbox checkout page shows for a charge reference."""
    pay = repo.payment(db, str(reference))
    if pay is None or pay["provider"] != "sandbox" or pay["kind"] != "charge":
        raise _err(NotFound, "unknown_payment", _l("No such payment."))
    order = repo.order_by_id(db, pay["order_id"])
    return {"reference": pay["reference"], "amount_fen": pay["amount_fen"],
            "status": pay["status"], "order_number": order["number"],
            "order_status": order["status"]}


def sandbox_complete(db, provider, reference: str, succeeded: bool, clock,
                     inline: bool = True) -> str:
    """The sandbox gateway finishing a payment: it signs a notification and keeps it in its
    outbox. ``inline`` hands it to our notification handler at once (one-process setups);
    otherwise ``flask ticketing sandbox-deliver`` posts it to the webhook later, over HTTP,
    as a real gateway would. Returns the handler's outcome, or "queued"."""
    pay = sandbox_payment(db, reference)
    kind = "payment.succeeded" if succeeded else "payment.failed"
    body, signature = provider.notification(reference, kind, pay["amount_fen"])
    event_id = json.loads(body)["event_id"]
    with quota_transaction(db):
        repo.add_outbox(db, event_id, body.decode(), signature, _iso(clock.now()))
    if not inline:
        return "queued"
    from .payments import SIGNATURE_HEADER
    outcome = handle_notification(db, provider, body, {SIGNATURE_HEADER: signature}, clock)
    with quota_transaction(db):
        repo.mark_outbox_event(db, event_id, _iso(clock.now()))
    return outcome


def sandbox_outbox(db, undelivered_only: bool = False, limit: int = 100) -> list[dict]:
    return [dict(r) for r in repo.outbox(db, undelivered_only, limit)]


def sandbox_deliver(db, base_url: str, clock, *, redeliver: bool = False, timeout: float = 10) -> dict:
    """The sandbox gateway's delivery run: POST each queued notification (every one with
    ``redeliver``, to exercise duplicates) to our webhook; 2xx marks it delivered."""
    import urllib.error
    import urllib.request

    from .payments import SIGNATURE_HEADER
    sent = failed = 0
    for item in repo.outbox(db, not redeliver, 100):
        req = urllib.request.Request(base_url.rstrip("/") + "/api/ticketing/payments/sandbox/notify",
                                     data=item["body"].encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              SIGNATURE_HEADER: item["signature"]})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                ok = 200 <= resp.status < 300
        except (urllib.error.URLError, OSError):
            ok = False
        with quota_transaction(db):
            repo.mark_outbox(db, item["id"], _iso(clock.now()) if ok else None)
        sent, failed = sent + ok, failed + (not ok)
    return {"delivered": sent, "failed": failed}


def recent_payment_events(db, limit: int = 20) -> list[dict]:
    return [dict(r) for r in repo.events(db, limit)]


def reissue(db, number: str, *, ticket_id: int, clock, actor: str = "") -> OrderView:
    """Give a valid ticket a new code (e.g. a screenshot was shared): the version goes up and
    the old code's key is revoked; the slot and the holder stay."""
    at = _iso(clock.now())
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or not 0 < ticket_id < 2 ** 62:
        raise _err(NotFound, "unknown_ticket", _l("No such ticket in this order."))
    with quota_transaction(db):
        order = repo.order_by_number(db, number)
        t = repo.ticket(db, ticket_id)
        if order is None or t is None or t["order_id"] != order["id"]:
            raise _err(NotFound, "unknown_ticket", _l("No such ticket in this order."))
        if t["status"] != "valid":
            raise _err(Conflict, "ticket_not_valid", _l("Only a valid ticket gets a new code."))
        repo.add_revocation(db, codes.revocation_key(t["id"], t["version"]), t["id"], "reissued", at)
        repo.bump_version(db, t["id"])
    log.info("ticket code reissued", extra={"event": "ticket_reissued", "actor": actor})
    return order_view(db, repo.order_by_number(db, number))
