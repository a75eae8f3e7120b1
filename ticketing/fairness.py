"""Fair booking under bots: the limits an online booking must pass besides the quota.

Per client (its address, after the trusted proxy): tickets in one slot, unpaid holds, free
tickets, and how many "holder unavailable" answers it may collect. Per document: holds and
free tickets a day (a lapsed hold cannot be renewed for ever), and future days with a free
ticket at a site. Per slot: the share of its quota that unpaid holds, and free tickets,
may take. The counters live in the shared rate-limit storage (core.ratelimit), the slot and
document counts in the bookings database, inside the quota transaction.

A holder who cannot be booked (a ticket that day, or a document limit reached) gets one
generic answer, ``holder_unavailable``, whatever the reason, so the answer does not confirm
to a stranger that an ID number has a ticket; and each such answer costs the client one of
its few refusals. The numbers and their reasons: docs/ticketing.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from core.errors import Conflict
from core.ratelimit import Limits, RateLimited, Rule
from core.text import _l

from . import repo


@dataclass(frozen=True)
class BookingGuard:
    """What an online booking is checked against: the limits, who asks, and the policy."""
    limits: Limits
    client: str
    slot_tickets: str = "10/day"
    holds: str = "20/hour;40/day"
    free_tickets: str = "10/day"
    document_bookings: str = "5/day"
    document_free_days: int = 2
    holder_refusals: str = "5/day"
    slot_held_share: float = 0.5
    slot_free_share: float = 0.5

    @classmethod
    def from_config(cls, config, limits: Limits, client: str) -> BookingGuard:
        return cls(limits, client, config["TICKETING_CLIENT_SLOT_TICKETS"],
                   config["TICKETING_CLIENT_HOLDS"], config["TICKETING_CLIENT_FREE_TICKETS"],
                   config["TICKETING_DOCUMENT_BOOKINGS"], config["TICKETING_DOCUMENT_FREE_DAYS"],
                   config["TICKETING_HOLDER_REFUSALS_PER_CLIENT"],
                   config["TICKETING_SLOT_HELD_SHARE"], config["TICKETING_SLOT_FREE_SHARE"])


def holder_unavailable(index: int) -> Conflict:
    return Conflict("holder_unavailable", _l("This holder cannot be booked for this day: each "
                                             "person may hold one ticket per site and day, and "
                                             "only a few bookings or free tickets at a time. If "
                                             "you booked before, use your order's link or 'Find "
                                             "my order'."), details={"holder": index})


def _refusals_rule(guard: BookingGuard, cost: int = 1) -> Rule:
    return Rule("too_many_refusals", guard.holder_refusals, ("holder-refusals", guard.client),
                _l("Too many bookings from this address were refused."), cost)


def refuse_holder(guard: BookingGuard, index: int) -> Conflict:
    """The generic refusal of a holder, counted against the client (probing costs)."""
    rule = _refusals_rule(guard)
    guard.limits.count(rule)
    return holder_unavailable(index)


def check_before_hold(guard: BookingGuard, *, slot_id: int, prepared: list[dict],
                      paid_now: bool) -> None:
    """The client's and the documents' counters, before the quota transaction, counted in
    one go once every one passes (a later sold_out still counts: attempts cost)."""
    n, free = len(prepared), sum(1 for h in prepared if h["price_fen"] == 0)
    rules = [
        _refusals_rule(guard, cost=0),
        Rule("too_many_in_slot", guard.slot_tickets, ("slot", str(slot_id), guard.client),
             _l("This address has booked as many tickets in this time slot as one visitor "
                "may."), n),
        Rule("too_many_holds", guard.holds, ("holds", guard.client),
             _l("This address has too many unpaid bookings."), 0 if paid_now else n),
        Rule("too_many_free_tickets", guard.free_tickets, ("free", guard.client),
             _l("This address has booked as many free tickets as one visitor may."), free)]
    rules = [r for r in rules if r.cost or r.code == "too_many_refusals"]
    documents = [Rule("holder_unavailable", guard.document_bookings, ("doc", h["doc_hash"]),
                      "", 1) for h in prepared]
    refused = guard.limits.acquire(rules + documents)
    if refused is None:
        return
    rule, retry = refused
    if rule.code == "holder_unavailable":
        raise refuse_holder(guard, documents.index(rule))
    raise RateLimited(rule.code, rule.message, retry)


def check_in_transaction(db, guard: BookingGuard, *, slot_row, avail, prepared: list[dict],
                         sites_mask: int, today: date, paid_now: bool) -> None:
    """The slot's shares and the documents' free days, inside the quota transaction."""
    n, free = len(prepared), sum(1 for h in prepared if h["price_fen"] == 0)
    online = slot_row["quota"]
    if not paid_now and avail.held + n > math.floor(online * guard.slot_held_share):
        raise Conflict("slot_busy", _l("Many people are paying for this time slot right now; try "
                                       "again in a few minutes or choose another slot."),
                       details={"retry_after_s": 60})
    if free and repo.slot_free_online(db, slot_row["id"]) + free > math.floor(
            online * guard.slot_free_share):
        raise Conflict("free_places_taken", _l("The free places of this time slot are taken; "
                                               "choose another slot."))
    for i, h in enumerate(prepared):
        if h["price_fen"] == 0 and repo.active_free_days(
                db, h["doc_hash"], today.isoformat(), sites_mask) >= guard.document_free_days:
            raise refuse_holder(guard, i)
