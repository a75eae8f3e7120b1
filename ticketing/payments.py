"""Payments of orders: the checkout of a held order, gateway notifications (duplicates and
out-of-order events are harmless), and the sandbox gateway's own side (its checkout page,
its signed notifications and their delivery). Providers: ticketing.providers."""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from core.clock import Clock, from_iso, iso
from core.errors import DomainError, NotFound
from core.text import _l

from . import repo
from .orders import order_not_found
from .providers import SIGNATURE_HEADER, BadNotification, BadSignature, PaymentProvider
from .quota import left_in_slot, quota_transaction

log = logging.getLogger("scenic.ticketing")


def start_payment(db, provider: PaymentProvider, number: str, clock: Clock) -> str | None:
    """The checkout URL for a held order (one charge per order, reused on retry)."""
    with quota_transaction(db):
        repo.expire_holds(db, iso(clock.now()))
        row = repo.order_by_number(db, number)
        if row is None:
            raise order_not_found()
        if row["status"] != "held":
            return None
        for p in repo.payments_of_order(db, row["id"]):
            if p["kind"] == "charge" and p["provider"] == provider.name and p["status"] == "created":
                return provider.checkout_url_for(p["reference"])
        charge = provider.create_charge(number, row["total_fen"])
        repo.insert_payment(db, row["id"], provider.name, charge.reference, "charge",
                            row["total_fen"], "created", iso(clock.now()))
        return charge.checkout_url


def handle_notification(db, provider: PaymentProvider, body: bytes, headers, clock: Clock) -> str:
    """Apply a gateway notification. Duplicates and out-of-order events are harmless; a bad
    signature or a wrong amount is rejected (400) and logged."""
    at = iso(clock.now())
    try:
        note = provider.parse_notification(body, headers)
    except BadSignature:
        log.warning("payment notification with a bad signature rejected",
                    extra={"event": "payment_bad_signature", "provider": provider.name})
        with quota_transaction(db):
            repo.log_event(db, provider.name, None, None, None, "rejected", "bad_signature", at)
        raise DomainError("bad_signature", _l("The notification signature is not valid."))
    except BadNotification:
        with quota_transaction(db):
            repo.log_event(db, provider.name, None, None, None, "rejected", "bad_notification", at)
        raise DomainError("bad_notification", _l("The notification is malformed."))
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
        raise NotFound("unknown_payment", _l("No such payment."))
    raise DomainError("amount_mismatch", _l("The paid amount does not match the order."))


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
    left = left_in_slot(db, slot).left
    clash = any(repo.holder_conflict(db, t["document_hash"], t["day"], t["sites_mask"], t["id"])
                for t in tickets)
    if left >= len(tickets) and not clash and from_iso(slot["end_at"]) > from_iso(at):
        repo.set_tickets_status(db, order["id"], "expired", "valid")
        repo.set_order_status(db, order["id"], "paid", at)
        return "applied", "paid after the hold expired; quota still free"
    ref = provider.refund(pay["reference"], pay["amount_fen"])
    repo.insert_payment(db, order["id"], provider.name, ref, "refund", pay["amount_fen"],
                        "succeeded", at)
    repo.set_order_status(db, order["id"], "refunded")
    return "applied", "paid after the hold expired and the quota was gone: refunded"


# --- the sandbox gateway -----------------------------------------------------------------

def payment_status(db, reference: str) -> str | None:
    """A charge's status in our ledger (the sandbox gateway's answer to a status query)."""
    pay = repo.payment(db, str(reference))
    return pay["status"] if pay is not None else None


def sandbox_payment(db, reference: str) -> dict:
    """What the sandbox checkout page shows for a charge reference."""
    pay = repo.payment(db, str(reference))
    if pay is None or pay["provider"] != "sandbox" or pay["kind"] != "charge":
        raise NotFound("unknown_payment", _l("No such payment."))
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
        repo.add_outbox(db, event_id, body.decode(), signature, iso(clock.now()))
    if not inline:
        return "queued"
    outcome = handle_notification(db, provider, body, {SIGNATURE_HEADER: signature}, clock)
    with quota_transaction(db):
        repo.mark_outbox_event(db, event_id, iso(clock.now()))
    return outcome


def sandbox_outbox(db, undelivered_only: bool = False, limit: int = 100) -> list[dict]:
    return [dict(r) for r in repo.outbox(db, undelivered_only, limit)]


def sandbox_deliver(db, base_url: str, clock, *, redeliver: bool = False, timeout: float = 10) -> dict:
    """The sandbox gateway's delivery run: POST each queued notification (every one with
    ``redeliver``, to exercise duplicates) to our webhook; 2xx marks it delivered."""
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
            repo.mark_outbox(db, item["id"], iso(clock.now()) if ok else None)
        sent, failed = sent + ok, failed + (not ok)
    return {"delivered": sent, "failed": failed}


def recent_payment_events(db, limit: int = 20) -> list[dict]:
    return [dict(r) for r in repo.events(db, limit)]
